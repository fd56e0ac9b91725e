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
   chains factorised once per step and dG, the response and both sweeps in one pass
   (``PairScattering`` does: ``ChainStage.with_electrons``); otherwise ``pair_response`` and
   ``solve_chain`` give the same map;
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
from functools import cached_property

import numpy as np

from ..kinetics._numba import FASTMATH, jit
from ..kinetics.collisions import Collisions, Linearisation
from .moments import add_moment_correction, moment_shapes
from .problem import WireProblem

__all__ = ["BoxProblem", "Dynamics", "Frozen", "Layout", "add_second_difference", "restore_moments_reference"]


@dataclass(frozen=True)
class BoxProblem:
    """A closed uniform box: the collisions alone, no diffusion, no reservoirs (one position)."""

    collisions: Collisions


@dataclass(frozen=True)
class Layout:
    """Where ``f`` and ``P`` sit in the flat state vector."""

    f_shape: tuple
    P_shape: tuple | None

    @cached_property
    def f_size(self) -> int:
        return int(np.prod(self.f_shape))

    @cached_property
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
    def rhs(self, y, out=None) -> Frozen:
        """The flat rate of change at ``y`` (into ``out`` if given) with what products and the
        preconditioner need there.

        ``y`` and ``out`` are kept by reference (as the linearisation keeps f): they must not change
        while the returned ``Frozen`` is in use."""
        self.evaluations += 1
        f, P = self.layout.split(y)
        F = np.empty(self.layout.size) if out is None else out
        df, dP = self.layout.split(F)
        c = self.collisions
        lin = None
        if c.mechanisms:
            lin = c.linearise(f, P, out=(df, dP), products=False)[2]  # a few products per evolution
            rate = lin.K.sum(axis=1, keepdims=True)
        else:
            df[...] = 0.0
            rate = np.zeros((f.shape[0], 1))
        self._add_diffusion(df, f)
        return Frozen(y, F, lin, rate)

    @property
    def work(self) -> int:
        """Operator applications so far: right-hand sides, Jacobian products and preconditioner
        (or frozen) solves, which cost about the same each."""
        return self.evaluations + self.products + self.preconditioner_applications

    def rhs_only(self, y, out=None) -> np.ndarray:
        """The flat rate of change at ``y`` alone (no linearisation: cheaper), into ``out`` if given."""
        self.evaluations += 1
        f, P = self.layout.split(y)
        out = np.empty(self.layout.size) if out is None else out
        df, dP = self.layout.split(out)
        if self.collisions.mechanisms:
            self.collisions.rhs(f, P, out=(df, dP))
        else:
            df[...] = 0.0
        self._add_diffusion(df, f)
        return out

    def _add_diffusion(self, df, f):
        """``df += d^2 f/dx^2`` with the reservoirs at the ends (``problem.laplacian_interior``), in one
        pass without temporaries; nothing in a box."""
        if not self.box:
            add_second_difference(f, self.problem.f_left, self.problem.f_right, df, 1.0 / self.problem.wire.step**2)

    def jvp(self, frozen: Frozen, v) -> np.ndarray:
        """``J v`` at the frozen state, exactly."""
        self.products += 1
        lin = frozen.lin
        if lin is None:  # no collisions: diffusion alone
            v_f = self.layout.split(v)[0]
            d_f = np.zeros_like(v_f) if self.box else self.problem.laplacian_homogeneous(v_f)
            return self.layout.join(d_f, None)
        v_f, v_P = self.layout.split(v)
        d_f, d_P = self.collisions.jvp(lin, v_f, v_P)
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

    def _diffuse(self, r_f, frozen, dt, out):
        """``out = (1 + dt nu - dt d^2/dx^2)^-1 r_f`` (a division in a box)."""
        if self.box:
            return np.divide(r_f, 1.0 + dt * frozen.rate, out=out)
        factors = self._diffusion_factors(frozen, dt)[0]
        return _solve_factored(-1.0 / self.problem.wire.step**2, *factors, 1.0 / dt, r_f, out)

    def _pair_stage(self, frozen, dt):
        """``(r_P, u_f, out)``: ``out = (1 - dt M[G])^-1 (r_P + dt (dR/dG)(dG/df) u_f)``, the pair chains with
        their response to the electrons, set up once per state and step length (every stage of a
        step and every Krylov vector shares it)."""
        if frozen.pair_stage is None or frozen.pair_stage[0] != dt:
            # the closures hold lin, not frozen: no reference cycle keeps a step's arrays alive after it
            c, lin = self.collisions, frozen.lin
            factorised = getattr(c.pairs, "chain_stage", None)
            if factorised is not None:  # the mechanism's own one-pass solve
                chain = factorised(lin.P, lin.G, c.grid, dt)
                def solve(r_P, u_f, out):
                    chain.with_electrons(r_P, u_f, lin.FF, out)
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

    def _prepare_moments(self, frozen):
        if frozen.weight is None:
            f = self.layout.split(frozen.y)[0]
            frozen.weight = np.empty_like(f)
            frozen.gram_inverse = np.empty((f.shape[0], self._conserved, self._conserved))
            grid = self.collisions.grid
            moment_shapes(f, grid.step, grid.values, frozen.weight, frozen.gram_inverse)

    def _moment_arguments(self, r, u, frozen, dt) -> tuple:
        """The arguments of ``_restore_moments`` and of its twin ``restore_moments_reference``."""
        self._prepare_moments(frozen)
        r_f, r_P = self.layout.split(r)
        u_f, u_P = self.layout.split(u)
        n_x = u_f.shape[0]
        if r_P is None:
            r_P = u_P = np.empty((n_x, 0))
            pair_energy = np.empty(0)
        else:
            r_P, u_P, pair_energy = r_P.reshape(n_x, -1), u_P.reshape(n_x, -1), self._pair_energy
        if self.box:
            inverse_h2, inverse_pivot, upper = 0.0, np.empty(0), np.empty(0)
        else:
            inverse_h2 = 1.0 / self.problem.wire.step**2
            inverse_pivot, upper = self._diffusion_factors(frozen, dt)[1]
        grid = self.collisions.grid
        return (u_f, r_f, u_P, r_P, grid.step, grid.values, pair_energy, dt, inverse_h2, inverse_pivot, upper,
                frozen.gram_inverse, self._conserved, frozen.weight)

    def precondition(self, r, frozen: Frozen, dt: float, out=None) -> np.ndarray:
        """``M r ~ (1 - dt J)^-1 r`` (see the module docstring), into ``out`` if given (not ``r``);
        ``Z^T A M r = Z^T r`` holds exactly."""
        self.preconditioner_applications += 1
        r_f, r_P = self.layout.split(r)
        u = np.empty(self.layout.size) if out is None else out
        u_f, u_P = self.layout.split(u)
        self._diffuse(r_f, frozen, dt, u_f)
        if r_P is not None:
            self._pair_stage(frozen, dt)(r_P, u_f, u_P)
        if self.collisions.mechanisms:
            _restore_moments(*self._moment_arguments(r, u, frozen, dt))
        return u

    def solve_frozen(self, r, frozen: Frozen, dt: float, out=None) -> np.ndarray:
        """The W solve of the previous scheme: electrons and pairs each with their frozen operator,
        no coupling between them and no moment correction (kept for comparisons)."""
        self.preconditioner_applications += 1
        r_f, r_P = self.layout.split(r)
        u_f = self._diffuse(r_f, frozen, dt, np.empty_like(r_f))
        u_P = None
        if r_P is not None:
            c = self.collisions
            G = frozen.lin.G if frozen.lin is not None else c.electron_hole(self.layout.split(frozen.y)[0])
            u_P = c.pairs.solve_chain(r_P, G, c.grid, dt)
        return self.layout.join(u_f, u_P, out)


