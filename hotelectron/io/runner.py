"""Runs a scenario into an HDF5 trajectory: time evolution of the wire, its steady state, or a
closed-box quench. What happens is described by the scenario; when frames are written and how
progress is shown is the caller's choice (a ``progress(t, t_end)`` callback).

A failure (bad numbers, non-convergence, a write that fails, an interrupt) marks the file ``failed``
with the message and re-raises; frames written before it stay readable, and ``resume=True``
continues a killed run. A file to be resumed is verified first (its checksums): a damaged one
raises ``DamagedFileError``; one written for another scenario (the parsed TOML tables differ,
:func:`hotelectron.io.outputs.refuse_other_scenario`) raises ``ValueError`` before anything is written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..wire.evolution import BoxProblem, Evolution, State, equilibrium_state, hot_bump, quench_state
from ..wire.observables import observables
from ..wire.steady import steady_state
from .interrupts import as_interrupt, sigint_checkpoint
from .outputs import refuse_other_scenario
from .quantities import BOX_OBSERVABLES, WIRE_OBSERVABLES, observable_names
from .resources import check_resources
from .storage import STATUS_FAILED, STATUS_FINISHED, TrajectoryWriter, frame_times, read_status, verify
from ..wire.problem import fermi

__all__ = ["BOX_OBSERVABLES", "WIRE_OBSERVABLES", "run_scenario", "write_steady_state"]

log = logging.getLogger(__name__)

EDGE_TOLERANCE = 1e-3  # energy lost at the grid edges, relative to the Joule power (or to |W_e| per tau_D)
RESUME_OTHER = ("--resume continues a file only with the scenario that wrote it: replace the file with --overwrite "
                "(without --resume), or choose another output")


def failure_message(exc: BaseException) -> str:
    """The ``message`` a failed file keeps: the error, or for an interrupt what happened."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C); --resume continues it from its last complete frame"
    return f"{type(exc).__name__}: {exc}"


def _wire_scalars(problem, state):
    values = observables(problem, problem.with_reservoirs(state.f), state.P).scalars()
    return {name: values[name] for name in WIRE_OBSERVABLES} | _spin_scalars(problem, state, problem.wire.step)


def _spin_scalars(problem, state, weight) -> dict:
    """W_spins and dW_spins/dt, the free spins' part of w_p and dw_p_dt, summed over the positions
    with the node ``weight`` of w_p (empty without free spins)."""
    c = problem.collisions
    energies = c.impurity_energies(state.P) if state.P is not None else {}
    if "spins" not in energies:
        return {}
    rate = c.impurity_energy_rates(state.f, state.P)["spins"]
    return {"w_spins": weight * float(np.sum(energies["spins"])), "dw_spins_dt": weight * float(np.sum(rate))}


def _box_scalars(problem, state):
    c = problem.collisions
    dwe, dwp = c.energy_rates(state.f, state.P)
    w_p = float(c.pairs.energy(state.P)[0]) if c.pairs is not None else 0.0
    out, into = (float(v[0]) * problem.energy.step for v in c.edge_fluxes(state.f, state.P))
    heat_phonons = float(c.bath_heat(state.f, state.P)[0])  # energy that leaves to the phonon bath
    return {"w_e": float(c.electron_energy(state.f)[0]), "w_p": w_p, "dw_e_dt": float(dwe[0]),
            "dw_p_dt": float(dwp[0]), "edge_out_flux": out, "edge_in_flux": into,
            "edge_energy_rate": -float(dwe[0] + dwp[0]) - heat_phonons, "heat_phonons": heat_phonons,
            **_spin_scalars(problem, state, 1.0)}


def _edge_warning(values: dict) -> str | None:
    """A message when the energy lost at the grid edges is not negligible (SPEC section 6)."""
    scale = abs(values["joule_power"]) if "joule_power" in values else abs(values["w_e"])
    if scale > 0 and abs(values["edge_energy_rate"]) > EDGE_TOLERANCE * scale:
        return (f"the energy grid loses {abs(values['edge_energy_rate']):.2e} (in E0^2 units per tau_D) at its edges, "
                f"more than {EDGE_TOLERANCE:g} of the reference {scale:.2e}: widen the grid ([grid] half_width)")
    return None


def initial_state(scenario) -> State:
    """The state a run of ``scenario`` starts from: the quench, equilibrium, or the closed box."""
    problem = scenario.problem
    bump = scenario.bump or {}
    if scenario.mode == "box":
        T = problem.temperature_left
        f = fermi(problem.energy.values, 0.0, T)
        if bump:
            f = np.clip(f + hot_bump(problem.energy.values, bump["energy"], bump["width"], bump["height"]), 0, 1)
        P = problem.pairs.gibbs(1, T) if problem.pairs is not None else None
        return State(0.0, f[None], P)
    if scenario.initial == "equilibrium":
        return equilibrium_state(problem)
    if bump:
        return quench_state(problem, bump["energy"], bump["width"], bump["height"])
    return equilibrium_state(problem)


