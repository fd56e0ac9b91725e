"""Fit benchmark (issue 14): 4 biases x 200 probe points, 4 free parameters, fitted one steady state
after another in this process and on a Dask LocalCluster of 2 worker processes, in one run.

The system is the AgMn wire of ``scenarios/agmn_spin52.toml`` (Ag, L = 5 um, D = 0.0185 m^2/s,
S = 5/2 Mn pairs at 1 ppm with T_K = 40 mK, electron-electron scattering with a = 3/2), n_x = 33,
n_energy = 1201, with a physical kappa. Its SYNTHETIC "measurements", made here with the fit's own
model, are R_T dI/dV at x = L/2 for U = 0.1, 0.2, 0.3, 0.4 mV at 200 probe biases V from -0.6 to
0.6 mV, with Gaussian noise of 0.005 (numpy ``default_rng(SEED)``). The true values: kappa =
0.1 1/ns/meV^0.5, bath temperature 50 mK, probe gap 0.17 meV, Dynes broadening 5 ueV (probe at
50 mK, held fixed). The four are fitted from starts 20 % off.

Both fits start from nothing (no warm start carried over); numba's kernels are loaded in this
process and in every worker before the clocks start, and the cluster's start is reported apart.
With ``rounds`` > 1 the two fits alternate and the medians are reported. Target on the 2-core
machine: each fit in at most 3 minutes of wall time.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time

import numpy as np

from ..experiment.data import MeasuredCurve
from ..experiment.fit import FitModel, FitProblem, Parameter, fit
from ..experiment.probe import ProbeParameters
from ..experiment.solves import DaskSolves, solve_curve
from ..sweep import local_client

__all__ = ["AGMN_SECTIONS", "TARGET_WALL_S", "fit_bench_problem", "format_fit_report", "run_fit_bench", "warm_cluster"]

TARGET_WALL_S = 180.0
SEED = 20261207
NOISE = 0.005

#: Ag with 1 ppm Mn (S = 5/2, T_K = 40 mK), 5 um, 50 mK, 0.2 mV: the wire, reservoirs and impurities of
#: scenarios/agmn_spin52.toml (no cross-section); the tests build their AgMn scenarios on them too
AGMN_SECTIONS = """
[wire]
material = "Ag"
length = "5 um"
diffusion_constant = "0.0185 m^2/s"

[reservoirs]
temperature = "50 mK"
bias = "0.2 mV"

[impurities]
spin = 2.5
concentration = "1 ppm"
kondo_temperature = "40 mK"
"""

BASE = AGMN_SECTIONS + """
[electron_electron]
exponent = 1.5
kappa = "0.1 1/ns/meV^0.5"

[grid]
n_x = {n_x}
n_energy = {n_energy}
half_width = 5.0

[run]
mode = "steady"
"""

KAPPA_UNIT = "1/ns/meV^0.5"
#: label -> (true value, start, min, max, unit)
PARAMETERS = {
    "electron_electron.kappa": (0.1, 0.12, 0.001, 10.0, KAPPA_UNIT),
    "reservoirs.temperature": (50.0, 60.0, 20.0, 200.0, "mK"),
    "probe.gap": (0.17, 0.136, 0.05, 0.5, None),
    "probe.dynes": (5e-3, 6e-3, 1e-4, 0.05, None),
}
PROBE = ProbeParameters(gap_meV=0.17, dynes_meV=5e-3, temperature_K=0.05)
BIASES_MV = (0.1, 0.2, 0.3, 0.4)
#: quick -> (n_x, n_energy, probe points per curve)
SIZES = {False: (33, 1201, 200), True: (17, 601, 60)}


def fit_bench_problem(quick: bool = False) -> tuple[FitProblem, dict]:
    """The benchmark's fit problem (synthetic noisy curves) and the true values (label -> value)."""
    n_x, n_energy, points = SIZES[quick]
    base = BASE.format(n_x=n_x, n_energy=n_energy)
    v = np.linspace(-0.6, 0.6, points)
    truth = {label: spec[0] for label, spec in PARAMETERS.items()}
    exact = [Parameter(label, spec[0], unit=spec[4]) for label, spec in PARAMETERS.items()]
    placeholder = [MeasuredCurve(u, None, None, "conductance", v, np.zeros_like(v)) for u in BIASES_MV]
    model = FitModel(FitProblem(base, placeholder, exact, PROBE))
    rng = np.random.default_rng(SEED)
    curves = [MeasuredCurve(u, None, None, "conductance", v,
                            model.curve(truth, i)[0] + NOISE * rng.standard_normal(v.size),
                            source=f"SYNTHETIC U = {u} mV")
              for i, u in enumerate(BIASES_MV)]
    parameters = [Parameter(label, start, lower, upper, unit=unit)
                  for label, (_true, start, lower, upper, unit) in PARAMETERS.items()]
    return FitProblem(base, curves, parameters, PROBE, sigma=(NOISE,) * len(curves)), truth


