"""``hotelectron show`` speaks SI beside the solver's units: the conversions of a physical scenario,
and a trajectory's last frame in both."""

import re

import h5py
import pytest

from systems import AGMN_SECTIONS

from hotelectron.commands.main import main

E = 1.602176634e-19

WIRE = """
[wire]
material = "Cu"
length = "1.5 um"
resistance = "12 ohm"
cross_section = "50 nm * 100 nm"

[reservoirs]
temperature = "100 mK"
bias = "0.2 mV"

[electron_electron]
exponent = 1.5
kappa = "0.1 1/ns/meV^0.5"

[grid]
n_x = 5
n_energy = 129

[run]
mode = "evolve"
end_time = "0.02 tau_D"
output_every = "0.01 tau_D"
"""


def test_show_gives_si_units_for_a_scenario_and_a_trajectory(tmp_path, capsys):
    scenario = tmp_path / "wire.toml"
    scenario.write_text(WIRE)
    assert main(["show", str(scenario)]) == 0
    text = capsys.readouterr().out
    assert "1 E0 = 0.2 meV" in text
    current = float(re.search(r"^1 E0/\(e R\) = (\S+) A$", text, re.M).group(1))
    assert current == pytest.approx(0.2e-3 * E / (E * 12.0), rel=1e-5)  # eU/(e R) = U/R
    out = tmp_path / "run.h5"
    assert main(["--quiet", "run", str(scenario), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["show", str(out)]) == 0
    text = capsys.readouterr().out
    with h5py.File(out, "r") as fh:
        noise = float(fh["observables/noise"][-1])
    line = re.search(r"^noise\s+(\S+) E0/R  \((\S+) A\^2/Hz\)  current noise spectral density$", text, re.M)
    assert float(line.group(1)) == pytest.approx(noise, rel=1e-5)
    assert float(line.group(2)) == pytest.approx(noise * 0.2e-3 * E / 12.0, rel=1e-5)
    assert re.search(r"^fano\s+\S+ 1  Fano factor$", text, re.M)  # dimensionless: no SI twin


FIELD = AGMN_SECTIONS + """
[phonons]

[field]
B = "0.5 T"

[grid]
n_x = 5
n_energy = 601
half_width = 3.0

[run]
mode = "steady"
"""


def test_show_gives_the_zeeman_energy_the_unpaired_fraction_and_kappa_ph(tmp_path, capsys):
    from hotelectron.io.scenario import parse_scenario

    derived = parse_scenario(FIELD).derived
    scenario = tmp_path / "field.toml"
    scenario.write_text(FIELD)
    assert main(["show", str(scenario)]) == 0
    text = capsys.readouterr().out
    out = tmp_path / "run.h5"
    assert main(["--quiet", "run", str(scenario), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["show", str(out)]) == 0
    for shown in (text, capsys.readouterr().out):  # the scenario and its trajectory
        field = re.search(r"^field +B = 0.5 T, g = 2: Delta_Z = g mu_B B = (\S+) meV = \S+ E0 = (\S+) energy steps; "
                          r"runs with (\d+) steps = (\S+) meV", shown, re.M)
        # g mu_B B with mu_B = 9.2740100783e-24 J/T; energy step 2 x 3 eU / 600 = 2 ueV
        assert float(field.group(1)) == pytest.approx(2 * 9.2740100783e-24 * 0.5 / E * 1e3, rel=1e-3)
        assert float(field.group(2)) == pytest.approx(float(field.group(1)) / 2e-3, rel=1e-3)
        assert int(field.group(3)) == derived["zeeman_steps"] == 29
        assert float(field.group(4)) == pytest.approx(29 * 2e-3, rel=1e-12)
        unpaired = re.search(r"^impurities .*unpaired \(free spins\), 1 - \(8/3\) T_sg/V_min: (\S+) %", shown, re.M)
        assert float(unpaired.group(1)) == pytest.approx(100 * (1 - 8 / 3 * derived["T_sg_E0"] / derived["v_min"]), rel=1e-3)
        # in the field they are free spins, flipped by the electrons at (1 - p)/tau_s
        flips = re.search(r"electrons flip them at \(1 - p\)/tau_s = \S+/tau_D = (\S+) 1/s", shown)
        assert float(flips.group(1)) == pytest.approx(float(unpaired.group(1)) / 100 / derived["tau_s_s"], rel=1e-3)
        kappa = re.search(r"^phonons +kappa_ph = (\S+) 1/\(ns meV\^3\) = (\S+) / \(tau_D E0\^3\)", shown, re.M)
        # the dimensionless strength is kappa_ph tau_D E0^3 with tau_D in ns and E0 = 0.2 meV
        assert float(kappa.group(2)) == pytest.approx(float(kappa.group(1)) * derived["tau_D_s"] * 1e9 * 0.2**3, rel=1e-3)
        assert float(kappa.group(2)) == pytest.approx(derived["phonon_kappa"], rel=1e-3)
