"""Steady state of the wire: Newton-Krylov on the f-only problem with stationary pairs (SPEC section 6).

The unknowns are f on the interior nodes. For given f the pairs take their stationary populations
(VGL 65), so the residual is

    R[f] = d^2 f/dx^2 - I[f, P_stat(f)].

The Krylov solver is preconditioned with the diffusion operator plus the local collision rate,
``(nu(x) - d^2/dx^2)^-1``, whose tridiagonal solves along x are batched over energies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import NoConvergence, newton_krylov
from scipy.sparse.linalg import LinearOperator

from ..kinetics.convolution import collision_integral
from .problem import WireProblem

__all__ = ["SteadyState", "steady_state"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SteadyState:
    """A converged steady state.

    Attributes
    ----------
    f : ndarray (n_x, n_energy)
        Distribution on all nodes, reservoirs included.
    P : ndarray (n_x - 2, n_V, 2S + 1) or None
        Stationary pair populations on the interior nodes.
    iterations : int
        Newton iterations.
    residual : float
        Max-norm of the final residual (unit 1/tau_D).
    """

    f: np.ndarray
    P: np.ndarray | None
    iterations: int
    residual: float


class _CollisionState:
    """Evaluates the residual and keeps what the preconditioner needs from the last evaluation."""

    def __init__(self, problem: WireProblem, fixed_pairs=None):
        self.problem = problem
        self.fixed_pairs = fixed_pairs
        self.evaluations = 0
        self.local_rate = np.zeros((problem.wire.n - 2, 1))

    def pairs_and_integral(self, interior):
        c = self.problem.collisions
        G = c.electron_hole(interior)
        if self.fixed_pairs is not None:
            P = self.fixed_pairs
        else:
            P = c.stationary_pairs(interior, G) if c.pairs is not None else None
        K = c.kernel(P, G)
        return P, K, collision_integral(interior, K, c.path)

    def residual(self, interior):
        self.evaluations += 1
        problem = self.problem
        if not np.all(np.isfinite(interior)):
            msg = "steady-state iteration produced non-finite values of f"
            raise FloatingPointError(msg)
        if not problem.mechanisms:
            return problem.laplacian(problem.with_reservoirs(interior))
        _P, K, I = self.pairs_and_integral(interior)
        return problem.laplacian(problem.with_reservoirs(interior)) - I

    def refresh_rate(self, interior):
        if self.problem.mechanisms:
            _P, K, _I = self.pairs_and_integral(interior)
            self.local_rate = K.sum(axis=1, keepdims=True)


class _Preconditioner(LinearOperator):
    """``r -> -(nu - L)^-1 r``, an approximate inverse of the Jacobian ``L - dI/df``."""

    def __init__(self, state: _CollisionState, shape):
        self.state = state
        self.interior_shape = shape
        size = int(np.prod(shape))
        super().__init__(dtype=float, shape=(size, size))

    def update(self, x, f):  # called by scipy after every Newton step
        self.state.refresh_rate(x.reshape(self.interior_shape))

    def _matvec(self, r):
        rhs = r.reshape(self.interior_shape)
        shift = np.broadcast_to(self.state.local_rate, self.interior_shape)
        return -self.state.problem.diffusion_solve(rhs, shift).ravel()


def steady_state(problem: WireProblem, f_tol: float = 1e-10, maxiter: int = 60, initial=None,
                 fixed_pairs=None) -> SteadyState:
    """Solve for the steady state; raise ``RuntimeError`` if Newton-Krylov does not converge.

    Parameters
    ----------
    problem : WireProblem
    f_tol : float
        Max-norm of the residual to reach (unit 1/tau_D).
    maxiter : int
        Newton iterations allowed.
    initial : ndarray, optional
        Starting f on all nodes; default the collisionless solution.
    fixed_pairs : ndarray (n_x - 2, n_V, 2S + 1), optional
        Hold the pairs at these populations (e.g. Gibbs, pairs tied to a bath) instead of letting them
        take their stationary values for the local electrons.
    """
    start = problem.collisionless() if initial is None else np.asarray(initial, dtype=float)
    interior0 = start[1:-1].copy()
    state = _CollisionState(problem, fixed_pairs)
    state.refresh_rate(interior0)
    iterations = 0
    if np.max(np.abs(state.residual(interior0))) <= f_tol:  # already there (no bias, no collisions)
        P = state.pairs_and_integral(interior0)[0] if problem.pairs is not None else None
        return SteadyState(start.copy(), P, 0, float(np.max(np.abs(state.residual(interior0)))))

    def count(x, f):
        nonlocal iterations
        iterations += 1
        log.debug("Newton iteration %d: residual %.3e", iterations, np.max(np.abs(f)))

    try:
        interior = newton_krylov(
            lambda u: state.residual(u.reshape(interior0.shape)).ravel(),
            interior0.ravel(),
            inner_M=_Preconditioner(state, interior0.shape),
            f_tol=f_tol,
            maxiter=maxiter,
            method="lgmres",
            callback=count,
            line_search="armijo",
        ).reshape(interior0.shape)
    except NoConvergence as exc:
        msg = f"steady state did not converge to residual {f_tol:g} in {maxiter} Newton iterations"
        raise RuntimeError(msg) from exc
    residual = float(np.max(np.abs(state.residual(interior))))
    if not residual <= f_tol * 10:  # scipy checks f_tol itself; this guards against NaN
        msg = f"steady state did not converge: final residual {residual:.3e} (wanted {f_tol:g})"
        raise RuntimeError(msg)
    P = state.pairs_and_integral(interior)[0] if problem.pairs is not None else None
    log.info("steady state: %d Newton iterations, %d residual evaluations, residual %.2e", iterations, state.evaluations, residual)
    return SteadyState(problem.with_reservoirs(interior), P, iterations, residual)
