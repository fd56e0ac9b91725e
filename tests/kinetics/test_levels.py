"""Impurity level species (hotelectron.kinetics.levels): weights against explicit spin matrices, sum
rules, detailed balance, the zero-field reduction to today's pair kinetics, free spins, and the
electron collision integral of a species (fixed point, conservation, today's PairScattering)."""

import numpy as np
import pytest
from spin_reference import clebsch_gordan, pair_operator_s1, spin_matrices
from systems import fermi

from hotelectron import spin
from hotelectron.kinetics import pair_dynamics
from hotelectron.kinetics.collisions import Collisions
from hotelectron.kinetics.convolution import electron_hole, electron_hole_at
from hotelectron.kinetics.grids import CouplingGrid, EnergyGrid
from hotelectron.kinetics.levels import (
    LevelSpecies,
    clebsch_gordan_vector,
    collision_integral_reference,
    free_spin_levels,
    pair_levels,
    pair_multiplets,
)
from hotelectron.kinetics.mechanisms import PairScattering

SPINS = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
BALANCE_SPINS = [0.5, 1.0, 1.5, 2.0, 2.5]
FIELDS = [0.25, 1.0, 2.6]  # 1.0 makes levels of different (J, M) degenerate for |V| = 1
EPS = np.finfo(float).eps


def fermi_G(T):
    """Electron-hole function of a Fermi gas at T, ``G(D) = D / (1 - exp(-D/T))``, overflow-free."""

    def G(D):
        D = np.asarray(D, dtype=float)
        a = np.abs(D)
        safe = np.where(a > 0, a, 1.0)
        h = np.where(a > 0, safe / np.expm1(np.minimum(safe / T, 700.0)), T)  # G(-|D|)
        return np.where(D > 0, D + h, h)

    return G


def zero_temperature_G(D):
    return np.maximum(np.asarray(D, dtype=float), 0.0)


def double_step_G(step, n=241, bias=1.0, T=0.05):
    """(G array on the grid, G callable at whole-step transfers) of a smeared double step."""
    grid = EnergyGrid(n, 8.0 / (n - 1)) if step is None else EnergyGrid(n, step)
    e = grid.values
    f = 0.5 * (fermi(e, T, bias / 2) + fermi(e, T, -bias / 2))
    G = electron_hole(f[None], grid.step)

    def Gc(D):
        m = np.rint(np.asarray(D) / grid.step).astype(np.int64)
        return electron_hole_at(G[0], m, grid.step)

    return grid, G, Gc


def index_of(species):
    return {label: i for i, label in enumerate(species.labels)}


# ---------------------------------------------------------------- Clebsch-Gordan and weights


def test_clebsch_gordan_vector_equals_racah_formula():
    worst = 0.0
    for twice_j in range(0, 15):
        j = twice_j / 2
        for m in np.arange(-j, j + 1):
            for q in (-1, 0, 1):
                for J in (j - 1, j, j + 1):
                    if J >= 0:
                        worst = max(worst, abs(clebsch_gordan_vector(j, m, q, J) - clebsch_gordan(j, m, 1, q, J, m + q)))
    assert worst <= 4 * EPS  # closed forms vs exact rationals: one square root and a division each
    assert clebsch_gordan_vector(1, 1, 1, 3) == 0.0 and clebsch_gordan_vector(1, 1, 1, 1) == 0.0  # J, |M| out of range


