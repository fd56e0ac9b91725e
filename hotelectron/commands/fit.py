"""``hotelectron fit FIT.toml [-o FOLDER] [--workers N | --scheduler ADDRESS] [--resume] [--overwrite]``:
fit measured curves with warm-started steady states, in this process or on Dask.

The output folder holds ``fit.json`` (:meth:`hotelectron.experiment.fit.FitResult.to_dict`, with the
name of each curve's state file), ``curve-NN.h5`` (the best-fit steady state of curve NN, the
trajectory layout of ``hotelectron run`` in steady mode), ``report.txt`` (the parameters with their
errors, the correlations, chi^2/dof) and ``fit.png`` (data, fit and normalised residuals per curve).
An interrupt (Ctrl-C) writes them all for the best point so far, ``fit.json`` with status
``interrupted``, and exits with status 130; ``--resume`` continues from that point. A folder that
already holds a fit is refused unless ``--resume`` or ``--overwrite`` is given.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from pathlib import Path

from .cluster import add_cluster_options, dask_client

log = logging.getLogger(__name__)

__all__ = ["add_parser", "cmd_fit", "quiet_steady_solves", "read_state", "report", "write_outputs"]

FIT_JSON = "fit.json"
REPORT = "report.txt"
FIGURE = "fit.png"
STATE_GLOB = "curve-*.h5"


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
    p.add_argument("--resume", action="store_true", help="continue an interrupted fit from the best point in its fit.json")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the fit in the output folder (with --resume: only an unreadable fit.json)")
    p.set_defaults(func=cmd_fit)
    return p


def state_name(index: int) -> str:
    """The file of curve ``index``'s best-fit steady state."""
    return f"curve-{index:02d}.h5"


def report(result, source: str = "") -> str:
    """A plain-text summary of a :class:`~hotelectron.experiment.fit.FitResult`."""
    from ..experiment.fit import PROBE_KEYS, STATUS_INTERRUPTED

    lines = [f"hotelectron fit {source}".rstrip(), ""]
    if result.status == STATUS_INTERRUPTED:
        lines += ["INTERRUPTED (no error estimate yet): --resume continues the fit from this point", ""]
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
        lines.append(f"  {c.curve.kind:12s} U = {c.curve.bias_mV:g} mV, {c.curve.x.size} points, "
                     f"chi2 {float((c.residual ** 2).sum()):.6g}  ({c.curve.source}; state {state_name(i)})")
    return "\n".join(lines) + "\n"


