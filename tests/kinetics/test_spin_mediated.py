"""The spin-mediated electron-electron kernel of free spins (``mechanisms.spin_mediated``).

The channel table and the prefactor are checked against second-order amplitudes built from explicit
spin matrices (no commutator algebra), the conventions against the package's independently written
Kondo formulas (``transport``), and the kernel in a field against its limits (zero field, large
transfers, the suppression below Delta_Z) and detailed balance. The same amplitudes with broadened
intermediate states show why the poles at +-Delta_Z are the first-order flips counted twice.
"""

import functools
import math

import numpy as np
import pytest
from scipy.integrate import quad
from spin_reference import spin_matrices
from systems import fermi

from hotelectron.kinetics.collisions import Collisions
from hotelectron.kinetics.grids import EnergyGrid
from hotelectron.kinetics.levels import free_spin_levels
from hotelectron.kinetics.mechanisms import ElectronElectron
from hotelectron.kinetics.mechanisms.spin_mediated import (
    POLE,
    SPIN_CHANGE,
    boltzmann_populations,
    channel_weights,
    exchange_of_spin_flip_rate,
    field_kernel,
    kappa_per_s,
    kondo_exchange,
    spin_moments,
)
from hotelectron.materials import material
from hotelectron.transport.alloy import Alloy, exchange_coupling
from hotelectron.transport.regimes import spin_flip_time_s
from hotelectron.units import BOLTZMANN_J_PER_K, ELECTRON_VOLT_J, HBAR_J_S

PAULI = (np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]]))


# -- the independent route: second order in J from explicit spin matrices --------------------------
@functools.cache
def exchange_operators(S):
    """``S.sigma`` of electron 1 and of electron 2 on spin x electron 1 x electron 2 (spin basis
    m = S, S-1, ..., -S), and M of each product state."""
    Sv = spin_matrices(S)
    one = np.eye(2)
    V1 = sum(np.kron(np.kron(Sv[a], PAULI[a]), one) for a in range(3))
    V2 = sum(np.kron(np.kron(Sv[a], one), PAULI[a]) for a in range(3))
    return V1, V2, np.repeat(np.arange(S, -S - 1, -1), 4)


def explicit_rates(S, zeeman, loss, populations):
    """``{q: W_q}`` for ``H = S.sigma`` (J = 1): electron 1 loses ``loss``, the spin goes M -> M + q,
    ``W_q = sum_M p_M sum_{final, partner spins} (1/2) sum_{sigma_1} |A|^2`` with the amplitude of both
    orders of the two scatterings through every intermediate state, energies ``zeeman * M``."""
    V1, V2, M = exchange_operators(S)
    # E_i - E_n: electron 1 first, ``loss + Z (M_i - M_n)``; electron 2 first, ``-gain + Z (M_i - M_n)``
    # with the partner's gain ``loss - Z (M_f - M_i)``, i.e. ``-loss + Z (M_f - M_n)``
    first = 1.0 / (loss + zeeman * (M[None, :] - M[:, None]))  # [n, i]
    second = 1.0 / (-loss + zeeman * (M[:, None] - M[None, :]))  # [f, n]
    A = np.einsum("fn,ni,ni->fi", V2, V1, first) + np.einsum("fn,ni,fn->fi", V1, V2, second)
    p = np.repeat(populations[::-1], 4)  # populations are given for M = -S..S
    q = np.rint(M[:, None] - M[None, :]).astype(int)
    weight = 0.5 * np.abs(A) ** 2 * p[None, :]
    return {k: float(weight[q == k].sum()) for k in (-1, 0, 1)}


SPINS = [0.5, 1.0, 1.5, 2.5, 3.5]


def random_populations(S, rng):
    p = rng.random(int(2 * S + 1))
    return p / p.sum()


