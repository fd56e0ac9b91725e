"""Smoke test of the fit benchmark (``hotelectron bench --fit --quick``): it runs both fits and reports
what it promises. No timing is asserted: the target is checked by the benchmark itself."""

import json
import math

import pytest

from systems import cli


@pytest.mark.slow
def test_quick_fit_benchmark_fits_serially_and_on_dask_to_the_same_values(tmp_path):
    path = tmp_path / "fit.json"
    result = cli("-q", "bench", "--fit", "--quick", "--json", path, check=True)
    assert "speed-up serial / Dask" in result.stdout and "load average" in result.stdout
    data = json.loads(path.read_text())
    assert data["free_parameters"] == ["electron_electron.kappa", "reservoirs.temperature", "probe.gap", "probe.dynes"]
    assert len(data["biases_mV"]) == 4 and data["points_per_curve"] == 60 and data["workers"] == 2
    assert data["evaluations"] == data["dask_evaluations"] > data["optimiser_evaluations"] > 0
    assert data["steady_solves"] == data["dask_steady_solves"] > 0
    # the same fit on both sides (the solver's round-off apart: test_fit_parallel.py)
    assert data["largest_difference_in_stderr"] < 1e-6
    for p in data["parameters"].values():
        assert math.isfinite(p["stderr"]) and p["stderr"] > 0
        assert abs(p["serial"] - p["true"]) < 4 * p["stderr"]
    assert all(w > 0 for w in data["wall_s"]["serial"] + data["wall_s"]["dask"])
    assert data["speed_up"] == pytest.approx(data["median_wall_s"]["serial"] / data["median_wall_s"]["dask"])


def test_bench_options_that_exclude_each_other_are_refused():
    assert cli("bench", "--fit", "--sweep").returncode == 2
    assert cli("bench", "--wire", "--rounds", "2").returncode == 2
