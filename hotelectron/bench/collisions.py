"""Benchmarks of the collision engine: both paths of every mechanism, the full right-hand side, compile time.

What is measured (all in one run, so that ratios compare like with like on the same machine):

- ``cases``: for each mechanism (``pairs``: RKKY pairs with S = 5/2; ``ee``: electron-electron with
  a = 3/2), each path (``direct``, ``fft``) and each energy grid size at ``n_x`` positions, one
  *evaluation* is the full collision integral of that mechanism alone,
  ``Collisions(grid, (mechanism,), path).integral(f, P)``, electron-hole function G included. The
  median over several repetitions (``time.perf_counter``) is reported, with grid points per second
  ``n_x n_energy / median``.
- ``exponents``: the slope of log(median) against log(n_energy) over all sizes, per mechanism and path.
- ``ratios``: direct median / FFT median per mechanism and size.
- ``full_rhs``: ``Collisions(grid, (pairs, ee), "fft").rhs(f, P)``, i.e. df/dt of both mechanisms and
  dP/dt of the pairs, at (n_x, n_energy) = (128, 2048), against its floor measured in the same rounds:
  the five real FFTs of (n_x, L) rows that the FFT path needs (spectra of f and of the kernel,
  back-transforms of G's correlation and of the out- and in-sums; L = ``fft_length(n_energy)``, the
  engine's transform length), pocketfft (what scipy.fft runs) into given arrays from rows already
  zero-padded (``fft_floor_s``: the target's floor); the floor as first defined, ``scipy.fft`` making
  every output and padded input afresh (``fft_floor_fresh_outputs_s``, kept for comparison with earlier
  runs); and the same five transforms as the engine runs its own, DUCC0 on blocks of rows on the numba
  threads (``fft_floor_engine_s``, faster than pocketfft's: ``over_fft_floor_engine`` is what the
  right-hand side costs beyond its own transforms).
- ``field_pairs``: the pair right-hand side ``Collisions(grid, (pairs,), "fft").rhs(f, P)`` in a
  Zeeman field (``FieldPairScattering``, populations per state (J, M): 36 per coupling for S = 5/2,
  Zeeman energy ``field_zeeman_steps`` energy steps) against the zero-field chain (``PairScattering``,
  2S + 1 multiplets) on the same grids, at the size of ``full_rhs``, reported as their ratio; and
  the same for the implicit pair step ``relax`` (a dense solve per (x, V) against a tridiagonal one).
  ``field_full_rhs``: the full right-hand side in the field, pairs (J, M) plus free spins
  (``FreeSpinScattering``, 2S + 1 levels) plus e-e, df/dt and dP/dt of the one population array,
  against ``full_rhs`` (the zero-field chain plus e-e) of the same run: the target is their ratio.
  Both again with dP/dt written into an array kept from call to call (``rhs(f, P, out=(None, dP))``), which
  saves the page faults of a fresh 75 MB array in the field (``over_zero_field_kept_outputs``).
- ``compile``: the numba compilation cost, kept out of every median. In the running process the first
  call of each kernel is timed against later calls and numba's own cache statistics tell whether the
  on-disk cache was hit. The full benchmark also starts two fresh Python processes sharing an empty
  temporary cache directory: the first compiles everything (``compile_s``), the second must load it
  from disk (``cached_first_call_s``, about as fast as a warm call if caching works).

The system: energies in units of eU on ``[-4, 4]`` (a margin of several eU, as the wire solver
needs); a double-step distribution at temperature 0.05 whose two steps (at +-1/2) are weighted
``1 - x`` and ``x`` along the wire; pairs in stationary balance with it. The coupling grid starts at
``v_min = step/2`` (the smallest cutoff the grid allows: the most couplings) and ends at
``k_max = (n_energy - 1)//2``, i.e. |V| up to half the grid width (as in the engine tests), so the
S = 5/2 kernel, whose transfers reach 2S |V|, is longer than the grid: the hardest case.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

import numba
import numpy as np

from .. import __version__
from ..kinetics._numba import jit, threading_info
from ..kinetics.collisions import Collisions
from ..kinetics.convolution import (BLOCK_ROWS, FFT_WORKERS, PATHS, _irfft_block, _rfft_block, fft_length, irfft_rows,
                                    rfft_rows)
from ..kinetics.grids import CouplingGrid, EnergyGrid
from ..kinetics.mechanisms import ElectronElectron, FieldPairScattering, FreeSpinScattering, Impurities, PairScattering

log = logging.getLogger(__name__)

__all__ = ["BenchConfig", "TARGETS", "check_targets", "fit_exponent", "format_report", "run", "write_json"]

MECHANISM_KEYS = ("pairs", "ee")

#: Targets of the collision engine on the reference 2-core machine, checked as ratios within one run.
TARGETS = {
    "fft_exponent_max": 1.2,
    "speedup_n_energy": 4096,
    "speedup_min": 30.0,
    "full_rhs_max_s": 0.040,
    "full_rhs_over_fft_floor": 1.8,
    "field_rhs_over_zero_field": 3.0,
}


@dataclass(frozen=True)
class BenchConfig:
    """Sizes and repetition policy of one benchmark run.

    ``min_repeats``..``max_repeats`` timed evaluations per case, as many as fit in ``budget_s`` seconds
    (slow direct cases get the minimum).
    """

    sizes: tuple = (256, 512, 1024, 2048, 4096, 8192)
    n_x: int = 64
    full_rhs_n_x: int = 128
    full_rhs_n_energy: int = 2048
    S: float = 2.5
    exponent: float = 1.5
    half_width: float = 4.0
    temperature: float = 0.05
    min_repeats: int = 3
    max_repeats: int = 30
    budget_s: float = 1.5
    field_zeeman_steps: int = 4
    fresh_processes: bool = True
    quick: bool = False

    @classmethod
    def quick_config(cls) -> "BenchConfig":
        """Small sizes for a smoke test: seconds, not minutes; no fresh processes."""
        return cls(
            sizes=(64, 128, 256),
            n_x=8,
            full_rhs_n_x=16,
            full_rhs_n_energy=256,
            min_repeats=2,
            max_repeats=5,
            budget_s=0.1,
            fresh_processes=False,
            quick=True,
        )


# -- the system ---------------------------------------------------------------------------------------
def _fermi(energies, temperature, mu):
    return 0.5 * (1.0 - np.tanh((energies - mu) / (2.0 * temperature)))


def make_grid(n_energy: int, half_width: float) -> EnergyGrid:
    return EnergyGrid(n_energy, 2.0 * half_width / (n_energy - 1))


def make_mechanisms(grid: EnergyGrid, S: float, exponent: float) -> dict:
    """``{"pairs": PairScattering, "ee": ElectronElectron}`` with unit strengths on ``grid``."""
    couplings = CouplingGrid(grid.step, grid.step / 2, (grid.n - 1) // 2)
    return {
        "pairs": PairScattering(S, rate=1.0, relaxation=1.0, couplings=couplings),
        "ee": ElectronElectron(1.0, exponent),
    }


def fft_floor_arrays(f, L):
    """Inputs and outputs of the floors: three rows of length L zero-padded (f, 1 - f, f), their three
    spectra and two back-transforms, each kind stacked in one array."""
    n_x, n = f.shape
    padded = np.zeros((3, n_x, L))
    for rows, values in zip(padded, (f, 1.0 - f, f)):
        rows[:, :n] = values
    return padded, np.empty((3, n_x, L // 2 + 1), complex), np.empty((2, n_x, L))


def _fft_floor(padded, spectra, sums):
    """The floor of the FFT path's right-hand side: the five batched real FFTs of (n_x, L) rows it needs
    (three spectra, two back-transforms), pocketfft into given arrays with ``FFT_WORKERS`` threads."""
    for rows, out in zip(padded, spectra):
        rfft_rows(rows, out)
    for spectrum, out in zip(spectra[:2], sums):
        irfft_rows(spectrum, out.shape[1], out)


@jit(parallel=True)
def _engine_transforms(padded, spectra, sums, threads):
    """The five transforms of ``_fft_floor`` as the engine's block passes run theirs: DUCC0 on blocks of
    ``BLOCK_ROWS`` rows, each of ``threads`` numba threads on its share of the rows."""
    nx = padded.shape[1]
    for t in numba.prange(threads):
        stop = (t + 1) * nx // threads
        for lo in range(t * nx // threads, stop, BLOCK_ROWS):
            hi = min(lo + BLOCK_ROWS, stop)
            for i in range(3):
                _rfft_block(padded[i, lo:hi], spectra[i, lo:hi])
            for i in range(2):
                _irfft_block(spectra[i, lo:hi], sums[i, lo:hi])


def _fft_floor_engine(padded, spectra, sums):
    """The floor of the engine's own transforms: those five by DUCC0 in blocks on the numba threads."""
    _engine_transforms(padded, spectra, sums, numba.get_num_threads())


