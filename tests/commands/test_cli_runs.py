"""The command line on scenario files, as a user runs it: shipped scenarios, kill and resume."""

import logging
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import h5py
import numpy as np
import pytest
from systems import SERIES, assert_one_line_refusal, cli, small_scenario

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.toml"))
ENV = dict(os.environ, HDF5_USE_FILE_LOCKING="FALSE")

SMALL = small_scenario(0.02, "3 tau_D")


def test_shipped_scenarios_exist():
    names = {p.stem for p in SCENARIOS}
    assert {"default", "cu_coulomb", "collisionless", "agmn_spin52", "box_quench"} <= names


def _is_series(scenario: Path) -> bool:
    """A scenario with a list of biases: ``run`` writes a folder of point files."""
    return isinstance(tomllib.loads(scenario.read_text()).get("reservoirs", {}).get("bias"), list)


# The default scenario at full size (three time evolutions, ~35 s) runs with -m slow; its shrunk copy runs in
# the default suite (tests/io/test_netcdf.py), as does every other shipped scenario at full size here.
SHIPPED = [pytest.param(p, marks=pytest.mark.slow) if p.stem == "default" else p for p in SCENARIOS]


@pytest.mark.parametrize("scenario", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_runs_and_plots(scenario, tmp_path):
    series = _is_series(scenario)
    out = tmp_path / (scenario.stem if series else f"{scenario.stem}.h5")
    fig = tmp_path / f"{scenario.stem}.png"
    cli("--quiet", "run", scenario, "-o", out, "--plot", fig, check=True)
    assert fig.stat().st_size > 10_000
    files = sorted(out.glob("point-*.h5")) if series else [out]
    biases = tomllib.loads(scenario.read_text())["reservoirs"]["bias"] if series else [None]
    assert len(files) == len(biases)
    for path, bias in zip(files, biases, strict=True):
        with h5py.File(path, "r") as fh:
            assert fh.attrs["status"] == "finished"
            if series:  # each point: the scenario with its own bias, verbatim
                assert tomllib.loads(fh.attrs["scenario"])["reservoirs"]["bias"] == bias
            else:
                assert fh.attrs["scenario"] == scenario.read_text()
            assert np.all(np.isfinite(fh["f"][:]))
            for name, ds in fh["observables"].items():
                values = ds[:]
                assert np.all(np.isfinite(values) | ("undefined" in ds.attrs)), name
    shown = cli("show", scenario, check=True).stdout
    assert sum(line.startswith("n_energy ") for line in shown.splitlines()) == len(biases)  # a block per bias


def test_a_killed_run_resumes_to_the_result_of_an_uninterrupted_one(tmp_path):
    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL)
    cli("--quiet", "run", scenario, "-o", tmp_path / "reference.h5", check=True)

    out = tmp_path / "killed.h5"
    child = subprocess.Popen([sys.executable, "-m", "hotelectron", "--quiet", "run", str(scenario), "-o", str(out)],
                             env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    frames = 0
    while frames < 20 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.1)
        try:
            with h5py.File(out, "r") as fh:
                frames = fh["time"].shape[0]
        except (OSError, KeyError):
            continue
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert 20 <= frames < 301, "the run should be killed part-way"
    with h5py.File(out, "r") as fh:
        assert fh.attrs["status"] == "running"  # killed: nobody could mark it

    cli("--quiet", "run", scenario, "-o", out, "--resume", check=True)
    with h5py.File(out, "r") as a, h5py.File(tmp_path / "reference.h5", "r") as b:
        assert a.attrs["status"] == "finished"
        np.testing.assert_array_equal(a["time"][:], b["time"][:])
        np.testing.assert_array_equal(a["f"][:], b["f"][:])
        np.testing.assert_array_equal(a["observables/current_middle"][:], b["observables/current_middle"][:])


@pytest.mark.parametrize(
    "text, key",
    [
        (SMALL.replace("n_x = 9", "n_x = 9\nnx = 3"), "nx"),
        (SMALL.replace('end_time = "3 tau_D"', 'end_time = "-3 tau_D"'), "end_time"),
        (SMALL.replace("spin = 0.5", "spin = 0.3"), "spin"),
    ],
)
def test_bad_scenarios_fail_with_a_message_and_no_finished_file(tmp_path, text, key):
    scenario = tmp_path / "bad.toml"
    scenario.write_text(text)
    out = tmp_path / "bad.h5"
    result = cli("run", scenario, "-o", out)
    assert result.returncode != 0
    assert key in result.stderr
    assert not out.exists()


def test_a_refused_point_of_a_bias_series_is_named_with_its_bias(tmp_path):
    """At 0.5 mV the grid's step, 0.01 eU, exceeds 2 k_B T = 0.0086 eU: that point alone is refused."""
    scenario = tmp_path / "series.toml"
    scenario.write_text(SERIES.replace('bias = ["0.1 mV", "0.2 mV"]', 'bias = ["0.1 mV", "0.5 mV"]'))
    assert_one_line_refusal(cli("show", scenario), "point-0001 (reservoirs.bias = 0.5 mV): [grid] n_energy = 401")
    result = cli("run", scenario, "-o", tmp_path / "series")
    assert result.returncode == 4
    (line,) = [line for line in result.stderr.splitlines() if " failed: " in line]
    assert "point-0001 (reservoirs.bias = 0.5 mV) failed: ValueError: [grid] n_energy = 401" in line


