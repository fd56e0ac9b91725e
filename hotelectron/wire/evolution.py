"""Time evolution of the coupled electron-pair system with linearly implicit Rosenbrock schemes.

Each stage of a step solves ``(1 - gamma h J) k = r`` with J the Jacobian at the step's start. The
stages are solved with the preconditioner of :mod:`hotelectron.wire.dynamics` (diffusion plus the
local collision rate for the electrons, the pair chains with their response to the electrons, the
conserved moments restored exactly), set up once per step, as the W of the W-method; where that
operator is off by more than ``refine_above`` (relative residual of the first stage on the true
Jacobian, one product) every stage is refined by GMRES on exact Jacobian-vector products of the
collision engine. Refining is what keeps the error estimate honest where the frozen operator is
far from J (a wire with phonons); elsewhere it only costs (the default scenario takes the same
steps without it). Once the transients have decayed the steps grow until the scheme converges
like Newton's method to the steady state. ``krylov=False`` uses the frozen operator without the
coupling and without GMRES (the W-method of earlier versions, kept for comparisons).

The step size follows Gustafsson's predictive controller (``Evolution._factor``). Everything the
stepper remembers of earlier steps is cleared at the start of every ``advance``, so that a run
resumed from a written frame (its state and step size) takes the same steps as one never stopped.
The stages work in preallocated arrays: fresh pages for every temporary once cost a third of a
step.

Schemes are data (``SCHEMES``), given by their coefficients in the standard form of Hairer & Wanner
(IV.7.4) and transformed once; the test suite checks each one's order. They are W-methods: their
order holds for any approximation of the Jacobian, so the frozen operator and a loose Krylov
tolerance cost accuracy constants and stability margin, never order.

- ``ros34pw2`` (default; Rang & Angermann, BIT 45, 761 (2005)): order 3, four stages, L-stable and
  stiffly accurate, embedded order 2;
- ``ros2`` (Verwer et al., SIAM J. Sci. Comput. 20, 1456 (1999)): order 2, two stages, L-stable,
  embedded order 1;
- ``euler``: linearly implicit Euler, order 1, no error estimate (convergence studies).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..kinetics._numba import FASTMATH, jit
from .arguments import check_count, check_number, finite, non_negative
from .dynamics import BoxProblem, Dynamics
from .krylov import GMRES, norm
from .problem import WireProblem, fermi

__all__ = ["SCHEMES", "BoxProblem", "Evolution", "Scheme", "State", "equilibrium_state", "hot_bump", "quench_state"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scheme:
    """A Rosenbrock scheme in the form used by the stepper,

        (1 - gamma h J) k_i = F(y + h sum_j a[i][j] k_j) + sum_j c[i][j] k_j,
        y_new = y + h sum_i b_i k_i,   error estimate h sum_i (b_i - b_hat_i) k_i.

    ``filter_error``: pass the estimate through ``(1 - gamma h J)^-1`` (Shampine; Hairer & Wanner
    IV.8), for embedded solutions that are not L-stable and would report the stiff components that
    the main scheme damps correctly as errors.
    """

    name: str
    order: int
    gamma: float
    a: tuple
    c: tuple
    b: tuple
    b_hat: tuple | None
    filter_error: bool = False

    @property
    def error_weights(self) -> tuple:
        """b - b_hat: the weights of the stages in the error estimate."""
        return tuple(bi - bh for bi, bh in zip(self.b, self.b_hat))

    @property
    def stages(self) -> int:
        return len(self.b)

    # the nonzero coefficients as (values, stage indices), for the compiled stage sums
    @cached_property
    def a_terms(self) -> tuple:
        return tuple(_terms(row) for row in self.a)

    @cached_property
    def c_terms(self) -> tuple:
        return tuple(_terms(row) for row in self.c)

    @cached_property
    def b_terms(self) -> tuple:
        return _terms(self.b)

    @cached_property
    def error_terms(self) -> tuple:
        return _terms(self.error_weights)

    @classmethod
    def from_standard(cls, name, order, alpha, gammas, b, b_hat, filter_error=False) -> "Scheme":
        """From the standard coefficients ``(1 - h g_ii J) k_i = h F(y + sum alpha_ij k_j) + h J
        sum gamma_ij k_j``, ``y_new = y + sum b_i k_i`` (all g_ii equal)."""
        Gamma = np.array(gammas, dtype=float)
        gamma = float(Gamma[0, 0])
        inverse = np.linalg.inv(Gamma)
        s = len(b)
        a = gamma * np.array(alpha, dtype=float) @ inverse
        c = -gamma * np.tril(inverse, -1)
        to_tuple = lambda m: tuple(tuple(float(v) for v in m[i, :i]) for i in range(s))  # noqa: E731
        b_t = tuple(float(v) for v in gamma * np.array(b) @ inverse)
        b_hat_t = tuple(float(v) for v in gamma * np.array(b_hat) @ inverse) if b_hat is not None else None
        return cls(name, order, gamma, to_tuple(a), to_tuple(c), b_t, b_hat_t, filter_error)


def _terms(weights) -> tuple:
    """``(values, indices)`` of the nonzero weights, as arrays for ``_combine``."""
    indices = [i for i, w in enumerate(weights) if w != 0.0]
    return np.array([weights[i] for i in indices], dtype=float), np.array(indices, dtype=np.int64)


_G = 0.435866521508459  # gamma of ROS34PW2
SCHEMES = {
    "ros34pw2": Scheme.from_standard(
        "ros34pw2", 3,
        alpha=[[0, 0, 0, 0], [0.87173304301691801, 0, 0, 0], [0.84457060015369423, -0.11299064236484185, 0, 0],
               [0, 0, 1, 0]],
        gammas=[[_G, 0, 0, 0], [-0.87173304301691801, _G, 0, 0], [-0.90338057013044082, 0.054180672388095326, _G, 0],
                [0.24212380706095346, -1.2232505839045147, 0.54526025533510214, _G]],
        b=[0.24212380706095346, -1.2232505839045147, 1.5452602553351020, 0.435866521508459],
        b_hat=[0.37810903145819369, -0.096042292212423178, 0.5, 0.2179332607542295],
    ),
    "ros2": Scheme("ros2", 2, 1 + 1 / math.sqrt(2), ((), (1.0,)), ((), (-2.0,)), (1.5, 0.5), (1.0, 0.0), True),
    "euler": Scheme("euler", 1, 1.0, ((),), ((),), (1.0,), None),
}


@dataclass(frozen=True)
class State:
    """Time (tau_D), electrons on the interior nodes ``f[x, eps]``, pairs ``P[x, k, J]`` or None."""

    t: float
    f: np.ndarray
    P: np.ndarray | None


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
        First trial step and largest step (tau_D). Default ``dt_max``: none with ``krylov``; 0.25
        without, where steps much longer than the slowest relaxation time approach a steady state
        only like a damped fixed-point iteration.
    krylov : bool
        Stage solves preconditioned by the frozen operator with the pair-electron coupling and the
        moment correction, refined by GMRES on the true Jacobian where that operator is off
        (default), else the frozen operator of the previous scheme, without the coupling and
        without GMRES.
    refine_above : float
        Refine the stages of a step by GMRES when the preconditioner's answer for the first stage
        is off by more than this (relative residual on the true Jacobian); below it the
        preconditioner is the W of the W-method (see ``_refine``).
    krylov_tol : float
        Relative residual of the refined stage solves.
    krylov_maxiter : int
        Krylov vectors per stage solve at most; a solve that stops above the tolerance still
        improves on the preconditioner, and the error control judges the step.
    safety : float
        The step-size controller aims at a scaled error of ``safety**order`` (see ``_factor``).
    """

    def __init__(self, problem, scheme: str = "ros34pw2", rtol: float = 1e-4, atol: float = 1e-7,
                 dt_initial: float = 1e-6, dt_max: float | None = None, krylov: bool = True,
                 refine_above: float = 0.3, krylov_tol: float = 0.1, krylov_maxiter: int = 30,
                 safety: float = 0.9):
        if scheme not in SCHEMES:
            msg = f"scheme must be one of {sorted(SCHEMES)}; got {scheme!r}"
            raise ValueError(msg)
        if not 0.0 < safety < 1.0:
            msg = f"safety must lie in (0, 1); got {safety!r}"
            raise ValueError(msg)
        check_number("rtol", rtol, "a finite number > 0")
        check_number("atol", atol, "a finite number >= 0", non_negative)
        check_number("dt_initial", dt_initial, "a finite number > 0")
        if dt_max is not None:
            check_number("dt_max", dt_max, "a number > 0 (or None)", lambda v: v > 0)
        check_number("refine_above", refine_above, "a number >= 0", lambda v: v >= 0)
        check_number("krylov_tol", krylov_tol, "a finite number > 0")
        check_count("krylov_maxiter", krylov_maxiter)
        self.scheme = SCHEMES[scheme]
        self.dynamics = Dynamics(problem)
        self.rtol, self.atol = rtol, atol
        self.dt = dt_initial
        self.dt_max = dt_max if dt_max is not None else (math.inf if krylov else 0.25)
        self.krylov = krylov
        self.refine_above = refine_above
        self.krylov_tol = krylov_tol
        self.safety = safety
        size = self.dynamics.layout.size
        self._gmres = GMRES(size, krylov_maxiter) if krylov else None
        # work arrays for the stages: fresh pages for every temporary once cost a third of a step
        self._k = np.empty((self.scheme.stages, size))
        self._stage = np.empty(size)
        self._F0 = np.empty(size)
        self._F = np.empty(size)
        self._r = np.empty(size)
        self._chunk = np.empty(1024)  # the scaled errors of a part of the state (``_scaled_error``)
        self._forget()
        self.steps = 0
        self.rejected = 0
        self.krylov_iterations = 0
        self.krylov_unconverged = 0
        self.refined_steps = 0
        self.checks = 0

    @property
    def rhs_evaluations(self) -> int:
        return self.dynamics.evaluations

    def _forget(self):
        """Clear what the stepper remembers of earlier steps (at the start of every ``advance``, so
        that a run resumed from a written frame takes the same steps as one never stopped)."""
        self._previous = None  # (h, error) of the last accepted step, for the controller
        self._checked = None  # (h, relative residual) of the last check of the frozen operator

    # -- when to refine the stages ----------------------------------------------------------------
    def _refine(self, h: float, residual) -> bool:
        """Whether to refine the stages of this step on the true Jacobian: where the
        preconditioner's answer for the first stage is off by more than ``refine_above``.

        A W-method keeps its order with any W, but its error estimate holds only while
        ``gamma h (J - W)`` is small against ``1 - gamma h J``: with the relative residual near 1 a
        wire with phonons was accepted at error estimates near 0.6 and ended 3e-3 away from its
        steady state, refined it reached it to 4e-10. Below the threshold refining only costs:
        the default scenario took the same steps with and without it. ``residual()`` measures the
        residual (one Jacobian product); it is not measured while the last measurement bounds it
        below the threshold, as it grows no faster than h (``gamma h (J_W - J)`` times the frozen
        solve, which damps the more the longer the step)."""
        if self._checked is not None:
            h_checked, value = self._checked
            if value * max(1.0, h / h_checked) <= self.refine_above:
                return False
        value = residual()
        self._checked = (h, value)
        return value > self.refine_above

    def step_flat(self, y, h: float, out=None):
        """One step of length h from the flat state y: ``(y_new, scaled error or None)``, y_new in
        ``out`` if given (not y).

        With ``krylov``, every stage is solved with the preconditioner, as the W of the W-method,
        or refined by GMRES on the true Jacobian to ``krylov_tol`` (see ``_refine``).
        """
        s = self.scheme
        dynamics = self.dynamics
        frozen = dynamics.rhs(y, self._F0)
        F0 = frozen.F
        dt = s.gamma * h
        k = self._k
        refine = False
        if self.krylov:
            precondition = lambda v, out=None: dynamics.precondition(v, frozen, dt, out)  # noqa: E731
            matvec = lambda v: v - dt * dynamics.jvp(frozen, v)  # noqa: E731
            precondition(F0, k[0])

            def residual():
                self.krylov_iterations += 1
                self.checks += 1
                return norm(F0 - matvec(k[0])) / max(norm(F0), 1e-300)

            refine = self._refine(h, residual)
        else:
            precondition = lambda v, out=None: dynamics.solve_frozen(v, frozen, dt, out)  # noqa: E731
            precondition(F0, k[0])
        for i in range(s.stages):
            if i > 0:
                values, rows = s.a_terms[i]
                _combine(y, h * values, rows, k, self._stage)
                dynamics.rhs_only(self._stage, self._F)
                _combine(self._F, *s.c_terms[i], k, self._r)
                precondition(self._r, k[i])
            if refine:
                r = F0 if i == 0 else self._r
                result = self._gmres.solve(matvec, precondition, r, x0=k[i], rtol=self.krylov_tol)
                self.krylov_iterations += result.products
                self.krylov_unconverged += not result.converged
                k[i] = result.x
        self.refined_steps += refine
        y_new = np.empty_like(y) if out is None else out
        values, rows = s.b_terms
        _combine(y, h * values, rows, k, y_new)
        if s.b_hat is None:
            return y_new, None
        values, rows = s.error_terms
        if s.filter_error:
            err = precondition(_combine(np.zeros_like(y), h * values, rows, k, self._r))
            value = _scaled_error(err, True, values[:0], rows[:0], k, y, y_new, self.rtol, self.atol, self._chunk)
        else:
            value = _scaled_error(y, False, h * values, rows, k, y, y_new, self.rtol, self.atol, self._chunk)
        return y_new, (value if math.isfinite(value) else math.inf)

    def step(self, state: State, h: float):
        """One step of length h: the new state and the scaled error estimate (None without one)."""
        y_new, error = self.step_flat(self._flat(state), h)
        return self._state(state.t + h, y_new), error

    # -- conversions --------------------------------------------------------------------------------
    def _flat(self, state: State) -> np.ndarray:
        return self.dynamics.layout.join(state.f, state.P)

    def _check_start(self, state: State, t_end: float, name: str) -> None:
        """Refuse a state that does not fit the problem (its interior f, its populations) or an end
        time that is not finite or lies before the state's: stepping would break deep inside, end in a
        misleading step underflow, run forever, or hand back the unchanged state labelled ``t_end``."""
        layout = self.dynamics.layout
        if np.shape(state.f) != tuple(layout.f_shape):
            msg = (f"state.f must have shape {tuple(layout.f_shape)} (the interior nodes by the energy "
                   f"grid; the reservoirs are not part of the state); got {np.shape(state.f)}")
            raise ValueError(msg)
        if layout.P_shape is not None and (state.P is None or np.shape(state.P) != tuple(layout.P_shape)):
            got = None if state.P is None else np.shape(state.P)
            msg = f"state.P must have shape {tuple(layout.P_shape)} (the impurity populations); got {got}"
            raise ValueError(msg)
        if not np.all(np.isfinite(state.f)) or (state.P is not None and not np.all(np.isfinite(state.P))):
            msg = "state.f holds non-finite values" if not np.all(np.isfinite(state.f)) else \
                "state.P holds non-finite values"
            raise ValueError(msg)
        check_number(name, t_end, "a finite time (tau_D)", finite)
        if t_end < state.t:
            msg = f"{name} = {t_end!r} lies before the state's time {state.t!r}; time steps only forward"
            raise ValueError(msg)

    def _state(self, t: float, y) -> State:
        f, P = self.dynamics.layout.split(y.copy())
        return State(t, f, P)

    def _view(self, t: float, y) -> State:
        """A State of views into y (no copy: valid while y is)."""
        return State(t, *self.dynamics.layout.split(y))

    # -- adaptive stepping ----------------------------------------------------------------------------
    def _factor(self, error: float, h: float, first: bool) -> float:
        """The ratio of the next step to this one.

        Accepted steps follow Gustafsson's predictive controller (Hairer & Wanner IV.8): the step
        ratio of the last two steps times the change of their errors, which holds the error near
        ``safety**order`` also while the steps keep growing through a transient (the elementary
        controller, ``safety error**(-1/order)``, settles where the growth it allows balances the
        error, near half the tolerance). After a rejection, or without an accepted step before,
        the elementary controller. The first step of a run may grow 100-fold: its trial length says
        nothing about the problem."""
        q = self.scheme.order  # the estimate is that of the embedded order q - 1: it scales like h^q
        error = max(error, 1e-10)
        factor = self.safety * error ** (-1.0 / q)
        if error <= 1.0 and self._previous is not None:
            h_previous, error_previous = self._previous
            factor *= (h / h_previous) * (error_previous / error) ** (1.0 / q)
        if error > 1.0:
            return min(0.9, max(0.2, factor))
        return min(100.0 if first else 4.0, max(0.2, factor))

    def advance(self, state: State, t_target: float, stop=None) -> State:
        """Adaptive steps from ``state`` to exactly ``t_target``, or, with ``stop``, to the first
        accepted step whose state makes ``stop(state)`` true (e.g. close enough to a steady state);
        ``stop`` sees the stepper's own arrays, valid only during the call (no copy per step).

        The controller starts from ``self.dt`` and nothing else (its memory is cleared here), so a
        run resumed from a frame, with the step size stored there, repeats the original steps."""
        if self.scheme.b_hat is None:
            msg = f"scheme {self.scheme.name!r} has no error estimate; use fixed_steps"
            raise ValueError(msg)
        self._check_start(state, t_target, "t_target")
        self._forget()
        t = state.t
        y = self._flat(state)
        spare = np.empty_like(y)  # the next step's result; a rejected one is overwritten
        while t < t_target:
            natural = min(self.dt, self.dt_max)
            h = min(natural, t_target - t)
            y_new, error = self.step_flat(y, h, spare)
            factor = self._factor(error, h, first=t == 0.0 and self.steps == 0)
            if error <= 1.0:
                if not np.all(np.isfinite(y_new)):
                    msg = f"non-finite values in the solution at t = {t + h:g} tau_D"
                    raise FloatingPointError(msg)
                y, spare, t = y_new, y, t + h
                self.steps += 1
                if stop is not None and stop(self._view(t, y)):
                    return self._state(t, y)
                # a step shortened to land on t_target says little about the natural step size
                if h == natural:
                    self.dt = h * factor
                    self._previous = (h, max(error, 1e-10))
            else:
                self.rejected += 1
                self.dt = h * factor
                self._previous = None
                self._checked = None  # the frozen operator may be what failed: measure it again
            if self.dt < 1e-14 * max(1.0, abs(t)):
                msg = f"time step underflow at t = {t:g} tau_D (error estimate {error:.3g})"
                raise RuntimeError(msg)
        return self._state(t_target if t >= t_target else t, y)

    def fixed_steps(self, state: State, t_end: float, n_steps: int) -> State:
        """``n_steps`` equal steps to ``t_end`` (convergence studies)."""
        check_count("n_steps", n_steps)
        self._check_start(state, t_end, "t_end")
        h = (t_end - state.t) / n_steps
        y = self._flat(state)
        for _ in range(n_steps):
            y, _ = self.step_flat(y, h)
        return self._state(t_end, y)

    def run(self, state: State, times: Iterable[float]) -> Iterator[State]:
        """Yield the state at each of the increasing output ``times``."""
        for t in times:
            state = self.advance(state, t)
            yield state




