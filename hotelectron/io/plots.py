"""Figures of a trajectory file (PNG, matplotlib with the Agg backend, imported only when drawing).

A trajectory has three panels: f(L/2, eps) against eps/E0 at several times; T_eff(x) at the last frame; W_e, W_p and
dW_e/dt against time. Axes carry units: energies in the file's unit E0 (eU for a biased wire),
positions in L, times in tau_D, and T_eff in mK when the file knows E0 in joules.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..kinetics.grids import EnergyGrid
from ..wire.observables import effective_temperature
from ..units import BOLTZMANN_J_PER_K
from .storage import verify

__all__ = ["plot_trajectory"]


def _frames_to_show(n_t: int, count: int = 5) -> list[int]:
    return sorted(set(np.linspace(0, n_t - 1, min(count, n_t)).round().astype(int).tolist()))


def plot_trajectory(path, output=None) -> Path:
    """Draw the figure of a trajectory file; returns the PNG path (default: next to the file)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    output = Path(output) if output is not None else path.with_suffix(".png")
    verify(path)  # damaged data fails here (DamagedFileError), not as a figure of wrong numbers
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
