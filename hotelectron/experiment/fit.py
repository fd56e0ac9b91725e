"""Global least-squares fits of measured curves by the steady-state wire model (SPEC section 11).

A fit is a base scenario (steady mode, physical units), measured curves and parameters. Curve i is
the base scenario with its wire bias U_i (and bath temperature T_i, when the curve gives one) set;
its model is f at the middle node x = L/2 of the steady state, mapped to the measured abscissa:

* ``conductance`` curves (x = probe bias V in mV): R_T dI/dV(V) of the BCS-Dynes probe
  (:func:`hotelectron.experiment.probe.probe_conductance`), Zeeman split by the curve's field B;
* ``distribution`` curves (x = E in meV): f(E) interpolated linearly on the energy grid.

A parameter is a dotted scenario key (``"electron_electron.kappa"`` with a unit such as
``"1/ns/meV^0.5"``, set through :func:`hotelectron.sweep.spec.with_overrides`) or a probe parameter
(``probe.gap`` and ``probe.dynes`` in meV, ``probe.temperature`` in K); free or fixed, with a start
value and bounds, shared by all curves or belonging to one curve (``curve = i``).

Numerics. The residuals (model - y) / sigma_i of all curves are stacked and minimised by
``scipy.optimize.least_squares`` (trust-region reflective, bounds). The optimiser works on
u = p / |p_start|, so that kappa ~ 1e8 and T ~ 0.05 K are both of order one (the same as
``x_scale = |p_start|``, and the covariance is formed in these well-conditioned variables). Each
steady state is warm-started from the last solution of its curve and solved to a residual of
``steady_tol`` = 1e-12 / tau_D, so that f is known to ~1e-13. The Jacobian of the optimiser is a
forward difference with relative step ``rel_step`` = 1e-6: its truncation error (~rel_step) and its
solver noise (~1e-13 / rel_step) are both ~1e-6 of the derivative. At the optimum the Jacobian is
recomputed by central differences with relative step 1e-4 (truncation ~1e-8, noise ~1e-9) and gives

    cov = (J^T J)^-1 chi^2 / dof,   stderr_k = sqrt(cov_kk),   corr_kl = cov_kl / (stderr_k stderr_l),

chi^2 = sum of squared stacked residuals, dof = points - free parameters: the 1-sigma errors of the
linearised model with the residual variance estimated from the fit (equal to the given sigma when
chi^2/dof = 1).
"""

from __future__ import annotations

import json
import logging
import math
import tomllib
from dataclasses import dataclass, replace

import numpy as np
import tomli_w

from ..io.scenario import parse_scenario
from ..sweep.spec import with_overrides
from ..wire.steady import steady_state
from .data import KINDS, MeasuredCurve
from .probe import ProbeParameters, probe_conductance

__all__ = ["PROBE_KEYS", "FitProblem", "FitResult", "FittedCurve", "FittedParameter", "Parameter",
           "fit", "FitModel"]

log = logging.getLogger(__name__)

#: probe parameter -> (field of ProbeParameters, its unit)
PROBE_KEYS = {"probe.gap": ("gap_meV", "meV"), "probe.dynes": ("dynes_meV", "meV"),
              "probe.temperature": ("temperature_K", "K")}
#: set per curve from the data, never fitted
CURVE_KEYS = ("reservoirs.bias", "reservoirs.mu_left", "reservoirs.mu_right")
#: default residual of the steady solver, 1/tau_D (f converged to ~1e-13)
STEADY_TOL = 1e-12
#: forward-difference step of the optimiser's Jacobian, relative to the parameter
REL_STEP = 1e-6
#: central-difference step of the Jacobian at the optimum (the covariance), relative
COVARIANCE_STEP = 1e-4


