import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from systems import wire

from hotelectron.wire.evolution import Evolution, equilibrium_state
from hotelectron.wire.observables import observables
from hotelectron.io.outputs import check_trajectory_output
from hotelectron.io.storage import FileInUseError, TrajectoryWriter, frame_times, read_status, verify

NAMES = ("current_middle", "fano", "w_e", "w_p")


def scalars(problem, state):
    obs = observables(problem, problem.with_reservoirs(state.f), state.P).scalars()
    return {name: obs[name] for name in NAMES}


def run(problem, writer, state, times, evolution):
    for t in times:
        state = evolution.advance(state, t)
        writer.write(problem, state, evolution.dt, scalars(problem, state))
    return state


def test_layout_metadata_and_dimension_scales(tmp_path):
    p = wire(n_x=9, n=81)
    path = tmp_path / "run.h5"
    writer = TrajectoryWriter.create(path, p, scenario="[wire]\n", derived={"tau_D_s": 1e-9},
                                     energy_unit="0.3 meV", pairs_every=2, observables=NAMES)
    evolution = Evolution(p)
    state = equilibrium_state(p)
    writer.write(p, state, evolution.dt, scalars(p, state))
    run(p, writer, state, [0.01, 0.02, 0.03], evolution)
    assert read_status(path) == "running"
    writer.close()
    with h5py.File(path, "r") as fh:
        assert fh.attrs["status"] == "finished" and fh.attrs["scenario"] == "[wire]\n"
        assert json.loads(fh.attrs["derived"]) == {"tau_D_s": 1e-9}
        assert fh.attrs["energy_unit"] == "0.3 meV"
        assert fh["f"].shape == (4, 9, 81) and fh["time"][:].tolist() == [0.0, 0.01, 0.02, 0.03]
        assert fh["P"].shape[0] == 2 and fh["P_frame"][:].tolist() == [0, 2]
        assert fh["grid/energy"].attrs["units"] == "E0" and fh["grid/x"].attrs["units"] == "L"
        # the scales live at the root (netCDF dimensions seen by every group); /grid links to them
        assert fh["f"].dims[2][0].name == "/energy" and fh["f"].dims[0][0].name == "/time"
        assert fh["grid/energy"] == fh["energy"]
        assert fh["observables/fano"].shape == (4,)
        assert np.isnan(fh["observables/fano"][0]) and "vanishes" in fh["observables/fano"].attrs["undefined"]
        assert np.all(np.isfinite(fh["observables/fano"][1:]))
        np.testing.assert_array_equal(fh["f"][0], p.with_reservoirs(state.f))


def test_a_killed_run_resumes_to_the_same_result(tmp_path):
    p = wire(n_x=9, n=81)
    times = [0.01, 0.02, 0.03, 0.04, 0.05]
    reference_writer = TrajectoryWriter.create(tmp_path / "ref.h5", p, pairs_every=2, observables=NAMES)
    evolution = Evolution(p)
    reference = run(p, reference_writer, equilibrium_state(p), times, evolution)
    reference_writer.close()

    path = tmp_path / "killed.h5"
    writer = TrajectoryWriter.create(path, p, pairs_every=2, observables=NAMES)
    run(p, writer, equilibrium_state(p), times[:4], Evolution(p))  # frames 0..3, pairs at 0 and 2
    writer.fh["f"].resize(5, axis=0)  # a frame half written when the process died
    writer.fh.close()
    assert read_status(path) == "running"

    writer, state, dt = TrajectoryWriter.resume(path, p)
    assert state.t == pytest.approx(0.03) and writer.frames == 3  # the last frame with pairs
    evolution = Evolution(p)
    evolution.dt = dt
    resumed = run(p, writer, state, times[3:], evolution)
    writer.close()
    np.testing.assert_array_equal(resumed.f, reference.f)
    np.testing.assert_array_equal(resumed.P, reference.P)
    with h5py.File(path, "r") as a, h5py.File(tmp_path / "ref.h5", "r") as b:
        np.testing.assert_array_equal(a["f"][:], b["f"][:])
        np.testing.assert_array_equal(a["time"][:], b["time"][:])
        np.testing.assert_array_equal(a["observables/w_p"][:], b["observables/w_p"][:])


def test_non_finite_frames_are_refused(tmp_path):
    p = wire(n_x=9, n=81)
    writer = TrajectoryWriter.create(tmp_path / "nan.h5", p, observables=NAMES)
    state = equilibrium_state(p)
    bad = scalars(p, state) | {"w_e": float("nan")}
    with pytest.raises(FloatingPointError, match="non-finite"):
        writer.write(p, state, 1e-3, bad)
    writer.close("failed", "NaN in W_e")
    with h5py.File(tmp_path / "nan.h5", "r") as fh:
        assert fh["time"].shape == (0,) and fh.attrs["status"] == "failed"


