"""The magnetic field of a scenario: ``[field] B`` and ``g`` (or ``[dimensionless] zeeman``), and the rule
that puts its Zeeman energy on the energy grid.

Modelling assumption (SPEC section 9): the field acts on the impurity spins only. Their Zeeman energy
``Delta_Z = g mu_B B`` (0.1158 meV per tesla for g = 2) is exchanged with the orbital energy of an
electron in a spin flip; the electron's own Zeeman energy is neglected (strong spin-orbit scattering
keeps f spin independent). Without magnetic impurities a field therefore changes nothing.

Whole steps. Every energy that the impurities exchange must be a whole number of energy steps (SPEC
section 6), so ``Delta_Z`` is too. The bias needs no rounding (it is the energy unit; a grid whose
step divides it is chosen), but the field is a second, independent energy: in general no uniform grid
holds both exactly. The loader therefore rounds ``Delta_Z`` to the nearest whole number of steps when
that changes it by at most :data:`ZEEMAN_RTOL` (0.5 %, below the uncertainty of impurity g factors
and of a magnet's calibration). A given ``[grid] n_energy`` on which the rounding would change
``Delta_Z`` by more is refused, naming the field key, with a valid ``n_energy`` and the nearest field
that fits; without ``n_energy`` the loader picks the smallest valid grid (as for the bias). The
Zeeman energy that runs is reported next to the given one (``zeeman_run_meV``, ``field_run_T``).
A Zeeman energy of at most half an energy step cannot be put on the grid: it is refused with the fields
that can (0, or at least one step) rather than rounded to no field. A field in a refusal's
suggestion is rounded inward (a largest field down, a smallest one up), so that it is accepted.

The field's direction does not matter (only the Zeeman energy |Delta_Z| enters): a negative ``B``
(or ``zeeman``) is a field in the other direction and runs as ``|B|``. ``B`` takes any unit of magnetic
flux density that pint knows (``"0.5 T"``, ``"500 mT"``) and the Gaussian units of a field: the gauss
(``"5000 G"``, ``"5 kG"``, ``"1 gauss"``: 1 G = 1e-4 T) and the oersted of the field a magnet is rated
for (1 Oe, i.e. mu_0 H = 1e-4 T). pint defines them in the Gaussian system, where a field has another
dimension than in SI, so they are converted here explicitly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

import numpy as np

from ...units import BOHR_MAGNETON_J_PER_T, ELECTRON_VOLT_J
from . import fields as fl

__all__ = ["FIELD_KEYS", "ZEEMAN_RTOL", "Field", "check_width", "dimensionless_field", "field_section", "field_tesla",
           "fits", "refuse_off_grid", "zeeman_steps"]

FIELD_KEYS = ("B", "g")
G_DEFAULT = 2.0
#: Impurity g factors lie between about 1 and 8 (rare earths); values outside [G_MIN, G_MAX] are typing errors.
G_MIN = 0.1
G_MAX = 20.0
#: 1 gauss in tesla (the gauss of the Gaussian system, converted here: pint gives it another dimension).
GAUSS_T = 1e-4
_ROUNDING = {"nearest": ROUND_HALF_EVEN, "down": ROUND_FLOOR, "up": ROUND_CEILING}
#: At most this relative change of Delta_Z when it is rounded to whole energy steps.
ZEEMAN_RTOL = 5e-3


def six_digits(value: float, rounding: str = "nearest") -> str:
    """``value`` with 6 significant digits, rounded to the nearest, ``"down"`` or ``"up"`` (so that a
    suggested bound lies inside the range it bounds)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    exact = Decimal(value)
    rounded = exact.quantize(Decimal(1).scaleb(exact.adjusted() - 5), rounding=_ROUNDING[rounding])
    return f"{float(rounded):.6g}"


@dataclass(frozen=True)
class Field:
    """A field as the scenario gives it: ``zeeman`` (Delta_Z in E0, not yet rounded) and what to name.

    ``key`` and ``value`` name the scenario entry that sets it (``"[field] B"``, ``"0.5 T"``); ``g``
    and ``energy_unit_J`` (E0) are None in a dimensionless scenario.
    """

    zeeman: float
    key: str
    value: object
    g: float | None = None
    energy_unit_J: float | None = None

    def field_T(self, zeeman: float) -> float | None:
        """The field whose Zeeman energy is ``zeeman`` (E0); None in a dimensionless scenario."""
        if self.g is None or self.energy_unit_J is None:
            return None
        return zeeman * self.energy_unit_J / (self.g * BOHR_MAGNETON_J_PER_T)

    def energy(self, zeeman: float) -> str:
        """An energy in E0 as text, in meV where the scenario is physical."""
        if self.energy_unit_J is None:
            return f"{zeeman:.4g} E0"
        return f"{zeeman * self.energy_unit_J / ELECTRON_VOLT_J * 1e3:.4g} meV"

    def suggestion(self, zeeman: float, rounding: str = "nearest") -> str:
        """The scenario entry that gives the Zeeman energy ``zeeman`` (E0), for messages; ``rounding``
        ``"down"`` or ``"up"`` for a largest or smallest value, so that the suggestion is accepted."""
        B = self.field_T(zeeman)
        return f"zeeman = {six_digits(zeeman, rounding)}" if B is None else f"B = \"{six_digits(B, rounding)} T\""


