"""Benchmark of fits (issue 14); the same run as ``hotelectron bench --fit``.

    python benchmarks/bench_fit.py [--json PATH] [--rounds N] [--quick]

Fits 4 biases x 200 probe points (SYNTHETIC curves of an AgMn wire, made in the run from known
values plus noise) with 4 free parameters (kappa, the bath temperature, the probe gap and its Dynes
broadening), one steady state after another in this process and on a Dask LocalCluster of 2 worker
processes, and prints evaluations, wall times and the speed-up (target: each fit in at most 3 minutes
on the 2-core machine); the system is defined in ``hotelectron/bench/fit.py``. Writes the figures as
JSON (default: benchmarks/results/fit.json), with the load average at the start and the end.
"""

import argparse
import logging
from pathlib import Path

import distributed  # noqa: F401  (imported first: it sets its own log level)

from hotelectron.bench import collisions as bench, fit as bench_fit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "fit.json"))
    parser.add_argument("--rounds", type=int, default=1, help="alternate the serial and the Dask fit N times")
    parser.add_argument("--quick", action="store_true", help="a small problem (a smoke test, no target)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("distributed").setLevel(logging.WARNING)  # its start and stop chatter
    logging.getLogger("hotelectron").setLevel(logging.WARNING)  # a line per steady state
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    result = bench_fit.run_fit_bench(quick=args.quick, rounds=args.rounds, progress=logging.getLogger("bench").info)
    print(bench_fit.format_fit_report(result))
    bench.write_json(result, args.json)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
