"""Wires in a Zeeman field with free spins (and pairs): the steady state with free spins alone at T = 0
(no relaxation below the Zeeman threshold eU = Delta_Z, relaxation above it, curves with one eU/Delta_Z
collapsing on E/eU), the field-resolved solution (pairs + free spins + e-e) converging at second order
in the energy step, and zero field: pairs with inert free spins give today's results."""

import numpy as np
import pytest

from hotelectron.kinetics import (
    CouplingGrid,
    ElectronElectron,
    EnergyGrid,
    FieldPairScattering,
    FreeSpinScattering,
    PairScattering,
    WireGrid,
)
from hotelectron.wire import Evolution, WireProblem, equilibrium_state, steady_state
from hotelectron.wire.observables import observables


def spin_wire(bias, zeeman_over_bias, rate=6.0, S=2.5, steps_per_bias=20, margin=4.0, other=()):
    """Free spins alone (or with ``other`` mechanisms) at T = 0 in a wire at bias ``bias`` (energy unit
    fixed, not eU): the grid has ``steps_per_bias`` steps per eU, so the Zeeman energy
    ``zeeman_over_bias eU`` is a whole number of steps."""
    step = bias / steps_per_bias
    n = int(2 * margin * steps_per_bias) + 1
    zeeman_steps = round(zeeman_over_bias * steps_per_bias)
    assert zeeman_steps == zeeman_over_bias * steps_per_bias
    spins = FreeSpinScattering(S, rate, 50.0, zeeman_steps, step)
    return WireProblem(EnergyGrid(n, step), WireGrid(9), bias / 2, -bias / 2, 0.0, 0.0, (spins,) + tuple(other))


@pytest.mark.parametrize("zeeman_over_bias", [1.2, -1.2, 1.05])
def test_below_the_zeeman_threshold_free_spins_leave_the_double_step(zeeman_over_bias):
    """eU < |Delta_Z| at T = 0: no electron can give up |Delta_Z| (G(-|Delta_Z|) = 0), so every spin sits in
    its field ground state and scatters only elastically: f stays the collisionless double step."""
    problem = spin_wire(1.0, zeeman_over_bias)
    s = steady_state(problem)
    assert np.max(np.abs(s.f - problem.collisionless())) <= 1e-10
    spins = problem.pairs
    ground = 0 if zeeman_over_bias > 0 else spins.n_levels - 1  # M = -S for Delta_Z > 0, +S below
    np.testing.assert_allclose(s.P[:, ground], 1.0, rtol=0, atol=1e-14)
    # the same spins with equal populations (as at zero field) would relax the electrons: the test can fail
    held = steady_state(problem, fixed_pairs=np.full_like(s.P, 1.0 / spins.n_levels))
    assert np.max(np.abs(held.f - problem.collisionless())) > 1e-2


def test_above_the_zeeman_threshold_free_spins_relax_the_electrons():
    problem = spin_wire(1.0, 0.8)
    s = steady_state(problem)
    assert np.max(np.abs(s.f - problem.collisionless())) > 1e-2
    # and the electrons have lifted the spins out of their ground state
    assert np.min(s.P[:, 0]) < 0.99


def test_curves_with_one_bias_to_zeeman_ratio_collapse_on_energy_over_bias():
    """At T = 0 free spins scatter with a fixed weight at the one transfer Delta_Z, and their stationary
    populations depend on ratios of G: at fixed eU/Delta_Z, f(L/2, E) is a function of E/eU. Two biases a
    factor 2 apart, with the same number of grid steps per eU, give the same f on E/eU (e-e scattering
    with a = 3/2 breaks the scaling)."""
    f_mid = []
    for bias in (1.0, 2.0):
        problem = spin_wire(bias, 0.8)
        f_mid.append(observables(problem, steady_state(problem).f).f_mid)
    assert np.max(np.abs(f_mid[0] - problem.collisionless()[4])) > 1e-2  # relaxed, not the double step
    assert np.max(np.abs(f_mid[1] - f_mid[0])) <= 1e-12
    coulomb = []
    for bias in (1.0, 2.0):
        problem = spin_wire(bias, 0.8, other=(ElectronElectron(0.3, 1.5),))
        coulomb.append(observables(problem, steady_state(problem).f).f_mid)
    assert np.max(np.abs(coulomb[1] - coulomb[0])) > 1e-3


