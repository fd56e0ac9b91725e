"""Collision mechanisms. Each one turns the local state into an out-kernel per position.

A mechanism is a frozen dataclass with

- ``name``: its key in ``MECHANISMS`` (and in scenario files);
- ``add_kernel(grid, P, G, K)``: add its out-kernel, the rate of ``eps -> eps - m d`` at each
  position, into the compact kernel ``K[x, n + m]`` of width ``2n + 1`` (transfers beyond the grid
  width lumped into the end cells, which is all the engine needs of them), from the pair
  populations ``P`` (None without pairs) and the electron-hole function ``G[x, n - 1 + m]``;
- ``add_kernel_change(grid, P, G, dP, dG, K)``: add the kernel's change for changes ``dP`` of the
  populations and ``dG`` of the electron-hole function (Jacobian products);
- ``out_kernel(grid, P, G) -> ndarray``: the same kernel on its own (tests, the hot-electron
  problem), from ``base.Mechanism``.

Impurities with populations of their own (``PopulationMechanism``: RKKY pairs at zero field,
``PairScattering``, or in a field, ``FieldPairScattering``, and free spins, ``FreeSpinScattering``;
the last two are level species on the one machinery of ``level_scattering``) also evolve those
populations. The solvers see one population array: a ``Collisions`` given several of them combines
them into one ``Impurities`` (their populations side by side).

The convolution engine (``hotelectron.kinetics.convolution``) turns any sum of such kernels into the collision
integral. Adding a mechanism means one new module here and one line in ``MECHANISMS``.
"""

from .base import PopulationMechanism
from .electron_electron import ElectronElectron
from .field_pairs import FieldPairScattering
from .free_spins import FreeSpinScattering
from .impurities import Impurities
from .level_scattering import LevelScattering
from .pairs import PairScattering
from .phonons import ElectronPhonon
from .tabulated import TabulatedKernel

MECHANISMS = {
    PairScattering.name: PairScattering,
    FieldPairScattering.name: FieldPairScattering,
    FreeSpinScattering.name: FreeSpinScattering,
    ElectronElectron.name: ElectronElectron,
    ElectronPhonon.name: ElectronPhonon,
    TabulatedKernel.name: TabulatedKernel,
}

__all__ = ["MECHANISMS", "ElectronElectron", "ElectronPhonon", "FieldPairScattering", "FreeSpinScattering",
           "Impurities", "LevelScattering", "PairScattering", "PopulationMechanism", "TabulatedKernel"]