@pytest.mark.parametrize("S", SPINS)
def test_channels_are_the_second_order_amplitudes_of_explicit_spin_matrices(S, rng):
    """For random populations, both signs of the field and losses on both sides of the poles, the
    channel table (weights u_c, poles, spin changes) times 4 S(S+1) (the J^4 spin sum for H = J S.sigma)
    equals the explicit sum over spin states, grouped by the spin change, to round-off."""
    for zeeman, loss in [(0.3, 0.7), (0.3, 0.29), (-0.4, 0.13), (1.0, -2.3), (0.0, 0.5)]:
        p = random_populations(S, rng)
        explicit = explicit_rates(S, zeeman, loss, p)
        u = channel_weights(S, p)
        for q in (-1, 0, 1):
            closed = sum(4 * S * (S + 1) * u[c] / (loss - POLE[c] * zeeman) ** 2
                         for c in range(6) if SPIN_CHANGE[c] == q)
            assert closed == pytest.approx(explicit[q], rel=1e-12, abs=1e-14 * max(explicit.values()))


def test_zero_field_prefactor_from_the_golden_rule_in_si_units():
    """kappa = 2 pi n_s nu^3 J^4 (E^2 W)/hbar, the golden rule with the explicit spin sum W (both
    electrons' spins, the spin averaged), for Ag with 1 ppm of S = 5/2 at T_K = 40 mK, E* = 0.1 meV,
    and nu J of the package's Kondo coupling (``transport.alloy.exchange_coupling``)."""
    host, S = material("Ag"), 2.5
    n_s = 1e-6 * host.atomic_density_m3
    nu = host.dos_per_spin_J_m3
    E_star_K = 0.1e-3 * ELECTRON_VOLT_J / BOLTZMANN_J_PER_K
    log = math.log(E_star_K / 0.04)
    nuJ = exchange_coupling(log)
    assert kondo_exchange(E_star_K, 0.04) == pytest.approx(nuJ, rel=1e-15)
    loss = 0.37  # any energy: W goes as 1/loss^2 at zero field
    W = sum(explicit_rates(S, 0.0, loss, np.full(6, 1 / 6)).values())
    J = nuJ / nu  # J in J m^3
    golden = 2 * math.pi * n_s * nu**3 * J**4 * W * loss**2 / HBAR_J_S
    assert kappa_per_s(n_s, S, nu, nuJ) == pytest.approx(golden, rel=1e-12)
    # (pi/2)(n_s/nu) S(S+1)/ln^4 per hbar: the leading-log form of the module docstring, ~1.2 per ns here
    assert golden == pytest.approx(math.pi / 2 * n_s / (HBAR_J_S * nu) * S * (S + 1) / log**4, rel=1e-12)
    assert 1e9 < golden < 1.3e9


def test_kappa_is_fixed_by_the_spin_flip_rate_at_large_logarithm():
    """kappa = (2 hbar nu / (pi n_s S(S+1))) (1/tau_s)^2 with the leading-log spin-flip rate: here from
    the package's Nagaoka-Hamann tau_s (an independent implementation of n_s/nu, hbar and the exchange
    convention) with its unitarity factor ln^2/(ln^2 + pi^2 S(S+1)) divided out."""
    for host, S, ppm in [("Ag", 2.5, 1.0), ("Au", 1.5, 30.0), ("Cu", 0.5, 0.3)]:
        alloy = Alloy(host, S, ppm, 0.04)
        T = 2.0
        log = math.log(T / 0.04)
        s2 = math.pi**2 * S * (S + 1)
        rate = 1.0 / spin_flip_time_s(alloy, T) * (log**2 + s2) / log**2
        nu = alloy.host.dos_per_spin_J_m3
        expected = 2 * HBAR_J_S * nu / (math.pi * alloy.n_s_m3 * S * (S + 1)) * rate**2
        assert kappa_per_s(alloy.n_s_m3, S, nu, kondo_exchange(T, 0.04)) == pytest.approx(expected, rel=1e-12)


def test_exchange_of_the_nagaoka_hamann_rate_is_the_unitarity_bounded_coupling():
    """``exchange_of_spin_flip_rate`` of the package's Nagaoka-Hamann 1/tau_s (``transport``: its own
    n_s/nu, hbar and kelvin conversion) is ``1/(2 sqrt(ln^2 + pi^2 S(S+1)))``, the coupling the module
    docstring gives the scenarios; at large logarithm the leading-log ``kondo_exchange``."""
    for host, S, ppm in [("Ag", 2.5, 1.0), ("Au", 1.5, 30.0), ("Cu", 0.5, 0.3)]:
        alloy = Alloy(host, S, ppm, 0.04)
        for T in (2.0, 40.0):
            log = math.log(T / 0.04)
            rate = 1.0 / spin_flip_time_s(alloy, T)
            exchange = exchange_of_spin_flip_rate(rate, alloy.n_s_m3, S, alloy.host.dos_per_spin_J_m3)
            assert exchange == pytest.approx(0.5 / math.sqrt(log**2 + math.pi**2 * S * (S + 1)), rel=1e-12)
            assert exchange < kondo_exchange(T, 0.04)


