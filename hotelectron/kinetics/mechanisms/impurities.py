"""Several species of impurities with populations as one: pairs and free spins evolving together.

The solvers (the collision right-hand side, the implicit stages, the steady state) handle one
population array and one ``PopulationMechanism``. ``Impurities`` is that mechanism for several
species: it lays their populations side by side in ``P[x, n]``, species after species, each
flattened over its own axes (``population_shape``), and answers every call of the interface by
handing each species the view of its block. The species never couple to each other directly, only
through the electrons, so every operation (kernel, rates, implicit step, stationary state and their
changes) is block by block. Nothing downstream needs a special case: a wire with pairs and free
spins is a wire with one population array, as a wire with pairs alone.

Layout of ``P[x, n]`` (for storage: ``split`` and ``parts`` give each block with its own shape):
the species in the order given, e.g. ``FieldPairScattering`` ``[k, (J, M)]`` flattened
(``n_V (2S+1)^2`` columns) then ``FreeSpinScattering`` ``[M]`` (``2S + 1`` columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

from ..grids import EnergyGrid
from .base import PopulationMechanism

__all__ = ["Impurities"]


@dataclass(frozen=True)
class Impurities(PopulationMechanism):
    """Several ``PopulationMechanism`` species with one population array ``P[x, n]`` (module docstring).

    Parameters
    ----------
    species : tuple of PopulationMechanism
        At most one per kind of impurity (``impurity``: ``"pairs"``, ``"spins"``).
    """

    species: tuple
    name: ClassVar[str] = "impurities"

    def __post_init__(self):
        object.__setattr__(self, "species", tuple(self.species))
        for part in self.species:
            if not isinstance(part, PopulationMechanism) or isinstance(part, Impurities):
                msg = f"Impurities combines population mechanisms (pairs, free spins); got {type(part).__name__}"
                raise ValueError(msg)
        kinds = [part.impurity for part in self.species]
        if not kinds:
            msg = "Impurities needs at least one species"
            raise ValueError(msg)
        for kind in kinds:
            if kinds.count(kind) > 1:
                names = ", ".join(part.name for part in self.species if part.impurity == kind)
                msg = (f"at most one mechanism per kind of impurity ({kind!r}): got {names}; the pairs at zero "
                       "field and in a field are two descriptions of the same impurities")
                raise ValueError(msg)

    @cached_property
    def _bounds(self) -> tuple:
        sizes = [int(np.prod(part.population_shape)) for part in self.species]
        ends = np.cumsum(sizes)
        return tuple((int(end - size), int(end)) for size, end in zip(sizes, ends))

    @property
    def population_shape(self) -> tuple:
        return (self._bounds[-1][1],)

    @property
    def impurity(self) -> str:
        return "+".join(part.impurity for part in self.species)

    def split(self, P) -> tuple:
        """The block of each species as a view of ``P[x, n]``, with its own shape ``(n_x,) + population_shape``."""
        n_x = np.shape(P)[0]
        return tuple(P[:, a:b].reshape((n_x,) + part.population_shape) for part, (a, b) in zip(self.species, self._bounds))

    def parts(self, P) -> dict:
        """``{impurity: block}``: each species' populations by its kind (``"pairs"``, ``"spins"``)."""
        return {part.impurity: block for part, block in zip(self.species, self.split(P))}

    def _join(self, blocks) -> np.ndarray:
        n_x = blocks[0].shape[0]
        return np.concatenate([np.reshape(block, (n_x, -1)) for block in blocks], axis=1)

    def check_grid(self, grid: EnergyGrid) -> None:
        for part in self.species:
            part.check_grid(grid)

    # -- kernel and rates --------------------------------------------------------------------------
    def add_kernel(self, grid: EnergyGrid, P, G, K) -> None:
        for part, block in zip(self.species, self.split(P)):
            part.add_kernel(grid, block, G, K)

    def add_kernel_and_rates(self, grid: EnergyGrid, P, G, K, dP=None) -> None:
        rates = self.split(dP) if dP is not None else (None,) * len(self.species)
        for part, block, rate, (a, b) in zip(self.species, self.split(P), rates, self._bounds):
            part.add_kernel_and_rates(grid, block, G, K, rate)
            if rate is not None and not np.may_share_memory(rate, dP):  # dP's layout made split copy
                dP[:, a:b] = rate.reshape(rate.shape[0], -1)

    def add_kernel_and_rates_change(self, grid: EnergyGrid, P, G, dP, dG, dK) -> np.ndarray:
        return self._join([part.add_kernel_and_rates_change(grid, block, G, change, dG, dK)
                           for part, block, change in zip(self.species, self.split(P), self.split(dP))])

    def rates(self, P, G, grid: EnergyGrid) -> np.ndarray:
        return self._join([part.rates(block, G, grid) for part, block in zip(self.species, self.split(P))])

    # -- implicit steps and stationary states ------------------------------------------------------
    def relax(self, P, G, grid: EnergyGrid, dt: float) -> np.ndarray:
        return self._join([part.relax(block, G, grid, dt) for part, block in zip(self.species, self.split(P))])

    def solve_chain(self, rhs, G, grid: EnergyGrid, dt: float) -> np.ndarray:
        return self._join([part.solve_chain(block, G, grid, dt) for part, block in zip(self.species, self.split(rhs))])

    def stationary(self, G, grid: EnergyGrid) -> np.ndarray:
        return self._join([part.stationary(G, grid) for part in self.species])

    def stationary_change(self, P, G, dG, grid: EnergyGrid) -> np.ndarray:
        return self._join([part.stationary_change(block, G, dG, grid)
                           for part, block in zip(self.species, self.split(P))])

    def add_stationary_kernel_change(self, grid: EnergyGrid, P, G, dG, K) -> None:
        # species by species: no joined change of all populations (the steady solver's products)
        for part, block in zip(self.species, self.split(P)):
            part.add_stationary_kernel_change(grid, block, G, dG, K)

    def gibbs(self, n_x: int, temperature: float) -> np.ndarray:
        return self._join([part.gibbs(n_x, temperature) for part in self.species])

    # -- energy ------------------------------------------------------------------------------------
    def energy_weights(self) -> np.ndarray:
        return np.concatenate([np.ravel(part.energy_weights()) for part in self.species])

    def energy_parts(self, P) -> dict:
        """``{impurity: energy per position}`` of each species (unit ``2 nu E0^2``), e.g. W_pairs and W_spins."""
        return {part.impurity: part.energy(block) for part, block in zip(self.species, self.split(P))}

    def energy_rate(self, P, G, grid: EnergyGrid) -> np.ndarray:
        return sum(self.energy_rate_parts(P, G, grid).values())

    def energy_rate_parts(self, P, G, grid: EnergyGrid) -> dict:
        # species by species: no joined rates of all populations
        return {part.impurity: part.energy_rate(block, G, grid) for part, block in zip(self.species, self.split(P))}
