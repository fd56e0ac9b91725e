"""The ``[kernel]`` section of a fit file: infer the kernel itself instead of parameters.

.. code-block:: toml

    [kernel]
    tabulated = "electrons"            # the table's partner: "electrons" (an e-e kernel) or "bath"
    nodes = 11                         # node energies, equally spaced in ln E ...
    range = ["3 ueV", "0.6 meV"]       # ... from the first to the last
    start = { kappa = "3 1/ns/meV^0.5", exponent = 1.75 }   # the power law K = kappa E^-a to start from
    regularisation = "gcv"             # optional: "gcv" (default), "reml", "l-curve", or lambda itself (a number)
    cutoff = "4.25 ueV"                # optional: no transfer below it (K = 0; e.g. the pair model's V_min)
    max_iterations = 40                # optional: Gauss-Newton iterations at most

See :mod:`hotelectron.experiment.kernel` for what is inferred and how. Errors are ``ValueError``
naming the file and ``[kernel] key``. A fit file with ``[kernel]`` holds no ``[parameters]`` and no
``max_evaluations``: every other parameter comes from the base scenario and ``[probe]``, and the
iterations are ``[kernel] max_iterations``.
"""

from __future__ import annotations

import logging
import math

from ..io.scenario import fields
from ..units import parse_quantity, registry
from .fit import FitInputError
from .kernel import K_UNIT, METHODS, PARTNERS, KernelModel, KernelProblem, log_spaced, power_law

log = logging.getLogger(__name__)

__all__ = ["KERNEL_KEYS", "kernel_problem", "parse_kernel_section"]

KERNEL_KEYS = ("tabulated", "nodes", "range", "start", "regularisation", "cutoff", "max_iterations")
START_KEYS = ("kappa", "exponent")


def _fail(source: str, key: str, what: str):
    msg = f"{source}: [kernel] {key}: {what}"
    raise ValueError(msg)


def _energy_meV(value, source: str, key: str) -> float:
    try:
        return parse_quantity(value, "energy", f"[kernel] {key}", unit="meV", positive=True)
    except (ValueError, TypeError) as exc:  # the message names "[kernel] key = value" itself
        msg = f"{source}: {exc}"
        raise ValueError(msg) from None


def _start(table, source: str, energies) -> tuple[float, ...]:
    if not isinstance(table, dict) or set(table) != set(START_KEYS):
        _fail(source, "start", f'must be a table {{kappa = "...", exponent = ...}}: the power law to start from; got {table!r}')
    a = table["exponent"]
    if isinstance(a, bool) or not isinstance(a, int | float) or not (math.isfinite(a) and 0 < a < 4):
        _fail(source, "start", f"exponent = {a!r} must be a number in (0, 4)")
    reg = registry()
    unit = reg.Unit("meV") ** (a - 2) / reg.Unit("ns")  # the dimension of kappa depends on the exponent
    try:
        kappa = fields.si_quantity(table["kappa"], "[kernel] start.kappa", unit, f'"1 1/ns/meV^{abs(2 - a):g}"',
                                   what=f"energy^(a-2)/time with a = {a:g}")
    except ValueError as exc:  # the message names "[kernel] start.kappa" itself
        msg = f"{source}: {exc}"
        raise ValueError(msg) from None
    values = power_law(energies, kappa, a)
    bad = [(e, k) for e, k in zip(energies, values) if not (math.isfinite(k) and k > 0)]
    if bad:
        _fail(source, "range", f"the start power law {kappa:g} E^-{a:g} is {bad[0][1]:g} {K_UNIT} at the node "
              f"{bad[0][0]:g} meV, not a positive finite number: the nodes span too many decades for this exponent "
              f"(from {energies[0]:g} to {energies[-1]:g} meV)")
    return values


