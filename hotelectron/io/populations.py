"""Impurity populations in a trajectory file: one dataset per species, with its dimension scales.

The solver holds the populations of all impurity species in one array ``P`` (``problem.pairs``: one
mechanism, ``P[x, ...]`` of its own shape; or an ``Impurities``, the species side by side in
``P[x, n]``). The file keeps each species apart, every ``pairs_every`` frames, on the dimension
``P_frame`` (the index of the frame, its scale) and ``x_interior`` (the nodes that hold populations):

    /P        (P_frame, x_interior, V, level)   pairs at zero field: one population per state of the
                                                multiplet J = level (sum_J (2J+1) P_J = 1)
    /P        (P_frame, x_interior, V, state)   pairs in a field: the states |J M> in the order of
                                                ``FieldPairScattering.labels`` (sum_JM P_JM = 1), with
                                                the coordinates /state_J and /state_M (state)
    /P_spins  (P_frame, x_interior, M)          free spins in a field: the levels M = -S ... S
                                                (sum_M P_M = 1)

A dataset in a field carries ``zeeman_steps`` and ``zeeman_E0`` (Delta_Z in energy steps and in E0).
``split`` gives each species' block of the solver's array and ``join`` puts stored blocks back
together, so that a resumed run continues from exactly the array it stopped with.
"""

from __future__ import annotations

import h5py
import numpy as np

from ..kinetics.mechanisms import FieldPairScattering, FreeSpinScattering, Impurities
from .netcdf import CHECKSUM, attach, coordinate, scale

__all__ = ["DATASETS", "check", "datasets", "join", "join_blocks", "layout", "read", "species", "split", "stored"]

#: The dataset of each kind of impurity (``PopulationMechanism.impurity``).
DATASETS = {"pairs": "P", "spins": "P_spins"}


def species(mechanism) -> tuple:
    """The impurity species of ``problem.pairs``: itself, or those of an ``Impurities``."""
    return mechanism.species if isinstance(mechanism, Impurities) else (mechanism,)


def datasets(mechanism) -> list[str]:
    """The population datasets of ``mechanism`` (``problem.pairs``), in the order of its species."""
    return [DATASETS[part.impurity] for part in species(mechanism)]


def split(mechanism, P) -> list:
    """Each species' block of the solver's population array, with the species' own shape."""
    return list(mechanism.split(P)) if isinstance(mechanism, Impurities) else [P]


def join_blocks(blocks) -> np.ndarray:
    """The species' blocks of one frame side by side, ``P[x, n]`` (one block: itself): the bytes of
    the solver's population array, which the frame's CRC-32 covers."""
    if len(blocks) == 1:
        return np.asarray(blocks[0])
    n_x = np.shape(blocks[0])[0]
    return np.concatenate([np.reshape(block, (n_x, -1)) for block in blocks], axis=1)


def join(mechanism, blocks) -> np.ndarray:
    """The solver's population array of ``mechanism`` from the species' blocks (the inverse of ``split``)."""
    P = join_blocks(blocks)
    return P.reshape(np.shape(P)[0], -1) if isinstance(mechanism, Impurities) else P


def stored(fh: h5py.File, index: int) -> np.ndarray | None:
    """The populations of the ``index``-th population frame of a file as the solver holds them (the
    stored species side by side, see ``join_blocks``), read without the scenario; None without any."""
    names = [name for name in DATASETS.values() if name in fh]
    return join_blocks([fh[name][index] for name in names]) if names else None


def read(fh: h5py.File, mechanism, index: int) -> np.ndarray:
    """The solver's population array of the ``index``-th population frame of a file."""
    return join(mechanism, [fh[name][index] for name in datasets(mechanism)])


def _axis(fh: h5py.File, part) -> tuple[list, str, dict]:
    """The dimensions after x_interior of one species (created here), its long name and attributes."""
    if isinstance(part, FreeSpinScattering):
        M = np.array([label[0] for label in part.labels], dtype=float) + 0.0  # + 0.0: M = 0, never -0
        scale(fh, "M", M, "1", "projection M of a free impurity spin on the field")
        return ["M"], "free-spin populations of the levels M in the field (sum_M P_M = 1)", _zeeman(part)
    if "V" not in fh:
        scale(fh, "V", part.couplings.values, "E0", "pair coupling")
        fh["grid"]["V"] = fh["V"]
    if not isinstance(part, FieldPairScattering):
        scale(fh, "level", np.arange(part.n_levels), "1", "pair multiplet J (0 ... 2S)")
        return ["V", "level"], "pair populations per state of the multiplet J (sum_J (2J+1) P_J = 1)", {}
    J, M = (np.array([label[i] for label in part.labels], dtype=float) + 0.0 for i in (0, 1))  # no -0
    scale(fh, "state", np.arange(J.size), "1", "pair state |J M> (index)")
    coordinate(fh, "state_J", "state", J, "1", "total spin J of the pair state")
    coordinate(fh, "state_M", "state", M, "1", "projection M of the pair spin on the field")
    attrs = {"coordinates": "state_J state_M", **_zeeman(part)}
    return ["V", "state"], "pair populations of the states |J M> in the field (sum_JM P_JM = 1)", attrs


def _zeeman(part) -> dict:
    return {"zeeman_steps": np.int64(part.zeeman_steps), "zeeman_E0": float(part.zeeman)}


def layout(fh: h5py.File, mechanism, x_interior, growing: dict) -> None:
    """The scales and the empty growing datasets of the populations of ``mechanism``."""
    scale(fh, "x_interior", x_interior, "L", "interior position along the wire (x/L)")
    frame = fh.create_dataset("P_frame", shape=(0,), dtype=np.int64, fillvalue=-1, **growing)  # -1: not written
    frame.attrs.update(units="1", long_name="index of the frame each impurity population belongs to")
    frame.make_scale("P_frame")
    for part, name in zip(species(mechanism), datasets(mechanism), strict=True):
        dims, long_name, attrs = _axis(fh, part)
        shape = (len(x_interior), *part.population_shape)
        ds = fh.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=float, chunks=(1, *shape),
                               compression="gzip", compression_opts=4, fillvalue=np.nan, **CHECKSUM)
        attach(ds, fh, ["P_frame", "x_interior", *dims], "1", long_name)
        ds.attrs.update(attrs)


def check(fh: h5py.File, mechanism, path) -> None:
    """Refuse a file whose populations are not those of ``mechanism`` (other species, shapes or Zeeman
    energy): continuing it would mix two problems in one trajectory."""
    stored = [name for name in DATASETS.values() if name in fh]
    expected = datasets(mechanism) if mechanism is not None else []
    if stored != expected:
        msg = (f"{path} holds the impurity populations {stored or 'none'}, the scenario {expected or 'none'} "
               "(another field: [field] B, or [dimensionless] zeeman; or other impurities)")
        raise ValueError(msg)
    for part, name in zip(species(mechanism) if mechanism is not None else (), expected, strict=True):
        shape, zeeman = fh[name].shape[2:], int(fh[name].attrs.get("zeeman_steps", 0))
        want = (tuple(part.population_shape), int(getattr(part, "zeeman_steps", 0)))
        if (shape, zeeman) != want:
            cause = ("another field ([field] B or g, or [dimensionless] zeeman)" if zeeman != want[1]
                     else "other impurities or grids")
            msg = (f"{path}: its populations {name} {shape} with Zeeman energy {zeeman} steps do not match the "
                   f"scenario's {want[0]} with {want[1]} steps: {cause}")
            raise ValueError(msg)
