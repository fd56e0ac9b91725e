"""The Kondo regime checked at loading: the unitary bound on 1/tau_s, the size of the Kondo logarithm."""

import math
from pathlib import Path

import pytest

from hotelectron.io.scenario import parse_scenario

# constants written out here, independently of hotelectron.units (CODATA 2018, exact in SI 2019)
KB = 1.380649e-23
EV = 1.602176634e-19
HBAR = 6.62607015e-34 / (2 * math.pi)
NU_AU = 4.99434e46  # Au density of states per spin, J^-1 m^-3 (hotelectron.materials)
N_AU = 5.90e28

# the former default scenario, one bias at a time: AuFe 7.1 ppm, T_K = 0.3 K, 25 mK
OLD_DEFAULT = """
[wire]
material = "Au"
length = "5 um"
diffusion_constant = "0.01 m^2/s"

[reservoirs]
temperature = "25 mK"
bias = "{bias}"

[impurities]
spin = 1.5
concentration = "7.1 ppm"
{rate}

[grid]
n_x = 17
n_energy = 801
half_width = 4.0
"""


def old_default(bias="0.1 mV", rate='kondo_temperature = "0.3 K"'):
    return OLD_DEFAULT.format(bias=bias, rate=rate)


def unitary_bound(ppm):
    return 2 * ppm * 1e-6 * N_AU / (math.pi * HBAR * NU_AU)


@pytest.mark.parametrize(("bias", "log"), [("0.1 mV", 1.3528), ("0.2 mV", 2.0459), ("0.3 mV", 2.4514)])
def test_old_default_is_warned_of_a_small_logarithm_and_screened_spins(bias, log):
    s = parse_scenario(old_default(bias))
    assert s.derived["kondo_log"] == pytest.approx(log, abs=1e-4)
    small = [w for w in s.warnings if "perturbative logarithm is small" in w]
    screened = [w for w in s.warnings if "Kondo-screened" in w]
    assert len(small) == 1 and len(screened) == 1
    assert "[impurities] kondo_temperature" in small[0] and "[reservoirs] bias" in small[0]
    assert "[reservoirs] temperature" in screened[0] and "[impurities] kondo_temperature" in screened[0]
    # the Nagaoka-Hamann rate stays below a quarter of the unitary bound
    assert s.derived["unitary_spin_flip_rate_per_s"] == pytest.approx(unitary_bound(7.1), rel=1e-5)
    assert s.derived["spin_flip_rate_per_s"] < unitary_bound(7.1) / 4


def test_no_kondo_warning_well_above_T_K():
    s = parse_scenario(old_default("0.3 mV", 'kondo_temperature = "10 mK"').replace('"25 mK"', '"50 mK"'))
    assert math.log(0.3e-3 * EV / KB / 0.01) > 3
    assert not [w for w in s.warnings if "kondo" in w.lower()]


def test_logarithm_below_one_is_refused_naming_the_keys():
    # eU = 0.1 meV = 1.16 K, T_K = 0.5 K: ln = 0.84
    with pytest.raises(ValueError, match=r"\[impurities\] kondo_temperature.*\[reservoirs\] bias.*meaningless"):
        parse_scenario(old_default("0.1 mV", 'kondo_temperature = "0.5 K"'))


def direct(rate_per_s):
    return f'spin_glass_temperature = "1 mK"\nspin_flip_rate = "{rate_per_s!r} 1/s"'


def test_a_rate_at_the_unitary_bound_is_accepted_and_above_it_refused():
    bound = unitary_bound(7.1)
    s = parse_scenario(old_default(rate=direct(bound * (1 - 1e-9))))
    assert s.derived["spin_flip_rate_per_s"] == pytest.approx(bound, rel=1e-8)
    # the formerly derived VGL (52) rate of this alloy, 4.1e12 1/s, is 80 times the bound
    with pytest.raises(ValueError) as info:
        parse_scenario(old_default(rate=direct(4.1e12)))
    message = str(info.value)
    assert "\n" not in message
    assert "[impurities] spin_flip_rate" in message and "[impurities] concentration" in message
    assert "unitary bound" in message and "lower spin_flip_rate" in message and "lower T_K" in message
    with pytest.raises(ValueError, match="unitary bound"):
        parse_scenario(old_default(rate=direct(bound * (1 + 1e-6))))


def test_the_default_scenario_is_in_the_valid_regime_without_warnings():
    path = Path(__file__).resolve().parents[2] / "scenarios" / "default.toml"
    text = path.read_text(encoding="utf-8")
    series = 'bias = ["0.1 mV", "0.2 mV", "0.3 mV"]'
    assert series in text
    for bias in ("0.1 mV", "0.2 mV", "0.3 mV"):
        s = parse_scenario(text.replace(series, f'bias = "{bias}"'))
        assert s.warnings == ()
        d = s.derived
        assert d["kondo_log"] > 3 and d["temperature_left_K"] > d["kondo_temperature_K"]
        assert d["spin_flip_rate_per_s"] < d["unitary_spin_flip_rate_per_s"] / 4
        assert d["mode"] == "evolve" and d["end_time_tau_D"] == pytest.approx(8.0)
