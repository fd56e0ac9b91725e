import numpy as np
import pytest

from hotelectron.kinetics.grids import CouplingGrid, EnergyGrid, WireGrid
from hotelectron.wire.hot_electrons import hot_electron_integral, hot_electron_kernel, solve_hot_electrons
from hotelectron.kinetics.mechanisms import PairScattering
from hotelectron.wire.steady import steady_state
from hotelectron.wire import WireProblem

T = 0.02


def hot_wire(rate=2.0):
    """A wire fed by a hot left reservoir (0.25) and a cold right one; pairs tied to a bath at T."""
    n, half_width = 481, 6.0
    step = 2 * half_width / (n - 1)
    pairs = PairScattering(0.5, rate, 30.0, CouplingGrid(step, step / 2, (n - 1) // 2))
    return WireProblem(EnergyGrid(n, step), WireGrid(17), 0.0, 0.0, 0.25, T, (pairs,))


def test_linear_solution_agrees_with_the_full_solver_far_above_the_fermi_level():
    p = hot_wire()
    full = steady_state(p, fixed_pairs=p.pairs.gibbs(p.wire.n - 2, T)).f
    linear = solve_hot_electrons(p, T)
    mid = p.wire.n // 2
    energies = [0.5, 1.0, 2.0, 3.0]
    differences = []
    for eps in energies:
        i = p.energy.index_of(eps)
        differences.append(abs(linear[mid, i] / full[mid, i] - 1))
    # the only difference is Pauli blocking of losses below the Fermi level: it falls off like 1/eps
    assert all(a > b for a, b in zip(differences, differences[1:]))
    assert differences[-1] < 0.03
    assert np.max(np.array(differences) * np.array(energies)) < 0.15


def test_linear_solution_satisfies_its_equation_and_limits():
    p = hot_wire()
    f = solve_hot_electrons(p, T)
    K = hot_electron_kernel(p, T)
    residual = p.laplacian(f) - hot_electron_integral(f[1:-1], K)
    assert np.max(np.abs(residual)) <= 1e-9 * np.max(np.abs(p.laplacian(f)))
    weak = solve_hot_electrons(hot_wire(rate=0.0), T)
    assert np.max(np.abs(weak - p.collisionless())) <= 1e-12


def test_hot_electron_problem_needs_pairs():
    p = WireProblem(EnergyGrid(81, 0.1), WireGrid(5), 0.0, 0.0, 0.1, 0.1)
    with pytest.raises(ValueError, match="pair-scattering"):
        solve_hot_electrons(p, 0.1)
