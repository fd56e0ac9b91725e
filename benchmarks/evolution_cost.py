"""What the evolution of a scenario costs against the steady solves of its points, and its floor.

    python benchmarks/evolution_cost.py [--scenario S.toml] [--rounds 3]           # ratio and floor
    python benchmarks/evolution_cost.py --against fd0a59f [--alternations 3]       # against a commit

The first form runs, in one process, ``rounds`` rounds over the points of the scenario (default
``scenarios/default.toml``): each point's steady state, then its evolution from the initial state to
within 1e-6 of it (``hotelectron.bench.wire.evolve_to_steady``: rtol 1e-3, atol 1e-6), and reports
the medians of wall and CPU time and their ratio. It then times, at a state of the transient (t =
3e-3 tau_D of the second point), the operations a step is made of, each the minimum of 200 calls
(hot caches, the best case), in wall and in CPU time: a right-hand side, a preconditioner
application, the factorisation of the pair chains, one real FFT of the batch; and the floor of the
evolution, the operations the evolutions counted at those minimum times, against the minimum (of
40) of each steady solve. A ratio below the floor needs fewer operations (steps or stages), not
faster bookkeeping.

The second form exports the tree of a commit (``git archive``) and runs the first form's ratio, in
fresh processes alternating between that tree and this one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure_ratio(scenario: str, rounds: int) -> dict:
    """Medians over ``rounds`` of each point's steady solve and evolution (wall and CPU time)."""
    from hotelectron.bench.wire import scenario_points, evolve_to_steady
    from hotelectron.io.runner import initial_state
    from hotelectron.wire.evolution import Evolution
    from hotelectron.wire.steady import steady_state

    points = scenario_points(scenario)
    steady_state(points[0].problem)  # compile or load numba's cache
    Evolution(points[0].problem).advance(initial_state(points[0]), 1e-3)
    times = {key: [[] for _ in points] for key in ("steady", "steady_cpu", "evolution", "evolution_cpu")}
    counters = []
    for r in range(rounds):
        for i, point in enumerate(points):
            wall, cpu = time.perf_counter(), time.process_time()
            steady = steady_state(point.problem)
            times["steady"][i].append(time.perf_counter() - wall)
            times["steady_cpu"][i].append(time.process_time() - cpu)
            wall, cpu = time.perf_counter(), time.process_time()
            evolution = evolve_to_steady(point.problem, steady, initial_state(point))
            times["evolution"][i].append(time.perf_counter() - wall)
            times["evolution_cpu"][i].append(time.process_time() - cpu)
            if r == 0:  # (older trees, run by --against, count no operator applications: None)
                counters.append({k: evolution.get(k) for k in ("steps", "rejected", "krylov_iterations", "reached",
                                                               "rhs_evaluations", "operator_applications")})
    total = {key: sum(statistics.median(v) for v in values) for key, values in times.items()}
    return {"seconds": total, "ratio": total["evolution"] / total["steady"],
            "ratio_cpu": total["evolution_cpu"] / total["steady_cpu"], "points": counters,
            "load": os.getloadavg()[0]}


def _minimum(call, repeats: int = 200, clock=time.perf_counter) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        call()
        best = min(best, clock() - start)
    return best


