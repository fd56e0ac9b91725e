"""Scattering of electrons by RKKY pairs in a Zeeman field, resolved into the states |J M> (SPEC section 9).

The pairs at coupling ``V_k = k d`` are the species :func:`hotelectron.kinetics.levels.pair_levels`
``(S, V_k, Delta_Z)``: states ``s = (J, M)`` with ``E_s = V_k eps_J + Delta_Z M`` and one-spin
weights ``B(JM -> J'M')``. Both ``V_k`` and ``Delta_Z = z d`` (``zeeman_steps``) are whole numbers
of energy steps, so every transfer ``D = V_k (eps_J - eps_J') + Delta_Z (M - M')`` lands on the grid.
Electrons and populations ``P[x, k, s]`` (per state, ``sum_s P_s = 1``) follow the species
kinetics of :mod:`hotelectron.kinetics.levels`, averaged over V as in
:mod:`hotelectron.kinetics.mechanisms.pairs` with the same dimensionless constants:

- out-kernel: ``K[x, n - m] += (4/3) rate w_k c_ab P[x, k, a]`` for every transition ``a -> b``
  handing the electrons ``m`` steps, ``c_ab = B(a -> b) / [S(S+1)]``;
- ``dP/dt`` (VGL 63 per state) with ``relaxation = Gamma t0 E0``;
- pair energy ``w_p = 4 rate / (3 relaxation S(S+1)) sum_k w_k sum_s E_s(V_k) P[k, s]``, Zeeman
  energy included, so that ``W_e + W_p`` is conserved.

Because ``sum_{M'} B(JM -> J'M') = A_{JJ'}``, at ``Delta_Z = 0`` populations ``P_JM = P_J`` give
exactly the kernel, rates and stationary state of ``PairScattering``. Modelling assumption (SPEC
section 9): the impurity Zeeman energy is exchanged with the orbital energy of the electron in a spin
flip; the electron's own Zeeman energy is neglected (strong spin-orbit scattering keeps f spin
independent).

What the wire and its storage need (not wired yet): ``n_levels`` is the number of states
``(2S+1)^2`` (36 for S = 5/2), the last axis of P is the states ``(J, M)`` in the order of
``labels`` (J, then M ascending), not the multiplets J; the scenario needs the Zeeman energy as a
whole number of energy steps (like the bias).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numba
import numpy as np

from ... import spin
from .. import level_dynamics
from .._numba import jit
from ..grids import CouplingGrid, EnergyGrid
from ..levels import LevelSpecies, pair_levels
from ..pair_dynamics import _g_at, _g_change_at
from .base import PopulationMechanism
from .pairs import check_strengths, energy_prefactor

__all__ = ["FieldPairScattering"]


@jit(parallel=True)
def _kernel_and_rates(P, G, k, z, source, target, weight, dJ, dM, electron, coupling_weights, gamma, step, reach, K,
                      dP, with_kernel, with_rates):
    """Over the transitions of every (x, k): the out-kernel added into ``K`` (width 2n + 1, transfers
    beyond it lumped into the end cells) and, with ``with_rates``, ``dP/dt`` written into ``dP``.

    Transitions with no transfer (spin flips inside a degenerate level) change no electron energy and
    cancel in the collision integral pair by pair: they stay out of the kernel (as the J = J' terms
    of ``PairScattering``) but relax the populations. G is laid out first over every transfer that
    occurs (its closed form beyond the grid), so that the loop over the transitions has no branches.
    """
    nx, nk, ns = P.shape
    n = (K.shape[1] - 1) // 2
    for x in numba.prange(nx):
        g = np.empty(2 * reach + 1)  # g[reach + m] = G(m d)
        if with_rates:
            for m in range(-reach, reach + 1):
                g[reach + m] = _g_at(G, x, m, step)
            for ik in range(nk):
                for a in range(ns):
                    dP[x, ik, a] = 0.0
        for ik in range(nk):
            kk = k[ik]
            w = coupling_weights[ik]
            for t in range(source.size):
                m = kk * dJ[t] + z * dM[t]  # steps handed to the electron: eps -> eps + m d
                a = source[t]
                p = P[x, ik, a]
                if with_kernel and m != 0:
                    K[x, min(max(n - m, 0), 2 * n)] += electron[t] * w * p
                if with_rates:
                    flow = gamma * weight[t] * p * g[reach + m]
                    dP[x, ik, a] -= flow
                    dP[x, ik, target[t]] += flow


@jit(parallel=True)
def _kernel_and_rates_change(P, G, dP, dG, k, z, source, target, weight, dJ, dM, electron, coupling_weights, gamma,
                             step, dK, d_rates):
    """The changes of ``_kernel_and_rates`` for changes ``dP`` and ``dG``: the kernel is linear in P,
    the rates bilinear in (P, G); beyond the grid width G does not depend on the electrons."""
    nx, nk, ns = P.shape
    n = (dK.shape[1] - 1) // 2
    for x in numba.prange(nx):
        for ik in range(nk):
            kk = k[ik]
            w = coupling_weights[ik]
            for a in range(ns):
                d_rates[x, ik, a] = 0.0
            for t in range(source.size):
                m = kk * dJ[t] + z * dM[t]
                a = source[t]
                if m != 0:
                    dK[x, min(max(n - m, 0), 2 * n)] += electron[t] * w * dP[x, ik, a]
                d_flow = gamma * weight[t] * (dP[x, ik, a] * _g_at(G, x, m, step) + P[x, ik, a] * _g_change_at(dG, x, m))
                d_rates[x, ik, a] -= d_flow
                d_rates[x, ik, target[t]] += d_flow


@functools.cache
def _states(S: float):
    """The |J M> states of a pair of spins S: ``(labels, eps_J, M, weights)`` per state.

    The weights ``B`` are those of :func:`pair_levels` made exactly symmetric (``d = 1``, so
    ``B(a -> b) = B(b -> a)`` up to round-off of the Clebsch-Gordan forms): then at zero field the
    flows between states of one multiplet with equal populations cancel exactly.
    """
    species = pair_levels(S, 1.0, 0.0)  # energies: eps_J
    w = 0.5 * (species.weights + species.weights.T)
    M = np.array([label[1] for label in species.labels])
    eps = species.energies.copy()
    for a in (eps, M, w):
        a.setflags(write=False)
    return species.labels, eps, M, w


@dataclass(frozen=True)
class FieldPairScattering(PopulationMechanism):
    """Electron scattering by impurity pairs in a field with populations ``P[x, k, s]``, ``s = (J, M)``.

    Parameters
    ----------
    S : float
        Impurity spin.
    rate, relaxation : float
        ``t0 T_sg / (tau_s E0)`` and ``Gamma t0 E0``, as for ``PairScattering``.
    couplings : CouplingGrid
        ``V_k = k d`` (its step is the energy step).
    zeeman_steps : int
        ``Delta_Z / d``: the impurity Zeeman energy in energy steps (any sign).
    """

    S: float
    rate: float
    relaxation: float
    couplings: CouplingGrid
    zeeman_steps: int = 0
    name: ClassVar[str] = "field_pairs"

    def __post_init__(self):
        object.__setattr__(self, "S", spin.check_spin(self.S))
        check_strengths(self.rate, self.relaxation)
        if not isinstance(self.couplings, CouplingGrid):
            msg = f"couplings must be a CouplingGrid; got {type(self.couplings).__name__}"
            raise ValueError(msg)
        z = self.zeeman_steps
        if isinstance(z, bool) or not isinstance(z, (int, np.integer)):
            msg = (f"zeeman_steps (the Zeeman energy Delta_Z in energy steps) must be an integer, so that "
                   f"every transfer lands on the energy grid; got {z!r}")
            raise ValueError(msg)
        object.__setattr__(self, "zeeman_steps", int(z))

    # -- the states -------------------------------------------------------------------------------
    @property
    def n_levels(self) -> int:
        """Number of states ``(2S+1)^2``: the last axis of P."""
        return int(round(2 * self.S + 1)) ** 2

    @property
    def labels(self) -> tuple:
        """``(J, M)`` of each state, in the order of P's last axis."""
        return _states(self.S)[0]

    @property
    def zeeman(self) -> float:
        """``Delta_Z`` in the energy unit of the grids."""
        return self.zeeman_steps * self.couplings.step

    def state_energies(self) -> np.ndarray:
        """``E[k, s] = V_k eps_J + Delta_Z M`` (energy unit of the grids)."""
        _, eps, M, _ = _states(self.S)
        return self.couplings.values[:, None] * eps[None, :] + self.zeeman * M[None, :]

    def species(self, index: int) -> LevelSpecies:
        """The pair states at the coupling ``couplings.values[index]``: ``pair_levels(S, V, Delta_Z)``
        with the symmetrised weights of this mechanism."""
        labels, _, _, w = _states(self.S)
        return LevelSpecies(self.S, self.state_energies()[index], np.ones(len(labels), dtype=int), w, labels)

    @cached_property
    def transitions(self) -> level_dynamics.Transitions:
        """Every transition ``a -> b`` with a non-zero weight, as flat arrays for the kernels."""
        _, eps, M, w = _states(self.S)
        source, target = np.nonzero(w * (1 - np.eye(w.shape[0])))
        dJ = np.rint(eps[source] - eps[target]).astype(np.int64)  # eps_J - eps_J' are integers
        if not np.array_equal(dJ, eps[source] - eps[target]):
            msg = "pair level spacings must be whole numbers (internal: eps_J - eps_J')"
            raise AssertionError(msg)
        dM = (M[source] - M[target]).astype(np.int64)
        steps = self.couplings.k[:, None] * eps[None, :] + self.zeeman_steps * M[None, :]
        order = np.argsort(steps, axis=1, kind="stable")  # ground first: eliminated last
        return level_dynamics.Transitions(source, target, w[source, target], dJ, dM, order)

    def _kernel_arguments(self):
        t = self.transitions
        electron = t.weight / (self.S * (self.S + 1))  # c_ab = d_a B(a -> b) / [S(S+1)], d_a = 1
        coupling_weights = 4.0 / 3.0 * self.rate * self.couplings.weights
        return t, electron, coupling_weights

    @cached_property
    def _reach(self) -> int:
        """The largest transfer (in steps) of any transition at any coupling."""
        return int(np.max(np.abs(self.transitions.transfers(self.couplings.k, self.zeeman_steps))))

    # -- kernel and rates --------------------------------------------------------------------------
    def _run(self, grid: EnergyGrid, P, G, K, dP, with_kernel: bool) -> None:
        t, electron, coupling_weights = self._kernel_arguments()
        with_rates = dP is not None
        G_arg = G if G is not None else np.zeros((P.shape[0], 2 * grid.n - 1))
        K_arg = K if K is not None else np.zeros((1, 1))
        _kernel_and_rates(np.ascontiguousarray(P), G_arg, self.couplings.k, self.zeeman_steps, t.source, t.target,
                          t.weight, t.dJ, t.dM, electron, coupling_weights, float(self.relaxation), float(grid.step),
                          self._reach if with_rates else 0, K_arg, dP if with_rates else np.empty((1, 1, 1)),
                          with_kernel, with_rates)

    def add_kernel(self, grid: EnergyGrid, P, G, K) -> None:
        """Add the out-kernel into the compact kernel ``K`` (width 2n + 1); G is not needed (may be None)."""
        self._run(grid, P, G, K, None, True)

    def add_kernel_and_rates(self, grid: EnergyGrid, P, G, K, dP=None) -> None:
        """Add the out-kernel into ``K`` and, if ``dP`` is given, write ``dP/dt`` there (one pass)."""
        self._run(grid, P, G, K, dP, True)

    def add_kernel_and_rates_change(self, grid: EnergyGrid, P, G, dP, dG, dK) -> np.ndarray:
        """Add the change of the kernel for a change ``dP`` of the populations into ``dK`` and return
        the change of ``dP/dt`` for ``dP`` and a change ``dG`` of the electron-hole function."""
        t, electron, coupling_weights = self._kernel_arguments()
        d_rates = np.empty_like(P)
        _kernel_and_rates_change(np.ascontiguousarray(P), G, np.ascontiguousarray(dP), dG, self.couplings.k,
                                 self.zeeman_steps, t.source, t.target, t.weight, t.dJ, t.dM, electron,
                                 coupling_weights, float(self.relaxation), float(grid.step), dK, d_rates)
        return d_rates

    def rates(self, P, G, grid: EnergyGrid) -> np.ndarray:
        """``dP/dt`` (VGL 63 per state) for the electrons of ``G``."""
        dP = np.empty_like(P, dtype=float)
        self._run(grid, P, G, None, dP, False)
        return dP

    # -- implicit steps and stationary states ------------------------------------------------------
    def relax(self, P, G, grid: EnergyGrid, dt: float) -> np.ndarray:
        """Implicit Euler step of the populations over ``dt`` with the electrons frozen."""
        return level_dynamics.relax_implicit(P, G, self.couplings.k, self.zeeman_steps, grid.step, self.relaxation,
                                             _check_step(dt), self.transitions)

    def solve_chain(self, rhs, G, grid: EnergyGrid, dt: float) -> np.ndarray:
        """Solve ``(1 - dt M[G]) z = rhs`` with the generator M of ``rates`` (implicit stages)."""
        return level_dynamics.solve_levels(rhs, G, self.couplings.k, self.zeeman_steps, grid.step, self.relaxation,
                                           _check_step(dt), self.transitions)

    def stationary(self, G, grid: EnergyGrid) -> np.ndarray:
        """Stationary populations for the electrons of ``G`` (the balance of all states per (x, k))."""
        return level_dynamics.stationary_levels(G, self.couplings.k, self.zeeman_steps, grid.step, self.transitions,
                                                self.labels)

    def stationary_change(self, P, G, dG, grid: EnergyGrid) -> np.ndarray:
        """The change of the stationary populations ``P`` (for G) when G changes by ``dG``."""
        return level_dynamics.stationary_levels_change(P, G, dG, self.couplings.k, self.zeeman_steps, grid.step,
                                                       self.transitions)

    def gibbs(self, n_x: int, temperature: float) -> np.ndarray:
        """Equilibrium populations at ``temperature`` (in E0), shape ``(n_x, n_V, (2S+1)^2)``."""
        P = np.array([self.species(index).gibbs(temperature) for index in range(self.couplings.size)])
        return np.broadcast_to(P, (n_x,) + P.shape).copy()

    def energy_weights(self) -> np.ndarray:
        """``e[k, s]`` such that ``w_p = sum_ks e[k, s] P[k, s]`` (unit 2 nu E0^2, module docstring)."""
        prefactor = energy_prefactor(self.S, self.rate, self.relaxation)
        return prefactor * self.couplings.weights[:, None] * self.state_energies()


def _check_step(dt) -> float:
    dt = float(dt)
    if not (np.isfinite(dt) and dt >= 0):
        msg = f"time step dt must be finite and >= 0; got {dt!r}"
        raise ValueError(msg)
    return dt
