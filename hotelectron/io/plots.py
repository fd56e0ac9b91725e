"""Figures of a trajectory file and of a sweep's summary (PNG, matplotlib with the Agg backend,
imported only when drawing).

A trajectory has three panels: f(L/2, eps) against eps/E0 at several times; T_eff(x) at the last frame; W_e, W_p and
dW_e/dt against time. Axes carry units: energies in the file's unit E0 (eU for a biased wire),
positions in L, times in tau_D, and T_eff in mK when the file knows E0 in joules.

A summary has f(L/2, eps) of each finished point against eps/E0 (eps/eU for a biased wire, so that
a bias series collapses where the distribution scales with eU) and the current, the Fano factor and
T_eff(L/2) against the first swept parameter, one line per value of the others.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..kinetics.grids import EnergyGrid
from ..wire.observables import effective_temperature
from ..units import BOLTZMANN_J_PER_K

__all__ = ["plot_summary", "plot_trajectory"]


def _frames_to_show(n_t: int, count: int = 5) -> list[int]:
    return sorted(set(np.linspace(0, n_t - 1, min(count, n_t)).round().astype(int).tolist()))


def plot_trajectory(path, output=None) -> Path:
    """Draw the figure of a trajectory file; returns the PNG path (default: next to the file)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    output = Path(output) if output is not None else path.with_suffix(".png")
    with h5py.File(path, "r") as fh:
        energies = fh["grid/energy"][:]
        x = fh["grid/x"][:]
        times = fh["time"][:]
        n_t = times.size
        if n_t == 0:
            msg = f"{path} holds no frame to plot"
            raise ValueError(msg)
        frames = _frames_to_show(n_t)
        f_frames = {i: fh["f"][i] for i in frames}
        obs = {name: ds[:] for name, ds in fh["observables"].items()}
        unit = str(fh.attrs["energy_unit"])
        derived = json.loads(fh.attrs["derived"])
        mode = str(fh.attrs.get("mode", "evolve"))
    grid = EnergyGrid(energies.size, float(energies[1] - energies[0]))
    middle = x.size // 2
    energy_unit_J = derived.get("energy_unit_J")

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    for i in frames:
        label = "steady state" if mode == "steady" else f"t = {times[i]:.3g} tau_D"
        ax.plot(energies, f_frames[i][middle], label=label)
    ax.set_xlabel(f"energy eps / E0   (E0: {unit})")
    ax.set_ylabel("f(L/2, eps)" if mode != "box" else "f(eps)")
    if mode == "box":
        ax.set_xlim(energies[0], energies[-1])
    else:  # the bias window and the tails beside it
        ax.set_xlim(max(energies[0], -1.5), min(energies[-1], 1.5))
    ax.legend(fontsize=8)

    ax = axes[1]
    t_eff = effective_temperature(grid, f_frames[frames[-1]])
    if energy_unit_J:
        ax.plot(x, t_eff * energy_unit_J / BOLTZMANN_J_PER_K * 1e3, "o-")
        ax.set_ylabel("T_eff (mK)")
    else:
        ax.plot(x, t_eff, "o-")
        ax.set_ylabel("T_eff / (E0/k_B)")
    ax.set_xlabel("position x / L")
    ax.set_title(f"last frame, t = {times[frames[-1]]:.3g} tau_D", fontsize=9)

    ax = axes[2]
    if mode == "steady":  # one frame: show f along the wire with the collisionless double step
        f = f_frames[frames[-1]]
        for j in sorted({x.size // 8, x.size // 4, middle}):
            line, = ax.plot(energies, f[j], label=f"x = {x[j]:.3g} L")
            ax.plot(energies, (1 - x[j]) * f[0] + x[j] * f[-1], ":", color=line.get_color())
        ax.set_xlim(max(energies[0], -1.5), min(energies[-1], 1.5))
        ax.set_xlabel(f"energy eps / E0   (E0: {unit})")
        ax.set_ylabel("f(x, eps); dotted: without collisions")
    else:
        for name, label in (("w_e", "W_e"), ("w_p", "W_p"), ("dw_e_dt", "dW_e/dt")):
            if name in obs:
                ax.plot(times, obs[name], "o-" if n_t < 30 else "-", label=label)
        if "w_e" in obs and "w_p" in obs:
            ax.plot(times, obs["w_e"] + obs["w_p"], "k--", label="W_e + W_p")
        ax.set_xlabel("time t / tau_D")
        ax.set_ylabel("energy per volume / (2 nu E0^2), rate per tau_D")
    ax.legend(fontsize=8)
    fig.suptitle(path.name)
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)
    return output


SUMMARY_OBSERVABLES = (("current_middle", "current I(L/2) / (E0 / eR)"), ("fano", "Fano factor S_I / 2eI"),
                       ("t_eff_mid_K", "T_eff(L/2) (K)"), ("t_eff_mid", "T_eff(L/2) / (E0/k_B)"))
MAX_CURVES = 12


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

    from ..sweep import read_summary

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

    fig, axes = plt.subplots(1, 1 + len(shown), figsize=(4.6 * (1 + len(shown)), 4.2), squeeze=False)
    axes = axes[0]
    ax = axes[0]
    for row in done[:MAX_CURVES]:
        with h5py.File(path.parent / row["file"], "r") as fh:
            energies = fh["grid/energy"][:]
            f = fh["f"][-1]
        label = ", ".join(f"{row[col]:.4g}" if isinstance(row[col], float) else str(row[col])
                          for _, col in axes_cols)
        ax.plot(energies, f[f.shape[0] // 2], label=label)
    ax.set_xlim(max(energies[0], -1.5), min(energies[-1], 1.5))
    ax.set_xlabel("energy eps / E0   (E0 = eU for a biased wire)")
    ax.set_ylabel("f(L/2, eps), last frame")
    ax.legend(fontsize=7, title=", ".join(col for _, col in axes_cols), title_fontsize=7)

    first, rest = axes_cols[0][1], [col for _, col in axes_cols[1:]]
    groups: dict[tuple, list] = {}
    for row in done:
        groups.setdefault(tuple(row[col] for col in rest), []).append(row)
    for ax, (name, label) in zip(axes[1:], shown, strict=True):
        for key, members in groups.items():
            members = sorted(members, key=lambda r: r[first])
            ax.plot([r[first] for r in members], [r[name] for r in members], "o-",
                    label=", ".join(f"{c} = {v}" for c, v in zip(rest, key, strict=True)) or None)
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.set_xlabel(first)
        ax.set_ylabel(label)
        if rest:
            ax.legend(fontsize=7)
    failed = len(rows) - len(done)
    fig.suptitle(f"{path.parent.name}/{path.name}: {len(done)} finished" + (f", {failed} failed" if failed else ""))
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)
    return output
