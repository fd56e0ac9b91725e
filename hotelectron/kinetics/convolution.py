"""One convolution engine for every collision mechanism (SPEC sections 4 and 6).

A mechanism is described at each position by its out-kernel ``K[x, M + m]``: the rate (per unit
time, already multiplied by the energy step) at which an electron at ``eps`` jumps to ``eps - m d``,
for transfer indices ``-M <= m <= M``. The in-kernel is its mirror, ``Kin[m] = K[-m]``: the flow
into ``eps`` from ``eps - m d`` is the out-flow of that level with the opposite transfer. Building
the in-kernel this way makes every mechanism conserve particles by construction. The collision
integral (the rate of decrease of f) is

    I[x, i] = f_i sum_m K[m] (1 - f_{i-m}) - (1 - f_i) sum_m K[-m] f_{i-m}.

Outside the grid f is 1 below and 0 above. Those tails are treated exactly, with prefix sums of the
kernel, so no zero-padding error enters. A jump of ``|m| >= n`` steps always starts or ends beyond
the grid, where f is known, so such transfers enter only through their sums: the mechanisms give
the compact kernel of width ``2n + 1`` (``M = n``) whose end cells hold them (the engine accepts
any M); only jumps that cross the grid edges change the number of
electrons on the grid, and ``edge_fluxes`` measures them.

Two paths give the same numbers: ``direct`` (numba, O(N^2) per position, the reference) and ``fft``
(FFT convolutions, O(N log N)). The FFT path transforms rows of length ``L = fft_length(n) >= 2n``
and reads the compact kernel as it stands: its row ``K[x, q]``, ``q = n + m``, is the transform's
input for ``q < L`` (zeros beyond). A cyclic convolution of that length wraps nothing into the on-grid
sums, and the end cells (``q = 0`` and, if ``L > 2n``, ``q = 2n``) meet only the zero padding of f, so
the kernel is transformed without a copy whenever ``L <= 2n + 1`` (every power-of-two n).

The FFT path is two compiled passes, each over blocks of ``BLOCK_ROWS`` rows, so that a block's
intermediates stay in the core's cache (``Collisions.rhs`` puts the kernels of the mechanisms between
them): ``_electron_hole_pass`` makes f's spectrum, G and the kernels that are a fixed row of weights
times G (e-e), ``_integral_pass`` the kernel's spectrum, the spectra of the out- and in-sums, their
back-transforms and the integral with its exact tails. Each is a loop over its block function
(``_electron_hole_block``, ``_integral_block``); a mechanism with a compiled pass over rows of its own
puts all three in one pass (``PairScattering.rhs_in_one_pass``), so that G and the kernel of a block
never leave the cache either. Their transforms are DUCC0's (the successor of
the pocketfft behind ``scipy.fft``) called from the compiled code through rocket-fft, on the thread
that works on the block. The other transforms (Jacobian products, preconditioners) are pocketfft's,
``rfft_rows`` and ``irfft_rows``, writing into given arrays. Arrays that live only during one
evaluation come from a per-thread ``Scratch``: fresh 4 MB arrays per call cost page faults and memory
traffic comparable to the transforms themselves. The electron-hole function

    G[x, n - 1 + m] = d sum_e f(e) (1 - f(e + m d)),     |m| <= n - 1,

(how readily the gas absorbs ``m d``) is a correlation, evaluated the same two ways. Beyond the grid
width it is exact in closed form: ``G = m d`` for ``m >= n`` and ``0`` for ``m <= -n``.
"""

from __future__ import annotations

import os
import threading

import numba
import numpy as np
import scipy.fft
from rocket_fft import lowlevel as _ducc

from . import _numba
from ._numba import jit

__all__ = [
    "PATHS",
    "collision_integral",
    "edge_fluxes",
    "edge_particle_rate",
    "electron_hole",
    "electron_hole_at",
]

PATHS = ("direct", "fft")
FFT_WORKERS = os.cpu_count() or 1

def _pocketfft_entry_points():
    """pocketfft's ``(r2c, c2r)``, which scipy.fft calls and which write into a given array, or
    ``(None, None)``: they are scipy's private module, so they are used only when they import and give
    scipy.fft's transforms on a small case (a scipy that moved or changed them falls back to the
    public functions, with fresh outputs)."""
    try:
        from scipy.fft._pocketfft.pypocketfft import c2r, r2c

        a = np.arange(12.0).reshape(2, 6) ** 2
        spectrum = r2c(a, (1,), True, 0, np.empty((2, 4), complex), 1)
        back = c2r(spectrum, (1,), 6, False, 2, np.empty((2, 6)), 1)
        if np.allclose(spectrum, scipy.fft.rfft(a, axis=1)) and np.allclose(back, a):
            return r2c, c2r
    except Exception:  # noqa: BLE001 - any failure of a private interface means: do not use it
        pass
    return None, None  # pragma: no cover - scipy without them