def restore_moments_reference(u_f, r_f, u_P, r_P, step, eps, pair_energy, dt, inverse_h2, inverse_pivot, upper,
                              gram_inverse, conserved, weight) -> np.ndarray:
    """The numpy twin of ``_restore_moments``: ``u_f`` plus ``c_N w + c_E eps w`` per position such
    that the moments of ``A u`` equal those of r (module docstring, step 3); returns the new u_f.

    The moments of ``A u = u - dt J u`` are those of u less dt times the diffusion of the electrons'
    moments (the collisions conserve them), so the missing moments, ``Z^T (r - A u)``, are those of r
    less those of u plus dt times that diffusion; ``(1 - dt d^2/dx^2)^-1`` of them, in the basis of the
    two shapes (``gram_inverse``), gives c. A box (``inverse_pivot`` empty) has no diffusion."""
    moments = step * np.stack([np.ones_like(eps), eps])  # particles, electron energy
    electrons = u_f @ moments.T  # (n_x, 2)
    missing = r_f @ moments.T - electrons
    missing[:, 1] += (r_P - u_P) @ pair_energy
    if inverse_pivot.size:
        laplacian = -2.0 * electrons
        laplacian[1:] += electrons[:-1]
        laplacian[:-1] += electrons[1:]
        missing += dt * inverse_h2 * laplacian
        # (1 - dt d^2/dx^2) z = missing: a plain tridiagonal solve, independent of the factors given
        n_x = missing.shape[0]
        matrix = (np.diag(np.full(n_x, 1.0 + 2.0 * dt * inverse_h2)) - dt * inverse_h2 * np.eye(n_x, k=1)
                  - dt * inverse_h2 * np.eye(n_x, k=-1))
        missing = np.linalg.solve(matrix, missing)
    c = np.einsum("xab,xb->xa", gram_inverse, missing[:, :conserved])
    correction = c[:, :1] if conserved == 1 else c[:, :1] + c[:, 1:] * eps
    return u_f + correction * weight


