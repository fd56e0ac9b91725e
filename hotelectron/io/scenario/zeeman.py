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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...units import BOHR_MAGNETON_J_PER_T, ELECTRON_VOLT_J
from . import fields as fl

__all__ = ["FIELD_KEYS", "ZEEMAN_RTOL", "Field", "dimensionless_field", "field_section", "fits", "refuse_off_grid",
           "zeeman_steps"]

FIELD_KEYS = ("B", "g")
G_DEFAULT = 2.0
#: Impurity g factors lie between about 1 and 8 (rare earths); larger values are typing errors.
G_MAX = 20.0
#: At most this relative change of Delta_Z when it is rounded to whole energy steps.
ZEEMAN_RTOL = 5e-3


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

    def suggestion(self, zeeman: float) -> str:
        """The scenario entry that gives the Zeeman energy ``zeeman`` (E0), for messages."""
        B = self.field_T(zeeman)
        return f"zeeman = {zeeman:.6g}" if B is None else f"B = \"{B:.6g} T\""


def field_section(table: dict, E0_J: float, derived: dict) -> Field:
    """``[field]`` of a physical scenario (keys already checked): B in tesla (>= 0) and g (> 0)."""
    if "B" not in table:
        msg = '[field] B is required (the magnetic field, e.g. B = "0.5 T"; g, the impurity g factor, defaults to 2)'
        raise ValueError(msg)
    B = fl.quantity(table["B"], "magnetic_field", "[field] B", positive=False)
    if B < 0:
        fl.fail("[field] B", table["B"], "negative", "a field >= 0 (its direction does not matter: only |B| enters)")
    g = G_DEFAULT
    if "g" in table:
        g = fl.number(table["g"], "[field] g", lo=0, hi=G_MAX, lo_open=True,
                      allowed=f"the impurity g factor, a plain number in (0, {G_MAX:g}] (2 for Mn and Fe)")
    zeeman_J = g * BOHR_MAGNETON_J_PER_T * B
    derived.update(field_T=B, g_factor=g, zeeman_meV=zeeman_J / ELECTRON_VOLT_J * 1e3, zeeman_E0=zeeman_J / E0_J)
    return Field(zeeman_J / E0_J, "[field] B", table["B"], g, E0_J)


def dimensionless_field(table: dict, derived: dict) -> Field | None:
    """``[dimensionless] zeeman`` (Delta_Z in E0, >= 0), or None when it is not given."""
    if "zeeman" not in table:
        return None
    zeeman = fl.number(table["zeeman"], "[dimensionless] zeeman", lo=0,
                       allowed="the impurity Zeeman energy Delta_Z = g mu_B B in E0, a plain number >= 0")
    derived.update(zeeman_E0=zeeman)
    return Field(zeeman, "[dimensionless] zeeman", table["zeeman"])


def fits(zeeman: float, n_energy, half_width: float) -> np.ndarray:
    """Mask of the grids ``n_energy`` (array) on which ``zeeman`` (E0) is within ``ZEEMAN_RTOL`` of a
    whole number (at least one) of steps ``2 half_width / (n_energy - 1)``."""
    z = zeeman * (np.asarray(n_energy, dtype=float) - 1) / (2 * half_width)
    whole = np.rint(z)
    return (whole >= 1) & (np.abs(z - whole) <= ZEEMAN_RTOL * z)


def zeeman_steps(field: Field, step: float, half_width: float, derived: dict) -> int:
    """Delta_Z in whole energy steps (the grid already fits it: :func:`fits`); records what runs.

    A Zeeman energy beyond the width of the energy grid is refused: no electron on the grid could
    absorb a spin flip, every such transfer would leave the grid.
    """
    if field.zeeman > 2 * half_width:
        fl.fail(field.key, field.value, f"Delta_Z = {field.energy(field.zeeman)} exceeds the width of the energy grid "
                f"(2 half_width = {field.energy(2 * half_width)}): no electron on it can absorb a spin flip",
                f"{field.suggestion(2 * half_width)} at most, or a wider [grid] half_width")
    steps = int(np.rint(field.zeeman / step))
    run = steps * step
    derived.update(zeeman_steps=steps, zeeman_run_E0=run,
                   zeeman_rounding=run / field.zeeman - 1.0 if field.zeeman > 0 else 0.0)
    if field.energy_unit_J is not None:
        derived.update(zeeman_run_meV=run * field.energy_unit_J / ELECTRON_VOLT_J * 1e3, field_run_T=field.field_T(run))
    return steps


def refuse_off_grid(field: Field, step: float, suggestion: int | None) -> None:
    """Refuse a grid whose step does not hold Delta_Z in whole steps, naming the field key."""
    z = field.zeeman / step
    whole = max(round(z), 1)
    hints = ([f"[grid] n_energy = {suggestion}"] if suggestion else []) + [
        f"{field.suggestion(whole * step)} ({whole} steps)"]
    fl.fail(field.key, field.value,
            f"the Zeeman energy Delta_Z = {field.energy(field.zeeman)} is {z:.4g} energy steps of "
            f"{field.energy(step)}, {abs(z - whole) / z * 100:.2g} % from a whole number (at most "
            f"{ZEEMAN_RTOL * 100:g} % is rounded)",
            "a Zeeman energy of whole energy steps (spin flips must land on the grid), e.g. " + " or ".join(hints))
