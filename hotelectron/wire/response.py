"""How a steady state moves when a collision kernel changes: its exact linear response.

At a steady state the residual of :mod:`hotelectron.wire.steady` vanishes,

    R[f; K] = d^2 f/dx^2 - I[f, P_stat(f); K] = 0,

with the pairs (if any) at their stationary populations. A change ``dK`` of the compact out-kernel
at fixed f (a change of a mechanism's parameters, e.g. the node values of a tabulated kernel) moves
the steady state by the ``df`` that solves

    R'[f] df = I[f, dK],

R' the Jacobian of the steady solver: the diffusion operator plus the collision engine's exact
Jacobian products (:meth:`Collisions.jvp`, the pairs' stationary response included). The collision
integral is linear in the kernel at fixed f, so the right-hand side is the engine's integral of
``dK`` alone. Each right-hand side is one GMRES solve, preconditioned like the Newton steps of the
steady solver (:mod:`hotelectron.wire.steady_preconditioner`: diffusion, the local rate and the
in-scattering inverted, the conserved moments restored), to a relative residual ``rtol``: on the
9 x 241 wires of the tests 5-7 products for 1e-10 where the local rate alone, ``-(nu(x) -
d^2/dx^2)^-1``, needed 7-15. This gives derivatives of the steady state exact to that tolerance,
where finite differences of steady states carry the solver's noise divided by the step.
"""

from __future__ import annotations

import numpy as np

from ..kinetics import convolution
from .problem import WireProblem
from .steady import SteadyResidual, Workspace

__all__ = ["SteadyResponse"]


class SteadyResponse:
    """The linear response of the steady state ``f`` of ``problem`` to changes of its kernel.

    Parameters
    ----------
    problem : WireProblem
    f : ndarray (n_x, n_energy)
        The steady state (reservoir rows included), e.g. ``steady_state(problem).f``.
    rtol : float
        Relative residual of each GMRES solve.
    maxiter : int
        Krylov vectors per solve at most; a solve that does not reach ``rtol`` raises RuntimeError.
    """

    def __init__(self, problem: WireProblem, f, rtol: float = 1e-10, maxiter: int = 400):
        self.problem = problem
        self.collisions = problem.collisions
        self.rtol = rtol
        self.interior = np.ascontiguousarray(np.asarray(f, dtype=float)[1:-1])
        self.shape = self.interior.shape
        self._steady = SteadyResidual(problem, work=Workspace(self.shape, maxiter))
        _R, self.linearisation = self._steady.evaluate(self.interior)
        self._precondition = self._steady.preconditioner(self.linearisation)
        self._gmres = self._steady.work.gmres

    @property
    def products(self) -> int:
        """Jacobian products so far."""
        return self._steady.products

    @property
    def electron_hole(self) -> np.ndarray:
        """G of the steady state on the interior nodes (what kernels that depend on f are built from)."""
        return self.linearisation.G

    def to_kernel_change(self, dK) -> np.ndarray:
        """``df`` (n_x, n_energy; zero at the reservoirs) for a change ``dK`` of the compact kernel on
        the interior nodes (shape (n_x - 2, 2M + 1), as ``Collisions.kernel`` builds it)."""
        rhs = convolution.collision_integral(self.interior, dK, self.collisions.path)
        result = self._gmres.solve(lambda v: self._steady.jvp(self.linearisation, v), self._precondition,
                                   rhs.ravel(), rtol=self.rtol)
        if not result.converged:
            msg = (f"steady-state response: GMRES reached a relative residual {result.residual:.2e} "
                   f"(wanted {self.rtol:g}) in {result.products} products")
            raise RuntimeError(msg)
        df = np.zeros((self.shape[0] + 2, self.shape[1]))
        df[1:-1] = result.x.reshape(self.shape)
        return df
