"""Scenario files: derived numbers against hand calculations, every refusal, and fuzzing of the parser."""

import json
import logging
import math
import re
import tokenize

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotelectron import units
from hotelectron.kinetics.mechanisms import ElectronElectron, PairScattering
from hotelectron.io.filekind import SCENARIO_SECTIONS
from hotelectron.io.scenario import load_scenario, parse_scenario
from hotelectron.io.scenario.loader import SECTION_KEYS, unknown_key

# constants written out here, independently of hotelectron.units (CODATA 2018, exact in SI 2019)
KB = 1.380649e-23
EV = 1.602176634e-19
HBAR = 6.62607015e-34 / (2 * math.pi)

AUFE = """
[wire]
material = "Au"
length = "5 um"
diffusion_constant = "0.01 m^2/s"

[reservoirs]
temperature = "25 mK"
bias = "0.3 mV"

[impurities]
spin = 2.5
concentration = "60 ppm"
kondo_temperature = "0.3 K"

[grid]
n_x = 33
n_energy = 801
half_width = 4.0

[run]
mode = "evolve"
end_time = "2 tau_D"
output_every = "0.1 tau_D"
pairs_every = 2
initial = "quench"
"""

CU_EE = """
[wire]
material = "Cu"
length = "5 um"
resistance = "100 ohm"
cross_section = "50 nm * 100 nm"

[reservoirs]
temperature = "25 mK"
bias = "0.2 mV"

[electron_electron]
exponent = 1.5
kappa = "0.1 1/ns/meV^0.5"

[run]
end_time = "1 ns"
output_every = "0.1 ns"
"""

DIMENSIONLESS = """
[dimensionless]
temperature = 0.02
bias = 1.0
pair_rate = 2.0
pair_relaxation = 50.0
v_min = 0.05
spin = 1.5
kappa = 0.3
exponent = 2

[grid]
n_x = 17
n_energy = 401
half_width = 4.0

[run]
mode = "box"
end_time = 3
output_every = "0.5 tau_D"

[run.bump]
energy = "0.7 E0"
width = 0.1
height = 0.5
"""


def _mechanism(problem, kind):
    (m,) = [m for m in problem.mechanisms if isinstance(m, kind)]
    return m


def test_aufe_scenario_derived_numbers_match_hand_calculations():
    s = parse_scenario(AUFE)
    d = s.derived
    L, D = 5e-6, 0.01
    assert s.tau_D_s == pytest.approx(L**2 / D, rel=1e-12) and d["tau_D_s"] == s.tau_D_s
    eU = 0.3e-3 * EV
    assert s.energy_unit_J == pytest.approx(eU, rel=1e-12)
    assert s.energy_unit == "eU = 0.3 meV"
    # Au, free electrons (Ashcroft & Mermin): n = 5.90e28 m^-3, E_F = 5.53 eV, v_F = 1.40e6 m/s
    n_s = 60e-6 * 5.90e28
    nu = 3 * 5.90e28 / (4 * 5.53 * EV)
    assert d["n_s_m3"] == pytest.approx(n_s, rel=1e-12)
    assert d["nu_per_spin_J_m3"] == pytest.approx(nu, rel=1e-12)
    # VGL (10) with nu J_0 = 1/(2 ln) of one-loop scaling: T_sg = n_s / (8 pi nu ln^2(hbar v_F n_s^(1/3) / T_K))
    log10 = math.log(HBAR * 1.40e6 * n_s ** (1 / 3) / (KB * 0.3))
    T_sg_K = n_s / (8 * math.pi * nu * log10**2) / KB
    assert d["T_sg_K"] == pytest.approx(T_sg_K, rel=1e-12)
    assert 0.002 < T_sg_K < 0.004  # 1/16 of the printed VGL (10), tens of mK, at 60 ppm
    # Nagaoka-Hamann at the hot-electron energy eU, nu_F = 2 nu, hbar restored
    S = 2.5
    log52 = math.log(eU / (KB * 0.3))
    s2 = math.pi**2 * S * (S + 1)
    rate = n_s / (math.pi * HBAR * 2 * nu) * s2 / (s2 + log52**2)
    assert d["spin_flip_rate_per_s"] == pytest.approx(rate, rel=1e-12)
    assert d["tau_s_s"] == pytest.approx(1 / rate, rel=1e-12)
    # Gamma tau_s T_sg = 4 nu T_sg/(n_s S(S+1)) = 2 (nu J_0)^2 / (pi S(S+1)), nu J_0 = 1/(2 ln(v_F n_s^(1/3)/T_K))
    identity = d["Gamma_per_J_s"] * d["tau_s_s"] * KB * d["T_sg_K"]
    assert identity == pytest.approx(2 * (1 / (2 * log10)) ** 2 / (math.pi * S * (S + 1)), rel=1e-12)
    # dimensionless strengths (SPEC section 6) and the mechanism built from them
    pairs = _mechanism(s.problem, PairScattering)
    assert pairs.S == S
    assert pairs.rate == pytest.approx(L**2 / D * KB * T_sg_K * rate / eU, rel=1e-12) == d["pair_rate"]
    assert pairs.relaxation == pytest.approx(d["Gamma_per_J_s"] * L**2 / D * eU, rel=1e-12)
    # default cutoff: pair probability (8/3) T_sg/V_min = 0.3
    assert pairs.couplings.v_min == pytest.approx(8 / 3 * KB * T_sg_K / 0.3 / eU, rel=1e-12) == d["v_min"]
    assert d["pair_probability"] == pytest.approx(0.3, rel=1e-12)
    assert d["V_min_K"] == pytest.approx(8 / 3 * T_sg_K / 0.3, rel=1e-12)
    # 25 mK < T_K and ln(eU/T_K) = 2.45 < 3: only the two Kondo-regime warnings (tests/io/test_kondo_regime.py)
    assert len(s.warnings) == 2 and all("kondo_temperature" in w for w in s.warnings)
    # grid, reservoirs and run control
    p = s.problem
    assert (p.energy.n, p.wire.n, p.energy.step) == (801, 33, pytest.approx(0.01, rel=1e-14))
    assert (p.mu_left, p.mu_right) == (0.5, -0.5)
    assert p.temperature_left == pytest.approx(KB * 0.025 / eU, rel=1e-12)
    assert (s.mode, s.end_time, s.output_every, s.pairs_every, s.initial, s.bump) == ("evolve", 2.0, 0.1, 2, "quench", None)
    json.dumps(d)  # JSON-serialisable
    assert all(isinstance(v, float | int | str) for v in d.values())