def fermi_gas(T):
    """G(x) = x / (1 - exp(-x/T)) of a Fermi gas at T (x -> T at 0), overflow-free."""
    def G(x):
        x = np.asarray(x, dtype=float)
        y = x / T
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(y > 0, x / -np.expm1(-np.abs(y)), -x * np.exp(-np.abs(y)) / -np.expm1(-np.abs(y)))
        return np.where(y == 0, T, value)
    return G


def test_zero_field_kernel_is_the_a2_kernel_with_the_physical_strength():
    """At Delta_Z = 0, whatever the populations, K(E) = kappa G(E)/E^2, and the strength from physical
    inputs enters the engine as ``ElectronElectron(kappa t0, 2)``: its kernel is kappa t0 G(m d) times the
    cell integral of 1/E^2, 1/(d (m^2 - 1/4)) (the m = +-1 cells carry its numerically summed second-order
    correction c(2) ~ 1e-13)."""
    G = fermi_gas(0.3)
    E = np.array([-2.0, -0.4, 0.05, 0.7, 3.0])
    for S, p in [(0.5, [0.3, 0.7]), (2.5, boltzmann_populations(2.5, 0.0, 0.1))]:
        np.testing.assert_allclose(field_kernel(S, p, 0.0, E, G), G(E) / E**2, rtol=1e-14)
    host = material("Ag")
    t0 = 1e-9  # s
    kappa = kappa_per_s(1e-6 * host.atomic_density_m3, 2.5, host.dos_per_spin_J_m3, kondo_exchange(1.16, 0.04)) * t0
    grid = EnergyGrid(201, 0.1)
    c = Collisions(grid, (ElectronElectron(kappa, 2.0),))
    G_grid = c.electron_hole(fermi(grid.values, 0.3)[None])
    K = c.kernel(None, G_grid)[0]
    m = np.arange(-(grid.n - 1), grid.n)
    exact = np.where(m != 0, kappa * G_grid[0] / (grid.step * (m * m - 0.25)), 0.0)
    assert np.max(np.abs(K[1:-1] - exact)) <= 1e-12 * np.max(exact)


def test_large_transfers_recover_the_zero_field_kernel():
    """For losses E >> Delta_Z, T, spins in their ground state: the first-order terms of the shifted poles
    and of the shifted partner G(E - Delta_Z) ~ E - Delta_Z cancel, and K/K(B = 0) - 1 falls as
    (Delta_Z/E)^2 (fitted log-log slope within 0.1 of -2). (Gains, E < 0, are exp(-|E|/T) small.)"""
    G = fermi_gas(0.05)
    E = np.array([10.0, 20.0, 40.0, 80.0, 160.0])
    deviation = np.abs(field_kernel(2.5, boltzmann_populations(2.5, 1.0, 0.0), 1.0, E, G) / (G(E) / E**2) - 1)
    assert np.polyfit(np.log(E), np.log(deviation), 1)[0] == pytest.approx(-2.0, abs=0.1)
    assert deviation[-1] < 1e-3


@pytest.mark.parametrize("populations, order", [(np.array([0.0, 0.0, 0.0, 1.0]), 1), (np.full(4, 0.25), 2)])
def test_channel_strengths_tend_to_the_zero_field_strength(populations, order):
    """``sum_c u_c E^2/(E - p_c)^2 -> 1`` for |E| >> Delta_Z (here Delta_Z = 1, S = 3/2): at first order in
    Delta_Z/E for polarised spins (all in M = +S: only lowering flips, one pole shift), at second order for
    equal populations (the odd terms cancel between raising and lowering)."""
    E = np.array([100.0, 200.0, 400.0, 800.0])
    deviation = np.abs(field_kernel(1.5, populations, 1.0, E, lambda x: np.ones_like(x)) * E**2 - 1)
    assert np.polyfit(np.log(E), np.log(deviation), 1)[0] == pytest.approx(-order, abs=0.1)


