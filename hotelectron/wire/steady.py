"""Steady state of the wire: Newton's method on the f-only problem with stationary pairs (SPEC section 6).

The unknowns are f on the interior nodes. For given f the pairs take their stationary populations
(VGL 65), so the residual is

    R[f] = d^2 f/dx^2 - I[f, P_stat(f)].

Each Newton step solves ``R'[f] df = -R[f]`` by GMRES with exact Jacobian products (the collision
engine's linearisation, the pairs' response included), to a relative tolerance that tightens as the
residual falls (Eisenstat & Walker, SIAM J. Sci. Comput. 17, 16 (1996), choice 2), then backtracks
along ``df`` while the residual does not fall. The preconditioner
(:mod:`hotelectron.wire.steady_preconditioner`) inverts diffusion, the local collision rate and the
in-scattering as an energy convolution exactly, and restores the moments the collisions conserve;
on the benchmark wire a Newton step then needs 1-5 Jacobian products.

Near the end the residual meets round-off: ``d^2 f/dx^2`` carries about ``4 eps / h^2`` for f of order
one (h the node spacing; measured floors 1.5e-12 on 65 nodes, 4e-12 on 129, 1.6e-11 on 257). Below
that level, or below ``ROUND_OFF`` times ``f_tol``, a Newton step that does not halve the residual ends
the solve without backtracking: with the smaller residual if it lies within ``ROUND_OFF f_tol``, else
with an error saying that ``f_tol`` is below the grid's round-off.

A start close to the answer saves Newton steps. Fits pass the steady state at nearby parameters
(``initial``): after a relative change of 1e-6 in a rate one Newton iteration is left. A cold solve
of a large wire starts from the steady state of the same wire on ``COARSE_NODES`` nodes, interpolated
along x (benchmark wire: 3 iterations instead of 4). From there the first Newton step is the
preconditioned residual, ``M(-R)``, without the Jacobian product that would check its linear
residual: the residual at the new point judges it (it must fall below the forcing term times the
old one, else GMRES goes on from it). There the preconditioner alone is as good as a checked step
(benchmark wire: linear residual 0.021, residual ratio 0.021; 33 x 641 nodes: 0.011 and 0.011),
while from the collisionless start it often is not (0.13-0.15 at a forcing of 0.1).
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass

import numpy as np

from ..kinetics._numba import jit
from ..kinetics.grids import WireGrid
from .arguments import check_count, check_number
from .dynamics import add_second_difference
from .krylov import GMRES, norm
from .problem import WireProblem
from .steady_preconditioner import SteadyPreconditioner

__all__ = ["SteadyResidual", "SteadyState", "Workspace", "release_workspaces", "steady_state"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SteadyState:
    """A converged steady state.

    Attributes
    ----------
    f : ndarray (n_x, n_energy)
        Distribution on all nodes, reservoirs included.
    P : ndarray (n_x - 2, n_V, 2S + 1) or None
        Stationary pair populations on the interior nodes (or the fixed ones).
    iterations : int
        Newton iterations.
    residual : float
        Max-norm of the final residual (unit 1/tau_D).
    evaluations : int
        Residual evaluations.
    products : int
        Jacobian products (GMRES iterations).
    start_evaluations, start_products : int
        Residual evaluations and Jacobian products of the solve on ``COARSE_NODES`` nodes that gave
        the start of a cold solve (0 when there was none).
    """

    f: np.ndarray
    P: np.ndarray | None
    iterations: int
    residual: float
    evaluations: int = 0
    products: int = 0
    start_evaluations: int = 0
    start_products: int = 0


@jit
def _all_finite(a) -> bool:
    for value in a.ravel():
        if not math.isfinite(value):
            return False
    return True


class Workspace:
    """The arrays a steady solve of one size works in, kept from solve to solve: the Krylov basis,
    the product and the preconditioned vector, the preconditioner (factorised again for each
    linearisation) and linearisations no longer needed (written into by the next evaluation).

    Fresh arrays of this size in every solve cost page faults as the memory returns to the system
    and comes back: on the benchmark wire some 4000 a solve, a tenth of its time in system time.
    ``workspace(shape, krylov_maxiter)`` gives this thread's, kept for the last ``KEPT_WORKSPACES``
    sizes (a solve and its nested start).
    """

    def __init__(self, shape, krylov_maxiter: int):
        self.shape = shape
        self.gmres = GMRES(shape[0] * shape[1], krylov_maxiter)
        self.product = np.empty(shape)
        self.preconditioned = np.empty(shape[0] * shape[1])
        self.preconditioner = None
        self.spares = []  # (R, lin)
        self.busy = False


KEPT_WORKSPACES = 2
_LOCAL = threading.local()


def workspace(shape, krylov_maxiter: int) -> Workspace:
    """This thread's ``Workspace`` for interior arrays of ``shape`` (a new one if that is in use)."""
    kept = getattr(_LOCAL, "workspaces", None)
    if kept is None:
        kept = _LOCAL.workspaces = {}
    key = (tuple(shape), krylov_maxiter)
    found = kept.pop(key, None)
    if found is None or found.busy:
        found = Workspace(shape, krylov_maxiter)
    while len(kept) >= KEPT_WORKSPACES:
        kept.pop(next(iter(kept)))
    kept[key] = found  # most recently used last
    return found


