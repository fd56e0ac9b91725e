"""Unit text that cannot hang or be misread, and TOML that cannot recurse the loader to death.

Quantity strings pass a closed grammar (:func:`hotelectron.units.unit_text_problem`) before pint sees
them; every accepted string must read exactly as pint reads it, every refused one must be refused at
once with a one-line message naming the key.
"""

import logging
import math
import re
import subprocess
import sys
import time
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotelectron import units
from hotelectron.commands.main import main
from hotelectron.io.scenario import fields, parse_scenario
from hotelectron.sweep.spec import parse_sweep

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").rglob("*.toml"))
DEFAULT = (ROOT / "scenarios" / "default.toml").read_text(encoding="utf-8")
TIME_BOUND_S = 0.5


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _shipped_texts():
    for path in SCENARIOS:
        yield from _strings(tomllib.loads(path.read_text(encoding="utf-8")))
    # the README's TOML examples, values and the alternatives named in their comments
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for block in re.findall(r"```toml\n(.*?)```", readme, flags=re.DOTALL):
        yield from re.findall(r'"([^"]*)"', block)


def _shipped_quantities():
    """Every quantity string of the shipped scenarios, sweeps and the README's scenario example."""
    found = set()
    for text in _shipped_texts():
        match = units._NUMBER.match(text)
        rest = text[match.end():].strip() if match else ""
        if not rest or rest in ("tau_D", "E0"):
            continue  # a word, a bare number, or a time or energy the scenario loader reads without pint
        if text.count("*") == 1 and "1/" not in text:
            found.update(part.strip() for part in text.split("*"))  # "50 nm * 100 nm", read factor by factor
        else:
            found.add(text)
    return sorted(found)


SHIPPED = _shipped_quantities()


def test_the_shipped_scenarios_hold_the_quantities_this_file_checks():
    # guards the collection above: an empty or shrunken list would make the next test vacuous
    assert {"5 um", "25 mK", "0.3 mV", "0.01 m^2/s", "100 ohm", "0.1 1/ns/meV^0.5", "60 ppm", "20 ppm", "50 nm", "100 nm", "5 ns"} <= set(SHIPPED)


@pytest.mark.parametrize("text", SHIPPED)
def test_every_shipped_quantity_reads_as_pint_reads_it(text):
    reg = units.registry()
    expected = reg.Quantity(text)  # pint's own reading of the whole string
    assert units.unit_text_problem(text[units._NUMBER.match(text).end():].strip()) is None
    si = expected.to_base_units()
    got = fields.si_quantity(text, "[x] y", str(si.units), text, positive=False)
    assert got == si.magnitude
    for dimension, (si_unit, _) in units.DIMENSIONS.items():
        if dimension != "dimensionless" and expected.dimensionality == reg.Unit(si_unit).dimensionality:
            assert units.parse_quantity(text, dimension, "x") == expected.to(si_unit).magnitude


@pytest.mark.parametrize("text", ["1e10 1/s", "6e10 s^-1", "6e10 Hz", "100 cm^2/s", "0.01 m**2/s", "5e46 1/(J m^3)",
                                  "1.5 micrometer", "2 µm", "2 μm", "100 Ω", "0.006 %", "0.006 percent",
                                  "1.4e6 m/s", "5 um m/m", "1 s^(-1)", "3 m^10/m^9", "1 eV/boltzmann_constant"])
def test_documented_forms_are_accepted_and_read_as_pint_reads_them(text):
    reg = units.registry()
    expected = reg.Quantity(text).to_base_units()
    assert fields.si_quantity(text, "[x] y", str(expected.units), text, positive=False) == expected.magnitude


def _refusal(text, expected="length"):
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        units.parse_quantity(text, expected, "[wire] length")
    elapsed = time.perf_counter() - start
    message = str(info.value)
    assert elapsed < TIME_BOUND_S, f"{text!r} took {elapsed:.3f} s to refuse"
    assert "\n" not in message and message.startswith(f"[wire] length = {text!r}: ")
    return message


@pytest.mark.parametrize(("text", "why"), [
    ("5 um * 9**9**9", "the number '9' inside the unit"),
    ("5 um*9**9**9**9", "the number '9' inside the unit"),
    ("5 √um", "'√'"),
    ("5 um√", "'√'"),
    ("5 °um", "'°'"),
    ("5 um²", "'²'"),
    ("5\u00a0um\u00a0*\u00a0um/um", "'\\xa0'"),
    ("5 um^99999999", "beyond +-10"),
    ("5 um^11", "beyond +-10"),
    ("5 um**2**3", "'**'"),
    ("5 um^2^3", "'^'"),
    ("5 um^(1/0)", "plain number"),
    ("5 (um)^2", "power of a bracket"),
    ("5 ((um))", "brackets inside brackets"),
    ("5 (um", "not closed"),
    ("5 um)", "')'"),
    ("5 um*", "ends with an operator"),
    ("5 ** 2 um", "'**'"),
    ("5 2 um", "the number '2'"),
    ("5 1 um", "the number '1'"),
    ("5 um, 3 um", "','"),
    ("5 um; um", "';'"),
    ("5 um + 3 um", "'+'"),
    ("5 " + "um*" * 20 + "um", "more than"),
    ("5 " + "m" * 200, "longer than"),
])
def test_hostile_unit_text_is_refused_at_once_with_a_one_line_message(text, why):
    message = _refusal(text)
    assert why in message and "cannot read" in message


