"""The energy of free spins in a field in joules per cubic metre, from a physical scenario's constants.

A box of Ag with Mn-like spins (the scenario of test_physical_energy_balance.py) in a field: pairs in
(J, M) states and free spins colder than a hot electron bump. W_e = 2 nu int eps f,
W_pairs = int dV n_p(V) sum_s E_s P_s (n_p(V) = (n_s/2)(4/3) T_sg/V^2, E_s = V eps_J + Delta_Z M) and
W_spins = n_free sum_M Delta_Z M P_M with n_free = n_s (1 - (8/3) T_sg/V_min) are written here from
the SI constants alone, independently of the package's energies (built from rate/relaxation). Their
sum is conserved only if the free spins scatter the electrons at (1 - p)/tau_s and relax with Gamma/2
for the density n_free: this pins both constants of FreeSpinScattering.beside.
"""

import dataclasses

import numpy as np
import pytest
from systems import fermi
from wire.test_physical_energy_balance import SCENARIO, PhysicalEnergies

from hotelectron.io.scenario import parse_scenario
from hotelectron.kinetics.collisions import Collisions
from hotelectron.kinetics.mechanisms import FieldPairScattering, FreeSpinScattering
from hotelectron.units import BOLTZMANN_J_PER_K
from hotelectron.wire.dynamics import BoxProblem
from hotelectron.wire.evolution import Evolution, State


def test_free_spin_and_pair_energy_in_joules_per_m3_balances_the_electrons():
    S, zeeman_steps = 0.5, 4  # S = 1/2 keeps the (J, M) solves small: 4 states per coupling
    scenario = parse_scenario(SCENARIO.format(spin=S))
    d = scenario.derived
    si = PhysicalEnergies(scenario)
    zero_field = scenario.problem.pairs
    pairs = FieldPairScattering(S, zero_field.rate, zero_field.relaxation, zero_field.couplings, zeeman_steps)
    spins = FreeSpinScattering.beside(pairs, d["T_sg_K"] * BOLTZMANN_J_PER_K / si.E0)
    paired = 8 / 3 * d["T_sg_K"] / d["V_min_K"]
    assert 0.2 < paired < 0.3  # a quarter of the impurities are paired: 1 - p matters
    n_free = si.n_s * (1 - paired)
    zeeman_J = zeeman_steps * si.step
    M = np.arange(-S, S + 1)
    J_s = np.array([J for J, _ in pairs.labels])
    M_s = np.array([m for _, m in pairs.labels])
    E_pair = si.V[:, None] * (J_s * (J_s + 1) - 2 * S * (S + 1)) / 2 + zeeman_J * M_s  # J, VGL (11) and SPEC 9

    def W_pairs(P):
        density = (si.n_s / 2) * (4 / 3) * si.T_sg * si.cell  # pairs per m^3 in each V cell
        return float(np.sum(density[:, None] * E_pair * P))

    def W_spins(p):
        return float(n_free * np.sum(zeeman_J * M * p))

    def history(spin_mechanism):
        problem = scenario.problem
        collisions = Collisions(problem.energy, (pairs, spin_mechanism), "fft")
        e = problem.energy.values
        T = problem.temperature_left
        state = State(0.0, (fermi(e, T) + 0.05 * np.exp(-((e - 6.0) ** 2)))[None], collisions.pairs.gibbs(1, 0.25 * T))
        evolution = Evolution(BoxProblem(collisions), rtol=1e-6, atol=1e-9)
        rows = []
        for t in (0.0, 0.05, 0.1):  # tau_D: the spins' energy moves by 30 %, the electrons' by 8 %
            if t > 0:
                state = evolution.advance(state, t)
            Pp, Ps = collisions.pairs.split(state.P)
            rows.append((si.electrons(state.f[0]), W_pairs(Pp[0]), W_spins(Ps[0])))
        return np.array(rows).T, collisions, state

    (we, wp, ws), collisions, state = history(spins)
    total = we + wp + ws
    assert np.max(np.abs(total - total[0])) <= 1e-8 * np.max(np.abs(we))
    assert abs(ws[-1] - ws[0]) > 0.05 * abs(ws[0])  # the free spins take a visible share
    assert abs(we[-1] - we[0]) > 0.01 * abs(we[0])
    # the package's own energies (unit 2 nu E0^2) are these densities
    unit = 2 * si.nu * si.E0**2
    package = collisions.impurity_energies(state.P)
    Pp, Ps = collisions.pairs.split(state.P)
    assert unit * package["spins"][0] == pytest.approx(W_spins(Ps[0]), rel=1e-12)
    assert unit * package["pairs"][0] == pytest.approx(W_pairs(Pp[0]), rel=1e-12)

    # the pairs' Gamma taken over for the free spins, or the rate of all n_s spins: the balance fails
    # (by 4e-2 and 2e-2 of W_e)
    for wrong in (dataclasses.replace(spins, relaxation=2 * spins.relaxation),
                  dataclasses.replace(spins, rate=spins.rate / (1 - paired))):
        (we2, wp2, ws2), _, _ = history(wrong)
        broken = np.max(np.abs((we2 + wp2 + ws2) - (we2[0] + wp2[0] + ws2[0]))) / np.max(np.abs(we2))
        assert broken > 1e-3
