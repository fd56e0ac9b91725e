"""The steady state of the reference wire: the solver before the in-scattering preconditioner (commit
f0c220e, read from the repository's history) against the current one and the plain numpy/scipy
solver, in alternating rounds of one process (medians of wall and CPU time).

    python benchmarks/steady_before_after.py [--rounds 5] [--commit f0c220e]

Both package solvers use the current collision engine; only the Newton-Krylov solver differs. Needs
git and the commit in the repository.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hotelectron.bench.wire import reference_wire
from hotelectron.wire import steady_state

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import plain_newton_krylov  # noqa: E402


def previous_solver(commit: str):
    """``steady_state`` of ``hotelectron/wire/steady.py`` at ``commit``, its relative imports made absolute."""
    source = subprocess.run(["git", "show", f"{commit}:hotelectron/wire/steady.py"], cwd=HERE.parent,
                            capture_output=True, text=True, check=True).stdout
    source = source.replace("from .", "from hotelectron.wire.")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location("previous_steady", handle.name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    os.unlink(handle.name)
    return module.steady_state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commit", default="f0c220e")
    args = parser.parse_args()
    problem = reference_wire()
    solvers = {"before": previous_solver(args.commit), "after": steady_state}
    for solve in solvers.values():  # compiled (or loaded from numba's cache) before timing
        solve(problem)
    wall = {name: [] for name in (*solvers, "plain")}
    cpu = {name: [] for name in wall}
    results = {}
    for _ in range(args.rounds):
        for name, solve in solvers.items():
            start, clock = time.perf_counter(), time.process_time()
            results[name] = solve(problem)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - clock)
        clock = time.process_time()
        f, seconds, evaluations = plain_newton_krylov.solve(problem)
        wall["plain"].append(seconds)
        cpu["plain"].append(time.process_time() - clock)
    print(f"reference wire 65 x 1025, medians of {args.rounds} alternating rounds; load average {os.getloadavg()[0]:.1f}")
    print("solver | wall | CPU | plain / solver (wall, CPU) | work | max |f - f_plain|")
    for name in (*solvers, "plain"):
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        if name == "plain":
            print(f"plain | {w:.3f} s | {c:.3f} s | 1, 1 | {evaluations} residuals | 0")
            continue
        s = results[name]
        start = f" + start {s.start_evaluations} + {s.start_products} on 5 nodes" if getattr(s, "start_evaluations", 0) else ""
        ratio = statistics.median(wall["plain"]) / w, statistics.median(cpu["plain"]) / c
        print(f"{name} | {w:.3f} s | {c:.3f} s | {ratio[0]:.1f}, {ratio[1]:.1f} | {s.evaluations} residuals + "
              f"{s.products} products{start} | {np.max(np.abs(s.f - f)):.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