@jit(fastmath=FASTMATH | {"reassoc"})  # reassociated sums vectorise; NaN still propagates
def _restore_moments(u_f, r_f, u_P, r_P, step, eps, pair_energy, dt, inverse_h2, inverse_pivot, upper,
                     gram_inverse, conserved, weight):
    """``restore_moments_reference`` in one pass over the electrons and the populations, in place:
    ``inverse_pivot`` and ``upper`` are ``_factor_tridiagonal``'s factors of ``1/dt - d^2/dx^2``
    (``conserved``, the twin's, is the size of ``gram_inverse`` here)."""
    n_x, n = u_f.shape
    electrons = np.empty((n_x, 2))
    missing = np.empty((n_x, 2))
    for x in range(n_x):
        u0 = 0.0
        u1 = 0.0
        r0 = 0.0
        r1 = 0.0
        for i in range(n):
            u0 += u_f[x, i]
            u1 += eps[i] * u_f[x, i]
            r0 += r_f[x, i]
            r1 += eps[i] * r_f[x, i]
        pairs = 0.0
        for s in range(pair_energy.size):
            pairs += pair_energy[s] * (r_P[x, s] - u_P[x, s])
        electrons[x, 0] = step * u0
        electrons[x, 1] = step * u1
        missing[x, 0] = step * (r0 - u0)
        missing[x, 1] = step * (r1 - u1) + pairs
    if inverse_pivot.size:
        for x in range(n_x):
            for a in range(2):
                below = electrons[x - 1, a] if x > 0 else 0.0
                above = electrons[x + 1, a] if x < n_x - 1 else 0.0
                missing[x, a] += dt * inverse_h2 * (below - 2.0 * electrons[x, a] + above)
        # (1 - dt d^2/dx^2)^-1 = (1/dt - d^2/dx^2)^-1 / dt, with the factors of _factor_tridiagonal
        off = -inverse_h2
        for a in range(2):
            missing[0, a] = missing[0, a] / dt * inverse_pivot[0]
            for x in range(1, n_x):
                missing[x, a] = (missing[x, a] / dt - off * missing[x - 1, a]) * inverse_pivot[x]
            for x in range(n_x - 2, -1, -1):
                missing[x, a] -= upper[x] * missing[x + 1, a]
    add_moment_correction(u_f, missing, gram_inverse, weight, eps)


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
def add_second_difference(v, left, right, out, inverse_h2):
    """``out += d^2 v/dx^2`` on the interior nodes, with the rows ``left`` and ``right`` beyond the ends:
    the diffusion part of a right-hand side or residual (the reservoirs there) and of a Jacobian
    product (zeros), in one pass without temporaries (``WireProblem.laplacian_interior`` and
    ``laplacian_homogeneous`` are its twins)."""
    n, m = v.shape
    for j in range(n):
        below = left if j == 0 else v[j - 1]
        above = right if j == n - 1 else v[j + 1]
        for i in range(m):
            out[j, i] += (below[i] - 2.0 * v[j, i] + above[i]) * inverse_h2
