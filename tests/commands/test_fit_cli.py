"""``hotelectron fit``: a fit file over synthetic data written as CSV, its outputs (fit.json, the
best-fit steady states as HDF5, report, figure), output safety, refusals (exit 2), and a real process
interrupted by SIGINT and resumed."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import xarray as xr

from systems import ENV, FIT_WIRE as SCENARIO, assert_one_line_refusal, cli

from hotelectron.commands.fit import read_state
from hotelectron.commands.main import main
from hotelectron.experiment.data import MeasuredCurve, write_csv
from hotelectron.experiment.fit import FitModel, FitProblem, Parameter
from hotelectron.experiment.fitfile import load_fit_file
from hotelectron.experiment.probe import ProbeParameters, probe_conductance
from hotelectron.io.storage import verify

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


TRUTH = {"electron_electron.kappa": 1.0, "probe.gap": 0.17}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The base scenario, noise-free synthetic curves at TRUTH (curves.csv) and the fit file."""
    folder = tmp_path_factory.mktemp("fit-data")
    (folder / "scenario.toml").write_text(SCENARIO)
    probe = ProbeParameters(gap_meV=0.17, dynes_meV=2e-3, temperature_K=0.1)
    v = np.linspace(-0.5, 0.5, 81)
    placeholder = [MeasuredCurve(u, None, None, "conductance", v, np.zeros_like(v)) for u in (0.2, 0.3)]
    params = [Parameter("electron_electron.kappa", 1.0, unit="1/ns/meV^0.5"), Parameter("probe.gap", 0.17)]
    model = FitModel(FitProblem(SCENARIO, placeholder, params, probe))
    curves = [MeasuredCurve(c.bias_mV, None, None, "conductance", v, model.curve(TRUTH, i)[0])
              for i, c in enumerate(placeholder)]
    write_csv(folder / "curves.csv", curves, ["synthetic"])
    (folder / "fit.toml").write_text(FIT)
    return folder


@pytest.fixture(scope="module")
def finished(data):
    """The fit run to its end by the command: its output folder and the command's result."""
    result = cli("-q", "fit", data / "fit.toml", "-o", data / "finished", check=True)
    return data / "finished", result


@pytest.fixture
def folder(tmp_path, data):
    """A folder of its own with the data and the fit file."""
    for name in ("scenario.toml", "curves.csv", "fit.toml"):
        shutil.copy(data / name, tmp_path / name)
    return tmp_path


