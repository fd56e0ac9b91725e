"""Parallel kernels run threaded only on large arrays; both compilations give the same numbers."""

import numpy as np
import pytest

import hotelectron.kinetics.convolution as cv
from hotelectron.kinetics import _numba
from hotelectron.kinetics.convolution import collision_integral
from hotelectron.wire import solve_tridiagonal


@pytest.mark.parametrize("shape", [(9, 241), (65, 1025)])
def test_serial_and_threaded_tridiagonal_solves_agree_to_round_off(shape, rng):
    """The two compilations may contract multiply-adds differently (fastmath "contract"), so they
    agree to round-off, not bit for bit."""
    diag = 2.5 + rng.random(shape)
    rhs = rng.standard_normal(shape)
    results = []
    for kernel in (solve_tridiagonal.serial, solve_tridiagonal.parallel):
        out = np.empty_like(rhs)
        kernel(-1.0, diag, rhs, out)
        results.append(out)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-13, atol=1e-15)
    # and the solution solves the system
    residual = diag * results[0]
    residual[1:] -= results[0][:-1]
    residual[:-1] -= results[0][1:]
    np.testing.assert_allclose(residual, rhs, atol=1e-12)


def test_a_call_picks_the_threaded_kernel_only_above_the_threshold(monkeypatch, rng):
    f = rng.random((4, 65))
    K = rng.random((4, 129))
    calls = []

    def recorded(kernel, tag):
        def call(*args):
            calls.append(tag)
            return kernel(*args)
        return call

    integral = cv._integral_blocks  # a ParallelKernel: record which compilation each call runs
    for tag in ("serial", "parallel"):
        monkeypatch.setattr(integral, tag, recorded(getattr(integral, tag), tag))
    small = collision_integral(f, K, "fft")
    monkeypatch.setattr(_numba, "PARALLEL_MIN_WORK", 1)
    large = collision_integral(f, K, "fft")
    assert calls == ["serial", "parallel"]
    np.testing.assert_allclose(small, large, rtol=1e-13, atol=1e-15)


def test_parallel_jit_is_a_decorator_factory():
    with pytest.raises(TypeError, match="decorator factory"):
        _numba.jit(lambda x: x, parallel=True)
