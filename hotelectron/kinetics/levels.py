"""Impurity levels as one concept: a species of levels, its one-spin transition weights and kinetics.

A *species* is a small set of impurity levels ``L`` with energies ``E_L``, degeneracies ``d_L`` and
the one-spin transition weights ``w[L, L']`` (SPEC sections 2, 3 and 9). RKKY pairs at one coupling
``V`` (``J`` multiplets at zero field, ``|J M>`` states in a field) and free impurity spins (``M``
levels in a field) are two species of it; one machinery gives their Gibbs state, energy, rates,
stationary populations and implicit step.

Conventions
-----------
Energies are in any unit shared by ``V``, ``Delta_Z``, ``T`` and the argument of ``G``; only ratios
enter. Populations ``P_L`` are per *state* of the level, normalised as ``sum_L d_L P_L = 1``
(VGL 64). Both species use the one-spin convention of :func:`hotelectron.spin.matrix_elements`:

    w[L, L'] = sum_{a = x, y, z} sum_{l' in L'} |<l'| S^a |l>|^2      (any state l of L),

the squared matrix elements of ONE impurity spin (``S1`` of a pair), summed over the final states
of ``L'``. It does not depend on which state ``l`` of ``L`` starts; each row sums to ``S(S+1)``
and ``d_L w[L, L']`` is symmetric. For pairs at zero field ``w = A_{JJ'}`` (VGL 13b, A3); in a
field ``w = B(JM -> J'M')`` (SPEC section 9); for a free spin ``w = |<M'|S|M>|^2``. The electron
collision integral uses the coefficients ``c[L, L'] = d_L w[L, L'] / [S(S+1)]``
(:meth:`LevelSpecies.electron_weights`): ``c_{JJ'}`` of VGL (69) and ``c_{MM'}`` of SPEC section 9,
whose rows sum to 1 for a free spin.

Kinetics (VGL 62-63 for any species): with ``G(Delta) = int f(e)(1 - f(e + Delta)) de`` the
electron-hole function (how readily the gas absorbs ``Delta``), a transition ``L -> L'`` hands the
gas ``D = E_L - E_L'`` and occurs at the rate ``gamma w[L, L'] G(D)`` per impurity in ``L``:

    dP_L/dt = - gamma sum_{L' != L} w[L, L'] [ P_L G(E_L - E_L') - P_L' G(E_L' - E_L) ].

A level going up absorbs energy from the gas, which must give it up (``D < 0``). ``gamma`` is the
dimensionless ``Gamma t0 E0`` of the pair mechanism. ``sum_L d_L P_L`` is conserved; in a Fermi gas
at ``T`` (``G(D) = D / (1 - exp(-D/T))``) the Gibbs state at ``T`` balances every transition.

Modelling assumption (SPEC section 9): the impurity Zeeman energy ``Delta_Z = g mu_B B`` enters the
level energies as ``Delta_Z M`` and is exchanged with the orbital energy of the electron in a spin
flip; the electron's own Zeeman energy is neglected (strong spin-orbit scattering keeps f spin
independent).

How a mechanism consumes a species
----------------------------------
At each position ``x`` a mechanism holds populations ``P[x, L]`` of the species (and of each
coupling ``V_k`` for pairs, with the quadrature weight ``w_k`` of ``int dV/V^2``). Its out-kernel is
a comb over the transfers ``D_{LL'} = E_L - E_L'`` (whole energy steps ``m``):
``Kout[x, m] += r c[L, L'] P[x, L]`` at ``m = -D_{LL'}/d`` (the electron at ``eps`` goes to
``eps + D``, i.e. ``eps - m d``), ``r`` the scattering strength; the in-kernel is its mirror
``Kin[m] = Kout[-m]`` because ``c`` is symmetric, which is what the convolution engine assumes. The
populations evolve with :meth:`LevelSpecies.rates` / :meth:`LevelSpecies.relax` with ``G`` of the
local electrons, or are eliminated with :meth:`LevelSpecies.stationary`. Transitions with
``D = 0`` cancel pairwise in the integral and may stay out of the kernel.
:func:`collision_integral_reference` is the readable O(N levels^2) twin that such a kernel must
reproduce. :class:`hotelectron.kinetics.mechanisms.FieldPairScattering` is such a mechanism for
pairs in a field (its compiled solves in :mod:`hotelectron.kinetics.level_dynamics` have the methods
of :class:`LevelSpecies` as their readable twins).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np

from .. import spin

__all__ = [
    "LevelSpecies",
    "clebsch_gordan_vector",
    "collision_integral_reference",
    "free_spin_levels",
    "pair_levels",
    "pair_multiplets",
]

# relative tolerance of the consistency checks of a species (symmetry of d w, equal energies and
# equal row sums when lumping): well above the round-off of the closed forms, far below any physics
_CHECK_RTOL = 1e-12


def _check_energy(name, value) -> float:
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))
    if not ok:
        msg = f"{name} must be a finite real number (an energy); got {value!r}"
        raise ValueError(msg)
    return float(value)


def _readonly(a, dtype=float) -> np.ndarray:
    a = np.array(a, dtype=dtype)
    a.setflags(write=False)
    return a


def clebsch_gordan_vector(j, m, q, J) -> float:
    """``<j m; 1 q | J m+q>``: coupling an angular momentum ``j`` with a vector (rank 1, ``q = -1, 0, 1``).

    Closed forms of the Condon-Shortley table for ``j2 = 1`` (zero outside the allowed ranges,
    ``J in {j-1, j, j+1}``, ``|m| <= j``, ``|m + q| <= J``). Half-integers are accepted as floats.
    """
    j, m, J = float(j), float(m), float(J)
    mf = m + q  # final projection
    if q not in (-1, 0, 1) or abs(m) > j or abs(mf) > J or J < 0 or not (abs(j - 1) <= J <= j + 1):
        return 0.0
    if J == j + 1:
        num = {1: (j + mf) * (j + mf + 1), 0: 2 * (j - mf + 1) * (j + mf + 1), -1: (j - mf) * (j - mf + 1)}[q]
        return math.sqrt(num / ((2 * j + 1) * (2 * j + 2)))
    if J == j:
        if j == 0:
            return 0.0
        if q == 0:
            return mf / math.sqrt(j * (j + 1))
        num = (j + mf) * (j - mf + 1) if q == 1 else (j - mf) * (j + mf + 1)
        value = math.sqrt(num / (2 * j * (j + 1)))
        return -value if q == 1 else value
    # J == j - 1
    num = {1: (j - mf) * (j - mf + 1), 0: 2 * (j - mf) * (j + mf), -1: (j + mf + 1) * (j + mf)}[q]
    value = math.sqrt(num / (2 * j * (2 * j + 1)))
    return -value if q == 0 else value


@dataclass(frozen=True, eq=False)
class LevelSpecies:
    """A species of impurity levels (see the module docstring for every convention).

    Attributes
    ----------
    S : float
        The impurity spin (its ``S(S+1)`` normalises the electron weights).
    energies : ndarray, shape (n,)
        Level energies ``E_L`` (energy unit of the constructor's arguments).
    degeneracies : ndarray of int, shape (n,)
        ``d_L >= 1``: number of states of the level.
    weights : ndarray, shape (n, n)
        One-spin transition weights ``w[L, L']`` (unit: spin^2), ``d_L w[L, L']`` symmetric.
    labels : tuple
        Quantum numbers of each level, e.g. ``(J, M)``, ``(J,)`` or ``(M,)``.
    """

    S: float
    energies: np.ndarray
    degeneracies: np.ndarray
    weights: np.ndarray
    labels: tuple

    def __post_init__(self):
        object.__setattr__(self, "S", spin.check_spin(self.S))
        E = np.asarray(self.energies, dtype=float)
        d = np.asarray(self.degeneracies)
        w = np.asarray(self.weights, dtype=float)
        n = E.size
        if E.ndim != 1 or n == 0 or not np.all(np.isfinite(E)):
            msg = f"level energies must be a non-empty 1-d array of finite numbers; got shape {E.shape}"
            raise ValueError(msg)
        if d.shape != (n,) or not np.all(d == np.round(d)) or np.any(d < 1):
            msg = f"degeneracies must be {n} integers >= 1; got {d!r}"
            raise ValueError(msg)
        if w.shape != (n, n) or not np.all(np.isfinite(w)) or np.any(w < 0):
            msg = f"transition weights must be a ({n}, {n}) array of finite numbers >= 0; got shape {w.shape}"
            raise ValueError(msg)
        if len(self.labels) != n:
            msg = f"need one label per level ({n}); got {len(self.labels)}"
            raise ValueError(msg)
        flow = d[:, None] * w
        asymmetry = np.max(np.abs(flow - flow.T))
        if asymmetry > _CHECK_RTOL * max(np.max(flow), 1.0):
            msg = (f"d_L w[L, L'] must be symmetric (microscopic reversibility of |<l'|S|l>|^2); "
                   f"largest asymmetry {asymmetry:.3g}")
            raise ValueError(msg)
        object.__setattr__(self, "energies", _readonly(E))
        object.__setattr__(self, "degeneracies", _readonly(np.round(d), dtype=np.int64))
        object.__setattr__(self, "weights", _readonly(w))
        object.__setattr__(self, "labels", tuple(tuple(label) for label in self.labels))

    @property
    def size(self) -> int:
        """Number of levels."""
        return self.energies.size

    @property
    def transfers(self) -> np.ndarray:
        """``D[L, L'] = E_L - E_L'``: the energy handed to the electron gas in ``L -> L'``."""
        return np.subtract.outer(self.energies, self.energies)

    def electron_weights(self) -> np.ndarray:
        """``c[L, L'] = d_L w[L, L'] / [S(S+1)]`` of the electron collision integral (symmetric)."""
        return self.degeneracies[:, None] * self.weights / (self.S * (self.S + 1))

    def normalisation(self, P) -> np.ndarray:
        """``sum_L d_L P_L`` (1 for populations), over the last axis."""
        return np.asarray(P, dtype=float) @ self.degeneracies

    def energy(self, P) -> np.ndarray:
        """Mean energy per impurity (pair) ``sum_L d_L E_L P_L``, over the last axis of ``P``."""
        return np.asarray(P, dtype=float) @ (self.degeneracies * self.energies)

    def gibbs(self, T) -> np.ndarray:
        """Equilibrium populations per state ``exp(-E_L/T)/Z`` at temperature ``T`` (same energy unit).

        Shifted exponents: never overflows. ``T = 0`` populates the lowest level(s) equally per state.
        """
        T = float(T)
        if not (math.isfinite(T) and T >= 0):
            msg = f"temperature T must be finite and >= 0; got {T!r}"
            raise ValueError(msg)
        E = self.energies
        if T == 0:
            p = np.where(E <= E.min(), 1.0, 0.0)
        else:
            x = -(E - E.min()) / T
            p = np.exp(x)
        return p / np.sum(self.degeneracies * p)

    def _gas(self, G) -> np.ndarray:
        """``g[L, L'] = G(E_L - E_L')`` with the diagonal (no transition) set to zero."""
        g = np.array(G(self.transfers), dtype=float)
        if g.shape != (self.size, self.size) or not np.all(np.isfinite(g)) or np.any(g < 0):
            msg = ("the electron-hole function G must return finite values >= 0 of the shape of its "
                   f"argument ({self.size}, {self.size})")
            raise ValueError(msg)
        np.fill_diagonal(g, 0.0)
        return g

    def transition_rates(self, G, gamma=1.0) -> np.ndarray:
        """``r[L, L'] = gamma w[L, L'] G(E_L - E_L')`` per impurity in ``L`` (zero diagonal)."""
        return float(gamma) * self.weights * self._gas(G)

    def generator(self, G, gamma=1.0) -> np.ndarray:
        """Matrix ``M`` with ``dP/dt = M P`` for per-state populations (columns conserve ``d . P``)."""
        g = self._gas(G)
        # in-flow into one state of L from L': d_L' r[L', L] P_L' / d_L = gamma w[L, L'] G(E_L' - E_L) P_L'
        M = float(gamma) * self.weights * g.T
        M[np.diag_indices(self.size)] = -float(gamma) * np.sum(self.weights * g, axis=1)
        return M

    def rates(self, P, G, gamma=1.0) -> np.ndarray:
        """``dP/dt`` (VGL 63 generalised) for populations ``P`` (last axis: levels)."""
        return np.asarray(P, dtype=float) @ self.generator(G, gamma).T

    def relax(self, P, G, dt, gamma=1.0) -> np.ndarray:
        """One implicit Euler step ``(1 - dt M[G]) P_new = P`` with G frozen.

        ``1 - dt M`` is a non-singular M-matrix for any ``dt >= 0``: the step is unconditionally
        stable, keeps ``sum_L d_L P_L`` (restored after the solve) and P non-negative, and tends to
        :meth:`stationary` as ``dt -> inf``.
        """
        dt = float(dt)
        if not (math.isfinite(dt) and dt >= 0):
            msg = f"time step dt must be finite and >= 0; got {dt!r}"
            raise ValueError(msg)
        P = np.asarray(P, dtype=float)
        M = self.generator(G, gamma)
        if dt * np.max(np.abs(M)) > 1 / np.finfo(float).eps:
            # the unit matrix is lost to round-off in 1 - dt M (the solve would be singular): the step
            # is the stationary state to round-off, with the normalisation of P
            return self.normalisation(P)[..., None] * self.stationary(G)
        A = np.eye(self.size) - dt * M
        new = np.linalg.solve(A, P.reshape(-1, self.size).T).T.reshape(P.shape)
        # the exact step keeps sum_L d_L P_L; a stiff step (dt times the rates >> 1) loses it to the
        # condition number of A, not its direction: restore it (as pair_dynamics.relax_implicit does)
        before, after = self.normalisation(P), self.normalisation(new)
        scale = np.divide(before, after, out=np.ones_like(after), where=after > 0)
        return new * np.asarray(scale)[..., None]

    def stationary(self, G) -> np.ndarray:
        """Stationary populations per state for the electron-hole function ``G`` (``M P = 0``).

        Solves the balance system of all levels (in a field the states form a (J, M) lattice, not a
        chain) by the Grassmann-Taksar-Heyman state reduction on the level probabilities
        ``d_L P_L``: only additions of non-negative numbers, so every population, however small, is
        obtained to a few round-offs *relative* to itself. The levels are reduced from the highest
        energy down, so that at ``T = 0`` the excited levels come out exactly zero.

        Raises
        ------
        ValueError
            When the stationary state is not unique (the levels split into several closed classes,
            e.g. degenerate ground states at ``T = 0`` that no transition joins).
        """
        q = self.transition_rates(G)  # rates of the level probabilities d_L P_L
        order = np.argsort(self.energies, kind="stable")  # ground first: reduced last
        a = q[np.ix_(order, order)].copy()
        n = self.size
        for k in range(n - 1, 0, -1):
            out = a[k, :k].sum()
            if not out > 0:
                msg = (f"stationary populations are not unique: level {self.labels[order[k]]} cannot reach "
                       f"the lower levels (a closed class; G vanishes on every link out of it)")
                raise ValueError(msg)
            a[:k, k] /= out
            a[:k, :k] += np.outer(a[:k, k], a[k, :k])
        pi = np.zeros(n)
        pi[0] = 1.0
        for k in range(1, n):
            pi[k] = pi[:k] @ a[:k, k]
        P = np.empty(n)
        P[order] = pi / pi.sum()
        return P / self.degeneracies

    def lumped(self, key) -> LevelSpecies:
        """Merge levels with the same ``key(label)`` into one level (e.g. the M of a J multiplet at B = 0).

        Needs equal energies within a group and lumpable weights: every state of a group has the same
        total weight into each other group. Degeneracies add; the new weight is that common total.
        """
        groups: dict = {}
        for index, label in enumerate(self.labels):
            groups.setdefault(key(label), []).append(index)
        names = list(groups)
        members = [np.array(groups[name]) for name in names]
        n = len(names)
        scale = max(np.max(np.abs(self.energies)), 1.0)
        w = np.empty((n, n))
        for a, rows in enumerate(members):
            if np.ptp(self.energies[rows]) > _CHECK_RTOL * scale:
                msg = f"cannot lump levels of unequal energy into {names[a]!r}: {self.energies[rows]}"
                raise ValueError(msg)
            for b, cols in enumerate(members):
                totals = self.weights[np.ix_(rows, cols)].sum(axis=1)
                if np.ptp(totals) > _CHECK_RTOL * max(np.max(self.weights), 1.0):
                    msg = (f"levels of {names[a]!r} are not lumpable: their weights into {names[b]!r} "
                           f"differ ({totals})")
                    raise ValueError(msg)
                w[a, b] = totals.mean()
        energies = [self.energies[rows].mean() for rows in members]
        degeneracies = [self.degeneracies[rows].sum() for rows in members]
        labels = [name if isinstance(name, tuple) else (name,) for name in names]
        return LevelSpecies(self.S, energies, degeneracies, w, tuple(labels))


def pair_levels(S, V, zeeman=0.0) -> LevelSpecies:
    """RKKY pair at coupling ``V`` in a field: states ``|J M>`` with ``E_JM = V eps_J + Delta_Z M``.

    ``H = V S1.S2 + Delta_Z (S1z + S2z)`` (SPEC section 9). One-spin weights (unit spin^2)

        B(JM -> J'M') = (2J+1) A_{JJ'} |<J M; 1 q | J' M'>|^2 / (2J'+1),   q = M' - M,

    by the Wigner-Eckart theorem with ``|<J'||S1||J>|^2 = (2J+1) A_{JJ'}``; ``sum_{M'} B = A_{JJ'}``.
    Every state is its own level (degeneracy 1), ordered by J, then M ascending, labels ``(J, M)``.

    Parameters
    ----------
    S : float
        Impurity spin (a positive multiple of 1/2).
    V : float
        RKKY coupling (any sign; energy unit shared with ``zeeman``).
    zeeman : float
        Impurity Zeeman energy ``Delta_Z = g mu_B B`` (same unit).
    """
    S = spin.check_spin(S)
    V = _check_energy("coupling V", V)
    zeeman = _check_energy("Zeeman energy Delta_Z", zeeman)
    J, eps = spin.levels(S)
    A = spin.matrix_elements(S)
    labels = [(float(j), float(m)) for j in J for m in np.arange(-j, j + 1)]
    index = {label: i for i, label in enumerate(labels)}
    n = len(labels)
    w = np.zeros((n, n))
    for (j, m), i in index.items():
        for jp in (j - 1, j, j + 1):
            if not 0 <= jp <= 2 * S:
                continue
            for q in (-1, 0, 1):
                target = index.get((jp, m + q))
                if target is None:
                    continue
                cg = clebsch_gordan_vector(j, m, q, jp)
                w[i, target] = (2 * j + 1) * A[int(j), int(jp)] * cg * cg / (2 * jp + 1)
    energies = [V * eps[int(j)] + zeeman * m for j, m in labels]
    return LevelSpecies(S, energies, np.ones(n, dtype=int), w, tuple(labels))


def pair_multiplets(S, V) -> LevelSpecies:
    """RKKY pair at coupling ``V`` and zero field: the multiplets ``J = 0..2S``, ``d_J = 2J+1``,
    ``E_J = V eps_J``, weights ``A_{JJ'}`` (VGL 11, 13b): the species of today's pair mechanism."""
    S = spin.check_spin(S)
    V = _check_energy("coupling V", V)
    J, eps = spin.levels(S)
    return LevelSpecies(S, V * eps, (2 * J + 1).astype(int), spin.matrix_elements(S), tuple((float(j),) for j in J))


def free_spin_levels(S, zeeman=0.0) -> LevelSpecies:
    """A free impurity spin S in a field: levels ``E_M = Delta_Z M``, ``M = -S..S``, labels ``(M,)``.

    One-spin weights ``w[M, M'] = sum_a |<M'|S^a|M>|^2`` (unit spin^2, rows sum to ``S(S+1)``):
    ``M^2`` for ``M' = M`` and ``[S(S+1) - M M']/2`` for ``M' = M +- 1``. The electron weights
    ``c_{MM'} = |<M'|S|M>|^2 / [S(S+1)]`` of SPEC section 9 are :meth:`LevelSpecies.electron_weights`.
    At ``Delta_Z = 0`` every transfer vanishes: free spins exchange no energy.
    """
    S = spin.check_spin(S)
    zeeman = _check_energy("Zeeman energy Delta_Z", zeeman)
    M = np.arange(-S, S + 1)
    w = np.diag(M * M)
    flip = (S * (S + 1) - M[:-1] * M[1:]) / 2  # |<M+1|S^x|M>|^2 + |<M+1|S^y|M>|^2
    w[np.arange(M.size - 1), np.arange(1, M.size)] = flip
    w[np.arange(1, M.size), np.arange(M.size - 1)] = flip
    return LevelSpecies(S, zeeman * M, np.ones(M.size, dtype=int), w, tuple((float(m),) for m in M))


def collision_integral_reference(species: LevelSpecies, P, f, eps) -> np.ndarray:
    """Electron collision integral of one species, VGL (69) generalised (unit ``1/tau_s`` per impurity).

        I(eps) = sum_{L != L'} c[L, L'] { f(eps)[1 - f(eps + D)] P_L - [1 - f(eps)] f(eps + D) P_L' },
        D = E_L - E_L',

    with ``c = d_L w / [S(S+1)]`` (:meth:`LevelSpecies.electron_weights`); ``df/dt = -I``. The readable
    O(levels^2) reference for a kernel built from the species (module docstring).

    Parameters
    ----------
    species : LevelSpecies
    P : array_like, shape (n_levels,)
        Populations per state.
    f : callable
        Vectorised electron distribution ``f(energy)``.
    eps : array_like
        Energies at which to evaluate I.
    """
    P = np.asarray(P, dtype=float)
    eps = np.asarray(eps, dtype=float)
    c = species.electron_weights()
    D = species.transfers
    f0 = f(eps)
    total = np.zeros_like(eps)
    for a in range(species.size):
        for b in range(species.size):
            if a == b or c[a, b] == 0:
                continue
            f1 = f(eps + D[a, b])
            total += c[a, b] * (f0 * (1 - f1) * P[a] - (1 - f0) * f1 * P[b])
    return total
