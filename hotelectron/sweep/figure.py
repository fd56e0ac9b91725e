"""The figure of a sweep's summary table (PNG, matplotlib with the Agg backend, imported only when
drawing).

The figure has two rows. On the left, f(L/2, eps) of the finished points against eps/E0 (eps/eU for a
biased wire, so that a bias series collapses where the distribution scales with eU: the panel says so
when the curves lie on top of each other), one curve per value of the first swept parameter and, when
the other parameters take at most ``MAX_F_PANELS`` combinations, one column per combination; the
collisionless double step is drawn for reference, and below each panel the difference f(L/2) - double
step shows the relaxation itself, which is often too small to see in f. On the right, against the
first swept parameter with one line per value of the others: that relaxation as one number,
int |f(L/2) - double step| d eps / E0 (in a sweep over the field, relative to its value at B = 0, so
that the lines of several biases share a scale); the Fano factor (with the cold-electron 1/3 and hot-electron
sqrt(3)/4 lines); T_eff(L/2) (with the Wiedemann-Franz value of each point). A panel whose values do
not change along the first parameter (beyond ``ROUND_OFF``: a conserved quantity, such as the current
in units of each point's own E0/eR, or T_eff in a steady state) is not drawn; the title says so. Where
the points are time evolutions, a last panel draws |dW_e/dt| (the electrons' whole energy) and
|dW_p/dt| (the energy handed to the pairs, and in a field to the free spins) against time on a log scale: how the wire settles from the
quench to the steady state.

A sweep over the magnetic field marks on the right-hand panels where the impurity Zeeman energy
equals eU (g mu_B B = eU, from the Zeeman energy each point ran with): with ``field.B`` first, the
field of each bias's line; with the bias first and the field among the other axes, the bias of each
field's line. The field scale of the relaxation is proportional to U.

Where a panel of f holds points whose collisionless double steps differ (several biases: k_B T/eU
differs), each point's double step is drawn in its colour; one black line where they coincide.

The title says what was run (the base scenario as in :func:`hotelectron.io.plots.run_title`, without
the swept keys) and over which values.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import h5py
import numpy as np
import tomli_w

from ..io.plots import double_step, run_title, wiedemann_franz_reference
from ..kinetics.grids import EnergyGrid
from ..units import BOLTZMANN_J_PER_K, registry
from .summary import read_summary

__all__ = ["plot_summary", "summary_figure"]

SUMMARY_OBSERVABLES = (("relaxation", "relaxation: int |f(L/2) - double step| d eps / E0"),
                       ("current_middle", "current I(L/2) / (E0 / eR)"), ("fano", "Fano factor S_I / 2eI"),
                       ("t_eff_mid_K", "T_eff(L/2) (K)"), ("t_eff_mid", "T_eff(L/2) / (E0/k_B)"))
MAX_CURVES = 12
MAX_F_PANELS = 3
SAME_CURVE = 0.01  # curves of f closer than this everywhere look the same in a panel
ROUND_OFF = 1e-4  # relative spread below which a column is a conserved quantity, not a trend
REFERENCE_FANO = ((1.0 / 3.0, "1/3 (cold, no e-e collisions)"), (3.0 ** 0.5 / 4.0, "sqrt(3)/4 (hot electrons)"))


def varies(values) -> bool:
    """Whether a column's spread exceeds round-off relative to its mean (worth a panel)."""
    values = [float(v) for v in values]
    scale = max(abs(sum(values) / len(values)), 1e-300)
    return (max(values) - min(values)) > ROUND_OFF * scale


def readable(column: str) -> str:
    """A summary column as a label: the scenario key without its section (``reservoirs.bias [mV]`` ->
    ``bias [mV]``)."""
    return column.split(".")[-1]


def _name_and_unit(column: str) -> tuple[str, str | None]:
    """``"field.B [T]"`` -> ``("B", "T")``; ``"reservoirs.bias"`` -> ``("bias", None)``."""
    name, _, unit = readable(column).partition(" [")
    unit = unit.rstrip("]") or None
    return name, None if unit == "1" else unit


def value_text(column: str, value) -> str:
    """One swept value with its unit: ``B = 0.5 T``, ``bias = 0.1 mV``."""
    name, unit = _name_and_unit(column)
    if isinstance(value, float):
        return f"{name} = {value:.4g}" + (f" {unit}" if unit else "")
    return f"{name} = {value}"


def axis_label(column: str) -> str:
    """The first swept parameter as an axis label: ``B (T)``."""
    name, unit = _name_and_unit(column)
    return f"{name} ({unit})" if unit else name


def _group_text(columns, values) -> str:
    return ", ".join(value_text(c, v) for c, v in zip(columns, values, strict=True))


