"""HDF5 trajectories: one file per run, frames flushed as they are written, resumable.

Layout (all energies in the run's energy unit E0, positions in L, times in tau_D), netCDF4-compatible
so that ``xarray.open_dataset(path, engine="h5netcdf", group=...)`` opens the root and every group:

    /time                 (time)                     frame times, dimension scale (unlimited); NaN in a frame cut off by a kill
    /dt, /wall_time       (time)                     step-size controller state; seconds since the start
    /x, /energy, /V       dimension scales; /level (0 ... 2S), /x_interior (the nodes that hold pairs)
    /grid/x, /grid/energy, /grid/V                   the same datasets (hard links; older files: only these)
    /f                    (time, x, energy)          chunked per frame, gzip-compressed, growing
    /P                    (P_frame, x_interior, V, level)  pair populations every ``pairs_every`` frames
                          in a field (P_frame, x_interior, V, state), and /P_spins (P_frame, x_interior, M)
                          for the free spins: :mod:`hotelectron.io.populations`
    /P_frame              (P_frame)                  index of the frame each /P entry belongs to (its scale)
    /observables/<name>   (time)                     scalar observables per frame
    /frame_crc32          (time)                     CRC-32 of each frame (see below)
    attributes of /       scenario (verbatim text), version, derived (JSON; its numbers also as numeric
                          attributes), energy_unit, status ("running", "finished" or "failed"), message,
                          provenance (hotelectron_version, scenario_sha256, created, command_line)

Every dataset has ``units`` and ``long_name``; observables also ``si_units`` and, when the scenario
fixes the constants, ``scale_to_SI`` (:mod:`hotelectron.io.quantities`). The scales live at the root
because netCDF looks a dimension up in a dataset's group and its parents, never in a sibling group.

A frame is complete when /time, /dt, /wall_time, /f and every observable hold it; the time is
written last, so a run killed mid-frame leaves at most a partial frame that ``resume`` drops. Every
dataset carries HDF5's Fletcher-32 checksum, so that damaged data fails to read (``verify``) rather
than reading as numbers. Fletcher-32 sums 16-bit words modulo 65535 and so cannot tell 0x0000 from
0xFFFF; a CRC-32 closes that gap: ``/frame_crc32`` (time) holds one per frame (of its time, dt, f,
observables and pairs; the wall time is left out so that a resumed run's file equals an
uninterrupted one's) and every grid and scale carries its own in a ``crc32`` attribute. A write that fails (a full disk, an I/O error) raises ``WriteError`` naming
the file and the cause; the status becomes ``finished`` only after the final flush succeeded. The
chunk cache is off (every chunk is one frame, written once), so that a chunk write fails in the call
that makes it rather than later, unseen, when HDF5 evicts the chunk. A run
resumes from the last complete frame that has pair populations (every frame without pairs), with
the step size it had there, so that it continues exactly as an uninterrupted run would.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import math
import os
import shlex
import sys
import time
import zlib
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..wire.evolution import State
from ..wire.problem import WireProblem
from . import populations
from .errors import DamagedFileError, FileInUseError, WriteError
from .filekind import named_kind
from .netcdf import CHECKSUM, attach, scale
from .quantities import OBSERVABLES, si_factor

__all__ = ["STATUS_FAILED", "STATUS_FINISHED", "STATUS_RUNNING", "DamagedFileError", "FileInUseError", "TrajectoryWriter",
           "WriteError", "check_not_in_use", "error_cause", "frame_crc32", "frame_times", "read_scenario", "read_status", "verify"]

log = logging.getLogger(__name__)

STATUS_RUNNING, STATUS_FINISHED, STATUS_FAILED = "running", "finished", "failed"

# Observables that are legitimately undefined in some states; the file says so in an attribute.
UNDEFINED = {"fano": "NaN where the current in the middle of the wire vanishes (no bias, or t = 0 of a quench)"}



def error_cause(exc: BaseException) -> str:
    """The cause of an h5py or OS error on one line (``[Errno 28] No space left on device``)."""
    if isinstance(exc, OSError) and exc.errno:  # h5py's strerror spans lines; the errno says it all
        return f"[Errno {exc.errno}] {os.strerror(exc.errno)}"
    return " ".join(str(exc).split()) or type(exc).__name__


def frame_crc32(t: float, dt: float, f, observables: dict, P=None) -> int:
    """CRC-32 of one frame's values (observables in name order, P only where the frame has it)."""
    crc = zlib.crc32(np.array([t, dt], dtype=float))
    crc = zlib.crc32(np.ascontiguousarray(f, dtype=float), crc)
    crc = zlib.crc32(np.array([observables[name] for name in sorted(observables)], dtype=float), crc)
    if P is not None:
        crc = zlib.crc32(np.ascontiguousarray(P, dtype=float), crc)
    return crc