def _fft_floor_fresh_outputs(f, L):
    """The floor as first defined: ``scipy.fft`` pads f, 1 - f and f to L and makes every output afresh."""
    import scipy.fft

    spectra = [scipy.fft.rfft(a, L, axis=1, workers=FFT_WORKERS) for a in (f, 1.0 - f, f)]
    for s in spectra[:2]:
        scipy.fft.irfft(s, L, axis=1, workers=FFT_WORKERS)


def make_field_pairs(pairs: PairScattering, zeeman_steps: int) -> FieldPairScattering:
    """The pairs of ``pairs`` in a field of ``zeeman_steps`` energy steps, resolved into (J, M)."""
    return FieldPairScattering(pairs.S, pairs.rate, pairs.relaxation, pairs.couplings, zeeman_steps)


def make_field_impurities(field: FieldPairScattering) -> Impurities:
    """The pairs ``field`` and free spins of the same S, strengths and Zeeman energy, as one population array."""
    spins = FreeSpinScattering(field.S, field.rate, field.relaxation, field.zeeman_steps, field.couplings.step)
    return Impurities((field, spins))


def make_state(grid: EnergyGrid, n_x: int, temperature: float, pairs):
    """Double-step ``f[x, i]`` varying along the wire and the impurities ``P`` (pairs, or any population
    mechanism) in stationary balance with it."""
    x = (np.arange(n_x) + 1.0) / (n_x + 1)
    eps = grid.values
    f = (1.0 - x)[:, None] * _fermi(eps, temperature, 0.5) + x[:, None] * _fermi(eps, temperature, -0.5)
    P = Collisions(grid, (pairs,), "fft").stationary_pairs(f)
    return np.ascontiguousarray(f), np.ascontiguousarray(P)