@pytest.mark.parametrize("S", [0.5, 1.0, 2.5])
def test_kernel_is_suppressed_below_the_zeeman_energy(S):
    """Spins in their ground state, electrons at T = Delta_Z/40: for 0 < |E| << Delta_Z only the virtual
    flip-and-return channels remain, K(E) E^2/G(E) -> (S/(S+1)) (E/Delta_Z)^2 instead of 1 (next order
    about 3 (E/Delta_Z)^2 relative; the spin flips cost exp(-40))."""
    G = fermi_gas(1.0 / 40)
    E = np.array([0.01, 0.02, 0.05, -0.01, -0.05])
    ratio = field_kernel(S, boltzmann_populations(S, 1.0, 0.0), 1.0, E, G) * E**2 / G(E)
    leading = S / (S + 1) * E**2
    assert np.all(np.abs(ratio / leading - 1) <= 4 * E**2)


@pytest.mark.parametrize("S", [0.5, 1.5, 2.5])
@pytest.mark.parametrize("zeeman", [-0.7, 0.3])
def test_boltzmann_spins_and_fermi_electrons_obey_detailed_balance(S, zeeman):
    """K(-E) = exp(-E/T) K(E) with populations and electrons at the same T; spins at another temperature
    break it."""
    T = 0.2
    G = fermi_gas(T)
    E = np.array([0.05, 0.17, 0.45, 1.1, 2.9])
    p = boltzmann_populations(S, zeeman, T)
    np.testing.assert_allclose(field_kernel(S, p, zeeman, -E, G), np.exp(-E / T) * field_kernel(S, p, zeeman, E, G),
                               rtol=1e-13)
    hot = boltzmann_populations(S, zeeman, 2 * T)
    assert not np.allclose(field_kernel(S, hot, zeeman, -E, G), np.exp(-E / T) * field_kernel(S, hot, zeeman, E, G),
                           rtol=1e-3)


# -- the poles at +-Delta_Z: real intermediate states -----------------------------------------------
def broadened_kernel(S, zeeman, loss, populations, widths, G):
    """``sum_{i, f} p_i (1/2) sum_sigma |A_fi|^2 G(loss - q zeeman)`` (J = 1) for the explicit
    second-order amplitude of ``explicit_rates`` with every intermediate spin state n broadened,
    ``E_i - E_n + i gamma_n / 2`` (widths and populations for M = -S..S ascending)."""
    V1, V2, M = exchange_operators(S)
    half_width = 0.5j * np.repeat(np.asarray(widths)[::-1], 4)
    first = 1.0 / (loss + zeeman * (M[None, :] - M[:, None]) + half_width[:, None])  # [n, i]
    second = 1.0 / (-loss + zeeman * (M[:, None] - M[None, :]) + half_width[None, :])  # [f, n]
    A = np.einsum("fn,ni,ni->fi", V2, V1, first) + np.einsum("fn,ni,fn->fi", V1, V2, second)
    p = np.repeat(np.asarray(populations)[::-1], 4)
    partner = G(loss - (M[:, None] - M[None, :]) * zeeman)
    return float(np.sum(0.5 * np.abs(A) ** 2 * p[None, :] * partner))