def test_cu_scenario_diffusion_from_resistance_and_kappa_conversion():
    s = parse_scenario(CU_EE)
    d = s.derived
    L, R, A = 5e-6, 100.0, 50e-9 * 100e-9
    nu = 3 * 8.47e28 / (4 * 7.00 * EV)  # Cu, per spin
    D = L / (R * A * EV**2 * 2 * nu)  # sigma = e^2 (2 nu) D, R = L/(sigma A)
    assert d["diffusion_m2_s"] == pytest.approx(D, rel=1e-12)
    assert 0.001 < D < 0.1  # a plausible metal
    tau_D = L**2 / D
    assert s.tau_D_s == pytest.approx(tau_D, rel=1e-12)
    # kappa tau_D E0^(2 - a), a = 3/2: 0.1 per ns per sqrt(meV) times tau_D times sqrt(0.2 meV)
    ee = _mechanism(s.problem, ElectronElectron)
    assert ee.exponent == 1.5
    assert ee.kappa == pytest.approx(0.1e9 * tau_D * math.sqrt(0.2), rel=1e-12) == d["kappa_dimensionless"]
    assert d["kappa_J^(a-2)_per_s"] == pytest.approx(0.1e9 / math.sqrt(1e-3 * EV), rel=1e-12)
    assert s.end_time == pytest.approx(1e-9 / tau_D, rel=1e-12)
    assert s.output_every == pytest.approx(1e-10 / tau_D, rel=1e-12)
    assert s.problem.pairs is None


def test_kappa_is_recorded_in_si_and_against_the_screened_coulomb_value_of_the_wire():
    """kappa given dimensionless is recorded in J^(a-2)/s too, and for a = 3/2 with a cross-section beside
    the wire's screened Coulomb value 1/(pi sqrt(2 D) hbar^(3/2) nu_F A), nu_F = 2 nu, written out here."""
    s = parse_scenario(CU_EE)
    d = s.derived
    E0 = d["energy_unit_J"]
    text = CU_EE.replace('kappa = "0.1 1/ns/meV^0.5"', f"kappa_dimensionless = {d['kappa_dimensionless']!r}")
    assert text != CU_EE
    again = parse_scenario(text).derived
    assert again["kappa_J^(a-2)_per_s"] == pytest.approx(d["kappa_J^(a-2)_per_s"], rel=1e-12)
    assert again["kappa_J^(a-2)_per_s"] == pytest.approx(d["kappa_dimensionless"] / (s.tau_D_s * E0**0.5), rel=1e-12)
    theory = 1 / (math.pi * math.sqrt(2 * d["diffusion_m2_s"]) * HBAR**1.5 * 2 * d["nu_per_spin_J_m3"]
                  * d["cross_section_m2"])
    assert d["kappa_coulomb_theory_J^-0.5_per_s"] == pytest.approx(theory, rel=1e-12)
    assert d["kappa_over_coulomb_theory"] == pytest.approx(d["kappa_J^(a-2)_per_s"] / theory, rel=1e-12)
    assert "kappa_coulomb_theory_J^-0.5_per_s" not in parse_scenario(AUFE).derived  # no cross-section, no e-e


