"""RKKY pairs in a Zeeman field (hotelectron.kinetics.mechanisms.field_pairs): the zero-field reduction to
PairScattering, the kernel against the readable species integral, the exact fixed point, energy and
particle conservation in a closed box, the compiled solves against their LevelSpecies twins, the
Jacobian products against finite differences, and the wire solver with either pair mechanism."""

import numpy as np
import pytest
from systems import central_difference, closed_box_trajectory, fermi, two_step

from hotelectron.kinetics.collisions import Collisions
from hotelectron.kinetics.convolution import electron_hole, electron_hole_at
from hotelectron.kinetics.grids import CouplingGrid, EnergyGrid
from hotelectron.kinetics.levels import collision_integral_reference, pair_levels
from hotelectron.kinetics.mechanisms import ElectronElectron, FieldPairScattering, FreeSpinScattering, PairScattering

SPINS = [0.5, 1.5, 2.5]
BALANCE_SPINS = [0.5, 1.0, 1.5, 2.0, 2.5]


def small_system(S, zeeman_steps, n=65, half_width=4.0, k_max=20, rate=1.3, relaxation=2.0):
    """A grid of n points and couplings k = +-1..k_max: for S = 5/2 the largest transfers (2S k_max = 100
    steps at the defaults) reach beyond the grid width n, into the lumped end cells of the kernel."""
    grid = EnergyGrid(n, 2 * half_width / (n - 1))
    couplings = CouplingGrid(grid.step, grid.step / 2, k_max)
    return grid, FieldPairScattering(S, rate, relaxation, couplings, zeeman_steps)



def random_populations(rng, shape, n_levels):
    P = rng.uniform(0.1, 1.0, size=shape + (n_levels,))
    return P / P.sum(axis=-1, keepdims=True)


def multiplet_of(field):
    """Index J of each state (J, M)."""
    return np.array([int(J) for J, _ in field.labels])


# ---------------------------------------------------------------- (a) zero field: today's chain


@pytest.mark.parametrize("S", SPINS)
def test_zero_field_reduces_to_the_chain(S, rng):
    grid, field = small_system(S, 0)
    chain = PairScattering(S, field.rate, field.relaxation, field.couplings)
    of_J = multiplet_of(field)
    degeneracy = 2 * np.arange(chain.n_levels) + 1
    f = two_step(grid)
    G = electron_hole(f, grid.step)
    P = rng.uniform(0.1, 1.0, size=(2, field.couplings.size, chain.n_levels))
    P /= (P @ degeneracy)[..., None]
    PM = P[..., of_J]  # every M of a multiplet equally populated
    np.testing.assert_allclose(PM.sum(axis=-1), 1.0, rtol=8 * np.finfo(float).eps)

    K_field, K_chain = (m.out_kernel(grid, p, G) for m, p in ((field, PM), (chain, P)))
    assert np.count_nonzero(K_chain) > 0 and np.array_equal(K_field != 0, K_chain != 0)
    np.testing.assert_allclose(K_field, K_chain, rtol=1e-13, atol=0)
    # rates: each state of J moves as the multiplet does, and the M sum is (2J+1) times it
    r_field, r_chain = field.rates(PM, G, grid), chain.rates(P, G, grid)
    scale = field.relaxation * S * (S + 1) * np.max(G)
    np.testing.assert_allclose(r_field, r_chain[..., of_J], rtol=0, atol=1e-13 * scale)
    summed = np.stack([r_field[..., of_J == J].sum(axis=-1) for J in range(chain.n_levels)], axis=-1)
    np.testing.assert_allclose(summed, degeneracy * r_chain, rtol=0, atol=1e-13 * scale)
    K_both, dP_both = np.zeros_like(K_field), np.empty_like(PM)
    field.add_kernel_and_rates(grid, PM, G, K_both, dP_both)
    np.testing.assert_array_equal(K_both, K_field)
    np.testing.assert_array_equal(dP_both, r_field)
    # stationary state (each population relative to itself), Gibbs state, energy
    np.testing.assert_allclose(field.stationary(G, grid), chain.stationary(G, grid)[..., of_J], rtol=1e-13, atol=0)
    np.testing.assert_allclose(field.gibbs(2, 0.3), chain.gibbs(2, 0.3)[..., of_J], rtol=1e-13, atol=0)
    np.testing.assert_allclose(field.energy(PM), chain.energy(P), rtol=1e-13)
    # implicit steps and stage solves (any right-hand side, here of both signs)
    for dt in (0.05, 3.0):
        np.testing.assert_allclose(field.relax(PM, G, grid, dt), chain.relax(P, G, grid, dt)[..., of_J], rtol=1e-13, atol=0)
    # a stiff step: the chain's tridiagonal elimination subtracts and loses ~ dt |M| eps on the small
    # populations (4e-12 against an exact rational solve for S = 5/2), the field's elimination does not
    np.testing.assert_allclose(field.relax(PM, G, grid, 1e4), chain.relax(P, G, grid, 1e4)[..., of_J], rtol=2e-11, atol=0)
    rhs = rng.standard_normal(P.shape)
    solved_field = field.solve_chain(rhs[..., of_J], G, grid, 0.7)
    solved_chain = chain.solve_chain(rhs, G, grid, 0.7)
    np.testing.assert_allclose(solved_field, solved_chain[..., of_J], rtol=0, atol=1e-13 * np.max(np.abs(solved_chain)))
    # changes: kernel and rates for (dP, dG), and the stationary state for dG
    dP = rng.standard_normal(P.shape)
    dG = rng.standard_normal(G.shape) * np.max(G)
    dK_field, dK_chain = np.zeros_like(K_field), np.zeros_like(K_chain)
    d_field = field.add_kernel_and_rates_change(grid, PM, G, dP[..., of_J], dG, dK_field)
    d_chain = chain.add_kernel_and_rates_change(grid, P, G, dP, dG, dK_chain)
    np.testing.assert_allclose(dK_field, dK_chain, rtol=0, atol=1e-13 * np.max(np.abs(dK_chain)))
    np.testing.assert_allclose(d_field, d_chain[..., of_J], rtol=0, atol=1e-13 * np.max(np.abs(d_chain)))
    stationary = chain.stationary(G, grid)
    change_field = field.stationary_change(stationary[..., of_J], G, dG, grid)
    change_chain = chain.stationary_change(stationary, G, dG, grid)
    np.testing.assert_allclose(change_field, change_chain[..., of_J], rtol=0, atol=1e-13 * np.max(np.abs(change_chain)))


