import os

import numpy as np
import pytest
from hypothesis import settings

# CI replays the same examples every run (a failure is then reproducible, never a coin toss);
# local runs keep exploring new random examples.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _floating_point_errors_raise():
    """Division by zero, overflow and invalid operations are errors in every test (underflow is fine)."""
    with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
        yield


@pytest.fixture
def rng():
    """A seeded generator, so that every random test is reproducible."""
    return np.random.default_rng(20031103)
