"""What ``hotelectron fit`` writes for a ``[kernel]`` fit: the inferred kernel with its band.

* ``kernel.json``: :meth:`hotelectron.experiment.kernel.KernelResult.to_dict` with the kernel on
  ``KERNEL_POINTS`` energies from the first to the last node;
* ``kernel.csv``: the same table (``E_meV, K, K_lower, K_upper, log_K_stderr, constrained``), units in
  the ``#`` header;
* ``kernel.png``: K(E) log-log with its 1- and 2-sigma bands, the nodes, where the data constrain it,
  and the GCV function over lambda with the choices of both criteria;
* ``report.txt``: the nodes with their errors, lambda, chi^2 and the work done;
* ``fit.png``: data, model and normalised residuals per curve (the parametric fits' figure).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["KERNEL_OUTPUTS", "KERNEL_POINTS", "fit_kernel", "kernel_energies", "kernel_figure", "kernel_report", "write_kernel_csv",
           "write_kernel_outputs"]

#: energies at which the kernel and its band are written
KERNEL_POINTS = 200


def kernel_energies(result) -> np.ndarray:
    """``KERNEL_POINTS`` energies (meV) equally spaced in ln E from the first to the last node."""
    return np.geomspace(result.energies_meV[0], result.energies_meV[-1], KERNEL_POINTS)


def kernel_report(result, source: str = "") -> str:
    """A plain-text summary of a :class:`~hotelectron.experiment.kernel.KernelResult`."""
    from ..experiment.kernel import K_UNIT
    from .fit import conditions

    energies = kernel_energies(result)
    constrained = energies[result.constrained(energies)]
    span = (f"{constrained[0]:.4g} ... {constrained[-1]:.4g} meV" if constrained.size else "nowhere")
    lines = [f"hotelectron fit {source}: the kernel itself".rstrip(), "",
             f"partner: {result.partner}; K in {K_UNIT}; band exp(ln K -+ sigma) from the regularised covariance",
             f"lambda = {result.lam:.4g} ({result.method}); on the final linearisation GCV picks "
             f"{result.criteria['gcv']:.4g}, REML {result.criteria['reml']:.4g}, the L-curve {result.criteria['l-curve']:.4g}",
             f"chi2 = {result.chi2:.6g} over {result.points} points, tr A = {result.effective_parameters:.3g}, "
             f"s^2 = chi2/(N - tr A) = {result.noise_scale:.4g}",
             f"{result.iterations} Gauss-Newton iterations, {result.steady_solves} steady states, "
             f"{result.response_products} response products; {result.message}",
             f"constrained (1-sigma band of ln K below 0.25): {span}", "",
             f"{'E (meV)':>12s} {'K':>14s} {'K lower':>14s} {'K upper':>14s} {'sigma ln K':>11s}"]
    K, lower, upper = result.band(result.energies_meV)
    sigma = np.sqrt(np.diag(result.covariance))
    for row in zip(result.energies_meV, K, lower, upper, sigma):
        lines.append(f"{row[0]:12.5g} {row[1]:14.6g} {row[2]:14.6g} {row[3]:14.6g} {row[4]:11.4g}")
    lines += ["", "curves:"]
    for c in result.curves:
        lines.append(f"  {c.curve.kind:12s} {conditions(c)}, {c.curve.x.size} points, "
                     f"chi2 {float((c.residual ** 2).sum()):.6g}  ({c.curve.source})")
    return "\n".join(lines) + "\n"


def write_kernel_csv(result, path, source: str = "") -> None:
    """The kernel and its band on :func:`kernel_energies`, units in the ``#`` header."""
    from ..experiment.kernel import K_UNIT

    E = kernel_energies(result)
    K, lower, upper = result.band(E)
    sigma = result.log_kernel(E)[1]
    header = "\n".join([
        f"hotelectron kernel inferred from {source}".rstrip(),
        f"partner: {result.partner}; lambda = {result.lam!r} ({result.method})",
        "K_lower, K_upper = exp(ln K -+ log_K_stderr) (1 sigma, regularised covariance); constrained: log_K_stderr < 0.25",
        f"units: E_meV [meV] energy transfer, K [{K_UNIT}], K_lower [{K_UNIT}], K_upper [{K_UNIT}], log_K_stderr [1]",
        "E_meV,K,K_lower,K_upper,log_K_stderr,constrained"])
    table = np.column_stack([E, K, lower, upper, sigma, result.constrained(E)])
    np.savetxt(path, table, delimiter=",", header=header, fmt=["%.10g"] * 5 + ["%d"])


