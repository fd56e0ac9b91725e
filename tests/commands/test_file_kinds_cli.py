"""A scenario, a sweep file or a fit file given to the command of another kind is refused in one line
(exit 2) naming the file, what it is and the command that reads it, before any output is made; the
kinds are told apart by the top-level keys only each kind has (hotelectron.io.filekind). So are the CSV
tables: a sweep's summary and a measured-data file, told by their column line."""

import pytest
from systems import assert_one_line_refusal, cli

from hotelectron.experiment.fitfile import TOP_KEYS
from hotelectron.io.filekind import KINDS, check_kind, file_kinds
from hotelectron.io.scenario.loader import SECTIONS
from hotelectron.sweep.spec import SWEEP_KEYS
from hotelectron.sweep.summary import failed_row, write_summary

SWEEP, SCENARIO, FIT = "scenarios/sweeps/agmn_field.toml", "scenarios/cu_coulomb.toml", "scenarios/fit_example/fit.toml"


@pytest.mark.parametrize("command, path, words", [
    (["show"], "scenarios/sweeps/cu_bias_temperature.toml",
     ["scenarios/sweeps/cu_bias_temperature.toml: this is a sweep file, not a scenario: run it with "
      "'hotelectron sweep scenarios/sweeps/cu_bias_temperature.toml'"]),
    (["run", "-o", "{tmp}/out.h5"], SWEEP,
     [f"{SWEEP}: this is a sweep file, not a scenario: run it with 'hotelectron sweep {SWEEP}'"]),
    (["sweep", "--serial", "-o", "{tmp}/out"], SCENARIO,
     [f"{SCENARIO}: this is a scenario, not a sweep file: run it with 'hotelectron run {SCENARIO}'"]),
    (["fit", "-o", "{tmp}/out"], "scenarios/fit_example/wire.toml",
     ["scenarios/fit_example/wire.toml: this is a scenario, not a fit file: run it with "
      "'hotelectron run scenarios/fit_example/wire.toml'", 'a fit file names a scenario as base = "..."']),
    (["steady", "-o", "{tmp}/out.h5"], FIT,
     [f"{FIT}: this is a fit file, not a scenario: run it with 'hotelectron fit {FIT}'"]),
    (["sweep", "--serial", "-o", "{tmp}/out"], FIT, [f"{FIT}: this is a fit file, not a sweep file"]),
    (["fit", "-o", "{tmp}/out"], SWEEP, [f"{SWEEP}: this is a sweep file, not a fit file"]),
    # commands that read a trajectory, given the TOML file that would write it
    (["plot", "-o", "{tmp}/fig.png"], SCENARIO,
     [f"{SCENARIO} is not a trajectory file but a scenario: run it with 'hotelectron run {SCENARIO}'"]),
    (["probe"], SWEEP, [f"{SWEEP} is not a trajectory file but a sweep file: run it with 'hotelectron sweep {SWEEP}'"]),
])
def test_another_kind_of_file_is_named_with_its_command(tmp_path, command, path, words):
    command = [a.format(tmp=tmp_path) for a in command]
    result = cli(command[0], path, *command[1:])
    assert_one_line_refusal(result, *words)
    assert "unknown" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # refused before any output


def test_a_sweep_file_as_a_fits_base_is_refused_naming_the_fit_file(tmp_path):
    (tmp_path / "sweep.toml").write_text(f'base = "{(tmp_path / "w.toml").as_posix()}"\n[axes]\n"reservoirs.bias" = [1]\n')
    fit = tmp_path / "fit.toml"
    fit.write_text('base = "sweep.toml"\ndata = ["c.csv"]\n')
    assert_one_line_refusal(cli("fit", fit), f"{fit}: base: {tmp_path / 'sweep.toml'}: this is a sweep file, "
                                                  "not a scenario")


def test_each_kind_is_told_by_keys_that_only_it_has():
    """The keys the helper reads are those the loaders accept, and no two kinds share one."""
    assert KINDS["scenario"] == SECTIONS
    assert set(KINDS["sweep"]) == SWEEP_KEYS - {"base", "output"}
    assert set(KINDS["fit"]) == set(TOP_KEYS) - {"base", "output"}
    keys = [key for own in KINDS.values() for key in own]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("data, kinds", [
    ({"wire": {}, "grid": {}}, ["scenario"]),
    ({"base": "a.toml", "axes": {}}, ["sweep"]),
    ({"base": "a.toml", "data": ["c.csv"], "parameters": {}}, ["fit"]),
    ({"base": "a.toml"}, ["sweep", "fit"]),  # a sweep of a bias series, or a fit without data yet
    ({"wire": {}, "probe": {}}, ["scenario", "fit"]),
    ({"title": "x"}, []),
])
def test_file_kinds(data, kinds):
    assert file_kinds(data) == kinds


def test_a_file_with_keys_of_the_expected_kind_is_left_to_its_loader():
    """A scenario with a stray [probe] table is still a scenario: its loader names the unknown section."""
    check_kind({"wire": {}, "probe": {}}, "scenario")
    check_kind({"title": "x"}, "sweep")
    with pytest.raises(ValueError, match=r"^this TOML is a sweep file or a fit file, not a scenario: run it with "
                                         r"'hotelectron sweep FILE' or 'hotelectron fit FILE'"):
        check_kind({"base": "a.toml"}, "scenario")


DATA = "scenarios/fit_example/synthetic_curves.csv"


@pytest.fixture
def summary(tmp_path):
    """A sweep's summary table as the sweep writes it (one failed row suffices for its columns)."""
    params = {"reservoirs.temperature": "50 mK"}
    return write_summary([failed_row(0, params, None, "refused", 0.1)], list(params), tmp_path / "summary.csv")


@pytest.mark.parametrize("command", [["show"], ["run", "-o", "{tmp}/out.h5"], ["steady", "-o", "{tmp}/out.h5"],
                                     ["sweep", "--serial", "-o", "{tmp}/out"], ["fit", "-o", "{tmp}/out"], ["probe"]])
def test_a_summary_table_or_measured_data_are_named_with_their_commands(tmp_path, summary, command):
    """Before: 'summary.csv: not valid TOML: Expected '=' after a key ...' (probe: 'damaged or not a trajectory')."""
    command = [a.format(tmp=tmp_path) for a in command]
    out = [p for p in tmp_path.iterdir() if p != summary]
    assert_one_line_refusal(cli(command[0], summary, *command[1:]), f"{summary}",
                            "a sweep's summary table", f"draw it with 'hotelectron plot {summary}'")
    assert_one_line_refusal(cli(command[0], DATA, *command[1:]), DATA, "measured data",
                            "'hotelectron fit FIT.toml'", "data = [")
    assert [p for p in tmp_path.iterdir() if p != summary] == out  # refused before any output
