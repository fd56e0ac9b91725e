"""The runner on hand-built scenarios (the scenario loader is tested apart)."""

import dataclasses
import re
import signal
import sys
import weakref
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
from systems import system
from systems import wire

from hotelectron.io.plots import plot_trajectory
from hotelectron.io.runner import run_scenario
from hotelectron.wire.steady import steady_state
from hotelectron.io.storage import read_status
from hotelectron.wire import WireProblem
from hotelectron.kinetics.grids import WireGrid
from hotelectron.kinetics.mechanisms import FieldPairScattering, FreeSpinScattering


def scenario(problem, mode="evolve", end_time=0.2, output_every=0.05, bump=None):
    return SimpleNamespace(
        text="# hand-built\n", problem=problem, mode=mode, end_time=end_time, output_every=output_every,
        pairs_every=2, initial="quench", bump=bump, derived={"n_x": problem.wire.n}, energy_unit="eU",
        energy_unit_J=None,
    )


def test_evolve_writes_every_frame_and_finishes(tmp_path):
    p = wire(n_x=9, n=81)
    out = run_scenario(scenario(p), tmp_path / "run.h5")
    assert read_status(out) == "finished"
    with h5py.File(out, "r") as fh:
        assert fh["time"][:] == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2])
        assert fh["f"].shape == (5, 9, 81)
        assert fh.attrs["scenario"] == "# hand-built\n" and fh.attrs["steps"] > 0
        assert fh["observables/current_left"][0] > fh["observables/current_left"][-1] > 0
    png = plot_trajectory(out, tmp_path / "run.png")
    assert png.stat().st_size > 10_000


def test_steady_mode_writes_one_frame_equal_to_the_solver(tmp_path):
    p = wire(n_x=9, n=81)
    out = run_scenario(scenario(p, mode="steady"), tmp_path / "steady.h5")
    with h5py.File(out, "r") as fh:
        assert fh["f"].shape == (1, 9, 81) and fh.attrs["newton_iterations"] >= 1
        np.testing.assert_array_equal(fh["f"][0], steady_state(p).f)
        assert fh["observables/current_left"][0] == pytest.approx(fh["observables/current_right"][0], rel=1e-8)
    plot_trajectory(out)
    assert (tmp_path / "steady.png").exists()


def test_box_quench_keeps_the_total_energy(tmp_path):
    c = system(S=0.5, n=401, half_width=10.0, rate=0.5, relaxation=2.0, kappa=0.3, k_max=16)
    p = WireProblem(c.grid, WireGrid(3), 0.0, 0.0, 0.1, 0.1, c.mechanisms)
    s = scenario(p, mode="box", end_time=0.5, output_every=0.1, bump={"energy": 1.5, "width": 0.2, "height": 0.05})
    out = run_scenario(s, tmp_path / "box.h5")
    with h5py.File(out, "r") as fh:
        we, wp = fh["observables/w_e"][:], fh["observables/w_p"][:]
        assert fh["f"].shape == (6, 1, 401)
    assert we[-1] < we[0]
    # the default (pure W) scheme keeps W_e + W_p to its local tolerance, not to round-off
    assert np.max(np.abs(we + wp - we[0] - wp[0])) < 1e-4 * abs(we[0] + wp[0])


def in_a_field(problem, zeeman_steps, t_sg=None):
    """The same wire with its pairs in a field of ``zeeman_steps`` energy steps and, given ``t_sg``
    (T_sg / E0), the free spins beside them."""
    pairs = problem.pairs
    field = FieldPairScattering(pairs.S, pairs.rate, pairs.relaxation, pairs.couplings, zeeman_steps)
    spins = (FreeSpinScattering.beside(field, t_sg),) if t_sg is not None else ()
    others = tuple(m for m in problem.mechanisms if m is not pairs)
    return dataclasses.replace(problem, mechanisms=(field, *spins, *others))


def interrupted(s, out):
    def interrupt(t, t_end):
        if t > 0.09:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_scenario(s, out, progress=interrupt)
    assert read_status(out) == "failed"


@pytest.mark.parametrize(("zeeman_steps", "t_sg"), [(None, None), (5, None), (5, 0.002)],
                         ids=["zero field", "pairs in a field", "pairs and free spins in a field"])
