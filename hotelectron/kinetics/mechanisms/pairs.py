"""Scattering of electrons by RKKY-coupled impurity pairs, averaged over the coupling V (VGL 69, 70).

    I_pairs(eps) = (4 T_sg/3) int dV/V^2 (1/tau_s) sum_{J != J'} c_{JJ'}
                   { f(eps)[1 - f(eps + D)] P_J(V) - [1 - f(eps)] f(eps + D) P_J'(V) },
    D = V (eps_J - eps_J'),   c_{JJ'} = (2J+1) A_{JJ'} / [S(S+1)].

Dimensionless parameters (energy unit E0, time unit t0):

- ``rate = t0 T_sg / (tau_s E0)``: the electron scattering strength (r_p of SPEC section 6);
- ``relaxation = Gamma t0 E0`` with ``Gamma = 4 nu / (tau_s n_s S(S+1))``: the pair relaxation
  constant of VGL (63);
- the coupling grid (cutoff ``v_min = V_min/E0`` and ``v_max``).

Pair energy per unit volume in units of ``2 nu E0^2`` (the unit of the electron energy
``W_e = 2 nu int eps f``):

    w_p = 4 rate / (3 relaxation S(S+1)) sum_k w_k sum_J (2J+1) V_k eps_J P_J(V_k),

which follows from ``n_p(V) dV = (n_s/2)(4/3) T_sg dV/V^2`` and ``n_s = 4 nu/(Gamma tau_s S(S+1))``.
With this pairing of constants the electron and pair equations conserve ``W_e + W_p`` exactly.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numba
import numpy as np

from ... import spin
from .. import convolution, pair_dynamics
from ..convolution import electron_hole_at
from ..pair_dynamics import _g_at, _g_change_at
from .._numba import jit, thread_rows
from ..grids import CouplingGrid, EnergyGrid
from .base import PopulationMechanism


@functools.cache
def _coefficients(S: float) -> tuple:
    """``(c_up, c_down, a_up, a_down)`` of spin S as tuples of floats: the passes take them as a tuple
    argument, so the chain length is part of its type and the loop over the links is unrolled."""
    arrays = (*_electron_weights(S), *pair_dynamics.chain_coefficients(S))
    return tuple(tuple(float(c) for c in a) for a in arrays)


@jit
def _pair_rows(P, G, k, weights, coefficients, gamma, step, K, dP, with_rates):
    """The pass over the populations of the rows given (``kernel_and_rates_reference`` is its numpy
    twin): adds the populations' out-kernel into the compact kernel ``K`` (width 2n + 1, see
    ``hotelectron.kinetics.convolution``) and, ``with_rates``, writes ``dP/dt`` (VGL 63) into ``dP``;
    ``coefficients`` from ``_coefficients(S)``.

    The couplings come in mirror pairs ``k[i] = -k[nk - 1 - i] > 0`` with equal weights (as a
    ``CouplingGrid`` has them): a link of ``+a`` and the same link of ``-a`` exchange the same
    ``|m| = a (j + 1)`` steps, so they share the two values of G and the two kernel cells they touch.
    A link whose transfer reaches the grid width adds into an end cell and reads G in its closed form
    there; the end cells are summed in registers (thousands of updates of one memory cell would each
    wait for the last). On one thread at n_x = 128, n = 2048, S = 5/2: 2.7 ms, against 4.9 ms for one
    coupling at a time with the coefficients read from arrays in a loop over the links.
    """
    c_up, c_down, a_up, a_down = coefficients
    links = len(a_up)
    nx, nk, _ = P.shape
    n = (K.shape[1] - 1) // 2
    for x in range(nx):
        below = 0.0  # the kernel of transfers m <= -n
        above = 0.0  # and of m >= n
        for ia in range(nk // 2, nk):  # the coupling +a and its mirror -a (index ib)
            ib = nk - 1 - ia
            a = k[ia]
            w = weights[ia]
            low_a = P[x, ia, 0]
            low_b = P[x, ib, 0]
            previous_a = 0.0
            previous_b = 0.0
            for j in range(links):
                m = a * (j + 1)  # the link j <-> j+1 exchanges |V| (j+1) = m steps
                high_a = P[x, ia, j + 1]
                high_b = P[x, ib, j + 1]
                # at +a, j -> j+1 takes m steps from the electron (kernel at +m), j+1 -> j gives
                # them back (at -m); at -a the other way round
                plus = w * (c_up[j] * low_a + c_down[j + 1] * high_b)
                minus = w * (c_down[j + 1] * high_a + c_up[j] * low_b)
                if m < n:
                    K[x, n + m] += plus
                    K[x, n - m] += minus
                    g_take = G[x, n - 1 + m]  # G(m d): the gas takes m steps
                    g_give = G[x, n - 1 - m]  # G(-m d): the gas gives them
                else:
                    above += plus
                    below += minus
                    g_take = m * step
                    g_give = 0.0
                if with_rates:
                    flow_a = gamma * (low_a * g_give - high_a * g_take)
                    flow_b = gamma * (low_b * g_take - high_b * g_give)
                    dP[x, ia, j] = previous_a - a_up[j] * flow_a
                    dP[x, ib, j] = previous_b - a_up[j] * flow_b
                    previous_a = a_down[j] * flow_a
                    previous_b = a_down[j] * flow_b
                low_a = high_a
                low_b = high_b
            if with_rates:
                dP[x, ia, links] = previous_a
                dP[x, ib, links] = previous_b
        K[x, 0] += below
        K[x, 2 * n] += above


@functools.cache
def _kernel_and_rates(S: float):
    """``_pair_rows`` over all positions, threaded over them, for spin S:
    ``kernel_and_rates(P, G, k, weights, gamma, step, K, dP, with_rates)``. The coefficients are
    constants of the compiled code (numba cannot hand a tuple argument to its threads), one
    compilation per spin in numba's cache."""
    coefficients = _coefficients(S)

    @jit(parallel=True)
    def kernel_and_rates(P, G, k, weights, gamma, step, K, dP, with_rates):
        for x in numba.prange(P.shape[0]):
            _pair_rows(P[x : x + 1], G[x : x + 1], k, weights, coefficients, gamma, step, K[x : x + 1],
                       dP[x : x + 1] if with_rates else dP, with_rates)

    return kernel_and_rates