def _label(row, axes_cols) -> str:
    return ", ".join(value_text(col, row[col]) for _, col in axes_cols)


def _sweep_axes(header: list[str]) -> list[tuple[str, str]]:
    """(axis, column to plot it with): the numeric ``"key [unit]"`` column where the axis has units."""
    keys = header[header.index("point") + 1: header.index("status")]
    numeric = {k.split(" [")[0]: k for k in keys if " [" in k}
    return [(k, numeric.get(k, k)) for k in keys if " [" not in k]


def _middle(folder: Path, row) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(energies, f(L/2), double step at L/2)`` of a point's last frame."""
    with h5py.File(folder / row["file"], "r") as fh:
        energies, x, f = fh["grid/energy"][:], fh["grid/x"][:], fh["f"][-1]
    middle = x.size // 2
    return energies, f[middle], double_step(f[0], f[-1], float(x[middle]))


def _title(folder: Path, done: list, axes_cols) -> str:
    """What was run (the base scenario without the swept keys) and the swept values."""
    with h5py.File(folder / done[0]["file"], "r") as fh:
        text, mode = fh.attrs.get("scenario", ""), str(fh.attrs.get("mode", "evolve"))
    text = text.decode() if isinstance(text, bytes) else str(text)
    try:
        data = tomllib.loads(text)
        for key, _ in axes_cols:
            *sections, leaf = key.split(".")
            table = data
            for section in sections:
                table = table.get(section, {})
            table.pop(leaf, None)
        base = run_title(tomli_w.dumps(data), mode)
    except (tomllib.TOMLDecodeError, AttributeError, TypeError):
        base = run_title("", mode)
    swept = []
    for _, col in axes_cols:
        values = sorted({row[col] for row in done}, key=lambda v: (isinstance(v, str), v))
        name, unit = _name_and_unit(col)
        shown = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in values)
        swept.append(f"{name} = {shown}" + (f" {unit}" if unit else ""))
    return f"{base}\n{'; '.join(swept)}: {len(done)} points"


def _energy_unit_is_bias(folder: Path, row) -> bool:
    with h5py.File(folder / row["file"], "r") as fh:
        return str(fh.attrs.get("energy_unit", "")).startswith("eU")


def _field_scale(row, column: str) -> float | None:
    """Where g mu_B B = eU on the axis ``column`` for a point in a field: along ``field.B`` the field
    whose Zeeman energy is one E0 (eU), along ``reservoirs.bias`` the bias whose eU is the point's
    Zeeman energy; None for another axis or a point without a field."""
    unit = _name_and_unit(column)[1]
    if column.startswith("field.B") and row.get("zeeman_run_E0") and "field_run_T" in row:
        return float(registry().Quantity(row["field_run_T"] / row["zeeman_run_E0"], "T").to(unit or "T").magnitude)
    if column.startswith("reservoirs.bias") and row.get("zeeman_run_meV") and unit:
        reg = registry()  # eU = Delta_Z: U in mV is Delta_Z in meV (a bias given as an energy: in meV)
        zeeman = reg.Quantity(row["zeeman_run_meV"], "meV")
        as_bias = zeeman if zeeman.dimensionality == reg.Quantity(1, unit).dimensionality else reg.Quantity(
            row["zeeman_run_meV"], "mV")
        return float(as_bias.to(unit).magnitude)
    return None


def plot_summary(path, output=None) -> Path:
    """Draw the figure of a sweep's ``summary.csv``; returns the PNG path (default: next to it)."""
    import matplotlib.pyplot as plt

    path = Path(path)
    output = Path(output) if output is not None else path.with_suffix(".png")
    fig = summary_figure(path)
    fig.savefig(output, dpi=110)
    plt.close(fig)
    return output


