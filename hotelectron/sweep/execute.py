"""Running the points of a sweep: each in a Dask worker (or one after another in this process),
each into its own HDF5 file, with a summary table rewritten as points finish.

A point that fails (invalid parameters, numerical trouble, a killed worker) becomes a row with status
``failed`` and its error, and the sweep goes on. With ``resume=True`` points whose files say
``finished`` are read back, not rerun; the others run again, an evolution from its last complete
frame.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from pathlib import Path

import h5py

from ..io.outputs import intact, refuse_other_scenario
from ..io.storage import STATUS_FAILED, STATUS_FINISHED, WriteError, check_not_in_use
from .spec import Point, Sweep
from .summary import failed_row, summarise_file, write_summary

__all__ = ["SweepResult", "local_client", "run_point", "run_sweep"]

log = logging.getLogger(__name__)
SUMMARY_NAME = "summary.csv"


@dataclasses.dataclass
class SweepResult:
    """The summary rows (one per point, in point order) and where they were written."""

    rows: list
    summary: Path

    @property
    def failed(self) -> list:
        return [row for row in self.rows if row["status"] != STATUS_FINISHED]


def _resumable(path: Path) -> bool:
    """Whether ``path`` holds at least one complete frame (a killed run can be continued)."""
    try:
        with h5py.File(path, "r") as fh:
            return fh["time"].shape[0] > 0
    except (OSError, KeyError):  # absent, or cut off before its layout was written
        return False


@contextlib.contextmanager
def loader_warnings_silenced():
    """Keep the scenario loader from logging its warnings (a point's are logged once, named, when
    the sweep validates it; a worker or a second check repeating them unnamed would only add noise)."""
    from ..io.scenario import loader

    def not_a_warning(record: logging.LogRecord) -> bool:
        return record.levelno != logging.WARNING

    loader.log.addFilter(not_a_warning)
    try:
        yield
    finally:
        loader.log.removeFilter(not_a_warning)


def run_point(text: str, path: str, params: dict, index: int) -> dict:
    """Run one point (a complete scenario text) into ``path``; returns its summary row.

    Runs in a worker process: everything it needs travels in its arguments, and every failure of
    the run is returned as a row rather than raised, so that the sweep goes on. A file left by a
    killed run continues from its last complete frame (a steady state, having no path to continue,
    starts again); a file that cannot be continued is replaced. The scenario's warnings are not
    logged again here: the sweep logged them, naming the point, when it validated it.
    """
    from ..io.runner import run_scenario
    from ..io.scenario import parse_scenario

    path = Path(path)
    start = time.perf_counter()
    try:
        with loader_warnings_silenced():
            scenario = parse_scenario(text)
        resume = scenario.mode != "steady" and _resumable(path)
        try:
            run_scenario(scenario, path, resume=resume)
        except (OSError, KeyError, ValueError) as exc:
            if not resume or isinstance(exc, WriteError):  # a full disk is not cured by starting again
                raise
            log.warning("%s cannot be continued (%s); running it again from the start", path, exc)
            run_scenario(scenario, path)
        return summarise_file(path, index, params)
    except Exception as exc:  # recorded in the row (and in the file, which run_scenario marks failed)
        return failed_row(index, params, path if path.exists() else None,
                          f"{type(exc).__name__}: {exc}", time.perf_counter() - start)


def _finished_row(point: Point, path: Path, overwrite: bool):
    """The row of a point whose file is complete, or None when it must run (again).

    A file that says finished but fails its checksums raises ``DamagedFileError``; with
    ``overwrite`` it is removed and the point runs again.
    """
    try:
        with h5py.File(path, "r") as fh:
            status = str(fh.attrs["status"])
            if "scenario" not in fh.attrs:  # not a point file that can be compared: it runs again
                return None
    except (OSError, KeyError):
        return None
    refuse_other_scenario(path, point.text, "resume only with the sweep file that made it, or choose another "
                          "output folder", other=f"other parameters than {point.name} of this sweep")
    if status != STATUS_FINISHED:
        return None
    if not intact(path, overwrite, "--overwrite runs the point again"):
        log.warning("%s is damaged; running it again (--overwrite)", path)
        path.unlink()
        return None
    try:
        return summarise_file(path, point.index, point.params)
    except (OSError, KeyError, ValueError) as exc:  # damaged after it finished: run it again
        log.warning("%s says finished but cannot be read (%s); running it again", path, exc)
        return None


def _validated(point: Point):
    """None when the point's scenario is valid, else its failed row (checked before any worker runs).
    Its warnings are logged here, once, named by the sweep file and the point's swept values."""
    from ..io.scenario import parse_scenario

    try:
        parse_scenario(point.text, path=point.where)
    except ValueError as exc:  # the row names the point: its error need not
        return failed_row(point.index, point.params, None, f"ValueError: {str(exc).removeprefix(point.where + ': ')}", 0.0)
    return None


