"""Output safety on the command line: failing writes stop cleanly, damaged files are reported, and
no output path overwrites what the user wrote."""

import errno
import logging
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import h5py
import numpy as np
import pytest

from systems import SERIES, assert_one_line_refusal, cli, small_scenario

from hotelectron.commands.main import main
from hotelectron.io.storage import DamagedFileError, TrajectoryWriter, verify


SMALL = small_scenario(0.025, "0.3 tau_D")
FIELD = small_scenario(0.025, "0.3 tau_D", zeeman=0.4)
DATASETS = ("time", "dt", "f", "P", "P_frame", "observables/current_middle", "observables/w_e")




def errors_of(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def uninterrupted(folder, text):
    scenario = folder / "small.toml"
    scenario.write_text(text)
    assert main(["--quiet", "run", str(scenario), "-o", str(folder / "reference.h5")]) == 0
    return folder / "reference.h5"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of the small scenario."""
    return uninterrupted(tmp_path_factory.mktemp("reference"), SMALL)


@pytest.fixture(scope="module")
def field_reference(tmp_path_factory):
    """An uninterrupted run of the small scenario with its pairs in a field (S = 1/2: 4 states |J M>) and
    the free spins."""
    return uninterrupted(tmp_path_factory.mktemp("field_reference"), FIELD)


def write_scenario(tmp_path, text=SMALL, name="small.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def flip_bytes(path, dataset="f"):
    """Overwrite bytes of stored values of ``dataset`` (in its last chunk; for a 1-D dataset in the
    middle of its values, not in the unused tail of its chunk)."""
    with h5py.File(path, "r") as fh:
        ds = fh[dataset]
        info = ds.id.get_chunk_info(ds.id.get_num_chunks() - 1)
        inside = ds.dtype.itemsize * (ds.shape[0] // 2) if ds.ndim == 1 else info.size // 2
        assert ds.ndim > 1 or ds.shape[0] <= ds.chunks[0]
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset + inside)
        data = bytearray(fh.read(8))
        fh.seek(info.byte_offset + inside)
        fh.write(bytes(b ^ 0xFF for b in data))


# -- writes that cannot lie -------------------------------------------------------------------------
@pytest.mark.parametrize(("partial", "field"), [(False, False), (True, False), (True, True)],
                         ids=["between frames", "mid-frame", "mid-frame, pairs and free spins in a field"])
def test_a_full_disk_mid_run_stops_cleanly_and_resume_gives_the_uninterrupted_file(tmp_path, request, monkeypatch,
                                                                                     caplog, partial, field):
    reference = request.getfixturevalue("field_reference" if field else "reference")
    scenario = write_scenario(tmp_path, FIELD if field else SMALL)
    out = tmp_path / "full.h5"
    original = TrajectoryWriter._write_frame
    k = 13

    def failing(self, index, full, *args):
        if index >= k:
            if partial:  # the distribution of frame k reached the file, its time did not
                self.fh["f"].resize(index + 1, axis=0)
                self.fh["f"][index] = full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, index, full, *args)

    monkeypatch.setattr(TrajectoryWriter, "_write_frame", failing)
    assert main(["--quiet", "run", str(scenario), "-o", str(out)]) == 3
    messages = errors_of(caplog)
    assert len(messages) == 1 and "\n" not in messages[0]
    assert str(out) in messages[0] and "No space left on device" in messages[0]
    with h5py.File(out, "r") as a, h5py.File(reference, "r") as b:
        assert a.attrs["status"] == "failed"
        assert "No space left on device" in a.attrs["message"]
        assert a["time"].shape[0] == k
        for name in ("time", "dt", "f", "observables/current_middle", "observables/w_e"):
            np.testing.assert_array_equal(a[name][:k], b[name][:k])
        assert a["f"].shape[0] == k + partial
        n_p = a["P"].shape[0]
        np.testing.assert_array_equal(a["P"][:], b["P"][:n_p])

    monkeypatch.setattr(TrajectoryWriter, "_write_frame", original)
    assert main(["--quiet", "run", str(scenario), "-o", str(out), "--resume"]) == 0
    with h5py.File(out, "r") as a, h5py.File(reference, "r") as b:
        assert a.attrs["status"] == "finished"
        for name in DATASETS + (("state_J", "state_M", "P_spins", "observables/w_spins") if field else ()):
            np.testing.assert_array_equal(a[name][:], b[name][:])
        assert a["P"].shape[-1] == (4 if field else 2)


class CtrlC:
    """A run's progress callback that stops it after ``frames`` frames as Ctrl-C does."""

    def __init__(self, frames):
        self.left = frames

    def __call__(self, *_):
        self.left -= 1
        if self.left <= 0:
            raise KeyboardInterrupt

    def close(self):
        pass


def test_resume_refuses_a_file_written_for_another_scenario_and_continues_its_own(tmp_path, reference, monkeypatch):
    """A file is continued only by the scenario that wrote it (compared as parsed tables: comments and
    spacing do not matter); another physical value would put two problems into one trajectory."""
    scenario = write_scenario(tmp_path)
    out = tmp_path / "stopped.h5"
    monkeypatch.setattr("hotelectron.commands.run.RunProgress", lambda *_: CtrlC(8))
    result = cli("--quiet", "run", scenario, "-o", out)
    monkeypatch.undo()
    assert result.returncode == 130, result.stderr
    with h5py.File(out, "r") as fh:
        assert fh.attrs["status"] == "failed" and fh["time"].shape[0] == 9
        assert fh.attrs["message"].startswith("interrupted (Ctrl-C)")
    assert "interrupted (Ctrl-C)" in cli("show", out, check=True).stdout
    stopped = out.read_bytes()

    other = write_scenario(tmp_path, SMALL.replace("pair_rate = 2.0", "pair_rate = 2.5"), "other.toml")
    assert_one_line_refusal(cli("run", other, "-o", out, "--resume"), out, "another scenario",
                            "[dimensionless] pair_rate = 2.0 in the file, 2.5 now")
    assert_one_line_refusal(cli("run", other, "-o", out, "--resume", "--overwrite"), out, "another scenario")
    assert out.read_bytes() == stopped

    field = write_scenario(tmp_path, FIELD, "field.toml")
    assert_one_line_refusal(cli("run", field, "-o", out, "--resume"), out, "[dimensionless] zeeman absent in the file, 0.4 now")
    same = write_scenario(tmp_path, "# the same run, reformatted\n" + SMALL.replace(" = ", "   =   "), "same.toml")
    cli("--quiet", "run", same, "-o", out, "--resume", check=True)
    with h5py.File(out, "r") as a, h5py.File(reference, "r") as b:
        assert a.attrs["status"] == "finished"
        for name in DATASETS:
            np.testing.assert_array_equal(a[name][:], b[name][:])


def flip_chunk(path, dataset, row):
    """Overwrite bytes in the middle of the stored chunk that holds ``row`` of a frame-chunked dataset
    (one row per chunk), as a write cut off half-way leaves it."""
    with h5py.File(path, "r") as fh:
        ds = fh[dataset]
        assert ds.chunks[0] == 1
        info = ds.id.get_chunk_info_by_coord((row,) + (0,) * (ds.ndim - 1))
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset + info.size // 2)
        data = bytearray(fh.read(8))
        fh.seek(info.byte_offset + info.size // 2)
        fh.write(bytes(b ^ 0xFF for b in data))


def test_a_frame_cut_off_half_written_is_dropped_and_the_run_resumes(tmp_path, reference, monkeypatch):
    """A run killed while a frame's chunks were being written leaves them failing their checksums: the
    complete frames before it are intact, so the file is reported intact and resumes to the
    uninterrupted file; a file that says finished with such a frame is damaged."""
    scenario = write_scenario(tmp_path)
    out = tmp_path / "cut.h5"
    original = TrajectoryWriter._write_frame
    k = 12

    def cut_off(self, index, full, dt, observables, state, blocks):
        if index >= k:  # the distribution and the populations of frame k reached the file, nothing else
            self.fh["f"].resize(index + 1, axis=0)
            self.fh["f"][index] = full
            n_p = self.fh["P"].shape[0]
            self.fh["P"].resize(n_p + 1, axis=0)
            self.fh["P"][n_p] = blocks[0]
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return original(self, index, full, dt, observables, state, blocks)

    monkeypatch.setattr(TrajectoryWriter, "_write_frame", cut_off)
    assert main(["--quiet", "run", str(scenario), "-o", str(out)]) == 3
    monkeypatch.setattr(TrajectoryWriter, "_write_frame", original)
    with h5py.File(out, "r+") as fh:
        fh.attrs["status"] = "running"  # as a killed run leaves it
        n_p = fh["P"].shape[0] - 1
    flip_chunk(out, "f", k)
    flip_chunk(out, "P", n_p)
    with h5py.File(out, "r") as fh, pytest.raises(OSError, match="filter"):
        fh["f"][k]
    verify(out)  # the complete frames are intact
    with h5py.File(out, "r+") as fh:
        fh.attrs["status"] = "finished"
    with pytest.raises(DamagedFileError, match="cut off"):
        verify(out)
    with h5py.File(out, "r+") as fh:
        fh.attrs["status"] = "running"
    assert main(["--quiet", "run", str(scenario), "-o", str(out), "--resume"]) == 0
    with h5py.File(out, "r") as a, h5py.File(reference, "r") as b:
        assert a.attrs["status"] == "finished"
        for name in DATASETS:
            np.testing.assert_array_equal(a[name][:], b[name][:])


@pytest.fixture
def tmpfs(tmp_path):
    """Mounts a tmpfs of a given size (needs the right to mount: root in a container); skips the test
    where it cannot."""
    mounts = []

    def mount(size):
        folder = tmp_path / f"fs-{size}"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")
        mounts.append(folder)
        return folder

    yield mount
    for folder in mounts:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def small_file_system(tmpfs):
    return tmpfs("8m")


def test_a_file_system_too_small_for_the_output_estimate_is_refused_before_any_file(tmp_path, tmpfs):
    scenario = write_scenario(tmp_path)
    out = tmpfs("4k") / "none.h5"
    result = cli("--quiet", "run", scenario, "-o", out)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "WARNING" not in line]
    assert len(errors) == 1 and "exceeds the free disk space" in errors[0] and str(out) in errors[0]
    assert not out.exists()


def fill(folder: Path) -> None:
    """Writes a filler file into ``folder`` until its file system has no space left."""
    with open(folder / "filler", "wb", buffering=0) as fh:  # unbuffered: nothing left to flush on close
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC


def test_a_real_full_file_system_stops_cleanly_and_resumes_elsewhere_bit_for_bit(tmp_path, small_file_system):
    long = SMALL.replace('end_time = "0.3 tau_D"', 'end_time = "3 tau_D"')
    scenario = write_scenario(tmp_path, long)
    full = small_file_system / "full.h5"
    # the disk fills while the run writes (the free space passed the estimate at the start)
    running = subprocess.Popen([sys.executable, "-m", "hotelectron", "--quiet", "run", str(scenario), "-o", str(full)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the layout takes ~115 kB, the first frame allocates the chunks of the 1-D series (~170 kB), later
    # frames ~6 kB each: past 300 kB a few frames are written
    while running.poll() is None and (not full.exists() or full.stat().st_size < 300_000):
        time.sleep(0.01)
    fill(small_file_system)
    stdout, stderr = running.communicate(timeout=300)
    result = subprocess.CompletedProcess(running.args, running.returncode, stdout, stderr)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert errors == [line for line in result.stderr.splitlines() if "WARNING" not in line]
    assert len(errors) == 1 and str(full) in errors[0] and "No space left on device" in errors[0]
    with h5py.File(full, "r") as fh:
        assert fh.attrs["status"] == "failed"
        frames = fh["time"].shape[0]
    assert 1 <= frames < 301
    reference = tmp_path / "reference.h5"
    assert cli("--quiet", "run", scenario, "-o", reference).returncode == 0
    moved = tmp_path / "moved.h5"
    moved.write_bytes(full.read_bytes())
    with h5py.File(moved, "r") as a, h5py.File(reference, "r") as b:
        for name in ("time", "dt", "f", "observables/noise"):  # a partial frame after them is dropped on resume
            np.testing.assert_array_equal(a[name][:frames], b[name][:frames])
    result = cli("--quiet", "run", scenario, "-o", moved, "--resume")
    assert result.returncode == 0, result.stderr
    with h5py.File(moved, "r") as a, h5py.File(reference, "r") as b:
        assert a.attrs["status"] == "finished"
        for name in DATASETS:
            np.testing.assert_array_equal(a[name][:], b[name][:])


def test_a_failing_final_flush_never_says_finished(tmp_path, monkeypatch, caplog):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "flush.h5"
    original = h5py.File.flush
    calls = {"n": 0}

    def flush(self):
        if self.attrs.get("steps") is not None:  # the run has ended: this is the final flush
            calls["n"] += 1
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return original(self)

    monkeypatch.setattr(h5py.File, "flush", flush)
    assert main(["--quiet", "run", str(scenario), "-o", str(out)]) == 3
    monkeypatch.setattr(h5py.File, "flush", original)
    assert calls["n"] >= 1
    messages = errors_of(caplog)
    assert len(messages) == 1 and str(out) in messages[0] and "Input/output error" in messages[0]
    with h5py.File(out, "r") as fh:
        assert fh.attrs["status"] != "finished"


def test_the_datasets_carry_checksums(reference):
    with h5py.File(reference, "r") as fh:
        names = []
        fh.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        assert {"f", "P", "P_frame", "time", "energy", "V", "level", "x_interior"} <= set(names)
        for name in names:
            assert fh[name].fletcher32, name


@pytest.mark.parametrize("dataset", ["f", "P", "observables/current_middle"])
def test_flipped_data_bytes_are_detected_by_resume_and_plot(tmp_path, reference, dataset):
    scenario = write_scenario(tmp_path)
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(reference.read_bytes())
    flip_bytes(damaged, dataset)
    before = damaged.read_bytes()
    assert_one_line_refusal(cli("run", scenario, "-o", damaged, "--resume"), damaged, "damaged")
    assert_one_line_refusal(cli("plot", damaged, "-o", tmp_path / "fig.png"), damaged, "damaged")
    assert not (tmp_path / "fig.png").exists()
    assert_one_line_refusal(cli("show", damaged), damaged, "damaged")
    assert damaged.read_bytes() == before


def test_an_intact_file_plots_and_resumes_as_finished(tmp_path, reference):
    copy = tmp_path / "intact.h5"
    copy.write_bytes(reference.read_bytes())
    scenario = write_scenario(tmp_path)
    result = cli("--quiet", "run", scenario, "-o", copy, "--resume")
    assert result.returncode == 0, result.stderr
    assert cli("plot", copy, "-o", tmp_path / "fig.png").returncode == 0
    assert (tmp_path / "fig.png").stat().st_size > 10_000
    shown = cli("show", copy)
    assert shown.returncode == 0 and "status finished, 31 frame(s)" in shown.stdout, shown.stderr


# -- output paths checked before any work -----------------------------------------------------------
def damaged_files(reference):
    data = reference.read_bytes()
    return {"half": data[: len(data) // 2], "tenth": data[: len(data) // 10], "one byte": data[:1], "empty": b"",
            "superblock": b"\0" * 16 + data[16:], "text": b"not an HDF5 file\n"}


@pytest.mark.parametrize("kind", ["half", "tenth", "one byte", "empty", "superblock", "text"])
def test_a_damaged_file_under_resume_is_reported_and_replaced_with_overwrite(tmp_path, reference, kind):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "damaged.h5"
    out.write_bytes(damaged_files(reference)[kind])
    assert_one_line_refusal(cli("run", scenario, "-o", out, "--resume"), out)
    assert out.read_bytes() == damaged_files(reference)[kind]
    result = cli("--quiet", "run", scenario, "-o", out, "--resume", "--overwrite")
    assert result.returncode == 0, result.stderr
    with h5py.File(out, "r") as a, h5py.File(reference, "r") as b:
        assert a.attrs["status"] == "finished"
        np.testing.assert_array_equal(a["f"][:], b["f"][:])


def test_an_existing_result_is_kept_unless_overwrite(tmp_path, reference):
    scenario = write_scenario(tmp_path)
    out = tmp_path / "result.h5"
    out.write_bytes(b"the user's result")
    assert_one_line_refusal(cli("run", scenario, "-o", out), out, "--overwrite")
    assert_one_line_refusal(cli("steady", scenario, "-o", out), out, "--overwrite")
    assert out.read_bytes() == b"the user's result"
    result = cli("--quiet", "run", scenario, "-o", out, "--overwrite")
    assert result.returncode == 0, result.stderr
    with h5py.File(out, "r") as a, h5py.File(reference, "r") as b:
        np.testing.assert_array_equal(a["f"][:], b["f"][:])


@pytest.fixture
def unwritable(tmp_path):
    """A folder in which no file can be created: read-only by its bits, or (for root, whom bits do
    not stop) a read-only file system, else a folder under /proc."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        yield folder
        folder.chmod(0o755)
        return
    folder.chmod(0o755)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    yield folder if mounted else Path("/proc/self")
    if mounted:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("case", ["scenario", "directory", "missing folder", "unwritable", "plot is scenario",
                                  "plot is output", "plot onto data", "plot of no known type"])
def test_bad_output_paths_are_refused_before_any_work(tmp_path, unwritable, case):
    scenario = write_scenario(tmp_path)
    data = tmp_path / "notes.txt"
    data.write_text("the user's notes\n")
    args = {
        "scenario": ["-o", scenario],
        "directory": ["-o", tmp_path],
        "missing folder": ["-o", tmp_path / "no" / "such" / "out.h5"],
        "unwritable": ["-o", unwritable / "out.h5"],
        "plot is scenario": ["-o", tmp_path / "out.h5", "--plot", scenario],
        "plot is output": ["-o", tmp_path / "out.h5", "--plot", tmp_path / "out.h5"],
        "plot onto data": ["-o", tmp_path / "out.h5", "--plot", data],
        "plot of no known type": ["-o", tmp_path / "out.h5", "--plot", tmp_path / "fig.pnf"],
    }[case]
    named = args[-1]
    assert_one_line_refusal(cli("run", scenario, *args), named)
    assert scenario.read_text() == SMALL
    assert data.read_text() == "the user's notes\n"
    assert not (tmp_path / "out.h5").exists()


def test_plot_refuses_to_draw_onto_its_input_or_an_unwritable_place(tmp_path, reference, unwritable):
    copy = tmp_path / "run.h5"
    copy.write_bytes(reference.read_bytes())
    assert_one_line_refusal(cli("plot", copy, "-o", copy), copy)
    assert copy.read_bytes() == reference.read_bytes()
    target = unwritable / "fig.png"
    assert_one_line_refusal(cli("plot", copy, "-o", target), target)
    assert_one_line_refusal(cli("plot", tmp_path / "absent.h5"), "absent.h5")


def test_a_series_folder_is_checked_and_its_results_kept_unless_overwrite(tmp_path, unwritable):
    scenario = write_scenario(tmp_path, SERIES, "series.toml")
    folder = tmp_path / "series"
    assert_one_line_refusal(cli("run", scenario, "-o", scenario), scenario)
    # reported as a place that cannot be written, before the resource check could blame the disk space
    assert_one_line_refusal(cli("run", scenario, "-o", unwritable / "series"), f"cannot write {unwritable / 'series'}: ")
    assert_one_line_refusal(cli("run", scenario, "-o", unwritable / "a" / "series"), "cannot write")
    result = cli("--quiet", "run", scenario, "-o", folder)
    assert result.returncode == 0, result.stderr
    first = {p.name: p.read_bytes() for p in folder.glob("point-*.h5")}
    assert len(first) == 2
    assert_one_line_refusal(cli("run", scenario, "-o", folder), folder, "--overwrite")
    assert {p.name: p.read_bytes() for p in folder.glob("point-*.h5")} == first
    result = cli("--quiet", "run", scenario, "-o", folder, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.glob("point-*.h5")) == sorted(first)


def test_a_series_never_replaces_point_files_it_does_not_write(tmp_path):
    """A folder that also holds a sweep's points (here point-0002, beyond the series' two) is refused with
    --overwrite and --resume alike: the series may replace only its own point files and summary."""
    scenario = write_scenario(tmp_path, SERIES, "series.toml")
    folder = tmp_path / "series"
    assert cli("--quiet", "run", scenario, "-o", folder).returncode == 0
    (folder / "point-0002.h5").write_bytes((folder / "point-0001.h5").read_bytes())
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for flags in ([], ["--overwrite"], ["--resume"], ["--resume", "--overwrite"]):
        assert_one_line_refusal(cli("run", scenario, "-o", folder, *flags), folder, "1 point file(s)", "point-0002.h5",
                                "another sweep or series")
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_the_shipped_series_and_sweeps_write_into_different_folders():
    from hotelectron.sweep import load_sweep

    shipped = Path(__file__).parents[2] / "scenarios"
    for path in sorted((shipped / "sweeps").glob("*.toml")):
        sweep = load_sweep(path)
        base = tomllib.loads(path.read_text())["base"]
        assert (sweep.output or path.stem) != Path(base).stem, path


def test_a_damaged_finished_point_stops_a_resumed_sweep_unless_overwrite(tmp_path):
    scenario = write_scenario(tmp_path, SERIES, "series.toml")
    folder = tmp_path / "series"
    assert cli("--quiet", "run", scenario, "-o", folder).returncode == 0
    summary = (folder / "summary.csv").read_text()
    point = folder / "point-0001.h5"
    flip_bytes(point, "f")
    damaged = point.read_bytes()
    assert_one_line_refusal(cli("run", scenario, "-o", folder, "--resume"), point, "damaged")
    assert point.read_bytes() == damaged
    assert (folder / "summary.csv").read_text() == summary
    result = cli("--quiet", "run", scenario, "-o", folder, "--resume", "--overwrite")
    assert result.returncode == 0, result.stderr
    assert cli("plot", point, "-o", tmp_path / "fig.png").returncode == 0


def test_a_sweep_folder_is_checked_before_any_work_and_replaced_only_with_overwrite(tmp_path, unwritable):
    steady = SERIES.split("[run]")[0] + '[run]\nmode = "steady"\n'
    (tmp_path / "base.toml").write_text(steady.replace('bias = ["0.1 mV", "0.2 mV"]', 'bias = "0.2 mV"'))
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('base = "base.toml"\n\n[axes]\n"reservoirs.bias" = ["0.1 mV", "0.2 mV"]\n')
    folder = tmp_path / "points"
    assert_one_line_refusal(cli("sweep", sweep, "--serial", "-o", sweep), sweep)
    assert_one_line_refusal(cli("sweep", sweep, "--serial", "-o", unwritable / "p"), f"cannot write {unwritable / 'p'}: ")
    assert_one_line_refusal(cli("sweep", sweep, "--serial", "-o", folder, "--plot", sweep), sweep)
    assert sweep.read_text().startswith('base = "base.toml"')
    result = cli("--quiet", "sweep", sweep, "--serial", "-o", folder)
    assert result.returncode == 0, result.stderr
    point = folder / "point-0000.h5"
    with h5py.File(point, "r+") as fh:
        fh.attrs["marker"] = "first run"
    assert_one_line_refusal(cli("sweep", sweep, "--serial", "-o", folder), folder, "--overwrite")
    with h5py.File(point, "r") as fh:
        assert fh.attrs["marker"] == "first run"
    result = cli("--quiet", "sweep", sweep, "--serial", "-o", folder, "--overwrite")
    assert result.returncode == 0, result.stderr
    with h5py.File(point, "r") as fh:
        assert "marker" not in fh.attrs and fh.attrs["status"] == "finished"


def test_a_damaged_unfinished_point_is_run_again_from_the_start_on_resume(tmp_path):
    """A point left unfinished by a killed sweep is continued from its last frame only when its
    checksums hold: continuing damaged frames would carry the damage into the result."""
    scenario = write_scenario(tmp_path, SERIES, "series.toml")
    folder = tmp_path / "series"
    assert cli("--quiet", "run", scenario, "-o", folder).returncode == 0
    point = folder / "point-0001.h5"
    with h5py.File(point, "r") as fh:
        uninterrupted = fh["f"][:]
    with h5py.File(point, "r+") as fh:
        fh.attrs["status"] = "running"  # as a killed run leaves it
    flip_bytes(point, "f")
    assert_one_line_refusal(cli("show", point), point, "damaged")
    result = cli("--quiet", "run", scenario, "-o", folder, "--resume")
    assert result.returncode == 0, result.stderr
    with h5py.File(point, "r") as fh:
        assert fh.attrs["status"] == "finished"
        np.testing.assert_array_equal(fh["f"][:], uninterrupted)
    assert cli("show", point).returncode == 0
