"""The pass over the links of a level species: out-kernel and dP/dt, with the work on a coupling written per species.

At each position x and coupling index ``k`` the states ``s`` of a species (single states, as in
:mod:`hotelectron.kinetics.level_dynamics`) are joined by *links* ``a <-> b``: each pair of states
once, with the weight ``w[a, b] = w[b, a]``. Going ``a -> b`` hands the electrons
``m = k dJ + z dM`` energy steps (``z`` the Zeeman energy in steps); ``(dJ, dM)`` is the link's
*class*. With populations ``P[x, k, s]``, one pass over the links gives

- the out-kernel (width 2n + 1): ``K[x, n - m] += strength_k w P_a`` for ``a -> b`` and
  ``K[x, n + m] += strength_k w P_b`` for ``b -> a``; links with ``m = 0`` (spin flips inside a
  degenerate level) stay out, since they cancel in the collision integral pair by pair, and
  transfers beyond the grid width are lumped into the end cells;
- ``dP/dt``: the flow ``w (P_a gamma G(m d) - P_b gamma G(-m d))`` leaves a and enters b (VGL 63
  per state; G in its closed form beyond the grid width);
- for Jacobian products, the changes of both for changes ``dP`` of the populations and ``dG`` of
  the electron-hole function (the kernel is linear in P, the rates bilinear in P and G; beyond the
  grid width G does not depend on the electrons).

:func:`kernel_and_rates_reference` and :func:`kernel_and_rates_change_reference` are the readable
numpy twins.

How the pass is fast
--------------------
*The work on a coupling is written out for the species.* The populations of a *section* of
consecutive couplings (up to ``SECTION``) are copied into a scratch as rows: one row per state,
one column per coupling. The block function of the species does the work on ``BLOCK`` columns at
a time: its body takes every link with its two states and its weight as constants, so that the
populations, rates and kernel sums of a coupling stay in registers and the compiler vectorises
the loop over the columns. A loop over the links that reads their states and weights from arrays
(the pass this one replaced) spent its time on the indices and on run-time checks that the rows it
updates do not overlap: 52.7 ms of CPU time for the whole pass at n_x = 128, 2046 couplings and
the 105 links of S = 5/2 pairs in a field, against 25 ms for this one on the same machine (the
links' work 8 ms of it; *Where the time goes* below splits it on another machine).

*Classes and mirror couplings share G and kernel cells.* The links of a class share their
transfer at every coupling, so a column reads the two values of G once per class and sums the
class's kernel before it is stored. Mirror couplings ``+-k`` (a ``CouplingGrid`` has them, with
equal weights) share them too, as in the zero-field pair pass: class ``(dJ, dM)`` at ``-k`` hands
the electrons ``-(k dJ - z dM)``, the negative of class ``(dJ, -dM)`` at ``+k`` (for ``dJ = 0``
the same ``z dM`` as at ``+k``). So the G values and class kernels of a section are laid out for
its couplings ``+k`` alone; the blocks of ``+k``, then those of ``-k``, work on them, and the
kernel cells are added once per section. Without mirror couplings (free spins: one coupling,
``k = 0``) only the couplings as given run.

*Memory.* The populations of ``+k`` and of ``-k`` lie far apart in P: read block by block in turn,
the two streams took twice the time of one, so each half of a section is read (and its rates
written) in one go, in the order the couplings lie in memory. P and the scratch rows meet in tiles
of 4 couplings x 4 states, transposed in registers (value by value, 9.4 million populations took
4.0 ms to read into the rows with P in the cache, 1.8 ms as tiles). From memory the tiles alone took
6.3 ms on one thread (a sequential sum over the same 75 MB: 2.8 ms), as their scattered reads keep
few lines in flight: a sweep of one load per cache line over the half section first, then the tiles
from the caches, takes 4.7 ms (AMD EPYC, 2 cores, 1 MB L2 each, load average ~0.8). The rates are
written past the caches (non-temporal stores): plain stores, which first read each line of the 75 MB
from memory, made a variant that stores block by block 5 ms slower there on one thread.

*Where the time goes* (one thread, same machine and system, the phases timed apart and adding up to
the whole, 20.5 ms): the block functions 6-7 ms (bound by the floating-point units: ~8 vector
operations per link and column), reading P into the rows 4.7 ms, writing the rates 3.0 ms, the
class sums into the kernel cells 2.2 ms, the G rows of the sections 1.7 ms, the G tables 0.1 ms.
Software prefetches of the next half section or block during the block functions, and sections of
128 to 512 couplings, did not make it faster. Both threads get equal shares of x, and the pass on
two threads takes about half the time of one (10.4 ms against 20.5, minima of interleaved rounds).

*One compilation of the drivers serves every species.* The block functions are written as LLVM
instructions (:func:`_emit_column`) into C callbacks (``_numba.cfunc``) that the drivers take as
an argument and call through their address. Written as Python source instead, numba's typing and
lowering of the ~2000 operations took 8-20 s per function (against 0.4 s); written into the
drivers, every species would compile the drivers again. The callbacks carry a digest of what they
are written from in their names, so numba's on-disk cache keeps one compilation per species.
"""

from __future__ import annotations

import functools
import hashlib
import types as pytypes
from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic

from ._numba import FASTMATH, cfunc, jit, thread_rows
from .convolution import electron_hole_at
from .level_dynamics import _whole

__all__ = ["BLOCK", "SECTION", "Links", "kernel_and_rates", "kernel_and_rates_change",
           "kernel_and_rates_change_reference", "kernel_and_rates_reference"]

