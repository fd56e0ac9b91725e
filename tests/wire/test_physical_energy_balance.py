"""The pair energy balance in joules per cubic metre, from a physical scenario's derived constants.

W_e = 2 nu int eps f d eps and W_p = int dV n_p(V) sum_J (2J+1) V eps_J P_J(V) with the pair density
n_p(V) = (n_s/2)(4/3) T_sg / V^2 (SPEC section 2), written here from n_s, nu, T_sg and V_min alone,
independently of the package's Gamma and of its dimensionless pair energy (which is built from
rate/relaxation). Their sum is conserved in a closed box only if the loader's Gamma = 4 nu/(tau_s n_s
S(S+1)) matches the pair density: this pins Gamma in physical units.
"""

import dataclasses
import math

import numpy as np
import pytest
from systems import fermi

from hotelectron.io.scenario import parse_scenario
from hotelectron.kinetics.collisions import Collisions
from hotelectron.units import BOLTZMANN_J_PER_K
from hotelectron.wire.dynamics import BoxProblem
from hotelectron.wire.evolution import Evolution, State

# Ag with dilute spins at 25 mK, T_sg and 1/tau_s given directly (not through T_K; the rate lies below
# the unitary bound 2 n_s/(pi hbar nu) = 1.4e10 1/s of 2 ppm); E0 = k_B T.
SCENARIO = """
[wire]
material = "Ag"
length = "5 um"
diffusion_constant = "0.0185 m^2/s"

[reservoirs]
temperature = "25 mK"
bias = "0 mV"

[impurities]
spin = {spin}
concentration = "2 ppm"
spin_glass_temperature = "5 mK"
spin_flip_rate = "1e10 1/s"
coupling_cutoff = "50 mK"

[grid]
n_x = 5
n_energy = 601
half_width = 30.0

[run]
mode = "box"
end_time = "1 tau_D"
output_every = "0.1 tau_D"
initial = "equilibrium"

[run.bump]
energy = "6 E0"
width = "1 E0"
height = 0.05
"""


class PhysicalEnergies:
    """W_e and W_p in J/m^3 from the derived constants (SI) of a scenario."""

    def __init__(self, scenario):
        d = scenario.derived
        self.E0 = d["energy_unit_J"]
        self.nu = d["nu_per_spin_J_m3"]
        self.n_s = d["n_s_m3"]
        self.T_sg = d["T_sg_K"] * BOLTZMANN_J_PER_K
        V_min = d["V_min_K"] * BOLTZMANN_J_PER_K
        S = d["spin"]
        step = d["energy_step_E0"] * self.E0  # the coupling grid shares the energy step (SPEC section 6)
        self.energies = scenario.problem.energy.values * self.E0
        self.step = step
        k_min = math.floor(V_min / step + 0.5)
        positive = np.arange(k_min, d["k_max"] + 1)
        self.k = np.concatenate([-positive[::-1], positive])
        self.V = self.k * step
        # int dV/V^2 over each cell [(|k| - 1/2) step, (|k| + 1/2) step], cut sharply at V_min (in 1/J)
        lower = np.maximum((np.abs(self.k) - 0.5) * step, V_min)
        self.cell = 1 / lower - 1 / ((np.abs(self.k) + 0.5) * step)
        J = np.arange(int(round(2 * S)) + 1)
        self.multiplicity = 2 * J + 1
        self.eps_J = (J * (J + 1) - 2 * S * (S + 1)) / 2  # VGL (11)

    def electrons(self, f):
        """2 nu int eps [f - theta(-eps)] d eps: the energy above the Fermi sea."""
        e = self.energies
        sea = np.where(e < 0, 1.0, np.where(e > 0, 0.0, 0.5))
        return 2 * self.nu * self.step * float(np.sum(e * (f - sea)))

    def pairs(self, P):
        """int dV n_p(V) sum_J (2J+1) V eps_J P_J(V), n_p(V) = (n_s/2)(4/3) T_sg / V^2."""
        density = (self.n_s / 2) * (4 / 3) * self.T_sg * self.cell  # pairs per m^3 in each V cell
        return float(np.sum(density[:, None] * self.multiplicity * self.V[:, None] * self.eps_J * P))


def _box_history(problem, mechanism, energies, T_pairs=0.25):
    """A hot bump on electrons at T and pairs colder (Gibbs at T_pairs T) relax together for 1 tau_D."""
    collisions = Collisions(problem.energy, (mechanism,), "fft")
    e = problem.energy.values
    f = (fermi(e, problem.temperature_left) + 0.05 * np.exp(-((e - 6.0) ** 2)))[None]
    state = State(0.0, f, collisions.pairs.gibbs(1, T_pairs * problem.temperature_left))
    evolution = Evolution(BoxProblem(collisions), rtol=1e-6, atol=1e-9)
    w_e, w_p = [energies.electrons(state.f[0])], [energies.pairs(state.P[0])]
    for t in np.linspace(0.1, 1.0, 10):
        state = evolution.advance(state, t)
        w_e.append(energies.electrons(state.f[0]))
        w_p.append(energies.pairs(state.P[0]))
    return np.array(w_e), np.array(w_p)


@pytest.mark.parametrize("S", [0.5, 2.5])
def test_pair_and_electron_energy_in_joules_per_m3_is_conserved(S):
    scenario = parse_scenario(SCENARIO.format(spin=S))
    energies = PhysicalEnergies(scenario)
    mechanism = scenario.problem.pairs
    assert np.array_equal(mechanism.couplings.k, energies.k)  # the same V cells
    w_e, w_p = _box_history(scenario.problem, mechanism, energies)
    total = w_e + w_p
    # the sum stays put ...
    conserved = np.max(np.abs(total - total[0])) / np.max(np.abs(w_e))
    assert conserved < 1e-8
    # the energy handed from the electrons to the pairs is about 2% of W_e (for S = 1/2 that is 7% of
    # W_p; for S = 5/2, whose W_p is mostly the ground-state energy of the cold pairs, 0.4%)
    assert abs(w_e[-1] - w_e[0]) > 0.01 * abs(w_e[0])
    assert abs(w_p[-1] - w_p[0]) > 0.01 * abs(w_e[0])
    # the package's own pair energy (unit 2 nu E0^2, built from rate/relaxation) agrees with n_p(V)
    P0 = mechanism.gibbs(1, 0.25 * scenario.problem.temperature_left)
    package = 2 * energies.nu * energies.E0**2 * scenario.problem.collisions.pairs.energy(P0)[0]
    assert package == pytest.approx(w_p[0], rel=1e-12)

    # Gamma doubled in the run (pairs relax twice as fast for the same electron rate): the pairs now
    # gain energy that the electrons did not give, and the balance in J/m^3 fails by far more than 1e-8
    doubled = dataclasses.replace(mechanism, relaxation=2 * mechanism.relaxation)
    w_e2, w_p2 = _box_history(scenario.problem, doubled, energies)
    broken = np.max(np.abs((w_e2 + w_p2) - (w_e2[0] + w_p2[0]))) / np.max(np.abs(w_e2))
    assert broken > 1e-3