def release_workspaces() -> None:
    """Let go of this thread's kept ``Workspace``s (their memory returns once no solve uses them),
    e.g. after a large solve in a long-lived process."""
    _LOCAL.workspaces = {}


class SteadyResidual:
    """The residual, its Jacobian products and the preconditioner at one iterate, in ``work``."""

    def __init__(self, problem: WireProblem, fixed_pairs=None, work: Workspace | None = None):
        self.problem = problem
        self.collisions = problem.collisions
        self.fixed_pairs = fixed_pairs
        self.evaluations = 0
        self.products = 0
        grid = problem.energy
        self.shape = (problem.wire.n - 2, grid.n)
        self.work = Workspace(self.shape, 60) if work is None else work
        self._inv_h2 = 1.0 / problem.wire.step**2
        self._zero_row = np.zeros(grid.n)
        self._zero_pairs = None if fixed_pairs is None else np.zeros_like(fixed_pairs)
        # pairs tied to a bath, or phonons, take energy from the electrons: only the particles are conserved then
        bath = (fixed_pairs is not None and self.collisions.pairs is not None) or not self.collisions.conserves_energy
        self._conserved = 1 if bath else 2

    def evaluate(self, u):
        """``(R, state)``: the residual at the interior ``u`` and what products need there."""
        self.evaluations += 1
        if not _all_finite(u):
            msg = "steady-state iteration produced non-finite values of f"
            raise FloatingPointError(msg)
        c = self.collisions
        spare_R, spare_lin = self.work.spares.pop() if self.work.spares else (None, None)
        if not c.mechanisms:
            R, lin = np.zeros(self.shape), None
        else:
            R, _dP, lin = c.linearise(u, self.fixed_pairs, stationary=self.fixed_pairs is None, out=(spare_R, None),
                                      reuse=spare_lin)
        add_second_difference(u, self.problem.f_left, self.problem.f_right, R, self._inv_h2)
        return R, lin

    def release(self, R, lin):
        """Hand back a residual and its linearisation that are no longer needed: the next evaluation
        writes into their arrays. A Newton step holds two at most (the iterate and a trial), so two
        spares serve every evaluation (more are not kept)."""
        if lin is not None and len(self.work.spares) < 2:
            self.work.spares.append((R, lin))

    def jvp(self, lin, v):
        """``R' v`` for a flat v over the interior nodes: a flat array valid until the next product."""
        self.products += 1
        v = np.ascontiguousarray(v, dtype=float).reshape(self.shape)
        if lin is None:
            out = np.zeros(self.shape)
        else:
            out = self.collisions.jvp(lin, v, self._zero_pairs, out=self.work.product)[0]
        add_second_difference(v, self._zero_row, self._zero_row, out, self._inv_h2)
        return out.ravel()

    def preconditioner(self, lin):
        """``M ~ R'^-1`` at the linearisation ``lin`` (:mod:`hotelectron.wire.steady_preconditioner`): a
        map of flat arrays whose result is valid until its next call (one preconditioner, factorised
        again at each linearisation, writes into one array)."""
        if lin is None:  # diffusion alone: solved exactly
            return lambda r: -self.problem.diffusion_solve(r.reshape(self.shape), np.zeros(self.shape)).ravel()
        M = self.work.preconditioner
        if M is not None and M.serves(self.problem, self._conserved):
            M.factor(lin)
        else:
            M = self.work.preconditioner = SteadyPreconditioner(self.problem, lin, self._conserved)
        out = self.work.preconditioned
        return lambda r: M(r, out)

    def pairs(self, lin):
        if self.collisions.pairs is None:
            return None
        return self.fixed_pairs if self.fixed_pairs is not None else lin.P


