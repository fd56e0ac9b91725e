"""``hotelectron info``: versions of the package and its numerical libraries, numba's threading."""

from __future__ import annotations

import platform

from .. import __version__


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("info", help="versions of the package and its numerical libraries")
    p.set_defaults(func=cmd_info)


def cmd_info(args) -> int:
    """Print the versions and the numba threading set-up."""
    import h5py
    import numba
    import numpy
    import scipy

    from ..kinetics._numba import initialise_threading

    threads = initialise_threading()
    rows = [
        ("hotelectron", __version__),
        ("python", platform.python_version()),
        ("numpy", numpy.__version__),
        ("scipy", scipy.__version__),
        ("numba", numba.__version__),
        ("h5py", h5py.__version__),
        ("numba threading layer", threads["threading_layer"]),
        ("numba threads", str(threads["num_threads"])),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0
