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
pair of states once, weight ``w[a, b] = w[b, a]``): the net flow ``w (P_a G(m) - P_b G(-m))`` and the
two kernel cells ``n -+ m`` need the same two populations. Links with the same ``(dJ, dM)`` share
their transfer at every coupling, so the pass runs class by class, with G read once per class, and
over blocks of couplings whose populations are transposed to rows (one row per state) in a scratch
array: the innermost loop then runs over the couplings of a block, contiguous and free of indirect
indices, which the compiler vectorises (three times faster than a loop over directed transitions
for the 105 links of S = 5/2 pairs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ._numba import jit
from .pair_dynamics import _g_at, _g_change_at

__all__ = ["Links", "Transitions", "kernel_and_rates", "kernel_and_rates_change", "relax_implicit", "solve_levels",
           "stationary_levels", "stationary_levels_change"]


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


@dataclass(frozen=True, eq=False)
class Links:
    """Each pair of linked states ``a <-> b`` once, grouped by the transfer class of ``a -> b``.

    Attributes
    ----------
    first, second : int arrays
        The states ``a < b`` of each link.
    weight : float array
        ``w[a, b] = w[b, a]`` (unit spin^2): the rate of ``a -> b`` is ``gamma w G(m d)``, that of
        ``b -> a`` is ``gamma w G(-m d)``.
    start : int array, shape (n_classes + 1,)
        The links of class c are ``start[c]:start[c + 1]``.
    dJ, dM : int arrays, shape (n_classes,)
        ``a -> b`` hands the electrons ``m = k dJ + z dM`` energy steps in class c.
    """

    first: np.ndarray
    second: np.ndarray
    weight: np.ndarray
    start: np.ndarray
    dJ: np.ndarray
    dM: np.ndarray

    @classmethod
    def of(cls, eps, M, w) -> Links:
        """The links of states with energies ``k eps_s + z M_s`` steps and exactly symmetric weights
        ``w`` (symmetric to the last bit, so that equal populations of degenerate states exchange
        nothing but the round-off of one fused multiply-add)."""
        eps, M, w = (np.asarray(a, dtype=float) for a in (eps, M, w))
        if not np.array_equal(w, w.T):
            msg = "link weights must be exactly symmetric (w[a, b] = w[b, a] for single states)"
            raise ValueError(msg)
        first, second = np.nonzero(np.triu(w, 1))
        dJ = _whole(eps[first] - eps[second], "level spacings eps_a - eps_b")
        dM = _whole(M[first] - M[second], "projection changes M_a - M_b")
        key = np.lexsort((dM, dJ))
        first, second, dJ, dM = first[key], second[key], dJ[key], dM[key]
        new_class = np.flatnonzero(np.r_[True, (np.diff(dJ) != 0) | (np.diff(dM) != 0)])
        arrays = (first, second, w[first, second], np.r_[new_class, dJ.size], dJ[new_class], dM[new_class])
        return cls(*(np.ascontiguousarray(a, dtype=float if i == 2 else np.int64) for i, a in enumerate(arrays)))

    @property
    def arrays(self) -> tuple:
        """``(first, second, weight, start, dJ, dM)``, the order in which the kernels take them."""
        return self.first, self.second, self.weight, self.start, self.dJ, self.dM

    def reach(self, k, z) -> int:
        """The largest transfer ``|k dJ + z dM|`` (steps) of any link at any coupling index ``k``."""
        if self.dJ.size == 0:
            return 0
        m = np.asarray(k, dtype=np.int64)[:, None] * self.dJ[None, :] + int(z) * self.dM[None, :]
        return int(np.max(np.abs(m)))


# couplings per block of the link pass: their populations, one row per state, stay in the L1 cache
_BLOCK = 64


@jit
def _load_block(P, x, k0, nb, rows):
    """``rows[s, j] = P[x, k0 + j, s]`` for the ``nb`` couplings of a block: one row per state."""
    for j in range(nb):
        for s in range(rows.shape[0]):
            rows[s, j] = P[x, k0 + j, s]


@jit
def _store_block(rows, x, k0, nb, out):
    """``out[x, k0 + j, s] = rows[s, j]``: a block back in the layout of P."""
    for j in range(nb):
        for s in range(rows.shape[0]):
            out[x, k0 + j, s] = rows[s, j]


@jit
def _class_rates(g, reach, k, k0, nb, dJ, dM, z, m, up, down):
    """The transfers ``m`` of one class over a block, and ``up = g[m]``, ``down = g[-m]``."""
    for j in range(nb):
        mj = k[k0 + j] * dJ + z * dM
        m[j] = mj
        up[j] = g[reach + mj]
        down[j] = g[reach - mj]


@jit
def _scatter_kernel(K, x, m, k0, nb, strengths, out_up, out_down):
    """Add one class of a block into the kernel row: ``a -> b`` (the electron goes from eps to
    eps + m d) at cell ``n - m``, ``b -> a`` at ``n + m``; no-transfer links stay out."""
    n = (K.shape[1] - 1) // 2
    for j in range(nb):
        mj = m[j]
        if mj != 0:
            K[x, min(max(n - mj, 0), 2 * n)] += strengths[k0 + j] * out_up[j]
            K[x, min(max(n + mj, 0), 2 * n)] += strengths[k0 + j] * out_down[j]


@jit
def _g_table(G, x, step, gamma, reach, change):
    """``gamma G(m d)`` (or, with ``change``, ``gamma dG``) for ``|m| <= reach``, at index ``reach + m``."""
    g = np.empty(2 * reach + 1)
    for m in range(-reach, reach + 1):
        g[reach + m] = gamma * (_g_change_at(G, x, m) if change else _g_at(G, x, m, step))
    return g


@jit(parallel=True)
def _kernel_and_rates(P, G, k, z, step, gamma, strengths, first, second, weight, start, dJ, dM, reach, K, dP,
                      with_kernel, with_rates):
    """One pass over the links of every (x, k) (module docstring): the out-kernel added into ``K``
    (``strengths[ik]`` times the one-spin weights; width 2n + 1, transfers beyond it lumped into the
    end cells) and, with ``with_rates``, ``dP/dt`` written into ``dP``.

    Links with no transfer at some coupling (spin flips inside a degenerate level) change no electron
    energy and cancel in the collision integral pair by pair: they stay out of the kernel but relax
    the populations. ``gamma G`` is laid out first over every transfer that occurs (its closed form
    beyond the grid)."""
    nx, nk, ns = P.shape
    for x in numba.prange(nx):
        g = _g_table(G, x, step, gamma, reach if with_rates else 0, False)
        p = np.empty((ns, _BLOCK))  # the block's populations, one row per state
        r = np.zeros((ns, _BLOCK))  # and their rates
        m = np.zeros(_BLOCK, dtype=np.int64)
        up = np.zeros(_BLOCK)  # gamma G of a -> b
        down = np.zeros(_BLOCK)  # and of b -> a
        out_up = np.zeros(_BLOCK)  # kernel of a -> b: sum of w P_a
        out_down = np.zeros(_BLOCK)
        for k0 in range(0, nk, _BLOCK):
            nb = min(_BLOCK, nk - k0)
            _load_block(P, x, k0, nb, p)
            r[:, :] = 0.0
            for c in range(dJ.size):
                if with_rates:
                    _class_rates(g, reach, k, k0, nb, dJ[c], dM[c], z, m, up, down)
                else:
                    for j in range(nb):
                        m[j] = k[k0 + j] * dJ[c] + z * dM[c]
                out_up[:] = 0.0
                out_down[:] = 0.0
                for t in range(start[c], start[c + 1]):
                    w = weight[t]
                    pa = p[first[t]]
                    pb = p[second[t]]
                    ra = r[first[t]]
                    rb = r[second[t]]
                    if with_kernel:
                        for j in range(nb):
                            out_up[j] += w * pa[j]
                            out_down[j] += w * pb[j]
                    if with_rates:
                        for j in range(nb):
                            flow = w * (pa[j] * up[j] - pb[j] * down[j])
                            ra[j] -= flow
                            rb[j] += flow
                if with_kernel:
                    _scatter_kernel(K, x, m, k0, nb, strengths, out_up, out_down)
            if with_rates:
                _store_block(r, x, k0, nb, dP)


@jit(parallel=True)
def _kernel_and_rates_change(P, G, dP, dG, k, z, step, gamma, strengths, first, second, weight, start, dJ, dM, reach,
                             dK, d_rates):
    """The changes of ``_kernel_and_rates`` for changes ``dP`` and ``dG``: the kernel is linear in P,
    the rates bilinear in (P, G); beyond the grid width G does not depend on the electrons."""
    nx, nk, ns = P.shape
    for x in numba.prange(nx):
        g = _g_table(G, x, step, gamma, reach, False)
        dg = _g_table(dG, x, step, gamma, reach, True)
        p = np.empty((ns, _BLOCK))
        q = np.empty((ns, _BLOCK))  # the change of the populations
        r = np.zeros((ns, _BLOCK))
        m = np.zeros(_BLOCK, dtype=np.int64)
        up = np.zeros(_BLOCK)
        down = np.zeros(_BLOCK)
        d_up = np.zeros(_BLOCK)
        d_down = np.zeros(_BLOCK)
        out_up = np.zeros(_BLOCK)
        out_down = np.zeros(_BLOCK)
        for k0 in range(0, nk, _BLOCK):
            nb = min(_BLOCK, nk - k0)
            _load_block(P, x, k0, nb, p)
            _load_block(dP, x, k0, nb, q)
            r[:, :] = 0.0
            for c in range(dJ.size):
                _class_rates(g, reach, k, k0, nb, dJ[c], dM[c], z, m, up, down)
                _class_rates(dg, reach, k, k0, nb, dJ[c], dM[c], z, m, d_up, d_down)
                out_up[:] = 0.0
                out_down[:] = 0.0
                for t in range(start[c], start[c + 1]):
                    w = weight[t]
                    pa = p[first[t]]
                    pb = p[second[t]]
                    qa = q[first[t]]
                    qb = q[second[t]]
                    ra = r[first[t]]
                    rb = r[second[t]]
                    for j in range(nb):
                        out_up[j] += w * qa[j]
                        out_down[j] += w * qb[j]
                        flow = w * (qa[j] * up[j] - qb[j] * down[j] + pa[j] * d_up[j] - pb[j] * d_down[j])
                        ra[j] -= flow
                        rb[j] += flow
                _scatter_kernel(dK, x, m, k0, nb, strengths, out_up, out_down)
            _store_block(r, x, k0, nb, d_rates)


def kernel_and_rates(P, G, k, z, step, gamma, strengths, links: Links, K=None, dP=None) -> None:
    """Add the out-kernel of the populations ``P[x, k, s]`` into ``K`` (if given) and write their
    ``dP/dt`` into ``dP`` (if given), in one pass over the links.

    ``strengths[ik]`` multiplies the one-spin weights in the kernel, ``gamma`` in the rates; ``z``
    is the Zeeman energy in steps. P and dP may be strided views (e.g. blocks of a larger array).
    G is needed only for the rates."""
    with_kernel, with_rates = K is not None, dP is not None
    if with_rates and G is None:
        msg = "the rates need the electron-hole function G"
        raise ValueError(msg)
    k = np.asarray(k, dtype=np.int64)
    reach = links.reach(k, z) if with_rates else 0
    _kernel_and_rates(P, G if with_rates else np.zeros((1, 1)), k, int(z), float(step), float(gamma),
                      np.asarray(strengths, dtype=float), *links.arrays, reach,
                      K if with_kernel else np.zeros((1, 1)), dP if with_rates else np.empty((1, 1, 1)),
                      with_kernel, with_rates)


def kernel_and_rates_change(P, G, dP, dG, k, z, step, gamma, strengths, links: Links, dK, d_rates) -> None:
    """Add the kernel's change for a change ``dP`` of the populations into ``dK`` and write the change
    of ``dP/dt`` for ``dP`` and a change ``dG`` of the electron-hole function into ``d_rates``."""
    k = np.asarray(k, dtype=np.int64)
    _kernel_and_rates_change(P, G, dP, dG, k, int(z), float(step), float(gamma), np.asarray(strengths, dtype=float),
                             *links.arrays, links.reach(k, z), dK, d_rates)


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
