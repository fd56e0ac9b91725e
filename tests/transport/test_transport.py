import math
import re

import numpy as np
import pytest
from scipy import integrate

from hotelectron import spin
from hotelectron import transport as tr
from hotelectron.transport import first_order as fo
from hotelectron.transport import regimes
from hotelectron.units import BOLTZMANN_J_PER_K, ELEMENTARY_CHARGE_C, HBAR_J_S

SPINS = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]


# -- phi(omega) of VGL (D2) ----------------------------------------------------------------------
def test_phi_matches_the_printed_complex_expression_and_its_expansions():
    u = np.geomspace(1e-3, 1e5, 200)
    np.testing.assert_allclose(fo.phi(u), fo.phi_printed(u), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(fo.phi(-u), fo.phi(u), rtol=0)
    assert np.all(fo.phi(u) > 0) and np.all(fo.phi(u) < 0.25)
    small = np.array([1e-6, 1e-4])
    np.testing.assert_allclose(fo.phi(small) / small**2, 5 / 128, rtol=1e-7)  # phi = 5u^2/128 + O(u^4)
    np.testing.assert_allclose(fo.phi_over_u2(small), 5 / 128, rtol=1e-7)
    big = np.array([1e5, 1e6])  # phi -> 1/4 - u^{-3/2} (1 + O(1/u)); larger u loses digits in 1/4 - phi
    np.testing.assert_allclose((0.25 - fo.phi(big)) * big**1.5, 1.0, rtol=1e-5)


def test_integral_of_phi_over_omega_squared_has_the_derived_closed_form():
    numeric = 2 * integrate.quad(fo.phi_over_u2, 0, np.inf, epsabs=0, epsrel=1e-12, limit=500)[0]
    # an independent route: the printed complex form, integrated in t = u/2 = sinh(s)
    def via_s(s):
        u = 2 * np.sinh(s)
        return fo.phi_printed(u) / u**2 * 2 * np.cosh(s)

    second = 2 * integrate.quad(via_s, 1e-3, 40, epsabs=0, epsrel=1e-12, limit=500)[0] + 2 * 5 / 128 * 2e-3
    assert numeric == pytest.approx(3 * math.pi / 32, rel=1e-10)
    assert second == pytest.approx(3 * math.pi / 32, rel=1e-6)
    assert tr.PHI_OVER_U2_INTEGRAL == 3 * math.pi / 32


# -- spectral density of the pair correlator (VGL 15-16) -------------------------------------------
@pytest.mark.parametrize("S", SPINS)
def test_spectral_density_detailed_balance_and_value_at_zero(S):
    x = np.array([0.01, 0.4, 1.0, 3.0, 8.0])
    np.testing.assert_allclose(fo.spectral_density(-x, S), np.exp(x) * fo.spectral_density(x, S), rtol=1e-12)
    rho0 = (4 * S + 1) * (4 * S + 3) / (15 * (2 * S + 1))
    assert fo.correlator_weight_at_zero(S) == pytest.approx(rho0, rel=1e-14)
    assert float(fo.spectral_density(0.0, S)) == pytest.approx(rho0, rel=1e-14)


@pytest.mark.parametrize("S", [0.5, 2.5])
def test_spectral_density_is_the_correlator_of_the_pair_distribution(S):
    # VGL (15-16) directly: int dy/y^2 sum_JJ' w_JJ'(y) [g(y Delta) - g(0)] against the x-representation
    J, eps = spin.levels(S)
    A = spin.matrix_elements(S)

    def g(x):
        return np.exp(-((x - 0.7) ** 2))

    def over_y(y):
        p = (2 * J + 1) * spin.gibbs(y, S, 1.0)
        w = p[:, None] * A / (S * (S + 1))
        return np.sum(w * (g(y * np.subtract.outer(eps, eps)) - g(0.0))) / y**2

    def over_x(x):
        return fo.spectral_density(x, S) * (g(x) - g(0.0)) / x**2

    # both integrands are finite at 0 (the odd 1/y part cancels); skipping |y|, |x| < 1e-6 costs O(1e-6)
    pieces = [(-np.inf, -1e-6), (1e-6, np.inf)]
    by_y = sum(integrate.quad(over_y, a, b, epsabs=1e-12, epsrel=1e-10, limit=400)[0] for a, b in pieces)
    by_x = sum(integrate.quad(over_x, a, b, epsabs=1e-12, epsrel=1e-10, limit=400)[0] for a, b in pieces)
    assert by_x == pytest.approx(by_y, rel=1e-5)


# -- resistivity: first order of VGL (26) ----------------------------------------------------------
@pytest.mark.parametrize("S", SPINS)
def test_resistivity_coefficient_from_the_spectrum_equals_alpha_S(S):
    # two routes: integral over omega/T here, over V/T in hotelectron.spin.alpha_S
    assert fo.resistivity_coefficient(S) == pytest.approx(spin.alpha_S(S), rel=1e-7)


# -- weak localisation: first order of VGL (D1-D2) ------------------------------------------------
@pytest.mark.parametrize("S", SPINS)
def test_wl_corrections_are_positive_and_a_is_half_alpha(S):
    for theta in (1e-2, 1.0, 1e2):
        a, b = fo.wl_corrections(S, 0.1, theta)
        assert a > 0 and b > 0  # pairs suppress dephasing: both corrections raise Delta sigma
        assert a == pytest.approx(0.05 * spin.alpha_S(S), rel=1e-7)
    bs = [fo.wl_corrections(S, 1.0, theta)[1] for theta in (0.1, 1.0, 10.0)]
    assert bs[0] < bs[1] < bs[2]


@pytest.mark.parametrize("S", SPINS)
def test_wl_low_temperature_limit_vgl54(S):
    # T_sg << T << 1/tau_s: 1 + (alpha_S/2) T_sg/T
    a, b = fo.wl_corrections(S, 1.0, 1e-3)
    assert (a + b) == pytest.approx(spin.alpha_S(S) / 2, rel=1e-5)
    # and b vanishes as theta^2 there (phi = 5 u^2/128)
    b1 = fo.wl_corrections(S, 1.0, 1e-3)[1]
    b2 = fo.wl_corrections(S, 1.0, 2e-3)[1]
    assert b2 / b1 == pytest.approx(4.0, rel=1e-3)


@pytest.mark.parametrize("S", SPINS)
def test_wl_high_temperature_limit_vgl51(S):
    # T >> 1/tau_s: the coefficient of T_sg tau_s is the slope of b in theta = T tau_s at T_sg/T = 1
    theta = 1e4
    b1 = fo.wl_corrections(S, 1.0, theta)[1]
    b2 = fo.wl_corrections(S, 1.0, 2 * theta)[1]
    slope = (b2 - b1) / theta
    closed = math.pi * (4 * S + 1) * (4 * S + 3) / (120 * (2 * S + 1))
    assert fo.wl_high_temperature_coefficient_closed(S) == pytest.approx(closed, rel=1e-15)
    assert slope == pytest.approx(closed, rel=1e-6)
    # second route: rho(0) from the matrix elements times the closed-form phi integral
    assert fo.wl_high_temperature_coefficient(S) == pytest.approx(closed, rel=1e-13)


def test_wl_corrections_refuse_bad_input():
    with pytest.raises(ValueError, match="T_tau_s"):
        fo.wl_corrections(0.5, 0.1, -1.0)
    with pytest.raises(ValueError, match="tsg_over_T"):
        fo.wl_corrections(0.5, float("nan"), 1.0)


# -- the alloy and its scales --------------------------------------------------------------------
def alloy_high(**kw):
    """AuFe-like, T >> T_K regime."""
    args = dict(host="Au", spin=2.5, n_s_ppm=60.0, kondo_temperature_K=0.3, diffusion_m2_s=0.01)
    args.update(kw)
    return tr.Alloy(**args)


def test_alloy_scales_against_independent_si_expressions():
    al = alloy_high()
    nu = al.host.dos_per_spin_J_m3
    n_s = 60e-6 * 5.90e28
    assert al.n_s_m3 == pytest.approx(n_s, rel=1e-14)
    cutoff = HBAR_J_S * 1.40e6 * n_s ** (1 / 3)
    # T_sg = n_s V0, V0 = nu J0^2/(2 pi) (VGL 10) with J0 = 1/(2 nu ln) from one-loop scaling of J S.sigma
    J0 = 1 / (2 * nu * math.log(cutoff / (BOLTZMANN_J_PER_K * 0.3)))
    tsg_J = n_s * nu * J0**2 / (2 * math.pi)
    assert al.spin_glass_temperature_K == pytest.approx(tsg_J / BOLTZMANN_J_PER_K, rel=1e-12)
    # 12 pi n_s/(e^2 v_F^2 nu^2) of VGL (27) is 4 pi^2 Delta rho_U of VGL (34)
    rho27 = 12 * math.pi * n_s / (ELEMENTARY_CHARGE_C**2 * 1.40e6**2 * nu**2 * HBAR_J_S)
    assert rho27 == pytest.approx(4 * math.pi**2 * al.unitary_resistivity_ohm_m, rel=1e-13)
    with pytest.raises(ValueError, match="n_s/nu << T_K"):
        al.underscreened_spin_glass_temperature_K  # noqa: B018  n_s/nu = 5 K > T_K here
    with pytest.raises(ValueError, match="spin"):
        tr.Alloy("Au", 0.7, 1.0, 1.0)
    with pytest.raises(ValueError, match="unknown host"):
        tr.Alloy("Fe", 0.5, 1.0, 1.0)
    with pytest.raises(ValueError, match="diffusion"):
        regimes.weak_localisation_S_m(tr.Alloy("Au", 0.5, 60.0, 0.3), 10.0)


def test_exchange_coupling_solves_the_one_loop_scaling_equation():
    # d(nu J)/dl = 2 (nu J)^2 for H = J S.sigma: integrate from nu J0 at the cut-off D0 down to T
    nuJ0, lo = 0.05, 0.0
    T_K_over_D0 = math.exp(-1 / (2 * nuJ0))
    l_end = 7.0  # ln(D0/T)
    sol = integrate.solve_ivp(lambda _, y: 2 * y**2, (lo, l_end), [nuJ0], rtol=1e-12, atol=1e-14)
    log_T_over_TK = -l_end - math.log(T_K_over_D0)
    assert sol.y[0, -1] == pytest.approx(tr.exchange_coupling(log_T_over_TK), rel=1e-9)
    assert tr.exchange_coupling(log_T_over_TK) == pytest.approx(2 / log_T_over_TK / 4, rel=1e-15)  # VGL (2) / 4


def test_spin_flip_time_nagaoka_hamann_and_its_large_log_limit():
    al = alloy_high()
    nu = al.host.dos_per_spin_J_m3
    S2 = math.pi**2 * 2.5 * 3.5
    T = 20.0
    log = math.log(T / 0.3)
    # Hamann: (n_s/(pi hbar nu_F)) pi^2 S(S+1)/(pi^2 S(S+1) + ln^2), nu_F = 2 nu (both spins), in SI
    hamann = al.n_s_m3 / (math.pi * HBAR_J_S * 2 * nu) * S2 / (S2 + log**2)
    assert 1 / tr.spin_flip_time_s(al, T) == pytest.approx(hamann, rel=1e-12)
    # large log: VGL (52) as printed, (8 pi n_s/nu) S(S+1)/ln^2, divided by 16 (J of VGL 2 over 4)
    for T, rel in ((1e30, 0.02), (1e300, 2e-4)):
        log = math.log(T / 0.3)
        vgl52 = 8 * math.pi * al.n_s_m3 * 2.5 * 3.5 / (nu * HBAR_J_S * log**2)
        assert 1 / tr.spin_flip_time_s(al, T) == pytest.approx(vgl52 / 16, rel=rel)
        assert 1 / tr.spin_flip_time_s(al, T) != pytest.approx(vgl52 / 16, rel=rel / 20)  # O(1/ln^2) away
    # 1/tau_s = 2 pi nu n_s J^2 S(S+1) (VGL 6) with J = 1/(2 nu ln) from the scaling equation
    J = 1 / (2 * nu * log)
    born = 2 * math.pi * nu * al.n_s_m3 * J**2 * 2.5 * 3.5 / HBAR_J_S
    assert 1 / tr.spin_flip_time_s(al, T) == pytest.approx(born, rel=1e-3)
    # bounded by the unitary rate per channel 2 n_s/(pi hbar nu) at any logarithm
    assert 1 / tr.spin_flip_time_s(al, 0.3 * math.e, extrapolate=True) < 2 * al.n_s_m3 / (math.pi * HBAR_J_S * nu)
    with pytest.raises(ValueError, match="T >> T_K"):
        tr.spin_flip_time_s(al, 0.5)


# -- Kondo resistivity ---------------------------------------------------------------------------
def test_kondo_high_T_formula_limits_continuity_and_refusal():
    al = alloy_high()
    rho = [regimes.kondo_resistivity_high_T_ohm_m(al, T) for T in (200.0, 200.0 * (1 + 1e-9))]
    assert rho[1] == pytest.approx(rho[0], rel=1e-8)
    # without pairs (T_sg/T -> 0) it is Hamann's rho_U pi^2 S(S+1)/(4 ln^2(T/T_K)) (VGL 27 over 16); the
    # RKKY factor is 1 - alpha T_sg/T
    T = 1e3
    bare = al.unitary_resistivity_ohm_m * math.pi**2 * 8.75 / (4 * math.log(T / 0.3) ** 2)
    factor = regimes.kondo_resistivity_high_T_ohm_m(al, T) / bare
    assert factor == pytest.approx(1 - spin.alpha_S(2.5) * al.spin_glass_temperature_K / T, rel=1e-14)
    assert factor < 1
    with pytest.raises(ValueError, match=r"T >> T_K.*temperature_K = 0.5"):
        regimes.kondo_resistivity_high_T_ohm_m(al, 0.5)
    assert regimes.kondo_resistivity_high_T_ohm_m(al, 0.5, extrapolate=True) > 0
    # the leading log exceeds the unitary limit below ln(T/T_K) = (pi/2) sqrt(S(S+1)) (4.65 for S = 5/2)
    bound = 0.3 * math.exp(0.5 * math.pi * math.sqrt(8.75))
    with pytest.raises(ValueError, match=r"exceeds the unitary limit where ln\(T/T_K\) < \(pi/2\) sqrt\(S\(S\+1\)\) = 4.65"):
        regimes.kondo_resistivity_high_T_ohm_m(al, 0.99 * bound)
    below = regimes.kondo_resistivity_high_T_ohm_m(al, 0.99 * bound, extrapolate=True)
    assert below / (1 - spin.alpha_S(2.5) * al.spin_glass_temperature_K / (0.99 * bound)) > al.unitary_resistivity_ohm_m
    at = regimes.kondo_resistivity_high_T_ohm_m(al, 1.01 * bound)
    assert at < al.unitary_resistivity_ohm_m
    with pytest.raises(ValueError, match="first-order RKKY"):  # T below alpha T_sg (1.76 K): the correction exceeds 1
        regimes.kondo_resistivity_high_T_ohm_m(tr.Alloy("Au", 2.5, 80000.0, 1e-4), 0.1)


@pytest.mark.parametrize("S", [1.0, 2.5])
def test_at_the_unitary_bound_the_leading_logarithms_give_the_unitary_values(S):
    """The bound (pi/2) sqrt(spin factor) on the logarithm is where each leading-log formula reaches its
    unitary value: Delta rho_K of VGL (27) without pairs = rho_U, 1/tau~_s of VGL (59) = 2 n_s/(pi hbar nu)
    (the unitary rate per channel, from n_s/nu here), and VGL (38)'s correction without pairs = 1. Just
    inside each bound the formula is computed, just outside it is refused."""
    al = tr.Alloy("Au", S, 1e-3, 0.3, 0.01)  # dilute: above T_K the RKKY factor 1 - alpha T_sg/T is 1 to 1e-6
    high = 0.3 * math.exp(0.5 * math.pi * math.sqrt(S * (S + 1)))
    low = 0.3 * math.exp(-0.5 * math.pi * math.sqrt(S * S - 0.25))
    rho = regimes.kondo_resistivity_high_T_ohm_m(al, high * (1 + 1e-12))
    assert rho == pytest.approx(al.unitary_resistivity_ohm_m, rel=1e-6)
    unitary_rate_K = 2 / math.pi * al.n_s_over_nu_K
    assert tr.underscreened_spin_flip_time_s(al, low * (1 - 1e-12)) == pytest.approx(
        al.kelvin_to_seconds(unitary_rate_K), rel=1e-10)
    # VGL (38): rho_U [1 - 1 x (1 - r)], r = alpha_{S-1/2} T~_sg/T, is what the RKKY factor leaves
    T = low * (1 - 1e-12)
    rkky = spin.alpha_S(S - 0.5) * al.underscreened_spin_glass_temperature_K / T
    assert regimes.kondo_resistivity_low_T_ohm_m(al, T) == pytest.approx(al.unitary_resistivity_ohm_m * rkky, rel=1e-6)
    for call, T in ((regimes.kondo_resistivity_high_T_ohm_m, high * 0.999), (tr.underscreened_spin_flip_time_s, low * 1.001),
                    (regimes.kondo_resistivity_low_T_ohm_m, low * 1.001)):
        with pytest.raises(ValueError, match="exceeds the unitary limit"):
            call(al, T)


def test_kondo_maximum_T_star():
    al = alloy_high(n_s_ppm=48000.0, kondo_temperature_K=1e-3)  # T* = 7.6 K, above the unitary bound 0.10 K
    t_star = tr.characteristic_temperature_K(al)
    rho = [regimes.kondo_resistivity_high_T_ohm_m(al, t_star * f) for f in (1 - 1e-3, 1.0, 1 + 1e-3)]
    assert rho[1] > rho[0] and rho[1] > rho[2]
    # derivative vanishes: symmetric second-order finite difference
    h = 1e-5
    up, down = (regimes.kondo_resistivity_high_T_ohm_m(al, t_star * (1 + s * h)) for s in (1, -1))
    assert abs(up - down) / (2 * h * rho[1]) < 1e-7
    # VGL (29) is its leading-log form: the ratio tends to 1 as ln(T_sg/T_K) grows
    errors = []
    for log in (20.0, 100.0, 600.0):
        exact = regimes._high_T_maximum(1.0, math.exp(-log))
        errors.append(abs(exact / (0.5 * log) - 1))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.015
    with pytest.raises(ValueError, match="no maximum"):
        tr.characteristic_temperature_K(alloy_high(n_s_ppm=1.0))


def test_kondo_low_T_spin_half():
    al = tr.Alloy("Au", 0.5, 1.0, 30.0)
    rho_u = al.unitary_resistivity_ohm_m
    assert regimes.kondo_resistivity_low_T_ohm_m(al, 1e-4) == pytest.approx(rho_u, rel=1e-7)
    T = 0.5
    assert regimes.kondo_resistivity_ohm_m(al, T) == pytest.approx(rho_u * (1 - 9 * math.pi**4 / 4 * (T / 30) ** 2))
    with pytest.raises(ValueError, match=r"T << T_K"):
        regimes.kondo_resistivity_ohm_m(al, 3.0)
    assert regimes.kondo_resistivity_zero_T_ohm_m(al) == (rho_u, "VGL (33), T = 0")


def alloy_underscreened():
    """S = 1 with a large T_K: the underscreened perturbative regime exists between T~_sg and T_K."""
    return tr.Alloy("Au", 1.0, 1e-3, 300.0, 0.01)


def test_kondo_low_T_underscreened_and_T_tilde_star():
    al = alloy_underscreened()
    tsg = al.underscreened_spin_glass_temperature_K
    alpha = spin.alpha_S(0.5)  # effective spin S - 1/2, not the printed S - 1
    T = 1e-4
    log = math.log(300.0 / T)
    expected = al.unitary_resistivity_ohm_m * (1 - math.pi**2 * 0.75 / (4 * log**2) * (1 - alpha * tsg / T))
    assert regimes.kondo_resistivity_ohm_m(al, T) == pytest.approx(expected, rel=1e-13)
    # T~*: the logarithmic derivatives of the two factors of VGL (38) are equal there
    t_star = tr.underscreened_characteristic_temperature_K(al)
    h = 1e-6

    def dlog(f):
        return (math.log(f(t_star * (1 + h))) - math.log(f(t_star * (1 - h)))) / (2 * h)

    rkky = dlog(lambda t: 1 - alpha * tsg / t)
    logarithm = dlog(lambda t: 1 / math.log(300.0 / t) ** 2)
    assert rkky == pytest.approx(logarithm, rel=1e-6)
    estimate = tr.underscreened_characteristic_temperature_estimate_K(al)
    assert 0.5 < t_star / estimate < 1.0
    rho0, source = tr.kondo_resistivity_zero_T_ohm_m(al)
    assert source == "VGL (40)" and 0 < rho0 < al.unitary_resistivity_ohm_m
    with pytest.raises(ValueError, match=r"Delta rho_K \(VGL 38\) exceeds the unitary limit"):
        regimes.kondo_resistivity_low_T_ohm_m(al, 100.0)
    with pytest.raises(ValueError, match="S > 1/2"):
        tr.underscreened_characteristic_temperature_K(tr.Alloy("Au", 0.5, 1e-3, 300.0))


# -- weak localisation in physical units ---------------------------------------------------------
def test_weak_localisation_high_T_numeric_versus_the_limits():
    al = alloy_high(n_s_ppm=2000.0)
    T = 2.0
    tau = tr.spin_flip_time_s(al, T)
    base = al.wl_scale_S_m(tau)
    assert base == pytest.approx(ELEMENTARY_CHARGE_C**2 / (2 * math.pi * HBAR_J_S) * math.sqrt(0.01 * tau / 2))
    theta = BOLTZMANN_J_PER_K * T * tau / HBAR_J_S
    assert theta < 0.1  # T << 1/tau_s here
    numeric = tr.weak_localisation_S_m(al, T) / base - 1
    low = tr.weak_localisation_S_m(al, T, method="low") / base - 1
    assert numeric > low > 0
    assert (numeric - low) / low < theta**2  # b/a = O((T tau_s)^2)
    # dilute alloy at high T: T >> 1/tau_s, where VGL (51) is the limit
    dilute = alloy_high(n_s_ppm=1e-3)
    T = 30.0
    tau = tr.spin_flip_time_s(dilute, T)
    theta = BOLTZMANN_J_PER_K * T * tau / HBAR_J_S
    assert theta > 1e3
    base = dilute.wl_scale_S_m(tau)
    numeric = tr.weak_localisation_S_m(dilute, T) / base - 1
    high = tr.weak_localisation_S_m(dilute, T, method="high") / base - 1
    assert numeric == pytest.approx(high, rel=3 / theta)
    with pytest.raises(ValueError, match="method"):
        tr.weak_localisation_S_m(al, T, method="closed")


def test_fermi_liquid_weak_localisation_is_a_1_over_T_law():
    al = tr.Alloy("Au", 0.5, 1.0, 30.0, 0.01)
    # the coefficient C of VGL (57): a second route through t = tanh(z/2), where the weight is dt/2
    nodes, weights = np.polynomial.legendre.leggauss(200)
    second = 0.5 * np.sum(weights / np.sqrt(12 * np.arctanh(nodes) ** 2 + math.pi**2))
    assert tr.fermi_liquid_wl_coefficient() == pytest.approx(second, rel=1e-6)
    assert second == pytest.approx(0.255722, abs=1e-6)  # the value the docstring states
    values = [tr.weak_localisation_S_m(al, T) for T in (0.05, 0.1, 0.4)]
    np.testing.assert_allclose(np.array(values) * [0.05, 0.1, 0.4], values[0] * 0.05, rtol=1e-10)
    closed = tr.weak_localisation_S_m(al, 0.1, method="closed-form")
    assert values[1] == pytest.approx(closed, rel=1e-10)
    with pytest.raises(ValueError, match="T << T_K"):
        tr.weak_localisation_S_m(al, 5.0)


def test_underscreened_weak_localisation_uses_the_effective_spin():
    al = alloy_underscreened()
    T = 1e-3
    tau = tr.underscreened_spin_flip_time_s(al, T)
    rate = 8 * math.pi * al.n_s_over_nu_K * (1 - 0.25) / math.log(300 / T) ** 2 / 16  # VGL (59) / 16
    assert tau == pytest.approx(HBAR_J_S / (BOLTZMANN_J_PER_K * rate), rel=1e-13)
    base = al.wl_scale_S_m(tau)
    low = tr.weak_localisation_S_m(al, T, method="low") / base - 1
    assert low == pytest.approx(spin.alpha_S(0.5) / 2 * al.underscreened_spin_glass_temperature_K / T, rel=1e-13)
    theta = BOLTZMANN_J_PER_K * T * tau / HBAR_J_S
    numeric = tr.weak_localisation_S_m(al, T) / base - 1
    assert numeric == pytest.approx(sum(fo.wl_corrections(0.5, al.underscreened_spin_glass_temperature_K / T, theta)), rel=1e-12)
    assert numeric > low
    # VGL (60): pi (16 S^2 - 1)/(240 S) is the high-T coefficient of the effective spin S - 1/2
    for S in SPINS[1:]:
        assert fo.wl_high_temperature_coefficient_closed(S - 0.5) == pytest.approx(
            math.pi * (16 * S**2 - 1) / (240 * S), rel=1e-14
        )
    saturation = tr.weak_localisation_zero_T_S_m(al)
    tau0 = HBAR_J_S / (BOLTZMANN_J_PER_K * 8 * math.pi * al.n_s_over_nu_K * 0.25 / 16)
    log = math.log(300 / al.underscreened_spin_glass_temperature_K)
    assert saturation == pytest.approx(al.wl_scale_S_m(tau0 * log**2), rel=1e-13)


def test_zero_temperature_estimate_when_pairs_freeze_above_T_K():
    al = tr.Alloy("Au", 2.5, 48000.0, 1e-4)
    tsg = al.spin_glass_temperature_K
    rho0, source = tr.kondo_resistivity_zero_T_ohm_m(al)
    assert source == "VGL (30)"
    assert rho0 == pytest.approx(al.unitary_resistivity_ohm_m * math.pi**2 * 6.25 / (4 * math.log(tsg / 1e-4) ** 2))


def test_transport_command_prints_a_table_and_plots(tmp_path, capsys):
    import argparse

    from hotelectron.commands import transport as transport_cli

    parser = argparse.ArgumentParser()
    transport_cli.add_parser(parser.add_subparsers(dest="command"))
    fig = tmp_path / "fig.png"
    args = parser.parse_args(
        ["transport", "--material", "Au", "--spin", "2.5", "--ppm", "48000", "--kondo-temperature", "1 mK",
         "--tmin", "0.1 K", "--tmax", "100 K", "--points", "7", "--plot", str(fig)]
    )
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "T* =" in out and "T_sg =" in out
    rows = [line.split() for line in out.splitlines() if not line.startswith("#")][1:]
    assert len(rows) == 7
    # 0.1 K: ln(T/T_K) = 4.61, below the 4.65 where the leading log of VGL (27) reaches the unitary limit
    assert rows[0][1] == "-"
    al = tr.Alloy("Au", 2.5, 48000.0, 1e-3, 0.01)
    assert float(rows[-1][1]) == pytest.approx(tr.kondo_resistivity_ohm_m(al, 100.0), rel=1e-6)
    assert float(rows[-1][2]) == pytest.approx(tr.weak_localisation_S_m(al, 100.0), rel=1e-6)
    assert fig.stat().st_size > 1000
    bad = parser.parse_args(["transport", "--kondo-temperature", "0.3"])
    with pytest.raises(ValueError, match="--kondo-temperature.*unit is missing"):
        args.func(bad)


def test_transport_alloy_from_a_scenario_file(tmp_path):
    from hotelectron.commands import transport as transport_cli

    scenario = tmp_path / "aufe.toml"
    scenario.write_text(
        '[wire]\nmaterial = "Au"\ndiffusion_constant = "0.01 m^2/s"\n'
        '[impurities]\nspin = 2.5\nconcentration = "60 ppm"\nkondo_temperature = "0.3 K"\n'
    )
    alloy = transport_cli.alloy_from_scenario(scenario)
    assert alloy == tr.Alloy("Au", 2.5, 60.0, 0.3, 0.01)
    scenario.write_text('[impurities]\nspin = 2.5\nconcentration = "60"\nkondo_temperature = "0.3 K"\n')
    with pytest.raises(ValueError, match="concentration"):
        transport_cli.alloy_from_scenario(scenario)
    scenario.write_text("[impurities]\nspin = 2.5\n")
    with pytest.raises(ValueError, match="concentration is required"):
        transport_cli.alloy_from_scenario(scenario)


def test_transport_refuses_a_folder_a_missing_file_bad_toml_and_a_sweep_file_by_name(tmp_path):
    from hotelectron.commands import transport as transport_cli

    with pytest.raises(ValueError, match=f"{tmp_path} is a folder, not a scenario file"):
        transport_cli.alloy_from_scenario(tmp_path)
    with pytest.raises(FileNotFoundError, match="scenario file not found.*missing.toml"):
        transport_cli.alloy_from_scenario(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[impurities\nspin = 2.5\n")
    with pytest.raises(ValueError, match="broken.toml: not valid TOML"):
        transport_cli.alloy_from_scenario(broken)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('base = "a.toml"\n[axes]\n"field.B" = ["0 T", "1 T"]\n')
    with pytest.raises(ValueError, match="sweep.toml: this is a sweep file, not a scenario: run it with 'hotelectron sweep"):
        transport_cli.alloy_from_scenario(sweep)


def test_transport_table_says_why_a_row_is_empty_and_the_figure_which_scale_is_not_defined(tmp_path, capsys, caplog):
    """The README's alloy (Au, 60 ppm, S = 5/2, T_K = 0.3 K) from 1 mK to 3 K, where every reason for an
    empty row occurs (9 points: T~_sg undefined, the crossover on both sides of T_K, leading logarithms
    beyond the unitary limit on both sides): every "-" carries a note
    whose reason is printed under the table, rows within ln|T/T_K| < 1 are the crossover T~T_K, one
    warning counts the empty rows, and the legend says that T* is not defined (and why)."""
    import argparse
    import logging

    import matplotlib.pyplot as plt

    from hotelectron.commands import transport as transport_cli

    parser = argparse.ArgumentParser()
    transport_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["transport", "--tmax", "3 K", "--points", "9"])
    with caplog.at_level(logging.WARNING, logger="hotelectron"):
        assert args.func(args) == 0
    out = capsys.readouterr().out
    notes = dict(re.findall(r"^# \[(\d+)\] (.+)$", out, re.M))
    rows = [line for line in out.splitlines() if not line.startswith("#")][1:]
    assert len(rows) == 9
    empty = 0
    al = tr.Alloy("Au", 2.5, 60.0, 0.3, 0.01)
    for row in rows:
        cells = row.split()
        T = float(cells[0])
        if "-" in cells[1:3]:
            empty += 1
            marks = re.findall(r"\[(\d+)\]", row)
            assert marks and all(m in notes for m in marks), row
        else:
            assert "[" not in row
        assert ("T~T_K" in row) == (abs(math.log(T / 0.3)) < tr.MIN_LOG), row
    assert empty == 9 and len(notes) == 8
    # the leading logarithms refused where they exceed the unitary limit, at bounds computed here
    unitary = [n for n in notes.values() if "exceeds the unitary limit" in n]
    assert len(unitary) == 3  # VGL (27) above T_K; VGL (38) and (59), of the same residual coupling, below
    assert any(f"needs T <= {0.3 * math.exp(-0.5 * math.pi * math.sqrt(6.0)):.4g} K" in n for n in unitary)
    assert any(f"needs T >= {0.3 * math.exp(0.5 * math.pi * math.sqrt(8.75)):.4g} K" in n for n in unitary)
    # the reasons are those of the formulas, without the temperature they were asked at
    with pytest.raises(ValueError) as refused:
        tr.kondo_resistivity_ohm_m(al, 0.5)
    assert transport_cli.refusal(refused.value) in notes.values()
    assert "T* not defined: Delta rho_K has no maximum" in out
    assert "|Delta sigma_wl|" in out and "sigma_Drude A - |Delta sigma_wl|" in out
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "9 of 9" in warnings[0].getMessage()
    T = np.geomspace(1e-3, 3.0, 9)
    rho, sigma, _ = transport_cli.transport_curves(al, T)
    fig = transport_cli.transport_figure(T, rho, sigma, transport_cli._scales(al))
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    assert any(label.startswith("T* not defined: Delta rho_K has no maximum") for label in labels), labels
    assert any(label.startswith("T_K = 0.3 K") for label in labels), labels


def test_weak_localisation_is_the_magnitude_of_a_conductivity_reduction():
    """The sign convention: |Delta sigma_wl| = (e^2/2 pi hbar) sqrt(D tau_s/2) (1 + a + b) > 0, with
    a, b > 0 (pairs freeze spin flips, less dephasing, a larger correction), rising with T above T_K
    where the Kondo spin-flip rate falls."""
    al = tr.Alloy("Au", 2.5, 60.0, 0.3, 0.01)
    values = [tr.weak_localisation_S_m(al, T) for T in (1.0, 10.0, 100.0)]
    assert all(v > 0 for v in values) and values[0] < values[1] < values[2]
    bare = al.wl_scale_S_m(tr.spin_flip_time_s(al, 10.0))
    assert values[1] > bare
    assert tr.spin_flip_time_s(al, 1.0) < tr.spin_flip_time_s(al, 10.0)


@pytest.mark.parametrize(("ppm", "n_s_ppm", "refusal"), [
    ("1e-5", 1e-5, None), ("60", 60.0, None), ("0.006 percent", 60.0, None),
    ("nan", None, "--ppm = 'nan ppm': the value is not finite"),
])
def test_transport_ppm_takes_a_bare_number_as_ppm(ppm, n_s_ppm, refusal):
    """A bare number means ppm, written with an exponent or not, NaN included (refused as not finite)."""
    import argparse

    from hotelectron.commands import transport as transport_cli

    parser = argparse.ArgumentParser()
    transport_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["transport", "--ppm", ppm])
    if refusal is None:
        assert transport_cli._alloy_from_args(args).n_s_ppm == pytest.approx(n_s_ppm, rel=1e-12)
    else:
        with pytest.raises(ValueError, match=re.escape(refusal)):
            transport_cli._alloy_from_args(args)


@pytest.mark.parametrize(("args", "words"), [
    # was a traceback (OverflowError in the weak-localisation integral) after 48 s
    (["--tmax", "1e300 K"], ["--tmax 1e300 K: above the Fermi temperature of Au (6.4e+04 K)"]),
    (["--tmin", "1e5 K", "--tmax", "1e6 K"], ["--tmax 1e6 K: above the Fermi temperature of Au"]),
    (["--material", "Cu", "--tmax", "1e5 K"], ["--tmax 1e5 K: above the Fermi temperature of Cu (8.1e+04 K)"]),
    # was no output for minutes (each temperature costs up to ~1 s of integrals)
    (["--points", "100000000"], ["--points 100000000: at most 1000 temperatures"]),
])
def test_transport_refuses_temperatures_no_formula_can_take_before_any_work(monkeypatch, args, words):
    from systems import assert_one_line_refusal, cli

    def no_work(*args, **kwargs):
        raise AssertionError("the curves were computed before the refusal")

    monkeypatch.setattr("hotelectron.commands.transport.transport_table", no_work)
    assert_one_line_refusal(cli("transport", *args), *words)


@pytest.mark.parametrize("log", [0.0, -2.0, float("nan"), float("inf")])
def test_exchange_coupling_refuses_a_logarithm_that_is_not_positive(log):
    """``ln = |ln(T/T_K)|`` is positive: 0 raised ZeroDivisionError, -2 returned nu J = -0.25."""
    with pytest.raises(ValueError, match=rf"exchange_coupling needs ln = \|ln\(T/T_K\)\| finite and > 0; got {log}"):
        tr.exchange_coupling(log)
