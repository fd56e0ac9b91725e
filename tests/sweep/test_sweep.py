"""Parameter sweeps: expansion of sweep files, and runs on a real dask.distributed LocalCluster with
two worker processes (a small sweep, a sweep with a bad point, a killed sweep resumed)."""

import csv
import math
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

from systems import AGMN_SECTIONS, SERIES, cli

from hotelectron.io.runner import run_scenario
from hotelectron.io.scenario import parse_scenario
from hotelectron.sweep import load_sweep, local_client, parse_sweep, plot_summary, read_summary, run_point, run_sweep
from hotelectron.sweep.spec import MAX_POINTS, bias_series

# the Cu wire of the shared bias series, one bias, steady
BASE = SERIES.split("[run]")[0].replace('bias = ["0.1 mV", "0.2 mV"]', 'bias = "0.2 mV"') + '[run]\nmode = "steady"\n'

# T_eff of the reservoirs read back from their Fermi functions on the grid: exact up to the tails cut at the
# grid ends (1e-11 measured at half_width 2 E0 and T = 0.02 E0)
WF_GRID_ERROR = 1e-9

EVOLVE = BASE.replace('mode = "steady"', 'mode = "evolve"\nend_time = "3 tau_D"\noutput_every = "0.1 tau_D"')

SWEEP = """
base = "base.toml"

[axes]
"reservoirs.bias" = ["0.1 mV", "0.2 mV"]

[[zip]]
"reservoirs.temperature" = {temperatures}
"electron_electron.kappa_dimensionless" = [0.3, 0.6]
"""

REPO = Path(__file__).parents[2]
ENV = dict(os.environ, HDF5_USE_FILE_LOCKING="FALSE")
RUN_DEPENDENT = {"wall_s"}  # the only columns allowed to differ between two runs of one sweep


def write_sweep(folder, base=BASE, temperatures='["25 mK", "50 mK"]'):
    (folder / "base.toml").write_text(base)
    path = folder / "sweep.toml"
    path.write_text(SWEEP.format(temperatures=temperatures))
    return path


def same_summary(a, b):
    assert [r["point"] for r in a] == [r["point"] for r in b]
    for x, y in zip(a, b, strict=True):
        assert set(x) == set(y)
        for key in set(x) - RUN_DEPENDENT:
            same = x[key] == y[key] or (isinstance(x[key], float) and math.isnan(x[key]) and math.isnan(y[key]))
            assert same, (x["point"], key, x[key], y[key])


# -- sweep files -----------------------------------------------------------------------------------

def test_points_are_the_product_of_axes_and_zipped_groups(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path))
    points = sweep.points()
    assert len(points) == len(sweep) == 4
    assert [p.params for p in points] == [
        {"reservoirs.bias": b, "reservoirs.temperature": t, "electron_electron.kappa_dimensionless": k}
        for b in ("0.1 mV", "0.2 mV") for t, k in (("25 mK", 0.3), ("50 mK", 0.6))
    ]
    for point in points:  # every point is the base with its values substituted, and a valid scenario
        data = tomllib.loads(point.text)
        assert data["reservoirs"]["bias"] == point.params["reservoirs.bias"]
        assert data["reservoirs"]["temperature"] == point.params["reservoirs.temperature"]
        assert data["electron_electron"]["kappa_dimensionless"] == point.params["electron_electron.kappa_dimensionless"]
        assert data["wire"] == tomllib.loads(BASE)["wire"]
        scenario = parse_scenario(point.text)
        assert scenario.derived["bias_mV"] == pytest.approx(float(point.params["reservoirs.bias"].split()[0]))


@pytest.mark.parametrize(
    "text, message",
    [
        ('base = "base.toml"\n[axes]\n"reservoirs.bias" = []', "non-empty list"),
        ('base = "base.toml"\n[axes]\nbias = ["0.1 mV"]', "'section.key'"),
        ('base = "base.toml"\n[[zip]]\n"a.b" = [1, 2]\n"a.c" = [1]', "equal lengths"),
        ('base = "base.toml"\n[axes]\n"a.b" = [1]\n[[zip]]\n"a.b" = [2]', "more than once"),
        ('base = "base.toml"', "no axis"),
        ('base = "missing.toml"\n[axes]\n"a.b" = [1]', "not found"),
        ('bse = "base.toml"\n[axes]\n"a.b" = [1]', "unknown key"),
        ('base = "base.toml"\n[axes]\n"a.b" = [[1]]', "numbers or strings"),
        ('base = "base.toml"\n[axes\n', "not valid TOML"),
        ('base = "base.toml"\n[axes]\n"a.b" = ["1 mV", "1 mV"]', "the value '1 mV' is given twice"),
        ('base = "base.toml"\n[[zip]]\n"a.b" = ["1 mV", "1 mV"]\n"a.c" = [2, 2]', r"the tuple \('1 mV', 2\) is given twice"),
        # one quantity written in two units, or two ways, is one point
        ('base = "base.toml"\n[axes]\n"a.b" = ["100 mK", "0.1 K"]', "the value '0.1 K' is given twice"),
        ('base = "base.toml"\n[axes]\n"a.b" = ["0.20 mV", "0.2 mV"]', "the value '0.2 mV' is given twice"),
        ('base = "base.toml"\n[[zip]]\n"a.b" = ["1 mV", "1000 uV"]\n"a.c" = [2, 2.0]',
         r"the tuple \('1000 uV', 2.0\) is given twice"),
        # a product of axes too large to run is refused before its points are built
        ('base = "base.toml"\n[axes]\n' + "\n".join(f'"a.{k}" = {list(range(1000))}' for k in "bcd"),
         r"1000000000 points \(1000 x 1000 x 1000\); a sweep holds at most 100000"),
    ],
)
def test_bad_sweep_files_are_refused_naming_the_problem(tmp_path, text, message):
    (tmp_path / "base.toml").write_text(BASE)
    with pytest.raises(ValueError, match=message):
        parse_sweep(text, path=tmp_path / "sweep.toml")


