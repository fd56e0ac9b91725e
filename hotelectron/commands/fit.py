"""``hotelectron fit FIT.toml [-o FOLDER]``: fit measured curves with warm-started steady states.

Writes ``fit.json`` (:meth:`hotelectron.experiment.fit.FitResult.to_dict`), ``report.txt`` (the
parameters with their errors, the correlations, chi^2/dof) and ``fit.png`` (data, fit and
normalised residuals per curve). Serial; Dask parallelism is not built yet.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["add_parser", "cmd_fit", "report"]


def add_parser(subparsers):
    """Register the ``fit`` subcommand on an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "fit", help="fit measured dI/dV or f(E) curves: parameters with errors (fit.json, report, figure)",
        description="Least squares on the stacked residuals of all curves, steady states warm-started, "
        "errors from the Jacobian at the optimum (SPEC section 11).")
    p.add_argument("fit", help="fit TOML file: base scenario, data files, [parameters.\"section.key\"] tables")
    p.add_argument("-o", "--output", metavar="FOLDER", help="output folder (default: the fit file's output, else its name)")
    p.set_defaults(func=cmd_fit)
    return p


def report(result, source: str = "") -> str:
    """A plain-text summary of a :class:`~hotelectron.experiment.fit.FitResult`."""
    from ..experiment.fit import PROBE_KEYS

    lines = [f"hotelectron fit {source}".rstrip(), "",
             f"chi2/dof = {result.chi2_per_dof:.6g} (chi2 {result.chi2:.6g}, dof {result.dof}); "
             f"{result.evaluations} model evaluations, {result.steady_solves} steady states; {result.message}", "",
             f"{'parameter':32s} {'value':>16s} {'stderr':>12s}  unit"]
    for p in result.parameters:
        unit = p.parameter.unit or PROBE_KEYS.get(p.parameter.key, ("", ""))[1]
        err = "fixed" if not p.parameter.free else ("n/a" if p.stderr is None else f"{p.stderr:.4g}")
        lines.append(f"{p.parameter.label:32s} {p.value:16.10g} {err:>12s}  {unit}")
    free = [p.parameter.label for p in result.free]
    if len(free) > 1:
        lines += ["", "correlation:"]
        for label, row in zip(free, result.correlation):
            lines.append(f"  {label:30s} " + " ".join(f"{v:+.3f}" for v in row))
    lines += ["", "curves:"]
    for c in result.curves:
        lines.append(f"  {c.curve.kind:12s} U = {c.curve.bias_mV:g} mV, {c.curve.x.size} points, "
                     f"chi2 {float((c.residual ** 2).sum()):.6g}  ({c.curve.source})")
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
    fig.suptitle(f"chi2/dof = {result.chi2_per_dof:.4g}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cmd_fit(args) -> int:
    from ..experiment.fit import FitProblem, fit
    from ..experiment.fitfile import load_fit_file
    from .fit_kernel import fit_kernel

    spec = load_fit_file(args.fit)
    folder = Path(args.output or spec.output or Path(args.fit).with_suffix("").name)
    if not isinstance(spec.problem, FitProblem):  # a [kernel] fit: the kernel itself
        return fit_kernel(spec, folder)
    result = fit(spec.problem, max_evaluations=spec.max_evaluations)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fit.json").write_text(result.to_json() + "\n", encoding="utf-8")
    text = report(result, spec.source)
    (folder / "report.txt").write_text(text, encoding="utf-8")
    figure(result, folder / "fit.png")
    log.info("wrote %s, %s and %s", folder / "fit.json", folder / "report.txt", folder / "fit.png")
    print(text, end="")
    return 0
