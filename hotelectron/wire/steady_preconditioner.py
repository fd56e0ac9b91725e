"""The preconditioner of the steady state's Newton systems: diffusion and the local rate on the energy
grid, plus the collisions' in-scattering as an energy convolution on a coarser grid.

The Newton systems of :mod:`hotelectron.wire.steady` read ``A u = r`` with ``A = d^2/dx^2 - J(x)``
and ``J(x)`` the derivative of the collision integral at position x. At a fixed kernel ``K[m]`` (the
rate of a jump ``eps -> eps - m d``, see :mod:`hotelectron.kinetics.convolution`),

    (J v)_i = D_i v_i - f_i sum_m K[m] v_{i-m} - (1 - f_i) sum_m K[-m] v_{i-m} + (kernel change),

with ``D_i`` the rate out of and into level i (``D_i = nu - sum_m K[m] (f_{i-m} - f_{i+m})`` on the
grid, ``nu = sum_m K[m]`` the total rate). Where the states are filled (f = 1) the in-scattering is
a convolution, ``K * v``, with the Fourier symbol ``K^(q)``; where they are empty (f = 0) it is a
correlation with the symbol ``conj(K^(q))``. With ``T = D - d^2/dx^2`` (tridiagonal along x, one
system per energy) and ``C`` either of the two,

    (T - C)^-1 = T^-1 + (T - C)^-1 C T^-1,

and in the second term, which is smooth in energy (the kernel averages over its transfers), D is
replaced by nu: then ``T_K = nu - K^(q) - d^2/dx^2`` is diagonal in the energy frequency q and
tridiagonal along x, inverted exactly by one tridiagonal solve per frequency. With ``X*`` the
operator of the conjugate symbol (the correlation), the preconditioner is

    M r = -[ s + f T_K^-1 K s + (1 - f) T_K*^-1 K* s ],   s = T^-1 r,

the two in-scattering terms blended with the local occupation. ``s`` is solved on the energy grid
(factors per energy, computed once per Newton step); the in-scattering terms on a grid of
``coarsening(n)`` times fewer points (s averaged over blocks, the kernel summed over blocks of
transfers, FFTs of the short length, the result interpolated linearly back). Last, the moments the
collisions conserve at each position (particles, and the electrons' energy when nothing takes it
away) are restored as :mod:`hotelectron.wire.dynamics` does for the time stepper: since ``Z^T J = 0``
for those moments Z, the moments of ``A M r`` are known without applying A, and
``c_N(x) w + c_E(x) eps w`` (``w = f(1 - f)``) is added so that they equal those of r.

Why the in-scattering matters: smooth changes of f in energy relax slowly (the symbol is close to nu
at small q), and on the slowest modes along x that slowness decides how many Krylov iterations a
Newton step needs. On a 17 x 257 wire the spectrum of ``A M`` spreads over [0.15, 1.28] with the
local rate alone, ``M = -(nu - d^2/dx^2)^-1``, and lies in [0.83, 1.15] with the in-scattering; at
the steady state of the benchmark wire (65 x 1025) GMRES needs 16 products for 1e-8 with the local
rate alone and 7 with this preconditioner. What stays out is the change of the kernel with f
(leaving it out of the products as well changes the count by one), the blend near the Fermi edges
and the coarse grid; GMRES corrects for those.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft

from ..kinetics._numba import jit
from ..kinetics.collisions import Linearisation
from ..kinetics.convolution import irfft_rows, rfft_rows
from .moments import add_moment_correction, moment_shapes
from .problem import WireProblem

__all__ = ["COARSE_CELLS", "SteadyPreconditioner", "coarsening", "steady_preconditioner_reference"]

# Cells of the grid that carries the in-scattering, at least: energy points are merged in blocks
# while that many remain. Measured on the benchmark wire and on its energy grids of 513 and 2049
# points (GMRES to 1e-8 at the steady state, two right-hand sides): 7 Krylov iterations with cells of
# 8/512 eU or finer, 7-8 with 8/256 eU, 8-9 with 8/128 eU, 10 with 8/64 eU, 11 with 8/32 eU; the local
# rate alone needs 16 and 20.
COARSE_CELLS = 512


def coarsening(n: int) -> int:
    """Energy points per cell of the coarse grid for an energy grid of ``n`` points."""
    return max(1, (n - 1) // COARSE_CELLS)


# The kernels below run on one thread: each is a few sweeps over ~1e5 numbers (0.1-0.3 ms), and on the
# shared two cores waking the second thread for every region cost more than it saved (an application
# of the first version took 5-8 ms with parallel regions, 2-4 ms without, at load averages of 11-15).


@jit
def _thomas_rows(rhs, off, ratio, inverse, block, n_coarse, Z, out, means, moments):
    """Solve ``off z[j-1] + d[j, i] z[j] + off z[j+1] = rhs[j, i]`` along axis 0 for every column i,
    factorised by ``_factor_columns``, the sweeps running over rows (each step a vector operation
    over a row); on the way, the moments ``Z`` (two rows) of the right-hand side per row, and the
    means of the solution over blocks of ``block`` columns into ``means[:, :n_coarse]`` (the last
    block may be shorter)."""
    n, m = rhs.shape
    for j in range(n):
        first = 0.0
        second = 0.0
        for i in range(m):
            value = rhs[j, i]
            first += Z[0, i] * value
            second += Z[1, i] * value
            if j > 0:
                value -= off * out[j - 1, i]
            out[j, i] = value * inverse[j, i]
        moments[j, 0] = first
        moments[j, 1] = second
    for j in range(n - 1, -1, -1):
        if j < n - 1:
            for i in range(m):
                out[j, i] -= ratio[j, i] * out[j + 1, i]
        for c in range(n_coarse):
            end = min(m, (c + 1) * block)
            total = 0.0
            for i in range(c * block, end):
                total += out[j, i]
            means[j, c] = total / (end - c * block)


@jit
def _factor_columns(diag, off, ratio, inverse):
    """Thomas factors of ``off z[j-1] + diag[j, q] z[j] + off z[j+1]`` along axis 0 for every column:
    ``inverse[j] = 1/(diag[j] - off ratio[j-1])`` and ``ratio[j] = off inverse[j]`` (row by row, so
    that the work over the columns is a vector operation)."""
    n, m = diag.shape
    for q in range(m):
        inverse[0, q] = 1.0 / diag[0, q]
        ratio[0, q] = off * inverse[0, q]
    for j in range(1, n):
        for q in range(m):
            inv = 1.0 / (diag[j, q] - off * ratio[j - 1, q])
            inverse[j, q] = inv
            ratio[j, q] = off * inv


@jit
def _in_scattering(S, symbol, off, ratio, inverse, out):
    """``out[0] = T^-1 (K^ S)`` and ``out[1] = conj(T)^-1 (conj(K^) S)``, T factorised by
    ``_factor_columns`` (the empty-state symbol is the complex conjugate of the filled-state one)."""
    n, m = S.shape
    for j in range(n):
        for q in range(m):
            filled = symbol[j, q] * S[j, q]
            empty = symbol[j, q].conjugate() * S[j, q]
            if j > 0:
                filled -= off * out[0, j - 1, q]
                empty -= off * out[1, j - 1, q]
            out[0, j, q] = filled * inverse[j, q]
            out[1, j, q] = empty * inverse[j, q].conjugate()
    for j in range(n - 2, -1, -1):
        for q in range(m):
            out[0, j, q] -= ratio[j, q] * out[0, j + 1, q]
            out[1, j, q] -= ratio[j, q].conjugate() * out[1, j + 1, q]


@jit
def _coarse_kernel(K, cells, out):
    """Add the on-grid kernel ``K[M + m]``, ``m = -(n - 1) ... n - 1``, into the circular coarse
    kernel ``out`` at the columns ``cells[m + n - 1]``."""
    M = (K.shape[1] - 1) // 2
    n = (cells.size + 1) // 2
    for x in range(K.shape[0]):
        for j in range(cells.size):
            out[x, cells[j]] += K[x, M - (n - 1) + j]


@jit
def _combine(s, f, corrections, left, weight, Z, u, moments):
    """``u = -(s + f P c_0 + (1 - f) P c_1)``, with P the linear interpolation from the coarse cells
    (``left[i]`` and the next, with ``weight[i]`` on the next), and the moments ``Z`` (two rows) of u
    per row."""
    nx, n = s.shape
    for x in range(nx):
        first = 0.0
        second = 0.0
        for i in range(n):
            c = left[i]
            t = weight[i]
            filled = corrections[0, x, c] + t * (corrections[0, x, c + 1] - corrections[0, x, c])
            empty = corrections[1, x, c] + t * (corrections[1, x, c + 1] - corrections[1, x, c])
            value = -(s[x, i] + empty + f[x, i] * (filled - empty))
            u[x, i] = value
            first += Z[0, i] * value
            second += Z[1, i] * value
        moments[x, 0] = first
        moments[x, 1] = second


@jit
def _restore_moments(u, moments_u, moments_r, off, gram_inverse, w, energies):
    """Add ``(c_N(x) + c_E(x) eps) w`` to u so that the conserved moments of ``A u`` equal those of r:
    with ``L = d^2/dx^2`` (zero at the reservoirs, ``off = -1/h^2``), ``L t = moments_r - L moments_u``
    and ``c = gram^-1 t``."""
    nx = u.shape[0]
    k = moments_u.shape[1]
    missing = np.empty((nx, k))
    for x in range(nx):
        for a in range(k):
            value = moments_r[x, a] - 2.0 * off * moments_u[x, a]
            if x > 0:
                value += off * moments_u[x - 1, a]
            if x < nx - 1:
                value += off * moments_u[x + 1, a]
            missing[x, a] = value
    # L t = missing: the Thomas algorithm with diagonal 2 off and neighbours -off
    ratio = np.empty(nx)
    target = np.empty((nx, k))
    denominator = 2.0 * off
    ratio[0] = -off / denominator
    for a in range(k):
        target[0, a] = missing[0, a] / denominator
    for x in range(1, nx):
        denominator = 2.0 * off + off * ratio[x - 1]
        ratio[x] = -off / denominator
        for a in range(k):
            target[x, a] = (missing[x, a] + off * target[x - 1, a]) / denominator
    for x in range(nx - 2, -1, -1):
        for a in range(k):
            target[x, a] -= ratio[x] * target[x + 1, a]
    add_moment_correction(u, target, gram_inverse, w, energies)


@functools.cache
def _coarse_layout(n, block):
    """``(length, cells, left, weight)`` of the coarse grid for n points in blocks of ``block``: its
    circular length; the cell of each on-grid transfer ``m = -(n - 1) ... n - 1`` (m to the nearest
    multiple of ``block``); and the linear interpolation from the centres of the blocks of energy
    points to the points (``left[i]`` and the next cell, with ``weight[i]`` on the next; constant
    beyond the first and last centre). Read-only: shared by every preconditioner of that grid."""
    n_coarse = -(-n // block)
    length = scipy.fft.next_fast_len(2 * n_coarse - 1, real=True)
    m = np.arange(-(n - 1), n)
    cells = np.floor(m / block + 0.5).astype(np.int64) % length
    t = np.clip((np.arange(n) - 0.5 * (block - 1)) / block, 0, n_coarse - 1)  # in blocks, centres at integers
    left = np.minimum(t.astype(np.int64), max(n_coarse - 2, 0))
    weight = t - left if n_coarse > 1 else np.zeros(n)
    for a in (cells, left, weight):
        a.setflags(write=False)
    return length, cells, left, weight


class SteadyPreconditioner:
    """``M r ~ A^-1 r`` at one linearisation of the steady problem (module docstring).

    The arrays are made once for the shape; ``factor`` moves the preconditioner to another
    linearisation of the same problem (each Newton step), without allocating.

    Parameters
    ----------
    problem : WireProblem
    lin : Linearisation
        The collision engine's linearisation at the current iterate (interior nodes).
    conserved : int
        Moments to restore: 2 (particles and energy), 1 (particles only: a bath takes energy) or 0.
    block : int
        Energy points per cell of the coarse grid (default ``coarsening(n)``).
    """

    def __init__(self, problem: WireProblem, lin: Linearisation, conserved: int, block: int | None = None):
        grid = problem.energy
        n_x, n = lin.f.shape
        block = coarsening(n) if block is None else block
        self.shape, self.block, self.conserved = (n_x, n), block, conserved
        self.off = -1.0 / problem.wire.step**2
        self.length, self._cells, self._left, self._weight = _coarse_layout(n, block)
        self._coarse = -(-n // block)
        q = self.length // 2 + 1
        # the local part, D - d^2/dx^2, on the energy grid; the in-scattering on the coarse grid
        self._diag = np.empty(self.shape)
        self._ratio, self._inverse = np.empty(self.shape), np.empty(self.shape)
        self._kernel = np.empty((n_x, self.length))
        self._symbol = np.empty((n_x, q), dtype=complex)
        self._coarse_diag = np.empty((n_x, q), dtype=complex)
        self._coarse_ratio, self._coarse_inverse = np.empty((n_x, q), dtype=complex), np.empty((n_x, q), dtype=complex)
        self._means = np.zeros((n_x, self.length))  # zero beyond the coarse grid: the transform's padding
        self._spectrum = np.empty((n_x, q), dtype=complex)
        self._spectra = np.empty((2, n_x, q), dtype=complex)
        self._corrections = np.empty((2, n_x, self.length))
        self._s = np.empty(self.shape)
        self._energies = grid.values
        self._step = grid.step
        self._Z = np.stack([np.full(n, grid.step), grid.step * grid.values])
        self._moments = np.empty((2, n_x, 2))
        self._w = np.empty(self.shape)
        k = max(conserved, 1)
        self._gram_inverse = np.zeros((n_x, k, k))
        self._serves = (problem.energy, problem.wire, conserved)
        self.factor(lin)

    def serves(self, problem: WireProblem, conserved: int) -> bool:
        """Whether ``factor`` may move this preconditioner to a linearisation of ``problem``: the same
        grids and conserved moments."""
        return (problem.energy, problem.wire, conserved) == self._serves

    def factor(self, lin: Linearisation) -> None:
        """Factorise at ``lin`` (a linearisation of the same problem and shape)."""
        self.f = lin.f
        np.subtract(lin.D, 2.0 * self.off, out=self._diag)
        _factor_columns(self._diag, self.off, self._ratio, self._inverse)
        # the kernel summed over blocks of transfers, and the total rate nu
        self._kernel[...] = 0.0
        _coarse_kernel(lin.K, self._cells, self._kernel)
        rfft_rows(self._kernel, self._symbol)
        np.subtract((lin.K.sum(axis=1) - 2.0 * self.off)[:, None], self._symbol, out=self._coarse_diag)
        _factor_columns(self._coarse_diag, self.off, self._coarse_ratio, self._coarse_inverse)
        moment_shapes(lin.f, self._step, self._energies, self._w, self._gram_inverse)

    def symbol_solve(self, r) -> np.ndarray:
        """``M r`` without the moment correction."""
        return self._apply(np.ascontiguousarray(r, dtype=float).reshape(self.shape), np.empty(self.shape))

    def _apply(self, r, u):
        s, moments = self._s, self._moments
        _thomas_rows(r, self.off, self._ratio, self._inverse, self.block, self._coarse, self._Z, s, self._means,
                     moments[1])
        rfft_rows(self._means, self._spectrum)
        _in_scattering(self._spectrum, self._symbol, self.off, self._coarse_ratio, self._coarse_inverse, self._spectra)
        n_x = self.shape[0]
        irfft_rows(self._spectra.reshape(2 * n_x, -1), self.length, self._corrections.reshape(2 * n_x, -1))
        _combine(s, self.f, self._corrections, self._left, self._weight, self._Z, u, moments[0])
        return u

    def __call__(self, r, out=None) -> np.ndarray:
        """``M r`` for a flat ``r`` over the interior nodes; a new flat array, or ``out`` (flat)."""
        r = np.ascontiguousarray(r, dtype=float).reshape(self.shape)
        u = self._apply(r, np.empty(self.shape) if out is None else out.reshape(self.shape))
        if self.conserved:
            k = self.conserved
            _restore_moments(u, self._moments[0, :, :k], self._moments[1, :, :k], self.off, self._gram_inverse,
                             self._w, self._energies)
        return u.ravel()


def steady_preconditioner_reference(problem: WireProblem, lin: Linearisation, r, block: int) -> np.ndarray:
    """The readable twin of ``SteadyPreconditioner.symbol_solve`` (no moment correction): banded
    solves, the coarse kernel accumulated transfer by transfer, numpy's FFT and ``np.interp``."""
    from scipy.linalg import solve_banded

    n_x, n = lin.f.shape
    h2 = problem.wire.step**2
    nu = lin.K.sum(axis=1)
    r = np.asarray(r, dtype=float).reshape(n_x, n)

    def along_x(diagonal, rhs):  # (diagonal - d^2/dx^2) z = rhs, zero at the reservoirs
        bands = np.zeros((3, n_x), dtype=np.result_type(diagonal, rhs))
        bands[0, 1:] = bands[2, :-1] = -1.0 / h2
        bands[1] = diagonal + 2.0 / h2
        return solve_banded((1, 1), bands, rhs)

    s = np.array([along_x(lin.D[:, i], r[:, i]) for i in range(n)]).T
    n_coarse = -(-n // block)
    means = np.array([[s[x, c * block : (c + 1) * block].mean() for c in range(n_coarse)] for x in range(n_x)])
    L = scipy.fft.next_fast_len(2 * n_coarse - 1, real=True)
    M = (lin.K.shape[1] - 1) // 2
    kernel = np.zeros((n_x, L))
    for m in range(-(n - 1), n):
        kernel[:, int(np.floor(m / block + 0.5)) % L] += lin.K[:, M + m]
    K_hat = np.fft.rfft(kernel, axis=1)
    S = np.fft.rfft(means, L, axis=1)
    centres = np.arange(n_coarse) * block + (block - 1) / 2
    corrections = []
    for symbol in (K_hat, np.conj(K_hat)):
        C = np.array([along_x(nu - symbol[:, q], symbol[:, q] * S[:, q]) for q in range(S.shape[1])]).T
        coarse = np.fft.irfft(C, L, axis=1)[:, :n_coarse]
        corrections.append(np.array([np.interp(np.arange(n), centres, row) for row in coarse]))
    return -(s + lin.f * corrections[0] + (1.0 - lin.f) * corrections[1])