# couplings per block: the columns of one call of a block function
BLOCK = 32
# couplings +k per section: the columns of the scratch, laid out (and their rates written back) in
# one go. Reads of P that alternate with the work on blocks are slower than one stream, the more
# the shorter each run (on one thread, 33 ms for the whole pass in runs of 32 couplings, 27 in runs
# of 1024, at n_x = 128 and 2046 couplings)
SECTION = 32 * BLOCK
# row stride of the scratch: a whole multiple of 4 KB between rows would make the processor see
# false dependences between the loads and stores of one column
_ROW = SECTION + 8

_KINDS = ("kernel", "rates", "change")


@dataclass(frozen=True, eq=False)
class Links:
    """Each pair of linked states ``a <-> b`` once, grouped by the transfer class of ``a -> b``.

    Attributes
    ----------
    first, second : int arrays
        The states ``a < b`` of each link.
    weight : float array
        ``w[a, b] = w[b, a]`` (unit spin^2): the rate of ``a -> b`` is ``gamma w G(m d)``, that of
        ``b -> a`` is ``gamma w G(-m d)``.
    start : int array, shape (n_classes + 1,)
        The links of class c are ``start[c]:start[c + 1]``.
    dJ, dM : int arrays, shape (n_classes,)
        ``a -> b`` hands the electrons ``m = k dJ + z dM`` energy steps in class c.
    n_states : int
        Number of states (the last axis of the populations).
    """

    first: np.ndarray
    second: np.ndarray
    weight: np.ndarray
    start: np.ndarray
    dJ: np.ndarray
    dM: np.ndarray
    n_states: int

    @classmethod
    def of(cls, eps, M, w) -> Links:
        """The links of states with energies ``k eps_s + z M_s`` steps and exactly symmetric weights
        ``w`` (symmetric to the last bit, so that equal populations of degenerate states exchange
        nothing but the round-off of one fused multiply-add)."""
        eps, M, w = (np.asarray(a, dtype=float) for a in (eps, M, w))
        if not np.array_equal(w, w.T):
            msg = "link weights must be exactly symmetric (w[a, b] = w[b, a] for single states)"
            raise ValueError(msg)
        first, second = np.nonzero(np.triu(w, 1))
        dJ = _whole(eps[first] - eps[second], "level spacings eps_a - eps_b")
        dM = _whole(M[first] - M[second], "projection changes M_a - M_b")
        key = np.lexsort((dM, dJ))
        first, second, dJ, dM = first[key], second[key], dJ[key], dM[key]
        new_class = np.flatnonzero(np.r_[True, (np.diff(dJ) != 0) | (np.diff(dM) != 0)])
        arrays = (first, second, w[first, second], np.r_[new_class, dJ.size], dJ[new_class], dM[new_class])
        arrays = [np.ascontiguousarray(a, dtype=float if i == 2 else np.int64) for i, a in enumerate(arrays)]
        return cls(*arrays, int(w.shape[0]))

    @property
    def n_classes(self) -> int:
        return int(self.dJ.size)

    def reach(self, k, z) -> int:
        """The largest transfer ``|k dJ + z dM|`` (steps) of any link at any coupling index ``k``."""
        if self.dJ.size == 0:
            return 0
        m = np.asarray(k, dtype=np.int64)[:, None] * self.dJ[None, :] + int(z) * self.dM[None, :]
        return int(np.max(np.abs(m)))

    @cached_property
    def mirror_class(self) -> np.ndarray:
        """``mirror_class[c]``: the class whose transfer at ``+k`` is minus class c's at ``-k``,
        ``(dJ, -dM)`` for ``dJ != 0``, or ``-1`` for ``dJ = 0`` (the same transfer at both)."""
        index = {(int(a), int(b)): c for c, (a, b) in enumerate(zip(self.dJ, self.dM))}
        mirror = np.full(self.n_classes, -1, dtype=np.int64)
        for c, (dJ, dM) in enumerate(zip(self.dJ, self.dM)):
            if dJ != 0:
                if (int(dJ), -int(dM)) not in index:
                    msg = (f"links of class (dJ, dM) = ({dJ}, {dM}) have no mirror class ({dJ}, {-dM}): the states "
                           "must come symmetric in M")
                    raise ValueError(msg)
                mirror[c] = index[int(dJ), -int(dM)]
        return mirror

    @cached_property
    def blocks(self) -> dict:
        """The block function of each kind (``"kernel"``, ``"rates"``, ``"change"``), compiled once per
        species and process (numba's on-disk cache keeps the compilations between processes)."""
        return {kind: _compiled_block(self, kind) for kind in _KINDS}


# -- the block functions, written out per species ---------------------------------------------------

