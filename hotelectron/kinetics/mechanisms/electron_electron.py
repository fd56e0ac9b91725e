"""Electron-electron scattering with kernel K(E) = kappa |E|^-a (SPEC section 4).

    I_ee(eps) = int dE K(E) { f(eps)[1 - f(eps - E)] G(E) - [1 - f(eps)] f(eps - E) G(-E) },

a = 3/2 for screened Coulomb interaction in a diffusive wire, a = 2 for interaction mediated by free
magnetic impurities (Kaminski & Glazman 2001). Dimensionless strength (energy unit E0, time unit
t0): ``kappa_dimensionless = kappa t0 E0^(2 - a)`` with kappa in energy^(a-2)/time.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np

from ...units import HBAR_J_S
from .._numba import jit
from ..grids import EnergyGrid
from .base import Mechanism


def coulomb_kappa(diffusion_m2_s: float, nu_per_spin_J_m3: float, cross_section_m2: float) -> float:
    """kappa (J^-1/2 / s) of the screened Coulomb kernel of a quasi-1D diffusive wire, a = 3/2:

        kappa = 1 / (2 pi sqrt(2 D) hbar^(3/2) nu A)  (nu per spin; = 1/(pi sqrt(2 D) hbar^(3/2) nu_F A), nu_F = 2 nu),

    from the golden rule with the dynamically screened interaction in its unitary limit,
    ``U(q, w) = (D q^2 - i w)/(2 nu D q^2)``, and the diffusive matrix elements
    ``<|rho(q)|^2> = Re (D q^2 - i w)^-1 / (pi nu Vol)``, the partner's spin summed: ``K(E) = (1/(pi nu A
    hbar^3)) int dq/(2 pi) 1/(D^2 q^4 + (E/hbar)^2)`` (Altshuler & Aronov; Kamenev & Andreev, PRB 60, 2218
    (1999); Pierre et al., J. Low Temp. Phys. 118, 437 (2000), with their nu_F counting both spins)."""
    return 1.0 / (2.0 * math.pi * math.sqrt(2.0 * diffusion_m2_s) * HBAR_J_S**1.5 * nu_per_spin_J_m3 * cross_section_m2)


@jit(parallel=True)
def _add_weighted(K, weights, G, kappa):
    """``K[:, 1:-1] += kappa * weights * G`` without temporaries (``add_weighted_reference``)."""
    for x in numba.prange(K.shape[0]):
        for i in range(weights.size):
            K[x, i + 1] += kappa * weights[i] * G[x, i]


def add_weighted_reference(K, weights, G, kappa) -> None:
    """The numpy twin of ``_add_weighted``."""
    K[:, 1:-1] += kappa * weights * G


@functools.cache
def central_correction(a: float) -> float:
    """Weight ``c(a)`` (in units of ``d^(1-a)``) added to the cells ``m = +-1`` for second order.

    Near E = 0 the integrand is ``|E|^-a (h1 E + h2 E^2 + ...)``. The odd term cancels between +-E,
    but the even one leaves ``2 h2 d^(3-a) [sum_{m>=1} (m^2 w_m - j_m) - (1/2)^(3-a)/(3-a)]``, with
    ``w_m``, ``j_m`` the cell integrals of ``E^-a`` and ``E^(2-a)`` (step 1) and the last term the
    omitted cell m = 0: an error of order ``d^(3-a)``, only 1.5 for the Coulomb exponent. Adding
    ``c(a) d^(1-a)`` to ``w_{+-1}`` cancels it and leaves the odd term untouched. ``c(2) = 0``. The
    sum's terms fall as ``(2a - 1)/12 m^-a``; the tail beyond 2000 cells is added in closed form.
    Below a = 1.25 no correction is made: the sum diverges as a -> 1 and would make ``w_{+-1}``
    negative, while the uncorrected order ``3 - a`` is already above 1.75.
    """
    if not 1.25 <= a < 3:
        return 0.0
    m = np.arange(1, 2001, dtype=float)
    lo, hi = m - 0.5, m + 0.5
    w = np.log(hi / lo) if a == 1 else (lo ** (1 - a) - hi ** (1 - a)) / (a - 1)
    j = (hi ** (3 - a) - lo ** (3 - a)) / (3 - a)
    tail = (2 * a - 1) / 12 * (m[-1] + 0.5) ** (1 - a) / (a - 1)
    return -(float(np.sum(m * m * w - j)) + tail - 0.5 ** (3 - a) / (3 - a))


@dataclass(frozen=True)
class ElectronElectron(Mechanism):
    """Out-kernel ``K[m] = kappa w_m G(m d)``, with ``w_m`` the integral of ``|E|^-a`` over the cell of m.

    Integrating the singular factor exactly over each cell, plus the correction of the cells
    ``m = +-1`` for the omitted centre (``central_correction``), makes the rule second order where the
    rest of the integrand is smooth (for 1 < a < 3). Transfers beyond the grid width need
    ``G(E <= -width) = 0`` and so vanish exactly.
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

    def cell_weights(self, grid: EnergyGrid) -> np.ndarray:
        """``int |E|^-a dE`` over the cells ``|m| - 1/2 .. |m| + 1/2`` (in steps), m = -(n-1)..n-1 (read-only)."""
        return _cell_weights(grid.n, grid.step, self.exponent)

    def electron_hole_weights(self, grid: EnergyGrid) -> np.ndarray:
        """``kappa w_m``: the kernel is these weights times G (``Mechanism.electron_hole_weights``)."""
        return self.kappa * self.cell_weights(grid)

    def add_kernel(self, grid: EnergyGrid, P, G, K) -> None:
        """Add ``kappa w_m G(m d)`` into the compact kernel ``K`` (width 2n + 1; nothing beyond the grid)."""
        _add_weighted(K, self.cell_weights(grid), G, float(self.kappa))

    def add_kernel_change(self, grid: EnergyGrid, P, G, dP, dG, K) -> None:
        """Add the kernel's change for a change ``dG`` of the electron-hole function (it is linear in G)."""
        self.add_kernel(grid, None, dG, K)


@functools.lru_cache(maxsize=16)
def _cell_weights(n: int, step: float, a: float) -> np.ndarray:
    m = np.abs(np.arange(-(n - 1), n))
    lo = np.maximum(m - 0.5, 0.5) * step
    hi = (m + 0.5) * step
    w = np.log(hi / lo) if a == 1 else (lo ** (1 - a) - hi ** (1 - a)) / (a - 1)
    w[m == 0] = 0.0
    w[m == 1] += central_correction(a) * step ** (1 - a)
    w.setflags(write=False)
    return w
