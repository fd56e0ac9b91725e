"""Kinetics of RKKY pair populations P[x, k, J] driven by the electron gas (VGL 62-65).

At each position x and coupling ``V_k = k d`` (dimensionless, energy unit E0, time unit t0):

    dP_J/dt = - gamma sum_{J'=J+-1} A_{JJ'} [ P_J G(V(eps_J - eps_J')) - P_J' G(V(eps_J' - eps_J)) ],

with ``gamma = Gamma t0 E0`` and ``G`` the electron-hole function of the local electrons. A pair going
``J -> J+1`` absorbs ``V (J+1)`` from the gas, which must give it up: the rate carries
``G(-V(J+1))``. Only neighbouring multiplets are linked (a birth-death chain), so the stationary
populations follow link by link and an implicit Euler step is a tridiagonal solve per (x, k).
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from .. import spin
from . import _numba, convolution
from ._numba import jit
from .convolution import electron_hole_at

__all__ = ["ChainStage", "chain_coefficients", "pair_rates", "relax_implicit", "solve_chain", "stationary_pairs",
           "stationary_pairs_change", "stationary_pairs_reference"]


@functools.cache
def chain_coefficients(S):
    """``(A_{J,J+1}, A_{J+1,J})`` for the links ``J = 0..2S-1`` of the chain (read-only arrays)."""
    A = spin.matrix_elements(S)
    j = np.arange(A.shape[0] - 1)
    up, down = np.ascontiguousarray(A[j, j + 1]), np.ascontiguousarray(A[j + 1, j])
    up.setflags(write=False)
    down.setflags(write=False)
    return up, down


@jit
def _g_at(G, x, m, step):
    n = (G.shape[1] + 1) // 2
    if m >= n:
        return m * step
    if m <= -n:
        return 0.0
    return G[x, n - 1 + m]


@jit
def _g_change_at(dG, x, m):
    """A change of G at transfer m: zero beyond the grid width, where G does not depend on f."""
    n = (dG.shape[1] + 1) // 2
    if m >= n or m <= -n:
        return 0.0
    return dG[x, n - 1 + m]


@jit(parallel=True)
def _pair_rates(P, G, k, step, a_up, a_down, gamma, dP):
    nx, nk, nJ = P.shape
    for x in numba.prange(nx):
        for ik in range(nk):
            for J in range(nJ):
                dP[x, ik, J] = 0.0
            for j in range(nJ - 1):
                m = k[ik] * (j + 1)
                give = _g_at(G, x, -m, step)  # the gas gives V(j+1): pair j -> j+1
                take = _g_at(G, x, m, step)  # the gas takes V(j+1): pair j+1 -> j
                flow = P[x, ik, j] * give - P[x, ik, j + 1] * take
                dP[x, ik, j] -= gamma * a_up[j] * flow
                dP[x, ik, j + 1] += gamma * a_down[j] * flow


def pair_rates(P, G, k, step, S, gamma) -> np.ndarray:
    """``dP/dt[x, k, J]`` from populations ``P`` and the electron-hole function ``G[x, n-1+m]``."""
    a_up, a_down = chain_coefficients(S)
    dP = np.empty_like(P)
    _pair_rates(np.ascontiguousarray(P), G, np.asarray(k, dtype=np.int64), step, a_up, a_down, gamma, dP)
    return dP


@jit(parallel=True)
def _relax_implicit(P, G, k, step, a_up, a_down, gamma, dt, renormalise, out):
    nx, nk, nJ = P.shape
    for x in numba.prange(nx):
        diag = np.empty(nJ)
        upper = np.zeros(nJ)
        lower = np.zeros(nJ)
        rhs = np.empty(nJ)
        for ik in range(nk):
            for J in range(nJ):
                diag[J] = 1.0
                rhs[J] = P[x, ik, J]
            for j in range(nJ - 1):
                m = k[ik] * (j + 1)
                give = gamma * dt * _g_at(G, x, -m, step)
                take = gamma * dt * _g_at(G, x, m, step)
                diag[j] += a_up[j] * give
                upper[j] = -a_up[j] * take
                diag[j + 1] += a_down[j] * take
                lower[j + 1] = -a_down[j] * give
            # Thomas algorithm without pivoting: the matrix is a nonsingular M-matrix (diag(2J+1) times it
            # is column-diagonally dominant), so elimination is stable and keeps P non-negative
            for J in range(1, nJ):
                w = lower[J] / diag[J - 1]
                diag[J] -= w * upper[J - 1]
                rhs[J] -= w * rhs[J - 1]
            out[x, ik, nJ - 1] = rhs[nJ - 1] / diag[nJ - 1]
            for J in range(nJ - 2, -1, -1):
                out[x, ik, J] = (rhs[J] - upper[J] * out[x, ik, J + 1]) / diag[J]
            if not renormalise:
                continue
            # the exact step keeps sum_J (2J+1) P_J; remove the round-off of stiff steps
            before = 0.0
            after = 0.0
            for J in range(nJ):
                before += (2 * J + 1) * P[x, ik, J]
                after += (2 * J + 1) * out[x, ik, J]
            if after > 0.0:
                for J in range(nJ):
                    out[x, ik, J] *= before / after


def relax_implicit(P, G, k, step, S, gamma, dt) -> np.ndarray:
    """One implicit Euler step ``(1 - dt M[G]) P_new = P`` of the chain with G frozen.

    Unconditionally stable for any ``dt``; keeps ``sum_J (2J+1) P_J`` exactly and P non-negative, and
    tends to the stationary populations as ``dt -> inf``.
    """
    a_up, a_down = chain_coefficients(S)
    out = np.empty_like(P)
    _relax_implicit(np.ascontiguousarray(P), G, np.asarray(k, dtype=np.int64), step, a_up, a_down, gamma, dt, True, out)
    return out


def solve_chain(rhs, G, k, step, S, gamma, dt) -> np.ndarray:
    """Solve ``(1 - dt M[G]) z = rhs`` for any right-hand side (a Rosenbrock stage), as it stands."""
    a_up, a_down = chain_coefficients(S)
    out = np.empty_like(rhs)
    _relax_implicit(np.ascontiguousarray(rhs), G, np.asarray(k, dtype=np.int64), step, a_up, a_down, gamma, dt, False, out)
    return out


# The kernels of ChainStage go chain by chain, the factors laid out as the populations, (x, k, J), and
# take the chain coefficients as tuples: the chain length is then part of their type, the loops along
# a chain are unrolled and a chain lives in registers from reading it in to writing it out (a compiled
# twin with the length a runtime value, or the chain in a small array, took twice as long). At 15 x 800
# x 6 (the default scenario) the rates' change and both sweeps took 0.097 ms, against 0.185 ms when
# the factors had the couplings last, (x, J, k), and the sweeps ran along J with the couplings in the
# inner, vectorised loop: reading the chains in and writing them out, across that layout, cost as
# much as the sweeps. The stage kernels are compiled per spin (``_chain_kernels``).
@jit(error_model="numpy")  # the pivots are >= 1: no check of each divisor
def _factor_chains(g, reach, k, a_up, a_down, multiplier, inverse_pivot, upper):
    """The elimination of ``_relax_implicit`` for the chains of one position: per coupling the
    multipliers of the forward sweep, the inverse pivots and the upper diagonal of ``1 - dt M[G]``,
    each (nk, nJ); ``g[reach + m]`` is gamma dt G(m d) for ``|m| <= reach``. A chain's matrix is made
    as it is eliminated, in registers: each factor is stored once (building the matrix in the factor
    arrays first, then eliminating there, took twice as long)."""
    links = len(a_up)
    for ik in range(k.size):
        give, take = g[reach - k[ik]], g[reach + k[ik]]  # the link 0 <-> 1
        inverse = 1.0 / (1.0 + a_up[0] * give)
        inverse_pivot[ik, 0] = inverse
        multiplier[ik, 0] = 0.0
        above = -a_up[0] * take  # the upper diagonal of the row before
        upper[ik, 0] = above
        for j in range(1, links + 1):  # row j, below the link j - 1 <-> j (and above j <-> j + 1)
            diagonal = 1.0 + a_down[j - 1] * take
            w = (-a_down[j - 1] * give) * inverse
            if j < links:
                give, take = g[reach - k[ik] * (j + 1)], g[reach + k[ik] * (j + 1)]
                diagonal += a_up[j] * give
            multiplier[ik, j] = w
            inverse = 1.0 / (diagonal - w * above)
            inverse_pivot[ik, j] = inverse
            above = -a_up[j] * take if j < links else 0.0
            upper[ik, j] = above


@jit(inline="always")  # inlined where the spin's chain length is a constant: the loop stays unrolled
def _last_row_and_back(rhs, a_down, d_flow, multiplier, inverse_pivot, upper, out, ik, links, u):
    """The end of a chain's forward sweep (its last row) and the backward sweep over what the forward one
    wrote, for the two chain stages below."""
    u = ((rhs[ik, links] + a_down[links - 1] * d_flow) - multiplier[ik, links] * u) * inverse_pivot[ik, links]
    out[ik, links] = u
    for J in range(links - 1, -1, -1):
        u = (out[ik, J] - upper[ik, J] * u) * inverse_pivot[ik, J]
        out[ik, J] = u


@jit
def _chain_position(P, g, rhs, k, a_up, a_down, gamma_dt, multiplier, inverse_pivot, upper, out):
    """One position of the stage for any change of G: ``g[n + m]`` the change of G over the transfers
    ``|m| <= n``, zero at ``+-n``, so that a transfer beyond the grid width, where G does not depend on
    the electrons, reads a zero through the clipped index; ``P``, ``rhs``, ``out`` and the factors
    (nk, nJ) are this position's."""
    links = len(a_up)
    n = (g.size - 1) // 2
    for ik in range(k.size):
        m = min(max(k[ik], -n), n)
        d_flow = gamma_dt * (P[ik, 0] * g[n - m] - P[ik, 1] * g[n + m])
        u = rhs[ik, 0] - a_up[0] * d_flow
        out[ik, 0] = u
        for j in range(1, links):
            m = min(max(k[ik] * (j + 1), -n), n)
            d_next = gamma_dt * (P[ik, j] * g[n - m] - P[ik, j + 1] * g[n + m])
            u = ((rhs[ik, j] + a_down[j - 1] * d_flow) - a_up[j] * d_next) - multiplier[ik, j] * u
            d_flow = d_next
            out[ik, j] = u
        _last_row_and_back(rhs, a_down, d_flow, multiplier, inverse_pivot, upper, out, ik, links, u)