def test_an_interrupted_run_is_marked_failed_and_resumes_to_the_same_file(tmp_path, zeeman_steps, t_sg):
    p = wire(n_x=9, n=81)
    if zeeman_steps is not None:
        p = in_a_field(p, zeeman_steps, t_sg)
    s = scenario(p)
    reference = run_scenario(s, tmp_path / "ref.h5")
    out = tmp_path / "cut.h5"
    interrupted(s, out)
    run_scenario(s, out, resume=True)
    assert read_status(out) == "finished"
    with h5py.File(out, "r") as a, h5py.File(reference, "r") as b:
        np.testing.assert_array_equal(a["time"][:], b["time"][:])
        np.testing.assert_array_equal(a["f"][:], b["f"][:])
        np.testing.assert_array_equal(a["P"][:], b["P"][:])
        if t_sg is not None:
            np.testing.assert_array_equal(a["P_spins"][:], b["P_spins"][:])
            assert a["P_spins"].shape[1:] == (7, 2)


def test_a_ctrl_c_lost_in_a_garbage_collection_callback_still_stops_the_run(tmp_path, monkeypatch):
    """A SIGINT whose KeyboardInterrupt is raised inside a weakref callback (where Python drops it and
    reports it as 'Exception ignored': the common case after an HDF5 write) stops the run at its next
    frame, and the file says interrupted; without the checkpoint the run finished. The report does not
    reach the terminal (it read as a crash)."""
    class Garbage:
        pass

    def ctrl_c_inside_a_callback(t, t_end):
        if t > 0.09 and not sent:
            sent.append(t)
            obj = Garbage()
            ref = weakref.ref(obj, lambda _: signal.raise_signal(signal.SIGINT))  # noqa: F841 (kept alive)
            del obj  # the callback runs the handler; its KeyboardInterrupt is dropped

    sent = []
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    out = tmp_path / "cut.h5"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scenario(wire(n_x=9, n=81)), out, progress=ctrl_c_inside_a_callback)
    assert sent == [pytest.approx(0.1)]
    assert reported == []  # the dropped KeyboardInterrupt was not reported
    assert sys.unraisablehook == reported.append  # given back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back
    with h5py.File(out, "r") as fh:
        assert fh.attrs["status"] == "failed" and "interrupted (Ctrl-C)" in fh.attrs["message"]
        assert fh["time"][-1] == pytest.approx(0.1)  # stopped after the frame during which it came


def test_a_ctrl_c_that_surfaces_as_a_system_error_of_a_compiled_function_is_an_interrupt(tmp_path, monkeypatch):
    """A KeyboardInterrupt pending when a numba function returns comes out as a SystemError caused by it:
    the run stops as interrupted (KeyboardInterrupt, the file marked so for --resume), not as failed."""
    from hotelectron.wire.evolution import Evolution

    advance = Evolution.advance

    def interrupted_return(self, state, t_target, stop=None):
        if t_target > 0.15:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as exc:
                msg = "CPUDispatcher(<function _solve_factored>) returned a result with an exception set"
                raise SystemError(msg) from exc
        return advance(self, state, t_target, stop)

    monkeypatch.setattr(Evolution, "advance", interrupted_return)
    out = tmp_path / "cut.h5"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scenario(wire(n_x=9, n=81)), out)
    with h5py.File(out, "r") as fh:
        assert fh.attrs["status"] == "failed" and "interrupted (Ctrl-C)" in fh.attrs["message"]
    monkeypatch.setattr(Evolution, "advance", advance)
    run_scenario(scenario(wire(n_x=9, n=81)), out, resume=True)
    assert read_status(out) == "finished"


