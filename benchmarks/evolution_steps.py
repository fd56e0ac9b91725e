"""Step-size history and accuracy of the default integrator from the quench to the steady state.

    python benchmarks/evolution_steps.py [--scenario SCENARIO.toml] [--point INDEX] [--rtol RTOL]
                                         [--accuracy]

Prints, for one point of the scenario (default ``scenarios/default.toml``, first bias), every trial
step's length (tau_D), scaled error estimate and whether its stages were refined, then the counters
of ``evolve_to_steady``'s settings (rtol 1e-3, atol 1e-6, stop within 1e-6 of the steady state).
It shows where the steps are small and why: on the default scenario the steps grow by a constant
ratio at an error estimate near the controller's aim (safety^3 = 0.73), first while the quench
spreads through the first nodes (the error sits in f at the Fermi edge of the left reservoir,
where f is small and atol counts), then while the slow pairs (small couplings) relax. Their
number is set by the local accuracy of a transient with a continuum of rates, not by stiffness.

``--accuracy``: the same run against a reference at rtol 1e-7, atol 1e-10 with every stage solved
on the true Jacobian (GMRES to 1e-8) at a few times, the global error scaled like the local one,
``max |y - y_ref| / (rtol |y_ref| + atol)`` over f and P (about a minute per point).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from hotelectron.bench.wire import _distance, scenario_points
from hotelectron.io.runner import initial_state
from hotelectron.wire import steady_state
from hotelectron.wire.evolution import Evolution

ROOT = Path(__file__).resolve().parent.parent
TIMES = (1e-3, 1e-2, 0.1, 1.0, 3.0)


def accuracy(problem, start, rtol: float, atol: float) -> list:
    """Scaled global errors at ``TIMES`` against a tight reference trajectory."""
    reference = Evolution(problem, rtol=1e-7, atol=1e-10, refine_above=0.0, krylov_tol=1e-8, krylov_maxiter=60)
    exact = list(reference.run(start, TIMES))
    ours = Evolution(problem, rtol=rtol, atol=atol)
    errors = []
    for state, ref in zip(ours.run(start, TIMES), exact):
        errors.append(max(float(np.max(np.abs(a - b) / (rtol * np.abs(b) + atol)))
                          for a, b in ((state.f, ref.f), (state.P, ref.P))))
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "default.toml"))
    parser.add_argument("--point", type=int, default=0)
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--tolerance", type=float, default=1e-6)
    parser.add_argument("--accuracy", action="store_true", help="compare with a tight reference trajectory")
    args = parser.parse_args()
    scenario = scenario_points(args.scenario)[args.point]
    problem = scenario.problem
    steady = steady_state(problem)
    atol = 1e-3 * args.rtol
    evolution = Evolution(problem, rtol=args.rtol, atol=atol)
    trials = []
    step_flat = evolution.step_flat

    def recorded(y, h, out=None):
        refined = evolution.refined_steps
        y_new, error = step_flat(y, h, out)
        trials.append((h, error, evolution.refined_steps > refined))
        return y_new, error

    evolution.step_flat = recorded  # the instance attribute shadows the method for advance()
    state = initial_state(scenario)
    close = lambda s: _distance(s, steady) <= args.tolerance  # noqa: E731
    start = time.perf_counter()
    while _distance(state, steady) > args.tolerance and state.t < 40.0:
        state = evolution.advance(state, state.t + 2.0, stop=close)
    wall = time.perf_counter() - start
    for h, error, refined in trials:
        print(f"{h:.3e} {error:.3g}{' refined' if refined else ''}")
    print(f"{scenario.energy_unit}: {wall:.2f} s to t = {state.t:.2f} tau_D, {evolution.steps} steps, "
          f"{evolution.rejected} rejected, {evolution.refined_steps} refined, {evolution.checks} checks of the "
          f"preconditioner, {evolution.krylov_iterations} Krylov products, {evolution.rhs_evaluations} rhs "
          f"evaluations, {evolution.dynamics.work} operator applications")
    if args.accuracy:
        errors = accuracy(problem, initial_state(scenario), args.rtol, atol)
        print("scaled global errors at t = " + ", ".join(f"{t:g}: {e:.2f}" for t, e in zip(TIMES, errors)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
