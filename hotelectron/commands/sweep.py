"""``hotelectron sweep``: a parameter sweep on Dask (a LocalCluster here, or the cluster at
--scheduler), one HDF5 file per point and a summary table; also the runner of bias series."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from .cluster import add_cluster_options, check_workers, dask_client, quiet_dask
from .progress import PointProgress

log = logging.getLogger("hotelectron")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="run a parameter sweep on Dask (one HDF5 file per point, summary.csv)")
    p.add_argument("sweep", help="sweep TOML file: base scenario plus [axes] and [[zip]]")
    p.add_argument("-o", "--output", metavar="FOLDER", help="folder of the point files (default: the sweep's output, else its name)")
    add_cluster_options(p, "LocalCluster worker processes (default: the number of cores)")
    p.add_argument("--serial", action="store_true", help="no Dask: run the points one after another in this process")
    p.add_argument("--resume", action="store_true", help="skip finished points, continue the others")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing point files (with --resume: only damaged ones)")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress, only warnings")
    p.add_argument("--plot", metavar="FIG.png", help="also draw the summary figure")
    p.set_defaults(func=cmd_sweep)


def check_points(sweep, output, workers: int = 1) -> None:
    """Refuse a series or sweep (``ResourceError``) before anything is written when one of its points,
    ``workers`` of them at once, needs more memory than there is (or its ``[run] max_memory``), or all
    of them more disk than the output folder has. Invalid points are left to the sweep (failed rows)."""
    from ..io.resources import check_resources, estimate
    from ..io.scenario import parse_scenario
    from ..sweep.execute import loader_warnings_silenced

    scenarios = []
    for point in sweep.points():
        try:
            with loader_warnings_silenced():  # the sweep logs them, once per point, when it validates it
                scenarios.append((point, parse_scenario(point.text)))
        except ValueError:
            continue
    if not scenarios:
        return
    estimates = [estimate(scenario) for _, scenario in scenarios]
    largest = max(range(len(scenarios)), key=lambda i: estimates[i].memory)
    total = sum(e.output for e in estimates)
    for i, (point, scenario) in enumerate(scenarios):
        try:
            check_resources(scenario, output, memory_factor=min(workers, len(scenarios)) if i == largest else 1,
                            total_output=total)
        except ValueError as exc:
            msg = f"{point.label}: {exc}"
            raise type(exc)(msg) from None


def run_points(sweep, output, args, client=None) -> int:
    """Run a sweep's points into the folder ``output``; 0 when all finished, 4 when some failed."""
    from ..sweep import plot_summary, run_sweep

    progress = PointProgress(len(sweep), args.quiet)
    try:
        result = run_sweep(sweep, output, client=client, resume=getattr(args, "resume", False),
                           overwrite=getattr(args, "overwrite", False), progress=progress)
    finally:
        progress.close()
    log.info("wrote %s (%d points, %d failed)", result.summary, len(result.rows), len(result.failed))
    if args.plot:
        try:
            log.info("wrote %s", plot_summary(result.summary, args.plot))
        except ValueError as exc:  # e.g. no finished point: the exit status tells of the failures
            log.error("no figure: %s", exc)
    return 4 if result.failed else 0


def cmd_sweep(args) -> int:
    """Run a sweep file's points on Dask: a LocalCluster here, or the cluster at --scheduler."""
    from ..sweep import load_sweep

    from ..io.outputs import check_figure_output, check_folder_output

    sweep = load_sweep(args.sweep)
    if sum(map(bool, (args.serial, args.scheduler, args.workers is not None))) > 1:
        msg = "--serial, --scheduler and --workers exclude each other: choose one"
        raise ValueError(msg)
    check_workers(args.workers)  # before the points are parsed for the resource check
    output = Path(args.output or sweep.output or Path(args.sweep).stem)
    check_folder_output(output, [args.sweep], create=False)
    # with a remote scheduler the workers are elsewhere: one point's memory is checked here, as a lower bound
    check_points(sweep, output, 1 if args.serial or args.scheduler else args.workers or os.cpu_count() or 1)
    check_folder_output(output, [args.sweep])
    if args.plot:
        check_figure_output(args.plot, [args.sweep, output / "summary.csv"])
    quiet_dask()
    if args.serial:
        return run_points(sweep, output, args)
    with dask_client(args.scheduler, (os.cpu_count() or 1) if args.workers is None else args.workers) as client:
        return run_points(sweep, output, args, client=client)
