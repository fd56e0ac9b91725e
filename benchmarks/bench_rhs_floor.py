"""The full collision right-hand side against its floor of five batched real FFTs, in one run.

    python benchmarks/bench_rhs_floor.py [--rounds N] [--n-x 128] [--n-energy 2048] [--stages]

The system is that of ``hotelectron bench`` (``hotelectron/bench/collisions.py``: pairs S = 5/2 with
couplings from v_min = step/2 to half the grid width plus e-e a = 3/2, a double-step distribution at
T = 0.05 eU, pairs in stationary balance). Timed in interleaved rounds (one call of each per round),
medians reported:

- ``rhs``: ``Collisions(grid, (pairs, ee), "fft").rhs(f, P)``;
- ``floor``: the five real FFTs of (n_x, L) rows that the FFT path needs (the spectra of f and of the
  kernel, the back-transforms of the correlation in G and of the out- and in-sums; L the
  transform length of the engine), pocketfft with the engine's thread count, written into given
  arrays from inputs already zero-padded: the transforms and nothing else;
- ``floor, fresh outputs``: the floor as first defined (until this script), ``scipy.fft.rfft`` of f, 1 - f and f padded
  to L and ``irfft`` of two spectra, every output a fresh array;
- ``floor of the engine's transforms``: the same five transforms as the engine runs its own, DUCC0
  (through rocket-fft) on blocks of 4 rows, each numba thread on its share of the rows: faster than
  pocketfft's, so the ratio of the right-hand side to it is what the rest of the work costs.

``--stages`` adds the three passes of the right-hand side (as it runs them for mechanisms without a
one-pass route), each timed on its own in the same rounds.

The floors are written here, independently of the package, so that the script measures the same floor
against any version of the engine.
"""

from __future__ import annotations

import argparse
import statistics

import numba
import numpy as np
import scipy.fft
from rocket_fft import lowlevel as ducc0
from scipy.fft._pocketfft.pypocketfft import c2r, r2c

from hotelectron.bench.collisions import interleaved_rounds, make_grid, make_mechanisms, make_state
from hotelectron.kinetics import convolution
from hotelectron.kinetics.collisions import Collisions

WORKERS = convolution.FFT_WORKERS
BLOCK_ROWS = 4
ENGINE_FLOOR = "floor of the engine's transforms"
_AXIS = np.array([1], dtype=np.int64)


def floor_into_arrays(arrays):
    """Five real FFTs of (n_x, L) rows into given arrays: three forward, two backward."""
    padded_f, padded_h, padded_k, spectra, sums, L = arrays
    for a, out in zip((padded_f, padded_h, padded_k), spectra):
        r2c(a, (1,), True, 0, out, WORKERS)
    for s, out in zip(spectra[:2], sums):
        c2r(s, (1,), L, False, 2, out, WORKERS)


