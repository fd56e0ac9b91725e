"""The resource estimate on the command line: `show` prints it, runs beyond the machine are refused
with exit 2, one line naming the keys, and no file."""


from systems import SERIES, assert_one_line_refusal, cli

HUGE = """
[dimensionless]
temperature = 0.025
bias = 1.0
kappa = 0.3

[grid]
n_x = 10001
n_energy = 1048577
half_width = 4.0
"""




def test_show_prints_the_estimate(tmp_path):
    (tmp_path / "huge.toml").write_text(HUGE)
    result = cli("show", tmp_path / "huge.toml")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("resources"))
    assert "memory ~" in line and "(state" in line and "output <=" in line and "21 frames x 78.1 GiB uncompressed" in line


def test_a_run_beyond_the_machine_is_refused_before_any_file(tmp_path):
    (tmp_path / "huge.toml").write_text(HUGE)
    result = cli("run", tmp_path / "huge.toml", "-o", tmp_path / "huge.h5")
    assert_one_line_refusal(result, "memory estimate", "available memory", "[grid] n_x", "[grid] n_energy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.toml"]


def test_a_series_above_its_limit_is_refused_before_its_folder(tmp_path):
    (tmp_path / "series.toml").write_text(SERIES + 'max_output = "10 KiB"\n')
    result = cli("run", tmp_path / "series.toml", "-o", tmp_path / "points")
    assert_one_line_refusal(result, "point-0000", "output estimate", "[run] max_output", "[run] output_every")
    assert not (tmp_path / "points").exists()
