"""Smoke test of the benchmark: the quick run completes and its JSON has the promised schema.

No timing is asserted here: speed targets are checked by the benchmark itself, as ratios in one run.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from hotelectron.bench import collisions as bench
from hotelectron.commands.main import main


@pytest.fixture(scope="module")
def quick_result():
    return bench.run(bench.BenchConfig.quick_config())


def _positive(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_quick_benchmark_covers_every_mechanism_path_and_size(quick_result):
    config = bench.BenchConfig.quick_config()
    cases = quick_result["cases"]
    seen = {(c["mechanism"], c["path"], c["n_energy"]) for c in cases}
    assert seen == {(m, p, n) for m in ("pairs", "ee") for p in ("direct", "fft") for n in config.sizes}
    for case in cases:
        assert isinstance(case["n_x"], int) and case["n_x"] == config.n_x
        assert isinstance(case["n_energy"], int)
        assert _positive(case["median_s"]) and case["min_s"] <= case["median_s"]
        assert case["repeats"] >= config.min_repeats
        assert case["points_per_s"] == pytest.approx(case["n_x"] * case["n_energy"] / case["median_s"])
    assert len(quick_result["exponents"]) == 4
    assert all(math.isfinite(e["exponent"]) for e in quick_result["exponents"])
    assert all(t["passed"] is None for t in quick_result["targets"])  # quick sizes check no target


@pytest.mark.parametrize("case", ["missing folder", "directory", "not json", "unwritable"])
def test_a_bad_json_path_is_refused_before_any_timing(tmp_path, monkeypatch, case):
    from systems import assert_one_line_refusal, cli

    def no_work(*args, **kwargs):
        raise AssertionError("the benchmark ran before its --json path was checked")

    for module in ("collisions", "fit", "sweep", "wire"):
        for name in ("run", "run_fit_bench", "run_sweep_bench", "run_wire"):
            monkeypatch.setattr(f"hotelectron.bench.{module}.{name}", no_work, raising=False)
    notes = tmp_path / "notes.txt"
    notes.write_text("the user's notes")
    path = {"missing folder": tmp_path / "no" / "such" / "bench.json", "directory": tmp_path,
            "not json": notes, "unwritable": Path("/proc/self/bench.json")}[case]
    for kind in ([], ["--fit"], ["--wire"]):
        assert_one_line_refusal(cli("bench", "--quick", *kind, "--json", path), path)
    assert not (tmp_path / "no").exists() and notes.read_text() == "the user's notes"


@pytest.mark.parametrize("case", ["missing", "folder", "sweep file", "bad key", "not UTF-8"])
def test_a_bad_scenario_is_refused_before_any_timing(tmp_path, monkeypatch, case):
    """--wire --scenario was read only after the wire's own timings (minutes without --quick), then
    refused as '[Errno 2] No such file or directory: ...' (a sweep file: as unknown sections)."""
    from systems import assert_one_line_refusal, cli

    def no_work(*args, **kwargs):
        raise AssertionError("the benchmark ran before its --scenario was checked")

    monkeypatch.setattr("hotelectron.bench.wire._compile", no_work)  # the first timing of run_wire
    path = tmp_path / "s.toml"
    words = {"missing": "not found", "folder": "is a folder", "sweep file": "this is a sweep file",
             "bad key": "[grid] n_xx: unknown key", "not UTF-8": "not UTF-8"}[case]
    if case == "folder":
        path.mkdir()
    elif case == "sweep file":
        path.write_text('base = "x.toml"\n[axes]\n"reservoirs.bias" = ["0.1 mV"]\n')
    elif case == "bad key":
        shipped = (Path(__file__).parents[2] / "scenarios" / "collisionless.toml").read_text(encoding="utf-8")
        path.write_text(shipped.replace("n_x = 17", "n_xx = 17"))
    elif case == "not UTF-8":
        path.write_bytes(b"[wire]\nmaterial = '\xff'\n")
    assert_one_line_refusal(cli("bench", "--wire", "--quick", "--scenario", path), path, words)


def test_json_schema_via_the_command_line(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["-q", "bench", "--quick", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "direct/fft" in out and "full collision rhs" in out and "compile time" in out
    data = json.loads(path.read_text())
    for case in data["cases"]:
        assert case["mechanism"] in ("pairs", "ee") and case["path"] in ("direct", "fft")
        assert isinstance(case["n_x"], int) and isinstance(case["n_energy"], int)
        assert _positive(case["median_s"])
    rhs = data["full_rhs"]
    assert isinstance(rhs["n_x"], int) and isinstance(rhs["n_energy"], int) and _positive(rhs["median_s"])
    assert isinstance(data["compile_s"], float)
    in_process = data["compile"]["in_process"]
    assert isinstance(in_process["cache_hits"], int) and isinstance(in_process["cache_misses"], int)
    assert _positive(in_process["first_call_s"]) and _positive(in_process["warm_call_s"])


def test_scaling_exponent_fit_recovers_a_power_law():
    sizes = [256, 512, 1024, 2048]
    assert bench.fit_exponent(sizes, [3e-9 * n**1.5 for n in sizes]) == pytest.approx(1.5, abs=1e-12)


def test_targets_pass_and_miss_on_given_figures():
    result = {
        "exponents": [{"mechanism": "pairs", "path": "fft", "exponent": 1.1}, {"mechanism": "ee", "path": "fft", "exponent": 1.3}],
        "ratios": [{"mechanism": "pairs", "n_energy": 4096, "direct_over_fft": 31.0}, {"mechanism": "ee", "n_energy": 4096, "direct_over_fft": 29.0}],
        "full_rhs": {"n_x": 128, "n_energy": 2048, "median_s": 0.039, "over_fft_floor": 1.9},
    }
    verdicts = [t["passed"] for t in bench.check_targets(result)]
    assert verdicts == [True, False, True, False, True, False]


def test_quick_wire_benchmark_reaches_the_steady_state():
    from hotelectron.bench import wire as bench_wire

    result = bench_wire.run_wire(quick=True, scenario=Path(__file__).parents[2] / "scenarios" / "collisionless.toml")
    for name in ("default", "previous"):
        evolution = result["evolution"][name]
        assert evolution["reached"] and evolution["distance"] <= 1e-6
    assert result["evolution"]["default"]["krylov_iterations"] > 0 == result["evolution"]["previous"]["krylov_iterations"]
    assert result["steady"]["iterations"] >= 1 and result["steady"]["residual"] <= 1e-10
    (point,) = result["scenario"]["points"]
    assert point["evolution"]["reached"] and result["scenario"]["ratio"] > 0
    report = bench_wire.format_wire_report(result)
    assert "speed-up over the previous integrator" in report and "evolution / steady" in report
    assert "PASS" not in report  # quick runs judge no target


def test_quick_sweep_benchmark_runs_both_ways_with_identical_results(capsys):
    from hotelectron.commands.main import main

    assert main(["--quiet", "bench", "--sweep", "--quick"]) == 0
    report = capsys.readouterr().out
    assert "speed ratio serial / parallel" in report
    assert "failed points 0; identical results: True" in report


def test_compiled_distance_is_the_largest_difference_and_sees_nan(rng):
    """Also over several chunks of the pass (1024 values), a NaN in the last, partial one, beside an
    infinity, and an infinity alone."""
    from hotelectron.bench.wire import _max_difference

    a, b = rng.standard_normal((2, 3, 4, 5))
    assert _max_difference(a, b) == np.max(np.abs(a - b))
    b[1, 2, 3] = np.nan
    assert np.isnan(_max_difference(a, b))
    a, b = rng.standard_normal((2, 3, 1000))
    assert _max_difference(a, b) == np.max(np.abs(a - b))
    assert _max_difference(a, a) == 0.0
    b[2, 999] = np.nan
    b[0, 5] = np.inf
    assert np.isnan(_max_difference(a, b))
    b[2, 999] = 0.0
    assert _max_difference(a, b) == np.inf