def test_cross_section_with_diffusion_constant_gives_the_resistance_that_gives_back_the_diffusion_constant():
    # the two routes of the Einstein relation: (R, A) -> D above, (D, A) -> R here, and round trip
    D_given = parse_scenario(CU_EE).derived["diffusion_m2_s"]
    text = CU_EE.replace('resistance = "100 ohm"', f'diffusion_constant = "{D_given!r} m^2/s"')
    d = parse_scenario(text).derived
    assert d["resistance_ohm"] == pytest.approx(100.0, rel=1e-13)
    nu = 3 * 8.47e28 / (4 * 7.00 * EV)  # Cu, per spin, from the free-electron constants written out here
    assert d["resistance_ohm"] == pytest.approx(5e-6 / (EV**2 * 2 * nu * D_given * 50e-9 * 100e-9), rel=1e-12)
    assert d["cross_section_m2"] == pytest.approx(50e-9 * 100e-9, rel=1e-13)
    assert d["diffusion_m2_s"] == D_given
    no_area = parse_scenario(AUFE).derived
    assert "resistance_ohm" not in no_area and "cross_section_m2" not in no_area


def test_kappa_with_exponent_two_does_not_depend_on_the_bias():
    text = CU_EE.replace("exponent = 1.5", "exponent = 2").replace('"0.1 1/ns/meV^0.5"', '"1 1/ns"')
    k = [_mechanism(parse_scenario(text.replace("0.2 mV", bias)).problem, ElectronElectron).kappa
         for bias in ("0.1 mV", "0.2 mV", "0.5 mV")]
    assert k[0] == pytest.approx(k[1], rel=1e-14) == pytest.approx(k[2], rel=1e-14)


def test_explicit_material_constants_reproduce_the_named_host():
    named = parse_scenario(AUFE)
    nu = 3 * 5.90e28 / (4 * 5.53 * EV)
    explicit = parse_scenario(AUFE.replace(
        'material = "Au"', f'dos_per_spin = "{nu!r} 1/(J m^3)"\nfermi_velocity = "1.4e6 m/s"\natomic_density = "5.9e28 1/m^3"'
    ))
    for key in ("T_sg_K", "tau_s_s", "Gamma_per_J_s", "pair_rate", "pair_relaxation", "v_min"):
        assert explicit.derived[key] == pytest.approx(named.derived[key], rel=1e-12)


def test_direct_impurity_parameters():
    text = AUFE.replace('kondo_temperature = "0.3 K"', 'spin_glass_temperature = "40 mK"\nspin_flip_rate = "6e10 1/s"')
    d = parse_scenario(text).derived
    assert d["T_sg_K"] == pytest.approx(0.04) and d["tau_s_s"] == pytest.approx(1 / 6e10)
    assert d["pair_rate"] == pytest.approx(2.5e-9 * 0.04 * KB * 6e10 / (0.3e-3 * EV), rel=1e-12)
    n_s, nu = 60e-6 * 5.90e28, 3 * 5.90e28 / (4 * 5.53 * EV)
    assert d["Gamma_per_J_s"] == pytest.approx(4 * nu * 6e10 / (n_s * 2.5 * 3.5), rel=1e-12)


def test_dimensionless_section_maps_one_to_one():
    s = parse_scenario(DIMENSIONLESS)
    p = s.problem
    pairs = _mechanism(p, PairScattering)
    ee = _mechanism(p, ElectronElectron)
    assert (pairs.S, pairs.rate, pairs.relaxation, pairs.couplings.v_min) == (1.5, 2.0, 50.0, 0.05)
    assert pairs.couplings.step == p.energy.step == 0.02 and pairs.couplings.k_max == 200
    assert (ee.kappa, ee.exponent) == (0.3, 2.0)
    assert (p.mu_left, p.mu_right, p.temperature_left, p.temperature_right) == (0.5, -0.5, 0.02, 0.02)
    assert (p.energy.n, p.wire.n) == (401, 17)
    assert s.energy_unit == "E0" and s.energy_unit_J is None and s.tau_D_s is None
    assert (s.mode, s.end_time, s.output_every) == ("box", 3.0, 0.5)
    assert s.bump == {"energy": 0.7, "width": 0.1, "height": 0.5}
    assert "tau_D_s" not in s.derived
    json.dumps(s.derived)


def test_dimensionless_zero_temperature_and_default_grid():
    s = parse_scenario("[dimensionless]\ntemperature = 0\nkappa = 1.0\n")
    assert s.problem.temperature_left == 0 and s.problem.energy.half_width == 4.0 and s.problem.energy.n == 801
    assert s.mode == "evolve" and s.end_time == 2.0 and s.output_every == 0.1


def test_coarse_grid_is_refused_in_physical_units_and_warned_about_in_dimensionless_ones():
    with pytest.raises(ValueError, match=r"\[grid\] n_energy = 401.*k_B T.*e\.g\. n_energy = \d+"):
        parse_scenario(AUFE.replace("n_energy = 801", "n_energy = 401"))
    s = parse_scenario(DIMENSIONLESS.replace("n_energy = 401", "n_energy = 161"))
    assert s.problem.energy.n == 161
    assert len(s.warnings) == 1 and "Fermi edge is not resolved" in s.warnings[0]


