"""The stage preconditioner of the time integrator: its factorised parts and the moments it keeps."""

import numpy as np
import pytest
from systems import wire

from hotelectron.kinetics.grids import CouplingGrid, EnergyGrid, WireGrid
from hotelectron.kinetics.mechanisms import ElectronElectron, PairScattering
from hotelectron.wire.dynamics import (Dynamics, _factor_tridiagonal, _restore_moments, _solve_factored,
                                      restore_moments_reference)
from hotelectron.wire.moments import moment_shapes
from hotelectron.wire.problem import WireProblem


def test_factorised_diffusion_solve_equals_the_batched_tridiagonal_solve(rng):
    """One elimination of ``shift(x) - d^2/dx^2`` for all energies against ``diffusion_solve``."""
    p = wire(n_x=17, n=81)
    n_x = p.wire.n - 2
    shift = 1.0 / 0.01 + rng.random(n_x)
    rhs = rng.standard_normal((n_x, 81))
    h2 = p.wire.step**2
    factors = _factor_tridiagonal(-1.0 / h2, shift + 2.0 / h2)
    ours = _solve_factored(-1.0 / h2, *factors, 3.0, rhs, np.empty_like(rhs))
    expected = p.diffusion_solve(3.0 * rhs, np.repeat(shift[:, None], 81, axis=1))
    np.testing.assert_allclose(ours, expected, rtol=1e-13, atol=1e-13 * np.max(np.abs(expected)))


def _bump(p, rng, scale):
    """Random values on a bump in the middle of the energy grid: nothing reaches the grid edges,
    through which the collisions let particles and energy leave."""
    e = p.energy.values
    return scale * rng.standard_normal((p.wire.n - 2, e.size)) * np.exp(-((e / 0.8) ** 2))


def _number_conserving(r_P):
    """``r_P`` less its change of the number of pairs at each coupling, ``sum_J (2J+1) r_J``: the
    collisions change populations only within that subspace (stage right-hand sides lie in it),
    and only there is the pair energy, with its constant offset of the levels, exchanged with the
    electrons alone."""
    weight = 2 * np.arange(r_P.shape[-1]) + 1.0
    return r_P - (r_P @ weight)[..., None] * weight / (weight @ weight)


def _state(p, rng):
    f = np.clip(p.collisionless()[1:-1] + _bump(p, rng, 0.01), 0, 1)
    return f, p.collisions.stationary_pairs(f)


@pytest.mark.parametrize("dt", [1e-3, 0.1, 10.0])
def test_preconditioner_keeps_the_conserved_moments_and_both_pair_routes_agree(rng, dt, monkeypatch):
    """``Z^T (1 - dt J) M r = Z^T r``: particles and electron-plus-pair energy at every position (the
    property that keeps W_e + W_p conserved whatever the Krylov tolerance), with the factorised pair
    stage (``chain_stage``) and with the generic route a mechanism without it takes."""
    # transfers of at most 3 (S = 3/2, V <= 1) on a grid of half-width 6 around a bump of width 0.8:
    # no electron jumps across the grid edges, where the collisions do not conserve
    step = 0.1
    mechanisms = (PairScattering(1.5, 2.0, 30.0, CouplingGrid(step, 0.1, 10)), ElectronElectron(0.3, 1.5))
    p = WireProblem(EnergyGrid(121, step), WireGrid(9), 0.5, -0.5, 0.02, 0.02, mechanisms)
    d = Dynamics(p)
    f, P = _state(p, rng)
    frozen = d.rhs(d.layout.join(f, P))
    r = d.layout.join(_bump(p, rng, 1.0), _number_conserving(rng.standard_normal(P.shape)))
    u = d.precondition(r, frozen, dt)
    Ju = d.jvp(frozen, u)
    Au = u - dt * Ju

    def moments(v):
        v_f, v_P = d.layout.split(v)
        return d.moments(v_f, v_P)

    # round-off: the FFT sums (~1e-12 relative per energy point) of the largest terms; without the
    # correction the moments are off by 2e-2 (dt = 1e-3) to 0.8 (dt = 10) of their size
    atol = 1e-12 * p.energy.n * max(np.max(np.abs(moments(r))), dt * np.max(np.abs(Ju)))
    np.testing.assert_allclose(moments(Au), moments(r), rtol=0, atol=atol)
    # the same map without the mechanism's one-pass solve
    monkeypatch.delattr(PairScattering, "chain_stage")
    generic = d.precondition(r, d.rhs(d.layout.join(f, P)), dt)
    np.testing.assert_allclose(generic, u, rtol=1e-12, atol=1e-12 * np.max(np.abs(u)))


