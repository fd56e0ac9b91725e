"""``hotelectron fit``: a fit file over synthetic data written as CSV, its outputs (fit.json, the
best-fit steady states as HDF5, report, figure), output safety, refusals (exit 2, one line naming the fit
file and the key), a fit stopped by its budget (exit 3) and resumed, outputs completed by --resume, and a
real process interrupted by SIGINT and resumed."""

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
#: one more LocalCluster worker than --workers allows on this machine
TOO_MANY_WORKERS = 4 * (os.cpu_count() or 1) + 1


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
    report = (out / "report.txt").read_text()
    assert "probe.gap" in report
    # each curve's line says its U, B (none: no field anywhere) and T (the base scenario's: the data give none)
    assert "conductance  U = 0.2 mV, T = 100 mK (base), 81 points" in report
    assert "conductance  U = 0.3 mV, T = 100 mK (base), 81 points" in report
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
     r"fit.toml: \[parameters\]: no free parameter"),
    # refusals of what is fitted to what name the part of the fit file they are about
    (lambda t: "sigma = -1.0\n" + t, r"fit.toml: sigma: sigma must give one positive finite number per curve"),
    (lambda t: t.replace("[probe]", "[probe]\ngapp = 1"), r"\[probe\] gapp"),
    (lambda t: t.replace("curves.csv", "missing.csv"), "missing.csv"),
    # the field lies on whole energy steps: the model is a step function of it
    (lambda t: t + '\n[parameters."field.B"]\nstart = 1.0\nunit = "T"\n',
     r'fit.toml: \[parameters."field.B"\]: .*cannot be fitted.*step function'),
    (lambda t: t + '\n[parameters."field.g"]\nstart = 2.1\n', r'fit.toml: \[parameters."field.g"\]: .*cannot be fitted'),
    (lambda t: t.replace('data = ["curves.csv"]', 'data = ["curves.csv", "./curves.csv"]'),
     r"fit.toml: data: './curves.csv' is the data file 'curves.csv' again"),
    (lambda t: t.replace('base = "scenario.toml"', 'base = "curves.csv"'),
     r"fit.toml: base: .*curves.csv is not a scenario \(not valid TOML"),
    # a curve's scenario refused at the start values: the fit file, the data file and the key at fault
    (lambda t: t + '\n[parameters."reservoirs.temperature"]\nstart = -5.0\nunit = "mK"\nfree = false\n',
     r"fit.toml: curve 0 \(curves.csv lines \d+-\d+: U = 0.2 mV\): the base scenario with this curve's U and the "
     r"parameters electron_electron.kappa, reservoirs.temperature at their start values: .*\[reservoirs\] temperature"),
    (lambda t: t.replace('temperature = "100 mK"', 'temperature = "100 mK"\ng = -2'), r"fit.toml: \[probe\] g: .*\(0, 20\]"),
    (lambda t: t.replace('temperature = "100 mK"', 'temperature = "100 mK"\nfield = "1e16 T"'),
     r"fit.toml: \[probe\] field: .*exceeds 100 times the gap"),
])
def test_bad_fit_file_exits_2(folder, caplog, change, match):
    """Refused while the fit file is read, before any work: one line, and no output folder made."""
    (folder / "fit.toml").write_text(change(FIT))
    assert main(["-q", "fit", str(folder / "fit.toml"), "-o", str(folder / "out")]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert re.search(match, errors[0]), errors[0]
    assert "np.float64" not in errors[0]
    assert not (folder / "out").exists()


def test_a_trajectory_given_as_data_is_refused_naming_the_fit_file(folder, finished):
    shutil.copy(finished[0] / "curve-00.h5", folder / "state.h5")
    (folder / "fit.toml").write_text(FIT.replace('data = ["curves.csv"]', 'data = ["state.h5"]'))
    assert_one_line_refusal(cli("fit", folder / "fit.toml", "-o", folder / "out"), "fit.toml: data: state.h5",
                            "a trajectory of 'hotelectron run', not measured curves")
    assert not (folder / "out").exists()


def test_a_parameter_the_model_does_not_depend_on_is_refused(folder):
    """A wire's cross section sets its resistance, not f: its Jacobian column is exactly zero at the start,
    and the fit stops there (exit 2) naming it, instead of reporting its start value as an optimum. The
    output folder the command made is removed again: nothing was written."""
    (folder / "fit.toml").write_text(FIT + '\n[parameters."wire.cross_section"]\nstart = 4500.0\nunit = "nm^2"\n')
    assert_one_line_refusal(cli("fit", folder / "fit.toml", "-o", folder / "out"),
                            'fit.toml: [parameters."wire.cross_section"]: the model does not depend on',
                            "Jacobian column is exactly zero", "free = false")
    assert not (folder / "out").exists()


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
    (["--workers", str(TOO_MANY_WORKERS)], [f"--workers {TOO_MANY_WORKERS}: at most {TOO_MANY_WORKERS - 1}"]),
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
                              *options], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    deadline = time.monotonic() + 120
    lines = []
    for line in child.stderr:  # the progress: one log line per evaluation of the optimiser
        lines.append(line)
        if "INFO hotelectron: evaluation 3 " in line or time.monotonic() > deadline:
            break
    os.killpg(child.pid, signal.SIGINT)
    stdout, rest = child.communicate(timeout=120)
    stderr = "".join(lines) + rest
    assert child.returncode == 130, stderr
    assert stdout.startswith("hotelectron fit") and "INTERRUPTED" in stdout  # the report, as a finished fit prints it
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


