"""The [spin_mediated] section: the a = 2 kernel of electron-electron scattering mediated by the free
impurity spins, kappa = 8 pi (n_free/nu)(nu J)^4 S(S+1)/hbar with the exchange of the scenario's own
spin-flip rate."""

import math

import numpy as np
import pytest

from systems import AGMN_SECTIONS

from hotelectron.io.scenario import parse_scenario
from hotelectron.kinetics.mechanisms import ElectronElectron
from hotelectron.materials import material
from hotelectron.units import BOLTZMANN_J_PER_K, ELECTRON_VOLT_J, HBAR_J_S
from hotelectron.wire.steady import steady_state

BASE = AGMN_SECTIONS + """{impurities}
[grid]
n_x = 9
n_energy = 241
half_width = 3.0

[run]
mode = "steady"
{extra}
"""


def scenario(impurities="", extra="[spin_mediated]\n"):
    return parse_scenario(BASE.format(impurities=impurities, extra=extra))


def spin_mediated_kernels(s):
    return [m for m in s.problem.mechanisms if isinstance(m, ElectronElectron)]


def test_kappa_is_the_kernel_of_the_unpaired_impurities_at_the_coupling_of_their_spin_flips():
    s = scenario()
    d = s.derived
    (kernel,) = spin_mediated_kernels(s)
    assert kernel.exponent == 2.0
    # written out from the inputs: the Nagaoka-Hamann coupling (nu J)^2 = 1/(4 (ln^2 + pi^2 S(S+1))) at
    # E* = eU (above k_B T) gives kappa = (pi/2)(n_free/nu) S(S+1)/(ln^2 + pi^2 S(S+1))^2 / hbar, with
    # n_free = (1 - (8/3) T_sg/V_min) n_s
    ag, S = material("Ag"), 2.5
    log = math.log(0.2e-3 * ELECTRON_VOLT_J / BOLTZMANN_J_PER_K / 0.040)
    n_free = (1 - 8 / 3 * d["T_sg_K"] / d["V_min_K"]) * 1e-6 * ag.atomic_density_m3
    unitary = log**2 + math.pi**2 * S * (S + 1)
    kappa_si = math.pi / 2 * n_free / ag.dos_per_spin_J_m3 * S * (S + 1) / unitary**2 / HBAR_J_S
    assert d["spin_mediated_kappa_per_s"] == pytest.approx(kappa_si, rel=1e-12)
    assert kernel.kappa == pytest.approx(kappa_si * d["tau_D_s"], rel=1e-12)  # a = 2: kappa tau_D
    assert d["spin_mediated_exchange"] == pytest.approx(1 / (2 * math.sqrt(unitary)), rel=1e-12)


def test_a_given_spin_flip_rate_sets_the_coupling():
    text = BASE.format(impurities="", extra="[spin_mediated]\n").replace(
        'kondo_temperature = "40 mK"', 'spin_glass_temperature = "0.2 mK"\nspin_flip_rate = "1e9 1/s"')
    d = parse_scenario(text).derived
    ag, S = material("Ag"), 2.5
    n_s = 1e-6 * ag.atomic_density_m3
    # 1/tau_s = 2 pi (n_s/nu)(nu J)^2 S(S+1)/hbar solved for nu J
    nuJ = math.sqrt(1e9 * HBAR_J_S * ag.dos_per_spin_J_m3 / (2 * math.pi * n_s * S * (S + 1)))
    assert d["spin_mediated_exchange"] == pytest.approx(nuJ, rel=1e-12)
    assert d["spin_mediated_kappa_per_s"] == pytest.approx(
        d["unpaired_fraction"] * 8 * math.pi * n_s * nuJ**4 * S * (S + 1) / (HBAR_J_S * ag.dos_per_spin_J_m3), rel=1e-12)


def test_it_sits_beside_the_coulomb_kernel_and_adds_relaxation():
    coulomb = "[electron_electron]\nexponent = 1.5\nkappa_dimensionless = 0.1\n"
    with_spins, without = scenario(extra=coulomb + "[spin_mediated]\n"), scenario(extra=coulomb)
    assert sorted(m.exponent for m in spin_mediated_kernels(with_spins)) == [1.5, 2.0]
    f_with, f_without = (steady_state(s.problem).f for s in (with_spins, without))
    double_step = 0.5 * (f_with[0] + f_with[-1])
    mid = f_with.shape[0] // 2
    assert np.abs(f_with[mid] - double_step).sum() > 1.2 * np.abs(f_without[mid] - double_step).sum()


def test_at_zero_field_it_is_accepted_in_a_field_refused():
    assert spin_mediated_kernels(scenario(extra='[field]\nB = "0 T"\n[spin_mediated]\n'))
    with pytest.raises(ValueError, match=r"\[spin_mediated\].*\[field\] B"):
        scenario(extra='[field]\nB = "0.5 T"\n[spin_mediated]\n')


def test_keys_and_a_wire_without_impurities_are_refused():
    with pytest.raises(ValueError, match=r"\[spin_mediated\] kappa: unknown key; \[spin_mediated\] takes no keys"):
        scenario(extra="[spin_mediated]\nkappa = 1\n")
    no_impurities = BASE.format(impurities="", extra="[spin_mediated]\n").split("[impurities]")[0] + \
        "[spin_mediated]\n"
    with pytest.raises(ValueError, match=r"\[spin_mediated\] needs \[impurities\]"):
        parse_scenario(no_impurities)
