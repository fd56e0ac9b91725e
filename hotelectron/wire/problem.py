"""A diffusive wire between two reservoirs, in dimensionless units (SPEC sections 5 and 6).

Units: energies in a reference energy E0 (usually eU), positions in the wire length L, times in the
diffusion time tau_D = L^2/D. The kinetic equation on the nodes ``x_j = j/(n_x - 1)`` reads

    df/dt = d^2 f/dx^2 - I[f, P](x, eps),

with ``f(0, eps)`` and ``f(1, eps)`` the reservoirs' Fermi functions. Mechanism strengths follow from
the physical ones with t0 = tau_D (see ``hotelectron.kinetics.mechanisms``):

- pairs: ``rate = tau_D T_sg / (tau_s E0)``, ``relaxation = Gamma tau_D E0``, ``v_min = V_min/E0``;
- electron-electron: ``kappa = kappa_phys tau_D E0^(2 - a)``.

The diffusion term is second order in dx; its implicit solves are tridiagonal along x, batched over
energies.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from functools import cached_property

import numba
import numpy as np

from ..kinetics._numba import jit
from ..kinetics.collisions import Collisions
from ..kinetics.grids import EnergyGrid, WireGrid

__all__ = ["WireProblem", "fermi", "solve_tridiagonal"]

log = logging.getLogger(__name__)

EDGE_TOLERANCE = 1e-10


def fermi(energies, mu: float, temperature: float) -> np.ndarray:
    """Fermi function; at ``temperature = 0`` a step with 1/2 exactly at ``mu``."""
    e = np.asarray(energies, dtype=float) - mu
    if temperature == 0:
        return np.where(e < 0, 1.0, np.where(e > 0, 0.0, 0.5))
    return 0.5 * (1.0 - np.tanh(e / (2.0 * temperature)))


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class WireProblem:
    """The dimensionless wire: grids, reservoirs and collision mechanisms.

    Parameters
    ----------
    energy : EnergyGrid
        Energies in E0; the reservoir potentials must sit on grid points.
    wire : WireGrid
        Nodes in units of L; the first and last are the reservoirs.
    mu_left, mu_right : float
        Electrochemical potentials of the reservoirs (E0); the bias is ``eU = mu_left - mu_right``.
    temperature_left, temperature_right : float
        Reservoir temperatures (E0), >= 0.
    mechanisms : tuple
        Collision mechanisms (``hotelectron.kinetics.mechanisms``), strengths in units of 1/tau_D.
    path : {"fft", "direct"}
    """

    energy: EnergyGrid
    wire: WireGrid
    mu_left: float
    mu_right: float
    temperature_left: float
    temperature_right: float
    mechanisms: tuple = ()
    path: str = "fft"
    collisions: Collisions = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        for name in ("temperature_left", "temperature_right"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                msg = f"{name} must be finite and >= 0 (in units of E0); got {value!r}"
                raise ValueError(msg)
        self.energy.index_of(self.mu_left, "mu_left")
        self.energy.index_of(self.mu_right, "mu_right")
        object.__setattr__(self, "collisions", Collisions(self.energy, tuple(self.mechanisms), self.path))
        worst = max(self._edge_occupation(self.mu_left, self.temperature_left),
                    self._edge_occupation(self.mu_right, self.temperature_right))
        if worst > EDGE_TOLERANCE:
            msg = (
                f"the energy grid (half-width {self.energy.half_width:g} E0) is too narrow for the "
                f"reservoirs: their occupation at the grid edges reaches {worst:.2e} (allowed "
                f"{EDGE_TOLERANCE:g}); widen the grid to several eU and many kT beyond the potentials"
            )
            raise ValueError(msg)

    def _edge_occupation(self, mu, temperature):
        e = self.energy.values
        return max(fermi(e[-1], mu, temperature), 1.0 - fermi(e[0], mu, temperature))

    # -- reservoirs and states -------------------------------------------------------------------
    @property
    def bias(self) -> float:
        return self.mu_left - self.mu_right

    @cached_property
    def f_left(self) -> np.ndarray:
        """The left reservoir's Fermi function on the energy grid (read-only)."""
        return _read_only(fermi(self.energy.values, self.mu_left, self.temperature_left))

    @cached_property
    def f_right(self) -> np.ndarray:
        """The right reservoir's Fermi function on the energy grid (read-only)."""
        return _read_only(fermi(self.energy.values, self.mu_right, self.temperature_right))

    @property
    def pairs(self):
        return self.collisions.pairs

    def collisionless(self) -> np.ndarray:
        """The stationary f without collisions: ``(1 - x) f_left + x f_right`` on all nodes."""
        x = self.wire.values[:, None]
        return (1 - x) * self.f_left + x * self.f_right

    def with_reservoirs(self, interior) -> np.ndarray:
        """Full ``f[x, eps]`` from its interior nodes."""
        return np.concatenate([self.f_left[None], interior, self.f_right[None]])

    def equilibrium(self) -> np.ndarray:
        """Both reservoirs' Fermi function everywhere (needs equal potentials and temperatures)."""
        return np.repeat(self.f_left[None], self.wire.n, axis=0)

    # -- operators -------------------------------------------------------------------------------
    def laplacian(self, f) -> np.ndarray:
        """``d^2 f/dx^2`` on the interior nodes of the full ``f[x, eps]`` (second order)."""
        return (f[:-2] - 2 * f[1:-1] + f[2:]) / self.wire.step**2

    def laplacian_interior(self, interior) -> np.ndarray:
        """``d^2 f/dx^2`` on the interior nodes from the interior values, the reservoirs at the ends."""
        h2 = self.wire.step**2
        out = -2.0 * interior
        out[1:] += interior[:-1]
        out[:-1] += interior[1:]
        out[0] += self.f_left
        out[-1] += self.f_right
        out /= h2
        return out

    def laplacian_homogeneous(self, interior) -> np.ndarray:
        """``d^2/dx^2`` on the interior nodes with zero values at the ends (the operator's linear part)."""
        h2 = self.wire.step**2
        out = -2.0 * interior
        out[1:] += interior[:-1]
        out[:-1] += interior[1:]
        out /= h2
        return out

    def diffusion_solve(self, rhs, shift) -> np.ndarray:
        """Solve ``(shift - L) z = rhs`` on the interior nodes with homogeneous boundary values.

        ``L`` is the interior Laplacian; ``shift[x, eps] >= 0`` is a local rate (or ``1/dt``).
        Batched over energies.
        """
        h2 = self.wire.step**2
        diag = np.ascontiguousarray(shift + 2.0 / h2)
        out = np.empty_like(rhs)
        solve_tridiagonal(-1.0 / h2, diag, np.ascontiguousarray(rhs), out)
        return out


@jit(parallel=True)
def solve_tridiagonal(off, diag, rhs, out):
    """Solve ``off z[j-1] + diag[j] z[j] + off z[j+1] = rhs[j]`` along axis 0 for every column.

    ``diag`` and ``rhs`` have shape (n_x, n_columns); the constant ``off`` couples neighbours. Thomas
    algorithm, stable because the matrix is diagonally dominant.
    """
    n, m = rhs.shape
    for col in numba.prange(m):
        c = np.empty(n)
        d = np.empty(n)
        c[0] = off / diag[0, col]
        d[0] = rhs[0, col] / diag[0, col]
        for j in range(1, n):
            denom = diag[j, col] - off * c[j - 1]
            c[j] = off / denom
            d[j] = (rhs[j, col] - off * d[j - 1]) / denom
        out[n - 1, col] = d[n - 1]
        for j in range(n - 2, -1, -1):
            out[j, col] = d[j] - c[j] * out[j + 1, col]
