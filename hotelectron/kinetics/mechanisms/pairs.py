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

import math
from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np

from ... import spin
from .. import pair_dynamics
from .._numba import jit
from ..grids import CouplingGrid, EnergyGrid


@jit(parallel=True)
def _pair_out_kernel(P, k, weights, c_up, c_down, M, K):
    nx, nk, nJ = P.shape
    for x in numba.prange(nx):
        for q in range(K.shape[1]):
            K[x, q] = 0.0
        for ik in range(nk):
            kk = k[ik]
            for J in range(nJ):
                p = P[x, ik, J] * weights[ik]
                if J + 1 < nJ:  # J -> J+1: the pair absorbs V(J+1), the electron loses it
                    K[x, M + kk * (J + 1)] += c_up[J] * p
                if J >= 1:  # J -> J-1: the pair releases V J
                    K[x, M - kk * J] += c_down[J] * p


@dataclass(frozen=True)
class PairScattering:
    """Electron scattering by impurity pairs with populations ``P[x, k, J]`` on a coupling grid."""

    S: float
    rate: float
    relaxation: float
    couplings: CouplingGrid
    name: ClassVar[str] = "pairs"

    def __post_init__(self):
        object.__setattr__(self, "S", spin.check_spin(self.S))
        if not (math.isfinite(self.rate) and self.rate >= 0):
            msg = f"pair rate must be finite and >= 0; got {self.rate!r}"
            raise ValueError(msg)
        if not (math.isfinite(self.relaxation) and self.relaxation > 0):
            msg = f"pair relaxation must be finite and > 0 (it fixes the pair density); got {self.relaxation!r}"
            raise ValueError(msg)

    @property
    def n_levels(self) -> int:
        return int(round(2 * self.S)) + 1

    def max_transfer(self, grid: EnergyGrid) -> int:
        return self.couplings.k_max * (self.n_levels - 1)

    def _c(self):
        J, _ = spin.levels(self.S)
        A = spin.matrix_elements(self.S)
        c = (2 * J + 1)[:, None] * A / (self.S * (self.S + 1))
        j = np.arange(J.size)
        c_up = np.append(c[j[:-1], j[:-1] + 1], 0.0)
        c_down = np.insert(c[j[1:], j[1:] - 1], 0, 0.0)
        return c_up, c_down

    def out_kernel(self, grid: EnergyGrid, P, G) -> np.ndarray:
        M = self.max_transfer(grid)
        K = np.empty((P.shape[0], 2 * M + 1))
        c_up, c_down = self._c()
        weights = 4.0 / 3.0 * self.rate * self.couplings.weights
        _pair_out_kernel(np.ascontiguousarray(P), self.couplings.k.astype(np.int64), weights, c_up, c_down, M, K)
        return K

    def rates(self, P, G, grid: EnergyGrid) -> np.ndarray:
        """``dP/dt`` (VGL 63) for the electrons of ``G``."""
        return pair_dynamics.pair_rates(P, G, self.couplings.k, grid.step, self.S, self.relaxation)

    def relax(self, P, G, grid: EnergyGrid, dt: float) -> np.ndarray:
        """Implicit Euler step of the pair chain over ``dt`` with the electrons frozen."""
        return pair_dynamics.relax_implicit(P, G, self.couplings.k, grid.step, self.S, self.relaxation, dt)

    def solve_chain(self, rhs, G, grid: EnergyGrid, dt: float) -> np.ndarray:
        """Solve ``(1 - dt M[G]) z = rhs`` with the chain generator M of ``rates`` (implicit stages)."""
        return pair_dynamics.solve_chain(rhs, G, self.couplings.k, grid.step, self.S, self.relaxation, dt)

    def stationary(self, G, grid: EnergyGrid) -> np.ndarray:
        """Stationary populations for the electrons of ``G`` (VGL 65)."""
        return pair_dynamics.stationary_pairs(G, self.couplings.k, grid.step, self.S)

    def gibbs(self, n_x: int, temperature: float) -> np.ndarray:
        """Equilibrium populations at ``temperature`` (in E0), shape ``(n_x, n_V, 2S+1)``."""
        P = spin.gibbs(self.couplings.values, self.S, temperature)
        return np.broadcast_to(P, (n_x,) + P.shape).copy()

    def energy(self, P) -> np.ndarray:
        """Pair energy ``w_p`` per position in units of ``2 nu E0^2`` (see the module docstring)."""
        J, eps = spin.levels(self.S)
        per_level = (2 * J + 1) * eps
        V = self.couplings.values
        prefactor = 4.0 * self.rate / (3.0 * self.relaxation * self.S * (self.S + 1))
        return prefactor * np.einsum("k,xkj,j->x", self.couplings.weights * V, P, per_level)