@functools.cache
def _rhs_blocks(S: float):
    """The whole right-hand side of spin-S pairs and kernels linear in G in one pass, a block of rows at
    a time on each thread: ``rhs_blocks(f, ones, step, linear_weights, P, k, weights, gamma, dfdt, dP,
    rows, spectra, G, K, tails)`` runs ``convolution._electron_hole_block`` (f's spectrum, G and the
    kernels ``linear_weights`` times G), ``_pair_rows`` (the pairs' kernel and dP/dt) and
    ``convolution._integral_block`` (df/dt). f's spectrum, G and the kernel of a block live only in the
    thread's work space (``rows``, ``spectra``: ``Scratch.blocks``; ``G``, ``K``: (threads, B, 2n -+ 1);
    ``tails``: (threads, n)), so they never leave the core's cache; with ``keep`` they are written into
    the full arrays ``FF_kept``, ``G_kept`` and ``K_kept`` instead, for a linearisation."""
    coefficients = _coefficients(S)

    @jit(parallel=True)
    def rhs_blocks(f, ones, step, linear_weights, P, k, weights, gamma, dfdt, dP, rows, spectra, G, K, tails, keep,
                   FF_kept, G_kept, K_kept):
        nx = f.shape[0]
        threads, _, B, _ = rows.shape
        for t in numba.prange(threads):
            start, stop = thread_rows(t, threads, nx)
            for lo in range(start, stop, B):
                hi = min(lo + B, stop)
                r = hi - lo
                if keep:
                    FF, G_block, K_block = FF_kept[lo:hi], G_kept[lo:hi], K_kept[lo:hi]
                else:
                    FF, G_block, K_block = spectra[t, 3, :r], G[t, :r], K[t, :r]
                convolution._electron_hole_block(f[lo:hi], ones, step, linear_weights, True, FF, G_block, K_block,
                                                 rows[t, 0], spectra[t, 0])
                _pair_rows(P[lo:hi], G_block, k, weights, coefficients, gamma, step, K_block, dP[lo:hi], True)
                convolution._integral_block(f[lo:hi], FF, K_block, ones, -1.0, dfdt[lo:hi], dfdt[lo:hi], False,
                                            spectra[t, 2, :r], rows[t], spectra[t, :2], tails[t])

    return rhs_blocks


