"""The errors of files, apart so that the command line can name them without importing h5py."""

from __future__ import annotations

__all__ = ["DamagedFileError", "DataFileError", "FileInUseError", "WriteError"]


class WriteError(OSError):
    """A trajectory file could not be written (its message names the file and the cause)."""


class DamagedFileError(ValueError):
    """A file is not a readable trajectory: truncated, not HDF5, or data failing its checksum."""


class FileInUseError(ValueError):
    """A trajectory file is open for writing in another process (HDF5's file lock): neither damaged nor
    to be replaced while that process writes it."""


class DataFileError(ValueError):
    """A measured-data file is refused; the one-line message names the file, the line (or HDF5 group)
    and the column (or dataset). A ``ValueError``, so the command line exits with status 2."""
