"""The errors of output files, apart so that the command line can name them without importing h5py."""

from __future__ import annotations

__all__ = ["DamagedFileError", "WriteError"]


class WriteError(OSError):
    """A trajectory file could not be written (its message names the file and the cause)."""


class DamagedFileError(ValueError):
    """A file is not a readable trajectory: truncated, not HDF5, or data failing its checksum."""