def test_field_resolved_steady_state_with_free_spins_converges_at_second_order_in_the_energy_step():
    """Pairs in (J, M) states (S = 1/2, Delta_Z = 0.4 eU), the free spins beside them (T_sg = 0.03 eU,
    V_min = 0.1 eU: 80 % paired, free-spin rate 13 / tau_D) and e-e, T = 0.05 eU, energy steps
    0.05 ... 0.00625 with Delta_Z a whole number of steps on every grid. f(L/2) on the coarsest grid's
    energies: successive differences 7.1e-5, 1.7e-5, 4.3e-6, observed orders 2.02 and 2.03; the noise
    7.5e-6, 1.9e-6, 4.4e-7 (orders 2.02, 2.07)."""
    steps, f_mid, noise = [], [], []
    for n in (161, 321, 641, 1281):
        step = 8.0 / (n - 1)
        pairs = FieldPairScattering(0.5, 2.0, 30.0, CouplingGrid(step, 0.1, (n - 1) // 2), round(0.4 / step))
        spins = FreeSpinScattering.beside(pairs, 0.03)
        p = WireProblem(EnergyGrid(n, step), WireGrid(9), 0.5, -0.5, 0.05, 0.05, (pairs, spins, ElectronElectron(0.3, 1.5)))
        s = steady_state(p)
        steps.append(step)
        f_mid.append(s.f[4, :: (n - 1) // 160])
        noise.append(observables(p, s.f, s.P).noise)
    differences = np.array([np.max(np.abs(b - a)) for a, b in zip(f_mid, f_mid[1:])])
    order = np.polyfit(np.log(steps[1:]), np.log(differences), 1)[0]
    assert abs(order - 2) < 0.1
    assert differences[-1] < 1e-5  # the finest grid's error is about a third of this
    noise_differences = np.abs(np.diff(noise))
    assert abs(np.polyfit(np.log(steps[1:]), np.log(noise_differences), 1)[0] - 2) < 0.1
    assert noise_differences[-1] < 1e-6 * noise[-1]


def test_zero_field_pairs_with_inert_free_spins_give_todays_wire():
    """At B = 0 the free spins exchange no energy: pairs plus free spins give the steady state and the
    adaptive evolution of the pairs alone (the free spins at equal populations stay there). Observed:
    equal to the last bit, steps and all."""
    grid = EnergyGrid(81, 0.1)
    couplings = CouplingGrid(grid.step, 0.1, 20)
    pairs = PairScattering(1.5, 2.0, 30.0, couplings)
    results = {}
    for key, mechanisms in [("pairs", (pairs, ElectronElectron(0.3, 1.5))),
                            ("pairs + spins", (pairs, FreeSpinScattering.beside(pairs, 0.01), ElectronElectron(0.3, 1.5)))]:
        problem = WireProblem(grid, WireGrid(5), 0.5, -0.5, 0.05, 0.05, mechanisms)
        state = Evolution(problem).advance(equilibrium_state(problem), 0.5)
        steady = steady_state(problem)
        results[key] = steady.f, state.f, steady.P, state.P
    f_steady, f_evolved, P_steady, P_evolved = results["pairs + spins"]
    np.testing.assert_allclose(f_steady, results["pairs"][0], rtol=0, atol=1e-13)
    np.testing.assert_allclose(f_evolved, results["pairs"][1], rtol=0, atol=1e-13)
    n_pairs = couplings.size * pairs.n_levels
    np.testing.assert_allclose(P_steady[:, :n_pairs].reshape(results["pairs"][2].shape), results["pairs"][2], rtol=1e-13)
    np.testing.assert_array_equal(P_steady[:, n_pairs:], 0.25)
    np.testing.assert_allclose(P_evolved[:, n_pairs:], 0.25, rtol=0, atol=1e-15)
