"""Holding a Ctrl-C (SIGINT) while something must be completed: the outputs of a fit (written entirely
or not at all), the shutdown of a Dask cluster. A signal that arrives meanwhile is noted and logged
once the block is done, instead of breaking it off half way."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

log = logging.getLogger("hotelectron")

__all__ = ["interrupts_held", "sigint_handled_by"]


@contextlib.contextmanager
def sigint_handled_by(handler):
    """SIGINT goes to ``handler`` (a function, or ``signal.SIG_IGN``) in the block, then to what it went
    to before. Only the main thread can set a handler; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def interrupts_held(what: str):
    """Hold SIGINT until the block is done, then log that it came while ``what`` (``"the outputs were
    written"``). Only the main thread receives signals; elsewhere nothing is held."""
    received = []
    with sigint_handled_by(lambda signum, frame: received.append(signum)):
        yield
    if received:
        log.warning("Ctrl-C came while %s: held until that was complete", what)
