"""What a plain ``import hotelectron`` does: the threading policy that keeps library use as fast as
the command line, and nothing else of consequence."""

import os
import subprocess
import sys

PROBE = "import os, hotelectron; print(os.environ.get('OMP_WAIT_POLICY'))"


def _run(env_extra: dict) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True).stdout.strip()


def test_import_makes_openmp_threads_sleep_while_they_wait():
    assert _run({}) == "passive"


def test_the_users_own_setting_wins():
    assert _run({"OMP_WAIT_POLICY": "active"}) == "active"


def test_the_policy_is_in_force_when_numba_starts_its_threads():
    """The variable must be set before the first parallel kernel launches OpenMP's threads: run one
    and check numba's threading layer came up with the setting in the environment."""
    code = ("import os, hotelectron; from hotelectron.kinetics._numba import initialise_threading; "
            "info = initialise_threading(); print(os.environ['OMP_WAIT_POLICY'], info['threading_layer'])")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout.split()
    assert out[0] == "passive" and out[1] in ("omp", "tbb", "workqueue")
