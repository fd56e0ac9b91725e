"""Scattering of electrons by free impurity spins in a Zeeman field (SPEC section 9).

An impurity without a partner above the coupling cutoff ``V_min`` (probability
``1 - p``, ``p = (8/3) T_sg / V_min`` the paired fraction of SPEC section 2) is a single spin S with
the levels ``Delta_Z M``, ``M = -S..S`` (:func:`hotelectron.kinetics.levels.free_spin_levels`), and
populations ``P[x, M]`` (``sum_M P = 1``). Its kinetics is that of VGL (62-63, 69) with
``c_MM' = |<M'|S|M>|^2 / S(S+1)``, through :mod:`.level_scattering`:

    I_spins(eps) = (1 - p)(1/tau_s) sum_{M != M'} c_MM' { f(eps)[1 - f(eps + D)] P_M - [1 - f(eps)] f(eps + D) P_M' },
    dP_M/dt = - (Gamma/2) sum_M' |<M'|S|M>|^2 [ P_M G(D_MM') - P_M' G(D_M'M) ],      D_MM' = Delta_Z (M - M').

The two constants are those of the pairs (SPEC section 3):

- the electrons: ``1/tau_s = 2 pi nu n_s J_ex^2 S(S+1)`` is their spin-flip rate by all ``n_s``
  impurities, so the free ones, a fraction ``1 - p``, scatter them at ``(1 - p)/tau_s``
  (dimensionless ``rate = t0 (1 - p) / tau_s``). With the pairs' ``(4/3) T_sg int dV/V^2`` over
  ``|V| > V_min``, which counts the fraction ``p``, the total is ``1/tau_s``.
- the spins: every scattering event flips one electron and one impurity, so per unit volume
  ``n_free Gamma_1 w G = 2 nu ((1 - p)/tau_s) (w / S(S+1)) G`` (2 nu: the electron density of
  states with both spin directions), i.e. the one-spin constant is
  ``Gamma_1 = 2 nu / (tau_s n_s S(S+1)) = 4 pi (nu J_ex)^2``, half the pairs'
  ``Gamma = 4 nu/(tau_s n_s S(S+1))``: both spins of a pair drive its transitions, with the one-spin
  weights ``A_JJ'`` (VGL 13b) in VGL (63). Taken over literally with ``Gamma``, the free spins would
  take twice the energy the electrons give (the physical energy test in
  ``tests/kinetics/test_free_spins.py`` fails then).

The energy of the free spins per unit volume, ``W_spins = n_free sum_M Delta_Z M P_M`` with
``n_free = (1 - p) n_s = (1 - p) 4 nu / (Gamma tau_s S(S+1))``, is in units of ``2 nu E0^2``

    w_spins = 2 rate / (relaxation S(S+1)) sum_M (Delta_Z / E0) M P_M,

the energy of :mod:`.level_scattering` with ``strength = rate`` and ``gamma = relaxation / 2``, so
``W_e + W_spins`` is conserved. At ``Delta_Z = 0`` every transfer vanishes: the free spins exchange
no energy, and their stationary state is equal populations (for any electrons, even at T = 0 where
no transition joins the degenerate levels). Modelling assumption (SPEC section 9): the impurity
Zeeman energy is exchanged with the orbital energy of the electron; the electron's own Zeeman energy
is neglected (strong spin-orbit scattering keeps f spin independent).

Populations: ``P[x, M]``, ``M = -S..S`` ascending (``labels``), shape ``(n_x, 2S + 1)``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ... import spin
from ..grids import EnergyGrid
from ..levels import free_spin_levels
from .level_scattering import LevelScattering, check_zeeman_steps
from .pairs import check_strengths

__all__ = ["FreeSpinScattering", "free_spin_rate", "paired_fraction"]


def paired_fraction(t_sg: float, v_min: float) -> float:
    """``p = (8/3) T_sg / V_min``: the probability that an impurity has a partner with ``|V| > V_min``
    (SPEC section 2); ``t_sg`` and ``v_min`` in one energy unit."""
    if not (math.isfinite(t_sg) and t_sg > 0 and math.isfinite(v_min) and v_min > 0):
        msg = f"T_sg and V_min must be finite and > 0; got T_sg = {t_sg!r}, V_min = {v_min!r}"
        raise ValueError(msg)
    return 8.0 / 3.0 * t_sg / v_min


def free_spin_rate(pair_rate: float, t_sg: float, v_min: float) -> float:
    """The free spins' ``rate = t0 (1 - p) / tau_s`` from the pairs' ``pair_rate = t0 T_sg / (tau_s E0)``,
    ``t_sg = T_sg / E0`` and ``v_min = V_min / E0`` (module docstring)."""
    p = paired_fraction(t_sg, v_min)
    if p >= 1:
        msg = (f"the paired fraction (8/3) T_sg/V_min = {p:.4g} is not below 1: no impurity would be free "
               "(and the pair picture does not hold)")
        raise ValueError(msg)
    return (1.0 - p) * pair_rate / t_sg


@functools.cache
def _states(S: float):
    """``(labels, eps = 0, M, w)`` of a free spin: its weights ``|<M'|S|M>|^2`` are exactly symmetric."""
    species = free_spin_levels(S, 0.0)
    M = np.array([label[0] for label in species.labels])
    eps, w = np.zeros(M.size), species.weights.copy()
    for a in (eps, M, w):
        a.setflags(write=False)
    return species.labels, eps, M, w


