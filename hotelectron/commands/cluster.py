"""The Dask cluster of a command (``sweep``, ``fit``): a LocalCluster of single-threaded worker
processes started here (:func:`hotelectron.sweep.local_client`), or an existing cluster at
``--scheduler``."""

from __future__ import annotations

import contextlib
import logging
import os

from ..io.interrupts import sigint_handled_by
from .interrupts import interrupts_held

log = logging.getLogger("hotelectron")

__all__ = ["WORKERS_PER_CORE", "add_cluster_options", "check_workers", "dask_client", "quiet_dask"]

#: a LocalCluster of more single-threaded worker processes than this per core only makes them compete
#: for the cores (each holds its own memory and numba caches); a thousand of them hang the machine
WORKERS_PER_CORE = 4


def add_cluster_options(parser, workers_help: str) -> None:
    """``--scheduler ADDRESS`` and ``--workers N`` on an argparse parser."""
    parser.add_argument("--scheduler", metavar="ADDRESS", type=_address,
                        help="connect to this Dask scheduler (e.g. tcp://host:8786) instead of a LocalCluster")
    parser.add_argument("--workers", type=int, metavar="N", help=workers_help)


def _address(text: str) -> str:
    """A --scheduler address; an empty one (``--scheduler=""``) would otherwise start a LocalCluster."""
    import argparse

    if not text.strip():
        msg = "give an address such as tcp://host:8786"
        raise argparse.ArgumentTypeError(msg)
    return text


def check_workers(workers: int | None) -> None:
    """Refuse ``--workers`` below 1 or above ``WORKERS_PER_CORE`` times the cores of this machine."""
    if workers is None:
        return
    cores = os.cpu_count() or 1
    if workers < 1:
        msg = f"--workers must be at least 1; got {workers}"
        raise ValueError(msg)
    if workers > WORKERS_PER_CORE * cores:
        msg = (f"--workers {workers}: at most {WORKERS_PER_CORE * cores} ({WORKERS_PER_CORE} per core, {cores} cores "
               "here); more worker processes only compete for the cores (a cluster elsewhere: --scheduler)")
        raise ValueError(msg)


class _NoAllExit(logging.Filter):
    """Drops asyncio's "Task exception was never retrieved" for distributed's ``AllExit``: when a gather is
    interrupted (Ctrl-C) and its futures cancelled, its waiting tasks end with that internal signal,
    which nobody retrieves once the client closes. It is no error of ours, and the interrupt is reported."""

    def filter(self, record: logging.LogRecord) -> bool:
        from distributed.client import AllExit

        return not (record.exc_info and isinstance(record.exc_info[1], AllExit))


def quiet_dask() -> None:
    """Dask's scheduler and workers log their start and stop at INFO; only their problems matter.
    (Set after distributed is imported: importing it sets its own level.) The noise of an interrupted
    gather is dropped for good: its tasks may be collected after the client has closed."""
    import distributed  # noqa: F401

    logging.getLogger("distributed").setLevel(logging.WARNING)
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(f, _NoAllExit) for f in asyncio_log.filters):
        asyncio_log.addFilter(_NoAllExit())


def _workers_ignore_sigint():
    """Worker processes started inside inherit SIGINT ignored. A terminal's Ctrl-C reaches the whole
    process group: this process stops its work and closes the cluster, while the workers, which
    would otherwise each print a KeyboardInterrupt traceback, wait to be closed."""
    import signal

    return sigint_handled_by(signal.SIG_IGN)


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int):
    """A ``distributed.Client`` connected to ``scheduler``, or to a new LocalCluster of ``workers``
    processes that is closed on exit. A scheduler that does not answer and fewer than one worker are
    ``ValueError``s naming the option."""
    from distributed import Client

    from ..sweep import local_client

    quiet_dask()
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            msg = f"--scheduler {scheduler}: no Dask scheduler answered ({exc})"
            raise ValueError(msg) from None
        except ValueError as exc:  # an address Dask cannot read ("foo": no port; "http://...": no such scheme)
            msg = f"--scheduler {scheduler}: {exc}"
            raise ValueError(msg) from None
    else:
        check_workers(workers)
        with _workers_ignore_sigint():
            client = local_client(workers)
    log.info("dask scheduler %s with %d workers", client.scheduler.address, len(client.scheduler_info()["workers"]))
    try:
        yield client
    finally:
        with interrupts_held("the Dask cluster was closed"):  # a second Ctrl-C must not break the shutdown off
            client.close()
            if not scheduler:
                client.cluster.close()
