"""Regularised linear least squares, the kernel fit's inner problem, and the criteria for its strength.

At one linearisation the kernel fit (:mod:`hotelectron.experiment.kernel`) minimises

    |J theta - d|^2 + lambda |L theta|^2

over theta, with L the second differences of ``second_differences`` (a penalty on the curvature of ln K
against ln E whose null space is the power laws). ``Linearised`` reduces J once by a QR factorisation
and solves for any lambda with a small one; ``scan`` evaluates the criteria for lambda over a grid:

* GCV, ``V(lambda) = N |J theta' - d|^2 / (N - tr A)^2``, A the influence matrix (Craven & Wahba,
  Numer. Math. 31, 377 (1979));
* REML, ``(N - 2) ln(|J theta' - d|^2 + lambda |L theta'|^2) + ln det(J^T J + lambda L^T L)
  - (J_n - 2) ln lambda``, the marginal likelihood of the Gaussian model (Wahba, Ann. Stat. 13, 1378
  (1985));
* the L-curve corner, the largest curvature of ``(ln |J theta' - d|, ln |L theta'|)`` over ln lambda
  (Hansen & O'Leary, SIAM J. Sci. Comput. 14, 1487 (1993)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.optimize import minimize_scalar

__all__ = ["LAMBDA_DECADES", "LAMBDA_PER_DECADE", "METHODS", "SCORES", "Linearised", "Regularised", "lambda_grid",
           "scan", "second_differences"]

METHODS = ("gcv", "l-curve", "reml")
#: the criteria that are scores to minimise (the L-curve is a corner)
SCORES = ("gcv", "reml")
#: lambda is searched on [10^LAMBDA_DECADES[0], 10^LAMBDA_DECADES[1]] |J|_F^2 / |L|_F^2
LAMBDA_DECADES = (-10.0, 6.0)
LAMBDA_PER_DECADE = 21


def second_differences(energies) -> np.ndarray:
    """The penalty matrix L, shape (J - 2, J): second differences of theta over h^2, times sqrt(h),
    h the (uniform) node spacing in ln E, so that ``|L theta|^2 ~ int (d^2 theta / d(ln E)^2)^2 d ln E``."""
    xi = np.log(np.asarray(energies, dtype=float))
    h = xi[1] - xi[0]
    J = xi.size
    L = np.zeros((J - 2, J))
    for k in range(J - 2):
        L[k, k : k + 3] = (1.0, -2.0, 1.0)
    return L * (math.sqrt(h) / h**2)



@dataclass(frozen=True)
class Regularised:
    """``theta'(lambda)`` of a :class:`Linearised` problem with what the criteria need: the residual
    and penalty norms, ``tr A``, and the triangular factor R of ``J^T J + lambda L^T L = R^T R``."""

    lam: float
    theta: np.ndarray
    residual: float  # |J theta - d|
    penalty: float  # |L theta|
    trace: float  # tr A
    R: np.ndarray

    def inverse(self) -> np.ndarray:
        """``(J^T J + lambda L^T L)^-1 = R^-1 R^-T``."""
        R_inverse = scipy.linalg.solve_triangular(self.R, np.eye(self.R.shape[0]))
        return R_inverse @ R_inverse.T


class Linearised:
    """The linearised problem ``|J theta - d|^2 + lambda |L theta|^2`` at one theta, reduced once.

    With ``J = Q R_J`` (QR, J has N rows and J_n << N columns), ``|J theta - d|^2 = |R_J theta - Q^T d|^2
    + |d - Q Q^T d|^2``, so each lambda takes a QR factorisation of the small ``[R_J; sqrt(lambda) L]``
    (no normal equations, whose condition would be squared). With that factorisation ``Q' R``,
    ``J R^-1 = Q Q'_top`` and ``tr A = |Q'_top|_F^2``.
    """

    def __init__(self, J, d, L):
        self.N = J.shape[0]
        self.L = L
        Q, self.R_J = np.linalg.qr(J)
        self.c = Q.T @ d
        self.rest = float(np.sum((d - Q @ self.c) ** 2))

    def solve(self, lam: float) -> Regularised:
        n = self.R_J.shape[1]
        Q, R = np.linalg.qr(np.vstack([self.R_J, math.sqrt(lam) * self.L]))
        if np.min(np.abs(np.diag(R))) <= 1e-14 * np.max(np.abs(np.diag(R))):
            msg = ("nodes: the data do not determine the kernel's power law through the nodes (the Jacobian and the "
                   "penalty leave a direction free): choose nodes where the curves depend on K")
            raise np.linalg.LinAlgError(msg)
        theta = scipy.linalg.solve_triangular(R, Q[:n].T @ self.c)
        residual = math.sqrt(float(np.sum((self.R_J @ theta - self.c) ** 2)) + self.rest)
        return Regularised(lam, theta, residual, float(np.linalg.norm(self.L @ theta)), float(np.sum(Q[:n] ** 2)), R)

    def score(self, method: str, lam: float) -> float:
        """The criterion ``method`` minimises, at ``lam``: GCV's ``N |J theta' - d|^2 / (N - tr A)^2``, or
        REML's -2 log marginal likelihood ``(N - 2) ln Phi + ln det(J^T J + lambda L^T L) - (J_n - 2) ln lambda``
        (Phi = |J theta' - d|^2 + lambda |L theta'|^2; the noise variance profiled out; 2 the dimension of
        the penalty's null space, the power laws, on which the prior is flat)."""
        return _score(method, self.solve(lam), self.N)


def _score(method: str, solution: Regularised, N: int) -> float:
    if method == "gcv":
        return N * solution.residual**2 / (N - solution.trace) ** 2
    free = solution.R.shape[1] - 2
    phi = solution.residual**2 + solution.lam * solution.penalty**2
    log_det = 2.0 * float(np.sum(np.log(np.abs(np.diag(solution.R)))))
    return (N - 2) * math.log(phi) + log_det - free * math.log(solution.lam)


def lambda_grid(J, L) -> np.ndarray:
    scale = np.sum(J**2) / np.sum(L**2)
    decades = LAMBDA_DECADES[1] - LAMBDA_DECADES[0]
    return scale * np.logspace(*LAMBDA_DECADES, int(decades * LAMBDA_PER_DECADE) + 1)


def scan(J, d, L) -> dict:
    """The linearised problem over the lambda grid: arrays ``lambda``, ``gcv``, ``reml`` (the scores),
    ``residual``, ``penalty``, ``trace``, and ``choices``: the lambda of each criterion (the grid
    minimum of a score refined between its neighbours; the L-curve's corner)."""
    problem = Linearised(J, d, L)
    lams = lambda_grid(J, L)
    solutions = [problem.solve(lam) for lam in lams]
    out = {"lambda": lams, "residual": np.array([s.residual for s in solutions]),
           "penalty": np.array([s.penalty for s in solutions]), "trace": np.array([s.trace for s in solutions])}
    choices = {}
    for method in ("gcv", "reml"):
        values = np.array([_score(method, s, problem.N) for s in solutions])
        out[method] = values
        k = int(np.argmin(values))
        lo, hi = math.log(lams[max(k - 1, 0)]), math.log(lams[min(k + 1, lams.size - 1)])
        best = minimize_scalar(lambda t, m=method: problem.score(m, math.exp(t)), bounds=(lo, hi), method="bounded",
                               options={"xatol": 1e-3})
        choices[method] = math.exp(best.x) if best.fun <= values[k] else float(lams[k])
    choices["l-curve"] = _l_curve_corner(lams, out["residual"], out["penalty"])
    out["choices"] = choices
    return out


#: the L-curve's points that move slower than this fraction of its fastest (per unit of ln lambda) are left
#: out of the corner search: where J has full column rank the curve stands still at small lambda, flat to
#: rounding, and the "curvature" of that noise exceeded the true corner's a hundred thousand times
L_CURVE_STILL = 1e-3


def _l_curve_corner(lams, residual, penalty) -> float:
    """The lambda of largest curvature of ``(ln residual, ln penalty)`` over ln lambda, where the curve
    moves (``L_CURVE_STILL``)."""
    usable = (residual > 0) & (penalty > 0)
    if np.count_nonzero(usable) < 5:
        return float(lams[-1])
    t = np.log(lams[usable])
    rho, eta = np.log(residual[usable]), np.log(penalty[usable])
    d_rho, d_eta = np.gradient(rho, t), np.gradient(eta, t)
    dd_rho, dd_eta = np.gradient(d_rho, t), np.gradient(d_eta, t)
    speed = np.hypot(d_rho, d_eta)
    moving = speed > L_CURVE_STILL * speed.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        curvature = np.where(moving, (d_rho * dd_eta - dd_rho * d_eta) / speed**3, -np.inf)
    return float(np.exp(t[int(np.argmax(curvature))]))