@dataclass(frozen=True)
class FreeSpinScattering(LevelScattering):
    """Electron scattering by the free (unpaired) impurity spins, populations ``P[x, M]``.

    Parameters
    ----------
    S : float
        Impurity spin.
    rate : float
        ``t0 (1 - p) / tau_s``: the electrons' scattering rate by the free spins (see
        :func:`free_spin_rate` and :meth:`beside`).
    relaxation : float
        ``Gamma t0 E0`` of the pairs (``Gamma = 4 nu/(tau_s n_s S(S+1))``); a free spin relaxes with
        half of it (module docstring).
    zeeman_steps : int
        ``Delta_Z / d``: the impurity Zeeman energy in energy steps (any sign).
    step : float
        The energy step ``d`` (unit E0): the grid this mechanism is used on.
    """

    S: float
    rate: float
    relaxation: float
    zeeman_steps: int
    step: float
    name: ClassVar[str] = "free_spins"
    impurity: ClassVar[str] = "spins"

    def __post_init__(self):
        object.__setattr__(self, "S", spin.check_spin(self.S))
        check_strengths(self.rate, self.relaxation)
        object.__setattr__(self, "zeeman_steps", check_zeeman_steps(self.zeeman_steps))
        if not (isinstance(self.step, (int, float)) and math.isfinite(self.step) and self.step > 0):
            msg = f"step (the energy step, unit E0) must be a positive finite number; got {self.step!r}"
            raise ValueError(msg)

    @classmethod
    def beside(cls, pairs, t_sg: float, zeeman_steps: int | None = None) -> FreeSpinScattering:
        """The free spins of the impurities whose pairs are ``pairs`` (``PairScattering`` or
        ``FieldPairScattering``): same S, relaxation and energy step, the rate of
        :func:`free_spin_rate` with the pairs' cutoff ``couplings.v_min``; ``t_sg = T_sg / E0``.
        The Zeeman energy is the pairs' (0 for ``PairScattering``) unless given."""
        if zeeman_steps is None:
            zeeman_steps = getattr(pairs, "zeeman_steps", 0)
        rate = free_spin_rate(pairs.rate, t_sg, pairs.couplings.v_min)
        return cls(pairs.S, rate, pairs.relaxation, zeeman_steps, pairs.couplings.step)

    @property
    def template(self) -> tuple:
        """``(labels, eps = 0, M, |<M'|S|M>|^2)`` of the 2S + 1 levels."""
        return _states(self.S)

    @property
    def coupling_indices(self) -> np.ndarray:
        return np.zeros(1, dtype=np.int64)  # no coupling: the transfers are Delta_Z (M - M') alone

    @property
    def strengths(self) -> np.ndarray:
        return np.array([float(self.rate)])

    @property
    def gamma(self) -> float:
        """``Gamma / 2``: the one-spin relaxation constant (module docstring)."""
        return 0.5 * float(self.relaxation)

    @property
    def population_shape(self) -> tuple:
        return (self.n_levels,)

    def stationary(self, G, grid: EnergyGrid) -> np.ndarray:
        """Stationary populations for the electrons of ``G``; at zero field equal populations (every
        transfer vanishes, so these balance every link, and they are the zero-field limit of the
        field's balance when G(0) = 0 joins no level)."""
        if self.zeeman_steps == 0:
            return np.full((G.shape[0], self.n_levels), 1.0 / self.n_levels)
        return super().stationary(G, grid)

    def stationary_change(self, P, G, dG, grid: EnergyGrid) -> np.ndarray:
        if self.zeeman_steps == 0:
            return np.zeros(np.shape(P))
        return super().stationary_change(P, G, dG, grid)