def test_zero_bias_uses_k_B_T_and_a_wider_default_grid():
    s = parse_scenario(CU_EE.replace('"0.2 mV"', '"0 mV"'))
    assert s.energy_unit_J == pytest.approx(KB * 0.025, rel=1e-12)
    assert s.energy_unit.startswith("k_B T = 25 mK")
    assert s.problem.temperature_left == pytest.approx(1.0)
    assert s.problem.energy.half_width >= 24  # Fermi tails below 1e-10 at the edges


def test_grid_defaults_follow_the_temperature_criterion():
    # 5 mK at eU = 0.3 meV: k_B T = 1.44e-3 eU, so the step must be <= 2.9e-3 eU
    s = parse_scenario(AUFE.replace('"25 mK"', '"5 mK"').replace("n_energy = 801\n", ""))
    n = s.problem.energy.n
    assert s.problem.energy.step <= 2 * s.problem.temperature_left
    assert n % 2 == 1 and (n - 1) % 16 == 0  # +-0.5 on grid points of [-4, 4]
    assert s.derived["n_energy"] == n


def test_refused_n_energy_suggests_one_that_parses():
    with pytest.raises(ValueError, match=r"\[grid\] n_energy") as info:
        parse_scenario(AUFE.replace("n_energy = 801", "n_energy = 803"))
    suggested = int(re.search(r"n_energy = (\d+)$", str(info.value)).group(1))
    assert suggested > 803
    assert parse_scenario(AUFE.replace("n_energy = 801", f"n_energy = {suggested}")).problem.energy.n == suggested


# 0.1 % Fe: T_sg = 37 mK, a pair probability (8/3) T_sg/V_min of order 1 at V_min on the grid
DENSE = AUFE.replace('concentration = "60 ppm"', 'concentration = "1000 ppm"')


def test_pair_probability_warns_then_refuses(caplog):
    with caplog.at_level(logging.WARNING, logger="hotelectron.io.scenario"):
        s = parse_scenario(DENSE.replace('kondo_temperature = "0.3 K"', 'kondo_temperature = "0.3 K"\ncoupling_cutoff = "0.3 K"'))
    assert s.derived["pair_probability"] == pytest.approx(8 / 3 * s.derived["T_sg_K"] / 0.3, rel=1e-12)
    others = [w for w in s.warnings if "Kondo-screened" not in w and "perturbative logarithm" not in w]  # AUFE: warned Kondo regime
    assert len(others) == 1 and "pair picture is doubtful" in others[0]
    assert "pair picture is doubtful" in caplog.text
    with pytest.raises(ValueError, match=r"\[impurities\] coupling_cutoff.*exceeds 1"):
        parse_scenario(DENSE.replace('kondo_temperature = "0.3 K"', 'kondo_temperature = "0.3 K"\ncoupling_cutoff = "90 mK"'))


def test_load_scenario_reads_the_file_and_names_missing_paths(tmp_path):
    path = tmp_path / "aufe.toml"
    path.write_text(AUFE, encoding="utf-8")
    s = load_scenario(path)
    assert s.text == AUFE and s.path == str(path)
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        load_scenario(tmp_path / "missing.toml")
    path.write_text(AUFE.replace('"5 um"', '"5 zorks"'), encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(str(path)) + r".*\[wire\] length"):
        load_scenario(path)


def _edit(text, old, new):
    assert old in text, old
    return text.replace(old, new)


