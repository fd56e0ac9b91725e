"""Free impurity spins (hotelectron.kinetics.mechanisms.free_spins) and pairs with free spins as one
population array (Impurities): the compiled kernel, rates and solves against their LevelSpecies twins,
no energy exchange at zero field, the blocks of Impurities against each species alone, the exact fixed
point with pairs, spins and phonons, a closed box in a field (W_e + W_pairs + W_spins). The Jacobian
products of pairs with free spins are in test_field_pairs.py, the energy balance in joules per cubic
metre that pins the free spins' constants in tests/wire/test_physical_spin_energy.py."""

import numpy as np
import pytest
from systems import closed_box_trajectory, fermi, two_step

from hotelectron.kinetics.collisions import Collisions
from hotelectron.kinetics.convolution import electron_hole, electron_hole_at
from hotelectron.kinetics.grids import CouplingGrid, EnergyGrid
from hotelectron.kinetics.levels import collision_integral_reference, free_spin_levels
from hotelectron.kinetics.mechanisms import (
    ElectronElectron,
    ElectronPhonon,
    FieldPairScattering,
    FreeSpinScattering,
    Impurities,
    PairScattering,
)
from hotelectron.kinetics.mechanisms.free_spins import free_spin_rate, paired_fraction

BALANCE_SPINS = [0.5, 1.0, 1.5, 2.0, 2.5]



def random_populations(rng, shape):
    P = rng.uniform(0.1, 1.0, size=shape)
    return P / P.sum(axis=-1, keepdims=True)


def G_callable(G, x, step):
    """G at position x as a function of the transfer (whole steps), for the LevelSpecies twins."""
    return lambda D: electron_hole_at(G[x], np.rint(np.asarray(D) / step).astype(np.int64), step)


# ---------------------------------------------------------------- the free spins against their twins


@pytest.mark.parametrize("S, zeeman_steps", [(0.5, 3), (2.5, -2), (3.5, 5)])
def test_kernel_rates_and_solves_equal_the_free_spin_species(S, zeeman_steps, rng):
    """Kernel through the convolution engine against rate times the readable species integral; rates,
    implicit step, stage solve and stationary state against LevelSpecies with gamma = relaxation/2."""
    grid = EnergyGrid(97, 8.0 / 96)
    spins = FreeSpinScattering(S, 1.7, 2.3, zeeman_steps, grid.step)
    c = Collisions(grid, (spins,), "fft")
    f_grid = two_step(grid)
    P = random_populations(rng, (2, spins.n_levels))
    G = c.electron_hole(f_grid)
    n = grid.n
    species = free_spin_levels(S, spins.zeeman)
    assert spins.labels == species.labels and spins.species().labels == species.labels
    np.testing.assert_array_equal(spins.species().energies, species.energies)
    I = c.integral(f_grid, P, G)
    for x in range(2):
        def f(e, x=x):
            i = np.rint(np.asarray(e) / grid.step + (n - 1) / 2).astype(np.int64)
            return np.where(i < 0, 1.0, np.where(i >= n, 0.0, f_grid[x, np.clip(i, 0, n - 1)]))

        reference = spins.rate * collision_integral_reference(species, P[x], f, grid.values)
        scale = np.max(np.abs(reference))
        assert scale > 0
        np.testing.assert_allclose(I[x], reference, rtol=0, atol=1e-12 * scale)  # FFT round-off

    gamma = spins.relaxation / 2
    rates, stationary = spins.rates(P, G, grid), spins.stationary(G, grid)
    relaxed, rhs = spins.relax(P, G, grid, 0.4), rng.standard_normal(P.shape)
    solved = spins.solve_chain(rhs, G, grid, 0.4)
    for x in range(2):
        Gc = G_callable(G, x, grid.step)
        scale = gamma * S * (S + 1) * np.max(G)
        np.testing.assert_allclose(rates[x], species.rates(P[x], Gc, gamma), rtol=0, atol=1e-14 * scale)
        np.testing.assert_allclose(stationary[x], species.stationary(Gc), rtol=1e-12, atol=0)
        np.testing.assert_allclose(relaxed[x], species.relax(P[x], Gc, 0.4, gamma), rtol=1e-12, atol=0)
        A = np.eye(species.size) - 0.4 * species.generator(Gc, gamma)
        np.testing.assert_allclose(A @ solved[x], rhs[x], rtol=0, atol=1e-13 * np.max(np.abs(A)) * np.max(np.abs(solved)))
    assert not np.allclose(stationary, spins.gibbs(2, 0.1), rtol=1e-3)  # hot electrons: not the bath's state
    # one pass for kernel and rates gives both
    K, dP = np.zeros((2, 2 * n + 1)), np.empty_like(P)
    spins.add_kernel_and_rates(grid, P, G, K, dP)
    np.testing.assert_array_equal(K, spins.out_kernel(grid, P, G))
    np.testing.assert_array_equal(dP, rates)


