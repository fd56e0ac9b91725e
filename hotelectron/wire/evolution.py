"""Time evolution of the coupled electron-pair system with linearly implicit (Rosenbrock-W) schemes.

The state is ``f`` on the interior nodes and, with pairs, ``P[x, k, J]``. Each step freezes a cheap
approximation W of the Jacobian:

- electrons: the diffusion operator (exact) minus the local collision rate ``nu(x)`` (the sum of the
  out-kernel), solved as tridiagonal systems along x batched over energies;
- pairs: the chain generator with the electron-hole function of the step's start, solved per
  (x, V) as a tridiagonal chain.

Stiff diffusion, stiff collisions with small energy transfers and fast pair relaxation are then all
treated implicitly. The schemes are W-methods: their order holds for any W, though the error
constant grows with J - W (optional Krylov refinement of the stages brings W to J). Schemes are data (``SCHEMES``); the test suite checks each
one's order. The default, ``ros2`` (Verwer et al., SIAM J. Sci. Comput. 20, 1456 (1999)), is second
order and L-stable with an embedded first-order solution for step-size control.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..kinetics.collisions import Collisions
from .problem import WireProblem, fermi

__all__ = ["SCHEMES", "BoxProblem", "Evolution", "Scheme", "State", "equilibrium_state", "hot_bump", "quench_state"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scheme:
    """A Rosenbrock-W scheme in the form

        (1 - gamma h W) k_i = F(y + h sum_j a[i][j] k_j) + sum_j c[i][j] k_j,
        y_new = y + h sum_i b_i k_i,   error estimate h sum_i (b_i - b_hat_i) k_i.
    """

    name: str
    order: int
    gamma: float
    a: tuple
    c: tuple
    b: tuple
    b_hat: tuple | None


SCHEMES = {
    "ros2": Scheme("ros2", 2, 1 + 1 / math.sqrt(2), ((), (1.0,)), ((), (-2.0,)), (1.5, 0.5), (1.0, 0.0)),
    "euler": Scheme("euler", 1, 1.0, ((),), ((),), (1.0,), None),
}


@dataclass(frozen=True)
class State:
    """Time (tau_D), electrons on the interior nodes ``f[x, eps]``, pairs ``P[x, k, J]`` or None."""

    t: float
    f: np.ndarray
    P: np.ndarray | None


class _Dynamics:
    """Right-hand side and frozen-Jacobian solves shared by the wire and the closed box."""

    collisions: Collisions

    def _collide(self, f, P):
        c = self.collisions
        if not c.mechanisms:
            return np.zeros_like(f), None, None, np.zeros((f.shape[0], 1))
        df, dP, G, K = c.rhs_with_kernel(f, P)
        return df, dP, G, K.sum(axis=1, keepdims=True)

    def solve_pairs(self, r_P, G, dt):
        c = self.collisions
        return c.pairs.solve_chain(r_P, G, c.grid, dt) if r_P is not None else None


class _WireDynamics(_Dynamics):
    def __init__(self, problem: WireProblem):
        self.problem = problem
        self.collisions = problem.collisions

    def rhs(self, f, P):
        df, dP, G, rate = self._collide(f, P)
        return df + self.problem.laplacian(self.problem.with_reservoirs(f)), dP, (G, rate)

    def solve(self, r_f, r_P, aux, dt):
        G, rate = aux
        shift = np.broadcast_to(1.0 / dt + rate, r_f.shape)
        return self.problem.diffusion_solve(r_f / dt, shift), self.solve_pairs(r_P, G, dt)


@dataclass(frozen=True)
class BoxProblem:
    """A closed uniform box: the collisions alone, no diffusion, no reservoirs (one position)."""

    collisions: Collisions


class _BoxDynamics(_Dynamics):
    def __init__(self, box: BoxProblem):
        self.collisions = box.collisions

    def rhs(self, f, P):
        df, dP, G, rate = self._collide(f, P)
        return df, dP, (G, rate)

    def solve(self, r_f, r_P, aux, dt):
        G, rate = aux
        return r_f / (1.0 + dt * rate), self.solve_pairs(r_P, G, dt)


def _add(y, h, ks, weights):
    """``y + h sum_i w_i k_i`` for a pair (f, P) of arrays (P may be None)."""
    out = []
    for part in range(2):
        if y[part] is None:
            out.append(None)
            continue
        acc = y[part].copy()
        for w, k in zip(weights, ks):
            if w:
                acc += h * w * k[part]
        out.append(acc)
    return tuple(out)


class Evolution:
    """Adaptive time stepping of a ``WireProblem`` or a ``BoxProblem``.

    Parameters
    ----------
    problem : WireProblem or BoxProblem
    scheme : str
        Key of ``SCHEMES``.
    rtol, atol : float
        Local error tolerances (max-norm over f and P, relative to the state's magnitude).
    dt_initial, dt_max : float
        First trial step and largest step (tau_D). With the cheap W, steps much longer than the
        slowest relaxation time approach a steady state only like a damped fixed-point iteration; the
        cap keeps the approach at its physical rate.
    krylov_tol : float or None
        If given, refine every stage solve by GMRES on the true Jacobian to this relative tolerance.
        Costlier per step, but linear invariants (particles, W_e + W_p in a closed box) are then kept
        to that tolerance and long steps converge like Newton iterations.
    """

    def __init__(self, problem, scheme: str = "ros2", rtol: float = 1e-4, atol: float = 1e-7,
                 dt_initial: float = 1e-6, dt_max: float = 0.25, krylov_tol: float | None = None):
        if scheme not in SCHEMES:
            msg = f"scheme must be one of {sorted(SCHEMES)}; got {scheme!r}"
            raise ValueError(msg)
        self.scheme = SCHEMES[scheme]
        self.dynamics = _BoxDynamics(problem) if isinstance(problem, BoxProblem) else _WireDynamics(problem)
        self.rtol, self.atol = rtol, atol
        self.dt = dt_initial
        self.dt_max = dt_max
        self.krylov_tol = krylov_tol
        self.steps = 0
        self.rejected = 0
        self.krylov_iterations = 0

    def step(self, state: State, h: float):
        """One step of length h: the new state and the scaled error estimate (None without one)."""
        s = self.scheme
        y = (state.f, state.P)
        ks = []
        aux = None
        for i in range(len(s.b)):
            Y = _add(y, h, ks, s.a[i]) if i else y
            r_f, r_P, stage_aux = self.dynamics.rhs(*Y)
            if i == 0:
                aux, F0 = stage_aux, (r_f, r_P)
            for cij, kj in zip(s.c[i], ks):
                r_f = r_f + cij * kj[0]
                r_P = r_P + cij * kj[1] if r_P is not None else None
            ks.append(self._stage_solve(y, F0, aux, (r_f, r_P), s.gamma * h))
        f_new, P_new = _add(y, h, ks, s.b)
        error = None
        if s.b_hat is not None:
            diff = [bi - bh for bi, bh in zip(s.b, s.b_hat)]
            zero = (np.zeros_like(state.f), None if state.P is None else np.zeros_like(state.P))
            raw_f, raw_P = _add(zero, h, ks, diff)
            # Filter the estimate through (1 - gamma h W)^-1 (Shampine; Hairer & Wanner IV.8): the
            # embedded solution is not L-stable, and unfiltered it would report the stiff components
            # that the main scheme damps correctly as errors, forcing tiny steps.
            err_f, err_P = self.dynamics.solve(raw_f, raw_P, aux, s.gamma * h)
            error = self._scaled(err_f, state.f, f_new)
            if err_P is not None:
                error = max(error, self._scaled(err_P, state.P, P_new))
        return State(state.t + h, f_new, P_new), error

    def _stage_solve(self, y, F0, aux, r, dt):
        """``(1 - dt J) k = r``: the W solve, refined by GMRES on the true Jacobian when asked.

        Jacobian-vector products are forward differences of the right-hand side at the step's start.
        With the true Jacobian the scheme keeps linear invariants (particles, W_e + W_p in a closed
        box) to the Krylov tolerance, and its error constant no longer carries J - W.
        """
        k = self.dynamics.solve(*r, aux, dt)
        if self.krylov_tol is None:
            return k
        from scipy.sparse.linalg import LinearOperator, gmres

        shapes = [a.shape for a in y if a is not None]
        sizes = [int(np.prod(sh)) for sh in shapes]

        def pack(parts):
            return np.concatenate([p.ravel() for p in parts if p is not None])

        def unpack(v):
            f = v[: sizes[0]].reshape(shapes[0])
            P = v[sizes[0] :].reshape(shapes[1]) if len(shapes) > 1 else None
            return f, P

        y_vec, F0_vec = pack(y), pack(F0)
        scale = 1e-7 * (1.0 + np.max(np.abs(y_vec)))

        def matvec(v):
            norm = np.max(np.abs(v))
            if norm == 0:
                return np.zeros_like(v)
            eps = scale / norm
            Fe = self.dynamics.rhs(*unpack(y_vec + eps * v))
            return v - dt * (pack(Fe[:2]) - F0_vec) / eps

        def precondition(v):
            return pack(self.dynamics.solve(*unpack(v), aux, dt))

        n = y_vec.size
        A = LinearOperator((n, n), matvec=matvec, dtype=float)
        M = LinearOperator((n, n), matvec=precondition, dtype=float)
        counter = [0]

        def count(_):
            counter[0] += 1

        rhs = pack(r)
        solution, info = gmres(A, rhs, x0=pack(k), M=M, rtol=self.krylov_tol, atol=0.0, restart=30, maxiter=10,
                               callback=count, callback_type="pr_norm")
        self.krylov_iterations += counter[0]
        if info != 0:  # the iterate still improves on the W solve; the error control judges the step
            log.debug("GMRES stopped at %d iterations above tolerance (step %g)", counter[0], dt)
        return unpack(solution)

    def _scaled(self, err, old, new):
        scale = self.atol + self.rtol * np.maximum(np.abs(old), np.abs(new))
        value = float(np.max(np.abs(err) / scale))
        return value if math.isfinite(value) else math.inf

    def advance(self, state: State, t_target: float) -> State:
        """Adaptive steps from ``state`` to exactly ``t_target``."""
        if self.scheme.b_hat is None:
            msg = f"scheme {self.scheme.name!r} has no error estimate; use fixed_steps"
            raise ValueError(msg)
        while state.t < t_target:
            natural = min(self.dt, self.dt_max)
            h = min(natural, t_target - state.t)
            new, error = self.step(state, h)
            factor = min(4.0, max(0.2, 0.9 * max(error, 1e-10) ** (-1.0 / self.scheme.order)))
            if error <= 1.0:
                state = new
                self.steps += 1
                if not (np.all(np.isfinite(state.f)) and (state.P is None or np.all(np.isfinite(state.P)))):
                    msg = f"non-finite values in the solution at t = {state.t:g} tau_D"
                    raise FloatingPointError(msg)
                # a step shortened to land on t_target says little about the natural step size
                if h == natural:
                    self.dt = h * factor
            else:
                self.rejected += 1
                self.dt = h * factor
            if self.dt < 1e-14 * max(1.0, abs(state.t)):
                msg = f"time step underflow at t = {state.t:g} tau_D (error estimate {error:.3g})"
                raise RuntimeError(msg)
        return state

    def fixed_steps(self, state: State, t_end: float, n_steps: int) -> State:
        """``n_steps`` equal steps to ``t_end`` (convergence studies)."""
        h = (t_end - state.t) / n_steps
        for _ in range(n_steps):
            state, _ = self.step(state, h)
        return state

    def run(self, state: State, times: Iterable[float]) -> Iterator[State]:
        """Yield the state at each of the increasing output ``times``."""
        for t in times:
            state = self.advance(state, t)
            yield state


def equilibrium_state(problem: WireProblem, temperature: float | None = None, mu: float | None = None) -> State:
    """Fermi electrons and Gibbs pairs at one temperature and potential on every interior node.

    Defaults: the mean of the reservoirs' temperatures and potentials. With a bias this is the
    quench: the bias is switched on at t = 0.
    """
    T = 0.5 * (problem.temperature_left + problem.temperature_right) if temperature is None else temperature
    mu = 0.5 * (problem.mu_left + problem.mu_right) if mu is None else mu
    n_inner = problem.wire.n - 2
    f = np.repeat(fermi(problem.energy.values, mu, T)[None], n_inner, axis=0)
    P = problem.pairs.gibbs(n_inner, T) if problem.pairs is not None else None
    return State(0.0, f, P)


def hot_bump(energies, energy: float, width: float, height: float) -> np.ndarray:
    """Gaussian ``height exp(-((eps - energy)/width)^2)`` to add to a distribution (energies in E0)."""
    return height * np.exp(-(((np.asarray(energies) - energy) / width) ** 2))


def quench_state(problem: WireProblem, bump_energy: float = 0.0, bump_width: float = 0.1,
                 bump_height: float = 0.0) -> State:
    """The unbiased equilibrium plus an optional Gaussian hot bump (energies in E0)."""
    state = equilibrium_state(problem)
    if bump_height:
        bump = hot_bump(problem.energy.values, bump_energy, bump_width, bump_height)
        state = State(0.0, np.clip(state.f + bump, 0.0, 1.0), state.P)
    return state
