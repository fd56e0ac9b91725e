"""``hotelectron fit FIT.toml [-o FOLDER] [--workers N | --scheduler ADDRESS] [--resume] [--overwrite]``:
fit measured curves with warm-started steady states, in this process or on Dask.

The output folder holds ``curve-NN.h5`` (the best-fit steady state of curve NN, the trajectory layout
of ``hotelectron run`` in steady mode), ``report.txt`` (the parameters with their errors, the
correlations, chi^2/dof, each curve's U, B and T), ``fit.png`` (data, fit and normalised residuals per
curve) and, written last and atomically, ``fit.json``
(:meth:`hotelectron.experiment.fit.FitResult.to_dict`, with the name of each curve's state file): a
``fit.json`` present means the other outputs were written before it. A Ctrl-C while they are written
is held until they are complete. An interrupt (Ctrl-C) during the fit writes them all for the best
point so far, ``fit.json`` with status ``interrupted``, and exits with status 130; a fit the optimiser
ends without converging (``max_evaluations`` spent) writes them with status ``stopped`` and exits with
status 3, and so does one stopped at a point the scenario or the probe refuses (status ``refused``).
``--resume`` continues any of these from that point, and on a finished fit writes again what is missing. A folder that already holds a fit (or a ``[kernel]`` fit) is refused unless ``--resume`` or
``--overwrite`` is given; a folder this command created is removed again when it fails before writing
anything.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import tomllib
from pathlib import Path

from .cluster import add_cluster_options, check_workers, dask_client
from .interrupts import interrupts_held

log = logging.getLogger(__name__)

__all__ = ["add_parser", "cmd_fit", "conditions", "existing_outputs", "quiet_steady_solves", "read_state", "report",
           "write_outputs"]

FIT_JSON = "fit.json"
REPORT = "report.txt"
FIGURE = "fit.png"
STATE_GLOB = "curve-*.h5"
#: what only a [kernel] fit writes (commands.fit_kernel; it writes REPORT and FIGURE too)
KERNEL_ONLY = ("kernel.json", "kernel.csv", "kernel.png")
#: exit status of a fit stopped without converging (as other numerical trouble)
EXIT_STOPPED = 3


def add_parser(subparsers):
    """Register the ``fit`` subcommand on an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "fit", help="fit measured dI/dV or f(E) curves: parameters with errors (fit.json, report, figure, states)",
        description="Least squares on the stacked residuals of all curves, steady states warm-started, "
        "errors from the Jacobian at the optimum (SPEC section 11). Without --workers or --scheduler the "
        "steady states are solved in this process.")
    p.add_argument("fit", help="fit TOML file: base scenario, data files, [parameters.\"section.key\"] tables")
    p.add_argument("-o", "--output", metavar="FOLDER", help="output folder (default: the fit file's output, else its name)")
    add_cluster_options(p, "solve the steady states on a LocalCluster of N worker processes")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted or stopped fit from the best point in its fit.json (on a finished "
                        "fit: write again the outputs that are missing)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the fit in the output folder (with --resume: only an unreadable fit.json)")
    p.set_defaults(func=cmd_fit)
    return p


def state_name(index: int) -> str:
    """The file of curve ``index``'s best-fit steady state."""
    return f"curve-{index:02d}.h5"


def conditions(fitted) -> str:
    """``U = 0.2 mV, B = 1 T, T = 0.05 K`` of a fitted curve: U, B and T from its data, or as the base
    scenario gives them (marked ``(base)``) where the data do not."""
    curve = fitted.curve
    base = tomllib.loads(fitted.state.text) if fitted.state is not None else {}
    parts = [f"U = {curve.bias_mV:g} mV"]
    if curve.field_T is not None:
        parts.append(f"B = {curve.field_T:g} T")
    elif "B" in base.get("field", {}):
        parts.append(f"B = {base['field']['B']} (base)")
    if curve.temperature_K is not None:
        parts.append(f"T = {curve.temperature_K:g} K")
    elif "temperature" in base.get("reservoirs", {}):
        parts.append(f"T = {base['reservoirs']['temperature']} (base)")
    return ", ".join(parts)


