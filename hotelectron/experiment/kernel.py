"""The kernel itself: a tabulated K(E) inferred from measured curves by regularised least squares.

Beyond any parametric form (SPEC section 11, VGL 74) the users want the kernel K(E) of the energy
exchange. Here it is a :class:`~hotelectron.kinetics.mechanisms.TabulatedKernel` whose node values are
the unknowns: ``theta_j = ln(K(E_j) / (1 ns^-1 meV^-2))`` at log-spaced node energies ``E_j`` (meV),
K interpolated as a power law between the nodes and continued by the end power laws, positive
whatever theta. The table is added to the mechanisms of the base scenario (which may hold known ones:
phonons, pairs, a Coulomb kernel); its partner is

* ``"electrons"``: an electron-electron kernel, ``I = int dE K(E) {f(1 - f') G(E) - (1 - f) f' G(-E)}``
  with G of the local electrons (SPEC section 4); ``K = kappa |E|^-a`` is the power-law kernel;
* ``"bath"``: a bath in equilibrium at the bath temperature of each curve (the reservoirs'), i.e. G
  replaced by ``G_T(E) = E / (1 - exp(-E/T))``; the loss kernel ``K(E) G_T(E)`` is then chi(E)/(tau_s
  T_sg) of impurity pairs at Gibbs populations (VGL 71-72) or of the spin glass of VGL (74).

Curve i is the base scenario with its wire bias U_i (and bath temperature T_i when it gives one), its
model f at x = L/2 of the steady state through the probe (``conductance``) or interpolated
(``distribution``), as in :mod:`hotelectron.experiment.fit`. With the residuals
``r = (model - y) / sigma`` stacked over the N points of all curves, the estimate minimises

    Phi(theta) = |r(theta)|^2 + lambda |L theta|^2,
    |L theta|^2 = sum_j h ((theta_{j-1} - 2 theta_j + theta_{j+1}) / h^2)^2 ~ int (d^2 ln K / d(ln E)^2)^2 d ln E,

h the node spacing in ln E: a smoothness penalty on ln K against ln E that leaves every power law
free (its null space: ln K linear in ln E), and whose size does not depend on the node count.

Jacobian. ``dr/dtheta`` is exact: each steady state's linear response to the change of the kernel
(:class:`hotelectron.wire.response.SteadyResponse`, one preconditioned GMRES solve per node and
curve with the steady solver's exact Jacobian products), mapped through the probe (linear in f).

Iteration. Gauss-Newton on Phi with lambda chosen anew at each step on the problem linearised at
the current theta (Haber & Oldenburg, Comput. Geosci. 4, 41 (2000)): with ``d = J theta - r`` the
linearised residual is ``J theta' - d``, and ``theta'(lambda)`` minimises ``|J theta' - d|^2 +
lambda |L theta'|^2`` (a QR factorisation of ``[J; sqrt(lambda) L]`` per lambda, no normal
equations). The step to ``theta'(lambda)`` is capped at ``max_step`` in ln K and halved until Phi
falls. At convergence (the step below ``xtol``) theta minimises Phi at the lambda the criterion picks
for the linearisation at theta itself.

Choice of lambda (``regularisation``):

* ``"gcv"`` (default): generalised cross-validation (Craven & Wahba, Numer. Math. 31, 377 (1979)),
  the minimum of ``V(lambda) = N |J theta' - d|^2 / (N - tr A)^2``, ``A = J (J^T J + lambda L^T L)^-1
  J^T`` the influence matrix. It needs no noise level (it estimates it), and it minimises the expected
  prediction error asymptotically. Chosen as the default for that reason, and because the L-curve
  corner is a heuristic known to over-smooth smooth solutions (Hanke, BIT 36, 287 (1996); Vogel,
  Inverse Problems 12, 535 (1996)): here a power law is the smoothest kernel there is. At finite N
  the GCV function can be flat and its minimum sit at a far too small lambda (under-smoothing; Wood,
  J. R. Stat. Soc. B 73, 3 (2011)); when GCV and REML differ by more than ``GCV_REML_WARN`` a warning
  says so.
* ``"reml"``: restricted maximum likelihood, the minimum of ``(N - 2) ln Phi_lambda + ln det(J^T J +
  lambda L^T L) - (J_n - 2) ln lambda``: the marginal likelihood of the data for the Gaussian model
  (noise plus the smoothness prior, flat on the power laws) whose posterior the band is (Wahba's GML,
  Ann. Stat. 13, 1378 (1985)); less variable than GCV.
* ``"l-curve"``: the corner of ``(ln |J theta' - d|, ln |L theta'|)`` (Hansen & O'Leary, SIAM J. Sci.
  Comput. 14, 1487 (1993)), the point of largest curvature over ln lambda.
* a number: lambda fixed, > 0 (at lambda = 0 nothing fixes the nodes the data do not see: Gauss-Newton
  diverges), and within the range the criteria search (below), else refused once the scale of the
  problem is known (after the power-law stage): far below it the same divergence, far above it only
  the power law is left, which the fit has found already.

All three criteria are evaluated on the final linearisation and reported, whichever was used. lambda
is searched on ``[1e-10, 1e6] |J|_F^2 / |L|_F^2`` (21 points per decade, then refined); a GCV or REML
minimum at the top end means that the data see no curvature of ln K: the estimate is then the best
power law.

Uncertainty band. The regularised (posterior) covariance

    C = s^2 (J^T J + lambda L^T L)^-1,    s^2 = |r|^2 / (N - tr A),

the covariance of theta given the data for Gaussian noise and the smoothness prior that the penalty
stands for, scaled by the residual variance with ``N - tr A`` effective degrees of freedom (as the
fits of :mod:`hotelectron.experiment.fit` scale by chi^2/dof). Unlike the frequentist covariance of
the regularised estimate, ``s^2 M^-1 J^T J M^-1``, it also covers the smoothing bias where the data
say little. The band of ln K at any E is ``+- sqrt(phi(E)^T C phi(E))``, phi the interpolation weights;
the data constrain the kernel where that is small (``KernelResult.constrained``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import tomllib
from dataclasses import dataclass, replace

import numpy as np
import tomli_w

from ..io.scenario import parse_scenario
from ..kinetics.mechanisms import TabulatedKernel
from ..kinetics.mechanisms.tabulated import log_interpolation
from ..sweep.spec import with_overrides
from ..wire.response import SteadyResponse
from ..wire.steady import steady_state
from .data import MeasuredCurve
from .fit import (STEADY_TOL, FittedCurve, check_curve_scenario, check_curves, check_probe_sees_distribution,
                  curve_overrides, curve_refusal)
from .probe import ProbeParameters
from .regularisation import METHODS, SCORES, Linearised, lambda_grid, scan, second_differences
from .solves import CurveState, model_curve

__all__ = ["K_UNIT", "METHODS", "PARTNERS", "KernelModel", "KernelProblem", "KernelResult", "infer_kernel",
           "log_spaced", "power_law"]

log = logging.getLogger(__name__)

#: unit of K (and of its node values): rate per energy squared
K_UNIT = "1/(ns meV^2)"
PARTNERS = ("electrons", "bath")
#: the data constrain the kernel where the 1-sigma band of ln K is narrower than this (about +-30 %)
CONSTRAINED_LOG_WIDTH = 0.25
#: relative residual of the linear-response solves: the Jacobian to ~1e-8 (on a 17 x 241 wire with a
#: tabulated kernel 5 GMRES products per node and curve, against 6 at 1e-10)
RESPONSE_RTOL = 1e-8
#: rounds of (criterion, Gauss-Newton at its lambda) at most, and when a proposed lambda counts as
#: one already solved at (within this factor)
MAX_ROUNDS = 6
LAMBDA_SETTLED = 2.0
#: warn when the GCV and REML choices of lambda differ by more than this factor
GCV_REML_WARN = 100.0
#: ln K and its 2-sigma band (the figure's) must stay below this: exp of it is a float (ln of the largest, 709.8)
LOG_K_MAX = 700.0


def _numbers(values) -> str:
    """Numbers for a message: ``3e-06, 0.0001, 0.003`` (at most 6, then how many more)."""
    values = np.asarray(values, dtype=float).ravel()
    text = ", ".join(f"{v:g}" for v in values[:6])
    return text + (f", ... ({values.size} in all)" if values.size > 6 else "")


def log_spaced(lowest_meV: float, highest_meV: float, count: int) -> tuple[float, ...]:
    """``count`` node energies from ``lowest_meV`` to ``highest_meV``, equally spaced in ln E."""
    if not (0 < lowest_meV < highest_meV and math.isfinite(highest_meV)) or not (isinstance(count, int) and count >= 3):
        msg = (f"kernel nodes: need 0 < lowest < highest and at least 3 nodes; got {lowest_meV!r} .. "
               f"{highest_meV!r} meV with {count!r} nodes")
        raise ValueError(msg)
    return tuple(float(e) for e in np.geomspace(lowest_meV, highest_meV, count))


def power_law(energies_meV, kappa: float, exponent: float) -> tuple[float, ...]:
    """``K = kappa E^-a`` at the nodes (kappa in ``meV^(a-2)/ns``, e.g. ``1/ns/meV^0.5`` for a = 3/2)."""
    return tuple(float(kappa) * np.asarray(energies_meV, dtype=float) ** -float(exponent))


@dataclass(frozen=True)
class KernelProblem:
    """What is inferred from what.

    Attributes
    ----------
    base : TOML text of the base scenario (``[run] mode = "steady"``, physical units).
    curves : the measured curves; curve i is the base with its U (and T) set.
    energies_meV : node energies, at least 3, equally spaced in ln E (:func:`log_spaced`).
    start : K at the nodes to start from, in ``1/(ns meV^2)`` (e.g. :func:`power_law`).
    partner : ``"electrons"`` (an e-e kernel) or ``"bath"`` (a bath at each curve's temperature).
    cutoff_meV : no transfer below this energy (K = 0 there; e.g. the pair model's V_min); 0: none.
    regularisation : ``"gcv"``, ``"reml"``, ``"l-curve"`` or lambda itself (a number > 0).
    probe : the probe's parameters (for ``conductance`` curves).
    sigma : per-curve standard deviation of y; None: 1 for all (the band is scaled by the residuals).
    steady_tol : residual of the steady solver, 1/tau_D.
    max_iterations : Gauss-Newton iterations at most.
    max_step : largest change of ln K at one node in one iteration.
    xtol : the iteration stops when the step in ln K is below this at every node.
    """

    base: str
    curves: tuple[MeasuredCurve, ...]
    energies_meV: tuple[float, ...]
    start: tuple[float, ...]
    partner: str = "electrons"
    cutoff_meV: float = 0.0
    regularisation: str | float = "gcv"
    probe: ProbeParameters = ProbeParameters(gap_meV=0.0)
    sigma: tuple[float, ...] | None = None
    steady_tol: float = STEADY_TOL
    max_iterations: int = 40
    max_step: float = 1.0
    xtol: float = 1e-4

    def __post_init__(self):
        object.__setattr__(self, "curves", tuple(self.curves))
        energies = np.asarray(self.energies_meV, dtype=float)
        if energies.ndim != 1 or energies.size < 3 or not np.all(np.isfinite(energies)) or np.any(energies <= 0):
            msg = f"kernel nodes: at least 3 positive energies (meV) are needed; got {_numbers(energies)}"
            raise ValueError(msg)
        spacing = np.diff(np.log(energies))
        if np.any(spacing <= 0) or np.max(np.abs(spacing / spacing[0] - 1)) > 1e-9:
            msg = f"kernel nodes must increase and be equally spaced in ln E (log_spaced); got {_numbers(energies)} meV"
            raise ValueError(msg)
        start = np.asarray(self.start, dtype=float)
        if start.shape != energies.shape or not np.all(np.isfinite(start)) or np.any(start <= 0):
            msg = (f"kernel start: {energies.size} positive finite values of K ({K_UNIT}) are needed; got "
                   f"{_numbers(start)}")
            raise ValueError(msg)
        object.__setattr__(self, "energies_meV", tuple(float(e) for e in energies))
        object.__setattr__(self, "start", tuple(float(s) for s in start))
        if not (isinstance(self.cutoff_meV, int | float) and math.isfinite(self.cutoff_meV) and 0 <= self.cutoff_meV < energies[-1]):
            msg = f"kernel cutoff {self.cutoff_meV!r} meV must be >= 0 and below the last node ({energies[-1]:g} meV)"
            raise ValueError(msg)
        if self.partner not in PARTNERS:
            msg = f"kernel partner {self.partner!r} must be one of {list(PARTNERS)}"
            raise ValueError(msg)
        reg = self.regularisation
        if isinstance(reg, bool) or not (reg in METHODS or (isinstance(reg, int | float) and math.isfinite(reg) and reg > 0)):
            msg = (f"kernel regularisation {reg!r} must be one of {list(METHODS)} or a number > 0 (lambda itself; at 0 "
                   "nothing fixes the nodes the data do not see)")
            raise ValueError(msg)
        object.__setattr__(self, "sigma", check_curves(self.curves, self.sigma))
        check_probe_sees_distribution(self.curves, self.probe)
        points = sum(c.x.size for c in self.curves)
        if points <= energies.size:
            msg = f"{points} data points are too few for a kernel of {energies.size} nodes"
            raise ValueError(msg)
        for name in ("max_step", "xtol", "steady_tol"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                msg = f"{name} = {value!r} must be a positive number"
                raise ValueError(msg)
        if isinstance(self.max_iterations, bool) or not isinstance(self.max_iterations, int) or self.max_iterations < 1:
            msg = f"max_iterations = {self.max_iterations!r} must be an integer >= 1"
            raise ValueError(msg)


class KernelModel:
    """The curves of a :class:`KernelProblem` as functions of theta, with their exact Jacobian.

    Per curve it keeps the base wire problem (energies in E0 = eU_i, times in tau_D), the conversion
    of the physical table to it (nodes ``E_j / E0``, ``ln K`` shifted by ``ln(tau_D E0^2)`` in ns and
    meV) and the last steady state, from which the next solve starts.
    """

    def __init__(self, problem: KernelProblem):
        self.problem = problem
        try:
            base = tomllib.loads(problem.base)
        except tomllib.TOMLDecodeError as exc:
            msg = f"base scenario: not valid TOML: {exc}"
            raise ValueError(msg) from exc
        if "dimensionless" in base:
            msg = "base scenario: a kernel fit needs physical units (energies in meV), not [dimensionless]"
            raise ValueError(msg)
        self.wires, self.energy_meV, self.nodes, self.cutoffs, self.offsets, self.bath, self.probes = [], [], [], [], [], [], []
        self._observe_zero = []
        self.texts, self.energy_units_meV = [], []
        for i, curve in enumerate(problem.curves):
            scenario = _curve_scenario(base, curve, i)
            self.texts.append(scenario.text)
            wire = scenario.problem
            E0 = scenario.derived["energy_unit_meV"]
            self.energy_units_meV.append(E0)
            self.wires.append(wire)
            self.energy_meV.append(wire.energy.values * E0)
            self.nodes.append(tuple(np.asarray(problem.energies_meV) / E0))
            self.cutoffs.append(problem.cutoff_meV / E0)
            self.offsets.append(math.log(scenario.tau_D_s * 1e9 * E0**2))
            if problem.partner == "bath":
                if wire.temperature_left != wire.temperature_right:
                    msg = (f"curve {i}: a bath kernel needs one bath temperature; the reservoirs are at "
                           f"{wire.temperature_left:g} and {wire.temperature_right:g} E0")
                    raise ValueError(msg)
                self.bath.append(wire.temperature_left)
            else:
                self.bath.append(None)
            probe = problem.probe if curve.field_T is None else replace(problem.probe, field_T=curve.field_T)
            self.probes.append(probe)
            self._observe_zero.append(self.observe(i, np.zeros(wire.energy.n)))
        sigma = problem.sigma or (1.0,) * len(problem.curves)
        self.sigma = np.asarray(sigma)
        self.rows = np.cumsum([0] + [c.x.size for c in problem.curves])
        self._warm: list = [None] * len(problem.curves)
        self._states: tuple | None = None  # (theta bytes, SteadyState per curve)
        self.steady_solves = 0
        self.newton_iterations = 0
        self.response_products = 0

    @property
    def largest_transfer_meV(self) -> float:
        """The largest energy an electron can exchange on any curve's energy grid (its full width): the
        kernel beyond it enters no curve."""
        return max(float(e[-1] - e[0]) for e in self.energy_meV)

    # -- the model ---------------------------------------------------------------------------------
    def table(self, theta, index: int) -> TabulatedKernel:
        """The dimensionless table of curve ``index`` for the physical node values ``theta``."""
        return TabulatedKernel(self.nodes[index], tuple(np.asarray(theta, dtype=float) + self.offsets[index]),
                               self.bath[index], self.cutoffs[index])

    def wire(self, theta, index: int):
        """The wire problem of curve ``index``: the base mechanisms plus the table."""
        base = self.wires[index]
        return replace(base, mechanisms=tuple(base.mechanisms) + (self.table(theta, index),))

    def observe(self, index: int, f_middle) -> np.ndarray:
        """The model y of curve ``index`` for f at x = L/2 (linear in f up to a constant)."""
        curve = self.problem.curves[index]
        return model_curve(curve.kind, curve.x, self.probes[index], self.energy_meV[index], f_middle)

    def steady_states(self, theta) -> list:
        """The :class:`~hotelectron.wire.steady.SteadyState` of every curve at ``theta`` (each solve
        warm-started from the curve's last one)."""
        theta = np.asarray(theta, dtype=float)
        if self._states is not None and self._states[0] == theta.tobytes():
            return self._states[1]
        states = []
        for i in range(len(self.wires)):
            state = steady_state(self.wire(theta, i), f_tol=self.problem.steady_tol, initial=self._warm[i])
            self._warm[i] = state.f
            self.steady_solves += 1
            self.newton_iterations += state.iterations
            states.append(state)
        self._states = (theta.tobytes(), states)
        return states

    def states(self, theta) -> list[np.ndarray]:
        """The steady ``f[x, eps]`` of every curve at ``theta``."""
        return [state.f for state in self.steady_states(theta)]

    def curve_state(self, theta, index: int) -> CurveState:
        """Curve ``index``'s steady state at ``theta`` as the fits keep it (its scenario text is the
        base's with the curve's U: it does not hold the table)."""
        wire = self.wires[index]
        return CurveState(self.texts[index], wire.wire.values, wire.energy.values, self.energy_units_meV[index],
                          self.steady_states(theta)[index])

    def curves(self, theta) -> list[np.ndarray]:
        """The model y of every curve at ``theta``."""
        return [self.observe(i, f[f.shape[0] // 2]) for i, f in enumerate(self.states(theta))]

    def residuals(self, theta) -> np.ndarray:
        """Stacked ``(model - y) / sigma``."""
        parts = [(y - c.y) / s for y, c, s in zip(self.curves(theta), self.problem.curves, self.sigma)]
        return np.concatenate(parts)

    def jacobian(self, theta, directions=None) -> np.ndarray:
        """``d residuals / d theta`` (N, J), from the linear response of each steady state; with
        ``directions`` (J, k) the derivatives along its columns, ``J @ directions`` (one response solve
        per column and curve)."""
        theta = np.asarray(theta, dtype=float)
        directions = np.eye(theta.size) if directions is None else np.asarray(directions, dtype=float)
        out = np.empty((self.rows[-1], directions.shape[1]))
        for i, f in enumerate(self.states(theta)):
            wire = self.wire(theta, i)
            table = wire.mechanisms[-1]
            response = SteadyResponse(wire, f, rtol=RESPONSE_RTOL)
            middle = f.shape[0] // 2
            for k in range(directions.shape[1]):
                dK = np.zeros((f.shape[0] - 2, 2 * wire.energy.n + 1))
                table.add_kernel_derivative(wire.energy, response.electron_hole, directions[:, k], dK)
                df = response.to_kernel_change(dK)
                out[self.rows[i] : self.rows[i + 1], k] = (self.observe(i, df[middle]) - self._observe_zero[i]) / self.sigma[i]
            self.response_products += response.products
        return out


def _curve_scenario(base: dict, curve: MeasuredCurve, index: int):
    """The validated scenario of one curve: the base with its wire bias (and bath temperature)."""
    try:
        scenario = parse_scenario(tomli_w.dumps(with_overrides(base, curve_overrides(curve, base), "base scenario")))
    except ValueError as exc:
        raise curve_refusal(curve, index, exc) from None
    check_curve_scenario(scenario, curve, index)
    return scenario


# -- the result -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class KernelResult:
    """The inferred kernel.

    Attributes
    ----------
    energies_meV : node energies; log_values : theta = ln K at them (K in ``1/(ns meV^2)``).
    covariance : (J, J) regularised covariance of theta (module docstring).
    partner : ``"electrons"`` or ``"bath"``.
    method : how lambda was chosen (``"gcv"``, ``"l-curve"`` or ``"fixed"``); lam : its value.
    criteria : lambda of each criterion at the final linearisation (``gcv``, ``l-curve``).
    scan : the criteria over the lambda grid at the final linearisation (arrays; :func:`scan`).
    chi2 : |r|^2; points : N; effective_parameters : tr A; noise_scale : s^2 = chi2 / (N - tr A).
    iterations, steady_solves, newton_iterations, response_products : the work done.
    curves : best-fit curves (data, model, f at L/2).
    converged, message : whether the step fell below xtol, and how it ended.
    """

    energies_meV: np.ndarray
    log_values: np.ndarray
    covariance: np.ndarray
    partner: str
    method: str
    lam: float
    criteria: dict
    scan: dict
    chi2: float
    points: int
    effective_parameters: float
    noise_scale: float
    iterations: int
    steady_solves: int
    newton_iterations: int
    response_products: int
    curves: tuple[FittedCurve, ...]
    converged: bool
    message: str

    @property
    def values(self) -> np.ndarray:
        """K at the nodes, ``1/(ns meV^2)``."""
        return np.exp(self.log_values)

    @property
    def chi2_per_dof(self) -> float:
        """chi^2 per effective degree of freedom, ``chi2 / (N - tr A)`` (= noise_scale)."""
        return self.noise_scale

    @property
    def status(self) -> str:
        """``"finished"``: the inference ran to its end (``converged`` and ``message`` say how)."""
        return "finished"

    def log_kernel(self, energy_meV) -> tuple[np.ndarray, np.ndarray]:
        """``(ln K, its 1-sigma)`` at any energies (meV, non-zero): the interpolant and the band."""
        Phi = log_interpolation(self.energies_meV, energy_meV)
        sigma = np.sqrt(np.maximum(np.einsum("...j,jk,...k->...", Phi, self.covariance, Phi), 0.0))
        return Phi @ self.log_values, sigma

    def band(self, energy_meV, width: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(K, lower, upper)`` at the energies: the estimate and ``exp(ln K -+ width sigma)``."""
        mean, sigma = self.log_kernel(energy_meV)
        return np.exp(mean), np.exp(mean - width * sigma), np.exp(mean + width * sigma)

    def constrained(self, energy_meV, log_width: float = CONSTRAINED_LOG_WIDTH) -> np.ndarray:
        """Where the data constrain the kernel: the 1-sigma band of ln K narrower than ``log_width``."""
        return self.log_kernel(energy_meV)[1] < log_width

    def to_dict(self, energy_meV=None) -> dict:
        """The content of ``kernel.json``: the nodes with K and its band, how lambda was chosen, the
        criteria, the fit's statistics; with ``energy_meV`` also the kernel on those energies."""
        K, lower, upper = self.band(self.energies_meV)
        out = {
            "unit": K_UNIT, "partner": self.partner,
            "nodes": {"energy_meV": self.energies_meV.tolist(), "K": K.tolist(), "K_lower": lower.tolist(),
                      "K_upper": upper.tolist(), "log_K": self.log_values.tolist(),
                      "log_K_stderr": np.sqrt(np.diag(self.covariance)).tolist()},
            "covariance_log_K": self.covariance.tolist(),
            "band": "exp(ln K -+ sigma), sigma^2 = phi^T C phi, C = s^2 (J^T J + lambda L^T L)^-1, s^2 = chi2/(N - tr A)",
            "regularisation": {"method": self.method, "lambda": self.lam, "gcv_lambda": self.criteria["gcv"],
                               "l_curve_lambda": self.criteria["l-curve"], "reml_lambda": self.criteria["reml"],
                               "penalty": "lambda int (d^2 ln K / d(ln E)^2)^2 d ln E (second differences)"},
            "scan": {key: np.asarray(self.scan[key]).tolist() for key in ("lambda", "gcv", "reml", "residual", "penalty", "trace")},
            "chi2": self.chi2, "points": self.points, "effective_parameters": self.effective_parameters,
            "noise_scale": self.noise_scale, "iterations": self.iterations, "steady_solves": self.steady_solves,
            "newton_iterations": self.newton_iterations, "response_products": self.response_products,
            "converged": self.converged, "message": self.message,
            "curves": [{"source": c.curve.source, "kind": c.curve.kind, "bias_mV": c.curve.bias_mV,
                        "field_T": c.curve.field_T, "temperature_K": c.curve.temperature_K,
                        "points": int(c.curve.x.size), "sigma": c.sigma,
                        "chi2": float(np.sum(c.residual**2))} for c in self.curves],
        }
        if energy_meV is not None:
            E = np.asarray(energy_meV, dtype=float)
            K, lower, upper = self.band(E)
            out["kernel"] = {"energy_meV": E.tolist(), "K": K.tolist(), "K_lower": lower.tolist(),
                             "K_upper": upper.tolist(), "constrained": self.constrained(E).tolist()}
        return out

    def to_json(self, energy_meV=None) -> str:
        return json.dumps(self.to_dict(energy_meV), indent=2, allow_nan=False)


# -- the iteration ------------------------------------------------------------------------------------
def _objective(model: KernelModel, theta, L, lam) -> float:
    """Phi at theta, or inf where the steady state cannot be found (the line search then shortens)."""
    try:
        r = model.residuals(theta)
    except (RuntimeError, FloatingPointError) as exc:
        log.info("kernel: no steady state at a trial step (%s); shortening it", exc)
        return math.inf
    return float(r @ r + lam * np.sum((L @ theta) ** 2))


def _power_laws(energies) -> np.ndarray:
    """The basis (J, 2) of ln K = c_0 + c_1 ln E at the nodes: the penalty's null space."""
    return np.stack([np.ones(len(energies)), np.log(energies)], axis=1)


@dataclass
class _Solve:
    """Gauss-Newton at one lambda (``inf``: power laws only), converged or stopped, and its last
    linearisation: residuals r and Jacobian J at theta."""

    lam: float
    theta: np.ndarray
    r: np.ndarray
    J: np.ndarray
    iterations: int
    converged: bool
    message: str = ""

    def score(self, L, method: str) -> float:
        """The criterion ``method`` (``Linearised.score``) at the converged theta and its lambda (at
        convergence theta' = theta, so its linearised residual is r itself)."""
        return Linearised(self.J, self.J @ self.theta - self.r, L).score(method, self.lam)


def _line_search(model: KernelModel, L, lam, theta, r, J, step) -> float:
    """The length t of the step: the minimum of the parabola through Phi(0), Phi'(0) and Phi(1) when it
    lies in [0.1, 1] and is lower than Phi(1) (with many data and a weak penalty the Gauss-Newton step
    overshoots: the neglected curvature of the residuals), else 1, halved until Phi falls; 0 if it
    never does."""
    phi0 = float(r @ r + lam * np.sum((L @ theta) ** 2))
    slope = 2.0 * float((J.T @ r + lam * L.T @ (L @ theta)) @ step)
    phi1 = _objective(model, theta + step, L, lam)
    t, best = 1.0, phi1
    curvature = phi1 - phi0 - slope
    if math.isfinite(phi1) and curvature > 0 and slope < 0:
        t_min = -slope / (2.0 * curvature)
        if 0.1 <= t_min < 1.0:
            phi = _objective(model, theta + t_min * step, L, lam)
            if phi < best:
                t, best = t_min, phi
    while best > phi0:
        t *= 0.5
        if t < 1e-3:
            return 0.0
        best = _objective(model, theta + t * step, L, lam)
    return t


def _converge(model: KernelModel, L, theta, lam: float, budget: int, linearisation=None) -> _Solve:
    """Gauss-Newton on Phi at fixed lambda from theta: the step to the minimiser of the linearised Phi,
    capped at ``max_step``, its length from ``_line_search``, until it is below ``xtol`` (or ``budget``
    iterations are spent). ``linearisation``: (r, J) at theta when known.

    ``lam = inf``: power laws alone. theta is projected on them and the Jacobian taken along the two
    directions only (two response solves per curve instead of one per node); the returned J is then
    ``(N, 2)`` in the coefficients of ``_power_laws``.
    """
    problem = model.problem
    power_law = math.isinf(lam)
    basis = _power_laws(problem.energies_meV)
    if power_law:
        theta = basis @ np.linalg.lstsq(basis, theta, rcond=None)[0]
    penalty = 0.0 if power_law else lam

    def linearise(theta):
        return model.residuals(theta), model.jacobian(theta, basis if power_law else None)

    r, J = linearisation if linearisation is not None else linearise(theta)
    iterations = 0
    while True:
        if power_law:
            step = basis @ np.linalg.lstsq(J, -r, rcond=None)[0]
            J_full = J @ np.linalg.pinv(basis)  # d r / d theta restricted to power laws
        else:
            step = Linearised(J, J @ theta - r, L).solve(lam).theta - theta
            J_full = J
        size = float(np.max(np.abs(step)))
        log.info("kernel: lambda %s, iteration %d: chi2 %.6g, step %.3g in ln K",
                 "inf (power law)" if power_law else f"{lam:.3g}", iterations, float(r @ r), size)
        if size <= problem.xtol:
            return _Solve(lam, theta, r, J, iterations, True)
        if iterations >= budget:
            return _Solve(lam, theta, r, J, iterations, False, f"no convergence in {problem.max_iterations} iterations")
        step *= min(1.0, problem.max_step / size)
        t = _line_search(model, L, penalty, theta, r, J_full, step)
        if t == 0.0:
            model.states(theta)
            return _Solve(lam, theta, r, J, iterations, False,
                          f"no decrease of the objective along the Gauss-Newton step (lambda {lam:.3g})")
        theta = theta + t * step
        iterations += 1
        r, J = linearise(theta)


def _check_fixed_lambda(lam: float, J, L) -> None:
    """Refuse a fixed lambda outside the range the criteria search on this problem (``lambda_grid``)."""
    grid = lambda_grid(J, L)
    if grid[0] <= lam <= grid[-1]:
        return
    why = ("so weak a penalty leaves the nodes the data do not see undetermined (Gauss-Newton diverges)" if lam < grid[0]
           else "so strong a penalty leaves only the power law, the fit's first stage")
    msg = (f"regularisation = {lam:g} lies outside [{grid[0]:.3g}, {grid[-1]:.3g}], the range of lambda the criteria "
           f"search on these data at the best power law: {why}; choose lambda within it, or a criterion "
           f"({', '.join(METHODS)})")
    raise ValueError(msg)


def _check_finite(problem: KernelProblem, theta, covariance, lam: float) -> None:
    """Numerical trouble, not a result: ln K or its 2-sigma band beyond the range of floats (K would be inf)."""
    sigma = np.sqrt(np.abs(np.diag(covariance)))
    reach = np.abs(theta) + 2.0 * sigma
    if np.all(np.isfinite(reach)) and np.max(reach) < LOG_K_MAX:
        return
    k = int(np.argmax(np.where(np.isfinite(reach), reach, np.inf)))
    msg = (f"kernel fit: ln K = {theta[k]:.4g} +- {sigma[k]:.4g} at the node {problem.energies_meV[k]:g} meV: K or its "
           f"band leaves the range of floating-point numbers (|ln K| + 2 sigma must stay below {LOG_K_MAX:g}); the "
           f"data do not determine the kernel there at lambda = {lam:.4g}: narrow the nodes' range or regularise more")
    raise RuntimeError(msg)


def _criterion(problem: KernelProblem, solve: _Solve, L) -> tuple[float, dict]:
    """The lambda the criterion picks on the linearisation of ``solve``, and the scan behind it."""
    criteria = scan(solve.J, solve.J @ solve.theta - solve.r, L)
    if problem.regularisation in METHODS:
        return criteria["choices"][problem.regularisation], criteria
    return float(problem.regularisation), criteria


def infer_kernel(problem: KernelProblem) -> KernelResult:
    """Infer the tabulated kernel of ``problem`` (module docstring) and its band.

    1. Gauss-Newton on power laws alone (lambda -> infinity: two unknowns, steps well inside the linear
       range), so that a start far from the data does not send the nodes far off.
    2. Rounds: the criterion picks lambda on the linearisation at the current theta; Gauss-Newton
       converges at that fixed lambda; repeat until the criterion proposes a lambda within a factor
       ``LAMBDA_SETTLED`` of one already solved at. Picking lambda anew at every Gauss-Newton step
       instead can cycle: the GCV function is flat and its minimum jumps between linearisations.
    3. GCV and REML: of the rounds, the one with the smallest score at its converged theta (for the
       L-curve, the last round; a fixed lambda, one round).

    Raises
    ------
    ValueError
        A fixed lambda outside the range the criteria search (``regularisation = ...`` named), or nodes
        whose power law the data do not determine.
    RuntimeError
        ln K or its band beyond the range of floats: numerical trouble, not a result.
    """
    model = KernelModel(problem)
    L = second_differences(problem.energies_meV)
    budget = problem.max_iterations
    solve = _converge(model, L, np.log(np.asarray(problem.start)), math.inf, budget)
    budget -= solve.iterations
    solve = dataclasses.replace(solve, J=model.jacobian(solve.theta))  # every node from here on
    if not isinstance(problem.regularisation, str):
        _check_fixed_lambda(float(problem.regularisation), solve.J, L)
    rounds = []
    proposal, criteria = _criterion(problem, solve, L)
    for _ in range(MAX_ROUNDS):
        solve = _converge(model, L, solve.theta, proposal, budget, (solve.r, solve.J))
        budget -= solve.iterations
        rounds.append(solve)
        if not solve.converged or isinstance(problem.regularisation, int | float):
            break
        proposal, criteria = _criterion(problem, solve, L)
        if any(abs(math.log(proposal / s.lam)) < math.log(LAMBDA_SETTLED) for s in rounds):
            break
    if problem.regularisation in SCORES and all(s.converged for s in rounds):
        solve = min(rounds, key=lambda s: s.score(L, problem.regularisation))
        criteria = _criterion(problem, solve, L)[1]
    converged = solve.converged
    message = solve.message or (f"converged (step in ln K below xtol = {problem.xtol:g}) at lambda {solve.lam:.4g} "
                                f"after {len(rounds)} rounds of the criterion")
    theta, r, lam = solve.theta, solve.r, solve.lam
    iterations = problem.max_iterations - budget
    target = Linearised(solve.J, solve.J @ theta - r, L).solve(lam)
    N = r.size
    s2 = float(r @ r) / max(N - target.trace, 1.0)
    covariance = s2 * target.inverse()
    _check_finite(problem, theta, covariance, lam)
    sigma = model.sigma
    curves = []
    for i, c in enumerate(problem.curves):
        state = model.curve_state(theta, i)
        curves.append(FittedCurve(c, model.observe(i, state.f_middle), float(sigma[i]), state, model.probes[i]))
    method = problem.regularisation if isinstance(problem.regularisation, str) else "fixed"
    if not converged:
        log.warning("kernel fit: %s", message)
    choices = criteria["choices"]
    if method == "gcv" and abs(math.log(choices["gcv"] / choices["reml"])) > math.log(GCV_REML_WARN):
        log.warning("kernel fit: GCV picks lambda %.3g, REML %.3g: the GCV function is flat on these data and GCV may "
                    "under-smooth (a wide band); regularisation = \"reml\" is the steadier choice", choices["gcv"],
                    choices["reml"])
    log.info("kernel fit: chi2 %.6g over %d points, tr A = %.3g, lambda = %.3g (%s); %d iterations, %d steady states",
             float(r @ r), N, target.trace, lam, method, iterations, model.steady_solves)
    return KernelResult(np.asarray(problem.energies_meV), theta, covariance, problem.partner, method, lam,
                        criteria["choices"], criteria,
                        float(r @ r), N, float(target.trace), s2, iterations, model.steady_solves,
                        model.newton_iterations, model.response_products, tuple(curves), converged, message)
