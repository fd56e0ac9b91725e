"""The steady states and model curves of a fit, computed in batches: one after another in this
process, or concurrently on Dask workers.

A fit needs the steady state of every curve at one parameter point (a model evaluation) or at
several at once (the points of a finite-difference Jacobian), and from each the model curve: f at
x = L/2 through the probe model (:func:`model_curve`). A batch is a list of jobs, each a complete
scenario text and a warm start (the steady state of the same curve at a nearby point, or None: the
solver starts from the collisionless solution), and a list of curves, each computed from a job's
state or from a state already known (a probe parameter moved, the scenario did not). :func:`solve_curve`
does one job; it needs nothing but its arguments, so it runs the same in a worker process as here.
Which warm start a job gets is decided by the fit (:class:`hotelectron.experiment.fit.FitModel`), not
by the order in which jobs happen to run, so a batch gives the same states whether
:class:`LocalSolves` or :class:`DaskSolves` runs it.

On Dask each job carries its warm start in its arguments (f on the wire, n_x x n_energy numbers:
0.3 MB at 33 x 1201). That measured faster than scattering the distinct warm starts of a batch once
(a round trip more per batch) and than keeping each curve's state on the worker that solved it
(``benchmarks/fit_warm_starts.py``). A job also computes the curves of its state, and the curves of
known states are tasks of their own (f at L/2 sent along): the probe model costs about half a steady
state on the benchmark's grids and would otherwise run here, one curve after another. The batch is cancelled when the caller
is interrupted. A worker that dies in the middle of a job is replaced by Dask and the job runs again
elsewhere (it is pure: same text, same start, same result); an exception inside a job (a refused
scenario, a solve that does not converge) is raised here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np

from ..wire.steady import SteadyState
from .probe import ProbeParameters, probe_conductance

__all__ = ["CurveState", "DaskSolves", "LocalSolves", "model_curve", "solve_and_map", "solve_curve"]


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
    """

    text: str
    x: np.ndarray
    energy: np.ndarray
    energy_unit_meV: float
    steady: SteadyState
    warm_started: bool = False

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

    scenario = parse_scenario(text)
    problem = scenario.problem
    x, energy = problem.wire.values, problem.energy.values
    initial = warm.steady.f if warm is not None and warm.same_grids(x, energy) else None
    steady = steady_state(problem, f_tol=steady_tol, initial=initial)
    return CurveState(text, x, energy, float(scenario.derived["energy_unit_meV"]), steady, initial is not None)


def model_curve(kind: str, x, probe: ProbeParameters, energy_meV, f_middle) -> np.ndarray:
    """The model y on ``x`` of a measured curve of ``kind`` from f at x = L/2 (``f_middle`` on
    ``energy_meV``): R_T dI/dV of the probe for ``"conductance"``, f interpolated for ``"distribution"``."""
    if kind == "conductance":
        return probe_conductance(energy_meV, f_middle, x, probe)
    return np.interp(x, energy_meV, f_middle)


def solve_and_map(text: str, warm: CurveState | None, steady_tol: float, requests) -> tuple[CurveState, list]:
    """:func:`solve_curve`, then the model curves ``requests``, (kind, x, probe) triples, from its state."""
    state = solve_curve(text, warm, steady_tol)
    return state, [model_curve(kind, x, probe, state.energy_meV, state.f_middle) for kind, x, probe in requests]


def _split(n_jobs: int, curves):
    """The curves of each job and those of known states, with their positions in ``curves``."""
    by_job, known = [[] for _ in range(n_jobs)], []
    for position, (source, kind, x, probe) in enumerate(curves):
        if isinstance(source, int):
            by_job[source].append((position, (kind, x, probe)))
        else:  # only f at L/2 is needed
            known.append((position, (kind, x, probe, source.energy_meV, source.f_middle)))
    return by_job, known


def _assemble(n_curves: int, by_job, solved, known, known_ys):
    ys = [None] * n_curves
    for requests, (_, job_ys) in zip(by_job, solved, strict=True):
        for (position, _), y in zip(requests, job_ys, strict=True):
            ys[position] = y
    for (position, _), y in zip(known, known_ys, strict=True):
        ys[position] = y
    return [state for state, _ in solved], ys


class LocalSolves:
    """Runs a batch one job after another in this process."""

    def run(self, jobs, curves, steady_tol: float) -> tuple[list[CurveState], list[np.ndarray]]:
        """Solve ``jobs``, (scenario text, warm start or None) pairs, to ``steady_tol``, and compute
        ``curves``, (source, kind, x, probe) with source a job's index or a known CurveState; returns the
        states of the jobs and the model y of the curves, in their orders."""
        by_job, known = _split(len(jobs), curves)
        solved = [solve_and_map(text, warm, steady_tol, [r for _, r in requests])
                  for (text, warm), requests in zip(jobs, by_job, strict=True)]
        return _assemble(len(curves), by_job, solved, known, [model_curve(*args) for _, args in known])


class DaskSolves:
    """Runs a batch concurrently on the workers of a ``distributed.Client``: each job solves its steady
    state and computes the model curves that need it; the curves of known states are tasks of their own."""

    def __init__(self, client):
        self.client = client

    def run(self, jobs, curves, steady_tol: float) -> tuple[list[CurveState], list[np.ndarray]]:
        """As :meth:`LocalSolves.run`."""
        from distributed import Future

        batch = uuid.uuid4().hex[:12]
        submit = self.client.submit
        by_job, known = _split(len(jobs), curves)
        keys = ([f"hotelectron-fit-{batch}-{k}" for k in range(len(jobs))]
                + [f"hotelectron-fit-{batch}-curve-{k}" for k in range(len(known))])
        futures = []
        try:
            warm = self._warm_starts([state for _, state in jobs])
            for (text, _), start, requests, key in zip(jobs, warm, by_job, keys[:len(jobs)], strict=True):
                futures.append(submit(solve_and_map, text, start, steady_tol, [r for _, r in requests], key=key,
                                      pure=False))
            for (_, args), key in zip(known, keys[len(jobs):], strict=True):
                futures.append(submit(model_curve, *args, key=key, pure=False))
            results = self.client.gather(futures)
            solved = results[:len(jobs)]
            self._solved(futures[:len(jobs)], [state for state, _ in solved])
            return _assemble(len(curves), by_job, solved, known, results[len(jobs):])
        except BaseException:  # an interrupt too, anywhere in the batch: leave nothing of it on the workers,
            # by every key of the batch (an interrupt inside submit() can leave a job on the cluster before its
            # future is kept; one after the gather leaves the results there while its traceback holds them)
            self.client.cancel(futures + [Future(key, self.client) for key in keys[len(futures):]])
            raise

    def _warm_starts(self, states: list) -> list:
        """What the jobs receive as their warm starts: the states themselves (see the module doc)."""
        return states

    def _solved(self, futures: list, states: list) -> None:
        """Called with the futures of the jobs of each batch (each holds (state, curves)) and their states."""
