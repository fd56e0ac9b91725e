"""Units of what a trajectory stores: the dimensionless unit of every observable and grid, a
readable name, and the factor that converts it to SI when the scenario is physical.

The solver's units (:mod:`hotelectron.wire.observables`): energies in E0, currents in ``E0/(e R)``,
energy currents and powers in ``E0^2/(e^2 R)``, noise in ``E0/R``, energy densities in ``2 nu E0^2``,
times in tau_D. A physical scenario fixes E0 (``energy_unit_J``) and tau_D (``tau_D_s``); currents,
noise and powers also need the wire's resistance R (``resistance_ohm``, known when the scenario
gives ``[wire] resistance``). A factor that the scenario does not determine is None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..units import BOLTZMANN_J_PER_K, ELECTRON_VOLT_J, ELEMENTARY_CHARGE_C

__all__ = ["OBSERVABLES", "Quantity", "si_factor"]


@dataclass(frozen=True)
class Quantity:
    """``units`` is the dimensionless unit; ``si_units`` the physical one that ``si_factor`` gives."""
    long_name: str
    units: str
    si_units: str
    kind: str  # which conversion (``_factor``)


def _factor(kind: str, derived: dict) -> float | None:
    E0, R, tau = derived.get("energy_unit_J"), derived.get("resistance_ohm"), derived.get("tau_D_s")
    nu = derived.get("nu_per_spin_J_m3")
    e = ELEMENTARY_CHARGE_C
    table = {
        "1": lambda: 1.0,
        "energy_meV": lambda: E0 / ELECTRON_VOLT_J * 1e3,
        "temperature": lambda: E0 / BOLTZMANN_J_PER_K,
        "current": lambda: E0 / (e * R),
        "power": lambda: E0 ** 2 / (e ** 2 * R),
        "noise": lambda: E0 / R,
        "density": lambda: 2 * nu * E0 ** 2,
        "density_rate": lambda: 2 * nu * E0 ** 2 / tau,
        "time": lambda: tau,
        "particle_rate": lambda: 2 * nu * E0 / tau,
    }
    try:
        value = table[kind]()
    except TypeError:  # a constant the scenario does not fix (None)
        return None
    return float(value) if math.isfinite(value) else None


def si_factor(quantity: Quantity, derived: dict) -> float | None:
    """Multiply the stored dimensionless value by this to get ``quantity.si_units``; None when the
    scenario is dimensionless or lacks a constant (R for currents)."""
    if quantity.kind == "1":
        return 1.0
    if "energy_unit_J" not in derived or derived.get("energy_unit_J") is None:
        return None
    return _factor(quantity.kind, derived)


OBSERVABLES = {
    "current_left": Quantity("current at the left reservoir", "E0/(e R)", "A", "current"),
    "current_middle": Quantity("current in the middle of the wire", "E0/(e R)", "A", "current"),
    "current_right": Quantity("current at the right reservoir", "E0/(e R)", "A", "current"),
    "heat_left": Quantity("heat flow into the left reservoir", "E0^2/(e^2 R)", "W", "power"),
    "heat_right": Quantity("heat flow into the right reservoir", "E0^2/(e^2 R)", "W", "power"),
    "joule_power": Quantity("Joule power", "E0^2/(e^2 R)", "W", "power"),
    "noise": Quantity("current noise spectral density", "E0/R", "A^2/Hz", "noise"),
    "fano": Quantity("Fano factor", "1", "1", "1"),
    "t_eff_mid": Quantity("effective temperature at x = L/2", "E0/k_B", "K", "temperature"),
    "w_e": Quantity("electron energy per unit volume", "2 nu E0^2", "J/m^3", "density"),
    "w_p": Quantity("pair energy per unit volume", "2 nu E0^2", "J/m^3", "density"),
    "dw_e_dt": Quantity("rate of change of w_e", "2 nu E0^2/tau_D", "W/m^3", "density_rate"),
    "dw_p_dt": Quantity("rate of change of w_p", "2 nu E0^2/tau_D", "W/m^3", "density_rate"),
    "edge_out_flux": Quantity("particles leaving the energy grid at its edges", "2 nu E0/tau_D", "1/(m^3 s)", "particle_rate"),
    "edge_in_flux": Quantity("particles entering the energy grid at its edges", "2 nu E0/tau_D", "1/(m^3 s)", "particle_rate"),
    "edge_energy_rate": Quantity("energy lost at the energy-grid edges", "2 nu E0^2/tau_D", "W/m^3", "density_rate"),
}