def figure(result, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(result.curves)
    fig, axes = plt.subplots(2, n, figsize=(4 * n, 5), squeeze=False, sharex="col",
                             gridspec_kw={"height_ratios": [3, 1]})
    for k, c in enumerate(result.curves):
        top, bottom = axes[0, k], axes[1, k]
        top.plot(c.curve.x, c.curve.y, ".", ms=3, color="0.4", label="data")
        top.plot(c.curve.x, c.model, "-", color="C3", label="fit")
        top.set_title(f"U = {c.curve.bias_mV:g} mV")
        top.set_ylabel("R_T dI/dV" if c.curve.kind == "conductance" else "f")
        top.legend(loc="best", fontsize=8)
        bottom.plot(c.curve.x, c.residual, ".", ms=3, color="C0")
        bottom.axhline(0, color="0.7", lw=0.8)
        bottom.set_ylabel("(fit - data)/sigma")
        bottom.set_xlabel("V (mV)" if c.curve.kind == "conductance" else "E (meV)")
    title = f"chi2/dof = {result.chi2_per_dof:.4g}"
    fig.suptitle(title if result.status == "finished" else f"{title} (interrupted: best point so far)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(folder: Path, result, source: str) -> None:
    """Write the state files, then ``fit.json`` (which names them; replaced atomically), the report
    and the figure of ``result`` into ``folder``."""
    from ..io.runner import write_steady_state
    from ..io.scenario import parse_scenario

    names = [state_name(i) for i in range(len(result.curves))]
    for name, c in zip(names, result.curves, strict=True):
        write_steady_state(parse_scenario(c.state.text), folder / name, c.state.steady)
    partial = folder / f".{FIT_JSON}.partial"
    partial.write_text(result.to_json(names) + "\n", encoding="utf-8")
    os.replace(partial, folder / FIT_JSON)
    (folder / REPORT).write_text(report(result, source), encoding="utf-8")
    figure(result, folder / FIGURE)
    log.info("wrote %s, %d state files (%s ...), %s and %s", folder / FIT_JSON, len(names), names[0], REPORT, FIGURE)


def _existing(folder: Path) -> list[Path]:
    """The outputs of a fit already in ``folder``."""
    named = [folder / name for name in (FIT_JSON, REPORT, FIGURE) if (folder / name).exists()]
    return named + sorted(folder.glob(STATE_GLOB))


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
    """The FitStart of the fit in ``folder`` (None: there is none, start afresh), or the string
    "finished" when that fit has finished."""
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
        return STATUS_FINISHED
    curves = data.get("curves") or []
    states = [read_state(folder / c["state"]) if isinstance(c, dict) and isinstance(c.get("state"), str) else None
              for c in curves]
    log.info("resuming the fit in %s from its best point (chi2/dof %.6g after %d evaluations)",
             folder, data.get("chi2_per_dof", float("nan")), start.optimiser_evaluations)
    return dataclasses.replace(start, states=tuple(states))


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
    from ..experiment.fit import FitInterrupted, fit
    from .progress import FitProgress

    progress = FitProgress(args.quiet)
    try:
        with quiet_steady_solves():
            result = fit(spec.problem, max_evaluations=spec.max_evaluations, solves=solves, progress=progress,
                         start=start)
    except FitInterrupted as exc:
        progress.close()
        write_outputs(folder, exc.result, spec.source)
        log.error("interrupted: %s holds the best point so far (chi2/dof %.6g after %d evaluations); "
                  "--resume continues the fit from it", folder / FIT_JSON, exc.result.chi2_per_dof,
                  exc.result.optimiser_evaluations)
        return 130
    finally:
        progress.close()
    write_outputs(folder, result, spec.source)
    print(report(result, spec.source), end="")
    return 0


def cmd_fit(args) -> int:
    from ..experiment.fit import FitProblem
    from ..experiment.fitfile import load_fit_file
    from ..experiment.solves import DaskSolves
    from ..io.outputs import check_folder_output
    from .fit_kernel import fit_kernel

    if args.scheduler and args.workers is not None:
        msg = "--scheduler and --workers exclude each other: choose one"
        raise ValueError(msg)
    if args.workers is not None and args.workers < 1:
        msg = f"--workers must be at least 1; got {args.workers}"
        raise ValueError(msg)
    spec = load_fit_file(args.fit)
    folder = Path(args.output or spec.output or Path(args.fit).with_suffix("").name)
    check_folder_output(folder, spec.inputs)
    if not isinstance(spec.problem, FitProblem):  # [kernel]: the kernel itself (commands.fit_kernel)
        return fit_kernel(spec, folder, args)
    existing = _existing(folder)
    if existing and not (args.resume or args.overwrite):
        msg = (f"{folder} already holds a fit ({', '.join(p.name for p in existing[:3])}"
               f"{', ...' if len(existing) > 3 else ''}); --resume continues it, --overwrite replaces it")
        raise ValueError(msg)
    start = _resume_point(folder, spec, args.overwrite) if args.resume else None
    if start == "finished":
        log.info("%s: the fit has finished; nothing to resume", folder / FIT_JSON)
        print((folder / REPORT).read_text(encoding="utf-8") if (folder / REPORT).exists() else "", end="")
        return 0
    if start is None:
        for path in existing:
            path.unlink()
    if args.workers is None and not args.scheduler:
        return _fit_into(folder, spec, args, start, None)
    with dask_client(args.scheduler, args.workers or 1) as client:
        return _fit_into(folder, spec, args, start, DaskSolves(client))
