"""What the stored observables mean: the collisional energy rate dw_e_dt against the electrons' whole
rate of change, the relaxation number, and the power balance that ``show`` prints."""

import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from systems import fermi, system, wire

from hotelectron.commands.main import main
from hotelectron.io.quantities import OBSERVABLES, physical_values
from hotelectron.io.runner import _box_scalars, _wire_scalars
from hotelectron.kinetics.grids import EnergyGrid, WireGrid
from hotelectron.kinetics.mechanisms import ElectronElectron, ElectronPhonon
from hotelectron.wire import WireProblem
from hotelectron.wire.evolution import Evolution, State, hot_bump, quench_state
from hotelectron.wire.observables import observables
from hotelectron.wire.steady import steady_state


def total_electron_energy_rate(problem, state):
    """d w_e/dt of the discrete equations: the trapezoid sum over x (the reservoir nodes are fixed) of
    ``sum_eps eps (df/dt) d``, with df/dt = diffusion + collisions."""
    full = problem.with_reservoirs(state.f)
    dfdt = problem.laplacian(full) + problem.collisions.rhs(state.f, state.P)[0]
    energy = problem.energy
    return problem.wire.step * energy.step * float(np.sum(dfdt @ energy.values))


def test_dw_e_dt_is_the_collisional_rate_not_the_total_one_in_a_wire():
    """In a wire d w_e/dt = dw_e_dt + joule_power - heat_left - heat_right, exactly for the discrete
    equations (the diffusion term sums to the difference of the energy currents on the end links, which
    are the heats plus the source's power): the stored rate leaves out the Joule heating and the heat
    carried to the reservoirs. Checked mid-transient, where neither part vanishes."""
    p = wire(n_x=9, n=161)
    state = Evolution(p).advance(quench_state(p, 1.0, 0.2, 0.05), 0.02)
    values = _wire_scalars(p, state)
    total = total_electron_energy_rate(p, state)
    transport = values["joule_power"] - values["heat_left"] - values["heat_right"]
    assert total == pytest.approx(values["dw_e_dt"] + transport, abs=1e-11 * abs(transport))
    assert abs(transport) > abs(values["dw_e_dt"]) > 0.1  # so dw_e_dt is far from d w_e/dt here
    assert OBSERVABLES["dw_e_dt"].long_name == "rate of change of w_e by collisions"


def test_at_a_steady_state_dw_e_dt_is_the_heat_the_electrons_give_away():
    """With phonons the steady state has d w_e/dt = 0 (to the solver's tolerance) while the collisions
    take heat_phonons from the electrons: dw_e_dt = -(dw_p_dt + heat_phonons + edge_energy_rate), pairs
    stationary (dw_p_dt = 0 up to the same tolerance)."""
    grid = EnergyGrid(161, 8.0 / 160)
    p = WireProblem(grid, WireGrid(9), 0.5, -0.5, 0.05, 0.05,
                    (ElectronElectron(0.3, 1.5), ElectronPhonon(3.0, 0.05)))
    solution = steady_state(p, f_tol=1e-11)
    state = State(0.0, solution.f[1:-1], solution.P)
    values = _wire_scalars(p, state)
    assert values["heat_phonons"] > 0.01
    assert values["dw_e_dt"] == pytest.approx(-(values["dw_p_dt"] + values["heat_phonons"] + values["edge_energy_rate"]),
                                              abs=1e-12)
    assert values["dw_e_dt"] == pytest.approx(-values["heat_phonons"], rel=1e-6)
    assert abs(total_electron_energy_rate(p, state)) < 1e-6 * values["heat_phonons"]


def test_in_a_closed_box_dw_e_dt_is_the_rate_of_change_of_w_e():
    """No diffusion: the collisional rate is the whole rate, sum_eps eps (df/dt) d, and it is the
    derivative of w_e along the trajectory (centred differences of an RK45 solution, h = 1e-4)."""
    c = system(S=0.5, n=401, half_width=10.0, rate=0.5, relaxation=2.0, kappa=0.3, k_max=16)
    p = WireProblem(c.grid, WireGrid(3), 0.0, 0.0, 0.1, 0.1, c.mechanisms)
    f0 = np.clip(fermi(c.grid.values, 0.1) + hot_bump(c.grid.values, 1.5, 0.2, 0.05), 0, 1)[None]
    P0 = c.pairs.gibbs(1, 0.1)
    values = _box_scalars(p, State(0.0, f0, P0))
    direct = c.grid.step * float(c.rhs(f0, P0)[0][0] @ c.grid.values)
    assert values["dw_e_dt"] == pytest.approx(direct, rel=1e-12)
    h = 1e-4
    w = [float(c.electron_energy(f)[0]) for f in _box_path(c, f0, P0, h)]
    # centred difference: error h^2 w'''/6, w''' ~ dw/dt (rates of order one): 1e-8 relative at most
    assert (w[2] - w[0]) / (2 * h) == pytest.approx(values["dw_e_dt"], rel=1e-6)