def test_a_run_resumes_only_with_the_pairs_it_was_started_with(tmp_path):
    """A killed field run is not continued by a scenario at another field or without one (the file
    would hold two problems); with its own scenario it is."""
    p = wire(n_x=9, n=81)
    out = tmp_path / "cut.h5"
    interrupted(scenario(in_a_field(p, 5)), out)
    for other, words in ((p, "(80, 2) with 0 steps"), (in_a_field(p, 6), "(80, 4) with 6 steps: another field ([field] B or g, or [dimensionless] zeeman)"),
                         (wire(n_x=9, n=81, pairs=False), "the scenario none"),
                         (in_a_field(p, 5, 0.002), "['P'], the scenario ['P', 'P_spins']")):
        with pytest.raises(ValueError, match=re.escape(words)):
            run_scenario(scenario(other), out, resume=True)
        assert read_status(out) == "failed"
    run_scenario(scenario(in_a_field(p, 5)), out, resume=True)
    assert read_status(out) == "finished"


def test_a_steady_state_with_free_spins_written_and_read_back(tmp_path):
    """A steady state solved elsewhere (a fit's) with pairs and free spins in a field: the file declares
    the free spins' observables, and its populations read back as the solver's one array."""
    from pathlib import Path

    from systems import tiny

    from hotelectron.commands.fit import read_state
    from hotelectron.io.runner import write_steady_state
    from hotelectron.io.scenario import parse_scenario

    scenario = parse_scenario(tiny(Path(__file__).parents[2] / "scenarios" / "agmn_field.toml"))  # 1 T, 0.1 mV
    solution = steady_state(scenario.problem)
    out = write_steady_state(scenario, tmp_path / "steady.h5", solution)
    with h5py.File(out, "r") as fh:
        assert {"w_spins", "dw_spins_dt"} <= set(fh["observables"]) and fh["P_spins"].shape == (1, 3, 6)
        for name in ("state_J", "state_M"):  # the state J = M = 0 is stored as 0, not -0
            values = fh[name][:]
            assert not np.signbit(values[values == 0]).any(), name
    np.testing.assert_array_equal(read_state(out).steady.P, solution.P)


def test_a_file_of_an_older_version_goes_on_with_the_observables_it_declares(tmp_path):
    """A file created before an observable existed (here: without relaxation) is resumed with its own
    set: the frames written to it hold exactly the observables it declares."""
    from hotelectron.io.quantities import WIRE_OBSERVABLES
    from hotelectron.io.runner import _frame_writer, _wire_scalars
    from hotelectron.io.storage import TrajectoryWriter, verify
    from hotelectron.wire.evolution import equilibrium_state

    p = wire(n_x=5, n=81)
    older = tuple(name for name in WIRE_OBSERVABLES if name != "relaxation")
    writer = TrajectoryWriter.create(tmp_path / "old.h5", p, observables=older)
    _frame_writer(writer, p, _wire_scalars)(equilibrium_state(p), 0.01)
    writer.close()
    verify(tmp_path / "old.h5")
    with h5py.File(tmp_path / "old.h5", "r") as fh:
        assert sorted(fh["observables"]) == sorted(older) and fh["time"].shape == (1,)


def test_edge_losses_are_warned_about_and_kept_in_the_file(tmp_path, caplog):
    """SPEC 6: the energy lost at the grid edges is measured and reported. With pairs on a grid of half-width
    1 eU the hot tail leaves through the edges (edge energy rate > 1e-3 of the Joule power: one warning, an
    attribute of the file); on 6 eU nothing is said."""
    import logging

    results = {}
    for half_width, n in ((1.0, 81), (6.0, 241)):
        p = wire(n_x=9, n=n, half_width=half_width, S=1.5)
        with caplog.at_level(logging.WARNING, logger="hotelectron.io.runner"):
            caplog.clear()
            out = run_scenario(scenario(p, mode="steady"), tmp_path / f"edge{half_width:g}.h5")
            warnings = [r.getMessage() for r in caplog.records if "edges" in r.getMessage()]
        with h5py.File(out, "r") as fh:
            rate = abs(fh["observables/edge_energy_rate"][0])
            joule = abs(fh["observables/joule_power"][0])
            results[half_width] = (warnings, fh.attrs.get("edge_warning"), rate / joule)
    warnings, attribute, ratio = results[1.0]
    assert ratio > 1e-3 and len(warnings) == 1 and attribute == warnings[0] and "half_width" in attribute
    warnings, attribute, ratio = results[6.0]
    assert ratio < 1e-6 and warnings == [] and attribute is None
