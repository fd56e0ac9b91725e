"""The pass over the links of a level species (hotelectron.kinetics.link_pass): the compiled kernel,
rates and their changes against the readable numpy twins on random input, for pairs in a field and
free spins, on a coupling grid of two sections with a last, short block, with and without mirror
couplings and on strided populations; the kernel alone and the rates alone equal those of the pass
that gives both to the last bit; the twin conserves the populations; states whose classes have no
mirror are refused. (The fixed point, conservation and zero-field limits of the compiled pass in a
right-hand side are in test_field_pairs.py and test_free_spins.py.)"""

import numpy as np
import pytest
from systems import two_step

from hotelectron.kinetics import link_pass
from hotelectron.kinetics.convolution import electron_hole, electron_hole_at
from hotelectron.kinetics.grids import CouplingGrid, EnergyGrid
from hotelectron.kinetics.mechanisms import FieldPairScattering, FreeSpinScattering

# more couplings +k than a section holds, and not a whole number of blocks
K_MAX = link_pass.SECTION + link_pass.BLOCK + 7
EPS = np.finfo(float).eps


def species(kind, S, zeeman_steps, grid):
    if kind == "pairs":
        return FieldPairScattering(S, 1.3, 2.0, CouplingGrid(grid.step, grid.step / 2, K_MAX), zeeman_steps)
    return FreeSpinScattering(S, 0.8, 2.0, zeeman_steps, grid.step)