# The stage sums in one pass each: no temporaries, and no BLAS call, whose threads would spin on a
# busy machine. Up to four terms have their own loop, which the compiler vectorises (a loop over the
# terms inside the loop over the elements does not); a sum of more terms takes one sweep per term.
@jit
def _combine(y, values, rows, k, out):
    """``out = y + sum_t values[t] k[rows[t]]``: a stage's argument, right-hand side or the new state."""
    n = out.size
    m = values.size
    if m == 1:
        a, ka = values[0], k[rows[0]]
        for j in range(n):
            out[j] = y[j] + a * ka[j]
    elif m == 2:
        a, ka, b, kb = values[0], k[rows[0]], values[1], k[rows[1]]
        for j in range(n):
            out[j] = y[j] + a * ka[j] + b * kb[j]
    elif m == 3:
        a, ka, b, kb, c, kc = values[0], k[rows[0]], values[1], k[rows[1]], values[2], k[rows[2]]
        for j in range(n):
            out[j] = y[j] + a * ka[j] + b * kb[j] + c * kc[j]
    elif m == 4:
        a, ka, b, kb = values[0], k[rows[0]], values[1], k[rows[1]]
        c, kc, d, kd = values[2], k[rows[2]], values[3], k[rows[3]]
        for j in range(n):
            out[j] = y[j] + a * ka[j] + b * kb[j] + c * kc[j] + d * kd[j]
    else:
        for j in range(n):
            out[j] = y[j]
        for t in range(m):
            a, kt = values[t], k[rows[t]]
            for j in range(n):
                out[j] += a * kt[j]
    return out


