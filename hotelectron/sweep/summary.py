"""The summary table of a sweep: one row per point with its parameters, status, error, wall time and
the scalar observables of its last frame. Written as CSV, which ``pandas.read_csv`` opens directly
(``.set_index(axes).to_xarray()`` gives an xarray Dataset over the swept parameters).

Observables are in the solver's units (energies in E0, times in tau_D; see the README and
:mod:`hotelectron.io.quantities`); the columns ``energy_unit_J``, ``energy_unit_meV`` and ``tau_D_s``
convert them. For a physical scenario each observable also has a column in SI units, named with its
unit (:func:`hotelectron.io.quantities.si_column`): ``current_middle_A``, ``noise_A2_per_Hz``,
``joule_power_W``, ``heat_left_W``, ``t_eff_mid_K``, ...; currents, noise and powers need the wire's
resistance (``[wire] resistance``) and are absent without it. A point with a magnetic field (``[field]``)
also has the Zeeman energy it ran with: ``zeeman_run_E0`` (Delta_Z / E0, i.e. Delta_Z / eU for a biased
wire), ``zeeman_run_meV`` and ``field_run_T`` (the field of that Zeeman energy).
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import h5py

from ..io.quantities import energy_meV, physical_values
from ..units import value_quantity

__all__ = ["axis_columns", "failed_row", "read_summary", "summarise_file", "write_summary"]

FIXED = ("index", "point", "status", "error", "wall_s", "file")
#: The field of a point as it ran (zeeman_run_E0 = Delta_Z / eU for a biased wire: the scale of a field
#: series), from the file's derived constants.
FIELD_COLUMNS = ("zeeman_run_E0", "zeeman_run_meV", "field_run_T")


def failed_row(index: int, params: dict, path, error: str, wall_s: float) -> dict:
    return {"index": index, "point": f"point-{index:04d}", **params, "status": "failed", "error": error,
            "wall_s": wall_s, "file": "" if path is None else Path(path).name}


def summarise_file(path, index: int, params: dict) -> dict:
    """The row of one point's HDF5 file: status, message and the last frame's scalars."""
    path = Path(path)
    with h5py.File(path, "r") as fh:
        n_t = fh["time"].shape[0]
        derived = json.loads(fh.attrs["derived"])
        row = {"index": index, "point": f"point-{index:04d}", **params, "status": str(fh.attrs["status"]),
               "error": str(fh.attrs["message"]), "wall_s": float(fh["wall_time"][-1]) if n_t else math.nan,
               "file": path.name, "energy_unit_J": derived.get("energy_unit_J", math.nan),
               "tau_D_s": derived.get("tau_D_s", math.nan), "time_tau_D": float(fh["time"][-1]) if n_t else math.nan}
        row.update({key: derived[key] for key in FIELD_COLUMNS if key in derived})
        for name, ds in fh["observables"].items():
            row[name] = float(ds[n_t - 1]) if n_t else math.nan
        observed = {name: row[name] for name in fh["observables"]}
    meV = energy_meV(derived)
    if meV is not None:
        row["energy_unit_meV"] = meV
    row.update(physical_values(observed, derived))
    return row


def axis_columns(rows: list[dict], keys: list[str]) -> dict[str, dict[int, float]]:
    """Numeric columns for swept quantities given with units: ``"reservoirs.bias [mV]"`` -> values by
    row index, in the unit of the axis's first value. Only for axes whose every value is a number
    with a unit of one dimension (plain-number axes need none, words get none)."""
    columns = {}
    for key in keys:
        quantities = {row["index"]: value_quantity(row.get(key)) for row in rows}
        if not quantities or any(q is None for q in quantities.values()):
            continue
        unit = next(iter(quantities.values())).units
        if any(q.dimensionality != (1 * unit).dimensionality for q in quantities.values()):
            continue
        label = f"{unit:~}" if str(unit) != "dimensionless" else "1"
        columns[f"{key} [{label}]"] = {i: float(q.to(unit).magnitude) for i, q in quantities.items()}
    return columns


def write_summary(rows: list[dict], keys: list[str], path) -> Path:
    """Write the rows as CSV (atomically: a reader never sees half a table)."""
    path = Path(path)
    extra = axis_columns(rows, keys)
    observed = []
    for row in rows:
        observed += [k for k in row if k not in FIXED and k not in keys and k not in observed]
    header = [*FIXED[:2], *keys, *extra, *FIXED[2:], *observed]
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, **{name: numbers[row["index"]] for name, numbers in extra.items()}})
    os.replace(tmp, path)
    return path


def read_summary(path) -> list[dict]:
    """The rows of a summary file, numbers as floats (pandas users: ``pandas.read_csv(path)``)."""
    def value(text):
        try:
            return float(text)
        except ValueError:
            return text

    with Path(path).open(newline="", encoding="utf-8") as fh:
        return [{k: (value(v) if v != "" else math.nan) if k not in ("status", "error", "point", "file") else v
                 for k, v in row.items()} for row in csv.DictReader(fh)]
