"""Command line: ``hotelectron <command> ...``.

Each command is a function ``cmd_<name>(args) -> int`` registered in ``_build_parser``; the library
itself configures no logging, the command line does.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from pathlib import Path

from .. import __version__
from .transport import add_parser as add_transport_parser

log = logging.getLogger("hotelectron")


def cmd_info(args) -> int:
    """Print the versions and the numba threading set-up."""
    import h5py
    import numba
    import numpy
    import scipy

    from ..kinetics._numba import initialise_threading

    threads = initialise_threading()
    rows = [
        ("hotelectron", __version__),
        ("python", platform.python_version()),
        ("numpy", numpy.__version__),
        ("scipy", scipy.__version__),
        ("numba", numba.__version__),
        ("h5py", h5py.__version__),
        ("numba threading layer", threads["threading_layer"]),
        ("numba threads", str(threads["num_threads"])),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


def cmd_bench(args) -> int:
    """Benchmark the collision engine: both paths of each mechanism, the full rhs, compile time.

    Prints the table and PASS/MISS against the targets; the exit status does not depend on them
    (timings belong to the machine, not to the code).
    """
    from ..bench import collisions as bench

    if args.sweep or args.wire:
        if args.sweep:
            from ..bench.sweep import format_sweep_report as report, run_sweep_bench as run

            _quiet_dask()
        else:
            from ..bench.wire import format_wire_report as report, run_wire as run
        result = run(quick=args.quick, progress=log.info)
        print(report(result))
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            bench.write_json(result, args.json)
        return 0
    if args.json:  # before minutes of timing, not after
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    config = bench.BenchConfig.quick_config() if args.quick else bench.BenchConfig()
    result = bench.run(config, progress=log.info)
    print(bench.format_report(result))
    if args.json:
        bench.write_json(result, args.json)
        log.info("wrote %s", args.json)
    return 0


class _Progress:
    """A progress bar with ETA in a terminal; plain log lines every few seconds otherwise."""

    def __init__(self, t_end: float, quiet: bool):
        self.t_end, self.quiet = t_end, quiet
        self.start = self.last = time.perf_counter()
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=t_end, unit="tau_D", bar_format="{l_bar}{bar}| {n:.3g}/{total:.3g} tau_D [{elapsed}<{remaining}]")

    def __call__(self, t: float, t_end: float) -> None:
        if self.bar is not None:
            self.bar.update(t - self.bar.n)
            return
        now = time.perf_counter()
        if self.quiet or (now - self.last < 5.0 and t < t_end):
            return
        self.last = now
        elapsed = now - self.start
        remaining = elapsed * (t_end - t) / t if t > 0 else float("nan")
        log.info("t = %.4g / %.4g tau_D (%.0f%%), elapsed %.1f s, remaining about %.0f s",
                 t, t_end, 100 * t / t_end, elapsed, remaining)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _load(path):
    from ..io.scenario import load_scenario

    return load_scenario(path)  # logs its own warnings


def _default_output(scenario_path, output) -> Path:
    return Path(output) if output else Path(Path(scenario_path).stem + ".h5")


class _PointProgress:
    """Points finished and failed of a sweep: a bar in a terminal, a log line per point otherwise."""

    def __init__(self, total: int, quiet: bool):
        self.quiet, self.bar = quiet, None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="point")

    def __call__(self, finished: int, failed: int, total: int) -> None:
        if self.bar is not None:
            self.bar.set_postfix(finished=finished, failed=failed)
            self.bar.update(finished + failed - self.bar.n)
        elif not self.quiet:
            log.info("%d of %d points done (%d finished, %d failed)", finished + failed, total, finished, failed)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _quiet_dask() -> None:
    """Dask's scheduler and workers log their start and stop at INFO; only their problems matter.
    (Set after distributed is imported: importing it sets its own level.)"""
    import distributed  # noqa: F401

    logging.getLogger("distributed").setLevel(logging.WARNING)


def _run_points(sweep, output, args, client=None) -> int:
    """Run a sweep's points into the folder ``output``; 0 when all finished, 4 when some failed."""
    from ..sweep import run_sweep

    progress = _PointProgress(len(sweep), args.quiet)
    try:
        result = run_sweep(sweep, output, client=client, resume=getattr(args, "resume", False), progress=progress)
    finally:
        progress.close()
    log.info("wrote %s (%d points, %d failed)", result.summary, len(result.rows), len(result.failed))
    if args.plot:
        from ..io.plots import plot_summary

        try:
            log.info("wrote %s", plot_summary(result.summary, args.plot))
        except ValueError as exc:  # e.g. no finished point: the exit status tells of the failures
            log.error("no figure: %s", exc)
    return 4 if result.failed else 0


