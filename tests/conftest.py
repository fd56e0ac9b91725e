import os

# as the command line does: OpenMP threads sleep instead of spinning while they wait, which keeps
# numba's parallel kernels fast when another process shares the cores
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

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
