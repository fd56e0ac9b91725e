import numpy as np
import pytest
from scipy import integrate
from spin_reference import coupled_states, pair_operator_s1, pair_spectrum

from hotelectron import spin

SPINS = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]


@pytest.mark.parametrize("S", SPINS)
def test_matrix_elements_match_clebsch_gordan_construction(S):
    labels, states = coupled_states(S)
    # the Clebsch-Gordan states are orthonormal
    np.testing.assert_allclose(states.T @ states, np.eye(len(labels)), atol=1e-12)
    s1 = [states.conj().T @ a @ states for a in pair_operator_s1(S)]  # S1 in the |J M> basis
    weight = sum(np.abs(m) ** 2 for m in s1)
    J_of = np.array([label[0] for label in labels])
    A = spin.matrix_elements(S)
    for row, (J, _M) in enumerate(labels):  # every M of every multiplet
        for Jp in range(A.shape[0]):
            summed = weight[row, J_of == Jp].sum()
            assert abs(summed - A[int(J), Jp]) <= 1e-12


@pytest.mark.parametrize("S", SPINS + [10.0])
def test_matrix_elements_sum_rules(S):
    J, _ = spin.levels(S)
    A = spin.matrix_elements(S)
    weighted = (2 * J + 1)[:, None] * A
    np.testing.assert_allclose(weighted, weighted.T, rtol=1e-14)
    assert weighted.sum() == pytest.approx(S * (S + 1) * (2 * S + 1) ** 2, rel=1e-14)  # VGL (A4)
    np.testing.assert_allclose(A.sum(axis=1), S * (S + 1), rtol=1e-14)  # <S1^2> = S(S+1)
    assert np.all(np.abs(np.subtract.outer(J, J))[A != 0] <= 1)


@pytest.mark.parametrize("S", SPINS)
def test_levels_are_the_heisenberg_spectrum(S):
    J, eps = spin.levels(S)
    lam, _ = pair_spectrum(S)
    np.testing.assert_allclose(np.sort(np.repeat(eps, (2 * J + 1).astype(int))), lam, atol=1e-12)
    np.testing.assert_allclose(np.diff(eps), J[1:], rtol=0)


@pytest.mark.parametrize("S", [0.5, 2.5])
def test_partition_and_gibbs_against_explicit_spectrum(S):
    lam, _ = pair_spectrum(S)
    V = np.array([-2.0, -0.3, 0.0, 0.7, 4.0])
    T = 0.9
    Z = np.exp(-np.outer(V, lam) / T).sum(axis=1)
    np.testing.assert_allclose(spin.partition(V, S, T), Z, rtol=1e-13)
    J, eps = spin.levels(S)
    P = spin.gibbs(V, S, T)
    np.testing.assert_allclose(P, np.exp(-V[:, None] * eps / T) / Z[:, None], rtol=1e-13)
    np.testing.assert_allclose(P @ (2 * J + 1), 1.0, rtol=1e-14)


def test_gibbs_extreme_and_zero_temperature():
    J, _ = spin.levels(2.5)
    P = spin.gibbs([-1e6, 1e6], 2.5, 1.0)  # would overflow a naive exponential
    np.testing.assert_allclose(P[0], np.eye(6)[-1] / 11)
    np.testing.assert_allclose(P[1], np.eye(6)[0])
    np.testing.assert_allclose(spin.gibbs([-1.0, 1.0], 2.5, 0.0), P)
    np.testing.assert_allclose(spin.gibbs(0.0, 2.5, 0.0), np.full(6, 1 / 36))


def _fermi_G(delta, T):
    """Electron-hole function of a Fermi gas at T: Delta / (1 - exp(-Delta/T))."""
    delta = np.asarray(delta, dtype=float)
    return np.where(delta == 0, T, delta / -np.expm1(-np.where(delta == 0, 1.0, delta) / T))


@pytest.mark.parametrize("S", SPINS)
def test_stationary_in_a_fermi_gas_is_gibbs(S):
    V = np.linspace(-5, 5, 21)
    T = 0.8
    P = spin.stationary(V, S, lambda d: _fermi_G(d, T))
    np.testing.assert_allclose(P, spin.gibbs(V, S, T), rtol=1e-12)


def test_stationary_at_zero_temperature_keeps_exact_zeros():
    def G(d):  # T = 0: the gas absorbs any Delta > 0 and gives up nothing
        return np.maximum(d, 0.0)

    P = spin.stationary([2.0, -2.0], 1.5, G)
    np.testing.assert_array_equal(P, spin.gibbs([2.0, -2.0], 1.5, 0.0))


@pytest.mark.parametrize("bad", [0, -1, 0.3, float("nan"), float("inf"), "1", True, None, 20.5])
def test_invalid_spin_is_refused_with_a_clear_message(bad):
    with pytest.raises(ValueError, match="spin S must be a positive multiple of 1/2"):
        spin.levels(bad)


def test_large_spin_is_accepted():
    assert spin.matrix_elements(10).shape == (21, 21)


