"""hotelectron: energy relaxation of hot electrons in diffusive wires with magnetic-impurity pairs."""

import os
from importlib.metadata import PackageNotFoundError, version

# Numba's parallel kernels run on OpenMP threads. Threads that spin while they wait lose whole
# scheduler ticks at every parallel region when another process shares the cores (a steady state
# took 14-17 s instead of 1 s under load); sleeping threads cost little on an idle machine. Set
# here, before any kernel starts the threads, so that library use behaves like the command line;
# a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

try:
    __version__ = version("hotelectron")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
