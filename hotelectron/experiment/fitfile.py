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

Errors are ``ValueError`` naming the file and ``[section] key`` (and the data file, for a curve). The
curves' scenarios (the base with each curve's U, B, T and the parameters at their start values) are
built here, so that what a fit would refuse is refused before any work. Each key or section is read by a
function of its own; a new section takes such a function, its name in :data:`TOP_KEYS` and a field
of :class:`FitFile`. How the fit runs (Dask workers, resuming) is given on the command line, not here.
"""

from __future__ import annotations

import errno
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..io.filekind import check_kind, check_table_kind
from ..units import parse_quantity, parse_temperature_K
from .data import read_curves
from .fit import FitInputError, FitModel, FitProblem, Parameter
from .kernelfile import kernel_problem
from .probe import ProbeParameterError, ProbeParameters

__all__ = ["FitFile", "load_fit_file", "parse_fit_file"]

PROBE_FILE_KEYS = ("gap", "dynes", "temperature", "field", "g")
#: the fields of ProbeParameters that PROBE_FILE_KEYS set, in their order
PROBE_FIELDS = ("gap_meV", "dynes_meV", "temperature_K", "field_T", "g")
PARAMETER_KEYS = ("start", "min", "max", "free", "unit", "curve")


@dataclass(frozen=True)
class FitFile:
    """A read fit file: the problem (with ``[kernel]`` a :class:`~hotelectron.experiment.kernel.KernelProblem`),
    where to write, the optimiser's evaluation budget, and the files it was made from (the fit file, the
    base scenario, the data files: outputs must not be one)."""

    problem: FitProblem
    output: str | None
    max_evaluations: int
    source: str
    inputs: tuple[str, ...] = ()


def _fail(source: str, where: str, what: str):
    msg = f"{source}: {where}: {what}"
    raise ValueError(msg)


def _probe(table, source: str) -> ProbeParameters:
    if not isinstance(table, dict):
        _fail(source, "[probe]", "must be a table")
    unknown = sorted(set(table) - set(PROBE_FILE_KEYS))
    if unknown:
        _fail(source, f"[probe] {unknown[0]}", f"unknown key; [probe] holds {list(PROBE_FILE_KEYS)}")
    try:  # the messages of the parsers name "[probe] key" themselves
        kwargs = {}
        if "gap" in table:
            kwargs["gap_meV"] = parse_quantity(table["gap"], "energy", "[probe] gap", unit="meV")
        if "dynes" in table:
            kwargs["dynes_meV"] = parse_quantity(table["dynes"], "energy", "[probe] dynes", unit="meV")
        if "temperature" in table:
            kwargs["temperature_K"] = parse_temperature_K(table["temperature"], "[probe] temperature", positive=False)
        if "field" in table:
            kwargs["field_T"] = parse_quantity(table["field"], "magnetic_field", "[probe] field", unit="T")
    except (ValueError, TypeError) as exc:
        msg = f"{source}: {exc}"
        raise ValueError(msg) from None
    if "g" in table:
        if isinstance(table["g"], bool) or not isinstance(table["g"], int | float):
            _fail(source, "[probe] g", f"{table['g']!r} must be a number (the probe electrons' g factor)")
        kwargs["g"] = float(table["g"])
    try:
        return ProbeParameters(**{"gap_meV": 0.0, **kwargs})
    except ProbeParameterError as exc:
        _fail(source, f"[probe] {PROBE_FILE_KEYS[PROBE_FIELDS.index(exc.field)]}", exc.reason)


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
    except ValueError as exc:  # "parameter 'key': why": the table named once
        _fail(source, where, str(exc).removeprefix(f"parameter {key!r}: "))


def _base(value, source: str, folder: Path) -> tuple[Path, str]:
    """The base scenario's path and text (TOML, or refused)."""
    if not isinstance(value, str):
        _fail(source, "base", "the path of the base scenario (a string) is required")
    path = folder / value
    if not path.is_file():
        _fail(source, "base", f"scenario file {str(path)!r} not found")
    try:
        text = path.read_text(encoding="utf-8")
        check_kind(tomllib.loads(text), "scenario", path)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        _fail(source, "base", f"{path} is not a scenario (not valid TOML: {exc})")
    except ValueError as exc:  # a sweep or fit file as the base
        _fail(source, "base", str(exc))
    return path, text