_pocketfft_r2c, _pocketfft_c2r = _pocketfft_entry_points()


def _workers(real_size: int) -> int:
    """FFT threads for a batch of ``real_size`` real values: one below the size at which the numba
    kernels start threads (``_numba.PARALLEL_MIN_WORK``). At (15, 1620), the batch of a 17 x 801
    wire, two workers took 0.071 ms a transform against 0.055 ms for one (medians of interleaved
    rounds, load average 3.4)."""
    return FFT_WORKERS if real_size >= _numba.PARALLEL_MIN_WORK else 1


def rfft_rows(a, out):
    """The real FFT of every row of ``a`` (n_x, L), written into ``out`` (n_x, L // 2 + 1, complex).

    The transform of ``scipy.fft.rfft`` (pocketfft, ``FFT_WORKERS`` threads for large batches) into a
    given array: at (128, 4096) a fresh output cost about 500 page faults and, with the padding copy
    of ``scipy.fft.rfft(f, L)``, doubled the time (3.3 ms against 1.7 ms on one thread).
    """
    workers = _workers(a.size)
    if _pocketfft_r2c is None:
        out[...] = scipy.fft.rfft(a, axis=1, workers=workers)
        return out
    return _pocketfft_r2c(a, (1,), True, 0, out, workers)


def irfft_rows(spectrum, L, out):
    """The inverse of ``rfft_rows`` (``scipy.fft.irfft`` with length L), written into ``out`` (n_x, L)."""
    workers = _workers(out.size)
    if _pocketfft_c2r is None:
        out[...] = scipy.fft.irfft(spectrum, L, axis=1, workers=workers)
        return out
    return _pocketfft_c2r(spectrum, (1,), L, False, 2, out, workers)


# The fused passes (``_electron_hole_pass``, ``_integral_pass``) transform inside compiled code, a block
# of rows at a time on the thread that works on them: DUCC0 (pocketfft's successor, by the same author)
# through rocket-fft's low-level interface, writing into given arrays. A block's rows stay in the
# core's cache from one step to the next, where the batched transforms above stream every
# intermediate (4 MB each at 128 x 4096) through memory between separate passes.
BLOCK_ROWS = 4  # DUCC0 transforms 4 rows at once in AVX2 registers; 1 row alone took 2x as long
_ROW_AXIS = np.array([1], dtype=np.int64)


@jit
def _pad_rows(source, rows):
    """``rows[i, :w] = source[i]`` and zeros beyond, for each row of ``source`` (r, w): the transform's
    zero-padded input. Written as loops: numba takes seconds to compile the same as 2D slice assignments."""
    r, w = source.shape
    for i in range(r):
        for j in range(w):
            rows[i, j] = source[i, j]
        for j in range(w, rows.shape[1]):
            rows[i, j] = 0.0


@jit
def _rfft_block(rows, spectrum):
    """rfft of every row of ``rows`` (length L) into ``spectrum`` (L // 2 + 1), on the calling thread."""
    _ducc.r2c(rows, spectrum, _ROW_AXIS, True, 1.0, 1)


@jit
def _irfft_block(spectrum, rows):
    """The inverse of ``_rfft_block`` (irfft, with its 1/L), the length L taken from ``rows``."""
    _ducc.c2r(spectrum, rows, _ROW_AXIS, False, 1.0 / rows.shape[1], 1)