def _resistivity_ratio(S, T, T_sg):
    """VGL (26) with (15-16) evaluated directly: explicit pair eigenstates, integral over V."""
    lam, weight = pair_spectrum(S)
    weight = weight / (S * (S + 1))
    omega_unit = lam[:, None] - lam[None, :]  # energy released per unit V, n -> m

    def F(V):  # int P(omega) h(omega/T) d omega for one coupling V
        x = -V * lam / T
        p = np.exp(x - x.max())
        p /= p.sum()
        w = omega_unit * V / T
        with np.errstate(over="ignore"):
            h = np.where(w == 0, 1.0, w / -np.expm1(-np.where(w == 0, 1.0, w)))
        return np.sum(p[:, None] * weight * h)

    # int dV/V^2 [F(V) + F(-V) - 2] with u = 1/V, a different variable from the one in alpha_S
    def integrand(u):
        return F(1.0 / u) + F(-1.0 / u) - 2.0  # quad never evaluates the end point u = 0

    value = 0.0
    for a, b in [(0.0, 1e-3 / T), (1e-3 / T, 1.0 / T), (1.0 / T, 1e4 / T)]:
        value += integrate.quad(integrand, a, b, epsabs=1e-12, epsrel=1e-10, limit=400)[0]
    # beyond u = 1e4/T (V < 1e-4 T) the bracket is 2 c V^2/T^2 with c bounded: negligible
    return 1.0 + (4.0 / 3.0) * T_sg * value


@pytest.mark.parametrize("S", SPINS)
def test_alpha_S_is_the_first_order_slope_of_the_resistivity(S):
    T = 1.0
    ratios = np.array([0.005, 0.01, 0.02])  # T_sg / T
    rho = [_resistivity_ratio(S, T, r * T) for r in ratios]
    slope = np.polyfit(ratios, rho, 1)[0]
    assert slope == pytest.approx(-spin.alpha_S(S), rel=1e-3)


def test_chi_equals_vgl72_for_spin_half():
    T, T_sg = 0.37, 0.05
    E = np.concatenate([-np.geomspace(1e-3, 20, 40), np.geomspace(1e-3, 200, 60)])
    x = E / T
    with np.errstate(over="ignore"):  # e^x overflows for the largest E: use the e^{-x} form there
        ex = np.exp(np.minimum(x, 300))
    vgl72 = 16 / 3 * T_sg**2 / E**2 * ex * (ex + 1) / ((3 * ex + 1) * (3 + ex))
    np.testing.assert_allclose(spin.chi(E, 0.5, T, T_sg), vgl72, rtol=1e-12)


@pytest.mark.parametrize("S", SPINS)
def test_chi_from_explicit_spin_matrices(S):
    """Energy-loss kernel from eigenstates of S1.S2: a pair n -> m absorbs E = V (lam_m - lam_n)."""
    T, T_sg = 0.6, 0.02
    lam, weight = pair_spectrum(S)
    for E in [-2.5, -0.1, 0.05, 1.3, 7.0]:
        total = 0.0
        for n in range(lam.size):
            for m in range(lam.size):
                gap = lam[m] - lam[n]
                if abs(gap) < 1e-9 or weight[n, m] < 1e-14:
                    continue
                V = E / gap
                x = -V * lam / T
                p = np.exp(x - x.max())
                p /= p.sum()
                total += p[n] * weight[n, m] / (S * (S + 1)) * abs(gap)
        expected = 4 / 3 * (T_sg / E) ** 2 * total
        assert spin.chi(E, S, T, T_sg) == pytest.approx(expected, rel=1e-11)


@pytest.mark.parametrize("S", SPINS)
def test_chi_detailed_balance_and_large_loss_asymptote(S):
    T, T_sg = 0.5, 0.1
    E = np.array([0.01, 0.3, 1.0, 4.0, 15.0])
    np.testing.assert_allclose(spin.chi(-E, S, T, T_sg), np.exp(-E / T) * spin.chi(E, S, T, T_sg), rtol=1e-12)
    big = 2000.0 * T
    asymptote = 4 / 3 * (2 * S + 1) / (S + 1) * T_sg**2 / big**2
    assert spin.chi(big, S, T, T_sg) == pytest.approx(asymptote, rel=1e-12)


def test_chi_refuses_zero_transfer():
    with pytest.raises(ValueError, match="non-zero energy transfers"):
        spin.chi(0.0, 0.5, 1.0, 1.0)


@pytest.mark.parametrize("T_sg", [-0.1, float("nan"), float("inf")])
def test_chi_refuses_a_spin_glass_temperature_that_is_not_a_positive_scale(T_sg):
    """chi is quadratic in T_sg: a negative T_sg returned the kernel of |T_sg| (0.0178 for -0.1)."""
    with pytest.raises(ValueError, match=rf"T_sg must be a finite number >= 0 \(the pairs' energy scale\); got {T_sg}"):
        spin.chi(1.0, 0.5, 0.1, T_sg)
