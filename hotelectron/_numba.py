"""The one place that owns numba's compilation flags.

fastmath is limited to flags that keep IEEE semantics for NaN and infinity, so that a NaN produced in a
kernel is seen by the checks downstream instead of being optimised away. Kernels are cached on disk,
so a second process does not recompile.
"""

from __future__ import annotations

import numba

FASTMATH = {"nsz", "arcp", "contract", "afn"}


def jit(*args, parallel: bool = False, **kwargs):
    """``numba.njit`` with the project's flags (cache on, safe fastmath)."""
    options = {"cache": True, "fastmath": FASTMATH, "parallel": parallel, "nogil": True}
    options.update(kwargs)
    return numba.njit(*args, **options)


def threading_info() -> dict:
    """Numba's threading layer (after a parallel kernel has run) and the number of threads."""
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet in this process
        layer = "not initialised"
    return {"threading_layer": layer, "num_threads": numba.get_num_threads()}


def initialise_threading() -> dict:
    """Run a tiny parallel kernel so that numba picks its threading layer, then report it."""
    _parallel_probe(4)
    return threading_info()


@jit(parallel=True)
def _parallel_probe(n):
    total = 0.0
    for i in numba.prange(n):
        total += i
    return total