# -- timing -------------------------------------------------------------------------------------------
def measure_in_rounds(calls, config: BenchConfig, say=None) -> list:
    """Wall times of each ``func(*args)`` in ``calls``, taken in ``config.min_repeats`` rounds over all calls.

    The first call of each is untimed (first touch of its arrays) and sets how many timed calls it
    gets per round: as many as fit in ``config.budget_s`` over the whole run, within
    ``min_repeats``..``max_repeats`` in total.
    """
    rounds = config.min_repeats
    per_round = []
    for func, args in calls:
        t0 = time.perf_counter()
        func(*args)
        first = time.perf_counter() - t0
        per_round.append(max(1, min(config.max_repeats // rounds, int(config.budget_s / (rounds * first)))))
    times = [[] for _ in calls]
    for r in range(rounds):
        for (func, args), reps, t in zip(calls, per_round, times):
            for _ in range(reps):
                t0 = time.perf_counter()
                func(*args)
                t.append(time.perf_counter() - t0)
        if say is not None:
            say(f"round {r + 1} of {rounds} done")
    return times


def interleaved_rounds(calls: dict, rounds: int):
    """Each of ``calls`` (name -> function of no arguments) once per round, in ``rounds`` interleaved
    rounds after two untimed calls each (compilation, first touch): ``(wall, cpu, load_before,
    load_after)``, the wall and the CPU times (user + system of all threads: the work, whatever the
    load) per name, and the load averages around the rounds."""
    for call in calls.values():
        call()
        call()
    load_before = os.getloadavg()
    wall = {name: [] for name in calls}
    cpu = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            call()
            wall[name].append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu[name].append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    return wall, cpu, load_before, os.getloadavg()


def fit_exponent(sizes, seconds) -> float:
    """Slope of log(seconds) against log(size): the empirical scaling exponent."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


# -- compilation --------------------------------------------------------------------------------------
def _dispatchers():
    """Every numba kernel of the collision engine, by ``module.name``."""
    from ..kinetics import convolution, pair_dynamics
    from ..kinetics.mechanisms import pairs

    found = {}
    for module in (convolution, pair_dynamics, pairs):
        for name, obj in vars(module).items():
            if isinstance(obj, numba.core.registry.CPUDispatcher):
                found[f"{module.__name__.rsplit('.', 1)[-1]}.{name}"] = obj
    return found


def _cache_counts() -> dict:
    hits = misses = 0
    for dispatcher in _dispatchers().values():
        hits += sum(dispatcher.stats.cache_hits.values())
        misses += sum(dispatcher.stats.cache_misses.values())
    return {"cache_hits": hits, "cache_misses": misses}


def _exercise_engine(n_energy: int = 64, n_x: int = 4) -> None:
    """Call every kernel of the engine once on a small system (both paths, rhs, implicit relaxation)."""
    grid = make_grid(n_energy, 4.0)
    mech = make_mechanisms(grid, 2.5, 1.5)
    f, P = make_state(grid, n_x, 0.05, mech["pairs"])
    for path in PATHS:
        c = Collisions(grid, (mech["pairs"], mech["ee"]), path)
        c.rhs(f, P)
        c.pairs.relax(P, c.electron_hole(f), grid, 0.1)


def first_call_probe() -> dict:
    """Time the first engine calls of this process (compile or cache load) against a second round."""
    before = _cache_counts()
    t0 = time.perf_counter()
    _exercise_engine()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    _exercise_engine()
    warm = time.perf_counter() - t0
    after = _cache_counts()
    return {
        "first_call_s": first,
        "warm_call_s": warm,
        "cache_hits": after["cache_hits"] - before["cache_hits"],
        "cache_misses": after["cache_misses"] - before["cache_misses"],
    }


def _probe_in_fresh_process(cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    code = "import json; from hotelectron.bench.collisions import first_call_probe; print(json.dumps(first_call_probe()))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_compile(fresh_processes: bool) -> dict:
    """Compile cost and cache behaviour (see the module docstring)."""
    result = {"in_process": first_call_probe()}
    p = result["in_process"]
    compile_s = p["first_call_s"] - p["warm_call_s"]
    source = "in-process first call (cache hit)" if p["cache_misses"] == 0 else "in-process first call"
    if fresh_processes:
        with tempfile.TemporaryDirectory(prefix="hotelectron-numba-cache-") as cache_dir:
            cold = _probe_in_fresh_process(cache_dir)
            warm = _probe_in_fresh_process(cache_dir)
        result["cold_process"] = cold
        result["warm_process"] = warm
        compile_s = cold["first_call_s"] - cold["warm_call_s"]
        source = "fresh process, empty cache"
        result["cached_first_call_s"] = warm["first_call_s"] - warm["warm_call_s"]
        result["second_process_recompiled"] = warm["cache_misses"] > 0
    result["compile_s"] = compile_s
    result["source"] = source
    return result


# -- the run ------------------------------------------------------------------------------------------
def machine() -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "fft_workers": FFT_WORKERS,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "hotelectron": __version__,
    }
    info.update(threading_info())
    info["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY", "unset")
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = os.getloadavg()[0]
    return info


def run(config: BenchConfig | None = None, progress=None) -> dict:
    """Run the benchmark; returns the results as a JSON-ready dict (see ``write_json``).

    ``progress``: optional callable taking one line of text per finished case.
    """
    config = config or BenchConfig()
    say = progress or (lambda line: None)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    compile_info = measure_compile(config.fresh_processes)
    say(f"compile: {compile_info['compile_s']:.2f} s ({compile_info['source']})")

    # every system is built first; then the timed calls go round all cases in rounds, so that a
    # passing disturbance of the machine is spread over all cases instead of spoiling one of them
    planned = []
    for n_energy in config.sizes:
        grid = make_grid(n_energy, config.half_width)
        mech = make_mechanisms(grid, config.S, config.exponent)
        f, P = make_state(grid, config.n_x, config.temperature, mech["pairs"])
        for key in MECHANISM_KEYS:
            for path in PATHS:
                c = Collisions(grid, (mech[key],), path)
                args = (f, P if key == "pairs" else None)
                info = {"mechanism": key, "path": path, "n_x": config.n_x, "n_energy": n_energy}
                planned.append((info, c.integral, args))
    grid = make_grid(config.full_rhs_n_energy, config.half_width)
    mech = make_mechanisms(grid, config.S, config.exponent)
    f, P = make_state(grid, config.full_rhs_n_x, config.temperature, mech["pairs"])
    c = Collisions(grid, (mech["pairs"], mech["ee"]), "fft")
    rhs_info = {"n_x": config.full_rhs_n_x, "n_energy": config.full_rhs_n_energy, "mechanisms": ["pairs", "ee"], "path": "fft"}
    planned.append((rhs_info, c.rhs, (f, P)))
    planned.append((rhs_info, _fft_floor, fft_floor_arrays(f, fft_length(grid.n))))
    planned.append((rhs_info, _fft_floor_fresh_outputs, (f, fft_length(grid.n))))
    planned.append((rhs_info, _fft_floor_engine, fft_floor_arrays(f, fft_length(grid.n))))
    field = make_field_pairs(mech["pairs"], config.field_zeeman_steps)
    impurities = make_field_impurities(field)
    f_field, P_both = make_state(grid, config.full_rhs_n_x, config.temperature, impurities)
    P_field = np.ascontiguousarray(impurities.split(P_both)[0])
    G = Collisions(grid, (), "fft").electron_hole(f)
    field_collisions = Collisions(grid, (field, impurities.species[1], mech["ee"]), "fft")
    field_calls = [
        (Collisions(grid, (mech["pairs"],), "fft").rhs, (f, P)),
        (Collisions(grid, (field,), "fft").rhs, (f_field, P_field)),
        (mech["pairs"].relax, (P, G, grid, 0.1)),
        (field.relax, (P_field, G, grid, 0.1)),
        (field_collisions.rhs, (f_field, P_both)),
        (functools.partial(c.rhs, out=(None, np.empty_like(P))), (f, P)),  # dP/dt into an array kept from call to call
        (functools.partial(field_collisions.rhs, out=(None, np.empty_like(P_both))), (f_field, P_both)),
    ]
    planned += [(None, func, args) for func, args in field_calls]

    times = measure_in_rounds([(func, args) for _, func, args in planned], config, say)
    kept_rhs, field_kept_rhs = (statistics.median(t) for t in times[-2:])
    times = times[:-2]
    chain_rhs, field_rhs, chain_relax, field_relax, field_full_rhs = (statistics.median(t) for t in times[-5:])
    field_pairs = {"n_x": config.full_rhs_n_x, "n_energy": config.full_rhs_n_energy, "S": config.S,
                   "zeeman_steps": config.field_zeeman_steps, "n_states": field.n_levels,
                   "n_couplings": field.couplings.size, "chain_rhs_s": chain_rhs, "field_rhs_s": field_rhs,
                   "rhs_field_over_chain": field_rhs / chain_rhs, "chain_relax_s": chain_relax,
                   "field_relax_s": field_relax, "relax_field_over_chain": field_relax / chain_relax}
    times = times[:-5]
    cases = []
    for (info, _, _), t in zip(planned[: -4 - len(field_calls)], times[:-4]):
        median = statistics.median(t)
        cases.append(dict(info, median_s=median, min_s=min(t), repeats=len(t), points_per_s=config.n_x * info["n_energy"] / median))
    t, floor, floor_fresh, floor_engine = times[-4:]
    full_rhs = dict(rhs_info, median_s=statistics.median(t), min_s=min(t), repeats=len(t),
                    transform_length=fft_length(config.full_rhs_n_energy), fft_floor_s=statistics.median(floor),
                    fft_floor_fresh_outputs_s=statistics.median(floor_fresh),
                    fft_floor_engine_s=statistics.median(floor_engine))
    full_rhs["over_fft_floor"] = full_rhs["median_s"] / full_rhs["fft_floor_s"]
    full_rhs["over_fft_floor_fresh_outputs"] = full_rhs["median_s"] / full_rhs["fft_floor_fresh_outputs_s"]
    full_rhs["over_fft_floor_engine"] = full_rhs["median_s"] / full_rhs["fft_floor_engine_s"]
    field_full = {"n_x": config.full_rhs_n_x, "n_energy": config.full_rhs_n_energy, "S": config.S,
                  "zeeman_steps": config.field_zeeman_steps, "mechanisms": ["field_pairs", "free_spins", "ee"],
                  "n_populations": int(P_both.shape[1]), "median_s": field_full_rhs,
                  "zero_field_median_s": full_rhs["median_s"], "over_zero_field": field_full_rhs / full_rhs["median_s"],
                  "kept_outputs_median_s": field_kept_rhs, "zero_field_kept_outputs_median_s": kept_rhs,
                  "over_zero_field_kept_outputs": field_kept_rhs / kept_rhs}
    for case in cases:
        say(
            f"{case['mechanism']:>5} {case['path']:>6} n_energy={case['n_energy']:>5}: "
            f"{case['median_s'] * 1e3:10.3f} ms ({case['repeats']} repeats)"
        )
    say(f"full rhs ({full_rhs['n_x']}, {full_rhs['n_energy']}): {full_rhs['median_s'] * 1e3:.2f} ms")

    exponents = []
    for key in MECHANISM_KEYS:
        for path in PATHS:
            rows = [c for c in cases if c["mechanism"] == key and c["path"] == path]
            exponents.append(
                {
                    "mechanism": key,
                    "path": path,
                    "exponent": fit_exponent([r["n_energy"] for r in rows], [r["median_s"] for r in rows]),
                }
            )
    ratios = []
    for key in MECHANISM_KEYS:
        for n_energy in config.sizes:
            t = {c["path"]: c["median_s"] for c in cases if c["mechanism"] == key and c["n_energy"] == n_energy}
            ratios.append({"mechanism": key, "n_energy": n_energy, "direct_over_fft": t["direct"] / t["fft"]})

    result = {
        "config": asdict(config),
        "machine": dict(machine(), load_average_1min_before=load_before),
        "cases": cases,
        "exponents": exponents,
        "ratios": ratios,
        "full_rhs": full_rhs,
        "field_pairs": field_pairs,
        "field_full_rhs": field_full,
        "compile_s": compile_info["compile_s"],
        "compile": compile_info,
    }
    result["targets"] = check_targets(result, reference_sizes=not config.quick)
    return result


def _check(name: str, value, target: str, at_most: bool, measured: bool = True) -> dict:
    """One target: ``value`` against ``TARGETS[target]`` (an upper bound, or with ``at_most`` false a
    lower one); ``passed`` is None where nothing was measured."""
    limit = TARGETS[target]
    passed = None if not measured else (value <= limit if at_most else value >= limit)
    return {"name": name, "value": value, "limit": f"{'<=' if at_most else '>='} {limit}", "passed": passed}


def check_targets(result: dict, reference_sizes: bool = True) -> list:
    """Each target as ``{"name", "value", "limit", "passed"}``.

    ``passed`` is None where the target was not measured, and for every target when
    ``reference_sizes`` is false (the quick sizes say nothing about them).
    """
    checks = [_check(f"{e['mechanism']} FFT scaling exponent", e["exponent"], "fft_exponent_max", True)
              for e in result["exponents"] if e["path"] == "fft"]
    n_ref = TARGETS["speedup_n_energy"]
    for key in MECHANISM_KEYS:
        ratio = [r["direct_over_fft"] for r in result["ratios"] if r["mechanism"] == key and r["n_energy"] == n_ref]
        checks.append(_check(f"{key} direct/FFT at n_energy = {n_ref}", ratio[0] if ratio else None, "speedup_min",
                             False, measured=bool(ratio)))
    rhs = result["full_rhs"]
    reference_size = (rhs["n_x"], rhs["n_energy"]) == (128, 2048)
    checks.append(_check(f"full rhs median at ({rhs['n_x']}, {rhs['n_energy']}) [s]", rhs["median_s"],
                         "full_rhs_max_s", True, reference_size))
    checks.append(_check("full rhs / its floor of 5 batched real FFTs", rhs["over_fft_floor"],
                         "full_rhs_over_fft_floor", True, reference_size))
    field = result.get("field_full_rhs")
    if field is not None:
        checks.append(_check("full rhs in a field (pairs (J, M) + free spins + e-e) / zero-field full rhs",
                             field["over_zero_field"], "field_rhs_over_zero_field", True, reference_size))
    if not reference_sizes:
        for check in checks:
            check["passed"] = None
    return checks


# -- output -------------------------------------------------------------------------------------------
def write_json(result: dict, path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")


def _fmt_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def format_report(result: dict) -> str:
    """The benchmark as readable text: the case table, exponents, full rhs, compile time and targets."""
    m = result["machine"]
    lines = [
        f"machine: {m['cpu_count']} cores, numba {m['num_threads']} threads ({m['threading_layer']}), "
        f"FFT workers {m['fft_workers']}, OMP_WAIT_POLICY {m['omp_wait_policy']}; {m['platform']}",
        "",
        f"{'mechanism':<9} {'n_x':>4} {'n_energy':>8} {'direct':>11} {'fft':>11} {'direct/fft':>10} "
        f"{'fft points/s':>13} {'direct points/s':>15}",
    ]
    by_key = {(c["mechanism"], c["path"], c["n_energy"]): c for c in result["cases"]}
    sizes = sorted({c["n_energy"] for c in result["cases"]})
    for key in MECHANISM_KEYS:
        for n_energy in sizes:
            d, f = by_key[(key, "direct", n_energy)], by_key[(key, "fft", n_energy)]
            lines.append(
                f"{key:<9} {d['n_x']:>4} {n_energy:>8} {_fmt_time(d['median_s']):>11} {_fmt_time(f['median_s']):>11} "
                f"{d['median_s'] / f['median_s']:>10.1f} {f['points_per_s']:>13.3g} {d['points_per_s']:>15.3g}"
            )
    lines.append("")
    lines.append(
        "scaling exponents (fit over n_energy): "
        + ", ".join(f"{e['mechanism']} {e['path']} {e['exponent']:.2f}" for e in result["exponents"])
    )
    rhs = result["full_rhs"]
    lines.append(
        f"full collision rhs (pairs S = 5/2 + e-e a = 3/2, df/dt and dP/dt, fft) at n_x = {rhs['n_x']}, "
        f"n_energy = {rhs['n_energy']}: median {_fmt_time(rhs['median_s'])} ({rhs['repeats']} repeats); "
        f"its 5 batched real FFTs (length {rhs['transform_length']}, into given arrays) "
        f"{_fmt_time(rhs['fft_floor_s'])}: ratio {rhs['over_fft_floor']:.2f}; against the same FFTs with fresh "
        f"outputs {_fmt_time(rhs['fft_floor_fresh_outputs_s'])}: ratio {rhs['over_fft_floor_fresh_outputs']:.2f}; "
        f"against the engine's own transforms (DUCC0 in blocks of rows on the numba threads) "
        f"{_fmt_time(rhs['fft_floor_engine_s'])}: ratio {rhs['over_fft_floor_engine']:.2f}"
    )
    fp = result["field_pairs"]
    lines.append(
        f"pairs in a field (S = {fp['S']:g}, {fp['n_states']} states (J, M) per coupling, Delta_Z = "
        f"{fp['zeeman_steps']} steps) against the zero-field chain at n_x = {fp['n_x']}, n_energy = "
        f"{fp['n_energy']}, {fp['n_couplings']} couplings: pair rhs {_fmt_time(fp['field_rhs_s'])} against "
        f"{_fmt_time(fp['chain_rhs_s'])} (ratio {fp['rhs_field_over_chain']:.1f}); implicit pair step "
        f"{_fmt_time(fp['field_relax_s'])} against {_fmt_time(fp['chain_relax_s'])} "
        f"(ratio {fp['relax_field_over_chain']:.1f})"
    )
    ff = result["field_full_rhs"]
    lines.append(
        f"full collision rhs in a field (pairs (J, M) + free spins + e-e, {ff['n_populations']} populations per "
        f"position) at n_x = {ff['n_x']}, n_energy = {ff['n_energy']}: median {_fmt_time(ff['median_s'])} against "
        f"{_fmt_time(ff['zero_field_median_s'])} at zero field (ratio {ff['over_zero_field']:.2f}); with dP/dt "
        f"written into an array kept from call to call {_fmt_time(ff['kept_outputs_median_s'])} against "
        f"{_fmt_time(ff['zero_field_kept_outputs_median_s'])} (ratio {ff['over_zero_field_kept_outputs']:.2f})"
    )
    comp = result["compile"]
    text = f"compile time: {comp['compile_s']:.2f} s ({comp['source']})"
    if "cached_first_call_s" in comp:
        recompiled = "recompiled" if comp["second_process_recompiled"] else "loaded from the on-disk cache"
        text += f"; a second process {recompiled}, first-call overhead {comp['cached_first_call_s']:.2f} s"
    ip = comp["in_process"]
    text += f"; this process: {ip['cache_hits']} cache hits, {ip['cache_misses']} misses"
    lines.append(text)
    lines.append("")
    if all(t["passed"] is None for t in result["targets"]):
        lines.append("targets (not checked: they refer to the full sizes):")
    for t in result["targets"]:
        verdict = {True: "PASS", False: "MISS", None: "n/a"}[t["passed"]]
        value = "-" if t["value"] is None else f"{t['value']:.4g}"
        lines.append(f"{verdict:<5} {t['name']}: {value} (target {t['limit']})")
    return "\n".join(lines)
