import numpy as np
import pytest
import scipy.fft

from systems import wire

from hotelectron.kinetics.collisions import Linearisation
from hotelectron.wire.krylov import GMRES
from hotelectron.wire.steady import SteadyResidual, steady_state
from hotelectron.wire.steady_preconditioner import SteadyPreconditioner, coarsening, steady_preconditioner_reference


def linearisation(f, K, D):
    """What the preconditioner reads of a linearisation: occupations, compact kernel, diagonal."""
    return Linearisation(f, None, None, K, D, None, None, True)


def laplacian_matrix(problem):
    n = problem.wire.n - 2
    h2 = problem.wire.step**2
    return (np.diag(np.full(n - 1, 1.0), -1) - 2 * np.eye(n) + np.diag(np.full(n - 1, 1.0), 1)) / h2


@pytest.mark.parametrize("block", [1, 2, 3])  # 161 = 53 * 3 + 2: a short last block
def test_compiled_preconditioner_matches_its_readable_twin(rng, block):
    p = wire(n_x=9, n=161)
    _, lin = SteadyResidual(p).evaluate(p.collisionless()[1:-1])
    r = rng.standard_normal(lin.f.shape)
    fast = SteadyPreconditioner(p, lin, 2, block=block).symbol_solve(r)
    reference = steady_preconditioner_reference(p, lin, r, block)
    assert np.max(np.abs(fast - reference)) <= 1e-12 * np.max(np.abs(reference))


def test_a_preconditioner_factorised_again_equals_a_new_one(rng):
    """One preconditioner serves every Newton step of a solve: factorised at another linearisation
    it gives exactly what a new one built there gives."""
    p = wire(n_x=9, n=161)
    state = SteadyResidual(p)
    u = p.collisionless()[1:-1]
    _, first = state.evaluate(u)
    _, second = state.evaluate(u + 0.01 * rng.standard_normal(u.shape))
    r = rng.standard_normal(u.size)
    M = SteadyPreconditioner(p, first, 2)
    M.factor(second)
    assert np.array_equal(M(r), SteadyPreconditioner(p, second, 2)(r))


@pytest.mark.parametrize("filled", [True, False])
def test_in_scattering_is_inverted_exactly_where_every_state_is_filled_or_empty(rng, filled):
    """f = 1 (or 0) everywhere and D = nu: the collision derivative is nu - K * (or the correlation),
    a circulant on the preconditioner's circular energy axis. Its inverse together with the diffusion,
    written out as a dense matrix, must equal the preconditioner's result on the grid."""
    p = wire(n_x=6, n=33, pairs=False)  # the grids only: the kernel is given
    n_x, n = p.wire.n - 2, p.energy.n
    K = np.zeros((n_x, 2 * n + 1))
    K[:, n - 3 : n + 4] = rng.uniform(0.5, 2.0, (n_x, 7)) * 20  # transfers |m| <= 3
    K[:, n] = 0.0
    nu = K.sum(axis=1, keepdims=True)
    f = np.full((n_x, n), 1.0 if filled else 0.0)
    M = SteadyPreconditioner(p, linearisation(f, K, np.repeat(nu, n, axis=1)), 0, block=1)
    L = M.length
    r = rng.standard_normal((n_x, n))
    A = np.kron(laplacian_matrix(p), np.eye(L))
    for x in range(n_x):
        C = np.zeros((L, L))  # (C v)_i = sum_m K[m] v_{i-m} (filled) or K[-m] (empty)
        for m in range(-3, 4):
            C += K[x, n + m] * np.roll(np.eye(L), m if filled else -m, axis=0)
        A[x * L : (x + 1) * L, x * L : (x + 1) * L] += C - nu[x] * np.eye(L)
    padded = np.zeros((n_x, L))
    padded[:, :n] = r
    exact = np.linalg.solve(A, padded.ravel()).reshape(n_x, L)[:, :n]
    assert np.max(np.abs(M.symbol_solve(r) - exact)) <= 1e-12 * np.max(np.abs(exact))


def test_without_transfers_on_the_grid_it_inverts_diffusion_and_the_local_rate(rng):
    """A kernel with only the lumped far transfers has no in-scattering on the grid: the preconditioner
    is then (d^2/dx^2 - D)^-1 exactly, for any occupations."""
    p = wire(n_x=9, n=81)
    n_x, n = p.wire.n - 2, p.energy.n
    K = np.zeros((n_x, 2 * n + 1))
    K[:, 0], K[:, -1] = rng.uniform(1, 5, n_x), rng.uniform(1, 5, n_x)
    D = rng.uniform(1, 50, (n_x, n))
    M = SteadyPreconditioner(p, linearisation(rng.uniform(0, 1, (n_x, n)), K, D), 0)
    r = rng.standard_normal((n_x, n))
    u = M.symbol_solve(r)
    assert np.max(np.abs(laplacian_matrix(p) @ u - D * u - r)) <= 1e-12 * np.max(np.abs(D * u))


@pytest.mark.parametrize("conserved", [1, 2])
def test_the_conserved_moments_of_the_preconditioned_residual_are_exact(rng, conserved):
    """Z^T A M r = Z^T r: the collisions drop out of the moments they conserve, so the diffusion of the
    moments of M r must reproduce those of r (particles; and energy unless a bath takes it)."""
    p = wire(n_x=17, n=161)
    _, lin = SteadyResidual(p).evaluate(p.collisionless()[1:-1])
    M = SteadyPreconditioner(p, lin, conserved)
    r = rng.standard_normal(lin.f.shape)
    u = M(r.ravel()).reshape(r.shape)
    d, eps = p.energy.step, p.energy.values
    Z = np.stack([np.full(eps.size, d), d * eps])[:conserved]
    moments = p.laplacian_homogeneous(u) @ Z.T
    assert np.max(np.abs(moments - r @ Z.T)) <= 1e-12 * np.max(np.abs(p.laplacian_homogeneous(u))) * eps.size * d


@pytest.mark.parametrize("n_x, n", [(9, 81), (17, 161)])
def test_the_in_scattering_halves_the_krylov_iterations(n_x, n):
    """GMRES to 1e-8 on a Newton system at the steady state: the in-scattering removes the slow
    relaxation of smooth changes in energy that the local rate alone leaves (measured: 6 products
    against 11 and 12)."""
    p = wire(n_x=n_x, n=n)
    state = SteadyResidual(p)
    u = steady_state(p).f[1:-1]
    _, lin = state.evaluate(u)
    b = state.evaluate(u + 0.01 * (p.collisionless()[1:-1] - u))[0].ravel()
    nu = np.broadcast_to(lin.K.sum(axis=1, keepdims=True), u.shape)
    preconditioners = {"local rate": lambda r: -p.diffusion_solve(r.reshape(u.shape), nu).ravel(),
                       "in-scattering": SteadyPreconditioner(p, lin, 2)}
    products = {}
    for name, M in preconditioners.items():
        result = GMRES(b.size, 40).solve(lambda v: state.jvp(lin, v), M, b, rtol=1e-8)
        assert result.converged
        products[name] = result.products
    assert products["in-scattering"] <= 7
    assert products["local rate"] >= 10


def test_the_coarse_grid_keeps_at_least_512_cells():
    assert [coarsening(n) for n in (81, 513, 1025, 2049, 4097)] == [1, 1, 2, 4, 8]
    p = wire(n_x=5, n=1025)
    _, lin = SteadyResidual(p).evaluate(p.collisionless()[1:-1])
    M = SteadyPreconditioner(p, lin, 2)
    assert M.block == 2 and M.length == scipy.fft.next_fast_len(2 * 513 - 1, real=True)