def test_fit_command_writes_json_report_and_figure(finished):
    out, result = finished
    data = json.loads((out / "fit.json").read_text())
    # the CSV holds the curves to ~1e-16 relative (repr), so the truth comes back to 1e-4
    assert data["parameters"]["electron_electron.kappa"]["value"] == pytest.approx(1.0, rel=1e-4)
    assert data["parameters"]["probe.gap"]["value"] == pytest.approx(0.17, rel=1e-4)
    assert len(data["curves"]) == 2 and data["evaluations"] > 0
    assert data["status"] == "finished" and data["fingerprint"]
    assert "probe.gap" in (out / "report.txt").read_text()
    assert (out / "fit.png").stat().st_size > 0
    assert "chi2/dof" in result.stdout
    # the best-fit steady states: one finished, checksummed trajectory per curve, named in fit.json,
    # that xarray opens; through the probe model at the fitted gap each gives its fitted curve back
    probe = ProbeParameters(gap_meV=data["parameters"]["probe.gap"]["value"], dynes_meV=2e-3, temperature_K=0.1)
    assert [c["state"] for c in data["curves"]] == ["curve-00.h5", "curve-01.h5"]
    for entry, u in zip(data["curves"], (0.2, 0.3), strict=True):
        path = out / entry["state"]
        verify(path)
        with h5py.File(path, "r") as fh:
            assert fh.attrs["status"] == "finished" and fh.attrs["mode"] == "steady"
            assert f"bias = \"{u!r} mV\"" in fh.attrs["scenario"]
            assert f"kappa = \"{data['parameters']['electron_electron.kappa']['value']!r} 1/ns/meV^0.5\"" in fh.attrs["scenario"]
            assert fh.attrs["residual"] <= 1e-12  # the fit's steady_tol, not the run's default
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            f = ds["f"].values[0, ds.sizes["x"] // 2]
            energy_meV = ds["energy"].values * json.loads(ds.attrs["derived"])["energy_unit_meV"]
        curve = next(c for c in read_back(out.parent) if c.bias_mV == u)
        np.testing.assert_allclose(probe_conductance(energy_meV, f, curve.x, probe), curve.y, atol=1e-6)
    # read back for --resume, a state solves exactly the scenario the fit builds at the fitted values,
    # so that the first evaluation of a resumed fit needs no solve
    model = FitModel(load_fit_file(out.parent / "fit.toml").problem)
    fitted = {label: p["value"] for label, p in data["parameters"].items()}
    for i, entry in enumerate(data["curves"]):
        state = read_state(out / entry["state"])
        assert state.text == model.scenario_text(fitted, i)
        with h5py.File(out / entry["state"], "r") as fh:
            np.testing.assert_array_equal(state.f_middle, fh["f"][0, fh["f"].shape[1] // 2])


def read_back(folder):
    from hotelectron.experiment.data import read_curves

    return read_curves(folder / "curves.csv").curves


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


def test_a_folder_that_holds_a_fit_is_refused_without_resume_or_overwrite(folder, finished):
    out = folder / "out"
    shutil.copytree(finished[0], out)
    before = (out / "fit.json").read_text()
    assert_one_line_refusal(cli("fit", folder / "fit.toml", "-o", out), str(out), "--resume", "--overwrite")
    assert (out / "fit.json").read_text() == before
    # a finished fit has nothing to resume: its outputs stay as they are
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    result = cli("fit", folder / "fit.toml", "-o", out, "--resume", check=True)
    assert "nothing to resume" in result.stderr and "chi2/dof" in result.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes
    # a fit file with another start is another fit: its --resume is refused, even with --overwrite
    (folder / "other.toml").write_text(FIT.replace("start = 1.3", "start = 1.2"))
    for flags in (["--resume"], ["--resume", "--overwrite"]):
        assert_one_line_refusal(cli("fit", folder / "other.toml", "-o", out, *flags), "fit.json", "another fit")
    # --overwrite replaces the fit
    cli("-q", "fit", folder / "other.toml", "-o", out, "--overwrite", check=True)
    assert json.loads((out / "fit.json").read_text())["parameters"]["electron_electron.kappa"]["start"] == 1.2


@pytest.mark.parametrize(("args", "words"), [
    (["--workers", "0"], ["--workers must be at least 1", "0"]),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], ["--scheduler and --workers exclude each other"]),
    (["-o", "{folder}/curves.csv"], ["curves.csv", "input"]),
    (["-o", "{folder}/scenario.toml"], ["scenario.toml", "input"]),
])
def test_bad_options_are_refused_in_one_line(folder, args, words):
    args = [a.format(folder=folder) for a in args]
    assert_one_line_refusal(cli("fit", folder / "fit.toml", *args), *words)
    assert not (folder / "out").exists()


def test_an_unreadable_fit_json_is_resumed_only_with_overwrite(folder):
    out = folder / "out"
    out.mkdir()
    (out / "fit.json").write_text('{"status": "interrupted", ')
    assert_one_line_refusal(cli("fit", folder / "fit.toml", "-o", out, "--resume"), "fit.json", "--overwrite")
    cli("-q", "fit", folder / "fit.toml", "-o", out, "--resume", "--overwrite", check=True)
    assert json.loads((out / "fit.json").read_text())["status"] == "finished"


@pytest.mark.parametrize("options", [[], pytest.param(["--workers", "2"], marks=pytest.mark.slow)],
                         ids=["serial", "dask"])
def test_a_fit_interrupted_by_sigint_keeps_its_best_point_and_resumes(folder, finished, options):
    """A real process (with two Dask workers: -m slow), SIGINT to its process group as a terminal's
    Ctrl-C sends it (the command, its scheduler and workers): exit status 130, one error line, fit.json
    marked interrupted with the best point so far and its states; --resume (here in this process)
    ends where an uninterrupted fit ends. (In-process, tests/experiment/test_fit_parallel.py
    interrupts a fit in the middle of a Dask batch.)"""
    reference = finished[0]
    out = folder / "out"
    child = subprocess.Popen([sys.executable, "-m", "hotelectron", "fit", str(folder / "fit.toml"), "-o", str(out),
                              *options], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    deadline = time.monotonic() + 120
    lines = []
    for line in child.stderr:  # the progress: one log line per evaluation of the optimiser
        lines.append(line)
        if "INFO hotelectron: evaluation 3 " in line or time.monotonic() > deadline:
            break
    os.killpg(child.pid, signal.SIGINT)
    rest = child.communicate(timeout=120)[1]
    stderr = "".join(lines) + rest
    assert child.returncode == 130, stderr
    assert "evaluation 3 " in stderr and "chi2/dof" in stderr and "electron_electron.kappa = " in stderr
    assert "--resume continues" in stderr and "Traceback" not in stderr
    assert len([line for line in stderr.splitlines() if " ERROR " in line]) == 1, stderr
    data = json.loads((out / "fit.json").read_text())
    assert data["status"] == "interrupted" and data["success"] is False
    assert data["optimiser_evaluations"] >= 3 and data["correlation"]["matrix"] is None
    assert all(p["stderr"] is None for p in data["parameters"].values())
    # the lowest chi^2/dof of the evaluations the progress lines reported (printed to 6 digits)
    logged = [float(v) for v in re.findall(r"evaluation \d+ .*?: chi2/dof ([^,]+), best", stderr)]
    n = data["optimiser_evaluations"]
    assert n - 1 <= len(logged) <= n  # the signal may fall between an evaluation and its line
    assert data["chi2_per_dof"] <= min(logged) * (1 + 1e-5)
    if len(logged) == n:
        assert data["chi2_per_dof"] == pytest.approx(min(logged), rel=1e-5)
    assert data["chi2"] == pytest.approx(sum(c["chi2"] for c in data["curves"]), rel=1e-12)
    for entry in data["curves"]:
        verify(out / entry["state"])
    assert "INTERRUPTED" in (out / "report.txt").read_text()

    result = cli("fit", folder / "fit.toml", "-o", out, "--resume", check=True)
    assert "resuming the fit" in result.stderr
    resumed, expected = json.loads((out / "fit.json").read_text()), json.loads((reference / "fit.json").read_text())
    assert resumed["status"] == "finished"
    assert resumed["optimiser_evaluations"] > data["optimiser_evaluations"]
    for label, p in expected["parameters"].items():
        # both end at the noise-free optimum, the truth to ~1e-12 (test_fit.py)
        assert resumed["parameters"][label]["value"] == pytest.approx(p["value"], rel=1e-9), label
        assert resumed["parameters"][label]["value"] == pytest.approx(TRUTH[label], rel=1e-4), label
