"""Figures of a trajectory file (PNG, matplotlib with the Agg backend, imported only when drawing).

Three panels. (1) f(L/2, eps) against eps/E0 at several times (one curve labelled "steady state" for
a steady solution), with two references: the collisionless double step (f(0) + f(L))/2 and the fully
equilibrated limit, a Fermi function at the Wiedemann-Franz temperature. (2) T_eff(x) of the last
frame against the Wiedemann-Franz profile (in a box: T_eff against time). (3) the energy exchange:
W_e and W_p on separate vertical scales (W_p is often orders of magnitude below W_e; in a field the
changes since t = 0 of W_p of the pairs and W_spins of the free spins on one) and, in an inset, the
collisional part of dW_e/dt (the stored ``dw_e_dt``: in a wire the electrons' whole rate also holds
the Joule heating and the heat carried to the reservoirs, and it vanishes at a steady state while this
does not), or for a steady state f(x, eps) along the wire against the collisionless profile. The title says what
the run is (material, length, bath temperature, bias, impurities, magnetic field), read from the file's
scenario.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import h5py
import numpy as np

from ..kinetics.grids import EnergyGrid
from ..wire.observables import effective_temperature
from ..wire.problem import fermi
from ..units import BOLTZMANN_J_PER_K, ELEMENTARY_CHARGE_C
from .storage import verify

__all__ = ["double_step", "plot_trajectory", "run_title", "save_figure", "trajectory_figure",
           "wiedemann_franz_reference", "wiedemann_franz_temperature"]


def _frames_to_show(n_t: int, count: int = 5) -> list[int]:
    return sorted(set(np.linspace(0, n_t - 1, min(count, n_t)).round().astype(int).tolist()))


def _frames_of_approach(distance, count: int = 5) -> list[int]:
    """Frames that show how a run approaches its last frame: the first, the last, and the first frames
    whose ``distance`` to the last has fallen below 1/2, 1/5 and 1/20 of the first's. Frames spread
    evenly in time would show one curve of the approach and the rest on top of the final state when
    the wire settles early in the run."""
    distance = np.asarray(distance, dtype=float)
    n_t = distance.size
    if n_t <= count or distance[0] <= 0:
        return _frames_to_show(n_t, count)
    frames = {0, n_t - 1}
    for fraction in (0.5, 0.2, 0.05):
        below = np.flatnonzero(distance <= fraction * distance[0])
        if below.size:
            frames.add(int(below[0]))
    return sorted(frames)


def double_step(f_left, f_right, x_over_L: float) -> np.ndarray:
    """The collisionless stationary distribution ``(1 - x/L) f(0, eps) + (x/L) f(L, eps)``."""
    return (1.0 - x_over_L) * np.asarray(f_left) + x_over_L * np.asarray(f_right)


def wiedemann_franz_temperature(t_bath, bias, x_over_L):
    """Fully equilibrated wire: ``T^2(x) = T^2 + (3/pi^2) (eU)^2 (x/L)(1 - x/L)`` (same units as eU)."""
    x = np.asarray(x_over_L, dtype=float)
    return np.sqrt(t_bath**2 + 3.0 / np.pi**2 * bias**2 * x * (1.0 - x))


def _potential(grid: EnergyGrid, f) -> float:
    """Local potential ``mu = int [f - theta(-eps)] d eps`` of one distribution."""
    eps = grid.values
    sea = np.where(eps < 0, 1.0, np.where(eps > 0, 0.0, 0.5))
    return float(np.sum(np.asarray(f) - sea) * grid.step)


def wiedemann_franz_reference(grid: EnergyGrid, f, x_over_L):
    """T_WF at ``x_over_L`` for the reservoirs of one frame ``f`` (n_x, n_energy): their temperature
    from the first node (the reservoirs are at one temperature), their bias from the potentials."""
    t_res = float(effective_temperature(grid, f[[0]])[0])
    bias = _potential(grid, f[0]) - _potential(grid, f[-1])
    return wiedemann_franz_temperature(t_res, bias, x_over_L)


MODE_LABELS = {"steady": "steady state", "box": "homogeneous box", "evolve": "time evolution"}


def run_title(scenario_text: str, mode: str) -> str:
    """Material, length, bath temperature, bias and impurities of a scenario, for a figure title."""
    try:
        sc = tomllib.loads(scenario_text)
    except (tomllib.TOMLDecodeError, TypeError):
        return f"{mode} run"
    dim = sc.get("dimensionless")
    if dim is not None:  # energies in E0, the pairs given by their rate
        parts = ["dimensionless wire", f"T = {dim.get('temperature', '?')} E0"]
        if mode != "box" and "bias" in dim:
            parts.append(f"U = {dim['bias']} E0")
        if dim.get("pair_rate"):
            parts.append(f"pairs S = {dim.get('spin', 0.5)}, rate {dim['pair_rate']}")
        else:
            parts.append("no magnetic impurities")
        if dim.get("zeeman"):
            parts.append(f"Zeeman energy {dim['zeeman']} E0")
        return "; ".join(parts) + f"  ({MODE_LABELS.get(mode, mode)})"
    wire, res, imp = sc.get("wire", {}), sc.get("reservoirs", {}), sc.get("impurities", {})
    parts = [str(wire.get("material", "wire")) + (f", L = {wire['length']}" if "length" in wire else "")]
    if "temperature" in res:
        parts.append(f"T = {res['temperature']}")
    bias = res.get("bias")
    if bias is not None and mode != "box":
        parts.append("U = " + (", ".join(map(str, bias)) if isinstance(bias, list) else str(bias)))
    if imp:
        spin = imp.get("spin")
        conc = imp.get("concentration")
        parts.append("impurities" + (f" S = {spin}" if spin is not None else "") + (f", {conc}" if conc else ""))
    else:
        parts.append("no magnetic impurities")
    if "electron_electron" in sc:
        exponent = sc["electron_electron"].get("exponent")  # absent from a sweep's base that sweeps it
        parts.append("e-e kernel" + (f" a = {exponent}" if exponent is not None else ""))
    if "phonons" in sc:
        parts.append("electron-phonon")
    field = sc.get("field", {})
    if isinstance(field, dict) and "B" in field:
        g = field.get("g", 2.0)
        parts.append(f"B = {field['B']}" + (f" (g = {g})" if g != 2.0 else ""))
    return "; ".join(parts) + f"  ({MODE_LABELS.get(mode, mode)})"


def trajectory_figure(path):
    """The matplotlib Figure of a trajectory file (not saved)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    verify(path)  # damaged data fails here (DamagedFileError), not as a figure of wrong numbers
    with h5py.File(path, "r") as fh:
        energies = fh["grid/energy"][:]
        x = fh["grid/x"][:]
        times = fh["time"][:]
        n_t = times.size
        if n_t == 0:
            msg = f"{path} holds no frame to plot"
            raise ValueError(msg)
        if n_t > 5 and str(fh.attrs.get("mode", "evolve")) == "evolve":
            f_mid = fh["f"][:, x.size // 2]
            frames = _frames_of_approach(np.max(np.abs(f_mid - f_mid[-1]), axis=1))
        else:
            frames = _frames_to_show(n_t)
        f_frames = {i: fh["f"][i] for i in frames}
        f_all_box = fh["f"][:, 0] if str(fh.attrs.get("mode", "evolve")) == "box" else None
        obs = {name: ds[:] for name, ds in fh["observables"].items()}
        unit = str(fh.attrs["energy_unit"])
        derived = json.loads(fh.attrs["derived"])
        mode = str(fh.attrs.get("mode", "evolve"))
        scenario_text = fh.attrs.get("scenario", "")
    scenario_text = scenario_text.decode() if isinstance(scenario_text, bytes) else str(scenario_text)
    grid = EnergyGrid(energies.size, float(energies[1] - energies[0]))
    middle = x.size // 2
    energy_unit_J = derived.get("energy_unit_J")
    to_mK = (energy_unit_J / BOLTZMANN_J_PER_K * 1e3) if energy_unit_J else None
    t_unit = "mK" if to_mK else "E0/k_B"
    scale_T = to_mK or 1.0
    energy_label = "energy eps / E0" if unit == "E0" else f"energy eps / E0   (E0 = {unit})"

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    ax = axes[0]
    last = f_frames[frames[-1]]
    if mode == "box":
        # a box bump is a small deviation from the Fermi function: draw f - f(t=0) so that it shows
        base = f_all_box[0]
        for i in frames:
            ax.plot(energies, f_frames[i][0] - base, label=f"t = {times[i]:.3g} tau_D")
        ax.set_ylabel("f(eps, t) - f(eps, 0)")
        # the energies where the distribution changes by more than 1e-3 of its largest change, padded
        change = np.max(np.abs(f_all_box - base), axis=0)
        moving = energies[change > 1e-3 * change.max()] if change.max() > 0 else energies[[0, -1]]
        pad = 0.25 * (moving[-1] - moving[0]) + grid.step
        ax.set_xlim(max(energies[0], moving[0] - pad), min(energies[-1], moving[-1] + pad))
    else:
        for i in frames:
            label = "steady state" if mode == "steady" else f"t = {times[i]:.3g} tau_D"
            ax.plot(energies, f_frames[i][middle], label=label)
        x_mid = float(x[middle])
        ax.plot(energies, double_step(last[0], last[-1], x_mid), "k:", lw=1.2, label="collisionless double step")
        t_wf = float(wiedemann_franz_reference(grid, last, x_mid))
        ax.plot(energies, fermi(energies, _potential(grid, last[middle]), t_wf), "k--", lw=1.0, label=f"equilibrated (Fermi, T_WF = {t_wf * scale_T:.3g} {t_unit})")
        ax.set_ylabel("f(L/2, eps)")
        ax.set_xlim(max(energies[0], -1.5), min(energies[-1], 1.5))
    ax.set_xlabel(energy_label)
    if mode == "box":  # small deviations around zero: let matplotlib pick
        ax.legend(fontsize=7, loc="best")
    else:
        # f falls from 1 to 0: the corners above the upper step's end and below the lower step's start
        # are free of curves; the frames go to one, the two references to the other
        lines = ax.get_lines()
        references = ax.legend(handles=lines[-2:], fontsize=7, loc="lower left")
        ax.legend(handles=lines[:-2], fontsize=7, loc="upper right")
        ax.add_artist(references)

    ax = axes[1]
    if mode == "box":
        t_box = effective_temperature(grid, f_all_box)
        ax.plot(times, t_box * scale_T, "-")
        ax.set_xlabel("time t / tau_D")
        ax.set_ylabel(f"T_eff ({t_unit})")
        ax.set_title("T_eff of the box against time", fontsize=9)
    else:
        t_eff = effective_temperature(grid, last)
        ax.plot(x, t_eff * scale_T, "o-", label="T_eff(x), " + ("steady state" if mode == "steady"
                                                              else f"t = {times[frames[-1]]:.3g} tau_D"))
        ax.plot(x, wiedemann_franz_reference(grid, last, x) * scale_T, "k--", label="Wiedemann-Franz")
        ax.set_xlabel("position x / L")
        ax.set_ylabel(f"T_eff ({t_unit})")
        ax.legend(fontsize=7)

    ax = axes[2]
    if mode == "steady":  # one frame: f along the wire with the collisionless double step
        for j in sorted({x.size // 8, x.size // 4, middle}):
            line, = ax.plot(energies, last[j], label=f"x = {x[j]:.3g} L")
            ax.plot(energies, double_step(last[0], last[-1], float(x[j])), ":", color=line.get_color())
        ax.set_xlim(max(energies[0], -1.5), min(energies[-1], 1.5))
        ax.set_xlabel(energy_label)
        ax.set_ylabel("f(x, eps); dotted: without collisions")
        ax.legend(fontsize=7)
    else:
        style = "o-" if n_t < 30 else "-"
        handles = []
        if "w_e" in obs:
            handles += ax.plot(times, obs["w_e"], style, color="C0", label="W_e (electrons)")
        ax.set_xlabel("time t / tau_D")
        ax.set_ylabel("W_e / (2 nu E0^2)", color="C0")
        if "w_p" in obs and np.any(obs["w_p"] != 0):  # own scale: often far below the electrons'
            twin = ax.twinx()
            spins = obs.get("w_spins")  # part of w_p: the free spins in a field
            if spins is None:
                handles += twin.plot(times, obs["w_p"], style, color="C3", label="W_p (pairs)")
                twin.set_ylabel("W_p / (2 nu E0^2)", color="C3")
            else:  # two energies far apart (their Zeeman energies): their changes share one scale
                pairs = obs["w_p"] - spins
                handles += twin.plot(times, pairs - pairs[0], style, color="C3", label="W_p (pairs) - its value at t = 0")
                handles += twin.plot(times, spins - spins[0], style, color="C1",
                                     label="W_spins (free spins) - its value at t = 0")
                twin.set_ylabel("change of W_p, W_spins / (2 nu E0^2)", color="C3")
        rate = np.abs(obs.get("dw_e_dt", np.zeros(n_t)))[1:]
        # the energy the collisions give the electrons (not d W_e/dt of a wire, which also holds the Joule
        # power and the heat into the reservoirs), drawn where it is more than round-off of W_e per tau_D
        shown = rate > 1e-12 * np.max(np.abs(obs.get("w_e", [0.0])))
        if np.count_nonzero(shown) > 1:
            inset = ax.inset_axes([0.5, 0.3, 0.45, 0.3])  # between a falling W_e and a rising W_p
            inset.semilogy(times[1:][shown], rate[shown], ".-" if n_t < 30 else "-", color="C2")
            inset.set_title("|dW_e/dt| by collisions / (2 nu E0^2 / tau_D)", fontsize=7)
            inset.tick_params(labelsize=6)
        if _settles_early(times, obs.get("w_e")):
            # the exchange happens in the first frames: a time axis linear up to the first frame after
            # t = 0 and logarithmic beyond shows it together with the long approach to the steady state
            _symlog_time_axis(ax, float(times[1]), float(times[-1]))
        ax.legend(handles=handles, fontsize=7, loc="upper left")
        ax.set_title("energy exchange", fontsize=9)
    fig.suptitle(run_title(scenario_text, mode), fontsize=10)
    fig.tight_layout()
    return fig


def _symlog_time_axis(ax, linear_up_to: float, end: float) -> None:
    """A time axis linear up to ``linear_up_to`` and logarithmic beyond, ticked at 0 and at the powers of
    ten beyond the linear part: a power of ten inside it would sit on top of the label 0. The run
    settles within its first tenth (``_settles_early``), so ``end > 10 linear_up_to`` holds a power of ten."""
    from matplotlib.ticker import FixedLocator

    ax.set_xscale("symlog", linthresh=linear_up_to, linscale=0.3)
    ax.set_xlim(0, end)
    powers = np.arange(math.ceil(math.log10(linear_up_to) - 1e-9), math.floor(math.log10(end) + 1e-9) + 1)
    ax.xaxis.set_major_locator(FixedLocator([0.0, *(10.0 ** powers)]))


def _settles_early(times, w_e) -> bool:
    """Whether W_e covers 90% of its change within the first tenth of the run."""
    if w_e is None or times.size < 3 or times[1] <= 0:
        return False
    change = np.abs(np.asarray(w_e) - w_e[0])
    if change[-1] == 0:
        return False
    settled = np.flatnonzero(change >= 0.9 * change[-1])
    return bool(times[settled[0]] < 0.1 * times[-1])


def plot_trajectory(path, output=None) -> Path:
    """Draw the figure of a trajectory file; returns the PNG path (default: next to the file)."""
    return save_figure(trajectory_figure(path), path, output)


def save_figure(fig, path, output=None) -> Path:
    """Write ``fig``, the figure of the file ``path``, as a PNG at ``output`` (default: next to that file)
    and close it; returns the PNG path."""
    import matplotlib.pyplot as plt

    output = Path(output) if output is not None else Path(path).with_suffix(".png")
    fig.savefig(output, dpi=110)
    plt.close(fig)
    return output
