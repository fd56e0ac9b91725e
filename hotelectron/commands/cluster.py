"""The Dask cluster of a command (``sweep``, ``fit``): a LocalCluster of single-threaded worker
processes started here (:func:`hotelectron.sweep.local_client`), or an existing cluster at
``--scheduler``."""

from __future__ import annotations

import contextlib
import logging

log = logging.getLogger("hotelectron")

__all__ = ["add_cluster_options", "dask_client", "quiet_dask"]


def add_cluster_options(parser, workers_help: str) -> None:
    """``--scheduler ADDRESS`` and ``--workers N`` on an argparse parser."""
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="connect to this Dask scheduler (e.g. tcp://host:8786) instead of a LocalCluster")
    parser.add_argument("--workers", type=int, metavar="N", help=workers_help)


def quiet_dask() -> None:
    """Dask's scheduler and workers log their start and stop at INFO; only their problems matter.
    (Set after distributed is imported: importing it sets its own level.)"""
    import distributed  # noqa: F401

    logging.getLogger("distributed").setLevel(logging.WARNING)


@contextlib.contextmanager
def _workers_ignore_sigint():
    """Worker processes started inside inherit SIGINT ignored. A terminal's Ctrl-C reaches the whole
    process group: this process stops its work and closes the cluster, while the workers, which
    would otherwise each print a KeyboardInterrupt traceback, wait to be closed."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
    else:
        if workers < 1:
            msg = f"--workers must be at least 1; got {workers}"
            raise ValueError(msg)
        with _workers_ignore_sigint():
            client = local_client(workers)
    log.info("dask scheduler %s with %d workers", client.scheduler.address, len(client.scheduler_info()["workers"]))
    try:
        yield client
    finally:
        client.close()
        if not scheduler:
            client.cluster.close()
