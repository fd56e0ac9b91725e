import pytest

from hotelectron.io.scenario import parse_scenario
from hotelectron.kinetics.mechanisms import ElectronPhonon
from hotelectron.kinetics.mechanisms.phonons import kappa_from_sigma
from hotelectron.materials import material
from hotelectron.units import BOLTZMANN_J_PER_K

BASE = """
[wire]
material = "Ag"
length = "20 um"
diffusion_constant = "0.01 m^2/s"

[reservoirs]
temperature = "50 mK"
bias = "0.1 mV"

[phonons]
{phonons}
"""


def phonons_of(scenario):
    return next(m for m in scenario.problem.mechanisms if isinstance(m, ElectronPhonon))


def test_default_sigma_and_bath_temperature():
    s = parse_scenario(BASE.format(phonons=""))
    m = phonons_of(s)
    d = s.derived
    assert d["phonon_sigma_W_per_m3_K^(p+3)"] == material("Ag").electron_phonon_sigma_W_K5_m3 == 0.5e9
    kappa_si = kappa_from_sigma(0.5e9, material("Ag").dos_per_spin_J_m3)
    assert m.kappa == pytest.approx(kappa_si * d["tau_D_s"] * d["energy_unit_J"] ** 3, rel=1e-12)
    assert m.temperature == pytest.approx(0.05 * BOLTZMANN_J_PER_K / d["energy_unit_J"], rel=1e-12)
    assert m.exponent == 2.0


def test_given_sigma_temperature_and_exponent():
    s = parse_scenario(BASE.format(phonons='sigma = "1e10 W K^-6 m^-3"\ntemperature = "20 mK"\nexponent = 3'))
    m = phonons_of(s)
    assert m.exponent == 3.0 and s.derived["phonon_temperature_K"] == pytest.approx(0.02)
    assert s.derived["phonon_sigma_W_per_m3_K^(p+3)"] == pytest.approx(1e10)


@pytest.mark.parametrize("text, match", [
    ('sigma = "2e9 W K^-6 m^-3"', r"\[phonons\] sigma"),  # p = 2 needs K^-5
    ('sigma = "2e9"', r"\[phonons\] sigma"),
    ("exponent = 0.5", r"\[phonons\] exponent"),
    ('temprature = "1 K"', "temprature"),
    ('sigma = "2e9 W K^-5 m^-3"\nkappa_dimensionless = 1.0', "exclude"),
])
def test_bad_phonon_keys_are_refused_naming_the_key(text, match):
    with pytest.raises(ValueError, match=match):
        parse_scenario(BASE.format(phonons=text))


def test_dimensionless_phonons():
    s = parse_scenario('[dimensionless]\ntemperature = 0.05\nphonon_kappa = 3.0\nphonon_exponent = 2\n')
    m = phonons_of(s)
    assert (m.kappa, m.temperature, m.exponent) == (3.0, 0.05, 2.0)
    with pytest.raises(ValueError, match=r"\[dimensionless\] phonon_temperature needs"):
        parse_scenario('[dimensionless]\ntemperature = 0.05\nphonon_temperature = 0.1\n')