@pytest.mark.parametrize(
    "axes, message",
    [
        ('[axes]\n"reservoirs.temprature" = ["50 mK", "100 mK"]',
         r"sweep\.toml: axis 'reservoirs\.temprature': \[reservoirs\] temprature: unknown key; did you mean "
         r"'reservoirs\.temperature'\?"),
        ('[axes]\n"reservoir.temperature" = ["50 mK"]',
         r"axis 'reservoir\.temperature': \[reservoir\]: unknown section; did you mean 'reservoirs\.temperature'\?"),
        ('[axes]\n"reservoirs.bias" = ["0.1 mV"]\n[[zip]]\n"electron_electron.kapa" = [0.3, 0.6]\n"grid.n_x" = [9, 11]',
         r"axis 'electron_electron\.kapa': .*did you mean 'electron_electron\.kappa'\?"),
        ('[axes]\n"run.bump.enrgy" = [1, 2]', r"\[run\.bump\] enrgy: unknown key; did you mean 'run\.bump\.energy'\?"),
        # nothing close: the section's keys are listed
        ('[axes]\n"grid.xyz" = [1, 2]', r"\[grid\] xyz: unknown key; allowed keys in \[grid\]: n_x, n_energy, half_width"),
        ('[axes]\n"spin_mediated.x" = [1, 2]', r"\[spin_mediated\] x: unknown key; \[spin_mediated\] takes no keys"),
    ],
)
def test_a_swept_key_the_scenario_does_not_know_is_refused_with_the_sweep_file(tmp_path, axes, message):
    """A misspelled key would make every point a failed row (exit 4, nothing run): the sweep file is refused
    when it is read, in the loader's words, with the closest key the loader knows."""
    (tmp_path / "base.toml").write_text(BASE)
    with pytest.raises(ValueError, match=message):
        parse_sweep('base = "base.toml"\n' + axes, path=tmp_path / "sweep.toml")


def test_a_misspelled_swept_key_exits_2_before_any_point(tmp_path):
    (tmp_path / "base.toml").write_text(BASE)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('base = "base.toml"\n[axes]\n"reservoirs.temprature" = ["50 mK", "100 mK"]\n')
    result = cli("sweep", sweep, "-o", tmp_path / "out", "--serial")
    assert result.returncode == 2, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert "sweep.toml: axis 'reservoirs.temprature'" in line and "did you mean 'reservoirs.temperature'?" in line
    assert "point-" not in result.stderr and not (tmp_path / "out").exists()


def test_a_bias_series_longer_than_a_sweep_may_be_is_refused_naming_the_key(tmp_path):
    """A series of MAX_POINTS + 1 biases ran on unseen (show and run spent minutes building and checking its
    points, silently): it is refused at once, as a sweep of as many points is, in a scenario and as a
    sweep's base."""
    biases = ", ".join(f'"{(i + 1) * 1e-5:.5f} mV"' for i in range(MAX_POINTS + 1))
    text = BASE.replace('bias = "0.2 mV"', f"bias = [{biases}]")
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"^long\.toml: \[reservoirs\] bias: 100001 biases; a bias series holds at "
                                         r"most 100000"):
        bias_series(text, path="long.toml")
    (tmp_path / "long.toml").write_text(text)
    with pytest.raises(ValueError, match=r"sweep\.toml: base: \[reservoirs\] bias: 100001 biases; a bias series "
                                         r"holds at most 100000"):
        parse_sweep('base = "long.toml"\n[axes]\n"grid.n_x" = [5, 7]\n', path=tmp_path / "sweep.toml")
    # one axis as long: refused before its values are compared (pint reads each: minutes for 1e5)
    axis = ", ".join(f'"{(i + 1) * 1e-5:.5f} mV"' for i in range(MAX_POINTS + 1))
    with pytest.raises(ValueError, match=r"sweep\.toml: axis 'reservoirs\.bias': 100001 values; a sweep holds at most"):
        parse_sweep(f'base = "long.toml"\n[axes]\n"reservoirs.bias" = [{axis}]\n', path=tmp_path / "sweep.toml")
    assert time.perf_counter() - start < 20  # parsing the TOML; minutes before
    result = cli("show", tmp_path / "long.toml")
    assert result.returncode == 2 and "[reservoirs] bias: 100001 biases" in result.stderr, result.stderr


@pytest.mark.parametrize(
    "base, message",
    [
        ('base = "base.toml"\n[axes]\n"a.b" = [1]\n', r"other\.toml: this is a sweep file, not a scenario"),
        ('base = "base.toml"\ndata = ["d.csv"]\n', r"other\.toml: this is a fit file, not a scenario"),
        (None, r"other\.toml is a folder, not a scenario file"),
        (b"[wire]\nmaterial = '\xff'\n", r"other\.toml: not UTF-8 text"),
    ],
)
def test_a_base_that_is_not_a_scenario_file_is_refused_before_any_point(tmp_path, base, message):
    """Not a failed row per point (exit 4, '[base]: unknown section'): the sweep file is refused, naming its base."""
    other = tmp_path / "other.toml"
    if base is None:
        other.mkdir()
    elif isinstance(base, bytes):
        other.write_bytes(base)
    else:
        other.write_text(base)
    with pytest.raises(ValueError, match=r"sweep\.toml: base: .*" + message):
        parse_sweep('base = "other.toml"\n[axes]\n"reservoirs.temperature" = ["25 mK"]\n', path=tmp_path / "sweep.toml")


def test_a_zipped_column_may_repeat_a_value_when_the_tuples_differ(tmp_path):
    """(7.1 ppm, 0.3 K) and (15 ppm, 0.3 K) are two points: repeats are refused per tuple of a zip."""
    (tmp_path / "base.toml").write_text(BASE)
    sweep = parse_sweep('base = "base.toml"\n[[zip]]\n"reservoirs.temperature" = ["25 mK", "50 mK"]\n'
                        '"electron_electron.kappa_dimensionless" = [0.3, 0.3]', path=tmp_path / "sweep.toml")
    assert [p.params for p in sweep.points()] == [
        {"reservoirs.temperature": t, "electron_electron.kappa_dimensionless": 0.3} for t in ("25 mK", "50 mK")]