@pytest.mark.parametrize("S", [0.5, 1.5, 2.5])
def test_at_zero_field_free_spins_exchange_nothing_and_stay_equally_populated(S, rng):
    grid = EnergyGrid(65, 0.125)
    spins = FreeSpinScattering(S, 1.0, 2.0, 0, grid.step)
    f = two_step(grid)
    G = electron_hole(f, grid.step)
    P = random_populations(rng, (2, spins.n_levels))
    assert not np.any(spins.out_kernel(grid, P, G))  # every transfer vanishes: no kernel at all
    assert not np.any(spins.energy_weights())
    uniform = np.full_like(P, 1.0 / spins.n_levels)
    # equal populations balance every link: what is left is the round-off of w (p G(0) - p G(0)) with a
    # fused multiply-add, at most eps of each of the two flows into a level
    bound = 2 * np.finfo(float).eps * spins.gamma * S * (S + 1) * np.max(G[:, grid.n - 1]) / spins.n_levels
    assert np.max(np.abs(spins.rates(uniform, G, grid))) <= bound
    assert np.max(np.abs(spins.rates(P, G, grid))) > 1e-2  # others relax (G(0) > 0)
    np.testing.assert_array_equal(spins.stationary(G, grid), uniform)
    # at T = 0, G(0) = 0 joins no level; the zero-field state is still equal populations
    cold = electron_hole((grid.values < 0)[None].astype(float), grid.step, "direct")
    assert cold[0, grid.n - 1] == 0.0
    np.testing.assert_array_equal(spins.stationary(cold, grid), uniform[:1])
    np.testing.assert_array_equal(spins.gibbs(1, 0.0), uniform[:1])
    assert not np.any(spins.stationary_change(uniform, G, rng.standard_normal(G.shape), grid))


def test_strength_from_the_pairs_constants():
    """rate = t0 (1 - p)/tau_s: with the pairs' rate t0 T_sg/(tau_s E0) and p = (8/3) T_sg/V_min."""
    t_sg, v_min, pair_rate = 0.01, 0.1, 2.0
    p = paired_fraction(t_sg, v_min)
    assert p == pytest.approx(8 / 3 * 0.1)
    t0_over_tau_s = pair_rate / t_sg
    assert free_spin_rate(pair_rate, t_sg, v_min) == pytest.approx((1 - p) * t0_over_tau_s, rel=1e-15)
    couplings = CouplingGrid(0.05, v_min, 20)
    pairs = FieldPairScattering(1.5, pair_rate, 30.0, couplings, 3)
    spins = FreeSpinScattering.beside(pairs, t_sg)
    assert (spins.S, spins.relaxation, spins.zeeman_steps, spins.step) == (1.5, 30.0, 3, 0.05)
    assert spins.rate == free_spin_rate(pair_rate, t_sg, v_min)
    # through the pairs' own quadrature of (4/3) T_sg int dV/V^2 (its cells end at v_max): the pairs'
    # scattering rate, continued to |V| -> infinity, and the free spins' make up 1/tau_s of all impurities
    pairs_to_infinity = np.sum(pairs.strengths) / (1 - v_min / couplings.v_max)
    assert pairs_to_infinity + spins.rate == pytest.approx(t0_over_tau_s, rel=1e-13)
    assert FreeSpinScattering.beside(PairScattering(1.5, pair_rate, 30.0, couplings), t_sg).zeeman_steps == 0
    with pytest.raises(ValueError, match="not below 1"):
        free_spin_rate(pair_rate, 0.05, v_min)
    with pytest.raises(ValueError, match="T_sg"):
        paired_fraction(0.0, v_min)
    with pytest.raises(ValueError, match="zeeman_steps"):
        FreeSpinScattering(0.5, 1.0, 1.0, 1.5, 0.1)
    with pytest.raises(ValueError, match="step"):
        FreeSpinScattering(0.5, 1.0, 1.0, 1, 0.0)
    with pytest.raises(ValueError, match="relaxation"):
        FreeSpinScattering(0.5, 1.0, 0.0, 1, 0.1)
    with pytest.raises(ValueError, match="energy step"):
        Collisions(EnergyGrid(33, 0.1), (FreeSpinScattering(0.5, 1.0, 1.0, 1, 0.2),))


# ---------------------------------------------------------------- pairs and free spins as one array


def field_system(S, zeeman_steps, n=65, half_width=4.0, k_max=6):
    grid = EnergyGrid(n, 2 * half_width / (n - 1))
    pairs = FieldPairScattering(S, 1.3, 2.0, CouplingGrid(grid.step, grid.step / 2, k_max), zeeman_steps)
    spins = FreeSpinScattering(S, 2.1, 2.0, zeeman_steps, grid.step)
    return grid, pairs, spins


