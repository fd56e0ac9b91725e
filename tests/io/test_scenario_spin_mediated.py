"""The [spin_mediated] section: the a = 2 kernel of electron-electron scattering mediated by the free
impurity spins, kappa = (pi/2)(n_free/nu) S(S+1)/ln^4(E*/T_K) / hbar, from the physical inputs."""

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


def test_kappa_is_the_leading_log_kernel_of_the_unpaired_impurities():
    s = scenario()
    d = s.derived
    (kernel,) = spin_mediated_kernels(s)
    assert kernel.exponent == 2.0
    # written out from the inputs: E* = eU (above k_B T), n_free = (1 - (8/3) T_sg/V_min) n_s
    ag = material("Ag")
    log = math.log(0.2e-3 * ELECTRON_VOLT_J / BOLTZMANN_J_PER_K / 0.040)
    n_free = (1 - 8 / 3 * d["T_sg_K"] / d["V_min_K"]) * 1e-6 * ag.atomic_density_m3
    kappa_si = math.pi / 2 * n_free / ag.dos_per_spin_J_m3 * 2.5 * 3.5 / log**4 / HBAR_J_S
    assert d["spin_mediated_kappa_per_s"] == pytest.approx(kappa_si, rel=1e-12)
    assert kernel.kappa == pytest.approx(kappa_si * d["tau_D_s"], rel=1e-12)  # a = 2: kappa tau_D
    assert d["spin_mediated_exchange"] == pytest.approx(1 / (2 * log), rel=1e-12)
    assert any("order-of-magnitude" in w for w in s.warnings)  # ln^2 = 16.5 < pi^2 S(S+1) = 86


def test_log_energy_sets_the_energy_of_the_kondo_logarithm():
    s = scenario(extra='[spin_mediated]\nlog_energy = "1 meV"\n')
    log = math.log(1e-3 * ELECTRON_VOLT_J / BOLTZMANN_J_PER_K / 0.040)
    assert s.derived["spin_mediated_exchange"] == pytest.approx(1 / (2 * log), rel=1e-12)
    ratio = s.derived["spin_mediated_kappa"] / scenario().derived["spin_mediated_kappa"]
    assert ratio == pytest.approx((math.log(0.2e-3 * ELECTRON_VOLT_J / BOLTZMANN_J_PER_K / 0.040) / log) ** 4, rel=1e-12)


def test_it_sits_beside_the_coulomb_kernel_and_adds_relaxation():
    coulomb = "[electron_electron]\nexponent = 1.5\nkappa_dimensionless = 0.3\n"
    with_spins, without = scenario(extra=coulomb + "[spin_mediated]\n"), scenario(extra=coulomb)
    assert sorted(m.exponent for m in spin_mediated_kernels(with_spins)) == [1.5, 2.0]
    f_with, f_without = (steady_state(s.problem).f for s in (with_spins, without))
    double_step = 0.5 * (f_with[0] + f_with[-1])
    mid = f_with.shape[0] // 2
    assert np.abs(f_with[mid] - double_step).sum() > 1.5 * np.abs(f_without[mid] - double_step).sum()


def test_at_zero_field_it_is_accepted_in_a_field_refused():
    assert spin_mediated_kernels(scenario(extra='[field]\nB = "0 T"\n[spin_mediated]\n'))
    with pytest.raises(ValueError, match=r"\[spin_mediated\].*\[field\] B"):
        scenario(extra='[field]\nB = "0.5 T"\n[spin_mediated]\n')


@pytest.mark.parametrize(("impurities", "extra", "message"), [
    ("", "[spin_mediated]\nkappa = 1\n", r"\[spin_mediated\] kappa"),
    ("", '[spin_mediated]\nlog_energy = "50 mK"\n', r"\[spin_mediated\] log_energy"),
])
def test_bad_keys_are_refused_by_name(impurities, extra, message):
    with pytest.raises(ValueError, match=message):
        scenario(impurities, extra)


def test_it_needs_the_kondo_temperature():
    text = BASE.format(impurities="", extra="[spin_mediated]\n").replace(
        'kondo_temperature = "40 mK"', 'spin_glass_temperature = "1 mK"\nspin_flip_rate = "1e9 1/s"')
    with pytest.raises(ValueError, match=r"\[spin_mediated\] needs \[impurities\] kondo_temperature"):
        parse_scenario(text)
    no_impurities = BASE.format(impurities="", extra="[spin_mediated]\n").split("[impurities]")[0] + \
        "[spin_mediated]\n"
    with pytest.raises(ValueError, match=r"\[spin_mediated\] needs \[impurities\] kondo_temperature"):
        parse_scenario(no_impurities)
