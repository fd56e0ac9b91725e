"""Benchmark of the collision engine; the same run as ``hotelectron bench``.

    python benchmarks/bench_collisions.py [--json PATH] [--quick]

Prints the table (both paths of each mechanism for n_energy = 256 ... 8192 at n_x = 64, fitted
scaling exponents, direct/FFT ratios, the full collision right-hand side at (128, 2048), compile
time and cache behaviour) with PASS/MISS against the targets, and writes the figures as JSON
(default: benchmarks/results/collisions.json).
"""

import argparse
import logging
from pathlib import Path

from hotelectron.bench import collisions as bench


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "collisions.json"))
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke test)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    config = bench.BenchConfig.quick_config() if args.quick else bench.BenchConfig()
    result = bench.run(config, progress=logging.getLogger("bench").info)
    print(bench.format_report(result))
    bench.write_json(result, args.json)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
