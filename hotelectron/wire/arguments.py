"""Checks of the solvers' numerical arguments (tolerances, steps, temperatures, iteration counts), in one
wording for the time stepper and the steady solver: a NaN tolerance compares false with every error and
ends a solve at its start, so such values are refused where they enter."""

from __future__ import annotations

import math
import numbers

__all__ = ["check_count", "check_number", "finite", "non_negative", "positive"]


def finite(value) -> bool:
    return math.isfinite(value)


def positive(value) -> bool:
    return math.isfinite(value) and value > 0


def non_negative(value) -> bool:
    return math.isfinite(value) and value >= 0


def check_number(name: str, value, allowed: str, ok=positive) -> None:
    """Refuse ``value`` unless a real number (not bool) for which ``ok`` holds; ``allowed`` says what is."""
    if isinstance(value, bool) or not (isinstance(value, numbers.Real) and ok(value)):
        msg = f"{name} must be {allowed}; got {value!r}"
        raise ValueError(msg)


def check_count(name: str, value) -> None:
    """Refuse ``value`` unless an integer >= 1 (iterations, steps, Krylov vectors)."""
    if isinstance(value, bool) or not (isinstance(value, numbers.Integral) and value >= 1):
        msg = f"{name} must be an integer >= 1; got {value!r}"
        raise ValueError(msg)
