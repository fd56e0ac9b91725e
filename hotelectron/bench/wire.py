"""Wire-solver benchmark: the steady state and the evolution from the quench to it.

Two cases, both timed after compilation (a small wire is solved first):

* The reference wire: n_x = 65 nodes, n_energy = 1025 points over [-4, 4] eU, reservoirs at
  T = 0.01 eU with bias eU; pairs with S = 1/2 (rate 2, relaxation 50, v_min = 0.05 eU) and
  electron-electron scattering with a = 3/2 (kappa 0.2), all per tau_D. The steady state, and the
  evolution from the bias switched on at t = 0 to within 1e-6 of it (max over f and P), once with
  the default integrator (ROS34PW2 with the coupled, moment-restoring preconditioner as W, refined
  by GMRES on the true Jacobian where it is off) and once with the previous one (the ROS2 W-method
  on the frozen operator, step at most 0.25 tau_D), side by side in one run; both report their
  steps, rejections, Krylov products, right-hand sides and operator applications.
* A scenario (``scenario=PATH``, every point of a bias series): the steady state of each point and
  the evolution of the same point from its initial state to within 1e-6 of that steady state, in
  three rounds (medians); the ratio of the two totals is the figure of merit (target: evolution <=
  20x steady).

Targets on the 2-core machine: steady state <= 5 s; evolution <= 30 s and >= 3x faster than the
previous integrator; peak memory <= 2 GB.
"""

from __future__ import annotations

import resource
import statistics
import time

import numpy as np

from ..kinetics._numba import jit
from ..kinetics.grids import CouplingGrid, EnergyGrid, WireGrid
from ..kinetics.mechanisms import ElectronElectron, PairScattering
from ..wire.evolution import Evolution, _float_of_bits, _largest_bits, equilibrium_state
from ..wire.problem import WireProblem
from ..wire.steady import steady_state

__all__ = ["TARGETS", "format_wire_report", "reference_wire", "run_wire", "evolve_to_steady"]

TARGETS = {"steady_s": 5.0, "evolution_s": 30.0, "speedup": 3.0, "scenario_ratio": 20.0,
           "peak_memory_MB": 2048.0}

# the integrator before the Krylov refinement: the W-method on the frozen operator
PREVIOUS = {"scheme": "ros2", "krylov": False}