def readme_sweep_block() -> tuple[str, int]:
    """The example sweep file of the README's "Parameter sweeps" and the number of points it states."""
    import re

    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Parameter sweeps")[1].split("\n## ")[0]
    block = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    stated = re.search(r"This sweep has [\d x]+= (\d+) points", section)
    return block, int(stated.group(1))


def test_the_readme_example_sweep_expands_to_its_stated_points_without_warnings(caplog):
    """The README's sweep on the shipped default scenario (Ag:Mn): as many points as it says, each a
    valid scenario that warns of nothing (baths above T_K, ln(eU/T_K) >= 3)."""
    block, stated = readme_sweep_block()
    sweep = parse_sweep(block, path=REPO / "scenarios" / "sweeps" / "readme_example.toml")
    points = sweep.points()
    assert len(points) == len(sweep) == stated == 12
    assert len({tuple(p.params.values()) for p in points}) == stated
    for point in points:
        assert parse_scenario(point.text).warnings == (), point.label


def test_dotted_keys_and_a_base_bias_series_become_axes(tmp_path):
    (tmp_path / "base.toml").write_text(BASE.replace('bias = "0.2 mV"', 'bias = ["0.1 mV", "0.2 mV"]'))
    sweep = parse_sweep('base = "base.toml"\n[axes]\nreservoirs.temperature = ["25 mK", "50 mK"]',
                        path=tmp_path / "sweep.toml")
    assert sweep.keys == ["reservoirs.bias", "reservoirs.temperature"]
    assert [p.params["reservoirs.bias"] for p in sweep.points()] == ["0.1 mV", "0.1 mV", "0.2 mV", "0.2 mV"]
    for point in sweep.points():
        parse_scenario(point.text)


def test_numeric_columns_only_for_quantities_with_units():
    from hotelectron.sweep.summary import axis_columns

    rows = [{"index": 0, "b": "0.1 mV", "m": "Cu", "s": 0.5}, {"index": 1, "b": "200 uV", "m": "fermi", "s": 1.5}]
    assert axis_columns(rows, ["b", "m", "s"]) == {"b [mV]": {0: 0.1, 1: pytest.approx(0.2)}}


def test_steady_on_an_evolving_bias_series_and_a_file_name_for_a_series(tmp_path):
    scenario = tmp_path / "series.toml"
    scenario.write_text(EVOLVE.replace('bias = "0.2 mV"', 'bias = ["0.1 mV", "0.2 mV"]'))
    result = cli("--quiet", "steady", scenario, "-o", tmp_path / "out", check=True)
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in read_summary(tmp_path / "out" / "summary.csv")] == ["finished"] * 2
    refused = cli("--quiet", "run", scenario, "-o", tmp_path / "x.h5")
    assert refused.returncode == 2 and "folder" in refused.stderr


def test_a_serial_sweep_writes_point_files_and_a_summary_pandas_opens(tmp_path):
    pandas = pytest.importorskip("pandas")
    result = run_sweep(load_sweep(write_sweep(tmp_path)), tmp_path / "out")
    assert [r["status"] for r in result.rows] == ["finished"] * 4
    table = pandas.read_csv(result.summary)
    assert list(table["point"]) == [f"point-{i:04d}" for i in range(4)]
    assert list(table["reservoirs.bias [mV]"]) == [0.1, 0.1, 0.2, 0.2]
    assert list(table["reservoirs.temperature [mK]"]) == [25.0, 50.0, 25.0, 50.0]
    for row in result.rows:  # the summary holds each file's last frame, in the file's units
        with h5py.File(tmp_path / "out" / row["file"], "r") as fh:
            assert fh.attrs["status"] == "finished"
            assert row["fano"] == fh["observables/fano"][-1]
            assert row["t_eff_mid_K"] == pytest.approx(fh["observables/t_eff_mid"][-1] * row["energy_unit_J"] / 1.380649e-23)
    # E0 = eU for each point: the current of an ohmic wire is 1 in units of E0/(eR)
    assert table["current_middle"].to_numpy() == pytest.approx(1.0, abs=1e-6)
    # the Wiedemann-Franz reference of the figure: T^2 + (3/4 pi^2)(eU)^2 in the middle, from each file
    from hotelectron.sweep.figure import _wiedemann_franz

    for row, bias_mV, t_mK in zip(result.rows, table["reservoirs.bias [mV]"], table["reservoirs.temperature [mK]"],
                                  strict=True):
        eU_K = bias_mV * 1e-3 * 1.602176634e-19 / 1.380649e-23
        expected = math.sqrt((t_mK * 1e-3) ** 2 + 3 / (4 * math.pi**2) * eU_K**2)
        assert _wiedemann_franz(tmp_path / "out", row, "t_eff_mid_K") == pytest.approx(expected, rel=WF_GRID_ERROR)
    # in the figure, two points per temperature: the reference is drawn as they are, a bar at each, no line
    import matplotlib.pyplot as plt

    from hotelectron.sweep.figure import summary_figure

    fig = summary_figure(result.summary)
    try:
        ax = next(ax for ax in fig.axes if ax.get_ylabel() == "T_eff(L/2) (K)")
        references = [line for line in ax.get_lines() if line.get_marker() == "_"]
        assert len(references) == 2 and all(line.get_linestyle() == "None" for line in references)
        drawn = sorted(y for line in references for y in line.get_ydata())
        assert drawn == sorted(_wiedemann_franz(tmp_path / "out", row, "t_eff_mid_K") for row in result.rows)
        assert "black bars: the Wiedemann-Franz value of each point" in ax.get_title()
    finally:
        plt.close(fig)
    # a folder that already holds points is not overwritten without --resume
    with pytest.raises(ValueError, match="--resume"):
        run_sweep(load_sweep(tmp_path / "sweep.toml"), tmp_path / "out")


def test_a_folder_holding_a_summary_table_is_not_written_into_without_resume_or_overwrite(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path))
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "summary.csv").write_text("my measured data\n")
    with pytest.raises(ValueError, match=r"summary\.csv; --resume continues the sweep, --overwrite"):
        run_sweep(sweep, folder)
    assert (folder / "summary.csv").read_text() == "my measured data\n"
    assert not list(folder.glob("point-*.h5"))


