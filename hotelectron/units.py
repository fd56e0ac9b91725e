"""Physical quantities written the way experimentalists write them: ``"0.3 mV"``, ``"25 mK"``, ``"60 ppm"``.

Strings are parsed with `pint <https://pint.readthedocs.io>`_ after a closed grammar has checked the
unit text (:func:`unit_text_problem`), so that pint never evaluates an arbitrary expression; everything leaving this module is a plain
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
    "BOHR_MAGNETON_J_PER_T",
    "ELEMENTARY_CHARGE_C",
    "DIMENSIONS",
    "density_from_fraction",
    "kelvin_to_meV",
    "meV_to_kelvin",
    "parse_quantity",
    "parse_temperature_K",
    "registry",
    "unit_case_hint",
    "unit_text_problem",
    "value_quantity",
]

# CODATA 2018 exact values (SI 2019), so that no conversion depends on pint's constant tables.
BOLTZMANN_J_PER_K = 1.380649e-23
ELECTRON_VOLT_J = 1.602176634e-19
ELEMENTARY_CHARGE_C = 1.602176634e-19
HBAR_J_S = 6.62607015e-34 / (2 * math.pi)
#: CODATA 2018 (measured, not exact): g mu_B B = 0.1158 meV for g = 2 and B = 1 T.
BOHR_MAGNETON_J_PER_T = 9.2740100783e-24

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


#: What unit text may hold, for error messages.
UNIT_GRAMMAR = ("unit symbols joined by *, / or spaces, powers such as m^2 or meV^0.5 (|power| <= {max_power}), "
                "one level of brackets as in 1/(J m^3)")
MAX_UNIT_POWER = 10
MAX_UNIT_FACTORS = 10
MAX_UNIT_CHARS = 100

# One token of unit text; anything the scanner cannot match (a '√', a ',', a '°', a non-breaking
# space) is refused. '**' comes before '*' so that it is read as a power.
_UNIT_TOKEN = re.compile(
    r"(?P<space>[ \t]+)|(?P<power>\*\*|\^)|(?P<op>[*/])|(?P<open>\()|(?P<close>\))"
    r"|(?P<number>[+-]?[0-9]+(?:\.[0-9]+)?)|(?P<name>[A-Za-z_\u00b5\u03bc\u03a9][A-Za-z0-9_\u00b5\u03bc\u03a9]*|%)"
)


def _unit_tokens(text):
    tokens, position = [], 0
    while position < len(text):
        match = _UNIT_TOKEN.match(text, position)
        if match is None:
            return None, position
        tokens.append((match.lastgroup, match.group(0), position))
        position = match.end()
    return tokens, position


def unit_text_problem(text: str) -> str | None:
    """Why ``text`` is not acceptable unit text, or None when it is.

    The grammar is closed and checked in one pass over at most :data:`MAX_UNIT_CHARS` characters:
    symbols made of ASCII letters, digits, ``_``, ``µ``/``μ`` and ``Ω`` (or ``%``), joined by ``*``,
    ``/`` or spaces (pint's implicit product, read left to right like ``*``); each symbol may carry one
    power ``^p`` or ``**p`` with ``p`` an integer or decimal (optionally in brackets) and
    ``|p| <= MAX_UNIT_POWER``; one level of brackets groups symbols (``1/(J m^3)``); the digit ``1``
    may stand only before a ``/`` at the start of the text or of a bracket. Numbers anywhere else,
    powers of powers or of brackets, nested brackets and any other character are refused, so pint
    never computes anything larger than a product of at most :data:`MAX_UNIT_FACTORS` powers.
    """
    grammar = UNIT_GRAMMAR.format(max_power=MAX_UNIT_POWER)
    if len(text) > MAX_UNIT_CHARS:
        return f"the unit is longer than {MAX_UNIT_CHARS} characters"
    tokens, stop = _unit_tokens(text)
    if tokens is None:
        return f"{text[stop]!r} (at character {stop + 1} of the unit) is not allowed; a unit holds {grammar}"
    tokens = [t for t in tokens if t[0] != "space"] if tokens else []
    # Implicit products need the spaces: a symbol directly after a symbol cannot occur (the scanner
    # reads 'ms' as one name), so dropping them loses nothing but the product they stand for.
    depth, names, expect_operand, i = 0, 0, True, 0
    while i < len(tokens):
        kind, word, _ = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else (None, "", 0)
        if kind == "name":  # after an operand: an implicit product
            names += 1
            i += 1
            if nxt[0] == "power":
                if i + 1 < len(tokens) and tokens[i + 1][0] == "number":
                    power, i = tokens[i + 1][1], i + 2
                elif (i + 3 < len(tokens) and tokens[i + 1][0] == "open" and tokens[i + 2][0] == "number"
                      and tokens[i + 3][0] == "close"):
                    power, i = tokens[i + 2][1], i + 4
                else:
                    return f"the power of {word!r} must be a plain number; a unit holds {grammar}"
                if abs(float(power)) > MAX_UNIT_POWER:
                    return f"the power {power} of {word!r} is beyond +-{MAX_UNIT_POWER}; a unit holds {grammar}"
            expect_operand = False
        elif kind == "number" and expect_operand:
            if word != "1" or nxt[1] != "/" or (i > 0 and tokens[i - 1][0] != "open"):
                return f"the number {word!r} inside the unit is not allowed; a unit holds {grammar}"
            i, expect_operand = i + 1, False
        elif kind == "open":  # after an operand: an implicit product with the bracket
            if depth:
                return f"brackets inside brackets are not allowed; a unit holds {grammar}"
            depth, i = 1, i + 1
        elif kind == "close" and not expect_operand and depth:
            if nxt[0] == "power":
                return f"a power of a bracket is not allowed; a unit holds {grammar}"
            depth, i = 0, i + 1
        elif kind == "op" and not expect_operand:
            i, expect_operand = i + 1, True
        else:
            return f"{word!r} at character {tokens[i][2] + 1} of the unit is not allowed here; a unit holds {grammar}"
        if names > MAX_UNIT_FACTORS:
            return f"the unit has more than {MAX_UNIT_FACTORS} symbols"
    if expect_operand:
        return f"the unit ends with an operator or is empty; a unit holds {grammar}"
    if depth:
        return f"a bracket is not closed; a unit holds {grammar}"
    return None


#: Symbols up to this length have every upper/lower-case spelling tried by :func:`unit_case_hint` (2^n).
MAX_CASE_HINT_CHARS = 8
#: What pint's expression parser raises for unit text it cannot read (an AssertionError among them).
UNREADABLE_UNIT = (pint.PintError, ValueError, TypeError, AttributeError, SyntaxError, AssertionError, ArithmeticError,
                   tokenize.TokenError)


def unit_case_hint(number_text: str, unit_text: str, dimensionality) -> str:
    """A hint for unit text of the wrong dimension or unknown to pint, where another spelling of one
    symbol in upper and lower case has ``dimensionality``: the fewest changed letters win, so "mk"
    (pint: milli-Boltzmann constant) gives "mK", not "MK". Returns ``""`` when no spelling fits.

    ``"; 'mk' is read as milli-boltzmann_constant: did you mean '50 mK' ('mK' in place of 'mk')?"``
    """
    reg = registry()
    tokens = [m for m in re.finditer(r"[A-Za-z]+", unit_text) if len(m.group(0)) <= MAX_CASE_HINT_CHARS]
    best = None
    for m in tokens:
        word = m.group(0)
        for flips in range(1, 2 ** len(word)):
            spelled = "".join(c.swapcase() if flips >> i & 1 else c for i, c in enumerate(word))
            changes = bin(flips).count("1")
            if spelled == word or (best is not None and changes >= best[0]):
                continue
            candidate = unit_text[:m.start()] + spelled + unit_text[m.end():]
            try:
                fits = reg.Quantity(1.0, reg.parse_units(candidate)).dimensionality == dimensionality
            except UNREADABLE_UNIT:  # a spelling pint cannot read is not a candidate
                continue
            if fits:
                best = (changes, word, spelled, candidate)
    if best is None:
        return ""
    _, word, spelled, candidate = best
    try:
        prefix, name, _ = reg.parse_unit_name(word)[0]
        read = f"{word!r} is read as {prefix + '-' if prefix else ''}{name}: "
    except (IndexError, ValueError):  # not a unit at all
        read = f"{word!r} is not a unit: "
    return f"; {read}did you mean '{number_text} {candidate}' ({spelled!r} in place of {word!r})?"


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
    what = expected.replace("_", " ")
    allowed = f"{'an' if what[0] in 'aeiou' else 'a'} {what} with its unit, e.g. {examples}"
    reg = registry()
    hint = str  # no hint for a bare number: ``hint()`` is ""
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
            problem = unit_text_problem(unit_text)
            if problem is not None:
                _fail(name, text, allowed, f"cannot read {unit_text!r} as a unit: {problem}")
            target_dimension = reg.Quantity(1.0, reg.Unit(unit if unit is not None else si_unit)).dimensionality
            hint = functools.partial(unit_case_hint, match.group(0).strip(), unit_text, target_dimension)
            try:
                quantity = reg.Quantity(number, reg.parse_units(unit_text))
            except pint.UndefinedUnitError as exc:
                _fail(name, text, allowed, f"unknown unit ({exc}){hint()}")
            except UNREADABLE_UNIT as exc:
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
        _fail(name, text, allowed, f"has dimension {quantity.dimensionality}, not {expected}{hint()}")
    except pint.errors.OffsetUnitCalculusError:
        _fail(name, text, allowed, "offset temperature scales (degC, degF) are not accepted, use K")
    if not math.isfinite(value):
        _fail(name, text, allowed, "the value is not finite")
    if positive and not value > 0:
        _fail(name, text, allowed + " (> 0)", "the value must be positive")
    return value


def value_quantity(text):
    """``"0.1 mV"`` as a pint quantity; None for anything else (a plain word such as ``"Au"``): for
    telling values apart or ordering them (sweep axes), not for reading an input (``parse_quantity``)."""
    match = _NUMBER.match(text) if isinstance(text, str) else None
    if match is None or not text[match.end():].strip() or unit_text_problem(text[match.end():].strip()):
        return None
    try:
        return registry().Quantity(text)
    except (pint.PintError, ValueError, TypeError, AttributeError, SyntaxError, AssertionError, ArithmeticError):
        return None


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
