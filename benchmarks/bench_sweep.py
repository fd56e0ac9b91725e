"""Benchmark of parameter sweeps; the same run as ``hotelectron bench --sweep``.

    python benchmarks/bench_sweep.py [--json PATH] [--quick]

Runs the same 8 points one after another in this process and on a Dask LocalCluster of 2 worker
processes, and prints the speed ratio (target >= 1.7 on the 2-core machine); the system is defined
in ``hotelectron/bench/sweep.py``. Writes the figures as JSON (default:
benchmarks/results/sweep.json).
"""

import argparse
import logging
from pathlib import Path

import distributed  # noqa: F401  (imported first: it sets its own log level)

from hotelectron.bench import collisions as bench, sweep as bench_sweep


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "sweep.json"))
    parser.add_argument("--quick", action="store_true", help="small points (a smoke test, no target)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("distributed").setLevel(logging.WARNING)  # its start and stop chatter
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    result = bench_sweep.run_sweep_bench(quick=args.quick, progress=logging.getLogger("bench").info)
    print(bench_sweep.format_sweep_report(result))
    bench.write_json(result, args.json)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