def test_overwrite_keeps_every_point_file_while_one_is_written_by_a_live_sweep(tmp_path):
    """--overwrite replaces a sweep's point files only when no other process still writes one of them
    (HDF5's lock): removing them under a live sweep would lose its results."""
    from hotelectron.io.storage import FileInUseError

    sweep = load_sweep(write_sweep(tmp_path))
    folder = tmp_path / "out"
    run_sweep(sweep, folder)
    points = sorted(folder.glob("point-*.h5"))
    before = {p: p.read_bytes() for p in points}
    holder = subprocess.Popen([sys.executable, "-c", "import sys, h5py\n"
                               "fh = h5py.File(sys.argv[1], 'r+')\nprint('open', flush=True)\nsys.stdin.read()",
                               str(points[-1])], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(FileInUseError, match="open for writing in another process"):
            run_sweep(sweep, folder, overwrite=True)
    finally:
        holder.communicate("")
    assert {p: p.read_bytes() for p in sorted(folder.glob("point-*.h5"))} == before
    run_sweep(sweep, folder, overwrite=True)  # once it is closed
    assert len(list(folder.glob("point-*.h5"))) == len(points)


# -- on a real LocalCluster ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    before = dict(os.environ)
    client = local_client(2)
    assert len(client.scheduler_info()["workers"]) == 2
    # the workers run one numba thread each; this process's environment is as it was, so that numba
    # here can still compile (it refuses once NUMBA_NUM_THREADS differs from its running thread pool)
    assert set(client.run(lambda: __import__("numba").config.NUMBA_NUM_THREADS).values()) == {1}
    assert dict(os.environ) == before
    yield client
    client.close()
    client.cluster.close()


def test_a_sweep_on_two_dask_workers_matches_the_serial_run(client, tmp_path):
    sweep = load_sweep(write_sweep(tmp_path))
    serial = run_sweep(sweep, tmp_path / "serial")
    counts = []
    parallel = run_sweep(sweep, tmp_path / "dask", client=client, progress=lambda *c: counts.append(c))
    assert [r["status"] for r in parallel.rows] == ["finished"] * 4
    same_summary(read_summary(parallel.summary), read_summary(serial.summary))
    assert counts[-1] == (4, 0, 4) and len(counts) == 4
    workers = {w["host"] + str(w["id"]) for w in client.scheduler_info()["workers"].values()}
    assert len(workers) == 2


def test_a_bad_point_is_reported_and_the_others_finish(client, tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, temperatures='["25 mK", "-5 mK"]'))
    result = run_sweep(sweep, tmp_path / "out", client=client)
    status = {r["point"]: r["status"] for r in result.rows}
    assert status == {"point-0000": "finished", "point-0001": "failed", "point-0002": "finished", "point-0003": "failed"}
    for row in result.failed:
        assert "[reservoirs] temperature" in row["error"] and "-5" in row["error"]
        assert not (tmp_path / "out" / f"{row['point']}.h5").exists()  # refused before any file was made
    rows = read_summary(result.summary)
    assert [r["status"] for r in rows] == ["finished", "failed", "finished", "failed"]


def test_a_point_that_fails_inside_its_worker_is_recorded_and_the_others_finish(client, tmp_path):
    """A valid point whose run fails in the worker (here: its file cannot be created, a folder has
    its name) is a failed row with the error; the other points finish."""
    sweep = load_sweep(write_sweep(tmp_path))
    (tmp_path / "out" / "point-0002.h5").mkdir(parents=True)
    result = run_sweep(sweep, tmp_path / "out", client=client, resume=True)
    status = [r["status"] for r in read_summary(result.summary)]
    assert status == ["finished", "finished", "failed", "finished"]
    assert "point-0002.h5" in result.failed[0]["error"]


def test_a_worker_killed_mid_point_does_not_lose_the_point(tmp_path):
    """SIGKILL of a worker process while it writes a point: Dask reruns the point elsewhere (its file
    continues from the last complete frame) and the summary is that of an undisturbed sweep."""
    sweep = load_sweep(write_sweep(tmp_path, base=EVOLVE))
    reference = run_sweep(sweep, tmp_path / "reference")
    client = local_client(2)
    try:
        pids = client.run(os.getpid)
        out = tmp_path / "out"
        killer = {"done": False}

        def kill_once(finished, failed, total):  # after the first point, kill a worker busy with another
            busy = [address for address, keys in client.processing().items() if keys]
            if not killer["done"] and busy:
                killer["done"] = True
                os.kill(pids[busy[0]], signal.SIGKILL)

        result = run_sweep(sweep, out, client=client, progress=kill_once)
    finally:
        client.close()
        client.cluster.close()
    assert killer["done"], "no worker was busy when the first point ended"
    assert [r["status"] for r in result.rows] == ["finished"] * 4
    same_summary(read_summary(result.summary), read_summary(reference.summary))


