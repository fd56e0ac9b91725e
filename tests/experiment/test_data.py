"""Measured-data files: the probe command's CSV read back, units, refusals naming file, line and
column, the HDF5 layout, and the split of one table into curves."""

import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelectron.experiment.data import MeasuredCurve, read_csv, read_curves, read_hdf5, write_csv
from hotelectron.io.errors import DataFileError

HEADER = "# U_mV,B_T,T_K,V_mV,RT_dIdV"


def csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def refusal(path, where, *, reader=read_csv, **kwargs):
    """The message of the refusal to read ``path``; it must be one line naming ``where``."""
    with pytest.raises(DataFileError) as info:
        reader(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path.name} {where}".rstrip()), message
    return message


# ---------------------------------------------------------------- round trips


def test_reads_numpy_savetxt_table_in_probe_layout(tmp_path, rng):
    """The layout ``hotelectron probe`` wrote with numpy.savetxt (%.10g, commented column line)."""
    v = np.linspace(-0.5, 0.5, 41)
    g = rng.uniform(0, 3, v.size)
    header = ("hotelectron probe curves from cl.h5\n"
              "probe: gap 0.17 meV, dynes 0.001 meV, temperature 0.05 K, g 2.0; position x/L = 0.5\n"
              "units: U_mV [mV] wire bias, B_T [T], T_K [K] bath, V_mV [mV] probe bias, "
              "RT_dIdV [1] normalised conductance R_T dI/dV\nU_mV,B_T,T_K,V_mV,RT_dIdV")
    rows = np.column_stack([np.full_like(v, 0.2), np.full_like(v, 0.5), np.full_like(v, 0.025), v, g])
    path = tmp_path / "probe.csv"
    np.savetxt(path, rows, delimiter=",", header=header, fmt="%.10g")
    (curve,) = read_curves(path)
    assert curve.key == (0.2, 0.5, 0.025)
    assert curve.kind == "conductance"
    np.testing.assert_allclose(curve.x, v, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(curve.y, g, rtol=1e-9)


def test_write_csv_reads_back_exactly_and_loadtxt_reads_it(tmp_path, rng):
    v = np.sort(rng.uniform(-1, 1, 30))
    curve = MeasuredCurve(0.2, 0.0, 0.025, "conductance", v, rng.uniform(0, 2, v.size))
    path = tmp_path / "c.csv"
    write_csv(path, [curve], comments=["from a test"])
    (back,) = read_csv(path)
    assert back.key == curve.key and back.kind == "conductance"
    assert np.array_equal(back.x, curve.x) and np.array_equal(back.y, curve.y)
    assert np.array_equal(np.loadtxt(path, delimiter=",")[:, 3], v)


keys = st.tuples(st.floats(-5, 5), st.floats(-9, 9), st.floats(0, 10))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), kind=st.sampled_from(["conductance", "distribution"]), has_b=st.booleans(),
       has_t=st.booleans(), key_list=st.lists(keys, min_size=1, max_size=4))
def test_random_tables_round_trip_exactly(data, kind, has_b, has_t, key_list):
    # a table has the B (or T) column for all its curves or for none; keys must differ
    key_list = list(dict.fromkeys((u, b if has_b else None, t if has_t else None) for u, b, t in key_list))
    high = 1.0 if kind == "distribution" else 5.0
    curves = []
    for u, b, t in key_list:
        x = data.draw(st.lists(st.floats(-10, 10), min_size=1, max_size=8, unique=True))
        y = data.draw(st.lists(st.floats(0, high), min_size=len(x), max_size=len(x)))
        curves.append(MeasuredCurve(u, b, t, kind, np.sort(x), y))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.csv"
        write_csv(path, curves)
        back = read_csv(path)
    assert back.keys() == [c.key for c in curves]
    for c, r in zip(curves, back):
        assert r.kind == kind and np.array_equal(r.x, c.x) and np.array_equal(r.y, c.y)


def test_one_table_splits_into_one_curve_per_u_b_t(tmp_path):
    lines = ["U_mV,B_T,V_mV,RT_dIdV"]
    for v in (-1, 0, 1):  # interleaved: the curves need not be contiguous
        for u in (0.0, 0.1, 0.2):
            for b in (0.0, 0.5):
                lines.append(f"{u},{b},{v},{10 + u + 2 * b + v}")
    curves = read_csv(csv(tmp_path, "\n".join(lines)))
    assert curves.keys() == [(u, b, None) for u in (0.0, 0.1, 0.2) for b in (0.0, 0.5)]
    curve = curves[(0.1, 0.5, None)]
    assert np.array_equal(curve.x, [-1, 0, 1])
    np.testing.assert_allclose(curve.y, [10.1, 11.1, 12.1], rtol=1e-15)
    assert curve.source == "data.csv lines 5-17"
    assert curve.temperature_K is None