class Scratch:
    """Work arrays of the FFT path for one shape (n_x, n), reused from call to call by one thread.

    ``array(role, shape, dtype)`` returns the array of that role, shape and type, made on first use; a
    function uses a role only while it runs, and what it returns is never scratch unless the caller
    asked for that (``_sums_from_spectra``, the right-hand side's own arrays).
    ``padded`` holds rows of length L whose tail beyond n stays zero: only ``[:, :n]`` is ever written.
    """

    def __init__(self, n_x, n):
        self.n_x, self.n, self.L = n_x, n, fft_length(n)
        self.padded = np.zeros((n_x, self.L))
        self._arrays = {}

    def array(self, role, shape, dtype=float):
        key = (role, shape, np.dtype(dtype))
        a = self._arrays.get(key)
        if a is None:
            a = self._arrays[key] = np.empty(shape, dtype)
        return a

    def spectrum(self, role):
        """A complex (n_x, L // 2 + 1) array: the spectrum of rows of length L."""
        return self.array(role, (self.n_x, self.L // 2 + 1), complex)

    def real(self, role):
        """A real (n_x, L) array: rows of the transform length."""
        return self.array(role, (self.n_x, self.L))

    def blocks(self, threads):
        """``(rows, spectra)``: the work space of the block passes, for each thread two blocks of
        ``BLOCK_ROWS`` real rows of length L and four of spectra, ``(threads, 2, BLOCK_ROWS, L)`` and
        ``(threads, 4, BLOCK_ROWS, L // 2 + 1)``."""
        rows = self.array("block rows", (threads, 2, BLOCK_ROWS, self.L))
        return rows, self.array("block spectra", (threads, 4, BLOCK_ROWS, self.L // 2 + 1), complex)


_LOCAL = threading.local()
_SCRATCH_SHAPES = 2  # per thread: a wire solver uses one shape, a benchmark a few in turn


def scratch(n_x, n) -> Scratch:
    """This thread's ``Scratch`` for (n_x, n), keeping those of the last ``_SCRATCH_SHAPES`` shapes."""
    kept = getattr(_LOCAL, "scratch", None)
    if kept is None:
        kept = _LOCAL.scratch = {}
    s = kept.pop((n_x, n), None)
    if s is None:
        s = Scratch(n_x, n)
        while len(kept) >= _SCRATCH_SHAPES:
            kept.pop(next(iter(kept)))
    kept[(n_x, n)] = s  # most recently used last
    return s


def _check_path(path):
    if path not in PATHS:
        msg = f"path must be one of {PATHS}; got {path!r}"
        raise ValueError(msg)


def _kernel_prefix(K):
    """``prefix[x, q] = sum_{p < q} K[x, p]``: the tail sums of the kernel in O(M)."""
    prefix = np.zeros((K.shape[0], K.shape[1] + 1))
    np.cumsum(K, axis=1, out=prefix[:, 1:])
    return prefix


def _tails(K, n):
    """Jumps to above the grid (out) and from below it (in), per grid point.

    ``tail_out[i] = sum_{m <= i - n} K[m]`` (empty final states above the grid) and
    ``tail_in[i] = sum_{m > i} K[-m]`` (filled initial states below the grid).
    """
    M = (K.shape[1] - 1) // 2
    prefix = _kernel_prefix(K)
    i = np.arange(n)
    out_index = np.clip(M + i - n + 1, 0, 2 * M + 1)
    in_index = np.clip(M - i, 0, 2 * M + 1)
    return prefix[:, out_index], prefix[:, in_index]


@jit(parallel=True)
def _convolve_direct(f, K, out_sum, in_sum):
    nx, n = f.shape
    M = (K.shape[1] - 1) // 2
    for x in numba.prange(nx):
        for i in range(n):
            so = 0.0
            si = 0.0
            for m in range(max(i - n + 1, -M), min(i, M) + 1):
                j = i - m
                so += K[x, M + m] * (1.0 - f[x, j])
                si += K[x, M - m] * f[x, j]
            out_sum[x, i] = so
            in_sum[x, i] = si


# Products of spectra in compiled loops: numpy's complex temporaries cost more than the FFTs here.
@jit(parallel=True)
def _linear_spectra(FF, FK, FdK, FV, ones, out_spectrum, in_spectrum):
    """The spectra of ``linear_response``: ``(1 - f)^ dK^ - K^ v^`` and ``K^ conj(v^) + dK^ conj(f^)``."""
    for x in numba.prange(FF.shape[0]):
        for q in range(FF.shape[1]):
            ff = FF[x, q]
            fk = FK[x, q]
            fdk = FdK[x, q]
            fv = FV[x, q]
            out_spectrum[x, q] = (ones[q] - ff) * fdk - fk * fv
            in_spectrum[x, q] = fk * fv.conjugate() + fdk * ff.conjugate()


@jit(parallel=True)
def _hole_change_spectrum(FF, FV, ones, spectrum):
    """``conj(v^) (1 - f)^ - conj(f^) v^``: the spectrum of the change of that correlation."""
    for x in numba.prange(FF.shape[0]):
        for q in range(FF.shape[1]):
            ff = FF[x, q]
            fv = FV[x, q]
            spectrum[x, q] = fv.conjugate() * (ones[q] - ff) - ff.conjugate() * fv


def _kernel_spectrum(K, n, out=None):
    """rfft of the kernel laid out for the transforms (module docstring): ``K[x, n + m]`` at position
    ``n + m`` of a row of length ``fft_length(n)``, on-grid transfers ``|m| <= n - 1`` only."""
    n_x = K.shape[0]
    M = (K.shape[1] - 1) // 2
    L = fft_length(n)
    out = np.empty((n_x, L // 2 + 1), complex) if out is None else out
    if M == n and K.shape[1] >= L:  # the compact kernel is its own transform input: no copy
        return rfft_rows(K[:, :L], out)
    laid_out = scratch(n_x, n).real("kernel input")
    laid_out[...] = 0.0
    width = min(M, n - 1)
    laid_out[:, n - width : n + width + 1] = K[:, M - width : M + width + 1]
    return rfft_rows(laid_out, out)


def _sums_from_spectra(out_spectrum, in_spectrum, n):
    """On-grid sums from the spectra of a convolution (``sum_m K[m] g_{i-m}``) and of a correlation
    (``sum_m K[-m] g_{i-m}``) with the kernel laid out as in ``_kernel_spectrum``: views into this
    thread's scratch, valid until its next FFT-path call."""
    work = scratch(out_spectrum.shape[0], n)
    out_full = irfft_rows(out_spectrum, work.L, work.real("first sums"))
    in_full = irfft_rows(in_spectrum, work.L, work.real("second sums"))
    return out_full[:, n : 2 * n], in_full[:, n:0:-1]


def fft_length(n):
    """Length of the zero-padded transforms: at least 2n (no wrap-around into the on-grid sums, with the
    kernel's end cells in the row; module docstring), and fast for pocketfft."""
    return scipy.fft.next_fast_len(2 * n, real=True)


def _spectrum(f, out=None):
    """rfft of the occupations ``f[x, i]`` zero-padded to ``fft_length``: shared by G and the integral."""
    n_x, n = f.shape
    work = scratch(n_x, n)
    work.padded[:, :n] = f
    out = np.empty((n_x, work.L // 2 + 1), complex) if out is None else out
    return rfft_rows(work.padded, out)


_ONES_SPECTRA: dict = {}


def _ones_spectrum(n, L):
    """rfft of n ones zero-padded to L (keyed on both)."""
    key = (n, L)
    if key not in _ONES_SPECTRA:
        _ONES_SPECTRA[key] = scipy.fft.rfft(np.ones(n), L)
    return _ONES_SPECTRA[key]


@jit
def _assemble_row(f, out_sum, in_sum, K, sign, I, D, with_derivative, tails):
    """One row of ``_assemble``; ``tails`` is work space of length n.

    Both tails are prefix sums of the kernel, ``C(s) = sum_{p < s} K[p]``: ``tail_out[i] = C(M - n + 1 + i)``
    and ``tail_in[i] = C(M - i)``, i.e. ``tails[i]`` and ``tails[n - 1 - i]`` with ``tails[j] = C(M - n + 1 + j)``.
    """
    n = f.size
    M = (K.size - 1) // 2
    start = M - n + 1
    running = 0.0
    for p in range(max(start, 0)):
        running += K[p]
    tails[0] = running
    for j in range(1, n):
        if start + j >= 1:
            running += K[start + j - 1]
        tails[j] = running
    for i in range(n):
        out_rate = out_sum[i] + tails[i]
        in_rate = in_sum[i] + tails[n - 1 - i]
        I[i] = sign * (f[i] * out_rate - (1.0 - f[i]) * in_rate)
        if with_derivative:
            D[i] = out_rate + in_rate


@jit(parallel=True)
def _assemble(f, out_sum, in_sum, K, sign, I, D, with_derivative):
    """``I = f (out_sum + tail_out) - (1 - f)(in_sum + tail_in)`` with the exact tails of ``K``, and
    ``D = out_sum + tail_out + in_sum + tail_in``, the derivative of I_i by f_i at a fixed kernel.

    ``tail_in[i] = sum_{m > i} K[-m]`` (filled states below the grid) is the prefix sum of the kernel
    up to ``M - i``, and ``tail_out[i] = sum_{m <= i - n} K[m]`` (empty states above) is the same
    prefix sum at ``M - (n - 1 - i)``: one running sum per position gives both. I is multiplied by
    ``sign`` (-1 gives df/dt); D is written only ``with_derivative``.
    """
    for x in numba.prange(f.shape[0]):
        _assemble_row(f[x], out_sum[x], in_sum[x], K[x], sign, I[x], D[x], with_derivative, np.empty(f.shape[1]))


@jit
def _integral_block(f, FF, K, ones, sign, I, D, with_derivative, FK, rows, spectra, tail):
    """One block of rows of ``_integral_pass``: ``f``, ``FF``, ``K``, ``I``, ``D`` and ``FK`` (where the
    kernel's spectrum goes) hold the block's r rows; ``rows`` (2, >= r, L), ``spectra`` (2, >= r,
    L // 2 + 1) and ``tail`` (n) are work space."""
    r, n = f.shape
    L = rows.shape[2]
    if K.shape[1] >= L:  # the compact kernel is its own transform input (module docstring)
        _rfft_block(K[:, :L], FK)
    else:  # L > 2n + 1: its rows zero-padded
        block = rows[0, :r]
        _pad_rows(K, block)
        _rfft_block(block, FK)
    out_spectrum = spectra[0, :r]
    in_spectrum = spectra[1, :r]
    for i in range(r):
        for q in range(FF.shape[1]):
            ff = FF[i, q]
            fk = FK[i, q]
            out_spectrum[i, q] = (ones[q] - ff) * fk  # convolution of K with 1 - f
            # the correlation of K with f, conjugated: transformed back it comes out reversed, so that
            # the in-sums run forward (from L - n) as the out-sums do (from n)
            in_spectrum[i, q] = fk.conjugate() * ff
    _irfft_block(out_spectrum, rows[0, :r])
    _irfft_block(in_spectrum, rows[1, :r])
    for i in range(r):
        _assemble_row(f[i], rows[0, i, n : 2 * n], rows[1, i, L - n : L], K[i], sign, I[i], D[i], with_derivative, tail)


@jit(parallel=True)
def _integral_blocks(f, FF, K, ones, sign, I, D, with_derivative, FK, keep_spectrum, rows, spectra, tails):
    """``_integral_pass`` compiled: ``_integral_block`` for each block of rows, the kernel's spectrum into
    ``FK`` if ``keep_spectrum``. ``rows``, ``spectra`` (``Scratch.blocks``) and ``tails`` (threads, n)
    are each thread's work space; thread t takes the rows ``[t n_x / threads, (t + 1) n_x / threads)``."""
    nx = f.shape[0]
    threads, _, B, _ = rows.shape
    for t in numba.prange(threads):
        start, stop = _numba.thread_rows(t, threads, nx)
        for lo in range(start, stop, B):
            hi = min(lo + B, stop)
            FK_block = FK[lo:hi] if keep_spectrum else spectra[t, 2, : hi - lo]
            _integral_block(f[lo:hi], FF[lo:hi], K[lo:hi], ones, sign, I[lo:hi], D[lo:hi], with_derivative, FK_block,
                            rows[t], spectra[t, :2], tails[t])


def _integral_pass(f, FF, K, sign, I, D=None, FK=None):
    """``sign`` times the collision integral of f (C-contiguous float) for the compact kernel ``K``
    (width 2n + 1) into ``I``, from f's spectrum ``FF`` (``_electron_hole_pass``); also its derivative
    by f_i at a fixed kernel into ``D`` and the kernel's spectrum into ``FK`` where given.

    Everything between f's spectrum and I happens a block of ``BLOCK_ROWS`` rows at a time in one
    compiled pass: the kernel's transform, the two products of spectra, the two back-transforms and the
    assembly with the exact tails, so no intermediate leaves the cache (``integral_pass_reference`` is
    the numpy twin).
    """
    n_x, n = f.shape
    work = scratch(n_x, n)
    kernel, threads = _integral_blocks.for_work(K.size)
    kernel(f, FF, K, _ones_spectrum(n, work.L), float(sign), I, I if D is None else D, D is not None,
           _NO_SPECTRUM if FK is None else FK, FK is not None, *work.blocks(threads), work.array("tails", (threads, n)))
    return I


def integral_pass_reference(f, K, sign=1.0):
    """``(I, D, FK)`` of ``_integral_pass`` in numpy (for tests): the on-grid sums by scipy.fft from the
    kernel laid out as the pass reads it, the tails by prefix sums."""
    n_x, n = f.shape
    L = fft_length(n)
    laid_out = np.zeros((n_x, L))
    width = min(K.shape[1], L)
    laid_out[:, :width] = K[:, :width]
    FK = scipy.fft.rfft(laid_out, axis=1)
    FF = scipy.fft.rfft(f, L, axis=1)
    out_sum = scipy.fft.irfft((_ones_spectrum(n, L) - FF) * FK, L, axis=1)[:, n : 2 * n]
    in_sum = scipy.fft.irfft(FK * np.conj(FF), L, axis=1)[:, n:0:-1]
    tail_out, tail_in = _tails(K, n)
    out_rate, in_rate = out_sum + tail_out, in_sum + tail_in
    return sign * (f * out_rate - (1 - f) * in_rate), out_rate + in_rate, FK


_NO_SPECTRUM = np.empty((0, 0), complex)
_NO_KERNEL = np.empty((0, 0))
_NO_WEIGHTS = np.empty(0)


def collision_integral(f, K, path: str = "fft") -> np.ndarray:
    """Collision integral ``I[x, i]`` (rate of decrease of f) for out-kernel ``K[x, M + m]``.

    Parameters
    ----------
    f : ndarray, shape (n_x, n)
        Occupations on the energy grid.
    K : ndarray, shape (n_x, 2M + 1)
        Out-kernel: rate of ``eps -> eps - m d`` for ``m = -M..M``. Any M: jumps longer than the grid
        enter only through the exact tails.
    path : {"fft", "direct"}
    """
    _check_path(path)
    return _collision_integral(np.ascontiguousarray(f, dtype=float), K, path)


def _collision_integral(f, K, path, FF=None, sign=1.0, out=None):
    """``sign`` times ``collision_integral`` for C-contiguous float ``f``, into ``out`` if given;
    ``FF = _spectrum(f)`` may be passed in."""
    K = np.ascontiguousarray(K, dtype=float)
    I = np.empty_like(f) if out is None else out
    if path == "direct":
        out_sum, in_sum = _direct_sums(f, K)
        _assemble(f, out_sum, in_sum, K, float(sign), I, I, False)
        return I
    FF = _spectrum(f) if FF is None else FF
    return _integral_pass(f, FF, compact_kernel(K, f.shape[1]), sign, I)


def compact_kernel(K, n):
    """The kernel ``K[x, M + m]`` of any M in the compact form of width 2n + 1 (module docstring):
    the transfers ``|m| <= n - 1`` in their cells, those beyond lumped into the end cells, where
    they enter the integral exactly through the tails. ``K`` itself when it is compact already."""
    M = (K.shape[1] - 1) // 2
    if M == n:
        return K
    compact = np.zeros((K.shape[0], 2 * n + 1))
    width = min(M, n - 1)
    compact[:, n - width : n + width + 1] = K[:, M - width : M + width + 1]
    compact[:, 0] = K[:, : max(M - n + 1, 0)].sum(axis=1)
    compact[:, 2 * n] = K[:, M + n :].sum(axis=1)
    return compact


def _direct_sums(f, K):
    out_sum = np.empty_like(f)
    in_sum = np.empty_like(f)
    _convolve_direct(f, K, out_sum, in_sum)
    return out_sum, in_sum


def _direct_parts(f, K):
    """``(I, D)`` by the direct path: the integral and its derivative by f_i at a fixed kernel (the
    rates out of and into each level, tails included); ``_integral_pass`` gives both on the FFT path."""
    K = np.ascontiguousarray(K, dtype=float)
    I = np.empty_like(f)
    D = np.empty_like(f)
    out_sum, in_sum = _direct_sums(f, K)
    _assemble(f, out_sum, in_sum, K, 1.0, I, D, True)
    return I, D


def linear_response(f, D, FF, FK, v, dK, FV=None, sign=1.0, out=None) -> np.ndarray:
    """The change of the collision integral for a change ``v`` of f and ``dK`` of the kernel (FFT path):

        dI = v D - f sum_m K[m] v_{i-m} - (1 - f) sum_m K[-m] v_{i-m} + I[f, dK],

    with ``D``, ``FF`` and ``FK`` from the evaluation at f (``_integral_pass``, as
    ``Collisions.linearise`` calls it). The two kernel sums and the two of ``I[f, dK]`` share their
    transforms: five in all, as many as I itself. Returns ``sign`` times dI, written into ``out`` if given.
    """
    n_x, n = f.shape
    work = scratch(n_x, n)
    dK = np.ascontiguousarray(dK, dtype=float)
    FV = _spectrum(v) if FV is None else FV
    FdK = _kernel_spectrum(dK, n, work.spectrum("kernel change"))
    out_spectrum = work.spectrum("first product")
    in_spectrum = work.spectrum("second product")
    _linear_spectra(FF, FK, FdK, FV, _ones_spectrum(n, work.L), out_spectrum, in_spectrum)
    out_sum, in_sum = _sums_from_spectra(out_spectrum, in_spectrum, n)
    dI = np.empty_like(f) if out is None else out
    _assemble(f, out_sum, in_sum, dK, float(sign), dI, dI, False)
    _add_product(dI, np.ascontiguousarray(v, dtype=float), D, float(sign))
    return dI


@jit
def _add_product(out, v, D, sign):
    """``out += sign v D``: the local part of ``linear_response``, without a temporary."""
    out, v, D = out.ravel(), v.ravel(), D.ravel()
    for j in range(out.size):
        out[j] += sign * v[j] * D[j]


def edge_fluxes(f, K) -> tuple[np.ndarray, np.ndarray]:
    """Gross rates of jumps across the grid edges per position, in grid units: ``(out, in)``.

    ``out``: jumps from the grid to empty states above it; ``in``: jumps from filled states below it
    into the grid. Report both: their difference can vanish by particle-hole symmetry however much
    leaks.
    """
    f = np.asarray(f, dtype=float)
    tail_out, tail_in = _tails(np.asarray(K, dtype=float), f.shape[1])
    return np.sum(f * tail_out, axis=1), np.sum((1.0 - f) * tail_in, axis=1)


def edge_particle_rate(f, K) -> np.ndarray:
    """Rate at which electrons leave the grid through its edges, per position, in grid units.

    Jumps from the grid to empty states above it minus jumps from filled states below it into the
    grid. In a closed system ``step * sum_i I[x, i]`` equals ``step`` times this rate; for a wide
    enough grid both are negligible.
    """
    out, into = edge_fluxes(f, K)
    return out - into


@jit(parallel=True)
def _correlate_direct(f, G):
    nx, n = f.shape
    for x in numba.prange(nx):
        for m in range(-(n - 1), n):
            total = 0.0
            for j in range(max(0, -m), min(n, n - m)):
                total += f[x, j] * (1.0 - f[x, j + m])
            G[x, n - 1 + m] = total


@jit
def _electron_hole_row(corr, step, G):
    """One row of G from the circular on-grid correlation ``corr[m mod L]`` of that row.

    For ``m <= 0`` G is that correlation (f = 1 below and 0 above the grid add nothing there). For
    ``m > 0`` it also counts electrons of the grid excited above it and electrons from below excited
    into it; rather than summing those edge terms, it is taken from ``G(m d) = G(-m d) + m d``, exact
    for any f that is 1 below and 0 above the grid (``G(m) - G(-m) = d sum_e [f(e) - f(e + m d)]``
    telescopes to ``m d``; the numpy twin and the direct path sum the edge terms). G >= 0 exactly, so
    FFT round-off where it vanishes is clipped."""
    n = (G.size + 1) // 2
    L = corr.size
    G[n - 1] = step * max(corr[0], 0.0)
    for m in range(1, n):
        give = step * max(corr[L - m], 0.0)
        G[n - 1 - m] = give
        G[n - 1 + m] = give + m * step


@jit
def _electron_hole_block(f, ones, step, weights, with_kernel, FF, G, K, rows, spectrum):
    """One block of rows of ``_electron_hole_pass``: ``f``, ``FF``, ``G`` and ``K`` hold the block's r
    rows; ``rows`` (>= r, L) and ``spectrum`` (>= r, L // 2 + 1) are work space."""
    r, n = f.shape
    block = rows[:r]
    _pad_rows(f, block)
    _rfft_block(block, FF)
    product = spectrum[:r]
    for i in range(r):
        for q in range(FF.shape[1]):
            ff = FF[i, q]
            product[i, q] = ff.conjugate() * (ones[q] - ff)  # correlation of f with 1 - f
    _irfft_block(product, block)
    for i in range(r):
        _electron_hole_row(block[i], step, G[i])
        if with_kernel:
            K[i, 0] = 0.0
            K[i, 2 * n] = 0.0
            for j in range(2 * n - 1):
                K[i, j + 1] = weights[j] * G[i, j]


@jit(parallel=True)
def _electron_hole_blocks(f, ones, step, weights, with_kernel, FF, G, K, rows, spectra):
    """``_electron_hole_pass`` compiled: ``_electron_hole_block`` for each block of rows. ``rows`` and
    ``spectra`` are each thread's work space (``Scratch.blocks``)."""
    nx = f.shape[0]
    threads, _, B, _ = rows.shape
    for t in numba.prange(threads):
        start, stop = _numba.thread_rows(t, threads, nx)
        for lo in range(start, stop, B):
            hi = min(lo + B, stop)
            _electron_hole_block(f[lo:hi], ones, step, weights, with_kernel, FF[lo:hi], G[lo:hi],
                                 K[lo:hi] if with_kernel else K, rows[t, 0], spectra[t, 0])


def _electron_hole_pass(f, step, FF, G, K=None, weights=None):
    """f's spectrum into ``FF`` (zero-padded to ``fft_length``: what the integral needs too), the
    electron-hole function into ``G`` and, if ``K`` is given, the compact kernel of the mechanisms
    that are linear in G, ``K[x, n + m] = weights[n - 1 + m] G[x, n - 1 + m]`` (end cells 0), so that
    no other pass has to zero the kernel or read G for them. For C-contiguous float ``f``.

    One compiled pass a block of ``BLOCK_ROWS`` rows at a time (``electron_hole_pass_reference`` is
    the numpy twin).
    """
    n_x, n = f.shape
    work = scratch(n_x, n)
    kernel, threads = _electron_hole_blocks.for_work(G.size)
    with_kernel = K is not None
    kernel(f, _ones_spectrum(n, work.L), float(step), weights if with_kernel else _NO_WEIGHTS, with_kernel, FF, G,
           K if with_kernel else _NO_KERNEL, *work.blocks(threads))
    return FF, G, K


def electron_hole_pass_reference(f, step, weights=None):
    """``(FF, G, K)`` of ``_electron_hole_pass`` in numpy (for tests): the correlation by scipy.fft, the
    edge terms by cumulative sums (K None without weights)."""
    n_x, n = f.shape
    L = fft_length(n)
    FF = scipy.fft.rfft(f, L, axis=1)
    corr = scipy.fft.irfft(np.conj(FF) * (_ones_spectrum(n, L) - FF), L, axis=1)
    m = np.arange(-(n - 1), n)
    G = np.maximum(corr[:, m % L], 0.0)
    suffix_f = np.cumsum(f[:, ::-1], axis=1)[:, : n - 1]  # sum_{j >= n - m} f_j
    prefix_h = np.cumsum(1.0 - f, axis=1)[:, : n - 1]  # sum_{j < m} (1 - f_j)
    G[:, n:] += suffix_f + prefix_h
    G *= step
    if weights is None:
        return FF, G, None
    K = np.zeros((n_x, 2 * n + 1))
    K[:, 1:-1] = weights * G
    return FF, G, K


def electron_hole(f, step: float, path: str = "fft") -> np.ndarray:
    """Electron-hole function ``G[x, n - 1 + m]`` for ``|m| <= n - 1`` (energy units).

    ``G(m d) = d sum_e f(e)(1 - f(e + m d))`` over all energies, with f = 1 below and 0 above the
    grid: the on-grid correlation plus, for ``m > 0``, electrons of the grid excited above it and
    electrons from below excited into it.
    """
    _check_path(path)
    return _electron_hole(np.ascontiguousarray(f, dtype=float), step, path)


def _electron_hole(f, step, path, out=None):
    """``electron_hole`` for C-contiguous float ``f``, into ``out`` if given."""
    nx, n = f.shape
    G = np.empty((nx, 2 * n - 1)) if out is None else out
    if path == "direct":
        _correlate_direct(f, G)
        m = np.arange(1, n)
        suffix_f = np.cumsum(f[:, ::-1], axis=1)[:, : n - 1]  # sum_{j >= n - m} f_j
        prefix_h = np.cumsum(1.0 - f, axis=1)[:, : n - 1]  # sum_{j < m} (1 - f_j)
        G[:, n - 1 + m] += suffix_f + prefix_h
        G *= step
        return G
    _electron_hole_pass(f, step, scratch(nx, n).spectrum("spectrum of f"), G)
    return G


@jit(parallel=True)
def _electron_hole_change_from_correlation(corr, step, dG):
    """The change of G (``_electron_hole_row``) from the change ``corr`` of its correlation: for
    ``m > 0`` that of ``G(-m d) + m d``, i.e. the same as at -m; nothing is clipped (a derivative)."""
    nx = dG.shape[0]
    n = (dG.shape[1] + 1) // 2
    L = corr.shape[1]
    for x in numba.prange(nx):
        dG[x, n - 1] = step * corr[x, 0]
        for m in range(1, n):
            d = step * corr[x, L - m]
            dG[x, n - 1 - m] = d
            dG[x, n - 1 + m] = d


def electron_hole_change(f, v, step: float, FF, FV, out=None) -> np.ndarray:
    """The change ``dG[x, n - 1 + m]`` of the electron-hole function for a change ``v`` of f (FFT
    path; ``FF``, ``FV`` the spectra of f and v), written into ``out`` if given. G is bilinear in f,
    so this is exact; beyond the grid width G does not depend on f and its change vanishes."""
    nx, n = f.shape
    work = scratch(nx, n)
    spectrum = work.spectrum("first product")
    _hole_change_spectrum(FF, FV, _ones_spectrum(n, work.L), spectrum)
    corr = irfft_rows(spectrum, work.L, work.real("first sums"))
    dG = np.empty((nx, 2 * n - 1)) if out is None else out
    _electron_hole_change_from_correlation(corr, float(step), dG)
    return dG


def electron_hole_at(G, m, step: float) -> np.ndarray:
    """``G`` at arbitrary integer transfers ``m`` (any shape), using the closed form beyond the grid."""
    n = (G.shape[-1] + 1) // 2
    m = np.asarray(m)
    inside = np.abs(m) <= n - 1
    values = np.take(G, np.clip(m, -(n - 1), n - 1) + n - 1, axis=-1)
    beyond = np.where(m >= n, m * step, 0.0)
    return np.where(inside, values, beyond)


@jit
def _electron_hole_change_block(v, FF, ones, step, dG, rows, spectrum):
    """``electron_hole_change`` of a block of r rows on the calling thread, by DUCC0's transforms (those
    of the block passes), in its symmetric half: ``dG[i, m]`` the change at the transfers ``+-m d``,
    ``0 <= m <= n - 1`` (the same at both, ``_electron_hole_change_from_correlation``). ``v`` (r, n)
    is the change of f, ``FF`` (r, L // 2 + 1) the spectrum of f, ``dG`` (r, >= n) written in its
    first n columns; ``rows`` (>= r, L) and ``spectrum`` (>= r, L // 2 + 1) are work space. A
    compiled pass that goes on with dG (``pair_dynamics.ChainStage.with_electrons``) keeps it in the
    cache; ``electron_hole_change`` is the numpy twin."""
    r, n = v.shape
    block = rows[:r]
    _pad_rows(v, block)
    product = spectrum[:r]
    _rfft_block(block, product)
    for i in range(r):
        for q in range(product.shape[1]):
            ff = FF[i, q]
            fv = product[i, q]
            product[i, q] = fv.conjugate() * (ones[q] - ff) - ff.conjugate() * fv
    _irfft_block(product, block)
    L = block.shape[1]
    for i in range(r):
        dG[i, 0] = step * block[i, 0]
        for m in range(1, n):
            dG[i, m] = step * block[i, L - m]
