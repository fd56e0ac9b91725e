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