@numba.njit(parallel=True)
def _ducc0_blocks(padded_f, padded_h, padded_k, spectra, sums, block_rows):
    """The five transforms of ``floor_into_arrays`` by DUCC0, ``block_rows`` rows at a time on each
    numba thread (each thread one contiguous share of the rows)."""
    nx = padded_f.shape[0]
    threads = numba.get_num_threads()
    inverse = 1.0 / sums.shape[2]
    for t in numba.prange(threads):
        stop = (t + 1) * nx // threads
        for lo in range(t * nx // threads, stop, block_rows):
            hi = min(lo + block_rows, stop)
            ducc0.r2c(padded_f[lo:hi], spectra[0, lo:hi], _AXIS, True, 1.0, 1)
            ducc0.r2c(padded_h[lo:hi], spectra[1, lo:hi], _AXIS, True, 1.0, 1)
            ducc0.r2c(padded_k[lo:hi], spectra[2, lo:hi], _AXIS, True, 1.0, 1)
            ducc0.c2r(spectra[0, lo:hi], sums[0, lo:hi], _AXIS, False, inverse, 1)
            ducc0.c2r(spectra[1, lo:hi], sums[1, lo:hi], _AXIS, False, inverse, 1)


def floor_engine_transforms(arrays):
    """The same five transforms as the engine runs them (DUCC0 through rocket-fft, blocks of rows on
    the numba threads, into given arrays): the floor of this engine's own transforms."""
    padded_f, padded_h, padded_k, spectra, sums, _ = arrays
    _ducc0_blocks(padded_f, padded_h, padded_k, spectra, sums, BLOCK_ROWS)


def floor_fresh_outputs(f, L):
    """The floor as first defined: every transform makes its output (and pads its input) afresh."""
    spectra = [scipy.fft.rfft(a, L, axis=1, workers=WORKERS) for a in (f, 1.0 - f, f)]
    for s in spectra[:2]:
        scipy.fft.irfft(s, L, axis=1, workers=WORKERS)


def stage_calls(c, f, P):
    """The three passes of ``Collisions.rhs`` on the FFT path (which it takes when the populations do not
    have ``rhs_in_one_pass``), each on its own, on arrays laid out as the right-hand side lays them out
    (the package as it is now; the floors above do not depend on it). With pairs at zero field and e-e
    the right-hand side runs all three in one compiled pass, which keeps f's spectrum, G and the kernel
    of each block of rows in the cache: the stages sum to more than it."""
    n_x, n = f.shape
    pairs, ee = c.mechanisms
    L = convolution.fft_length(n)
    FF = np.empty((n_x, L // 2 + 1), complex)
    G = np.empty((n_x, 2 * n - 1))
    K = np.empty((n_x, 2 * n + 1))
    dP = np.empty_like(P)
    I = np.empty_like(f)
    weights = ee.electron_hole_weights(c.grid)

    return {
        "f's spectrum, G, e-e kernel (2 FFTs)": lambda: convolution._electron_hole_pass(f, c.grid.step, FF, G, K, weights),
        "pair pass (kernel + dP/dt)": lambda: pairs.add_kernel_and_rates(c.grid, P, G, K, dP),
        "K's spectrum, sums, df/dt (3 FFTs)": lambda: convolution._integral_pass(f, FF, K, -1.0, I),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--n-x", type=int, default=128)
    parser.add_argument("--n-energy", type=int, default=2048)
    parser.add_argument("--stages", action="store_true", help="time each step of the right-hand side too")
    args = parser.parse_args()

    grid = make_grid(args.n_energy, 4.0)
    mech = make_mechanisms(grid, 2.5, 1.5)
    f, P = make_state(grid, args.n_x, 0.05, mech["pairs"])
    c = Collisions(grid, (mech["pairs"], mech["ee"]), "fft")
    L = convolution.fft_length(grid.n)
    n_x, n = f.shape
    padded = [np.zeros((n_x, L)) for _ in range(3)]
    padded[0][:, :n] = f
    padded[1][:, :n] = 1.0 - f
    padded[2][:, :n] = f
    spectra = np.empty((3, n_x, L // 2 + 1), complex)  # rows of spectra[i] are contiguous: as separate arrays
    sums = np.empty((2, n_x, L))
    arrays = (*padded, spectra, sums, L)

    calls = {
        "rhs": lambda: c.rhs(f, P),
        "floor": lambda: floor_into_arrays(arrays),
        "floor, fresh outputs": lambda: floor_fresh_outputs(f, L),
        ENGINE_FLOOR: lambda: floor_engine_transforms(arrays),
    }
    if args.stages:
        calls.update(stage_calls(c, f, P))
    times, cpu, load_before, load_after = interleaved_rounds(calls, args.rounds)

    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"n_x = {n_x}, n_energy = {n}, transform length L = {L}, {WORKERS} FFT workers, "
          f"{args.rounds} interleaved rounds; load average (1, 5, 15 min) before "
          f"{', '.join(f'{v:.2f}' for v in load_before)}, after {', '.join(f'{v:.2f}' for v in load_after)}")
    for name, t in times.items():
        print(f"  {name:30s} median {median[name] * 1e3:8.2f} ms   min {min(t) * 1e3:8.2f} ms   "
              f"cpu time median {statistics.median(cpu[name]) * 1e3:8.2f} ms")
    if args.stages:
        stages = [name for name in calls if name != "rhs" and not name.startswith("floor")]
        total = sum(median[name] for name in stages)
        print(f"stages: sum of medians {total * 1e3:.2f} ms")
    print(f"rhs / floor = {median['rhs'] / median['floor']:.2f}; "
          f"rhs / floor with fresh outputs = {median['rhs'] / median['floor, fresh outputs']:.2f}; "
          f"rhs / floor of the engine's transforms = {median['rhs'] / median[ENGINE_FLOOR]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