@pytest.mark.parametrize("S, zeeman", [(0.5, 0.8), (1.5, -0.5), (2.5, 0.5)])
def test_each_first_order_flip_is_the_resonance_of_two_second_order_terms(S, zeeman):
    """Why the field kernel is no mechanism on top of the first-order free spins (module docstring).

    Broaden every intermediate spin level n by its whole first-order scattering rate (the spin-conserving
    S_z part included), ``gamma_n = 4 pi (nu J)^2 sum_M' w[n, M'] G(Delta_Z (n - M'))`` with the
    package's free-spin weights w. With kappa from the spin-flip rate (``exchange_of_spin_flip_rate``,
    ``kappa_per_s``), the second-order kernel integrated over a window around a spin-flip transfer
    +-Delta_Z is twice the first-order flip rate ``(1/tau_s) sum_M c_{M, M+-1} P_M`` of the free spins,
    for Boltzmann spins with a Fermi gas (stationary): once where the electron flips first, once where the
    partner did. Populations away from the stationary ones break the factor 2. Window ``w = T/100``:
    the non-resonant part contributes at most ``4 gamma/(pi w)`` relative, the partner's G curvature
    about ``(w/T)^2``."""
    host = material("Ag")
    nu, n_s = host.dos_per_spin_J_m3, 1e-6 * host.atomic_density_m3
    nuJ = 1e-4  # small, so that gamma << the window << T; the ratio tested does not depend on it
    rate = 2 * math.pi * n_s / nu * nuJ**2 * S * (S + 1) / HBAR_J_S  # 1/tau_s of this exchange
    exchange = exchange_of_spin_flip_rate(rate, n_s, S, nu)
    assert exchange == pytest.approx(nuJ, rel=1e-12)
    kappa = kappa_per_s(n_s, S, nu, exchange)
    T = 1.0  # energies in units of T: kappa and the rates are per second whatever the energy unit
    G = fermi_gas(T)
    levels = free_spin_levels(S, zeeman)
    w = levels.weights  # [M, M'] = sum_a |<M'|S^a|M>|^2, M = -S..S
    M = np.arange(-S, S + 1)
    widths = 4 * math.pi * nuJ**2 * np.sum(w * G(zeeman * (M[:, None] - M[None, :])), axis=1)
    window = 1e-2 * T
    tolerance = 4 * widths.max() / (math.pi * window) + (window / T) ** 2
    rng = np.random.default_rng(7)
    for populations, stationary in [(boltzmann_populations(S, zeeman, T), True), (random_populations(S, rng), False)]:
        deviation = []
        for change in (1, -1):  # the spin goes M -> M + change; the electron loses change * Delta_Z
            pole = change * zeeman
            integral = quad(lambda E: broadened_kernel(S, zeeman, E, populations, widths, G), pole - window,
                            pole + window, points=[pole], limit=400, epsabs=0, epsrel=1e-8)[0]
            second_order = kappa / (4 * S * (S + 1)) * integral
            first_order = rate * sum(w[k, k + change] / (S * (S + 1)) * populations[k]
                                     for k in range(M.size) if 0 <= k + change < M.size)
            deviation.append(abs(second_order / (2 * first_order) - 1))
        if stationary:
            assert max(deviation) <= tolerance
        else:
            assert max(deviation) > 10 * tolerance


# -- inputs ------------------------------------------------------------------------------------------
def test_populations_and_moments():
    p = boltzmann_populations(2.5, 0.3, 0.2)
    M = np.arange(-2.5, 3.0)
    np.testing.assert_allclose(p[1:] / p[:-1], np.exp(-0.3 / 0.2), rtol=1e-13)
    up, down, zz = spin_moments(2.5, p)
    assert down == pytest.approx(np.exp(-0.3 / 0.2) * up, rel=1e-13)  # detailed balance of the flips
    assert up + down + 2 * zz == pytest.approx(2 * 2.5 * 3.5, rel=1e-14)
    assert zz == pytest.approx(np.sum(p * M**2), rel=1e-14)
    ground = boltzmann_populations(1.5, -0.2, 0.0)
    assert ground[-1] == 1.0 and ground.sum() == 1.0  # negative field: M = +S lowest
    np.testing.assert_allclose(boltzmann_populations(1.0, 0.0, 0.0), 1 / 3)


def test_bad_physical_inputs():
    with pytest.raises(ValueError, match="ln"):
        kondo_exchange(0.1, 0.05)  # ln 2 < 1
    with pytest.raises(ValueError, match="kondo_temperature_K"):
        kondo_exchange(1.0, 0.0)
    with pytest.raises(ValueError, match="n_s_m3"):
        kappa_per_s(-1.0, 0.5, 5e46, 0.1)
    with pytest.raises(ValueError, match="spin"):
        kappa_per_s(1e22, 0.3, 5e46, 0.1)
    with pytest.raises(ValueError, match="exchange"):
        kappa_per_s(1e22, 0.5, 5e46, float("nan"))
    with pytest.raises(ValueError, match="sum to 1"):
        spin_moments(0.5, [0.3, 0.3])
    with pytest.raises(ValueError, match="2 finite"):
        spin_moments(0.5, [0.3, 0.3, 0.4])
