"""``hotelectron show`` speaks SI beside the solver's units: the conversions of a physical scenario,
and a trajectory's last frame in both."""

import re

import h5py
import pytest

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
    line = re.search(r"^noise\s+(\S+) E0/R  \((\S+) A\^2/Hz\)$", text, re.M)
    assert float(line.group(1)) == pytest.approx(noise, rel=1e-5)
    assert float(line.group(2)) == pytest.approx(noise * 0.2e-3 * E / 12.0, rel=1e-5)
    assert re.search(r"^fano\s+\S+ 1$", text, re.M)  # dimensionless: no SI twin
