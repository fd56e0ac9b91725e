"""Electron-electron scattering mediated by free impurity spins: its prefactor, and its form in a field.

What is used where
------------------
At zero field the kernel is the a = 2 kernel of SPEC section 4, ``K(E) = kappa/E^2``, so a wire uses
``ElectronElectron(kappa * t0, 2.0)`` with ``kappa = kappa_per_s(n_s, S, nu, exchange)`` (t0 in s; for
a = 2 no power of E0 enters). Scenarios take the exchange of their own spin-flip rate
(``exchange_of_spin_flip_rate``): with the Nagaoka-Hamann 1/tau_s that is the one-loop coupling
``kondo_exchange`` bounded by unitarity, ``(nu J)^2 = 1/(4 (ln^2(E*/T_K) + pi^2 S(S+1)))``, and
``kappa = (pi/2)(n_s/nu) S(S+1)/(ln^2 + pi^2 S(S+1))^2``: the leading logarithm where it is large, and the
kernel and the free spins' first-order flips rest on one coupling. In a Zeeman field the kernel derived below
(``field_kernel``) is NOT a mechanism: see "In a field" at the end.

Sources and what was taken from them
------------------------------------
A. Kaminski and L. I. Glazman, PRL 86, 2400 (2001), arXiv:cond-mat/0003312 (abstract): magnetic
impurities mediate an energy exchange between electrons whose two-particle kernel is
``K ~ J^4/E^2`` over a wide range of transfers E, with the exchange J Kondo-renormalised at the
energies of the colliding electrons; the 1/E^2 divergence is cut off at small E by the spin
dynamics. A. Kaminski and L. I. Glazman, Physica E 18, 64 (2003), arXiv:cond-mat/0211392 (abstract):
in a Zeeman field the mechanism is suppressed for E below the Zeeman energy. The full texts (and
those of Goeppert, Galperin, Altshuler and Grabert, PRB 66, 195328 (2002), of Kroha and Zawadowski,
PRL 88, 176803 (2002), and of the analyses of Anthore et al., PRL 90, 076806 (2003), and Huard et al.,
PRL 95, 036802 (2005)) could not be read, so no printed prefactor or field dependence is used here.
Everything below is derived from first principles and checked against second-order amplitudes built
from explicit spin matrices (``tests/kinetics/test_spin_mediated.py``); it agrees with every
statement of the two abstracts.

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

the golden rule, summed over the partner (both spins) and the final spins and averaged over electron
1's spin and n_s impurities per volume, gives the out-kernel (rate per unit E per unit of the
partner's electron-hole function G, as in SPEC section 4)

    K(E) = kappa sum_c u_c G(E - q_c Delta_Z) / (E - p_c)^2,   sum_c u_c = 1 for any populations,

over six channels c (``SPIN_CHANGE``, ``POLE``):

    c   electron 1            spin change q   pole p       weight u_c
    1   keeps its spin (S_z)        +1          0         a_+ / [4 S(S+1)]
    2   keeps its spin              -1          0         a_- / [4 S(S+1)]
    3   flips the spin up           +1        +Delta_Z    a_+ / [4 S(S+1)]
    4   flips the spin down         -1        -Delta_Z    a_- / [4 S(S+1)]
    5   flips it up, partner back    0        +Delta_Z    a_z / [2 S(S+1)]
    6   flips it down, partner back  0        -Delta_Z    a_z / [2 S(S+1)]

The pole always sits where the electron that keeps its spin transfers nothing. The zero-field strength
is

    kappa = 8 pi (n_s / nu) (nu J)^4 S(S+1)      [= (pi/2)(n_s/nu)(nu J')^4 S(S+1) for H = J' S.s, s = sigma/2],

and with the one-loop Kondo coupling ``nu J = 1/(2 ln(E*/T_K))`` at the energy E* of the colliding
electrons ``kappa = (pi/2)(n_s/nu) S(S+1)/ln^4(E*/T_K)``; through the leading-log spin-flip rate
``1/tau_s = 2 pi (n_s/nu)(nu J)^2 S(S+1)``, ``kappa = 4 (nu J)^2 / tau_s = 2 nu / (pi n_s S(S+1) tau_s^2)``.

Limits (each asserted by the tests):

- B = 0: all poles at 0, all shifts 0, ``K(E) = kappa G(E)/E^2``: the a = 2 kernel.
- |E| >> Delta_Z: ``sum_c u_c E^2/(E - p_c)^2 -> 1`` for any polarisation (deviation of order
  Delta_Z/E, (Delta_Z/E)^2 for equal populations); where ``G(E) ~ E`` (|E| >> T) the shifted poles and
  the shifted G(E - q Delta_Z) cancel at first order, and K approaches kappa G(E)/E^2 as (Delta_Z/E)^2.
- Spins in their ground state, electrons colder than Delta_Z: a_- = 0, the spin-flip channels need
  the electrons to supply Delta_Z, and channels 5-6 give ``K -> kappa (S/(S+1))(E/Delta_Z)^2 G(E)/E^2``
  for |E| << Delta_Z: suppressed below the Zeeman energy.
- Boltzmann populations at T and a Fermi gas at T: ``K(-E) = exp(-E/T) K(E)`` (detailed balance),
  channel by channel (1 with 2, 3 with 4, 5 with 6).

Units and conversion (what a scenario loader needs)
---------------------------------------------------
``kappa_per_s(n_s, S, nu, kondo_exchange(E*, T_K))`` in 1/s with n_s the density of FREE spins (the
unpaired impurities), nu per spin (``material(...).dos_per_spin_J_m3``), E* = max(eU, k_B T) and T_K in
kelvin; the dimensionless strength of ``ElectronElectron(kappa_dimensionless, 2.0)`` is ``kappa t0``.

Limits of validity
------------------
- Leading logarithm: ``ln(E*/T_K) >> 1`` (refused below 1). ``kondo_exchange`` alone is the one-loop
  coupling; scenarios take ``exchange_of_spin_flip_rate`` of the Nagaoka-Hamann rate instead, which
  bounds it by unitarity (top of this docstring). For Ag:Mn (S = 5/2, T_K ~ 40 mK) at eU ~ 0.1 meV,
  ln = 3.4 and pi^2 S(S+1) = 86 >> ln^2 = 11: the one-loop coupling would give kappa ~ 1.2 /ns, the
  bounded one that scenarios use about 40 times less (at ln = 4.06, 1.4e7 against 5.6e8 1/s).
- One E* for the whole kernel: the weak dependence of J on the energies of the colliding electrons
  is neglected.
- Transfers below the impurity spin's relaxation rate (the Korringa rate, where the 1/E^2 is cut off)
  are not resolved: the a = 2 kernel's centre cell is empty.
- Free spins only: impurities bound in RKKY pairs (SPEC section 2) are not included.

In a field: why ``field_kernel`` is not a mechanism
---------------------------------------------------
Channels 3-6 have poles at E = +-Delta_Z where the intermediate spin state is real: a spin flip by
one electron and one by the other, two first-order processes of the free-spin kinetics (SPEC
section 9). Two ways of removing them were tried; neither gives a positive kinetics, for one reason.

1. Hadamard's finite part (the sequential part removed, width -> 0), a distribution with negative
   weight at the pole, implemented on the grid (cell integrals 1/(d (j^2 - 1/4)), the pole's own cell
   -4/d, second order in the step, exact detailed balance and conservation): in wire runs (17 x 161,
   eU = 1, Delta_Z = 0.5-1 eU, T = 0.02 and 0.1 eU) f left [0, 1] within 0.3-3 tau_D, alone and next
   to the first-order free spins at the physical ratio kappa t0 = 4 (nu J)^2 t0/tau_s.
2. The broadened T-matrix: each intermediate level n gets the width of its whole first-order
   scattering, the spin-conserving S_z part included,
   ``gamma_n = 4 pi (nu J)^2 sum_M' w[n, M'] G(Delta_Z (n - M'))`` (w of ``free_spin_levels``). With
   this width the resonance where electron 1 flips first, summed over what the partner does, is
   electron 1's first-order flip rate ``(1/tau_s) c_{M M'} P_M`` for any populations (in the
   prototype to 1e-12; without the S_z part it is 1.05-4.1 times that). The resonance where the partner flipped first
   adds that rate again when the populations are stationary: every first-order flip is the real
   intermediate state of two second-order terms, as the first and as the second flip
   (``test_each_first_order_flip_is_the_resonance_of_two_second_order_terms``: 2 to 5e-6 for
   Boltzmann spins and a Fermi gas, S = 1/2, 3/2, 5/2). Subtracting the sequential part therefore
   removes each flip twice, and first order plus the subtracted kernel has the line shape
   ``2 L_gamma - delta`` at each on-shell transfer: negative in the transfer's own cell once gamma
   exceeds about the step. Measured with a numpy prototype on uniform hot electrons (double step
   eU = 1 at T = 0.02 eU, Delta_Z = 0.5 eU, stationary spins, ``(nu J)^2 = 1/(4 (ln^2 + pi^2
   S(S+1)))`` at ln = 3.4): S = 1/2, net weight in the transfer's cell -0.37 (d = 0.025, gamma/d =
   0.8-2.5) and -0.65 (d = 0.0125, gamma/d = 1.7-5.0) times the first-order rate; the in-scattering
   coefficient A of ``df/dt = (1 - f) A - f B`` goes negative at the upper step (min A = -2 % of the
   largest first-order A for S = 5/2 at T = 0.02 eU, -21 % at T = 0.002 eU), so 0 <= f <= 1 is not
   preserved.

A positive form must count each flip once. A candidate, not built: |A|^2 with every width doubled
and no separate first-order free-spin kinetics. It is positive by construction; its resonances
carry half of the two above, i.e. the first-order rates at stationary populations; away from the
transfers (|E - p| >> gamma) it is ``field_kernel``, whatever the widths; the broadened kernel is
time-reversal symmetric (W_if(E) = W_fi(-E) to 7e-16 in the prototype), and the chain of its
resonant events has the first-order stationary populations (to 2e-16, S = 1/2-5/2). Open: the
doubling is a counting argument, not a derivation, so the line shape within gamma of a transfer is
not derived (its weight and its 1/E^2 tails are; one Lorentzian of width gamma_i + gamma_n per flip
would not do: the 1/(E - p)^2 coefficient of ``field_kernel`` is 0.1-1.3 times that of its tails,
S = 1/2-5/2); it replaces
``FreeSpinScattering`` in a field; its kernel depends on the electrons through the widths, per
position. Until then ``field_kernel`` is the verified formula and a field scenario has
no spin-mediated e-e scattering.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from ... import spin
from ...units import HBAR_J_S

__all__ = [
    "POLE",
    "SPIN_CHANGE",
    "boltzmann_populations",
    "channel_weights",
    "field_kernel",
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


def _positive(name, value):
    if not (isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
        msg = f"{name} must be a finite number > 0; got {value!r}"
        raise ValueError(msg)
    return float(value)


# -- the zero-field strength from physical inputs ---------------------------------------------------
def kondo_exchange(log_energy_K: float, kondo_temperature_K: float) -> float:
    """``nu J = 1/(2 ln(E*/T_K))``: the one-loop Kondo coupling for ``H = J S.sigma`` (nu per spin) at
    the energy E* of the colliding electrons (both in kelvin); refuses ``ln(E*/T_K) < 1``."""
    log = math.log(_positive("log_energy_K", log_energy_K) / _positive("kondo_temperature_K", kondo_temperature_K))
    if log < MIN_LOG:
        msg = (f"ln(E*/T_K) = {log:.3g} < {MIN_LOG:g} (E* = {log_energy_K:.4g} K, T_K = {kondo_temperature_K:.4g} K): "
               "the leading-logarithm coupling is meaningless there; give a larger E* or a lower T_K")
        raise ValueError(msg)
    return 1.0 / (2.0 * log)


def exchange_of_spin_flip_rate(rate_per_s: float, n_s_m3: float, S: float, nu_per_spin_J_m3: float) -> float:
    """``nu J`` of the spin-flip rate ``1/tau_s = 2 pi (n_s/nu)(nu J)^2 S(S+1)/hbar`` (VGL 6, the golden
    rule of ``H = J S.sigma``): the effective exchange of a given rate. With the Nagaoka-Hamann rate
    of the scenarios it is ``1/(2 sqrt(ln^2(E*/T_K) + pi^2 S(S+1)))``, the leading-log ``kondo_exchange``
    bounded by unitarity, so that the second-order kernel and the first-order spin flips of one scenario
    rest on one coupling."""
    S = spin.check_spin(S)
    rate = _positive("rate_per_s", rate_per_s)
    n_s = _positive("n_s_m3", n_s_m3)
    nu = _positive("nu_per_spin_J_m3", nu_per_spin_J_m3)
    return math.sqrt(rate * HBAR_J_S * nu / (2.0 * math.pi * n_s * S * (S + 1)))


def kappa_per_s(n_s_m3: float, S: float, nu_per_spin_J_m3: float, exchange: float) -> float:
    """Zero-field strength ``kappa = 8 pi n_s (nu J)^4 S(S+1) / (hbar nu)`` in 1/s (``K(E) = kappa/E^2``).

    Parameters
    ----------
    n_s_m3 : density of free impurity spins (m^-3).
    S : impurity spin.
    nu_per_spin_J_m3 : density of states per spin (J^-1 m^-3), e.g. ``material("Ag").dos_per_spin_J_m3``.
    exchange : dimensionless ``nu J`` for ``H = J S.sigma``, e.g. ``kondo_exchange(E*, T_K)`` (leading
        log) or ``exchange_of_spin_flip_rate(1/tau_s, ...)`` (the scenarios' choice).

    The dimensionless strength of ``ElectronElectron(kappa_dimensionless, 2.0)`` is ``kappa_per_s * t0``.
    """
    S = spin.check_spin(S)
    n_s = _positive("n_s_m3", n_s_m3)
    nu = _positive("nu_per_spin_J_m3", nu_per_spin_J_m3)
    nuJ = _positive("exchange", exchange)
    return 8.0 * math.pi * n_s * nuJ**4 * S * (S + 1) / (HBAR_J_S * nu)


# -- the kernel in a field ----------------------------------------------------------------------------
def _projections(S: float) -> np.ndarray:
    return np.arange(-S, S + 0.5, 1.0)


def boltzmann_populations(S: float, zeeman: float, temperature: float) -> np.ndarray:
    """``p_M ~ exp(-Delta_Z M / T)`` for M = -S..S (ascending); T = 0 is the ground state, and at zero
    field the populations are equal whatever T."""
    M = _projections(spin.check_spin(S))
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
    if p.shape[-1:] != (M.size,) or not np.all(np.isfinite(p)) or np.any(p < 0):
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
    s = S * (S + 1)
    return np.stack([up / (4 * s), down / (4 * s), up / (4 * s), down / (4 * s), zz / (2 * s), zz / (2 * s)], axis=-1)


def field_kernel(S: float, populations, zeeman: float, E, electron_hole) -> np.ndarray:
    """``K(E) / kappa = sum_c u_c G(E - q_c Delta_Z) / (E - p_c)^2`` at losses E away from the poles.

    ``electron_hole(x)`` is the partner's G (how readily the gas absorbs x, vectorised); ``zeeman`` and
    E in one energy unit. The bare second-order kernel: its poles at 0 and +-Delta_Z are not
    regularised (module docstring, "In a field").
    """
    u = channel_weights(S, populations)
    E = np.asarray(E, dtype=float)
    return sum(u[c] * electron_hole(E - SPIN_CHANGE[c] * zeeman) / (E - POLE[c] * zeeman) ** 2 for c in range(6))