def test_a_power_tower_hangs_nothing_from_the_command_line(tmp_path):
    # in a child process with a time limit: before the grammar, pint computed 9**9**9 here for hours
    path = tmp_path / "tower.toml"
    path.write_text(DEFAULT.replace('length = "5 um"', 'length = "5 um * 9**9**9"'), encoding="utf-8")
    assert 'length = "5 um * 9**9**9"' in path.read_text(encoding="utf-8")
    code = "import sys; from hotelectron.commands.main import main; sys.exit(main(['show', sys.argv[1]]))"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert str(path) in lines[0] and "[wire] length = '5 um * 9**9**9'" in lines[0]
    assert elapsed < 30  # the interpreter's start and the import; pint would never finish


def test_an_odd_symbol_is_not_dropped_from_a_scenario():
    # pint's tokenizer skipped the root sign and read "5 √um" as 5 um
    with pytest.raises(ValueError, match=r"^\[wire\] length = '5 √um': cannot read '√um' as a unit"):
        parse_scenario(DEFAULT.replace('length = "5 um"', 'length = "5 √um"'))


def test_quantities_outside_the_known_dimensions_obey_the_same_grammar():
    with pytest.raises(ValueError, match=r"^\[wire\] resistance = '100 ohm \* 9\*\*9\*\*9': cannot read"):
        fields.si_quantity("100 ohm * 9**9**9", "[wire] resistance", "ohm", "100 ohm")
    with pytest.raises(ValueError, match=r"'√'"):
        fields.si_quantity("100 √ohm", "[wire] resistance", "ohm", "100 ohm")


# Pieces of unit text: known symbols, the operators, numbers (some huge), and characters pint's
# tokenizer would skip or misread.
PIECES = ["um", "nm", "m", "mK", "K", "meV", "s", "ns", "ohm", "ppm", "%", "µm", "Ω", "percent", "1", "2", "0.5",
          "9", "99999999999", "1e308", "-3", "+", "-", "*", "/", "**", "^", "(", ")", " ", "  ", "√", "°", "²",
          "\u00a0", "\u2212", ",", ".", "e", "inf", "nan", "_", "!", "~", "@", "$", "[", "]", "'", "\\"]


@settings(max_examples=400, deadline=timedelta(milliseconds=500), suppress_health_check=[HealthCheck.too_slow])
@given(number=st.sampled_from(["5", "1e10", "-2", "0.3", "1e-300", "7E+2"]),
       pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=14),
       expected=st.sampled_from(sorted(units.DIMENSIONS)))
def test_random_unit_expressions_are_read_as_pint_reads_them_or_refused_quickly(number, pieces, expected):
    unit_text = "".join(pieces)
    text = f"{number} {unit_text}"
    start = time.perf_counter()
    try:
        value = units.parse_quantity(text, expected, "[wire] length")
    except ValueError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith("[wire] length = ")
        accepted = False
    else:
        accepted = True
    assert time.perf_counter() - start < TIME_BOUND_S
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_µμΩ%*/^()+-. \t")
    stripped = unit_text.strip()
    if accepted and not stripped:
        assert expected == "dimensionless" and value == float(number)  # a bare number, no unit to read
    elif accepted:
        assert set(stripped) <= allowed, f"{text!r} was accepted with a character outside the grammar"
        assert units.unit_text_problem(stripped) is None
        reg = units.registry()
        # the grammar bounds what pint computes, so pint's own reading is safe to take as reference
        reference = reg.Quantity(float(number), reg.parse_units(stripped)).to(units.DIMENSIONS[expected][0])
        assert value == float(reference.magnitude) and math.isfinite(value)


@settings(max_examples=200, deadline=timedelta(milliseconds=500))
@given(base=st.sampled_from(["m", "um", "meV", "s"]), power=st.one_of(
    st.integers(-10**12, 10**12), st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([10, -10, 10.5, 11])))
def test_powers_of_a_unit_are_bounded(base, power):
    problem = units.unit_text_problem(f"{base}^{power}")
    if abs(power) <= units.MAX_UNIT_POWER and "e" not in str(power):
        assert problem is None
    else:
        assert problem is not None


def _nested(depth, kind):
    if kind == "array":
        return "[wire]\nlength = " + "[" * depth + "]" * depth + "\n"
    return "[wire]\nlength = " + "{a = " * depth + "1" + "}" * depth + "\n"


@pytest.mark.parametrize("kind", ["array", "inline_table"])
@pytest.mark.parametrize("command", ["show", "run"])
def test_deeply_nested_toml_is_exit_2_naming_the_file(tmp_path, caplog, capsys, kind, command):
    path = tmp_path / "deep.toml"
    path.write_text(_nested(1000, kind), encoding="utf-8")
    with pytest.raises(RecursionError):  # what the loader has to turn into a message
        tomllib.loads(path.read_text(encoding="utf-8"))
    caplog.set_level(logging.ERROR)
    assert main([command, str(path), "-o", str(tmp_path / "out.h5")] if command == "run" else [command, str(path)]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0] == f"{path}: not valid TOML: arrays or inline tables nested too deeply"
    assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "out.h5").exists()


def test_deeply_nested_sweep_is_a_value_error_naming_the_file(tmp_path):
    path = tmp_path / "sweep.toml"
    with pytest.raises(ValueError, match=r"^" + str(path).replace("\\", "\\\\") + r": not valid TOML: .*too deeply"):
        parse_sweep("base = 'x.toml'\naxes = " + "[" * 1000 + "]" * 1000 + "\n", path=path)
    (tmp_path / "base.toml").write_text(_nested(1000, "array"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"sweep\.toml: base: .*base\.toml: not valid TOML: .*too deeply"):
        parse_sweep("base = 'base.toml'\n[axes]\n'reservoirs.bias' = ['0.1 mV']\n", path=path)