def field_tesla(value, name: str = "[field] B") -> float:
    """|B| in tesla from a field with its unit: ``"0.5 T"``, ``"-500 mT"`` (a field in the other
    direction), ``"5000 G"``, ``"1 gauss"`` or ``"1 Oe"`` (1e-4 T)."""
    try:
        return abs(fl.quantity(value, "magnetic_field", name, positive=False))
    except ValueError as not_si:
        try:  # Gaussian units (G, kG, gauss, Oe), which pint does not convert to tesla
            return abs(fl.si_quantity(value, name, "gauss", '"5000 G"', positive=False)) * GAUSS_T
        except ValueError:
            raise not_si from None


def field_section(table: dict, E0_J: float, derived: dict) -> Field:
    """``[field]`` of a physical scenario (keys already checked): |B| in tesla and g."""
    if "B" not in table:
        msg = '[field] B is required (the magnetic field, e.g. B = "0.5 T"; g, the impurity g factor, defaults to 2)'
        raise ValueError(msg)
    B = field_tesla(table["B"])
    g = G_DEFAULT
    if "g" in table:
        g = fl.number(table["g"], "[field] g", lo=G_MIN, hi=G_MAX,
                      allowed=f"the impurity g factor, a plain number in [{G_MIN:g}, {G_MAX:g}] (2 for Mn and Fe; "
                              "impurity g factors lie between about 1 and 8)")
    zeeman_J = g * BOHR_MAGNETON_J_PER_T * B
    derived.update(field_T=B, g_factor=g, zeeman_meV=zeeman_J / ELECTRON_VOLT_J * 1e3, zeeman_E0=zeeman_J / E0_J)
    return Field(zeeman_J / E0_J, "[field] B", table["B"], g, E0_J)


def dimensionless_field(table: dict, derived: dict) -> Field | None:
    """``[dimensionless] zeeman`` (|Delta_Z| in E0: a negative value is a field in the other direction),
    or None when it is not given."""
    if "zeeman" not in table:
        return None
    zeeman = abs(fl.number(table["zeeman"], "[dimensionless] zeeman",
                           allowed="the impurity Zeeman energy Delta_Z = g mu_B B in E0, a plain number"))
    derived.update(zeeman_E0=zeeman)
    return Field(zeeman, "[dimensionless] zeeman", table["zeeman"])


def fits(zeeman: float, n_energy, half_width: float) -> np.ndarray:
    """Mask of the grids ``n_energy`` (array) on which ``zeeman`` (E0) is within ``ZEEMAN_RTOL`` of a
    whole number (at least one) of steps ``2 half_width / (n_energy - 1)``."""
    z = zeeman * (np.asarray(n_energy, dtype=float) - 1) / (2 * half_width)
    whole = np.rint(z)
    return (whole >= 1) & (np.abs(z - whole) <= ZEEMAN_RTOL * z)


def check_width(field: Field, half_width: float) -> None:
    """Refuse a Zeeman energy beyond the width of the energy grid: no electron on the grid could absorb
    a spin flip, every such transfer would leave the grid."""
    if field.zeeman > 2 * half_width * (1 + 1e-12):
        fl.fail(field.key, field.value, f"Delta_Z = {field.energy(field.zeeman)} exceeds the width of the energy grid "
                f"(2 half_width = {field.energy(2 * half_width)}): no electron on it can absorb a spin flip",
                f"{field.suggestion(2 * half_width, 'down')} at most, or a wider [grid] half_width")


def zeeman_steps(field: Field, step: float, half_width: float, derived: dict) -> int:
    """Delta_Z in whole energy steps (the grid already fits it: :func:`fits`, :func:`check_width`);
    records what runs."""
    steps = int(np.rint(field.zeeman / step))
    run = steps * step
    derived.update(zeeman_steps=steps, zeeman_run_E0=run,
                   zeeman_rounding=run / field.zeeman - 1.0 if field.zeeman > 0 else 0.0)
    if field.energy_unit_J is not None:
        derived.update(zeeman_run_meV=run * field.energy_unit_J / ELECTRON_VOLT_J * 1e3, field_run_T=field.field_T(run))
    return steps


def refuse_off_grid(field: Field, step: float, half_width: float, suggestion: int | None) -> None:
    """Refuse a grid whose step does not hold Delta_Z in whole steps, naming the field key, with a grid
    (``suggestion``, an n_energy that holds it, or None) and a field that fit."""
    z = field.zeeman / step
    grid = [f"[grid] n_energy = {suggestion}"] if suggestion else []
    if z <= 0.5:  # it would round to no field at all (round(0.5) == 0)
        fl.fail(field.key, field.value,
                f"the Zeeman energy Delta_Z = {field.energy(field.zeeman)} is at most half an energy step of "
                f"{field.energy(step)}: it cannot be put on the grid",
                " or ".join([f"{field.suggestion(0.0)} (no field)",
                             f"at least one energy step, {field.suggestion(step, 'up')}", *grid]))
    whole = min(round(z), math.floor(2 * half_width / step + 1e-9))  # on the grid, within its width
    hints = [*grid, f"{field.suggestion(whole * step)} ({whole} steps)"]
    fl.fail(field.key, field.value,
            f"the Zeeman energy Delta_Z = {field.energy(field.zeeman)} is {z:.4g} energy steps of "
            f"{field.energy(step)}, {abs(z - whole) / z * 100:.2g} % from a whole number (at most "
            f"{ZEEMAN_RTOL * 100:g} % is rounded)",
            "a Zeeman energy of whole energy steps (spin flips must land on the grid), e.g. " + " or ".join(hints))
