"""The steady state of the reference wire: an earlier version against the current one and the plain
numpy/scipy solver, in alternating rounds of one process (medians and minima of wall and CPU time).

    python benchmarks/steady_before_after.py [--rounds 5] [--commit f0c220e | --package COMMIT]

``--commit`` (default f0c220e, the solver before the in-scattering preconditioner) reads only
``hotelectron/wire/steady.py`` of that commit: both package solvers then run on the current
collision engine and preconditioner, and only the Newton-Krylov loop differs. ``--package`` loads the
whole package of that commit instead (``git archive`` into ``$TMPDIR/hotelectron_COMMIT``, imported
under that name beside the current one; numba compiles it there on the first run): the collision
engine, preconditioner and solver as they were. Needs git and the commit in the repository.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import io
import os
import statistics
import subprocess
import sys
import tarfile
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


def previous_package(commit: str):
    """``(steady_state, reference wire)`` of the whole package at ``commit``, imported as
    ``hotelectron_COMMIT`` (the package imports itself relatively, so it runs under any name)."""
    name = "hotelectron_" + commit
    root = Path(tempfile.gettempdir()) / name
    if not (root / name).is_dir():
        archive = subprocess.run(["git", "archive", commit, "hotelectron"], cwd=HERE.parent, capture_output=True,
                                 check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(root, filter="data")
        (root / "hotelectron").rename(root / name)
    sys.path.insert(0, str(root))
    wire = importlib.import_module(name + ".wire")
    bench = importlib.import_module(name + ".bench.wire")
    return wire.steady_state, bench.reference_wire()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commit", default="f0c220e", help="read only wire/steady.py of this commit")
    parser.add_argument("--package", help="load the whole package of this commit instead")
    args = parser.parse_args()
    problem = reference_wire()
    before = previous_package(args.package) if args.package else (previous_solver(args.commit), problem)
    solvers = {"before": before, "after": (steady_state, problem)}
    for solve, wire in solvers.values():  # compiled (or loaded from numba's cache) before timing
        solve(wire)
    wall = {name: [] for name in (*solvers, "plain")}
    cpu = {name: [] for name in wall}
    results = {}
    load = os.getloadavg()[0]
    for _ in range(args.rounds):
        for name, (solve, wire) in solvers.items():
            start, clock = time.perf_counter(), time.process_time()
            results[name] = solve(wire)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - clock)
        clock = time.process_time()
        f, seconds, evaluations = plain_newton_krylov.solve(problem)
        wall["plain"].append(seconds)
        cpu["plain"].append(time.process_time() - clock)
    label = f"package of {args.package}" if args.package else f"steady.py of {args.commit}"
    print(f"reference wire 65 x 1025, before = {label}; {args.rounds} alternating rounds; load average {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f}")
    print("solver | wall median (min) | CPU median (min) | plain / solver, medians (minima): wall, CPU | work | "
          "max |f - f_plain|")
    for name in (*solvers, "plain"):
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        times = f"{w:.3f} s ({min(wall[name]):.3f}) | {c:.3f} s ({min(cpu[name]):.3f})"
        if name == "plain":
            print(f"plain | {times} | 1, 1 | {evaluations} residuals | 0")
            continue
        s = results[name]
        start = f" + start {s.start_evaluations} + {s.start_products} on 5 nodes" if getattr(s, "start_evaluations", 0) else ""
        ratio = (statistics.median(wall["plain"]) / w, statistics.median(cpu["plain"]) / c,
                 min(wall["plain"]) / min(wall[name]), min(cpu["plain"]) / min(cpu[name]))
        print(f"{name} | {times} | {ratio[0]:.1f}, {ratio[1]:.1f} ({ratio[2]:.1f}, {ratio[3]:.1f}) | {s.evaluations} "
              f"residuals + {s.products} products{start} | {np.max(np.abs(s.f - f)):.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