class _Rows:
    """The scratch of a pass in rows of ``_ROW`` values, whose column i is the coupling ``+k`` of index
    i in the section (or, in the populations, its mirror ``-k``), for ``ns`` states, ``nc`` classes:

    - ``p``: the populations (``ns`` rows), overwritten by ``dP/dt`` in ``"rates"``;
    - ``q``: their changes (``"change"``), overwritten by the change of ``dP/dt``;
    - ``strength``: the electrons' scattering strength of each coupling (the same at ``-k``);
    - ``up``, ``down``: ``gamma G`` of ``a -> b`` and of ``b -> a`` at ``+k`` for each class;
      ``d_up``, ``d_down`` their changes (``"change"``);
    - ``sum_up``, ``sum_down``: written by the blocks, the kernel of each class at ``+k``, the
      strength times ``sum w P_a`` (cell ``n - m``) and ``sum w P_b`` (cell ``n + m``) over its links,
      with the terms of ``-k`` that fall into the same cells (of ``dP`` in ``"change"``).

    ``as_array`` gives the drivers the first row of each part (``-1`` for the parts a kind has not)
    and the number of rows.
    """

    NAMES = ("p", "q", "strength", "up", "down", "d_up", "d_down", "sum_up", "sum_down")

    def __init__(self, kind: str, ns: int, nc: int):
        sizes = {"p": ns, "strength": 1, "sum_up": nc, "sum_down": nc}
        if kind != "kernel":
            sizes.update(up=nc, down=nc)
        if kind == "change":
            sizes.update(q=ns, d_up=nc, d_down=nc)
        row = 0
        for name in self.NAMES:
            setattr(self, name, row if name in sizes else -1)
            row += sizes.get(name, 0)
        self.size = row

    def as_array(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in self.NAMES] + [self.size], dtype=np.int64)


class _Column:
    """Writes the work on one column as LLVM instructions: loads and stores of the scratch (double
    pointer ``w``, column ``first + j``) and arithmetic with the project's floating-point flags.
    Each value is an SSA value, so the populations, rates and class sums of the column stay in
    registers. Every address is the column plus a constant, so the compiler sees that the rows
    never overlap and vectorises the loop over the columns."""

    def __init__(self, builder, w, first, j):
        self.builder = builder
        self.column = builder.gep(w, [builder.add(first, j)])
        self.flags = tuple(sorted(FASTMATH))

    def cell(self, row):
        return self.builder.gep(self.column, [ir.Constant(ir.IntType(64), row * _ROW)])

    def load(self, row):
        return self.builder.load(self.cell(row))

    def store(self, value, row):
        self.builder.store(value, self.cell(row))

    @staticmethod
    def constant(value):
        return ir.Constant(ir.DoubleType(), float(value))

    def mul(self, a, b, contract=True):
        return self.builder.fmul(a, b, flags=self._flags(contract))

    def add(self, a, b, contract=True):
        return self.builder.fadd(a, b, flags=self._flags(contract))

    def _flags(self, contract):
        return self.flags if contract else tuple(flag for flag in self.flags if flag != "contract")

    def sub(self, a, b):
        return self.builder.fsub(a, b, flags=self.flags)

    def neg(self, a):
        return self.builder.fneg(a, flags=self.flags)


def _emit_column(out: _Column, links: Links, kind: str, rows: _Rows, mirror: bool) -> None:
    """The work on one column, ``+k`` or (``mirror``) ``-k``: per class its two G values, per link the
    two kernel terms ``w P_a``, ``w P_b`` (of ``dP`` for ``"change"``) and the flow between its states,
    per class the kernel sums times the strength (stored at ``+k``, added at ``-k``), then the rate
    of every state (the sum of its flows in the order of the links)."""
    ns = links.n_states
    strength = out.load(rows.strength)
    p = [out.load(rows.p + s) for s in range(ns)]
    q = [out.load(rows.q + s) for s in range(ns)] if kind == "change" else None
    linear = q if kind == "change" else p  # what the kernel is linear in
    rates = [None] * ns
    for c in range(links.n_classes):
        # at -k the class reads the G values of its mirror class at +k the other way round, and its
        # kernel falls into that class's cells the other way round (dJ = 0: its own, as they stand)
        source, swap = (int(links.mirror_class[c]), True) if mirror and links.dJ[c] != 0 else (c, False)

        def pair(first_row, second_row):
            return (second_row + source, first_row + source) if swap else (first_row + source, second_row + source)

        if kind != "kernel":
            up, down = (out.load(row) for row in pair(rows.up, rows.down))
        if kind == "change":
            d_up, d_down = (out.load(row) for row in pair(rows.d_up, rows.d_down))
        sum_a = sum_b = None
        # the kernel's products and sums are not fused into multiply-adds: a term feeds its class sum
        # alone in "kernel" and the flow too in "rates", and fusing in one and not the other would
        # make the two kernels differ in the last bit
        for t in range(links.start[c], links.start[c + 1]):
            a, b, weight = int(links.first[t]), int(links.second[t]), out.constant(links.weight[t])
            term_a, term_b = out.mul(weight, linear[a], False), out.mul(weight, linear[b], False)
            sum_a = term_a if sum_a is None else out.add(sum_a, term_a, False)
            sum_b = term_b if sum_b is None else out.add(sum_b, term_b, False)
            if kind == "kernel":
                continue
            flow = out.sub(out.mul(up, term_a), out.mul(down, term_b))
            if kind == "change":
                flow = out.add(flow, out.mul(weight, out.sub(out.mul(d_up, p[a]), out.mul(d_down, p[b]))))
            rates[a] = out.neg(flow) if rates[a] is None else out.sub(rates[a], flow)
            rates[b] = flow if rates[b] is None else out.add(rates[b], flow)
        for total, row in zip((sum_a, sum_b), pair(rows.sum_up, rows.sum_down)):
            value = out.mul(strength, total, False)
            out.store(out.add(out.load(row), value, False) if mirror else value, row)
    if kind != "kernel":
        first = rows.p if kind == "rates" else rows.q
        for s in range(ns):
            out.store(rates[s] if rates[s] is not None else out.constant(0.0), first + s)


