"""``hotelectron probe``: the curve it writes, and one-line refusals with exit 2."""

import h5py
import numpy as np
import pytest

from hotelectron.commands.main import main
from hotelectron.experiment.data import read_curves
from hotelectron.experiment.probe import dos


@pytest.fixture(scope="module")
def collisionless(tmp_path_factory):
    path = tmp_path_factory.mktemp("probe") / "cl.h5"
    assert main(["-q", "run", "scenarios/collisionless.toml", "-o", str(path)]) == 0
    return path


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