def test_show_and_plot_say_what_a_missing_file_or_a_folder_is(tmp_path):
    for command in ("show", "plot"):
        for name in ("absent.h5", "absent.toml"):
            assert_one_line_refusal(cli(command, tmp_path / name), f"{tmp_path / name} does not exist")
        assert_one_line_refusal(cli(command, tmp_path), f"{tmp_path} is a folder, not a file; {command} takes a file")
    folder = tmp_path / "series"
    folder.mkdir()
    (folder / "summary.csv").write_text("index,point,status\n")
    for command in ("show", "plot"):
        assert_one_line_refusal(cli(command, folder), "results of a sweep or bias series", folder / "summary.csv")


def test_plot_names_a_csv_file_that_is_not_text(tmp_path):
    """A binary file under a .csv name (an HDF5 trajectory renamed) is refused naming it, not with
    the bare UTF-8 codec error."""
    binary = tmp_path / "run.csv"
    binary.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)))
    assert_one_line_refusal(cli("plot", binary), f"{binary} is not a sweep summary (not UTF-8 text")


def test_run_and_sweep_say_that_a_folder_is_not_their_file(tmp_path):
    folder = tmp_path / "series"
    folder.mkdir()
    for command, kind in (("run", "scenario"), ("steady", "scenario"), ("sweep", "sweep")):
        result = cli(command, folder, "-o", tmp_path / "out")
        assert_one_line_refusal(result, f"{folder} is a folder, not a {kind} file")
    assert sorted(tmp_path.iterdir()) == [folder]  # refused before any output


STEADY = small_scenario(0.02).split("[run]")[0] + '[run]\nmode = "steady"\n'


def test_resuming_a_finished_file_writes_nothing_and_says_so(tmp_path):
    scenario = tmp_path / "steady.toml"
    scenario.write_text(STEADY)
    out = tmp_path / "steady.h5"
    cli("run", scenario, "-o", out, check=True)
    before = out.stat().st_mtime_ns, out.read_bytes()
    result = cli("run", scenario, "-o", out, "--resume", check=True)
    assert "already finished; nothing to resume" in result.stderr
    assert "wrote" not in result.stderr, result.stderr
    assert (out.stat().st_mtime_ns, out.read_bytes()) == before


def test_show_into_a_closed_pipe_exits_quietly(tmp_path):
    """`hotelectron show FILE | head -3`: the reader is gone before the output is flushed. Like a Unix
    tool stopped by SIGPIPE: no error message, status 128 + 13."""
    scenario = tmp_path / "steady.toml"
    scenario.write_text(STEADY)
    out = tmp_path / "steady.h5"
    cli("--quiet", "run", scenario, "-o", out, check=True)
    child = subprocess.Popen([sys.executable, "-m", "hotelectron", "show", str(out)], env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # before the interpreter has started: every write meets a closed pipe
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == 141, err
    assert "Broken pipe" not in err and "ERROR" not in err and "Traceback" not in err, err


def test_a_unit_in_the_wrong_case_is_explained_with_the_unit_meant(tmp_path):
    """"50 mk" is pint's milli-(Boltzmann constant), an energy per kelvin: the refusal says how it was
    read and offers "50 mK", the spelling with the fewest changed letters that is a temperature."""
    scenario = tmp_path / "mk.toml"
    scenario.write_text(SERIES.replace('temperature = "25 mK"', 'temperature = "50 mk"'))
    assert_one_line_refusal(cli("show", scenario), "[reservoirs] temperature", "'mk' is read as milli-boltzmann_constant",
                            "did you mean '50 mK'")


def test_run_progress_estimates_the_remaining_time_from_the_rate_after_the_first_frame(caplog):
    """The first frame's wall time holds numba's compilation: the estimate starts from it, not from the start."""
    from hotelectron.commands.progress import RunProgress

    times = iter([0.0, 30.0, 40.0, 50.0])  # start; frames at t = 1, 2, 3 tau_D: 30 s to the first, 10 s each after
    progress = RunProgress(10.0, quiet=False, clock=lambda: next(times))
    progress.bar = None  # log lines, as in a batch job
    with caplog.at_level(logging.INFO, logger="hotelectron"):
        for t in (1.0, 2.0, 3.0):
            progress(t, 10.0)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "t = 1 / 10 tau_D (10%), elapsed 30.0 s, remaining time from the next frames"
    assert lines[1] == "t = 2 / 10 tau_D (20%), elapsed 40.0 s, remaining about 80 s"
    assert lines[2] == "t = 3 / 10 tau_D (30%), elapsed 50.0 s, remaining about 70 s"
