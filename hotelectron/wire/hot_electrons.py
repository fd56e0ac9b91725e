"""The linear hot-electron problem of VGL (71), solved directly.

For electrons far above the Fermi level (eps >> T), with the pairs in equilibrium at T, the Pauli
factors drop out and the kinetic equation becomes linear (dimensionless units of ``WireProblem``):

    d^2 f/dx^2 = rate * int chi(E) [f(eps) - f(eps + E)] dE / T_sg^2,

with ``chi`` of ``spin.chi`` (E > 0 an energy loss). On the grid the kernel is the pair out-kernel
of Gibbs populations, which is chi(E) dE sampled on the comb of transfers ``k (eps_J' - eps_J)``
(for S = 1/2 it equals chi(E) times the exact cell integral of 1/E^2, see the tests). The affine
problem is solved by GMRES, preconditioned by the diffusion operator plus the total loss rate.
"""

from __future__ import annotations

import numpy as np
from scipy import signal
from scipy.sparse.linalg import LinearOperator, gmres

from .problem import WireProblem

__all__ = ["hot_electron_kernel", "hot_electron_integral", "solve_hot_electrons"]


def hot_electron_kernel(problem: WireProblem, temperature: float) -> np.ndarray:
    """Out-kernel ``K[M + m]`` (rate of eps -> eps - m d) of pairs in equilibrium at ``temperature``."""
    pairs = problem.pairs
    if pairs is None:
        msg = "the hot-electron problem needs a pair-scattering mechanism"
        raise ValueError(msg)
    return pairs.out_kernel(problem.energy, pairs.gibbs(1, temperature), None)[0]


def hot_electron_integral(f, K, outside_below: float = 1.0) -> np.ndarray:
    """``f(eps) sum_m K[m] - sum_m K[m] f(eps + m d)`` for each row of f (VGL 71 without Pauli factors).

    Beyond the grid f is ``outside_below`` below it and 0 above it.
    """
    M = (K.size - 1) // 2
    rows = f.shape[0]
    padded = np.concatenate([np.full((rows, M), outside_below), f, np.zeros((rows, M))], axis=1)
    gains = signal.fftconvolve(padded, K[None, ::-1], mode="valid", axes=1)  # sum_m K[m] f(i + m)
    return f * K.sum() - gains


def solve_hot_electrons(problem: WireProblem, temperature: float, tol: float = 1e-12) -> np.ndarray:
    """Solve VGL (71) in the wire of ``problem`` (its reservoirs, its pair parameters); returns f[x, eps]."""
    K = hot_electron_kernel(problem, temperature)
    shape = (problem.wire.n - 2, problem.energy.n)
    u0 = problem.collisionless()[1:-1]

    def residual(u, outside_below=1.0, reservoirs=True):
        full = problem.with_reservoirs(u) if reservoirs else np.concatenate([np.zeros((1, u.shape[1])), u, np.zeros((1, u.shape[1]))])
        return problem.laplacian(full) - hot_electron_integral(u, K, outside_below)

    def matvec(v):  # the homogeneous part: no reservoirs, nothing outside the grid
        return residual(v.reshape(shape), 0.0, False).ravel()

    def precondition(r):
        shift = np.full(shape, K.sum())
        return -problem.diffusion_solve(r.reshape(shape), shift).ravel()

    n = int(np.prod(shape))
    A = LinearOperator((n, n), matvec=matvec, dtype=float)
    Minv = LinearOperator((n, n), matvec=precondition, dtype=float)
    b = -residual(u0).ravel()
    delta, info = gmres(A, b, M=Minv, rtol=tol, atol=0.0, restart=60, maxiter=50)
    if info != 0:
        msg = f"hot-electron problem did not converge (GMRES info {info})"
        raise RuntimeError(msg)
    return problem.with_reservoirs(u0 + delta.reshape(shape))
