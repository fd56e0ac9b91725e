import subprocess
import sys

from hotelectron import __version__


def test_info_prints_versions_and_threading():
    out = subprocess.run(
        [sys.executable, "-m", "hotelectron", "info"], capture_output=True, text=True, check=True
    ).stdout
    for name in ["hotelectron", "python", "numpy", "scipy", "numba", "h5py", "numba threading layer"]:
        assert name in out
    assert __version__ in out
    threads = [line for line in out.splitlines() if line.startswith("numba threads")][0]
    assert int(threads.split()[-1]) >= 1


def test_unknown_command_fails():
    result = subprocess.run([sys.executable, "-m", "hotelectron", "frobnicate"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "invalid choice" in result.stderr
