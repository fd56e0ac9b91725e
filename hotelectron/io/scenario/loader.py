"""Assemble a :class:`Scenario` from TOML text: sections, grid, run control and the wire problem.

The file format and every rule applied here are documented in the package docstring
(:mod:`hotelectron.io.scenario`).
"""

from __future__ import annotations

import difflib
import errno
import logging
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...kinetics.grids import CouplingGrid, EnergyGrid, WireGrid
from ...kinetics.mechanisms import (ElectronElectron, ElectronPhonon, FieldPairScattering, FreeSpinScattering,
                                   PairScattering)
from ...units import BOLTZMANN_J_PER_K, ELECTRON_VOLT_J
from ...wire.problem import EDGE_TOLERANCE, WireProblem
from ..filekind import SCENARIO_SECTIONS, check_kind, check_table_kind
from ..resources import parse_bytes
from . import fields as fl
from . import zeeman as zm
from .dimensionless import DIMENSIONLESS_KEYS, dimensionless
from .physical import (EE_KEYS, IMPURITY_KEYS, PAIR_PROBABILITY_REFUSE, PAIR_PROBABILITY_WARN, PHONON_KEYS,
                       RESERVOIR_KEYS, SPIN_MEDIATED_KEYS, WIRE_KEYS, Physics, physical)

__all__ = ["SECTION_KEYS", "Scenario", "load_scenario", "parse_scenario", "scenario_tables", "scenario_text",
           "unknown_key"]

log = logging.getLogger(__name__)

SECTIONS = SCENARIO_SECTIONS
#: the sections in physical units, which [dimensionless] replaces
PHYSICAL_SECTIONS = tuple(s for s in SECTIONS if s not in ("dimensionless", "grid", "run"))
GRID_KEYS = ("n_x", "n_energy", "half_width")
RUN_KEYS = ("mode", "end_time", "output_every", "pairs_every", "initial", "bump", "max_memory", "max_output")
BUMP_KEYS = ("energy", "width", "height")
#: every table of a scenario (run.bump: a table in [run]) -> the keys the loader takes in it, the tuples
#: its sections are checked against
SECTION_KEYS = {"wire": WIRE_KEYS, "reservoirs": RESERVOIR_KEYS, "impurities": IMPURITY_KEYS,
                "electron_electron": EE_KEYS, "phonons": PHONON_KEYS, "field": zm.FIELD_KEYS,
                "spin_mediated": SPIN_MEDIATED_KEYS, "dimensionless": DIMENSIONLESS_KEYS, "grid": GRID_KEYS,
                "run": RUN_KEYS, "run.bump": BUMP_KEYS}
MODES = ("evolve", "steady", "box")
INITIAL = ("quench", "equilibrium")