def measure_floor(scenario: str) -> dict:
    """Minimum times of a step's operations, the operations the evolutions count, and their floor."""
    import numpy as np

    from hotelectron.bench.wire import _distance, scenario_points
    from hotelectron.io.runner import initial_state
    from hotelectron.kinetics import convolution
    from hotelectron.wire.evolution import Evolution
    from hotelectron.wire.steady import steady_state

    points = scenario_points(scenario)
    point = points[min(1, len(points) - 1)]
    evolution = Evolution(point.problem)
    state = evolution.advance(initial_state(point), 3e-3)
    dynamics = evolution.dynamics
    y = evolution._flat(state)
    frozen = dynamics.rhs(y)
    out = np.empty_like(y)
    dt = 1e-3
    c = point.problem.collisions
    n_x, n = state.f.shape
    rows = convolution.scratch(n_x, n).padded
    spectrum = np.empty((n_x, rows.shape[1] // 2 + 1), complex)
    operations = {
        "rhs": lambda: dynamics.rhs_only(y, out),
        "first rhs of a step": lambda: dynamics.rhs(y, out),
        "preconditioner": lambda: dynamics.precondition(frozen.F, frozen, dt, out),
        "chain factorisation": lambda: c.pairs.chain_stage(frozen.lin.P, frozen.lin.G, c.grid, dt),
        "real FFT of the batch": lambda: convolution.rfft_rows(rows, spectrum),
    }
    counts = {"rhs": 0, "steps": 0, "preconditioner": 0, "products": 0}
    for p in points:
        steady = steady_state(p.problem)
        e = Evolution(p.problem, rtol=1e-3, atol=1e-6)
        s = initial_state(p)
        e.advance(s, 40.0, stop=lambda s, steady=steady: _distance(s, steady) <= 1e-6)
        counts["steps"] += e.steps + e.rejected
        counts["rhs"] += e.dynamics.evaluations
        counts["preconditioner"] += e.dynamics.preconditioner_applications
        counts["products"] += e.dynamics.products
    first = counts["steps"]  # one first right-hand side and one factorisation per step tried
    result = {"counts": counts, "load": os.getloadavg()[0]}
    for clock_name, clock in (("wall", time.perf_counter), ("CPU", time.process_time)):
        seconds = {name: _minimum(call, clock=clock) for name, call in operations.items()}
        steady_seconds = sum(_minimum(lambda p=p: steady_state(p.problem), 40, clock) for p in points)
        floor = {
            "right-hand sides": (counts["rhs"] - first) * seconds["rhs"] + first * seconds["first rhs of a step"],
            "preconditioner": counts["preconditioner"] * seconds["preconditioner"],
            "factorisations": first * seconds["chain factorisation"],
        }
        result[clock_name] = {"seconds": seconds, "steady_minimum_s": steady_seconds, "floor_s": floor,
                              "floor_ratio": sum(floor.values()) / steady_seconds,
                              "rhs_only_ratio": floor["right-hand sides"] / steady_seconds}
    return result


def against(commit: str, scenario: str, alternations: int, rounds: int) -> None:
    """Alternate fresh processes of ``commit``'s tree and this one; print each one's ratio."""
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
        tree = Path(folder) / commit
        tree.mkdir()
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        script = Path(folder) / "ratio.py"
        script.write_text(f"import json, sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
                          "from evolution_cost import measure_ratio\n"
                          f"print(json.dumps(measure_ratio({str(Path(scenario).resolve())!r}, {rounds})))\n")
        for _ in range(alternations):
            for name, path in ((commit, tree), ("this tree", ROOT)):
                env = {**os.environ, "PYTHONPATH": str(path)}
                result = subprocess.run([sys.executable, str(script)], cwd=path, env=env, capture_output=True,
                                        text=True, check=True)
                r = json.loads(result.stdout.strip().splitlines()[-1])
                s = r["seconds"]
                print(f"{name}: load {r['load']:.2f}, steady {s['steady']:.3f} s, evolution {s['evolution']:.3f} s, "
                      f"ratio {r['ratio']:.1f} (CPU {r['ratio_cpu']:.1f}); steps "
                      + ", ".join(f"{p['steps']} ({p['rejected']})" for p in r["points"]), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "default.toml"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="COMMIT")
    parser.add_argument("--alternations", type=int, default=3)
    args = parser.parse_args()
    if args.against:
        against(args.against, args.scenario, args.alternations, args.rounds)
        return 0
    r = measure_ratio(args.scenario, args.rounds)
    s = r["seconds"]
    print(f"load {r['load']:.2f}; medians of {args.rounds} rounds: steady {s['steady']:.4f} s (CPU "
          f"{s['steady_cpu']:.4f}), evolution {s['evolution']:.3f} s (CPU {s['evolution_cpu']:.3f}): ratio "
          f"{r['ratio']:.1f} (CPU {r['ratio_cpu']:.1f})")
    for p in r["points"]:
        print(f"  {p['steps']} steps ({p['rejected']} rejected), {p['krylov_iterations']} Krylov products, "
              f"{p['rhs_evaluations']} rhs, {p['operator_applications']} operator applications")
    f = measure_floor(args.scenario)
    print("operations of the three evolutions: " + ", ".join(f"{k} {v}" for k, v in f["counts"].items()))
    for clock in ("wall", "CPU"):
        m = f[clock]
        print(f"{clock} time minima (load {f['load']:.2f}): "
              + ", ".join(f"{k} {v * 1e3:.3f} ms" for k, v in m["seconds"].items()))
        print(f"  steady solves {m['steady_minimum_s'] * 1e3:.1f} ms; floor of the evolutions: "
              + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in m["floor_s"].items())
              + f"; floor ratio {m['floor_ratio']:.1f} (right-hand sides alone {m['rhs_only_ratio']:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
