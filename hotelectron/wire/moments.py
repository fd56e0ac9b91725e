"""The shapes that restore the conserved moments of an approximate solve (particles and electron
energy per position), shared by the time stepper's preconditioner (``dynamics``) and the steady
solver's (``steady_preconditioner``): a correction ``(c_N + c_E eps) w`` with ``w = f (1 - f)`` changes
the moments by the Gram matrix of the moments over those shapes, whose inverse gives c. Each solver
finds the moments its correction must supply (they differ by the operator along x) and adds the
correction with ``add_moment_correction``."""

from __future__ import annotations

from ..kinetics._numba import jit

__all__ = ["add_moment_correction", "moment_shapes"]


@jit
def moment_shapes(f, step, eps, weight, gram_inverse):
    """The shapes of the moment correction, ``weight = w = f (1 - f)`` (plus 1e-12, so that the Gram
    matrix stays invertible where f is 0 or 1), and per position the inverse of the Gram matrix of the
    conserved moments (particles ``d sum_i``, energy ``d sum_i eps_i``) over the shapes ``w`` and
    ``eps w``: ``d [[S0, S1], [S1, S2]]`` with ``Sk = sum_i eps_i^k w_i``, its first row and column
    alone where only particles are conserved (``gram_inverse`` (n_x, 1, 1))."""
    n_x, n = f.shape
    for x in range(n_x):
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for i in range(n):
            w = f[x, i] * (1.0 - f[x, i]) + 1e-12
            weight[x, i] = w
            s0 += w
            s1 += eps[i] * w
            s2 += eps[i] * eps[i] * w
        if gram_inverse.shape[1] == 1:
            gram_inverse[x, 0, 0] = 1.0 / (step * s0)
            continue
        scale = 1.0 / (step * (s0 * s2 - s1 * s1))
        gram_inverse[x, 0, 0] = s2 * scale
        gram_inverse[x, 0, 1] = -s1 * scale
        gram_inverse[x, 1, 0] = -s1 * scale
        gram_inverse[x, 1, 1] = s0 * scale


@jit
def add_moment_correction(u, missing, gram_inverse, weight, eps):
    """``u[x] += (c_N(x) + c_E(x) eps) w(x)`` with ``c = gram_inverse[x] missing[x]``: the correction
    whose conserved moments are ``missing`` (the first ``gram_inverse.shape[1]`` columns: particles,
    then energy), in the shapes and Gram matrices of ``moment_shapes``."""
    n_x, n = u.shape
    k = gram_inverse.shape[1]
    for x in range(n_x):
        c_N = 0.0
        c_E = 0.0
        for b in range(k):
            c_N += gram_inverse[x, 0, b] * missing[x, b]
            if k > 1:
                c_E += gram_inverse[x, 1, b] * missing[x, b]
        for i in range(n):
            u[x, i] += (c_N + c_E * eps[i]) * weight[x, i]