@jit(error_model="numpy")  # x / 0 is inf or NaN, as in numpy: no check of each divisor, which kept the loops scalar
def _scaled_error(base, with_base, values, rows, k, y, y_new, rtol, atol, chunk):
    """The error norm of the step control, ``max |e| / (rtol max(|y|, |y_new|) + atol)`` of the
    estimate ``e = sum_t values[t] k[rows[t]]`` (plus ``base`` if ``with_base``), without storing e
    (NaN if any element is NaN). The scaled errors of ``chunk.size`` elements at a time go into
    ``chunk`` and their largest is taken on their bits (``_largest_bits``). Four terms have their
    own loop (the ROS34PW2 estimate)."""
    n = y.size
    largest = np.int64(0)
    for lo in range(0, n, chunk.size):
        m = min(chunk.size, n - lo)
        y_part, new_part = y[lo : lo + m], y_new[lo : lo + m]
        if values.size == 4 and not with_base:
            a, ka, b, kb = values[0], k[rows[0], lo : lo + m], values[1], k[rows[1], lo : lo + m]
            c, kc, d, kd = values[2], k[rows[2], lo : lo + m], values[3], k[rows[3], lo : lo + m]
            for i in range(m):
                chunk[i] = abs(a * ka[i] + b * kb[i] + c * kc[i] + d * kd[i]) / (
                    rtol * max(abs(y_part[i]), abs(new_part[i])) + atol)
        else:
            for i in range(m):
                e = base[lo + i] if with_base else 0.0
                for t in range(values.size):
                    e += values[t] * k[rows[t], lo + i]
                chunk[i] = abs(e) / (rtol * max(abs(y_part[i]), abs(new_part[i])) + atol)
        largest = max(largest, _largest_bits(chunk[:m].view(np.int64)))
    return _float_of_bits(largest)


