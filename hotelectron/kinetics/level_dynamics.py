"""Kinetics of the populations ``P[x, k, s]`` of a family of level species on a coupling grid.

At each position x and coupling ``V_k`` the levels ``s`` of one species (every level a single state,
``d_s = 1``, as for the ``|J M>`` states of :func:`hotelectron.kinetics.levels.pair_levels`) are
linked by a list of directed transitions ``a -> b`` with one-spin weight ``w`` and a transfer of a
whole number of energy steps ``m = k dJ + z dM`` to the electron gas (``dJ``, ``dM`` integers per
transition, ``z`` a fixed number of steps, e.g. the Zeeman energy). The rate of ``a -> b`` per
impurity in ``a`` is ``gamma w G(m d)`` (:mod:`hotelectron.kinetics.levels`), so that

    dP/dt = M[G] P,    M[b, a] = rate(a -> b),   M[a, a] = - sum_b rate(a -> b).

The states are not a chain (in a field they form a (J, M) lattice), so the implicit step, the
stationary state and its change are small dense solves per (x, k). All three use one elimination:
``A u = r`` with ``A = diag(leak) + diag(out) - q^T``, ``q[a, b] >= 0`` the rates ``a -> b``,
``out[a] = sum_b q[a, b]`` and ``leak >= 0`` per state: 1 for ``1 - dt M`` (with ``q`` = dt times
the rates), 0 for the balance ``-M u = r``. Eliminating a state keeps that form, with the new rates
and leaks sums of non-negative terms, and every pivot is the sum of a state's leak and its rates out
to the states left, never a difference (the state reduction of Grassmann, Taksar and Heyman,
extended to a leak). So every population, however small, comes out to a few round-offs relative to
itself, and the step is stable for any dt: the column sums of ``1 - dt M`` are exactly the leaks,
where forming ``1 + dt out`` first would lose ``dt |M| eps`` of them. States are eliminated from
the highest energy down, as :meth:`hotelectron.kinetics.levels.LevelSpecies.stationary` (its readable
twin) does, so that at ``T = 0`` the excited states come out exactly zero.

The out-kernel of the electrons and ``dP/dt`` come from one pass over the *links* ``a <-> b`` (each
pair of states once), compiled for each species: :mod:`hotelectron.kinetics.link_pass`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ._numba import jit
from .pair_dynamics import _g_at, _g_change_at

__all__ = ["Transitions", "relax_implicit", "solve_levels", "stationary_levels", "stationary_levels_change"]


@dataclass(frozen=True, eq=False)
class Transitions:
    """The directed transitions ``a -> b`` of a species as flat arrays (what the kernels loop over).

    Attributes
    ----------
    source, target : int arrays
        States of each transition.
    weight : float array
        One-spin weights ``w[a, b]`` (unit spin^2).
    dJ, dM : int arrays
        The transfer of the transition at coupling index k and ``z`` Zeeman steps is
        ``m = k dJ + z dM`` energy steps (handed to the electrons).
    order : int array, shape (n_k, n_states)
        The states at each coupling by increasing energy (ground first), for the elimination.
    """

    source: np.ndarray
    target: np.ndarray
    weight: np.ndarray
    dJ: np.ndarray
    dM: np.ndarray
    order: np.ndarray

    def __post_init__(self):
        for name in ("source", "target", "dJ", "dM", "order"):
            object.__setattr__(self, name, np.ascontiguousarray(getattr(self, name), dtype=np.int64))
        object.__setattr__(self, "weight", np.ascontiguousarray(self.weight, dtype=float))

    @property
    def arrays(self) -> tuple:
        """``(source, target, weight, dJ, dM)``, the order in which the kernels take them."""
        return self.source, self.target, self.weight, self.dJ, self.dM

    def transfers(self, k, z) -> np.ndarray:
        """``m[ik, t]``: the steps handed to the electrons by transition t at coupling ``k[ik]``."""
        return np.asarray(k, dtype=np.int64)[:, None] * self.dJ[None, :] + int(z) * self.dM[None, :]

    @classmethod
    def of(cls, eps, M, w, k, z) -> Transitions:
        """Every transition ``a -> b`` (``a != b``, ``w[a, b] > 0``) of states with energies
        ``k eps_s + z M_s`` energy steps at each coupling index ``k`` (``eps_a - eps_b`` and
        ``M_a - M_b`` whole numbers)."""
        eps, M, w = (np.asarray(a, dtype=float) for a in (eps, M, w))
        source, target = np.nonzero(w * (1 - np.eye(w.shape[0])))
        dJ = _whole(eps[source] - eps[target], "level spacings eps_a - eps_b")
        dM = _whole(M[source] - M[target], "projection changes M_a - M_b")
        steps = np.asarray(k, dtype=np.int64)[:, None] * eps[None, :] + int(z) * M[None, :]
        order = np.argsort(steps, axis=1, kind="stable")  # ground first: eliminated last
        return cls(source, target, w[source, target], dJ, dM, order)


def _whole(values, what) -> np.ndarray:
    """Integers equal to ``values`` (transfers must be whole numbers of energy steps)."""
    rounded = np.rint(values).astype(np.int64)
    if not np.array_equal(rounded, values):
        msg = f"{what} must be whole numbers, so that every transfer lands on the energy grid"
        raise ValueError(msg)
    return rounded


@jit
def _rates_into(G, x, kk, z, step, scale, source, target, weight, dJ, dM, rank, q):
    """``q[i, j] = scale w G(m d)`` for every transition at (x, k), states by their rank in energy
    (``rank[s]``; q zeroed first)."""
    q[:, :] = 0.0
    for t in range(source.size):
        m = kk * dJ[t] + z * dM[t]
        q[rank[source[t]], rank[target[t]]] += scale * weight[t] * _g_at(G, x, m, step)


@jit
def _eliminate(q, leak, r, pivot, n_last):
    """Reduce ``A u = r`` (module docstring; states ranked by energy) by eliminating the states
    ``n_last..n-1``, highest first; ``q``, ``leak``, ``r`` are overwritten, ``pivot`` receives the
    pivots. Returns the rank whose pivot vanished (a closed class: no unique solution), or -1.

    The diagonal of q is never read (a pivot sums the rates out to *other* states), so the updates
    run over whole rows, without a branch."""
    n = r.size
    for i in range(n - 1, n_last - 1, -1):
        p = leak[i]
        for j in range(i):
            p += q[i, j]
        if not p > 0.0:
            return i
        pivot[i] = p
        for a in range(i):
            into = q[a, i] / p  # the share of a's flow into i that goes on from i
            if into == 0.0:
                continue
            leak[a] += into * leak[i]
            for b in range(i):
                q[a, b] += into * q[i, b]
        onward = r[i] / p
        for b in range(i):
            r[b] += q[i, b] * onward
    return -1


@jit
def _back_substitute(q, r, pivot, n_last, u):
    """``u`` of the ranks eliminated by ``_eliminate``, from those left (``u[:n_last]`` given)."""
    for i in range(n_last, r.size):
        total = r[i]
        for j in range(i):
            total += q[j, i] * u[j]
        u[i] = total / pivot[i]


@jit
def _workspace(ns):
    """Scratch of one solve by rank: ``(q, leak, r, pivot, solution, rank)``, and the solution by
    state ``u``."""
    return (np.empty((ns, ns)), np.empty(ns), np.empty(ns), np.empty(ns), np.empty(ns),
            np.empty(ns, dtype=np.int64), np.empty(ns))


@jit
def _solve_at(G, x, kk, z, step, scale, source, target, weight, dJ, dM, order, leak_value, n_last, anchor,
              rhs, q, leak, r, pivot, solution, rank, u):
    """``A u = rhs`` at (x, k) with the rates times ``scale`` and every leak ``leak_value``; with
    ``n_last = 1`` the ground state ``order[0]`` is not eliminated and takes ``u = anchor`` (the
    singular balance system). ``rhs`` and ``u`` are by state, the rest is scratch by rank in energy
    (contiguous rows for the elimination). Returns the state of a vanishing pivot, or -1."""
    n = order.size
    for i in range(n):
        rank[order[i]] = i
        r[i] = rhs[order[i]]
        leak[i] = leak_value
    _rates_into(G, x, kk, z, step, scale, source, target, weight, dJ, dM, rank, q)
    failed = _eliminate(q, leak, r, pivot, n_last)
    if failed >= 0:
        return order[failed]
    if n_last > 0:
        solution[0] = anchor
    _back_substitute(q, r, pivot, n_last, solution)
    for i in range(n):
        u[order[i]] = solution[i]
    return -1


@jit(parallel=True)
def _implicit_step(P, G, k, z, step, gamma, dt, source, target, weight, dJ, dM, order, renormalise, out):
    """``(1 - dt M[G]) out = P`` per (x, k): leak 1 per state, rates times dt."""
    nx, nk, ns = P.shape
    for x in numba.prange(nx):
        q, leak, r, pivot, solution, rank, u = _workspace(ns)
        for ik in range(nk):
            _solve_at(G, x, k[ik], z, step, gamma * dt, source, target, weight, dJ, dM, order[ik], 1.0, 0, 0.0,
                      P[x, ik], q, leak, r, pivot, solution, rank, u)
            factor = 1.0
            if renormalise:  # the exact step keeps sum_s P_s; remove the round-off of stiff steps
                after = np.sum(u)
                if after > 0.0:
                    factor = np.sum(P[x, ik]) / after
            out[x, ik] = u * factor


@jit(parallel=True)
def _stationary(G, k, z, step, source, target, weight, dJ, dM, order, P, failed):
    """``M[G] P = 0``, ``sum_s P_s = 1`` per (x, k); ``failed[x, k]`` is the state of a vanishing pivot
    (or -1)."""
    nx, nk, ns = P.shape
    for x in numba.prange(nx):
        q, leak, r, pivot, solution, rank, u = _workspace(ns)
        zero = np.zeros(ns)
        for ik in range(nk):
            failed[x, ik] = _solve_at(G, x, k[ik], z, step, 1.0, source, target, weight, dJ, dM, order[ik], 0.0, 1,
                                      1.0, zero, q, leak, r, pivot, solution, rank, u)
            if failed[x, ik] >= 0:  # no unique state: the caller refuses
                P[x, ik] = 0.0
            else:
                P[x, ik] = u / np.sum(u)


@jit(parallel=True)
def _stationary_change(P, G, dG, k, z, step, source, target, weight, dJ, dM, order, dP):
    """The change of the stationary P for a change dG: ``-M dP = dM P`` with ``sum_s dP_s = 0``.

    A particular solution with the ground state's change 0, then the multiple of P (the null space of
    M) that restores the normalisation."""
    nx, nk, ns = P.shape
    for x in numba.prange(nx):
        q, leak, r, pivot, solution, rank, u = _workspace(ns)
        forcing = np.empty(ns)
        for ik in range(nk):
            kk = k[ik]
            forcing[:] = 0.0
            for t in range(source.size):  # (dM P): in-flows minus out-flows of the changed rates
                m = kk * dJ[t] + z * dM[t]
                flow = weight[t] * _g_change_at(dG, x, m) * P[x, ik, source[t]]
                forcing[source[t]] -= flow
                forcing[target[t]] += flow
            _solve_at(G, x, kk, z, step, 1.0, source, target, weight, dJ, dM, order[ik], 0.0, 1, 0.0,
                      forcing, q, leak, r, pivot, solution, rank, u)
            dP[x, ik] = u - np.sum(u) * P[x, ik]


def _implicit(values, G, k, z, step, gamma, dt, transitions: Transitions, renormalise: bool) -> np.ndarray:
    out = np.empty_like(values)
    _implicit_step(np.ascontiguousarray(values), G, np.asarray(k, dtype=np.int64), int(z), float(step), float(gamma),
                   float(dt), *transitions.arrays, transitions.order, renormalise, out)
    return out


def relax_implicit(P, G, k, z, step, gamma, dt, transitions: Transitions) -> np.ndarray:
    """One implicit Euler step ``(1 - dt M[G]) P_new = P`` with G frozen (any ``dt >= 0``).

    Keeps ``sum_s P_s`` (restored after the solve) and P non-negative, and tends to the stationary
    populations as ``dt -> inf``."""
    return _implicit(P, G, k, z, step, gamma, dt, transitions, True)


def solve_levels(rhs, G, k, z, step, gamma, dt, transitions: Transitions) -> np.ndarray:
    """Solve ``(1 - dt M[G]) u = rhs`` for any right-hand side (a Rosenbrock stage), as it stands."""
    return _implicit(rhs, G, k, z, step, gamma, dt, transitions, False)


def stationary_levels(G, k, z, step, transitions: Transitions, labels=None) -> np.ndarray:
    """Stationary ``P[x, k, s]`` for the electrons of ``G[x, n-1+m]`` (Gibbs in a Fermi gas).

    Accuracy: G carries the absolute round-off of its FFT convolution (~1e-16 of max G), so
    populations far below 1e-14 are not relatively accurate, and states joined only by links of that
    size (degenerate ground states of a Fermi f at exactly T = 0) share their weight by round-off.

    Raises
    ------
    ValueError
        When some (x, k) has no unique stationary state (a closed class of states, e.g. degenerate
        ground states that no transition joins because G vanishes at zero transfer).
    """
    n_states = transitions.order.shape[1]
    P = np.empty((G.shape[0], len(k), n_states))
    failed = np.empty((G.shape[0], len(k)), dtype=np.int64)
    _stationary(G, np.asarray(k, dtype=np.int64), int(z), float(step), *transitions.arrays, transitions.order, P, failed)
    if np.any(failed >= 0):
        x, ik = np.argwhere(failed >= 0)[0]
        state = failed[x, ik] if labels is None else labels[failed[x, ik]]
        msg = (f"stationary populations are not unique at position {x}, coupling index {k[ik]}: state {state} "
               f"cannot reach the lower states (a closed class; G vanishes on every link out of it)")
        raise ValueError(msg)
    return P


def stationary_levels_change(P, G, dG, k, z, step, transitions: Transitions) -> np.ndarray:
    """The change of the stationary populations ``P`` (for G) when G changes by ``dG``."""
    dP = np.empty_like(P)
    _stationary_change(np.ascontiguousarray(P), G, dG, np.asarray(k, dtype=np.int64), int(z), float(step),
                       *transitions.arrays, transitions.order, dP)
    return dP