def test_diffusion_term_of_the_right_hand_side_equals_the_interior_laplacian(rng):
    p = wire(n_x=9, n=81)
    d = Dynamics(p)
    f = rng.random((7, 81))
    df = rng.standard_normal((7, 81))
    expected = df + p.laplacian_interior(f)
    d._add_diffusion(df, f)
    np.testing.assert_allclose(df, expected, rtol=1e-13, atol=1e-13 * np.max(np.abs(expected)))


@pytest.mark.parametrize("conserved", [1, 2])
@pytest.mark.parametrize("wire_or_box", ["wire", "box"])
@pytest.mark.parametrize("with_pairs", [True, False])
def test_compiled_moment_restoration_equals_its_numpy_twin(rng, conserved, wire_or_box, with_pairs):
    """``_restore_moments`` (one compiled pass, the tridiagonal solve from the stage's factors)
    against ``restore_moments_reference`` (numpy, a dense solve) on random input."""
    n_x, n, n_s, dt, inverse_h2 = (7, 53, 24, 0.03, 40.0) if wire_or_box == "wire" else (1, 53, 24, 0.03, 0.0)
    eps = np.linspace(-2.0, 2.0, n)
    u_f, r_f = rng.standard_normal((2, n_x, n))
    u_P, r_P = rng.standard_normal((2, n_x, n_s if with_pairs else 0))
    pair_energy = rng.standard_normal(n_s if with_pairs else 0)
    gram_inverse = rng.standard_normal((n_x, conserved, conserved))
    weight = rng.random((n_x, n))
    factors = (_factor_tridiagonal(-inverse_h2, np.full(n_x, 1.0 / dt + 2.0 * inverse_h2)) if wire_or_box == "wire"
               else (np.empty(0), np.empty(0)))
    args = (u_f, r_f, u_P, r_P, eps[1] - eps[0], eps, pair_energy, dt, inverse_h2, *factors, gram_inverse, conserved,
            weight)
    expected = restore_moments_reference(*args)
    ours = u_f.copy()
    _restore_moments(ours, *args[1:])
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12 * np.max(np.abs(expected)))


@pytest.mark.parametrize("conserved", [1, 2])
def test_moment_shapes_give_the_inverse_gram_matrix_of_the_moments_over_the_shapes(conserved):
    """``moment_shapes``: w = f (1 - f) + 1e-12 and, per position, the inverse of the Gram matrix
    ``d sum_i z_a(eps_i) s_b(eps_i)`` of the moments (1, eps) over the shapes (w, eps w), against
    numpy's inverse of the matrix summed directly; hot and cold distributions, one with its edge off
    the grid's centre."""
    step = 0.05
    eps = step * (np.arange(81) - 40)
    f = np.stack([1.0 / (np.exp((eps - mu) / T) + 1.0) for mu, T in ((0.0, 0.02), (0.4, 0.3), (-0.7, 0.1))])
    weight = np.empty_like(f)
    gram_inverse = np.empty((3, conserved, conserved))
    moment_shapes(f, step, eps, weight, gram_inverse)
    w = f * (1.0 - f) + 1e-12
    # the compiled product may be contracted into one fused multiply-add: two roundings at most apart
    np.testing.assert_allclose(weight, w, rtol=2 * np.finfo(float).eps, atol=0)
    moments, shapes = step * np.stack([np.ones_like(eps), eps]), np.stack([w, eps * w])
    gram = np.einsum("ae,bxe->xab", moments[:conserved], shapes[:conserved])
    # round-off of sums of 81 terms relative to each position's largest entry (an off-diagonal entry
    # of a distribution symmetric about eps = 0 is itself round-off)
    expected = np.linalg.inv(gram)
    scale = np.max(np.abs(expected), axis=(1, 2), keepdims=True)
    assert np.max(np.abs(gram_inverse - expected) / scale) <= 1e-13
