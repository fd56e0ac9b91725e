"""Right-preconditioned GMRES for the implicit stages of the time stepper and the Newton steps of the
steady state.

Right preconditioning keeps the true residual ``b - A x`` in view. The package's preconditioners
reproduce the moments that the collisions conserve exactly (particles and energy at each position,
the number of pairs at each coupling), so that every Krylov correction leaves those moments alone and
the conservation laws hold to round-off whatever the tolerance (``hotelectron.wire.dynamics``). The
basis lives in arrays preallocated for one system size, so repeated solves allocate nothing large.
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

from ..kinetics._numba import jit

__all__ = ["GMRES", "KrylovResult", "norm"]


# Vector work in compiled loops rather than BLAS: OpenBLAS threads spin while they wait, and on a
# busy machine a dot product of 1e5 numbers then cost milliseconds.
@jit
def _dot(a, b, length):
    """``sum a[i] b[i]`` over ``i < length`` with four partial sums: a single running sum waits for
    each addition (the compiler may not reorder them), four keep the floating-point unit busy (a
    norm of 64575 numbers: 70 us with one sum, 18 us with four)."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    end = length - length % 4
    for i in range(0, end, 4):
        s0 += a[i] * b[i]
        s1 += a[i + 1] * b[i + 1]
        s2 += a[i + 2] * b[i + 2]
        s3 += a[i + 3] * b[i + 3]
    for i in range(end, length):
        s0 += a[i] * b[i]
    return (s0 + s1) + (s2 + s3)


@jit
def _norm(a):
    return math.sqrt(_dot(a, a, a.size))


@jit
def _orthogonalise(w, V, k, column):
    """Modified Gram-Schmidt of ``w`` against ``V[0..k]``; the coefficients go into ``column``."""
    for j in range(k + 1):
        h = _dot(w, V[j], w.size)
        column[j] = h
        for i in range(w.size):
            w[i] -= h * V[j, i]


@jit
def _add_combination(x, Z, y):
    for j in range(y.size):
        for i in range(x.size):
            x[i] += y[j] * Z[j, i]


def norm(a) -> float:
    """The Euclidean norm of a flat array."""
    return _norm(np.ascontiguousarray(a, dtype=float).ravel())


@dataclass(frozen=True)
class KrylovResult:
    """``x`` and how it was reached: ``products`` with A, the relative residual ``|b - A x| / |b|``
    of the Krylov estimate, and whether it met the tolerance."""

    x: np.ndarray
    products: int
    residual: float
    converged: bool


class GMRES:
    """Right-preconditioned GMRES with its Krylov basis preallocated for systems of one size.

    Parameters
    ----------
    size : int
        Length of the unknown vector.
    maxiter : int
        At most this many Krylov vectors per solve. There are no restarts: the callers' systems
        converge in a few iterations, and a solve that does not is reported, not repeated.
    """

    def __init__(self, size: int, maxiter: int = 30):
        self.size, self.maxiter = size, maxiter
        self._V = np.empty((maxiter + 1, size))
        self._Z = np.empty((maxiter, size))

    def solve(self, matvec, precondition, b, *, x0=None, rtol: float = 1e-3) -> KrylovResult:
        """Solve ``A x = b`` with ``A = matvec`` and the right preconditioner ``precondition`` (~ A^-1).

        ``matvec`` and ``precondition`` map flat float arrays to flat arrays, new ones or arrays of
        their own that stay valid until their next call. The start is ``x0`` (default ``M b``); the
        solve stops when ``|b - A x| <= rtol |b|`` and returns the best iterate found (a new array),
        converged or not (the callers judge).
        """
        b = np.asarray(b, dtype=float)
        b_norm = norm(b)
        if b_norm == 0.0:
            return KrylovResult(np.zeros_like(b), 0, 0.0, True)
        x = np.array(precondition(b) if x0 is None else x0, dtype=float)
        r = b - matvec(x)
        beta = norm(r)
        if not np.isfinite(beta) or beta <= rtol * b_norm:
            return KrylovResult(x, 1, beta / b_norm, beta <= rtol * b_norm)
        m = self.maxiter
        V, Z = self._V, self._Z
        H = np.zeros((m + 1, m))
        rotations = np.zeros((m, 2))  # (cos, sin) of the Givens rotation of each column
        g = np.zeros(m + 1)
        g[0] = beta
        np.divide(r, beta, out=V[0])
        k = 0
        residual = beta
        while k < m:
            Z[k] = precondition(V[k])
            w = matvec(Z[k])
            column = np.empty(k + 1)
            _orthogonalise(w, V, k, column)
            H[: k + 1, k] = column
            norm_w = norm(w)
            H[k + 1, k] = norm_w
            for i in range(k):
                c, s = rotations[i]
                H[i, k], H[i + 1, k] = c * H[i, k] + s * H[i + 1, k], -s * H[i, k] + c * H[i + 1, k]
            denom = float(np.hypot(H[k, k], H[k + 1, k]))
            c, s = (1.0, 0.0) if denom == 0.0 else (H[k, k] / denom, H[k + 1, k] / denom)
            rotations[k] = c, s
            H[k, k], H[k + 1, k] = denom, 0.0
            g[k], g[k + 1] = c * g[k], -s * g[k]
            residual = abs(g[k + 1])
            k += 1
            if residual <= rtol * b_norm or norm_w == 0.0 or not np.isfinite(residual):
                break
            if k < m:
                np.divide(w, norm_w, out=V[k])
        if np.all(np.isfinite(H[:k, :k])) and np.all(np.diag(H[:k, :k]) != 0):
            y = np.linalg.solve(np.triu(H[:k, :k]), g[:k])
            _add_combination(x, Z, y)
        return KrylovResult(x, k + 1, residual / b_norm, residual <= rtol * b_norm)