EVOLVE_ONLY = ("end_time", "output_every", "pairs_every", "initial", "bump")


def _series(path):
    """The bias series of a scenario file whose bias is a list, else None."""
    from ..sweep import bias_series

    path = Path(path)
    return bias_series(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else None


def _run_series(args, series, mode) -> int:
    """A scenario with a list of biases: one point file per bias in the folder OUT (default: the
    scenario's name), run one after another in this process."""
    if mode is not None:  # as `steady` does for one scenario: the time-evolution keys do not apply
        run = series.base.setdefault("run", {})
        run["mode"] = mode
        for key in EVOLVE_ONLY:
            run.pop(key, None)
    output = Path(args.output) if args.output else Path(Path(args.scenario).stem)
    if output.suffix == ".h5":
        msg = f"-o {output}: a list of biases writes a folder of point files; give a folder name"
        raise ValueError(msg)
    return _run_points(series, output, args)


def cmd_run(args, mode=None) -> int:
    """Run a scenario into an HDF5 trajectory (and optionally plot it)."""
    import dataclasses

    from ..io.runner import run_scenario

    series = _series(args.scenario)
    if series is not None:
        return _run_series(args, series, mode)
    scenario = _load(args.scenario)
    if mode is not None:
        scenario = dataclasses.replace(scenario, mode=mode)
    output = _default_output(args.scenario, args.output)
    progress = _Progress(scenario.end_time, args.quiet)
    try:
        run_scenario(scenario, output, resume=getattr(args, "resume", False), progress=progress)
    finally:
        progress.close()
    log.info("wrote %s", output)
    if args.plot:
        from ..io.plots import plot_trajectory

        log.info("wrote %s", plot_trajectory(output, args.plot))
    return 0


def cmd_steady(args) -> int:
    """The steady state of a scenario's wire, written with the trajectory layout (one frame)."""
    return cmd_run(args, mode="steady")


def cmd_show(args) -> int:
    """Print a scenario's derived quantities."""
    from ..io.scenario import parse_scenario

    series = _series(args.scenario)
    if series is None:
        scenarios = [(args.scenario, _load(args.scenario))]
    else:  # one block per bias
        scenarios = [(f"{args.scenario} ({point.name}: bias {point.params['reservoirs.bias']})",
                      parse_scenario(point.text, path=args.scenario)) for point in series.points()]
    for title, scenario in scenarios:
        print(f"# {title}: mode {scenario.mode}, energy unit {scenario.energy_unit}")
        width = max(len(k) for k in scenario.derived)
        for key, value in scenario.derived.items():
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            print(f"{key:<{width}}  {shown}")
    return 0


def cmd_plot(args) -> int:
    """Draw the figure of a trajectory file, or of a sweep's summary table (``.csv``)."""
    from ..io.plots import plot_summary, plot_trajectory

    draw = plot_summary if Path(args.file).suffix == ".csv" else plot_trajectory
    print(draw(args.file, args.output))
    return 0


def cmd_sweep(args) -> int:
    """Run a sweep file's points on Dask: a LocalCluster here, or the cluster at --scheduler."""
    from ..sweep import load_sweep, local_client

    sweep = load_sweep(args.sweep)
    output = Path(args.output or sweep.output or Path(args.sweep).stem)
    _quiet_dask()
    if sum(map(bool, (args.serial, args.scheduler, args.workers is not None))) > 1:
        msg = "--serial, --scheduler and --workers exclude each other: choose one"
        raise ValueError(msg)
    if args.serial:
        return _run_points(sweep, output, args)
    if args.scheduler:
        from distributed import Client

        try:
            client = Client(args.scheduler, timeout="20s")
        except OSError as exc:
            msg = f"--scheduler {args.scheduler}: no Dask scheduler answered ({exc})"
            raise ValueError(msg) from None
    else:
        if args.workers is not None and args.workers < 1:
            msg = f"--workers must be at least 1; got {args.workers}"
            raise ValueError(msg)
        client = local_client(args.workers or os.cpu_count() or 1)
    log.info("dask scheduler %s with %d workers", client.scheduler.address, len(client.scheduler_info()["workers"]))
    try:
        return _run_points(sweep, output, args, client=client)
    finally:
        client.close()
        if not args.scheduler:
            client.cluster.close()


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotelectron",
        description="Hot-electron energy relaxation in diffusive wires with magnetic-impurity pairs.",
    )
    parser.add_argument("--version", action="version", version=f"hotelectron {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("info", help="versions of the package and its numerical libraries")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("run", help="run a scenario into an HDF5 trajectory")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("-o", "--output", metavar="OUT.h5",
                   help="output file (default: the scenario's name .h5); a folder for a list of biases")
    p.add_argument("--resume", action="store_true", help="continue a killed run from its last complete frame")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress, only warnings")
    p.add_argument("--plot", metavar="FIG.png", help="also draw the figure of the result")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("steady", help="steady state of a scenario's wire (Newton-Krylov), one frame in HDF5")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="only warnings")
    p.add_argument("-o", "--output", metavar="OUT.h5", help="output file (default: the scenario's name .h5)")
    p.add_argument("--plot", metavar="FIG.png", help="also draw the figure of the result")
    p.set_defaults(func=cmd_steady)

    p = sub.add_parser("show", help="print a scenario's derived quantities (T_sg, tau_s, tau_D, Gamma, grids)")
    p.add_argument("scenario", help="scenario TOML file")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("plot", help="draw the figure of a trajectory file or of a sweep's summary.csv")
    p.add_argument("file", help="HDF5 trajectory, or a sweep's summary.csv")
    p.add_argument("-o", "--output", metavar="FIG.png", help="figure path (default: next to the file)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("sweep", help="run a parameter sweep on Dask (one HDF5 file per point, summary.csv)")
    p.add_argument("sweep", help="sweep TOML file: base scenario plus [axes] and [[zip]]")
    p.add_argument("-o", "--output", metavar="FOLDER", help="folder of the point files (default: the sweep's output, else its name)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="connect to this Dask scheduler (e.g. tcp://host:8786) instead of a LocalCluster")
    p.add_argument("--workers", type=int, metavar="N", help="LocalCluster worker processes (default: the number of cores)")
    p.add_argument("--serial", action="store_true", help="no Dask: run the points one after another in this process")
    p.add_argument("--resume", action="store_true", help="skip finished points, continue the others")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress, only warnings")
    p.add_argument("--plot", metavar="FIG.png", help="also draw the summary figure")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("bench", help="time the collision engine (direct vs FFT, full rhs, compile time)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    p.add_argument("--quick", action="store_true", help="small sizes only (seconds; a smoke test, no targets)")
    p.add_argument("--wire", action="store_true", help="time the wire solver instead: steady state and evolution")
    p.add_argument("--sweep", action="store_true", help="time 8 sweep points on a 2-worker LocalCluster against serial")
    p.set_defaults(func=cmd_bench)

    add_transport_parser(sub)
    return parser


def main(argv=None) -> int:
    # OpenMP threads that spin while they wait lose whole scheduler ticks at every parallel region
    # when another process shares the cores; sleeping threads cost little on an idle machine.
    # Must be set before numba starts its threads; an explicit setting of the user wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except KeyboardInterrupt:
        log.error("interrupted; what was written is kept (a file being written is marked failed, or left "
                  "running when its worker was stopped) and --resume continues it")
        return 130
    except (RuntimeError, FloatingPointError) as exc:  # numerical trouble: the file says failed
        log.error("numerical failure: %s", exc)
        return 3
    except (ValueError, FileNotFoundError, KeyError) as exc:
        log.error("%s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
