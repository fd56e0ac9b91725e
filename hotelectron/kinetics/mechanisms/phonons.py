"""Electron-phonon scattering: emission and absorption of phonons of a bath at T_ph (SPEC section 9).

    I_eph(eps) = int_0^inf dw kappa_ph w^p { f(eps)[1 - f(eps - w)](1 + n) + f(eps)[1 - f(eps + w)] n
                 - [1 - f(eps)] f(eps + w)(1 + n) - [1 - f(eps)] f(eps - w) n },   n = n_B(w, T_ph),

p = 2 for 3D phonons. In the engine's form (``hotelectron.kinetics.convolution``) this is one out-kernel
over signed transfers E = m d (the electron loses E): ``K(E) = kappa_ph |E|^p (1 + n_B(E))`` with the
Bose function continued to E < 0, where ``1 + n_B(E) = -n_B(|E|)`` (absorption). The kernel does not
depend on the electrons, so it adds nothing to the Jacobian products beyond the fixed-kernel part that
the engine takes for every mechanism. Unlike the other mechanisms it does not conserve the electrons'
energy: what they lose goes to the phonon bath, which is held at T_ph.

Power per unit volume for a Fermi f at T_e (k_B = 1; ``2 nu`` counts both spins):

    P/Vol = 2 nu kappa_ph Gamma(p + 3) zeta(p + 3) (T_e^(p+3) - T_ph^(p+3)),

since ``int dE E^(p+2) (n_B(E, T_e) - n_B(E, T_ph)) = Gamma(p+3) zeta(p+3) (T_e^(p+3) - T_ph^(p+3))``.
The experimentalists' constant Sigma of ``P/Vol = Sigma (T_e^5 - T_ph^5)`` (p = 2, W K^-5 m^-3) is
therefore ``Sigma = 2 nu kappa_ph Gamma(p+3) zeta(p+3) k_B^(p+3)``, i.e. 24 zeta(5) (2 nu) kappa_ph k_B^5
(``kappa_from_sigma``). Dimensionless strength (energy unit E0, time unit t0):
``kappa_dimensionless = kappa_ph t0 E0^(p+1)`` with kappa_ph in 1/(time energy^(p+1)).

Quadrature: the kernel is sampled at the transfers, ``K[m] = d K(m d)``; for p >= 1 it is continuous
through E = 0 (``K -> kappa_ph T_ph |E|^(p-1)``), so the rule is that of the engine for smooth kernels.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import special

from ...units import BOLTZMANN_J_PER_K
from ..grids import EnergyGrid
from .base import Mechanism

__all__ = ["ElectronPhonon", "kappa_from_sigma", "power_per_volume", "sigma_from_kappa"]

#: The kernel's exponent p: at least 1 (the point rule needs a kernel continuous at E = 0), at most 6.
MIN_EXPONENT = 1.0
MAX_EXPONENT = 6.0


def power_constant(exponent: float) -> float:
    """``Gamma(p + 3) zeta(p + 3)``: ``P/Vol = 2 nu kappa_ph Gamma zeta (T_e^(p+3) - T_ph^(p+3))``."""
    return float(special.gamma(exponent + 3) * special.zeta(exponent + 3))


def power_per_volume(kappa: float, exponent: float, temperature_electrons: float, temperature_phonons: float) -> float:
    """Closed form of the power from Fermi electrons at T_e to the phonons, per unit volume, in units
    of ``2 nu`` (energies and temperatures in the unit of kappa, k_B = 1)."""
    p = exponent
    return kappa * power_constant(p) * (temperature_electrons ** (p + 3) - temperature_phonons ** (p + 3))


def kappa_from_sigma(sigma_W_m3_Kp: float, nu_per_spin_J_m3: float, exponent: float = 2.0) -> float:
    """kappa_ph in 1/(s J^(p+1)) from Sigma in W K^-(p+3) m^-3 and the density of states per spin."""
    return sigma_W_m3_Kp / (2.0 * nu_per_spin_J_m3 * power_constant(exponent) * BOLTZMANN_J_PER_K ** (exponent + 3))


def sigma_from_kappa(kappa_per_s_Jp: float, nu_per_spin_J_m3: float, exponent: float = 2.0) -> float:
    """Sigma in W K^-(p+3) m^-3 from kappa_ph in 1/(s J^(p+1)) (the inverse of ``kappa_from_sigma``)."""
    return kappa_per_s_Jp * 2.0 * nu_per_spin_J_m3 * power_constant(exponent) * BOLTZMANN_J_PER_K ** (exponent + 3)


def _emission_factor(E, T):
    """``|E|^0 (1 + n_B(E, T))`` for signed E (E > 0 emission, E < 0 absorption: ``-n_B(|E|)``), overflow-free."""
    E = np.asarray(E, dtype=float)
    if T == 0:
        return (E > 0).astype(float)
    x = np.minimum(np.abs(E) / T, 700.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.exp(-x)
        bose = e / -np.expm1(-x)  # n_B(|E|)
    return np.where(E > 0, 1.0 + bose, np.where(E < 0, bose, 0.0))


@dataclass(frozen=True)
class ElectronPhonon(Mechanism):
    """Out-kernel ``K[m] = d kappa |m d|^p (1 + n_B(m d, T_ph))`` (signed m; absorption for m < 0).

    Parameters
    ----------
    kappa : float
        kappa_ph in units of ``1/(t0 E0^(p+1))`` (dimensionless), >= 0.
    temperature : float
        Phonon temperature T_ph in E0, >= 0.
    exponent : float
        p in [1, 6]; 2 for 3D phonons (the T^5 law).
    """

    kappa: float
    temperature: float
    exponent: float = 2.0
    name: ClassVar[str] = "phonons"
    conserves_energy: ClassVar[bool] = False

    def __post_init__(self):
        if not (math.isfinite(self.kappa) and self.kappa >= 0):
            msg = f"electron-phonon kappa must be finite and >= 0; got {self.kappa!r}"
            raise ValueError(msg)
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            msg = f"phonon temperature must be finite and >= 0 (in E0); got {self.temperature!r}"
            raise ValueError(msg)
        if not (math.isfinite(self.exponent) and MIN_EXPONENT <= self.exponent <= MAX_EXPONENT):
            msg = f"electron-phonon exponent p must lie in [{MIN_EXPONENT:g}, {MAX_EXPONENT:g}]; got {self.exponent!r}"
            raise ValueError(msg)

    def compact_kernel(self, grid: EnergyGrid) -> np.ndarray:
        """The kernel row ``K[n + m]``, m = -n..n (read-only); the same at every position."""
        return _compact_kernel(grid.n, grid.step, float(self.kappa), float(self.temperature), float(self.exponent))

    def add_kernel(self, grid: EnergyGrid, P, G, K) -> None:
        """Add the kernel into the compact kernel ``K`` (width 2n + 1) at every position."""
        K += self.compact_kernel(grid)

    def add_kernel_change(self, grid: EnergyGrid, P, G, dP, dG, K) -> None:
        """The kernel does not depend on the electrons or the pairs: no change."""


@functools.lru_cache(maxsize=16)
def _compact_kernel(n: int, step: float, kappa: float, T: float, p: float) -> np.ndarray:
    m = np.arange(-n, n + 1)
    E = m * step
    K = kappa * step * np.abs(E) ** p * _emission_factor(E, T)
    # Cell m = -n lumps every absorption of |m| >= n (from filled states below the grid into it, or from
    # it to empty states above): the engine needs only their sum, exponentially small in n d / T_ph.
    # Cell m = +n stays 0: an emission of n steps or more always ends below the grid, where every
    # state is filled, or starts above it, where none is, so it changes nothing on the grid.
    K[-1] = 0.0
    K[0] = 0.0
    if T > 0:
        extra = int(math.ceil((60.0 + 2.0 * p) * T / step)) + 1
        beyond = np.arange(n, n + extra) * step
        K[0] = kappa * step * float(np.sum(beyond**p * _emission_factor(-beyond, T)))
    K.setflags(write=False)
    return K