def explicit_pair_weights(S, V, zeeman):
    """Eigenstates |J M> of H = V S1.S2 + Dz(S1z + S2z) block by block in Sz (each J once per M, so no
    degeneracy inside a block), and ``W[a, b] = sum_c |<b|S1^c|a>|^2``; the energies of H in them."""
    s1 = pair_operator_s1(S)
    n1 = int(round(2 * S + 1))
    one = np.eye(n1)
    s2 = [np.kron(one, s) for s in spin_matrices(S)]
    heisenberg = sum(a @ b for a, b in zip(s1, s2)).real
    Mz = np.round(np.diag((s1[2] + s2[2]).real) * 2) / 2
    labels, vectors = [], []
    for M in np.unique(Mz):
        block = np.flatnonzero(Mz == M)
        lam, vec = np.linalg.eigh(heisenberg[np.ix_(block, block)])
        for value, v in zip(lam, vec.T):
            J = (np.sqrt(1 + 4 * (2 * value + 2 * S * (S + 1))) - 1) / 2  # lam = eps_J
            full = np.zeros(n1 * n1)
            full[block] = v
            labels.append((float(round(J)), float(M)))
            vectors.append(full)
    U = np.array(vectors).T
    H = V * heisenberg + zeeman * (s1[2] + s2[2]).real
    energies = np.diag(U.T @ H @ U)
    weight = sum(np.abs(U.T @ a @ U) ** 2 for a in s1)  # weight[b, a] = |<b|S1|a>|^2
    return labels, energies, weight.T


@pytest.mark.parametrize("S", SPINS)
def test_pair_weights_equal_explicit_two_spin_matrices(S):
    V, zeeman = -0.7, 0.45
    species = pair_levels(S, V, zeeman)
    labels, energies, weight = explicit_pair_weights(S, V, zeeman)
    where = index_of(species)
    order = np.array([where[label] for label in labels])
    assert sorted(order) == list(range(species.size))
    # eigenvectors of a block with norm ~S^2 and gaps >= 1 carry errors ~ (2S+1) S^2 eps
    assert np.max(np.abs(species.weights[np.ix_(order, order)] - weight)) <= 1e-13
    assert np.max(np.abs(species.energies[order] - energies)) <= 1e-13


