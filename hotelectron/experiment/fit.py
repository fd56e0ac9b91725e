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
steady state is warm-started from its curve's state at the optimiser's last evaluation (the points
of a Jacobian all start from the state at its centre) and solved to a residual of
``steady_tol`` = 1e-12 / tau_D, so that f is known to ~1e-13. The Jacobian of the optimiser is a
forward difference with relative step ``rel_step`` = 1e-6: its truncation error (~rel_step) and its
solver noise (~1e-13 / rel_step) are both ~1e-6 of the derivative. At the optimum the Jacobian is
recomputed by central differences with relative step 1e-4 (truncation ~1e-8, noise ~1e-9) and gives

    cov = (J^T J)^-1 chi^2 / dof,   stderr_k = sqrt(cov_kk),   corr_kl = cov_kl / (stderr_k stderr_l),

chi^2 = sum of squared stacked residuals, dof = points - free parameters: the 1-sigma errors of the
linearised model with the residual variance estimated from the fit (equal to the given sigma when
chi^2/dof = 1).

Execution. The curves of one evaluation and all the points of a Jacobian form one batch of steady
states and model curves, computed in this process or concurrently on Dask workers
(:mod:`hotelectron.experiment.solves`); since the warm start of each solve is fixed by the rule
above, not by the order of the solves, both give the same fit. An interrupt (Ctrl-C) stops the fit
with :class:`FitInterrupted`, which carries the best point evaluated so far; a :class:`FitStart` made
from it continues the fit from there. A point whose scenario or probe is refused (an unbounded parameter
stepped out of what the model accepts) is found before any solve of it and ends the fit at its best
point with status ``"refused"`` (not a rejected step: the optimiser would end converged at the edge of
the accepted region, which is not an optimum).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import math
import tomllib
from dataclasses import dataclass, replace

import numpy as np
import tomli_w

from ..io.scenario import parse_scenario
from ..sweep.spec import with_overrides
from .data import KINDS, MeasuredCurve
from .probe import ProbeParameterError, ProbeParameters
from .solves import CurveState, LocalSolves, model_curve

__all__ = ["PROBE_KEYS", "STATUS_FINISHED", "STATUS_INTERRUPTED", "STATUS_REFUSED", "STATUS_STOPPED", "FitInputError",
           "FitInterrupted", "FitModel", "FitProblem", "FitResult", "FitStart", "FitStep", "FittedCurve",
           "FittedParameter", "FlatParameters", "Parameter", "PointRefused", "check_curve_scenario", "check_curves",
           "check_probe_sees_distribution", "curve_overrides", "fit", "restore_result"]

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
#: FitResult.status of a fit that converged, of one stopped by an interrupt, of one the optimiser ended
#: without convergence (evaluation budget spent), and of one stopped because the optimiser stepped to a
#: point the scenario or the probe refuses: the last three at their best point, without errors
STATUS_FINISHED, STATUS_INTERRUPTED, STATUS_STOPPED, STATUS_REFUSED = "finished", "interrupted", "stopped", "refused"
#: the field on the impurity spins: on whole energy steps, so the model is a step function of it
FIELD_PREFIX = "field."


class FitInputError(ValueError):
    """A refusal of what is fitted to what, with the part of a fit file it is about: ``where`` is
    ``"data"``, ``"sigma"`` or ``"[parameters]"`` (the fit file's loader names it)."""

    def __init__(self, message: str, where: str):
        super().__init__(message)
        self.where = where


def check_curves(curves, sigma) -> tuple[float, ...] | None:
    """Refuse no curves, a curve of a kind a fit does not take, and a ``sigma`` that is not one positive
    finite number per curve; return ``sigma`` as a tuple (None stays None)."""
    if not curves:
        msg = "a fit needs at least one measured curve"
        raise FitInputError(msg, "data")
    for i, curve in enumerate(curves):
        if curve.kind not in KINDS:
            msg = f"curve {i} ({curve.source or 'no source'}): kind {curve.kind!r} is not supported; a fit takes {list(KINDS)}"
            raise FitInputError(msg, "data")
    if sigma is None:
        return None
    values = tuple(float(s) for s in sigma)
    if len(values) != len(curves) or not all(math.isfinite(s) and s > 0 for s in values):
        msg = f"sigma must give one positive finite number per curve ({len(curves)}); got {sigma!r}"
        raise FitInputError(msg, "sigma")
    return values


def curve_overrides(curve: MeasuredCurve, base: dict) -> dict:
    """The scenario keys a measured curve sets: its wire bias U and, when it gives them, the bath
    temperature T and the field B. The field acts on the wire's impurity spins where the base scenario
    has any (``[impurities]``); the probe's own Zeeman splitting follows B either way."""
    overrides = {"reservoirs.bias": f"{curve.bias_mV!r} mV"}
    if curve.temperature_K is not None:
        overrides["reservoirs.temperature"] = f"{curve.temperature_K!r} K"
    if curve.field_T is not None and "impurities" in base:
        overrides["field.B"] = f"{curve.field_T!r} T"
    return overrides


