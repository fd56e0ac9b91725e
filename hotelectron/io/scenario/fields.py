"""Readers for the values of a scenario file, each refusing bad input with a message naming the key.

Every reader takes the raw TOML value and the key's display name (``"[wire] length"``) and returns a
plain float, int or str. Errors are ``ValueError`` messages of the form
``"[section] key = value: why; expected what"``.
"""

from __future__ import annotations

import math
import re
import tokenize

import pint

from ... import units
from ...units import BOLTZMANN_J_PER_K, ELEMENTARY_CHARGE_C, registry

__all__ = [
    "check_keys",
    "choice",
    "energy_E0",
    "energy_J",
    "fail",
    "integer",
    "number",
    "quantity",
    "si_quantity",
    "tau_D_multiple",
    "temperature_K",
    "temperature_or_energy_J",
]

# a number as text, nan and inf too: in "nan tau_D" or "inf E0" they are refused as numbers rather than read
# as a quantity of the unknown unit 'tau_D' or 'E0'
_NUMBER_TEXT = r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|(?i:inf|nan))"
_NUMBER = re.compile(r"\s*" + _NUMBER_TEXT)
_TAU_D = re.compile(rf"^\s*({_NUMBER_TEXT})\s*tau_D\s*$")
_E0 = re.compile(rf"^\s*({_NUMBER_TEXT})\s*E0\s*$")

# pint's expression parser reports malformed unit text with several exception types, all meaning
# "this is not a unit" (the same list as in hotelectron.units).
_PINT_ERRORS = (pint.PintError, ValueError, TypeError, AttributeError, SyntaxError, AssertionError, KeyError,
                tokenize.TokenError)


def parse_quantity(text, expected, name, **kwargs) -> float:
    """:func:`hotelectron.units.parse_quantity`, with pint's tokenizer errors (``"1 (um"``) as ValueError."""
    try:
        return units.parse_quantity(text, expected, name, **kwargs)
    except tokenize.TokenError:
        fail(name, text, "cannot read the unit (unbalanced brackets)", f"a {expected} with its unit")


def parse_temperature_K(text, name, **kwargs) -> float:
    """:func:`hotelectron.units.parse_temperature_K`, with pint's tokenizer errors as ValueError."""
    try:
        return units.parse_temperature_K(text, name, **kwargs)
    except tokenize.TokenError:
        fail(name, text, "cannot read the unit (unbalanced brackets)", "a temperature with its unit")


def fail(name, value, why, allowed):
    """Raise the package's standard message: ``name = value: why; expected allowed``."""
    msg = f"{name} = {value!r}: {why}; expected {allowed}"
    raise ValueError(msg)


def check_keys(table, section: str, allowed) -> dict:
    """The section as a dict after refusing a non-table and keys that are not in ``allowed`` (typos)."""
    if not isinstance(table, dict):
        msg = f"[{section}] must be a table (a [{section}] header followed by key = value lines); got {table!r}"
        raise ValueError(msg)
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ValueError(unknown_keys_message(section, unknown, allowed))
    return table


def unknown_keys_message(section: str, unknown, allowed) -> str:
    """``[section] key: unknown key; allowed keys in [section]: ...`` for the ``unknown`` keys."""
    return (f"[{section}] {unknown[0]}: unknown key"
            + (f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else "")
            + (f"; allowed keys in [{section}]: {', '.join(allowed)}" if allowed else f"; [{section}] takes no keys"))


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value, name, *, lo=None, hi=None, lo_open=False, hi_open=False, allowed=None) -> float:
    """A finite plain number (TOML int or float) in ``[lo, hi]`` (open ends with ``lo_open``, ``hi_open``)."""
    bounds = []
    if lo is not None:
        bounds.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        bounds.append(f"{'<' if hi_open else '<='} {hi:g}")
    allowed = allowed or ("a plain number" + (" " + " and ".join(bounds) if bounds else ""))
    if not _is_number(value):
        fail(name, value, "not a plain number (write it without quotes and without a unit)", allowed)
    value = float(value)
    if not math.isfinite(value):
        fail(name, value, "the value is not finite", allowed)
    if lo is not None and (value < lo or (lo_open and value == lo)):
        fail(name, value, "out of range", allowed)
    if hi is not None and (value > hi or (hi_open and value == hi)):
        fail(name, value, "out of range", allowed)
    return value


def integer(value, name, *, lo, hi, odd=False) -> int:
    """A TOML integer in ``[lo, hi]``, odd if asked."""
    allowed = f"an {'odd ' if odd else ''}integer from {lo} to {hi}"
    if not (isinstance(value, int) and not isinstance(value, bool)):
        fail(name, value, "not an integer", allowed)
    if not lo <= value <= hi:
        fail(name, value, "out of range", allowed)
    if odd and value % 2 == 0:
        fail(name, value, "not odd", allowed)
    return value


def choice(value, name, options) -> str:
    """One of the strings ``options``."""
    allowed = "one of " + ", ".join(repr(o) for o in options)
    if not isinstance(value, str) or value not in options:
        fail(name, value, "not a known choice", allowed)
    return value


def quantity(value, expected, name, *, unit=None, positive=True) -> float:
    """:func:`hotelectron.units.parse_quantity` for a string with its unit (a TOML number is refused)."""
    if _is_number(value) and expected != "dimensionless":
        example = units.DIMENSIONS[expected][1].split(",")[0] if expected in units.DIMENSIONS else "5 um"
        fail(name, value, f"the unit is missing (write the quantity as a string, e.g. \"{example}\")",
             f"a {expected.replace('_', ' ')} with its unit")
    return parse_quantity(value, expected, name, unit=unit, positive=positive)