def reference_wire(n_x: int = 65, n_energy: int = 1025) -> WireProblem:
    """The benchmark wire (see the module docstring); smaller sizes for quick runs."""
    half_width = 4.0
    step = 2 * half_width / (n_energy - 1)
    pairs = PairScattering(0.5, 2.0, 50.0, CouplingGrid(step, 0.05, (n_energy - 1) // 2))
    mechanisms = (pairs, ElectronElectron(0.2, 1.5))
    return WireProblem(EnergyGrid(n_energy, step), WireGrid(n_x), 0.5, -0.5, 0.01, 0.01, mechanisms)


def _distance(state, steady) -> float:
    """max |state - steady| over f (interior nodes) and P: checked after every step, so compiled
    (no temporaries)."""
    d = _max_difference(np.ascontiguousarray(state.f), np.ascontiguousarray(steady.f[1:-1]))
    if state.P is not None:
        d = max(d, _max_difference(np.ascontiguousarray(state.P), np.ascontiguousarray(steady.P)))
    return d


@jit(error_model="numpy")
def _max_difference(a, b):
    """``max |a - b|`` over all elements (NaN if any difference is NaN), a chunk of differences at a
    time, whose largest is taken on their bits (``evolution._largest_bits``: a floating-point maximum
    that keeps NaN does not vectorise; 0.05 ms before for the 84 000 values of the default scenario)."""
    a, b = a.ravel(), b.ravel()
    chunk = np.empty(1024)
    bits = chunk.view(np.int64)
    largest = np.int64(0)
    for lo in range(0, a.size, chunk.size):
        m = min(chunk.size, a.size - lo)
        a_part, b_part = a[lo : lo + m], b[lo : lo + m]
        for i in range(m):
            chunk[i] = abs(a_part[i] - b_part[i])
        largest = max(largest, _largest_bits(bits[:m]))
    return _float_of_bits(largest)


def evolve_to_steady(problem, steady, state, *, tolerance=1e-6, t_limit=40.0, report_every=2.0, progress=None,
                     **options) -> dict:
    """Evolve ``state`` until it is within ``tolerance`` of ``steady`` (max over f and P, checked
    after every step) or until ``t_limit``; ``progress`` is told the time and distance once per
    ``report_every`` of evolution (the steps are not shortened to land on those times).

    ``options`` go to :class:`~hotelectron.wire.evolution.Evolution` (default rtol 1e-3, atol 1e-6:
    the local error tolerance sets the accuracy of the path, not of the steady state it reaches).
    Returns wall time, the time reached, the distance and the integrator's counters.
    """
    options = {"rtol": 1e-3, "atol": 1e-6, **options}
    evolution = Evolution(problem, **options)
    start = time.perf_counter()
    reported = state.t

    def close(s) -> bool:  # after every accepted step
        nonlocal reported
        distance = _distance(s, steady)
        if progress is not None and s.t >= reported + report_every:
            reported = s.t
            progress(f"  t = {s.t:.2f} tau_D, distance {distance:.2e}, {evolution.steps} steps")
        return distance <= tolerance

    if _distance(state, steady) > tolerance:
        state = evolution.advance(state, t_limit, stop=close)
    distance = _distance(state, steady)
    return {
        "wall_s": time.perf_counter() - start,
        "t_reached": state.t,
        "distance": distance,
        "reached": distance <= tolerance,
        "steps": evolution.steps,
        "rejected": evolution.rejected,
        "krylov_iterations": evolution.krylov_iterations,
        "rhs_evaluations": evolution.rhs_evaluations,
        "operator_applications": evolution.dynamics.work,
        "tolerance": tolerance,
        "options": {k: v for k, v in options.items() if isinstance(v, (str, bool, int, float))},
    }


def _timed_steady(problem, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        steady = steady_state(problem)
        times.append(time.perf_counter() - start)
    return steady, statistics.median(times)


def _compile(problem):
    """Compile (or load from numba's cache) every kernel the timed runs of ``problem`` use: a small
    wire takes the one-thread twins, ``problem`` itself the threaded ones where its size calls for them."""
    start = time.perf_counter()
    for wire, t_end in ((reference_wire(9, 129), 1e-2), (problem, 1e-5)):
        steady_state(wire)
        for options in ({}, PREVIOUS):
            Evolution(wire, **options).advance(equilibrium_state(wire), t_end)
    return time.perf_counter() - start


def scenario_points(path):
    """The Scenario of every point of ``path`` (one, or one per bias of a series), read and refused as
    ``hotelectron run`` reads a scenario file (missing, a folder, not UTF-8, another kind of file, a bad key)."""
    from ..io.scenario import parse_scenario, scenario_text
    from ..sweep.spec import bias_series

    text = scenario_text(path)
    series = bias_series(text, path)
    texts = [p.text for p in series.points()] if series is not None else [text]
    return [parse_scenario(t, path) for t in texts]


def run_scenario(path, tolerance: float = 1e-6, progress=None, rounds: int = 3, scenarios=None) -> dict:
    """Steady states and evolutions to them for every point of a scenario; see the module docstring.

    ``rounds`` rounds over the points, each point's steady solve followed by its evolution; every
    time is the median of its rounds (wall and CPU time), the counters those of the first round (the
    runs are deterministic). ``scenarios``: the points of ``path`` already read (:func:`scenario_points`)."""
    from ..io.runner import initial_state

    say = progress or (lambda *a: None)
    scenarios = scenario_points(path) if scenarios is None else scenarios
    warm = scenarios[0]  # compiles what the reference wire did not (other spins, grid sizes)
    steady_state(warm.problem)
    Evolution(warm.problem).advance(initial_state(warm), 1e-3)
    times = [{"steady": [], "steady_cpu": [], "evolution": [], "evolution_cpu": []} for _ in scenarios]
    points = []
    for r in range(rounds):
        for scenario, timed in zip(scenarios, times):
            problem = scenario.problem
            wall, cpu = time.perf_counter(), time.process_time()
            steady = steady_state(problem)
            timed["steady"].append(time.perf_counter() - wall)
            timed["steady_cpu"].append(time.process_time() - cpu)
            say(f"{scenario.energy_unit}: steady state {timed['steady'][-1]:.2f} s; evolving")
            cpu = time.process_time()
            evo = evolve_to_steady(problem, steady, initial_state(scenario), tolerance=tolerance,
                                   t_limit=max(40.0, scenario.end_time), progress=progress)
            timed["evolution"].append(evo["wall_s"])
            timed["evolution_cpu"].append(time.process_time() - cpu)
            if r == 0:
                points.append({"energy_unit": scenario.energy_unit, "n_x": problem.wire.n,
                               "n_energy": problem.energy.n, "steady_products": steady.products,
                               "steady_evaluations": steady.evaluations, "evolution": evo})
    for point, timed in zip(points, times):
        median = {key: statistics.median(values) for key, values in timed.items()}
        point.update(steady_s=median["steady"], steady_cpu_s=median["steady_cpu"], evolution_cpu_s=median["evolution_cpu"])
        point["evolution"]["wall_s"] = median["evolution"]
    steady_total = sum(p["steady_s"] for p in points)
    evolution_total = sum(p["evolution"]["wall_s"] if p["evolution"]["reached"] else float("inf") for p in points)
    cpu_ratio = sum(p["evolution_cpu_s"] for p in points) / sum(p["steady_cpu_s"] for p in points)
    return {"path": str(path), "points": points, "rounds": rounds, "steady_s": steady_total,
            "evolution_s": evolution_total, "ratio": evolution_total / steady_total, "cpu_ratio": cpu_ratio}


def run_wire(quick: bool = False, tolerance: float = 1e-6, t_limit: float = 40.0, progress=None,
             scenario=None, previous: bool = True) -> dict:
    """Time the steady state and the evolution to it, new and previous integrator; returns a dict."""
    say = progress or (lambda *a: None)
    points = None if scenario is None else scenario_points(scenario)  # refused before minutes of timing
    n_x, n_energy = (17, 257) if quick else (65, 1025)
    problem = reference_wire(n_x, n_energy)
    compile_s = _compile(problem)
    steady, steady_s = _timed_steady(problem)
    say(f"steady state: {steady_s:.2f} s, {steady.iterations} Newton iterations")
    evolutions = {}
    for name, options in (("default", {}), ("previous", PREVIOUS))[: 2 if previous else 1]:
        say(f"evolution, {name} integrator")
        evolutions[name] = evolve_to_steady(problem, steady, equilibrium_state(problem), tolerance=tolerance,
                                            t_limit=t_limit, progress=progress, **options)
    result = {
        "n_x": n_x,
        "n_energy": n_energy,
        "compile_s": compile_s,
        "steady": {"median_s": steady_s, "iterations": steady.iterations, "residual": steady.residual,
                   "evaluations": steady.evaluations, "products": steady.products,
                   "start_evaluations": steady.start_evaluations, "start_products": steady.start_products},
        "evolution": evolutions,
        "quick": quick,
    }
    if scenario is not None:
        result["scenario"] = run_scenario(scenario, tolerance, progress, rounds=1 if quick else 3, scenarios=points)
    result["peak_memory_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return result


def _evolution_line(name, evo):
    reached = "" if evo["reached"] else " (NOT reached)"
    return (f"evolution ({name}): {evo['wall_s']:.1f} s to t = {evo['t_reached']:.2f} tau_D, distance "
            f"{evo['distance']:.1e}{reached}; {evo['steps']} steps ({evo['rejected']} rejected), "
            f"{evo['krylov_iterations']} Krylov iterations, {evo['rhs_evaluations']} rhs evaluations, "
            f"{evo['operator_applications']} operator applications")


def format_wire_report(result: dict) -> str:
    steady, evolutions = result["steady"], result["evolution"]
    lines = [
        f"wire n_x = {result['n_x']}, n_energy = {result['n_energy']} (pairs S = 1/2 + e-e a = 3/2)",
        f"first call (compile or cache load): {result['compile_s']:.2f} s",
        f"steady state: median {steady['median_s']:.3f} s, {steady['iterations']} Newton iterations, "
        f"{steady['evaluations']} residuals + {steady['products']} Jacobian products, residual {steady['residual']:.1e}"
        + (f" (start on 5 nodes: {steady['start_evaluations']} residuals + {steady['start_products']} products)"
           if steady.get("start_evaluations") else ""),
    ]
    lines += [_evolution_line(name, evo) for name, evo in evolutions.items()]
    new = evolutions["default"]
    new_s = new["wall_s"] if new["reached"] else float("inf")
    speedup = None
    if "previous" in evolutions:
        old = evolutions["previous"]
        speedup = (old["wall_s"] if old["reached"] else float("inf")) / new_s
        lines.append(f"evolution speed-up over the previous integrator: {speedup:.1f}x")
    if "scenario" in result:
        sc = result["scenario"]
        lines.append(f"scenario {sc['path']}:")
        for p in sc["points"]:
            lines.append(f"  {p['energy_unit']} ({p['n_x']} x {p['n_energy']}): steady {p['steady_s']:.3f} s; "
                         + _evolution_line("default", p["evolution"]).split(": ", 1)[1])
        lines.append(f"  evolution / steady (medians of {sc['rounds']} rounds): {sc['evolution_s']:.2f} s / "
                     f"{sc['steady_s']:.3f} s = {sc['ratio']:.1f}x (CPU time {sc['cpu_ratio']:.1f}x)")
    lines.append(f"peak memory (process RSS): {result['peak_memory_MB']:.0f} MB")
    if not result["quick"]:
        checks = [
            ("steady state", steady["median_s"], TARGETS["steady_s"], "s", "<="),
            ("evolution", new_s, TARGETS["evolution_s"], "s", "<="),
            ("peak memory", result["peak_memory_MB"], TARGETS["peak_memory_MB"], "MB", "<="),
        ]
        if speedup is not None:
            checks.append(("speed-up over the previous integrator", speedup, TARGETS["speedup"], "x", ">="))
        if "scenario" in result:
            checks.append(("scenario evolution / steady", result["scenario"]["ratio"], TARGETS["scenario_ratio"], "x", "<="))
        for name, value, target, unit, sense in checks:
            ok = value <= target if sense == "<=" else value >= target
            lines.append(f"{'PASS' if ok else 'MISS'} {name} {value:.3g} {unit} ({sense} {target:g} {unit})")
    return "\n".join(lines)