def check_probe_sees_distribution(curves, probe: ProbeParameters, gap_set_for=()) -> None:
    """Refuse conductance curves measured by a probe without a gap (``probe.gap_meV == 0``, the default when
    ``[probe] gap`` is not given) unless a parameter sets their gap (curve indices in ``gap_set_for``): a
    normal-metal probe's R_T dI/dV is 1 whatever the wire's distribution (its DOS is flat), so such a curve
    constrains nothing and every free parameter would be flat."""
    if probe.gap_meV != 0:
        return
    blind = [i for i, c in enumerate(curves) if c.kind == "conductance" and i not in gap_set_for]
    if blind:
        msg = (f"{curve_name(curves[blind[0]], blind[0])} is a conductance, and a probe without a gap (0, the default) "
               "measures R_T dI/dV = 1 whatever the wire's distribution: give the superconducting probe's gap, e.g. "
               'gap = "0.17 meV" (aluminium), or fit it with [parameters."probe.gap"]')
        raise FitInputError(msg, "[probe] gap")


def curve_name(curve: MeasuredCurve, index: int) -> str:
    """``curve 1 (data.csv lines 5-105: U = 0.1 mV, B = 0.5 T, T = 0.05 K)`` for messages."""
    conditions = [f"U = {curve.bias_mV:g} mV"]
    if curve.field_T is not None:
        conditions.append(f"B = {curve.field_T:g} T")
    if curve.temperature_K is not None:
        conditions.append(f"T = {curve.temperature_K:g} K")
    where = f"{curve.source}: " if curve.source else ""
    return f"curve {index} ({where}{', '.join(conditions)})"


def curve_refusal(curve: MeasuredCurve, index: int, exc: Exception, parameters=()) -> ValueError:
    """The refusal of curve ``index``'s scenario (or probe): which curve, what it set, and why (``exc``,
    whose message names the scenario key)."""
    given = "U" + ", B" * (curve.field_T is not None) + ", T" * (curve.temperature_K is not None)
    also = f" and the parameters {', '.join(parameters)} at their start values" if parameters else ""
    return ValueError(f"{curve_name(curve, index)}: the base scenario with this curve's {given}{also}: {exc}")


