"""Resource estimate of a run: the memory its solver allocates and the size of its output file,
computed from the grids alone (nothing is allocated), and the check that refuses a run before it
starts when either exceeds what the machine has or what ``[run] max_memory`` / ``max_output`` allow.

Memory (bytes of float64 and complex128 arrays; N positions = n_x - 2 interior nodes, 1 in a box):

- state: the solution and the copies the stepper keeps of it (the state, the step's start, its
  result and the frozen copy of the Jacobian's state): 4 vectors of f (N x n_energy) and P
  (N x n_V x n_levels: 2S + 1 multiplets at zero field, (2S + 1)^2 states |J M> in a field; with free
  spins in a field also their 2S + 1 levels per position: ``population_shape``); a steady state holds P
  only in its linearisations (stationary pairs for f);
- kernels: two linearisations alive at once (the step's frozen one and the stage being evaluated;
  in the steady state the iterate's and the trial's, kept after the solve for the next one of the same
  size), each holding G and the compact kernel K (2 n_energy wide), the rate D, and the spectra of f
  and K (``fft_length`` of ``convolution``), plus the larger of the temporaries of one Jacobian
  product (four spectra, two inverse transforms, dG, dK, three arrays of f and one of P) and, after a
  steady solve, those of its diagnostics (the population rates, species by species, and the scratch
  rows of their compiled pass on every thread: about three arrays of P on the tests' wires);
- work: the Krylov basis of GMRES (2 m + 1 vectors for m = ``krylov_maxiter``: 30 per time step,
  60 per Newton step of the steady state, whose vectors hold f alone), the Rosenbrock stages and a
  few vectors of stage arithmetic.

Measured against ``tracemalloc`` the peak lies within 0.8-1.2 of this estimate (tests). Output: per
frame f on all n_x nodes (1 in a box), the time axis and the observables; per ``pairs_every`` frames
P; plus the grids, the scenario text and the chunks of 1024 numbers of the time axis and the
observables. It is an upper bound: the data are counted uncompressed and the HDF5 metadata generously
(``FILE_OVERHEAD``). How much gzip gains depends on the data: the files of the README's runs are
0.40-0.85 of the estimate (the default scenario's points 0.58-0.70, the field sweep's 0.53-0.66, small
steady states 0.81-0.85, the collisionless wire, whose f is exactly 0 or 1 in its tails, 0.40).
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..kinetics.convolution import fft_length
from ..wire.evolution import SCHEMES, Evolution
from ..wire.steady import steady_state
from .populations import species
from .quantities import observable_names

__all__ = ["Estimate", "ResourceError", "available_memory", "check_resources", "estimate", "format_bytes",
           "free_disk", "frame_count", "parse_bytes"]

log = logging.getLogger(__name__)

#: h5py's chunk of a growing 1-D dataset (time, dt, wall_time, frame_crc32, each observable, P_frame): 1024
#: numbers, allocated whole.
SERIES_CHUNK = 1024
#: HDF5 metadata, attributes and chunk indices: 66-114 KiB in the files of the shipped scenarios (file
#: size minus the datasets' storage), rounded up so that the estimate bounds the file.
FILE_OVERHEAD = 128 * 1024
_UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30,
          "TiB": 2**40}
_SIZE = re.compile(r"^\s*((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]+)\s*$")
GRID_KEYS = "[grid] n_x or [grid] n_energy"
OUTPUT_KEYS = "raise [run] output_every or [run] pairs_every, or shorten [run] end_time"


class ResourceError(ValueError):
    """A run's estimated memory or output exceeds what is available or allowed (a one-line message)."""


def _default(function, name):
    return inspect.signature(function).parameters[name].default


def parse_bytes(value, name) -> float:
    """A size ``"8 GiB"`` (units B, kB, MB, GB, TB, KiB, MiB, GiB, TiB) in bytes, > 0."""
    allowed = 'a size with its unit, e.g. "8 GiB" or "500 MB" (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)'
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match is None or match.group(2) not in _UNITS:
        msg = f"{name} = {value!r}: not a size; expected {allowed}"
        raise ValueError(msg)
    result = float(match.group(1)) * _UNITS[match.group(2)]
    if not (math.isfinite(result) and result > 0):
        msg = f"{name} = {value!r}: the size must be positive and finite; expected {allowed}"
        raise ValueError(msg)
    return result


def format_bytes(size: float) -> str:
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        if size >= _UNITS[unit]:
            return f"{size / _UNITS[unit]:.3g} {unit}"
    return f"{size:.0f} B"


def frame_count(end_time: float, every: float) -> int:
    """Frames of an evolution: the initial one and those of ``storage.frame_times(end_time, every)``."""
    count = max(1, int(math.floor(end_time / every + 1e-9)))
    return 1 + count + (end_time - every * count > 1e-12 * end_time)


@dataclass(frozen=True)
class Estimate:
    """Bytes of a run: memory by part, output frames and their sizes."""

    state: float
    kernels: float
    work: float
    frames: int
    frame_bytes: float
    pair_frames: int
    pair_frame_bytes: float
    fixed_bytes: float

    @property
    def memory(self) -> float:
        return self.state + self.kernels + self.work

    @property
    def output(self) -> float:
        return self.frames * self.frame_bytes + self.pair_frames * self.pair_frame_bytes + self.fixed_bytes

    def describe(self) -> str:
        """``memory ~ X (state a, kernels b, work c); output <= Y (N frames x Z uncompressed)``: the output
        is an upper bound (module docstring)."""
        per_frame = self.output / self.frames
        return (f"memory ~ {format_bytes(self.memory)} (state {format_bytes(self.state)}, kernels "
                f"{format_bytes(self.kernels)}, work {format_bytes(self.work)}); output <= {format_bytes(self.output)} "
                f"({self.frames} frame{'s' if self.frames != 1 else ''} x {format_bytes(per_frame)} uncompressed)")


