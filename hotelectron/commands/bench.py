"""``hotelectron bench``: the collision engine, the wire solver (``--wire``) or a sweep (``--sweep``)."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("hotelectron")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("bench", help="time the collision engine (direct vs FFT, full rhs, compile time)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    p.add_argument("--quick", action="store_true", help="small sizes only (seconds; a smoke test, no targets)")
    p.add_argument("--wire", action="store_true", help="time the wire solver instead: steady state and evolution")
    p.add_argument("--scenario", metavar="SCENARIO.toml",
                   help="with --wire: also evolve every point of this scenario to its steady state and compare")
    p.add_argument("--sweep", action="store_true", help="time 8 sweep points on a 2-worker LocalCluster against serial")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    """Benchmark the collision engine: both paths of each mechanism, the full rhs, compile time.

    Prints the table and PASS/MISS against the targets; the exit status does not depend on them
    (timings belong to the machine, not to the code).
    """
    from ..bench import collisions

    if args.scenario and not args.wire:
        log.error("--scenario needs --wire")
        return 2
    if args.json:  # before minutes of timing, not after
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    if args.sweep or args.wire:
        if args.sweep:
            from ..bench.sweep import format_sweep_report as report, run_sweep_bench as run
            from .cluster import quiet_dask

            quiet_dask()
        else:
            from ..bench.wire import format_wire_report as report, run_wire as run
        options = {"scenario": args.scenario} if args.wire and args.scenario else {}
        result = run(quick=args.quick, progress=log.info, **options)
        print(report(result))
    else:
        config = collisions.BenchConfig.quick_config() if args.quick else collisions.BenchConfig()
        result = collisions.run(config, progress=log.info)
        print(collisions.format_report(result))
    if args.json:
        collisions.write_json(result, args.json)
        log.info("wrote %s", args.json)
    return 0