def couplings_of(mechanism, rng, which):
    """``(k, strengths)``: the mechanism's own, a subset without mirrors, or its own couplings with
    strengths that are not mirror-symmetric (both taken without the mirror pairing)."""
    assert which in ("own", "subset", "asymmetric strengths", "states reversed")
    k, strengths = mechanism.coupling_indices, mechanism._electron_strengths
    if which == "subset":
        keep = np.r_[0 : k.size // 3, k.size // 2 + 5 : k.size]
        return k[keep], strengths[keep]
    if which == "asymmetric strengths":
        return k, strengths * rng.uniform(0.5, 1.5, size=k.size)
    return k, strengths


def gross_flows(P, G, k, z, step, gamma, links):
    """Per state, the sum of the magnitudes of the flows into and out of it: the scale of the
    round-off of its rate."""
    m = link_pass._link_transfers(links, k, z)
    a, b, w = links.first, links.second, links.weight
    flow = gamma * w * (np.abs(P[:, :, a] * electron_hole_at(G, m, step)) + np.abs(P[:, :, b] * electron_hole_at(G, -m, step)))
    total = np.zeros(P.shape)
    for t in range(a.size):
        total[:, :, a[t]] += flow[:, :, t]
        total[:, :, b[t]] += flow[:, :, t]
    return total


def summation_bound(P, G, k, z, step, strengths, links, n):
    """The worst-case round-off of each kernel cell summed in any order, ``(N - 1) eps sum |terms|``
    with N the number of terms in the cell (thousands in the end cells)."""
    K_abs, _ = link_pass.kernel_and_rates_reference(np.abs(P), G, k, z, step, 1.0, np.abs(strengths), links, n)
    unit = link_pass.Links(links.first, links.second, np.ones_like(links.weight), links.start, links.dJ, links.dM,
                           links.n_states)
    count, _ = link_pass.kernel_and_rates_reference(np.ones(P.shape), G, k, z, step, 1.0, np.ones(len(k)), unit, n)
    return (count + 2) * EPS * K_abs


# S = 1: 9 states, not a whole number of tiles of the transposition
PAIRS = [("pairs", 0.5, 3), ("pairs", 1.0, 2), ("pairs", 1.5, 0), ("pairs", 2.5, 4), ("pairs", 2.5, -2)]
CASES = ([case + (which,) for case in PAIRS for which in ("own", "subset", "asymmetric strengths")]
         + [("pairs", 2.5, 4, "states reversed"), ("pairs", 1.5, -3, "states reversed")]
         + [("spins", 2.5, 2, "own"), ("spins", 1.0, 0, "own")])  # free spins: one coupling, k = 0


def links_of(mechanism, which):
    """The mechanism's links, or (``"states reversed"``) those of its states in the opposite order: the
    higher level first, so that the transfers grow with k (dJ > 0) instead of falling."""
    if which != "states reversed":
        return mechanism.links
    _, eps, M, w = mechanism.template
    return link_pass.Links.of(eps[::-1], M[::-1], w[::-1, ::-1])


@pytest.mark.parametrize("kind, S, zeeman_steps, which", CASES)
def test_compiled_pass_equals_its_numpy_twin(kind, S, zeeman_steps, which, rng):
    grid = EnergyGrid(97, 8.0 / 96)
    mechanism = species(kind, S, zeeman_steps, grid)
    links = links_of(mechanism, which)
    k, strengths = couplings_of(mechanism, rng, which)
    f = two_step(grid)
    G = electron_hole(f, grid.step)
    wide = rng.uniform(0.0, 1.0, size=(f.shape[0], k.size, links.n_states + 3))
    P = wide[..., 1 : 1 + links.n_states]  # strided, as a block of the populations of several species
    gamma, step, n = 0.7, grid.step, grid.n
    K_ref, dP_ref = link_pass.kernel_and_rates_reference(P, G, k, zeeman_steps, step, gamma, strengths, links, n)
    assert np.max(np.abs(dP_ref)) > 0
    # free spins at zero field exchange no energy: their kernel is nothing
    assert (np.count_nonzero(K_ref) == 0) == (kind == "spins" and zeeman_steps == 0)
    scale = gross_flows(P, G, k, zeeman_steps, step, gamma, links)

    K, dP = np.zeros_like(K_ref), np.empty_like(P)
    link_pass.kernel_and_rates(P, G, k, zeeman_steps, step, gamma, strengths, links, K, dP)
    # every kernel cell sums its terms in another order; every rate is a sum of a few flows of a few
    # roundings each
    assert np.all(np.abs(K - K_ref) <= summation_bound(P, G, k, zeeman_steps, step, strengths, links, n))
    assert np.all(np.abs(dP - dP_ref) <= 64 * EPS * scale)
    K_alone, dP_alone = np.zeros_like(K), np.empty_like(P)
    link_pass.kernel_and_rates(P, G, k, zeeman_steps, step, gamma, strengths, links, K_alone, None)
    link_pass.kernel_and_rates(P, G, k, zeeman_steps, step, gamma, strengths, links, None, dP_alone)
    np.testing.assert_array_equal(K_alone, K)
    np.testing.assert_array_equal(dP_alone, dP)

    change = rng.standard_normal(P.shape)
    dG = rng.standard_normal(G.shape) * np.max(G)
    dK_ref, d_ref = link_pass.kernel_and_rates_change_reference(P, G, change, dG, k, zeeman_steps, step, gamma,
                                                                strengths, links, n)
    dK, d_rates = np.zeros_like(K), np.empty_like(P)
    link_pass.kernel_and_rates_change(P, G, change, dG, k, zeeman_steps, step, gamma, strengths, links, dK, d_rates)
    change_scale = (gross_flows(change, G, k, zeeman_steps, step, gamma, links)
                    + gross_flows(P, dG, k, zeeman_steps, 0.0, gamma, links))
    assert np.all(np.abs(dK - dK_ref) <= summation_bound(change, G, k, zeeman_steps, step, strengths, links, n))
    assert np.all(np.abs(d_rates - d_ref) <= 64 * EPS * change_scale)


def test_the_twin_conserves_the_populations(rng):
    """The twin itself: every flow leaves one state and enters another, so the rates sum to zero."""
    grid = EnergyGrid(97, 8.0 / 96)
    mechanism = species("pairs", 1.5, 3, grid)
    G = electron_hole(two_step(grid), grid.step)
    P = rng.uniform(0.0, 1.0, size=(2, mechanism.coupling_indices.size, mechanism.n_levels))
    k = mechanism.coupling_indices
    _, dP = link_pass.kernel_and_rates_reference(P, G, k, 3, grid.step, 1.0, mechanism._electron_strengths,
                                                 mechanism.links, grid.n)
    scale = gross_flows(P, G, k, 3, grid.step, 1.0, mechanism.links)
    assert np.max(np.abs(dP)) > 1e3 * 64 * EPS * np.max(scale)
    np.testing.assert_allclose(dP.sum(axis=-1), 0.0, atol=64 * EPS * np.max(scale))


def test_states_without_mirror_classes_are_refused():
    """A link (dJ, dM) = (-1, 1) with no link (-1, -1): the mirror couplings cannot share its cells."""
    eps, M = np.array([0.0, 1.0]), np.array([0.0, -1.0])
    w = np.array([[0.0, 0.5], [0.5, 0.0]])
    with pytest.raises(ValueError, match=r"no mirror class \(-1, -1\)"):
        link_pass.Links.of(eps, M, w).mirror_class


@pytest.mark.parametrize("k_max", [1, link_pass.BLOCK + 1, link_pass.SECTION + 1])
def test_last_blocks_padded_to_a_whole_block(k_max, rng):
    """Runs of couplings whose last block is nearly all padding (one coupling past a whole block or
    section): the padding reads the G table down to its first entry and its results stay unused."""
    grid = EnergyGrid(97, 8.0 / 96)
    mechanism = FieldPairScattering(2.5, 1.3, 2.0, CouplingGrid(grid.step, grid.step / 2, k_max), 4)
    G = electron_hole(two_step(grid), grid.step)
    k, strengths, links = mechanism.coupling_indices, mechanism._electron_strengths, mechanism.links
    P = rng.uniform(0.0, 1.0, size=(2, k.size, links.n_states))
    K_ref, dP_ref = link_pass.kernel_and_rates_reference(P, G, k, 4, grid.step, 0.7, strengths, links, grid.n)
    K, dP = np.zeros_like(K_ref), np.empty_like(P)
    link_pass.kernel_and_rates(P, G, k, 4, grid.step, 0.7, strengths, links, K, dP)
    assert np.all(np.abs(K - K_ref) <= summation_bound(P, G, k, 4, grid.step, strengths, links, grid.n))
    assert np.all(np.abs(dP - dP_ref) <= 64 * EPS * gross_flows(P, G, k, 4, grid.step, 0.7, links))


@pytest.mark.parametrize("S", [1.0, 2.5])
def test_populations_and_rates_as_blocks_of_larger_arrays(S, rng):
    """Populations read from and rates written into blocks of larger arrays (as ``Impurities`` hands each
    species its block), with rows that start on 16 bytes and rows that do not, and populations whose
    states do not lie next to each other: the same kernel and rates to the last bit as for arrays of
    their own (tiles are transposed in registers where the layout allows, values moved one by one
    elsewhere)."""
    grid = EnergyGrid(97, 8.0 / 96)
    mechanism = species("pairs", S, 3, grid)
    G = electron_hole(two_step(grid), grid.step)
    k, strengths, links = mechanism.coupling_indices, mechanism._electron_strengths, mechanism.links
    n_x, size = G.shape[0], k.size * links.n_states  # two positions: rows of an odd length alternate
    P = rng.uniform(0.0, 1.0, size=(n_x, k.size, links.n_states))
    K, dP = np.zeros((n_x, 2 * grid.n + 1)), np.empty_like(P)
    link_pass.kernel_and_rates(P, G, k, 3, grid.step, 0.7, strengths, links, K, dP)
    every_other = np.empty((n_x, k.size, 2 * links.n_states))
    every_other[..., ::2] = P
    for offset in (1, 2):  # the second row 8 bytes off the alignment of the first
        wide = np.full((n_x, size + 3), np.nan)
        wide[:, offset : offset + size] = P.reshape(n_x, size)
        block = wide[:, offset : offset + size].reshape(P.shape)
        rates = np.full((n_x, size + 3), np.nan)
        rates_block = rates[:, offset : offset + size].reshape(P.shape)
        for populations in (block, every_other[..., ::2]):
            K_block = np.zeros_like(K)
            rates_block[...] = np.nan
            link_pass.kernel_and_rates(populations, G, k, 3, grid.step, 0.7, strengths, links, K_block, rates_block)
            np.testing.assert_array_equal(K_block, K)
            np.testing.assert_array_equal(rates_block, dP)
        assert np.all(np.isnan(np.delete(rates, np.s_[offset : offset + size], axis=1)))  # nothing written beside
