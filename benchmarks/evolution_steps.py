"""Step-size history of the default integrator from the quench to the steady state.

    python benchmarks/evolution_steps.py [--scenario SCENARIO.toml] [--point INDEX] [--rtol RTOL]

Prints, for one point of the scenario (default ``scenarios/default.toml``, first bias), every trial
step's length (tau_D) and scaled error estimate, then the counters of ``evolve_to_steady``'s
settings (rtol 1e-3, atol 1e-6, stop within 1e-6 of the steady state). It shows where the steps
are small and why: after the first few, the steps grow by the controller's ratio at an error
estimate near 0.5, so their number is set by the local accuracy of the transient, not by stiffness.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hotelectron.bench.wire import _distance, _scenario_points
from hotelectron.io.runner import initial_state
from hotelectron.wire import steady_state
from hotelectron.wire.evolution import Evolution

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "default.toml"))
    parser.add_argument("--point", type=int, default=0)
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--tolerance", type=float, default=1e-6)
    args = parser.parse_args()
    scenario = _scenario_points(args.scenario)[args.point]
    problem = scenario.problem
    steady = steady_state(problem)
    evolution = Evolution(problem, rtol=args.rtol, atol=1e-6)
    trials = []
    step_flat = evolution.step_flat

    def recorded(y, h):
        y_new, error = step_flat(y, h)
        trials.append((h, error))
        return y_new, error

    evolution.step_flat = recorded  # the instance attribute shadows the method for advance()
    state = initial_state(scenario)
    close = lambda s: _distance(s, steady) <= args.tolerance  # noqa: E731
    start = time.perf_counter()
    while _distance(state, steady) > args.tolerance and state.t < 40.0:
        state = evolution.advance(state, state.t + 2.0, stop=close)
    wall = time.perf_counter() - start
    for h, error in trials:
        print(f"{h:.3e} {error:.3g}")
    print(f"{scenario.energy_unit}: {wall:.2f} s to t = {state.t:.2f} tau_D, {evolution.steps} steps, "
          f"{evolution.rejected} rejected, {evolution.krylov_iterations} Krylov iterations, "
          f"{evolution.rhs_evaluations} rhs evaluations")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
