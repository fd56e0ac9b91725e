"""Holding a Ctrl-C (SIGINT) while something must be completed: the outputs of a fit (written entirely
or not at all), the shutdown of a Dask cluster. A signal that arrives meanwhile is noted and logged
once the block is done, instead of breaking it off half way."""

from __future__ import annotations

import contextlib
import logging

from ..io.interrupts import sigint_handled_by

log = logging.getLogger("hotelectron")

__all__ = ["interrupts_held"]


@contextlib.contextmanager
def interrupts_held(what: str):
    """Hold SIGINT until the block is done, then log that it came while ``what`` (``"the outputs were
    written"``). Only the main thread receives signals; elsewhere nothing is held."""
    received = []
    with sigint_handled_by(lambda signum, frame: received.append(signum)):
        yield
    if received:
        log.warning("Ctrl-C came while %s: held until that was complete", what)
