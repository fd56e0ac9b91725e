"""Command line: ``hotelectron <command> ...``.

Each command is a function ``cmd_<name>(args) -> int`` registered in ``_build_parser``; the library
itself configures no logging, the command line does.
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys

from . import __version__

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
    return parser


def main(argv=None) -> int:
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