@jit
def _largest_bits(bits):
    """The largest of non-negative float64 given by their bits (as int64), whose order is that of
    the integers, with NaN (positive, as ``abs`` leaves it) above infinity: unlike a floating-point
    maximum, which drops NaN or keeps the loop scalar, an integer maximum vectorises."""
    value = np.int64(0)
    for j in range(bits.size):
        value = max(value, bits[j])
    return value


@jit
def _float_of_bits(bits):
    """The float64 whose bits are the int64 ``bits``."""
    return np.full(1, bits, dtype=np.int64).view(np.float64)[0]


def equilibrium_state(problem: WireProblem, temperature: float | None = None, mu: float | None = None) -> State:
    """Fermi electrons and Gibbs pairs at one temperature and potential on every interior node.

    Defaults: the mean of the reservoirs' temperatures and potentials. With a bias this is the
    quench: the bias is switched on at t = 0.
    """
    T = 0.5 * (problem.temperature_left + problem.temperature_right) if temperature is None else temperature
    mu = 0.5 * (problem.mu_left + problem.mu_right) if mu is None else mu
    check_number("temperature", T, "a finite number >= 0 (E0)", non_negative)
    check_number("mu", mu, "a finite number (E0)", finite)
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
    check_number("bump_height", bump_height, "a finite number", finite)
    if bump_height:
        check_number("bump_width", bump_width, "a finite number > 0 (E0)")
        check_number("bump_energy", bump_energy, "a finite number (E0)", finite)
    state = equilibrium_state(problem)
    if bump_height:
        bump = hot_bump(problem.energy.values, bump_energy, bump_width, bump_height)
        state = State(0.0, np.clip(state.f + bump, 0.0, 1.0), state.P)
    return state
