"""Command line entry point: ``hotelectron <command> ...``.

Each command group is a module of this package with ``add_parser(subparsers)``; its commands are
functions ``cmd_<name>(args) -> int`` that import the layers below only when they run. The library
itself configures no logging; this does.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .. import __version__
from ..io.errors import WriteError
from . import bench, fit, info, probe, run, sweep, transport

log = logging.getLogger("hotelectron")

GROUPS = (info, run, sweep, transport, probe, fit, bench)
#: Exit status when the output's reader went away: 128 + SIGPIPE, what a shell reports for a tool it stopped.
BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotelectron",
        description="Hot-electron energy relaxation in diffusive wires with magnetic-impurity pairs.",
    )
    parser.add_argument("--version", action="version", version=f"hotelectron {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for group in GROUPS:
        group.add_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        status = args.func(args)
        sys.stdout.flush()  # here, where a reader that went away is caught, not at the interpreter's exit
        return status
    except BrokenPipeError:  # the reader stopped (`hotelectron show FILE | head`): quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the flush at exit does not fail again
        return BROKEN_PIPE
    except KeyboardInterrupt:
        log.error("interrupted; what was written is kept (a file being written is marked failed, or left "
                  "running when its worker was stopped) and --resume continues it")
        return 130
    except WriteError as exc:  # a full disk or an I/O error: the file says failed (if it still could)
        log.error("%s", exc)
        return 3
    except (RuntimeError, FloatingPointError) as exc:  # numerical trouble: the file says failed
        log.error("numerical failure: %s", exc)
        return 3
    except (ValueError, FileNotFoundError, KeyError) as exc:
        log.error("%s", exc)
        return 2
    except OSError as exc:  # a file that cannot be read (or a place that cannot be written)
        log.error("%s", " ".join(str(exc).split()))
        return 2


if __name__ == "__main__":
    sys.exit(main())