def _hint(match, unit_text, unit) -> str:
    """Another upper/lower-case spelling of the unit with the expected dimension (``units.unit_case_hint``)."""
    return units.unit_case_hint(match.group(0).strip(), unit_text, registry().Quantity(1.0, unit).dimensionality)


def si_quantity(value, name, unit, example: str, *, positive=True, what=None) -> float:
    """A number with a unit of the dimension of ``unit`` (a pint unit or its text), returned in ``unit``.

    For dimensions that :data:`hotelectron.units.DIMENSIONS` does not list (resistance, density of
    states, velocity, densities, the electron-electron kappa).
    """
    reg = registry()
    what = what or f"a quantity convertible to {unit}"
    allowed = f"{what}, e.g. {example}" + (" (> 0)" if positive else "")
    if not isinstance(value, str):
        fail(name, value, "not a string with a unit", allowed)
    match = _NUMBER.match(value)
    if match is None:
        fail(name, value, "it does not start with a number", allowed)
    magnitude, unit_text = float(match.group(0)), value[match.end() :].strip()
    if not unit_text:
        fail(name, value, "the unit is missing", allowed)
    problem = units.unit_text_problem(unit_text)
    if problem is not None:
        fail(name, value, f"cannot read {unit_text!r} as a unit: {problem}", allowed)
    try:
        parsed = reg.Quantity(magnitude, reg.parse_units(unit_text))
    except pint.UndefinedUnitError as exc:
        fail(name, value, f"unknown unit ({exc}){_hint(match, unit_text, unit)}", allowed)
    except _PINT_ERRORS as exc:
        fail(name, value, f"cannot read {unit_text!r} as a unit ({type(exc).__name__})", allowed)
    try:
        result = float(parsed.to(unit).magnitude)
    except pint.DimensionalityError:
        fail(name, value, f"has dimension {parsed.dimensionality}, not {reg.Quantity(1.0, unit).dimensionality}"
             f"{_hint(match, unit_text, unit)}", allowed)
    except pint.errors.OffsetUnitCalculusError:
        fail(name, value, "offset units are not accepted", allowed)
    if not math.isfinite(result):
        fail(name, value, "the value is not finite", allowed)
    if positive and not result > 0:
        fail(name, value, "the value must be positive", allowed)
    return result


def energy_J(value, name, *, positive=False) -> float:
    """An energy in joules from a voltage (``"0.15 mV"``, times e) or an energy (``"0.15 meV"``)."""
    allowed = "a voltage (e.g. \"0.15 mV\", taken times e) or an energy (e.g. \"0.15 meV\")" + (" > 0" if positive else "")
    if not isinstance(value, str):
        fail(name, value, "not a string with a unit", allowed)
    try:
        return parse_quantity(value, "voltage", name, positive=positive) * ELEMENTARY_CHARGE_C
    except ValueError as voltage_error:
        try:
            return parse_quantity(value, "energy", name, positive=positive)
        except ValueError:
            fail(name, value, str(voltage_error).split(": ", 1)[-1].split("; expected")[0], allowed)


def temperature_K(value, name) -> float:
    """A positive temperature in kelvin from ``"25 mK"`` or an energy ``"2 ueV"`` (divided by k_B)."""
    if not isinstance(value, str):
        fail(name, value, "not a string with a unit", "a temperature (e.g. \"25 mK\") or an energy (e.g. \"2 ueV\") > 0")
    return parse_temperature_K(value, name, positive=True)


def temperature_or_energy_J(value, name) -> float:
    """An energy in joules from a temperature (times k_B), an energy or a voltage (times e); > 0."""
    try:
        return temperature_K(value, name) * BOLTZMANN_J_PER_K
    except ValueError as exc:
        try:
            return energy_J(value, name, positive=True)
        except ValueError:
            raise exc from None


def tau_D_multiple(value, name, tau_D_s, *, what="time") -> float:
    """A time in units of tau_D from ``"2 tau_D"`` or a physical time ``"1 ns"`` (divided by tau_D).

    With ``tau_D_s = None`` (dimensionless scenarios) physical times are refused and a plain number
    is read in tau_D.
    """
    allowed = f'a {what} > 0 as "2 tau_D"' + (' or "1 ns"' if tau_D_s is not None else " or a plain number (in tau_D)")
    if _is_number(value) and tau_D_s is None:
        result = float(value)
    elif _is_number(value):
        fail(name, value, "the unit is missing", allowed)
    elif not isinstance(value, str):
        fail(name, value, "not a string", allowed)
    elif (match := _TAU_D.match(value)) is not None:
        result = float(match.group(1))
    elif tau_D_s is None:
        fail(name, value, "a dimensionless scenario has no physical time scale", allowed)
    else:
        result = parse_quantity(value, "time", name, positive=True) / tau_D_s
    if not (math.isfinite(result) and result > 0):
        fail(name, value, "the value must be positive and finite", allowed)
    return result


def energy_E0(value, name, E0_J, *, positive=False) -> float:
    """An energy in units of E0 from ``"0.2 E0"``, a physical energy or voltage, or (dimensionless) a plain number."""
    allowed = '"0.2 E0"' + (' or an energy/voltage such as "0.2 meV"' if E0_J is not None else " or a plain number (in E0)")
    if _is_number(value) and E0_J is None:
        result = float(value)
    elif isinstance(value, str) and (match := _E0.match(value)) is not None:
        result = float(match.group(1))
    elif E0_J is None or not isinstance(value, str):
        fail(name, value, "not an energy in E0", allowed)
    else:
        result = energy_J(value, name) / E0_J
    if not math.isfinite(result) or (positive and not result > 0):
        fail(name, value, "the value must be finite" + (" and positive" if positive else ""), allowed)
    return result
