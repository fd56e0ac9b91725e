"""Output paths checked before any work: nothing the user wrote is overwritten by accident.

A trajectory, a figure or a folder of point files is refused (``ValueError`` naming the path) when
it is one of the run's inputs, of the wrong kind (a directory for a file, a file for a folder), in a
place that cannot be written, or - for a trajectory - an existing file without ``overwrite`` or
``resume``. Writability is probed by creating (and removing) a temporary file in the folder, which
also holds for a read-only file system and for a user (such as root) that permission bits do not stop.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .scenario.compare import describe, scenario_differences
from .storage import DamagedFileError, check_not_in_use, error_cause, read_scenario, verify

__all__ = ["check_figure_output", "check_file_output", "check_folder_output", "check_trajectory_output", "intact",
           "refuse_other_scenario"]


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return a.resolve() == b.resolve()


def _refuse_inputs(path: Path, inputs) -> None:
    for source in inputs:
        if source is not None and _same(path, Path(source)):
            msg = f"{path} is an input of this run ({source}); choose another output"
            raise ValueError(msg)


def _probe_folder(folder: Path, path: Path) -> None:
    """Refuse ``path`` unless a file can be created in ``folder``."""
    if not folder.is_dir():
        msg = f"cannot write {path}: the folder {folder} does not exist"
        raise ValueError(msg)
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".hotelectron-probe-"):
            pass
    except OSError as exc:
        msg = f"cannot write {path}: {error_cause(exc)}"
        raise ValueError(msg) from None


def _probe_file(path: Path) -> None:
    """Refuse an existing ``path`` that cannot be opened for writing (it is not changed)."""
    try:
        with open(path, "r+b"):
            pass
    except OSError as exc:
        msg = f"cannot write {path}: {error_cause(exc)}"
        raise ValueError(msg) from None


def _check_file(path: Path, inputs) -> None:
    _refuse_inputs(path, inputs)
    if path.is_dir():
        msg = f"{path} is a directory; give a file name"
        raise ValueError(msg)
    _probe_folder(path.parent, path)


def check_trajectory_output(path, inputs=(), *, overwrite: bool = False, resume: bool = False) -> bool:
    """Check the HDF5 output of a single run; returns whether the run resumes the existing file.

    An existing file is continued with ``resume`` (after its checksums are verified: a damaged file
    raises ``DamagedFileError``, or is replaced with ``overwrite``), replaced with ``overwrite`` alone,
    and refused otherwise.
    """
    path = Path(path)
    _check_file(path, inputs)
    if not path.exists():
        return False
    _probe_file(path)
    if resume:
        if intact(path, overwrite, "--overwrite replaces it"):
            return True
    elif not overwrite:
        msg = f"{path} already exists; --resume continues it, --overwrite replaces it"
        raise ValueError(msg)
    check_not_in_use(path)  # it is replaced
    return False


def check_figure_output(path, inputs=()) -> None:
    """Check a figure's path; an existing file is replaced only when it is a PNG (a figure). A name
    ending in a type matplotlib cannot write is refused here, before the run whose figure it is."""
    from matplotlib.backend_bases import FigureCanvasBase

    suffix = Path(path).suffix.lower()
    types = FigureCanvasBase.get_supported_filetypes()
    if suffix and suffix[1:] not in types:
        msg = (f"{path}: matplotlib cannot write a figure of type '{suffix}'; "
               f"give a name ending in .png (or .{', .'.join(sorted(t for t in types if t != 'png'))})")
        raise ValueError(msg)
    check_file_output(path, inputs, suffix=".png", what="a PNG figure")


def check_file_output(path, inputs=(), *, suffix: str | None = None, what: str = "") -> None:
    """Check the path of an output file that a new one replaces (a CSV table, a figure, a benchmark's
    JSON): in a folder that exists and can be written; an existing file is replaced if it can be
    written and, with ``suffix``, only when its name ends in it (it is ``what``, e.g. "a JSON file")."""
    path = Path(path)
    _check_file(path, inputs)
    if path.exists():
        if suffix is not None and path.suffix.lower() != suffix:
            msg = f"{path} exists and is not {what}; choose another name"
            raise ValueError(msg)
        _probe_file(path)


def check_folder_output(path, inputs=(), *, create: bool = True) -> None:
    """Check (and create) the folder of a series' or a sweep's point files. With ``create=False``
    nothing is made: the nearest existing folder on the path must be writable (a read-only place is
    reported as such before a resource check could blame the disk space)."""
    path = Path(path)
    _refuse_inputs(path, inputs)
    if path.exists() and not path.is_dir():
        msg = f"{path} is a file, not a folder; give a folder name for the point files"
        raise ValueError(msg)
    if not create:
        existing = next(folder for folder in (path, *path.absolute().parents) if folder.exists())
        if not existing.is_dir():
            msg = f"cannot create the folder {path}: {existing} is a file"
            raise ValueError(msg)
        _probe_folder(existing, path)
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create the folder {path}: {error_cause(exc)}"
        raise ValueError(msg) from None
    _probe_folder(path, path)


def intact(path, overwrite: bool, remedy: str) -> bool:
    """Whether the file at ``path`` passes its checksums. A damaged file is False with ``overwrite``
    (the caller replaces it) and otherwise a ``DamagedFileError`` that ends with ``remedy``."""
    try:
        verify(path)
    except DamagedFileError as exc:
        if not overwrite:
            msg = f"{exc}; {remedy}"
            raise DamagedFileError(msg) from None
        return False
    return True


def refuse_other_scenario(path, text: str, remedy: str, other: str = "another scenario") -> None:
    """Refuse to continue the trajectory at ``path`` with the scenario ``text`` when the file was
    written for a different one (:func:`hotelectron.io.scenario.compare.scenario_differences`: the
    parsed tables differ): its frames and the new ones would belong to two problems."""
    differences = scenario_differences(read_scenario(path), text)
    if differences:
        msg = f"{path} was written for {other} ({describe(differences)}); {remedy}"
        raise ValueError(msg)
