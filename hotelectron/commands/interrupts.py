"""Holding a Ctrl-C (SIGINT) while something must be completed: the outputs of a fit (written entirely
or not at all), the shutdown of a Dask cluster. A signal that arrives meanwhile is noted and logged
once the block is done, instead of breaking it off half way."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

log = logging.getLogger("hotelectron")

__all__ = ["interrupts_held"]


@contextlib.contextmanager
def interrupts_held(what: str):
    """Hold SIGINT until the block is done, then log that it came while ``what`` (``"the outputs were
    written"``). Only the main thread receives signals; elsewhere nothing is held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        log.warning("Ctrl-C came while %s: held until that was complete", what)
