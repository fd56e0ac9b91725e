import dataclasses

import numpy as np
import pytest
from systems import wire

from hotelectron.kinetics.mechanisms import ElectronPhonon
from hotelectron.wire.observables import observables
from hotelectron.wire.steady import steady_state


def phonon_wire(kappa):
    p = wire(pairs=False, n_x=17, n=161, half_width=4.0)
    return dataclasses.replace(p, mechanisms=p.mechanisms + (ElectronPhonon(kappa, p.temperature_left),))


def test_long_wire_loses_heat_to_phonons_and_cools_below_wiedemann_franz():
    """Strong phonons (a long wire: kappa_ph tau_D grows as L^2): the heat balance closes with the heat
    into the phonons, and T_eff(L/2) falls below the Wiedemann-Franz value sqrt(T^2 + 3 (eU)^2/(4 pi^2))
    that energy conservation fixes without them."""
    p = phonon_wire(300.0)
    s = steady_state(p)
    obs = observables(p, s.f)
    assert obs.heat_phonons > 0.3 * obs.joule_power
    balance = obs.joule_power - (obs.heat_left + obs.heat_right + obs.heat_phonons)
    assert abs(balance) <= 1e-6 * obs.joule_power
    assert abs(obs.edge_energy_rate) <= 1e-8 * obs.joule_power
    assert obs.heat_phonons == pytest.approx(p.wire.step * np.sum(obs.heat_phonons_profile), rel=1e-14)
    wiedemann_franz = np.sqrt(p.temperature_left**2 + 3 / (4 * np.pi**2))
    assert obs.t_eff_mid < 0.8 * wiedemann_franz
    # without phonons the same wire sits at the Wiedemann-Franz value (a conservation check, SPEC 5)
    q = phonon_wire(0.0)
    cold = observables(q, steady_state(q).f)
    assert cold.heat_phonons == 0.0
    assert cold.t_eff_mid == pytest.approx(wiedemann_franz, rel=1e-4)


def test_direct_path_reaches_the_fft_steady_state_with_phonons():
    fft = dataclasses.replace(phonon_wire(30.0), wire=dataclasses.replace(phonon_wire(30.0).wire, n=9))
    direct = dataclasses.replace(fft, path="direct")
    a, b = steady_state(fft), steady_state(direct)
    assert np.max(np.abs(a.f - b.f)) < 1e-11


def test_long_time_evolution_with_phonons_reaches_the_steady_state():
    """Two routes: the time integrator (its own Jacobian products and preconditioner) and Newton."""
    from hotelectron.wire.evolution import Evolution, State

    p = dataclasses.replace(phonon_wire(30.0), wire=dataclasses.replace(phonon_wire(30.0).wire, n=9))
    steady = steady_state(p)
    end = Evolution(p, rtol=1e-4, atol=1e-7).advance(State(0.0, p.collisionless()[1:-1], None), 12.0)
    assert np.max(np.abs(end.f - steady.f[1:-1])) <= 1e-6
