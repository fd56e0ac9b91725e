"""``hotelectron run``, ``steady``, ``show`` and ``plot``: a scenario file into an HDF5 trajectory,
its derived quantities, and the figure of a result."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .progress import RunProgress

log = logging.getLogger("hotelectron")

EVOLVE_ONLY = ("end_time", "output_every", "pairs_every", "initial", "bump")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("run", help="run a scenario into an HDF5 trajectory")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("-o", "--output", metavar="OUT.h5",
                   help="output file (default: the scenario's name .h5); a folder for a list of biases")
    p.add_argument("--resume", action="store_true", help="continue a killed run from its last complete frame")
    p.add_argument("--overwrite", action="store_true", help="replace an existing (or damaged) output file")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress, only warnings")
    p.add_argument("--plot", metavar="FIG.png", help="also draw the figure of the result")
    p.set_defaults(func=cmd_run)

    p = subparsers.add_parser("steady", help="steady state of a scenario's wire (Newton-Krylov), one frame in HDF5")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="only warnings")
    p.add_argument("-o", "--output", metavar="OUT.h5", help="output file (default: the scenario's name .h5)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--plot", metavar="FIG.png", help="also draw the figure of the result")
    p.set_defaults(func=cmd_steady)

    p = subparsers.add_parser("show", help="print a scenario's derived quantities (T_sg, tau_s, tau_D, Gamma, grids)")
    p.add_argument("scenario", help="scenario TOML file, or a trajectory .h5 (its checksums are verified)")
    p.set_defaults(func=cmd_show)

    p = subparsers.add_parser("plot", help="draw the figure of a trajectory file or of a sweep's summary.csv")
    p.add_argument("file", help="HDF5 trajectory, or a sweep's summary.csv")
    p.add_argument("-o", "--output", metavar="FIG.png", help="figure path (default: next to the file)")
    p.set_defaults(func=cmd_plot)


def _load(path):
    from ..io.scenario import load_scenario

    return load_scenario(path)  # logs its own warnings


def _default_output(scenario_path, output) -> Path:
    return Path(output) if output else Path(Path(scenario_path).stem + ".h5")


def _series(path):
    """The bias series of a scenario file whose bias is a list, else None."""
    from ..sweep import bias_series

    path = Path(path)
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        msg = f"{path}: not a scenario file (not UTF-8 text)"
        raise ValueError(msg) from None
    return bias_series(text, str(path))


def _run_series(args, series, mode) -> int:
    """A scenario with a list of biases: one point file per bias in the folder OUT (default: the
    scenario's name), run one after another in this process."""
    from .sweep import check_points, run_points

    if mode is not None:  # as `steady` does for one scenario: the time-evolution keys do not apply
        run = series.base.setdefault("run", {})
        run["mode"] = mode
        for key in EVOLVE_ONLY:
            run.pop(key, None)
    from ..io.outputs import check_figure_output, check_folder_output

    output = Path(args.output) if args.output else Path(Path(args.scenario).stem)
    if output.suffix == ".h5":
        msg = f"-o {output}: a list of biases writes a folder of point files; give a folder name"
        raise ValueError(msg)
    check_folder_output(output, [args.scenario], create=False)
    check_points(series, output)  # before the folder is made
    check_folder_output(output, [args.scenario])
    if args.plot:
        check_figure_output(args.plot, [args.scenario, output / "summary.csv"])
    return run_points(series, output, args)


def cmd_run(args, mode=None) -> int:
    """Run a scenario into an HDF5 trajectory (and optionally plot it)."""
    import dataclasses

    from ..io.runner import run_scenario

    from ..io.outputs import check_figure_output, check_trajectory_output

    series = _series(args.scenario)
    if series is not None:
        return _run_series(args, series, mode)
    output = _default_output(args.scenario, args.output)
    resume = check_trajectory_output(output, [args.scenario], overwrite=args.overwrite,
                                     resume=getattr(args, "resume", False))
    if args.plot:
        check_figure_output(args.plot, [args.scenario, output])
    scenario = _load(args.scenario)
    if mode is not None:
        scenario = dataclasses.replace(scenario, mode=mode)
    finished = resume and _finished(output)  # run_scenario verifies it and says that nothing is left to do
    progress = RunProgress(scenario.end_time, args.quiet)
    try:
        run_scenario(scenario, output, resume=resume, progress=progress)
    finally:
        progress.close()
    if not finished:
        log.info("wrote %s", output)
    if args.plot:
        from ..io.plots import plot_trajectory

        log.info("wrote %s", plot_trajectory(output, args.plot))
    return 0


def _finished(path: Path) -> bool:
    from ..io.storage import STATUS_FINISHED, read_status

    try:
        return path.is_file() and read_status(path) == STATUS_FINISHED
    except (OSError, KeyError):  # a damaged file: run_scenario reports it
        return False


def cmd_steady(args) -> int:
    """The steady state of a scenario's wire, written with the trajectory layout (one frame)."""
    return cmd_run(args, mode="steady")


def existing_file(path: Path, command: str) -> None:
    """Refuse a path that does not exist or is a folder; for a sweep's or series' folder, name its
    point files and its summary table."""
    if path.is_dir():
        msg = f"{path} is a folder, not a file; {command} takes a file"
        points, summary = sorted(path.glob("point-*.h5")), path / "summary.csv"
        if points or summary.is_file():
            msg += "; it holds the results of a sweep or bias series"
        if points:
            listed = points[0] if len(points) == 1 else f"{points[0]} ... {points[-1].name}"
            msg += f": {len(points)} point trajectories {listed} (e.g. hotelectron {command} {points[0]})"
        if summary.is_file():
            msg += f"; their table is {summary} (hotelectron plot {summary})"
        raise ValueError(msg)
    if not path.exists():
        msg = f"{path} does not exist"
        raise FileNotFoundError(msg)


def cmd_show(args) -> int:
    """Print a scenario's derived quantities."""
    from ..io.quantities import physics_lines, unit_lines
    from ..io.scenario import parse_scenario

    existing_file(Path(args.scenario), "show")
    if Path(args.scenario).suffix == ".h5":
        return _show_trajectory(Path(args.scenario))
    series = _series(args.scenario)
    if series is None:
        scenarios = [(args.scenario, _load(args.scenario))]
    else:  # one block per bias
        scenarios = [(f"{args.scenario} {point.label}", parse_scenario(point.text, path=f"{args.scenario} {point.label}"))
                     for point in series.points()]
    from ..io.resources import estimate, format_bytes

    for title, scenario in scenarios:
        print(f"# {title}: mode {scenario.mode}, energy unit {scenario.energy_unit}")
        for line in physics_lines(scenario.derived):
            print(line)
        width = max(len(k) for k in scenario.derived)
        for key, value in scenario.derived.items():
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            print(f"{key:<{width}}  {shown}")
        for line in unit_lines({**scenario.derived, "energy_unit_J": scenario.energy_unit_J}):
            print(line)
        print(f"resources  {estimate(scenario).describe()}")
    if len(scenarios) > 1:
        outputs = sum(estimate(scenario).output for _, scenario in scenarios)
        print(f"# resources of the series: {len(scenarios)} runs one after another, output <= {format_bytes(outputs)}")
    return 0


def _show_trajectory(path: Path) -> int:
    """Print a trajectory's status, frames and derived quantities, after verifying its checksums."""
    import json

    import h5py

    from ..io.quantities import observable_lines, physics_lines
    from ..io.storage import verify

    verify(path)
    with h5py.File(path, "r") as fh:
        times = fh["time"][:]
        attrs = dict(fh.attrs)
        last_frame = {name: float(ds[times.size - 1]) for name, ds in fh["observables"].items()} if times.size else {}
    last = f", last t = {times[-1]:.6g} tau_D" if times.size else ""
    print(f"# {path}: status {attrs['status']}, {times.size} frame(s){last}, mode {attrs.get('mode', 'evolve')}, "
          f"energy unit {attrs.get('energy_unit', 'E0')}")
    if attrs.get("message"):
        print(f"message  {attrs['message']}")
    derived = json.loads(attrs.get("derived", "{}"))
    for line in physics_lines(derived):
        print(line)
    width = max((len(k) for k in derived), default=0)
    for key, value in derived.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")
    if last_frame:
        print("# last frame (solver units, SI in brackets)")
        for line in observable_lines(last_frame, derived):
            print(line)
    return 0


def cmd_plot(args) -> int:
    """Draw the figure of a trajectory file, or of a sweep's summary table (``.csv``)."""
    from ..io.outputs import check_figure_output

    path = Path(args.file)
    existing_file(path, "plot")
    check_figure_output(args.output if args.output else path.with_suffix(".png"), [path])
    if path.suffix == ".csv":
        from ..sweep import plot_summary as draw
    else:
        from ..io.plots import plot_trajectory as draw
    print(draw(args.file, args.output))
    return 0