# ---------------------------------------------------------------- units


@pytest.mark.parametrize(("column", "cell", "attribute", "expected"), [
    ("U_mV", "0.25", "bias_mV", 0.25),
    ("U_uV", "250", "bias_mV", 0.25),
    ("U_V", "0.002", "bias_mV", 2.0),
    ("B_T", "0.5", "field_T", 0.5),
    ("B_mT", "500", "field_T", 0.5),
    ("T_K", "0.025", "temperature_K", 0.025),
    ("T_mK", "25", "temperature_K", 0.025),
])
def test_units_of_u_b_t(tmp_path, column, cell, attribute, expected):
    if not column.startswith("U"):
        column, cell = f"U_mV,{column}", f"0,{cell}"
    (curve,) = read_csv(csv(tmp_path, f"{column},V_mV,RT_dIdV\n{cell},0,1\n"))
    assert getattr(curve, attribute) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(("columns", "row", "x", "y"), [
    ("U_mV,V_mV,RT_dIdV", "0,0.3,1.5", 0.3, 1.5),
    ("U_mV,V_uV,RT_dIdV", "0,300,1.5", 0.3, 1.5),
    ("U_mV,V_V,RT_dIdV", "0,3e-4,1.5", 0.3, 1.5),
    ("U_mV,E_meV,f", "0,0.3,0.25", 0.3, 0.25),
    ("U_mV,E_ueV,f", "0,300,0.25", 0.3, 0.25),
    ("U_mV,E_\u00b5eV,f", "0,300,0.25", 0.3, 0.25),  # the micro sign
])
def test_units_of_x(tmp_path, columns, row, x, y):
    (curve,) = read_csv(csv(tmp_path, f"{columns}\n{row}\n"))
    assert curve.x[0] == pytest.approx(x, rel=1e-14) and curve.y[0] == y


def test_units_line_gives_units_of_bare_names(tmp_path):
    text = "# units: U [uV] wire bias, V [uV], T [mK] bath\nU,T,V,RT_dIdV\n100,30,-50,0.5\n100,30,50,0.7\n"
    (curve,) = read_csv(csv(tmp_path, text))
    assert curve.key == pytest.approx((0.1, None, 0.03)) and curve.field_T is None
    np.testing.assert_allclose(curve.x, [-0.05, 0.05], rtol=1e-14)


@pytest.mark.parametrize(("line", "argument"), [("# R_T: 20 kOhm\n", None), ("", 2e4),
                                                ("# R_T: 0.02 MOhm\n", 2e4)])
def test_didv_in_siemens_normalised_by_r_t(tmp_path, line, argument):
    text = f"{line}U_mV,V_mV,dIdV_uS\n0,-1,25\n0,1,50\n"
    (curve,) = read_csv(csv(tmp_path, text), tunnel_resistance_ohm=argument)
    assert curve.kind == "conductance"
    np.testing.assert_allclose(curve.y, [0.5, 1.0], rtol=1e-14)


def test_read_curves_tells_formats_apart_by_content(tmp_path):
    path = tmp_path / "curves.dat"
    with h5py.File(path, "w") as fh:
        g = fh.create_group("c")
        g["U_mV"], g["V_mV"], g["RT_dIdV"] = 0.1, [0.0, 1.0], [0.5, 1.0]
    assert read_curves(path).keys() == [(0.1, None, None)]
    text = csv(tmp_path, "U_mV,V_mV,RT_dIdV\n0.3,0,1\n", name="curves.h5")
    assert read_curves(text).keys() == [(0.3, None, None)]
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_curves(tmp_path / "nope.csv")


# ---------------------------------------------------------------- CSV refusals

COLUMNS = "U_mV,V_mV,RT_dIdV\n"