def run_scenario(scenario, output, *, resume: bool = False, progress=None) -> Path:
    """Run ``scenario`` (a ``hotelectron.io.scenario.Scenario``) into ``output``; returns the path.

    ``mode = "steady"`` writes one frame (t = 0) holding the Newton-Krylov steady state; ``"evolve"``
    and ``"box"`` write the initial state and one frame every ``output_every`` up to ``end_time``.
    """
    output = Path(output)
    problem = scenario.problem
    box = scenario.mode == "box"
    names = observable_names(scenario.mode, problem)
    scalars = _box_scalars if box else _wire_scalars
    # refused before any file is written; a file replaced or continued gives its space back
    check_resources(scenario, output, existing=output.stat().st_size if output.is_file() else 0.0)
    if resume and output.exists():
        try:
            status = read_status(output)
        except (OSError, KeyError):
            verify(output)  # raises DamagedFileError, naming the file
            raise
        refuse_other_scenario(output, scenario.text, RESUME_OTHER)
        if status == STATUS_FINISHED:
            verify(output)  # a finished file with damaged data is not a result
            log.info("%s is already finished; nothing to resume", output)
            return output
        writer, state, dt = TrajectoryWriter.resume(output, problem)
        log.info("resuming %s at t = %g tau_D (frame %d)", output, state.t, writer.frames - 1)
    else:
        writer = _create(scenario, output, names)
        state, dt = None, None
    write = _frame_writer(writer, problem, scalars)
    try:
        with sigint_checkpoint() as check_interrupt:  # a Ctrl-C that Python dropped stops the run at its next frame
            _advance(scenario, problem, writer, write, state, dt, progress, check_interrupt)
    except BaseException as exc:  # an interrupt too: the file must say that the run did not finish
        cause = as_interrupt(exc)
        writer.close(STATUS_FAILED, failure_message(cause))
        if cause is not exc:
            raise cause from exc
        raise
    writer.close()
    return output


def _advance(scenario, problem, writer, write, state, dt, progress, check_interrupt) -> None:
    """Write the frames of ``scenario`` from ``state`` (None: the initial state), or its steady state."""
    if scenario.mode == "steady":
        _write_steady(writer, write, steady_state(problem))
        return
    evolution = Evolution(BoxProblem(problem.collisions) if scenario.mode == "box" else problem)
    if state is None:
        state = initial_state(scenario)
        write(state, evolution.dt)
    else:
        evolution.dt = dt
    for t in frame_times(scenario.end_time, scenario.output_every):
        if t <= state.t + 1e-12:
            continue
        state = evolution.advance(state, t)
        write(state, evolution.dt)
        if progress is not None:
            progress(state.t, scenario.end_time)
        check_interrupt()
    writer.set_attrs(steps=evolution.steps, rejected_steps=evolution.rejected)


def write_steady_state(scenario, output, solution) -> Path:
    """Write ``solution``, the steady state of ``scenario`` solved elsewhere (``SteadyState``), to
    ``output`` as a finished one-frame trajectory: the file ``run`` writes for ``mode = "steady"``."""
    output = Path(output)
    writer = _create(scenario, output, observable_names("steady", scenario.problem), mode="steady")
    try:
        _write_steady(writer, _frame_writer(writer, scenario.problem, _wire_scalars), solution)
    except BaseException as exc:
        writer.close(STATUS_FAILED, failure_message(exc))
        raise
    writer.close()
    return output


def _create(scenario, output, names, mode=None) -> TrajectoryWriter:
    return TrajectoryWriter.create(
        output, scenario.problem, scenario=scenario.text, energy_unit=scenario.energy_unit,
        derived={**scenario.derived, "energy_unit_J": scenario.energy_unit_J},
        pairs_every=scenario.pairs_every, observables=names, mode=mode or scenario.mode,
    )


def _frame_writer(writer, problem, scalars):
    """``write(state, dt)``: one frame with its observables; the first edge-loss warning is logged
    and kept as an attribute."""
    warned = False
    declared = writer.observable_names  # a resumed older file goes on with the observables it has

    def write(state, dt):
        nonlocal warned
        values = scalars(problem, state)
        writer.write(problem, state, dt, {name: values[name] for name in declared})
        message = _edge_warning(values)
        if message and not warned:
            warned = True
            log.warning("%s", message)
            writer.set_attrs(edge_warning=message)

    return write


def _write_steady(writer, write, solution) -> None:
    writer.set_attrs(newton_iterations=solution.iterations, residual=solution.residual)
    write(State(0.0, solution.f[1:-1], solution.P), 0.0)