def test_a_killed_sweep_resumes_to_the_summary_of_an_uninterrupted_one(tmp_path):
    sweep = write_sweep(tmp_path, base=EVOLVE)
    reference = run_sweep(load_sweep(sweep), tmp_path / "reference")

    out = tmp_path / "killed"
    child = subprocess.Popen([sys.executable, "-m", "hotelectron", "--quiet", "sweep", str(sweep), "-o", str(out),
                              "--workers", "2"], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 240
    done, partial = [], {}
    while not (done and partial) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
        if (out / "summary.csv").exists():
            done = read_summary(out / "summary.csv")
        partial = {}
        for path in out.glob("point-*.h5"):  # points being written, with a few frames already
            try:
                with h5py.File(path, "r") as fh:
                    if fh.attrs["status"] == "running" and fh["time"].shape[0] >= 3:
                        partial[path.name] = fh["wall_time"][: fh["time"].shape[0]]
            except (OSError, KeyError):
                continue
    os.killpg(child.pid, signal.SIGKILL)  # the command, its scheduler and its workers
    child.wait()
    assert 1 <= len(done) < 4 and partial, "the sweep should be killed part-way, in the middle of a point"
    finished_before = {r["point"]: r["wall_s"] for r in done if r["status"] == "finished"}

    result = cli("--quiet", "sweep", sweep, "-o", out, "--workers", "2", "--resume", check=True)
    assert result.returncode == 0, result.stderr
    rows = read_summary(out / "summary.csv")
    same_summary(rows, read_summary(reference.summary))
    for row in rows:  # finished points were kept, not run again
        if row["point"] in finished_before:
            assert row["wall_s"] == finished_before[row["point"]]
    for name, wall_time in partial.items():  # a point killed mid-way continued: its frames were kept
        with h5py.File(out / name, "r") as fh:
            np.testing.assert_array_equal(fh["wall_time"][: wall_time.size], wall_time)
    assert sorted(p.name for p in out.glob("point-*.h5")) == [f"point-{i:04d}.h5" for i in range(4)]


def test_sweep_command_reports_failed_points_with_exit_status_4_and_plots(tmp_path):
    sweep = write_sweep(tmp_path, temperatures='["25 mK", "-5 mK"]')
    fig = tmp_path / "summary.png"
    result = cli("sweep", sweep, "-o", tmp_path / "out", "--workers", "2", "--plot", fig)
    assert result.returncode == 4
    (line,) = [line for line in result.stderr.splitlines() if "point-0001 (" in line]
    assert "reservoirs.temperature = -5 mK" in line and ") failed: " in line and "[reservoirs] temperature" in line
    assert fig.stat().st_size > 10_000
    again = cli("plot", tmp_path / "out" / "summary.csv", "-o", tmp_path / "again.png", check=True)
    assert (tmp_path / "again.png").stat().st_size > 10_000, again.stdout


@pytest.mark.parametrize(("address", "words"), [
    ("foo", ["--scheduler foo: ", "missing port number"]),  # was "missing port number in address 'foo'" alone
    ("http://x:1", ["--scheduler http://x:1: ", "unknown address scheme 'http'"]),
    ("", ["--scheduler", "an address such as tcp://host:8786"]),  # was a LocalCluster, silently
])
def test_a_scheduler_address_dask_cannot_read_is_refused_naming_the_option(tmp_path, address, words):
    from systems import assert_one_line_refusal

    result = cli("sweep", write_sweep(tmp_path), "-o", tmp_path / "out", f"--scheduler={address}")
    if address:
        assert_one_line_refusal(result, *words)
    else:  # argparse's refusal: usage, then one line
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert all(word in result.stderr.splitlines()[-1] for word in words), result.stderr
    assert not (tmp_path / "out" / "summary.csv").exists()


def test_a_summary_away_from_its_point_files_is_refused_naming_the_missing_file(tmp_path):
    """A summary.csv copied away from its folder gave h5py's raw '[Errno 2] Unable to synchronously open
    file (unable to open file: name = ...)'."""
    from systems import assert_one_line_refusal

    (tmp_path / "base.toml").write_text(BASE)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('base = "base.toml"\n[axes]\n"reservoirs.temperature" = ["25 mK", "50 mK"]\n')
    run_sweep(load_sweep(sweep), tmp_path / "out")
    away = tmp_path / "away"
    away.mkdir()
    (away / "summary.csv").write_bytes((tmp_path / "out" / "summary.csv").read_bytes())
    result = cli("plot", away / "summary.csv", "-o", tmp_path / "f.png")
    assert_one_line_refusal(result, f"{away / 'summary.csv'}: the point file {away / 'point-0000.h5'} of point-0000 "
                                    "is missing (2 of 2 finished points)")
    assert not (tmp_path / "f.png").exists()


def test_a_sweep_names_the_point_of_each_warning_once_and_workers_do_not_repeat_it(tmp_path, caplog):
    """Both baths below T_K = 40 mK: the loader's Kondo-screening warning, once per point, named by the
    sweep file and the point's values (as a bias series names its points); run_point, which the
    workers run, and the command's resource check parse the point again without repeating it."""
    import logging

    (tmp_path / "base.toml").write_text(FIELD_BASE)
    path = tmp_path / "sweep.toml"
    path.write_text('base = "base.toml"\n[axes]\n"reservoirs.temperature" = ["30 mK", "35 mK"]\n')
    sweep = load_sweep(path)
    with caplog.at_level(logging.WARNING, logger="hotelectron"):
        result = run_sweep(sweep, tmp_path / "out")
    assert [r["status"] for r in read_summary(result.summary)] == ["finished"] * 2
    warned = [r.getMessage() for r in caplog.records if "Kondo-screened" in r.getMessage()]
    assert len(warned) == 2
    for message, point in zip(warned, sweep.points(), strict=True):
        assert message.startswith(f"{path} {point.name} (reservoirs.temperature = {point.params['reservoirs.temperature']}): "
                                  "[reservoirs] temperature")
    caplog.clear()
    point = sweep.points()[0]
    with caplog.at_level(logging.WARNING, logger="hotelectron"):
        assert run_point(point.text, str(tmp_path / "again.h5"), point.params, 0)["status"] == "finished"
    assert not caplog.records
    result = cli("sweep", path, "-o", tmp_path / "cli", "--serial", check=True)
    warned = [line for line in result.stderr.splitlines() if "Kondo-screened" in line]
    assert len(warned) == 2 and all(f"{path} point-000" in line for line in warned), result.stderr


def test_resume_refuses_files_of_another_sweep(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path))
    run_sweep(sweep, tmp_path / "out")
    other = load_sweep(write_sweep(tmp_path, temperatures='["30 mK", "60 mK"]'))
    with pytest.raises(ValueError, match=r"point-0000.h5 was written for other parameters than point-0000 of this "
                       r"sweep \(\[reservoirs\] temperature = '25 mK' in the file, '30 mK' now\)"):
        run_sweep(other, tmp_path / "out", resume=True)