def _column_intrinsic(links: Links, kind: str, mirror: bool):
    """``f(address, first, j)``: the work on column ``first + j`` of the scratch at ``address``,
    written into the compiled code that calls it."""
    rows = _Rows(kind, links.n_states, links.n_classes)

    def typer(typingctx, address, first, j):
        def codegen(context, builder, signature, args):
            w = builder.bitcast(args[0], ir.DoubleType().as_pointer())
            _emit_column(_Column(builder, w, args[1], args[2]), links, kind, rows, mirror)
            return context.get_dummy_value()

        return types.void(types.voidptr, types.intp, types.intp), codegen

    return intrinsic(typer)


def _block_template(address, first, mirror):
    if mirror:
        for j in range(BLOCK):
            _minus(address, first, j)  # noqa: F821 - bound per species by _compiled_block
    else:
        for j in range(BLOCK):
            _plus(address, first, j)  # noqa: F821


def _digest(links: Links, kind: str) -> str:
    """A digest of everything a block function is written from (its name carries it: numba's cache key)."""
    parts = [kind.encode(), ",".join(sorted(FASTMATH)).encode(),
             np.array([BLOCK, SECTION, _ROW, links.n_states], dtype=np.int64).tobytes()]
    parts += [np.ascontiguousarray(a).tobytes() for a in (links.first, links.second, links.weight, links.start,
                                                            links.dJ, links.dM, links.mirror_class)]
    return hashlib.sha256(b"|".join(parts)).hexdigest()[:16]


def _compiled_block(links: Links, kind: str):
    """The block function of ``kind`` for ``links``: a C callback ``f(address, first, mirror)`` that
    does the work on the columns ``first..first + BLOCK - 1`` of the scratch at ``address`` (laid
    out as :class:`_Rows` says), couplings ``+k``, or with ``mirror`` their mirrors ``-k``."""
    name = f"_{kind}_block_{_digest(links, kind)}"
    scope = dict(globals(), _plus=_column_intrinsic(links, kind, False), _minus=_column_intrinsic(links, kind, True))
    function = pytypes.FunctionType(_block_template.__code__, scope, name)
    function.__qualname__ = name
    return cfunc(types.void(types.voidptr, types.intp, types.intp))(function)


# -- the drivers: populations in and rates out, G laid out, class sums into the kernel ---------------

# rows as the drivers get them (the order of _Rows.as_array)
_P, _Q, _STRENGTH, _UP, _DOWN, _D_UP, _D_DOWN, _SUM_UP, _SUM_DOWN, _SIZE = range(10)


@jit
def _scratch(rows):
    """The scratch of a pass (zeros: the columns of a last, short block hold finite values whose
    results are not used)."""
    return np.zeros(rows[_SIZE] * _ROW)


@jit
def _g_table(G, x, scale, step, reach, change, g, beyond):
    """``g[reach + m] = scale G(m d)`` (``change``: ``scale dG``, zero beyond the grid width) for
    ``|m| <= reach``: inside the grid width a copy of ``G[x]``, beyond it (with ``beyond``) the closed
    form, the same at every position: a pass writes it once per table. (For S = 5/2 pairs, whose
    transfers reach 2.6 times the grid width, 0.1 ms for 128 positions of 2048 energies, against
    0.7 ms writing the closed form at every position and indexing G itself.)"""
    n = (G.shape[1] + 1) // 2
    inside = min(reach, n - 1)
    target = g[reach - inside : reach + inside + 1]
    source = G[x, n - 1 - inside : n + inside]
    for i in range(target.size):
        target[i] = scale * source[i]
    if beyond:
        g[: reach - inside] = 0.0
        for m in range(inside + 1, reach + 1):
            g[reach + m] = 0.0 if change else scale * (m * step)


# P and the scratch meet in tiles of TILE couplings x TILE states, transposed in registers
TILE = 4


def _tile_intrinsic(streamed: bool):
    """``f(source, source_step, target, target_step)``: the TILE x TILE doubles of the rows
    ``source + r source_step`` (bytes; TILE contiguous values each) written transposed, into the
    rows ``target + c target_step``: value c of source row r becomes value r of target row c.
    ``streamed``: the target rows are written past the caches, in halves of 16 bytes (each target
    row must start on 16 bytes)."""

    @intrinsic
    def tile(typingctx, source, source_step, target, target_step):
        def codegen(context, builder, signature, args):
            source, source_step, target, target_step = args
            row = ir.VectorType(ir.DoubleType(), TILE)
            half = ir.VectorType(ir.DoubleType(), TILE // 2)

            def at(address, step, r):
                return builder.add(address, builder.mul(step, ir.Constant(step.type, r)))

            rows = [builder.load(builder.inttoptr(at(source, source_step, r), row.as_pointer()), align=8)
                    for r in range(TILE)]

            def shuffle(a, b, lanes):
                return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(ir.IntType(32), TILE), lanes))

            # 4 x 4: interleave rows (0, 1) and (2, 3), then take the halves of the pairs
            even01, odd01 = shuffle(rows[0], rows[1], [0, 4, 2, 6]), shuffle(rows[0], rows[1], [1, 5, 3, 7])
            even23, odd23 = shuffle(rows[2], rows[3], [0, 4, 2, 6]), shuffle(rows[2], rows[3], [1, 5, 3, 7])
            columns = [shuffle(even01, even23, [0, 1, 4, 5]), shuffle(odd01, odd23, [0, 1, 4, 5]),
                       shuffle(even01, even23, [2, 3, 6, 7]), shuffle(odd01, odd23, [2, 3, 6, 7])]
            hint = builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
            for c, column in enumerate(columns):
                address = at(target, target_step, c)
                if not streamed:
                    builder.store(column, builder.inttoptr(address, row.as_pointer()), align=8)
                    continue
                for h in range(2):
                    part = builder.shuffle_vector(column, column, ir.Constant(ir.VectorType(ir.IntType(32), 2),
                                                                              [2 * h, 2 * h + 1]))
                    pointer = builder.inttoptr(builder.add(address, ir.Constant(address.type, 16 * h)),
                                               half.as_pointer())
                    builder.store(part, pointer, align=16).set_metadata("nontemporal", hint)
            return context.get_dummy_value()

        return types.void(types.intp, types.intp, types.intp, types.intp), codegen

    return tile