@pytest.mark.parametrize("S, zeeman_steps", [(0.5, 2), (2.5, -3)])
def test_impurities_act_block_by_block(S, zeeman_steps, rng):
    """Every operation of the combined array equals that of each species on its block."""
    grid, pairs, spins = field_system(S, zeeman_steps)
    c = Collisions(grid, (pairs, ElectronElectron(0.4, 1.5), spins), "fft")
    both = c.pairs
    assert isinstance(both, Impurities) and both.species == (pairs, spins)
    assert [m.name for m in c.mechanisms] == ["impurities", "electron_electron"]  # in the place of the pairs
    n_pairs = pairs.couplings.size * pairs.n_levels
    assert both.population_shape == (n_pairs + spins.n_levels,)
    f = two_step(grid)
    G = c.electron_hole(f)
    Pp = random_populations(rng, (2, pairs.couplings.size, pairs.n_levels))
    Ps = random_populations(rng, (2, spins.n_levels))
    P = np.concatenate([Pp.reshape(2, -1), Ps], axis=1)
    blocks = both.split(P)
    np.testing.assert_array_equal(blocks[0], Pp)
    np.testing.assert_array_equal(blocks[1], Ps)
    assert all(np.shares_memory(block, P) for block in blocks)
    assert set(both.parts(P)) == {"pairs", "spins"}

    def joined(a, b):
        return np.concatenate([a.reshape(2, -1), b], axis=1)

    np.testing.assert_array_equal(both.out_kernel(grid, P, G), pairs.out_kernel(grid, Pp, G) + spins.out_kernel(grid, Ps, G))
    np.testing.assert_array_equal(both.rates(P, G, grid), joined(pairs.rates(Pp, G, grid), spins.rates(Ps, G, grid)))
    K, dP = np.zeros((2, 2 * grid.n + 1)), np.empty_like(P)
    both.add_kernel_and_rates(grid, P, G, K, dP)
    np.testing.assert_array_equal(dP, both.rates(P, G, grid))
    np.testing.assert_array_equal(K, both.out_kernel(grid, P, G))
    np.testing.assert_array_equal(both.relax(P, G, grid, 0.3), joined(pairs.relax(Pp, G, grid, 0.3), spins.relax(Ps, G, grid, 0.3)))
    np.testing.assert_array_equal(both.solve_chain(P, G, grid, 0.3),
                                  joined(pairs.solve_chain(Pp, G, grid, 0.3), spins.solve_chain(Ps, G, grid, 0.3)))
    stationary = both.stationary(G, grid)
    np.testing.assert_array_equal(stationary, joined(pairs.stationary(G, grid), spins.stationary(G, grid)))
    dG = rng.standard_normal(G.shape)
    Sp, Ss = both.split(stationary)
    np.testing.assert_array_equal(both.stationary_change(stationary, G, dG, grid),
                                  joined(pairs.stationary_change(Sp, G, dG, grid), spins.stationary_change(Ss, G, dG, grid)))
    np.testing.assert_array_equal(both.gibbs(2, 0.3), joined(pairs.gibbs(2, 0.3), spins.gibbs(2, 0.3)))
    energies = both.energy_parts(P)
    np.testing.assert_allclose(energies["pairs"], pairs.energy(Pp), rtol=1e-14)
    np.testing.assert_allclose(energies["spins"], spins.energy(Ps), rtol=1e-14)
    np.testing.assert_allclose(both.energy(P), energies["pairs"] + energies["spins"], rtol=1e-13)
    rates = c.impurity_energy_rates(f, P)
    np.testing.assert_allclose(rates["spins"], spins.energy(spins.rates(Ps, G, grid)), rtol=1e-14)
    np.testing.assert_allclose(rates["pairs"], pairs.energy(pairs.rates(Pp, G, grid)), rtol=1e-12)
    np.testing.assert_allclose(both.energy_rate(P, G, grid), rates["pairs"] + rates["spins"], rtol=1e-14)
    assert c.impurity_energies(P).keys() == rates.keys() == {"pairs", "spins"}
    # rates written into a strided dP (a block of a larger array) land there
    wide = np.zeros((2, P.shape[1] + 3))
    both.add_kernel_and_rates(grid, P, G, np.zeros_like(K), wide[:, 1:-2])
    np.testing.assert_array_equal(wide[:, 1:-2], dP)


def test_impurities_refuse_two_descriptions_of_the_pairs():
    couplings = CouplingGrid(0.1, 0.05, 4)
    grid = EnergyGrid(33, 0.1)
    with pytest.raises(ValueError, match="at most one mechanism per kind of impurity"):
        Collisions(grid, (FieldPairScattering(1.5, 1.0, 1.0, couplings, 1), PairScattering(1.5, 1.0, 1.0, couplings)))
    with pytest.raises(ValueError, match="population mechanisms"):
        Impurities((ElectronElectron(1.0, 1.5),))


