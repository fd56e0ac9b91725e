"""How a fit on Dask should carry its warm starts: three ways measured on the fit benchmark's problem.

    python benchmarks/fit_warm_starts.py [--rounds 2] [--quick]

Every steady state of a fit starts from its curve's state at the last evaluation (the anchor). On
Dask the anchor must reach the worker that solves the job:

* ``embed``: each job carries its anchor in its own arguments (one copy per job); what
  ``hotelectron fit --workers`` does (:class:`hotelectron.experiment.solves.DaskSolves`);
* ``scatter``: the distinct anchors of a batch are scattered to the workers first, once per batch
  (a Jacobian's jobs share them), and the jobs name the scattered futures;
* ``keep``: each anchor stays on the worker that solved it, as a Dask future; a job names that future,
  and Dask runs it on the worker holding it (or moves it when that worker is busy): the state never
  travels from the client.

All three start every solve from the same state, so they give the same fit; only the wall time
differs. The fits alternate with a serial one, ``--rounds`` times, and the medians are printed, with
the load average (the machine is shared).
"""

import argparse
import logging
import operator
import os
import statistics
import time

import distributed  # noqa: F401  (imported first: it sets its own log level)

from hotelectron.bench.fit import fit_bench_problem, warm_cluster
from hotelectron.experiment.fit import fit
from hotelectron.experiment.solves import DaskSolves


class ScatteredSolves(DaskSolves):
    """The distinct warm starts of a batch are scattered once; the jobs name them."""

    def _warm_starts(self, states):
        distinct = list({id(state): state for state in states if state is not None}.values())
        if not distinct:
            return states
        remote = dict(zip(map(id, distinct), self.client.scatter(distinct, hash=False), strict=True))
        return [None if state is None else remote[id(state)] for state in states]


class KeptSolves(DaskSolves):
    """Each warm start stays on the worker that solved it; a job names its future."""

    def __init__(self, client):
        super().__init__(client)
        self.remote = {}  # id(state) -> (state, its future on a worker)
        self.used = {}

    def _warm_starts(self, states):
        self.used = {}
        for state in states:
            if state is not None:
                if id(state) not in self.remote:  # not solved on the cluster (e.g. a resumed fit's file)
                    self.remote[id(state)] = (state, self.client.scatter(state, hash=False))
                self.used[id(state)] = self.remote[id(state)]
        return [None if state is None else self.remote[id(state)][1] for state in states]

    def _solved(self, futures, states):
        # keep what may be an anchor next: the states just solved (each job's future holds (state, curves):
        # the state is taken out where it lies) and the anchors still in use
        kept = [self.client.submit(operator.getitem, f, 0, pure=False) for f in futures]
        self.remote = {**self.used, **{id(s): (s, f) for s, f in zip(states, kept, strict=True)}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("distributed").setLevel(logging.WARNING)
    print("load average at the start:", os.getloadavg())
    problem, _truth = fit_bench_problem(args.quick)
    with warm_cluster(problem, 2) as client:
        ways = {"serial": lambda: None, "embed": lambda: DaskSolves(client),
                "scatter": lambda: ScatteredSolves(client), "keep": lambda: KeptSolves(client)}
        walls = {name: [] for name in ways}
        values = {}
        for k in range(args.rounds):
            for name, make in ways.items():
                start = time.perf_counter()
                result = fit(problem, solves=make())
                walls[name].append(time.perf_counter() - start)
                values[name] = [p.value for p in result.free]
                print(f"round {k + 1}: {name:8s} {walls[name][-1]:6.2f} s, {result.evaluations} evaluations, "
                      f"{result.steady_solves} steady states; load {os.getloadavg()[0]:.2f}", flush=True)
    serial = statistics.median(walls["serial"])
    for name, wall in walls.items():
        median = statistics.median(wall)
        same = max(abs(a / b - 1) for a, b in zip(values[name], values["serial"], strict=True))
        print(f"{name:8s} median {median:6.2f} s  speed-up {serial / median:.2f}  "
              f"largest relative difference from serial {same:.1e}")
    print("load average at the end:", os.getloadavg())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
