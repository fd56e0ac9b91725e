"""Sweep files: a base scenario plus parameter axes, expanded into one scenario per point.

Every point is a complete scenario text (TOML, written with tomli-w) in which the swept keys are
replaced, so that a point's HDF5 file stores exactly what was run and each point is validated by the
same loader as a single run.
"""

from __future__ import annotations

import copy
import dataclasses
import errno
import itertools
import math
import tomllib
from pathlib import Path

import pint
import tomli_w

from ..io.filekind import check_kind, check_table_kind
from ..io.scenario.loader import scenario_tables, unknown_key
from ..units import value_quantity

__all__ = ["Point", "Sweep", "bias_series", "load_sweep", "parse_sweep", "with_overrides"]

SWEEP_KEYS = {"base", "output", "axes", "zip"}
#: the most points a sweep (or bias series) may have: each is a run, a file and a summary row, and all are
#: built and validated before the first runs (about 2 ms each)
MAX_POINTS = 100_000


@dataclasses.dataclass(frozen=True)
class Point:
    """One point of a sweep: its index, the swept values by key (``"reservoirs.bias"``), the full
    scenario text that runs it and the sweep (or series) file it belongs to."""

    index: int
    params: dict
    text: str
    source: str = "sweep"

    @property
    def name(self) -> str:
        return f"point-{self.index:04d}"

    @property
    def label(self) -> str:
        """The point's name with its swept values, for messages: ``point-0001 (reservoirs.bias = 0.3 mV)``."""
        return f"{self.name} ({', '.join(f'{k} = {v}' for k, v in self.params.items())})"

    @property
    def where(self) -> str:
        """The sweep file and the point, as the scenario loader names it in its warnings:
        ``sweeps/x.toml point-0001 (reservoirs.bias = 0.3 mV)``."""
        return f"{self.source} {self.label}"


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A base scenario (parsed TOML), product axes and zipped groups of axes.

    ``axes`` maps a dotted scenario key to its list of values; every group in ``zips`` maps keys to
    lists of one common length, varied together. Points are the Cartesian product of the axes and
    the groups, the first axis varying slowest.
    """

    base: dict
    axes: dict
    zips: tuple = ()
    output: str | None = None
    source: str = "sweep"

    @property
    def keys(self) -> list[str]:
        return [*self.axes, *(k for group in self.zips for k in group)]

    def __len__(self) -> int:
        """The number of points, without building them."""
        return math.prod(len(v) for v in self.axes.values()) * math.prod(
            len(next(iter(group.values()))) for group in self.zips)

    def points(self) -> list[Point]:
        factors = [[{key: value} for value in values] for key, values in self.axes.items()]
        factors += [[dict(zip(group, row, strict=True)) for row in zip(*group.values(), strict=True)]
                    for group in self.zips]
        points = []
        for index, combo in enumerate(itertools.product(*factors)):
            params = {k: v for part in combo for k, v in part.items()}
            text = tomli_w.dumps(with_overrides(self.base, params, self.source))
            points.append(Point(index, params, text, self.source))
        return points


# tomllib recurses once per nested array or inline table and gives up with a RecursionError.
_TOO_DEEP = "arrays or inline tables nested too deeply"


def _fail(source: str, what: str) -> None:
    raise ValueError(f"{source}: {what}")


def with_overrides(base: dict, params: dict, source: str = "scenario") -> dict:
    """A deep copy of the parsed scenario ``base`` with each dotted key of ``params``
    (``"reservoirs.temperature"``) set to its value; ``ValueError`` naming ``source`` when a section
    along the key is a value in ``base``. Sweeps and fits build their scenarios with it."""
    data = copy.deepcopy(base)
    for key, value in params.items():
        *sections, leaf = key.split(".")
        table = data
        for section in sections:
            table = table.setdefault(section, {})
            if not isinstance(table, dict):
                _fail(source, f"axis {key!r}: {section!r} is a value in the base scenario, not a section")
        table[leaf] = value
    return data


def _flatten(table: dict, prefix: str = "") -> dict:
    """``{"reservoirs": {"bias": [...]}}`` (an unquoted dotted key in TOML) -> ``{"reservoirs.bias": [...]}``."""
    flat = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        flat.update(_flatten(value, name + ".") if isinstance(value, dict) else {name: value})
    return flat


def _axis(source: str, key, values) -> list:
    where = f"axis {key!r}"
    if not isinstance(key, str) or "." not in key or any(not part for part in key.split(".")):
        _fail(source, f"{where}: a key must be 'section.key' (e.g. \"reservoirs.bias\")")
    if not isinstance(values, list) or not values:
        _fail(source, f"{where}: its values must be a non-empty list, e.g. [\"0.1 mV\", \"0.2 mV\"]; got {values!r}")
    if len(values) > MAX_POINTS:  # before its values are read and compared (pint: about 0.2 ms each)
        _fail(source, f"{where}: {len(values)} values; a sweep holds at most {MAX_POINTS} points (each point is a run "
                      "and a file): split it into several sweeps")
    for value in values:
        if isinstance(value, dict | list):
            _fail(source, f"{where}: values must be numbers or strings with units; got {value!r}")
    return list(values)


def _point_value(value):
    """What a swept value sets, for telling repeats apart: a quantity in SI base units to 12 digits
    (``"100 mK"`` and ``"0.1 K"``, ``"0.20 mV"`` and ``"0.2 mV"`` are one value), else the value itself."""
    quantity = value_quantity(value)
    if quantity is None:
        return value
    try:
        base = quantity.to_base_units()
    except pint.PintError:  # an offset unit (degC): the loader refuses it; the text stands for itself
        return value
    return str(base.units), float(f"{base.magnitude:.12g}")


def _refuse_repeats(source: str, where: str, entries: list) -> None:
    """Refuse an entry given twice: a plain axis's value, or a zipped group's tuple of values (a
    zipped column may repeat a value as long as the tuples, the points, differ). A quantity is one
    value in every unit it is written in."""
    seen = set()
    for entry in entries:
        value = tuple(map(_point_value, entry)) if isinstance(entry, tuple) else _point_value(entry)
        if value in seen:
            _fail(source, f"{where} {entry!r} is given twice (it would run the same point twice)")
        seen.add(value)


def parse_sweep(text: str, path=None) -> Sweep:
    """Validate a sweep file given as TOML text; ``base`` is read relative to ``path``'s folder."""
    source = "sweep" if path is None else str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        check_table_kind(text, "sweep", path)
        _fail(source, f"not valid TOML: {exc}")
    except RecursionError:
        _fail(source, f"not valid TOML: {_TOO_DEEP}")
    check_kind(data, "sweep", path)
    unknown = sorted(set(data) - SWEEP_KEYS)
    if unknown:
        _fail(source, f"unknown key(s) {unknown}; a sweep file holds {sorted(SWEEP_KEYS)}")
    if not isinstance(data.get("base"), str):
        _fail(source, "base: the path of the base scenario (a string) is required")
    folder = Path(path).parent if path is not None else Path.cwd()
    base_path = folder / data["base"]
    try:  # read as a scenario file is: a folder, not UTF-8, not TOML, a sweep or fit file are refused here, once
        base = scenario_tables(base_path)
    except FileNotFoundError:
        _fail(source, f"base: scenario file {str(base_path)!r} not found")
    except ValueError as exc:
        _fail(source, f"base: {exc}")
    axes = data.get("axes", {})
    zips = data.get("zip", [])
    if not isinstance(axes, dict):
        _fail(source, "axes: must be a table of 'section.key' = [values]")
    if isinstance(zips, dict):
        zips = [zips]
    if not isinstance(zips, list) or not all(isinstance(group, dict) and group for group in zips):
        _fail(source, "zip: must be a table (or [[zip]] tables) of 'section.key' = [values]")
    axes = {key: _axis(source, key, values) for key, values in _flatten(axes).items()}
    for key, values in axes.items():
        _refuse_repeats(source, f"axis {key!r}: the value", values)
    groups = []
    for group in zips:
        group = {key: _axis(source, key, values) for key, values in _flatten(group).items()}
        lengths = {key: len(values) for key, values in group.items()}
        if len(set(lengths.values())) != 1:
            _fail(source, f"zip: zipped axes must have equal lengths; got {lengths}")
        _refuse_repeats(source, f"zip {tuple(group)}: the tuple", list(zip(*group.values())))
        groups.append(group)
    keys = [*axes, *(k for g in groups for k in g)]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        _fail(source, f"axis {repeated[0]!r} is given more than once")
    if not keys:
        _fail(source, "no axis: give [axes] and/or [[zip]] with at least one 'section.key' = [values]")
    series = base.get("reservoirs", {}).get("bias") if isinstance(base.get("reservoirs"), dict) else None
    if isinstance(series, list) and "reservoirs.bias" not in keys:  # a bias series: its biases are an axis
        axes = {"reservoirs.bias": _series_biases(f"{source}: base", series), **axes}
        _refuse_repeats(source, "axis 'reservoirs.bias': the value", axes["reservoirs.bias"])
    output = data.get("output")
    if output is not None and not isinstance(output, str):
        _fail(source, f"output: must be a folder name (a string); got {output!r}")
    sweep = Sweep(base, axes, tuple(groups), output, source)
    if len(sweep) > MAX_POINTS:  # before its points are built: a billion of them would only fill the memory
        sizes = [len(v) for v in axes.values()] + [len(next(iter(g.values()))) for g in groups]
        _fail(source, f"{len(sweep)} points ({' x '.join(map(str, sizes))}); a sweep holds at most {MAX_POINTS} "
                      "(each point is a run and a file): split it into several sweeps")
    for key in sweep.keys:  # a misspelled key would fail every point alike: refuse the file instead
        if (why := unknown_key(key)) is not None:
            _fail(source, f"axis {key!r}: {why}")
    return sweep