@pytest.mark.parametrize("S", SPINS + [10.0])
def test_pair_weights_sum_over_final_projections_to_A(S):
    species = pair_levels(S, 1.3, -0.8)
    A = spin.matrix_elements(S)
    J = np.array([label[0] for label in species.labels])
    for Jp in range(A.shape[0]):
        summed = species.weights[:, J == Jp].sum(axis=1)
        np.testing.assert_allclose(summed, A[J.astype(int), Jp], rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(species.weights, species.weights.T, rtol=4 * EPS, atol=0)  # d = 1: |<b|S|a>|^2 = |<a|S|b>|^2
    assert np.all(species.weights[np.abs(np.subtract.outer(J, J)) > 1] == 0)


@pytest.mark.parametrize("S", SPINS)
def test_zero_field_pairs_collapse_to_the_multiplets(S):
    V = 0.9
    collapsed = pair_levels(S, V, 0.0).lumped(lambda label: label[0])
    multiplets = pair_multiplets(S, V)
    J, eps = spin.levels(S)
    assert collapsed.labels == multiplets.labels == tuple((j,) for j in J)
    np.testing.assert_array_equal(collapsed.degeneracies, 2 * J + 1)
    np.testing.assert_allclose(collapsed.weights, spin.matrix_elements(S), rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(collapsed.energies, V * eps, rtol=4 * EPS, atol=0)
    np.testing.assert_array_equal(multiplets.weights, spin.matrix_elements(S))


def test_lumping_refuses_levels_of_unequal_energy():
    with pytest.raises(ValueError, match="unequal energy"):
        pair_levels(1.5, 0.9, 0.1).lumped(lambda label: label[0])


def test_species_refuses_asymmetric_weights_and_bad_inputs():
    with pytest.raises(ValueError, match="symmetric"):
        LevelSpecies(0.5, [0.0, 1.0], [1, 1], [[0.0, 0.2], [0.1, 0.0]], ((0,), (1,)))
    with pytest.raises(ValueError, match="degeneracies"):
        LevelSpecies(0.5, [0.0, 1.0], [1, 0], np.zeros((2, 2)), ((0,), (1,)))
    with pytest.raises(ValueError, match="spin S"):
        pair_levels(0.3, 1.0, 0.0)
    with pytest.raises(ValueError, match="Zeeman energy"):
        free_spin_levels(1.0, float("nan"))


# ---------------------------------------------------------------- detailed balance, kinetics


@pytest.mark.parametrize("S", BALANCE_SPINS)
@pytest.mark.parametrize("V", [-1.0, 1.0, -0.35, 2.2])
def test_stationary_pairs_in_a_fermi_gas_are_gibbs(S, V):
    T = 0.7
    worst_absolute, worst_relative = 0.0, 0.0
    for zeeman in FIELDS:
        species = pair_levels(S, V, zeeman)
        P = species.stationary(fermi_G(T))
        gibbs = species.gibbs(T)
        worst_absolute = max(worst_absolute, np.max(np.abs(P - gibbs)))
        worst_relative = max(worst_relative, np.max(np.abs(P / gibbs - 1)))
        # every link balances: the rates at Gibbs vanish on the scale of a single flow
        rates = species.rates(gibbs, fermi_G(T))
        scale = np.max(species.transition_rates(fermi_G(T)) * gibbs[:, None])
        assert np.max(np.abs(rates)) <= 1e-13 * scale
    assert worst_absolute <= 1e-13
    # state reduction: each population to a few round-offs relative to itself, however small
    # (the smallest here is ~1e-20); ratios G(D)/G(-D) = exp(D/T) carry ~|D|/T eps each
    assert worst_relative <= 1e-12


@pytest.mark.parametrize("S", [0.5, 2.5])
def test_stationary_state_solves_the_balance_system(S):
    """A non-equilibrium gas (double step): state reduction against a direct linear solve."""
    _, _, Gc = double_step_G(step=0.05)
    species = pair_levels(S, 0.15, 0.1)  # transfers are whole steps of 0.05
    P = species.stationary(Gc)
    M = species.generator(Gc)
    system = M.copy()
    system[0] = species.degeneracies  # replace one balance row by the normalisation
    rhs = np.zeros(species.size)
    rhs[0] = 1.0
    direct = np.linalg.solve(system, rhs)
    np.testing.assert_allclose(P, direct, rtol=1e-11, atol=1e-14)  # direct solve: cond(system) eps
    assert np.max(np.abs(M @ P)) <= 1e-14 * np.max(np.abs(M)) * np.max(P)
    assert species.normalisation(P) == pytest.approx(1.0, abs=4 * EPS)
    assert not np.allclose(P, species.gibbs(0.05), rtol=1e-3)  # far from any Gibbs state: a real test


def test_zero_temperature_populates_the_ground_state_exactly():
    for S, V, zeeman in [(1.5, 0.4, 1.0), (2.5, -0.3, 0.2), (1.0, 0.5, -0.3)]:
        species = pair_levels(S, V, zeeman)
        np.testing.assert_array_equal(species.stationary(zero_temperature_G), species.gibbs(0.0))
        assert np.count_nonzero(species.gibbs(0.0)) == 1
    with pytest.raises(ValueError, match="not unique"):  # B = 0, T = 0: no transition between the M levels
        free_spin_levels(1.0, 0.0).stationary(zero_temperature_G)


@pytest.mark.parametrize("species", [pair_levels(2.5, 0.6, 0.3), pair_multiplets(1.5, -0.4), free_spin_levels(2.5, 0.5)],
                         ids=["pairs-field", "multiplets", "free-spins"])
def test_rates_and_implicit_step_conserve_and_relax(species, rng):
    _, _, Gc = double_step_G(step=0.05)
    P = rng.random(species.size)
    P /= species.normalisation(P)
    rates = species.rates(P, Gc, gamma=2.0)
    scale = np.max(np.abs(rates))
    assert scale > 0
    assert abs(species.normalisation(rates)) <= 4 * species.size * EPS * scale * species.degeneracies.max()
    stationary = species.stationary(Gc)
    for dt in (1e-3, 1.0):
        new = species.relax(P, Gc, dt, gamma=2.0)
        assert np.all(new >= 0)
        assert species.normalisation(new) == pytest.approx(1.0, abs=16 * EPS * species.size)
        # first order in dt: (P_new - P)/dt -> M P_new
        np.testing.assert_allclose((new - P) / dt, species.rates(new, Gc, gamma=2.0), rtol=1e-10, atol=1e-12 * scale)
    # dt -> inf: with P = stationary + r (d . r = 0), P_new - stationary = (1 - dt M)^-1 r ~ -Z r / dt,
    # Z = (M - stationary d^T)^-1 the inverse of M off its null space; plus the solve's round-off
    M = species.generator(Gc)
    Z = np.linalg.inv(M - np.outer(stationary, species.degeneracies))
    r = P - stationary
    dt = 1e12
    bound = 2 * np.linalg.norm(Z, 2) * np.linalg.norm(r) / dt
    bound += 16 * species.size * EPS * np.linalg.norm(M, 2) * np.linalg.norm(Z, 2) * np.max(stationary)
    assert np.max(np.abs(species.relax(P, Gc, dt) - stationary)) <= bound
    # beyond dt |M| ~ 1/eps the step is the stationary state itself
    np.testing.assert_allclose(species.relax(P, Gc, 1e30), stationary, rtol=4 * EPS, atol=0)  # times d . P = 1 +- eps


# ---------------------------------------------------------------- B = 0: today's pair kinetics


@pytest.mark.parametrize("S", [0.5, 1.0, 1.5, 2.5])
def test_zero_field_pair_species_reproduces_pair_dynamics(S, rng):
    grid, G, Gc = double_step_G(step=0.05)
    k = np.array([-60, -7, -1, 1, 3, 25, 200])  # the largest reach beyond the grid width (closed form of G)
    J, _ = spin.levels(S)
    P = rng.random((1, k.size, J.size))
    P /= (P @ (2 * J + 1))[..., None]
    gamma, dt = 3.0, 0.2
    rates = pair_dynamics.pair_rates(P, G, k, grid.step, S, gamma)[0]
    relaxed = pair_dynamics.relax_implicit(P, G, k, grid.step, S, gamma, dt)[0]
    stationary = pair_dynamics.stationary_pairs(G, k, grid.step, S)[0]
    for ik, kk in enumerate(k):
        species = pair_levels(S, kk * grid.step, 0.0)
        of_J = np.array([int(label[0]) for label in species.labels])
        P_M = P[0, ik, of_J]  # every M of a multiplet equally populated
        r = species.rates(P_M, Gc, gamma)
        scale = gamma * np.max(Gc(species.transfers)) * S * (S + 1) * np.max(P_M)
        assert np.max(np.abs(r - rates[ik, of_J])) <= 1e-14 * scale  # a few sums of O(1) terms
        summed = np.bincount(of_J, weights=r)
        np.testing.assert_allclose(summed, (2 * J + 1) * rates[ik], rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(species.relax(P_M, Gc, dt, gamma), relaxed[ik, of_J], rtol=1e-13, atol=0)
        stat = species.stationary(Gc)
        np.testing.assert_allclose(stat, stationary[ik, of_J], rtol=1e-13, atol=0)
        np.testing.assert_allclose(stat, spin.stationary(kk * grid.step, S, Gc)[of_J], rtol=1e-13, atol=0)
        # the multiplet species (today's path) agrees with the M-resolved one
        multiplets = pair_multiplets(S, kk * grid.step)
        np.testing.assert_allclose(multiplets.rates(P[0, ik], Gc, gamma), rates[ik], rtol=0, atol=1e-14 * scale)
        np.testing.assert_allclose(multiplets.stationary(Gc), stationary[ik], rtol=1e-13, atol=0)
        np.testing.assert_allclose(multiplets.relax(P[0, ik], Gc, dt, gamma), relaxed[ik], rtol=1e-13, atol=0)
        np.testing.assert_allclose(multiplets.gibbs(0.3), spin.gibbs(kk * grid.step, S, 0.3), rtol=1e-13)
        assert species.energy(P_M) == pytest.approx(multiplets.energy(P[0, ik]), rel=1e-14, abs=1e-14 * abs(kk) * grid.step)


# ---------------------------------------------------------------- free spins


@pytest.mark.parametrize("S", SPINS)
def test_free_spin_weights_equal_explicit_spin_matrices(S):
    species = free_spin_levels(S, 0.3)
    sx, sy, sz = spin_matrices(S)  # basis M = S .. -S
    explicit = sum(np.abs(a) ** 2 for a in (sx, sy, sz))[::-1, ::-1]  # [M', M] in M ascending; symmetric
    np.testing.assert_allclose(species.weights, explicit.T, rtol=0, atol=4 * EPS * S * (S + 1))
    np.testing.assert_allclose(species.electron_weights().sum(axis=1), 1.0, rtol=4 * EPS)  # c_MM' rows: SPEC 9
    np.testing.assert_array_equal(species.energies, 0.3 * np.arange(-S, S + 1))


@pytest.mark.parametrize("S", [0.5, 1.5, 2.5])
def test_free_spins_at_zero_field_exchange_no_energy(S, rng):
    species = free_spin_levels(S, 0.0)
    assert np.all(species.transfers == 0)
    P = rng.random(species.size)
    P /= species.normalisation(P)
    e = np.linspace(-3, 3, 61)

    def f(x):  # any distribution: a double step plus noise
        return 0.5 * (fermi(x, 0.1, 0.5) + fermi(x, 0.1, -0.5)) + 0.1 * np.sin(7 * x) ** 2

    I = collision_integral_reference(species, P, f, e)
    out = np.max(f(e) * (1 - f(e)))
    assert np.max(np.abs(I)) <= 8 * species.size**2 * EPS * out  # pairwise cancellation of P_L - P_L'
    _, _, Gc = double_step_G(step=0.05)
    assert species.energy(species.rates(P, Gc)) == 0.0
    lumped = species.lumped(lambda label: "spin")
    assert lumped.degeneracies.tolist() == [int(2 * S + 1)]
    assert lumped.weights[0, 0] == pytest.approx(S * (S + 1), rel=4 * EPS)


@pytest.mark.parametrize("S", [0.5, 1.0, 2.5, 3.5])
@pytest.mark.parametrize("zeeman", [-0.8, 0.3, 2.0])
def test_free_spins_gibbs_is_boltzmann_and_brillouin(S, zeeman):
    T = 0.6
    species = free_spin_levels(S, zeeman)
    M = np.arange(-S, S + 1)
    boltzmann = np.exp(-zeeman * M / T) / np.sum(np.exp(-zeeman * M / T))
    np.testing.assert_allclose(species.gibbs(T), boltzmann, rtol=1e-14)
    np.testing.assert_allclose(species.stationary(fermi_G(T)), boltzmann, rtol=1e-13)
    # <M> of a spin in a field: -[(S + 1/2) coth((S + 1/2) x) - coth(x/2)/2], x = Delta_Z / T
    x = zeeman / T
    brillouin = -((S + 0.5) / np.tanh((S + 0.5) * x) - 0.5 / np.tanh(x / 2))
    assert species.energy(species.gibbs(T)) == pytest.approx(zeeman * brillouin, rel=1e-13)


# ---------------------------------------------------------------- electron collision integral


@pytest.mark.parametrize("S", BALANCE_SPINS)
def test_fermi_electrons_with_gibbs_levels_are_a_fixed_point(S):
    T = 0.4
    e = np.linspace(-4, 4, 161)

    def f(x):
        return fermi(x, T)

    species_list = [pair_levels(S, V, zeeman) for V in (-1.0, 0.6) for zeeman in FIELDS]
    species_list += [free_spin_levels(S, zeeman) for zeeman in FIELDS]
    for species in species_list:
        P = species.gibbs(T)
        I = collision_integral_reference(species, P, f, e)
        c, D = species.electron_weights(), species.transfers
        out = sum(c[a, b] * P[a] * f(e) * (1 - f(e + D[a, b])) for a in range(species.size) for b in range(species.size))
        # each term is computed to a few eps of the largest out-scattering rate (as in test_mechanisms)
        assert np.max(np.abs(I)) <= 1e-13 * np.max(out)
        # and a non-Gibbs population is not stationary for the electrons
        assert np.max(np.abs(collision_integral_reference(species, species.gibbs(2 * T), f, e))) > 1e-3 * np.max(out)


@pytest.mark.parametrize("species", [pair_levels(1.5, 0.3, 0.2), pair_levels(2.5, -0.2, 0.5), free_spin_levels(2.5, 0.4)],
                         ids=["pairs-3/2", "pairs-5/2", "free-5/2"])
def test_collision_integral_conserves_particles_and_energy_with_the_level_kinetics(species, rng):
    """On a lattice of step h wide enough for every shifted support, ``h sum_e I = 0`` and
    ``h sum_e e I = dE_levels/dt / [gamma S(S+1)]`` with G the lattice sum of f(e)(1 - f(e + D))."""
    h = 0.1  # every transfer is a whole number of steps
    e = np.arange(-160, 161) * h
    bump = 0.3 * np.exp(-(((e - 0.7) / 0.3) ** 2))
    values = np.clip(0.5 * (fermi(e, 0.1, 0.5) + fermi(e, 0.1, -0.5)) + bump * (np.abs(e) < 3), 0, 1)

    def f(x):
        i = np.rint(np.asarray(x) / h).astype(np.int64) + 160
        return np.where(i < 0, 1.0, np.where(i > 320, 0.0, values[np.clip(i, 0, 320)]))

    def G(D):
        D = np.asarray(D)
        return h * np.sum(f(e) * (1 - f(e + D[..., None])), axis=-1)

    P = rng.random(species.size)
    P /= species.normalisation(P)
    I = collision_integral_reference(species, P, f, e)
    S = species.S
    assert abs(h * I.sum()) <= 1e-14 * h * np.abs(I).sum()
    energy_rate = species.energy(species.rates(P, G, gamma=1.0))
    assert abs(energy_rate) > 1e-3
    assert h * np.sum(e * I) * S * (S + 1) == pytest.approx(energy_rate, rel=1e-12)


@pytest.mark.parametrize("S", [0.5, 1.5, 2.5])
@pytest.mark.parametrize("k0", [3, 40])
def test_zero_field_pair_species_reproduces_pair_scattering(S, k0, rng):
    """A coupling grid of the two cells +-k0: PairScattering's integral equals
    (4/3) rate sum_k w_k I_V(eps) of the M-resolved species, for any populations and electrons."""
    n, rate = 201, 1.3
    grid = EnergyGrid(n, 0.04)
    couplings = CouplingGrid(grid.step, k0 * grid.step, k0)
    assert couplings.k.tolist() == [-k0, k0]
    c = Collisions(grid, (PairScattering(S, rate, 5.0, couplings),), "fft")
    J, _ = spin.levels(S)
    P = rng.random((1, 2, J.size))
    P /= (P @ (2 * J + 1))[..., None]
    e = grid.values
    values = np.clip(0.5 * (fermi(e, 0.1, 0.8) + fermi(e, 0.3, -0.8)) + 0.2 * np.exp(-((e / 0.5) ** 2)), 0, 1)
    f_grid = values[None]

    def f(x):
        i = np.rint(np.asarray(x) / grid.step + (n - 1) / 2).astype(np.int64)
        return np.where(i < 0, 1.0, np.where(i >= n, 0.0, values[np.clip(i, 0, n - 1)]))

    I = c.integral(f_grid, P, c.electron_hole(f_grid))[0]
    reference = np.zeros(n)
    for ik, V in enumerate(couplings.values):
        species = pair_levels(S, V, 0.0)
        of_J = np.array([int(label[0]) for label in species.labels])
        reference += 4 / 3 * rate * couplings.weights[ik] * collision_integral_reference(species, P[0, ik, of_J], f, e)
    scale = np.max(np.abs(reference))
    assert scale > 0
    # FFT convolutions: round-off ~ eps log2(n) times the largest term of the sums
    np.testing.assert_allclose(I, reference, rtol=0, atol=1e-12 * scale)
