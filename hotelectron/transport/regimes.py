"""Kondo resistivity and weak-localisation correction of a wire in every regime of VGL sections III-IV.

All functions take an :class:`~hotelectron.transport.alloy.Alloy` and temperatures in kelvin, and return
SI values: resistivities in ohm m, wire conductivities (conductance times length) in S m, times in s.

Validity. Each formula refuses (``ValueError`` naming the temperature and the bound) a temperature
outside its regime, unless called with ``extrapolate=True``:

* ``T >> T_K`` formulas need ``ln(T/T_K) >= MIN_LOG``; ``T << T_K`` ones ``ln(T_K/T) >= MIN_LOG``.
* A first-order RKKY correction must stay below ``MAX_FIRST_ORDER`` (1: the result keeps its sign).
* The Fermi-liquid (S = 1/2, T << T_K) correction ``(9 pi^4/4)(T/T_K)^2`` must stay below
  ``MAX_FERMI_LIQUID`` (1/2).
* The underscreened (S > 1/2) resistivity must stay positive.

Sign of the weak-localisation results. ``weak_localisation_*_S_m`` return the magnitude
``|Delta sigma_wl| > 0`` of the weak-localisation correction to the wire's conductivity times its
cross-section: the interference lowers the Drude value, ``sigma A = sigma_Drude A - |Delta sigma_wl|``
(conductance G = sigma A / L). Dephasing cuts it off: spin flips at the rate 1/tau_s give
``(e^2/2 pi hbar) sqrt(D tau_s/2)`` (VGL 45), and RKKY pairs, which freeze flips, make it larger
(``1 + a + b`` with a, b > 0); above T_K it grows with T as the Kondo rate 1/tau_s falls.

Quantitative accuracy needs more than that: the leading logarithms are good to ``O(1/ln)``.

Exchange constant. Every rate, resistivity and RKKY scale here is quadratic in the exchange constant
``nu J = 1/(2 ln)`` of one-loop scaling (:func:`~hotelectron.transport.alloy.exchange_coupling`), not
the ``2/ln`` printed in VGL (2): the printed VGL (27), (30), (38), (40), (52) and (59) are 16 times the
values computed here (Delta rho_K/Delta rho_U = pi^2 S(S+1)/(4 ln^2) at large log, Hamann's result).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import integrate, optimize

from .. import spin
from . import first_order
from .alloy import MIN_LOG, Alloy, exchange_coupling

__all__ = [
    "MAX_FERMI_LIQUID",
    "MAX_FIRST_ORDER",
    "characteristic_temperature_K",
    "characteristic_temperature_estimate_K",
    "fermi_liquid_wl_coefficient",
    "kondo_resistivity_high_T_ohm_m",
    "kondo_resistivity_low_T_ohm_m",
    "kondo_resistivity_ohm_m",
    "kondo_resistivity_zero_T_ohm_m",
    "spin_flip_time_s",
    "underscreened_characteristic_temperature_K",
    "underscreened_characteristic_temperature_estimate_K",
    "underscreened_spin_flip_time_s",
    "weak_localisation_high_T_S_m",
    "weak_localisation_low_T_S_m",
    "weak_localisation_S_m",
    "weak_localisation_zero_T_S_m",
]

MAX_FIRST_ORDER = 1.0
MAX_FERMI_LIQUID = 0.5
FERMI_LIQUID_T2 = 9 * math.pi**4 / 4  # VGL (33)


def _temperature(T):
    if not (isinstance(T, int | float | np.floating) and math.isfinite(T) and T > 0):
        msg = f"temperature_K must be a finite number > 0; got {T!r}"
        raise ValueError(msg)
    return float(T)


def _require(ok, msg, extrapolate):
    if not ok and not extrapolate:
        raise ValueError(msg + " (pass extrapolate=True to evaluate it anyway)")


def _kondo_log(alloy, T, what, extrapolate, high: bool):
    """``ln(T/T_K)`` (``high``) or ``ln(T_K/T)``, refused below ``MIN_LOG`` unless extrapolating."""
    ratio = T / alloy.kondo_temperature_K if high else alloy.kondo_temperature_K / T
    log = math.log(ratio)
    sign, kind = (1, "T >> T_K") if high else (-1, "T << T_K")
    symbol = "ln(T/T_K)" if high else "ln(T_K/T)"
    bound = alloy.kondo_temperature_K * math.exp(sign * MIN_LOG)
    _require(
        log >= MIN_LOG,
        f"{what} is a {kind} formula: temperature_K = {T:.4g} needs {symbol} >= {MIN_LOG:g}, "
        f"i.e. T {'>=' if high else '<='} {bound:.4g} K",
        extrapolate,
    )
    if log <= 0:
        msg = f"{what}: {symbol} = {log:.3g} <= 0 at temperature_K = {T:.4g}; the formula has no meaning there"
        raise ValueError(msg)
    return log


def _unitary_log(spin_factor: float) -> float:
    """The smallest logarithm at which a leading-log Kondo factor ``pi^2 (nu J)^2 spin_factor =
    pi^2 spin_factor/(4 ln^2)`` stays within the unitary limit 1: ``(pi/2) sqrt(spin_factor)``."""
    return 0.5 * math.pi * math.sqrt(spin_factor)


def _within_unitary(alloy, T, log, spin_factor, label, what, extrapolate, high: bool):
    """Refuse a leading-log formula where it exceeds the unitary limit (``_unitary_log``): the log is
    then too small for perturbation theory, and the result would be larger than any impurity can give."""
    bound = _unitary_log(spin_factor)
    symbol, op, sign = ("ln(T/T_K)", ">=", 1) if high else ("ln(T_K/T)", "<=", -1)
    _require(
        log >= bound,
        f"{what} exceeds the unitary limit where {symbol} < (pi/2) sqrt({label}) = {bound:.3g} (the logarithm is "
        f"too small for its leading order): temperature_K = {T:.4g} needs T {op} "
        f"{alloy.kondo_temperature_K * math.exp(sign * bound):.4g} K",
        extrapolate,
    )


def _high_log(alloy, T, what, extrapolate):
    return _kondo_log(alloy, T, what, extrapolate, high=True)


def _low_log(alloy, T, what, extrapolate):
    return _kondo_log(alloy, T, what, extrapolate, high=False)


def _fermi_liquid_correction(alloy, T, what, extrapolate):
    """``(9 pi^4/4)(T/T_K)^2`` of the S = 1/2 Fermi liquid, refused above ``MAX_FERMI_LIQUID``."""
    correction = FERMI_LIQUID_T2 * (T / alloy.kondo_temperature_K) ** 2
    _require(
        correction <= MAX_FERMI_LIQUID,
        f"{what} is a T << T_K formula: at temperature_K = {T:.4g} its correction "
        f"(9 pi^4/4)(T/T_K)^2 = {correction:.3g} exceeds {MAX_FERMI_LIQUID:g}",
        extrapolate,
    )
    return correction


def _first_order(value, T, what, extrapolate):
    _require(
        value <= MAX_FIRST_ORDER,
        f"{what}: the first-order RKKY correction {value:.3g} exceeds {MAX_FIRST_ORDER:g} at "
        f"temperature_K = {T:.4g} (T is too close to the RKKY scale)",
        extrapolate,
    )


# -- spin-flip times ----------------------------------------------------------------------------
def spin_flip_time_s(alloy: Alloy, temperature_K, *, extrapolate=False) -> float:
    """Spin-flip time of the Nagaoka-Hamann form, ``T >> T_K``; returns tau_s in s.

    ``1/tau_s = (n_s/(pi nu_F)) pi^2 S(S+1) / (pi^2 S(S+1) + ln^2(T/T_K))`` with ``nu_F = 2 nu``
    (Hamann, Phys. Rev. 158, 570 (1967); Pierre et al., PRB 68, 085413 (2003)). At large logarithm it is
    ``2 pi (n_s/nu)(nu J)^2 S(S+1) = (pi n_s/(2 nu)) S(S+1)/ln^2``: VGL (52) with the exchange
    ``nu J = 1/(2 ln)`` of one-loop scaling; the printed VGL (52), ``(8 pi n_s/nu) S(S+1)/ln^2``, uses
    VGL (2)'s ``nu J = 2/ln`` and is 16 times larger. The Hamann form stays below the unitary bound
    ``2 n_s/(pi nu)`` per channel as the logarithm shrinks, where VGL (52) diverges.
    """
    T = _temperature(temperature_K)
    log = _high_log(alloy, T, "tau_s (Nagaoka-Hamann, VGL 52)", extrapolate)
    s2 = math.pi**2 * alloy.spin * (alloy.spin + 1)
    return alloy.kelvin_to_seconds(alloy.n_s_over_nu_K / (2 * math.pi) * s2 / (s2 + log**2))


def underscreened_spin_flip_time_s(alloy: Alloy, temperature_K, *, extrapolate=False) -> float:
    """``1/tau~_s = 2 pi (n_s/nu)(nu J)^2 (S^2 - 1/4) = (pi n_s/(2 nu))(S^2 - 1/4)/ln^2(T_K/T)``; in s.

    VGL (59) for ``T << T_K``, ``S > 1/2``, with ``nu J = 1/(2 ln)``; the printed coefficient ``8 pi`` uses
    VGL (2)'s ``nu J = 2/ln`` and is 16 times larger. Refused where it exceeds the unitary bound
    ``2 n_s/(pi nu)``, i.e. below ``ln(T_K/T) = (pi/2) sqrt(S^2 - 1/4)`` (3.85 for S = 5/2).
    """
    T = _temperature(temperature_K)
    _need_underscreened(alloy, "tau~_s (VGL 59)")
    log = _low_log(alloy, T, "tau~_s (VGL 59)", extrapolate)
    S = alloy.spin
    _within_unitary(alloy, T, log, S * S - 0.25, "S^2 - 1/4", "1/tau~_s (VGL 59)", extrapolate, high=False)
    return alloy.kelvin_to_seconds(2 * math.pi * alloy.n_s_over_nu_K * exchange_coupling(log) ** 2 * (S * S - 0.25))


def _need_underscreened(alloy, what):
    if alloy.spin <= 0.5:
        msg = f"{what} describes underscreened spins S > 1/2; got spin = {alloy.spin:g}"
        raise ValueError(msg)


# -- Kondo resistivity --------------------------------------------------------------------------
def kondo_resistivity_high_T_ohm_m(alloy: Alloy, temperature_K, *, extrapolate=False) -> float:
    """VGL (27): ``rho_U pi^2 (nu J)^2 S(S+1) (1 - alpha_S T_sg/T)`` for ``T >> T_K``, ``T >> T_sg``.

    With ``nu J = 1/(2 ln(T/T_K))`` this is Hamann's ``rho_U pi^2 S(S+1)/(4 ln^2)`` at large log; the
    printed VGL (27), ``rho_U 4 pi^2 S(S+1)/ln^2`` (``4 pi^2 rho_U = 12 pi n_s/(e^2 v_F^2 nu^2)``), uses
    VGL (2)'s ``nu J = 2/ln`` and is 16 times larger. ``alpha_S`` is the first-order coefficient of VGL (26)
    (``hotelectron.spin.alpha_S``; the transport tests recompute it from the spectral density).
    Refused where the leading-log factor ``pi^2 S(S+1)/(4 ln^2)`` exceeds the unitary limit, below
    ``ln(T/T_K) = (pi/2) sqrt(S(S+1))`` (4.65 for S = 5/2), where Hamann's full form (the one
    ``spin_flip_time_s`` takes) stays below 1/2 and the leading log would exceed 1.
    """
    T = _temperature(temperature_K)
    what = "Delta rho_K (VGL 27)"
    log = _high_log(alloy, T, what, extrapolate)
    S = alloy.spin
    _within_unitary(alloy, T, log, S * (S + 1), "S(S+1)", what, extrapolate, high=True)
    correction = spin.alpha_S(S) * alloy.spin_glass_temperature_K / T
    _first_order(correction, T, what, extrapolate)
    return alloy.unitary_resistivity_ohm_m * math.pi**2 * exchange_coupling(log) ** 2 * S * (S + 1) * (1 - correction)


def kondo_resistivity_low_T_ohm_m(alloy: Alloy, temperature_K, *, extrapolate=False) -> float:
    """Kondo resistivity for ``T << T_K``.

    * S = 1/2, VGL (33): ``rho_U [1 - (9 pi^4/4) T^2/T_K^2]`` (the impurities are screened; pairs play
      no role at this order).
    * S > 1/2, VGL (38): ``rho_U [1 - pi^2 (S^2 - 1/4)/(4 ln^2(T_K/T)) (1 - alpha_{S-1/2} T~_sg/T)]``; the
      underscreened spin S - 1/2 carries the RKKY correction with ``alpha`` of the effective spin. The
      printed ``4 pi^2`` is corrected by the factor 16 of ``nu J = 1/(2 ln)`` (module docstring). Refused,
      as VGL (59) of the same residual coupling, where its leading log exceeds the unitary limit.
    """
    T = _temperature(temperature_K)
    S = alloy.spin
    rho_u = alloy.unitary_resistivity_ohm_m
    if S == 0.5:
        correction = _fermi_liquid_correction(alloy, T, "Delta rho_K (VGL 33)", extrapolate)
        return rho_u * (1 - correction)
    what = "Delta rho_K (VGL 38)"
    log = _low_log(alloy, T, what, extrapolate)
    _within_unitary(alloy, T, log, S * S - 0.25, "S^2 - 1/4", what, extrapolate, high=False)
    rkky = spin.alpha_S(S - 0.5) * alloy.underscreened_spin_glass_temperature_K / T
    _first_order(rkky, T, what, extrapolate)
    return rho_u * (1 - math.pi**2 * exchange_coupling(log) ** 2 * (S * S - 0.25) * (1 - rkky))


def kondo_resistivity_ohm_m(alloy: Alloy, temperature_K, *, extrapolate=False) -> float:
    """Kondo resistivity: VGL (27) for ``T >= T_K`` and VGL (33)/(38) below; each checks its own validity."""
    T = _temperature(temperature_K)
    if T >= alloy.kondo_temperature_K:
        return kondo_resistivity_high_T_ohm_m(alloy, T, extrapolate=extrapolate)
    return kondo_resistivity_low_T_ohm_m(alloy, T, extrapolate=extrapolate)


def kondo_resistivity_zero_T_ohm_m(alloy: Alloy) -> tuple[float, str]:
    """``T -> 0`` estimate of the Kondo resistivity and the equation it comes from.

    * ``T_sg >> T_K`` (pairs freeze before screening), VGL (30): ``rho_U pi^2 S^2 / (4 ln^2(T_sg/T_K))``.
    * otherwise S > 1/2, VGL (40): ``rho_U [1 - pi^2 (S - 1/2)^2 / (4 ln^2(T_K/T~_sg))]`` (both with the
      factor 16 of ``nu J = 1/(2 ln)`` applied to the printed ``4 pi^2``, module docstring); the paper prints
      ``T_sg`` in this logarithm, we use the RKKY scale of the underscreened spins ``T~_sg`` (VGL 37) that
      sets the low-temperature crossover (VGL 39); the difference is beyond the logarithmic accuracy.
    * otherwise (S = 1/2, screened): ``rho_U`` (VGL 33 at T = 0).
    """
    S = alloy.spin
    rho_u = alloy.unitary_resistivity_ohm_m
    # T_sg of VGL (10) exists only for T_K below hbar v_F n_s^{1/3}; above it pairs cannot freeze first
    has_tsg = math.log(alloy.fermi_energy_density_K / alloy.kondo_temperature_K) >= MIN_LOG
    tsg = alloy.spin_glass_temperature_K if has_tsg else 0.0
    if has_tsg and math.log(tsg / alloy.kondo_temperature_K) >= MIN_LOG:
        nuJ = exchange_coupling(math.log(tsg / alloy.kondo_temperature_K))
        return rho_u * math.pi**2 * nuJ**2 * S * S, "VGL (30)"
    if S > 0.5:
        log = math.log(alloy.kondo_temperature_K / alloy.underscreened_spin_glass_temperature_K)
        correction = math.pi**2 * exchange_coupling(log) ** 2 * (S - 0.5) ** 2
        if correction >= 1:
            msg = (
                f"the T -> 0 estimate VGL (40) needs ln(T_K/T~_sg) > pi (S - 1/2)/2 = {math.pi * (S - 0.5) / 2:.3g}; "
                f"got {log:.3g} (kondo_temperature_K = {alloy.kondo_temperature_K:g}, n_s_ppm = {alloy.n_s_ppm:g})"
            )
            raise ValueError(msg)
        return rho_u * (1 - correction), "VGL (40)"
    return rho_u, "VGL (33), T = 0"


# -- characteristic temperatures ----------------------------------------------------------------
def _high_T_maximum(alpha_tsg_K, kondo_K, min_log=MIN_LOG):
    """Maximum of ``(1 - alpha T_sg/T)/ln^2(T/T_K)`` above ``ln(T/T_K) = min_log``: the largest root of
    ``T = alpha T_sg (1 + ln(T/T_K)/2)``."""
    lo = kondo_K * math.exp(min_log)

    def g(T):
        return T - alpha_tsg_K * (1 + 0.5 * math.log(T / kondo_K))

    start = max(lo, alpha_tsg_K / 2)  # g is convex with its minimum at alpha T_sg / 2
    if g(start) >= 0:
        msg = (
            f"Delta rho_K has no maximum above ln(T/T_K) = {min_log:.3g}: alpha_S T_sg = {alpha_tsg_K:.4g} K "
            f"is too small compared with kondo_temperature_K = {kondo_K:g}"
        )
        raise ValueError(msg)
    hi = 2 * start
    while g(hi) < 0:
        hi *= 2
    return optimize.brentq(g, start, hi, xtol=1e-15 * start, rtol=1e-14)


def characteristic_temperature_K(alloy: Alloy) -> float:
    """``T*``: the exact maximum of VGL (27) in T (root of ``T = alpha_S T_sg [1 + ln(T/T_K)/2]``), where
    VGL (27) holds (``kondo_resistivity_high_T_ohm_m``: above ``ln(T/T_K) = (pi/2) sqrt(S(S+1))``)."""
    S = alloy.spin
    return _high_T_maximum(spin.alpha_S(S) * alloy.spin_glass_temperature_K, alloy.kondo_temperature_K,
                           max(MIN_LOG, _unitary_log(S * (S + 1))))


def characteristic_temperature_estimate_K(alloy: Alloy) -> float:
    """VGL (29): ``T* ~ (alpha_S/2) T_sg ln(T_sg/T_K)``, the leading-log form of :func:`characteristic_temperature_K`."""
    tsg = alloy.spin_glass_temperature_K
    return 0.5 * spin.alpha_S(alloy.spin) * tsg * math.log(tsg / alloy.kondo_temperature_K)


def _low_T_crossover(alpha_tsg_K, kondo_K, min_log=MIN_LOG):
    """Root of ``T = alpha T~_sg (1 + ln(T_K/T)/2)`` below ``T_K e^{-min_log}``."""
    hi = kondo_K * math.exp(-min_log)

    def g(T):
        return T - alpha_tsg_K * (1 + 0.5 * math.log(kondo_K / T))

    if g(hi) <= 0:
        msg = f"T~* lies above T_K e^-{min_log:.3g}: alpha T~_sg = {alpha_tsg_K:.4g} K is not small compared with T_K"
        raise ValueError(msg)
    lo = hi / 2
    while g(lo) > 0:
        lo /= 2
    return optimize.brentq(g, lo, hi, xtol=1e-15 * lo, rtol=1e-14)


def underscreened_characteristic_temperature_K(alloy: Alloy) -> float:
    """``T~*`` for S > 1/2, T << T_K: where the RKKY factor of VGL (38) varies as fast as the logarithm.

    In VGL (38) both ``1/ln^2(T_K/T)`` and ``1 - alpha T~_sg/T`` grow with T, so Delta rho_K has no
    extremum; its temperature dependence changes from logarithmic (high T) to RKKY-dominated (low T)
    where the two factors have equal logarithmic derivatives, ``r/(1 - r) = 2/ln(T_K/T)`` with
    ``r = alpha T~_sg/T``, i.e. ``T = alpha T~_sg [1 + ln(T_K/T)/2]`` (the same equation as the maximum
    T* at T >> T_K, with ``ln(T/T_K)`` replaced by ``ln(T_K/T)``). We return that root; its leading-log
    form is VGL (39) with ``alpha_{S-1/2}`` (the paper prints ``alpha_{S-1}``, but the underscreened
    spin is S - 1/2). Sought where VGL (38) holds (below ``ln(T_K/T) = (pi/2) sqrt(S^2 - 1/4)``).
    """
    _need_underscreened(alloy, "T~* (VGL 39)")
    S = alloy.spin
    a = spin.alpha_S(S - 0.5) * alloy.underscreened_spin_glass_temperature_K
    return _low_T_crossover(a, alloy.kondo_temperature_K, max(MIN_LOG, _unitary_log(S * S - 0.25)))


def underscreened_characteristic_temperature_estimate_K(alloy: Alloy) -> float:
    """VGL (39) with the effective spin S - 1/2: ``T~* ~ (alpha_{S-1/2}/2) T~_sg ln(T_K/T~_sg)``."""
    _need_underscreened(alloy, "T~* (VGL 39)")
    tsg = alloy.underscreened_spin_glass_temperature_K
    return 0.5 * spin.alpha_S(alloy.spin - 0.5) * tsg * math.log(alloy.kondo_temperature_K / tsg)


# -- weak localisation --------------------------------------------------------------------------
def _wl_factor(S, tsg_over_T, T_tau_s, method):
    if method == "numeric":
        a, b = first_order.wl_corrections(S, tsg_over_T, T_tau_s)
        return a + b
    if method == "low":  # VGL (54)/(61), T_sg << T << 1/tau_s
        return 0.5 * spin.alpha_S(S) * tsg_over_T
    if method == "high":  # VGL (51)/(60), T >> 1/tau_s
        return first_order.wl_high_temperature_coefficient_closed(S) * tsg_over_T * T_tau_s
    msg = f"method must be 'numeric', 'low' or 'high'; got {method!r}"
    raise ValueError(msg)


def _theta(tau_s, T):
    """``T tau_s`` with hbar = k_B = 1 (T in kelvin, tau_s in seconds)."""
    from ..units import BOLTZMANN_J_PER_K, HBAR_J_S

    return BOLTZMANN_J_PER_K * T * tau_s / HBAR_J_S


def weak_localisation_high_T_S_m(alloy: Alloy, temperature_K, *, method="numeric", extrapolate=False) -> float:
    """``Delta sigma_0(T) [1 + a + b]`` for ``T >> T_K`` (VGL 45, 52, D1-D2), in S m.

    ``method="numeric"`` evaluates the first-order integrals (D1-D2, sign of b corrected, see
    :mod:`hotelectron.transport.first_order`) at the actual ``T tau_s``; ``"low"`` and ``"high"`` use the
    limits VGL (54) ``1 + (alpha_S/2) T_sg/T`` and VGL (51) ``1 + pi(4S+1)(4S+3)/(120(2S+1)) T_sg tau_s``.
    """
    T = _temperature(temperature_K)
    what = "Delta sigma_wl (VGL 45, D1-D2)"
    tau_s = spin_flip_time_s(alloy, T, extrapolate=extrapolate)
    correction = _wl_factor(alloy.spin, alloy.spin_glass_temperature_K / T, _theta(tau_s, T), method)
    _first_order(correction, T, what, extrapolate)
    return alloy.wl_scale_S_m(tau_s) * (1 + correction)


@functools.cache
def fermi_liquid_wl_coefficient() -> float:
    """``C = int dz / [4 cosh^2(z/2) sqrt(3 z^2 + pi^2)]`` of VGL (57) with ``z = eps/T`` (computed: 0.255722)."""

    def f(z):
        return 1.0 / (4 * math.cosh(z / 2) ** 2 * math.sqrt(3 * z * z + math.pi**2))

    return 2 * integrate.quad(f, 0, 80, epsabs=0, epsrel=1e-13, limit=200)[0]


def _fermi_liquid_rate_K(alloy, eps_K, T):
    """``Gamma~(eps) = (9 pi/8)(n_s/nu)(3 eps^2 + pi^2 T^2)/T_K^2`` (VGL 56), in kelvin."""
    return 9 * math.pi / 8 * alloy.n_s_over_nu_K * (3 * eps_K**2 + math.pi**2 * T**2) / alloy.kondo_temperature_K**2


def weak_localisation_low_T_S_m(alloy: Alloy, temperature_K, *, method="numeric", extrapolate=False) -> float:
    """Weak localisation for ``T << T_K``, in S m.

    * S = 1/2, VGL (57): ``(e^2/2 pi hbar) int sqrt(D/Gamma~(eps)) d eps / (4T cosh^2(eps/2T))``. With
      ``z = eps/T`` it is ``(e^2/2 pi hbar) sqrt(8 D nu/(9 pi n_s)) (T_K/T) C`` (a 1/T law) with
      ``C = fermi_liquid_wl_coefficient()``. ``method="numeric"`` integrates over eps in physical units,
      anything else uses the 1/T law.
    * S > 1/2, VGL (59-61): ``(e^2/2 pi hbar) sqrt(D tau~_s/2) [1 + a + b]`` with the effective spin
      S - 1/2, ``T~_sg`` and ``tau~_s``; ``method`` as in :func:`weak_localisation_high_T_S_m`.
    """
    T = _temperature(temperature_K)
    S = alloy.spin
    if S == 0.5:
        correction = _fermi_liquid_correction(alloy, T, "Delta sigma_wl (VGL 57)", extrapolate)
        if method != "numeric":
            unit = alloy.wl_scale_S_m(alloy.kelvin_to_seconds(1.0)) * math.sqrt(2)  # (e^2/2 pi hbar) sqrt(D hbar/k_B 1K)
            return unit * math.sqrt(8 / (9 * math.pi * alloy.n_s_over_nu_K)) * alloy.kondo_temperature_K / T * (
                fermi_liquid_wl_coefficient()
            )

        def f(eps):
            tau = alloy.kelvin_to_seconds(_fermi_liquid_rate_K(alloy, eps, T))
            return alloy.wl_scale_S_m(tau) * math.sqrt(2) / (4 * T * math.cosh(eps / (2 * T)) ** 2)

        return 2 * integrate.quad(f, 0, 80 * T, epsabs=0, epsrel=1e-12, limit=200)[0]
    what = "Delta sigma_wl (VGL 59-61)"
    tau_s = underscreened_spin_flip_time_s(alloy, T, extrapolate=extrapolate)
    correction = _wl_factor(S - 0.5, alloy.underscreened_spin_glass_temperature_K / T, _theta(tau_s, T), method)
    _first_order(correction, T, what, extrapolate)
    return alloy.wl_scale_S_m(tau_s) * (1 + correction)


def weak_localisation_S_m(alloy: Alloy, temperature_K, *, method="numeric", extrapolate=False) -> float:
    """Weak localisation ``|Delta sigma_wl|`` (magnitude: it lowers sigma A; module docstring): the
    ``T >> T_K`` form for ``T >= T_K``, the ``T << T_K`` form below."""
    T = _temperature(temperature_K)
    if T >= alloy.kondo_temperature_K:
        return weak_localisation_high_T_S_m(alloy, T, method=method, extrapolate=extrapolate)
    return weak_localisation_low_T_S_m(alloy, T, method=method, extrapolate=extrapolate)


def weak_localisation_zero_T_S_m(alloy: Alloy) -> float:
    """Saturation for S > 1/2, VGL (75): ``(e^2/2 pi hbar) sqrt(D tau~_s/2)``, ``1/tau~_s = (pi n_s/(2 nu))(S-1/2)^2/ln^2(T_K/T~_sg)``.

    The printed ``8 pi`` is corrected by the factor 16 of ``nu J = 1/(2 ln)`` (module docstring).
    """
    _need_underscreened(alloy, "the saturation of Delta sigma_wl (VGL 75)")
    S = alloy.spin
    log = math.log(alloy.kondo_temperature_K / alloy.underscreened_spin_glass_temperature_K)
    tau = alloy.kelvin_to_seconds(2 * math.pi * alloy.n_s_over_nu_K * exchange_coupling(log) ** 2 * (S - 0.5) ** 2)
    return alloy.wl_scale_S_m(tau)
