"""The SIGINT checkpoint: a Ctrl-C that Python drops in a garbage-collection callback is raised again,
without Python's report of the drop; other unraisable exceptions are reported as before."""

import signal
import sys
import weakref

import pytest

from hotelectron.io.interrupts import sigint_checkpoint


class Garbage:
    pass


def collect_with_callback(callback) -> None:
    obj = Garbage()
    ref = weakref.ref(obj, callback)  # noqa: F841 (kept alive until the object goes)
    del obj


def test_a_dropped_ctrl_c_is_raised_at_the_check_and_not_reported(monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    with pytest.raises(KeyboardInterrupt), sigint_checkpoint() as check:
        collect_with_callback(lambda _: signal.raise_signal(signal.SIGINT))
        check()
    assert reported == []
    assert sys.unraisablehook == reported.append
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_other_exceptions_in_callbacks_are_still_reported(monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def fails(_):
        raise ValueError("in a callback")

    with sigint_checkpoint() as check:
        collect_with_callback(fails)
        check()  # no SIGINT came: nothing to raise
    assert [r.exc_type for r in reported] == [ValueError]


def test_a_keyboard_interrupt_without_a_sigint_is_still_reported(monkeypatch):
    """Only a KeyboardInterrupt that the checkpoint's handler raised (and so will raise again) is held back."""
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def interrupts(_):
        raise KeyboardInterrupt

    with sigint_checkpoint() as check:
        collect_with_callback(interrupts)
        check()
    assert [r.exc_type for r in reported] == [KeyboardInterrupt]