# Dask's default MALLOC_TRIM_THRESHOLD_ = 65536 for worker processes makes glibc hand every freed
# array back to the system and map it again at the next allocation: the solver's temporaries then
# cost page faults, and a point runs about twice as slowly (measured: 10.5 s against 4.9 s).
WORKER_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
# One numba thread per worker: the workers already fill the cores. Set in the worker process only:
# the nanny copies its pre-spawn variables into this process's os.environ, and numba refuses to
# compile anything once NUMBA_NUM_THREADS differs from the thread pool it already launched.
WORKER_ONLY_ENV = {"NUMBA_NUM_THREADS": "1"}


def local_client(workers: int):
    """A dask.distributed client on a LocalCluster of ``workers`` single-threaded processes."""
    import dask
    from distributed import Client, LocalCluster

    saved = dict(os.environ)
    try:
        with dask.config.set(WORKER_ENVIRON):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, env=WORKER_ONLY_ENV,
                                   dashboard_address=":0", silence_logs=logging.ERROR)
    finally:  # the nanny's os.environ.update (OMP_NUM_THREADS=1, ...) must not change this process
        os.environ.clear()
        os.environ.update(saved)
    return Client(cluster)


def run_sweep(sweep: Sweep, output, *, client=None, resume: bool = False, overwrite: bool = False,
              progress=None) -> SweepResult:
    """Run every point of ``sweep`` into the folder ``output`` (``point-NNNN.h5`` and ``summary.csv``).

    ``client``: a ``distributed.Client``; None runs the points one after another in this process.
    ``progress(finished, failed, total)`` is called as points end. Without ``resume`` a folder that
    already holds point files or a summary table is refused, so that no finished point is overwritten by accident;
    ``overwrite`` replaces them (with ``resume``: only those that say finished but are damaged). A
    folder holding point files that this sweep does not write (more points than it has: another
    sweep's or series') is refused in every case: they are not its own to replace.
    """
    output = Path(output).resolve()  # workers elsewhere must write where this process reads
    points = sweep.points()
    existing = sorted(output.glob("point-*.h5")) if output.exists() else []
    summary = output / SUMMARY_NAME
    own = {f"{point.name}.h5" for point in points}
    foreign = [path.name for path in existing if path.name not in own]
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        msg = (f"{output} holds {len(foreign)} point file(s) that the {len(points)} points here do not write "
               f"({shown}): they belong to another sweep or series; choose another output folder, or remove them")
        raise ValueError(msg)
    if (existing or summary.exists()) and not (resume or overwrite):
        what = f"{len(existing)} point file(s)" if existing else f"a {SUMMARY_NAME}"
        msg = f"{output} already holds {what}; --resume continues the sweep, --overwrite replaces them"
        raise ValueError(msg)
    if overwrite and not resume:
        for path in existing:  # all checked first: a point file a live sweep still writes is kept, and so are the others
            check_not_in_use(path)
        for path in existing:
            path.unlink()
    output.mkdir(parents=True, exist_ok=True)
    rows: dict[int, dict] = {}
    counts = {"finished": 0, "failed": 0}

    def record(row: dict) -> None:
        rows[row["index"]] = row
        counts["finished" if row["status"] == STATUS_FINISHED else "failed"] += 1
        if row["status"] != STATUS_FINISHED:
            log.warning("%s failed: %s", points[row["index"]].label, row["error"])
        write_summary([rows[i] for i in sorted(rows)], sweep.keys, summary)
        if progress is not None:
            progress(counts["finished"], counts["failed"], len(points))

    todo = []
    paths = [output / f"{point.name}.h5" for point in points]
    known = [(_finished_row(point, path, overwrite) if resume else None) or _validated(point)  # before any write
             for point, path in zip(points, paths, strict=True)]
    for point, path, row in zip(points, paths, known, strict=True):
        if row is not None:
            record(row)
        else:
            todo.append((point, path))
    if resume:
        log.info("%d of %d points already finished; running %d", counts["finished"], len(points), len(todo))
    if client is None:
        for point, path in todo:
            record(run_point(point.text, str(path), point.params, point.index))
    else:
        _run_on_dask(client, todo, record)
    return SweepResult([rows[i] for i in sorted(rows)], summary)


def _run_on_dask(client, todo, record) -> None:
    from distributed import as_completed

    futures = {}
    for point, path in todo:
        future = client.submit(run_point, point.text, str(path), point.params, point.index,
                               key=f"hotelectron-{path.stem}-{time.time_ns()}", pure=False, retries=0)
        futures[future] = (point, path)
    try:
        for future in as_completed(futures):
            point, path = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # the worker died (KilledWorker) or the task could not run
                row = failed_row(point.index, point.params, path if path.exists() else None,
                                 f"{type(exc).__name__}: {exc}", float("nan"))
                _mark_failed(path, row["error"])
            record(row)
    except BaseException:
        client.cancel(list(futures))
        raise


def _mark_failed(path: Path, message: str) -> None:
    """A file left ``running`` by a dead worker says failed (it can still be resumed)."""
    try:
        with h5py.File(path, "r+") as fh:
            if str(fh.attrs.get("status")) != STATUS_FINISHED:
                fh.attrs.update(status=STATUS_FAILED, message=message)
    except (OSError, KeyError):
        pass
