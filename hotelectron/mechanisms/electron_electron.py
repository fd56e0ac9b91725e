"""Electron-electron scattering with kernel K(E) = kappa |E|^-a (SPEC section 4).

    I_ee(eps) = int dE K(E) { f(eps)[1 - f(eps - E)] G(E) - [1 - f(eps)] f(eps - E) G(-E) },

a = 3/2 for screened Coulomb interaction in a diffusive wire, a = 2 for interaction mediated by free
magnetic impurities (Kaminski & Glazman 2001). Dimensionless strength (energy unit E0, time unit
t0): ``kappa_dimensionless = kappa t0 E0^(2 - a)`` with kappa in energy^(a-2)/time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..grids import EnergyGrid


@dataclass(frozen=True)
class ElectronElectron:
    """Out-kernel ``K[m] = kappa w_m G(m d)``, with ``w_m`` the integral of ``|E|^-a`` over the cell of m.

    Integrating the singular factor exactly over each cell makes the rule second order where the rest
    of the integrand is smooth; the cell ``m = 0`` carries no transfer and is left out. Transfers
    beyond the grid width need ``G(E <= -width) = 0`` and so vanish exactly.
    """

    kappa: float
    exponent: float = 1.5
    name: ClassVar[str] = "electron_electron"

    def __post_init__(self):
        if not (math.isfinite(self.kappa) and self.kappa >= 0):
            msg = f"electron-electron kappa must be finite and >= 0; got {self.kappa!r}"
            raise ValueError(msg)
        if not (math.isfinite(self.exponent) and 0 < self.exponent < 3):
            msg = f"electron-electron exponent a must lie in (0, 3); got {self.exponent!r}"
            raise ValueError(msg)

    def max_transfer(self, grid: EnergyGrid) -> int:
        return grid.n - 1

    def cell_weights(self, grid: EnergyGrid) -> np.ndarray:
        """``int |E|^-a dE`` over the cells ``|m| - 1/2 .. |m| + 1/2`` (in steps), m = -(n-1)..n-1."""
        m = np.abs(np.arange(-(grid.n - 1), grid.n))
        a = self.exponent
        lo = np.maximum(m - 0.5, 0.5) * grid.step
        hi = (m + 0.5) * grid.step
        if a == 1:
            w = np.log(hi / lo)
        else:
            w = (lo ** (1 - a) - hi ** (1 - a)) / (a - 1)
        w[m == 0] = 0.0
        return w

    def out_kernel(self, grid: EnergyGrid, P, G) -> np.ndarray:
        return self.kappa * self.cell_weights(grid) * G