def estimate(scenario) -> Estimate:
    """The resource estimate of a ``hotelectron.io.scenario.Scenario`` (module docstring)."""
    problem = scenario.problem
    box, steady = scenario.mode == "box", scenario.mode == "steady"
    N = 1 if box else problem.wire.n - 2
    n = problem.energy.n
    pairs = problem.pairs
    f = 8.0 * N * n
    P = 8.0 * N * math.prod(pairs.population_shape) if pairs is not None else 0.0
    spectrum = 16.0 * N * (fft_length(n) // 2 + 1)
    inverse = 8.0 * N * fft_length(n)
    kernel = 8.0 * N * (2 * n + 1)
    linearisation = 2 * kernel + f + 2 * spectrum + (P if steady else 0.0)  # G, K, D, FF, FK
    product = 4 * spectrum + 2 * inverse + 2 * kernel + 3 * f + P
    if steady and pairs is not None:  # the diagnostics beside the solver's kept linearisations
        product = max(product, 3 * P)
    vector = f if steady else f + P
    if steady:
        basis = 2 * _default(steady_state, "krylov_maxiter") + 1
        stages = 0
    else:
        basis = 2 * _default(Evolution, "krylov_maxiter") + 1
        stages = SCHEMES[_default(Evolution, "scheme")].stages
    state = 4 * vector  # steady: the pairs of the solution are those of its linearisation, not a copy
    kernels = 2 * linearisation + product
    work = (basis + stages + 3) * vector
    n_nodes = 1 if box else problem.wire.n
    frames = 1 if steady else frame_count(scenario.end_time, scenario.output_every)
    pair_frames = 0 if pairs is None else -(-frames // scenario.pairs_every)
    observed = len(observable_names(scenario.mode, problem))
    series = 4 + observed + (pairs is not None)  # time, dt, wall_time, frame_crc32, the observables, P_frame
    frame_bytes = 8.0 * n_nodes * n
    pair_frame_bytes = P
    couplings = sum(part.couplings.size for part in species(pairs) if hasattr(part, "couplings")) if pairs else 0
    grids = 8.0 * (n_nodes + n + couplings)
    chunks = 8.0 * SERIES_CHUNK * series * -(-frames // SERIES_CHUNK)
    fixed = grids + chunks + len(scenario.text.encode()) + FILE_OVERHEAD
    return Estimate(state, kernels, work, frames, frame_bytes, pair_frames, pair_frame_bytes, fixed)


def available_memory() -> float | None:
    """Bytes of memory available to new allocations: MemAvailable of /proc/meminfo (Linux), else the
    free physical pages (other Unix systems), else None (unknown: not checked)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def free_disk(path) -> float | None:
    """Free bytes on the file system that holds ``path`` (or its nearest existing folder)."""
    folder = Path(path).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return float(shutil.disk_usage(folder).free)
    except OSError:
        return None


def check_resources(scenario, output=None, *, memory_factor: int = 1, total_output: float | None = None,
                    existing: float = 0.0) -> Estimate:
    """Refuse (``ResourceError``) a run whose estimate exceeds ``[run] max_memory`` or
    ``max_output``, the available memory, or the free disk at ``output``; returns the estimate.

    ``memory_factor`` runs of this size at once (the workers of a sweep); ``total_output`` the bytes of
    all points of a series or sweep (default: this run's); ``existing`` bytes already on the disk that
    the run replaces or continues.
    """
    est = estimate(scenario)
    memory = est.memory * memory_factor
    what = f"memory estimate {format_bytes(memory)} ({est.describe().split('(', 1)[1].split(')')[0]}"
    what += f", {memory_factor} runs at once)" if memory_factor > 1 else ")"
    limit = getattr(scenario, "max_memory_bytes", None)
    if limit is not None and est.memory > limit:
        msg = f"{what} exceeds [run] max_memory = {format_bytes(limit)}; reduce {GRID_KEYS}, or raise [run] max_memory"
        raise ResourceError(msg)
    available = available_memory()
    if available is not None and memory > available:
        msg = f"{what} exceeds the available memory {format_bytes(available)}; reduce {GRID_KEYS}"
        raise ResourceError(msg)
    out = est.output if total_output is None else total_output
    written = (f"output estimate {format_bytes(out)} ({est.frames} frames x {format_bytes(est.output / est.frames)}, "
               "uncompressed: an upper bound)")
    limit = getattr(scenario, "max_output_bytes", None)
    if limit is not None and out > limit:
        msg = f"{written} exceeds [run] max_output = {format_bytes(limit)}; reduce {GRID_KEYS}, {OUTPUT_KEYS}, or raise [run] max_output"
        raise ResourceError(msg)
    if output is not None:
        free = free_disk(output)
        if free is not None and out - existing > free:
            msg = f"{written} exceeds the free disk space {format_bytes(free)} at {output}; reduce {GRID_KEYS}, {OUTPUT_KEYS}"
            raise ResourceError(msg)
    log.debug("%s", est.describe())
    return est