def test_ctrl_c_while_the_outputs_are_written_is_held_until_all_are_there(folder, monkeypatch):
    """fit.json is written last: when the figure is drawn the state files and the report are there and
    fit.json is not. A SIGINT arriving then (as a terminal's Ctrl-C) is held until every output is written,
    so that a fit.json saying finished always comes with the rest."""
    import hotelectron.commands.fit as command

    draw, seen = command.figure, {}

    def interrupted(result, path):
        seen.update(names={p.name for p in path.parent.iterdir() if not p.name.startswith(".")})
        signal.raise_signal(signal.SIGINT)
        draw(result, path)

    monkeypatch.setattr(command, "figure", interrupted)
    out = folder / "out"
    result = cli("fit", folder / "fit.toml", "-o", out)
    assert result.returncode == 0, result.stderr
    assert seen["names"] == {"curve-00.h5", "curve-01.h5", "report.txt"}
    assert {p.name for p in out.iterdir()} == {"curve-00.h5", "curve-01.h5", "report.txt", "fit.png", "fit.json"}
    assert json.loads((out / "fit.json").read_text())["status"] == "finished"
    assert "Ctrl-C came while the outputs were written: held until that was complete" in result.stderr


def test_resume_of_a_finished_fit_writes_again_what_is_missing(folder, finished):
    """From fit.json and the state files: the report as it was, the figure, and a lost state file solved
    again at the fitted values; fit.json itself is left as it is."""
    out = folder / "out"
    shutil.copytree(finished[0], out)
    report = (out / "report.txt").read_text()
    written = (out / "fit.json").stat().st_mtime_ns
    for name in ("report.txt", "fit.png"):
        (out / name).unlink()
    result = cli("fit", folder / "fit.toml", "-o", out, "--resume", check=True)
    assert "writing again what is missing (report.txt, fit.png)" in result.stderr
    # the same values, errors and per-curve chi^2 (the states read back): the report but for its first line
    # (the fit file's path)
    assert (out / "report.txt").read_text().splitlines()[1:] == report.splitlines()[1:]
    assert (out / "fit.png").stat().st_size > 0 and (out / "fit.json").stat().st_mtime_ns == written
    with h5py.File(out / "curve-01.h5", "r") as fh:
        f = fh["f"][0]
    (out / "curve-01.h5").unlink()
    result = cli("fit", folder / "fit.toml", "-o", out, "--resume", check=True)
    assert "writing again what is missing (curve-01.h5)" in result.stderr
    verify(out / "curve-01.h5")
    with h5py.File(out / "curve-01.h5", "r") as fh:
        # both solved to a residual of 1e-12/tau_D (the fit's steady_tol), the new one from the collisionless
        # start: they agree to the solver's tolerance times the conditioning of the steady problem (~10)
        np.testing.assert_allclose(fh["f"][0], f, rtol=0, atol=1e-10)
    assert (out / "fit.json").stat().st_mtime_ns == written