SHIPPED = sorted((Path(__file__).parents[2] / "scenarios" / "sweeps").glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_sweep_expands_into_valid_scenarios(path):
    sweep = load_sweep(path)
    points = sweep.points()
    assert len({p.text for p in points}) == len(points) > 1  # distinct scenarios
    for point in points:
        data = tomllib.loads(point.text)
        for key, value in point.params.items():  # each carries its own values
            section, leaf = key.split(".")
            assert data[section][leaf] == value
        parse_scenario(point.text)  # and is valid


def test_the_shipped_sweep_runs_serially_from_the_command_line(tmp_path):
    cu = next(path for path in SHIPPED if path.stem == "cu_bias_temperature")
    result = cli("--quiet", "sweep", cu, "-o", tmp_path / "out", "--serial", check=True)
    assert result.returncode == 0, result.stderr
    rows = read_summary(tmp_path / "out" / "summary.csv")
    assert rows and all(r["status"] == "finished" for r in rows)
    # hotter reservoirs at the same bias: a hotter wire (T_eff(L/2) in kelvin grows with T)
    by_key = {(r["reservoirs.bias [mV]"], r["reservoirs.temperature [mK]"]): r["t_eff_mid_K"] for r in rows}
    for (bias, temperature), t_eff in by_key.items():
        if temperature == 25.0:
            assert by_key[(bias, 100.0)] > t_eff


# Ag with S = 5/2 pairs on a small grid (energy step 5 ueV = 0.025 eU), steady
FIELD_BASE = AGMN_SECTIONS + """
[grid]
n_x = 5
n_energy = 241
half_width = 3.0

[run]
mode = "steady"
"""


def test_a_sweep_over_the_field_and_its_figure(tmp_path):
    """field.B as an axis: 0 T is the run without a field; 2.0734 T puts Delta_Z = 0.24 meV = 1.2 eU on 48
    energy steps. The figure draws the relaxation against B and marks g mu_B B = eU."""
    import matplotlib.pyplot as plt

    from hotelectron.sweep.figure import summary_figure

    (tmp_path / "base.toml").write_text(FIELD_BASE)
    (tmp_path / "sweep.toml").write_text('base = "base.toml"\n[axes]\n"field.B" = ["0 T", "2.0734 T"]\n')
    result = run_sweep(load_sweep(tmp_path / "sweep.toml"), tmp_path / "out")
    rows = read_summary(result.summary)
    assert [r["status"] for r in rows] == ["finished"] * 2
    assert [r["field.B [T]"] for r in rows] == [0.0, 2.0734]
    assert rows[0]["zeeman_run_E0"] == 0.0 and rows[1]["zeeman_run_E0"] == pytest.approx(1.2, rel=1e-12)
    assert rows[1]["zeeman_run_meV"] == pytest.approx(0.24, rel=1e-12)
    without = run_scenario(parse_scenario(FIELD_BASE), tmp_path / "without.h5")
    relaxation = []
    with h5py.File(tmp_path / "out" / rows[0]["file"], "r") as zero, h5py.File(without, "r") as none, \
            h5py.File(tmp_path / "out" / rows[1]["file"], "r") as field:
        np.testing.assert_array_equal(zero["f"][()], none["f"][()])
        np.testing.assert_array_equal(zero["P"][()], none["P"][()])
        assert field["P"].attrs["zeeman_steps"] == 48 and field["P"].shape[-1] == 36
        # the field changes the distribution (pairs at 1 ppm: slightly)
        assert np.max(np.abs(field["f"][0] - zero["f"][0])) > 1e-6
        for fh in (zero, field):  # int |f(L/2) - (f(0) + f(L))/2| d eps, eps in eU
            f = fh["f"][0]
            relaxation.append(np.sum(np.abs(f[2] - (f[0] + f[-1]) / 2)) * 6.0 / 240)
    fig = summary_figure(result.summary)
    try:
        panels = {ax.get_ylabel(): ax for ax in fig.axes if ax.get_visible()}
        ax = panels["relaxation / its value at B = 0"]  # a sweep over the field from B = 0
        assert ax.get_xlabel() == "B (T)"
        points = next(line for line in ax.get_lines() if line.get_marker() == "o")
        np.testing.assert_allclose(points.get_xdata(), [0.0, 2.0734])
        np.testing.assert_allclose(points.get_ydata(), [1.0, relaxation[1] / relaxation[0]], rtol=1e-12)
        assert points.get_linestyle() == "None"  # two points: markers, no line suggesting a trend between
        assert ax.get_ylim()[0] == 0.0 and ax.get_ylim()[1] > max(points.get_ydata())  # the scale honestly
        scale = next(line for line in ax.get_lines() if line.get_label().startswith("g mu_B B = eU"))
        # eU / (g mu_B) = 0.2 meV / (2 x 5.788e-2 meV/T)
        assert scale.get_xdata()[0] == pytest.approx(0.2e-3 * 1.602176634e-19 / (2 * 9.2740100783e-24), rel=1e-12)
        labels = [line.get_label() for line in fig.axes[0].get_lines()]
        assert labels == ["B = 0 T", "B = 2.073 T", "collisionless double step"]
        title = " ".join(fig._suptitle.get_text().split())  # wrapped to the figure's width
        assert "Ag, L = 5 um; T = 50 mK; U = 0.2 mV; impurities S = 2.5, 1 ppm" in title
        assert "B = 0, 2.073 T: 2 points" in title and "T_eff(L/2) does not change with B" in title
        # the current grows with the bias; in units of each point's eU/(eR) it is 1: not drawn, and said so
        assert "current I(L/2) = U/R to round-off at every point" in title and "current I(L/2) does not" not in title
    finally:
        plt.close(fig)
    # a summary without the relaxation column (point files written before it was recorded): the figure
    # computes it from each point's last frame, to the same numbers
    with result.summary.open(newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    old = result.summary.with_name("summary-without-relaxation.csv")
    with old.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, [key for key in table[0] if key != "relaxation"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(table)
    fig = summary_figure(old)
    try:
        ax = next(ax for ax in fig.axes if ax.get_ylabel() == "relaxation / its value at B = 0")
        points = next(line for line in ax.get_lines() if line.get_marker() == "o")
        np.testing.assert_allclose(points.get_ydata(), [1.0, relaxation[1] / relaxation[0]], rtol=1e-12)
    finally:
        plt.close(fig)
    assert plot_summary(result.summary, tmp_path / "summary.png").stat().st_size > 10_000


def test_a_sweep_over_bias_then_field_draws_each_bias_double_step_and_marks_eu_at_the_zeeman_energy(tmp_path):
    """Bias first, field second: a panel of f per field holds both biases, whose double steps differ
    (k_B T / eU = 0.043 and 0.022): each is drawn. Against the bias, the line at 1.0367 T (Delta_Z =
    0.12 meV: 48 and 24 steps at 0.1 and 0.2 mV) is marked at U = Delta_Z / e = 0.12 mV."""
    import matplotlib.pyplot as plt

    from hotelectron.sweep.figure import summary_figure

    (tmp_path / "base.toml").write_text(FIELD_BASE)
    (tmp_path / "sweep.toml").write_text('base = "base.toml"\n[axes]\n"reservoirs.bias" = ["0.1 mV", "0.2 mV"]\n'
                                         '"field.B" = ["0 T", "1.0367 T"]\n')
    result = run_sweep(load_sweep(tmp_path / "sweep.toml"), tmp_path / "out")
    rows = read_summary(result.summary)
    assert [r["status"] for r in rows] == ["finished"] * 4
    zeeman_meV = {r["zeeman_run_meV"] for r in rows if r["field.B [T]"] > 0}
    assert len(zeeman_meV) == 1  # the field sits on both grids
    fig = summary_figure(result.summary)
    try:
        for column, field in enumerate(("B = 0 T", "B = 1.037 T")):
            top = fig.axes[column]
            assert top.get_title().startswith(field)
            references = {line.get_label(): line.get_ydata() for line in top.get_lines()
                          if line.get_label().startswith("collisionless double step")}
            assert sorted(references) == [f"collisionless double step, bias = {b} mV" for b in (0.1, 0.2)]
            for row in (r for r in rows if f"B = {r['field.B [T]']:.4g} T" == field):
                with h5py.File(tmp_path / "out" / row["file"], "r") as fh:
                    f = fh["f"][0]
                expected = (f[0] + f[-1]) / 2  # the middle of the wire without collisions
                np.testing.assert_allclose(references[f"collisionless double step, bias = {row['reservoirs.bias [mV]']:.4g} mV"],
                                           expected, rtol=0, atol=1e-15)
        panels = {ax.get_ylabel(): ax for ax in fig.axes if ax.get_visible()}
        ax = panels["relaxation: int |f(L/2) - double step| d eps / E0"]
        assert ax.get_xlabel() == "bias (mV)"
        (marker,) = [line for line in ax.get_lines() if line.get_label().startswith("g mu_B B = eU")]
        assert marker.get_label() == "g mu_B B = eU (B = 1.037 T)"
        assert marker.get_xdata()[0] == pytest.approx(zeeman_meV.pop(), rel=1e-12)
        assert marker.get_xdata()[0] == pytest.approx(2 * 9.2740100783e-24 * 1.0367 / 1.602176634e-19 * 1e3, rel=5e-3)
    finally:
        plt.close(fig)


def test_the_energy_rate_panel_draws_the_electrons_whole_energy_change_and_the_pairs(tmp_path):
    import h5py
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hotelectron.sweep.figure import _energy_rates

    t = np.linspace(0.0, 2.0, 21)
    w_e = 0.1 * (1 - np.exp(-t / 0.3))
    dw_p = -0.01 * np.exp(-t)
    with h5py.File(tmp_path / "point-0000.h5", "w") as fh:
        fh["time"], fh["observables/w_e"], fh["observables/dw_p_dt"] = t, w_e, dw_p
    fig, ax = plt.subplots()
    _energy_rates(ax, tmp_path, [{"file": "point-0000.h5", "reservoirs.bias [mV]": 0.1}],
                  [("reservoirs.bias", "reservoirs.bias [mV]")])
    electrons, pairs = ax.get_lines()
    np.testing.assert_allclose(electrons.get_xdata(), 0.5 * (t[1:] + t[:-1]))
    np.testing.assert_allclose(electrons.get_ydata(), np.abs(np.diff(w_e) / np.diff(t)), rtol=1e-14)
    np.testing.assert_array_equal(pairs.get_ydata(), np.abs(dw_p[1:]))
    assert "electrons" in electrons.get_label() and "pairs" in pairs.get_label()
    plt.close(fig)


def test_energy_rates_are_in_watts_where_every_point_fixes_e0_and_r():
    """E0 = eU differs per point, so the rates are converted: E0^2/(e^2 R) = U^2/R for a biased wire
    (0.1 mV over 20 ohm: 5e-10 W), by the scenario's resistance; W/m^3 (2 nu E0^2/tau_D) where R is
    unknown; without E0, each point's own units, said so when they differ."""
    from hotelectron.sweep.figure import _rate_unit

    e = 1.602176634e-19
    points = [{"energy_unit_J": e * u, "resistance_ohm": 20.0, "tau_D_s": 1e-9, "nu_per_spin_J_m3": 1e47}
              for u in (1e-4, 3e-4)]
    factors, unit = _rate_unit(points)
    assert unit == "W"
    np.testing.assert_allclose(factors, [1e-8 / 20.0, 9e-8 / 20.0], rtol=1e-12)
    factors, unit = _rate_unit([{**points[0], "resistance_ohm": None}, points[1]])
    assert unit == "W/m^3"
    np.testing.assert_allclose(factors, [2e47 * (e * u) ** 2 / 1e-9 for u in (1e-4, 3e-4)], rtol=1e-12)
    assert _rate_unit([{}, {}]) == ([1.0, 1.0], "units of E0^2 / (e^2 R)")
    assert _rate_unit([{"energy_unit_J": None}, {"energy_unit_J": 1.0, "tau_D_s": None}])[1] == \
        "units of each point's own E0^2 / (e^2 R)"


def _combinations(n_temperatures, kappas):
    """Summary rows of bias x temperature x a zipped (kappa, exponent) group, as the figure reads them."""
    rest = ["reservoirs.temperature [mK]", "electron_electron.kappa_dimensionless", "electron_electron.exponent"]
    rows = [{"reservoirs.bias [mV]": b, rest[0]: 10.0 * (t + 1), rest[1]: k, rest[2]: 1.5 + k}
            for b in (0.1, 0.2, 0.3) for t in range(n_temperatures) for k in kappas]
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row[c] for c in rest), []).append(row)
    return rows, rest, groups


@pytest.mark.parametrize("n_temperatures, kappas", [(1, [0.3]), (2, [0.3, 1.0]), (5, [0.3, 1.0]), (4, [0.3, 1.0, 3.0]),
                                                    (30, [0.3])])
def test_the_lines_of_any_number_of_combinations_are_told_apart_by_a_legend_of_at_most_their_values(
        n_temperatures, kappas):
    """One line per combination of the other parameters, no two drawn alike. Up to MAX_LINES an entry
    each; beyond, a colour per temperature and a style per (kappa, exponent), zipped, so the legend
    has the values of each (temperatures + kappas entries), not their product."""
    from hotelectron.sweep.figure import MAX_LINES, Colours

    rows, rest, groups = _combinations(n_temperatures, kappas)
    colours = Colours(rows, "reservoirs.bias [mV]", rest, groups)
    drawn = [(str(style["color"]), style["ls"], style["marker"]) for style in colours.styles.values()]
    assert len(drawn) == len(set(drawn)) == n_temperatures * len(kappas)
    assert len(set(colours.first_colour.values())) == 3
    entries = colours.legend_entries()
    if len(groups) == 1:
        assert entries == []
    elif len(groups) <= MAX_LINES:
        assert [label for _, label in entries] == [", ".join(f"{c.split('.')[-1].split(' [')[0]} = {v:.4g}"
                                                               + (" mK" if "[mK]" in c else "") for c, v in
                                                               zip(rest, key, strict=True)) for key in groups]
    else:
        assert len(entries) == n_temperatures + (len(kappas) if len(kappas) > 1 else 0) <= len(groups)
        assert f"{len(groups)} combinations" in colours.legend_title


def test_a_figure_of_more_combinations_than_f_panels_keeps_its_legends_off_the_data(tmp_path):
    """bias x temperature x kappa: 4 combinations of the other parameters, more than MAX_F_PANELS. One
    panel of f, a colour per bias and a legend of the biases; the combinations' legend is shared,
    below every panel; the Fano references are named beside the panel, in no legend."""
    import matplotlib.pyplot as plt

    from hotelectron.sweep.figure import MAX_F_PANELS, summary_figure

    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "sweep.toml").write_text('base = "base.toml"\n[axes]\n"reservoirs.bias" = ["0.1 mV", "0.2 mV"]\n'
                                         '"reservoirs.temperature" = ["25 mK", "50 mK"]\n'
                                         '"electron_electron.kappa_dimensionless" = [0.3, 0.6]\n')
    result = run_sweep(load_sweep(tmp_path / "sweep.toml"), tmp_path / "out")
    fig = summary_figure(result.summary)
    try:
        fig.canvas.draw()
        panels = [ax for ax in fig.axes if ax.get_visible()]
        tops = [ax for ax in panels if ax.get_ylabel() == "f(L/2, eps), final frame"]
        assert len(tops) == 1 < 4 and 4 > MAX_F_PANELS
        assert [t.get_text() for t in tops[0].get_legend().get_texts()] == [
            "bias = 0.1 mV", "bias = 0.2 mV", "collisionless double step (dotted)"]
        assert "the 4 combinations of temperature, kappa_dimensionless" in " ".join(tops[0].get_title().split())
        (shared,) = fig.legends
        assert len(shared.get_texts()) == 4
        below = shared.get_window_extent()
        for ax in panels:
            assert below.y1 < ax.get_tightbbox().y0, ax.get_ylabel()  # the shared legend is below every panel
        fano = next(ax for ax in panels if ax.get_ylabel().startswith("Fano"))
        assert fano.get_legend() is None and {t.get_text() for t in fano.texts} == {"1/3", "sqrt(3)/4"}
        assert "dotted 1/3: cold electrons" in fano.get_title()
    finally:
        plt.close(fig)