def check_curve_scenario(scenario, curve: MeasuredCurve, index: int) -> None:
    """Refuse a curve's scenario that a fit cannot use: not in physical units, not steady, x = L/2 not a
    node, or (a ``distribution`` curve) energies beyond the energy grid."""
    if "energy_unit_meV" not in scenario.derived:
        msg = "base scenario: a fit needs physical units (energies in meV), not [dimensionless]"
        raise ValueError(msg)
    if scenario.mode != "steady":
        msg = f"base scenario: [run] mode = {scenario.mode!r}; a fit needs mode = \"steady\""
        raise ValueError(msg)
    if scenario.problem.wire.n % 2 == 0:
        msg = f"base scenario: [grid] n_x = {scenario.problem.wire.n} must be odd (x = L/2 a node)"
        raise ValueError(msg)
    if curve.kind == "distribution":
        energy = scenario.problem.energy.values * scenario.derived["energy_unit_meV"]
        if curve.x[0] < energy[0] or curve.x[-1] > energy[-1]:
            msg = (f"{curve_name(curve, index)}: energies [{curve.x[0]:g}, {curve.x[-1]:g}] meV reach beyond "
                   f"the energy grid [{energy[0]:g}, {energy[-1]:g}] meV; raise [grid] half_width")
            raise ValueError(msg)


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
        if self.key.startswith(FIELD_PREFIX):
            msg = (f"{where}: the field cannot be fitted: the impurity Zeeman energy g mu_B B lies on whole energy "
                   "steps, so the model is a step function of B and g (flat under a finite-difference step); each "
                   "curve's B comes from its data file (a B column), g from the base scenario's [field] g")
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
        object.__setattr__(self, "sigma", check_curves(self.curves, self.sigma))
        if not any(p.free for p in self.parameters):
            msg = "no free parameter: set free = true on at least one of " + (
                ", ".join(repr(p.label) for p in self.parameters) or "(no parameters given)")
            raise FitInputError(msg, "[parameters]")
        labels = [p.label for p in self.parameters]
        for p in self.parameters:
            if labels.count(p.label) > 1:
                msg = f"parameter {p.label!r} is given more than once"
                raise FitInputError(msg, "[parameters]")
            if p.curve is not None and p.key in labels:
                msg = f"parameter {p.key!r} is both shared and per curve ({p.label!r})"
                raise FitInputError(msg, "[parameters]")
            if p.curve is not None and p.curve >= len(self.curves):
                msg = f"parameter {p.label!r}: curve {p.curve} does not exist ({len(self.curves)} curves)"
                raise FitInputError(msg, "[parameters]")
            if p.key.startswith("reservoirs.temperature") and any(c.temperature_K is not None for c in self.curves):
                msg = f"parameter {p.label!r}: the curves give their bath temperature T, which sets it"
                raise FitInputError(msg, "[parameters]")
        gap_set_for = {i for p in self.parameters if p.key == "probe.gap"
                       for i in (range(len(self.curves)) if p.curve is None else [p.curve])}
        check_probe_sees_distribution(self.curves, self.probe, gap_set_for)
        points = sum(c.x.size for c in self.curves)
        n_free = sum(p.free for p in self.parameters)
        if points <= n_free:
            msg = f"{points} data points cannot determine {n_free} free parameters (and their errors)"
            raise FitInputError(msg, "[parameters]")
        if not self.steady_tol > 0 or not 0 < self.rel_step < 0.1:
            msg = f"steady_tol = {self.steady_tol!r} must be > 0 and rel_step = {self.rel_step!r} in (0, 0.1)"
            raise ValueError(msg)

    @property
    def free(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.free)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of everything that defines the fit (base scenario, curves, parameters with their
        starts and bounds, probe, sigma, tolerances): a resumed fit must have the same."""
        digest = hashlib.sha256()
        description = {
            "base": self.base, "parameters": [dataclasses.asdict(p) for p in self.parameters],
            "probe": dataclasses.asdict(self.probe), "sigma": self.sigma, "steady_tol": self.steady_tol,
            "rel_step": self.rel_step,
            "curves": [(c.kind, c.bias_mV, c.field_T, c.temperature_K, c.x.size) for c in self.curves]}
        digest.update(json.dumps(description, sort_keys=True).encode())
        for c in self.curves:
            digest.update(np.ascontiguousarray(c.x, dtype=float).tobytes())
            digest.update(np.ascontiguousarray(c.y, dtype=float).tobytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class FittedParameter:
    """A parameter at the optimum: ``value`` and 1-sigma ``stderr`` (None for a fixed one) in ``unit``."""

    parameter: Parameter
    value: float
    stderr: float | None


@dataclass(frozen=True, eq=False)
class FittedCurve:
    """A measured curve with its best-fit model ``model`` (on ``curve.x``), the best-fit steady state
    ``state`` of its scenario (f on the whole wire, its grids and scenario text) and the probe at the
    optimum (what a ``conductance`` curve's model measures f with)."""

    curve: MeasuredCurve
    model: np.ndarray
    sigma: float
    state: CurveState
    probe: ProbeParameters

    def model_at(self, x) -> np.ndarray:
        """The best-fit model on other abscissae ``x`` than the data's (a fine grid for a figure: given
        f at L/2, the probe model costs no steady state)."""
        return model_curve(self.curve.kind, x, self.probe, self.energy_meV, self.f_middle)

    @property
    def residual(self) -> np.ndarray:
        """(model - y) / sigma."""
        return (self.model - self.curve.y) / self.sigma

    @property
    def energy_meV(self) -> np.ndarray:
        return self.state.energy_meV

    @property
    def f_middle(self) -> np.ndarray:
        """f at x = L/2 of the best-fit steady state."""
        return self.state.f_middle


@dataclass(frozen=True, eq=False)
class FitResult:
    """The outcome of :func:`fit`.

    Attributes
    ----------
    parameters : every parameter (free and fixed) at the optimum (interrupted or stopped: at the best
        point so far).
    correlation : (n_free, n_free) correlation matrix of the free parameters, in their order; None
        when the fit was interrupted or stopped.
    chi2 : sum of squared residuals (over sigma); dof : points - free parameters.
    evaluations : model evaluations (each: one steady state per curve), Jacobians included.
    optimiser_evaluations : the optimiser's own evaluations (what ``max_evaluations`` bounds).
    steady_solves : steady states solved; newton_iterations : their Newton iterations in total.
    curves : best-fit curves.
    success, message : the optimiser's verdict.
    status : ``"finished"`` (converged), ``"interrupted"`` or ``"stopped"`` (the optimiser ended without
        converging, e.g. at ``max_evaluations``): then the best point so far, no error estimate.
    fingerprint : :attr:`FitProblem.fingerprint` of the problem fitted.
    """

    parameters: tuple[FittedParameter, ...]
    correlation: np.ndarray | None
    chi2: float
    dof: int
    evaluations: int
    steady_solves: int
    newton_iterations: int
    curves: tuple[FittedCurve, ...]
    success: bool
    message: str
    optimiser_evaluations: int = 0
    status: str = STATUS_FINISHED
    fingerprint: str = ""

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

    def to_dict(self, state_files=None) -> dict:
        """The content of ``fit.json`` (see the README, "Fitting measurements"); ``state_files``: the
        names of the files holding each curve's best-fit steady state."""
        curves = [{"source": c.curve.source, "kind": c.curve.kind, "bias_mV": c.curve.bias_mV,
                   "field_T": c.curve.field_T, "temperature_K": c.curve.temperature_K,
                   "points": int(c.curve.x.size), "sigma": c.sigma,
                   "chi2": float(np.sum(c.residual**2))} for c in self.curves]
        for entry, name in zip(curves, state_files or (), strict=False):
            entry["state"] = name
        return {
            "status": self.status,
            "parameters": {p.parameter.label: {
                "value": p.value, "stderr": p.stderr, "unit": p.parameter.unit or PROBE_KEYS.get(p.parameter.key, ("", "1"))[1],
                "free": p.parameter.free, "start": p.parameter.start,
                "min": _finite_or_none(p.parameter.lower), "max": _finite_or_none(p.parameter.upper),
                "curve": p.parameter.curve} for p in self.parameters},
            "correlation": {"parameters": [p.parameter.label for p in self.free],
                            "matrix": None if self.correlation is None else self.correlation.tolist()},
            "chi2": self.chi2, "dof": self.dof, "chi2_per_dof": self.chi2_per_dof,
            "evaluations": self.evaluations, "optimiser_evaluations": self.optimiser_evaluations,
            "steady_solves": self.steady_solves, "newton_iterations": self.newton_iterations,
            "success": self.success, "message": self.message,
            "stderr": "sqrt(diag((J^T J)^-1) chi2/dof), J: central differences at the optimum",
            "fingerprint": self.fingerprint,
            "curves": curves,
        }

    def to_json(self, state_files=None) -> str:
        return json.dumps(self.to_dict(state_files), indent=2, allow_nan=False)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


class FlatParameters(ValueError):
    """Free parameters the model does not depend on at the start: their columns of the finite-difference
    Jacobian are exactly zero. ``parameters`` holds them (:class:`Parameter`)."""

    def __init__(self, parameters, rel_step: float):
        self.parameters = tuple(parameters)
        labels = ", ".join(repr(p.label) for p in self.parameters)
        super().__init__(f"the model does not depend on {labels} at the start: a change of {rel_step:g} (relative) "
                         "moves no point of any curve (its Jacobian column is exactly zero); hold it fixed "
                         "(free = false) or remove it")


class PointRefused(ValueError):
    """A point of parameter space (``values``, label -> value) where curve ``index``'s scenario or probe is
    refused (``reason``: the refusal, naming the scenario key or the probe field), e.g. an unbounded
    temperature stepped below zero or beyond what the energy grid holds."""

    def __init__(self, values: dict, labels, curve: str, reason: Exception):
        self.values, self.reason = dict(values), reason
        at = ", ".join(f"{label} = {values[label]:.6g}" for label in labels)
        super().__init__(f"{at}: {curve}: {reason}")


class FitInterrupted(KeyboardInterrupt):
    """A fit stopped by an interrupt (Ctrl-C); ``result`` holds the best point evaluated so far
    (status ``"interrupted"``). Left uncaught it ends the program as any ``KeyboardInterrupt``."""

    def __init__(self, result: FitResult):
        super().__init__(result.message)
        self.result = result


@dataclass(frozen=True)
class FitStep:
    """Where a running fit stands, for a progress display (:func:`fit`'s ``progress``).

    ``phase`` is ``"evaluation"`` (the optimiser evaluated a point: ``chi2`` there), ``"jacobian"``
    (a finite-difference Jacobian is done) or ``"covariance"`` (the optimiser has finished and the
    Jacobian of the error estimate is being computed). ``best`` maps the free labels to their values
    at the lowest chi^2 so far, ``best_chi2``.
    """

    phase: str
    evaluations: int
    optimiser_evaluations: int
    max_evaluations: int
    chi2: float
    best_chi2: float
    best: dict
    dof: int


@dataclass(frozen=True, eq=False)
class FitStart:
    """Where a resumed fit starts: the best point of an interrupted one (free label -> value), its
    counts, and the steady states it had there (warm starts; None where unknown)."""

    values: dict
    evaluations: int = 0
    optimiser_evaluations: int = 0
    steady_solves: int = 0
    newton_iterations: int = 0
    states: tuple = ()

    @classmethod
    def from_dict(cls, data: dict, problem: FitProblem, states=(), source: str = "fit.json") -> "FitStart":
        """The start of a fit of ``problem`` resumed from the ``fit.json`` content ``data`` of an earlier
        run; refused (``ValueError`` naming ``source``) when that run fitted another problem."""
        if not isinstance(data, dict) or "fingerprint" not in data or "parameters" not in data:
            msg = f"{source} is not the result of a fit (no fingerprint or parameters)"
            raise ValueError(msg)
        if data["fingerprint"] != problem.fingerprint:
            msg = (f"{source} was written by another fit (other base scenario, data, parameters, bounds or probe); "
                   "resume only with the fit file that made it, or choose another output folder")
            raise ValueError(msg)
        try:
            values = {p.label: float(data["parameters"][p.label]["value"]) for p in problem.free}
            counts = {name: int(data[name]) for name in
                      ("evaluations", "optimiser_evaluations", "steady_solves", "newton_iterations")}
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"{source} lacks what a resumed fit needs: {type(exc).__name__}: {exc}"
            raise ValueError(msg) from None
        return cls(values, states=tuple(states), **counts)


class FitModel:
    """The model of a :class:`FitProblem` as a function of all parameter values, warm-started.

    Each curve has an anchor: the steady state of its scenario at the last model evaluation
    (:meth:`residuals`). A new point starts every curve's solve from its anchor, and so do all the
    points of a Jacobian (:meth:`evaluate`, which leaves the anchors where they are): the start of a
    solve is fixed by this rule, not by the order of the solves, so ``solves`` may run a batch one
    after another (:class:`~hotelectron.experiment.solves.LocalSolves`) or concurrently
    (:class:`~hotelectron.experiment.solves.DaskSolves`) with the same result. A curve whose scenario
    text is its anchor's (only a probe parameter or another curve's own parameter moved) is not
    solved again, and a batch solves each distinct (curve, scenario) once. The start only speeds
    Newton's method up: a state depends on the scenario and the tolerance alone.
    """

    def __init__(self, problem: FitProblem, solves=None):
        self.problem = problem
        self.solves = solves if solves is not None else LocalSolves()
        try:
            self.base = tomllib.loads(problem.base)
        except tomllib.TOMLDecodeError as exc:
            msg = f"base scenario: not valid TOML: {exc}"
            raise ValueError(msg) from exc
        self.anchors: list[CurveState | None] = [None] * len(problem.curves)
        self.evaluations = 0
        self.steady_solves = 0
        self.newton_iterations = 0
        self._check()

    def _check(self):
        """Build every curve's scenario (and probe) at the start values: a refusal names the curve (its
        data file, U, B, T), the parameters set and, in the scenario's own words, the key at fault."""
        start = {p.label: p.start for p in self.problem.parameters}
        keys = [p.label for p in self.problem.parameters if p.key not in PROBE_KEYS]
        for i, curve in enumerate(self.problem.curves):
            try:
                scenario = parse_scenario(self.scenario_text(start, i))
                if curve.kind == "conductance":
                    self.probe(start, i)
            except ValueError as exc:
                raise curve_refusal(curve, i, exc, keys) from None
            check_curve_scenario(scenario, curve, i)
        self._check_probe_bounds(start)

    def _check_probe_bounds(self, start: dict):
        """Refuse finite bounds of the free probe parameters that the probe itself refuses (a temperature
        up to T_c or beyond, a broadening down to 0), at every corner of them: the optimiser may step onto
        any of them, and a refusal there would end the fit with its evaluations lost. The probe's limits are
        monotone in each parameter (T_c rises with the gap), so the corners hold its worst cases."""
        sides = [[(p, name, bound) for name, bound in (("min", p.lower), ("max", p.upper)) if math.isfinite(bound)]
                 for p in self.problem.parameters if p.key in PROBE_KEYS and p.free]
        sides = [side for side in sides if side]
        conductances = [i for i, c in enumerate(self.problem.curves) if c.kind == "conductance"]
        # each bound alone first (the others at their starts), so that a refusal names only the bound at fault
        for corner in [*([bound] for side in sides for bound in side), *itertools.product(*sides)]:
            values = start | {p.label: bound for p, _, bound in corner}
            for i in conductances:
                try:
                    self.probe(values, i)
                except ProbeParameterError as exc:
                    at_fault = sorted(corner, key=lambda side: PROBE_KEYS[side[0].key][0] != exc.field)
                    named = [f'[parameters."{p.key}"]' + (f" (curve = {p.curve})" if p.curve is not None else "")
                             + f" {name} = {bound!r}" for p, name, bound in at_fault]
                    msg = (f"{named[0]}" + (f", with {', '.join(named[1:])}" if named[1:] else "")
                           + f": the probe refuses it ({curve_name(self.problem.curves[i], i)}): {exc.reason}; the "
                           "optimiser may reach any value within the bounds: narrow them")
                    raise ValueError(msg) from None

    def scenario_text(self, values: dict, index: int) -> str:
        """The scenario (TOML text) of curve ``index`` for ``values``: the base with the curve's U (and
        T) and the scenario parameters that reach this curve set."""
        overrides = curve_overrides(self.problem.curves[index], self.base)
        for p in self.problem.parameters:
            if p.key not in PROBE_KEYS and p.curve in (None, index):
                overrides[p.key] = p.scenario_value(values[p.label])
        return tomli_w.dumps(with_overrides(self.base, overrides, "base scenario"))

    def probe(self, values: dict, index: int) -> ProbeParameters:
        curve = self.problem.curves[index]
        changes = {PROBE_KEYS[p.key][0]: float(values[p.label]) for p in self.problem.parameters
                   if p.key in PROBE_KEYS and p.curve in (None, index)}
        if curve.field_T is not None:
            changes["field_T"] = curve.field_T
        return replace(self.problem.probe, **changes)

    def seed(self, states) -> None:
        """Take ``states`` (one per curve, or None) as the anchors, e.g. those of an interrupted fit."""
        for i, state in enumerate(states):
            if state is not None:
                self.anchors[i] = state

    def _run(self, requests):
        """Model y (and the state) of each (values, curve index) in ``requests``, in one batch. A curve
        whose scenario text is its anchor's is computed from the anchor; the others from a solve
        started from the anchor, each distinct (curve, scenario) solved once."""
        texts, probes, sources, jobs = [], [], {}, []
        for values, i in requests:
            try:  # a refused point is named here, before any work (on Dask a worker's refusal would not say which)
                text, probe = self.scenario_text(values, i), self.probe(values, i)
                anchor = self.anchors[i]
                if (i, text) not in sources:
                    sources[(i, text)] = anchor if anchor is not None and anchor.text == text else len(jobs)
                    if not isinstance(sources[(i, text)], CurveState):
                        parse_scenario(text)  # ~1 ms against a steady state's tens
                        jobs.append((text, anchor))
            except ValueError as exc:
                raise PointRefused(values, [p.label for p in self.problem.free],
                                   curve_name(self.problem.curves[i], i), exc) from None
            texts.append(text)
            probes.append(probe)
        curves = [(sources[(i, text)], self.problem.curves[i].kind, self.problem.curves[i].x, probe)
                  for (_, i), text, probe in zip(requests, texts, probes, strict=True)]
        solved, ys = self.solves.run(jobs, curves, self.problem.steady_tol)
        self.steady_solves += len(jobs)
        self.newton_iterations += sum(state.steady.iterations for state in solved)
        states = [solved[source] if isinstance(source, int) else source for source, *_ in curves]
        return ys, states

    def refused_alone(self, values: dict, refused: dict) -> list[Parameter]:
        """The free parameters whose value in ``refused`` is refused on its own, the others at ``values``
        (an accepted point): those to bound (none when only a combination is refused)."""
        culprits = []
        for p in self.problem.free:
            if refused[p.label] == values[p.label]:
                continue
            trial = values | {p.label: refused[p.label]}
            try:
                for i in range(len(self.problem.curves)):
                    self.probe(trial, i)
                    parse_scenario(self.scenario_text(trial, i))
            except ValueError:
                culprits.append(p)
        return culprits

    def model_curve(self, values: dict, index: int, state: CurveState) -> np.ndarray:
        """The model y of curve ``index`` on its x, from the steady state ``state`` of its scenario."""
        curve = self.problem.curves[index]
        return model_curve(curve.kind, curve.x, self.probe(values, index), state.energy_meV, state.f_middle)

    def evaluate(self, points, move_anchors: bool = False) -> list[np.ndarray]:
        """Stacked (model - y) / sigma of all curves at each of ``points`` (label -> value dicts), in one
        batch; ``move_anchors`` (one point) makes its states the curves' new anchors."""
        n = len(self.problem.curves)
        sigma = self.problem.sigma or (1.0,) * n
        ys, states = self._run([(values, i) for values in points for i in range(n)])
        if move_anchors:
            self.anchors = states[-n:]
        self.evaluations += len(points)
        return [np.concatenate([(y - c.y) / s for y, c, s in zip(ys[k * n:(k + 1) * n], self.problem.curves, sigma,
                                                                 strict=True)])
                for k in range(len(points))]

    def residuals(self, values: dict) -> np.ndarray:
        """Stacked (model - y) / sigma of all curves at ``values``; the curves' anchors move there."""
        return self.evaluate([values], move_anchors=True)[0]

    def curve(self, values: dict, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(model y on the curve's x, energy in meV, f at L/2) of curve ``index`` alone."""
        (y,), (state,) = self._run([(values, index)])
        self.anchors[index] = state
        return y, state.energy_meV, state.f_middle

    def state(self, values: dict, index: int) -> CurveState:
        """The steady state of curve ``index`` alone at ``values`` (its anchor moves there)."""
        (_,), (state,) = self._run([(values, index)])
        self.anchors[index] = state
        return state

    def values(self, u) -> dict:
        """All parameter values (label -> value) for the scaled free vector ``u``."""
        values = {p.label: p.start for p in self.problem.parameters}
        for p, ui in zip(self.problem.free, u):
            values[p.label] = float(ui) * p.scale
        return values


def _jacobian(model: FitModel, u, r0, rel_step, bounds, central=False):
    """d residuals / d u by forward (or central) differences with steps ``rel_step * max(|u|, 1e-3)``,
    a forward step turned backwards where it would leave the bounds; all columns in one batch."""
    u = np.asarray(u, dtype=float)
    lower, upper = bounds
    points, columns = [], []  # columns: (k, index of the upper point, of the lower one or None, their distance)
    for k in range(u.size):
        h = rel_step * max(abs(u[k]), 1e-3)
        if central and u[k] - h >= lower[k] and u[k] + h <= upper[k]:
            plus, minus = u.copy(), u.copy()
            plus[k] += h
            minus[k] -= h
            columns.append((k, len(points), len(points) + 1, 2 * h))
            points += [plus, minus]
            continue
        if u[k] + h > upper[k]:
            h = -h
        step = u.copy()
        step[k] += h
        columns.append((k, len(points), None, h))
        points.append(step)
    r = model.evaluate([model.values(p) for p in points])
    J = np.empty((r0.size, u.size))
    for k, a, b, h in columns:
        J[:, k] = (r[a] - (r0 if b is None else r[b])) / h
    return J


class _Best:
    """The point of lowest chi^2 among the optimiser's evaluations, with the curves' states there."""

    def __init__(self):
        self.u = None
        self.chi2 = math.inf
        self.states = None

    def offer(self, u, chi2: float, states) -> None:
        if chi2 < self.chi2:
            self.u, self.chi2, self.states = np.array(u), chi2, tuple(states)


def fit(problem: FitProblem, *, max_evaluations: int = 200, xtol: float = 1e-10, ftol: float = 1e-12,
        gtol: float = 1e-12, solves=None, progress=None, start: FitStart | None = None) -> FitResult:
    """Fit ``problem``: least squares on the stacked residuals, errors from the Jacobian at the optimum.

    Parameters
    ----------
    problem : FitProblem
    max_evaluations : int
        Residual evaluations of the optimiser at most (Jacobians not counted), those of the fit
        resumed from included.
    xtol, ftol, gtol : float
        Tolerances of ``scipy.optimize.least_squares`` (on u = p / |p_start|).
    solves : LocalSolves (default: in this process) or DaskSolves (on a Dask cluster).
    progress : callable taking a :class:`FitStep`, called after every evaluation and Jacobian.
    start : FitStart, optional
        Continue from the best point of an interrupted or stopped fit (its counts carry on, its states
        are the first warm starts) instead of the parameters' start values.

    Returns
    -------
    FitResult
        Status ``"finished"`` at a converged optimum, with errors; ``"stopped"`` at the best point when
        the optimiser ends without converging, without errors.

        ``"refused"`` at the best point when the optimiser (or a finite-difference step) reaches a point
        that a curve's scenario or the probe refuses (:class:`PointRefused`, named in the message), without
        errors.

    Raises
    ------
    FitInterrupted
        On ``KeyboardInterrupt`` after at least one evaluation: its ``result`` holds the best point.
    FlatParameters
        When the model does not depend on a free parameter at the start (a zero Jacobian column).
    """
    from scipy.optimize import least_squares

    model = FitModel(problem, solves)
    free = problem.free
    scales = np.array([p.scale for p in free])
    bounds = (np.array([p.lower for p in free]) / scales, np.array([p.upper for p in free]) / scales)
    u0 = np.array([p.start for p in free]) / scales
    done = 0  # optimiser evaluations of the fit resumed from
    if start is not None:
        u0 = np.clip([start.values[p.label] / p.scale for p in free], *bounds)
        model.seed(start.states)
        model.evaluations, model.steady_solves, model.newton_iterations = (
            start.evaluations, start.steady_solves, start.newton_iterations)
        done = start.optimiser_evaluations
    budget = max(1, max_evaluations - done)
    dof = sum(c.x.size for c in problem.curves) - len(free)
    best = _Best()
    last = {"nfev": done}

    def report(phase: str, chi2: float = math.nan):
        if progress is not None:
            best_values = {} if best.u is None else {p.label: float(v) * p.scale for p, v in zip(free, best.u)}
            progress(FitStep(phase, model.evaluations, last["nfev"], max_evaluations, chi2, best.chi2,
                             best_values, dof))

    def fun(u):
        r = model.residuals(model.values(u))
        chi2 = float(r @ r)
        last["u"], last["r"] = np.array(u), r
        last["nfev"] += 1
        best.offer(u, chi2, model.anchors)
        log.debug("evaluation %d: chi2 %.6e at %s", model.evaluations, chi2, model.values(u))
        report("evaluation", chi2)
        return r

    def jac(u):
        r0 = last["r"] if "u" in last and np.array_equal(last["u"], u) else model.residuals(model.values(u))
        J = _jacobian(model, u, r0, problem.rel_step, bounds)
        if "jacobians" not in last:  # the first, at the start: a flat column is a parameter the model ignores
            last["jacobians"] = True
            flat = [p for p, column in zip(free, J.T) if not np.any(column)]
            if flat:
                raise FlatParameters(flat, problem.rel_step)
        report("jacobian")
        return J

    def best_so_far(status: str, why: str, remedy: str = "") -> FitResult:
        """The result at the best point evaluated, without error estimate."""
        message = (f"{why}: the best point of {last['nfev']} optimiser evaluations ({model.evaluations} "
                   "model evaluations), without error estimate" + (f"; {remedy}" if remedy else ""))
        return _result(problem, model, model.values(best.u), best.states, None, None, best.chi2, False, message,
                       last["nfev"], status)

    try:
        opt = least_squares(fun, u0, jac=jac, bounds=bounds, method="trf", x_scale=1.0, xtol=xtol, ftol=ftol,
                            gtol=gtol, max_nfev=budget)
        if not opt.success:  # the budget spent (or another failure): not an optimum, no errors there
            log.info("fit: the optimiser stopped without converging (%s)", opt.message)
            return best_so_far(STATUS_STOPPED, f"stopped without converging ({opt.message})")
        u = opt.x
        r = model.residuals(model.values(u))
        report("covariance")
        J = _jacobian(model, u, r, COVARIANCE_STEP, bounds, central=True)
    except KeyboardInterrupt:
        if best.u is None:  # nothing evaluated yet: nothing to keep
            raise
        raise FitInterrupted(best_so_far(STATUS_INTERRUPTED, "interrupted")) from None
    except PointRefused as exc:  # kept inside the accepted region by bounds only: stop, keep the best point
        if best.u is None:
            raise
        log.info("fit: stopped at a refused point (%s)", exc)
        culprits = model.refused_alone(model.values(best.u), exc.values) or free
        named = ", ".join(f'[parameters."{p.key}"]' + (f" (curve = {p.curve})" if p.curve is not None else "")
                          for p in culprits)
        return best_so_far(STATUS_REFUSED, f"stopped at a point the model refuses ({exc})",
                           f"give {named} a min and max within which the model accepts it")
    chi2 = float(r @ r)
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
    result = _result(problem, model, values, model.anchors, stderr_u * scales, correlation, chi2,
                     bool(opt.success), str(opt.message), last["nfev"], STATUS_FINISHED)
    log.info("fit: chi2/dof = %.4g after %d evaluations (%d steady states, %d Newton iterations): %s",
             chi2 / dof, model.evaluations, model.steady_solves, model.newton_iterations, opt.message)
    return result


def _result(problem, model, values, states, stderr, correlation, chi2, success, message, nfev, status) -> FitResult:
    """The FitResult at ``values`` with the curves' ``states`` there; ``stderr`` (free parameters, in
    their units) and ``correlation`` None when there is no error estimate."""
    errors = {} if stderr is None else dict(zip((p.label for p in problem.free), stderr))
    fitted = tuple(FittedParameter(p, values[p.label],
                                   float(errors[p.label]) if p.label in errors and math.isfinite(errors[p.label]) else None)
                   for p in problem.parameters)
    sigma = problem.sigma or (1.0,) * len(problem.curves)
    curves = tuple(FittedCurve(c, model.model_curve(values, i, state), sigma[i], state, model.probe(values, i))
                   for i, (c, state) in enumerate(zip(problem.curves, states, strict=True)))
    dof = sum(c.x.size for c in problem.curves) - len(problem.free)
    return FitResult(fitted, correlation, chi2, dof, model.evaluations, model.steady_solves, model.newton_iterations,
                     curves, success, message, nfev, status, problem.fingerprint)


def restore_result(data: dict, problem: FitProblem, states=(), solves=None) -> FitResult:
    """The :class:`FitResult` that a ``fit.json`` (its content ``data``, written for ``problem``) records,
    with the model curves computed again from the curves' steady states ``states`` (one per curve, or
    None: that curve is solved again at the recorded values). For outputs lost after fit.json was
    written: the values, errors, correlations and counts are those of the file."""
    start = FitStart.from_dict(data, problem)  # another fit's file refused; the free values and the counts
    values = {p.label: p.start for p in problem.parameters} | start.values  # fixed: at their starts, as fitted
    model = FitModel(problem, solves)
    try:
        entries = data["parameters"]
        stderr = [math.nan if entries[p.label]["stderr"] is None else float(entries[p.label]["stderr"])
                  for p in problem.free]
        matrix = data["correlation"]["matrix"]
        recorded = (float(data["chi2"]), bool(data["success"]), str(data["message"]), start.optimiser_evaluations,
                    str(data["status"]))
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"fit.json lacks what the outputs are made from: {type(exc).__name__}: {exc}"
        raise ValueError(msg) from None
    states = list(states) + [None] * (len(problem.curves) - len(states))
    model.seed(states)  # a state of another point is a warm start
    for i, state in enumerate(states):
        if state is None or state.text != model.scenario_text(values, i):
            states[i] = model.state(values, i)
    model.evaluations, model.steady_solves, model.newton_iterations = (start.evaluations, start.steady_solves,
                                                                       start.newton_iterations)
    return _result(problem, model, values, states, stderr, None if matrix is None else np.asarray(matrix, dtype=float),
                   *recorded)