def test_frame_times():
    assert frame_times(1.0, 0.25) == [0.25, 0.5, 0.75, 1.0]
    assert frame_times(1.0, 0.3) == pytest.approx([0.3, 0.6, 0.9, 1.0])
    with pytest.raises(ValueError, match="positive"):
        frame_times(1.0, 0.0)


def _set_word_to_ones(path, dataset, index):
    """Turn the two low 16-bit words of element ``index`` from 0x0000 into 0xFFFF in the raw file: a
    change Fletcher-32 (sums of words modulo 65535) cannot see."""
    with h5py.File(path, "r") as fh:
        ds = fh[dataset]
        offset = ds.id.get_chunk_info(0).byte_offset + index * ds.dtype.itemsize
        before = ds[index]
    with open(path, "r+b") as raw:
        raw.seek(offset)
        assert raw.read(4) == b"\0\0\0\0"  # the chosen value has zero low words (0.25, 0.5: exact binary)
        raw.seek(offset)
        raw.write(b"\xff\xff\xff\xff")
    with h5py.File(path, "r") as fh:  # Fletcher-32 lets the damaged value through ...
        after = fh[dataset][index]
    assert after != before and abs(after - before) < 1e-6 * abs(before)


@pytest.mark.parametrize(("dataset", "index", "names"), [("time", 2, "frame 2"), ("x", 2, "'(grid/)?x'")])
def test_damage_that_fletcher32_misses_fails_the_crc32(tmp_path, dataset, index, names):
    from hotelectron.io.storage import DamagedFileError, verify

    p = wire(n_x=9, n=81)
    path = tmp_path / "run.h5"
    writer = TrajectoryWriter.create(path, p, pairs_every=2, observables=NAMES)
    state = equilibrium_state(p)
    writer.write(p, state, 1e-3, scalars(p, state))
    run(p, writer, state, [0.25, 0.5], Evolution(p))  # x = 0.25 at node 2, time 0.5 at frame 2
    writer.close()
    verify(path)  # intact: passes
    _set_word_to_ones(path, dataset, index)
    with pytest.raises(DamagedFileError, match=f"{names} fails its CRC-32"):  # ... the CRC-32 does not
        verify(path)


def test_a_file_written_before_the_frame_crc32_resumes_without_it(tmp_path):
    from hotelectron.io.storage import verify

    p = wire(n_x=9, n=81)
    path = tmp_path / "old.h5"
    writer = TrajectoryWriter.create(path, p, pairs_every=1, observables=NAMES)  # resumes from its last frame
    state = run(p, writer, equilibrium_state(p), [0.01, 0.02], Evolution(p))
    writer.close()
    with h5py.File(path, "r+") as fh:  # the layout of older files: no /frame_crc32
        del fh["frame_crc32"]
    writer, state, dt = TrajectoryWriter.resume(path, p)
    evolution = Evolution(p)
    evolution.dt = dt
    run(p, writer, state, [0.03], evolution)
    writer.close()
    verify(path)
    with h5py.File(path, "r") as fh:
        assert fh["time"][:].tolist() == [0.01, 0.02, 0.03] and "frame_crc32" not in fh


@pytest.mark.skipif(os.environ.get("HDF5_USE_FILE_LOCKING", "").upper() == "FALSE", reason="HDF5 file locking is off")
def test_a_file_another_process_writes_is_in_use_neither_damaged_nor_replaced(tmp_path):
    """A run writing its file holds HDF5's exclusive lock (a reader's lasts only while it opens the
    file). The file is then not damaged (--resume said so and offered --overwrite), and replacing it
    is refused before h5py's creation truncates it under that run (whose file did not survive it)."""
    p = wire(n_x=9, n=81)
    path = tmp_path / "run.h5"
    writer = TrajectoryWriter.create(path, p, observables=NAMES)
    state = equilibrium_state(p)
    writer.write(p, state, 1e-3, scalars(p, state))
    writer.close()
    before = path.read_bytes()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, h5py\n"
                               "fh = h5py.File(sys.argv[1], 'r+')\nprint('open', flush=True)\nsys.stdin.read()",
                               str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(FileInUseError, match="open for writing in another process"):
            verify(path)
        for resume in (False, True):
            with pytest.raises(FileInUseError, match="open for writing in another process"):
                check_trajectory_output(path, overwrite=True, resume=resume)
    finally:
        holder.communicate("")
    assert path.read_bytes() == before
    verify(path)
    assert check_trajectory_output(path, overwrite=True, resume=True) is True