def load_sweep(path) -> Sweep:
    """Read and validate the sweep file at ``path``."""
    p = Path(path)
    if p.is_dir():
        msg = f"{p} is a folder, not a sweep file"
        raise ValueError(msg)
    if not p.is_file():
        raise FileNotFoundError(errno.ENOENT, "sweep file not found", str(p))
    return parse_sweep(p.read_text(encoding="utf-8"), path=p)


def _series_biases(source: str, biases: list) -> list:
    """The biases of a series (``[reservoirs] bias`` a list), refused beyond MAX_POINTS, as a sweep is."""
    if len(biases) > MAX_POINTS:
        _fail(source, f"[reservoirs] bias: {len(biases)} biases; a bias series holds at most {MAX_POINTS} (each bias "
                      "is a run and a file, as a point of a sweep): split it into several scenarios")
    return _axis(source, "reservoirs.bias", biases)


def bias_series(text: str, path=None) -> Sweep | None:
    """A scenario whose ``[reservoirs] bias`` is a list is a series of runs, one per bias (each in
    the units of its own eU); None for an ordinary scenario."""
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return None  # the scenario loader reports it
    biases = data.get("reservoirs", {}).get("bias") if isinstance(data.get("reservoirs"), dict) else None
    if not isinstance(biases, list):
        return None
    source = "scenario" if path is None else str(path)
    biases = _series_biases(source, biases)
    _refuse_repeats(source, "axis 'reservoirs.bias': the value", biases)
    return Sweep(data, {"reservoirs.bias": biases}, source=source)
