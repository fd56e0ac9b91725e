"""What every collision mechanism shares: its kernel on its own, from ``add_kernel``."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..grids import EnergyGrid


class Mechanism:
    """Base of the mechanisms: subclasses define ``add_kernel(grid, P, G, K)``.

    ``conserves_energy``: whether the mechanism keeps the energy of electrons plus impurities (False
    for a coupling to a bath, such as phonons).
    """

    conserves_energy = True

    def electron_hole_weights(self, grid: EnergyGrid):
        """``w[n - 1 + m]`` (|m| <= n - 1) if this mechanism's kernel is ``K[x, n + m] = w[n - 1 + m]
        G[x, n - 1 + m]`` with nothing in the end cells, else None. The right-hand side builds such
        kernels in the pass that makes G (``convolution._electron_hole_pass``)."""
        return None

    def out_kernel(self, grid: EnergyGrid, P, G) -> np.ndarray:
        """The compact out-kernel ``K[x, n + m]`` of this mechanism alone (rate of eps -> eps - m d;
        the end cells hold the transfers beyond the grid width)."""
        n_x = (G if G is not None else P).shape[0]
        K = np.zeros((n_x, 2 * grid.n + 1))
        self.add_kernel(grid, P, G, K)
        return K


class PopulationMechanism(Mechanism):
    """Base of the mechanisms whose impurities carry populations ``P[x, ...]`` that evolve with the
    electrons: RKKY pairs at zero field (``P[x, k, J]``, the multiplets J at each coupling V_k) or in a
    field (``P[x, k, s]``, the states s = (J, M)), free spins (``P[x, M]``), or several of them side
    by side (``Impurities``). A ``Collisions`` holds at most one: several are combined into one
    ``Impurities``, so that the solvers see one population array.

    Besides ``add_kernel`` a subclass defines ``population_shape`` (the axes of P after x; by default
    ``(couplings.size, n_levels)``) and, each with the signature of ``PairScattering``:
    ``add_kernel_and_rates``, ``add_kernel_and_rates_change``, ``rates``, ``relax``, ``solve_chain``,
    ``stationary``, ``stationary_change``, ``gibbs`` and ``energy_weights`` (of the shape
    ``population_shape``).

    ``impurity``: what kind of impurity energy the populations hold, ``"pairs"`` or ``"spins"`` (free
    spins): the key of ``energy_parts``, so that diagnostics report W_pairs and W_spins apart.
    """

    impurity: ClassVar[str] = "pairs"

    @property
    def population_shape(self) -> tuple:
        """The axes of the populations after the position: ``P.shape == (n_x,) + population_shape``."""
        return (self.couplings.size, self.n_levels)

    def check_grid(self, grid: EnergyGrid) -> None:
        """Refuse an energy grid whose step is not the one every transfer is a whole number of."""
        if not np.isclose(self.couplings.step, grid.step, rtol=1e-12, atol=0):
            msg = (f"the coupling grid step ({self.couplings.step!r}) must equal the energy step "
                   f"({grid.step!r}) so that pair transfers land on the energy grid")
            raise ValueError(msg)

    def rhs_in_one_pass(self, grid: EnergyGrid, f, P, linear_weights, dfdt, dP, keep=None) -> bool:
        """The whole collision right-hand side of these populations and of the kernels ``linear_weights``
        times G (``Mechanism.electron_hole_weights``) in one compiled pass, ``df/dt`` into ``dfdt`` and
        ``dP/dt`` into ``dP``, if this mechanism has such a pass (True); else False and nothing is
        written, and ``Collisions.rhs`` takes its three passes. ``keep``: arrays ``(FF, G, K)`` for f's
        spectrum, G and the compact kernel, which the pass then writes too (a linearisation's)."""
        return False

    def add_kernel_change(self, grid: EnergyGrid, P, G, dP, dG, K) -> None:
        """Add the kernel's change for a change ``dP`` of the populations (the kernel is linear in P
        and does not depend on G)."""
        self.add_kernel(grid, dP, G, K)

    def add_stationary_kernel_change(self, grid: EnergyGrid, P, G, dG, K) -> None:
        """Add the kernel's change when G changes by ``dG`` and the populations, stationary for G
        (``P``), follow it: the kernel of ``stationary_change``. A subclass may do both in one pass."""
        self.add_kernel(grid, self.stationary_change(P, G, dG, grid), G, K)

    def energy(self, P) -> np.ndarray:
        """Impurity energy per position in units of ``2 nu E0^2`` (``energy_weights`` contracted with P)."""
        axes = "abcdefgh"[: np.ndim(P) - 1]  # the axes after x, summed
        return np.einsum(f"x{axes},{axes}->x", P, self.energy_weights())

    def energy_parts(self, P) -> dict:
        """``{impurity: energy per position}`` (unit ``2 nu E0^2``): one entry, or one per species of
        an ``Impurities``."""
        return {self.impurity: self.energy(P)}

    def energy_rate(self, P, G, grid: EnergyGrid) -> np.ndarray:
        """``d(energy)/dt`` per position from the collisions with the electrons of ``G``: the
        ``energy`` of ``rates``."""
        return self.energy(self.rates(P, G, grid))

    def energy_rate_parts(self, P, G, grid: EnergyGrid) -> dict:
        """``{impurity: d(energy)/dt per position}``: ``energy_rate`` by kind, as ``energy_parts``."""
        return {self.impurity: self.energy_rate(P, G, grid)}
