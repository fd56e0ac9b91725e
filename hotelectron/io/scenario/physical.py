"""The physical sections of a scenario ([wire], [reservoirs], [impurities], [electron_electron], [phonons],
[field], [spin_mediated]).

They are turned into the dimensionless strengths of :mod:`hotelectron.wire` (energies in E0, times in
tau_D) and a record of every derived number. See the package docstring for the file format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ... import spin as spin_algebra
from ... import transport
from ...materials import Material, material
from ...units import BOLTZMANN_J_PER_K, ELECTRON_VOLT_J, ELEMENTARY_CHARGE_C, HBAR_J_S, registry
from ...kinetics.mechanisms.electron_electron import coulomb_kappa
from ...kinetics.mechanisms.phonons import MAX_EXPONENT, MIN_EXPONENT, kappa_from_sigma
from ...kinetics.mechanisms.spin_mediated import exchange_of_spin_flip_rate, kappa_per_s
from ..quantities import PHONON_SIGMA_KEY
from . import fields as fl
from .zeeman import FIELD_KEYS, Field, field_section

__all__ = ["PAIR_PROBABILITY_REFUSE", "PAIR_PROBABILITY_WARN", "Physics", "physical"]

#: The pair picture needs a small probability (8/3) T_sg / V_min that an impurity has a partner
#: with |V| > V_min (SPEC section 2): warn above the first, refuse above the second.
PAIR_PROBABILITY_WARN = 0.3
PAIR_PROBABILITY_REFUSE = 1.0

WIRE_KEYS = ("material", "dos_per_spin", "fermi_velocity", "atomic_density", "length", "diffusion_constant",
             "resistance", "cross_section")
RESERVOIR_KEYS = ("temperature", "temperature_left", "temperature_right", "bias", "mu_left", "mu_right")
IMPURITY_KEYS = ("spin", "concentration", "kondo_temperature", "spin_glass_temperature", "spin_flip_rate",
                 "coupling_cutoff")
EE_KEYS = ("exponent", "kappa", "kappa_dimensionless")
PHONON_KEYS = ("sigma", "temperature", "exponent", "kappa_dimensionless")
SPIN_MEDIATED_KEYS = ()


@dataclass
class Physics:
    """What the physical or dimensionless sections fix, in E0 and tau_D (internal to the loader)."""

    mu_left: float
    mu_right: float
    temperature_left: float
    temperature_right: float
    energy_unit_J: float | None
    energy_unit: str
    tau_D_s: float | None
    derived: dict
    warnings: list = field(default_factory=list)
    # pairs: S, rate, relaxation, T_sg (E0, or None when unknown), v_min (E0, or None for the default)
    pairs: dict | None = None
    pair_section: str = "impurities"
    electron_electron: dict | None = None
    # phonons: kappa (1/(tau_D E0^(p+1))), temperature (E0), exponent p
    phonons: dict | None = None
    # the magnetic field on the impurity spins (its Zeeman energy in E0, not yet on the grid)
    magnetic_field: Field | None = None
    # spin-mediated e-e scattering: kappa tau_D of the a = 2 kernel were every impurity a free spin
    spin_mediated: dict | None = None


def _exclusive(table, section, first, second):
    if first in table and second in table:
        msg = f"[{section}] {first} and [{section}] {second} exclude each other; give one of them"
        raise ValueError(msg)


def _require(table, section, key, why=""):
    if key not in table:
        msg = f"[{section}] {key} is required{why}"
        raise ValueError(msg)
    return table[key]


def _pair(res, both, left, right, parse, what=None):
    """``(left, right)`` values of a ``[reservoirs]`` quantity given once for both (key ``both``) or
    for each reservoir (``left`` and ``right``), parsed with ``parse(value, name)``."""
    if both is not None:
        _exclusive(res, "reservoirs", both, left)
        _exclusive(res, "reservoirs", both, right)
        if both in res:
            value = parse(res[both], f"[reservoirs] {both}")
            return value, value
    if left in res or right in res:
        return (parse(_require(res, "reservoirs", left), f"[reservoirs] {left}"),
                parse(_require(res, "reservoirs", right), f"[reservoirs] {right}"))
    msg = f"[reservoirs] {what or both} is required (or {left} and {right})"
    raise ValueError(msg)


def _host(wire) -> Material:
    explicit = ("dos_per_spin", "fermi_velocity", "atomic_density")
    given = [k for k in explicit if k in wire]
    if "material" in wire:
        if given:
            msg = f"[wire] material and [wire] {given[0]} exclude each other; give the material or all of {', '.join(explicit)}"
            raise ValueError(msg)
        name = wire["material"]
        if not isinstance(name, str):
            fl.fail("[wire] material", name, "not a string", "one of 'Cu', 'Ag', 'Au'")
        try:
            return material(name)
        except ValueError:
            fl.fail("[wire] material", name, "unknown host metal", "one of 'Cu', 'Ag', 'Au' or the explicit constants")
    if not given:
        msg = f"[wire] material is required (\"Cu\", \"Ag\", \"Au\"), or all of {', '.join(explicit)}"
        raise ValueError(msg)
    for key in explicit:
        _require(wire, "wire", key, f" with {given[0]} (give all of {', '.join(explicit)})")
    nu = fl.si_quantity(wire["dos_per_spin"], "[wire] dos_per_spin", "1/(J m^3)", '"5e46 1/(J m^3)" (per spin)')
    v_F = fl.si_quantity(wire["fermi_velocity"], "[wire] fermi_velocity", "m/s", '"1.4e6 m/s"')
    n = fl.si_quantity(wire["atomic_density"], "[wire] atomic_density", "1/m^3", '"5.9e28 1/m^3"')
    # Material derives nu = 3n/(4 E_F): choose E_F so that it returns the given nu exactly.
    try:
        return Material("custom", n, 3.0 * n / (4.0 * nu) / ELECTRON_VOLT_J, v_F, "scenario file")
    except ValueError as exc:
        fl.fail("[wire] dos_per_spin", wire["dos_per_spin"], str(exc), "values of a metal")


def _area_m2(value):
    name = "[wire] cross_section"
    example = '"50 nm * 100 nm" or "5e-15 m^2"'
    if isinstance(value, str) and value.count("*") == 1:
        a, b = value.split("*")
        return fl.quantity(a, "length", name) * fl.quantity(b, "length", name)
    return fl.si_quantity(value, name, "m^2", example)


def _wire(wire, derived):
    host = _host(wire)
    nu = host.dos_per_spin_J_m3
    length = fl.quantity(_require(wire, "wire", "length"), "length", "[wire] length")
    _exclusive(wire, "wire", "diffusion_constant", "resistance")
    # Einstein relation with both spins: sigma = e^2 (2 nu) D and R = L / (sigma A). Given D, the
    # cross-section is optional: it only fixes R, which currents, noise and powers in SI need.
    conductance_per_D = ELEMENTARY_CHARGE_C**2 * 2.0 * nu / length
    if "diffusion_constant" in wire:
        D = fl.quantity(wire["diffusion_constant"], "diffusion", "[wire] diffusion_constant")
        if "cross_section" in wire:
            A = _area_m2(wire["cross_section"])
            derived.update(resistance_ohm=1.0 / (conductance_per_D * D * A), cross_section_m2=A)
    elif "resistance" in wire:
        R = fl.si_quantity(wire["resistance"], "[wire] resistance", "ohm", '"100 ohm"')
        A = _area_m2(_require(wire, "wire", "cross_section", " with [wire] resistance"))
        D = 1.0 / (conductance_per_D * R * A)
        derived.update(resistance_ohm=R, cross_section_m2=A)
    else:
        msg = "[wire] diffusion_constant is required (or [wire] resistance with [wire] cross_section)"
        raise ValueError(msg)
    if not (math.isfinite(D) and D > 0):
        msg = f"[wire] the diffusion constant D = {D!r} m^2/s from the given values is not a positive finite number"
        raise ValueError(msg)
    tau_D = length * length / D
    if not (math.isfinite(tau_D) and tau_D > 0):
        fl.fail("[wire] length", wire["length"], f"the diffusion time L^2/D = {tau_D!r} s is not a positive finite number",
                "a length and diffusion constant of a real wire")
    derived.update(
        material=host.name, nu_per_spin_J_m3=nu, fermi_velocity_m_s=host.fermi_velocity_m_s,
        atomic_density_m3=host.atomic_density_m3, length_m=length, diffusion_m2_s=D, tau_D_s=tau_D,
    )
    return host, D, tau_D


def _reservoirs(res, derived):
    T_left, T_right = _pair(res, "temperature", "temperature_left", "temperature_right", fl.temperature_K)
    if "bias" in res:
        _exclusive(res, "reservoirs", "bias", "mu_left")
        _exclusive(res, "reservoirs", "bias", "mu_right")
        eU = fl.energy_J(res["bias"], "[reservoirs] bias")
        mu_left, mu_right = eU / 2, -eU / 2
    else:
        mu_left, mu_right = _pair(res, None, "mu_left", "mu_right", fl.energy_J, what="bias")
    bias = abs(mu_left - mu_right)
    T_max = max(T_left, T_right)
    if bias > 0:
        E0 = bias
        unit = f"eU = {E0 / ELECTRON_VOLT_J * 1e3:.4g} meV"
    else:
        E0 = BOLTZMANN_J_PER_K * T_max
        unit = f"k_B T = {T_max * 1e3:.4g} mK = {E0 / ELECTRON_VOLT_J * 1e6:.4g} ueV"
    derived.update(
        temperature_left_K=T_left, temperature_right_K=T_right, mu_left_meV=mu_left / ELECTRON_VOLT_J * 1e3,
        mu_right_meV=mu_right / ELECTRON_VOLT_J * 1e3, bias_mV=(mu_left - mu_right) / ELEMENTARY_CHARGE_C * 1e3,
        energy_unit_J=E0, energy_unit_meV=E0 / ELECTRON_VOLT_J * 1e3, energy_unit_K=E0 / BOLTZMANN_J_PER_K,
    )
    # hot-electron energy at which the Kondo logarithm of 1/tau_s (Nagaoka-Hamann, VGL 52) is evaluated
    hot_K = max(T_max, bias / BOLTZMANN_J_PER_K)
    return (mu_left / E0, mu_right / E0, T_left * BOLTZMANN_J_PER_K / E0, T_right * BOLTZMANN_J_PER_K / E0,
            E0, unit, hot_K)


#: Below this ln(max(k_B T, eU)/T_K) the perturbative logarithm is small: a warning.
WARN_KONDO_LOG = 3.0


def unitary_spin_flip_rate_per_s(n_s_m3: float, nu_J_m3: float) -> float:
    """The unitary (strongest possible) spin-flip rate ``2 n_s/(pi hbar nu)`` in 1/s, one scattering channel.

    A phase shift pi/2 in one channel per impurity gives the unitary scattering rate ``2 n_s/(pi hbar nu)``
    (nu per spin); no exchange scattering flips spins faster. The model assumes one channel (an
    effective spin S coupled to one conduction band), so this is the bound without a channel factor.
    """
    return 2.0 * n_s_m3 / (math.pi * HBAR_J_S * nu_J_m3)


def _kondo_regime(T_K, hot_K, T_max, warnings):
    """Refuse ``ln(max(k_B T, eU)/T_K) < 1``; warn where it is below 3 or where ``T < T_K``."""
    log = math.log(hot_K / T_K)
    keys = "[impurities] kondo_temperature, [reservoirs] bias and [reservoirs] temperature"
    if log < transport.MIN_LOG:
        msg = (f"{keys}: ln(max(k_B T, eU)/T_K) = {log:.3g} < {transport.MIN_LOG:g}, the Kondo formula for "
               f"1/tau_s is meaningless there (max(k_B T, eU) = {hot_K:.4g} K, T_K = {T_K:.4g} K); give a higher "
               "bias or temperature, a lower kondo_temperature, or spin_glass_temperature and spin_flip_rate directly")
        raise ValueError(msg)
    if log < WARN_KONDO_LOG:
        warnings.append(f"{keys}: ln(max(k_B T, eU)/T_K) = {log:.3g} < {WARN_KONDO_LOG:g}: the perturbative "
                        "logarithm is small, 1/tau_s and T_sg are estimates only")
    if T_max < T_K:
        warnings.append(f"[reservoirs] temperature = {T_max * 1e3:.4g} mK is below [impurities] kondo_temperature "
                        f"= {T_K * 1e3:.4g} mK: the spins are Kondo-screened and the pair model does not apply")
    return log


def _impurities(imp, host, D, E0, tau_D, hot_K, derived, warnings) -> dict:
    name = "[impurities] spin"
    S_raw = _require(imp, "impurities", "spin")
    try:
        S = spin_algebra.check_spin(S_raw)
    except ValueError:
        fl.fail(name, S_raw, "not an allowed spin", f"a positive multiple of 1/2 up to {spin_algebra.MAX_SPIN:g}")
    n_s_ppm = fl.quantity(_require(imp, "impurities", "concentration", " (Gamma needs the impurity density)"),
                          "concentration", "[impurities] concentration", unit="ppm")
    if n_s_ppm >= 1e6:
        fl.fail("[impurities] concentration", imp["concentration"], "not a fraction of the host atoms", "below 100 %")
    n_s = n_s_ppm * 1e-6 * host.atomic_density_m3
    nu = host.dos_per_spin_J_m3
    direct = [k for k in ("spin_glass_temperature", "spin_flip_rate") if k in imp]
    if "kondo_temperature" in imp:
        if direct:
            msg = (f"[impurities] kondo_temperature and [impurities] {direct[0]} exclude each other: give T_K "
                   "(T_sg from VGL 10, tau_s from the Nagaoka-Hamann form of VGL 52) or both spin_glass_temperature and spin_flip_rate")
            raise ValueError(msg)
        T_K = fl.temperature_K(imp["kondo_temperature"], "[impurities] kondo_temperature")
        alloy = transport.Alloy(host, S, n_s_ppm, T_K, D)
        try:
            T_sg_K = alloy.spin_glass_temperature_K
        except ValueError as exc:
            fl.fail("[impurities] kondo_temperature", imp["kondo_temperature"], str(exc), "T_K well below hbar v_F n_s^(1/3)")
        try:
            _kondo_regime(T_K, hot_K, max(derived["temperature_left_K"], derived["temperature_right_K"]), warnings)
            tau_s = transport.spin_flip_time_s(alloy, hot_K)
        except ValueError as exc:
            if str(exc).startswith("[impurities]"):
                raise
            fl.fail("[impurities] kondo_temperature", imp["kondo_temperature"],
                    f"the hot electrons at max(k_B T, eU) = {hot_K:.4g} K are not well above T_K ({exc})",
                    f"ln(max(k_B T, eU)/T_K) >= {transport.MIN_LOG:g}")
        derived.update(kondo_temperature_K=T_K, hot_energy_K=hot_K, kondo_log=math.log(hot_K / T_K))
    elif direct:
        T_sg_K = fl.temperature_K(_require(imp, "impurities", "spin_glass_temperature", " with spin_flip_rate"),
                                  "[impurities] spin_glass_temperature")
        rate = fl.quantity(_require(imp, "impurities", "spin_flip_rate", " with spin_glass_temperature"),
                           "rate", "[impurities] spin_flip_rate")
        bound = unitary_spin_flip_rate_per_s(n_s, nu)
        if rate > bound:
            msg = (f"[impurities] spin_flip_rate = {rate:.4g} 1/s exceeds the unitary bound 2 n_s/(pi hbar nu) = "
                   f"{bound:.4g} 1/s of [impurities] concentration = {n_s_ppm:g} ppm in one scattering channel; "
                   "give a lower spin_flip_rate (or kondo_temperature with a higher bias or a lower T_K)")
            raise ValueError(msg)
        tau_s = 1.0 / rate
    else:
        msg = "[impurities] kondo_temperature is required (or spin_glass_temperature and spin_flip_rate)"
        raise ValueError(msg)
    Gamma = 4.0 * nu / (tau_s * n_s * S * (S + 1))
    T_sg_E0 = T_sg_K * BOLTZMANN_J_PER_K / E0
    v_min = None
    if "coupling_cutoff" in imp:
        v_min = fl.temperature_or_energy_J(imp["coupling_cutoff"], "[impurities] coupling_cutoff") / E0
    bound = unitary_spin_flip_rate_per_s(n_s, nu)
    if 1.0 / tau_s > bound * (1 + 1e-12):  # the Nagaoka-Hamann rate is at most a quarter of it
        msg = f"1/tau_s = {1 / tau_s:.4g} 1/s exceeds the unitary bound {bound:.4g} 1/s (a defect of the rate formula)"
        raise RuntimeError(msg)
    derived.update(
        unitary_spin_flip_rate_per_s=bound, spin=S, n_s_ppm=n_s_ppm, n_s_m3=n_s, T_sg_K=T_sg_K, tau_s_s=tau_s, spin_flip_rate_per_s=1.0 / tau_s,
        Gamma_per_J_s=Gamma, T_sg_E0=T_sg_E0,
    )
    return {"S": S, "rate": tau_D * T_sg_E0 / tau_s, "relaxation": Gamma * tau_D * E0, "T_sg": T_sg_E0, "v_min": v_min}


def _electron_electron(ee, section, E0, tau_D, derived) -> dict:
    exponent = 1.5
    if "exponent" in ee:
        exponent = fl.number(ee["exponent"], f"[{section}] exponent", lo=0, hi=3, lo_open=True, hi_open=True,
                             allowed="a number in (0, 3): 1.5 (Coulomb) or 2 (magnetic impurities)")
    _exclusive(ee, section, "kappa", "kappa_dimensionless")
    if "kappa_dimensionless" in ee:
        kappa = fl.number(ee["kappa_dimensionless"], f"[{section}] kappa_dimensionless", lo=0, lo_open=True)
        kappa_si = kappa / (tau_D * E0 ** (2.0 - exponent))
    elif "kappa" in ee:
        kappa, kappa_si = _kappa(ee["kappa"], f"[{section}] kappa", exponent, E0, tau_D)
    else:
        msg = f"[{section}] kappa is required (or kappa_dimensionless)"
        raise ValueError(msg)
    derived.update({"exponent": exponent, "kappa_dimensionless": kappa, "kappa_J^(a-2)_per_s": kappa_si})
    if exponent == 1.5 and "cross_section_m2" in derived:  # the screened Coulomb value of this wire, to compare
        theory = coulomb_kappa(derived["diffusion_m2_s"], derived["nu_per_spin_J_m3"], derived["cross_section_m2"])
        derived.update({"kappa_coulomb_theory_J^-0.5_per_s": theory, "kappa_over_coulomb_theory": kappa_si / theory})
    return {"kappa": kappa, "exponent": exponent}


def _kappa(value, name, a, E0_J, tau_D_s):
    """``kappa tau_D E0^(2-a)`` (dimensionless) and kappa in J^(a-2)/s, from e.g. ``"0.1 1/ns/meV^0.5"``."""
    if a < 2:
        example = f'"0.1 1/ns/meV^{2 - a:g}"'
    elif a > 2:
        example = f'"0.1 meV^{a - 2:g}/ns"'
    else:
        example = '"1 1/ns"'
    reg = registry()
    unit = reg.Unit("J") ** (a - 2) / reg.Unit("s")  # the dimension of kappa depends on the exponent
    kappa_si = fl.si_quantity(value, name, unit, example, what=f"energy^(a-2)/time with exponent a = {a:g}")
    try:
        dimensionless = kappa_si * tau_D_s * E0_J ** (2 - a)
    except OverflowError:
        dimensionless = math.inf
    if not (math.isfinite(dimensionless) and dimensionless > 0):
        fl.fail(name, value, f"kappa tau_D E0^(2-a) = {dimensionless!r} is not a positive finite number",
                "a kappa of moderate size")
    return dimensionless, kappa_si


def _spin_mediated(data, host, tau_D, derived) -> dict:
    """The a = 2 kernel of electron-electron scattering mediated by the free impurity spins
    (:mod:`hotelectron.kinetics.mechanisms.spin_mediated`), kappa = 8 pi (n_s/nu)(nu J)^4 S(S+1) with the
    exchange of the scenario's own spin-flip rate, for all the impurities (the loader keeps the
    unpaired fraction)."""
    if "impurities" not in data:
        msg = "[spin_mediated] needs [impurities] (spin, concentration, and kondo_temperature or spin_flip_rate)"
        raise ValueError(msg)
    S, n_s, nu = derived["spin"], derived["n_s_m3"], host.dos_per_spin_J_m3
    exchange = exchange_of_spin_flip_rate(derived["spin_flip_rate_per_s"], n_s, S, nu)
    kappa = kappa_per_s(n_s, S, nu, exchange)
    derived.update(spin_mediated_exchange=exchange, spin_mediated_kappa_all_per_s=kappa)
    return {"kappa_all": kappa * tau_D}


def phonon_exponent(table, section) -> float:
    """p of the phonon kernel kappa_ph |E|^p (default 2, 3D phonons)."""
    if "exponent" not in table:
        return 2.0
    return fl.number(table["exponent"], f"[{section}] exponent", lo=MIN_EXPONENT, hi=MAX_EXPONENT,
                     allowed=f"a number in [{MIN_EXPONENT:g}, {MAX_EXPONENT:g}]: 2 for 3D phonons (the T^5 law)")


def _phonons(ph, host, E0, tau_D, derived) -> dict:
    """``kappa_ph tau_D E0^(p+1)`` from Sigma (P/Vol = Sigma (T_e^(p+3) - T_ph^(p+3))), and T_ph in E0."""
    p = phonon_exponent(ph, "phonons")
    T_left, T_right = derived["temperature_left_K"], derived["temperature_right_K"]
    if "temperature" in ph:
        T_ph = fl.temperature_K(ph["temperature"], "[phonons] temperature")
    elif T_left == T_right:
        T_ph = T_left
    else:
        msg = (f"[phonons] temperature is required when the reservoirs differ ({T_left:g} K and {T_right:g} K): "
               "the phonon bath has no default temperature then")
        raise ValueError(msg)
    _exclusive(ph, "phonons", "sigma", "kappa_dimensionless")
    if "kappa_dimensionless" in ph:
        kappa = fl.number(ph["kappa_dimensionless"], "[phonons] kappa_dimensionless", lo=0, lo_open=True)
    else:
        if "sigma" in ph:
            unit = registry().Unit("W") / registry().Unit("K") ** (p + 3) / registry().Unit("m") ** 3
            sigma = fl.si_quantity(ph["sigma"], "[phonons] sigma", unit, f'"2e9 W K^-{p + 3:g} m^-3"',
                                   what=f"power / (temperature^{p + 3:g} volume) with exponent p = {p:g}")
            if not sigma > 0:
                fl.fail("[phonons] sigma", ph["sigma"], "not positive", "Sigma > 0")
        elif host.electron_phonon_sigma_W_K5_m3 is not None and p == 2:
            sigma = host.electron_phonon_sigma_W_K5_m3
        else:
            msg = (f"[phonons] sigma is required (no default for [wire] material = {host.name!r} with exponent "
                   f"{p:g}; defaults: Cu, Ag, Au with p = 2)")
            raise ValueError(msg)
        kappa_si = kappa_from_sigma(sigma, host.dos_per_spin_J_m3, p)
        kappa = kappa_si * tau_D * E0 ** (p + 1)
        if not (math.isfinite(kappa) and kappa > 0):
            fl.fail("[phonons] sigma", ph.get("sigma", sigma), f"kappa_ph tau_D E0^(p+1) = {kappa!r} is not a "
                    "positive finite number", "a Sigma of moderate size")
        derived.update({PHONON_SIGMA_KEY: sigma, "phonon_kappa_per_s_J^(p+1)": kappa_si})
    derived.update(phonon_temperature_K=T_ph, phonon_temperature_E0=T_ph * BOLTZMANN_J_PER_K / E0,
                   phonon_exponent=p, phonon_kappa=kappa)
    return {"kappa": kappa, "temperature": T_ph * BOLTZMANN_J_PER_K / E0, "exponent": p}


def physical(data: dict) -> Physics:
    """The dimensionless problem fixed by the physical sections of a parsed TOML document."""
    derived: dict = {}
    if "wire" not in data:
        msg = "[wire] is required (material, length, diffusion_constant), or use a [dimensionless] section"
        raise ValueError(msg)
    wire = fl.check_keys(data["wire"], "wire", WIRE_KEYS)
    if "reservoirs" not in data:
        msg = "[reservoirs] is required (temperature, bias)"
        raise ValueError(msg)
    res = fl.check_keys(data["reservoirs"], "reservoirs", RESERVOIR_KEYS)
    host, D, tau_D = _wire(wire, derived)
    mu_l, mu_r, T_l, T_r, E0, unit, hot_K = _reservoirs(res, derived)
    out = Physics(mu_l, mu_r, T_l, T_r, E0, unit, tau_D, derived)
    if "impurities" in data:
        imp = fl.check_keys(data["impurities"], "impurities", IMPURITY_KEYS)
        out.pairs = _impurities(imp, host, D, E0, tau_D, hot_K, derived, out.warnings)
    if "electron_electron" in data:
        ee = fl.check_keys(data["electron_electron"], "electron_electron", EE_KEYS)
        out.electron_electron = _electron_electron(ee, "electron_electron", E0, tau_D, derived)
    if "phonons" in data:
        ph = fl.check_keys(data["phonons"], "phonons", PHONON_KEYS)
        out.phonons = _phonons(ph, host, E0, tau_D, derived)
    if "field" in data:
        out.magnetic_field = field_section(fl.check_keys(data["field"], "field", FIELD_KEYS), E0, derived)
    if "spin_mediated" in data:
        field = out.magnetic_field
        if field is not None and field.zeeman > 0:
            msg = (f"[spin_mediated] with {field.key} = {field.value!r}: the spin-mediated kernel in a field is not "
                   "available (it is suppressed below the Zeeman energy); remove [spin_mediated] or the field")
            raise ValueError(msg)
        fl.check_keys(data["spin_mediated"], "spin_mediated", SPIN_MEDIATED_KEYS)
        out.spin_mediated = _spin_mediated(data, host, tau_D, derived)
    return out

