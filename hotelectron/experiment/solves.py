"""The steady states of a fit's curves, solved in batches: one after another in this process, or
concurrently on Dask workers.

A fit needs the steady state of every curve at one parameter point (a model evaluation) or at
several at once (the points of a finite-difference Jacobian). Each is a job: a complete scenario
text and a warm start, the steady state of the same curve at a nearby point (or None: the solver
starts from the collisionless solution). :func:`solve_curve` does one job; it needs nothing but its
arguments, so it runs the same in a worker process as here. Which warm start a job gets is decided
by the fit (:class:`hotelectron.experiment.fit.FitModel`), not by the order in which jobs happen to
run, so a batch gives the same states whether :class:`LocalSolves` or :class:`DaskSolves` solves it.

On Dask each job carries its warm start in its arguments (f on the wire, n_x x n_energy numbers:
0.3 MB at 33 x 1201). That measured faster than scattering the distinct warm starts of a batch once
(a round trip more per batch) and than keeping each curve's state on the worker that solved it
(``benchmarks/fit_warm_starts.py``). The batch is cancelled when the caller is interrupted. A worker that dies in the
middle of a job is replaced by Dask and the job runs again elsewhere (it is pure: same text, same
start, same result); an exception inside a job (a refused scenario, a solve that does not converge)
is raised here.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import numpy as np

from ..wire.steady import SteadyState

__all__ = ["CurveState", "DaskSolves", "LocalSolves", "solve_curve"]


@dataclass(frozen=True, eq=False)
class CurveState:
    """The steady state of one curve's scenario.

    Attributes
    ----------
    text : the scenario (TOML text) it solves.
    x, energy : the wire grid (in L) and the energy grid (in E0).
    energy_unit_meV : E0 in meV.
    steady : the solution (f on all nodes, stationary pairs, Newton iterations, final residual).
    warm_started : whether the solve started from a warm start (else: the collisionless solution).
    wall_s : seconds the solve took (parsing the scenario included).
    """

    text: str
    x: np.ndarray
    energy: np.ndarray
    energy_unit_meV: float
    steady: SteadyState
    warm_started: bool = False
    wall_s: float = 0.0

    @property
    def energy_meV(self) -> np.ndarray:
        return self.energy * self.energy_unit_meV

    @property
    def f_middle(self) -> np.ndarray:
        """f at the middle node x = L/2 (n_x is odd)."""
        return self.steady.f[self.x.size // 2]

    def same_grids(self, x, energy) -> bool:
        return (self.x.shape == np.shape(x) and self.energy.shape == np.shape(energy)
                and np.array_equal(self.x, x) and np.array_equal(self.energy, energy))


def solve_curve(text: str, warm: CurveState | None, steady_tol: float) -> CurveState:
    """Solve the steady state of the scenario ``text`` to the residual ``steady_tol`` (1/tau_D),
    starting from ``warm`` when it has the same grids, else from the collisionless solution."""
    from ..io.scenario import parse_scenario
    from ..wire.steady import steady_state

    start = time.perf_counter()
    scenario = parse_scenario(text)
    problem = scenario.problem
    x, energy = problem.wire.values, problem.energy.values
    initial = warm.steady.f if warm is not None and warm.same_grids(x, energy) else None
    steady = steady_state(problem, f_tol=steady_tol, initial=initial)
    return CurveState(text, x, energy, float(scenario.derived["energy_unit_meV"]), steady, initial is not None,
                      time.perf_counter() - start)


class LocalSolves:
    """Solves the jobs of a batch one after another in this process."""

    def solve(self, jobs, steady_tol: float) -> list[CurveState]:
        """``jobs``: (scenario text, warm start or None) pairs; the states in the same order."""
        return [solve_curve(text, warm, steady_tol) for text, warm in jobs]


class DaskSolves:
    """Solves the jobs of a batch concurrently on the workers of a ``distributed.Client``."""

    def __init__(self, client):
        self.client = client

    def solve(self, jobs, steady_tol: float) -> list[CurveState]:
        """``jobs``: (scenario text, warm start or None) pairs; the states in the same order."""
        batch = uuid.uuid4().hex[:12]
        futures = []
        try:
            for k, (text, warm) in enumerate(jobs):  # each job carries its warm start (see the module doc)
                futures.append(self.client.submit(solve_curve, text, warm, steady_tol,
                                                  key=f"hotelectron-fit-{batch}-{k}", pure=False))
            return self.client.gather(futures)
        except BaseException:  # an interrupt too: leave no job running on the workers
            self.client.cancel(futures)
            raise