_tile = _tile_intrinsic(False)
_tile_streamed = _tile_intrinsic(True)


@jit
def _tiled(nb, ns, state_stride):
    """``(columns, states)``: the couplings and states of a section moved in whole tiles (none when
    the states do not lie next to each other); the rest is moved one value at a time."""
    if state_stride != 8:
        return 0, 0
    return nb - nb % TILE, ns - ns % TILE


@intrinsic
def _at(typingctx, address):
    """The double at ``address``."""

    def codegen(context, builder, signature, args):
        return builder.load(builder.inttoptr(args[0], ir.DoubleType().as_pointer()), align=8)

    return types.float64(types.intp), codegen


@jit
def _touch_lines(first, stop):
    """Bring the cache lines of the bytes ``first..stop - 1`` in, in the order they lie in memory: a
    sum of one double per line (in four independent sums), which the caller must keep somewhere so
    that the compiler keeps the loads."""
    first -= first % 64
    lines = (stop - first + 63) // 64
    a = b = c = d = 0.0
    for i in range(0, lines - lines % 4, 4):
        at = first + 64 * i
        a += _at(at)
        b += _at(at + 64)
        c += _at(at + 128)
        d += _at(at + 192)
    for i in range(lines - lines % 4, lines):
        a += _at(first + 64 * i)
    return a + b + c + d


@jit
def _load_rows(P, x, i0, nb, mirrored, w, row):
    """Scratch rows from ``P[x, i0 + j, s]``, ``j < nb``; ``mirrored``: from the mirror couplings
    ``P[x, nk - 1 - i0 - j, s]``, read in the order they lie in memory. The lines of the couplings
    are first brought into the caches in one sequential sweep when they lie next to each other
    (module docstring); then whole tiles are transposed in registers, the rest moved value by value."""
    last = P.shape[1] - 1 - i0
    columns, states = _tiled(nb, P.shape[2], P.strides[2])
    step = -P.strides[1] if mirrored else P.strides[1]  # bytes from column j to j + 1
    start = P.ctypes.data + x * P.strides[0] + (last if mirrored else i0) * P.strides[1]
    if P.strides[2] == 8 and P.strides[1] == 8 * P.shape[2]:
        lowest = start - (nb - 1) * P.strides[1] if mirrored else start
        w[row * _ROW + SECTION] = _touch_lines(lowest, lowest + nb * P.strides[1])  # a column no block reads
    target = w.ctypes.data + row * _ROW * 8
    for t in range(0, columns, TILE):
        j = columns - TILE - t if mirrored else t  # in the order the couplings lie in memory
        for s in range(0, states, TILE):
            _tile(start + j * step + s * 8, step, target + (s * _ROW + j) * 8, _ROW * 8)
    for i in range(nb):
        j = nb - 1 - i if mirrored else i
        index = last - j if mirrored else i0 + j
        for s in range(states if j < columns else 0, P.shape[2]):
            w[(row + s) * _ROW + j] = P[x, index, s]


@intrinsic
def _stream(typingctx, address, value):
    """Store the double ``value`` at ``address`` past the caches (a non-temporal store): the rates are
    not read again soon, and a plain store would first read each cache line it writes from memory."""

    def codegen(context, builder, signature, args):
        store = builder.store(args[1], builder.inttoptr(args[0], ir.DoubleType().as_pointer()), align=8)
        store.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()

    return types.void(types.intp, types.float64), codegen


@intrinsic
def _stream_fence(typingctx):
    """Order the non-temporal stores before everything after (they are weakly ordered): a full fence,
    which every target has (mfence on x86)."""

    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen


@jit
def _store_rows(w, row, x, i0, nb, mirrored, out):
    """The inverse of ``_load_rows``: scratch rows back in the layout of P, past the caches (on one
    thread, 2.6 of 13.6 ms less for reading P and writing the rates at n_x = 128, 2046 couplings),
    whole tiles transposed in registers where each coupling's states start on 16 bytes (4.2 ms
    value by value, 2.9 ms as tiles for 9.4 million rates)."""
    last = out.shape[1] - 1 - i0
    start = out.ctypes.data + x * out.strides[0]
    step = -out.strides[1] if mirrored else out.strides[1]
    first = start + (last if mirrored else i0) * out.strides[1]
    columns, states = _tiled(nb, out.shape[2], out.strides[2])
    if first % 16 != 0 or out.strides[1] % 16 != 0:  # the streamed halves need 16 bytes
        columns, states = 0, 0
    source = w.ctypes.data + row * _ROW * 8
    for t in range(0, columns, TILE):
        j = columns - TILE - t if mirrored else t
        for s in range(0, states, TILE):
            _tile_streamed(source + (s * _ROW + j) * 8, _ROW * 8, first + j * step + s * 8, step)
    for i in range(nb):
        j = nb - 1 - i if mirrored else i
        at = start + (last - j if mirrored else i0 + j) * out.strides[1]
        for s in range(states if j < columns else 0, out.shape[2]):
            _stream(at + s * out.strides[2], w[(row + s) * _ROW + j])
    _stream_fence()


