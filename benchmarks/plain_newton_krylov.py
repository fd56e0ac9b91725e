"""A plain numpy/scipy Newton-Krylov solver of the wire's steady state, the yardstick of the wire benchmark.

It solves the same discretisation as ``hotelectron.wire.steady_state`` (SPEC sections 3-6: the energy
grid with f = 1 below and 0 above it, the exact cell weights of 1/V^2 and of |E|^-a with the
second-order correction of the cells m = +-1, stationary pairs, the tails beyond the grid) written
out again from the formulas with numpy and scipy only: no numba, nothing of the package's kernels. It
reads only the problem's parameters from a ``WireProblem``. scipy's ``newton_krylov`` (LGMRES)
solves it, preconditioned by the diffusion operator plus the local collision rate, the textbook
choice.

``solve`` runs OpenBLAS (which scipy's LGMRES calls for its vector operations) on one thread. With its
default threads, which spin while they wait, a machine whose cores are busy with other work made
this solver 5-10 times slower (22 s instead of 2.9 s at a load of 8 on 2 cores); one thread makes
the yardstick depend on the algorithm, not on the load.

    python benchmarks/plain_newton_krylov.py     # solves the benchmark wire both ways and compares
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import time

import numpy as np
import scipy
import scipy.fft
from scipy.linalg import solve_banded
from scipy.optimize import newton_krylov
from scipy.sparse.linalg import LinearOperator


@contextlib.contextmanager
def one_blas_thread():
    """Run OpenBLAS, as numpy and scipy ship it, on one thread inside the block."""
    libraries = []
    for package in (np, scipy):
        for path in glob.glob(os.path.join(os.path.dirname(package.__file__) + ".libs", "*openblas*.so*")):
            library = ctypes.CDLL(path)
            for suffix in ("64_", ""):
                get, put = (getattr(library, f"scipy_openblas_{op}_num_threads{suffix}", None) for op in ("get", "set"))
                if get is not None and put is not None:
                    libraries.append((put, get()))
                    put(1)
                    break
    try:
        yield
    finally:
        for put, threads in libraries:
            put(threads)


def fermi(e, mu, T):
    return 0.5 * (1.0 - np.tanh((e - mu) / (2.0 * T)))


def central_correction(a, cells=2000):
    """The weight added to the cells m = +-1 of |E|^-a (in units of d^(1-a)) for second order."""
    if not 1.25 <= a < 3:
        return 0.0
    m = np.arange(1, cells + 1, dtype=float)
    lo, hi = m - 0.5, m + 0.5
    w = (lo ** (1 - a) - hi ** (1 - a)) / (a - 1)
    j = (hi ** (3 - a) - lo ** (3 - a)) / (3 - a)
    tail = (2 * a - 1) / 12 * (m[-1] + 0.5) ** (1 - a) / (a - 1)
    return -(np.sum(m * m * w - j) + tail - 0.5 ** (3 - a) / (3 - a))


class PlainWire:
    """The residual of the steady wire in numpy; S = 1/2 pairs and/or e-e scattering."""

    def __init__(self, problem):
        grid = problem.energy
        self.n, self.d = grid.n, grid.step
        self.e = grid.values
        self.nx = problem.wire.n
        self.h = 1.0 / (self.nx - 1)
        self.left = fermi(self.e, problem.mu_left, problem.temperature_left)
        self.right = fermi(self.e, problem.mu_right, problem.temperature_right)
        self.L = scipy.fft.next_fast_len(2 * self.n - 1)
        self.pairs = self.ee = None
        for mech in problem.mechanisms:
            if mech.name == "pairs":
                if mech.S != 0.5:
                    raise ValueError("the plain solver knows S = 1/2 pairs only")
                c = mech.couplings
                k = c.k
                lo = np.maximum((np.abs(k) - 0.5) * c.step, c.v_min)
                self.pairs = {"k": k, "w": 1.0 / lo - 1.0 / ((np.abs(k) + 0.5) * c.step), "rate": mech.rate}
            else:
                a, n = mech.exponent, self.n
                m = np.abs(np.arange(-(n - 1), n))
                lo = np.maximum(m - 0.5, 0.5) * self.d
                hi = (m + 0.5) * self.d
                w = (lo ** (1 - a) - hi ** (1 - a)) / (a - 1)
                w[m == 0] = 0.0
                w[m == 1] += central_correction(a) * self.d ** (1 - a)
                self.ee = mech.kappa * w

    def electron_hole(self, f):
        """G[x, n-1+m] = d sum_e f(e)(1 - f(e + m d)), f = 1 below and 0 above the grid."""
        n, L = self.n, self.L
        F = np.fft.rfft(f, L, axis=1)
        H = np.fft.rfft(1.0 - f, L, axis=1)
        corr = np.fft.irfft(np.conj(F) * H, L, axis=1)
        G = np.empty((f.shape[0], 2 * n - 1))
        G[:, : n - 1] = corr[:, L - (n - 1):]
        G[:, n - 1:] = corr[:, :n]
        m = np.arange(1, n)
        G[:, n:] += np.cumsum(f[:, ::-1], axis=1)[:, : n - 1] + np.cumsum(1.0 - f, axis=1)[:, : n - 1]
        return self.d * G

    def G_at(self, G, m):
        n = self.n
        inside = np.abs(m) <= n - 1
        vals = np.take(G, np.clip(m, -(n - 1), n - 1) + n - 1, axis=1)
        return np.where(inside, vals, np.where(m >= n, m * self.d, 0.0))

    def kernel(self, f, G):
        """The out-kernel K[x, M + m] (rate of eps -> eps - m d), M = n - 1, plus what lies beyond."""
        n = self.n
        K = np.zeros((f.shape[0], 2 * n - 1))
        if self.ee is not None:
            K += self.ee * G
        beyond = np.zeros((f.shape[0], 2))  # sums of transfers m <= -n and m >= n
        if self.pairs is not None:
            k, w = self.pairs["k"], 4.0 / 3.0 * self.pairs["rate"] * self.pairs["w"]
            give, take = self.G_at(G, -k), self.G_at(G, k)  # P1/P0 = G(-V)/G(V)
            # detailed balance of the one link, written so that neither rate may vanish alone
            P0 = take / (take + 3.0 * give)
            P1 = give / (take + 3.0 * give)
            # S = 1/2: c_{01} = A_01/(S(S+1)) = 1 and c_{10} = 3 A_10/(S(S+1)) = 1
            for m, rate in ((k, w * P0), (-k, w * P1)):
                inside = np.abs(m) <= n - 1
                np.add.at(K, (slice(None), (m[inside] + n - 1)), rate[:, inside])
                beyond[:, 0] += np.sum(rate[:, m <= -n], axis=1)
                beyond[:, 1] += np.sum(rate[:, m >= n], axis=1)
        return K, beyond

    def integral(self, f):
        n, L = self.n, self.L
        G = self.electron_hole(f)
        K, beyond = self.kernel(f, G)
        FK = np.fft.rfft(K, L, axis=1)
        out = np.fft.irfft(FK * np.fft.rfft(1.0 - f, L, axis=1), L, axis=1)[:, n - 1: 2 * n - 1]
        into = np.fft.irfft(FK * np.conj(np.fft.rfft(f, L, axis=1)), L, axis=1)[:, n - 1:: -1]
        prefix = np.concatenate([np.zeros((f.shape[0], 1)), np.cumsum(K, axis=1)], axis=1)
        i = np.arange(n)
        # jumps to empty states above the grid (m <= i - n) and from filled ones below it (m > i, K[-m]);
        # both include every transfer m <= -n
        tail_out = prefix[:, i] + beyond[:, :1]
        tail_in = prefix[:, n - 1 - i] + beyond[:, :1]
        return f * (out + tail_out) - (1 - f) * (into + tail_in), K.sum(axis=1) + beyond.sum(axis=1)

    def residual(self, u):
        f = u.reshape(self.nx - 2, self.n)
        full = np.vstack([self.left, f, self.right])
        lap = (full[:-2] - 2 * full[1:-1] + full[2:]) / self.h**2
        I, self.rate = self.integral(f)
        return (lap - I).ravel()


def solve(problem, f_tol=1e-10):
    """The steady state by scipy's newton_krylov; returns (f on all nodes, seconds, evaluations)."""
    wire = PlainWire(problem)
    shape = (wire.nx - 2, wire.n)
    u0 = ((1 - np.linspace(0, 1, wire.nx))[:, None] * wire.left + np.linspace(0, 1, wire.nx)[:, None] * wire.right)[1:-1]
    count = [0]

    def F(u):
        count[0] += 1
        return wire.residual(u)

    wire.residual(u0.ravel())
    state = {"rate": wire.rate}

    class Preconditioner(LinearOperator):
        def __init__(self):
            super().__init__(float, (u0.size, u0.size))

        def update(self, x, fx):
            state["rate"] = wire.rate

        def _matvec(self, r):  # -(nu(x) - d^2/dx^2)^-1 r: one tridiagonal matrix along x, all energies at once
            h2 = wire.h**2
            ab = np.zeros((3, shape[0]))
            ab[0, 1:] = -1.0 / h2
            ab[2, :-1] = -1.0 / h2
            ab[1] = state["rate"] + 2.0 / h2
            return -solve_banded((1, 1), ab, r.reshape(shape)).ravel()

    with one_blas_thread():
        start = time.perf_counter()
        u = newton_krylov(F, u0.ravel(), inner_M=Preconditioner(), f_tol=f_tol, method="lgmres", line_search="armijo")
        seconds = time.perf_counter() - start
    f = np.vstack([wire.left, u.reshape(shape), wire.right])
    return f, seconds, count[0]


if __name__ == "__main__":
    from hotelectron.bench.wire import reference_wire
    from hotelectron.wire import steady_state

    problem = reference_wire()
    steady_state(problem)  # compile
    start = time.perf_counter()
    ours = steady_state(problem)
    t_ours = time.perf_counter() - start
    f, t_plain, evaluations = solve(problem)
    print(f"hotelectron: {t_ours:.2f} s; plain numpy/scipy: {t_plain:.2f} s ({evaluations} residual evaluations); "
          f"ratio {t_plain / t_ours:.1f}; max |f difference| {np.max(np.abs(f - ours.f)):.1e}")
