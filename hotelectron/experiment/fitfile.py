"""Fit files (``hotelectron fit FIT.toml``): the TOML that names a base scenario, data and parameters.

.. code-block:: toml

    base = "scenario.toml"              # steady-mode scenario, relative to the fit file
    data = ["curves.csv"]               # measured-data files (hotelectron.experiment.data)
    sigma = 0.002                       # optional: noise of y, one number or one per curve
    output = "fit-out"                  # optional: the output folder

    [probe]                             # optional: probe parameters not fitted
    gap = "0.17 meV"
    dynes = "2 ueV"
    temperature = "100 mK"
    g = 2.0

    [parameters."electron_electron.kappa"]
    start = 1.0
    min = 0.01
    max = 100.0
    free = true                         # default true
    unit = "1/ns/meV^0.5"               # the unit of start, min and max (probe.*: meV or K)
    curve = 0                           # optional: belongs to curve 0 only

Errors are ``ValueError`` naming the file and ``[section] key``.
"""

from __future__ import annotations

import errno
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..units import parse_quantity, parse_temperature_K
from .data import read_curves
from .fit import FitProblem, Parameter
from .kernelfile import kernel_problem
from .probe import ProbeParameters

__all__ = ["FitFile", "load_fit_file", "parse_fit_file"]

TOP_KEYS = ("base", "data", "sigma", "output", "probe", "parameters", "max_evaluations", "kernel")
PROBE_FILE_KEYS = ("gap", "dynes", "temperature", "field", "g")
PARAMETER_KEYS = ("start", "min", "max", "free", "unit", "curve")


@dataclass(frozen=True)
class FitFile:
    """A read fit file: the problem (a ``FitProblem``, or with ``[kernel]`` a
    :class:`~hotelectron.experiment.kernel.KernelProblem`), where to write, and the optimiser's
    evaluation budget."""

    problem: FitProblem
    output: str | None
    max_evaluations: int
    source: str


def _fail(source: str, where: str, what: str):
    msg = f"{source}: {where}: {what}"
    raise ValueError(msg)


def _probe(table, source: str) -> ProbeParameters:
    if not isinstance(table, dict):
        _fail(source, "[probe]", "must be a table")
    unknown = sorted(set(table) - set(PROBE_FILE_KEYS))
    if unknown:
        _fail(source, f"[probe] {unknown[0]}", f"unknown key; [probe] holds {list(PROBE_FILE_KEYS)}")
    try:
        kwargs = {}
        if "gap" in table:
            kwargs["gap_meV"] = parse_quantity(table["gap"], "energy", "[probe] gap", unit="meV")
        if "dynes" in table:
            kwargs["dynes_meV"] = parse_quantity(table["dynes"], "energy", "[probe] dynes", unit="meV")
        if "temperature" in table:
            kwargs["temperature_K"] = parse_temperature_K(table["temperature"], "[probe] temperature", positive=False)
        if "field" in table:
            kwargs["field_T"] = parse_quantity(table["field"], "magnetic_field", "[probe] field", unit="T")
        if "g" in table:
            kwargs["g"] = float(table["g"])
        return ProbeParameters(**{"gap_meV": 0.0, **kwargs})
    except (ValueError, TypeError) as exc:
        _fail(source, "[probe]", str(exc))


def _parameter(key: str, table, source: str) -> Parameter:
    where = f'[parameters."{key}"]'
    if not isinstance(table, dict):
        _fail(source, where, 'must be a table with start, min, max, free, unit (e.g. start = 1.0)')
    unknown = sorted(set(table) - set(PARAMETER_KEYS))
    if unknown:
        _fail(source, f"{where} {unknown[0]}", f"unknown key; a parameter holds {list(PARAMETER_KEYS)}")
    if "start" not in table:
        _fail(source, f"{where} start", "required (the start value, or the value of a fixed parameter)")
    free = table.get("free", True)
    if not isinstance(free, bool):
        _fail(source, f"{where} free", f"must be true or false; got {free!r}")
    unit = table.get("unit")
    if unit is not None and not isinstance(unit, str):
        _fail(source, f"{where} unit", f"must be a string such as \"mK\"; got {unit!r}")
    try:
        return Parameter(key, table["start"], table.get("min", -math.inf), table.get("max", math.inf), free, unit,
                         table.get("curve"))
    except ValueError as exc:
        _fail(source, where, str(exc))


def _output(value, source: str) -> str | None:
    if value is not None and not isinstance(value, str):
        _fail(source, "output", f"must be a folder name (a string); got {value!r}")
    return value


def parse_fit_file(text: str, path=None) -> FitFile:
    """Read a fit file given as TOML text; ``base`` and ``data`` are relative to ``path``'s folder."""
    source = "fit file" if path is None else str(path)
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        _fail(source, "TOML", f"not valid TOML: {exc}")
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        _fail(source, unknown[0], f"unknown key; a fit file holds {list(TOP_KEYS)}")
    folder = Path(path).parent if path is not None else Path.cwd()
    if not isinstance(data.get("base"), str):
        _fail(source, "base", "the path of the base scenario (a string) is required")
    base_path = folder / data["base"]
    if not base_path.is_file():
        _fail(source, "base", f"scenario file {str(base_path)!r} not found")
    files = data.get("data")
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        _fail(source, "data", "a list of measured-data files (CSV or HDF5) is required")
    curves = []
    for name in files:
        if not (folder / name).is_file():
            _fail(source, "data", f"data file {str(folder / name)!r} not found")
        curves += list(read_curves(folder / name).curves)
    sigma = data.get("sigma")
    if sigma is not None:
        sigma = [sigma] * len(curves) if isinstance(sigma, int | float) else sigma
        if not isinstance(sigma, list) or len(sigma) != len(curves):
            _fail(source, "sigma", f"one number, or one per curve ({len(curves)} curves); got {data['sigma']!r}")
    if "kernel" in data:  # the kernel itself instead of parameters (hotelectron.experiment.kernelfile)
        problem = kernel_problem(data, source, base_path.read_text(encoding="utf-8"), curves,
                                 _probe(data.get("probe", {}), source), sigma)
        return FitFile(problem, _output(data.get("output"), source), 0, source)
    table = data.get("parameters")
    if not isinstance(table, dict) or not table:
        _fail(source, "[parameters]", 'at least one [parameters."section.key"] table is required')
    parameters = [_parameter(key, value, source) for key, value in table.items()]
    budget = data.get("max_evaluations", 200)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        _fail(source, "max_evaluations", f"must be an integer >= 1; got {budget!r}")
    output = _output(data.get("output"), source)
    probe = _probe(data.get("probe", {}), source)
    try:
        problem = FitProblem(base_path.read_text(encoding="utf-8"), curves, parameters, probe,
                             sigma=None if sigma is None else tuple(sigma))
    except ValueError as exc:
        _fail(source, "fit", str(exc))
    return FitFile(problem, output, budget, source)


def load_fit_file(path) -> FitFile:
    """Read and validate the fit file at ``path``."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(errno.ENOENT, "fit file not found", str(p))
    return parse_fit_file(p.read_text(encoding="utf-8"), path=p)
