"""The shipped kernel example (scenarios/kernel_example): the committed synthetic CSV is what its script
makes, and ``hotelectron fit`` on its fit file recovers the script's true kernel within the band where
the data constrain it (~40 s: slow)."""

import json

import numpy as np
import pytest
from systems import SCENARIOS, assert_fresh_generation, example_script

from hotelectron.commands.main import main

EXAMPLE = SCENARIOS / "kernel_example"


@pytest.fixture(scope="module")
def script():
    return example_script("kernel_example")


def test_committed_csv_is_a_fresh_generation(script, tmp_path):
    assert_fresh_generation(script, EXAMPLE / "synthetic_conductance.csv", tmp_path)


@pytest.mark.slow
def test_fit_file_recovers_the_true_kernel_within_its_band(script, tmp_path):
    """Where the band of ln K is below 0.25 (above twice the cutoff) the true kernel lies within 3 sigma,
    over at least a decade and a half of E."""
    assert main(["-q", "fit", str(EXAMPLE / "fit.toml"), "-o", str(tmp_path / "out")]) == 0
    result = json.loads((tmp_path / "out" / "kernel.json").read_text())
    assert result["converged"] and result["regularisation"]["method"] == "reml"
    kernel = result["kernel"]
    E = np.array(kernel["energy_meV"])
    use = np.array(kernel["constrained"], dtype=bool) & (E > 2 * script.V_MIN_MEV)
    assert E[use][-1] / E[use][0] > 10**1.5
    sigma = np.log(np.array(kernel["K_upper"]) / np.array(kernel["K"]))[use]
    deviation = (np.log(np.array(kernel["K"])[use]) - np.log(script.true_kernel(E[use]))) / sigma
    assert np.all(np.abs(deviation) < 3), np.max(np.abs(deviation))
