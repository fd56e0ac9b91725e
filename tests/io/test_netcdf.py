"""Trajectories and summaries that the ecosystem reads: xarray (netCDF4 via h5netcdf) opens every
group of every shipped scenario's output with units on every variable, and the physical-unit columns
are the dimensionless ones times the scenario's constants."""

import json
import math
import re
import shutil
import tomllib
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from hotelectron.io.quantities import OBSERVABLES, si_column
from hotelectron.io.runner import WIRE_OBSERVABLES, run_scenario
from hotelectron.io.scenario import parse_scenario
from hotelectron.io.storage import RESERVED, TrajectoryWriter, provenance
from hotelectron.sweep import run_sweep
from hotelectron.sweep.spec import bias_series
from hotelectron.sweep.summary import summarise_file
from hotelectron.units import BOLTZMANN_J_PER_K, ELECTRON_VOLT_J
from hotelectron.wire.evolution import Evolution, equilibrium_state
from hotelectron.wire.observables import observables
from systems import SERIES, small_scenario, tiny, to_toml, wire

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.toml"))
README = Path(__file__).parents[2] / "README.md"


def groups(path):
    with h5py.File(path, "r") as fh:
        return [None] + [name for name, obj in fh.items() if isinstance(obj, h5py.Group)]


def check_opens(path):
    """Every group opens in xarray, every variable and coordinate has units and a long name."""
    for group in groups(path):
        with xr.open_dataset(path, engine="h5netcdf", group=group) as ds:
            for name, var in ds.variables.items():
                assert "units" in var.attrs and "long_name" in var.attrs, (group, name)


@pytest.fixture(scope="module")
def with_pairs(tmp_path_factory):
    path = tmp_path_factory.mktemp("pairs") / "run.h5"
    return run_scenario(parse_scenario(small_scenario(end_time="0.05 tau_D")), path)


@pytest.fixture(scope="module")
def without_pairs(tmp_path_factory):
    path = tmp_path_factory.mktemp("nopairs") / "run.h5"
    p = wire(n_x=9, n=81, pairs=False)
    writer = TrajectoryWriter.create(path, p, observables=WIRE_OBSERVABLES)
    evolution, state = Evolution(p), equilibrium_state(p)
    for t in (None, 0.01, 0.02):
        if t is not None:
            state = evolution.advance(state, t)
        values = observables(p, p.with_reservoirs(state.f), state.P).scalars()
        writer.write(p, state, evolution.dt, {k: values[k] for k in WIRE_OBSERVABLES})
    writer.close()
    return path


@pytest.fixture(scope="module")
def in_a_field(tmp_path_factory):
    path = tmp_path_factory.mktemp("field") / "run.h5"
    return run_scenario(parse_scenario(small_scenario(end_time="0.05 tau_D", zeeman=0.4)), path)


def test_pairs_in_a_field_are_stored_with_j_and_m_of_each_state(in_a_field):
    check_opens(in_a_field)
    pairs, spins = parse_scenario(small_scenario(zeeman=0.4)).problem.pairs.species
    labels = pairs.labels  # ((0, 0), (1, -1), (1, 0), (1, 1))
    with h5py.File(in_a_field, "r") as fh:
        P = fh["P"][()]
        P_spins = fh["P_spins"][()]
        w_spins = fh["observables/w_spins"][()]
    with xr.open_dataset(in_a_field, engine="h5netcdf") as ds:
        assert ds["P"].dims == ("P_frame", "x_interior", "V", "state")
        np.testing.assert_array_equal(ds["P"].values, P)
        assert [(J, M) for J, M in zip(ds["state_J"].values, ds["state_M"].values, strict=True)] == list(labels)
        assert {"state_J", "state_M"} <= set(ds["P"].coords)
        assert ds["P"].attrs["zeeman_steps"] == 8 and ds["P"].attrs["zeeman_E0"] == pytest.approx(0.4, rel=1e-14)
        assert ds.attrs["zeeman_steps"] == 8
        # a (J, M) index: the triplet's lowest state |1 -1> is one column of P
        by_state = ds["P"].set_index(state=["state_J", "state_M"])
        np.testing.assert_array_equal(by_state.sel(state_J=1.0, state_M=-1.0).values, P[..., labels.index((1.0, -1.0))])
        # the free spins: their levels M = -1/2, 1/2 on the dimension M
        assert ds["P_spins"].dims == ("P_frame", "x_interior", "M") and ds["M"].values.tolist() == [-0.5, 0.5]
        np.testing.assert_array_equal(ds["P_spins"].values, P_spins)
        assert ds["P_spins"].attrs["zeeman_steps"] == 8 and ds["M"].attrs["units"] == "1"
    with xr.open_dataset(in_a_field, engine="h5netcdf", group="observables") as obs:
        assert obs["w_spins"].attrs["units"] == "2 nu E0^2" and obs["dw_spins_dt"].attrs["units"] == "2 nu E0^2/tau_D"
    # populations per state sum to 1 (sum_JM P_JM = 1, sum_M P_M = 1): round-off of a few updates of
    # order-one numbers
    assert np.max(np.abs(P.sum(axis=-1) - 1)) < 1e-12 and np.max(np.abs(P_spins.sum(axis=-1) - 1)) < 1e-12
    # w_spins is their Zeeman energy: in units of 2 nu E0^2, 2 rate/(relaxation S(S+1)) sum_M Delta_Z M P_M per
    # position (hotelectron.kinetics.mechanisms.free_spins), summed over the interior nodes times dx
    per_x = 2 * spins.rate / (spins.relaxation * 0.75) * (0.4 * P_spins @ np.array([-0.5, 0.5]))
    with h5py.File(in_a_field, "r") as fh:
        frames = fh["P_frame"][()]
    np.testing.assert_allclose(w_spins[frames], per_x.sum(axis=1) / 8, rtol=1e-12)


