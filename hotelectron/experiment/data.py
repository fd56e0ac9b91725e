"""Measured curves on file: the format a fit reads, its reader, and the CSV writer ``hotelectron probe`` uses.

CSV. Lines starting with ``#`` are comments, blank lines are skipped, cells are separated by commas.
One column line names the columns; every other line is a row of numbers. ``numpy.savetxt`` writes
the column line as a comment, and that is read too: when the first line that is not a comment starts
with a number, the column line is the last comment before it. A column name is a quantity with an
optional unit suffix (``V_mV``, ``T_mK``); a comment line ``units: V [uV] probe bias, U [mV]`` gives
(or, for suffixed names, must agree with) the units of the columns it names. A comment line
``R_T: 12.5 kOhm`` gives the tunnel resistance.

=========  =================================  ==================  ================
quantity   meaning                            units accepted      read as
=========  =================================  ==================  ================
U          wire bias (required)               mV, uV, V           mV
B          magnetic field (optional)          T, mT               T
T          bath temperature (optional)        K, mK               K
V          probe bias                         mV, uV, V           mV
RT_dIdV    normalised conductance R_T dI/dV   1 (may be omitted)  1
dIdV       conductance dI/dV (needs R_T)      S, mS, uS, nS       R_T dI/dV
E          energy of f                        meV, ueV            meV
f          distribution f(E)                  1 (may be omitted)  1
=========  =================================  ==================  ================

A table holds V with RT_dIdV, V with dIdV, or E with f. The rows of one (U, B, T) form one curve
(in the order they first appear); within a curve V (or E) must increase strictly in file order.

HDF5. Every top-level group is one curve, read in the order of the group names. Its datasets are
named like the columns (``V_mV``), or bare (``V``) with a string attribute ``units``: scalars U,
optionally B and T, optionally R_T (Ohm, kOhm, MOhm), and 1-d arrays of equal length, V with
RT_dIdV or dIdV, or E with f. No two groups may share (U, B, T).

Refusals raise :class:`hotelectron.io.errors.DataFileError` (a ``ValueError``: exit status 2 on the
command line) with a one-line message naming the file, the line (HDF5: group) and the column (HDF5:
dataset, and the index of a bad element).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.errors import DataFileError

__all__ = ["KINDS", "NOISE_TOLERANCE", "QUANTITIES", "MeasuredCurve", "MeasuredCurves", "read_csv",
           "read_curves", "read_hdf5", "write_csv"]

#: quantity -> (what it is, {unit in a file: factor to the unit it is read in}); the first unit is
#: the one it is read in (for dIdV: siemens, multiplied by R_T into R_T dI/dV).
QUANTITIES = {
    "U": ("wire bias", {"mV": 1.0, "uV": 1e-3, "V": 1e3}),
    "B": ("magnetic field", {"T": 1.0, "mT": 1e-3}),
    "T": ("bath temperature", {"K": 1.0, "mK": 1e-3}),
    "V": ("probe bias", {"mV": 1.0, "uV": 1e-3, "V": 1e3}),
    "E": ("energy", {"meV": 1.0, "ueV": 1e-3}),
    "RT_dIdV": ("normalised conductance R_T dI/dV", {"1": 1.0}),
    "dIdV": ("conductance dI/dV", {"S": 1.0, "mS": 1e-3, "uS": 1e-6, "nS": 1e-9}),
    "f": ("distribution f", {"1": 1.0}),
    "R_T": ("tunnel resistance", {"Ohm": 1.0, "kOhm": 1e3, "MOhm": 1e6}),
}
#: kind of curve -> (x, y) quantities as written by :func:`write_csv`
KINDS = {"conductance": ("V", "RT_dIdV"), "distribution": ("E", "f")}
#: Measured values may stray this far outside their physical range (noise) and are kept as they are:
#: f in [-tol, 1 + tol], R_T dI/dV >= -tol.
NOISE_TOLERANCE = 0.01
#: The largest |V| (mV) and |E| (meV) read: 1 V, beyond any tunnel spectroscopy of a metal. Far beyond it the
#: probe's cell integrals lose their digits (R_T dI/dV = 0.998 for 1 at 1e12 mV, 1.8e-35 at 1e300).
X_MAX = 1000.0

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NONFINITE = {"nan", "inf", "infinity"}
_DIRECTIVE = re.compile(r"(units|R_T)\s*:\s*(.*)", re.IGNORECASE)
_UNIT_ITEM = re.compile(r"\s*([A-Za-z_]\w*)\s*\[([^\]]*)\]")
_KNOWN = "U, B, T, V, RT_dIdV, dIdV, E, f, each optionally with a unit suffix such as V_mV"


@dataclass(frozen=True, eq=False)
class MeasuredCurve:
    """One measured curve at wire bias U, field B and bath temperature T.

    Attributes
    ----------
    bias_mV : wire bias U in mV.
    field_T : magnetic field B in T, or None when the file gives none.
    temperature_K : bath temperature T in K, or None when the file gives none.
    kind : ``"conductance"`` (x = probe bias V in mV, y = R_T dI/dV) or ``"distribution"`` (x = energy
        E in meV from the wire's Fermi level, y = f(E)).
    x, y : read-only 1-d float arrays of equal length >= 1, x strictly increasing, all finite.
    source : where the curve was read (``"data.csv lines 5-105"``), for messages.
    """

    bias_mV: float
    field_T: float | None
    temperature_K: float | None
    kind: str
    x: np.ndarray
    y: np.ndarray
    source: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            msg = f"curve kind {self.kind!r} must be one of {', '.join(KINDS)}"
            raise ValueError(msg)
        for name in ("bias_mV", "field_T", "temperature_K"):
            value = getattr(self, name)
            if value is None and name != "bias_mV":
                continue
            if not math.isfinite(value):
                msg = f"curve {name} = {value!r} must be a finite number"
                raise ValueError(msg)
            object.__setattr__(self, name, float(value))
        x, y = np.array(self.x, dtype=float), np.array(self.y, dtype=float)
        if x.ndim != 1 or x.shape != y.shape or x.size == 0:
            msg = f"curve x and y must be equal 1-d arrays of at least 1 point, got {x.shape} and {y.shape}"
            raise ValueError(msg)
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            msg = "curve x and y must be finite"
            raise ValueError(msg)
        if np.any(np.diff(x) <= 0):
            msg = "curve x must increase strictly"
            raise ValueError(msg)
        for name, array in (("x", x), ("y", y)):
            array.flags.writeable = False
            object.__setattr__(self, name, array)

    @property
    def key(self) -> tuple[float, float | None, float | None]:
        """(U in mV, B in T or None, T in K or None): what tells the curves of a file apart."""
        return (self.bias_mV, self.field_T, self.temperature_K)


@dataclass(frozen=True, eq=False)
class MeasuredCurves:
    """The curves of one file, one per distinct (U, B, T), in file order; ``curves[key]`` finds one."""

    source: str
    curves: tuple[MeasuredCurve, ...]

    def __post_init__(self):
        curves = tuple(self.curves)
        keys = [c.key for c in curves]
        if len(set(keys)) != len(keys):
            msg = f"{self.source}: two curves share (U, B, T)"
            raise ValueError(msg)
        object.__setattr__(self, "curves", curves)

    def __len__(self):
        return len(self.curves)

    def __iter__(self):
        return iter(self.curves)

    def keys(self) -> list[tuple[float, float | None, float | None]]:
        return [c.key for c in self.curves]

    def __getitem__(self, key):
        for curve in self.curves:
            if curve.key == tuple(key):
                return curve
        msg = f"{self.source}: no curve at (U, B, T) = {tuple(key)}; there are {self.keys()}"
        raise KeyError(msg)


def read_curves(path, *, tunnel_resistance_ohm=None) -> MeasuredCurves:
    """Read the measured curves of an HDF5 or CSV file (told apart by content, not name).

    Parameters
    ----------
    path : the file.
    tunnel_resistance_ohm : R_T in ohm, needed for dIdV data when the file gives none (if it gives
        one, the two must agree).
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such data file"
        raise FileNotFoundError(msg)
    if h5py.is_hdf5(path):
        return read_hdf5(path, tunnel_resistance_ohm=tunnel_resistance_ohm)
    return read_csv(path, tunnel_resistance_ohm=tunnel_resistance_ohm)


# ---------------------------------------------------------------- shared by both formats


@dataclass
class _Table:
    """Columns of one file (or HDF5 group) as read, before they become curves."""

    names: dict[str, str]  # quantity -> its name in the file
    raw: dict[str, np.ndarray]  # quantity -> values in the file's unit, one per row
    factors: dict[str, float]  # quantity -> factor to the unit it is read in
    cell: Callable[[int, str], str]  # (row, name in the file) -> "data.csv line 7, column V_mV"
    row: Callable[[int], str]  # row -> "on line 7"
    span: Callable[[list[int]], str]  # rows of a curve -> "data.csv lines 5-105"


def _normal_unit(unit: str) -> str:
    unit = unit.strip().replace("\u00b5", "u").replace("\u03bc", "u").replace("\u03a9", "Ohm")
    return unit or "1"


def _quantity(name: str, unit: str | None, where: str, origin: str) -> tuple[str, float]:
    """(quantity, factor) of a column ``name`` (``V_mV`` or ``V``) whose unit ``origin`` gives as ``unit``."""
    quantity, suffix = None, None
    for known in sorted(QUANTITIES, key=len, reverse=True):  # RT_dIdV before T
        if name == known or name.startswith(known + "_"):
            quantity, suffix = known, name[len(known) + 1:] or None
            break
    if quantity is None:
        msg = f"{where}: unknown column {name!r}; known: {_KNOWN}"
        raise DataFileError(msg)
    what, units = QUANTITIES[quantity]
    if suffix is not None and unit is not None and _normal_unit(suffix) != _normal_unit(unit):
        msg = f"{where}: the name says unit {suffix!r} but {origin} says {unit!r}"
        raise DataFileError(msg)
    unit = suffix if suffix is not None else unit
    if unit is None:
        if "1" not in units:
            first = next(iter(units))
            msg = f"{where}: no unit for the {what}; name the column {quantity}_{first} or give it in {origin}"
            raise DataFileError(msg)
        unit = "1"
    if _normal_unit(unit) not in units:
        msg = f"{where}: unknown unit {unit!r} for the {what} {quantity} (allowed: {', '.join(units)})"
        raise DataFileError(msg)
    return quantity, units[_normal_unit(unit)]


def _layout(names: dict[str, str], where: Callable[[str], str]) -> tuple[str, str]:
    """(x, y) quantities of a table with columns ``names`` (quantity -> name), or a refusal."""
    ys = [q for q in ("RT_dIdV", "dIdV", "f") if q in names]
    if "U" not in names:
        msg = f"{where('U')}: missing; the wire bias U is required (e.g. a column U_mV)"
        raise DataFileError(msg)
    if not ys:
        msg = f"{where('RT_dIdV')}: missing; give one of RT_dIdV, dIdV (with R_T) or f"
        raise DataFileError(msg)
    if len(ys) > 1:
        msg = f"{where(names[ys[1]])}: a table holds one of RT_dIdV, dIdV or f, and has {names[ys[0]]} already"
        raise DataFileError(msg)
    y = ys[0]
    x, other = ("E", "V") if y == "f" else ("V", "E")
    if x not in names:
        msg = f"{where(x)}: missing; {names[y]} needs the {QUANTITIES[x][0]} {x} (e.g. a column {x}_{next(iter(QUANTITIES[x][1]))})"
        raise DataFileError(msg)
    if other in names:
        msg = f"{where(names[other])}: the {QUANTITIES[other][0]} does not go with {names[y]} (the {QUANTITIES[x][0]} {x} does)"
        raise DataFileError(msg)
    return x, y


def _resistance_ohm(in_file: float | None, argument: float | None, where: str) -> float | None:
    """R_T in ohm from the file's value and the reader's argument (which must agree if both are given)."""
    if argument is not None and not (math.isfinite(argument) and argument > 0):
        msg = f"tunnel_resistance_ohm = {argument!r} must be a positive finite number"
        raise ValueError(msg)
    if in_file is not None and not in_file > 0:
        msg = f"{where}: R_T = {in_file!r} Ohm must be positive"
        raise DataFileError(msg)
    if in_file is not None and argument is not None and not math.isclose(in_file, argument, rel_tol=1e-9):
        msg = f"{where}: R_T = {in_file!r} Ohm in the file, but tunnel_resistance_ohm = {argument!r}"
        raise DataFileError(msg)
    return in_file if in_file is not None else argument


def _to_curves(table: _Table, resistance_ohm: float | None, where: Callable[[str], str]) -> list[MeasuredCurve]:
    """Check the values of a table and split it into one curve per (U, B, T)."""
    x, y = _layout(table.names, where)
    values = {q: table.raw[q] * table.factors[q] for q in table.raw}
    if y == "dIdV":
        if resistance_ohm is None:
            msg = (f"{where(table.names[y])}: dI/dV needs the tunnel resistance; give a comment line "
                   "'# R_T: 12.5 kOhm' (HDF5: a dataset R_T) or tunnel_resistance_ohm")
            raise DataFileError(msg)
        values[y] = values[y] * resistance_ohm
    limits = {"T": (0.0, math.inf, "a negative temperature")}
    if y == "f":
        limits[y] = (-NOISE_TOLERANCE, 1 + NOISE_TOLERANCE, f"outside [0, 1] (noise allowance {NOISE_TOLERANCE})")
    else:
        limits[y] = (-NOISE_TOLERANCE, math.inf, f"negative (R_T dI/dV >= 0, noise allowance {NOISE_TOLERANCE})")
    unit = next(iter(QUANTITIES[x][1]))  # mV or meV, the unit of values[x]
    limits[x] = (-X_MAX, X_MAX, f"beyond +-{X_MAX:g} {unit} (1 V; the probe's model keeps its digits only within it)")
    for q, (low, high, what) in limits.items():
        if q in values and np.any(bad := (values[q] < low) | (values[q] > high)):
            i = int(np.argmax(bad))
            msg = f"{table.cell(i, table.names[q])}: {float(table.raw[q][i])!r} is {what}"
            raise DataFileError(msg)
    n = values["U"].size
    keys = zip(values["U"].tolist(), values["B"].tolist() if "B" in values else [None] * n,
               values["T"].tolist() if "T" in values else [None] * n)
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    kind = "distribution" if y == "f" else "conductance"
    curves = []
    for (u, b, t), rows in groups.items():
        xs = values[x][rows]
        step = np.diff(xs) <= 0
        if np.any(step):
            j = int(np.argmax(step)) + 1
            now, before = rows[j], rows[j - 1]
            how = "repeats" if xs[j] == xs[j - 1] else "is below"
            msg = (f"{table.cell(now, table.names[x])}: {float(table.raw[x][now])!r} {how} the previous "
                   f"{QUANTITIES[x][0]} of this curve ({float(table.raw[x][before])!r} {table.row(before)}); "
                   f"each curve's {x} must increase strictly")
            raise DataFileError(msg)
        curves.append(MeasuredCurve(u, b, t, kind, xs, values[y][rows], source=table.span(rows)))
    return curves


# ---------------------------------------------------------------- CSV


def _is_number_like(cell: str) -> bool:
    return bool(_NUMBER.fullmatch(cell)) or cell.lower().lstrip("+-") in _NONFINITE


def _number(cell: str, where: str) -> float:
    if _NUMBER.fullmatch(cell):
        value = float(cell)
        if math.isfinite(value):
            return value
    elif cell.lower().lstrip("+-") not in _NONFINITE:
        msg = f"{where}: {cell!r} is not a number"
        raise DataFileError(msg)
    msg = f"{where}: {cell!r} is not finite"
    raise DataFileError(msg)


def _resistance_line(text: str, where: str) -> float:
    """R_T in ohm from the text of an ``R_T:`` comment line, ``"12.5 kOhm"``."""
    units = QUANTITIES["R_T"][1]
    parts = text.split()
    if len(parts) != 2:
        msg = f"{where}: {text!r} is not a resistance such as '12.5 kOhm' (units: {', '.join(units)})"
        raise DataFileError(msg)
    value = _number(parts[0], where)
    if _normal_unit(parts[1]) not in units:
        msg = f"{where}: unknown unit {parts[1]!r} for the tunnel resistance (allowed: {', '.join(units)})"
        raise DataFileError(msg)
    return value * units[_normal_unit(parts[1])]


def read_csv(path, *, tunnel_resistance_ohm=None) -> MeasuredCurves:
    """Read the measured curves of a CSV file (the format of this module's docstring).

    Parameters
    ----------
    path : the file.
    tunnel_resistance_ohm : R_T in ohm for a dIdV column when the file has no ``R_T:`` line.
    """
    path = Path(path)
    name = path.name
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        msg = f"{name}: not a UTF-8 text file (byte {exc.start}: {exc.reason})"
        raise DataFileError(msg) from None
    directives: dict[str, tuple[int, str]] = {}
    last_comment, header, rows = None, None, []
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            body = text[1:].strip()
            if match := _DIRECTIVE.fullmatch(body):
                key = "units" if match.group(1).lower() == "units" else "R_T"
                if key in directives:
                    msg = f"{name} line {n}: a second {key}: line (the first is line {directives[key][0]})"
                    raise DataFileError(msg)
                directives[key] = (n, match.group(2))
            elif header is None:
                last_comment = (n, body)
            continue
        cells = [c.strip() for c in text.split(",")]
        if header is None:
            if not _is_number_like(cells[0]):
                header = (n, cells)
                continue
            if last_comment is None:
                msg = f"{name} line {n}: data before any column line (such as '# U_mV,V_mV,RT_dIdV')"
                raise DataFileError(msg)
            header = (last_comment[0], [c.strip() for c in last_comment[1].split(",")])
        rows.append((n, cells))
    if header is None:
        msg = f"{name} line {max(len(lines), 1)}: empty file (no column line and no data)"
        raise DataFileError(msg)
    header_line, columns = header
    if not rows:
        msg = f"{name} line {header_line}: no data rows after the column line"
        raise DataFileError(msg)

    units, units_line = {}, None
    if "units" in directives:
        units_line, text = directives["units"]
        units = {m.group(1): m.group(2) for m in map(_UNIT_ITEM.match, text.split(",")) if m}
        for column in units:
            if column not in columns:
                msg = (f"{name} line {units_line}, column {column}: the units: line names a column that the "
                       f"column line (line {header_line}) does not have")
                raise DataFileError(msg)
    names, factors, index = {}, {}, {}
    for j, column in enumerate(columns):
        where = f"{name} line {header_line}, column {column or j + 1}"
        if not column:
            msg = f"{where}: empty column name"
            raise DataFileError(msg)
        origin = f"the units: line (line {units_line})" if units_line else "a units: line"
        q, factor = _quantity(column, units.get(column), where, origin)
        if q == "R_T":
            msg = f"{where}: R_T goes in a comment line such as '# R_T: 12.5 kOhm', not in a column"
            raise DataFileError(msg)
        if q in names:
            msg = f"{where}: a second {QUANTITIES[q][0]} column ({names[q]} is the first)"
            raise DataFileError(msg)
        names[q], factors[q], index[q] = column, factor, j

    resistance, where = None, None
    if "R_T" in directives:
        where = f"{name} line {directives['R_T'][0]}, R_T"
        resistance = _resistance_line(directives["R_T"][1], where)
    resistance = _resistance_ohm(resistance, tunnel_resistance_ohm, where)

    width = len(columns)
    data = np.empty((len(rows), width))
    for r, (n, cells) in enumerate(rows):
        if len(cells) < width:
            msg = f"{name} line {n}, column {columns[len(cells)]}: missing cell (the row has {len(cells)} of {width})"
            raise DataFileError(msg)
        if len(cells) > width:
            msg = (f"{name} line {n}, column {width + 1}: extra cell {cells[width]!r} (the column line, "
                   f"line {header_line}, has {width} columns)")
            raise DataFileError(msg)
        for j, cell in enumerate(cells):
            data[r, j] = _number(cell, f"{name} line {n}, column {columns[j]}")

    def span(rs):
        first, last = rows[rs[0]][0], rows[rs[-1]][0]
        return f"{name} line {first}" if first == last else f"{name} lines {first}-{last}"

    table = _Table(names, {q: data[:, j] for q, j in index.items()}, factors,
                   cell=lambda i, column: f"{name} line {rows[i][0]}, column {column}",
                   row=lambda i: f"on line {rows[i][0]}", span=span)
    curves = _to_curves(table, resistance, lambda column: f"{name} line {header_line}, column {column}")
    return MeasuredCurves(str(path), tuple(curves))


def write_csv(path, curves, comments=()) -> None:
    """Write curves of one kind as a CSV table that :func:`read_csv` reads back exactly.

    Columns U_mV, B_T and T_K (each curve's field and temperature, when the curves have them),
    V_mV with RT_dIdV or E_meV with f; a ``units:`` comment line and the column line as the last
    comment (so ``numpy.loadtxt(path, delimiter=",")`` reads it too). Numbers are written with
    Python's shortest round-trip representation.

    Parameters
    ----------
    path : the file to write.
    curves : :class:`MeasuredCurve` objects of one kind.
    comments : lines of text written first, each as a ``#`` comment.
    """
    curves = list(curves)
    if not curves or len({c.kind for c in curves}) != 1:
        msg = f"write_csv needs curves of one kind, got kinds {sorted({c.kind for c in curves})}"
        raise ValueError(msg)
    if len({c.key for c in curves}) != len(curves):
        msg = "write_csv: two curves share (U, B, T); the file could not tell them apart"
        raise ValueError(msg)
    header = ["U"]
    for q, attribute in (("B", "field_T"), ("T", "temperature_K")):
        given = {getattr(c, attribute) is not None for c in curves}
        if given == {True}:
            header.append(q)
        elif given == {True, False}:
            msg = f"write_csv: some curves have {attribute} and some not; a column is for all or none"
            raise ValueError(msg)
    header += KINDS[curves[0].kind]
    unit = {q: next(iter(QUANTITIES[q][1])) for q in header}
    names = [q if unit[q] == "1" else f"{q}_{unit[q]}" for q in header]
    lines = [f"# {line}" for comment in comments for line in str(comment).splitlines()]
    if any(_DIRECTIVE.fullmatch(line[1:].strip()) for line in lines):
        msg = "write_csv: a comment would read as a units: or R_T: line"
        raise ValueError(msg)
    lines.append("# units: " + ", ".join(f"{n} [{unit[q]}] {QUANTITIES[q][0]}" for n, q in zip(names, header)))
    lines.append("# " + ",".join(names))
    for c in curves:
        fixed = [v for v in c.key if v is not None]
        prefix = "".join(f"{v!r}," for v in fixed)
        lines += [f"{prefix}{xi!r},{yi!r}" for xi, yi in zip(c.x.tolist(), c.y.tolist())]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- HDF5


def read_hdf5(path, *, tunnel_resistance_ohm=None) -> MeasuredCurves:
    """Read the measured curves of an HDF5 file (one top-level group per curve, see the module docstring).

    Parameters
    ----------
    path : the file.
    tunnel_resistance_ohm : R_T in ohm for dIdV data in a group without an R_T dataset.
    """
    import h5py

    path = Path(path)
    name = path.name
    curves, seen = [], {}
    with h5py.File(path, "r") as fh:
        if "scenario" in fh.attrs and "f" in fh:
            msg = (f"{name}: a trajectory of 'hotelectron run', not measured curves; 'hotelectron probe {name} -o "
                   "curve.csv' makes the conductance a probe would measure of it")
            raise DataFileError(msg)
        if len(fh) == 0:
            msg = f"{name}: no curves (the file has no top-level groups)"
            raise DataFileError(msg)
        for group_name, group in fh.items():
            where = f"{name} group /{group_name}"
            if not isinstance(group, h5py.Group):
                msg = f"{where}: a curve is a group of datasets, this is a dataset"
                raise DataFileError(msg)
            curve, u_name = _hdf5_curve(group, where, tunnel_resistance_ohm)
            if curve.key in seen:
                msg = f"{where}, dataset {u_name}: (U, B, T) = {curve.key} is that of group /{seen[curve.key]}"
                raise DataFileError(msg)
            seen[curve.key] = group_name
            curves.append(curve)
    return MeasuredCurves(str(path), tuple(curves))


def _hdf5_curve(group, where: str, tunnel_resistance_ohm) -> tuple[MeasuredCurve, str]:
    """The curve of one group and the name of its U dataset."""
    import h5py

    names, raw, factors = {}, {}, {}
    for dataset_name, dataset in group.items():
        at = f"{where}, dataset {dataset_name}"
        if not isinstance(dataset, h5py.Dataset):
            msg = f"{at}: a group inside a curve; a curve holds datasets only"
            raise DataFileError(msg)
        unit = dataset.attrs.get("units")
        if isinstance(unit, bytes):
            unit = unit.decode("utf-8", "replace")
        if unit is not None and not isinstance(unit, str):
            msg = f"{at}: the units attribute must be a string such as 'mV', got {unit!r}"
            raise DataFileError(msg)
        q, factor = _quantity(dataset_name, unit, at, "the units attribute")
        if q in names:
            msg = f"{at}: a second {QUANTITIES[q][0]} dataset ({names[q]} is the first)"
            raise DataFileError(msg)
        scalar = q in ("U", "B", "T", "R_T")
        if dataset.dtype.kind not in "iuf":
            msg = f"{at}: holds {dataset.dtype} data, not numbers"
            raise DataFileError(msg)
        if (dataset.ndim != 0) if scalar else (dataset.ndim != 1):
            msg = f"{at}: shape {dataset.shape}, expected {'a scalar' if scalar else 'a 1-d array'}"
            raise DataFileError(msg)
        values = np.asarray(dataset[()], dtype=float).reshape(-1)
        if not np.all(np.isfinite(values)):
            i = int(np.argmin(np.isfinite(values)))
            msg = f"{at}{'' if scalar else f', index {i}'}: {float(values[i])!r} is not finite"
            raise DataFileError(msg)
        names[q], raw[q], factors[q] = dataset_name, values, factor
    resistance = float(raw.pop("R_T")[0] * factors["R_T"]) if "R_T" in raw else None
    resistance = _resistance_ohm(resistance, tunnel_resistance_ohm, f"{where}, dataset {names.get('R_T', 'R_T')}")
    names.pop("R_T", None)

    def at(column):
        return f"{where}, dataset {column}"

    x, y = _layout(names, at)
    size = raw[x].size
    if raw[y].size != size:
        msg = f"{at(names[y])}: {raw[y].size} values, but {names[x]} has {size}"
        raise DataFileError(msg)
    if size == 0:
        msg = f"{at(names[x])}: empty curve (no points)"
        raise DataFileError(msg)
    for q in ("U", "B", "T"):
        if q in raw:
            raw[q] = np.full(size, raw[q][0])
    scalars = {names[q] for q in ("U", "B", "T") if q in names}
    table = _Table(names, raw, factors,
                   cell=lambda i, column: at(column) if column in scalars else f"{at(column)}, index {i}",
                   row=lambda i: f"at index {i}", span=lambda rows: where)
    (curve,) = _to_curves(table, resistance, at)
    return curve, names["U"]