@jit
def _load_strengths(strengths, i0, nb, w, row):
    for i in range(nb):
        w[row * _ROW + i] = strengths[i0 + i]


@jit
def _load_g(g, kk, z, dJ, dM, reach, columns, w, up, down):
    """The G rows of a section whose first coupling index is ``kk``: class c's ``a -> b`` hands the
    electrons ``m = (kk + i) dJ + z dM`` steps at column i, read at ``g[reach + m]``, and ``b -> a``
    at ``g[reach - m]``, for ``i < columns`` (the table reaches beyond the last coupling of a run).
    Read through strided views of the table: a third faster than indexing the table itself."""
    for c in range(dJ.size):
        step = dJ[c]
        for row, at, sign in ((up + c, reach + kk * step + z * dM[c], 1), (down + c, reach - kk * step - z * dM[c], -1)):
            target = w[row * _ROW : row * _ROW + columns]
            if step == 0:
                for i in range(columns):
                    target[i] = g[at]
                continue
            source = g[at :: sign * step]  # no end index: it may lie before index 0
            for i in range(columns):
                target[i] = source[i]


@jit
def _inside(m, step, n, nb):
    """``(start, stop)``: the columns i < nb whose transfer ``m + step i`` (``step != 0``) lies strictly
    inside the grid width, ``-n < m + step i < n`` (a range, as the transfer is monotonic in i)."""
    low, high = -n + 1 - m, n - 1 - m  # step i must lie in [low, high]
    if step < 0:
        low, high = high, low
    start = -((-low) // step)  # ceil(low / step)
    stop = high // step + 1
    return min(max(start, 0), nb), min(max(stop, start, 0), nb)


@jit
def _add_strided(cells, values):
    for i in range(values.size):
        cells[i] += values[i]


@jit
def _add_class_sums(K, x, w, rows, nb, kk, z, dJ, dM, below, above):
    """Add the class kernels of a section (columns ``i < nb``) into the kernel row ``K[x]``; returns the
    sums lumped into the end cells, ``(below, above)`` (transfers of at least the grid width: summed
    apart, added once per row)."""
    n = (K.shape[1] - 1) // 2
    cells = K[x]
    for c in range(dJ.size):
        step = dJ[c]
        m = kk * step + z * dM[c]
        row_up = (rows[_SUM_UP] + c) * _ROW
        row_down = (rows[_SUM_DOWN] + c) * _ROW
        if step == 0:  # one transfer for every column: a whole section falls into the same cells
            if -n < m < n:
                if m != 0:
                    a = 0.0
                    b = 0.0
                    for i in range(nb):
                        a += w[row_up + i]
                        b += w[row_down + i]
                    cells[n - m] += a
                    cells[n + m] += b
                continue
            start, stop = 0, 0
        else:
            start, stop = _inside(m, step, n, nb)
        # the cells n - m - step i and n + m + step i as strided views, each in a loop of its own (half
        # the time of one loop indexing K for both); a column of no transfer stays out of the kernel
        skip = -m // step if step != 0 and m % step == 0 else stop
        for lo, hi in ((start, min(skip, stop)), (max(skip + 1, start), stop)):
            if hi > lo:
                _add_strided(cells[n - m - step * lo :: -step], w[row_up + lo : row_up + hi])
                _add_strided(cells[n + m + step * lo :: step], w[row_down + lo : row_down + hi])
        for i in range(start):  # beyond the width before the inside: m <= -n for step > 0, m >= n else
            if step > 0:
                above += w[row_up + i]
                below += w[row_down + i]
            else:
                below += w[row_up + i]
                above += w[row_down + i]
        for i in range(stop, nb):  # and after it
            if step > 0 or (step == 0 and m >= n):
                below += w[row_up + i]
                above += w[row_down + i]
            else:
                above += w[row_up + i]
                below += w[row_down + i]
    return below, above


@jit
def _blocks_of_section(block, P, dP, out, x, i0, nb, mirrored, w, rows):
    """The work on a section: its populations (and their changes ``dP``, unless empty) into the
    scratch, the block function on every block, and the rates back out into ``out`` (unless empty);
    the couplings ``+k`` first, then (``mirrored``) those of ``-k``."""
    for half in range(2 if mirrored else 1):
        _load_rows(P, x, i0, nb, half == 1, w, rows[_P])
        if dP.shape[0] > 0:
            _load_rows(dP, x, i0, nb, half == 1, w, rows[_Q])
        for first in range(0, nb, BLOCK):
            block(w.ctypes, first, half)
        if out.shape[0] > 0:
            _store_rows(w, rows[_Q] if dP.shape[0] > 0 else rows[_P], x, i0, nb, half == 1, out)


@jit(parallel=True)
def _kernel_pass(block, P, k, starts, sizes, mirrored, z, strengths, dJ, dM, rows, K, threads):
    """Add the out-kernel of ``P[x, k, s]`` into ``K``; ``block`` the species' ``"kernel"`` function,
    ``starts``, ``sizes`` the sections (of the couplings ``+k`` alone when ``mirrored``)."""
    none = np.empty((0, 0, 0))
    chunks = max(1, min(P.shape[0], threads))
    for chunk in numba.prange(chunks):
        w = _scratch(rows)
        start, stop = thread_rows(chunk, chunks, P.shape[0])
        for x in range(start, stop):
            below = 0.0
            above = 0.0
            for i in range(starts.size):
                _load_strengths(strengths, starts[i], sizes[i], w, rows[_STRENGTH])
                _blocks_of_section(block, P, none, none, x, starts[i], sizes[i], mirrored, w, rows)
                below, above = _add_class_sums(K, x, w, rows, sizes[i], k[starts[i]], z, dJ, dM, below, above)
            K[x, 0] += below
            K[x, K.shape[1] - 1] += above


@jit(parallel=True)
def _rates_pass(block, P, G, k, starts, sizes, mirrored, z, step, gamma, strengths, dJ, dM, reach, rows, K, dP,
                with_kernel, threads):
    """Write ``dP/dt`` of ``P[x, k, s]`` into ``dP`` and, ``with_kernel``, add the out-kernel into ``K``
    (``block`` the species' ``"rates"`` function)."""
    none = np.empty((0, 0, 0))
    chunks = max(1, min(P.shape[0], threads))
    for chunk in numba.prange(chunks):
        w = _scratch(rows)
        g = np.empty(2 * reach + 1)
        start, stop = thread_rows(chunk, chunks, P.shape[0])
        for x in range(start, stop):
            _g_table(G, x, gamma, step, reach, False, g, x == start)
            below = 0.0
            above = 0.0
            for i in range(starts.size):
                columns = -(-sizes[i] // BLOCK) * BLOCK
                _load_strengths(strengths, starts[i], sizes[i], w, rows[_STRENGTH])
                _load_g(g, k[starts[i]], z, dJ, dM, reach, columns, w, rows[_UP], rows[_DOWN])
                _blocks_of_section(block, P, none, dP, x, starts[i], sizes[i], mirrored, w, rows)
                if with_kernel:
                    below, above = _add_class_sums(K, x, w, rows, sizes[i], k[starts[i]], z, dJ, dM, below, above)
            if with_kernel:
                K[x, 0] += below
                K[x, K.shape[1] - 1] += above


@jit(parallel=True)
def _change_pass(block, P, G, dP, dG, k, starts, sizes, mirrored, z, step, gamma, strengths, dJ, dM, reach, rows,
                 dK, d_rates, threads):
    """Add the kernel's change for ``dP`` into ``dK`` and write the change of ``dP/dt`` for ``dP`` and
    ``dG`` into ``d_rates`` (``block`` the species' ``"change"`` function)."""
    chunks = max(1, min(P.shape[0], threads))
    for chunk in numba.prange(chunks):
        w = _scratch(rows)
        g = np.empty(2 * reach + 1)
        dg = np.empty(2 * reach + 1)
        start, stop = thread_rows(chunk, chunks, P.shape[0])
        for x in range(start, stop):
            _g_table(G, x, gamma, step, reach, False, g, x == start)
            _g_table(dG, x, gamma, step, reach, True, dg, x == start)
            below = 0.0
            above = 0.0
            for i in range(starts.size):
                columns = -(-sizes[i] // BLOCK) * BLOCK
                _load_strengths(strengths, starts[i], sizes[i], w, rows[_STRENGTH])
                _load_g(g, k[starts[i]], z, dJ, dM, reach, columns, w, rows[_UP], rows[_DOWN])
                _load_g(dg, k[starts[i]], z, dJ, dM, reach, columns, w, rows[_D_UP], rows[_D_DOWN])
                _blocks_of_section(block, P, dP, d_rates, x, starts[i], sizes[i], mirrored, w, rows)
                below, above = _add_class_sums(dK, x, w, rows, sizes[i], k[starts[i]], z, dJ, dM, below, above)
            dK[x, 0] += below
            dK[x, dK.shape[1] - 1] += above


# -- what the mechanisms call ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Sections:
    """How the couplings ``k`` are taken: sections of consecutive indices (``starts``, ``sizes``; at
    most ``SECTION``), of the couplings ``+k`` alone when ``mirrored`` (each with its mirror ``-k``),
    and the reach of the G table (every transfer of every column, also those of a last, short block
    beyond the end of its run)."""

    starts: np.ndarray
    sizes: np.ndarray
    mirrored: bool
    reach: int

    @classmethod
    def of(cls, links: Links, k, z, strengths) -> _Sections:
        k = np.asarray(k, dtype=np.int64)
        half = k.size // 2
        mirrored = bool(k.size % 2 == 0 and half > 0 and np.array_equal(k, -k[::-1]) and np.all(k[half:] > 0)
                        and np.array_equal(strengths, strengths[::-1]))
        primary = np.arange(half, k.size) if mirrored else np.arange(k.size)
        runs = np.flatnonzero(np.r_[True, np.diff(k[primary]) != 1])  # a section never straddles a gap in k
        starts, sizes = [], []
        for a, b in zip(runs, np.r_[runs[1:], primary.size]):
            for first in range(a, b, SECTION):
                starts.append(primary[first])
                sizes.append(min(SECTION, b - first))
        reach = links.reach(k, z) + (BLOCK - 1) * int(np.max(np.abs(links.dJ), initial=0))
        return cls(np.array(starts, dtype=np.int64), np.array(sizes, dtype=np.int64), mirrored, reach)


def _rows(links: Links, kind: str) -> np.ndarray:
    return _Rows(kind, links.n_states, links.n_classes).as_array()


@functools.lru_cache(maxsize=64)
def _sections(links: Links, k: bytes, z: int, strengths: bytes) -> _Sections:
    """``_Sections.of`` for the couplings and strengths given as bytes: a mechanism calls the pass with
    the same ones every time."""
    return _Sections.of(links, np.frombuffer(k, dtype=np.int64), z, np.frombuffer(strengths, dtype=float))


def _prepared(links: Links, k, z, strengths) -> tuple:
    """``(k, strengths, sections)``: the couplings and strengths as the passes take them, and their sections."""
    k = np.asarray(k, dtype=np.int64)
    strengths = np.asarray(strengths, dtype=float)
    return k, strengths, _sections(links, k.tobytes(), int(z), strengths.tobytes())


def kernel_and_rates(P, G, k, z, step, gamma, strengths, links: Links, K=None, dP=None) -> None:
    """Add the out-kernel of the populations ``P[x, k, s]`` into ``K`` (if given) and write their
    ``dP/dt`` into ``dP`` (if given), in one pass over the links.

    ``strengths[ik]`` multiplies the one-spin weights in the kernel, ``gamma`` in the rates; ``z``
    is the Zeeman energy in steps. P and dP may be strided views (e.g. blocks of a larger array).
    G is needed only for the rates."""
    with_kernel, with_rates = K is not None, dP is not None
    k, strengths, sections = _prepared(links, k, z, strengths)
    if not with_rates:
        if with_kernel:
            _kernel_pass(links.blocks["kernel"], P, k, sections.starts, sections.sizes, sections.mirrored, int(z),
                         strengths, links.dJ, links.dM, _rows(links, "kernel"), K, numba.get_num_threads())
        return
    if G is None:
        msg = "the rates need the electron-hole function G"
        raise ValueError(msg)
    _rates_pass(links.blocks["rates"], P, G, k, sections.starts, sections.sizes, sections.mirrored, int(z),
                float(step), float(gamma), strengths, links.dJ, links.dM, sections.reach, _rows(links, "rates"),
                K if with_kernel else np.zeros((1, 3)), dP, with_kernel, numba.get_num_threads())


def kernel_and_rates_change(P, G, dP, dG, k, z, step, gamma, strengths, links: Links, dK, d_rates) -> None:
    """Add the kernel's change for a change ``dP`` of the populations into ``dK`` and write the change
    of ``dP/dt`` for ``dP`` and a change ``dG`` of the electron-hole function into ``d_rates``."""
    k, strengths, sections = _prepared(links, k, z, strengths)
    _change_pass(links.blocks["change"], P, G, dP, dG, k, sections.starts, sections.sizes, sections.mirrored, int(z),
                 float(step), float(gamma), strengths, links.dJ, links.dM, sections.reach, _rows(links, "change"),
                 dK, d_rates, numba.get_num_threads())


# -- the readable twins ------------------------------------------------------------------------------

def _link_transfers(links: Links, k, z) -> np.ndarray:
    """``m[ik, t]``: the steps link t hands the electrons going ``a -> b`` at coupling ``k[ik]``."""
    per_link = np.repeat(np.arange(links.n_classes), np.diff(links.start))
    return np.asarray(k, dtype=np.int64)[:, None] * links.dJ[per_link] + int(z) * links.dM[per_link]


def _add_flows(rates, flow, links: Links) -> None:
    """Each link's flow leaves its first state and enters its second."""
    for t in range(links.first.size):
        rates[:, :, links.first[t]] -= flow[:, :, t]
        rates[:, :, links.second[t]] += flow[:, :, t]


def kernel_and_rates_reference(P, G, k, z, step, gamma, strengths, links: Links, n):
    """``(K, dP/dt)`` of :func:`kernel_and_rates` in numpy, link by link (the readable twin, for tests)."""
    m = _link_transfers(links, k, z)  # (n_k, n_links)
    a, b, w = links.first, links.second, links.weight
    s = np.asarray(strengths)[:, None]
    K = np.zeros((P.shape[0], 2 * n + 1))
    keep = m != 0  # transfers of no energy stay out of the kernel
    for x in range(P.shape[0]):
        np.add.at(K[x], np.clip(n - m[keep], 0, 2 * n), (s * w * P[x][:, a])[keep])
        np.add.at(K[x], np.clip(n + m[keep], 0, 2 * n), (s * w * P[x][:, b])[keep])
    dP = np.zeros_like(P)
    _add_flows(dP, gamma * w * (P[:, :, a] * electron_hole_at(G, m, step) - P[:, :, b] * electron_hole_at(G, -m, step)),
               links)
    return K, dP


def kernel_and_rates_change_reference(P, G, dP, dG, k, z, step, gamma, strengths, links: Links, n):
    """``(dK, d(dP/dt))`` of :func:`kernel_and_rates_change` in numpy (the readable twin, for tests):
    the kernel and rates of ``dP``, plus the flows of P with ``dG`` (zero beyond the grid width)."""
    dK, d_rates = kernel_and_rates_reference(dP, G, k, z, step, gamma, strengths, links, n)
    m = _link_transfers(links, k, z)
    a, b, w = links.first, links.second, links.weight
    _add_flows(d_rates, gamma * w * (P[:, :, a] * electron_hole_at(dG, m, 0.0) - P[:, :, b] * electron_hole_at(dG, -m, 0.0)),
               links)
    return dK, d_rates