# Largest relative tolerance of a Newton step's Krylov solve (Eisenstat & Walker's eta_max)
ETA_MAX = 0.1
# Newton's R_k+1 / R_k^2 at most, in tau_D, for the first Krylov tolerance (measured on the benchmark
# wire: 3e-3, then 5e-4; on 33 x 513 nodes the warm starts after relative changes of 1e-6 ... 0.1 in
# kappa, the pair rate or T needed 20 residuals and 53 products with 1e-2, 22 and 54 with 1)
QUADRATIC = 1e-2
# A cold solve starts from the steady state on this many nodes (three interior ones) when the wire has
# at least COARSE_CELLS interior cells (nodes x energies); that start is solved to COARSE_TOL only. On
# the benchmark wire (65 x 1025) the fine solve then needs 4 residuals and 9 products instead of 5 and
# 11, the start 3 and 3 on 3 interior nodes (4 and 4 to 1e-2, 4 and 7 to 1e-6, for the same fine
# counts): about 10 % less CPU time. Near 1.6e4 cells (17 x 1025, 33 x 513) gain and cost were even;
# below, the start costs more than it saves.
COARSE_NODES = 5
COARSE_CELLS = 1 << 14
COARSE_TOL = 0.1
COARSE_ITERATIONS = 10  # a start that needs more is not worth its cost: go on from the collisionless f
# Below this multiple of f_tol a Newton step that does not halve the residual is taken as round-off:
# the solve ends there (with the smaller of the two residuals) instead of backtracking
ROUND_OFF = 10.0


def _forcing(eta, R_norm, previous, R_max, f_tol) -> float:
    """The relative Krylov tolerance of the next Newton step: Eisenstat & Walker's choice 2,
    ``0.9 (|R_k| / |R_k-1|)^2``, safeguarded, and no smaller than what ``f_tol`` needs.

    The first step has no previous residual. Newton's method converges as ``R_k+1 ~ c R_k^2``; its
    Krylov solve aims at ``QUADRATIC max|R|``, which balances the two errors for ``c <= QUADRATIC``,
    at most ETA_MAX. A collisionless start (max|R| ~ 10/tau_D) gets ETA_MAX; a warm start from nearby
    parameters (max|R| ~ 1e-7 ... 1e-5 for a relative change of 1e-6 in kappa or the pair rate) is
    solved to f_tol at once and needs one Newton iteration instead of two.
    """
    floor = 0.5 * f_tol / R_max
    if previous is None:
        return max(min(ETA_MAX, QUADRATIC * R_max), floor)
    proposed = 0.9 * (R_norm / previous) ** 2
    if 0.9 * eta**2 > 0.1:
        proposed = max(proposed, 0.9 * eta**2)
    return max(min(ETA_MAX, proposed), floor)


def _lagrange_weights(nodes, points) -> np.ndarray:
    """``W[i, j]``: the polynomial through values at ``nodes`` evaluated at ``points[i]`` is ``W @ values``."""
    W = np.ones((points.size, nodes.size))
    for j in range(nodes.size):
        for k in range(nodes.size):
            if k != j:
                W[:, j] *= (points - nodes[k]) / (nodes[j] - nodes[k])
    return W


