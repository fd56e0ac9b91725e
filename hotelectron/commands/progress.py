"""Progress of a run (simulated time), of a sweep (points done) and of a fit (evaluations, chi^2, best
point): a tqdm bar in a terminal, plain log lines otherwise, which suit batch-job logs."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("hotelectron")


class RunProgress:
    """Simulated time of one run: a bar with ETA in a terminal, a log line every few seconds otherwise."""

    def __init__(self, t_end: float, quiet: bool, clock=time.perf_counter):
        self.t_end, self.quiet, self.clock = t_end, quiet, clock
        self.start = self.last = clock()
        self.first = None  # (t, wall time) of the first frame: the rate is measured from there
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=t_end, unit="tau_D", bar_format="{l_bar}{bar}| {n:.3g}/{total:.3g} tau_D [{elapsed}<{remaining}]")

    def __call__(self, t: float, t_end: float) -> None:
        if self.bar is not None:
            self.bar.update(t - self.bar.n)
            return
        now = self.clock()
        if self.first is None:  # before it lie numba's compilation and the initial state: no measure of the rate
            self.first = (t, now)
        if self.quiet or (now - self.last < 5.0 and t < t_end):
            return
        self.last = now
        t_first, wall_first = self.first
        remaining = (f"remaining about {(now - wall_first) * (t_end - t) / (t - t_first):.0f} s" if t > t_first
                     else "remaining time from the next frames")
        log.info("t = %.4g / %.4g tau_D (%.0f%%), elapsed %.1f s, %s", t, t_end, 100 * t / t_end, now - self.start,
                 remaining)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class PointProgress:
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


class FitProgress:
    """A fit's evaluations, chi^2/dof and best point: a bar over the optimiser's evaluation budget in a
    terminal, otherwise a log line per evaluation of the optimiser (and when the errors are computed)."""

    def __init__(self, quiet: bool):
        self.quiet, self.bar = quiet, None
        self.terminal = not quiet and sys.stderr.isatty()

    @staticmethod
    def _best(step) -> str:
        return ", ".join(f"{label} = {value:.6g}" for label, value in step.best.items())

    def __call__(self, step) -> None:
        if self.terminal:
            if self.bar is None:  # made at the first step, when the budget is known
                from tqdm import tqdm

                self.bar = tqdm(total=step.max_evaluations, unit="evaluation", dynamic_ncols=True)
            self.bar.set_postfix_str(f"chi2/dof {step.best_chi2 / step.dof:.4g} at {self._best(step)}; "
                                     f"{step.evaluations} model evaluations", refresh=False)
            self.bar.update(step.optimiser_evaluations - self.bar.n)
        elif not self.quiet and step.phase == "evaluation":
            log.info("evaluation %d (at most %d; %d model evaluations with the Jacobians): chi2/dof %.6g, "
                     "best %.6g at %s", step.optimiser_evaluations, step.max_evaluations, step.evaluations,
                     step.chi2 / step.dof, step.best_chi2 / step.dof, self._best(step))
        elif not self.quiet and step.phase == "covariance":
            log.info("optimum reached after %d evaluations; computing the errors", step.optimiser_evaluations)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