def test_a_physical_field_is_in_the_attributes_in_tesla_and_meV(tmp_path):
    text = tiny(SCENARIOS[[p.stem for p in SCENARIOS].index("agmn_spin52")]) + '[field]\nB = "1 T"\ng = 2.0\n'
    out = run_scenario(parse_scenario(text), tmp_path / "run.h5")
    check_opens(out)
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds.attrs["field_T"] == 1.0 and ds.attrs["g_factor"] == 2.0
        assert ds.attrs["zeeman_meV"] == pytest.approx(2 * 9.2740100783e-24 / 1.602176634e-19 * 1e3, rel=1e-14)
        steps, step_meV = ds.attrs["zeeman_steps"], ds.attrs["energy_step_meV"]
        assert ds.attrs["zeeman_run_meV"] == pytest.approx(steps * step_meV, rel=1e-12)
        assert isinstance(steps, (np.integer, int)) and ds["P"].sizes["state"] == 36  # S = 5/2


@pytest.mark.parametrize("which", ["with_pairs", "without_pairs"])
def test_xarray_opens_every_group_and_reads_what_h5py_reads(which, request):
    path = request.getfixturevalue(which)
    check_opens(path)
    with h5py.File(path, "r") as fh:
        x = fh["x"][:]
        middle = int(np.argmin(abs(x - 0.5)))
        f_mid = fh["f"][:, middle, :]
        fano = fh["observables/fano"][:]
        P = fh["P"][:] if "P" in fh else None
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert ds["x"].attrs["units"] == "L" and ds["energy"].attrs["units"] == "E0"
        np.testing.assert_array_equal(ds["f"].sel(x=0.5).values, f_mid)
        assert ds["f"].dims == ("time", "x", "energy") and ds["f"].attrs["units"] == "1"
        if P is not None:
            assert ds["P"].dims == ("P_frame", "x_interior", "V", "level")
            np.testing.assert_array_equal(ds["P"].values, P)
            assert ds["P_frame"].values.tolist() == [0, 3]
    with xr.open_dataset(path, engine="h5netcdf", group="observables") as obs:
        np.testing.assert_array_equal(obs["fano"].values, fano)
        assert obs["current_middle"].attrs["units"] == "E0/(e R)" and obs["noise"].attrs["units"] == "E0/R"
        assert obs["fano"].attrs["units"] == "1"


