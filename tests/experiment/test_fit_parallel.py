"""Fits whose steady states are solved on a real Dask LocalCluster of two worker processes, the rule
that fixes every solve's warm start, and a fit interrupted and resumed.

The wire is the small Cu wire of the fit tests (n_x = 17, n_energy = 241, ~10 ms a steady state); a
fit of 2 parameters to 3 curves takes ~40 model evaluations.
"""

import json
import signal
import time

import numpy as np
import pytest
from distributed import get_task_stream

from systems import FIT_WIRE as BASE

from hotelectron.experiment.data import MeasuredCurve
from hotelectron.experiment.fit import (STATUS_INTERRUPTED, FitInterrupted, FitModel, FitProblem, FitStart,
                                        Parameter, fit)
from hotelectron.experiment.probe import ProbeParameters
from hotelectron.experiment.solves import DaskSolves, LocalSolves
from hotelectron.sweep import local_client

KAPPA_UNIT = "1/ns/meV^0.5"
PROBE = ProbeParameters(gap_meV=0.17, dynes_meV=2e-3, temperature_K=0.1)
V_MV = np.linspace(-0.5, 0.5, 101)
SIGMA = 2e-3
TRUTH = {"electron_electron.kappa": 1.0, "probe.gap": 0.17}
# Two fits that solve the same steady states from the same starts differ only by the solver's
# round-off: f is converged to ~1e-13 and a noise-free fit recovers its parameters to ~1e-12
# (tests/experiment/test_fit.py), so the optimum moves by ~1e-12 relative; 1e-9 leaves a factor 1000.
SAME_VALUE_RTOL = 1e-9
# the errors come from a central-difference Jacobian with solver noise ~1e-9 of each column
SAME_STDERR_RTOL = 1e-6


def parameters():
    return [Parameter("electron_electron.kappa", 1.25, 0.01, 100.0, unit=KAPPA_UNIT),
            Parameter("probe.gap", 0.2, 0.05, 0.5)]


@pytest.fixture(scope="module")
def problem():
    """Three noisy conductance curves made by the model at TRUTH."""
    placeholder = [MeasuredCurve(u, None, None, "conductance", V_MV, np.zeros_like(V_MV)) for u in (0.1, 0.2, 0.3)]
    exact = [Parameter(label, value, unit=KAPPA_UNIT if "kappa" in label else None) for label, value in TRUTH.items()]
    model = FitModel(FitProblem(BASE, placeholder, exact, PROBE))
    rng = np.random.default_rng(20261207)
    curves = [MeasuredCurve(c.bias_mV, None, None, "conductance", V_MV,
                            model.curve(TRUTH, i)[0] + SIGMA * rng.standard_normal(V_MV.size))
              for i, c in enumerate(placeholder)]
    return FitProblem(BASE, curves, parameters(), PROBE, sigma=(SIGMA,) * 3)


@pytest.fixture(scope="module")
def serial(problem):
    return fit(problem)


@pytest.fixture(scope="module")
def client():
    client = local_client(2)
    assert len(client.scheduler_info()["workers"]) == 2
    yield client
    client.close()
    client.cluster.close()


def assert_same_fit(a, b):
    for p in a.free:
        q = b[p.parameter.label]
        assert q.value == pytest.approx(p.value, rel=SAME_VALUE_RTOL), p.parameter.label
        assert q.stderr == pytest.approx(p.stderr, rel=SAME_STDERR_RTOL), p.parameter.label
    assert b.chi2 == pytest.approx(a.chi2, rel=SAME_VALUE_RTOL)
    np.testing.assert_allclose(b.correlation, a.correlation, atol=SAME_STDERR_RTOL)


def test_a_fit_on_two_dask_workers_equals_the_serial_fit(problem, serial, client):
    with get_task_stream(client) as stream:
        parallel = fit(problem, solves=DaskSolves(client))
    assert serial.success and parallel.success
    assert_same_fit(serial, parallel)
    # the same optimiser path: the same evaluations, the same steady states from the same starts
    assert (parallel.evaluations, parallel.optimiser_evaluations, parallel.steady_solves, parallel.newton_iterations) == (
        serial.evaluations, serial.optimiser_evaluations, serial.steady_solves, serial.newton_iterations)
    # the warm starts reached the workers: each best state was started from an earlier one
    assert all(c.state.warm_started for c in parallel.curves)
    solved_on = {task["worker"] for task in stream.data if task["key"].startswith("hotelectron-fit-")}
    assert len(solved_on) == 2, "both workers solve steady states"
    # the truth is recovered within the (same) errors
    for p in parallel.free:
        assert abs(p.value - TRUTH[p.parameter.label]) < 3 * p.stderr


