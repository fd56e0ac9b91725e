"""Spin algebra of two impurity spins S coupled by RKKY, H = V S1.S2 (VGL section II, appendix A).

Energies are in any unit shared by ``V``, ``T`` and ``E``; only ratios enter. Pair populations
``P_J`` are per state of the multiplet ``J`` and normalised as ``sum_J (2J+1) P_J = 1`` (VGL 64).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from scipy import integrate

__all__ = [
    "MAX_SPIN",
    "alpha_S",
    "chain_populations",
    "check_spin",
    "chi",
    "gibbs",
    "levels",
    "matrix_elements",
    "partition",
    "stationary",
]

MAX_SPIN = 20.0


def check_spin(S) -> float:
    """Return S as a float after checking it is a positive multiple of 1/2 up to ``MAX_SPIN``.

    Raises
    ------
    ValueError
        Naming the argument and the allowed values.
    """
    ok = isinstance(S, Real) and not isinstance(S, bool)
    if ok:
        value = float(S)
        ok = math.isfinite(value) and 0 < value <= MAX_SPIN and (2 * value).is_integer()
    if not ok:
        msg = f"spin S must be a positive multiple of 1/2 (0.5, 1, 1.5, ..., {MAX_SPIN:g}); got {S!r}"
        raise ValueError(msg)
    return value


def levels(S) -> tuple[np.ndarray, np.ndarray]:
    """Total spins ``J = 0..2S`` of the pair and dimensionless energies ``eps_J`` (VGL 11).

    ``eps_J = [J(J+1) - 2S(S+1)]/2``, so that ``E_J = V eps_J`` and ``eps_{J+1} - eps_J = J + 1``.
    """
    S = check_spin(S)
    J = np.arange(int(round(2 * S)) + 1, dtype=float)
    return J, 0.5 * (J * (J + 1) - 2 * S * (S + 1))


def matrix_elements(S) -> np.ndarray:
    """Matrix ``A[J, J']`` of one impurity spin between pair multiplets (VGL 13b, A3).

    ``A_{JJ'} = sum_{M', a} |<J M| S1^a |J' M'>|^2`` (independent of M); only ``J' = J, J +- 1`` are
    non-zero, each row sums to ``S(S+1)`` and ``(2J+1) A_{JJ'}`` is symmetric.
    """
    S = check_spin(S)
    J, _ = levels(S)
    n = J.size
    A = np.zeros((n, n))
    A[np.arange(n), np.arange(n)] = J * (J + 1) / 4
    j = J[:-1]
    A[np.arange(n - 1), np.arange(1, n)] = (j + 1) * (2 * S - j) * (2 * S + j + 2) / (4 * (2 * j + 1))
    k = J[1:]
    A[np.arange(1, n), np.arange(n - 1)] = k * (2 * S - k + 1) * (2 * S + k + 1) / (4 * (2 * k + 1))
    return A


def _boltzmann_exponents(V, S, T):
    """Exponents ``-V eps_J / T`` shifted so that the largest is 0, shape ``V.shape + (2S+1,)``."""
    J, eps = levels(S)
    V = np.asarray(V, dtype=float)[..., None]
    T = float(T)
    if not (math.isfinite(T) and T >= 0):
        msg = f"temperature T must be finite and >= 0; got {T!r}"
        raise ValueError(msg)
    if T == 0:
        # T -> 0 limit: only the ground multiplet(s); V = 0 keeps all states equally populated.
        energy = V * eps
        x = np.where(energy <= energy.min(axis=-1, keepdims=True), 0.0, -np.inf)
    else:
        x = -V * eps / T
        x = x - x.max(axis=-1, keepdims=True)
    return J, x


def partition(V, S, T) -> np.ndarray:
    """Partition function ``Z(V) = sum_J (2J+1) exp(-V eps_J / T)`` (VGL 13a), vectorised over V.

    Needs ``T > 0``; ``Z`` overflows to ``inf`` when ``|V| S^2 / T`` exceeds about 700.
    """
    if not float(T) > 0:
        msg = f"partition needs temperature T > 0; got {T!r}"
        raise ValueError(msg)
    J, eps = levels(S)
    V = np.asarray(V, dtype=float)[..., None]
    return np.sum((2 * J + 1) * np.exp(-V * eps / float(T)), axis=-1)


def gibbs(V, S, T) -> np.ndarray:
    """Equilibrium populations per state ``P_J = exp(-V eps_J/T)/Z`` (VGL 66), shape ``V.shape + (2S+1,)``.

    Computed with shifted exponents, so it never overflows; ``T = 0`` gives the ground multiplet.
    """
    J, x = _boltzmann_exponents(V, S, T)
    w = np.exp(x)
    return w / np.sum((2 * J + 1) * w, axis=-1, keepdims=True)


def chain_populations(up, down) -> np.ndarray:
    """Stationary populations of the ``J <-> J+1`` chain from its step rates.

    Parameters
    ----------
    up, down : array_like, shape ``(..., 2S)``
        Detailed balance of each link fixes ``P_{j+1}/P_j = up_j / down_j``. For pairs in an electron
        gas ``up_j = G(-V(j+1))`` (the gas gives the energy) and ``down_j = G(V(j+1))`` (VGL 65): the
        matrix elements drop out because ``(2J+1) A_{JJ'}`` is symmetric.

    Returns
    -------
    ndarray, shape ``(..., 2S+1)``, normalised so that ``sum_J (2J+1) P_J = 1``.
    """
    up = np.asarray(up, dtype=float)
    down = np.asarray(down, dtype=float)
    if np.any(up < 0) or np.any(down < 0) or np.any((up == 0) & (down == 0)):
        msg = "chain rates must be >= 0 and not both zero on any link"
        raise ValueError(msg)
    nlinks = up.shape[-1]
    degeneracy = 2 * np.arange(nlinks + 1) + 1.0
    # log P_J = sum_{j<J} log up_j + sum_{j>=J} log down_j: a product form without divisions, so that
    # a vanishing rate (T = 0) gives an exact zero instead of 0/0.
    with np.errstate(divide="ignore"):
        log_up, log_down = np.log(up), np.log(down)
    zeros = np.zeros(up.shape[:-1] + (1,))
    below = np.concatenate([zeros, np.cumsum(log_up, axis=-1)], axis=-1)
    above = np.concatenate([np.cumsum(log_down[..., ::-1], axis=-1)[..., ::-1], zeros], axis=-1)
    log_p = below + above
    log_p = log_p - log_p.max(axis=-1, keepdims=True)
    p = np.exp(log_p)
    return p / np.sum(degeneracy * p, axis=-1, keepdims=True)


def stationary(V, S, G) -> np.ndarray:
    """Stationary pair populations at couplings ``V`` for an electron gas with electron-hole function ``G``.

    ``G(Delta) = int f(e)(1 - f(e + Delta)) de`` is how readily the gas absorbs ``Delta``. A pair going
    ``J -> J+1`` absorbs ``V (J+1)``, so ``P_{J+1}/P_J = G(-V(J+1)) / G(V(J+1))`` (SPEC section 3).

    Parameters
    ----------
    V : array_like
        Couplings (same energy unit as the argument of G).
    S : float
        Impurity spin.
    G : callable
        Vectorised ``G(Delta)``.
    """
    J, _ = levels(S)
    V = np.asarray(V, dtype=float)
    delta = V[..., None] * (J[:-1] + 1)
    return chain_populations(G(-delta), G(delta))


def _x_over_one_minus_exp(x):
    """``h(x) = x / (1 - exp(-x))`` without overflow or cancellation; ``h(0) = 1``."""
    x = np.asarray(x, dtype=float)
    ax = np.abs(x)
    safe = np.where(ax > 0, ax, 1.0)
    core = np.where(ax > 0, safe / np.expm1(np.minimum(safe, 700.0)), 1.0)  # |x| / (e^|x| - 1)
    return np.where(x > 0, x + core, core)  # h(x) = x + h(-x)


def _correlator_weight(y, S):
    """``F(y) = int P(omega, y) h(omega/T) d omega`` for a pair with ``V = T y`` (VGL 15-16, 26)."""
    J, eps = levels(S)
    A = matrix_elements(S)
    p = (2 * J + 1) * gibbs(y, S, 1.0)  # probability of multiplet J at V/T = y
    omega = y * (eps[:, None] - eps[None, :])  # energy released by the pair, in units of T
    return np.sum(p[:, None] * A * _x_over_one_minus_exp(omega)) / (S * (S + 1))


def alpha_S(S) -> float:
    """Pure number ``alpha_S`` of the Kondo resistivity with RKKY pairs, VGL (27).

    Defined so that ``Delta rho_K = rho_1 (1 - alpha_S T_sg / T)`` is the exact first order in
    ``T_sg/T`` of VGL (26) with the correlator (15-16). Inserting ``K = K1 + delta K2`` into (26) gives
    ``Delta rho_K / rho_1 = 1 + (4/3)(T_sg/T) int_{-inf}^{inf} dy/y^2 [F(y) - 1]`` with ``y = V/T`` and

        F(y) = sum_{JJ'} (2J+1) A_{JJ'} e^{-y eps_J} / [S(S+1) Z(T y)] * h(y (eps_J - eps_J')),
        h(x) = x / (1 - e^{-x}),

    hence ``alpha_S = (4/3) int_0^inf [2 - F(y) - F(-y)] / y^2 dy`` (the odd part of ``F - 1``, of
    order y, cancels between the two signs of V).
    """
    S = check_spin(S)

    def integrand(y):
        return (2.0 - _correlator_weight(y, S) - _correlator_weight(-y, S)) / (y * y)

    # Below y0 the integrand tends to a constant, so the skipped piece is O(y0); above it the
    # subtraction 2 - F(y) - F(-y) loses only ~1e-16/y relative accuracy.
    y0 = 1e-8
    total = 0.0
    for a, b in [(y0, 1.0), (1.0, 10.0), (10.0, 100.0), (100.0, np.inf)]:
        value, _ = integrate.quad(integrand, a, b, epsabs=1e-13, epsrel=1e-11, limit=200)
        total += value
    return float(4.0 / 3.0 * total)


def chi(E, S, T, T_sg) -> np.ndarray:
    """Hot-electron kernel ``chi(E)`` of VGL (71-72), for any spin S; ``E > 0`` is an energy loss.

    Hot electrons (``eps >> T``) with Gibbs pairs at ``T`` relax as
    ``D f'' = (1/tau_s) int chi(E) [f(eps) - f(eps + E)] dE / T_sg``. From the pair collision integral
    (SPEC section 3) with ``V = E / (eps_J' - eps_J)``:

        chi(E) = (4/3) (T_sg/E)^2 sum_{J != J'} c_{JJ'} |eps_J' - eps_J| P_J(E / (eps_J' - eps_J)),

    ``c_{JJ'} = (2J+1) A_{JJ'} / [S(S+1)]``; for S = 1/2 this is VGL (72). Detailed balance:
    ``chi(-E) = exp(-E/T) chi(E)``. Large-loss asymptote ``E >> T``: only the singlet ground state
    of antiferromagnetic pairs and the ``J = 2S`` ground multiplet of ferromagnetic ones contribute,
    ``chi(E) -> (4/3) (2S+1)/(S+1) T_sg^2 / E^2``.
    """
    J, eps = levels(S)
    S = check_spin(S)
    if not (math.isfinite(T_sg) and T_sg >= 0):  # chi is quadratic in T_sg: its sign would be lost
        msg = f"T_sg must be a finite number >= 0 (the pairs' energy scale); got {T_sg!r}"
        raise ValueError(msg)
    E = np.asarray(E, dtype=float)
    if np.any(E == 0) or not np.all(np.isfinite(E)):
        msg = "chi(E) needs finite, non-zero energy transfers E (it diverges as 1/E^2 at E = 0)"
        raise ValueError(msg)
    A = matrix_elements(S)
    total = np.zeros_like(E)
    for j in range(J.size):
        for jp in (j - 1, j + 1):
            if 0 <= jp < J.size:
                gap = eps[jp] - eps[j]
                c = (2 * J[j] + 1) * A[j, jp] / (S * (S + 1))
                total = total + c * abs(gap) * gibbs(E / gap, S, T)[..., j]
    return 4.0 / 3.0 * (T_sg / E) ** 2 * total