@pytest.mark.slow
def test_the_shipped_field_experiment_shows_a_field_scale_proportional_to_the_bias(tmp_path):
    """scenarios/sweeps/agmn_field.toml (8 steady states): the free spins exchange Delta_Z with the
    electrons, so that at fields with Delta_Z < eU the relaxation of f(L/2) is several times that at
    B = 0 (measured 6-10 times); once Delta_Z > eU the spins (and pairs) are polarised and it falls back,
    slightly below the zero-field value (pairs frozen too). 1 T is beyond that scale at 0.1 mV and
    inside it at 0.2 mV: the field scale is proportional to U."""
    shipped = next(path for path in SHIPPED if path.stem == "agmn_field")
    result = cli("--quiet", "sweep", shipped, "-o", tmp_path / "out", "--serial", "--plot", tmp_path / "field.png",
                 check=True)
    assert result.returncode == 0 and (tmp_path / "field.png").stat().st_size > 10_000
    rows = read_summary(tmp_path / "out" / "summary.csv")
    assert len(rows) == 8 and all(r["status"] == "finished" for r in rows)
    at_1T = {}
    for bias in (0.1, 0.2):
        points = sorted((r for r in rows if r["reservoirs.bias [mV]"] == bias), key=lambda r: r["field.B [T]"])
        relaxation = []
        for row in points:
            with h5py.File(tmp_path / "out" / row["file"], "r") as fh:
                f = fh["f"][0]
            relaxation.append(np.sum(np.abs(f[f.shape[0] // 2] - (f[0] + f[-1]) / 2)))
        ratio = {row["field.B [T]"]: r / relaxation[0] for r, row in zip(relaxation, points, strict=True)}
        scale = {row["field.B [T]"]: row["zeeman_run_E0"] for row in points}  # Delta_Z / eU
        assert all(ratio[B] > 5 for B in ratio if 0 < scale[B] < 1), (bias, ratio)
        assert all(0.95 < ratio[B] < 1 for B in ratio if scale[B] > 1), (bias, ratio)
        at_1T[bias] = ratio[1.0]
    assert at_1T[0.1] < 1 < 5 < at_1T[0.2]