# ---------------------------------------------------------------- exact fixed point


@pytest.mark.parametrize("S", BALANCE_SPINS)
def test_fermi_electrons_gibbs_pairs_boltzmann_spins_and_phonons_at_one_temperature_are_a_fixed_point(S):
    """Pairs of both signs of V in (J, M) states, free spins and phonons, all at T, three fields."""
    T = 0.2
    n, half_width = 129, 10.0  # the grid edge at 50 T puts the truncation below round-off
    grid = EnergyGrid(n, 2 * half_width / (n - 1))
    couplings = CouplingGrid(grid.step, grid.step / 2, 6)
    assert np.any(couplings.values < 0) and np.any(couplings.values > 0)
    f = np.repeat(fermi(grid.values, T)[None], 2, axis=0)
    for zeeman_steps in (1, 4, -9):  # Delta_Z = 0.16, 0.63 > T, -1.4
        pairs = FieldPairScattering(S, 1.0, 3.0, couplings, zeeman_steps)
        spins = FreeSpinScattering(S, 2.5, 3.0, zeeman_steps, grid.step)
        c = Collisions(grid, (pairs, spins, ElectronPhonon(0.7, T)), "fft")
        P = c.pairs.gibbs(2, T)
        M = np.arange(-S, S + 1)
        boltzmann = np.exp(-spins.zeeman * M / T) / np.sum(np.exp(-spins.zeeman * M / T))
        np.testing.assert_allclose(c.pairs.split(P)[1], np.broadcast_to(boltzmann, (2, M.size)), rtol=1e-14)
        G = c.electron_hole(f)
        I = c.integral(f, P, G)
        out = np.max(f * c.kernel(P, G).sum(axis=1)[:, None])
        assert np.max(np.abs(I)) <= 1e-13 * out
        rates = c.pair_rates(f, P, G)
        assert np.max(np.abs(rates)) <= 1e-13 * 3.0 * S * (S + 1) * np.max(G)
        # the balance of all states is that Gibbs state (populations below 1e-14 carry the absolute
        # round-off of G, see the field-pair test)
        np.testing.assert_allclose(c.stationary_pairs(f, G), P, rtol=1e-12, atol=1e-14)
        # free spins at another temperature are not stationary: the test can fail
        hot = P.copy()
        c.pairs.split(hot)[1][:] = spins.gibbs(2, 2 * T)
        out_spins = np.max(f * spins.out_kernel(grid, c.pairs.split(hot)[1], G).sum(axis=1)[:, None])
        assert np.max(np.abs(c.integral(f, hot, G))) > 1e-2 * out_spins


# ---------------------------------------------------------------- closed box in a field


@pytest.mark.parametrize("S, zeeman_steps", [(0.5, 3), (2.5, 2)])
def test_closed_box_conserves_the_energy_of_electrons_pairs_and_spins(S, zeeman_steps):
    """Hot electrons, cold pairs and cold free spins in a field: W_e + W_pairs + W_spins stays put
    while each part changes by at least 5 %; particles are conserved."""
    grid = EnergyGrid(129, 20.0 / 128)  # edges at 25 T: what leaks through them stays below 1e-9 of W_e
    couplings = CouplingGrid(grid.step, grid.step / 2, 4)
    pairs = FieldPairScattering(S, 0.5, 8.0, couplings, zeeman_steps)
    spins = FreeSpinScattering(S, 1.5, 8.0, zeeman_steps, grid.step)
    c = Collisions(grid, (pairs, spins, ElectronElectron(0.3, 1.5)), "fft")
    e = grid.values
    f, P = closed_box_trajectory(c, fermi(e, 0.4)[None], c.pairs.gibbs(1, 0.03), 2.0)
    we = c.electron_energy(f)
    parts = c.impurity_energies(P)
    wp, ws = parts["pairs"], parts["spins"]
    total = we + wp + ws
    assert we[0] - we[-1] >= 0.05 * abs(we[0])  # the hot electrons give energy ...
    assert wp[-1] - wp[0] >= 0.05 * abs(wp[0])  # ... to the cold pairs
    assert ws[-1] - ws[0] >= 0.05 * abs(ws[0])  # ... and to the cold free spins
    assert np.max(np.abs(total - total[0])) <= 1e-8 * np.max(np.abs(we))
    particles = grid.step * (f - (e < 0)).sum(axis=1)
    assert np.max(np.abs(particles - particles[0])) <= 1e-10
    Pp, Ps = c.pairs.split(P)
    np.testing.assert_allclose(Pp.sum(axis=-1), 1.0, rtol=0, atol=1e-10)
    np.testing.assert_allclose(Ps.sum(axis=-1), 1.0, rtol=0, atol=1e-10)
