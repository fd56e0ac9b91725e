"""Sweep benchmark: the same 8 points run one after another in this process and through a Dask
LocalCluster of 2 worker processes, in one run; the figure is the ratio of the two wall times.

The points: a Cu wire (1.5 um, electron-electron a = 3/2) evolved from the bias switch-on over
2 tau_D, at 4 biases times 2 temperatures. Both sides are warmed first (numba's cache loaded in this
process and in every worker), so the ratio measures the sweep, not start-up. Target on the 2-core
machine: ratio >= 1.7.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from ..sweep import local_client, parse_sweep, run_point, run_sweep

__all__ = ["TARGET_RATIO", "format_sweep_report", "run_sweep_bench"]

TARGET_RATIO = 1.7

BASE = """
[wire]
material = "Cu"
length = "1.5 um"
diffusion_constant = "0.0145 m^2/s"

[reservoirs]
temperature = "25 mK"
bias = "0.2 mV"

[electron_electron]
exponent = 1.5
kappa_dimensionless = 0.5

[grid]
n_x = {n_x}
n_energy = {n_energy}
half_width = 2.0

[run]
mode = "evolve"
end_time = "{end_time} tau_D"
output_every = "0.25 tau_D"
"""

SWEEP = """
base = "base.toml"

[axes]
"reservoirs.bias" = ["0.1 mV", "0.15 mV", "0.2 mV", "0.25 mV"]
"reservoirs.temperature" = ["25 mK", "40 mK"]
"""


def _warm(text: str, folder: str) -> None:
    """Run one point in this process (loads numba's cache), into a file of its own."""
    run_point(text, str(Path(folder) / f"warm-{os.getpid()}.h5"), {}, 0)


def run_sweep_bench(quick: bool = False, workers: int = 2, progress=None) -> dict:
    """Time the 8 points serially and on a LocalCluster; returns the figures as a dict."""
    say = progress or (lambda *a: None)
    n_x, n_energy, end_time = (9, 241, 0.5) if quick else (17, 801, 2.0)
    with tempfile.TemporaryDirectory(prefix="hotelectron-bench-") as folder:
        folder = Path(folder)
        (folder / "base.toml").write_text(BASE.format(n_x=n_x, n_energy=n_energy, end_time=end_time))
        sweep = parse_sweep(SWEEP, path=folder / "sweep.toml")
        warm = sweep.points()[0]
        _warm(warm.text, str(folder))
        start = time.perf_counter()
        serial = run_sweep(sweep, folder / "serial")
        serial_s = time.perf_counter() - start
        say(f"serial: {serial_s:.1f} s")
        start = time.perf_counter()
        client = local_client(workers)
        try:
            client.run(_warm, warm.text, str(folder))  # in every worker
            startup_s = time.perf_counter() - start
            start = time.perf_counter()
            parallel = run_sweep(sweep, folder / "dask", client=client)
            parallel_s = time.perf_counter() - start
        finally:
            client.close()
            client.cluster.close()
        say(f"dask ({workers} workers): {parallel_s:.1f} s")
        failed = len(serial.failed) + len(parallel.failed)
        same = all(a["fano"] == b["fano"] for a, b in zip(serial.rows, parallel.rows, strict=True)) if not failed else False
    return {"points": len(serial.rows), "workers": workers, "n_x": n_x, "n_energy": n_energy, "end_time_tau_D": end_time,
            "serial_s": serial_s, "parallel_s": parallel_s, "cluster_startup_s": startup_s,
            "ratio": serial_s / parallel_s, "failed_points": failed, "same_results": same, "quick": quick,
            "load_average": os.getloadavg(),
            "point_wall_s": {"serial": _mean_wall(serial.rows), "parallel": _mean_wall(parallel.rows)}}


def _mean_wall(rows) -> float:
    return sum(row["wall_s"] for row in rows) / len(rows)


def format_sweep_report(result: dict) -> str:
    lines = [
        f"sweep of {result['points']} points (Cu wire, n_x = {result['n_x']}, n_energy = {result['n_energy']}, "
        f"{result['end_time_tau_D']:g} tau_D each)",
        f"one after another in one process: {result['serial_s']:.1f} s",
        f"Dask LocalCluster, {result['workers']} worker processes: {result['parallel_s']:.1f} s "
        f"(cluster start and warm-up {result['cluster_startup_s']:.1f} s, not included)",
        f"mean wall time of a point: {result['point_wall_s']['serial']:.2f} s serial, "
        f"{result['point_wall_s']['parallel']:.2f} s in a worker",
        f"speed ratio serial / parallel: {result['ratio']:.2f}; failed points {result['failed_points']}; "
        f"identical results: {result['same_results']}",
    ]
    if not result["quick"]:
        verdict = "PASS" if result["ratio"] >= TARGET_RATIO and result["same_results"] else "MISS"
        lines.append(f"{verdict} speed ratio {result['ratio']:.2f} (>= {TARGET_RATIO:g})")
    return "\n".join(lines)
