"""Scattering of electrons by RKKY pairs in a Zeeman field, resolved into the states |J M> (SPEC section 9).

The pairs at coupling ``V_k = k d`` are the species :func:`hotelectron.kinetics.levels.pair_levels`
``(S, V_k, Delta_Z)``: states ``s = (J, M)`` with ``E_s = V_k eps_J + Delta_Z M`` and one-spin
weights ``B(JM -> J'M')``. Both ``V_k`` and ``Delta_Z = z d`` (``zeeman_steps``) are whole numbers
of energy steps, so every transfer ``D = V_k (eps_J - eps_J') + Delta_Z (M - M')`` lands on the grid.
Electrons and populations ``P[x, k, s]`` (per state, ``sum_s P_s = 1``) follow the species
kinetics of :mod:`hotelectron.kinetics.levels` through :mod:`.level_scattering`, averaged over V as
in :mod:`hotelectron.kinetics.mechanisms.pairs` with the same dimensionless constants:

- out-kernel: ``K[x, n - m] += (4/3) rate w_k c_ab P[x, k, a]`` for every transition ``a -> b``
  handing the electrons ``m`` steps, ``c_ab = B(a -> b) / [S(S+1)]`` (strength ``(4/3) rate w_k``);
- ``dP/dt`` (VGL 63 per state) with ``gamma = relaxation = Gamma t0 E0`` (both spins of a pair
  drive its transitions: Gamma is twice the one-spin rate constant, see :mod:`.free_spins`);
- pair energy ``w_p = 4 rate / (3 relaxation S(S+1)) sum_k w_k sum_s E_s(V_k) P[k, s]``, Zeeman
  energy included, so that ``W_e + W_p`` is conserved.

Because ``sum_{M'} B(JM -> J'M') = A_{JJ'}``, at ``Delta_Z = 0`` populations ``P_JM = P_J`` give
exactly the kernel, rates and stationary state of ``PairScattering``. Modelling assumption (SPEC
section 9): the impurity Zeeman energy is exchanged with the orbital energy of the electron in a spin
flip; the electron's own Zeeman energy is neglected (strong spin-orbit scattering keeps f spin
independent).

What the wire and its storage need: ``n_levels`` is the number of states ``(2S+1)^2`` (36 for
S = 5/2), the last axis of P is the states ``(J, M)`` in the order of ``labels`` (J, then M
ascending), not the multiplets J; the scenario needs the Zeeman energy as a whole number of energy
steps (like the bias).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ... import spin
from ..grids import CouplingGrid
from ..levels import pair_levels
from .level_scattering import LevelScattering, check_zeeman_steps
from .pairs import check_strengths

__all__ = ["FieldPairScattering"]


@functools.cache
def _states(S: float):
    """The |J M> states of a pair of spins S: ``(labels, eps_J, M, weights)`` per state.

    The weights ``B`` are those of :func:`pair_levels` made exactly symmetric (``d = 1``, so
    ``B(a -> b) = B(b -> a)`` up to round-off of the Clebsch-Gordan forms): then at zero field the
    flows between states of one multiplet with equal populations cancel exactly.
    """
    species = pair_levels(S, 1.0, 0.0)  # energies: eps_J
    w = 0.5 * (species.weights + species.weights.T)
    M = np.array([label[1] for label in species.labels])
    eps = species.energies.copy()
    for a in (eps, M, w):
        a.setflags(write=False)
    return species.labels, eps, M, w


@dataclass(frozen=True)
class FieldPairScattering(LevelScattering):
    """Electron scattering by impurity pairs in a field with populations ``P[x, k, s]``, ``s = (J, M)``.

    Parameters
    ----------
    S : float
        Impurity spin.
    rate, relaxation : float
        ``t0 T_sg / (tau_s E0)`` and ``Gamma t0 E0``, as for ``PairScattering``.
    couplings : CouplingGrid
        ``V_k = k d`` (its step is the energy step).
    zeeman_steps : int
        ``Delta_Z / d``: the impurity Zeeman energy in energy steps (any sign).
    """

    S: float
    rate: float
    relaxation: float
    couplings: CouplingGrid
    zeeman_steps: int = 0
    name: ClassVar[str] = "field_pairs"

    def __post_init__(self):
        object.__setattr__(self, "S", spin.check_spin(self.S))
        check_strengths(self.rate, self.relaxation)
        if not isinstance(self.couplings, CouplingGrid):
            msg = f"couplings must be a CouplingGrid; got {type(self.couplings).__name__}"
            raise ValueError(msg)
        object.__setattr__(self, "zeeman_steps", check_zeeman_steps(self.zeeman_steps))

    @property
    def template(self) -> tuple:
        """``(labels, eps_J, M, B)`` of the (2S+1)^2 states."""
        return _states(self.S)

    @property
    def step(self) -> float:
        return self.couplings.step

    @property
    def coupling_indices(self) -> np.ndarray:
        return self.couplings.k

    @property
    def strengths(self) -> np.ndarray:
        """``(4/3) rate w_k``: the electrons' scattering rate by the pairs of each coupling cell."""
        return 4.0 / 3.0 * self.rate * self.couplings.weights

    @property
    def gamma(self) -> float:
        return float(self.relaxation)
