"""Collision mechanisms. Each one turns the local state into an out-kernel per position.

A mechanism is a frozen dataclass with

- ``name``: its key in ``MECHANISMS`` (and in scenario files);
- ``max_transfer(grid) -> int``: the largest ``|m|`` of its kernel;
- ``out_kernel(grid, P, G) -> ndarray (n_x, 2M + 1)``: the rate of ``eps -> eps - m d`` at each
  position, from the pair populations ``P`` (None without pairs) and the electron-hole function
  ``G[x, n - 1 + m]``.

The convolution engine (``hotelectron.kinetics.convolution``) turns any sum of such kernels into the collision
integral. Adding a mechanism means one new module here and one line in ``MECHANISMS``.
"""

from .electron_electron import ElectronElectron
from .pairs import PairScattering

MECHANISMS = {
    PairScattering.name: PairScattering,
    ElectronElectron.name: ElectronElectron,
}

__all__ = ["MECHANISMS", "ElectronElectron", "PairScattering"]
