"""Command line: ``hotelectron <command> ...``.

Each command is a function ``cmd_<name>(args) -> int`` registered in ``_build_parser``; the library
itself configures no logging, the command line does.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
from pathlib import Path

from . import __version__
from .transport_cli import add_parser as add_transport_parser

log = logging.getLogger("hotelectron")


def cmd_info(args) -> int:
    """Print the versions and the numba threading set-up."""
    import h5py
    import numba
    import numpy
    import scipy

    from ._numba import initialise_threading

    threads = initialise_threading()
    rows = [
        ("hotelectron", __version__),
        ("python", platform.python_version()),
        ("numpy", numpy.__version__),
        ("scipy", scipy.__version__),
        ("numba", numba.__version__),
        ("h5py", h5py.__version__),
        ("numba threading layer", threads["threading_layer"]),
        ("numba threads", str(threads["num_threads"])),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


def cmd_bench(args) -> int:
    """Benchmark the collision engine: both paths of each mechanism, the full rhs, compile time.

    Prints the table and PASS/MISS against the targets; the exit status does not depend on them
    (timings belong to the machine, not to the code).
    """
    from . import bench

    if args.wire:
        from . import bench_wire

        result = bench_wire.run_wire(quick=args.quick, progress=log.info)
        print(bench_wire.format_wire_report(result))
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            bench.write_json(result, args.json)
        return 0
    if args.json:  # before minutes of timing, not after
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    config = bench.BenchConfig.quick_config() if args.quick else bench.BenchConfig()
    result = bench.run(config, progress=log.info)
    print(bench.format_report(result))
    if args.json:
        bench.write_json(result, args.json)
        log.info("wrote %s", args.json)
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotelectron",
        description="Hot-electron energy relaxation in diffusive wires with magnetic-impurity pairs.",
    )
    parser.add_argument("--version", action="version", version=f"hotelectron {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("info", help="versions of the package and its numerical libraries")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("bench", help="time the collision engine (direct vs FFT, full rhs, compile time)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    p.add_argument("--quick", action="store_true", help="small sizes only (seconds; a smoke test, no targets)")
    p.add_argument("--wire", action="store_true", help="time the wire solver instead: steady state and evolution")
    p.set_defaults(func=cmd_bench)

    add_transport_parser(sub)
    return parser


def main(argv=None) -> int:
    # OpenMP threads that spin while they wait lose whole scheduler ticks at every parallel region
    # when another process shares the cores; sleeping threads cost little on an idle machine.
    # Must be set before numba starts its threads; an explicit setting of the user wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        log.error("%s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
