"""First-order RKKY corrections to the Kondo resistivity and to weak localisation, dimensionless core.

Energies are in units of the temperature T: ``x = omega / T`` is the energy released by a pair, ``y = V/T``
its coupling and ``theta = T tau_s`` (hbar = k_B = 1) the temperature in units of the spin-flip rate.

Spectral density of the pair correlator (VGL 15-16)
---------------------------------------------------
Changing variables from ``y`` to ``x = y (eps_J - eps_J')`` in VGL (15) gives, away from ``omega = 0``,

    delta K2(omega) = (8 pi / 3) S(S+1) (T_sg / T^2) rho(x) / x^2,
    rho(x) = sum_{J != J'} |Delta_JJ'| w_JJ'(x / Delta_JJ'),   Delta_JJ' = eps_J - eps_J',
    w_JJ'(y) = (2J+1) A_JJ' e^{-y eps_J} / [S(S+1) Z(T y)],

and, because every ``P(omega, y)`` has unit weight, ``int delta K2(omega) g(omega/T) d omega =
(8 pi/3) S(S+1) (T_sg/T) int dx rho(x) [g(x) - g(0)] / x^2``. Detailed balance of the Gibbs pairs is
``rho(-x) = e^x rho(x)``, so ``E(x) = rho(x) h(x)`` with ``h(x) = x/(1 - e^{-x})`` is even, and
``rho(0) = (4S+1)(4S+3) / [15 (2S+1)]`` (a sum of the matrix elements at infinite temperature).

Corrections
-----------
* Resistivity, VGL (26): ``Delta rho_K / rho_1 = 1 - c_rho T_sg/T`` with
  ``c_rho = -(4/3) int dx rho(x) [h(x) - 1]/x^2 = (8/3) int_0^inf E(x) [sinh(x)/x - 1] / x^2 dx``,
  which equals ``hotelectron.spin.alpha_S`` (computed there by a different route, over ``y``).
* Weak localisation, VGL (D1-D2): ``Delta sigma = Delta sigma_0 (1 + a + b)`` with
  ``a = (c_rho / 2) T_sg/T`` exactly, at any temperature, and
  ``b = (8/3) (T_sg/T) int_0^inf E(x) phi(theta x) / x^2 dx``.

**Sign of b (changed relative to the paper).** VGL (D2) prints ``b = -(1/2) int delta K2 (omega/T)
phi d omega / [pi S(S+1) (1 - e^{-omega/T})]``. Since ``delta K2 > 0`` at ``omega != 0`` and
``phi >= 0``, that ``b`` would be negative, i.e. RKKY pairs would *enhance* dephasing, and at
``T tau_s >> 1`` it would give ``1 - pi (4S+1)(4S+3) T_sg tau_s / (120 (2S+1))``, the opposite of
VGL (51). Pairs freeze spin flips, so they suppress dephasing and both corrections must increase
Delta sigma. We use ``b = +(1/2) int ...``: then both limits of the paper follow from the integrals
(tests), ``1 + (alpha_S/2) T_sg/T`` for ``T tau_s << 1`` (VGL 54) and, for ``T tau_s >> 1``,

    b -> (8/3) (T_sg/T) rho(0) theta int_0^inf phi(u)/u^2 du = (pi/8) rho(0) T_sg tau_s
       = pi (4S+1)(4S+3) / (120 (2S+1)) T_sg tau_s     (VGL 51, coefficient confirmed),

using the closed form ``int_{-inf}^{inf} phi(u)/u^2 du = 3 pi / 32`` (see :func:`phi`). For
``T tau_s >> 1`` the full correction also contains ``a + (b - pi rho(0) T_sg tau_s / 8) = O(T_sg/T)``,
smaller by ``1/(T tau_s)``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import integrate

from .. import spin

__all__ = [
    "PHI_OVER_U2_INTEGRAL",
    "correlator_weight_at_zero",
    "phi",
    "phi_over_u2",
    "phi_printed",
    "resistivity_coefficient",
    "spectral_density",
    "wl_corrections",
    "wl_high_temperature_coefficient",
    "wl_high_temperature_coefficient_closed",
]

#: ``int_{-inf}^{inf} phi(u) / u^2 du`` with ``u = omega tau_s`` (derivation in :func:`phi`).
PHI_OVER_U2_INTEGRAL = 3.0 * math.pi / 32.0


def _split(u):
    """``t = |u|/2``, ``r = sqrt(1 + t^2)``, ``delta = r - 1`` and ``q = r sqrt((r+1)/2)``, all cancellation-free."""
    t = 0.5 * np.abs(np.asarray(u, dtype=float))
    r = np.hypot(1.0, t)
    delta = t * t / (1.0 + r)
    q = r * np.sqrt(0.5 * (r + 1.0))
    return r, delta, q


def phi(u):
    """Dephasing weight ``phi(omega)`` of VGL (D2) as a function of ``u = omega tau_s``.

    ``phi = 1/4 - Im[sqrt(1 + i u/2) / (u sqrt(1 + u^2/4))]``: ``phi(u) = 5 u^2/128 + O(u^4)`` for small u
    and ``phi -> 1/4`` as ``u^{-3/2}`` for large u; ``phi`` is even and non-negative.

    With ``t = u/2 = sinh s`` the imaginary part is ``1/(4 cosh(s/2) cosh s)``, and with
    ``c = cosh(s/2)`` the integrand of ``int_0^inf phi(t)/t^2 dt`` becomes
    ``(1/8)[1/c + 1/c^2 + 1/c^3 - 1/(c+1)] d(s/2)``, whose four pieces integrate to
    ``pi/2 + 1 + pi/4 - 1``. Hence ``int_{-inf}^{inf} phi(u)/u^2 du = int_0^inf phi(t)/t^2 dt = 3 pi/32``
    (:data:`PHI_OVER_U2_INTEGRAL`, checked numerically in the tests).

    Evaluated as ``delta (5 + 4 delta + delta^2) / (8 q (q + 1))`` with ``delta = r - 1``,
    ``q = r sqrt((r+1)/2)``, ``r = sqrt(1 + u^2/4)``, which is free of cancellation at small u.
    """
    _, delta, q = _split(u)
    return delta * (5.0 + delta * (4.0 + delta)) / (8.0 * q * (q + 1.0))


def phi_over_u2(u):
    """``phi(u) / u^2``, finite at ``u = 0`` (5/128)."""
    r, delta, q = _split(u)
    return (5.0 + delta * (4.0 + delta)) / (32.0 * (1.0 + r) * q * (q + 1.0))


def phi_printed(u):
    """``phi`` exactly as printed in VGL (D2), with complex arithmetic (reference for tests; u != 0)."""
    u = np.asarray(u, dtype=float)
    return 0.25 - np.imag(np.sqrt(1 + 0.5j * u) / (u * np.sqrt(1 + 0.25 * u * u)))


def _transitions(S):
    """Ordered pairs ``(J, J')`` with ``J' = J +- 1``: gap ``Delta = eps_J - eps_J'`` and weight ``(2J+1) A / S(S+1)``."""
    J, eps = spin.levels(S)
    A = spin.matrix_elements(S)
    out = []
    for j in range(J.size):
        for jp in (j - 1, j + 1):
            if 0 <= jp < J.size:
                out.append((j, eps[j] - eps[jp], (2 * J[j] + 1) * A[j, jp] / (S * (S + 1))))
    return out


def spectral_density(x, S):
    """``rho(x)``: the pair correlator ``delta K2`` at ``omega = x T`` without its ``1/x^2`` (module docstring).

    Vectorised over ``x`` (energy released by the pair, in units of T).
    """
    S = spin.check_spin(S)
    x = np.asarray(x, dtype=float)
    total = np.zeros_like(x)
    for j, gap, weight in _transitions(S):
        total = total + abs(gap) * weight * spin.gibbs(x / gap, S, 1.0)[..., j]
    return total


def correlator_weight_at_zero(S) -> float:
    """``rho(0) = sum_{J != J'} |Delta_JJ'| (2J+1) A_JJ' / [S(S+1)(2S+1)^2] = (4S+1)(4S+3)/[15(2S+1)]``.

    The sum is done term by term here; the closed form follows from ``sum_k k^2[(n+1)^2 - k^2]``,
    ``k = 1..n = 2S``, and is compared with it in the tests.
    """
    S = spin.check_spin(S)
    return float(sum(abs(gap) * weight for _, gap, weight in _transitions(S)) / (2 * S + 1) ** 2)


def _h(x):
    return spin._x_over_one_minus_exp(x)


def _sinhc_minus_one(x):
    """``sinh(x)/x - 1`` without cancellation at small x."""
    x = np.asarray(x, dtype=float)
    x2 = x * x
    series = x2 / 6 * (1 + x2 / 20 * (1 + x2 / 42 * (1 + x2 / 72 * (1 + x2 / 110))))
    return np.where(np.abs(x) < 0.1, series, np.sinh(np.minimum(np.abs(x), 700.0)) / np.where(x == 0, 1, x) - 1)


# Beyond this x the pair spectrum E(x) ~ x e^{-x} is below 1e-40 relative to its scale.
_X_MAX = 100.0


@functools.lru_cache(maxsize=64)
def resistivity_coefficient(S) -> float:
    """``c_rho(S)``: ``Delta rho_K = rho_1 (1 - c_rho T_sg/T)``, from the spectral density (VGL 26 with 15-16).

    Evaluated over ``x = omega/T`` as ``(8/3) int_0^inf E(x) [sinh x/x - 1]/x^2 dx`` (module docstring);
    it is the same number as ``hotelectron.spin.alpha_S``, which integrates over ``y = V/T`` instead.
    """
    S = spin.check_spin(S)

    def small(x):  # E(x)(sinh x/x - 1)/x^2, smooth at x = 0
        return spectral_density(x, S) * _h(x) * _sinhc_minus_one(x) / (x * x) if x > 0 else spectral_density(0.0, S) / 6

    def large(x):  # the same, written as [(rho(x) + rho(-x))/2 - E(x)]/x^2 to avoid sinh overflow
        return (0.5 * (spectral_density(x, S) + spectral_density(-x, S)) - spectral_density(x, S) * _h(x)) / (x * x)

    total = integrate.quad(small, 0.0, 1.0, epsabs=0, epsrel=1e-12, limit=200)[0]
    for a, b in [(1.0, 10.0), (10.0, _X_MAX), (_X_MAX, np.inf)]:
        total += integrate.quad(large, a, b, epsabs=0, epsrel=1e-12, limit=200)[0]
    return float(8.0 / 3.0 * total)


def _b_integral(S, theta):
    """``int_0^inf E(x) phi(theta x)/x^2 dx`` with breakpoints at the scale ``1/theta`` of phi."""
    if theta == 0:
        return 0.0

    def f(x):
        return spectral_density(x, S) * _h(x) * theta**2 * phi_over_u2(theta * x)

    points = {0.0, 1.0, 10.0, _X_MAX}
    edge = 1.0 / theta
    while edge < _X_MAX:
        points.add(edge)
        edge *= 10.0
    points = sorted(points)
    total = 0.0
    for a, b in zip(points[:-1], points[1:]):
        total += integrate.quad(f, a, b, epsabs=0, epsrel=1e-11, limit=200)[0]
    return total


def wl_corrections(S, tsg_over_T, T_tau_s) -> tuple[float, float]:
    """First-order RKKY corrections ``(a, b)`` to weak localisation, VGL (D1-D2) with b's sign corrected.

    Parameters
    ----------
    S : float
        Impurity spin.
    tsg_over_T : float
        ``T_sg / T`` (>= 0); both corrections are proportional to it.
    T_tau_s : float
        ``theta = T tau_s`` with hbar = k_B = 1 (>= 0).

    Returns
    -------
    a, b : float
        ``Delta sigma = Delta sigma_0 (1 + a + b)``; both are >= 0 (see the module docstring for the
        sign of b).
    """
    S = spin.check_spin(S)
    for name, value in (("tsg_over_T", tsg_over_T), ("T_tau_s", T_tau_s)):
        if not (math.isfinite(value) and value >= 0):
            msg = f"{name} must be finite and >= 0; got {value!r}"
            raise ValueError(msg)
    a = 0.5 * resistivity_coefficient(S) * tsg_over_T
    b = 8.0 / 3.0 * tsg_over_T * _b_integral(S, float(T_tau_s))
    return a, b


def wl_high_temperature_coefficient(S) -> float:
    """Coefficient of ``T_sg tau_s`` in ``1 + a + b`` for ``T tau_s >> 1``, from its derivation: ``(pi/8) rho(0)``.

    ``rho(0)`` is summed from the matrix elements and ``int phi/u^2`` is :data:`PHI_OVER_U2_INTEGRAL`.
    """
    return 8.0 / 3.0 * correlator_weight_at_zero(S) * 0.5 * PHI_OVER_U2_INTEGRAL


def wl_high_temperature_coefficient_closed(S) -> float:
    """The same coefficient as printed in VGL (51): ``pi (4S+1)(4S+3) / (120 (2S+1))``."""
    S = spin.check_spin(S)
    return math.pi * (4 * S + 1) * (4 * S + 3) / (120 * (2 * S + 1))