def _coarse_start(problem: WireProblem, fixed_pairs):
    """``(f, coarse)``: the start of a cold solve, and the coarse solution it came from (or None).

    The collisionless part of f, linear in x, is exact on any grid; the rest, ``f - f_collisionless``,
    is smooth in x. Taken from the steady state of the same wire on ``COARSE_NODES`` nodes (same
    energies and mechanisms, solved to ``COARSE_TOL`` in at most ``COARSE_ITERATIONS`` Newton
    iterations) and interpolated by the polynomial through those nodes, it starts Newton's method
    closer than the collisionless f. The polynomial reproduces the linear part exactly, so f itself is
    interpolated. Only for wires of at least ``COARSE_CELLS`` interior cells, where the coarse solve
    costs less than what it saves, and of more than ``COARSE_NODES`` nodes: the coarse wire itself
    (large by its energy grid alone from 5462 points) starts from the collisionless f.
    """
    if (fixed_pairs is not None or problem.wire.n <= COARSE_NODES
            or (problem.wire.n - 2) * problem.energy.n < COARSE_CELLS or not problem.mechanisms):
        return problem.collisionless(), None
    coarse_problem = WireProblem(problem.energy, WireGrid(COARSE_NODES), problem.mu_left, problem.mu_right,
                                 problem.temperature_left, problem.temperature_right, problem.mechanisms,
                                 problem.path)
    try:
        coarse = steady_state(coarse_problem, f_tol=COARSE_TOL, maxiter=COARSE_ITERATIONS)
    except RuntimeError as error:  # a start only: go on from the collisionless f
        log.debug("steady state: no start from %d nodes (%s)", COARSE_NODES, error)
        return problem.collisionless(), None
    weights = _lagrange_weights(coarse_problem.wire.values, problem.wire.values)
    return weights @ coarse.f, coarse


def steady_state(problem: WireProblem, f_tol: float = 1e-10, maxiter: int = 60, initial=None,
                 fixed_pairs=None, krylov_maxiter: int = 60) -> SteadyState:
    """Solve for the steady state; raise ``RuntimeError`` if Newton's method does not converge.

    Parameters
    ----------
    problem : WireProblem
    f_tol : float
        Max-norm of the residual to reach (unit 1/tau_D).
    maxiter : int
        Newton iterations allowed.
    initial : ndarray, optional
        Starting f on all nodes (its reservoir rows are not used); default the steady state on
        ``COARSE_NODES`` nodes interpolated (the collisionless solution for small wires).
    fixed_pairs : ndarray (n_x - 2, n_V, 2S + 1), optional
        Hold the pairs at these populations (e.g. Gibbs, pairs tied to a bath) instead of letting them
        take their stationary values for the local electrons.
    krylov_maxiter : int
        Krylov vectors per Newton step at most.
    """
    _check_arguments(problem, f_tol, maxiter, initial, fixed_pairs, krylov_maxiter)
    coarse = None
    if initial is None:
        start, coarse = _coarse_start(problem, fixed_pairs)
    else:
        start = np.asarray(initial, dtype=float)
    if start.shape != (problem.wire.n, problem.energy.n):
        msg = f"initial must have the shape (n_x, n_energy) = {(problem.wire.n, problem.energy.n)}; got {start.shape}"
        raise ValueError(msg)
    u = start[1:-1].copy()
    work = workspace(u.shape, krylov_maxiter)
    work.busy = True
    try:
        return _newton(problem, f_tol, maxiter, u, SteadyResidual(problem, fixed_pairs, work), coarse)
    finally:
        work.busy = False


def _check_arguments(problem, f_tol, maxiter, initial, fixed_pairs, krylov_maxiter) -> None:
    """Refuse what cannot give a steady state: a NaN tolerance compares false with every residual (the
    start came back as converged), NaN pairs likewise, negative pairs drive Newton into no descent."""
    check_number("f_tol", f_tol, "a finite number > 0")
    check_count("maxiter", maxiter)
    check_count("krylov_maxiter", krylov_maxiter)
    if initial is not None and not np.all(np.isfinite(initial)):
        msg = "initial holds non-finite values (NaN or inf); start from finite occupations"
        raise ValueError(msg)
    if fixed_pairs is not None:
        expected = None if problem.pairs is None else (problem.wire.n - 2,) + tuple(problem.pairs.population_shape)
        if expected is None or np.shape(fixed_pairs) != expected:
            msg = (f"fixed_pairs must have shape {expected} (the impurity populations at the interior nodes; "
                   f"None for a wire without them); got {np.shape(fixed_pairs)}")
            raise ValueError(msg)
        if not np.all(np.isfinite(fixed_pairs) & (np.asarray(fixed_pairs) >= 0)):
            msg = "fixed_pairs holds non-finite or negative populations; populations are finite and >= 0"
            raise ValueError(msg)