def _box_path(c, f0, P0, h):
    """f at -h, 0, +h by RK45 backward and forward from (f0, P0) (rtol 1e-12)."""
    from scipy.integrate import solve_ivp

    n_f = f0.size

    def rhs(t, y):
        df, dP = c.rhs(y[:n_f].reshape(f0.shape), y[n_f:].reshape(P0.shape))
        return np.concatenate([df.ravel(), dP.ravel()])

    y0 = np.concatenate([f0.ravel(), P0.ravel()])
    out = []
    for end in (-h, h):
        sol = solve_ivp(rhs, (0, end), y0, method="RK45", rtol=1e-12, atol=1e-15)
        out.append(sol.y[:n_f, -1].reshape(f0.shape))
    return out[0], f0, out[1]


def test_relaxation_is_zero_without_collisions_and_measures_the_distance_from_the_double_step():
    """int |f(L/2) - (f(0) + f(L))/2| d eps: zero for the collisionless steady state (to round-off), and
    for a state with collisions the sum computed from f (here by hand: the middle node, n_x odd)."""
    collisionless = WireProblem(EnergyGrid(161, 0.05), WireGrid(9), 0.5, -0.5, 0.05, 0.05, ())
    x = collisionless.wire.values[:, None]
    e = collisionless.energy.values
    f = (1 - x) * fermi(e, 0.05, 0.5) + x * fermi(e, 0.05, -0.5)
    assert observables(collisionless, f).relaxation < 1e-14
    p = wire(n_x=9, n=161)
    f = steady_state(p).f
    expected = p.energy.step * np.sum(np.abs(f[4] - 0.5 * (f[0] + f[-1])))
    obs = observables(p, f)
    assert obs.relaxation == pytest.approx(expected, rel=1e-12)
    assert obs.relaxation > 1e-3


PHONON_WIRE = """
[wire]
material = "Cu"
length = "10 um"
resistance = "100 ohm"
cross_section = "50 nm * 90 nm"

[reservoirs]
temperature = "50 mK"
bias = "0.1 mV"

[electron_electron]
exponent = 1.5
kappa_dimensionless = 5

[phonons]

[grid]
n_x = 9
n_energy = 121
half_width = 3.0

[run]
mode = "steady"
"""


def test_show_prints_the_power_balance_in_one_unit_and_the_phonon_heat_as_a_total_power(tmp_path, capsys):
    """heat_phonons is stored per unit volume; show gives it over the wire in E0^2/(e^2 R) and W, where
    joule_power = heat_left + heat_right + heat_phonons + edge_energy_rate reads directly; the total in W
    is the stored W/m^3 times the volume A L (an independent route to the unit)."""
    scenario = tmp_path / "phonons.toml"
    scenario.write_text(PHONON_WIRE)
    out = tmp_path / "phonons.h5"
    assert main(["--quiet", "run", str(scenario), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["show", str(out)]) == 0
    text = capsys.readouterr().out

    def shown(label):
        line = re.search(rf"^{re.escape(label)}\s+(\S+) E0\^2/\(e\^2 R\)  \((\S+) W\)", text, re.M)
        assert line, (label, text)
        return float(line.group(1)), float(line.group(2))

    parts = [shown(name) for name in ("heat_left", "heat_right", "heat_phonons (whole wire)", "edge_energy_rate (whole wire)")]
    joule = shown("joule_power")
    assert shown("sum of the terms")[0] == pytest.approx(sum(v for v, _ in parts), rel=1e-5)
    # a steady state to the solver's tolerance: the shown terms (6 digits) add up to the Joule power
    assert sum(v for v, _ in parts) == pytest.approx(joule[0], rel=1e-5)
    assert sum(w for _, w in parts) == pytest.approx(joule[1], rel=1e-5)
    assert parts[2][0] > 1e-3  # the phonons take a part far above the tolerance of the sums
    per_volume = float(re.search(r"^heat_phonons\s+\S+ 2 nu E0\^2/tau_D\s+\((\S+) W/m\^3\)", text, re.M).group(1))
    volume = 10e-6 * 50e-9 * 90e-9
    assert parts[2][1] == pytest.approx(per_volume * volume, rel=1e-5)
    assert re.search(r"^dw_e_dt .* rate of change of w_e by collisions$", text, re.M)
    assert "Sigma = 2e+09 W K^-5 m^-3" in text
    with h5py.File(out, "r") as fh:
        assert fh["observables/relaxation"].attrs["units"] == "E0"
        last = {name: float(ds[-1]) for name, ds in fh["observables"].items()}
        derived = json.loads(fh.attrs["derived"])
    # the summary's SI columns: the per-volume terms also as totals, which close the balance in W
    si = physical_values(last, derived)
    assert si["heat_phonons_total_W"] == pytest.approx(parts[2][1], rel=1e-5)
    total = si["heat_left_W"] + si["heat_right_W"] + si["heat_phonons_total_W"] + si["edge_energy_rate_total_W"]
    assert total == pytest.approx(si["joule_power_W"], rel=1e-6)


def test_the_readme_names_every_unit_a_trajectory_stores():
    """The README's row of /observables/<name> lists the solver units an observable's ``units`` attribute
    can hold, so that a reader of a file finds each one explained."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `/observables/<name>`"))
    listed = re.findall(r"`([^`]+)`", row.split("solver units:")[1].split("), `long_name`")[0])
    assert set(listed) == {q.units for q in OBSERVABLES.values()}