# ---------------------------------------------------------------- (b) kernel against the species integral


@pytest.mark.parametrize("S, zeeman_steps, k_max", [(1.0, 3, 12), (2.5, -2, 12), (1.0, -1, 40)])
def test_collision_integral_equals_the_species_reference(S, zeeman_steps, k_max, rng):
    """A two-step f and random populations: the kernel through the convolution engine equals
    (4/3) rate sum_k w_k I_V of pair_levels(S, V_k, Delta_Z), the readable O(levels^2) integral, and the
    rates those of the species. k_max = 40 gives 80 couplings: the link pass runs over blocks of 64, the
    second one partly filled."""
    grid, field = small_system(S, zeeman_steps, n=97, k_max=k_max)
    c = Collisions(grid, (field,), "fft")
    f_grid = two_step(grid)[:1]
    n = grid.n

    def f(x):
        i = np.rint(np.asarray(x) / grid.step + (n - 1) / 2).astype(np.int64)
        return np.where(i < 0, 1.0, np.where(i >= n, 0.0, f_grid[0, np.clip(i, 0, n - 1)]))

    P = random_populations(rng, (1, field.couplings.size), field.n_levels)
    I = c.integral(f_grid, P)[0]
    reference = np.zeros(n)
    for ik, V in enumerate(field.couplings.values):
        species = pair_levels(S, V, field.zeeman)  # the species' own weights and energies
        strength = 4 / 3 * field.rate * field.couplings.weights[ik]
        reference += strength * collision_integral_reference(species, P[0, ik], f, grid.values)
    scale = np.max(np.abs(reference))
    assert scale > 0
    np.testing.assert_allclose(I, reference, rtol=0, atol=1e-12 * scale)  # FFT round-off ~ eps log2(n)
    G = c.electron_hole(f_grid)
    rates = field.rates(P, G, grid)[0]

    def Gc(D):
        return electron_hole_at(G[0], np.rint(np.asarray(D) / grid.step).astype(np.int64), grid.step)

    rate_scale = field.relaxation * S * (S + 1) * np.max(G)
    for ik, V in enumerate(field.couplings.values):
        expected = pair_levels(S, V, field.zeeman).rates(P[0, ik], Gc, field.relaxation)
        np.testing.assert_allclose(rates[ik], expected, rtol=0, atol=1e-14 * rate_scale)