def summary_figure(path):
    """The matplotlib Figure of a sweep's ``summary.csv`` (not saved)."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh), None)
    if not header or "point" not in header or "status" not in header:
        msg = f"{path} is not a sweep summary (no 'point' and 'status' columns)"
        raise ValueError(msg)
    rows = read_summary(path)
    done = [row for row in rows if row["status"] == "finished"]
    if not done:
        msg = f"{path}: no finished point to plot ({len(rows)} rows)"
        raise ValueError(msg)
    folder = path.parent
    axes_cols = _sweep_axes(header)
    first, rest = axes_cols[0][1], [col for _, col in axes_cols[1:]]
    groups: dict[tuple, list] = {}
    for row in done:
        groups.setdefault(tuple(row[col] for col in rest), []).append(row)
    for members in groups.values():
        members.sort(key=lambda r: r[first])
    middles = {row["point"]: _middle(folder, row) for row in done}
    for row in done:
        energies, f, step = middles[row["point"]]
        row["relaxation"] = float(np.sum(np.abs(f - step)) * (energies[1] - energies[0]))

    shown = [(name, label) for name, label in SUMMARY_OBSERVABLES if name in done[0]]
    if _relative_to_zero_field(groups, first):
        shown[0] = ("relaxation_ratio", "relaxation / its value at B = 0")
    if any(name == "t_eff_mid_K" for name, _ in shown):
        shown = [(n, l) for n, l in shown if n != "t_eff_mid"]
    along = [members for members in groups.values() if len(members) > 1] or [done]
    constant = [(n, l) for n, l in shown if not any(varies([r[n] for r in members]) for members in along)]
    shown = [item for item in shown if item not in constant]
    evolving = _evolved(folder / done[0]["file"])

    if 1 < len(groups) <= MAX_F_PANELS:  # a column per value of the other parameters, a curve per first
        f_groups = [(_group_text(rest, key), members, axes_cols[:1]) for key, members in groups.items()]
    else:
        f_groups = [("", done, axes_cols)]
    right = len(shown) + evolving
    columns = len(f_groups) + (right + 1) // 2
    fig, axes = plt.subplots(2, columns, figsize=(4.6 * columns, 8.4), squeeze=False)
    for j, (title, members, labelled) in enumerate(f_groups):
        _f_panels(axes[0, j], axes[1, j], members[:MAX_CURVES], middles, labelled, title)
    slots = [axes[i, j] for j in range(len(f_groups), columns) for i in range(2)]
    for ax, (name, label) in zip(slots, shown):
        _observable_panel(ax, folder, name, label, groups, first, rest)
    if evolving:
        _energy_rates(slots[len(shown)], folder, done[:MAX_CURVES], axes_cols)
    for ax in slots[right:]:
        ax.set_visible(False)
    if any(col.startswith("field.B") for _, col in axes_cols):
        _mark_field_scale([ax for ax in slots[:len(shown)]], groups, first, rest,
                          "eU" if _energy_unit_is_bias(folder, done[0]) else "E0")
    failed = len(rows) - len(done)
    notes = [f"{label.split(':')[0].split(' (')[0].split(' /')[0]} does not change with {_name_and_unit(first)[0]}"
             for _, label in constant]
    fig.suptitle(_title(folder, done, axes_cols) + (f", {failed} failed" if failed else "")
                 + (f"\n(not drawn: {'; '.join(notes)})" if notes else ""), fontsize=10)
    fig.tight_layout()
    return fig


def _relative_to_zero_field(groups, first) -> bool:
    """In a sweep over the field whose every line starts at B = 0, the relaxation relative to it
    (``relaxation_ratio``): lines of very different size then share one scale."""
    if not first.startswith("field.B") or not all(members[0][first] == 0 for members in groups.values()):
        return False
    for members in groups.values():
        zero = members[0]["relaxation"]
        for row in members:
            row["relaxation_ratio"] = row["relaxation"] / zero if zero > 0 else np.nan
    return all(members[0]["relaxation"] > 0 for members in groups.values())


def _f_panels(top, bottom, members, middles, axes_cols, title):
    """f(L/2, eps) of ``members`` with the collisionless double step (top) and f - double step (bottom):
    one black reference where the members' double steps coincide, else each member's in its colour."""
    curves, steps = [], []
    for i, row in enumerate(members):
        energies, f, step = middles[row["point"]]
        color = f"C{i % 10}"
        top.plot(energies, f, color=color, label=_label(row, axes_cols))
        bottom.plot(energies, f - step, color=color)
        curves.append(f)
        if not any(_same_curve(step, other) for _, other, _, _ in steps):
            steps.append((energies, step, color, row))
    if len(steps) == 1:
        top.plot(energies, step, "k:", lw=1.2, label="collisionless double step")
    else:
        for energies, step, color, row in steps:
            top.plot(energies, step, ":", color=color, lw=1.2,
                     label=f"collisionless double step, {_label(row, axes_cols)}")
    bottom.axhline(0.0, color="k", ls=":", lw=1.0)
    for ax in (top, bottom):
        ax.set_xlim(max(energies[0], -1.5), min(energies[-1], 1.5))
        ax.set_xlabel("energy eps / E0  (E0 = eU for a biased wire)")
    top.set_ylabel("f(L/2, eps), final frame")
    bottom.set_ylabel("f(L/2, eps) - double step")
    note = ""
    if len(curves) > 1 and all(_same_curve(c, curves[0]) for c in curves):
        bias_series = axes_cols[0][0] == "reservoirs.bias"
        note = ("curves collapse on eps/eU" if bias_series else "curves on top of each other") + f" (differ by < {SAME_CURVE:g})"
    top.set_title("\n".join(t for t in (title, note) if t), fontsize=9)
    top.legend(fontsize=7, loc="lower left")
    bottom.set_title("the relaxation: f(L/2) minus the collisionless double step", fontsize=8)


def _same_curve(a, b) -> bool:
    """Whether two curves of f on the same grid look the same (differ by less than ``SAME_CURVE``)."""
    return a.shape == b.shape and float(np.max(np.abs(a - b))) < SAME_CURVE


def _observable_panel(ax, folder, name, label, groups, first, rest):
    for key, members in groups.items():
        ax.plot([r[first] for r in members], [r[name] for r in members], "o-", label=_group_text(rest, key) or None)
    ax.ticklabel_format(axis="y", useOffset=False)
    if name == "fano":
        for value, text in REFERENCE_FANO:
            ax.axhline(value, color="k", ls=":" if value < 0.34 else "--", lw=1, label=text)
    if name.startswith("t_eff_mid"):
        for j, members in enumerate(groups.values()):  # the equilibrated wire of each point
            ax.plot([r[first] for r in members], [_wiedemann_franz(folder, r, name) for r in members],
                    "k--", lw=1, label=None if j else "Wiedemann-Franz")
    ax.set_xlabel(axis_label(first))
    ax.set_ylabel(label)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def _mark_field_scale(axes, groups, first, rest, unit):
    """A dotted line where g mu_B B = E0 (eU) for each group, in its colour: at its field along the
    field axis, at its bias along the bias axis (:func:`_field_scale`)."""
    for j, (key, members) in enumerate(groups.items()):
        scale = next((b for b in (_field_scale(r, first) for r in members) if b is not None), None)
        if scale is None:
            continue
        text = _group_text(rest, key)
        for ax in axes:
            low, high = ax.get_xlim()
            if low <= scale <= high:
                ax.axvline(scale, color=f"C{j % 10}", ls=":", lw=1.2,
                           label=f"g mu_B B = {unit}" + (f" ({text})" if text else ""))
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)


def _wiedemann_franz(folder, row, column: str) -> float:
    """T_WF(L/2) of a point's last frame, in the unit of ``column`` (K for ``t_eff_mid_K``, else E0)."""
    with h5py.File(folder / row["file"], "r") as fh:
        energies, f = fh["grid/energy"][:], fh["f"][-1]
    t_wf = float(wiedemann_franz_reference(EnergyGrid(energies.size, float(energies[1] - energies[0])), f, 0.5))
    return t_wf * row["energy_unit_J"] / BOLTZMANN_J_PER_K if column.endswith("_K") else t_wf