BAD = [
    # (where, old, new, key named in the message)
    ("aufe", "[wire]", "[wires]", r"\[wires\]"),
    ("aufe", 'length = "5 um"', 'lenght = "5 um"', r"\[wire\] lenght"),
    ("aufe", 'length = "5 um"\n', "", r"\[wire\] length"),
    ("aufe", 'length = "5 um"', "length = 5", r"\[wire\] length.*unit is missing"),
    ("aufe", 'length = "5 um"', 'length = "5 K"', r"\[wire\] length.*not length"),
    ("aufe", 'length = "5 um"', 'length = "-5 um"', r"\[wire\] length.*positive"),
    ("aufe", 'length = "5 um"', 'length = "0 um"', r"\[wire\] length.*positive"),
    ("aufe", 'length = "5 um"', 'length = "nan um"', r"\[wire\] length.*not finite"),
    ("aufe", 'length = "5 um"', 'length = "inf um"', r"\[wire\] length.*not finite"),
    ("aufe", 'length = "5 um"', 'length = "five um"', r"\[wire\] length.*number"),
    ("aufe", 'material = "Au"', 'material = "Pb"', r"\[wire\] material"),
    ("aufe", 'material = "Au"', "material = 79", r"\[wire\] material"),
    ("aufe", 'material = "Au"\n', "", r"\[wire\] material"),
    ("aufe", 'material = "Au"', 'material = "Au"\ndos_per_spin = "5e46 1/(J m^3)"', r"\[wire\] material"),
    ("aufe", 'material = "Au"', 'dos_per_spin = "5e46 1/(J m^3)"', r"\[wire\] fermi_velocity"),
    ("aufe", 'material = "Au"', 'dos_per_spin = "5e46 1/m^3"\nfermi_velocity = "1.4e6 m/s"\natomic_density = "5.9e28 1/m^3"',
     r"\[wire\] dos_per_spin"),
    ("aufe", 'diffusion_constant = "0.01 m^2/s"\n', "", r"\[wire\] diffusion_constant"),
    ("aufe", 'diffusion_constant = "0.01 m^2/s"', 'diffusion_constant = "0.01 m/s"', r"\[wire\] diffusion_constant"),
    ("aufe", 'diffusion_constant = "0.01 m^2/s"', 'diffusion_constant = "0.01 m^2/s"\nresistance = "100 ohm"',
     r"\[wire\] diffusion_constant"),
    ("aufe", 'diffusion_constant = "0.01 m^2/s"', 'resistance = "100 ohm"', r"\[wire\] cross_section"),
    ("cu", 'cross_section = "50 nm * 100 nm"', 'cross_section = "50 nm * 100 K"', r"\[wire\] cross_section"),
    ("cu", 'cross_section = "50 nm * 100 nm"', 'cross_section = "50 nm"', r"\[wire\] cross_section"),
    ("cu", 'resistance = "100 ohm"', 'resistance = "100 V"', r"\[wire\] resistance"),
    ("aufe", "[reservoirs]", "[reservoir]", r"\[reservoir\]"),
    ("aufe", 'temperature = "25 mK"\n', "", r"\[reservoirs\] temperature"),
    ("aufe", 'temperature = "25 mK"', 'temperature = "0 K"', r"\[reservoirs\] temperature.*positive"),
    ("aufe", 'temperature = "25 mK"', 'temperature = "-25 mK"', r"\[reservoirs\] temperature"),
    ("aufe", 'temperature = "25 mK"', 'temperature = "25 mm"', r"\[reservoirs\] temperature"),
    ("aufe", 'temperature = "25 mK"', 'temperature = "25 mK"\ntemperature_left = "25 mK"', r"\[reservoirs\] temperature"),
    ("aufe", 'temperature = "25 mK"', 'temperature_left = "25 mK"', r"\[reservoirs\] temperature_right"),
    ("aufe", 'bias = "0.3 mV"\n', "", r"\[reservoirs\] bias"),
    ("aufe", 'bias = "0.3 mV"', 'bias = "0.3 mA"', r"\[reservoirs\] bias"),
    ("aufe", 'bias = "0.3 mV"', 'bias = 0.3', r"\[reservoirs\] bias"),
    ("aufe", 'bias = "0.3 mV"', 'mu_left = "0.15 mV"', r"\[reservoirs\] mu_right"),
    ("aufe", 'bias = "0.3 mV"', 'bias = "0.3 mV"\nmu_left = "0.15 mV"', r"\[reservoirs\] bias"),
    ("aufe", "spin = 2.5", "spin = 2.4", r"\[impurities\] spin"),
    ("aufe", "spin = 2.5", "spin = -0.5", r"\[impurities\] spin"),
    ("aufe", "spin = 2.5", 'spin = "2.5"', r"\[impurities\] spin"),
    ("aufe", "spin = 2.5", "spin = nan", r"\[impurities\] spin"),
    ("aufe", "spin = 2.5\n", "", r"\[impurities\] spin"),
    ("aufe", 'concentration = "60 ppm"', 'concentration = "60"', r"\[impurities\] concentration.*unit"),
    ("aufe", 'concentration = "60 ppm"', 'concentration = "60 ppm m"', r"\[impurities\] concentration"),
    ("aufe", 'concentration = "60 ppm"\n', "", r"\[impurities\] concentration"),
    ("aufe", 'kondo_temperature = "0.3 K"', 'kondo_temperature = "3 K"', r"\[impurities\] kondo_temperature.*\[reservoirs\] bias.*meaningless"),
    ("aufe", 'kondo_temperature = "0.3 K"\n', "", r"\[impurities\] kondo_temperature"),
    ("aufe", 'kondo_temperature = "0.3 K"', 'kondo_temperature = "0.3 K"\nspin_flip_rate = "6e10 1/s"',
     r"\[impurities\] kondo_temperature"),
    ("aufe", 'kondo_temperature = "0.3 K"', 'spin_flip_rate = "6e10 1/s"', r"\[impurities\] spin_glass_temperature"),
    ("aufe", 'kondo_temperature = "0.3 K"', 'kondo_temperature = "0.3 K"\ncoupling_cutoff = "1 um"',
     r"\[impurities\] coupling_cutoff"),
    ("aufe", 'kondo_temperature = "0.3 K"', 'kondo_temperature = "0.3 K"\ncoupling_cutoff = "1 uK"',
     r"\[impurities\] coupling_cutoff.*half an energy step"),
    ("aufe", 'kondo_temperature = "0.3 K"', 'kondo_temperature = "0.3 K"\ncoupling_cutoff = "100 K"',
     r"\[impurities\] coupling_cutoff.*beyond the energy grid"),
    ("cu", "exponent = 1.5", "exponent = 3", r"\[electron_electron\] exponent"),
    ("cu", "exponent = 1.5", 'exponent = "1.5"', r"\[electron_electron\] exponent"),
    ("cu", 'kappa = "0.1 1/ns/meV^0.5"', 'kappa = "0.1 1/ns"', r"\[electron_electron\] kappa.*dimension"),
    ("cu", 'kappa = "0.1 1/ns/meV^0.5"', 'kappa = "-0.1 1/ns/meV^0.5"', r"\[electron_electron\] kappa.*positive"),
    ("cu", 'kappa = "0.1 1/ns/meV^0.5"', "kappa = 0.1", r"\[electron_electron\] kappa"),
    ("cu", 'kappa = "0.1 1/ns/meV^0.5"\n', "", r"\[electron_electron\] kappa"),
    ("cu", 'kappa = "0.1 1/ns/meV^0.5"', 'kappa = "0.1 1/ns/meV^0.5"\nkappa_dimensionless = 0.3',
     r"\[electron_electron\] kappa"),
    ("cu", 'kappa = "0.1 1/ns/meV^0.5"', "kappa_dimensionless = -0.3", r"\[electron_electron\] kappa_dimensionless"),
    ("aufe", "n_x = 33", "n_x = 32", r"\[grid\] n_x.*odd"),
    ("aufe", "n_x = 33", "n_x = 3", r"\[grid\] n_x"),
    ("aufe", "n_x = 33", "n_x = 33.0", r"\[grid\] n_x.*integer"),
    ("aufe", "n_x = 33", "n_x = true", r"\[grid\] n_x"),
    ("aufe", "n_energy = 801", "n_energy = 800", r"\[grid\] n_energy"),
    ("aufe", "n_energy = 801", "n_energy = 803", r"\[grid\] n_energy.*e\.g\. n_energy = \d+"),
    ("aufe", "n_energy = 801", "n_energy = 401", r"\[grid\] n_energy.*k_B T"),
    ("aufe", "n_energy = 801", "n_energy = 100000000001", r"\[grid\] n_energy"),
    ("aufe", "half_width = 4.0", "half_width = 1.0", r"\[grid\] half_width"),
    ("aufe", "half_width = 4.0", "half_width = -4.0", r"\[grid\] half_width"),
    ("aufe", "half_width = 4.0", "half_width = inf", r"\[grid\] half_width"),
    ("aufe", "half_width = 4.0", "half_width = 4.0\nn_y = 3", r"\[grid\] n_y"),
    ("aufe", 'mode = "evolve"', 'mode = "evolution"', r"\[run\] mode"),
    ("aufe", 'mode = "evolve"', 'mode = "steady"', r"\[run\] end_time.*steady"),
    ("aufe", 'mode = "evolve"', 'mode = "box"', r"\[run.bump\]"),
    ("aufe", 'end_time = "2 tau_D"', 'end_time = "2 tau"', r"\[run\] end_time"),
    ("aufe", 'end_time = "2 tau_D"', 'end_time = "-2 tau_D"', r"\[run\] end_time"),
    ("aufe", 'end_time = "2 tau_D"', 'end_time = "2 m"', r"\[run\] end_time"),
    ("aufe", 'end_time = "2 tau_D"', "end_time = 2", r"\[run\] end_time.*unit is missing"),
    ("aufe", 'end_time = "2 tau_D"', 'end_time = "nan tau_D"', r"\[run\] end_time = 'nan tau_D': .*positive and finite"),
    ("aufe", 'end_time = "2 tau_D"', 'end_time = "-inf tau_D"', r"\[run\] end_time = '-inf tau_D': .*positive and finite"),
    ("aufe", 'end_time = "2 tau_D"\noutput_every = "0.1 tau_D"\n', 'end_time = "0.05 tau_D"\n', r"\[run\] end_time .* shorter than the default frame interval \[run\] output_every = '0.1 tau_D'"),
    ("aufe", 'output_every = "0.1 tau_D"', 'output_every = "3 tau_D"', r"\[run\] output_every"),
    ("aufe", 'output_every = "0.1 tau_D"', 'output_every = "1e-9 tau_D"', r"\[run\] output_every.*frames"),
    ("aufe", "pairs_every = 2", "pairs_every = 0", r"\[run\] pairs_every"),
    ("aufe", 'initial = "quench"', 'initial = "hot"', r"\[run\] initial"),
    ("aufe", 'initial = "quench"', 'initial = "quench"\n[run.bump]\nenergy = "0.2 meV"\nwidth = "0.02 meV"',
     r"\[run.bump\] height"),
    ("aufe", 'initial = "quench"', 'initial = "quench"\n[run.bump]\nenergy = "0.2 meV"\nwidth = "0.02 meV"\nheight = 2',
     r"\[run.bump\] height"),
    ("aufe", 'initial = "quench"', 'initial = "quench"\n[run.bump]\nenergy = "0.2 meV"\nwidth = "-1 E0"\nheight = 0.5',
     r"\[run.bump\] width"),
    ("aufe", 'initial = "quench"', 'initial = "quench"\n[run.bump]\nenergy = "nan E0"\nwidth = "0.1 E0"\nheight = 0.5',
     r"\[run.bump\] energy = 'nan E0': the value must be finite"),
    ("aufe", 'initial = "quench"', 'initial = "quench"\n[run.bump]\nenergy = 0.2\nwidth = "0.1 E0"\nheight = 0.5',
     r"\[run.bump\] energy"),
    ("aufe", "[wire]", "[dimensionless]\ntemperature = 0.1\n[wire]", r"\[dimensionless\] and \[wire\]"),
    ("dimensionless", "\n[grid]", '\n[field]\nB = "0.5 T"\n[grid]', r"\[dimensionless\] and \[field\]"),
    ("dimensionless", "\n[grid]", "\n[spin_mediated]\n[grid]", r"\[dimensionless\] and \[spin_mediated\]"),
    ("cu", "\n[wire]", "\ngrid = 5\n[wire]", r"\[grid\] must be a table"),
    ("aufe", "[wire]", "[wire", r"not valid TOML"),
    ("dimensionless", "temperature = 0.02", "temperature = -0.02", r"\[dimensionless\] temperature"),
    ("dimensionless", "temperature = 0.02\n", "", r"\[dimensionless\] temperature"),
    ("dimensionless", "bias = 1.0", 'bias = "1 mV"', r"\[dimensionless\] bias"),
    ("dimensionless", "pair_rate = 2.0\n", "", r"\[dimensionless\] pair_rate"),
    ("dimensionless", "pair_relaxation = 50.0", "pair_relaxation = 0", r"\[dimensionless\] pair_relaxation"),
    ("dimensionless", "v_min = 0.05\n", "", r"\[dimensionless\] v_min"),
    ("dimensionless", "v_min = 0.05", "v_min = 0.001", r"\[dimensionless\] v_min.*half an energy step"),
    ("dimensionless", "v_min = 0.05", "v_min = 0.05\nspin_glass_temperature = 0.05", r"\[dimensionless\] v_min.*exceeds 1"),
    ("dimensionless", "spin = 1.5", "spin = 0", r"\[dimensionless\] spin"),
    ("dimensionless", "kappa = 0.3\n", "", r"\[dimensionless\] exponent"),
    ("dimensionless", "kappa = 0.3", "kappa = nan", r"\[dimensionless\] kappa"),
    ("dimensionless", "kappa = 0.3", "kappa = 0.3\nmaterial = 'Au'", r"\[dimensionless\] material"),
    ("dimensionless", "end_time = 3", 'end_time = "1 ns"', r"\[run\] end_time.*no physical time"),
    ("dimensionless", 'energy = "0.7 E0"', 'energy = "0.7 meV"', r"\[run.bump\] energy"),
    ("dimensionless", "height = 0.5", "height = 0.5\nshape = 'gauss'", r"\[run.bump\] shape"),
]