# ---------------------------------------------------------------- (c) exact fixed point


@pytest.mark.parametrize("S", BALANCE_SPINS)
def test_fermi_electrons_with_gibbs_pairs_are_a_fixed_point(S):
    T = 0.2
    n, half_width = 129, 10.0  # the grid edge at 50 T puts the truncation below round-off
    grid = EnergyGrid(n, 2 * half_width / (n - 1))
    couplings = CouplingGrid(grid.step, grid.step / 2, 6)
    f = np.repeat(fermi(grid.values, T)[None], 2, axis=0)
    for zeeman_steps in (1, 4, -9):  # Delta_Z = 0.16, 0.63 > T, -1.4
        field = FieldPairScattering(S, 1.0, 3.0, couplings, zeeman_steps)
        c = Collisions(grid, (field,), "fft")
        P = field.gibbs(2, T)
        G = c.electron_hole(f)
        I = c.integral(f, P, G)
        out = np.max(f * c.kernel(P, G).sum(axis=1)[:, None])
        assert np.max(np.abs(I)) <= 1e-13 * out
        rates = c.pair_rates(f, P, G)
        assert np.max(np.abs(rates)) <= 1e-13 * field.relaxation * S * (S + 1) * np.max(G)
        # and the balance of all states per (x, k) is that Gibbs state; populations below 1e-14 are
        # not relatively accurate: they come from G at large negative transfers, which carries the
        # absolute round-off of the FFT convolution (~1e-16 of max G)
        np.testing.assert_allclose(c.stationary_pairs(f, G), P, rtol=1e-12, atol=1e-14)
        # a Gibbs state at another temperature is not stationary: the test can fail
        assert np.max(np.abs(c.integral(f, field.gibbs(2, 2 * T), G))) > 1e-3 * out


