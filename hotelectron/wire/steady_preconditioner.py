"""The preconditioner of the steady state's Newton systems: diffusion and the local rate on the energy
grid, plus the collisions' in-scattering as an energy convolution on a coarser grid.

The Newton systems of :mod:`hotelectron.wire.steady` read ``A u = r`` with ``A = d^2/dx^2 - J(x)``
and ``J(x)`` the derivative of the collision integral at position x. At a fixed kernel ``K[m]`` (the
rate of a jump ``eps -> eps - m d``, see :mod:`hotelectron.kinetics.convolution`),

    (J v)_i = D_i v_i - f_i sum_m K[m] v_{i-m} - (1 - f_i) sum_m K[-m] v_{i-m} + (kernel change),

with ``D_i = nu - sum_m K[m] (f_{i-m} - f_{i+m})`` and ``nu = sum_m K[m]`` the total rate. Where the
states are filled (f = 1) this is ``nu v - K * v``, a convolution with the Fourier symbol
``nu - K^(q)``; where they are empty (f = 0) it is a correlation with the symbol ``nu - conj(K^(q))``.
For either symbol ``A`` is diagonal in the energy frequency q and tridiagonal along x, so it can be
inverted exactly: ``T(q)^-1 = (nu(x) - K^(x, q) - d^2/dx^2)^-1``, one tridiagonal solve per frequency.
The preconditioner blends the two with the local occupation,

    M r = -[ f T^-1 r + (1 - f) conj(T)^-1 r ],

and then restores the moments the collisions conserve at each position (particles, and the
electrons' energy when nothing takes it away), as :mod:`hotelectron.wire.dynamics` does for the time
stepper: since ``Z^T J = 0`` for those moments Z, the moments of ``A M r`` are known without applying
A, and ``c_N(x) w + c_E(x) eps w`` (``w = f(1 - f)``) is added so that they equal those of r.

Two grids make it cheap. With ``T_nu = nu - d^2/dx^2`` (the local rate alone, the same for every
energy), ``T^-1 = T_nu^-1 + T^-1 K^ T_nu^-1``. The first term is solved on the energy grid itself, a
tridiagonal solve along x whose factors do not depend on the energy. The second is smooth in energy
(the kernel averages over its transfers) and is evaluated on a grid ``COARSENING`` times coarser:
``s = T_nu^-1 r`` averaged over blocks of that many points, transformed, multiplied by the coarse
kernel's symbol (the kernel summed over blocks of transfers), solved per frequency, transformed back
and interpolated linearly to the energy grid. On the benchmark wire this costs little more than the
local rate alone and needs as few Krylov iterations as the exact symbols.

Compared with the local rate alone, ``-(nu - d^2/dx^2)^-1``, the in-scattering matters because
smooth changes of f in energy relax slowly (the symbol is close to nu at small q), and on the slowest
modes along x that slowness decides how many Krylov iterations a Newton step needs. What stays left
out is the change of the kernel with f and the difference between D and nu in the non-equilibrium
window; GMRES corrects for those.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from ..kinetics._numba import jit
from ..kinetics.collisions import Linearisation
from .problem import WireProblem

__all__ = ["COARSENING", "SteadyPreconditioner", "steady_preconditioner_reference"]

# Energy points per cell of the grid that carries the in-scattering. Measured on the benchmark wire
# (65 x 1025, GMRES to 1e-8 at the steady state): 8 Krylov iterations with blocks of 1, 2 or 4
# points, 9 with 8 or 16; the local rate alone needs 16.
COARSENING = 4


@jit
def _thomas_rows(rhs, off, ratio, inverse, block, out, means):
    """Solve ``off z[j-1] + d[j, i] z[j] + off z[j+1] = rhs[j, i]`` along axis 0 for every column i,
    factorised by ``_factor_columns``, the sweeps running over rows (each step a vector operation
    over a row); and the means of the solution over blocks of ``block`` columns (the last block may
    be shorter)."""
    n, m = rhs.shape
    for i in range(m):
        out[0, i] = rhs[0, i] * inverse[0, i]
    for j in range(1, n):
        for i in range(m):
            out[j, i] = (rhs[j, i] - off * out[j - 1, i]) * inverse[j, i]
    for j in range(n - 1, -1, -1):
        if j < n - 1:
            for i in range(m):
                out[j, i] -= ratio[j, i] * out[j + 1, i]
        for c in range(means.shape[1]):
            end = min(m, (c + 1) * block)
            total = 0.0
            for i in range(c * block, end):
                total += out[j, i]
            means[j, c] = total / (end - c * block)


@jit
def _factor_columns(diag, off, ratio, inverse):
    """Thomas factors of ``off z[j-1] + diag[j, q] z[j] + off z[j+1]`` along axis 0 for every column:
    ``inverse[j] = 1/(diag[j] - off ratio[j-1])`` and ``ratio[j] = off inverse[j]``."""
    n, m = diag.shape
    for q in range(m):
        inv = 1.0 / diag[0, q]
        inverse[0, q] = inv
        ratio[0, q] = off * inv
        for j in range(1, n):
            inv = 1.0 / (diag[j, q] - off * ratio[j - 1, q])
            inverse[j, q] = inv
            ratio[j, q] = off * inv


@jit
def _in_scattering(S, symbol, off, ratio, inverse, out):
    """``out[0] = T^-1 (K^ S)`` and ``out[1] = conj(T)^-1 (conj(K^) S)``, T factorised by
    ``_factor_columns`` (the empty-state symbol is the complex conjugate of the filled-state one)."""
    n, m = S.shape
    for q in range(m):
        a = symbol[0, q] * S[0, q] * inverse[0, q]
        b = symbol[0, q].conjugate() * S[0, q] * inverse[0, q].conjugate()
        out[0, 0, q] = a
        out[1, 0, q] = b
        for j in range(1, n):
            a = (symbol[j, q] * S[j, q] - off * a) * inverse[j, q]
            b = (symbol[j, q].conjugate() * S[j, q] - off * b) * inverse[j, q].conjugate()
            out[0, j, q] = a
            out[1, j, q] = b
        for j in range(n - 2, -1, -1):
            out[0, j, q] -= ratio[j, q] * out[0, j + 1, q]
            out[1, j, q] -= ratio[j, q].conjugate() * out[1, j + 1, q]


@jit
def _combine(s, f, corrections, block, Z, r, u, moments_u, moments_r):
    """``u = -(s + f P c_0 + (1 - f) P c_1)``, with P the linear interpolation from the block centres
    (constant beyond the first and last), and the moments ``Z`` of u and of r per position."""
    nx, n = s.shape
    nc = corrections.shape[2]
    k = Z.shape[0]
    half = 0.5 * (block - 1)
    for x in range(nx):
        for a in range(k):
            moments_u[x, a] = 0.0
            moments_r[x, a] = 0.0
        for i in range(n):
            t = (i - half) / block  # position in units of blocks, centres at integers
            c = min(max(int(np.floor(t)), 0), nc - 1)
            right = min(c + 1, nc - 1)
            weight = min(max(t - c, 0.0), 1.0)
            filled = (1.0 - weight) * corrections[0, x, c] + weight * corrections[0, x, right]
            empty = (1.0 - weight) * corrections[1, x, c] + weight * corrections[1, x, right]
            value = -(s[x, i] + f[x, i] * filled + (1.0 - f[x, i]) * empty)
            u[x, i] = value
            for a in range(k):
                moments_u[x, a] += Z[a, i] * value
                moments_r[x, a] += Z[a, i] * r[x, i]


@jit
def _add_moments(u, c, w, energies):
    """``u += (c_N + c_E eps) w`` per position (``c`` of one or two columns)."""
    nx, n = u.shape
    k = c.shape[1]
    for x in range(nx):
        c_N = c[x, 0]
        c_E = c[x, 1] if k > 1 else 0.0
        for i in range(n):
            u[x, i] += (c_N + c_E * energies[i]) * w[x, i]


def _coarse_symbol(K, n, block):
    """``(length, K^)``: the circular length of the coarse grid and the spectrum of the on-grid kernel
    ``K[M + m]``, ``|m| <= n - 1``, summed over blocks of transfers (``m`` to the nearest multiple of
    ``block``)."""
    n_x = K.shape[0]
    M = (K.shape[1] - 1) // 2
    n_coarse = -(-n // block)
    length = scipy.fft.next_fast_len(2 * n_coarse - 1, real=True)
    m = np.arange(-(n - 1), n)
    cells = np.floor(m / block + 0.5).astype(int)  # ascending: sum each run of equal cells
    starts = np.flatnonzero(np.diff(cells, prepend=cells[0] - 1))
    kernel = np.zeros((n_x, length))
    kernel[:, cells[starts] % length] = np.add.reduceat(K[:, M - (n - 1) : M + n], starts, axis=1)
    return length, scipy.fft.rfft(kernel, axis=1)


class SteadyPreconditioner:
    """``M r ~ A^-1 r`` at one linearisation of the steady problem (module docstring).

    Parameters
    ----------
    problem : WireProblem
    lin : Linearisation
        The collision engine's linearisation at the current iterate (interior nodes).
    conserved : int
        Moments to restore: 2 (particles and energy), 1 (particles only: a bath takes energy) or 0.
    block : int
        Energy points per cell of the coarse grid (``COARSENING``).
    """

    def __init__(self, problem: WireProblem, lin: Linearisation, conserved: int, block: int = COARSENING):
        grid = problem.energy
        n_x, n = lin.f.shape
        self.problem, self.shape, self.block, self.conserved = problem, (n_x, n), block, conserved
        self.f = lin.f
        h2 = problem.wire.step**2
        self.off = -1.0 / h2
        nu = lin.K.sum(axis=1)
        # the local part, D - d^2/dx^2, on the energy grid
        diag = np.ascontiguousarray(lin.D + 2.0 / h2)
        self._ratio, self._inverse = np.empty_like(diag), np.empty_like(diag)
        _factor_columns(diag, self.off, self._ratio, self._inverse)
        self.length, self._symbol = _coarse_symbol(lin.K, n, block)
        diag = np.ascontiguousarray(nu[:, None] + 2.0 / h2 - self._symbol)
        self._coarse_ratio, self._coarse_inverse = np.empty_like(diag), np.empty_like(diag)
        _factor_columns(diag, self.off, self._coarse_ratio, self._coarse_inverse)
        self._spectra = np.empty((2,) + diag.shape, dtype=complex)
        self._means = np.empty((n_x, -(-n // block)))
        self._energies = grid.values
        self._Z = np.ascontiguousarray(np.stack([np.full(n, grid.step), grid.step * grid.values])[: max(conserved, 1)])
        self._w = lin.f * (1.0 - lin.f) + 1e-12  # the shape of a shift of the local potential (and, times eps, temperature)
        prolong = np.stack([self._w, self._energies * self._w])[:conserved]
        self._gram_inverse = np.linalg.inv(np.einsum("ae,bxe->xab", self._Z[:conserved], prolong)) if conserved else None

    def symbol_solve(self, r) -> np.ndarray:
        """``M r`` without the moment correction."""
        return self._apply(np.ascontiguousarray(r, dtype=float).reshape(self.shape))[0]

    def _apply(self, r):
        n_x, n = self.shape
        s = np.empty(self.shape)
        _thomas_rows(r, self.off, self._ratio, self._inverse, self.block, s, self._means)
        spectrum = scipy.fft.rfft(self._means, self.length, axis=1)
        _in_scattering(spectrum, self._symbol, self.off, self._coarse_ratio, self._coarse_inverse, self._spectra)
        corrections = scipy.fft.irfft(self._spectra, self.length, axis=2)
        u = np.empty(self.shape)
        moments_u, moments_r = np.empty((n_x, self._Z.shape[0])), np.empty((n_x, self._Z.shape[0]))
        _combine(s, self.f, corrections, self.block, self._Z, r, u, moments_u, moments_r)
        return u, moments_u, moments_r

    def __call__(self, r) -> np.ndarray:
        """``M r`` for a flat ``r`` over the interior nodes; returns a new flat array."""
        r = np.ascontiguousarray(r, dtype=float).reshape(self.shape)
        u, moments_u, moments_r = self._apply(r)
        if self.conserved:
            problem = self.problem
            # the moments of A u are d^2/dx^2 of those of u; add c(x) (w, eps w) whose diffusion makes up the rest
            k = self.conserved
            missing = moments_r[:, :k] - problem.laplacian_homogeneous(moments_u[:, :k])
            target = -problem.diffusion_solve(missing, np.zeros(missing.shape))
            c = np.einsum("xab,xb->xa", self._gram_inverse, target)
            _add_moments(u, np.ascontiguousarray(c), self._w, self._energies)
        return u.ravel()


def steady_preconditioner_reference(problem: WireProblem, lin: Linearisation, r, block: int = COARSENING) -> np.ndarray:
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
