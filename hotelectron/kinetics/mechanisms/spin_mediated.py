"""Electron-electron scattering mediated by free impurity spins, at zero field and in a Zeeman field.

Sources and what was taken from them
------------------------------------
A. Kaminski and L. I. Glazman, PRL 86, 2400 (2001), arXiv:cond-mat/0003312 (abstract): magnetic
impurities mediate an energy exchange between electrons whose two-particle kernel is
``K ~ J^4/E^2`` over a wide range of transfers E, with the exchange J Kondo-renormalised at the
energies of the colliding electrons; the 1/E^2 divergence is cut off at small E by the spin
dynamics. A. Kaminski and L. I. Glazman, Physica E 18, 64 (2003), arXiv:cond-mat/0211392 (abstract):
in a Zeeman field the mechanism is suppressed for E below the Zeeman energy. The full texts (and
those of Goeppert, Galperin, Altshuler and Grabert, PRB 66, 195328 (2002), and of the experimental
analyses of Anthore et al., PRL 90, 076806 (2003), and Huard et al., PRL 95, 036802 (2005)) could
not be read, so neither their printed prefactor nor their field dependence is used here. Everything
below is derived from first principles and checked against explicit spin matrices
(``tests/kinetics/test_spin_mediated.py``); it agrees with every statement of the two abstracts.

Derivation (hbar = k_B = 1; nu is the density of states per spin and volume)
-----------------------------------------------------------------------------
One impurity spin S, exchange ``H = J S.sigma`` with Pauli matrices (the convention of
:func:`hotelectron.transport.alloy.exchange_coupling`), Zeeman levels ``Delta_Z M`` (SPEC section 9;
the electrons' own Zeeman energy is neglected). Electron 1 loses E, electron 2 absorbs E', the spin
goes M -> M + q with ``E = E' + q Delta_Z``. At second order in J the two orders of the two
scatterings have energy denominators of opposite sign, ``+-(E - q_1 Delta_Z)`` with q_1 the spin
change caused by electron 1, so the amplitude is a commutator of spin components:

    A = J^2 sum_{a,b} [S^b, S^a] sigma_1^a sigma_2^b / (E - q_1 Delta_Z)     (spherical components).

Only pairs of different components survive; with the moments of the spin populations p_M

    a_+ = <S_- S_+> = sum_M p_M [S(S+1) - M(M+1)],  a_- = <S_+ S_->,  a_z = <S_z^2>,

the golden rule summed over the partner (both spins) and over final spins, averaged over electron 1's
spin, gives the out-kernel (rate per unit E, per unit of the partner's electron-hole function G)

    K(E) = kappa sum_c u_c G(E - q_c Delta_Z) / (E - p_c)^2,   sum_c u_c = 1 for any populations,

over six channels c (``SPIN_CHANGE``, ``POLE``):

    c   electron 1            spin change q   pole p       weight u_c
    1   keeps its spin (S_z)        +1          0         a_+ / [4 S(S+1)]
    2   keeps its spin              -1          0         a_- / [4 S(S+1)]
    3   flips the spin up           +1        +Delta_Z    a_+ / [4 S(S+1)]
    4   flips the spin down         -1        -Delta_Z    a_- / [4 S(S+1)]
    5   flips it up, partner back    0        +Delta_Z    a_z / [2 S(S+1)]
    6   flips it down, partner back  0        -Delta_Z    a_z / [2 S(S+1)]

The pole always sits where the electron that keeps its spin transfers nothing: the spin flip of the
other one switches its S_z potential on suddenly (a shake-up of soft electron-hole pairs). The zero-
field strength is

    kappa = 8 pi (n_s / nu) (nu J)^4 S(S+1)      [= (pi/2)(n_s/nu)(nu J')^4 S(S+1) for H = J' S.s, s = sigma/2],

and with the one-loop Kondo coupling ``nu J = 1/(2 ln(E*/T_K))`` at the energy E* of the colliding
electrons, ``kappa = (pi/2) (n_s/nu) S(S+1) / ln^4(E*/T_K)``. In terms of the leading-log spin-flip
rate ``1/tau_s = 2 pi (n_s/nu)(nu J)^2 S(S+1)`` of the same package, ``kappa = 2 nu / (pi n_s S(S+1)) /
tau_s^2``.

Limits, each asserted by the tests:

- B = 0: all poles at 0, all shifts 0, K(E) = kappa G(E)/E^2: the a = 2 kernel of SPEC section 4
  (``ElectronElectron(kappa, 2)``), with the prefactor above.
- |E| >> Delta_Z: ``sum_c u_c E^2/(E - p_c)^2 -> 1``, the zero-field form for any spin polarisation
  (corrections of order Delta_Z/E, or (Delta_Z/E)^2 for unpolarised spins). Where the partner's
  ``G(E) ~ E`` (|E| >> T) the first-order terms of the shifted pole and of the shifted G(E - q Delta_Z)
  cancel, so the out-kernel approaches kappa G(E)/E^2 as (Delta_Z/E)^2 for any polarisation.
- Spins polarised in their ground state (T_s << Delta_Z) and electrons with excitation energies below
  Delta_Z: a_- = 0, the spin-flip channels need the electrons to supply Delta_Z, and the remaining
  channels 5-6 give ``K -> kappa (S/(S+1)) (E/Delta_Z)^2 G(E)/E^2`` for |E| << Delta_Z: suppressed
  below the Zeeman energy. Two electrons can still pool their energy to flip a spin (channels 1 and
  3) when their excitations add up to Delta_Z.
- Boltzmann populations ``p_M ~ exp(-Delta_Z M / T)`` and a Fermi f at the same T: detailed balance
  channel by channel (1 with 2, 3 with 4, 5 with 6), an exact fixed point.

Poles and double counting. Channels 3-6 have poles at E = +-Delta_Z, where the intermediate spin state
is real: a spin flip by one electron followed by one by the other, two first-order processes that
the free-spin mechanism (SPEC section 9) already counts. Broadening the intermediate state by its
decay rate gamma and subtracting that sequential part (pi/gamma times the residue) leaves, as
gamma -> 0, Hadamard's finite part of ``int dE g(E)/(E - p)^2``; that is what this kernel evaluates.
Discretised with the integral of 1/(E - p)^2 over each cell of width d around the grid point
``m d`` (the pole on a grid point, Delta_Z a whole number of steps), ``r = 1/(d (j^2 - 1/4))`` at
``j = m - p/d``; the same formula at j = 0 is the finite part of the pole's own cell, -4/d. The rule
is second order for integrands smooth at the pole (it integrates g0, g1 (E - p) and g2 (E - p)^2 exactly:
``sum_j (j^2 - 1/4)^-1 = 0`` and the outer cells' excess in the g2 term cancels the central cell's
share). The pole cells carry negative weights: the finite part is a distribution, not a rate.

Units and conversion (what a scenario loader needs)
---------------------------------------------------
Dimensionless strength ``kappa t0`` (a = 2: no power of E0), from ``kappa_per_s`` with the density of
FREE spins n_s (the unpaired impurities), S, nu per spin and ``kondo_exchange(E*, T_K)``; the Zeeman
energy ``g mu_B B`` in whole energy steps (``zeeman_steps``); the spins' temperature in E0 (the bath
temperature: the spins are taken as a bath at that temperature, see below).

Limits of validity and what is not modelled
-------------------------------------------
- Leading logarithm: ``ln(E*/T_K) >> 1``; next-order terms (for the spin-flip rate the
  Nagaoka-Hamann unitarity term pi^2 S(S+1)/ln^2) are not included. For Ag:Mn (S = 5/2, T_K ~ 40 mK)
  at eU ~ 0.1 meV, ln ~ 3.4 and pi^2 S(S+1) = 86 >> ln^2 = 11: there kappa is an order-of-magnitude
  estimate only (a unitarity-limited coupling would lower it by a factor of order 50).
- E* is one energy for the whole kernel (the loader takes max(eU, k_B T)); the weak dependence of J
  on the energies of the colliding electrons, and the field's effect on the renormalisation, are
  neglected.
- Transfers below the spin relaxation rate hbar/tau_s (where KG's cut-off acts) are not resolved:
  the grid's centre cell is empty, so the energy step should be at least about hbar/tau_s.
- The spin populations enter through (a_+, a_-, a_z) only and are fixed (a bath at the spins'
  temperature). Spin-flip channels then exchange energy with that bath (``conserves_energy`` is False in
  a field and ``Collisions.bath_heat`` reports the heat given to the spins); coupling to the evolving
  populations of the free-spin species is not done here (``spin_flip_rates``-type diagnostics of the
  tests count the events it would need).
- Free spins only: impurities bound in RKKY pairs (SPEC section 2) are not included.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from numbers import Real
from typing import ClassVar

import numpy as np

from ... import spin
from ...units import HBAR_J_S
from ..grids import EnergyGrid
from .base import Mechanism

__all__ = [
    "POLE",
    "SPIN_CHANGE",
    "SpinMediatedScattering",
    "boltzmann_populations",
    "channel_weights",
    "kappa_per_s",
    "kondo_exchange",
    "spin_moments",
]

#: Spin change q of each channel (the electrons lose ``q Delta_Z`` to the spin).
SPIN_CHANGE = (1, -1, 1, -1, 0, 0)
#: Pole of each channel in units of Delta_Z: the kernel goes as ``1/(E - POLE Delta_Z)^2``.
POLE = (0, 0, 1, -1, 1, -1)

#: The leading-logarithm coupling needs ``ln(E*/T_K) >> 1``; below this it is refused (as in
#: ``hotelectron.transport``).
MIN_LOG = 1.0


# -- physical inputs --------------------------------------------------------------------------------
def kondo_exchange(log_energy_K: float, kondo_temperature_K: float) -> float:
    """``nu J = 1/(2 ln(E*/T_K))``: the one-loop Kondo coupling for ``H = J S.sigma`` (nu per spin) at
    the energy E* of the colliding electrons (both in kelvin); refuses ``ln(E*/T_K) < 1``."""
    for name, value in (("log_energy_K", log_energy_K), ("kondo_temperature_K", kondo_temperature_K)):
        if not (isinstance(value, Real) and math.isfinite(value) and value > 0):
            msg = f"{name} must be a finite energy > 0 (in kelvin); got {value!r}"
            raise ValueError(msg)
    log = math.log(log_energy_K / kondo_temperature_K)
    if log < MIN_LOG:
        msg = (f"ln(E*/T_K) = {log:.3g} < {MIN_LOG:g} (E* = {log_energy_K:.4g} K, T_K = {kondo_temperature_K:.4g} K): "
               "the leading-logarithm coupling is meaningless there; give a larger E* or a lower T_K")
        raise ValueError(msg)
    return 1.0 / (2.0 * log)


def kappa_per_s(n_s_m3: float, S: float, nu_per_spin_J_m3: float, exchange: float) -> float:
    """Zero-field strength ``kappa = 8 pi n_s (nu J)^4 S(S+1) / (hbar nu)`` in 1/s (``K(E) = kappa/E^2``).

    Parameters
    ----------
    n_s_m3 : density of free impurity spins (m^-3).
    S : impurity spin.
    nu_per_spin_J_m3 : density of states per spin (J^-1 m^-3), e.g. ``material("Ag").dos_per_spin_J_m3``.
    exchange : dimensionless ``nu J`` for ``H = J S.sigma``, e.g. ``kondo_exchange(E*, T_K)``.

    The dimensionless strength of ``SpinMediatedScattering`` is ``kappa_per_s * t0`` (t0 in s).
    """
    S = spin.check_spin(S)
    for name, value in (("n_s_m3", n_s_m3), ("nu_per_spin_J_m3", nu_per_spin_J_m3), ("exchange", exchange)):
        if not (isinstance(value, Real) and math.isfinite(value) and value > 0):
            msg = f"{name} must be a finite number > 0; got {value!r}"
            raise ValueError(msg)
    return 8.0 * math.pi * n_s_m3 * exchange**4 * S * (S + 1) / (HBAR_J_S * nu_per_spin_J_m3)


# -- spin populations -------------------------------------------------------------------------------
def _projections(S: float) -> np.ndarray:
    return np.arange(-S, S + 0.5, 1.0)


def boltzmann_populations(S: float, zeeman: float, temperature: float) -> np.ndarray:
    """``p_M ~ exp(-Delta_Z M / T)`` for M = -S..S (ascending); T = 0 is the ground state, and at zero
    field the populations are equal whatever T."""
    S = spin.check_spin(S)
    M = _projections(S)
    if zeeman == 0:
        return np.full(M.size, 1.0 / M.size)
    if temperature == 0:
        p = np.zeros(M.size)
        p[0 if zeeman > 0 else -1] = 1.0
        return p
    x = -zeeman * M / temperature
    w = np.exp(x - x.max())
    return w / w.sum()


def spin_moments(S: float, populations) -> np.ndarray:
    """``(<S_- S_+>, <S_+ S_->, <S_z^2>)`` for populations ``p_M`` (M = -S..S ascending, summing to 1;
    any leading axes)."""
    S = spin.check_spin(S)
    M = _projections(S)
    p = np.asarray(populations, dtype=float)
    if p.shape[-1] != M.size or not np.all(np.isfinite(p)) or np.any(p < 0):
        msg = f"spin populations must be {M.size} finite numbers >= 0 (M = -S..S); got shape {p.shape}"
        raise ValueError(msg)
    if not np.allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-12):
        msg = f"spin populations must sum to 1; they sum to {p.sum(axis=-1)!r}"
        raise ValueError(msg)
    s = S * (S + 1)
    return np.stack([p @ (s - M * (M + 1)), p @ (s - M * (M - 1)), p @ (M * M)], axis=-1)


def channel_weights(S: float, populations) -> np.ndarray:
    """The weights ``u_c`` of the six channels (``SPIN_CHANGE``, ``POLE``); they sum to 1."""
    up, down, zz = np.moveaxis(spin_moments(S, populations), -1, 0)
    s = spin.check_spin(S) * (S + 1)
    return np.stack([up / (4 * s), down / (4 * s), up / (4 * s), down / (4 * s), zz / (2 * s), zz / (2 * s)], axis=-1)


# -- the kernel on the grid -------------------------------------------------------------------------
def _pole_weights(j, step):
    """``int dE/(E - p)^2`` over the cell of width ``step`` j steps from the pole; at j = 0 its finite part."""
    j = np.asarray(j, dtype=float)
    return 1.0 / (step * (j * j - 0.25))


@functools.lru_cache(maxsize=16)
def _coefficients(n: int, step: float, z: int, strengths: tuple, centre: bool):
    """Per spin change q: ``(row, lumped)``. ``row[m + n - 1]`` (m = -(n-1)..n-1) multiplies the partner's
    ``G((m - q z) d)``; ``lumped`` = ``(coefficients, partner indices)`` of the gains of n steps or more,
    which the engine needs only as a sum (cell m = -n). ``strengths[c] = kappa u_c``. Read-only."""
    m = np.arange(-(n - 1), n)
    groups = {}
    for q in sorted(set(SPIN_CHANGE)):
        channels = [c for c in range(6) if SPIN_CHANGE[c] == q and strengths[c] != 0]
        row = sum((strengths[c] * _pole_weights(m - POLE[c] * z, step) for c in channels), np.zeros(m.size))
        if not centre:
            row[n - 1] = 0.0  # no transfer, no change (and no double counting with the in-flow)
        # gains of |m| >= n steps reach empty states above the grid; the partner can supply them only
        # with the spin's help (q z < 0), from partner transfers k = m - q z > -n
        beyond = np.arange(-(n - 1) + q * z, -n + 1)
        lumped = sum((strengths[c] * _pole_weights(beyond - POLE[c] * z, step) for c in channels), np.zeros(beyond.size))
        for a in (row, lumped):
            a.setflags(write=False)
        groups[q] = (row, lumped, beyond - q * z)
    return groups


def _partner(G, k, step, constant: bool) -> np.ndarray:
    """``G[x, k]`` at partner transfers k (steps), with its closed form beyond the grid width (``k d`` for
    k >= n, 0 for k <= -n) when ``constant``, else 0 there (a change of G)."""
    n = (G.shape[1] + 1) // 2
    inside = np.abs(k) <= n - 1
    out = np.zeros((G.shape[0], k.size))
    out[:, inside] = G[:, n - 1 + k[inside]]
    if constant:
        out[:, k >= n] = k[k >= n] * step
    return out


@dataclass(frozen=True)
class SpinMediatedScattering(Mechanism):
    """Electron-electron scattering mediated by free spins S (see the module docstring).

    Parameters
    ----------
    kappa : float
        Zero-field strength ``kappa t0`` (dimensionless; K(E) = kappa/E^2 at B = 0), >= 0.
    S : float
        Impurity spin.
    zeeman_steps : int
        ``Delta_Z / d``: the impurity Zeeman energy in energy steps (any sign).
    spin_temperature : float or None
        Temperature of the spins' Boltzmann populations in E0 (>= 0; 0 is the ground state). Required
        in a field; not used at zero field.
    """

    kappa: float
    S: float
    zeeman_steps: int = 0
    spin_temperature: float | None = None
    name: ClassVar[str] = "spin_mediated"

    def __post_init__(self):
        if not (isinstance(self.kappa, Real) and math.isfinite(self.kappa) and self.kappa >= 0):
            msg = f"spin-mediated kappa must be finite and >= 0; got {self.kappa!r}"
            raise ValueError(msg)
        object.__setattr__(self, "S", spin.check_spin(self.S))
        z = self.zeeman_steps
        if isinstance(z, bool) or not isinstance(z, (int, np.integer)):
            msg = (f"zeeman_steps (the Zeeman energy Delta_Z in energy steps) must be an integer, so that "
                   f"every transfer lands on the energy grid; got {z!r}")
            raise ValueError(msg)
        object.__setattr__(self, "zeeman_steps", int(z))
        T = self.spin_temperature
        if T is None:
            if self.zeeman_steps != 0:
                msg = "spin_temperature (the spins' temperature in E0) is required in a field (zeeman_steps != 0)"
                raise ValueError(msg)
        elif not (isinstance(T, Real) and math.isfinite(T) and T >= 0):
            msg = f"spin_temperature must be a finite temperature >= 0 (in E0); got {T!r}"
            raise ValueError(msg)

    @property
    def conserves_energy(self) -> bool:
        """In a field the spin-flip channels exchange energy with the spins, held as a bath."""
        return self.zeeman_steps == 0

    def populations(self, grid: EnergyGrid) -> np.ndarray:
        """The spins' populations p_M (M = -S..S) for the Zeeman energy on ``grid``."""
        return boltzmann_populations(self.S, self.zeeman_steps * grid.step, self.spin_temperature or 0.0)

    def weights(self, grid: EnergyGrid) -> np.ndarray:
        """``u_c`` of the six channels (``channel_weights`` of the populations)."""
        return channel_weights(self.S, self.populations(grid))

    def _add(self, grid, G, K, channels, constant: bool, centre: bool) -> None:
        n = grid.n
        u = self.weights(grid)
        strengths = tuple(float(self.kappa * u[c]) if c in channels else 0.0 for c in range(6))
        groups = _coefficients(n, float(grid.step), self.zeeman_steps, strengths, centre)
        m = np.arange(-(n - 1), n)
        for q, (row, lumped, partners) in groups.items():
            K[:, 1:-1] += row * _partner(G, m - q * self.zeeman_steps, grid.step, constant)
            if lumped.size:
                K[:, 0] += _partner(G, partners, grid.step, constant) @ lumped

    def add_kernel(self, grid: EnergyGrid, P, G, K) -> None:
        """Add ``kappa sum_c u_c r_c(m) G(m - q_c z)`` into the compact kernel ``K`` (width 2n + 1)."""
        self._add(grid, G, K, range(6), True, False)

    def add_kernel_change(self, grid: EnergyGrid, P, G, dP, dG, K) -> None:
        """Add the kernel's change for a change ``dG`` (the kernel is linear in G; beyond the grid width
        G does not depend on the electrons)."""
        self._add(grid, dG, K, range(6), False, False)

    def channel_kernel(self, grid: EnergyGrid, G, channels) -> np.ndarray:
        """The compact out-kernel of the given channels (indices 0..5) alone, centre cell included (a
        zero transfer of the electron whose spin is kept still flips the partner's spin): for counting
        spin flips and energy flows."""
        K = np.zeros((G.shape[0], 2 * grid.n + 1))
        self._add(grid, G, K, tuple(channels), True, True)
        return K