#: the first lines of a report on a fit that did not finish
UNFINISHED = {"interrupted": "INTERRUPTED (no error estimate yet): --resume continues the fit from this point",
              "stopped": "STOPPED WITHOUT CONVERGING (no error estimate: this is not an optimum): raise "
                         "max_evaluations and --resume continues the fit from this point",
              "refused": "STOPPED AT A POINT THE MODEL REFUSES (no error estimate: this is not an optimum): bound the "
                         "parameters named below (min, max) to where the scenario and the probe accept them"}


def report(result, source: str = "") -> str:
    """A plain-text summary of a :class:`~hotelectron.experiment.fit.FitResult`."""
    from ..experiment.fit import PROBE_KEYS

    lines = [f"hotelectron fit {source}".rstrip(), ""]
    if result.status in UNFINISHED:
        lines += [UNFINISHED[result.status], ""]
    lines += [f"chi2/dof = {result.chi2_per_dof:.6g} (chi2 {result.chi2:.6g}, dof {result.dof}); "
              f"{result.evaluations} model evaluations, {result.steady_solves} steady states; {result.message}", "",
              f"{'parameter':32s} {'value':>16s} {'stderr':>12s}  unit"]
    for p in result.parameters:
        unit = p.parameter.unit or PROBE_KEYS.get(p.parameter.key, ("", ""))[1]
        err = "fixed" if not p.parameter.free else ("n/a" if p.stderr is None else f"{p.stderr:.4g}")
        lines.append(f"{p.parameter.label:32s} {p.value:16.10g} {err:>12s}  {unit}")
    free = [p.parameter.label for p in result.free]
    if len(free) > 1 and result.correlation is not None:
        lines += ["", "correlation:"]
        for label, row in zip(free, result.correlation):
            lines.append(f"  {label:30s} " + " ".join(f"{v:+.3f}" for v in row))
    lines += ["", "curves:"]
    for i, c in enumerate(result.curves):
        lines.append(f"  {c.curve.kind:12s} {conditions(c)}, {c.curve.x.size} points, "
                     f"chi2 {float((c.residual ** 2).sum()):.6g}  ({c.curve.source}; state {state_name(i)})")
    return "\n".join(lines) + "\n"


#: model points per narrowest feature of a conductance curve in the figure, and at most this many per curve
FIGURE_POINTS_PER_FEATURE, FIGURE_POINTS_MAX = 8, 20_001


def model_abscissae(fitted):
    """Where the figure draws the best-fit model of ``fitted``: over the data's range, at the nodes of f's
    energy grid for f itself (linear between them), and for a conductance FIGURE_POINTS_PER_FEATURE points
    across its narrowest feature, the Dynes width or the energy step of f (at most FIGURE_POINTS_MAX)."""
    import numpy as np

    x, energy = fitted.curve.x, fitted.energy_meV
    lo, hi = float(x.min()), float(x.max())
    if fitted.curve.kind != "conductance":
        return np.union1d([lo, hi], energy[(energy > lo) & (energy < hi)])
    widths = [float(np.min(np.diff(energy)))]
    if fitted.probe.gap_meV > 0:
        widths.append(fitted.probe.dynes_meV)
    points = math.ceil((hi - lo) / min(widths) * FIGURE_POINTS_PER_FEATURE) + 1
    return np.linspace(lo, hi, min(max(points, x.size), FIGURE_POINTS_MAX))