def parse_kernel_section(table, source: str) -> dict:
    """The :class:`~hotelectron.experiment.kernel.KernelProblem` settings of a ``[kernel]`` table:
    ``energies_meV``, ``start``, ``partner``, ``regularisation``, ``cutoff_meV``, ``max_iterations``."""
    if not isinstance(table, dict):
        _fail(source, "tabulated", "[kernel] must be a table")
    unknown = sorted(set(table) - set(KERNEL_KEYS))
    if unknown:
        _fail(source, unknown[0], f"unknown key; [kernel] holds {list(KERNEL_KEYS)}")
    for key in ("tabulated", "nodes", "range", "start"):
        if key not in table:
            _fail(source, key, "required")
    partner = table["tabulated"]
    if partner not in PARTNERS:
        _fail(source, "tabulated", f"{partner!r}: the table's partner must be one of {list(PARTNERS)}")
    count = table["nodes"]
    if isinstance(count, bool) or not isinstance(count, int) or not 3 <= count <= 200:
        _fail(source, "nodes", f"{count!r} must be an integer from 3 to 200")
    bounds = table["range"]
    if not isinstance(bounds, list) or len(bounds) != 2:
        _fail(source, "range", f'must be two energies ["lowest", "highest"]; got {bounds!r}')
    lowest, highest = (_energy_meV(value, source, "range") for value in bounds)
    if not lowest < highest:
        _fail(source, "range", f"the lowest node {lowest:g} meV must lie below the highest {highest:g} meV")
    energies = log_spaced(lowest, highest, count)
    settings = {"energies_meV": energies, "start": _start(table["start"], source, energies), "partner": partner}
    regularisation = table.get("regularisation", "gcv")
    if isinstance(regularisation, bool) or not (regularisation in METHODS or (
            isinstance(regularisation, int | float) and math.isfinite(regularisation) and regularisation > 0)):
        _fail(source, "regularisation", f"{regularisation!r} must be one of {list(METHODS)} or a number > 0 (lambda "
              "itself: at 0 nothing fixes the nodes the data do not see, and Gauss-Newton diverges)")
    settings["regularisation"] = regularisation
    if "cutoff" in table:
        cutoff = _energy_meV(table["cutoff"], source, "cutoff")
        if cutoff >= highest:
            _fail(source, "cutoff", f"{cutoff:g} meV must lie below the highest node ({highest:g} meV)")
        settings["cutoff_meV"] = cutoff
    if "max_iterations" in table:
        iterations = table["max_iterations"]
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            _fail(source, "max_iterations", f"{iterations!r} must be an integer >= 1")
        settings["max_iterations"] = iterations
    return settings


def kernel_problem(data: dict, source: str, base: str, curves, probe, sigma) -> KernelProblem:
    """The :class:`~hotelectron.experiment.kernel.KernelProblem` of a fit file with a ``[kernel]`` section
    (``data``: the whole parsed file; ``base``: the base scenario's text)."""
    for key in ("parameters", "max_evaluations"):
        if key in data:
            msg = (f"{source}: {key}: a fit file with [kernel] infers the kernel alone (the other parameters come "
                   "from the base scenario and [probe]; its iterations are [kernel] max_iterations): remove it")
            raise ValueError(msg)
    settings = parse_kernel_section(data["kernel"], source)
    try:
        problem = KernelProblem(base, tuple(curves), probe=probe, sigma=None if sigma is None else tuple(sigma),
                                **settings)
    except ValueError as exc:  # the settings of [kernel], or the data and sigma (FitInputError says which)
        msg = f"{source}: {exc.where if isinstance(exc, FitInputError) else '[kernel]'}: {exc}"
        raise ValueError(msg) from None
    try:
        model = KernelModel(problem)  # every curve's scenario, before any work
    except ValueError as exc:
        msg = f"{source}: {exc}"
        raise ValueError(msg) from None
    reach = model.largest_transfer_meV
    beyond = sum(E > reach for E in problem.energies_meV)
    if beyond:
        log.warning("%s: [kernel] range: %d of %d nodes lie above %.3g meV, the largest energy exchange on any "
                    "curve's energy grid: no data constrain them (the smoothness penalty alone sets them); narrow "
                    "the range", source, beyond, len(problem.energies_meV), reach)
    return problem
