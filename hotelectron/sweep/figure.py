"""The figure of a sweep's summary table (PNG, matplotlib with the Agg backend, imported only when
drawing).

f(L/2, eps) of each finished point against eps/E0 (eps/eU for a biased wire, so that a bias series
collapses where the distribution scales with eU: the figure says so when the curves lie on top of
each other) and the Fano factor (with the cold-electron 1/3 and hot-electron sqrt(3)/4 lines) and
T_eff(L/2) (with the Wiedemann-Franz value of each point) against the first swept parameter, one line
per value of the others. The current in units of each point's own E0/eR is 1 by charge conservation;
a panel of it would draw round-off, so it is drawn only where it varies by more than ``ROUND_OFF`` of
its mean. Where the points are time
evolutions, a last panel draws |dW_e/dt| (the electrons' whole energy) and |dW_p/dt| (the energy handed
to the pairs) against time on a log scale: how the wire settles from the quench to the steady state.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ..io.plots import wiedemann_franz_reference
from ..kinetics.grids import EnergyGrid
from ..units import BOLTZMANN_J_PER_K
from .summary import read_summary

__all__ = ["plot_summary"]

SUMMARY_OBSERVABLES = (("current_middle", "current I(L/2) / (E0 / eR)"), ("fano", "Fano factor S_I / 2eI"),
                       ("t_eff_mid_K", "T_eff(L/2) (K)"), ("t_eff_mid", "T_eff(L/2) / (E0/k_B)"))
MAX_CURVES = 12
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


def _label(row, axes_cols) -> str:
    return ", ".join(f"{readable(col)} = {row[col]:.4g}" if isinstance(row[col], float)
                     else f"{readable(col)} = {row[col]}" for _, col in axes_cols)


def _sweep_axes(header: list[str]) -> list[tuple[str, str]]:
    """(axis, column to plot it with): the numeric ``"key [unit]"`` column where the axis has units."""
    keys = header[header.index("point") + 1: header.index("status")]
    numeric = {k.split(" [")[0]: k for k in keys if " [" in k}
    return [(k, numeric.get(k, k)) for k in keys if " [" not in k]


def plot_summary(path, output=None) -> Path:
    """Draw the figure of a sweep's ``summary.csv``; returns the PNG path (default: next to it)."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt


    path = Path(path)
    output = Path(output) if output is not None else path.with_suffix(".png")
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
    axes_cols = _sweep_axes(header)
    shown = [(name, label) for name, label in SUMMARY_OBSERVABLES if name in done[0]]
    if any(name == "t_eff_mid_K" for name, _ in shown):
        shown = [(n, l) for n, l in shown if n != "t_eff_mid"]
    constant = [name for name, _ in shown if not varies([row[name] for row in done])]
    shown = [(n, l) for n, l in shown if not (n == "current_middle" and n in constant)]

    evolving = _evolved(path.parent / done[0]["file"])
    panels = 1 + len(shown) + evolving
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 4.2), squeeze=False)
    axes = axes[0]
    ax = axes[0]
    mids = []
    for row in done[:MAX_CURVES]:
        with h5py.File(path.parent / row["file"], "r") as fh:
            energies = fh["grid/energy"][:]
            f = fh["f"][-1]
        mids.append(f[f.shape[0] // 2])
        ax.plot(energies, mids[-1], label=_label(row, axes_cols))
    ax.set_xlim(max(energies[0], -1.5), min(energies[-1], 1.5))
    ax.set_xlabel("energy eps / eU")
    ax.set_ylabel("f(L/2, eps), final frame")
    if len(mids) > 1 and all(m.shape == mids[0].shape and abs(m - mids[0]).max() < 0.01 for m in mids):
        ax.set_title("curves collapse on eps/eU (differ by < 0.01)", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")

    first, rest = axes_cols[0][1], [col for _, col in axes_cols[1:]]
    groups: dict[tuple, list] = {}
    for row in done:
        groups.setdefault(tuple(row[col] for col in rest), []).append(row)
    for ax, (name, label) in zip(axes[1:1 + len(shown)], shown, strict=True):
        for key, members in groups.items():
            members = sorted(members, key=lambda r: r[first])
            ax.plot([r[first] for r in members], [r[name] for r in members], "o-",
                    label=", ".join(f"{readable(c)} = {v}" for c, v in zip(rest, key, strict=True)) or None)
        ax.ticklabel_format(axis="y", useOffset=False)
        if name == "fano":
            for value, text in REFERENCE_FANO:
                ax.axhline(value, color="k", ls=":" if value < 0.34 else "--", lw=1, label=text)
        if name.startswith("t_eff_mid"):
            for j, members in enumerate(groups.values()):  # the equilibrated wire of each point
                members = sorted(members, key=lambda r: r[first])
                ax.plot([r[first] for r in members], [_wiedemann_franz(path.parent, r, name) for r in members],
                        "k--", lw=1, label=None if j else "Wiedemann-Franz")
        ax.set_xlabel(readable(first))
        ax.set_ylabel(label)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    if evolving:
        _energy_rates(axes[-1], path.parent, done[:MAX_CURVES], axes_cols)
    failed = len(rows) - len(done)
    note = "; current I = U/R to round-off (not drawn)" if "current_middle" in constant else ""
    fig.suptitle(f"sweep over {', '.join(readable(col) for _, col in axes_cols)}: {len(done)} points finished"
                 + (f", {failed} failed" if failed else "") + note, fontsize=10)
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)
    return output


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
        label = _label(row, axes_cols)
        color = f"C{i % 10}"
        rate = np.abs(np.diff(w_e) / np.diff(t))
        rate[rate < 1e-12 * np.max(np.abs(w_e))] = np.nan  # differences of W_e at its round-off: not drawn
        ax.semilogy(0.5 * (t[1:] + t[:-1]), rate, color=color, label=f"{label}: electrons")
        if dw_p is not None and np.any(dw_p != 0):
            ax.semilogy(t[1:], abs(dw_p[1:]), color=color, ls="--", label=f"{label}: to the pairs")
    ax.set_xlabel("time t / tau_D")
    ax.set_ylabel("|dW/dt| (units of E0^2 / (e^2 R))")
    ax.set_title("energy rates from the quench to the steady state", fontsize=9)
    ax.legend(fontsize=6)