N_X_DEFAULT = 33
N_X_MAX = 10001
N_ENERGY_DEFAULT = 801
N_ENERGY_MAX = 2**20 + 1
#: Energy grid: margin beyond the reservoir potentials, at least this many k_B T (Fermi tails below
#: WireProblem's edge tolerance: e^-24 = 4e-11 < 1e-10) ...
EDGE_KT = math.ceil(math.log(1.0 / EDGE_TOLERANCE)) + 1
#: ... and at least this many eU (refused below), with a warning below WARN_MARGIN_BIAS eU when pairs
#: are present (their hot tail reaches several eU beyond the bias window, SPEC section 6).
MIN_MARGIN_BIAS = 1.0
WARN_MARGIN_BIAS = 2.0
#: default margin in eU
DEFAULT_MARGIN_BIAS = 3.5
#: The energy step may be at most this many k_B T (the Fermi edge of a reservoir spans 4 k_B T
#: between f = 0.88 and 0.12, so at least two steps).
MAX_STEP_OVER_T = 2.0
#: A default n_energy above this is reported in the warnings (slow runs).
LARGE_N_ENERGY = 4001
#: Where the default coupling cutoff is half an energy step and free spins are in the model, warn when it
#: exceeds this fraction of min(Delta_Z, k_B T): the pairs below it are counted as free spins.
STEP_CUTOFF_WARN = 0.1
#: At most this many frames: 1e5 frames of the default grid (33 x 801) already hold 21 GB, and
#: resolve a run to 1e-5 of its length, more than any figure or fit uses.
MAX_FRAMES = 100_000
#: the frame interval of a run that gives none
DEFAULT_OUTPUT_EVERY = "0.1 tau_D"
#: end_time at most this many tau_D: a wire approaches its steady state at least as fast as its
#: slowest diffusion mode, exp(-pi^2 t/tau_D), and the collision times of the model (pair relaxation,
#: electron-electron, a few ns) lie within a few decades of tau_D (ns for a few-um wire), so that
#: 1e6 tau_D (ms) is far beyond every relaxation; longer times are typing errors.
MAX_END_TIME = 1e6


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the dimensionless wire problem, the run control and every derived number.

    Attributes
    ----------
    text : str
        The TOML text verbatim (written to the output file).
    path : str or None
        Where it was read from.
    problem : WireProblem
        Energies in E0, lengths in L, times in tau_D.
    energy_unit_J : float or None
        E0 in joules: eU when the bias is non-zero, else k_B T (the hotter reservoir); None for a
        [dimensionless] scenario.
    energy_unit : str
        E0 in words, e.g. ``"eU = 0.3 meV"``; ``"E0"`` for a [dimensionless] scenario.
    tau_D_s : float or None
        The diffusion time L^2/D in seconds; None for a [dimensionless] scenario (times in tau_D).
    derived : dict
        Every derived quantity, physical (SI, unit in the key) and dimensionless; JSON-serialisable.
    mode : {"evolve", "steady", "box"}
    end_time, output_every : float
        In tau_D (0 in steady mode).
    pairs_every : int
        Store the pair populations every this many frames.
    initial : {"quench", "equilibrium"}
    bump : dict or None
        ``{"energy", "width", "height"}``, energy and width in E0, height an occupation.
    warnings : tuple of str
    max_memory_bytes, max_output_bytes : float or None
        ``[run] max_memory`` and ``max_output`` in bytes (None: only the machine limits the run).
    """

    text: str
    path: str | None
    problem: WireProblem
    energy_unit_J: float | None
    energy_unit: str
    tau_D_s: float | None
    derived: dict
    mode: str
    end_time: float
    output_every: float
    pairs_every: int
    initial: str
    bump: dict | None
    warnings: tuple[str, ...]
    max_memory_bytes: float | None = None
    max_output_bytes: float | None = None


# -- energy grid ----------------------------------------------------------------------------------
def _valid_n(candidates, half_width, potentials, T_min, zeeman=0.0):
    """Mask of the odd ``candidates`` on which the potentials sit on grid points, the step resolves T
    and (when it is not 0) the Zeeman energy is a whole number of steps (:func:`zeeman.fits`)."""
    n = np.asarray(candidates, dtype=float)
    ok = np.ones(n.shape, dtype=bool)
    for mu in potentials:
        position = mu * (n - 1) / (2 * half_width)
        ok &= np.abs(position - np.rint(position)) <= 1e-9
    if T_min > 0:
        ok &= 2 * half_width / (n - 1) <= MAX_STEP_OVER_T * T_min * (1 + 1e-12)
    if zeeman > 0:
        ok &= zm.fits(zeeman, n, half_width)
    return ok


def _first_valid(start, half_width, potentials, T_min, zeeman=0.0):
    start = max(start + (1 - start % 2), 5)
    candidates = np.arange(start, N_ENERGY_MAX + 1, 2)
    ok = _valid_n(candidates, half_width, potentials, T_min, zeeman)
    return int(candidates[np.argmax(ok)]) if ok.any() else None


def _zeeman_on_grid(phys: Physics) -> float:
    """Delta_Z (E0) that the grid must hold in whole steps: that of a field on impurities, else 0."""
    field = phys.magnetic_field
    return field.zeeman if field is not None and phys.pairs is not None else 0.0


def _rules(half_width, T_min):
    rule = f"an odd integer from 5 to {N_ENERGY_MAX} putting both reservoir potentials on grid points"
    if T_min > 0:
        rule += f" with a step 2 half_width/(n_energy - 1) <= {MAX_STEP_OVER_T:g} k_B T = {MAX_STEP_OVER_T * T_min:.4g} E0"
    return rule


def _grid(table, phys: Physics, warnings):
    n_x = fl.integer(table.get("n_x", N_X_DEFAULT), "[grid] n_x", lo=5, hi=N_X_MAX, odd=True)
    potentials = (phys.mu_left, phys.mu_right)
    mu_max = max(abs(phys.mu_left), abs(phys.mu_right))
    bias = abs(phys.mu_left - phys.mu_right)
    T_max = max(phys.temperature_left, phys.temperature_right)
    T_min = min(phys.temperature_left, phys.temperature_right)
    zeeman = _zeeman_on_grid(phys)
    need = max(MIN_MARGIN_BIAS * bias, EDGE_KT * T_max)
    if "half_width" in table:
        half_width = fl.number(table["half_width"], "[grid] half_width", lo=0, lo_open=True)
        if half_width - mu_max < need * (1 - 1e-12):
            fl.fail("[grid] half_width", table["half_width"],
                    f"the grid must reach {need:.4g} E0 beyond the reservoir potentials (|mu| <= {mu_max:g} E0)",
                    f"half_width >= {mu_max + need:.4g} (margin >= {MIN_MARGIN_BIAS:g} eU and >= {EDGE_KT} k_B T)")
    else:
        width = mu_max + max(DEFAULT_MARGIN_BIAS * bias, EDGE_KT * T_max)
        if not math.isfinite(2 * width):
            msg = (f"[grid] half_width: the default grid, {EDGE_KT} k_B T beyond the potentials, is not finite "
                   f"(k_B T = {T_max:.4g} E0); give [reservoirs] temperature of moderate size")
            raise ValueError(msg)
        half_width = math.ceil(2 * width) / 2
    if zeeman > 0:
        zm.check_width(phys.magnetic_field, half_width)
    if phys.pairs is not None and half_width - mu_max < WARN_MARGIN_BIAS * bias:
        warnings.append(
            f"[grid] half_width = {half_width:g}: only {half_width - mu_max:.3g} eU beyond the reservoir potentials; "
            f"the pair mechanism's hot tail needs several eU (energy leaks at the grid edges)"
        )
    if "n_energy" in table:
        n_energy = fl.integer(table["n_energy"], "[grid] n_energy", lo=5, hi=N_ENERGY_MAX, odd=True)
        step = 2 * half_width / (n_energy - 1)
        on_grid = _valid_n([n_energy], half_width, potentials, 0.0)[0]
        resolved = _valid_n([n_energy], half_width, potentials, T_min)[0]
        # physical scenarios must resolve the reservoirs' Fermi edge; a [dimensionless] one (where
        # T = 0 is allowed) only gets a warning, its grid is the theorist's numerical choice
        if not on_grid or (not resolved and phys.energy_unit_J is not None):
            suggestion = _first_valid(n_energy, half_width, potentials, T_min, zeeman)  # one that is accepted
            why = (f"energy step {step:.4g} E0 with potentials {phys.mu_left:g}, {phys.mu_right:g} E0"
                   + (f" and k_B T = {T_min:.4g} E0" if T_min > 0 else ""))
            hint = f"; e.g. n_energy = {suggestion}" if suggestion else "; no such n_energy: change half_width or the potentials"
            fl.fail("[grid] n_energy", n_energy, why, _rules(half_width, T_min) + hint)
        if zeeman > 0 and not zm.fits(zeeman, n_energy, half_width):
            zm.refuse_off_grid(phys.magnetic_field, step, half_width,
                               _first_valid(n_energy, half_width, potentials, T_min, zeeman))
        if not resolved:
            warnings.append(f"[grid] n_energy = {n_energy}: the energy step {step:.3g} E0 exceeds "
                            f"{MAX_STEP_OVER_T:g} k_B T = {MAX_STEP_OVER_T * T_min:.3g} E0; the Fermi edge is not resolved")
    else:
        n_energy = _first_valid(N_ENERGY_DEFAULT, half_width, potentials, T_min, zeeman)
        if n_energy is None:
            field = f" and the Zeeman energy {zeeman:.4g} E0 within {zm.ZEEMAN_RTOL:g} of whole steps" if zeeman else ""
            msg = (f"[grid] n_energy: no odd n_energy up to {N_ENERGY_MAX} puts the reservoir potentials "
                   f"{phys.mu_left:g}, {phys.mu_right:g} E0{field} on the grid of half-width {half_width:g} E0 with a "
                   f"step <= {MAX_STEP_OVER_T:g} k_B T; choose half_width (e.g. a multiple of the potentials) or n_energy")
            raise ValueError(msg)
        if n_energy > LARGE_N_ENERGY:
            why = "the temperature, the potentials and the Zeeman energy" if zeeman else "the temperature and the potentials"
            warnings.append(f"[grid] n_energy = {n_energy} by default (set by {why}); runs will be slow")
    return n_x, n_energy, half_width


# -- run control ----------------------------------------------------------------------------------
def _run(table, phys: Physics):
    mode = fl.choice(table.get("mode", "evolve"), "[run] mode", MODES)
    initial = fl.choice(table.get("initial", "quench"), "[run] initial", INITIAL)
    if mode == "steady":
        extra = [k for k in ("end_time", "output_every", "pairs_every", "bump") if k in table]
        if extra:
            msg = f"[run] {extra[0]}: not used with mode = 'steady' (a steady state has no time axis); remove it"
            raise ValueError(msg)
        return mode, initial, 0.0, 0.0, 1, None
    end_time = fl.tau_D_multiple(table.get("end_time", "2 tau_D"), "[run] end_time", phys.tau_D_s)
    if end_time > MAX_END_TIME:
        fl.fail("[run] end_time", table.get("end_time"), f"{end_time:.3g} tau_D",
                f"at most {MAX_END_TIME:g} tau_D (far beyond every relaxation time of the model)")
    output_every = fl.tau_D_multiple(table.get("output_every", DEFAULT_OUTPUT_EVERY), "[run] output_every", phys.tau_D_s)
    if output_every > end_time and "output_every" not in table:  # the user wrote no output_every to blame
        msg = (f"[run] end_time = {table.get('end_time')!r}: {end_time:.3g} tau_D is shorter than the default frame "
               f"interval [run] output_every = {DEFAULT_OUTPUT_EVERY!r}; give an output_every <= end_time")
        raise ValueError(msg)
    if output_every > end_time:
        fl.fail("[run] output_every", table.get("output_every"), f"longer than end_time = {end_time:g} tau_D",
                "an interval <= end_time")
    if end_time / output_every > MAX_FRAMES:
        fl.fail("[run] output_every", table.get("output_every"), f"{end_time / output_every:.3g} frames",
                f"at most {MAX_FRAMES} frames (end_time / output_every)")
    pairs_every = fl.integer(table.get("pairs_every", 1), "[run] pairs_every", lo=1, hi=MAX_FRAMES)
    bump = None
    if "bump" in table:
        b = fl.check_keys(table["bump"], "run.bump", BUMP_KEYS)
        for key in BUMP_KEYS:
            if key not in b:
                msg = f"[run.bump] {key} is required (bump needs energy, width, height)"
                raise ValueError(msg)
        bump = {
            "energy": fl.energy_E0(b["energy"], "[run.bump] energy", phys.energy_unit_J),
            "width": fl.energy_E0(b["width"], "[run.bump] width", phys.energy_unit_J, positive=True),
            "height": fl.number(b["height"], "[run.bump] height", lo=0, hi=1, lo_open=True),
        }
    elif mode == "box":
        msg = "[run.bump] is required with mode = 'box' (the hot bump whose relaxation the box follows)"
        raise ValueError(msg)
    return mode, initial, end_time, output_every, pairs_every, bump


# -- assembly -------------------------------------------------------------------------------------
def _impurities(phys: Physics, grid: EnergyGrid, warnings, zeeman_steps: int) -> list:
    """The impurity mechanisms. At zero field the pairs' multiplets J (``PairScattering``): the
    unpaired impurities exchange no energy and are left out. In a field (``zeeman_steps`` energy
    steps) the pairs' states (J, M) (``FieldPairScattering``) and the free spins, the unpaired
    fraction 1 - (8/3) T_sg/V_min of the impurities (``FreeSpinScattering``), which needs T_sg."""
    p = phys.pairs
    section = phys.pair_section
    key = "coupling_cutoff" if section == "impurities" else "v_min"
    name = f"[{section}] {key}"
    derived = phys.derived
    if p["v_min"] is None:  # T_sg is known (else v_min is required)
        by_probability = 8.0 / 3.0 * p["T_sg"] / PAIR_PROBABILITY_WARN
        v_min = max(by_probability, grid.step / 2)
        derived.update(v_min_rule="pair_probability" if by_probability >= grid.step / 2 else "half_step",
                       v_min_pair_probability=by_probability)
    else:
        derived.update(v_min_rule="given")
        v_min = p["v_min"]
        if v_min < grid.step / 2:
            fl.fail(name, v_min, "below half an energy step (such couplings transfer no whole step)",
                    f"V_min >= {grid.step / 2:.4g} E0 (half the energy step)")
    if v_min > grid.half_width:
        fl.fail(name, v_min, f"the coupling cutoff {v_min:.4g} E0 lies beyond the energy grid "
                f"(half-width {grid.half_width:g} E0): no pair on it would exchange energy",
                "a larger bias, a wider [grid] half_width or a smaller cutoff")
    if p["T_sg"] is not None:
        probability = 8.0 / 3.0 * p["T_sg"] / v_min
        derived.update(pair_probability=probability, unpaired_fraction=1.0 - probability)
        if probability > PAIR_PROBABILITY_REFUSE:
            fl.fail(name, v_min, f"the probability (8/3) T_sg/V_min = {probability:.3g} that an impurity has a "
                    "partner with |V| > V_min exceeds 1: the pair picture does not hold",
                    f"V_min >= {8.0 / 3.0 * p['T_sg'] / PAIR_PROBABILITY_WARN:.4g} E0")
        if probability > PAIR_PROBABILITY_WARN * (1 + 1e-9):  # the default cutoff sits exactly at it
            warnings.append(f"{name}: pair probability (8/3) T_sg/V_min = {probability:.3g} > "
                            f"{PAIR_PROBABILITY_WARN:g}; the pair picture is doubtful")
    couplings = CouplingGrid(grid.step, v_min, (grid.n - 1) // 2)
    derived.update(pair_rate=p["rate"], pair_relaxation=p["relaxation"], v_min=v_min, v_max=couplings.v_max,
                   k_min=couplings.k_min, k_max=couplings.k_max)
    if phys.energy_unit_J is not None:
        derived.update(V_min_K=v_min * phys.energy_unit_J / BOLTZMANN_J_PER_K,
                       V_min_meV=v_min * phys.energy_unit_J / ELECTRON_VOLT_J * 1e3)
    free_spins = p["T_sg"] is not None and (zeeman_steps > 0 or phys.spin_mediated is not None)
    if free_spins and derived["v_min_rule"] == "half_step":
        _warn_step_cutoff(phys, grid, zeeman_steps * grid.step, name, warnings)
    if not zeeman_steps:
        return [PairScattering(p["S"], p["rate"], p["relaxation"], couplings)]
    pairs = FieldPairScattering(p["S"], p["rate"], p["relaxation"], couplings, zeeman_steps)
    if p["T_sg"] is None:
        warnings.append(f"[{section}] spin_glass_temperature is not given: the unpaired fraction of the impurities "
                        "is unknown, so the free spins, which exchange the Zeeman energy in a field, are left out")
        return [pairs]
    spins = FreeSpinScattering.beside(pairs, p["T_sg"])
    derived.update(free_spin_rate=spins.rate)
    return [pairs, spins]


def _warn_step_cutoff(phys: Physics, grid: EnergyGrid, zeeman: float, name: str, warnings) -> None:
    """Warn where the default cutoff is half an energy step and not small against the energies that the
    free spins' treatment of the pairs below it needs it small against: the unpaired impurities are the
    free spins, and a pair with |V| < V_min is counted among them, which holds for V << Delta_Z, k_B T
    (it then acts as two free spins)."""
    T_min = min(phys.temperature_left, phys.temperature_right)
    scale = min(zeeman, T_min) if zeeman > 0 else T_min
    v_min = grid.step / 2
    if v_min <= STEP_CUTOFF_WARN * scale:
        return
    what = "min(Delta_Z, k_B T)" if zeeman > 0 else "k_B T"
    finer = _first_valid(math.ceil(grid.half_width / (STEP_CUTOFF_WARN * scale)) + 1, grid.half_width,
                         (phys.mu_left, phys.mu_right), T_min, zeeman)
    refine = f"[grid] n_energy = {finer}" if finer else "a larger [grid] n_energy"
    warnings.append(
        f"{name}: the default V_min = {v_min:.3g} E0 is half the energy step (the pair-probability cutoff "
        f"(8/3) T_sg/{PAIR_PROBABILITY_WARN:g} = {phys.derived['v_min_pair_probability']:.3g} E0 lies below it), "
        f"{v_min / scale:.2g} of {what} = {scale:.3g} E0 (more than {STEP_CUTOFF_WARN:g}): the pairs with "
        f"|V| < V_min are counted among the free spins, which holds only for V << {what}; "
        f"{refine} (V_min <= {STEP_CUTOFF_WARN:g} {what}) or a given {name} makes the split independent of the grid")


def _spin_mediated(phys: Physics) -> ElectronElectron:
    """The a = 2 kernel of the free spins, the unpaired fraction of the impurities (zero field only:
    ``physical`` refuses it in a field)."""
    derived = phys.derived
    kappa = derived["unpaired_fraction"] * phys.spin_mediated["kappa_all"]
    derived.update(spin_mediated_kappa=kappa,
                   spin_mediated_kappa_per_s=derived["unpaired_fraction"] * derived["spin_mediated_kappa_all_per_s"])
    return ElectronElectron(kappa, 2.0)


def _build(data: dict):
    unknown = [s for s in data if s not in SECTIONS]
    if unknown:
        msg = f"[{unknown[0]}]: unknown section; allowed sections: {', '.join(f'[{s}]' for s in SECTIONS)}"
        raise ValueError(msg)
    if "dimensionless" in data:
        mixed = [s for s in PHYSICAL_SECTIONS if s in data]
        if mixed:
            msg = f"[dimensionless] and [{mixed[0]}] exclude each other: give physical sections or the dimensionless one"
            raise ValueError(msg)
        phys = dimensionless(fl.check_keys(data["dimensionless"], "dimensionless", DIMENSIONLESS_KEYS))
    else:
        phys = physical(data)
    warnings: list[str] = []
    grid_table = fl.check_keys(data.get("grid", {}), "grid", GRID_KEYS)
    run_table = fl.check_keys(data.get("run", {}), "run", RUN_KEYS)
    n_x, n_energy, half_width = _grid(grid_table, phys, warnings)
    energy = EnergyGrid(n_energy, 2 * half_width / (n_energy - 1))
    mode, initial, end_time, output_every, pairs_every, bump = _run(run_table, phys)
    # limits of the resource check (hotelectron.io.resources), in bytes
    limits = {f"{key}_bytes": parse_bytes(run_table[key], f"[run] {key}") if key in run_table else None
              for key in ("max_memory", "max_output")}
    mechanisms = []
    field = phys.magnetic_field
    steps = 0
    if field is not None and phys.pairs is not None:
        steps = zm.zeeman_steps(field, energy.step, half_width, phys.derived)
    elif field is not None and field.zeeman > 0:
        warnings.append(f"{field.key} = {field.value!r}: the field acts on the impurity spins only (the electrons' "
                        "own Zeeman energy is neglected); without magnetic impurities it changes nothing")
    if phys.pairs is not None:
        mechanisms += _impurities(phys, energy, warnings, steps)
    if phys.electron_electron is not None:
        mechanisms.append(ElectronElectron(phys.electron_electron["kappa"], phys.electron_electron["exponent"]))
    if phys.spin_mediated is not None:
        mechanisms.append(_spin_mediated(phys))
    if phys.phonons is not None:
        mechanisms.append(ElectronPhonon(phys.phonons["kappa"], phys.phonons["temperature"], phys.phonons["exponent"]))
    try:
        problem = WireProblem(energy, WireGrid(n_x), phys.mu_left, phys.mu_right, phys.temperature_left,
                              phys.temperature_right, tuple(mechanisms))
    except ValueError as exc:  # the checks above should have caught it; keep the key in the message
        msg = f"[grid]: {exc}"
        raise ValueError(msg) from None
    derived = phys.derived
    derived.update(
        energy_unit=phys.energy_unit, n_x=n_x, n_energy=n_energy, half_width_E0=half_width, energy_step_E0=energy.step,
        mu_left_E0=phys.mu_left, mu_right_E0=phys.mu_right, temperature_left_E0=phys.temperature_left,
        temperature_right_E0=phys.temperature_right,
        temperature_E0=max(phys.temperature_left, phys.temperature_right),
        edge_margin_E0=half_width - max(abs(phys.mu_left), abs(phys.mu_right)),
        mode=mode, initial=initial, end_time_tau_D=end_time, output_every_tau_D=output_every, pairs_every=pairs_every,
    )
    if phys.energy_unit_J is not None:
        derived.update(energy_step_meV=energy.step * phys.energy_unit_J / ELECTRON_VOLT_J * 1e3)
    if phys.tau_D_s is not None and mode != "steady":
        derived.update(end_time_s=end_time * phys.tau_D_s, output_every_s=output_every * phys.tau_D_s)
    if bump is not None:
        derived.update({f"bump_{k}": v for k, v in bump.items()})
    derived = {k: (float(v) if isinstance(v, float | np.floating) else v) for k, v in derived.items()}
    return dict(problem=problem, energy_unit_J=phys.energy_unit_J, energy_unit=phys.energy_unit,
                tau_D_s=phys.tau_D_s, derived=derived, mode=mode, end_time=end_time, output_every=output_every,
                pairs_every=pairs_every, initial=initial, bump=bump, warnings=tuple(phys.warnings + warnings), **limits)


def unknown_key(key: str) -> str | None:
    """Why the dotted ``key`` (``"reservoirs.temperature"``, ``"run.bump.energy"``) is no key of a scenario,
    in the loader's words and with the closest key it knows (``[reservoirs] temprature: unknown key; did
    you mean 'reservoirs.temperature'?``); None when it is one. For those who set keys before the loader
    sees them (sweep axes): whether a value is taken there is the loader's to say, point by point."""
    *path, leaf = key.split(".")
    section = ".".join(path)
    if section not in SECTION_KEYS:
        close = difflib.get_close_matches(section, SECTION_KEYS, n=1)
        if close and leaf in SECTION_KEYS[close[0]]:
            hint = f"did you mean '{close[0]}.{leaf}'?"
        elif close:
            hint = f"did you mean [{close[0]}]?"
        else:
            hint = f"allowed sections: {', '.join(f'[{s}]' for s in SECTION_KEYS)}"
        return f"[{section}]: unknown section; {hint}"
    allowed = SECTION_KEYS[section]
    if leaf in allowed:
        return None
    close = difflib.get_close_matches(leaf, allowed, n=1)
    if close:
        return f"[{section}] {leaf}: unknown key; did you mean '{section}.{close[0]}'?"
    return fl.unknown_keys_message(section, [leaf], allowed)


