"""Physical quantities written the way experimentalists write them: ``"0.3 mV"``, ``"25 mK"``, ``"60 ppm"``.

Strings are parsed with `pint <https://pint.readthedocs.io>`_; everything leaving this module is a plain
``float`` in SI units (kelvin for temperatures) or in a unit the caller names. Errors are ``ValueError``
messages that name the field, the value and what is allowed, since they reach users of scenario files
and of the command line.

Concentrations (``"60 ppm"``, ``"0.006 %"``) are fractions of the atomic density of the host; see
:func:`density_from_fraction`.
"""

from __future__ import annotations

import functools
import math
import re
import tokenize

import pint

__all__ = [
    "BOLTZMANN_J_PER_K",
    "ELECTRON_VOLT_J",
    "HBAR_J_S",
    "ELEMENTARY_CHARGE_C",
    "DIMENSIONS",
    "density_from_fraction",
    "kelvin_to_meV",
    "meV_to_kelvin",
    "parse_quantity",
    "parse_temperature_K",
    "registry",
]

# CODATA 2018 exact values (SI 2019), so that no conversion depends on pint's constant tables.
BOLTZMANN_J_PER_K = 1.380649e-23
ELECTRON_VOLT_J = 1.602176634e-19
ELEMENTARY_CHARGE_C = 1.602176634e-19
HBAR_J_S = 6.62607015e-34 / (2 * math.pi)

#: Dimensions a field may ask for, with the SI unit its value is returned in and examples for messages.
DIMENSIONS = {
    "temperature": ("K", "25 mK, 1.2 K"),
    "energy": ("J", "0.1 meV, 2e-23 J"),
    "voltage": ("V", "0.3 mV"),
    "length": ("m", "5 um, 1.5 micrometer"),
    "diffusion": ("m**2/s", "0.01 m^2/s, 100 cm^2/s"),
    "rate": ("1/s", "1e10 1/s, 6e10 Hz"),
    "time": ("s", "10 ps"),
    "magnetic_field": ("T", "0.5 T, 200 mT"),
    "concentration": ("dimensionless", "60 ppm, 0.006 percent"),
    "dimensionless": ("dimensionless", "0.5"),
}


_NUMBER = re.compile(r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|nan)", re.IGNORECASE)


@functools.cache
def registry() -> pint.UnitRegistry:
    """The package's single unit registry (created on first use, so importing costs nothing)."""
    return pint.UnitRegistry()


def _fail(name, text, allowed, why):
    msg = f"{name} = {text!r}: {why}; expected {allowed}"
    raise ValueError(msg)


def parse_quantity(text, expected: str, name: str, *, unit: str | None = None, positive: bool = False) -> float:
    """Parse ``text`` as a quantity of dimension ``expected`` and return its magnitude as a float.

    Parameters
    ----------
    text : str or float
        ``"0.3 mV"``, ``"25 mK"``, ``"1e10 1/s"``. A bare number is refused (the unit is missing)
        unless ``expected == "dimensionless"``; a concentration needs its unit (``ppm``, ``percent``).
    expected : str
        One of :data:`DIMENSIONS`.
    name : str
        Field name used in error messages.
    unit : str, optional
        Unit of the returned number (default: the SI unit of ``expected``, kelvin for temperatures).
    positive : bool
        Refuse zero and negative values.

    Raises
    ------
    ValueError
        Naming the field, the value and the allowed dimension when the text does not parse, the unit
        is missing, unknown or of the wrong dimension, or the value is not finite (or not positive).
    """
    if expected not in DIMENSIONS:
        msg = f"unknown dimension {expected!r} for {name}; known: {', '.join(DIMENSIONS)}"
        raise ValueError(msg)
    si_unit, examples = DIMENSIONS[expected]
    allowed = f"a {expected.replace('_', ' ')} with its unit, e.g. {examples}"
    reg = registry()
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        _fail(name, text, allowed, "not a string or number")
    if isinstance(text, int | float):
        if expected != "dimensionless":
            _fail(name, text, allowed, "the unit is missing")
        quantity = reg.Quantity(float(text))
    else:
        match = _NUMBER.match(text)
        if match is None:
            _fail(name, text, allowed, "it does not start with a number")
        number, unit_text = float(match.group(0)), text[match.end() :].strip()
        if not unit_text:
            if expected != "dimensionless":
                _fail(name, text, allowed, "the unit is missing")
            quantity = reg.Quantity(number)
        else:
            try:
                quantity = reg.Quantity(number, reg.parse_units(unit_text))
            except pint.UndefinedUnitError as exc:
                _fail(name, text, allowed, f"unknown unit ({exc})")
            # pint's expression parser reports malformed unit text with several exception types
            # (an AssertionError among them), all meaning "this is not a unit".
            except (pint.PintError, ValueError, TypeError, AttributeError, SyntaxError, AssertionError,
                    ArithmeticError, tokenize.TokenError) as exc:
                _fail(name, text, allowed, f"cannot read {unit_text!r} as a unit ({type(exc).__name__})")
            if si_unit == "dimensionless" and [e for _, e in quantity.unit_items()] != [1]:
                # a fraction is written with one unit ("60 ppm"); "60 ppm ppm" would be 6e-11
                _fail(name, text, allowed, f"{unit_text!r} is not a single unit such as ppm or percent")
            if quantity.dimensionality == reg.kelvin.dimensionality and reg.Quantity(0.0, quantity.units).to("K").magnitude != 0:
                _fail(name, text, allowed, "offset temperature scales (degC, degF) are not accepted, use K")
    target = reg.Unit(unit if unit is not None else si_unit)
    try:
        value = float(quantity.to(target).magnitude)
    except pint.DimensionalityError:
        _fail(name, text, allowed, f"has dimension {quantity.dimensionality}, not {expected}")
    except pint.errors.OffsetUnitCalculusError:
        _fail(name, text, allowed, "offset temperature scales (degC, degF) are not accepted, use K")
    if not math.isfinite(value):
        _fail(name, text, allowed, "the value is not finite")
    if positive and not value > 0:
        _fail(name, text, allowed + " (> 0)", "the value must be positive")
    return value


def parse_temperature_K(text, name: str, *, positive: bool = True) -> float:
    """A temperature in kelvin from ``"25 mK"`` or from an energy ``"0.1 meV"`` (divided by k_B)."""
    try:
        return parse_quantity(text, "temperature", name, positive=positive)
    except ValueError as exc:
        try:
            energy = parse_quantity(text, "energy", name, positive=positive)
        except ValueError:
            raise exc from None
        return energy / BOLTZMANN_J_PER_K


def meV_to_kelvin(energy_meV):
    """Temperature ``E / k_B`` in kelvin of an energy in meV (1 meV = 11.6045 K)."""
    return energy_meV * 1e-3 * ELECTRON_VOLT_J / BOLTZMANN_J_PER_K


def kelvin_to_meV(temperature_K):
    """Energy ``k_B T`` in meV of a temperature in kelvin."""
    return temperature_K * BOLTZMANN_J_PER_K / (1e-3 * ELECTRON_VOLT_J)


def density_from_fraction(fraction: float, atomic_density_m3: float) -> float:
    """Impurity density in m^-3 from a concentration (``60 ppm`` -> 6e-5) relative to the host atoms."""
    if not (math.isfinite(fraction) and 0 <= fraction < 1):
        msg = f"concentration must be a fraction in [0, 1) of the atomic density; got {fraction!r}"
        raise ValueError(msg)
    return fraction * atomic_density_m3