def kernel_figure(result, path) -> None:
    """K(E) log-log with its bands and nodes; the GCV function over lambda with both criteria's choices."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..experiment.kernel import K_UNIT

    E = kernel_energies(result)
    K, lower, upper = result.band(E)
    _, lower2, upper2 = result.band(E, 2.0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    left.fill_between(E, lower2, upper2, color="C0", alpha=0.15, lw=0, label="2 sigma")
    left.fill_between(E, lower, upper, color="C0", alpha=0.35, lw=0, label="1 sigma")
    left.plot(E, K, "-", color="C0", label=f"K(E), partner {result.partner}")
    left.plot(result.energies_meV, result.values, "o", ms=4, color="C3", label="nodes")
    loose = ~result.constrained(E)
    if loose.any():  # grey where the data do not constrain K
        left.fill_between(E, 0, 1, where=loose, color="0.85", alpha=0.6, lw=0, transform=left.get_xaxis_transform(),
                          label="not constrained")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("E (meV)")
    left.set_ylabel(f"K ({K_UNIT})")
    left.legend(loc="best", fontsize=8)
    left.set_title(f"lambda = {result.lam:.3g} ({result.method}), chi2 {result.chi2:.4g} / {result.points} points",
                   fontsize=9)
    scan = result.scan
    right.plot(scan["lambda"], scan["gcv"], "-", color="0.3")
    # lambda used: a wide pale band under the criteria's thin lines, so that a criterion at (or next
    # to) it stays visible; each criterion also marks the GCV curve with its own symbol
    right.axvline(result.lam, color="C0", lw=6, alpha=0.3, zorder=1, label=f"used ({result.method}): {result.lam:.3g}")
    log_lambda = np.log(scan["lambda"])
    for name, color, style, marker in (("gcv", "C2", "--", "v"), ("reml", "C4", ":", "s"), ("l-curve", "C1", "-.", "^")):
        lam = result.criteria[name]
        right.axvline(lam, color=color, ls=style, lw=1.2, zorder=3)
        right.plot([lam], [np.interp(np.log(lam), log_lambda, scan["gcv"])], marker=marker, ms=6, mfc="none",
                   color=color, ls=style, lw=1.2, zorder=4, label=f"{name}: {lam:.3g}")
    right.set_xscale("log")
    right.set_xlabel("lambda")
    right.set_ylabel("GCV function")
    right.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_kernel_outputs(folder: Path, result, source: str = "") -> str:
    """Write kernel.json, kernel.csv, kernel.png, report.txt and fit.png into ``folder``; return the report."""
    from .fit import figure

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel.json").write_text(result.to_json(kernel_energies(result)) + "\n", encoding="utf-8")
    write_kernel_csv(result, folder / "kernel.csv", source)
    kernel_figure(result, folder / "kernel.png")
    text = kernel_report(result, source)
    (folder / "report.txt").write_text(text, encoding="utf-8")
    figure(result, folder / "fit.png")
    return text


#: what a kernel fit writes
KERNEL_OUTPUTS = ("kernel.json", "kernel.csv", "kernel.png", "report.txt", "fit.png")


def fit_kernel(spec, folder: Path, args, existing=()) -> int:
    """Run the ``[kernel]`` fit of a read fit file in this process and write its outputs into ``folder``;
    print the report. ``args``: the command line of ``hotelectron fit`` (Dask and resuming are for
    parametric fits and are refused); ``existing``: the outputs of a fit already in the folder (either
    kind), refused unless ``--overwrite``, which removes them once the kernel is inferred."""
    from ..experiment.kernel import infer_kernel
    from .fit import quiet_steady_solves, refuse_existing, warn_coarse_curves

    given = [option for option, on in (("--workers", args.workers is not None), ("--scheduler", bool(args.scheduler)),
                                        ("--resume", args.resume)) if on]
    if given:
        msg = f"{spec.source}: a [kernel] fit runs in this process and from its start: {given[0]} does not apply"
        raise ValueError(msg)
    if not args.overwrite:
        refuse_existing(folder, existing, "--overwrite replaces it")
    try:
        with quiet_steady_solves():  # its own line per Gauss-Newton iteration tells the progress
            result = infer_kernel(spec.problem)
    except ValueError as exc:  # after loading only the [kernel] section can be at fault: its message names the key
        msg = f"{spec.source}: [kernel] {exc}"
        raise ValueError(msg) from None
    for path in existing:
        path.unlink()
    text = write_kernel_outputs(folder, result, spec.source)
    log.info("wrote %s", ", ".join(str(folder / name) for name in KERNEL_OUTPUTS))
    print(text, end="")
    warn_coarse_curves(result.curves)
    return 0
