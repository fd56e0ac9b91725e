"""What every collision mechanism shares: its kernel on its own, from ``add_kernel``."""

from __future__ import annotations

import numpy as np

from ..grids import EnergyGrid


class Mechanism:
    """Base of the mechanisms: subclasses define ``add_kernel(grid, P, G, K)``.

    ``conserves_energy``: whether the mechanism keeps the energy of electrons plus impurities (False
    for a coupling to a bath, such as phonons).
    """

    conserves_energy = True

    def out_kernel(self, grid: EnergyGrid, P, G) -> np.ndarray:
        """The compact out-kernel ``K[x, n + m]`` of this mechanism alone (rate of eps -> eps - m d;
        the end cells hold the transfers beyond the grid width)."""
        n_x = (G if G is not None else P).shape[0]
        K = np.zeros((n_x, 2 * grid.n + 1))
        self.add_kernel(grid, P, G, K)
        return K


class PopulationMechanism(Mechanism):
    """Base of the mechanisms whose impurities carry populations ``P[x, k, s]`` that evolve with the
    electrons (``Collisions`` holds at most one): RKKY pairs at zero field (``s`` = the multiplets J)
    or in a field (``s`` = the states (J, M)).

    Besides ``add_kernel`` a subclass defines ``couplings`` (a ``CouplingGrid``), ``n_levels`` (the
    last axis of P) and, each with the signature of ``PairScattering``: ``add_kernel_and_rates``,
    ``add_kernel_and_rates_change``, ``rates``, ``relax``, ``solve_chain``, ``stationary``,
    ``stationary_change``, ``gibbs``, ``energy_weights`` and ``energy``.
    """

    def add_kernel_change(self, grid: EnergyGrid, P, G, dP, dG, K) -> None:
        """Add the kernel's change for a change ``dP`` of the populations (the kernel is linear in P
        and does not depend on G)."""
        self.add_kernel(grid, dP, G, K)

    def energy(self, P) -> np.ndarray:
        """Impurity energy per position in units of ``2 nu E0^2`` (``energy_weights`` contracted with P)."""
        return np.einsum("xks,ks->x", P, self.energy_weights())
