"""``hotelectron fit``: a fit file over synthetic data written as CSV, its outputs, and refusals (exit 2)."""

import json
import re

import numpy as np
import pytest

from systems import FIT_WIRE as SCENARIO

from hotelectron.commands.main import main
from hotelectron.experiment.data import MeasuredCurve, write_csv
from hotelectron.experiment.fit import FitModel, FitProblem, Parameter
from hotelectron.experiment.probe import ProbeParameters

FIT = """
base = "scenario.toml"
data = ["curves.csv"]
output = "out"

[probe]
gap = "0.17 meV"
dynes = "2 ueV"
temperature = "100 mK"

[parameters."electron_electron.kappa"]
start = 1.3
min = 0.01
max = 100.0
unit = "1/ns/meV^0.5"

[parameters."probe.gap"]
start = 0.15
min = 0.05
max = 0.5
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "scenario.toml").write_text(SCENARIO)
    probe = ProbeParameters(gap_meV=0.17, dynes_meV=2e-3, temperature_K=0.1)
    v = np.linspace(-0.5, 0.5, 81)
    placeholder = [MeasuredCurve(u, None, None, "conductance", v, np.zeros_like(v)) for u in (0.2, 0.3)]
    params = [Parameter("electron_electron.kappa", 1.0, unit="1/ns/meV^0.5"), Parameter("probe.gap", 0.17)]
    model = FitModel(FitProblem(SCENARIO, placeholder, params, probe))
    truth = {"electron_electron.kappa": 1.0, "probe.gap": 0.17}
    curves = [MeasuredCurve(c.bias_mV, None, None, "conductance", v, model.curve(truth, i)[0])
              for i, c in enumerate(placeholder)]
    write_csv(tmp_path / "curves.csv", curves, ["synthetic"])
    return tmp_path


def test_fit_command_writes_json_report_and_figure(folder, capsys):
    (folder / "fit.toml").write_text(FIT)
    assert main(["-q", "fit", str(folder / "fit.toml"), "-o", str(folder / "out")]) == 0
    data = json.loads((folder / "out" / "fit.json").read_text())
    # the CSV holds the curves to ~1e-16 relative (repr), so the truth comes back to 1e-4
    assert data["parameters"]["electron_electron.kappa"]["value"] == pytest.approx(1.0, rel=1e-4)
    assert data["parameters"]["probe.gap"]["value"] == pytest.approx(0.17, rel=1e-4)
    assert len(data["curves"]) == 2 and data["evaluations"] > 0
    assert "probe.gap" in (folder / "out" / "report.txt").read_text()
    assert (folder / "out" / "fit.png").stat().st_size > 0
    assert "chi2/dof" in capsys.readouterr().out


@pytest.mark.parametrize(("change", "match"), [
    (lambda t: t.replace("start = 1.3", "start = 300.0"), "start = 300.0 lies outside"),
    (lambda t: t.replace('"electron_electron.kappa"', '"electron_electron.kapa"'), "kapa"),
    (lambda t: t.replace("min = 0.05", "min = 0.05\nfree = false").replace("unit = \"1/ns/meV^0.5\"",
                                                                          "unit = \"1/ns/meV^0.5\"\nfree = false"),
     "no free parameter"),
    (lambda t: t.replace("[probe]", "[probe]\ngapp = 1"), r"\[probe\] gapp"),
    (lambda t: t.replace("curves.csv", "missing.csv"), "missing.csv"),
])
def test_bad_fit_file_exits_2(folder, caplog, change, match):
    (folder / "fit.toml").write_text(change(FIT))
    assert main(["-q", "fit", str(folder / "fit.toml"), "-o", str(folder / "out")]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert re.search(match, errors[0]), errors[0]