def _newton(problem, f_tol, maxiter, u, state, coarse) -> SteadyState:
    """Newton's method from the interior ``u`` (module docstring); ``coarse`` the nested start's solution."""
    R, lin = state.evaluate(u)
    gmres = state.work.gmres
    round_off = 4 * np.finfo(float).eps / problem.wire.step**2  # of d^2 f/dx^2 for f of order one
    iterations = 0
    eta = ETA_MAX
    previous = None
    while (R_max := float(np.max(np.abs(R)))) > f_tol:
        if iterations >= maxiter:
            msg = f"steady state did not converge to residual {f_tol:g} in {maxiter} Newton iterations (residual {R_max:.3e})"
            raise RuntimeError(msg)
        R_norm = norm(R)
        eta = _forcing(eta, R_norm, previous, R_max, f_tol)
        precondition = state.preconditioner(lin)
        guess = None
        if coarse is not None and iterations == 0:  # from the nested start: M(-R), checked by the residual alone
            guess = precondition(-R.ravel())
            trial = u + guess.reshape(u.shape)
            R_trial, lin_trial = state.evaluate(trial)
            if norm(R_trial) <= eta * R_norm:
                state.release(R, lin)
                previous, u, R, lin = R_norm, trial, R_trial, lin_trial
                iterations += 1
                log.debug("Newton iteration 1: residual %.3e, the preconditioned residual as the step",
                          float(np.max(np.abs(R))))
                continue
            state.release(R_trial, lin_trial)
        result = gmres.solve(lambda v: state.jvp(lin, v), precondition, -R.ravel(), x0=guess, rtol=eta)
        step = result.x.reshape(u.shape)
        if R_max <= max(ROUND_OFF * f_tol, round_off):  # near the end: a step that does not halve R meets round-off
            trial = u + step
            R_trial, lin_trial = state.evaluate(trial)
            trial_max = float(np.max(np.abs(R_trial)))
            if trial_max < R_max:
                state.release(R, lin)
                previous, u, R, lin = R_norm, trial, R_trial, lin_trial
                iterations += 1
                log.debug("Newton iteration %d: residual %.3e, %d products", iterations, trial_max, result.products)
            else:
                state.release(R_trial, lin_trial)
            if trial_max > 0.5 * R_max:
                reached = min(trial_max, R_max)
                if reached > ROUND_OFF * f_tol:
                    msg = (f"steady state: the residual stalls at {reached:.2e}, the round-off level of {problem.wire.n} "
                           f"nodes (4 eps/h^2 = {round_off:.1e} for f of order one); f_tol = {f_tol:g} cannot be "
                           "reached on this grid: raise f_tol")
                    raise RuntimeError(msg)
                log.info("steady state: the residual stalls at %.2e (f_tol %g): round-off", reached, f_tol)
                break
            continue
        lam = 1.0
        while True:  # backtracking: accept the first length that lowers the residual enough
            trial = u + lam * step
            R_trial, lin_trial = state.evaluate(trial)
            if norm(R_trial) <= (1.0 - 1e-4 * lam) * R_norm:
                break
            if lam < 1e-3:
                msg = f"steady state: no descent along the Newton direction at iteration {iterations + 1} (residual {R_max:.3e})"
                raise RuntimeError(msg)
            state.release(R_trial, lin_trial)
            lam *= 0.5
        previous = R_norm
        state.release(R, lin)
        u, R, lin = trial, R_trial, lin_trial
        iterations += 1
        log.debug("Newton iteration %d: residual %.3e, %d products, step length %g", iterations,
                  float(np.max(np.abs(R))), result.products, lam)
    residual = float(np.max(np.abs(R)))
    start_work = (coarse.evaluations, coarse.products) if coarse is not None else (0, 0)
    log.info("steady state of %d x %d: %d Newton iterations, %d residual evaluations, %d Jacobian products, "
             "residual %.2e%s", problem.wire.n, problem.energy.n, iterations, state.evaluations, state.products, residual,
             " (start: %d residuals, %d products on %d nodes)" % (*start_work, COARSE_NODES) if coarse is not None else "")
    solution = SteadyState(problem.with_reservoirs(u), state.pairs(lin), iterations, residual, state.evaluations,
                           state.products, *start_work)
    state.release(R, lin)  # for the next solve of this size (the pairs are not among what it overwrites)
    return solution
