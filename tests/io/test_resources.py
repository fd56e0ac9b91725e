"""The resource estimate against reality: the peak of the solver's allocations (tracemalloc) and the
size of the file a real run writes; the bounds and limits of [run]."""

import math
import tracemalloc

import pytest

from systems import SMALL_SCENARIO

from hotelectron.io.resources import ResourceError, check_resources, estimate, frame_count, parse_bytes
from hotelectron.io.runner import run_scenario
from hotelectron.io.scenario import parse_scenario
from hotelectron.io.storage import frame_times
from hotelectron.wire.steady import release_workspaces

# measured peak / estimate; the estimate counts the solver's arrays from its code, the measurement
# also sees what the count leaves out (small temporaries) and misses numba's own allocations
MEMORY_FACTOR = (0.8, 1.25)
# file size / estimate: the estimate is uncompressed; gzip gains little on a driven wire
OUTPUT_FACTOR = (0.7, 1.05)


def wire(mode="evolve", n_x=9, n_energy=161, spin=0.5, end="0.02 tau_D", every="0.01 tau_D", extra=""):
    """The shared small scenario with other grids, spin, mode and run keys."""
    text = SMALL_SCENARIO.format(temperature=0.025, end_time=end).replace("pairs_every = 3\n", "")
    text = text.replace("n_x = 9", f"n_x = {n_x}").replace("n_energy = 161", f"n_energy = {n_energy}")
    text = text.replace("spin = 0.5", f"spin = {spin}").replace('"0.01 tau_D"', f'"{every}"')
    if mode == "steady":
        text = text.split("[run]")[0] + '[run]\nmode = "steady"\n'
    return text.replace('mode = "evolve"', f'mode = "{mode}"') + extra + "\n"


def peak_bytes(text, path):
    """The peak of traced allocations of a run, after a run of the same scenario compiled everything.

    Same scenario, not a smaller one: a large grid takes the threaded twins of the kernels, whose
    compilation inside the traced run would count numba's own allocations as the solver's. The warm
    run's kept steady-solve arrays are let go, so that the traced run allocates them as a fresh
    process does."""
    scenario = parse_scenario(text)
    run_scenario(scenario, path.with_suffix(".warm.h5"))
    release_workspaces()
    tracemalloc.start()
    try:
        run_scenario(scenario, path)
        return tracemalloc.get_traced_memory()[1], scenario
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("mode", "n_x", "n_energy", "spin", "zeeman"),
                         [("steady", 17, 401, 0.5, 0), ("evolve", 17, 401, 0.5, 0), ("steady", 17, 801, 2.5, 0),
                          ("evolve", 9, 801, 2.5, 0), ("steady", 9, 401, 2.5, 0.4), ("evolve", 9, 401, 0.5, 0.4)])
def test_memory_estimate_matches_the_measured_peak(tmp_path, mode, n_x, n_energy, spin, zeeman):
    """Zero field, and pairs (S = 5/2: 36 states |J M> per coupling instead of 6 multiplets) with free
    spins in a field."""
    field = f"zeeman = {zeeman}\nspin_glass_temperature = 0.002\n" if zeeman else ""  # pairs and free spins
    text = wire(mode, n_x, n_energy, spin).replace("exponent = 1.5\n", "exponent = 1.5\n" + field)
    peak, scenario = peak_bytes(text, tmp_path / "run.h5")
    ratio = peak / estimate(scenario).memory
    print(f'memory {mode} {n_x}x{n_energy} S={spin} zeeman={zeeman}: measured {peak} B, ratio {ratio:.3f}')
    assert MEMORY_FACTOR[0] <= ratio <= MEMORY_FACTOR[1], (mode, n_x, n_energy, spin, zeeman, ratio)


@pytest.mark.parametrize(("mode", "pairs_every"), [("evolve", 1), ("evolve", 4), ("steady", 1)])
def test_output_estimate_matches_the_file_size(tmp_path, mode, pairs_every):
    extra = "" if mode == "steady" else f"pairs_every = {pairs_every}"
    text = wire(mode, 17, 401, end="0.4 tau_D", every="0.02 tau_D", extra=extra)
    scenario = parse_scenario(text)
    path = run_scenario(scenario, tmp_path / "run.h5")
    est = estimate(scenario)
    ratio = path.stat().st_size / est.output
    print(f'output {mode} pairs_every={pairs_every}: file {path.stat().st_size} B, estimate {est.output:.0f} B, ratio {ratio:.3f}')
    assert OUTPUT_FACTOR[0] <= ratio <= OUTPUT_FACTOR[1], (mode, pairs_every, ratio, path.stat().st_size, est.output)
    assert est.frames == (1 if mode == "steady" else 21)


@pytest.mark.parametrize(("end", "every"), [(2.0, 0.1), (1.0, 0.3), (0.3, 0.1), (1e6, 10.0), (0.7, 0.7)])
def test_frame_count_is_that_of_the_runner(end, every):
    assert frame_count(end, every) == 1 + len(frame_times(end, every))


def test_sizes_are_read_strictly():
    assert parse_bytes("8 GiB", "[run] max_memory") == 8 * 2**30
    assert parse_bytes("2.5e3 kB", "[run] max_memory") == 2.5e6
    for bad in ("8", "8 G", "8 KB", "-1 GiB", "inf GiB", "1 GiB * 2", 8):
        with pytest.raises(ValueError, match=r"\[run\] max_output"):
            parse_bytes(bad, "[run] max_output")


def test_frames_and_end_time_are_bounded_at_loading():
    with pytest.raises(ValueError, match=r"\[run\] output_every.*1e\+06 frames.*at most 100000"):
        parse_scenario(wire(end="1 tau_D", every="1e-6 tau_D"))
    with pytest.raises(ValueError, match=r"\[run\] end_time.*1e\+30 tau_D.*at most 1e\+06"):
        parse_scenario(wire(end="1e30 tau_D", every="1e26 tau_D"))
    with pytest.raises(ValueError, match=r"\[run\] max_memory"):
        parse_scenario(wire(extra='max_memory = "lots"'))


def test_explicit_limits_refuse_a_run_above_them_and_accept_one_below(tmp_path):
    small = estimate(parse_scenario(wire()))
    below = f'max_memory = "{math.ceil(small.memory / 2**20) + 1} MiB"\nmax_output = "{math.ceil(small.output / 2**10) + 1} KiB"'
    assert run_scenario(parse_scenario(wire(extra=below)), tmp_path / "ok.h5").exists()
    for key, value in (("max_memory", small.memory / 2), ("max_output", small.output / 2)):
        scenario = parse_scenario(wire(extra=f'{key} = "{value:.0f} B"'))
        with pytest.raises(ResourceError, match=rf"exceeds \[run\] {key}.*\[grid\] n_x.*\[run\] {key}"):
            run_scenario(scenario, tmp_path / f"{key}.h5")
        assert not (tmp_path / f"{key}.h5").exists()


def test_a_run_beyond_the_machine_is_refused_before_any_file(tmp_path):
    scenario = parse_scenario(wire(n_x=10001, n_energy=1048577))
    assert estimate(scenario).memory > 1e12  # a single f is 78 GiB
    with pytest.raises(ResourceError, match=r"memory estimate .* exceeds the available memory.*\[grid\] n_x"):
        check_resources(scenario, tmp_path / "huge.h5")
    with pytest.raises(ResourceError):
        run_scenario(scenario, tmp_path / "huge.h5")
    assert list(tmp_path.iterdir()) == []