def test_a_fit_stopped_by_max_evaluations_exits_3_and_resumes_with_a_larger_budget(folder, finished):
    (folder / "fit.toml").write_text(FIT.replace('output = "out"', 'output = "out"\nmax_evaluations = 2'))
    out = folder / "out"
    result = cli("fit", folder / "fit.toml", "-o", out)
    assert result.returncode == 3, result.stderr
    warnings = [line for line in result.stderr.splitlines() if " WARNING " in line or " ERROR " in line]
    assert len(warnings) == 1 and "max_evaluations = 2" in warnings[0] and "--resume" in warnings[0], result.stderr
    assert "STOPPED WITHOUT CONVERGING" in result.stdout
    data = json.loads((out / "fit.json").read_text())
    assert data["status"] == "stopped" and data["success"] is False and data["optimiser_evaluations"] == 2
    assert all(p["stderr"] is None for p in data["parameters"].values()) and data["correlation"]["matrix"] is None
    # the same budget has nothing left to spend
    assert_one_line_refusal(cli("fit", folder / "fit.toml", "-o", out, "--resume"), "max_evaluations = 2",
                            "raise max_evaluations")
    (folder / "fit.toml").write_text(FIT)  # the default budget, 200; the same fit (max_evaluations is not in it)
    result = cli("fit", folder / "fit.toml", "-o", out, "--resume", check=True)
    assert "resuming the fit" in result.stderr
    resumed, expected = json.loads((out / "fit.json").read_text()), json.loads((finished[0] / "fit.json").read_text())
    assert resumed["status"] == "finished" and resumed["optimiser_evaluations"] > 2
    for label, p in expected["parameters"].items():
        assert resumed["parameters"][label]["value"] == pytest.approx(p["value"], rel=1e-9), label
        assert resumed["parameters"][label]["stderr"] is not None


def test_a_fit_stepped_to_a_refused_point_keeps_its_best_point_and_exits_3(folder):
    """An unbounded Dynes broadening started 25 times too wide: the optimiser's first step takes it below
    zero, which the probe refuses. The fit stops there with all outputs written at the best point so far (status
    "refused", no errors), one line naming the refused values, the refusal and the fit file, exit 3."""
    (folder / "fit.toml").write_text(FIT.replace('dynes = "2 ueV"\n', "")
                                     + '\n[parameters."probe.dynes"]\nstart = 0.05\n')
    out = folder / "out"
    result = cli("fit", folder / "fit.toml", "-o", out)
    assert result.returncode == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if " WARNING " in line or " ERROR " in line]
    assert len(errors) == 1, result.stderr
    assert all(words in errors[0] for words in ("fit.toml", "probe.dynes = -", "must be >= 0",
                                                '[parameters."probe.dynes"] a min and max')), errors[0]
    assert "Traceback" not in result.stderr
    assert "STOPPED AT A POINT THE MODEL REFUSES" in result.stdout
    assert {p.name for p in out.iterdir()} == {"curve-00.h5", "curve-01.h5", "report.txt", "fit.png", "fit.json"}
    data = json.loads((out / "fit.json").read_text())
    assert data["status"] == "refused" and data["success"] is False and data["optimiser_evaluations"] >= 1
    assert "probe.dynes = -" in data["message"] and data["correlation"]["matrix"] is None
    assert data["parameters"]["probe.dynes"]["value"] > 0
    assert all(p["stderr"] is None for p in data["parameters"].values())
    for c in data["curves"]:
        verify(out / c["state"])


def test_a_folder_holding_a_kernel_fit_takes_a_parametric_fit_only_with_overwrite(folder):
    out = folder / "out"
    out.mkdir()
    for name in ("kernel.json", "kernel.csv", "report.txt"):
        (out / name).write_text("{}")
    for flags in ([], ["--resume"]):  # --resume continues a parametric fit, not a kernel fit
        assert_one_line_refusal(cli("fit", folder / "fit.toml", "-o", out, *flags), "holds a [kernel] fit",
                                "--overwrite replaces it")
    cli("-q", "fit", folder / "fit.toml", "-o", out, "--overwrite", check=True)
    assert {p.name for p in out.iterdir()} == {"curve-00.h5", "curve-01.h5", "report.txt", "fit.png", "fit.json"}


def test_the_allexit_of_an_interrupted_dask_gather_is_not_logged(caplog):
    """Ctrl-C during a Dask batch cancels its futures; the gather's waiting tasks then end with distributed's
    internal AllExit, which asyncio would log as "Task exception was never retrieved" with a traceback when
    they are collected. The commands' Dask setup drops exactly those records, and no others."""
    import asyncio

    from distributed.client import AllExit

    from hotelectron.commands.cluster import quiet_dask

    quiet_dask()
    loop = asyncio.new_event_loop()
    try:
        for exception in (AllExit(), RuntimeError("a task's own failure")):
            loop.call_exception_handler({"message": "Task exception was never retrieved", "exception": exception})
    finally:
        loop.close()
    logged = [r for r in caplog.records if r.name == "asyncio"]
    assert len(logged) == 1 and isinstance(logged[0].exc_info[1], RuntimeError)