@contextlib.contextmanager
def warm_cluster(problem: FitProblem, workers: int):
    """A Dask LocalCluster of ``workers`` processes with numba's kernels loaded in every worker (a steady
    state of ``problem`` solved on each), closed on exit."""
    client = local_client(workers)
    try:
        text = FitModel(problem).scenario_text({p.label: p.start for p in problem.parameters}, 0)
        client.run(solve_curve, text, None, problem.steady_tol)
        yield client
    finally:
        client.close()
        client.cluster.close()


def _timed_fit(problem: FitProblem, solves=None):
    start = time.perf_counter()
    result = fit(problem, solves=solves)
    return result, time.perf_counter() - start


def run_fit_bench(quick: bool = False, workers: int = 2, rounds: int = 1, progress=None) -> dict:
    """Fit the benchmark problem serially and on ``workers`` Dask workers, ``rounds`` times each,
    alternating; returns the figures as a dict."""
    say = progress or (lambda *a: None)
    load_start = os.getloadavg()
    problem, truth = fit_bench_problem(quick)  # also loads numba's kernels in this process
    say(f"synthetic data ready; load average {load_start[0]:.2f}")
    start = time.perf_counter()
    with warm_cluster(problem, workers) as client:
        startup_s = time.perf_counter() - start
        walls = {"serial": [], "dask": []}
        results = {}
        for k in range(rounds):
            results["serial"], wall = _timed_fit(problem)
            walls["serial"].append(wall)
            say(f"round {k + 1}: serial fit {wall:.1f} s")
            results["dask"], wall = _timed_fit(problem, DaskSolves(client))
            walls["dask"].append(wall)
            say(f"round {k + 1}: fit on {workers} Dask workers {wall:.1f} s")
    serial, dask = results["serial"], results["dask"]
    medians = {name: statistics.median(values) for name, values in walls.items()}
    return {
        "quick": quick, "workers": workers, "rounds": rounds, "biases_mV": list(BIASES_MV),
        "points_per_curve": int(problem.curves[0].x.size), "free_parameters": [p.label for p in problem.free],
        "grid": dict(zip(("n_x", "n_energy"), SIZES[quick][:2], strict=True)),
        "wall_s": walls, "median_wall_s": medians, "speed_up": medians["serial"] / medians["dask"],
        "cluster_startup_s": startup_s,
        "evaluations": serial.evaluations, "optimiser_evaluations": serial.optimiser_evaluations,
        "steady_solves": serial.steady_solves, "newton_iterations": serial.newton_iterations,
        "dask_evaluations": dask.evaluations, "dask_steady_solves": dask.steady_solves,
        "chi2_per_dof": serial.chi2_per_dof, "message": serial.message,
        "parameters": {p.parameter.label: {"true": truth[p.parameter.label], "serial": p.value,
                                            "dask": dask[p.parameter.label].value, "stderr": p.stderr}
                       for p in serial.free},
        "largest_difference_in_stderr": max(abs(p.value - dask[p.parameter.label].value) / p.stderr
                                            for p in serial.free),
        "load_average_start": load_start, "load_average_end": os.getloadavg(),
    }


def format_fit_report(result: dict) -> str:
    medians = result["median_wall_s"]
    lines = [
        f"fit of {len(result['biases_mV'])} biases x {result['points_per_curve']} probe points, "
        f"{len(result['free_parameters'])} free parameters (AgMn wire, n_x = {result['grid']['n_x']}, "
        f"n_energy = {result['grid']['n_energy']}); {result['rounds']} round(s), medians",
        f"{result['evaluations']} model evaluations ({result['optimiser_evaluations']} by the optimiser), "
        f"{result['steady_solves']} steady states, {result['newton_iterations']} Newton iterations; "
        f"chi2/dof {result['chi2_per_dof']:.4f}",
        f"serial, one process: {medians['serial']:.1f} s",
        f"Dask LocalCluster, {result['workers']} workers: {medians['dask']:.1f} s "
        f"(cluster start and warm-up {result['cluster_startup_s']:.1f} s, not included)",
        f"speed-up serial / Dask: {result['speed_up']:.2f}; serial and Dask values differ by at most "
        f"{result['largest_difference_in_stderr']:.1e} stderr",
    ]
    for label, p in result["parameters"].items():
        lines.append(f"  {label:26s} true {p['true']:<8g} fitted {p['serial']:.6g} +- {p['stderr']:.2g} "
                     f"({(p['serial'] - p['true']) / p['stderr']:+.2f} stderr)")
    lines.append("load average (1, 5, 15 min) at the start {:.2f} {:.2f} {:.2f}, at the end {:.2f} {:.2f} {:.2f}".format(
        *result["load_average_start"], *result["load_average_end"]))
    if not result["quick"]:
        for name in ("serial", "dask"):
            verdict = "PASS" if medians[name] <= TARGET_WALL_S else "MISS"
            lines.append(f"{verdict} {name} fit in {medians[name]:.0f} s (<= {TARGET_WALL_S:.0f} s)")
    return "\n".join(lines)
