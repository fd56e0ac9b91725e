"""Everything that happens at one position x: grids, the convolution engine, the collision mechanisms,
the impurity kinetics (pairs, free spins), the collision right-hand side and its energy balance.

Dimensionless throughout: energies in a reference energy E0, times in t0 (tau_D in a wire).
"""

from .collisions import Collisions
from .convolution import PATHS, collision_integral, edge_fluxes, edge_particle_rate, electron_hole
from .energy_balance import vgl73_loss_rate
from .grids import CouplingGrid, EnergyGrid, WireGrid
from .mechanisms import (MECHANISMS, ElectronElectron, ElectronPhonon, FieldPairScattering, FreeSpinScattering,
                         Impurities, PairScattering)

__all__ = [
    "MECHANISMS",
    "PATHS",
    "Collisions",
    "CouplingGrid",
    "ElectronElectron",
    "ElectronPhonon",
    "EnergyGrid",
    "FieldPairScattering",
    "FreeSpinScattering",
    "Impurities",
    "PairScattering",
    "WireGrid",
    "collision_integral",
    "edge_fluxes",
    "edge_particle_rate",
    "electron_hole",
    "vgl73_loss_rate",
]