def complete_frames(fh: h5py.File) -> int:
    """The number of complete frames: a frame's time is written last, after its other values, so a run
    stopped in the middle of a frame (killed, a full disk) leaves that frame shorter in ``time``."""
    return min([fh["time"].shape[0], fh["dt"].shape[0], fh["wall_time"].shape[0], fh["f"].shape[0]]
               + [ds.shape[0] for ds in fh["observables"].values()])


def _read_frames(fh: h5py.File, complete: int) -> None:
    """Read /f and the populations of the ``complete`` frames one by one (HDF5 checks their Fletcher-32
    on the way) and, where the file has them, compare the frames' CRC-32s (files written before they
    existed have none). What follows them is a frame cut off while it was written: resume drops it,
    and a chunk of it that was only half written must not make the frames before it look damaged."""
    stored = fh["frame_crc32"][()] if "frame_crc32" in fh else None
    names = [name for name in populations.DATASETS.values() if name in fh]
    n_p = min(fh[name].shape[0] for name in [*names, "P_frame"]) if names else 0
    frames = fh["P_frame"][:n_p] if names else []
    held = {int(i): populations.stored(fh, j) for j, i in enumerate(frames) if i < complete}
    columns = {"time": fh["time"][()], "dt": fh["dt"][()]}
    group = fh["observables"]
    observed = {name: group[name][()] for name in group}
    for i in range(complete):
        f = fh["f"][i]
        if stored is None or i >= stored.size:
            continue
        obs = {name: values[i] for name, values in observed.items()}
        crc = frame_crc32(columns["time"][i], columns["dt"][i], f, obs, held.get(i))
        if crc != int(stored[i]):
            msg = f"frame {i} fails its CRC-32"
            raise ValueError(msg)


def _no_cut_frame(fh: h5py.File, complete: int) -> None:
    """A finished file holds only complete frames (``finished`` is written after the final flush)."""
    frames = [fh[name] for name in ("time", "dt", "wall_time", "f", "frame_crc32") if name in fh]
    cut = [ds.name for ds in [*frames, *fh["observables"].values()] if ds.shape[0] != complete]
    cut += [fh[name].name for name in populations.DATASETS.values()
            if name in fh and fh[name].shape[0] != fh["P_frame"].shape[0]]
    if cut:
        msg = f"it says finished but holds a frame cut off while it was written ({', '.join(cut)})"
        raise ValueError(msg)


def _in_use(path, exc: OSError) -> FileInUseError:
    return FileInUseError(f"{path} is open for writing in another process, a run still writing it (HDF5's file "
                          f"lock: {error_cause(exc)}); wait for that run to end or stop it")


def check_not_in_use(path) -> None:
    """Raise ``FileInUseError`` when another process holds the HDF5 file at ``path`` open for writing
    (a run still going): h5py's creation of the replacement would truncate it under that run before
    finding the lock held, and both files would be lost. Opening it for writing asks for the lock that
    the writer holds; nothing is written. (A reader holds HDF5's lock only while it opens a file.)"""
    if not h5py.is_hdf5(path):
        return
    try:
        with h5py.File(path, "r+"):
            pass
    except BlockingIOError as exc:  # h5py's "unable to lock file" (EAGAIN)
        raise _in_use(path, exc) from None
    except OSError:  # damaged, or not writable: the callers' own checks say so
        pass