def _evolved(path) -> bool:
    with h5py.File(path, "r") as fh:
        return "observables/dw_e_dt" in fh and fh["time"].shape[0] > 2


def _energy_rates(ax, folder, rows, axes_cols):
    """How each point settles: |dW_e/dt| of the electrons' whole energy (Joule heating, heat into the
    reservoirs and the exchange with the impurities; differences of W_e between frames, solid) and
    |dW_p/dt| of the pairs (dashed), against time on a log scale. The stored collisional dW_e/dt is
    not drawn: the collisions keep W_e + W_p, so it is -dW_p/dt up to the grid edges."""
    for i, row in enumerate(rows):
        with h5py.File(folder / row["file"], "r") as fh:
            t = fh["time"][:]
            w_e = fh["observables/w_e"][:]
            dw_p = fh["observables/dw_p_dt"][:] if "observables/dw_p_dt" in fh else None
            spins = "observables/dw_spins_dt" in fh  # then dw_p_dt holds pairs and free spins
        label = _label(row, axes_cols)
        color = f"C{i % 10}"
        rate = np.abs(np.diff(w_e) / np.diff(t))
        rate[rate < 1e-12 * np.max(np.abs(w_e))] = np.nan  # differences of W_e at its round-off: not drawn
        ax.semilogy(0.5 * (t[1:] + t[:-1]), rate, color=color, label=f"{label}: electrons")
        if dw_p is not None and np.any(dw_p != 0):
            ax.semilogy(t[1:], abs(dw_p[1:]), color=color, ls="--",
                        label=f"{label}: to the {'pairs and free spins' if spins else 'pairs'}")
    ax.set_xlabel("time t / tau_D")
    ax.set_ylabel("|dW/dt| (units of E0^2 / (e^2 R))")
    ax.set_title("energy rates from the quench to the steady state", fontsize=9)
    ax.legend(fontsize=6)