@pytest.mark.parametrize(("base", "old", "new", "pattern"), BAD, ids=[f"{i}-{b[3][:30]}" for i, b in enumerate(BAD)])
def test_every_refusal_names_the_key(base, old, new, pattern):
    text = _edit({"aufe": AUFE, "cu": CU_EE, "dimensionless": DIMENSIONLESS}[base], old, new)
    with pytest.raises(ValueError, match=pattern):
        parse_scenario(text)


def test_the_bases_of_the_refusal_table_parse():
    for text in (AUFE, CU_EE, DIMENSIONLESS):
        parse_scenario(text)


# -- fuzzing -----------------------------------------------------------------------------------
BASE = {
    "wire": {"material": "Au", "length": "5 um", "diffusion_constant": "0.01 m^2/s"},
    "reservoirs": {"temperature": "25 mK", "bias": "0.3 mV"},
    "impurities": {"spin": 2.5, "concentration": "60 ppm", "kondo_temperature": "0.3 K"},
    "electron_electron": {"exponent": 1.5, "kappa": "0.1 1/ns/meV^0.5"},
    "field": {"B": "0.5183 T", "g": 2.0},  # Delta_Z = 20.00 energy steps
    "grid": {"n_x": 9, "n_energy": 801, "half_width": 4.0},
    "run": {"mode": "evolve", "end_time": "2 tau_D", "output_every": "0.1 tau_D", "pairs_every": 1,
            "initial": "quench", "bump": {"energy": "0.2 meV", "width": "0.1 E0", "height": 0.5}},
}