@jit
def _chain_position_symmetric(P, g, rhs, k, a_up, a_down, gamma_dt, multiplier, inverse_pivot, upper, out):
    """``_chain_position`` for a change of G that is the same at +-m, as every change the electrons
    make is (``convolution._electron_hole_change_block``): ``g[m]`` for ``0 <= m <= n``, zero at n.
    A link's two rate changes then share one value. The rates' change and the forward sweep are made
    as the chain is read in; the backward sweep reads back what that wrote."""
    links = len(a_up)
    n = g.size - 1
    for ik in range(k.size):
        reach = abs(k[ik])
        high = P[ik, 1]
        d_flow = gamma_dt * (P[ik, 0] - high) * g[min(reach, n)]
        u = rhs[ik, 0] - a_up[0] * d_flow
        out[ik, 0] = u
        for j in range(1, links):
            low, high = high, P[ik, j + 1]
            d_next = gamma_dt * (low - high) * g[min(reach * (j + 1), n)]
            u = ((rhs[ik, j] + a_down[j - 1] * d_flow) - a_up[j] * d_next) - multiplier[ik, j] * u
            d_flow = d_next
            out[ik, j] = u
        _last_row_and_back(rhs, a_down, d_flow, multiplier, inverse_pivot, upper, out, ik, links, u)


