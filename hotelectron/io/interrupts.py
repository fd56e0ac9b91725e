"""SIGINT (Ctrl-C) handlers set for a block, and a Ctrl-C that Python drops raised again at a safe point.

Python runs a signal's handler at the next bytecode of the main thread. When a long C call returns
(an HDF5 write, where a run spends much of its time) that next bytecode is often a garbage-collection
callback (h5py's identifier registry is a ``WeakValueDictionary``); a ``KeyboardInterrupt`` raised
there is printed as "Exception ignored in ..." and discarded, and the run goes on as if no Ctrl-C had
come (about half of the Ctrl-Cs sent to a run of the default scenario were lost so). :func:`sigint_checkpoint`
notes every SIGINT besides raising it, so that a loop can raise it again at a safe point, and keeps
Python's report of the dropped one off the terminal (it read as a crash above the run's own message).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

__all__ = ["as_interrupt", "sigint_checkpoint", "sigint_handled_by"]


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


def _no_check() -> None:
    return None


@contextlib.contextmanager
def sigint_checkpoint():
    """Yield ``check()``, which raises ``KeyboardInterrupt`` if a SIGINT came in the block.

    SIGINT raises ``KeyboardInterrupt`` at once as usual; ``check`` repeats it for one that was lost.
    A lost one is not reported as "Exception ignored" (``sys.unraisablehook``): ``check`` raises it;
    every other unraisable exception goes to the hook as before.
    Only where SIGINT has Python's default handler (in the main thread): a handler someone installed
    (holding Ctrl-C while outputs are written, ignoring it while a cluster closes) is left alone, and
    ``check`` does nothing there.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield _no_check
        return
    received = []

    def handler(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    def check() -> None:
        if received:
            raise KeyboardInterrupt

    previous_hook = sys.unraisablehook

    def unraisable(report) -> None:
        if not (received and issubclass(report.exc_type, KeyboardInterrupt)):
            previous_hook(report)

    sys.unraisablehook = unraisable
    try:
        with sigint_handled_by(handler):
            yield check
    finally:
        sys.unraisablehook = previous_hook


def as_interrupt(exc: BaseException) -> BaseException:
    """``exc``, or the ``KeyboardInterrupt`` behind it: a Ctrl-C that arrives while a compiled (numba)
    function returns surfaces as "SystemError: ... returned a result with an exception set", caused by
    the KeyboardInterrupt; it is an interrupt, not a failure."""
    if isinstance(exc, SystemError):
        for behind in (exc.__cause__, exc.__context__):
            if isinstance(behind, KeyboardInterrupt):
                return behind
    return exc
