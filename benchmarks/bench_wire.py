"""Benchmark of the wire solver, with the comparisons that need more than the package itself.

    python benchmarks/bench_wire.py [--scenario SCENARIO.toml] [--json PATH] [--quick] [--steady-only]

In one run, on the same machine state:

1. ``hotelectron bench --wire`` (``hotelectron.bench.wire``): the reference wire's steady state and
   its evolution from the quench to within 1e-6 of it, with the default integrator and the previous
   one side by side, and every point of ``--scenario`` (default ``scenarios/default.toml``) evolved
   to its steady state against the time of the steady solves.
2. The steady state against a plain numpy/scipy Newton-Krylov solver of the same discretisation
   (``plain_newton_krylov.py`` in this folder, independent of the package's kernels), in alternating
   rounds (medians of wall and CPU time); the two answers are compared. ``--steady-only`` runs this
   comparison alone (and writes its results only where ``--json`` says).
3. Library against command line: the steady state of one scenario solved through
   ``import hotelectron`` and through ``hotelectron run``, each in a fresh process (imports and the
   numba cache load included in both), alternating, median of 3.
4. ``hotelectron --help``: wall time of a fresh process, and the import time of the command line
   from ``python -X importtime``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hotelectron.bench.wire import format_wire_report, reference_wire, run_wire
from hotelectron.wire import steady_state

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import plain_newton_krylov  # noqa: E402

LIBRARY = """
import sys, hotelectron
from hotelectron.io.scenario import load_scenario
from hotelectron.wire import steady_state
steady_state(load_scenario(sys.argv[1]).problem)
"""


def plain_comparison(n_x, n_energy, rounds=3) -> dict:
    """Both solvers of the same wire in alternating rounds; medians and minima of wall and process CPU
    time (the CPU time counts the work, the wall time also the waits for a busy machine's cores; the
    minima are the rounds least disturbed by other work), and the load average before and after."""
    problem = reference_wire(n_x, n_energy)
    steady_state(problem)  # compiled (or loaded from numba's cache) before timing
    load = [os.getloadavg()[0]]
    times = {"hotelectron": [], "plain": []}
    cpu = {"hotelectron": [], "plain": []}
    for _ in range(rounds):
        wall, clock = time.perf_counter(), time.process_time()
        ours = steady_state(problem)
        times["hotelectron"].append(time.perf_counter() - wall)
        cpu["hotelectron"].append(time.process_time() - clock)
        clock = time.process_time()
        f, plain_s, evaluations = plain_newton_krylov.solve(problem)
        times["plain"].append(plain_s)
        cpu["plain"].append(time.process_time() - clock)
    load.append(os.getloadavg()[0])
    median = {k: statistics.median(v) for k, v in times.items()}
    median_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    least = {k: min(v) for k, v in times.items()}
    least_cpu = {k: min(v) for k, v in cpu.items()}
    return {"hotelectron_s": median["hotelectron"], "hotelectron_cpu_s": median_cpu["hotelectron"],
            "hotelectron_min_s": least["hotelectron"], "hotelectron_min_cpu_s": least_cpu["hotelectron"],
            "hotelectron_evaluations": ours.evaluations, "hotelectron_products": ours.products,
            "hotelectron_start": [ours.start_evaluations, ours.start_products],
            "plain_s": median["plain"], "plain_cpu_s": median_cpu["plain"], "plain_min_s": least["plain"],
            "plain_min_cpu_s": least_cpu["plain"], "plain_evaluations": evaluations,
            "ratio": median["plain"] / median["hotelectron"], "cpu_ratio": median_cpu["plain"] / median_cpu["hotelectron"],
            "min_ratio": least["plain"] / least["hotelectron"], "min_cpu_ratio": least_cpu["plain"] / least_cpu["hotelectron"],
            "rounds": rounds, "load_average": load, "max_f_difference": float(np.max(np.abs(f - ours.f)))}


def _timed(command) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def library_vs_cli(scenario: Path, repeats=3) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.h5"
        cli = ["hotelectron", "run", str(scenario), "-o", str(out)]
        lib = [sys.executable, "-c", LIBRARY, str(scenario)]
        _timed(lib)  # compile once, so that both read the same numba cache
        library, command = [], []
        for _ in range(repeats):
            library.append(_timed(lib))
            out.unlink(missing_ok=True)
            command.append(_timed(cli))
    return {"scenario": str(scenario), "library_s": statistics.median(library), "cli_s": statistics.median(command),
            "ratio": statistics.median(library) / statistics.median(command)}


def help_time(repeats=5) -> dict:
    wall = min(_timed(["hotelectron", "--help"]) for _ in range(repeats))
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", "import hotelectron.commands.main"],
                         capture_output=True, text=True, check=True)
    lines = [line for line in run.stderr.splitlines() if line.startswith("import time:")]
    cumulative_us = max(int(line.split("|")[1]) for line in lines[1:])
    return {"wall_s": wall, "import_cumulative_s": cumulative_us * 1e-6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "default.toml"))
    parser.add_argument("--json", help="where to write the results (default: results/wire.json beside this script; "
                        "with --steady-only nowhere, so that a partial run does not replace the full one's file)")
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke test)")
    parser.add_argument("--steady-only", action="store_true", help="only the steady state against the plain solver")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the steady comparison")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = {}
    if not args.steady_only:
        result = run_wire(quick=args.quick, scenario=args.scenario)
        print(format_wire_report(result))
    size = (17, 257) if args.quick else (65, 1025)
    result["plain"] = plain = plain_comparison(*size, rounds=args.rounds)
    print(f"steady state at {size[0]} x {size[1]}, medians of {plain['rounds']} alternating rounds (load average "
          f"{plain['load_average'][0]:.1f} -> {plain['load_average'][1]:.1f}): hotelectron {plain['hotelectron_s']:.3f} s "
          f"({plain['hotelectron_cpu_s']:.3f} s CPU; {plain['hotelectron_evaluations']} residuals + "
          f"{plain['hotelectron_products']} products, start on 5 nodes {plain['hotelectron_start'][0]} + "
          f"{plain['hotelectron_start'][1]}); plain numpy/scipy Newton-Krylov {plain['plain_s']:.3f} s "
          f"({plain['plain_cpu_s']:.3f} s CPU; {plain['plain_evaluations']} residuals); ratio {plain['ratio']:.1f} "
          f"(CPU {plain['cpu_ratio']:.1f}; target >= 10); of the minima {plain['min_ratio']:.1f} (CPU "
          f"{plain['min_cpu_ratio']:.1f}: {plain['hotelectron_min_cpu_s']:.3f} s against {plain['plain_min_cpu_s']:.3f} s); "
          f"max |f difference| {plain['max_f_difference']:.1e}")
    if not args.steady_only:
        result["library_vs_cli"] = lvc = library_vs_cli(ROOT / "scenarios" / "agmn_spin52.toml")
        print(f"steady state of {Path(lvc['scenario']).name} in a fresh process: import hotelectron "
              f"{lvc['library_s']:.2f} s, hotelectron run {lvc['cli_s']:.2f} s, ratio {lvc['ratio']:.2f} (target <= 1.2)")
        result["help"] = h = help_time()
        print(f"hotelectron --help: {h['wall_s']:.2f} s wall (best of 5); import of the command line "
              f"{h['import_cumulative_s'] * 1e3:.0f} ms (python -X importtime, cumulative) (target < 0.8 s)")
    path = args.json or (None if args.steady_only else HERE / "results" / "wire.json")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, indent=2, default=str))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