def figure(result, path) -> None:
    """Per curve: the data as points and the best-fit model as a line drawn on a fine grid (not only at
    the data: coherence peaks would be polylines), and below the normalised residuals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(result.curves)
    fig, axes = plt.subplots(2, n, figsize=(4 * n, 5), squeeze=False, sharex="col",
                             gridspec_kw={"height_ratios": [3, 1]})
    for k, c in enumerate(result.curves):
        top, bottom = axes[0, k], axes[1, k]
        fine = model_abscissae(c)
        top.plot(c.curve.x, c.curve.y, "o", ms=2.5, mfc="none", mew=0.6, color="0.35", label="data")
        top.plot(fine, c.model_at(fine), "-", lw=1.1, color="C3", label="fit")
        top.set_title(conditions(c), fontsize=9)
        top.set_ylabel("R_T dI/dV" if c.curve.kind == "conductance" else "f")
        top.legend(loc="best", fontsize=8)
        bottom.plot(c.curve.x, c.residual, ".", ms=3, color="C0")
        bottom.axhline(0, color="0.7", lw=0.8)
        bottom.set_ylabel("(fit - data)/sigma")
        bottom.set_xlabel("V (mV)" if c.curve.kind == "conductance" else "E (meV)")
    title = f"chi2/dof = {result.chi2_per_dof:.4g}"
    fig.suptitle(title if result.status == "finished" else f"{title} ({result.status}: best point so far)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(folder: Path, result, source: str, only=None) -> None:
    """Write the state files, the report and the figure of ``result`` into ``folder``, then, last and
    atomically, ``fit.json`` (which names them): a fit.json means the rest is there. A Ctrl-C meanwhile is
    held until all are written. ``only``: the names of the outputs to write (default: all)."""
    from ..io.runner import write_steady_state
    from ..io.scenario import parse_scenario

    names = [state_name(i) for i in range(len(result.curves))]
    wanted = set(only) if only is not None else {*names, REPORT, FIGURE, FIT_JSON}
    with interrupts_held("the outputs were written"):
        for name, c in zip(names, result.curves, strict=True):
            if name in wanted:
                write_steady_state(parse_scenario(c.state.text), folder / name, c.state.steady)
        if REPORT in wanted:
            (folder / REPORT).write_text(report(result, source), encoding="utf-8")
        if FIGURE in wanted:
            figure(result, folder / FIGURE)
        if FIT_JSON in wanted:
            partial = folder / f".{FIT_JSON}.partial"
            partial.write_text(result.to_json(names) + "\n", encoding="utf-8")
            os.replace(partial, folder / FIT_JSON)
    log.info("wrote %s into %s", ", ".join(name for name in (*names, REPORT, FIGURE, FIT_JSON) if name in wanted), folder)


def existing_outputs(folder: Path) -> list[Path]:
    """The outputs of a fit, parametric or [kernel], already in ``folder``."""
    named = [folder / name for name in (FIT_JSON, REPORT, FIGURE, *KERNEL_ONLY) if (folder / name).exists()]
    return named + sorted(folder.glob(STATE_GLOB))


def refuse_existing(folder: Path, existing, remedy: str) -> None:
    """Refuse a folder that holds the ``existing`` outputs of a fit, saying which kind and ``remedy``."""
    if existing:
        kind = "[kernel] fit" if any(p.name in KERNEL_ONLY for p in existing) else "fit"
        msg = (f"{folder} already holds a {kind} ({', '.join(p.name for p in existing[:3])}"
               f"{', ...' if len(existing) > 3 else ''}); {remedy}")
        raise ValueError(msg)


def read_state(path: Path):
    """The steady state kept in a state file (a ``CurveState``), or None when it is absent or damaged
    (it serves as a warm start only: the fit solves again what it cannot read)."""
    import h5py

    from ..experiment.solves import CurveState
    from ..io import populations
    from ..io.storage import DamagedFileError, verify
    from ..wire.steady import SteadyState

    try:
        verify(path)
        with h5py.File(path, "r") as fh:
            steady = SteadyState(fh["f"][0], populations.stored(fh, 0), int(fh.attrs["newton_iterations"]),
                                 float(fh.attrs["residual"]))
            derived = json.loads(fh.attrs["derived"])
            return CurveState(str(fh.attrs["scenario"]), fh["x"][:], fh["energy"][:], float(derived["energy_unit_meV"]),
                              steady)
    except (OSError, KeyError, ValueError, DamagedFileError) as exc:
        log.warning("%s cannot serve as a warm start (%s); its curve is solved again", path, exc)
        return None


def _resume_point(folder: Path, spec, overwrite: bool):
    """Where the fit in ``folder`` resumes: a FitStart (interrupted or stopped), None (there is none:
    start afresh), or the content of its fit.json when that fit has finished."""
    from ..experiment.fit import STATUS_FINISHED, FitStart

    path = folder / FIT_JSON
    if not path.exists():
        log.info("%s holds no %s: the fit starts from the fit file's start values", folder, FIT_JSON)
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "fingerprint" not in data:
            msg = "it is not the result of a fit"
            raise ValueError(msg)
    except (OSError, ValueError) as exc:  # unreadable: only --overwrite starts again
        if overwrite:
            log.warning("%s cannot be resumed (%s); starting again (--overwrite)", path, exc)
            return None
        msg = f"{path} cannot be resumed: {exc}; --overwrite starts the fit again"
        raise ValueError(msg) from None
    start = FitStart.from_dict(data, spec.problem, source=str(path))  # another fit's result is refused
    if data.get("status") == STATUS_FINISHED:
        return data
    if start.optimiser_evaluations >= spec.max_evaluations:
        msg = (f"{path}: the fit stopped after {start.optimiser_evaluations} evaluations of the optimiser and "
               f"{spec.source} allows max_evaluations = {spec.max_evaluations}: raise max_evaluations to continue it")
        raise ValueError(msg)
    log.info("resuming the fit in %s from its best point (%s: chi2/dof %.6g after %d evaluations)",
             folder, data.get("status"), data.get("chi2_per_dof", float("nan")), start.optimiser_evaluations)
    return dataclasses.replace(start, states=_states(folder, data))


def _states(folder: Path, data: dict) -> tuple:
    """The steady states of the state files a fit.json names (None where absent or unreadable)."""
    curves = data.get("curves") or []
    return tuple(read_state(folder / c["state"]) if isinstance(c, dict) and isinstance(c.get("state"), str)
                 and (folder / c["state"]).exists() else None for c in curves)


def _complete_finished(folder: Path, spec, data: dict) -> None:
    """A finished fit: write again the outputs its fit.json implies but that are missing (the report, the
    figure, state files), from fit.json and the state files there; or say there is nothing to do."""
    from ..experiment.fit import restore_result

    names = [c.get("state") if isinstance(c, dict) else None for c in data.get("curves") or []]
    states = _states(folder, data)
    missing = [name for name, state in zip(names, states, strict=True) if name and state is None]
    missing += [name for name in (REPORT, FIGURE) if not (folder / name).exists()]
    if not missing:
        log.info("%s: the fit has finished; nothing to resume", folder / FIT_JSON)
        return
    log.info("%s: the fit has finished; writing again what is missing (%s)", folder / FIT_JSON, ", ".join(missing))
    with quiet_steady_solves():
        result = restore_result(data, spec.problem, states)
    write_outputs(folder, result, spec.source, only=missing)


@contextlib.contextmanager
def quiet_steady_solves():
    """Every steady state logs a line at INFO; in a fit the progress display speaks instead."""
    logger = logging.getLogger("hotelectron.wire.steady")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def _fit_into(folder: Path, spec, args, start, solves) -> int:
    from ..experiment.fit import STATUS_REFUSED, STATUS_STOPPED, FitInterrupted, FlatParameters, fit
    from .progress import FitProgress

    progress = FitProgress(args.quiet)
    try:
        with quiet_steady_solves():
            result = fit(spec.problem, max_evaluations=spec.max_evaluations, solves=solves, progress=progress,
                         start=start)
    except FitInterrupted as exc:
        progress.close()
        write_outputs(folder, exc.result, spec.source)
        print(report(exc.result, spec.source), end="")
        log.error("interrupted: %s holds the best point so far (chi2/dof %.6g after %d evaluations); "
                  "--resume continues the fit from it", folder / FIT_JSON, exc.result.chi2_per_dof,
                  exc.result.optimiser_evaluations)
        return 130
    except FlatParameters as exc:
        keys = ", ".join(f'[parameters."{p.key}"]' + ("" if p.curve is None else f" (curve = {p.curve})")
                         for p in exc.parameters)
        msg = f"{spec.source}: {keys}: {exc}"
        raise ValueError(msg) from None
    finally:
        progress.close()
    write_outputs(folder, result, spec.source)
    print(report(result, spec.source), end="")
    warn_coarse_curves(result.curves)
    if result.status == STATUS_REFUSED:
        log.error("%s: the fit %s; %s holds that point", spec.source, result.message, folder / FIT_JSON)
        return EXIT_STOPPED
    if result.status == STATUS_STOPPED:
        log.warning("the fit stopped without converging after %d evaluations (max_evaluations = %d in %s): %s holds "
                    "the best point so far, without errors; raise max_evaluations and --resume continues it",
                    result.optimiser_evaluations, spec.max_evaluations, spec.source, folder / FIT_JSON)
        return EXIT_STOPPED
    return 0


def warn_coarse_curves(curves) -> None:
    """Name each best-fit curve whose f at L/2 is too coarse in energy for the probe's model."""
    from ..experiment.probe import coarse_f_message

    for i, c in enumerate(curves):
        if (message := coarse_f_message(c.f_middle)) is not None:
            log.warning("curve %d (%s): %s", i, c.curve.source or "no source", message)


