"""The one place that owns numba's compilation flags.

fastmath is limited to flags that keep IEEE semantics for NaN and infinity, so that a NaN produced in a
kernel is seen by the checks downstream instead of being optimised away. Kernels are cached on disk,
so a second process does not recompile.
"""

from __future__ import annotations

import functools
import types

import numba
import numpy as np

FASTMATH = {"nsz", "arcp", "contract", "afn"}


# Below this many elements in its largest array a parallel kernel runs on one thread: waking the
# other threads at every call costs more than the loop. Measured on 2 cores: a 9 x 241 wire ran
# 2.5 times slower on two threads than on one; the tridiagonal solve breaks even near 5e3 elements
# (9 x 241: 21 us on one thread, 47 us on two; 33 x 1601: 459 us against 224 us), but a whole
# 17 x 801 wire still ran 14% faster on one thread (3.36 s against 3.83 s per sweep point).
PARALLEL_MIN_WORK = 1 << 15


class ParallelKernel:
    """A kernel compiled twice, with and without threads; a call picks by the size of its arrays.

    The serial twin is a copy of the function under another name, so that numba's on-disk cache
    keeps the two compilations apart.
    """

    def __init__(self, func, options: dict):
        twin = types.FunctionType(func.__code__, func.__globals__, func.__name__ + "_serial",
                                  func.__defaults__, func.__closure__)
        twin.__qualname__ = func.__qualname__ + "_serial"
        self.parallel = numba.njit(**options)(func)
        self.serial = numba.njit(**{**options, "parallel": False})(twin)
        functools.update_wrapper(self, func)

    def __call__(self, *args):
        work = max((a.size for a in args if isinstance(a, np.ndarray)), default=0)
        return (self.parallel if work >= PARALLEL_MIN_WORK else self.serial)(*args)

    def for_work(self, work: int) -> tuple:
        """``(compilation, threads)`` for arrays of ``work`` elements, for a caller that sizes each
        thread's work space: the threaded one over all numba threads, or the serial one over one."""
        if work >= PARALLEL_MIN_WORK:
            return self.parallel, numba.get_num_threads()
        return self.serial, 1


def jit(*args, parallel: bool = False, **kwargs):
    """``numba.njit`` with the project's flags (cache on, safe fastmath); ``parallel=True`` gives
    a :class:`ParallelKernel`, threaded only for large arrays."""
    options = {"cache": True, "fastmath": FASTMATH, "parallel": parallel, "nogil": True}
    options.update(kwargs)
    if not parallel:
        return numba.njit(*args, **options)
    if args:  # used as @jit(parallel=True) only
        msg = "jit(parallel=True) is a decorator factory: write @jit(parallel=True)"
        raise TypeError(msg)
    return lambda func: ParallelKernel(func, options)


@jit
def thread_rows(thread, threads, n):
    """The rows ``range(start, stop)`` of ``n`` that thread ``thread`` of ``threads`` takes in a
    parallel pass: consecutive shares whose sizes differ by at most one."""
    return thread * n // threads, (thread + 1) * n // threads


def cfunc(signature):
    """``numba.cfunc`` with the project's flags (cache on, safe fastmath): a compiled function that
    compiled kernels take as an argument and call through its address, so that one compilation of
    the kernel serves every such function (the link pass of :mod:`.link_pass` calls the block
    function written for each impurity species this way)."""
    return numba.cfunc(signature, cache=True, fastmath=FASTMATH, nopython=True)


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


@numba.njit(parallel=True, cache=True)
def _parallel_probe(n):
    total = 0.0
    for i in numba.prange(n):
        total += i
    return total