def verify(path) -> None:
    """Read every dataset of a trajectory file (once, one frame at a time); raises ``DamagedFileError``
    naming the file when it cannot be opened, lacks the layout, or holds data failing its checksum,
    and ``FileInUseError`` when another process writes it (HDF5 refuses the read lock then)."""
    path = Path(path)
    if path.is_file() and not h5py.is_hdf5(path) and (kind := named_kind(path)) is not None:
        msg = f"{path} is not a trajectory file but {kind}"
        raise DamagedFileError(msg)
    try:
        with h5py.File(path, "r") as fh:
            for key in ("status", "scenario", "pairs_every"):
                if key not in fh.attrs:
                    msg = f"attribute {key!r} is missing"
                    raise KeyError(msg)
            names = []
            fh.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
            for name in ("time", "dt", "wall_time", "f"):
                if name not in names:
                    msg = f"dataset {name!r} is missing"
                    raise KeyError(msg)
            complete = complete_frames(fh)
            if str(fh.attrs["status"]) == STATUS_FINISHED:
                _no_cut_frame(fh, complete)
            for name in names:
                ds = fh[name]
                if ds.ndim == 1:
                    values = ds[()]
                    if "crc32" in ds.attrs and zlib.crc32(np.ascontiguousarray(values)) != int(ds.attrs["crc32"]):
                        msg = f"dataset {name!r} fails its CRC-32"
                        raise ValueError(msg)
                elif name != "f" and name not in populations.DATASETS.values():
                    for i in range(ds.shape[0]):
                        ds[i]
            _read_frames(fh, complete)
    except BlockingIOError as exc:  # a file being written is locked, not damaged
        raise _in_use(path, exc) from None
    except (OSError, KeyError, RuntimeError, ValueError) as exc:
        msg = f"{path} is damaged or not a trajectory file ({error_cause(exc)})"
        raise DamagedFileError(msg) from None


def read_status(path) -> str:
    """The status attribute of a trajectory file."""
    with h5py.File(path, "r") as fh:
        return str(fh.attrs["status"])


def read_scenario(path) -> str:
    """The scenario text a trajectory file was written for (its ``scenario`` attribute)."""
    with h5py.File(path, "r") as fh:
        text = fh.attrs["scenario"]
    return text.decode() if isinstance(text, bytes) else str(text)


def _discard(fh: h5py.File, path: Path) -> None:
    """Close a file that could not be set up (ignoring further write errors) and remove it."""
    try:
        fh.close()
    except (OSError, RuntimeError) as exc:
        log.debug("closing %s: %s", path, error_cause(exc))
    path.unlink(missing_ok=True)