@functools.cache
def _chain_kernels(S: float):
    """``(factors, stage, stage_from_electrons)`` compiled for spin S, the chain coefficients constants
    of the compiled code (numba cannot hand a tuple argument to its threads), one compilation per
    spin in numba's cache:

    - ``factors(G, k, step, gamma, dt, multiplier, inverse_pivot, upper)``: ``_factor_chains`` at every
      position, the factors (x, k, J);
    - ``stage(P, dG, rhs, k, gamma_dt, multiplier, inverse_pivot, upper, out)``: ``out = (1 - dt
      M[G])^-1 (rhs + dt dR)`` per (x, k), with ``dR`` the change of the rates for the change ``dG``
      of the electron-hole function (P held);
    - ``stage_from_electrons(P, v, FF, ones, step, rhs, k, gamma_dt, multiplier, inverse_pivot, upper,
      out, rows, spectra, g)``: the same with dG made in the same pass from the electrons' change
      ``v`` (n_x, n) and the spectrum ``FF`` of f (``convolution._electron_hole_change_block``), a
      block of ``convolution.BLOCK_ROWS`` positions at a time, so that dG never leaves the cache.
      ``rows``, ``spectra`` (``Scratch.blocks``) and ``g`` (threads, BLOCK_ROWS, n + 1) are each
      thread's work space; thread t takes the positions ``[t n_x / threads, (t + 1) n_x / threads)``.
    """
    a_up, a_down = (tuple(float(c) for c in a) for a in chain_coefficients(S))

    @jit(parallel=True, error_model="numpy")  # the pivots are >= 1: no check of each divisor
    def factors(G, k, step, gamma, dt, multiplier, inverse_pivot, upper):
        nx = multiplier.shape[0]
        reach = 0
        for ik in range(k.size):
            reach = max(reach, abs(k[ik]) * len(a_up))
        for x in numba.prange(nx):
            g = np.empty(2 * reach + 1)  # g[reach + m] = gamma dt G(m d), the closed form beyond the grid
            for m in range(-reach, reach + 1):
                g[reach + m] = gamma * dt * _g_at(G, x, m, step)
            _factor_chains(g, reach, k, a_up, a_down, multiplier[x], inverse_pivot[x], upper[x])

    @jit(parallel=True)
    def stage(P, dG, rhs, k, gamma_dt, multiplier, inverse_pivot, upper, out):
        nx = P.shape[0]
        n = (dG.shape[1] + 1) // 2
        for x in numba.prange(nx):
            g = np.zeros(2 * n + 1)  # dG with the zeros at +-n that _chain_position reads
            for i in range(2 * n - 1):
                g[1 + i] = dG[x, i]
            _chain_position(P[x], g, rhs[x], k, a_up, a_down, gamma_dt, multiplier[x], inverse_pivot[x], upper[x],
                            out[x])

    @jit(parallel=True)
    def stage_from_electrons(P, v, FF, ones, step, rhs, k, gamma_dt, multiplier, inverse_pivot, upper, out, rows,
                             spectra, g):
        nx = P.shape[0]
        n = v.shape[1]
        threads, _, B, _ = rows.shape
        for t in numba.prange(threads):
            start, stop = _numba.thread_rows(t, threads, nx)
            for lo in range(start, stop, B):
                hi = min(lo + B, stop)
                convolution._electron_hole_change_block(v[lo:hi], FF[lo:hi], ones, step, g[t], rows[t, 0],
                                                        spectra[t, 0])
                for x in range(lo, hi):
                    g[t, x - lo, n] = 0.0  # transfers beyond the grid width: G does not depend on f there
                    _chain_position_symmetric(P[x], g[t, x - lo], rhs[x], k, a_up, a_down, gamma_dt, multiplier[x],
                                              inverse_pivot[x], upper[x], out[x])

    return factors, stage, stage_from_electrons


