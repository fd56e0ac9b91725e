"""``hotelectron bench``: the collision engine, the wire solver (``--wire``), a sweep (``--sweep``) or a
fit (``--fit``)."""

from __future__ import annotations

import logging

log = logging.getLogger("hotelectron")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("bench", help="time the collision engine (direct vs FFT, full rhs, compile time)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    p.add_argument("--quick", action="store_true", help="small sizes only (seconds; a smoke test, no targets)")
    p.add_argument("--wire", action="store_true", help="time the wire solver instead: steady state and evolution")
    p.add_argument("--scenario", metavar="SCENARIO.toml",
                   help="with --wire: also evolve every point of this scenario to its steady state and compare")
    p.add_argument("--sweep", action="store_true", help="time 8 sweep points on a 2-worker LocalCluster against serial")
    p.add_argument("--fit", action="store_true",
                   help="time a fit of 4 curves x 200 points, 4 free parameters, serially and on 2 Dask workers")
    p.add_argument("--rounds", type=int, default=1, metavar="N", help="with --fit: alternate the two fits N times (medians)")
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
    if args.json:  # before minutes of timing, not after (a missing folder is refused, as for run -o)
        from ..io.outputs import check_file_output

        check_file_output(args.json, suffix=".json", what="a JSON file")
    if sum(map(bool, (args.sweep, args.wire, args.fit))) > 1:
        log.error("--wire, --sweep and --fit exclude each other: choose one")
        return 2
    if args.rounds < 1 or (args.rounds != 1 and not args.fit):
        log.error("--rounds takes an integer >= 1, with --fit only; got %d", args.rounds)
        return 2
    if args.sweep or args.wire or args.fit:
        if args.sweep or args.fit:
            from .cluster import quiet_dask

            quiet_dask()
        if args.sweep:
            from ..bench.sweep import format_sweep_report as report, run_sweep_bench as run
        elif args.fit:
            from ..bench.fit import format_fit_report as report, run_fit_bench as run
        else:
            from ..bench.wire import format_wire_report as report, run_wire as run
        options = {"scenario": args.scenario} if args.wire and args.scenario else {}
        if args.fit:
            options["rounds"] = args.rounds
        if args.fit:
            from .fit import quiet_steady_solves

            with quiet_steady_solves():
                result = run(quick=args.quick, progress=log.info, **options)
        else:
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