@dataclass(frozen=True)
class Parameter:
    """One fit parameter.

    Attributes
    ----------
    key : dotted scenario key (``"electron_electron.kappa"``) or one of :data:`PROBE_KEYS`.
    start : start value (the value of a fixed parameter), in ``unit``.
    lower, upper : bounds in ``unit`` (default unbounded); lower < upper, start within them.
    free : fitted (True) or held at ``start``.
    unit : unit of the values in the scenario (``"1/ns/meV^0.5"``, ``"mK"``); None for a plain number.
        Probe parameters have fixed units (meV or K); None or that unit.
    curve : None (shared by all curves) or the index of the one curve it belongs to.
    """

    key: str
    start: float
    lower: float = -math.inf
    upper: float = math.inf
    free: bool = True
    unit: str | None = None
    curve: int | None = None

    def __post_init__(self):
        where = f"parameter {self.key!r}"
        if not isinstance(self.key, str) or "." not in self.key or any(not p for p in self.key.split(".")):
            msg = f"{where}: a key must be 'section.key' (e.g. \"electron_electron.kappa\") or one of {list(PROBE_KEYS)}"
            raise ValueError(msg)
        if self.key.startswith("probe.") and self.key not in PROBE_KEYS:
            msg = f"{where}: unknown probe parameter; the probe parameters are {list(PROBE_KEYS)}"
            raise ValueError(msg)
        if self.key in CURVE_KEYS:
            msg = f"{where}: the wire bias is set by each curve's U and cannot be a parameter"
            raise ValueError(msg)
        if self.key in PROBE_KEYS and self.unit not in (None, PROBE_KEYS[self.key][1]):
            msg = f"{where}: unit {self.unit!r}; a probe parameter is given in {PROBE_KEYS[self.key][1]}"
            raise ValueError(msg)
        for name in ("start", "lower", "upper"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                msg = f"{where}: {name} = {value!r} must be a number"
                raise ValueError(msg)
            object.__setattr__(self, name, float(value))
        if not math.isfinite(self.start):
            msg = f"{where}: start = {self.start!r} must be finite"
            raise ValueError(msg)
        if not self.lower < self.upper:
            msg = f"{where}: min = {self.lower!r} must be below max = {self.upper!r}"
            raise ValueError(msg)
        if not self.lower <= self.start <= self.upper:
            msg = f"{where}: start = {self.start!r} lies outside the bounds [{self.lower!r}, {self.upper!r}]"
            raise ValueError(msg)
        if self.curve is not None and (isinstance(self.curve, bool) or not isinstance(self.curve, int) or self.curve < 0):
            msg = f"{where}: curve = {self.curve!r} must be a curve index >= 0 (or None: shared)"
            raise ValueError(msg)

    @property
    def label(self) -> str:
        """``key`` for a shared parameter, ``key[i]`` for one of curve i."""
        return self.key if self.curve is None else f"{self.key}[{self.curve}]"

    @property
    def scale(self) -> float:
        """|start|, or 1 for a start of 0: the optimiser works on value / scale."""
        return abs(self.start) if self.start != 0 else 1.0

    def scenario_value(self, value: float):
        """The value as written into a scenario: ``"0.1 1/ns/meV^0.5"`` or a plain float."""
        return float(value) if self.unit is None else f"{float(value)!r} {self.unit}"


@dataclass(frozen=True)
class FitProblem:
    """What is fitted to what.

    Attributes
    ----------
    base : TOML text of the base scenario (``[run] mode = "steady"``, physical units).
    curves : the measured curves; curve i is the base with its U (and T) set.
    parameters : fit parameters, at least one free; a (key, curve) pair at most once.
    probe : the probe's parameters not fitted (and the field when a curve gives no B).
    sigma : per-curve standard deviation of y (residuals are divided by it); None: 1 for all.
    steady_tol : residual of the steady solver, 1/tau_D.
    rel_step : relative forward-difference step of the optimiser's Jacobian.
    """

    base: str
    curves: tuple[MeasuredCurve, ...]
    parameters: tuple[Parameter, ...]
    probe: ProbeParameters = ProbeParameters(gap_meV=0.0)
    sigma: tuple[float, ...] | None = None
    steady_tol: float = STEADY_TOL
    rel_step: float = REL_STEP

    def __post_init__(self):
        object.__setattr__(self, "curves", tuple(self.curves))
        object.__setattr__(self, "parameters", tuple(self.parameters))
        if not self.curves:
            msg = "a fit needs at least one measured curve"
            raise ValueError(msg)
        for i, curve in enumerate(self.curves):
            if curve.kind not in KINDS:
                msg = f"curve {i} ({curve.source or 'no source'}): kind {curve.kind!r} is not supported; a fit takes {list(KINDS)}"
                raise ValueError(msg)
        if not any(p.free for p in self.parameters):
            msg = "no free parameter: set free = true on at least one of " + (
                ", ".join(repr(p.label) for p in self.parameters) or "(no parameters given)")
            raise ValueError(msg)
        labels = [p.label for p in self.parameters]
        for p in self.parameters:
            if labels.count(p.label) > 1:
                msg = f"parameter {p.label!r} is given more than once"
                raise ValueError(msg)
            if p.curve is not None and p.key in labels:
                msg = f"parameter {p.key!r} is both shared and per curve ({p.label!r})"
                raise ValueError(msg)
            if p.curve is not None and p.curve >= len(self.curves):
                msg = f"parameter {p.label!r}: curve {p.curve} does not exist ({len(self.curves)} curves)"
                raise ValueError(msg)
            if p.key.startswith("reservoirs.temperature") and any(c.temperature_K is not None for c in self.curves):
                msg = f"parameter {p.label!r}: the curves give their bath temperature T, which sets it"
                raise ValueError(msg)
        if self.sigma is not None:
            sigma = tuple(float(s) for s in self.sigma)
            if len(sigma) != len(self.curves) or not all(math.isfinite(s) and s > 0 for s in sigma):
                msg = f"sigma must give one positive finite number per curve ({len(self.curves)}); got {self.sigma!r}"
                raise ValueError(msg)
            object.__setattr__(self, "sigma", sigma)
        points = sum(c.x.size for c in self.curves)
        n_free = sum(p.free for p in self.parameters)
        if points <= n_free:
            msg = f"{points} data points cannot determine {n_free} free parameters (and their errors)"
            raise ValueError(msg)
        if not self.steady_tol > 0 or not 0 < self.rel_step < 0.1:
            msg = f"steady_tol = {self.steady_tol!r} must be > 0 and rel_step = {self.rel_step!r} in (0, 0.1)"
            raise ValueError(msg)

    @property
    def free(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.free)


@dataclass(frozen=True)
class FittedParameter:
    """A parameter at the optimum: ``value`` and 1-sigma ``stderr`` (None for a fixed one) in ``unit``."""

    parameter: Parameter
    value: float
    stderr: float | None


@dataclass(frozen=True, eq=False)
class FittedCurve:
    """A measured curve with its best-fit model ``model`` (on ``curve.x``), the energy grid
    ``energy_meV`` and f at x = L/2 ``f_middle`` of the best-fit steady state."""

    curve: MeasuredCurve
    model: np.ndarray
    sigma: float
    energy_meV: np.ndarray
    f_middle: np.ndarray

    @property
    def residual(self) -> np.ndarray:
        """(model - y) / sigma."""
        return (self.model - self.curve.y) / self.sigma


@dataclass(frozen=True, eq=False)
class FitResult:
    """The outcome of :func:`fit`.

    Attributes
    ----------
    parameters : every parameter (free and fixed) at the optimum.
    correlation : (n_free, n_free) correlation matrix of the free parameters, in their order.
    chi2 : sum of squared residuals (over sigma); dof : points - free parameters.
    evaluations : model evaluations (each: one steady state per curve), Jacobians included.
    steady_solves : steady states solved; newton_iterations : their Newton iterations in total.
    curves : best-fit curves.
    success, message : the optimiser's verdict.
    """

    parameters: tuple[FittedParameter, ...]
    correlation: np.ndarray
    chi2: float
    dof: int
    evaluations: int
    steady_solves: int
    newton_iterations: int
    curves: tuple[FittedCurve, ...]
    success: bool
    message: str

    @property
    def chi2_per_dof(self) -> float:
        return self.chi2 / self.dof

    @property
    def free(self) -> tuple[FittedParameter, ...]:
        return tuple(p for p in self.parameters if p.parameter.free)

    def __getitem__(self, label: str) -> FittedParameter:
        for p in self.parameters:
            if p.parameter.label == label:
                return p
        raise KeyError(label)

    def to_dict(self) -> dict:
        """The content of ``fit.json`` (see the README, "Fitting measurements")."""
        return {
            "parameters": {p.parameter.label: {
                "value": p.value, "stderr": p.stderr, "unit": p.parameter.unit or PROBE_KEYS.get(p.parameter.key, ("", "1"))[1],
                "free": p.parameter.free, "start": p.parameter.start,
                "min": _finite_or_none(p.parameter.lower), "max": _finite_or_none(p.parameter.upper),
                "curve": p.parameter.curve} for p in self.parameters},
            "correlation": {"parameters": [p.parameter.label for p in self.free],
                            "matrix": self.correlation.tolist()},
            "chi2": self.chi2, "dof": self.dof, "chi2_per_dof": self.chi2_per_dof,
            "evaluations": self.evaluations, "steady_solves": self.steady_solves,
            "newton_iterations": self.newton_iterations,
            "success": self.success, "message": self.message,
            "stderr": "sqrt(diag((J^T J)^-1) chi2/dof), J: central differences at the optimum",
            "curves": [{"source": c.curve.source, "kind": c.curve.kind, "bias_mV": c.curve.bias_mV,
                        "field_T": c.curve.field_T, "temperature_K": c.curve.temperature_K,
                        "points": int(c.curve.x.size), "sigma": c.sigma,
                        "chi2": float(np.sum(c.residual**2))} for c in self.curves],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


class FitModel:
    """The model of a :class:`FitProblem` as a function of all parameter values, warm-started.

    Keeps, per curve, the last steady state with its grids: a solve starts from it when the new
    scenario has the same grids (the start only speeds Newton's method up; the result depends on
    the scenario and the tolerance alone), else from the collisionless solution.
    """

    def __init__(self, problem: FitProblem):
        self.problem = problem
        try:
            self.base = tomllib.loads(problem.base)
        except tomllib.TOMLDecodeError as exc:
            msg = f"base scenario: not valid TOML: {exc}"
            raise ValueError(msg) from exc
        self._warm: list[tuple | None] = [None] * len(problem.curves)
        self._last: list[tuple | None] = [None] * len(problem.curves)  # (scenario text, middle result)
        self.evaluations = 0
        self.steady_solves = 0
        self.newton_iterations = 0
        self._check()

    def _check(self):
        """Build every curve's scenario at the start values: unknown keys and bad values name the parameter."""
        start = {p.label: p.start for p in self.problem.parameters}
        for i, curve in enumerate(self.problem.curves):
            try:
                scenario = self.scenario(start, i)
            except ValueError as exc:
                keys = [p.label for p in self.problem.parameters if p.key not in PROBE_KEYS]
                msg = f"curve {i} (U = {curve.bias_mV:g} mV) with parameters {keys} at their start values: {exc}"
                raise ValueError(msg) from exc
            if scenario.mode != "steady":
                msg = f"base scenario: [run] mode = {scenario.mode!r}; a fit needs mode = \"steady\""
                raise ValueError(msg)
            if scenario.problem.wire.n % 2 == 0:
                msg = f"base scenario: [grid] n_x = {scenario.problem.wire.n} must be odd (x = L/2 a node)"
                raise ValueError(msg)
            if curve.kind == "conductance":
                self.probe(start, i)
            else:
                energy = scenario.problem.energy.values * scenario.derived["energy_unit_meV"]
                if curve.x[0] < energy[0] or curve.x[-1] > energy[-1]:
                    msg = (f"curve {i} ({curve.source}): energies [{curve.x[0]:g}, {curve.x[-1]:g}] meV reach beyond "
                           f"the energy grid [{energy[0]:g}, {energy[-1]:g}] meV; raise [grid] half_width")
                    raise ValueError(msg)

    def scenario(self, values: dict, index: int):
        """The validated scenario of curve ``index`` for ``values`` (label -> value)."""
        return self._parse(self._scenario_text(values, index))

    def _scenario_text(self, values: dict, index: int) -> str:
        curve = self.problem.curves[index]
        overrides = {"reservoirs.bias": f"{curve.bias_mV!r} mV"}
        if curve.temperature_K is not None:
            overrides["reservoirs.temperature"] = f"{curve.temperature_K!r} K"
        for p in self.problem.parameters:
            if p.key not in PROBE_KEYS and p.curve in (None, index):
                overrides[p.key] = p.scenario_value(values[p.label])
        return tomli_w.dumps(with_overrides(self.base, overrides, "base scenario"))

    @staticmethod
    def _parse(text: str):
        scenario = parse_scenario(text)
        if "energy_unit_meV" not in scenario.derived:
            msg = "base scenario: a fit needs physical units (energies in meV), not [dimensionless]"
            raise ValueError(msg)
        return scenario

    def probe(self, values: dict, index: int) -> ProbeParameters:
        curve = self.problem.curves[index]
        changes = {PROBE_KEYS[p.key][0]: float(values[p.label]) for p in self.problem.parameters
                   if p.key in PROBE_KEYS and p.curve in (None, index)}
        if curve.field_T is not None:
            changes["field_T"] = curve.field_T
        return replace(self.problem.probe, **changes)

    def middle(self, values: dict, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(energy in meV, f at x = L/2) of the steady state of curve ``index``; the last one again,
        unsolved, when the curve's scenario has not changed (a probe parameter or another curve's own
        parameter moved)."""
        text = self._scenario_text(values, index)
        last = self._last[index]
        if last is not None and last[0] == text:
            return last[1]
        scenario = self._parse(text)
        problem = scenario.problem
        grids = (problem.wire.values, problem.energy.values)
        warm = self._warm[index]
        initial = None
        if warm is not None and all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(warm[0], grids)):
            initial = warm[1]
        state = steady_state(problem, f_tol=self.problem.steady_tol, initial=initial)
        self._warm[index] = (grids, state.f)
        self.steady_solves += 1
        self.newton_iterations += state.iterations
        result = problem.energy.values * scenario.derived["energy_unit_meV"], state.f[problem.wire.n // 2]
        self._last[index] = (text, result)
        return result

    def curve(self, values: dict, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(model y on the curve's x, energy in meV, f at L/2) of curve ``index``."""
        curve = self.problem.curves[index]
        energy, f = self.middle(values, index)
        if curve.kind == "conductance":
            y = probe_conductance(energy, f, curve.x, self.probe(values, index))
        else:
            y = np.interp(curve.x, energy, f)
        return y, energy, f

    def residuals(self, values: dict) -> np.ndarray:
        """Stacked (model - y) / sigma of all curves."""
        self.evaluations += 1
        sigma = self.problem.sigma or (1.0,) * len(self.problem.curves)
        parts = [(self.curve(values, i)[0] - c.y) / s for i, (c, s) in enumerate(zip(self.problem.curves, sigma))]
        return np.concatenate(parts)

    def values(self, u) -> dict:
        """All parameter values (label -> value) for the scaled free vector ``u``."""
        values = {p.label: p.start for p in self.problem.parameters}
        for p, ui in zip(self.problem.free, u):
            values[p.label] = float(ui) * p.scale
        return values


def _jacobian(model: FitModel, u, r0, rel_step, bounds, central=False):
    """d residuals / d u by forward (or central) differences with steps ``rel_step * max(|u|, 1e-3)``,
    a forward step turned backwards where it would leave the bounds."""
    u = np.asarray(u, dtype=float)
    lower, upper = bounds
    J = np.empty((r0.size, u.size))
    for k in range(u.size):
        h = rel_step * max(abs(u[k]), 1e-3)
        if central and u[k] - h >= lower[k] and u[k] + h <= upper[k]:
            plus, minus = u.copy(), u.copy()
            plus[k] += h
            minus[k] -= h
            J[:, k] = (model.residuals(model.values(plus)) - model.residuals(model.values(minus))) / (2 * h)
            continue
        if u[k] + h > upper[k]:
            h = -h
        step = u.copy()
        step[k] += h
        J[:, k] = (model.residuals(model.values(step)) - r0) / h
    return J


def fit(problem: FitProblem, *, max_evaluations: int = 200, xtol: float = 1e-10, ftol: float = 1e-12,
        gtol: float = 1e-12) -> FitResult:
    """Fit ``problem``: least squares on the stacked residuals, errors from the Jacobian at the optimum.

    Parameters
    ----------
    problem : FitProblem
    max_evaluations : int
        Residual evaluations of the optimiser at most (Jacobians not counted).
    xtol, ftol, gtol : float
        Tolerances of ``scipy.optimize.least_squares`` (on u = p / |p_start|).
    """
    from scipy.optimize import least_squares

    model = FitModel(problem)
    free = problem.free
    scales = np.array([p.scale for p in free])
    u0 = np.array([p.start for p in free]) / scales
    bounds = (np.array([p.lower for p in free]) / scales, np.array([p.upper for p in free]) / scales)
    last = {}

    def fun(u):
        r = model.residuals(model.values(u))
        last["u"], last["r"] = np.array(u), r
        log.debug("evaluation %d: chi2 %.6e at %s", model.evaluations, float(r @ r), model.values(u))
        return r

    def jac(u):
        r0 = last["r"] if "u" in last and np.array_equal(last["u"], u) else model.residuals(model.values(u))
        return _jacobian(model, u, r0, problem.rel_step, bounds)

    opt = least_squares(fun, u0, jac=jac, bounds=bounds, method="trf", x_scale=1.0, xtol=xtol, ftol=ftol,
                        gtol=gtol, max_nfev=max_evaluations)
    u = opt.x
    r = model.residuals(model.values(u))
    J = _jacobian(model, u, r, COVARIANCE_STEP, bounds, central=True)
    chi2 = float(r @ r)
    dof = r.size - u.size
    try:
        cov_u = np.linalg.inv(J.T @ J) * (chi2 / dof)
    except np.linalg.LinAlgError:
        cov_u = np.full((u.size, u.size), np.inf)
    diag = np.diag(cov_u)
    ok = np.isfinite(diag) & (diag > 0)
    if not np.all(ok):
        log.warning("the Jacobian is singular for %s: no error estimate",
                    [p.label for p, good in zip(free, ok) if not good])
    stderr_u = np.where(ok, np.sqrt(np.where(ok, diag, 1.0)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = cov_u / np.outer(stderr_u, stderr_u)
    correlation = np.where(np.outer(ok, ok), correlation, 0.0)
    values = model.values(u)
    errors = dict(zip((p.label for p in free), stderr_u * scales))
    fitted = tuple(FittedParameter(p, values[p.label],
                                   float(errors[p.label]) if p.free and math.isfinite(errors[p.label]) else None)
                   for p in problem.parameters)
    sigma = problem.sigma or (1.0,) * len(problem.curves)
    curves = []
    for i, c in enumerate(problem.curves):
        y, energy, f = model.curve(values, i)
        curves.append(FittedCurve(c, y, sigma[i], energy, f))
    log.info("fit: chi2/dof = %.4g after %d evaluations (%d steady states, %d Newton iterations): %s",
             chi2 / dof, model.evaluations, model.steady_solves, model.newton_iterations, opt.message)
    return FitResult(fitted, correlation, chi2, dof, model.evaluations, model.steady_solves,
                     model.newton_iterations, tuple(curves), bool(opt.success), str(opt.message))