# ``ChainStage.with_electrons`` runs on one thread below this many times ``PARALLEL_MIN_WORK``
# population values. At 15 x 800 x 6 (72 000 values, the default scenario) the three evolutions took
# 15-20% less wall and CPU time with the pass serial than on two threads (``evolution_cost.py``,
# three alternating pairs of runs, load 2.8-3.3 on the 2 shared cores); at load 1.8-2.0 less CPU time
# and, run to run, 5% more or 7% less wall time: each thread's share, about 0.15 ms, is too short
# to pay reliably for waking the other. Since the chains are solved chain by chain in registers the
# pass takes about 0.2 ms on one thread (half of it the two transforms of dG), shares of 0.1 ms.
# Above it, shares of 0.5 ms and more, threads are kept (not measured).
_STAGE_THREADS_ABOVE = 8


class ChainStage:
    """The populations' part of an implicit stage with the electrons' change given,

        u_P = (1 - dt M[G])^-1 (r_P + dt (dR/dG) dG),

    for one state (P, G) and one dt: the chain is factorised once, and each solve is one pass over
    the populations (the rates' change and both sweeps). ``solve_chain`` of the rates' change from
    ``add_kernel_and_rates_change`` is the same map, in two passes and a factorisation per call.
    ``with_electrons`` takes the electrons' change instead of dG and makes dG in the same pass, a
    block of positions at a time (what a preconditioner application calls)."""

    def __init__(self, P, G, k, step, S, gamma, dt):
        self._P = np.ascontiguousarray(P)
        self._k = np.asarray(k, dtype=np.int64)
        self._step = float(step)
        self._gamma_dt = float(gamma) * float(dt)
        self._kernels = _chain_kernels(float(S))
        self._factors = tuple(np.empty(self._P.shape) for _ in range(3))  # laid out as P: (x, k, J)
        self._kernels[0](G, self._k, float(step), float(gamma), float(dt), *self._factors)

    def __call__(self, rhs, dG, out=None) -> np.ndarray:
        out = np.empty_like(self._P) if out is None else out
        self._kernels[1](self._P, dG, np.ascontiguousarray(rhs), self._k, self._gamma_dt, *self._factors, out)
        return out

    def with_electrons(self, rhs, v, FF, out=None) -> np.ndarray:
        """The same map for the change ``v`` (n_x, n) of the electrons, ``dG`` made from it in the same
        pass (``convolution.electron_hole_change``'s numbers to round-off); ``FF`` is the spectrum of
        the f of G (rows zero-padded to ``convolution.fft_length(n)``, as the linearisation keeps it)."""
        out = np.empty_like(self._P) if out is None else out
        nx = self._P.shape[0]
        n = v.shape[1]
        work = convolution.scratch(nx, n)
        kernel = self._kernels[2]
        if self._P.size >= _STAGE_THREADS_ABOVE * _numba.PARALLEL_MIN_WORK:
            kernel, threads = kernel.for_work(self._P.size)
        else:
            kernel, threads = kernel.serial, 1
        rows, spectra = work.blocks(threads)
        g = work.array("chain stage: dG", (threads, convolution.BLOCK_ROWS, n + 1))
        kernel(self._P, np.ascontiguousarray(v, dtype=float), FF, convolution._ones_spectrum(n, work.L), self._step,
               np.ascontiguousarray(rhs), self._k, self._gamma_dt, *self._factors, out, rows, spectra, g)
        return out


