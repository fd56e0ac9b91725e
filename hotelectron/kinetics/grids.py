"""Grids in energy, coupling V and position x (SPEC section 6).

All grids are dimensionless: energies in a reference energy E0 (usually eU), positions in units of the
wire length L. The coupling grid uses the energy step, ``V_k = k d_eps``, so that every energy
transfer ``V (eps_J - eps_J')`` of a pair is a whole number of energy steps.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["CouplingGrid", "EnergyGrid", "WireGrid"]


def _check_positive(name, value) -> float:
    """``value`` as a float; numpy scalars are numbers like any other (bool is not a step)."""
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
        msg = f"{name} must be a positive finite number; got {value!r}"
        raise ValueError(msg)
    return value if isinstance(value, (int, float)) else float(value)  # Python numbers stay as given


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _set(grid, **values) -> None:
    """Store plain Python numbers in a frozen grid (numpy scalars would leak into ``to_dict``)."""
    for name, value in values.items():
        object.__setattr__(grid, name, value)


class _Serialisable:
    def to_dict(self) -> dict:
        """Plain-Python description, enough to rebuild the grid with ``from_dict``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        return cls(**data)


@dataclass(frozen=True)
class EnergyGrid(_Serialisable):
    """Uniform energy grid ``eps_i = (i - (n-1)/2) step``, symmetric about the Fermi level.

    Outside the grid the electron distribution is taken as 1 below and 0 above (filled and empty
    states); the collision engine treats those tails exactly.
    """

    n: int
    step: float

    def __post_init__(self):
        if not (_is_integer(self.n) and self.n >= 3):
            msg = f"energy grid size n must be an integer >= 3; got {self.n!r}"
            raise ValueError(msg)
        _set(self, n=int(self.n), step=_check_positive("energy step", self.step))

    @cached_property
    def values(self) -> np.ndarray:
        return (np.arange(self.n) - (self.n - 1) / 2) * self.step

    @property
    def half_width(self) -> float:
        """Distance from the centre to the last grid point."""
        return (self.n - 1) / 2 * self.step

    def index_of(self, energy: float, what: str = "energy") -> int:
        """Index of the grid point at ``energy``; refuses energies off the grid (to 1e-9 of a step)."""
        position = energy / self.step + (self.n - 1) / 2
        index = int(round(position))
        if abs(position - index) > 1e-9 or not 0 <= index < self.n:
            msg = (
                f"{what} = {energy!r} does not sit on a point of the energy grid "
                f"(step {self.step!r}, {self.n} points from {-self.half_width!r} to {self.half_width!r})"
            )
            raise ValueError(msg)
        return index


@dataclass(frozen=True)
class CouplingGrid(_Serialisable):
    """Pair couplings ``V_k = k step`` for ``k_min <= |k| <= k_max``, both signs, with quadrature weights.

    The weights integrate ``1/V^2`` exactly over each cell ``[(k - 1/2) step, (k + 1/2) step]``
    clipped to ``v_min <= |V| <= v_max = (k_max + 1/2) step`` (a sharp cutoff), which makes
    ``sum_k w_k g(V_k)`` a second-order rule for ``int dV g(V)/V^2``. Pairs with ``|V| < v_min``
    behave as free spins and exchange no energy.
    """

    step: float
    v_min: float
    k_max: int

    def __post_init__(self):
        _set(self, step=_check_positive("coupling step", self.step),
             v_min=_check_positive("coupling cutoff v_min", self.v_min))
        if self.v_min < self.step / 2:
            msg = (
                f"coupling cutoff v_min = {self.v_min!r} must be at least half an energy step "
                f"({self.step / 2!r}); smaller couplings would transfer no whole energy step"
            )
            raise ValueError(msg)
        if not (_is_integer(self.k_max) and self.k_max >= self.k_min):
            msg = f"k_max must be an integer >= k_min = {self.k_min}; got {self.k_max!r}"
            raise ValueError(msg)
        _set(self, k_max=int(self.k_max))

    @property
    def k_min(self) -> int:
        """Index of the cell that contains v_min."""
        return int(math.floor(self.v_min / self.step + 0.5))

    @property
    def v_max(self) -> float:
        return (self.k_max + 0.5) * self.step

    @cached_property
    def k(self) -> np.ndarray:
        """Signed coupling indices, negative (ferromagnetic) first."""
        positive = np.arange(self.k_min, self.k_max + 1)
        return np.concatenate([-positive[::-1], positive])

    @property
    def values(self) -> np.ndarray:
        return self.k * self.step

    @cached_property
    def weights(self) -> np.ndarray:
        """``int dV / V^2`` over each clipped cell (unit 1/energy)."""
        a = np.maximum((np.abs(self.k) - 0.5) * self.step, self.v_min)
        b = (np.abs(self.k) + 0.5) * self.step
        return 1.0 / a - 1.0 / b

    @property
    def size(self) -> int:
        return self.k.size


@dataclass(frozen=True)
class WireGrid(_Serialisable):
    """Nodes ``x_j = j/(n - 1)`` in units of the wire length; the end nodes are the reservoirs."""

    n: int

    def __post_init__(self):
        if not (_is_integer(self.n) and self.n >= 3):
            msg = f"wire grid size n must be an integer >= 3; got {self.n!r}"
            raise ValueError(msg)
        _set(self, n=int(self.n))

    @cached_property
    def values(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.n)

    @property
    def step(self) -> float:
        return 1.0 / (self.n - 1)

    @cached_property
    def simpson_weights(self) -> np.ndarray:
        """Weights of a fourth-order rule for ``int_0^1 g(x) dx`` on the nodes, reservoirs included.

        Composite Simpson ``(h/3)(1, 4, 2, 4, ..., 4, 1)`` on an odd node count (what scenarios allow).
        An even count has an odd number of cells: Simpson on all but the last three, Simpson's 3/8 rule
        ``(3h/8)(1, 3, 3, 1)`` on those, so the rule stays fourth order and exact for cubics.
        """
        n, h = self.n, self.step
        w = np.zeros(n)
        simpson_end = n if n % 2 else n - 3  # last node of the Simpson part
        if simpson_end >= 3:
            w[:simpson_end:2] += 2 * h / 3
            w[1:simpson_end:2] += 4 * h / 3
            w[0] -= h / 3
            w[simpson_end - 1] -= h / 3
        if n % 2 == 0:
            w[n - 4 :] += 3 * h / 8 * np.array([1.0, 3.0, 3.0, 1.0])
        w.setflags(write=False)
        return w
