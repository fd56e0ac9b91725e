"""Small collision systems shared by the engine tests."""

import numpy as np

from hotelectron.collisions import Collisions
from hotelectron.grids import CouplingGrid, EnergyGrid
from hotelectron.mechanisms import ElectronElectron, PairScattering


def fermi(energies, temperature, mu=0.0):
    x = (np.asarray(energies) - mu) / temperature
    return 0.5 * (1 - np.tanh(x / 2))  # no overflow for large |x|


def system(n=401, half_width=10.0, S=0.5, rate=1.0, relaxation=3.0, kappa=0.7, exponent=1.5, v_min=None, k_max=None, path="fft"):
    """Pairs and electron-electron scattering on a grid of n points over [-half_width, half_width]."""
    grid = EnergyGrid(n, 2 * half_width / (n - 1))
    couplings = CouplingGrid(grid.step, v_min or grid.step / 2, k_max or (n - 1) // 2)
    mechanisms = []
    if rate is not None:
        mechanisms.append(PairScattering(S, rate, relaxation, couplings))
    if kappa is not None:
        mechanisms.append(ElectronElectron(kappa, exponent))
    return Collisions(grid, tuple(mechanisms), path)
