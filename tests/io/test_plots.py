"""The trajectory figure by behaviour: labels with units, references, titles (not pixels)."""

from types import SimpleNamespace

import numpy as np
import pytest

from systems import wire

from hotelectron.io.plots import double_step, run_title, trajectory_figure, wiedemann_franz_temperature
from hotelectron.io.runner import run_scenario

SCENARIO = """[wire]
material = "Ag"
length = "5 um"
[reservoirs]
temperature = "50 mK"
bias = "0.2 mV"
[impurities]
spin = 2.5
concentration = "10 ppm"
"""


def scenario(problem, mode):
    return SimpleNamespace(
        text=SCENARIO, problem=problem, mode=mode, end_time=0.2, output_every=0.05, pairs_every=2,
        initial="quench", bump=None, derived={"n_x": problem.wire.n}, energy_unit="eU", energy_unit_J=None,
    )


@pytest.fixture(scope="module", params=["evolve", "steady"])
def figure(request, tmp_path_factory):
    import matplotlib.pyplot as plt

    p = wire(n_x=9, n=81)
    out = run_scenario(scenario(p, request.param), tmp_path_factory.mktemp("plots") / "traj.h5")
    fig = trajectory_figure(out)
    yield request.param, p, out, fig
    plt.close(fig)


def test_the_double_step_reference_is_the_collisionless_profile(figure):
    mode, p, out, fig = figure
    import h5py

    with h5py.File(out, "r") as fh:
        f = fh["f"][-1]
        x = fh["grid/x"][:]
    mid = x.size // 2
    expected = (1 - x[mid]) * f[0] + x[mid] * f[-1]  # f(L/2) without collisions, from the reservoirs
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    np.testing.assert_allclose(lines["collisionless double step"].get_ydata(), expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(double_step(f[0], f[-1], 0.25), 0.75 * f[0] + 0.25 * f[-1])


def test_axes_carry_units_and_the_title_says_what_the_run_is(figure):
    mode, _, out, fig = figure
    assert "E0" in fig.axes[0].get_xlabel() and "eU" in fig.axes[0].get_xlabel()
    assert fig.axes[1].get_xlabel() == "position x / L" and "(E0/k_B)" in fig.axes[1].get_ylabel()
    title = fig._suptitle.get_text()
    for part in ("Ag", "5 um", "50 mK", "0.2 mV", "S = 2.5"):
        assert part in title
    assert str(out) not in title and out.name not in title


def test_a_steady_state_is_labelled_steady(figure):
    mode, _, _, fig = figure
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    if mode == "steady":
        assert "steady state" in labels and not any("tau_D" in lab for lab in labels)
        assert "steady state" in fig._suptitle.get_text()
    else:
        assert "t = 0.2 tau_D" in labels


def test_t_eff_is_drawn_against_wiedemann_franz(figure):
    _, _, _, fig = figure
    lines = {line.get_label(): line for line in fig.axes[1].get_lines()}
    wf = lines["Wiedemann-Franz"].get_ydata()
    x = lines["Wiedemann-Franz"].get_xdata()
    assert wf[len(x) // 2] == pytest.approx(max(wf))
    # a wire at zero bias is at the bath temperature; at T = 0 the middle is at sqrt(3)/(2 pi) eU
    assert wiedemann_franz_temperature(0.1, 0.0, 0.5) == pytest.approx(0.1)
    assert wiedemann_franz_temperature(0.0, 1.0, 0.5) == pytest.approx(np.sqrt(3) / (2 * np.pi))


def test_electron_and_pair_energies_have_their_own_scales(figure):
    mode, _, _, fig = figure
    if mode == "steady":
        pytest.skip("a steady state has no energy exchange in time")
    labelled = {ax.get_ylabel(): ax for ax in fig.axes}
    assert "W_e / (2 nu E0^2)" in labelled
    we_axes = labelled["W_e / (2 nu E0^2)"]
    assert [line.get_label() for line in we_axes.get_lines()] == ["W_e (electrons)"]


def test_title_of_a_file_without_a_scenario_is_not_a_path():
    assert run_title("# hand-built\n", "steady") == "wire; no magnetic impurities  (steady state)"


def test_a_wire_without_collisions_draws_no_empty_energy_exchange(tmp_path):
    import matplotlib.pyplot as plt

    p = wire(n_x=9, n=81, pairs=False, ee=False)
    out = run_scenario(scenario(p, "evolve"), tmp_path / "free.h5")
    fig = trajectory_figure(out)
    try:
        labels = [ax.get_ylabel() for ax in fig.axes]
        # no pairs: no W_p axis; no collisions: dW_e/dt is zero, so no inset of a log of zeros
        assert "W_p / (2 nu E0^2)" not in labels and len(fig.axes) == 3 and not fig.axes[2].child_axes
        assert [line.get_label() for line in fig.axes[2].get_lines()] == ["W_e (electrons)"]
    finally:
        plt.close(fig)
    with_pairs = trajectory_figure(run_scenario(scenario(wire(n_x=9, n=81), "evolve"), tmp_path / "pairs.h5"))
    try:  # the same figure with pairs: W_p on its own axis and the inset of |dW_e/dt|
        assert "W_p / (2 nu E0^2)" in [ax.get_ylabel() for ax in with_pairs.axes]
        assert [inset.get_title() for inset in with_pairs.axes[2].child_axes] == ["|dW_e/dt| / (2 nu E0^2 / tau_D)"]
    finally:
        plt.close(with_pairs)


def test_the_title_names_the_field():
    assert run_title(SCENARIO + '[field]\nB = "0.5 T"\n', "steady").endswith("S = 2.5, 10 ppm; B = 0.5 T  (steady state)")
    assert "B = 1 T (g = 2.5)" in run_title(SCENARIO + '[field]\nB = "1 T"\ng = 2.5\n', "steady")
    dimensionless = "[dimensionless]\ntemperature = 0.02\npair_rate = 1.0\nspin = 0.5\nzeeman = 0.4\n"
    assert "Zeeman energy 0.4 E0" in run_title(dimensionless, "evolve")


def test_the_frames_drawn_follow_the_approach_to_the_last_frame():
    from hotelectron.io.plots import _frames_of_approach

    # a wire settling within the first tenth of its run: evenly spread frames would show the start and
    # four copies of the final state
    t = np.linspace(0.0, 8.0, 81)
    distance = np.exp(-t / 0.15)
    frames = _frames_of_approach(distance)
    assert frames[0] == 0 and frames[-1] == 80
    for fraction in (0.5, 0.2, 0.05):
        first_below = int(np.flatnonzero(distance <= fraction)[0])
        assert first_below in frames and first_below < 8
    assert _frames_of_approach(np.zeros(81)) == [0, 20, 40, 60, 80]  # nothing changes: spread evenly


def test_free_spins_are_drawn_beside_the_pairs(tmp_path):
    """A closed box with pairs and free spins in a field: the changes of W_p (pairs) and W_spins share
    the twin axis, and they are what the electrons lose (W_e + W_p + W_spins is conserved)."""
    import matplotlib.pyplot as plt

    from hotelectron.io.scenario import parse_scenario

    text = ("[dimensionless]\ntemperature = 0.1\nbias = 0.0\nspin = 0.5\npair_rate = 1.0\npair_relaxation = 2.0\n"
            "v_min = 0.05\nspin_glass_temperature = 0.002\nzeeman = 0.4\n[grid]\nn_x = 5\nn_energy = 201\n"
            "half_width = 8.0\n[run]\nmode = \"box\"\nend_time = \"0.2 tau_D\"\noutput_every = \"0.05 tau_D\"\n"
            "initial = \"equilibrium\"\n[run.bump]\nenergy = \"1.0 E0\"\nwidth = \"0.2 E0\"\nheight = 0.01\n")
    out = run_scenario(parse_scenario(text), tmp_path / "box.h5")
    fig = trajectory_figure(out)
    try:
        (twin,) = [ax for ax in fig.axes if ax.get_ylabel() == "change of W_p, W_spins / (2 nu E0^2)"]
        lines = {line.get_label(): line.get_ydata() for line in twin.get_lines()}
        pairs, spins = (lines[f"{name} - its value at t = 0"] for name in ("W_p (pairs)", "W_spins (free spins)"))
        (electrons,) = [line.get_ydata() for line in fig.axes[2].get_lines() if line.get_label() == "W_e (electrons)"]
        assert pairs[0] == spins[0] == 0 and spins[-1] > 0
        # the box conserves the total to its step tolerance: drift measured 4e-13 while W_e falls by 3.5e-3
        np.testing.assert_allclose(electrons - electrons[0] + pairs + spins, 0, atol=1e-6 * (electrons[0] - electrons[-1]))
    finally:
        plt.close(fig)


def test_the_tick_labels_of_the_symlog_time_axis_do_not_overlap(tmp_path):
    """A run that settles in its first tenth gets a time axis linear up to the first frame (0.05 tau_D)
    and logarithmic beyond; 10^-2 inside the linear part sat on top of the label 0."""
    import matplotlib.pyplot as plt

    p = wire(n_x=5, n=81)
    s = scenario(p, "evolve")
    s.end_time, s.output_every = 10.0, 0.05
    fig = trajectory_figure(run_scenario(s, tmp_path / "long.h5"))
    fig.canvas.draw()
    ax = next(a for a in fig.axes if a.get_xscale() == "symlog")  # W_e's (its twin shares the axis)
    labels = [label for label in ax.get_xticklabels() if label.get_visible() and label.get_text()]
    assert [label.get_position()[0] for label in labels] == [0.0, 0.1, 1.0, 10.0]
    boxes = sorted((label.get_window_extent() for label in labels), key=lambda box: box.x0)
    assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:]))
    plt.close(fig)