def _toml_value(v):
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")  # a TOML basic string
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


def _toml(doc):
    lines = []

    def table(name, t):
        lines.append(f"[{name}]")
        sub = []
        for k, v in t.items():
            if isinstance(v, dict):
                sub.append((f"{name}.{k}", v))
            else:
                lines.append(f"{k} = {_toml_value(v)}")
        for n, s in sub:
            table(n, s)

    for name, t in doc.items():
        table(name, t)
    return "\n".join(lines) + "\n"


def _leaves(doc, prefix=()):
    for k, v in doc.items():
        if isinstance(v, dict):
            yield from _leaves(v, prefix + (k,))
        else:
            yield prefix + (k,)


LEAVES = list(_leaves(BASE))
TABLES = [("wire",), ("reservoirs",), ("impurities",), ("electron_electron",), ("field",), ("grid",), ("run",),
          ("run", "bump")]


def _copy(doc):
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in doc.items()}


def _table_of(doc, path):
    for k in path:
        doc = doc[k]
    return doc


def test_the_keys_known_to_unknown_key_are_those_the_loader_takes():
    """unknown_key (which sweep files check their axes with) reads the tuples the loader checks sections
    against: every section has them, every key of the fuzz base is known, and a key the loader refuses
    is refused in the loader's own words."""
    assert set(SECTION_KEYS) == set(SCENARIO_SECTIONS) | {"run.bump"}
    assert all(unknown_key(".".join(leaf)) is None for leaf in LEAVES)
    for path in TABLES:
        doc = _copy(BASE)
        _table_of(doc, path)["zzz"] = 1
        with pytest.raises(ValueError) as refused:
            parse_scenario(_toml(doc))
        assert str(refused.value) == unknown_key(".".join((*path, "zzz")))


values = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.builds(lambda x, u: f"{x!r} {u}", st.floats(-1e6, 1e6),
              st.sampled_from(["um", "K", "mK", "mV", "meV", "ppm", "1/s", "ns", "tau_D", "E0", "m^2/s", "ohm", "T", "mT",
                               "furlong"])),
)


def test_the_fuzz_base_parses():
    parse_scenario(_toml(BASE))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_scenarios_parse_or_raise_value_error(data):
    doc = _copy(BASE)
    action = data.draw(st.sampled_from(["drop", "unknown_key", "unknown_section", "replace", "negate"]))
    if action == "drop":
        path = data.draw(st.sampled_from(LEAVES))
        del _table_of(doc, path[:-1])[path[-1]]
    elif action == "unknown_key":
        table = data.draw(st.sampled_from(TABLES))
        key = "zz_" + data.draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=8))
        _table_of(doc, table)[key] = data.draw(values)
        with pytest.raises(ValueError, match=re.escape(key)):
            parse_scenario(_toml(doc))
        return
    elif action == "unknown_section":
        name = "zz_" + data.draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=8))
        doc[name] = {"a": 1}
        with pytest.raises(ValueError, match=re.escape(name)):
            parse_scenario(_toml(doc))
        return
    elif action == "replace":
        path = data.draw(st.sampled_from(LEAVES))
        _table_of(doc, path[:-1])[path[-1]] = data.draw(values)
    else:
        path = data.draw(st.sampled_from(LEAVES))
        table = _table_of(doc, path[:-1])
        v = table[path[-1]]
        table[path[-1]] = -v if isinstance(v, int | float) else "-" + v
    try:
        s = parse_scenario(_toml(doc))
    except ValueError as exc:  # every refusal names its section (and key) first, or is a TOML syntax error
        assert re.match(r"\[[a-z_.]+\]", str(exc)) or "not valid TOML" in str(exc), str(exc)
        return
    json.dumps(s.derived, allow_nan=False)  # an accepted scenario carries only finite numbers


def _is_energy(text):
    try:
        units.parse_quantity(text, "energy", "x", positive=True)
    except (ValueError, tokenize.TokenError):
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from([("wire", "length", "length_m"), ("reservoirs", "temperature", "temperature_left_K")]),
    number=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**6)),
    unit=st.one_of(
        st.sampled_from(["um", "nm", "m", "mK", "K", "uK", "meV", "ueV", "degC", "kelvin", "micrometer", "in", "ft",
                         "s", "m^2", "1/m", "", "um^1", "um*um/um", "(um)", "K/K", "percent", "eV/boltzmann_constant"]),
        st.text(max_size=12),
    ),
)
def test_random_units_parse_to_a_positive_number_or_name_the_key(key, number, unit):
    section, name, derived_key = key
    doc = _copy(BASE)
    doc[section][name] = f"{number} {unit}"
    # the grid and the cutoff must not be what refuses: give them room
    doc["grid"] = {"n_x": 5}
    del doc["impurities"]
    expected = "length" if name == "length" else "temperature"
    try:
        units.parse_quantity(f"{number} {unit}", expected, "x", positive=True)
    except (ValueError, tokenize.TokenError):  # units.parse_quantity lets pint's TokenError through
        valid = expected == "temperature" and _is_energy(f"{number} {unit}")  # temperatures may be energies
    else:
        valid = True
    try:
        s = parse_scenario(_toml(doc))
    except ValueError as exc:
        if "not valid TOML" in str(exc):
            return
        if valid:  # an extreme but valid value that the rest of the scenario refuses, naming its key
            assert re.search(r"\[[a-z_.]+\] [a-z_]+", str(exc)), str(exc)
        else:
            assert re.search(rf"\[{section}\] {name}", str(exc)), str(exc)
        return
    assert valid
    value = s.derived[derived_key]
    assert math.isfinite(value) and value > 0
