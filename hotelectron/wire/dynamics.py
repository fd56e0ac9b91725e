"""The right-hand side of the coupled electron-pair system and the preconditioner of its implicit stages.

The state is one flat vector ``y = (f, P)``: electrons ``f[x, eps]`` on the interior nodes of a wire
(or the one position of a closed box) and, with pairs, their populations ``P[x, k, J]``. Its rate of
change is

    df/dt = d^2 f/dx^2 - I[f, P],       dP/dt = R[P, G(f)].

Implicit stages need solves with ``A = 1 - dt J`` (J the Jacobian). The preconditioner ``M ~ A^-1``
is built from what the right-hand side computed at the start of the step ("frozen" G and kernel):

1. electrons: ``(1 + dt nu(x) - dt d^2/dx^2)^-1`` with ``nu(x)`` the local out-scattering rate,
   tridiagonal along x; nu depends on x alone, so one elimination per step serves every energy;
2. pairs, with their response to the electrons of step 1 (block lower triangular):
   ``u_P = (1 - dt M[G])^-1 (r_P + dt (dR/dG)(dG/df) u_f)``, a chain solve per (x, V). Fast pairs
   follow the electrons; leaving this coupling out made the frozen approximation worse than none at
   the steps the stiff alloys need. A mechanism may offer ``chain_stage(P, G, grid, dt)``, the
   chains factorised once per step and the response and both sweeps in one pass
   (``PairScattering`` does); otherwise ``pair_response`` and ``solve_chain`` give the same map;
3. the conserved moments restored: the collisions conserve at each position the particles
   ``d sum_i f_i`` and the energy ``d sum_i eps_i f_i + w_p[P]`` (and the pairs at each coupling,
   which step 2 keeps by itself). With ``Z`` those moments, ``Z^T A = Z^T (1 - dt d^2/dx^2)`` exactly,
   so the moments of ``A u`` are known without applying A. Step 3 adds ``c_N(x) w + c_E(x) eps w`` to
   ``u_f``, with ``w = f(1 - f)`` (the shape a change of the local potential or temperature has), so
   that ``Z^T A M r = Z^T r`` for every r.

Because of 3, GMRES started from ``M r`` (right preconditioning) keeps every moment of the residual
at zero: the stage solutions, and so the time stepper, conserve particles and W_e + W_p to round-off
whatever the Krylov tolerance, up to what leaves through the energy-grid edges (the collisions do not
conserve that, so the identity is approximate by the same small amount).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kinetics._numba import jit
from ..kinetics.collisions import Collisions, Linearisation
from .problem import WireProblem

__all__ = ["BoxProblem", "Dynamics", "Frozen", "Layout"]


@dataclass(frozen=True)
class BoxProblem:
    """A closed uniform box: the collisions alone, no diffusion, no reservoirs (one position)."""

    collisions: Collisions


@dataclass(frozen=True)
class Layout:
    """Where ``f`` and ``P`` sit in the flat state vector."""

    f_shape: tuple
    P_shape: tuple | None

    @property
    def f_size(self) -> int:
        return int(np.prod(self.f_shape))

    @property
    def size(self) -> int:
        return self.f_size + (int(np.prod(self.P_shape)) if self.P_shape is not None else 0)

    def split(self, y):
        """Views ``(f, P)`` of a flat vector (P is None without pairs)."""
        f = y[: self.f_size].reshape(self.f_shape)
        P = y[self.f_size :].reshape(self.P_shape) if self.P_shape is not None else None
        return f, P

    def join(self, f, P, out=None) -> np.ndarray:
        """The flat vector of ``(f, P)``."""
        out = np.empty(self.size) if out is None else out
        out[: self.f_size] = f.ravel()
        if self.P_shape is not None:
            out[self.f_size :] = P.ravel()
        return out


@dataclass
class Frozen:
    """What Jacobian products and the preconditioner take from the right-hand side at a state."""

    y: np.ndarray
    F: np.ndarray
    lin: Linearisation | None  # None without collisions
    rate: np.ndarray  # nu(x), shape (n_x, 1)
    weight: np.ndarray | None = None  # w = f (1 - f), for the moment correction
    gram_inverse: np.ndarray | None = None  # per position, (n_x, 2, 2)
    pair_stage: tuple | None = None  # (dt, solve): the populations' part of a stage, for one dt
    diffusion: tuple | None = None  # (dt, factors of the electrons' and of the moments' diffusion solve)


class Dynamics:
    """Right-hand side, Jacobian products and stage preconditioner of a ``WireProblem`` or ``BoxProblem``."""

    def __init__(self, problem):
        self.box = isinstance(problem, BoxProblem)
        self.problem = problem
        self.collisions = problem.collisions
        grid = self.collisions.grid
        pairs = self.collisions.pairs
        n_x = 1 if self.box else problem.wire.n - 2
        P_shape = (n_x,) + tuple(pairs.population_shape) if pairs is not None else None
        self.layout = Layout((n_x, grid.n), P_shape)
        d = grid.step
        self._moments = np.stack([np.full(grid.n, d), d * grid.values])  # particles, electron energy
        # the impurities' energy weights over their population axes, flattened (computed once: they
        # enter every preconditioner application)
        self._pair_energy = np.ravel(pairs.energy_weights()) if pairs is not None else None
        # the moments the collisions conserve, which the preconditioner restores: phonons take energy away
        self._conserved = 2 if self.collisions.conserves_energy else 1
        self.evaluations = 0
        self.products = 0
        self.preconditioner_applications = 0

    # -- the right-hand side and its Jacobian -------------------------------------------------------
    def rhs(self, y) -> Frozen:
        """The flat rate of change at ``y`` with what products and the preconditioner need there.

        ``y`` is kept by reference (as the linearisation keeps f): it must not change while the
        returned ``Frozen`` is in use."""
        self.evaluations += 1
        f, P = self.layout.split(y)
        c = self.collisions
        lin = None
        if c.mechanisms:
            df, dP, lin = c.linearise(f, P)
            rate = lin.K.sum(axis=1, keepdims=True)
        else:
            df, dP, rate = np.zeros(f.shape), None, np.zeros((f.shape[0], 1))
        self._add_diffusion(df, f)
        return Frozen(y, self.layout.join(df, dP), lin, rate)

    @property
    def work(self) -> int:
        """Operator applications so far: right-hand sides, Jacobian products and preconditioner
        (or frozen) solves, which cost about the same each."""
        return self.evaluations + self.products + self.preconditioner_applications

    def rhs_only(self, y, out=None) -> np.ndarray:
        """The flat rate of change at ``y`` alone (no linearisation: cheaper), into ``out`` if given."""
        self.evaluations += 1
        f, P = self.layout.split(y)
        if self.collisions.mechanisms:
            df, dP = self.collisions.rhs(f, P)
        else:
            df, dP = np.zeros(f.shape), None
        self._add_diffusion(df, f)
        return self.layout.join(df, dP, out)

    def _add_diffusion(self, df, f):
        """``df += d^2 f/dx^2`` with the reservoirs at the ends (``problem.laplacian_interior``), in one
        pass without temporaries; nothing in a box."""
        if not self.box:
            _add_laplacian(df, f, self.problem.f_left, self.problem.f_right, 1.0 / self.problem.wire.step**2)

    def jvp(self, frozen: Frozen, v) -> np.ndarray:
        """``J v`` at the frozen state, exactly."""
        self.products += 1
        if frozen.lin is None:  # no collisions: diffusion alone
            v_f = self.layout.split(v)[0]
            d_f = np.zeros_like(v_f) if self.box else self.problem.laplacian_homogeneous(v_f)
            return self.layout.join(d_f, None)
        v_f, v_P = self.layout.split(v)
        d_f, d_P = self.collisions.jvp(frozen.lin, v_f, v_P)
        if not self.box:
            d_f += self.problem.laplacian_homogeneous(v_f)
        return self.layout.join(d_f, d_P)

    # -- the preconditioner ---------------------------------------------------------------------
    def _diffusion_factors(self, frozen, dt):
        """The eliminations of ``1/dt + nu(x) - d^2/dx^2`` (electrons) and ``1/dt - d^2/dx^2`` (moments):
        the local rate depends on x alone, so one factorisation serves every energy."""
        if frozen.diffusion is None or frozen.diffusion[0] != dt:
            h2 = self.problem.wire.step**2
            electrons = _factor_tridiagonal(-1.0 / h2, 1.0 / dt + frozen.rate[:, 0] + 2.0 / h2)
            moments = _factor_tridiagonal(-1.0 / h2, np.full(frozen.rate.shape[0], 1.0 / dt + 2.0 / h2))
            frozen.diffusion = (dt, electrons, moments)
        return frozen.diffusion[1:]

    def _diffuse(self, r_f, frozen, dt):
        """``(1 + dt nu - dt d^2/dx^2)^-1 r_f`` (a division in a box)."""
        if self.box:
            return r_f / (1.0 + dt * frozen.rate)
        factors = self._diffusion_factors(frozen, dt)[0]
        return _solve_factored(-1.0 / self.problem.wire.step**2, *factors, 1.0 / dt, r_f, np.empty_like(r_f))

    def _pair_stage(self, frozen, dt):
        """``(r_P, u_f, out)``: ``out = (1 - dt M[G])^-1 (r_P + dt (dR/dG)(dG/df) u_f)``, the pair chains with
        their response to the electrons, set up once per state and step length (every stage of a
        step and every Krylov vector shares it)."""
        if frozen.pair_stage is None or frozen.pair_stage[0] != dt:
            c, lin = self.collisions, frozen.lin
            factorised = getattr(c.pairs, "chain_stage", None)
            if factorised is not None:  # the mechanism's own one-pass solve
                chain = factorised(lin.P, lin.G, c.grid, dt)
                def solve(r_P, u_f, out):
                    chain(r_P, c.electron_hole_change(lin, u_f), out)
            else:
                def solve(r_P, u_f, out):
                    out[:] = c.pairs.solve_chain(r_P + dt * c.pair_response(lin, u_f), lin.G, c.grid, dt)
            frozen.pair_stage = (dt, solve)
        return frozen.pair_stage[1]

    def pair_energy(self, P) -> np.ndarray:
        """``w_p`` per position (unit 2 nu E0^2): the energy of all impurity populations (as
        ``pairs.energy``)."""
        return np.einsum("xs,s->x", P.reshape(P.shape[0], -1), self._pair_energy)

    def moments(self, f, P) -> np.ndarray:
        """Particles and energy per position, shape (n_x, 2)."""
        m = np.einsum("xe,ae->xa", f, self._moments)  # einsum: no BLAS threads
        if P is not None:
            m[:, 1] += self.pair_energy(P)
        return m

    def _undiffuse_moments(self, m, frozen, dt):
        """``(1 - dt d^2/dx^2)^-1`` applied to moment profiles (n_x, 2)."""
        if self.box:
            return m
        factors = self._diffusion_factors(frozen, dt)[1]
        return _solve_factored(-1.0 / self.problem.wire.step**2, *factors, 1.0 / dt, m, np.empty_like(m))

    def _prepare_moments(self, frozen):
        if frozen.weight is None:
            f = self.layout.split(frozen.y)[0]
            w = f * (1.0 - f) + 1e-12
            k = self._conserved
            prolong = np.stack([w, self.collisions.grid.values * w])[:k]  # (k, n_x, n)
            frozen.weight = w
            frozen.gram_inverse = np.linalg.inv(np.einsum("ae,bxe->xab", self._moments[:k], prolong))

    def precondition(self, r, frozen: Frozen, dt: float, out=None) -> np.ndarray:
        """``M r ~ (1 - dt J)^-1 r`` (see the module docstring), into ``out`` if given (not ``r``);
        ``Z^T A M r = Z^T r`` holds exactly."""
        self.preconditioner_applications += 1
        r_f, r_P = self.layout.split(r)
        u = np.empty(self.layout.size) if out is None else out
        u_f, u_P = self.layout.split(u)
        u_f[:] = self._diffuse(r_f, frozen, dt)
        if r_P is not None:
            self._pair_stage(frozen, dt)(r_P, u_f, u_P)
        if self.collisions.mechanisms:
            # the moments of A u are those of u less dt times the diffusion of the electrons' moments
            self._prepare_moments(frozen)
            electrons = self.moments(u_f, None)
            missing = self.moments(r_f, r_P) - electrons
            if u_P is not None:
                missing[:, 1] -= self.pair_energy(u_P)
            if not self.box:
                missing += dt * self.problem.laplacian_homogeneous(electrons)
            k = self._conserved
            c = np.einsum("xab,xb->xa", frozen.gram_inverse, self._undiffuse_moments(missing, frozen, dt)[:, :k])
            correction = c[:, :1] if k == 1 else c[:, :1] + c[:, 1:] * self.collisions.grid.values
            u_f += correction * frozen.weight
        return u

    def solve_frozen(self, r, frozen: Frozen, dt: float, out=None) -> np.ndarray:
        """The W solve of the previous scheme: electrons and pairs each with their frozen operator,
        no coupling between them and no moment correction (kept for comparisons)."""
        self.preconditioner_applications += 1
        r_f, r_P = self.layout.split(r)
        u_f = self._diffuse(r_f, frozen, dt)
        u_P = None
        if r_P is not None:
            c = self.collisions
            G = frozen.lin.G if frozen.lin is not None else c.electron_hole(self.layout.split(frozen.y)[0])
            u_P = c.pairs.solve_chain(r_P, G, c.grid, dt)
        return self.layout.join(u_f, u_P, out)


def _factor_tridiagonal(off, diag):
    """``(inverse pivots, upper factors)`` of the Thomas elimination of the symmetric tridiagonal matrix
    with diagonal ``diag`` and the constant off-diagonal ``off`` (diagonally dominant: no pivoting)."""
    inverse_pivot = np.empty(diag.size)
    upper = np.empty(diag.size)
    below = 0.0
    for j in range(diag.size):
        inverse_pivot[j] = 1.0 / (diag[j] - off * below)
        below = upper[j] = off * inverse_pivot[j]
    return inverse_pivot, upper


@jit
def _solve_factored(off, inverse_pivot, upper, scale, rhs, out):
    """``out = A^-1 (scale rhs)`` for every column of ``rhs`` (rows along x), with A factorised by
    ``_factor_tridiagonal``; the inner loops run along the rows (contiguous, vectorised)."""
    n, m = rhs.shape
    for i in range(m):
        out[0, i] = scale * rhs[0, i] * inverse_pivot[0]
    for j in range(1, n):
        for i in range(m):
            out[j, i] = (scale * rhs[j, i] - off * out[j - 1, i]) * inverse_pivot[j]
    for j in range(n - 2, -1, -1):
        for i in range(m):
            out[j, i] -= upper[j] * out[j + 1, i]
    return out


@jit
def _add_laplacian(df, f, left, right, inverse_h2):
    """``df += (f[x-1] - 2 f[x] + f[x+1]) / h^2`` on the interior nodes, the reservoirs' ``left`` and
    ``right`` beyond the ends."""
    n, m = f.shape
    for x in range(n):
        for i in range(m):
            below = f[x - 1, i] if x > 0 else left[i]
            above = f[x + 1, i] if x < n - 1 else right[i]
            df[x, i] += (below - 2.0 * f[x, i] + above) * inverse_h2
