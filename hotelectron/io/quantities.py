"""Units of what a trajectory stores: the dimensionless unit of every observable and grid, a
readable name, and the factor that converts it to SI when the scenario is physical.

The solver's units (:mod:`hotelectron.wire.observables`): energies in E0, currents in ``E0/(e R)``,
energy currents and powers in ``E0^2/(e^2 R)``, noise in ``E0/R``, energy densities in ``2 nu E0^2``,
times in tau_D. A physical scenario fixes E0 (``energy_unit_J``) and tau_D (``tau_D_s``); currents,
noise and powers also need the wire's resistance R (``resistance_ohm``, known when the scenario
gives ``[wire] resistance``). A factor that the scenario does not determine is None.

Per unit volume and total: the rates stored per unit volume in ``2 nu E0^2/tau_D`` (``heat_phonons``,
``edge_energy_rate``, ``dw_e_dt``, ...) are, as numbers, also their totals over a wire in
``E0^2/(e^2 R)`` (``2 nu E0^2 A L/tau_D = E0^2/(e^2 R)``): :func:`balance_lines` prints a wire's power
balance that way, and :func:`physical_values` gives the balance terms' totals in W.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..units import BOLTZMANN_J_PER_K, ELECTRON_VOLT_J, ELEMENTARY_CHARGE_C

__all__ = ["BOX_OBSERVABLES", "OBSERVABLES", "PHONON_SIGMA_KEY", "SPIN_OBSERVABLES", "WIRE_OBSERVABLES", "Quantity",
           "balance_lines", "energy_meV", "observable_lines", "observable_names", "phonon_sigma", "physical_values",
           "physics_lines", "si_column", "si_factor", "unit_lines"]


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
    "w_p": Quantity("impurity energy per unit volume (pairs, and free spins in a field)", "2 nu E0^2", "J/m^3",
                    "density"),
    # the collision terms alone: in a wire d w_e/dt also holds the Joule power and the heat carried to
    # the reservoirs, (joule_power - heat_left - heat_right) per unit volume, which it leaves out
    "dw_e_dt": Quantity("rate of change of w_e by collisions", "2 nu E0^2/tau_D", "W/m^3", "density_rate"),
    "dw_p_dt": Quantity("rate of change of w_p (by collisions, its only change)", "2 nu E0^2/tau_D", "W/m^3",
                        "density_rate"),
    "w_spins": Quantity("free-spin Zeeman energy per unit volume (part of w_p)", "2 nu E0^2", "J/m^3", "density"),
    "dw_spins_dt": Quantity("rate of change of w_spins", "2 nu E0^2/tau_D", "W/m^3", "density_rate"),
    "edge_out_flux": Quantity("particles leaving the energy grid at its edges, per unit volume", "2 nu E0/tau_D",
                              "1/(m^3 s)", "particle_rate"),
    "edge_in_flux": Quantity("particles entering the energy grid at its edges, per unit volume", "2 nu E0/tau_D",
                             "1/(m^3 s)", "particle_rate"),
    "edge_energy_rate": Quantity("energy lost at the energy-grid edges, per unit volume", "2 nu E0^2/tau_D", "W/m^3",
                                 "density_rate"),
    "relaxation": Quantity("int |f(L/2) - double step| d eps: distance from the collisionless double step", "E0",
                           "meV", "energy_meV"),
    # per unit volume of the wire (for a wire numerically also the total power in E0^2/(e^2 R))
    "heat_phonons": Quantity("heat given to the phonons, per unit volume", "2 nu E0^2/tau_D", "W/m^3", "density_rate"),
}


#: What a trajectory records per frame: in a wire, and in a closed box.
WIRE_OBSERVABLES = (
    "current_left", "current_middle", "current_right", "heat_left", "heat_right", "joule_power",
    "noise", "fano", "t_eff_mid", "w_e", "w_p", "dw_e_dt", "dw_p_dt", "edge_out_flux", "edge_in_flux",
    "edge_energy_rate", "heat_phonons", "relaxation",
)
BOX_OBSERVABLES = ("w_e", "w_p", "dw_e_dt", "dw_p_dt", "edge_out_flux", "edge_in_flux", "edge_energy_rate",
                   "heat_phonons")
#: ... and with free spins (in a field) their part of w_p and dw_p_dt.
SPIN_OBSERVABLES = ("w_spins", "dw_spins_dt")


def observable_names(mode: str, problem) -> tuple:
    """The observables a run of ``problem`` in ``mode`` records."""
    names = BOX_OBSERVABLES if mode == "box" else WIRE_OBSERVABLES
    kinds = getattr(problem.pairs, "impurity", "").split("+")
    return names + SPIN_OBSERVABLES if "spins" in kinds else names


def si_column(name: str) -> str:
    """The summary column of an observable in SI units: ``current_middle_A``, ``noise_A2_per_Hz``."""
    suffix = {"A": "A", "W": "W", "A^2/Hz": "A2_per_Hz", "K": "K", "J/m^3": "J_per_m3", "W/m^3": "W_per_m3",
              "1/(m^3 s)": "per_m3_s", "meV": "meV"}[OBSERVABLES[name].si_units]
    return f"{name}_{suffix}"


def physical_values(values: dict, derived: dict) -> dict:
    """The observables among ``values`` (dimensionless) converted to SI, keyed by ``si_column``; only
    those the scenario's constants determine (none for a dimensionless scenario; no currents, noise
    or powers without R). Dimensionless observables (the Fano factor) have no SI column. In a wire (values
    with ``joule_power``) the per-volume terms of the power balance also come as totals over the wire,
    ``heat_phonons_total_W`` and ``edge_energy_rate_total_W`` (:func:`balance_lines`)."""
    out = {}
    for name, value in values.items():
        q = OBSERVABLES.get(name)
        if q is None or q.kind == "1":
            continue
        factor = si_factor(q, derived)
        if factor is not None:
            out[si_column(name)] = value * factor
    power = si_factor(OBSERVABLES["joule_power"], derived)
    if "joule_power" in values and power is not None:
        out.update({f"{name}_total_W": values[name] * power for name in PER_VOLUME_BALANCE if name in values})
    return out


def energy_meV(derived: dict) -> float | None:
    """E0 in meV, or None for a dimensionless scenario."""
    E0 = derived.get("energy_unit_J")
    return None if E0 is None else E0 / ELECTRON_VOLT_J * 1e3


def unit_lines(derived: dict) -> list[str]:
    """What one solver unit is in SI, one line per unit the scenario fixes (none if dimensionless)."""
    lines = []
    seen = set()
    for q in OBSERVABLES.values():
        if q.kind in ("1", "energy_meV") or q.units in seen:  # E0 in meV: the first line
            continue
        factor = si_factor(q, derived)
        if factor is not None:
            seen.add(q.units)
            lines.append(f"1 {q.units} = {factor:.6g} {q.si_units}")
    meV = energy_meV(derived)
    if meV is not None:
        lines.insert(0, f"1 E0 = {meV:.6g} meV")
    return lines


def observable_lines(values: dict, derived: dict) -> list[str]:
    """``name  value unit  (value SI-unit)  long name`` for each observable of a frame; in a wire (a frame
    with ``joule_power``) also the phonon heat and the edge loss over the whole wire, and the power
    balance that they close, all in ``E0^2/(e^2 R)`` (and W)."""
    width = max((len(k) for k in values), default=0)
    lines = []
    for name, value in values.items():
        q = OBSERVABLES.get(name)
        text = f"{name:<{width}}  {value:.6g}" + (f" {q.units}" if q is not None else "")
        factor = si_factor(q, derived) if q is not None and q.kind != "1" else None
        if factor is not None:
            text += f"  ({value * factor:.6g} {q.si_units})"
        if q is not None:
            text += f"  {q.long_name}"
        lines.append(text)
    if "joule_power" in values:
        lines += balance_lines(values, derived)
    return lines


#: The terms of a wire's power balance (SPEC section 5): the source's power leaves into the reservoirs,
#: the phonons and across the energy grid's edges.
BALANCE = ("heat_left", "heat_right", "heat_phonons", "edge_energy_rate")
#: Those stored per unit volume (2 nu E0^2/tau_D): the same number is their total in E0^2/(e^2 R).
PER_VOLUME_BALANCE = ("heat_phonons", "edge_energy_rate")


def balance_lines(values: dict, derived: dict) -> list[str]:
    """The power balance of a wire frame, each term as a total power over the wire.

    ``heat_phonons`` and ``edge_energy_rate`` are stored per unit volume in ``2 nu E0^2/tau_D``; times the
    volume A L that is ``2 nu E0^2 A L/tau_D = E0^2 sigma A/(e^2 L) = E0^2/(e^2 R)`` (sigma = 2 nu e^2 D,
    tau_D = L^2/D): the same number is the total power in ``E0^2/(e^2 R)``, the unit of ``heat_left``.
    """
    terms = [name for name in BALANCE if name in values]
    power = si_factor(OBSERVABLES["joule_power"], derived)
    watts = (lambda v: f"  ({v * power:.6g} W)") if power is not None else (lambda v: "")
    lines = [f"# power balance over the wire, in E0^2/(e^2 R){' (W)' if power is not None else ''}: "
             f"joule_power = {' + '.join(terms)}"]
    for name in PER_VOLUME_BALANCE:
        if name in values:
            lines.append(f"{name + ' (whole wire)':<30}  {values[name]:.6g} E0^2/(e^2 R){watts(values[name])}")
    total = sum(values[name] for name in terms)
    lines.append(f"{'sum of the terms':<30}  {total:.6g} E0^2/(e^2 R){watts(total)}")
    lines.append(f"{'joule_power':<30}  {values['joule_power']:.6g} E0^2/(e^2 R){watts(values['joule_power'])}"
                 f"  (difference {values['joule_power'] - total:.3g}: zero in a steady state)")
    return lines


def physics_lines(derived: dict) -> list[str]:
    """What the impurities and the phonons do, in words and numbers, from a scenario's derived constants:
    the field (Delta_Z in meV and in energy steps, as given and as it runs), the fraction of the
    impurities that are paired and unpaired (free spins), the spin-mediated e-e kernel and the
    electron-phonon strength kappa_ph."""
    lines = []
    if "zeeman_E0" in derived:
        lines.append("field       " + _field_text(derived))
    if "pair_probability" in derived:
        p = derived["pair_probability"]
        text = (f"impurities  paired (a partner with |V| > V_min): {100 * p:.3g} %; unpaired (free spins), "
                f"1 - (8/3) T_sg/V_min: {100 * derived['unpaired_fraction']:.3g} %")
        if "free_spin_rate" in derived:  # in a field the free spins exchange the Zeeman energy
            rate = derived["free_spin_rate"]
            per_s = f" = {rate / derived['tau_D_s']:.4g} 1/s" if "tau_D_s" in derived else ""
            text += f"; in the field the electrons flip them at (1 - p)/tau_s = {rate:.4g}/tau_D{per_s}"
        lines.append(text)
    if "v_min_rule" in derived:
        lines.append("cutoff      " + _cutoff_text(derived))
    if "spin_mediated_kappa" in derived:
        lines.append(f"spin-mediated e-e  kappa = {derived['spin_mediated_kappa_per_s'] * 1e-9:.4g} 1/ns "
                     f"= {derived['spin_mediated_kappa']:.4g}/tau_D, kernel kappa/E^2 (a = 2) of the unpaired "
                     f"impurities, nu J = {derived['spin_mediated_exchange']:.4g} (of 1/tau_s)")
    if "phonon_kappa" in derived:
        p = derived["phonon_exponent"]
        text = f"kappa_ph = {derived['phonon_kappa']:.4g} / (tau_D E0^{p + 1:g})"
        si = derived.get("phonon_kappa_per_s_J^(p+1)")
        if si is not None:  # in 1/(ns meV^(p+1)): numbers of order one for metals at millikelvin
            ns_meV = si * 1e-9 * (ELECTRON_VOLT_J * 1e-3) ** (p + 1)
            text = (f"kappa_ph = {ns_meV:.4g} 1/(ns meV^{p + 1:g}) = {derived['phonon_kappa']:.4g} / (tau_D E0^{p + 1:g}) "
                    f"(Sigma = {phonon_sigma(derived):.4g} W K^-{p + 3:g} m^-3, "
                    f"T_ph = {derived['phonon_temperature_K'] * 1e3:.4g} mK)")
        lines.append(f"phonons     {text}, kernel kappa_ph |E|^{p:g}")
    return lines


#: Sigma of P/V = Sigma (T_e^(p+3) - T_ph^(p+3)) in W/(m^3 K^(p+3)) among the derived constants; files
#: written before carry it as ``OLD_PHONON_SIGMA_KEY``, whose "_m3" read as a factor m^3.
PHONON_SIGMA_KEY = "phonon_sigma_W_per_m3_K^(p+3)"
OLD_PHONON_SIGMA_KEY = "phonon_sigma_W_K^-(p+3)_m3"


def phonon_sigma(derived: dict) -> float | None:
    """Sigma (W m^-3 K^-(p+3)) from derived constants of a scenario or of a file of any version."""
    return derived.get(PHONON_SIGMA_KEY, derived.get(OLD_PHONON_SIGMA_KEY))


def _cutoff_text(derived: dict) -> str:
    """Which coupling cutoff V_min is active and why: given, the pair-probability rule, or half a step."""
    v_min = derived["v_min"]
    meV = f" = {derived['V_min_meV']:.4g} meV" if "V_min_meV" in derived else ""
    head = f"V_min{meV} = {v_min:.4g} E0"
    rule = derived["v_min_rule"]
    if rule == "given":
        return f"{head}, as given"
    half_step = derived["energy_step_E0"] / 2
    by_probability = derived["v_min_pair_probability"]
    if rule == "pair_probability":
        return (f"{head}: (8/3) T_sg/V_min = 0.3, the largest pair probability of the pair picture (half the energy "
                f"step, {half_step:.3g} E0, lies below it)")
    return (f"{head}: half the energy step, above the pair-probability cutoff (8/3) T_sg/0.3 = {by_probability:.3g} E0; "
            "pairs with |V| below it count among the free spins, and the split moves with [grid] n_energy "
            "(a given [impurities] coupling_cutoff or [dimensionless] v_min fixes it)")


def _field_text(derived: dict) -> str:
    step = derived.get("energy_step_E0")
    given = derived["zeeman_E0"]
    if "field_T" in derived:
        head = (f"B = {derived['field_T']:.4g} T, g = {derived['g_factor']:.4g}: Delta_Z = g mu_B B = "
                f"{derived['zeeman_meV']:.4g} meV = {given:.4g} E0")
    else:
        head = f"Delta_Z = {given:.4g} E0"
    if "zeeman_steps" not in derived:
        return head + " (no magnetic impurities: the field changes nothing)"
    if given == 0:
        return head + " (no field)"
    steps = derived["zeeman_steps"]
    if abs(derived["zeeman_rounding"]) < 1e-9:
        return f"{head} = {steps} energy steps"
    text = f"{head} = {given / step:.4g} energy steps; runs with {steps} steps"
    if "zeeman_run_meV" in derived:
        text += f" = {derived['zeeman_run_meV']:.4g} meV (the Zeeman energy of B = {derived['field_run_T']:.4g} T)"
    return text + f", {100 * derived['zeeman_rounding']:+.2g} %"