@pytest.mark.parametrize(("text", "where", "says"), [
    (COLUMNS + "0,0,1\n0,abc,1\n", "line 3, column V_mV", "'abc' is not a number"),
    (COLUMNS + "0,0,1\n0,1,nan\n", "line 3, column RT_dIdV", "'nan' is not finite"),
    (COLUMNS + "0,0,1\n-inf,1,1\n", "line 3, column U_mV", "'-inf' is not finite"),
    (COLUMNS + "0,0,1\n0,1,1e999\n", "line 3, column RT_dIdV", "not finite"),
    ("V_mV,RT_dIdV\n0,1\n", "line 1, column U", "missing"),
    ("U_mV,V_mV\n0,1\n", "line 1, column RT_dIdV", "missing"),
    ("U_mV,RT_dIdV\n0,1\n", "line 1, column V", "missing"),
    ("U_mV,V_mV,RT_dIdV,I_nA\n0,0,1,2\n", "line 1, column I_nA", "unknown column 'I_nA'"),
    ("U_mV,V_mA,RT_dIdV\n0,0,1\n", "line 1, column V_mA", "unknown unit 'mA'"),
    ("U_mV,V,RT_dIdV\n0,0,1\n", "line 1, column V", "no unit"),
    ("# units: V_mV [uV]\nU_mV,V_mV,RT_dIdV\n0,0,1\n", "line 2, column V_mV", "says 'uV'"),
    ("# units: V [uV]\nU_mV,V_mV,RT_dIdV\n0,0,1\n", "line 1, column V", "not have"),
    ("U_mV,V_mV,V_uV,RT_dIdV\n0,0,0,1\n", "line 1, column V_uV", "second probe bias"),
    ("U_mV,V_mV,RT_dIdV,f\n0,0,1,1\n", "line 1, column f", "one of RT_dIdV, dIdV or f"),
    ("U_mV,E_meV,RT_dIdV,V_mV\n0,0,1,1\n", "line 1, column E_meV", "does not go with"),
    (COLUMNS + "0,0,1\n0,0.5,1\n0,0.2,1\n", "line 4, column V_mV", "0.2 is below the previous probe bias"),
    (COLUMNS + "0,0,1\n0,0.5,1\n0,0.5,1\n", "line 4, column V_mV", "0.5 repeats the previous"),
    (COLUMNS + "0,0,1\n0,1\n", "line 3, column RT_dIdV", "missing cell"),
    (COLUMNS + "0,0,1\n0,1,1,7\n", "line 3, column 4", "extra cell '7'"),
    ("U_mV,E_meV,f\n0,0,0.5\n0,1,1.02\n", "line 3, column f", "1.02 is outside [0, 1]"),
    ("U_mV,E_meV,f\n0,0,-0.5\n", "line 2, column f", "outside [0, 1]"),
    (COLUMNS + "0,0,1\n0,1,-0.02\n", "line 3, column RT_dIdV", "-0.02 is negative"),
    ("U_mV,T_mK,V_mV,RT_dIdV\n0,-5,0,1\n", "line 2, column T_mK", "negative temperature"),
    # beyond 1 V the probe's model loses its digits (1 for 1e12 mV, 1.8e-35 at 1e300) and the fit's figure overflowed
    (COLUMNS + "0,1e308,1\n0,1.7e308,1\n", "line 2, column V_mV", "1e+308 is beyond +-1000 mV"),
    ("U_mV,V_V,RT_dIdV\n0,-1.5,1\n", "line 2, column V_V", "-1.5 is beyond +-1000 mV"),
    ("U_mV,E_meV,f\n0,0,0.5\n0,2000,0\n", "line 3, column E_meV", "2000.0 is beyond +-1000 meV"),
    ("U_mV,V_mV,dIdV_S\n0,0,1e-5\n", "line 1, column dIdV_S", "needs the tunnel resistance"),
    ("# R_T: -2 kOhm\nU_mV,V_mV,dIdV_S\n0,0,1e-5\n", "line 1, R_T", "must be positive"),
    ("# R_T: 2 kV\nU_mV,V_mV,dIdV_S\n0,0,1e-5\n", "line 1, R_T", "unknown unit 'kV'"),
    ("# just a note\n", "line 1", "empty file"),
    ("", "line 1", "empty file"),
    ("# a note\n" + COLUMNS, "line 2", "no data rows"),
    ("0,0,1\n", "line 1", "data before any column line"),
])
def test_csv_refusals_name_file_line_and_column(tmp_path, text, where, says):
    assert says in refusal(csv(tmp_path, text), where)


def test_tolerance_keeps_noisy_values_as_they_are(tmp_path):
    (curve,) = read_csv(csv(tmp_path, "U_mV,E_meV,f\n0,0,1.005\n0,1,-0.005\n"))
    assert np.array_equal(curve.y, [1.005, -0.005])


def test_resistance_in_file_and_argument_must_agree(tmp_path):
    path = csv(tmp_path, "# R_T: 20 kOhm\nU_mV,V_mV,dIdV_S\n0,0,1e-5\n")
    assert "tunnel_resistance_ohm = 30000.0" in refusal(path, "line 1, R_T", tunnel_resistance_ohm=3e4)
    with pytest.raises(ValueError, match="tunnel_resistance_ohm = -1"):
        read_csv(path, tunnel_resistance_ohm=-1.0)


# ---------------------------------------------------------------- HDF5


