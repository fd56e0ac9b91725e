"""Wire-solver benchmark: steady state and evolution to the steady state at the reference size.

The reference wire: n_x = 65 nodes, n_energy = 1025 points over [-4, 4] eU, reservoirs at T = 0.01 eU
with bias eU; pairs with S = 1/2 (rate 2, relaxation 50, v_min = 0.05 eU) and electron-electron
scattering with a = 3/2 (kappa 0.2), all per tau_D. Targets on the 2-core machine, after compilation:
steady state <= 5 s; evolution from the bias switched on at t = 0 to within 1e-6 of the steady state
(max over f and P) <= 30 s, with ros2 at rtol 1e-3; peak memory <= 2 GB.
"""

from __future__ import annotations

import resource
import statistics
import time

import numpy as np

from ..wire.evolution import Evolution, equilibrium_state
from ..kinetics.grids import CouplingGrid, EnergyGrid, WireGrid
from ..kinetics.mechanisms import ElectronElectron, PairScattering
from ..wire.steady import steady_state
from ..wire.problem import WireProblem

__all__ = ["TARGETS", "format_wire_report", "reference_wire", "run_wire"]

TARGETS = {"steady_s": 5.0, "evolution_s": 30.0, "peak_memory_MB": 2048.0}


def reference_wire(n_x: int = 65, n_energy: int = 1025) -> WireProblem:
    """The benchmark wire (see the module docstring); smaller sizes for quick runs."""
    half_width = 4.0
    step = 2 * half_width / (n_energy - 1)
    pairs = PairScattering(0.5, 2.0, 50.0, CouplingGrid(step, 0.05, (n_energy - 1) // 2))
    mechanisms = (pairs, ElectronElectron(0.2, 1.5))
    return WireProblem(EnergyGrid(n_energy, step), WireGrid(n_x), 0.5, -0.5, 0.01, 0.01, mechanisms)


def _distance(state, steady) -> float:
    return max(float(np.max(np.abs(state.f - steady.f[1:-1]))), float(np.max(np.abs(state.P - steady.P))))


def run_wire(quick: bool = False, tolerance: float = 1e-6, t_limit: float = 40.0, progress=None) -> dict:
    """Time the steady state and the evolution to it; returns the figures as a dict."""
    say = progress or (lambda *a: None)
    n_x, n_energy = (17, 257) if quick else (65, 1025)
    start = time.perf_counter()
    small = reference_wire(9, 129)  # compiles every kernel of both solvers, or loads numba's cache
    steady_state(small)
    Evolution(small).advance(equilibrium_state(small), 1e-4)
    compile_s = time.perf_counter() - start
    problem = reference_wire(n_x, n_energy)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        steady = steady_state(problem)
        times.append(time.perf_counter() - start)
    say(f"steady state: {statistics.median(times):.2f} s, {steady.iterations} Newton iterations")
    # the local error tolerance sets the accuracy of the path, not of the steady state it reaches
    evolution = Evolution(problem, rtol=1e-3, atol=1e-6)
    state = equilibrium_state(problem)
    start = time.perf_counter()
    distance = _distance(state, steady)
    while distance > tolerance and state.t < t_limit:
        state = evolution.advance(state, state.t + 0.5)
        distance = _distance(state, steady)
        say(f"evolution: t = {state.t:.1f} tau_D, distance {distance:.2e}, {evolution.steps} steps")
    evolution_s = time.perf_counter() - start
    peak_MB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "n_x": n_x,
        "n_energy": n_energy,
        "compile_s": compile_s,
        "steady": {"median_s": statistics.median(times), "iterations": steady.iterations, "residual": steady.residual},
        "evolution": {
            "wall_s": evolution_s,
            "t_reached": state.t,
            "distance": distance,
            "reached": distance <= tolerance,
            "steps": evolution.steps,
            "rejected": evolution.rejected,
            "tolerance": tolerance,
        },
        "peak_memory_MB": peak_MB,
        "quick": quick,
    }


def format_wire_report(result: dict) -> str:
    steady, evo = result["steady"], result["evolution"]
    lines = [
        f"wire n_x = {result['n_x']}, n_energy = {result['n_energy']} (pairs S = 1/2 + e-e a = 3/2)",
        f"first call (compile or cache load): {result['compile_s']:.2f} s",
        f"steady state: median {steady['median_s']:.2f} s, {steady['iterations']} Newton iterations, "
        f"residual {steady['residual']:.1e}",
        f"evolution from the quench: {evo['wall_s']:.1f} s to t = {evo['t_reached']:.1f} tau_D, distance "
        f"{evo['distance']:.1e} to the steady state, {evo['steps']} steps ({evo['rejected']} rejected)",
        f"peak memory (process RSS): {result['peak_memory_MB']:.0f} MB",
    ]
    if not result["quick"]:
        checks = [
            ("steady state", steady["median_s"], TARGETS["steady_s"], "s"),
            ("evolution", evo["wall_s"] if evo["reached"] else float("inf"), TARGETS["evolution_s"], "s"),
            ("peak memory", result["peak_memory_MB"], TARGETS["peak_memory_MB"], "MB"),
        ]
        for name, value, target, unit in checks:
            verdict = "PASS" if value <= target else "MISS"
            lines.append(f"{verdict} {name} {value:.3g} {unit} (<= {target:g} {unit})")
    return "\n".join(lines)
