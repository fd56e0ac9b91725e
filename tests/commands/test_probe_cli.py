"""``hotelectron probe``: the curve it writes, the field it sits in, and one-line refusals with exit 2
naming the option."""

from pathlib import Path

import h5py
import numpy as np
import pytest
from systems import assert_one_line_refusal, cli

from hotelectron.commands.main import main
from hotelectron.experiment.data import read_curves
from hotelectron.experiment.probe import ProbeParameters, dos


@pytest.fixture(scope="module")
def collisionless(tmp_path_factory):
    path = tmp_path_factory.mktemp("probe") / "cl.h5"
    assert main(["-q", "run", "scenarios/collisionless.toml", "-o", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def in_field(tmp_path_factory):
    """The collisionless wire's steady state (5 nodes) in a field of 0.5 T, recorded in the file."""
    folder = tmp_path_factory.mktemp("probe-field")
    text = Path("scenarios/collisionless.toml").read_text().replace('mode = "evolve"', 'mode = "steady"')
    lines = [line for line in text.splitlines() if not line.startswith(("end_time", "output_every"))]
    (folder / "field.toml").write_text("\n".join(lines).replace("n_x = 17", "n_x = 5") + '\n[field]\nB = "0.5 T"\n')
    cli("-q", "run", folder / "field.toml", "-o", folder / "field.h5", check=True)
    return folder / "field.h5"


def test_probe_writes_csv_with_double_step_peaks(collisionless, tmp_path):
    out, fig = tmp_path / "c.csv", tmp_path / "c.png"
    assert main(["-q", "probe", str(collisionless), "--gap", "0.17 meV", "--dynes", "1 ueV",
                 "-o", str(out), "--plot", str(fig)]) == 0
    header = [line for line in out.read_text().splitlines() if line.startswith("#")]
    assert any("V_mV [mV]" in line for line in header)
    u, b, t, v, g = np.loadtxt(out, delimiter=",", unpack=True)
    assert np.all(u == 0.2) and np.all(b == 0) and np.all(t == 0.025)
    # at x = L/2 the double step steps at +-eU/2 = +-0.1 meV: peaks at +-(0.17 -+ 0.1) mV
    positive = v > 0
    inner = positive & (v < 0.17)
    # tolerance: thermal smearing at 25 mK (k_B T = 2.2 ueV) moves a peak of the singular DOS by ~2 k_B T
    assert v[inner][np.argmax(g[inner])] == pytest.approx(0.07, abs=5e-3)
    assert v[positive & ~inner][np.argmax(g[positive & ~inner])] == pytest.approx(0.27, abs=5e-3)
    assert fig.stat().st_size > 0
    # the measured-data reader reads the command's CSV back, exactly
    (curve,) = read_curves(out)
    assert curve.key == (0.2, 0.0, 0.025) and curve.kind == "conductance"
    assert np.array_equal(curve.x, v) and np.array_equal(curve.y, g)


def test_the_probe_field_is_written_with_the_curve_and_read_back(collisionless, tmp_path):
    out = tmp_path / "b.csv"
    assert main(["-q", "probe", str(collisionless), "--gap", "0.17 meV", "--dynes", "1 ueV", "--field", "0.5 T",
                 "-o", str(out)]) == 0
    (curve,) = read_curves(out)
    assert curve.key == (0.2, 0.5, 0.025)  # a fit reading this file splits the probe at 0.5 T again


def test_missing_file_exits_2(tmp_path, caplog):
    assert main(["-q", "probe", str(tmp_path / "nope.h5")]) == 2
    assert "nope.h5" in caplog.text


def test_negative_gap_exits_2(collisionless, caplog):
    assert main(["-q", "probe", str(collisionless), "--gap", "-0.1 meV"]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "\n" not in errors[0] and "gap" in errors[0]


def test_file_without_f_exits_2(tmp_path, caplog):
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as fh:
        fh.attrs["derived"] = "{}"
    assert main(["-q", "probe", str(path)]) == 2
    assert "is damaged or not a trajectory file" in caplog.text  # verified before any reading


def test_the_probe_sits_in_the_field_of_the_trajectory(in_field, tmp_path):
    """Without --field the probe takes the run's [field] B (and writes it with the curve, for a fit to read);
    a different --field is taken, with a warning."""
    args = ["probe", in_field, "--gap", "0.17 meV", "--dynes", "1 ueV"]
    result = cli(*args, "-o", tmp_path / "file.csv", check=True)
    assert "WARNING" not in result.stderr
    cli(*args, "--field", "0.5 T", "-o", tmp_path / "given.csv", check=True)
    (default,), (given,) = read_curves(tmp_path / "file.csv"), read_curves(tmp_path / "given.csv")
    assert default.field_T == 0.5 and np.array_equal(default.y, given.y)
    result = cli(*args, "--field", "0 T", "-o", tmp_path / "zero.csv", check=True)
    warnings = [line for line in result.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and "--field 0 T differs from the field of" in warnings[0] and "B = 0.5 T" in warnings[0]
    (zero,) = read_curves(tmp_path / "zero.csv")
    assert zero.field_T == 0.0 and not np.allclose(zero.y, default.y)  # unsplit coherence peaks


@pytest.mark.parametrize("args, words", [
    (["--points", "-5"], ["--points -5: at least 2 probe biases"]),
    (["--points", "1"], ["--points 1: at least 2 probe biases"]),
    (["--points", "100000000"], ["--points 100000000: at most 1000000 probe biases"]),
    (["--g", "-2"], ["--g -2.0: the g factor of the probe's electrons must lie in (0, 20]"]),
    (["--g", "1e300"], ["--g 1e+300:", "(0, 20]"]),
    (["--field", "1e16 T"], ["--field 1e16 T: the spin shift g mu_B B/2 = 5.788e+14 meV", "100 times the gap"]),
    (["--dynes", "0 ueV"], ["--dynes 0 ueV: leaves the BCS DOS singular"]),
    (["--gap", "1e300 meV"], ["--gap 1e300 meV: ", "at most 1000 meV"]),
    (["--dynes", "1e300 ueV"], ["--dynes 1e300 ueV: ", "at most 1000 meV"]),
    (["--probe-temperature", "2 K"], ["--probe-temperature 2 K: is not below the probe's T_c"]),
    (["-o", "/proc/self/c.csv"], ["cannot write /proc/self/c.csv"]),
    (["--plot", "{tmp}"], ["is a directory"]),
])
def test_bad_options_are_refused_naming_them_before_any_work(in_field, tmp_path, monkeypatch, args, words):
    import hotelectron.experiment.probe as probe

    def no_work(*args, **kwargs):
        raise AssertionError("the curve was computed before the refusal")

    monkeypatch.setattr(probe, "probe_conductance", no_work)
    args = [a.format(tmp=tmp_path) for a in args]
    assert_one_line_refusal(cli("probe", in_field, "--gap", "0.17 meV", *args), *words)


def test_a_field_beyond_any_probe_in_the_trajectory_is_refused_naming_it(in_field, tmp_path):
    """A gap of 0.25 ueV is more than 100 times below the spin shift at 0.5 T (28.9 ueV): the file's field is named."""
    assert_one_line_refusal(cli("probe", in_field, "--gap", "0.25 ueV", "--dynes", "0.01 ueV",
                                "--probe-temperature", "0 K"),
                            f"the field of {in_field}, B = 0.5 T (its [field] B; --field overrides it)", "100 times")


def test_the_printed_table_names_the_run_the_probe_and_the_range(collisionless, tmp_path):
    """Without -o or --plot: a header with the probe's parameters (the defaults) and the units, then 21 rows
    of the same curve the CSV holds, over V = +-(half width of the energy grid + Delta(T))."""
    import json

    result = cli("-q", "probe", collisionless, check=True)
    header = [line for line in result.stdout.splitlines() if line.startswith("#")]
    rows = np.array([line.split() for line in result.stdout.splitlines() if not line.startswith("#")], dtype=float)
    assert f"# hotelectron probe {collisionless}: last frame, wire bias U = 0.2 mV, bath T = 0.025 K" == header[0]
    assert header[1].startswith("# probe: gap 0.17 meV (Delta(T) = 0.17 meV), dynes 0.001 meV, temperature 0.05 K, "
                                "field 0 T, g 2; position x/L = 0.5")
    assert "21 of 801 biases" in header[2] and header[3].split() == ["#", "V", "(mV)", "R_T", "dI/dV"]
    with h5py.File(collisionless) as fh:
        derived = json.loads(fh.attrs["derived"])
    gap = ProbeParameters(0.17, 1e-3, 0.05).gap_at_temperature_meV  # Delta(50 mK) = 0.17 meV (1 - 2e-7)
    reach = derived["half_width_E0"] * derived["energy_unit_meV"] + gap
    cli("-q", "probe", collisionless, "-o", tmp_path / "all.csv", check=True)
    (curve,) = read_curves(tmp_path / "all.csv")
    assert curve.x[0] == pytest.approx(-reach, rel=1e-12) and curve.x[-1] == pytest.approx(reach, rel=1e-12)
    assert rows.shape == (21, 2)
    np.testing.assert_allclose(rows[:, 0], curve.x[::40], atol=5e-6)  # printed to 5 and 6 decimals
    np.testing.assert_allclose(rows[:, 1], curve.y[::40], atol=5e-7)
    assert "probe: gap 0.17 meV (Delta(T) = 0.17 meV), dynes 0.001 meV" in (tmp_path / "all.csv").read_text()


def test_help_gives_the_probe_defaults():
    text = " ".join(cli("probe", "--help").stdout.split())
    for words in ("(default 0.17 meV", "(default 1 ueV)", "(default 50 mK)", "+-(half width of the energy grid"):
        assert words in text


def test_a_series_folder_is_named_with_its_point_files(tmp_path):
    folder = tmp_path / "default"
    folder.mkdir()
    for k in range(3):
        (folder / f"point-{k:04d}.h5").write_bytes(b"")
    assert_one_line_refusal(cli("probe", folder), f"{folder} is a folder, not a file; probe takes a file",
                            f"3 point trajectories {folder / 'point-0000.h5'} ... point-0002.h5",
                            f"(e.g. hotelectron probe {folder / 'point-0000.h5'})")
    assert_one_line_refusal(cli("probe", tmp_path / "absent.h5"), f"{tmp_path / 'absent.h5'} does not exist")