def test_attributes_are_numbers_and_say_where_the_file_came_from(with_pairs):
    with h5py.File(with_pairs, "r") as fh:
        attrs = dict(fh.attrs)
        derived = json.loads(attrs["derived"])
    for key, value in derived.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert isinstance(attrs[key], (np.integer, np.floating, int, float)) and attrs[key] == value, key
    assert isinstance(attrs["pairs_every"], np.integer)
    assert attrs["hotelectron_version"] and len(attrs["scenario_sha256"]) == 64 and attrs["created"].startswith("20")
    assert "command_line" in attrs
    with xr.open_dataset(with_pairs, engine="h5netcdf") as ds:
        assert isinstance(ds.attrs["pairs_every"], (np.integer, int))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_shipped_scenario_writes_a_file_xarray_opens(path, tmp_path):
    scenario = parse_scenario(tiny(path), path=str(path))
    out = run_scenario(scenario, tmp_path / "run.h5")
    check_opens(out)
    derived = {**scenario.derived, "energy_unit_J": scenario.energy_unit_J}
    with h5py.File(out, "r") as fh:
        for name, ds in fh["observables"].items():
            assert ds.attrs["units"] == OBSERVABLES[name].units
            if scenario.energy_unit_J is not None and name == "t_eff_mid":
                assert ds.attrs["scale_to_SI"] == pytest.approx(scenario.energy_unit_J / BOLTZMANN_J_PER_K, rel=1e-14)
            if scenario.energy_unit_J is None:
                assert "scale_to_SI" not in ds.attrs or OBSERVABLES[name].kind == "1"
    row = summarise_file(out, 0, {})
    if scenario.energy_unit_J is None:
        assert not any(k.endswith(("_K", "_W", "_A", "_meV")) for k in row), row
        return
    # every shipped physical wire fixes R (its cross-section), so currents, noise and powers are in SI
    assert {"current_middle_A", "noise_A2_per_Hz", "joule_power_W", "t_eff_mid_K"} <= set(row), sorted(row)
    E0 = scenario.energy_unit_J
    assert row["energy_unit_meV"] == pytest.approx(E0 / ELECTRON_VOLT_J * 1e3, rel=1e-14)
    nu, tau = derived["nu_per_spin_J_m3"], derived["tau_D_s"]
    if "t_eff_mid" in row:
        assert row["t_eff_mid_K"] == pytest.approx(row["t_eff_mid"] * E0 / BOLTZMANN_J_PER_K, rel=1e-14)
    assert row["w_e_J_per_m3"] == pytest.approx(row["w_e"] * 2 * nu * E0**2, rel=1e-14)
    assert row["dw_e_dt_W_per_m3"] == pytest.approx(row["dw_e_dt"] * 2 * nu * E0**2 / tau, rel=1e-14)


def test_a_wire_of_known_resistance_gets_currents_noise_and_powers_in_si(tmp_path):
    data = tomllib.loads(tiny(SCENARIOS[[p.stem for p in SCENARIOS].index("cu_coulomb")]))
    data["wire"].pop("diffusion_constant")
    data["wire"].update(resistance="12 ohm", cross_section="50 nm * 100 nm")
    scenario = parse_scenario(to_toml(data))
    out = run_scenario(scenario, tmp_path / "run.h5")
    check_opens(out)
    row = summarise_file(out, 0, {})
    E0, R, e = scenario.energy_unit_J, 12.0, 1.602176634e-19
    assert scenario.derived["resistance_ohm"] == pytest.approx(R, rel=1e-14)
    for name, factor in (("current_middle", E0 / (e * R)), ("current_left", E0 / (e * R)), ("noise", E0 / R),
                         ("joule_power", E0**2 / (e**2 * R)), ("heat_left", E0**2 / (e**2 * R))):
        assert row[si_column(name)] == pytest.approx(row[name] * factor, rel=1e-14), name
    assert si_column("noise") == "noise_A2_per_Hz" and si_column("current_middle") == "current_middle_A"
    assert "fano_1" not in row and not math.isnan(row["fano"])
    with h5py.File(out, "r") as fh:
        ds = fh["observables/current_middle"]
        assert ds.attrs["si_units"] == "A" and ds.attrs["scale_to_SI"] == pytest.approx(E0 / (e * R), rel=1e-14)


def test_a_frame_cut_off_by_a_kill_reads_as_nan_time_not_as_t_0(tmp_path):
    """A run killed in the middle of a frame leaves f (written first) one frame longer than time (written
    last); netCDF readers pad the shorter variables to the dimension's length with their fill value. That
    frame must not read as t = 0 with zero observables: its time and unwritten values are NaN, and
    dropping the frames without a time leaves exactly the complete ones."""
    p = wire(n_x=9, n=81)
    path = tmp_path / "killed.h5"
    writer = TrajectoryWriter.create(path, p, pairs_every=1, observables=WIRE_OBSERVABLES)
    evolution, state = Evolution(p), equilibrium_state(p)
    for t in (0.01, 0.02):
        state = evolution.advance(state, t)
        values = observables(p, p.with_reservoirs(state.f), state.P).scalars()
        writer.write(p, state, evolution.dt, {k: values[k] for k in WIRE_OBSERVABLES})
    fh = writer.fh  # the next frame as _write_frame begins it: f, dt, wall_time, then the process dies
    for name in ("f", "dt", "wall_time"):
        fh[name].resize(3, axis=0)
    fh["f"][2] = p.with_reservoirs(state.f)
    fh["P"].resize(3, axis=0)
    fh.close()
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert ds.attrs["status"] == "running" and ds.sizes["time"] == 3
        assert ds["time"].values[:2].tolist() == [0.01, 0.02] and np.isnan(ds["time"].values[2])
        assert ds["P_frame"].values.tolist() == [0, 1, -1] and np.all(np.isnan(ds["P"].values[2]))
        complete = ds.dropna("time", subset=["time"])
        assert complete.sizes["time"] == 2 and complete["time"].values.tolist() == [0.01, 0.02]
    with xr.open_dataset(path, engine="h5netcdf", group="observables") as obs:
        assert obs.sizes["time"] == 3 and np.all(np.isnan([obs[k].values[2] for k in WIRE_OBSERVABLES]))
        assert np.all(np.isfinite(obs["w_e"].values[:2]))