def parse_scenario(text: str, path=None) -> Scenario:
    """Validate a scenario given as TOML text (see the package docstring for the format).

    Raises
    ------
    ValueError
        For invalid TOML and for any invalid, missing or unknown key, with a message naming it as
        ``[section] key`` (prefixed by the path when given).
    """
    if not isinstance(text, str):
        msg = f"scenario text must be a str; got {type(text).__name__}"
        raise TypeError(msg)
    where = "scenario" if path is None else str(path)
    data = _top_level(text, where, path)
    try:
        parts = _build(data)
    except ValueError as exc:
        if path is None:
            raise
        msg = f"{where}: {exc}"
        raise ValueError(msg) from None
    for warning in parts["warnings"]:
        log.warning("%s: %s", where, warning)
    return Scenario(text=text, path=None if path is None else str(path), **parts)


def _top_level(text: str, where: str, path) -> dict:
    """The parsed TOML of a scenario, refused (naming ``where``) when it is not TOML or is another kind of file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        check_table_kind(text, "scenario", path)  # a summary or data CSV: say so, not "Expected '='"
        msg = f"{where}: not valid TOML: {exc}"
        raise ValueError(msg) from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        msg = f"{where}: not valid TOML: arrays or inline tables nested too deeply"
        raise ValueError(msg) from None
    check_kind(data, "scenario", path)  # a sweep or fit file: say so, not "[base]: unknown section"
    return data


def scenario_tables(path) -> dict:
    """The parsed TOML of the scenario file at ``path``, read and refused as :func:`load_scenario` reads
    and refuses a file, but not validated: for a reader of a few of its keys (the transport command)."""
    return _top_level(scenario_text(path), str(path), path)


def load_scenario(path) -> Scenario:
    """Read and validate the scenario file at ``path`` (UTF-8 TOML).

    Raises
    ------
    FileNotFoundError
        Naming the path when there is no such file.
    ValueError
        As :func:`parse_scenario`, and for a folder or a file that is not UTF-8 text.
    """
    return parse_scenario(scenario_text(path), path=str(path))


def scenario_text(path) -> str:
    """The text of the scenario file at ``path``: ``FileNotFoundError`` naming it when there is none,
    ``ValueError`` for a folder or a file that is not UTF-8."""
    p = Path(path)
    if p.is_dir():
        msg = f"{p} is a folder, not a scenario file"
        raise ValueError(msg)
    if not p.is_file():
        raise FileNotFoundError(errno.ENOENT, "scenario file not found", str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        msg = f"{p}: not UTF-8 text ({exc})"
        raise ValueError(msg) from None
    return text