def provenance(scenario: str) -> dict:
    """Global attributes saying what wrote the file, from what and when (CF ``history`` style)."""
    # no "Conventions" claim: the dimensionless units (tau_D, E0, L) are not UDUNITS strings, as CF requires;
    # the SI factors are in the attributes si_units and scale_to_SI
    return {"title": "hotelectron trajectory", "hotelectron_version": __version__,
            "scenario_sha256": hashlib.sha256(scenario.encode()).hexdigest(),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command_line": shlex.join(sys.argv)}


def numeric_attrs(derived: dict) -> dict:
    """The derived constants that are numbers, as numeric attributes (``derived`` keeps them all as
    JSON); a key that clashes with an attribute of the layout is left to the JSON."""
    return {k: v for k, v in derived.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in RESERVED}


RESERVED = {"scenario", "version", "derived", "energy_unit", "status", "message", "pairs_every", "mode"}


def _layout(fh: h5py.File, problem: WireProblem, mode: str, observables, derived: dict) -> None:
    """Grids as dimension scales, and the empty growing datasets of the frames."""
    box = mode == "box"
    x = np.array([0.5]) if box else problem.wire.values
    scale(fh, "x", x, "L", "position along the wire (x/L)")
    scale(fh, "energy", problem.energy.values, "E0", "energy from the Fermi level")
    # growing time axes: unlimited netCDF dimensions whose scales resize with the frames. A netCDF
    # reader pads every variable to the longest one with its fill value, so a frame cut off by a kill
    # (its time, written last, missing) reads as NaN there rather than as t = 0 and zeros
    growing = {"chunks": True, "maxshape": (None,), **CHECKSUM}
    values = {**growing, "fillvalue": np.nan}
    t = fh.create_dataset("time", shape=(0,), dtype=float, **values)
    t.attrs.update(units="tau_D", long_name="time (diffusion times L^2/D)")
    t.make_scale("time")
    grid = fh.create_group("grid")  # the grids' older location, same datasets
    grid["x"], grid["energy"] = fh["x"], fh["energy"]
    for name, units, long_name in (("dt", "tau_D", "step size of the controller"),
                                   ("wall_time", "s", "wall time since the run started")):
        attach(fh.create_dataset(name, shape=(0,), dtype=float, **values), fh, ["time"], units, long_name)
    crc = fh.create_dataset("frame_crc32", shape=(0,), dtype=np.uint32, **growing)
    attach(crc, fh, ["time"], "1", "CRC-32 of the frame's time, dt, f, observables and pairs")
    n_x, n_e = x.size, problem.energy.n
    f = fh.create_dataset("f", shape=(0, n_x, n_e), maxshape=(None, n_x, n_e), dtype=float,
                          chunks=(1, n_x, n_e), compression="gzip", compression_opts=4, fillvalue=np.nan, **CHECKSUM)
    attach(f, fh, ["time", "x", "energy"], "1", "electron distribution function")
    if problem.pairs is not None:
        populations.layout(fh, problem.pairs, x if box else x[1:-1], growing)
    group = fh.create_group("observables")
    for name in observables:
        ds = group.create_dataset(name, shape=(0,), dtype=float, **values)
        q = OBSERVABLES.get(name)
        attach(ds, fh, ["time"], q.units if q else "1", q.long_name if q else name)
        if q is not None:
            ds.attrs["si_units"] = q.si_units
            factor = si_factor(q, derived)
            if factor is not None:
                ds.attrs["scale_to_SI"] = factor
        if name in UNDEFINED:
            ds.attrs["undefined"] = UNDEFINED[name]


class TrajectoryWriter:
    """Writes frames of a wire run to HDF5; use ``create`` for a new file, ``resume`` for an old one."""

    def __init__(self, fh: h5py.File, pairs_every: int, start_wall: float):
        self.fh = fh
        self.path = Path(fh.filename)
        self.pairs_every = pairs_every
        self.start_wall = start_wall

    # -- opening -------------------------------------------------------------------------------------
    @classmethod
    def create(cls, path, problem: WireProblem, *, scenario: str = "", derived: dict | None = None,
               energy_unit: str = "E0", pairs_every: int = 1, observables=(), mode: str = "evolve") -> "TrajectoryWriter":
        """A new file (an existing one is replaced) with grids, metadata and empty datasets.

        ``mode="box"`` stores a closed uniform box: one position (x = 1/2), pairs included, no
        reservoirs; ``mode="steady"`` a single frame at t = 0.
        """
        if not (isinstance(pairs_every, int) and pairs_every >= 1):
            msg = f"pairs_every must be an integer >= 1; got {pairs_every!r}"
            raise ValueError(msg)
        try:
            fh = h5py.File(Path(path), "w", rdcc_nbytes=0)
        except OSError as exc:
            msg = f"cannot create {path}: {error_cause(exc)}"
            raise WriteError(msg) from None
        try:
            fh.attrs.update(
                scenario=scenario, version=__version__, derived=json.dumps(derived or {}, sort_keys=True),
                energy_unit=energy_unit, status=STATUS_RUNNING, message="", pairs_every=pairs_every, mode=mode,
                **provenance(scenario), **numeric_attrs(derived or {}),
            )
            _layout(fh, problem, mode, observables, derived or {})
            fh.flush()
        except (OSError, RuntimeError) as exc:  # a full disk already: leave no half-made file
            _discard(fh, Path(path))
            msg = f"cannot create {path}: {error_cause(exc)}"
            raise WriteError(msg) from None
        return cls(fh, pairs_every, time.perf_counter())

    @classmethod
    def resume(cls, path, problem: WireProblem) -> tuple["TrajectoryWriter", State, float]:
        """Reopen a file, drop what follows its last resumable frame, and return the writer, the state
        of that frame and its step size."""
        verify(path)
        try:
            fh = h5py.File(Path(path), "r+", rdcc_nbytes=0)
        except OSError as exc:
            msg = f"cannot open {path} for writing: {error_cause(exc)}"
            raise WriteError(msg) from None
        pairs_every = int(fh.attrs["pairs_every"])
        try:
            populations.check(fh, problem.pairs, path)
        except ValueError:
            fh.close()
            raise
        complete = complete_frames(fh)
        if problem.pairs is not None:
            names = populations.datasets(problem.pairs)
            rows = min(fh[name].shape[0] for name in [*names, "P_frame"])
            usable = [int(i) for i in fh["P_frame"][:rows] if i < complete]
            if not usable:
                fh.close()
                msg = f"{path}: no complete frame with impurity populations to resume from"
                raise ValueError(msg)
            last = usable[-1]
            n_p = len(usable)
            for name in [*names, "P_frame"]:
                fh[name].resize(n_p, axis=0)
            P = populations.read(fh, problem.pairs, n_p - 1)
        else:
            if complete == 0:
                fh.close()
                msg = f"{path}: no complete frame to resume from"
                raise ValueError(msg)
            last, P = complete - 1, None
        keep = last + 1
        frame_data = [fh["time"], fh["dt"], fh["wall_time"], fh["f"], *fh["observables"].values()]
        for ds in frame_data + ([fh["frame_crc32"]] if "frame_crc32" in fh else []):
            ds.resize(keep, axis=0)
        f = fh["f"][last]
        box = fh.attrs.get("mode", "evolve") == "box"
        expected = (1 if box else problem.wire.n, problem.energy.n)
        if f.shape != expected:
            fh.close()
            msg = f"{path}: its grids {f.shape} do not match the scenario's {expected}"
            raise ValueError(msg)
        state = State(float(fh["time"][last]), f if box else f[1:-1], P)
        dt = float(fh["dt"][last])
        fh.attrs.update(status=STATUS_RUNNING, message="")
        fh.flush()
        writer = cls(fh, pairs_every, time.perf_counter() - float(fh["wall_time"][last]))
        return writer, state, dt

    # -- writing -------------------------------------------------------------------------------------
    @property
    def frames(self) -> int:
        return self.fh["time"].shape[0]

    @property
    def observable_names(self) -> list[str]:
        """The observables the file declares (a file written by an older version may lack newer ones)."""
        return list(self.fh["observables"])

    @property
    def population_names(self) -> list[str]:
        """The population datasets of the file, in the order of the species."""
        return [name for name in populations.DATASETS.values() if name in self.fh]

    def write(self, problem: WireProblem, state: State, dt: float, observables: dict) -> None:
        """Append one frame; refuses non-finite values so that no NaN reaches the file."""
        full = state.f if self.fh.attrs["mode"] == "box" else problem.with_reservoirs(state.f)
        checked = [v for name, v in observables.items() if not (name in UNDEFINED and math.isnan(v))]
        values = [full, [dt], checked] + ([state.P] if state.P is not None else [])
        if not all(np.all(np.isfinite(v)) for v in values):
            msg = f"non-finite values in the frame at t = {state.t:g} tau_D; nothing written"
            raise FloatingPointError(msg)
        blocks = populations.split(problem.pairs, state.P) if state.P is not None else []
        try:
            self._write_frame(self.frames, full, dt, observables, state, blocks)
            self.fh.flush()
        except (OSError, RuntimeError) as exc:  # h5py reports HDF5 failures as either
            msg = f"cannot write frame {self.frames} to {self.path}: {error_cause(exc)}"
            raise WriteError(msg) from None

    def _write_frame(self, index: int, full, dt: float, observables: dict, state: State, blocks: list) -> None:
        for ds, value in ((self.fh["f"], full), (self.fh["dt"], dt), (self.fh["wall_time"], time.perf_counter() - self.start_wall)):
            ds.resize(index + 1, axis=0)
            ds[index] = value
        group = self.fh["observables"]
        for name, value in observables.items():
            if name not in group:
                msg = f"observable {name!r} was not declared when the file was created"
                raise KeyError(msg)
            group[name].resize(index + 1, axis=0)
            group[name][index] = value
        with_pairs = state.P is not None and index % self.pairs_every == 0
        if "frame_crc32" in self.fh:  # a file written before the CRC-32s existed goes on without them
            self.fh["frame_crc32"].resize(index + 1, axis=0)
            self.fh["frame_crc32"][index] = frame_crc32(state.t, dt, full, observables, state.P if with_pairs else None)
        if with_pairs:  # each species in its dataset, then the frame index that completes them
            n_p = self.fh["P_frame"].shape[0]
            for name, block in zip(self.population_names, blocks, strict=True):
                self.fh[name].resize(n_p + 1, axis=0)
                self.fh[name][n_p] = block
            self.fh["P_frame"].resize(n_p + 1, axis=0)
            self.fh["P_frame"][n_p] = index
        self.fh["time"].resize(index + 1, axis=0)  # last: it marks the frame complete
        self.fh["time"][index] = state.t

    def set_attrs(self, **attrs) -> None:
        """Set attributes of the root group (``WriteError`` when they cannot be written)."""
        try:
            self.fh.attrs.update(attrs)
        except (OSError, RuntimeError) as exc:
            msg = f"cannot write attributes {sorted(attrs)} to {self.path}: {error_cause(exc)}"
            raise WriteError(msg) from None

    def close(self, status: str = STATUS_FINISHED, message: str = "") -> None:
        """Mark the run finished (or failed, with the message) and close the file.

        ``finished`` is written only after the frames were flushed; if that flush fails the file is
        marked failed (when it still can be) and ``WriteError`` is raised. Marking a file failed is
        best effort: when even that cannot be written the status stays ``running``.
        """
        if status not in (STATUS_FINISHED, STATUS_FAILED):
            msg = f"status must be {STATUS_FINISHED!r} or {STATUS_FAILED!r}; got {status!r}"
            raise ValueError(msg)
        if not self.fh.id.valid:
            return
        if status == STATUS_FINISHED:
            try:
                self.fh.flush()
                self.fh.attrs.update(status=status, message=message)
                self.fh.flush()
                self.fh.close()
                return
            except (OSError, RuntimeError) as exc:
                error = f"cannot finish {self.path}: {error_cause(exc)}"
                self._close_failed(error)
                raise WriteError(error) from None
        self._close_failed(message)

    def _close_failed(self, message: str) -> None:
        try:
            self.fh.attrs.update(status=STATUS_FAILED, message=message)
        except (OSError, RuntimeError) as exc:
            log.warning("%s could not be marked failed (%s); its status says running", self.path, error_cause(exc))
        try:
            self.fh.close()
        except (OSError, RuntimeError) as exc:
            log.warning("%s could not be closed cleanly (%s)", self.path, error_cause(exc))


def frame_times(t_end: float, every: float) -> list[float]:
    """Output times ``every, 2 every, ..., t_end`` (tau_D), the last one exactly ``t_end``."""
    if not (math.isfinite(t_end) and t_end > 0 and math.isfinite(every) and every > 0):
        msg = f"end time and output cadence must be positive; got t_end = {t_end!r}, every = {every!r}"
        raise ValueError(msg)
    count = max(1, int(math.floor(t_end / every + 1e-9)))
    times = [every * (i + 1) for i in range(count)]
    if t_end - times[-1] > 1e-12 * t_end:
        times.append(t_end)
    times[-1] = t_end
    return times
