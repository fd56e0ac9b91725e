"""The shipped fitting example (scenarios/fit_example): the committed synthetic CSV is what its script
makes, and ``hotelectron fit`` on its fit file recovers the true values the script states (~15 s)."""

import json
import math

import pytest
from systems import SCENARIOS, assert_fresh_generation, example_script

from hotelectron.commands.main import main

EXAMPLE = SCENARIOS / "fit_example"


@pytest.fixture(scope="module")
def script():
    return example_script("fit_example")


def test_committed_csv_is_a_fresh_generation(script, tmp_path):
    committed = assert_fresh_generation(script, EXAMPLE / "synthetic_curves.csv", tmp_path)
    assert f"kappa = {script.TRUE_KAPPA!r}" in committed and f"gap = {script.TRUE_GAP_MEV!r} meV" in committed


def test_fit_file_recovers_the_true_values(script, tmp_path):
    assert main(["-q", "fit", str(EXAMPLE / "fit.toml"), "-o", str(tmp_path / "out")]) == 0
    result = json.loads((tmp_path / "out" / "fit.json").read_text())
    for label, true in script.truth().items():
        p = result["parameters"][label]
        assert abs(p["start"] - true) >= 0.2 * true  # the fit starts 20-30 % off
        assert p["stderr"] is not None and 0 < p["stderr"] < 0.05 * true  # an error that makes the next line a test
        assert abs(p["value"] - true) <= 3 * p["stderr"], (label, p["value"], p["stderr"], true)
    dof = result["dof"]
    assert dof == 3 * 121 - 2
    assert abs(result["chi2_per_dof"] - 1) <= 4 * math.sqrt(2 / dof)
    assert result["success"]