def _data(value, source: str, folder: Path) -> list[Path]:
    files = [value] if isinstance(value, str) else value
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        _fail(source, "data", "a list of measured-data files (CSV or HDF5) is required")
    for k, name in enumerate(files):
        path = folder / name
        if not path.is_file():
            _fail(source, "data", f"data file {str(path)!r} not found")
        for other in files[:k]:
            if (folder / other).samefile(path):
                _fail(source, "data", f"{name!r} is the data file {other!r} again: each curve would count twice")
    return [folder / name for name in files]


def _curves(files, source: str) -> list:
    try:
        return [curve for name in files for curve in read_curves(name).curves]
    except (ValueError, OSError) as exc:  # the reader's messages name the data file, line and column
        msg = f"{source}: data: {exc}"
        raise ValueError(msg) from None


def _sigma(value, source: str, n_curves: int):
    if value is None:
        return None
    sigma = [value] * n_curves if isinstance(value, int | float) else value
    if not isinstance(sigma, list) or len(sigma) != n_curves:
        _fail(source, "sigma", f"one number, or one per curve ({n_curves} curves); got {value!r}")
    return tuple(sigma)


def _parameters(table, source: str) -> list[Parameter]:
    if not isinstance(table, dict) or not table:
        _fail(source, "[parameters]", 'at least one [parameters."section.key"] table is required')
    return [_parameter(key, value, source) for key, value in table.items()]


def _max_evaluations(value, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        _fail(source, "max_evaluations", f"must be an integer >= 1; got {value!r}")
    return value


def _output(value, source: str) -> str | None:
    if value is not None and not isinstance(value, str):
        _fail(source, "output", f"must be a folder name (a string); got {value!r}")
    return value


#: the keys and sections of a fit file; each is read by its own function above
TOP_KEYS = ("base", "data", "sigma", "output", "max_evaluations", "probe", "parameters", "kernel")


def parse_fit_file(text: str, path=None) -> FitFile:
    """Read a fit file given as TOML text; ``base`` and ``data`` are relative to ``path``'s folder."""
    source = "fit file" if path is None else str(path)
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        check_table_kind(text, "fit", path)
        _fail(source, "TOML", f"not valid TOML: {exc}")
    check_kind(data, "fit", path)
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        _fail(source, unknown[0], f"unknown key; a fit file holds {list(TOP_KEYS)}")
    folder = Path(path).parent if path is not None else Path.cwd()
    base, base_text = _base(data.get("base"), source, folder)
    files = _data(data.get("data"), source, folder)
    curves = _curves(files, source)
    sigma = _sigma(data.get("sigma"), source, len(curves))
    inputs = tuple(str(p) for p in ([Path(path)] if path is not None else []) + [base, *files])
    if "kernel" in data:  # the kernel itself instead of parameters (experiment.kernelfile)
        problem = kernel_problem(data, source, base_text, curves, _probe(data.get("probe", {}), source), sigma)
        return FitFile(problem, _output(data.get("output"), source), 0, source, inputs)
    parameters = _parameters(data.get("parameters"), source)
    budget = _max_evaluations(data.get("max_evaluations", 200), source)
    output = _output(data.get("output"), source)
    probe = _probe(data.get("probe", {}), source)
    try:
        problem = FitProblem(base_text, curves, parameters, probe, sigma=sigma)
    except FitInputError as exc:
        _fail(source, exc.where, str(exc))
    try:
        FitModel(problem)  # every curve's scenario at the start values
    except ValueError as exc:
        msg = f"{source}: {exc}"
        raise ValueError(msg) from None
    return FitFile(problem, output, budget, source, inputs)


def load_fit_file(path) -> FitFile:
    """Read and validate the fit file at ``path``."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(errno.ENOENT, "fit file not found", str(p))
    return parse_fit_file(p.read_text(encoding="utf-8"), path=p)