def cmd_fit(args) -> int:
    from ..experiment.fitfile import load_fit_file
    from ..io.outputs import check_folder_output

    if args.scheduler and args.workers is not None:
        msg = "--scheduler and --workers exclude each other: choose one"
        raise ValueError(msg)
    check_workers(args.workers)
    spec = load_fit_file(args.fit)
    folder = Path(args.output or spec.output or Path(args.fit).with_suffix("").name)
    created = not folder.exists()
    check_folder_output(folder, spec.inputs)
    try:
        return _fit_in(folder, spec, args)
    finally:
        if created and folder.is_dir() and not any(folder.iterdir()):  # refused or failed before any output
            folder.rmdir()


def _fit_in(folder: Path, spec, args) -> int:
    from ..experiment.fit import FitProblem
    from ..experiment.solves import DaskSolves
    from .fit_kernel import fit_kernel

    existing = existing_outputs(folder)
    if not isinstance(spec.problem, FitProblem):  # [kernel]: the kernel itself (commands.fit_kernel)
        return fit_kernel(spec, folder, args, existing)
    kernel_fit = any(p.name in KERNEL_ONLY for p in existing)  # --resume does not continue one
    if not args.overwrite and (kernel_fit or not args.resume):
        refuse_existing(folder, existing, "--overwrite replaces it" if kernel_fit else
                        "--resume continues it, --overwrite replaces it")
    start = _resume_point(folder, spec, args.overwrite) if args.resume else None
    if isinstance(start, dict):  # a finished fit
        _complete_finished(folder, spec, start)
        print((folder / REPORT).read_text(encoding="utf-8"), end="")
        return 0
    if start is None:
        for path in existing:
            path.unlink()
    if args.workers is None and not args.scheduler:
        return _fit_into(folder, spec, args, start, None)
    with dask_client(args.scheduler, args.workers or 1) as client:
        return _fit_into(folder, spec, args, start, DaskSolves(client))