@pytest.mark.parametrize("S", BALANCE_SPINS)
def test_at_zero_temperature_every_pair_sits_in_its_field_ground_state(S):
    """T = 0 and a field above every coupling: each (x, k) is one state, J = 2S and M = -J (no
    degeneracy, so the answer is unique) for both signs of V."""
    grid = EnergyGrid(129, 20.0 / 128)
    couplings = CouplingGrid(grid.step, grid.step / 2, 2)
    field = FieldPairScattering(S, 1.0, 3.0, couplings, 40)  # Delta_Z = 40 d > every V_k eps_J splitting
    c = Collisions(grid, (field,), "fft")
    f = (grid.values < 0).astype(float)[None]
    P = c.stationary_pairs(f, c.electron_hole(f))
    ground = field.labels.index((2 * S, -2 * S))
    expected = np.zeros_like(P)
    expected[..., ground] = 1.0
    np.testing.assert_allclose(P, expected, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(field.gibbs(1, 0.0), expected)


# ---------------------------------------------------------------- (d) closed box


@pytest.mark.parametrize("S, zeeman_steps", [(0.5, 2), (2.5, 3)])
def test_closed_box_in_a_field_conserves_energy_and_particles(S, zeeman_steps):
    """Hot electrons and cold pairs in a field exchange energy; W_e + W_p stays put."""
    grid = EnergyGrid(129, 20.0 / 128)  # edges at 25 T: what leaks through them stays below 1e-9 of W_e
    field = FieldPairScattering(S, 0.5, 8.0, CouplingGrid(grid.step, grid.step / 2, 4), zeeman_steps)
    c = Collisions(grid, (field, ElectronElectron(0.3, 1.5)), "fft")
    e = grid.values
    f, P = closed_box_trajectory(c, fermi(e, 0.4)[None], field.gibbs(1, 0.03), 2.0)  # f[t, i], P[t, k, s]
    we = c.electron_energy(f)
    wp = field.energy(P)
    total = we + wp
    assert wp[-1] - wp[0] >= 0.05 * abs(wp[0])  # the cold pairs take energy from the hot electrons
    assert we[0] - we[-1] >= 0.05 * abs(we[0])
    assert np.max(np.abs(total - total[0])) <= 1e-8 * np.max(np.abs(we))
    particles = grid.step * (f - (e < 0)).sum(axis=1)
    assert np.max(np.abs(particles - particles[0])) <= 1e-10
    np.testing.assert_allclose(P.sum(axis=-1), 1.0, rtol=0, atol=1e-10)


# ---------------------------------------------------------------- compiled solves against LevelSpecies


@pytest.mark.parametrize("S, zeeman_steps", [(1.5, 2), (2.5, -3)])
def test_solves_equal_their_level_species_twins(S, zeeman_steps, rng):
    grid, field = small_system(S, zeeman_steps, n=65, k_max=5)
    f = two_step(grid)
    G = electron_hole(f, grid.step)
    P = random_populations(rng, (2, field.couplings.size), field.n_levels)
    stationary = field.stationary(G, grid)
    dt = 0.4
    relaxed = field.relax(P, G, grid, dt)
    rhs = rng.standard_normal(P.shape)
    solved = field.solve_chain(rhs, G, grid, dt)
    rates = field.rates(P, G, grid)
    for x in range(2):
        def Gc(D, x=x):
            return electron_hole_at(G[x], np.rint(np.asarray(D) / grid.step).astype(np.int64), grid.step)

        for ik in range(field.couplings.size):
            species = pair_levels(S, field.couplings.values[ik], field.zeeman)
            gamma = field.relaxation
            np.testing.assert_allclose(stationary[x, ik], species.stationary(Gc), rtol=1e-12, atol=0)
            np.testing.assert_allclose(relaxed[x, ik], species.relax(P[x, ik], Gc, dt, gamma), rtol=1e-12, atol=0)
            A = np.eye(species.size) - dt * species.generator(Gc, gamma)
            residual_scale = np.max(np.abs(A)) * np.max(np.abs(solved))
            np.testing.assert_allclose(A @ solved[x, ik], rhs[x, ik], rtol=0, atol=1e-13 * residual_scale)
            scale = gamma * S * (S + 1) * np.max(G)
            np.testing.assert_allclose(rates[x, ik], species.rates(P[x, ik], Gc, gamma), rtol=0, atol=1e-14 * scale)
    assert not np.allclose(stationary, field.gibbs(2, 0.1), rtol=1e-3)  # far from any Gibbs state
    # the step keeps sum_s P_s, and an infinite one lands on the stationary populations
    np.testing.assert_allclose(relaxed.sum(axis=-1), 1.0, rtol=0, atol=1e-14)
    # (it differs by ~ |M^-1| / dt, 1e-14 here, which is more than some of the small populations)
    np.testing.assert_allclose(field.relax(P, G, grid, 1e14), stationary, rtol=1e-12, atol=1e-13)


def test_refusals():
    couplings = CouplingGrid(0.1, 0.05, 4)
    with pytest.raises(ValueError, match="zeeman_steps"):
        FieldPairScattering(1.5, 1.0, 1.0, couplings, 0.5)
    with pytest.raises(ValueError, match="relaxation"):
        FieldPairScattering(1.5, 1.0, 0.0, couplings, 1)
    grid = EnergyGrid(33, 0.1)
    with pytest.raises(ValueError, match="at most one"):
        Collisions(grid, (FieldPairScattering(1.5, 1.0, 1.0, couplings, 1), PairScattering(1.5, 1.0, 1.0, couplings)))
    with pytest.raises(ValueError, match="time step"):
        FieldPairScattering(0.5, 1.0, 1.0, couplings, 1).relax(np.ones((1, 8, 4)) / 4, np.ones((1, 65)), grid, -1.0)
    # T = 0 and no field: the degenerate ground states are joined by no transition
    grid, field = small_system(1.0, 0, n=33, k_max=2)
    G = electron_hole((grid.values < 0)[None].astype(float), grid.step, "direct")  # G(0) = 0 exactly
    with pytest.raises(ValueError, match="not unique"):
        field.stationary(G, grid)


# ---------------------------------------------------------------- (e) Jacobian products


@pytest.mark.parametrize("S, zeeman_steps, k_max, with_spins", [(1.0, 2, 6, False), (2.5, -3, 6, False), (1.5, 3, 40, True)])
def test_jacobian_products_equal_finite_differences(S, zeeman_steps, k_max, with_spins, rng):
    """Pairs alone, or pairs and free spins as one population array (Impurities) over 80 couplings (two
    blocks of the link pass), with e-e scattering."""
    grid, field = small_system(S, zeeman_steps, n=65, k_max=k_max)
    spins = (FreeSpinScattering(S, 2.1, 2.0, zeeman_steps, grid.step),) if with_spins else ()
    c = Collisions(grid, (field, *spins, ElectronElectron(0.4, 1.5)), "fft")
    # away from 0 and 1, so that G stays positive along the differences (the FFT path clips it at 0)
    f = 0.05 + 0.9 * two_step(grid)
    P = random_populations(rng, (2, field.couplings.size), field.n_levels)
    if with_spins:
        P = np.concatenate([P.reshape(2, -1), random_populations(rng, (2,), spins[0].n_levels)], axis=1)
    v_f = 1e-2 * rng.standard_normal(f.shape)
    v_P = 1e-2 * rng.standard_normal(P.shape)
    # the full right-hand side in (f, P)
    _, _, lin = c.linearise(f, P)
    d_f, d_P = c.jvp(lin, v_f, v_P)
    fd_f, fd_P = central_difference(lambda h: c.rhs(f + h * v_f, P + h * v_P), 1e-2)
    np.testing.assert_allclose(d_f, fd_f, rtol=0, atol=1e-10 * np.max(np.abs(fd_f)))
    np.testing.assert_allclose(d_P, fd_P, rtol=0, atol=1e-10 * np.max(np.abs(fd_P)))
    # the pair rates following the electrons alone
    response = c.pair_response(lin, v_f)
    (fd_response,) = central_difference(lambda h: [c.pair_rates(f + h * v_f, P)], 1e-2)
    np.testing.assert_allclose(response, fd_response, rtol=0, atol=1e-10 * np.max(np.abs(fd_response)))
    # the f-only problem with stationary pairs: stationary_change inside
    _, _, lin = c.linearise(f, stationary=True)
    d_f, _ = c.jvp(lin, v_f)
    fd_f, fd_stationary = central_difference(lambda h: [c.linearise(f + h * v_f, stationary=True)[0],
                                                        c.stationary_pairs(f + h * v_f)], 1e-3)
    np.testing.assert_allclose(d_f, fd_f, rtol=0, atol=1e-8 * np.max(np.abs(fd_f)))
    G = c.electron_hole(f)
    dG = c.electron_hole(f + 1e-3 * v_f) - c.electron_hole(f - 1e-3 * v_f)  # exact: G is quadratic in f
    change = c.pairs.stationary_change(lin.P, G, dG / 2e-3, grid)
    np.testing.assert_allclose(change, fd_stationary, rtol=0, atol=1e-8 * np.max(np.abs(fd_stationary)))
    assert np.max(np.abs(change)) > 1e-3 * np.max(lin.P)  # the populations do move


# ---------------------------------------------------------------- the wire solver takes either mechanism


def test_wire_at_zero_field_equals_the_chain_and_a_field_changes_it():
    """Steady state (stationary pairs and their change) and a few implicit time steps (stage solves,
    the pairs' response in the preconditioner) through the wire solver, with no special case."""
    from hotelectron.kinetics.grids import WireGrid
    from hotelectron.wire import Evolution, WireProblem, equilibrium_state, steady_state

    grid = EnergyGrid(81, 0.1)
    couplings = CouplingGrid(grid.step, 0.1, 20)
    results = {}
    for key, pairs in [("chain", PairScattering(1.5, 2.0, 30.0, couplings)),
                       ("field 0", FieldPairScattering(1.5, 2.0, 30.0, couplings, 0)),
                       ("field 3", FieldPairScattering(1.5, 2.0, 30.0, couplings, 3))]:
        problem = WireProblem(grid, WireGrid(5), 0.5, -0.5, 0.05, 0.05, (pairs, ElectronElectron(0.3, 1.5)))
        # stages solved to round-off: the Krylov norms count the (J, M) states, not the multiplets, so
        # at the default tolerance (0.1) the two would agree only to it (1e-8 here)
        evolution = Evolution(problem, krylov_tol=1e-11, krylov_maxiter=80)
        state = evolution.fixed_steps(equilibrium_state(problem), 0.05, 4)
        results[key] = steady_state(problem).f, state.f
    for chain, field in zip(results["chain"], results["field 0"]):
        np.testing.assert_allclose(field, chain, rtol=0, atol=1e-13)
    assert np.max(np.abs(results["field 3"][0] - results["field 0"][0])) > 1e-3  # the field matters