def readme_xarray_examples() -> list[str]:
    """The Python blocks of the README's section on HDF5 trajectories."""
    section = README.read_text(encoding="utf-8").split("### HDF5 trajectories")[1].split("\n### ")[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_opens_a_file_and_gives_groups_and_populations_their_times(in_a_field, tmp_path, monkeypatch):
    shutil.copy(in_a_field, tmp_path / "run.h5")
    monkeypatch.chdir(tmp_path)
    names = {}
    exec(readme_xarray_examples()[0], names)
    ds, obs = names["ds"], names["obs"]
    # a group opened on its own knows the dimension time but not its values; the root's give them
    assert "time" not in obs.coords
    obs = obs.assign_coords(time=ds["time"])
    np.testing.assert_array_equal(obs["time"].values, ds["time"].values)
    with xr.open_datatree("run.h5", engine="h5netcdf") as tree:
        np.testing.assert_array_equal(tree["observables"]["w_e"]["time"].values, ds["time"].values)
    P = ds["P"].assign_coords(time=ds["time"][ds["P_frame"]])
    with h5py.File("run.h5", "r") as fh:
        np.testing.assert_array_equal(P["time"].values, fh["time"][()][fh["P_frame"][()]])
    ds.close()


def test_the_readme_combines_a_bias_series_along_the_bias(tmp_path, monkeypatch):
    pytest.importorskip("dask")
    result = run_sweep(bias_series(SERIES), tmp_path / "default")
    assert [row["status"] for row in result.rows] == ["finished"] * 2
    monkeypatch.chdir(tmp_path)
    names = {}
    exec(readme_xarray_examples()[1], names)
    series, obs = names["series"], names["obs"]
    assert series["f"].dims == ("bias_mV", "time", "x", "energy")
    assert series["bias_mV"].values.tolist() == [0.1, 0.2] and obs["fano"].dims == ("bias_mV", "time")
    scales = []
    for i, name in enumerate(["point-0000.h5", "point-0001.h5"]):
        with h5py.File(tmp_path / "default" / name, "r") as fh:
            np.testing.assert_array_equal(series["f"].isel(bias_mV=i).values, fh["f"][()])
            np.testing.assert_array_equal(obs["fano"].isel(bias_mV=i).values, fh["observables/fano"][()])
            np.testing.assert_array_equal(obs["time"].values, fh["time"][()])
            scales.append(fh["observables/w_e"].attrs["scale_to_SI"])
            assert fh.attrs["energy_unit_J"] == pytest.approx(1.602176634e-23 * (i + 1), rel=1e-12)
    # each point's E0 differs (2 nu E0^2: a factor 4), so no point's conversion may stand for the series'
    assert scales[1] == pytest.approx(4 * scales[0], rel=1e-12)
    assert "scale_to_SI" not in obs["w_e"].attrs and obs["w_e"].attrs["units"] == "2 nu E0^2"
    assert "energy_unit_J" not in series.attrs and "bias_mV" not in series.attrs
    series.close()
    obs.close()


def test_the_readme_names_every_attribute_of_the_layout(with_pairs):
    """The README's row of the root attributes names each one the writer sets besides the derived
    constants (a steady state's time 0 is read with ``mode``)."""
    row = next(line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("| attributes of `/`"))
    layout = RESERVED | set(provenance(""))
    with h5py.File(with_pairs, "r") as fh:
        assert layout <= set(fh.attrs)
    assert layout <= set(re.findall(r"`([^`]+)`", row)), sorted(layout - set(re.findall(r"`([^`]+)`", row)))