@functools.cache
def _stationary_kernel_change(S: float):
    """The kernel's change of spin-S pairs that stay stationary while G changes by dG, in one pass over
    the populations: ``pair_dynamics.stationary_pairs_change`` (each link's balance differentiated,
    solved along the chain away from the link whose G is the closed form ``m d > 0``, then the
    multiple of P that keeps the normalisation) followed by the kernel of that change, as
    ``_kernel_and_rates`` adds it (couplings in mirror pairs ``+a``, ``-a``; links beyond the grid
    width into the end cells, where dG vanishes). Compiled for that S like ``_kernel_and_rates``.

    ``kernel_change(P, G, dG, k, weights, step, dK)`` adds into the compact ``dK`` (width 2n + 1).
    """
    c_up_array, c_down_array = _electron_weights(S)
    c_up, c_down = tuple(float(c) for c in c_up_array), tuple(float(c) for c in c_down_array)
    links = len(c_up) - 1

    @jit(parallel=True)
    def kernel_change(P, G, dG, k, weights, step, dK):
        nx, nk, _ = P.shape
        n = (dK.shape[1] - 1) // 2
        for x in numba.prange(nx):
            da = np.empty(links + 1)  # the change at +a, from J = 0 up
            db = np.empty(links + 1)  # at -a, from J = 2S down
            below = 0.0
            above = 0.0
            for ia in range(nk // 2, nk):
                ib = nk - 1 - ia
                a = k[ia]
                da[0] = 0.0
                for j in range(links):
                    m = a * (j + 1)
                    da[j + 1] = (da[j] * _g_at(G, x, -m, step) + P[x, ia, j] * _g_change_at(dG, x, -m)
                                 - P[x, ia, j + 1] * _g_change_at(dG, x, m)) / _g_at(G, x, m, step)
                db[links] = 0.0
                for j in range(links - 1, -1, -1):
                    m = a * (j + 1)
                    db[j] = (db[j + 1] * _g_at(G, x, -m, step) + P[x, ib, j + 1] * _g_change_at(dG, x, -m)
                             - P[x, ib, j] * _g_change_at(dG, x, m)) / _g_at(G, x, m, step)
                drift_a = 0.0
                drift_b = 0.0
                for J in range(links + 1):
                    drift_a += (2 * J + 1) * da[J]
                    drift_b += (2 * J + 1) * db[J]
                for J in range(links + 1):
                    da[J] -= drift_a * P[x, ia, J]
                    db[J] -= drift_b * P[x, ib, J]
                w = weights[ia]
                for j in range(links):
                    m = a * (j + 1)
                    plus = w * (c_up[j] * da[j] + c_down[j + 1] * db[j + 1])
                    minus = w * (c_down[j + 1] * da[j + 1] + c_up[j] * db[j])
                    if m < n:
                        dK[x, n + m] += plus
                        dK[x, n - m] += minus
                    else:
                        above += plus
                        below += minus
            dK[x, 0] += below
            dK[x, 2 * n] += above

    return kernel_change


_NO_RATES = np.empty((1, 1, 1))
_NO_ROWS = np.empty((0, 0))
_NO_SPECTRUM = np.empty((0, 0), complex)


def _check_mirrored(k, weights) -> None:
    """The pass takes the couplings in mirror pairs: ``k`` must be ``-k`` reversed, positive in its second
    half, with mirror-symmetric weights (every ``CouplingGrid`` is)."""
    half = k.size // 2
    if not (k.size % 2 == 0 and np.array_equal(k, -k[::-1]) and np.all(k[half:] > 0)
            and np.array_equal(weights, weights[::-1])):
        msg = "pair couplings must come in mirror pairs +-k (k > 0) with equal weights, as a CouplingGrid has them"
        raise ValueError(msg)


def kernel_and_rates_reference(P, G, k, weights, c_up, c_down, a_up, a_down, gamma, step, n):
    """``(K, dP/dt)`` of ``_kernel_and_rates`` in numpy: the readable twin, for tests.

    For each link ``j <-> j+1`` at coupling ``k`` the transfer is ``m = k (j + 1)`` steps; the kernel
    gains ``c_up[j] w P_j`` at ``+m`` and ``c_down[j+1] w P_{j+1}`` at ``-m`` (clipped into the end cells),
    and the flow ``P_j G(-m) - P_{j+1} G(m)`` leaves level j and enters level j + 1.
    """
    nx, nk, nJ = P.shape
    j = np.arange(nJ - 1)
    m = np.asarray(k)[:, None] * (j + 1)  # (nk, nJ - 1)
    K = np.zeros((nx, 2 * n + 1))
    up = c_up[j] * weights[:, None] * P[:, :, :-1]  # (nx, nk, nJ - 1)
    down = c_down[j + 1] * weights[:, None] * P[:, :, 1:]
    for x in range(nx):
        np.add.at(K[x], np.clip(n + m, 0, 2 * n), up[x])
        np.add.at(K[x], np.clip(n - m, 0, 2 * n), down[x])
    flow = P[:, :, :-1] * electron_hole_at(G, -m, step) - P[:, :, 1:] * electron_hole_at(G, m, step)  # (nx, nk, nJ - 1)
    dP = np.zeros_like(P)
    dP[:, :, :-1] -= gamma * a_up[j] * flow
    dP[:, :, 1:] += gamma * a_down[j] * flow
    return K, dP


@jit(parallel=True)
def _kernel_and_rates_change(P, G, dP, dG, k, weights, c_up, c_down, a_up, a_down, gamma, step, dK, d_rates):
    """The changes of ``_kernel_and_rates`` for changes ``dP`` of the populations and ``dG`` of the
    electron-hole function: the kernel is linear in P, the rates bilinear in (P, G). Beyond the grid
    width G does not depend on the electrons, so its change vanishes there."""
    nx, nk, nJ = P.shape
    n = (dK.shape[1] - 1) // 2
    for x in numba.prange(nx):
        for ik in range(nk):
            kk = k[ik]
            w = weights[ik]
            for J in range(nJ):
                d_rates[x, ik, J] = 0.0
            for j in range(nJ - 1):
                m = kk * (j + 1)
                dK[x, min(max(n + m, 0), 2 * n)] += c_up[j] * w * dP[x, ik, j]
                dK[x, min(max(n - m, 0), 2 * n)] += c_down[j + 1] * w * dP[x, ik, j + 1]
                give, take = _g_at(G, x, -m, step), _g_at(G, x, m, step)
                d_give, d_take = _g_change_at(dG, x, -m), _g_change_at(dG, x, m)
                d_flow = (dP[x, ik, j] * give - dP[x, ik, j + 1] * take
                          + P[x, ik, j] * d_give - P[x, ik, j + 1] * d_take)
                d_rates[x, ik, j] -= gamma * a_up[j] * d_flow
                d_rates[x, ik, j + 1] += gamma * a_down[j] * d_flow


@functools.cache
def _electron_weights(S: float):
    """``(c_up[J], c_down[J])``: ``c_{J,J+1}`` and ``c_{J,J-1}`` with ``c_{JJ'} = (2J+1) A_{JJ'} / [S(S+1)]``."""
    J, _ = spin.levels(S)
    A = spin.matrix_elements(S)
    c = (2 * J + 1)[:, None] * A / (S * (S + 1))
    j = np.arange(J.size)
    c_up = np.append(c[j[:-1], j[:-1] + 1], 0.0)
    c_down = np.insert(c[j[1:], j[1:] - 1], 0, 0.0)
    return c_up, c_down


def check_strengths(rate, relaxation) -> None:
    """Refuse a pair rate that is not finite and >= 0, or a relaxation that is not finite and > 0."""
    if not (math.isfinite(rate) and rate >= 0):
        msg = f"pair rate must be finite and >= 0; got {rate!r}"
        raise ValueError(msg)
    if not (math.isfinite(relaxation) and relaxation > 0):
        msg = f"pair relaxation must be finite and > 0 (it fixes the pair density); got {relaxation!r}"
        raise ValueError(msg)


def energy_prefactor(S, rate, relaxation) -> float:
    """``4 rate / (3 relaxation S(S+1))``: pair energy per unit ``sum_k w_k E P`` (module docstring)."""
    return 4.0 * rate / (3.0 * relaxation * S * (S + 1))


@dataclass(frozen=True)
class PairScattering(PopulationMechanism):
    """Electron scattering by impurity pairs with populations ``P[x, k, J]`` on a coupling grid."""

    S: float
    rate: float
    relaxation: float
    couplings: CouplingGrid
    name: ClassVar[str] = "pairs"

    def __post_init__(self):
        object.__setattr__(self, "S", spin.check_spin(self.S))
        check_strengths(self.rate, self.relaxation)

    @property
    def n_levels(self) -> int:
        return int(round(2 * self.S)) + 1

    def add_kernel(self, grid: EnergyGrid, P, G, K) -> None:
        """Add the out-kernel into the compact kernel ``K`` (width 2n + 1)."""
        self.add_kernel_and_rates(grid, P, G, K)

    def add_kernel_and_rates(self, grid: EnergyGrid, P, G, K, dP=None) -> None:
        """Add the out-kernel into the compact kernel ``K`` (width 2n + 1) and, if ``dP`` is given,
        write ``dP/dt`` there: one pass over the populations for both."""
        weights = self.coupling_weights
        with_rates = dP is not None
        G_arg = G if G is not None else np.zeros((P.shape[0], 2 * grid.n - 1))
        _kernel_and_rates(self.S)(np.ascontiguousarray(P), G_arg, self.couplings.k, weights, float(self.relaxation),
                                  float(grid.step), K, dP if with_rates else _NO_RATES, with_rates)

    @cached_property
    def coupling_weights(self) -> np.ndarray:
        """``(4/3) rate w_k``: the electrons' weight of each coupling in the passes, made and checked
        mirror-symmetric once (the passes take the couplings in mirror pairs)."""
        weights = 4.0 / 3.0 * self.rate * self.couplings.weights
        _check_mirrored(self.couplings.k, weights)
        return weights

    def rhs_in_one_pass(self, grid: EnergyGrid, f, P, linear_weights, dfdt, dP, keep=None) -> bool:
        """The whole collision right-hand side of these pairs and of the kernels ``linear_weights`` times
        G (``Mechanism.electron_hole_weights``; e-e), ``df/dt`` into ``dfdt`` and ``dP/dt`` into ``dP``,
        in one compiled pass a block of rows at a time (``_rhs_blocks(S)``): True. For C-contiguous
        float f and P, on the FFT path.

        Against the three passes of ``Collisions.rhs`` it keeps f's spectrum, G and the kernel of a block
        in the cache (12 MB less memory traffic at n_x = 128, n = 2048) and starts the threads once.
        ``keep``: arrays ``(FF, G, K)`` of shapes (n_x, L // 2 + 1), (n_x, 2n - 1), (n_x, 2n + 1) into
        which f's spectrum, G and the compact kernel are written (what a linearisation keeps).
        """
        n_x, n = f.shape
        work = convolution.scratch(n_x, n)
        kernel, threads = _rhs_blocks(self.S).for_work(P.size)
        G = work.array("one-pass G", (threads, convolution.BLOCK_ROWS, 2 * n - 1))
        K = work.array("one-pass kernel", (threads, convolution.BLOCK_ROWS, 2 * n + 1))
        kept = (_NO_SPECTRUM, _NO_ROWS, _NO_ROWS) if keep is None else keep
        kernel(f, convolution._ones_spectrum(n, work.L), float(grid.step), linear_weights, P, self.couplings.k,
               self.coupling_weights, float(self.relaxation), dfdt, dP, *work.blocks(threads), G, K,
               work.array("tails", (threads, n)), keep is not None, *kept)
        return True

    def add_kernel_and_rates_change(self, grid: EnergyGrid, P, G, dP, dG, dK) -> np.ndarray:
        """Add the change of the kernel for a change ``dP`` of the populations into ``dK`` and return
        the change of ``dP/dt`` for ``dP`` and a change ``dG`` of the electron-hole function."""
        c_up, c_down = _electron_weights(self.S)
        a_up, a_down = pair_dynamics.chain_coefficients(self.S)
        weights = self.coupling_weights
        d_rates = np.empty_like(P)
        _kernel_and_rates_change(np.ascontiguousarray(P), G, np.ascontiguousarray(dP), dG, self.couplings.k, weights,
                                 c_up, c_down, a_up, a_down, float(self.relaxation), float(grid.step), dK, d_rates)
        return d_rates

    def stationary_change(self, P, G, dG, grid: EnergyGrid) -> np.ndarray:
        """The change of the stationary populations ``P`` (for G) when G changes by ``dG``."""
        return pair_dynamics.stationary_pairs_change(P, G, dG, self.couplings.k, grid.step)

    def add_stationary_kernel_change(self, grid: EnergyGrid, P, G, dG, K) -> None:
        """``add_kernel`` of ``stationary_change`` in one pass over the populations (no dP array)."""
        _stationary_kernel_change(self.S)(np.ascontiguousarray(P), G, dG, self.couplings.k, self.coupling_weights,
                                          float(grid.step), K)

    def rates(self, P, G, grid: EnergyGrid) -> np.ndarray:
        """``dP/dt`` (VGL 63) for the electrons of ``G``."""
        return pair_dynamics.pair_rates(P, G, self.couplings.k, grid.step, self.S, self.relaxation)

    def relax(self, P, G, grid: EnergyGrid, dt: float) -> np.ndarray:
        """Implicit Euler step of the pair chain over ``dt`` with the electrons frozen."""
        return pair_dynamics.relax_implicit(P, G, self.couplings.k, grid.step, self.S, self.relaxation, dt)

    def solve_chain(self, rhs, G, grid: EnergyGrid, dt: float) -> np.ndarray:
        """Solve ``(1 - dt M[G]) z = rhs`` with the chain generator M of ``rates`` (implicit stages)."""
        return pair_dynamics.solve_chain(rhs, G, self.couplings.k, grid.step, self.S, self.relaxation, dt)

    def chain_stage(self, P, G, grid: EnergyGrid, dt: float) -> pair_dynamics.ChainStage:
        """``(r_P, dG) -> (1 - dt M[G])^-1 (r_P + dt (dR/dG) dG)``, factorised once for (P, G, dt): the
        populations' part of an implicit stage whose electrons change G by dG (optional; the
        solvers fall back on ``solve_chain`` and ``add_kernel_and_rates_change``)."""
        return pair_dynamics.ChainStage(P, G, self.couplings.k, grid.step, self.S, self.relaxation, dt)

    def stationary(self, G, grid: EnergyGrid) -> np.ndarray:
        """Stationary populations for the electrons of ``G`` (VGL 65)."""
        return pair_dynamics.stationary_pairs(G, self.couplings.k, grid.step, self.S)

    def gibbs(self, n_x: int, temperature: float) -> np.ndarray:
        """Equilibrium populations at ``temperature`` (in E0), shape ``(n_x, n_V, 2S+1)``."""
        P = spin.gibbs(self.couplings.values, self.S, temperature)
        return np.broadcast_to(P, (n_x,) + P.shape).copy()

    def energy_weights(self) -> np.ndarray:
        """``e[k, J]`` such that ``w_p = sum_kJ e[k, J] P[k, J]`` (unit 2 nu E0^2, module docstring)."""
        J, eps = spin.levels(self.S)
        prefactor = energy_prefactor(self.S, self.rate, self.relaxation)
        return prefactor * (self.couplings.weights * self.couplings.values)[:, None] * ((2 * J + 1) * eps)[None, :]
