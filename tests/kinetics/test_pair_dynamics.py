import numpy as np
import pytest
import scipy.fft
from systems import fermi, system

from hotelectron import spin

SPINS = [0.5, 1.0, 2.5, 3.5]


def random_pairs(rng, shape, S):
    """Random populations normalised as sum_J (2J+1) P_J = 1."""
    J, _ = spin.levels(S)
    P = rng.uniform(size=shape + (J.size,))
    return P / (P @ (2 * J + 1))[..., None]


def hot_electrons(c):
    e = c.grid.values
    return np.stack([fermi(e, 0.15, 0.5) * 0.5 + fermi(e, 0.15, -0.5) * 0.5, fermi(e, 0.4)])


@pytest.mark.parametrize("S", SPINS)
def test_pair_rates_conserve_the_number_of_pairs(rng, S):
    c = system(S=S, n=161)
    J, _ = spin.levels(S)
    P = random_pairs(rng, (2, c.pairs.couplings.size), S)
    dP = c.pair_rates(hot_electrons(c), P)
    assert np.max(np.abs(dP @ (2 * J + 1))) <= 1e-13 * np.max(np.abs(dP))


@pytest.mark.parametrize("S", SPINS)
def test_stationary_pairs_make_the_rates_vanish_and_equal_gibbs_in_a_fermi_gas(S):
    c = system(S=S, n=161)
    f = hot_electrons(c)
    P = c.stationary_pairs(f)
    rates = c.pair_rates(f, P)
    scale = c.pairs.relaxation * S * (S + 1) * np.max(c.electron_hole(f))
    assert np.max(np.abs(rates)) <= 1e-13 * scale
    T = 0.2
    f_eq = np.repeat(fermi(c.grid.values, T)[None], 2, axis=0)
    # populations below 1e-14 are set by round-off (FFT) and by the grid edges (transfers near the
    # grid width), both far below anything that enters the electron kinetics
    np.testing.assert_allclose(c.stationary_pairs(f_eq), c.pairs.gibbs(2, T), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("S", SPINS)
def test_implicit_chain_step(rng, S):
    c = system(S=S, n=161)
    J, _ = spin.levels(S)
    f = hot_electrons(c)
    G = c.electron_hole(f)
    P = random_pairs(rng, (2, c.pairs.couplings.size), S)
    grid = c.grid
    # normalisation is exact and populations stay positive for any step
    for dt in (1e-3, 1.0, 1e6):
        Pn = c.pairs.relax(P, G, grid, dt)
        np.testing.assert_allclose(Pn @ (2 * J + 1), 1.0, rtol=1e-13)
        assert np.all(Pn >= 0)
    # an infinite step lands on the stationary populations
    np.testing.assert_allclose(c.pairs.relax(P, G, grid, 1e12), c.stationary_pairs(f), rtol=1e-8, atol=1e-12)
    # a short step agrees with the rates to first order
    dP = c.pair_rates(f, P, G)
    errors = [np.max(np.abs((c.pairs.relax(P, G, grid, h) - P) / h - dP)) for h in (1e-6, 5e-7)]
    assert errors[1] == pytest.approx(errors[0] / 2, rel=0.02)


@pytest.mark.parametrize("S", SPINS)
def test_factorised_chain_stage_equals_the_two_pass_route(rng, S):
    """ChainStage (one factorisation, then the rates' response to dG and both sweeps in one pass)
    against solve_chain of r + dt (dR/dG) dG with the rates' change from the kernel pass; the
    couplings of the larger spins reach beyond the grid width (dG vanishes there), and the serial
    and threaded compilations agree."""
    from hotelectron.kinetics import _numba

    c = system(S=S, n=161)
    f = hot_electrons(c)
    G = c.electron_hole(f)
    P = random_pairs(rng, (2, c.pairs.couplings.size), S)
    dG = rng.standard_normal(G.shape)
    r = rng.standard_normal(P.shape)
    reach = np.max(np.abs(c.pairs.couplings.k)) * 2 * S
    assert (reach >= c.grid.n) == (S >= 2.5)
    for dt in (1e-3, 0.3, 1e3):
        rates = c.pairs.add_kernel_and_rates_change(c.grid, P, G, np.zeros_like(P), dG, np.zeros((2, 2 * c.grid.n + 1)))
        expected = c.pairs.solve_chain(r + dt * rates, G, c.grid, dt)
        stage = c.pairs.chain_stage(P, G, c.grid, dt)
        np.testing.assert_allclose(stage(r, dG), expected, rtol=1e-12, atol=1e-13 * np.max(np.abs(expected)))
    threaded = _numba.PARALLEL_MIN_WORK
    try:
        _numba.PARALLEL_MIN_WORK = 1
        again = c.pairs.chain_stage(P, G, c.grid, dt)(r, dG)
    finally:
        _numba.PARALLEL_MIN_WORK = threaded
    np.testing.assert_allclose(again, stage(r, dG), rtol=1e-13, atol=1e-15 * np.max(np.abs(expected)))


@pytest.mark.parametrize("S", [0.5, 2.5])
def test_chain_stage_with_electrons_equals_it_with_their_change_of_G(rng, S):
    """``ChainStage.with_electrons`` (dG made inside the pass from the electrons' change, a block of
    positions at a time) against the stage given ``electron_hole_change`` of the same change, on 5
    positions (blocks of 4 and 1 on one thread; 3 and 2 on two), serial and threaded."""
    from hotelectron.kinetics import _numba, convolution

    c = system(S=S, n=161)
    e = c.grid.values
    f = np.stack([fermi(e, 0.1 + 0.1 * x, 0.2 * x - 0.4) for x in range(5)])
    G = c.electron_hole(f)
    P = random_pairs(rng, (5, c.pairs.couplings.size), S)
    v = rng.standard_normal(f.shape)
    r = rng.standard_normal(P.shape)
    L = convolution.fft_length(c.grid.n)
    FF, FV = (np.ascontiguousarray(scipy.fft.rfft(a, L, axis=1)) for a in (f, v))
    dG = convolution.electron_hole_change(f, v, c.grid.step, FF, FV)
    stage = c.pairs.chain_stage(P, G, c.grid, 0.3)
    expected = stage(r, dG)
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(stage.with_electrons(r, v, FF), expected, rtol=0, atol=1e-13 * scale)
    threaded = _numba.PARALLEL_MIN_WORK
    try:
        _numba.PARALLEL_MIN_WORK = 1
        np.testing.assert_allclose(stage.with_electrons(r, v, FF), expected, rtol=0, atol=1e-13 * scale)
    finally:
        _numba.PARALLEL_MIN_WORK = threaded