def write_groups(path, groups):
    """groups: {name: {dataset: value or (value, units)}}."""
    with h5py.File(path, "w") as fh:
        for name, datasets in groups.items():
            group = fh.create_group(name)
            for key, value in datasets.items():
                value, units = value if isinstance(value, tuple) else (value, None)
                group[key] = value
                if units is not None:
                    group[key].attrs["units"] = units


def test_hdf5_round_trip(tmp_path, rng):
    v = np.sort(rng.uniform(-1, 1, 20))
    g = rng.uniform(0, 2, v.size)
    e = np.linspace(-0.2, 0.2, 11)
    f = rng.uniform(0, 1, e.size)
    path = tmp_path / "data.h5"
    write_groups(path, {
        "a_zero_bias": {"U_mV": 0.0, "B": (200.0, "mT"), "T_K": 0.025, "V": (v * 1e3, "uV"), "RT_dIdV": g},
        "b_biased": {"U": (300.0, "uV"), "B_T": 0.2, "T": (25.0, "mK"), "V_mV": v,
                     "dIdV": (g * 50, "uS"), "R_T": (20.0, "kOhm")},
        "c_deconvolved": {"U_mV": 0.3, "E": (e, "meV"), "f": f},
    })
    curves = read_hdf5(path)
    a, b, c = curves
    assert a.key == (0.0, pytest.approx(0.2, rel=1e-15), 0.025)
    assert b.key == (pytest.approx(0.3, rel=1e-15), 0.2, pytest.approx(0.025, rel=1e-15))
    assert c.key == (0.3, None, None)
    np.testing.assert_allclose(a.x, v, rtol=1e-14)
    assert np.array_equal(a.y, g) and a.kind == "conductance"
    np.testing.assert_allclose(b.y, g, rtol=1e-14)
    assert c.kind == "distribution" and np.array_equal(c.x, e) and np.array_equal(c.y, f)
    assert c.source == "data.h5 group /c_deconvolved"


@pytest.mark.parametrize(("groups", "where", "says"), [
    ({"c": {"U_mV": 0.0, "V_mV": [0.0, np.nan], "RT_dIdV": [1.0, 1.0]}}, "group /c, dataset V_mV, index 1",
     "nan is not finite"),
    ({"c": {"U_mV": 0.0, "V_mV": np.zeros(0), "RT_dIdV": np.zeros(0)}}, "group /c, dataset V_mV", "empty curve"),
    ({"c": {"U_mV": 0.0, "V": ([0.0], "mA"), "RT_dIdV": [1.0]}}, "group /c, dataset V", "unknown unit 'mA'"),
    ({"c": {"U_mV": [0.0, 1.0], "V_mV": [0.0], "RT_dIdV": [1.0]}}, "group /c, dataset U_mV", "expected a scalar"),
    ({"c": {"U_mV": 0.0, "V_mV": [0.0, 1.0], "RT_dIdV": [1.0]}}, "group /c, dataset RT_dIdV", "1 values"),
    ({"c": {"U_mV": 0.0, "V_mV": [1.0, 0.0], "RT_dIdV": [1.0, 1.0]}}, "group /c, dataset V_mV, index 1",
     "is below the previous probe bias of this curve (1.0 at index 0)"),
    ({"c": {"U_mV": 0.0, "E_meV": [0.0, 1.0], "f": [1.0, 1.5]}}, "group /c, dataset f, index 1", "outside [0, 1]"),
    ({"c": {"U_mV": 0.0, "V_mV": [0.0, 1e300], "RT_dIdV": [1.0, 1.0]}}, "group /c, dataset V_mV, index 1",
     "1e+300 is beyond +-1000 mV"),
    ({"c": {"U_mV": 0.0, "V_mV": [0.0], "dIdV_S": [1e-5], "R_T_Ohm": -5.0}}, "group /c, dataset R_T_Ohm",
     "R_T = -5.0 Ohm must be positive"),
    ({"c": {"U_mV": 0.0, "V_mV": [0.0], "RT_dIdV": [1.0], "Vx": [1.0]}}, "group /c, dataset Vx",
     "unknown column 'Vx'"),
    ({"a": {"U_mV": 0.1, "V_mV": [0.0], "RT_dIdV": [1.0]}, "b": {"U": (100.0, "uV"), "V_mV": [0.0], "RT_dIdV": [1.0]}},
     "group /b, dataset U", "is that of group /a"),
    ({}, "", "no curves"),
])
def test_hdf5_refusals_name_file_group_and_dataset(tmp_path, groups, where, says):
    path = tmp_path / "data.h5"
    write_groups(path, groups)
    assert says in refusal(path, where, reader=read_hdf5)
