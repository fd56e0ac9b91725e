"""HDF5 datasets that netCDF4 tools (xarray's h5netcdf engine) read: dimension scales, ``units`` and
``long_name``, and the checksums every dataset of a trajectory carries.

A dimension is a dataset made a dimension scale under its own name, at the root of the file:
netCDF looks a dimension up in a dataset's group and its parents, never in a sibling group.
"""

from __future__ import annotations

import zlib

import h5py
import numpy as np

__all__ = ["CHECKSUM", "attach", "coordinate", "crc32", "scale"]

#: HDF5's Fletcher-32 filter on every dataset: damaged chunks fail to read instead of reading as numbers.
CHECKSUM = {"fletcher32": True}


def crc32(values) -> np.int64:
    """CRC-32 of an array's bytes, for a ``crc32`` attribute (Fletcher-32 cannot tell 0x0000 from 0xFFFF)."""
    return np.int64(zlib.crc32(np.ascontiguousarray(values)))


def scale(fh: h5py.File, name: str, values, units: str, long_name: str) -> h5py.Dataset:
    """A netCDF4 dimension (a dimension scale named after itself) at the root, with its CRC-32."""
    ds = fh.create_dataset(name, data=np.asarray(values), chunks=np.shape(values) or None, **CHECKSUM)
    ds.attrs.update(units=units, long_name=long_name, crc32=crc32(ds[()]))
    ds.make_scale(name)
    return ds


def attach(ds: h5py.Dataset, fh: h5py.File, names, units: str, long_name: str) -> None:
    """Attach the root scales ``names`` to the axes of ``ds`` and give it ``units`` and ``long_name``."""
    for axis, name in enumerate(names):
        ds.dims[axis].attach_scale(fh[name])
    ds.attrs.update(units=units, long_name=long_name)


def coordinate(fh: h5py.File, name: str, dimension: str, values, units: str, long_name: str) -> h5py.Dataset:
    """A 1-D coordinate variable along an existing ``dimension`` (e.g. J of each pair state), with its
    CRC-32; a data variable names it in its ``coordinates`` attribute for xarray to attach it."""
    ds = fh.create_dataset(name, data=np.asarray(values), **CHECKSUM)
    attach(ds, fh, [dimension], units, long_name)
    ds.attrs["crc32"] = crc32(ds[()])
    return ds