def test_an_interrupt_during_a_dask_batch_cancels_it_and_keeps_the_best_point(problem, client):
    """A KeyboardInterrupt (SIGALRM's handler raising it 10 ms after the second evaluation, while the
    Jacobian's jobs run on the workers): FitInterrupted with the best of the two points, no fit job
    left on the cluster, and the cluster serves the next fit."""
    chi2 = []

    def alarm_after_the_second_evaluation(step):
        if step.phase == "evaluation":
            chi2.append(step.chi2)
            if len(chi2) == 2:
                signal.setitimer(signal.ITIMER_REAL, 0.01)

    previous = signal.signal(signal.SIGALRM, signal.default_int_handler)
    try:
        with pytest.raises(FitInterrupted) as caught:
            fit(problem, solves=DaskSolves(client), progress=alarm_after_the_second_evaluation)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    stopped = caught.value.result
    assert stopped.optimiser_evaluations == 2 and stopped.chi2 == min(chi2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(k.startswith("hotelectron-fit-") for k in client.who_has()):
        time.sleep(0.05)
    assert not [k for k in client.who_has() if k.startswith("hotelectron-fit-")]
    assert not any(client.processing().values())
    again, _ = DaskSolves(client).run([(stopped.curves[0].state.text, None)], [], problem.steady_tol)
    np.testing.assert_allclose(again[0].steady.f, stopped.curves[0].state.steady.f, atol=1e-12)


def test_an_interrupt_inside_submit_leaves_no_job_on_the_cluster(problem, client):
    """An interrupt that lands inside ``Client.submit`` after the job went to the scheduler, before its
    future was kept (made deterministic here: the second submit raises after submitting), still cancels
    that job: the batch is cancelled by its keys, not only by the futures it kept."""
    model = FitModel(problem)
    jobs = [(model.scenario_text({"electron_electron.kappa": kappa, "probe.gap": 0.17}, 0), None) for kappa in (1.0, 1.1)]
    real_submit, calls = client.submit, []

    def submit_then_interrupt(*args, **kwargs):
        future = real_submit(*args, **kwargs)
        calls.append(future.key)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return future

    client.submit = submit_then_interrupt
    try:
        with pytest.raises(KeyboardInterrupt):
            DaskSolves(client).run(jobs, [], problem.steady_tol)
    finally:
        del client.submit
    assert len(calls) == 2
    deadline = time.monotonic() + 30
    def left():  # held in memory or still running on a worker
        running = {key for tasks in client.processing().values() for key in tasks}
        return [k for k in calls if k in client.who_has() or k in running]

    while time.monotonic() < deadline and left():
        time.sleep(0.05)
    assert not left()


def test_an_interrupt_after_the_gather_leaves_no_result_on_the_cluster(problem, client, monkeypatch):
    """An interrupt after the batch's results came back (here: in the hook that sees the solved jobs) would
    keep them on the workers as long as its traceback holds the batch's futures: they are cancelled."""
    model = FitModel(problem)
    jobs = [(model.scenario_text({"electron_electron.kappa": 1.2, "probe.gap": 0.17}, 0), None)]
    seen = []

    def interrupt(futures, states):
        seen.extend(f.key for f in futures)
        raise KeyboardInterrupt

    monkeypatch.setattr(DaskSolves, "_solved", lambda self, futures, states: interrupt(futures, states))
    with pytest.raises(KeyboardInterrupt) as caught:  # held, as FitInterrupted holds its context
        DaskSolves(client).run(jobs, [], problem.steady_tol)
    assert caught.value is not None and len(seen) == 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and seen[0] in client.who_has():
        time.sleep(0.05)
    assert seen[0] not in client.who_has()


class RecordingSolves(LocalSolves):
    """Solves in this process and records each batch: (scenario text, text of its warm start)."""

    def __init__(self):
        self.batches = []

    def run(self, jobs, curves, steady_tol):
        self.batches.append([(text, None if warm is None else warm.text) for text, warm in jobs])
        return super().run(jobs, curves, steady_tol)


def test_every_solve_of_an_evaluation_or_a_jacobian_starts_from_its_curves_anchor(problem):
    """The rule that makes the order of the solves irrelevant: a solve of curve i starts from curve
    i's state at the last model evaluation, also for every point of a Jacobian."""
    solves = RecordingSolves()
    model = FitModel(problem, solves)
    centre = {"electron_electron.kappa": 1.1, "probe.gap": 0.18}
    r0 = model.residuals(centre)
    anchors = [state.text for state in model.anchors]
    assert solves.batches[0] == [(text, None) for text in anchors]  # nothing to start from yet: cold
    moved = [{**centre, "electron_electron.kappa": 1.1 * (1 + 1e-6)}, {**centre, "probe.gap": 0.18 * (1 + 1e-6)}]
    r = model.evaluate(moved)
    # one batch: kappa's point solves every curve again from the anchors; the gap's point solves none
    assert len(solves.batches) == 2
    assert [warm for _, warm in solves.batches[1]] == anchors
    assert [text for text, _ in solves.batches[1]] == [model.scenario_text(moved[0], i) for i in range(3)]
    assert [state.text for state in model.anchors] == anchors  # a Jacobian leaves the anchors in place
    assert not np.array_equal(r[1], r0) and not np.array_equal(r[0], r0)


def test_an_interrupted_fit_keeps_its_best_point_and_resumes_to_the_same_optimum(problem, serial):
    """KeyboardInterrupt after the fourth evaluation: FitInterrupted carries the lowest chi^2 seen,
    no errors; a FitStart from its fit.json and its states continues to the uninterrupted optimum."""
    seen = []

    def stop_after_four(step):
        if step.phase == "evaluation":
            seen.append((step.chi2, dict(step.best)))
            if len(seen) == 4:
                raise KeyboardInterrupt

    with pytest.raises(FitInterrupted) as caught:
        fit(problem, progress=stop_after_four)
    stopped = caught.value.result
    assert stopped.status == STATUS_INTERRUPTED and not stopped.success
    assert stopped.chi2 == min(chi2 for chi2, _ in seen)
    assert {p.parameter.label: p.value for p in stopped.free} == pytest.approx(seen[-1][1], rel=1e-15)
    assert all(p.stderr is None for p in stopped.parameters) and stopped.correlation is None
    assert stopped.optimiser_evaluations == 4
    # the model curves of the result are those of its states and values
    assert stopped.chi2 == pytest.approx(sum(float(np.sum(c.residual**2)) for c in stopped.curves), rel=1e-12)
    data = json.loads(stopped.to_json())
    assert data["status"] == "interrupted" and data["correlation"]["matrix"] is None

    start = FitStart.from_dict(data, problem, states=[c.state for c in stopped.curves])
    solves = RecordingSolves()
    resumed = fit(problem, start=start, solves=solves)
    assert solves.batches[0] == []  # the first evaluation is the best point: its states are known
    assert_same_fit(serial, resumed)
    assert resumed.status == "finished" and resumed.optimiser_evaluations > 4
    assert resumed.evaluations > stopped.evaluations and resumed.steady_solves > stopped.steady_solves


def test_resuming_another_fit_is_refused(problem, serial):
    data = json.loads(serial.to_json())
    other = FitProblem(problem.base, problem.curves, [parameters()[0], Parameter("probe.gap", 0.2, 0.05, 0.4)],
                       PROBE, sigma=problem.sigma)  # another bound
    with pytest.raises(ValueError, match="written by another fit"):
        FitStart.from_dict(data, other)
    assert FitStart.from_dict(data, problem).values == {p.parameter.label: p.value for p in serial.free}
    with pytest.raises(ValueError, match="not the result of a fit"):
        FitStart.from_dict({"parameters": {}}, problem)


def test_the_fingerprint_covers_the_data(problem):
    changed = [MeasuredCurve(c.bias_mV, None, None, c.kind, c.x, c.y + (1e-15 if i == 2 else 0.0))
               for i, c in enumerate(problem.curves)]
    assert FitProblem(problem.base, changed, problem.parameters, PROBE, sigma=problem.sigma).fingerprint != problem.fingerprint
    assert FitProblem(problem.base, problem.curves, parameters(), PROBE, sigma=problem.sigma).fingerprint == problem.fingerprint