@jit(parallel=True)
def _stationary(G, k, step, P):
    """Stationary chain populations per (x, k): every link balances, ``P_{j+1} G(m) = P_j G(-m)`` with
    ``m = k (j + 1)``. Since ``G(m) - G(-m) = m d``, the population ratio along the chain is below 1
    in the direction of the recursion (upward for k > 0, downward for k < 0): no overflow, no logs."""
    nx, nk, nJ = P.shape
    for x in numba.prange(nx):
        for ik in range(nk):
            kk = k[ik]
            if kk > 0:
                P[x, ik, 0] = 1.0
                for j in range(nJ - 1):
                    m = kk * (j + 1)
                    P[x, ik, j + 1] = P[x, ik, j] * _g_at(G, x, -m, step) / _g_at(G, x, m, step)
            else:
                P[x, ik, nJ - 1] = 1.0
                for j in range(nJ - 2, -1, -1):
                    m = kk * (j + 1)
                    P[x, ik, j] = P[x, ik, j + 1] * _g_at(G, x, m, step) / _g_at(G, x, -m, step)
            total = 0.0
            for J in range(nJ):
                total += (2 * J + 1) * P[x, ik, J]
            for J in range(nJ):
                P[x, ik, J] /= total


@jit(parallel=True)
def _stationary_change(P, G, dG, k, step, dP):
    """The change of ``_stationary`` for a change dG: the balance of each link differentiated,
    ``dP_{j+1} G(m) + P_{j+1} dG(m) = dP_j G(-m) + P_j dG(-m)``, solved along the chain, plus the
    multiple of P that keeps ``sum_J (2J+1) P_J = 1``."""
    nx, nk, nJ = P.shape
    for x in numba.prange(nx):
        for ik in range(nk):
            kk = k[ik]
            if kk > 0:
                dP[x, ik, 0] = 0.0
                for j in range(nJ - 1):
                    m = kk * (j + 1)
                    dP[x, ik, j + 1] = (dP[x, ik, j] * _g_at(G, x, -m, step) + P[x, ik, j] * _g_change_at(dG, x, -m)
                                        - P[x, ik, j + 1] * _g_change_at(dG, x, m)) / _g_at(G, x, m, step)
            else:
                dP[x, ik, nJ - 1] = 0.0
                for j in range(nJ - 2, -1, -1):
                    m = kk * (j + 1)
                    dP[x, ik, j] = (dP[x, ik, j + 1] * _g_at(G, x, m, step) + P[x, ik, j + 1] * _g_change_at(dG, x, m)
                                    - P[x, ik, j] * _g_change_at(dG, x, -m)) / _g_at(G, x, -m, step)
            drift = 0.0
            for J in range(nJ):
                drift += (2 * J + 1) * dP[x, ik, J]
            for J in range(nJ):
                dP[x, ik, J] -= drift * P[x, ik, J]


def stationary_pairs(G, k, step, S) -> np.ndarray:
    """Stationary ``P[x, k, J]`` for the electrons of ``G[x, n-1+m]`` (VGL 65), Gibbs in a Fermi gas."""
    n_levels = int(round(2 * S)) + 1
    P = np.empty((G.shape[0], len(k), n_levels))
    _stationary(G, np.asarray(k, dtype=np.int64), float(step), P)
    return P


def stationary_pairs_reference(G, k, step, S) -> np.ndarray:
    """``stationary_pairs`` through :func:`hotelectron.spin.chain_populations` (the readable twin)."""
    J, _ = spin.levels(S)
    m = np.asarray(k)[:, None] * (J[:-1] + 1).astype(np.int64)  # (nk, 2S)
    give = electron_hole_at(G, -m, step)  # (n_x, nk, 2S)
    take = electron_hole_at(G, m, step)
    return spin.chain_populations(give, take)


def stationary_pairs_change(P, G, dG, k, step) -> np.ndarray:
    """The change of the stationary populations ``P`` (for G) when G changes by ``dG``."""
    dP = np.empty_like(P)
    _stationary_change(np.ascontiguousarray(P), G, dG, np.asarray(k, dtype=np.int64), float(step), dP)
    return dP
