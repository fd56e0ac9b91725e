"""Electron scattering by impurities whose states are a level species at each coupling of a grid.

The one machinery of :mod:`hotelectron.kinetics.levels` as a collision mechanism: at each position
and coupling index ``k`` the impurity is a species of single states ``s`` with energies
``E_s = k eps_s d + Delta_Z M_s`` (``d`` the energy step, ``Delta_Z = z d``) and exactly symmetric
one-spin weights ``w[a, b]``. RKKY pairs in a field (:mod:`.field_pairs`: ``s = (J, M)`` at every
``V_k = k d``) and free spins (:mod:`.free_spins`: ``s = M``, one "coupling" ``k = 0``) are the two
subclasses. Per position, with populations ``P[x, k, s]`` (``sum_s P_s = 1``):

- out-kernel ``K[x, n - m] += strength_k w[a, b] / S(S+1) P[x, k, a]`` for every transition
  ``a -> b`` handing the electrons ``m = k (eps_a - eps_b) + z (M_a - M_b)`` steps
  (``c_ab = w / S(S+1)`` of VGL 69 and SPEC section 9, ``strength_k`` the electrons' scattering rate
  by the impurities at that coupling);
- ``dP_a/dt = - gamma sum_b w[a, b] [P_a G(m_ab d) - P_b G(m_ba d)]`` (VGL 63 per state), ``gamma``
  the species' relaxation constant;
- impurity energy ``w_imp = sum_k strength_k / (gamma S(S+1)) sum_s E_s P[k, s]`` (unit
  ``2 nu E0^2``): since ``h sum_eps eps I = dE/dt / [gamma S(S+1)]`` per unit strength
  (:mod:`hotelectron.kinetics.levels`), this is the one energy that makes ``W_e + w_imp``
  conserved. That it is also the physical energy density fixes the pairing of ``strength`` and
  ``gamma`` with the impurity density; each subclass derives both from the physical constants.

Subclasses define ``S``, ``relaxation``, ``zeeman_steps``, the step ``step``, ``population_shape``
and the properties ``template`` (``labels, eps, M, w`` of the states), ``coupling_indices``,
``strengths`` and ``gamma``.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .. import level_dynamics, link_pass
from ..grids import EnergyGrid
from ..levels import LevelSpecies
from .base import PopulationMechanism

__all__ = ["LevelScattering", "check_step", "check_zeeman_steps"]


def check_zeeman_steps(z) -> int:
    """``Delta_Z / d`` as an int, or a ValueError naming it."""
    if isinstance(z, bool) or not isinstance(z, (int, np.integer)):
        msg = (f"zeeman_steps (the Zeeman energy Delta_Z in energy steps) must be an integer, so that "
               f"every transfer lands on the energy grid; got {z!r}")
        raise ValueError(msg)
    return int(z)


def check_step(dt) -> float:
    """A time step ``dt >= 0``, or a ValueError."""
    dt = float(dt)
    if not (np.isfinite(dt) and dt >= 0):
        msg = f"time step dt must be finite and >= 0; got {dt!r}"
        raise ValueError(msg)
    return dt


class LevelScattering(PopulationMechanism):
    """Base of the mechanisms of level species on a coupling grid (see the module docstring)."""

    # -- the states -------------------------------------------------------------------------------
    @property
    def n_levels(self) -> int:
        """Number of states per coupling: the last axis of P."""
        return len(self.template[0])

    @property
    def labels(self) -> tuple:
        """Quantum numbers of each state, in the order of P's last axis."""
        return self.template[0]

    @property
    def zeeman(self) -> float:
        """``Delta_Z`` in the energy unit of the grids."""
        return self.zeeman_steps * self.step

    def state_energies(self) -> np.ndarray:
        """``E[k, s] = k d eps_s + Delta_Z M_s`` (energy unit of the grids), one row per coupling."""
        _, eps, M, _ = self.template
        return (self.coupling_indices * self.step)[:, None] * eps[None, :] + self.zeeman * M[None, :]

    def species(self, index: int = 0) -> LevelSpecies:
        """The states at the coupling ``coupling_indices[index]`` as a ``LevelSpecies`` (the readable twin)."""
        labels, _, _, w = self.template
        return LevelSpecies(self.S, self.state_energies()[index], np.ones(len(labels), dtype=int), w, labels)

    def check_grid(self, grid: EnergyGrid) -> None:
        if not np.isclose(self.step, grid.step, rtol=1e-12, atol=0):
            msg = (f"the {self.name} mechanism was built for the energy step {self.step!r}, not the grid's "
                   f"{grid.step!r}: its transfers must be whole numbers of grid steps")
            raise ValueError(msg)

    @cached_property
    def transitions(self) -> level_dynamics.Transitions:
        """Every directed transition, as flat arrays for the solves."""
        _, eps, M, w = self.template
        return level_dynamics.Transitions.of(eps, M, w, self.coupling_indices, self.zeeman_steps)

    @cached_property
    def links(self) -> link_pass.Links:
        """Every pair of linked states once, by transfer class, for the kernel and rates."""
        _, eps, M, w = self.template
        return link_pass.Links.of(eps, M, w)

    def _by_coupling(self, P) -> np.ndarray:
        """``P`` as ``[x, k, s]`` (a view)."""
        return P.reshape(P.shape[0], self.coupling_indices.size, self.n_levels)

    @cached_property
    def _electron_strengths(self) -> np.ndarray:
        """``strength_k / S(S+1)``: the kernel's factor of the one-spin weights (made once, not per pass)."""
        return self.strengths / (self.S * (self.S + 1))

    # -- kernel and rates --------------------------------------------------------------------------
    def add_kernel(self, grid: EnergyGrid, P, G, K) -> None:
        """Add the out-kernel into the compact kernel ``K`` (width 2n + 1); G is not needed (may be None)."""
        self.add_kernel_and_rates(grid, P, G, K)

    def add_kernel_and_rates(self, grid: EnergyGrid, P, G, K, dP=None) -> None:
        """Add the out-kernel into ``K`` and, if ``dP`` is given, write ``dP/dt`` there (one pass)."""
        rates = None if dP is None else self._by_coupling(dP)
        link_pass.kernel_and_rates(self._by_coupling(P), G, self.coupling_indices, self.zeeman_steps, grid.step,
                                        self.gamma, self._electron_strengths, self.links, K, rates)
        if rates is not None and not np.may_share_memory(rates, dP):  # dP's layout made reshape copy
            dP[...] = rates.reshape(dP.shape)

    def add_kernel_and_rates_change(self, grid: EnergyGrid, P, G, dP, dG, dK) -> np.ndarray:
        """Add the change of the kernel for a change ``dP`` of the populations into ``dK`` and return
        the change of ``dP/dt`` for ``dP`` and a change ``dG`` of the electron-hole function."""
        d_rates = np.empty(np.shape(P))
        link_pass.kernel_and_rates_change(self._by_coupling(P), G, self._by_coupling(dP), dG,
                                               self.coupling_indices, self.zeeman_steps, grid.step, self.gamma,
                                               self._electron_strengths, self.links, dK, self._by_coupling(d_rates))
        return d_rates

    def rates(self, P, G, grid: EnergyGrid) -> np.ndarray:
        """``dP/dt`` (VGL 63 per state) for the electrons of ``G``."""
        dP = np.empty(np.shape(P))
        link_pass.kernel_and_rates(self._by_coupling(P), G, self.coupling_indices, self.zeeman_steps, grid.step,
                                        self.gamma, self._electron_strengths, self.links, None,
                                        self._by_coupling(dP))
        return dP

    # -- implicit steps and stationary states ------------------------------------------------------
    def _solve(self, solver, values, G, grid, dt):
        out = solver(self._by_coupling(values), G, self.coupling_indices, self.zeeman_steps, grid.step, self.gamma,
                     check_step(dt), self.transitions)
        return out.reshape(np.shape(values))

    def relax(self, P, G, grid: EnergyGrid, dt: float) -> np.ndarray:
        """Implicit Euler step of the populations over ``dt`` with the electrons frozen."""
        return self._solve(level_dynamics.relax_implicit, P, G, grid, dt)

    def solve_chain(self, rhs, G, grid: EnergyGrid, dt: float) -> np.ndarray:
        """Solve ``(1 - dt M[G]) z = rhs`` with the generator M of ``rates`` (implicit stages)."""
        return self._solve(level_dynamics.solve_levels, rhs, G, grid, dt)

    def stationary(self, G, grid: EnergyGrid) -> np.ndarray:
        """Stationary populations for the electrons of ``G`` (the balance of all states per (x, k))."""
        P = level_dynamics.stationary_levels(G, self.coupling_indices, self.zeeman_steps, grid.step, self.transitions,
                                             self.labels)
        return P.reshape((G.shape[0],) + self.population_shape)

    def stationary_change(self, P, G, dG, grid: EnergyGrid) -> np.ndarray:
        """The change of the stationary populations ``P`` (for G) when G changes by ``dG``."""
        dP = level_dynamics.stationary_levels_change(self._by_coupling(P), G, dG, self.coupling_indices,
                                                     self.zeeman_steps, grid.step, self.transitions)
        return dP.reshape(np.shape(P))

    def gibbs(self, n_x: int, temperature: float) -> np.ndarray:
        """Equilibrium populations at ``temperature`` (in E0), shape ``(n_x,) + population_shape``."""
        P = np.array([self.species(index).gibbs(temperature) for index in range(self.coupling_indices.size)])
        P = P.reshape(self.population_shape)
        return np.broadcast_to(P, (n_x,) + P.shape).copy()

    def energy_weights(self) -> np.ndarray:
        """``e[...]`` such that ``w_imp = sum e P`` per position (unit 2 nu E0^2, module docstring)."""
        scale = self.strengths / (self.gamma * self.S * (self.S + 1))
        return (scale[:, None] * self.state_energies()).reshape(self.population_shape)
