"""The magnetic field of a scenario: [field] B and g (and [dimensionless] zeeman) against hand
calculations, the whole-steps rule of the Zeeman energy, every refusal, and B = 0 reproducing the
runs without a field exactly (every shipped scenario)."""

import logging
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from systems import AGMN_SECTIONS, tiny

from hotelectron.io.runner import run_scenario
from hotelectron.io.scenario import parse_scenario
from hotelectron.io.scenario.zeeman import ZEEMAN_RTOL
from hotelectron.kinetics.mechanisms import FieldPairScattering, FreeSpinScattering, PairScattering
from hotelectron.wire.steady import steady_state

# CODATA 2018, written out independently of hotelectron.units
MU_B = 9.2740100783e-24  # J/T
EV = 1.602176634e-19

AGMN = AGMN_SECTIONS + """
[grid]
n_x = 9
n_energy = 601
half_width = 3.0

[run]
mode = "steady"
"""

DIMENSIONLESS = """
[dimensionless]
temperature = 0.02
bias = 1.0
spin = 0.5
pair_rate = 2.0
pair_relaxation = 30.0
v_min = 0.1
{field}

[grid]
n_x = 9
n_energy = 161
half_width = 4.0

[run]
mode = "steady"
"""

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.toml"))


def with_field(text, field):
    return text + "\n[field]\n" + field + "\n"


def pairs_of(scenario):
    (pairs,) = [m for m in scenario.problem.mechanisms if isinstance(m, (PairScattering, FieldPairScattering))]
    return pairs


def spins_of(scenario):
    return [m for m in scenario.problem.mechanisms if isinstance(m, FreeSpinScattering)]


def test_zeeman_energy_in_whole_steps_against_a_hand_calculation():
    s = parse_scenario(with_field(AGMN, 'B = "0.5 T"\ng = 2.0'))
    d = s.derived
    zeeman_meV = 2.0 * MU_B * 0.5 / EV * 1e3  # 0.05788 meV
    step_meV = 0.2 * 6.0 / 600  # 2 half_width / (n_energy - 1) in E0 = eU = 0.2 meV
    assert d["zeeman_meV"] == pytest.approx(zeeman_meV, rel=1e-14)
    assert d["zeeman_E0"] == pytest.approx(zeeman_meV / 0.2, rel=1e-14)
    assert d["zeeman_steps"] == round(zeeman_meV / step_meV) == 29
    assert d["zeeman_run_meV"] == pytest.approx(29 * step_meV, rel=1e-12)
    assert d["zeeman_rounding"] == pytest.approx(29 * step_meV / zeeman_meV - 1, rel=1e-12)
    assert abs(d["zeeman_rounding"]) <= ZEEMAN_RTOL
    assert d["field_run_T"] == pytest.approx(29 * step_meV * 1e-3 * EV / (2.0 * MU_B), rel=1e-12)
    assert (d["field_T"], d["g_factor"]) == (0.5, 2.0)
    pairs = pairs_of(s)
    assert isinstance(pairs, FieldPairScattering) and pairs.zeeman_steps == 29 and pairs.S == 2.5
    assert pairs.zeeman == pytest.approx(29 * s.problem.energy.step, rel=1e-15)
    # the unpaired fraction of the impurities (SPEC section 9): 1 - (8/3) T_sg / V_min
    assert d["unpaired_fraction"] == pytest.approx(1 - 8 / 3 * d["T_sg_E0"] / d["v_min"], rel=1e-14)
    # they are free spins in the field: the electrons' spin-flip rate by them is (1 - p)/tau_s
    (spins,) = spins_of(s)
    assert spins.rate == pytest.approx(d["tau_D_s"] * d["unpaired_fraction"] / d["tau_s_s"], rel=1e-12)
    assert (spins.S, spins.relaxation, spins.zeeman_steps) == (2.5, pairs.relaxation, 29)
    assert spins.step == s.problem.energy.step and d["free_spin_rate"] == spins.rate


def test_the_g_factor_scales_the_zeeman_energy_and_units_of_the_field_convert():
    a = parse_scenario(with_field(AGMN, 'B = "500 mT"\ng = 2.0')).derived
    b = parse_scenario(with_field(AGMN, 'B = "0.25 T"\ng = 4.0')).derived
    c = parse_scenario(with_field(AGMN, 'B = "0.0005 kT"')).derived  # g = 2 by default
    assert a["zeeman_meV"] == pytest.approx(b["zeeman_meV"], rel=1e-14)
    assert a["zeeman_meV"] == pytest.approx(c["zeeman_meV"], rel=1e-14)
    assert a["zeeman_steps"] == b["zeeman_steps"] == c["zeeman_steps"]


def test_the_same_pairs_as_the_mechanism_without_a_field():
    """The field changes only the Zeeman energy of the pair mechanism: S, strengths and couplings stay."""
    zero = pairs_of(parse_scenario(AGMN))
    field = pairs_of(parse_scenario(with_field(AGMN, 'B = "1 T"')))
    assert isinstance(zero, PairScattering)
    assert (field.S, field.rate, field.relaxation, field.couplings) == (zero.S, zero.rate, zero.relaxation, zero.couplings)


def test_the_default_grid_is_the_smallest_that_holds_the_zeeman_energy():
    text = with_field(AGMN.replace("n_energy = 601\n", ""), 'B = "0.1 T"')
    s = parse_scenario(text)
    n = s.derived["n_energy"]
    assert abs(s.derived["zeeman_rounding"]) <= ZEEMAN_RTOL and n >= 801
    # every smaller odd grid from 801 on is refused, naming the field
    without = parse_scenario(AGMN.replace("n_energy = 601\n", "")).derived["n_energy"]
    for smaller in range(without, n, 2):
        try:
            parse_scenario(text.replace("half_width = 3.0", f"half_width = 3.0\nn_energy = {smaller}"))
        except ValueError as exc:
            assert str(exc).startswith("[")
        else:
            pytest.fail(f"n_energy = {smaller} holds the field but the default grid is {n}")


def test_an_off_grid_field_is_refused_with_a_grid_and_a_field_that_fit():
    text = with_field(AGMN, 'B = "0.1 T"')  # 5.79 steps of 2 ueV: 3.6 % from 6
    with pytest.raises(ValueError) as info:
        parse_scenario(text)
    message = str(info.value)
    assert message.startswith("[field] B = '0.1 T'") and "whole number" in message
    n = int(re.search(r"n_energy = (\d+)", message).group(1))
    B = re.search(r'B = "([0-9.e+-]+) T"', message).group(1)
    assert parse_scenario(text.replace("n_energy = 601", f"n_energy = {n}")).derived["n_energy"] == n
    fitted = parse_scenario(with_field(AGMN, f'B = "{B} T"')).derived
    assert abs(fitted["zeeman_rounding"]) < 1e-5


@pytest.mark.parametrize(("field", "pattern"), [
    ('B = "half a tesla"', r"\[field\] B .*number"),
    ("B = 0.5", r"\[field\] B = 0.5: the unit is missing"),
    ('B = "0.5 mV"', r"\[field\] B .*dimension"),
    ('B = "nan T"', r"\[field\] B .*not finite"),
    ('B = "inf T"', r"\[field\] B .*not finite"),
    ('B = "0.5 T"\ng = 0', r"\[field\] g = 0"),
    ('B = "1 T"\ng = 1e-300', r"\[field\] g = 1e-300: out of range; expected .* \[0.1, 20\]"),
    ('B = "1e-300 T"', r"\[field\] B = '1e-300 T': the Zeeman energy .* at most half an energy step"),
    ('B = "1e5 A/m"', r"\[field\] B = '1e5 A/m': has dimension .*magnetic field"),
    ('B = "0.5 T"\ng = -2', r"\[field\] g = -2"),
    ('B = "0.5 T"\ng = "2"', r"\[field\] g = '2': not a plain number"),
    ('B = "0.5 T"\ng = 200', r"\[field\] g = 200"),
    ("g = 2", r"\[field\] B is required"),
    ('B = "0.5 T"\nb = "1 T"', r"\[field\] b: unknown key"),
    ('B = "0.1 T"', r"\[field\] B = '0.1 T'.*whole number.*n_energy = \d+"),
    ('B = "20 T"', r"\[field\] B = '20 T'.*exceeds the width of the energy grid"),
])
def test_bad_fields_are_refused_naming_the_key(field, pattern):
    with pytest.raises(ValueError, match=pattern):
        parse_scenario(with_field(AGMN, field))


def test_a_negative_field_is_a_field_in_the_other_direction_and_zero_has_no_sign(capsys):
    positive = parse_scenario(with_field(AGMN, 'B = "0.5 T"'))
    negative = parse_scenario(with_field(AGMN, 'B = "-500 mT"'))
    assert negative.problem == positive.problem and negative.derived == positive.derived
    zero = parse_scenario(with_field(AGMN, 'B = "-0 T"'))
    assert all(not np.signbit(v) for k, v in zero.derived.items() if k.startswith(("field", "zeeman")))
    from hotelectron.io.quantities import physics_lines

    assert "B = 0 T" in physics_lines(zero.derived)[0] and "-0" not in " ".join(physics_lines(zero.derived))


@pytest.mark.parametrize("gauss", ["10000 G", "10 kG", "1e4 gauss", "-10000 G", "10000 Oe"])
def test_a_field_in_gauss_is_1e_4_tesla(gauss):
    tesla = parse_scenario(with_field(AGMN, 'B = "1 T"')).derived
    derived = parse_scenario(with_field(AGMN, f'B = "{gauss}"')).derived
    assert derived["field_T"] == pytest.approx(1.0, rel=1e-14)
    assert derived["zeeman_meV"] == pytest.approx(tesla["zeeman_meV"], rel=1e-14)
    assert derived["zeeman_steps"] == tesla["zeeman_steps"]


def _suggested(message, pattern):
    match = re.search(pattern, message)
    assert match is not None, message
    return match.group(1)


def test_a_zeeman_energy_of_exactly_half_a_step_is_refused_as_no_field_not_as_zero_steps():
    """Half a step rounds to 0 (round half to even): the refusal offers no field or one step, as below it."""
    from hotelectron.io.scenario.zeeman import Field, refuse_off_grid

    with pytest.raises(ValueError) as info:
        refuse_off_grid(Field(0.01, "[dimensionless] zeeman", 0.01), 0.02, 4.0, None)
    message = str(info.value)
    assert "at most half an energy step" in message and "zeeman = 0 (no field)" in message
    assert "0 steps" not in message and "%" not in message


def test_the_fields_and_grids_a_refusal_suggests_are_accepted():
    """A suggested largest field is rounded down, a smallest one up: each is accepted as given."""
    with pytest.raises(ValueError) as info:  # the grid spans 1.2 meV: at most 10.36559... T
        parse_scenario(with_field(AGMN, 'B = "10.3656 T"'))
    largest = _suggested(str(info.value), r'B = "([0-9.e+-]+) T" at most')
    assert float(largest) < 10.3656
    assert parse_scenario(with_field(AGMN.replace("n_energy = 601\n", ""), f'B = "{largest} T"')).derived["field_T"] > 10.36
    for tiny in ("1e-300 T", "1 G"):  # less than half a step: no field, one step, or a finer grid
        with pytest.raises(ValueError) as info:
            parse_scenario(with_field(AGMN, f'B = "{tiny}"'))
        message = str(info.value)
        assert "%" not in message and 'B = "0 T" (no field)' in message
        smallest = _suggested(message, r'at least one energy step, B = "([0-9.e+-]+) T"')
        assert parse_scenario(with_field(AGMN, f'B = "{smallest} T"')).derived["zeeman_steps"] == 1
        if tiny == "1 G":
            n = _suggested(message, r"n_energy = (\d+)")
            assert parse_scenario(with_field(AGMN.replace("n_energy = 601", f"n_energy = {n}"), f'B = "{tiny}"'))
    # an n_energy refused for the temperature is answered with one that also holds the field
    text = with_field(AGMN.replace("n_energy = 601", "n_energy = 201"), 'B = "1 T"')
    with pytest.raises(ValueError) as info:
        parse_scenario(text)
    n = _suggested(str(info.value), r"e\.g\. n_energy = (\d+)")
    assert parse_scenario(text.replace("n_energy = 201", f"n_energy = {n}")).derived["zeeman_steps"] > 0


def test_a_field_is_a_physical_section():
    with pytest.raises(ValueError, match=r"\[dimensionless\] and \[field\]"):
        parse_scenario(with_field(DIMENSIONLESS.format(field=""), 'B = "1 T"'))


def test_dimensionless_zeeman_energy():
    s = parse_scenario(DIMENSIONLESS.format(field="zeeman = 0.4"))
    assert pairs_of(s).zeeman_steps == 8 and s.derived["zeeman_run_E0"] == pytest.approx(0.4, rel=1e-14)
    # without T_sg the unpaired fraction is unknown: no free spins, and a warning says so
    assert not spins_of(s) and any("free spins" in w for w in s.warnings)
    s = parse_scenario(DIMENSIONLESS.format(field="zeeman = 0.4\nspin_glass_temperature = 0.002"))
    (spins,) = spins_of(s)  # (8/3) T_sg / v_min = 0.0533 of the impurities are paired
    assert spins.rate == pytest.approx((1 - 8 / 3 * 0.002 / 0.1) * 2.0 / 0.002, rel=1e-12)
    assert "field_T" not in s.derived and "zeeman_meV" not in s.derived
    assert parse_scenario(DIMENSIONLESS.format(field="zeeman = -0.4")).problem == parse_scenario(
        DIMENSIONLESS.format(field="zeeman = 0.4")).problem  # a field in the other direction
    for bad, pattern in (('zeeman = "0.4 E0"', r"\[dimensionless\] zeeman"),
                         ("zeeman = 0.41", r"\[dimensionless\] zeeman = 0.41.*whole number.*zeeman = 0\.4\b")):
        with pytest.raises(ValueError, match=pattern):
            parse_scenario(DIMENSIONLESS.format(field=bad))


def test_a_field_without_impurities_is_warned_about_and_changes_nothing(caplog):
    text = AGMN.replace("[impurities]\nspin = 2.5\nconcentration = \"1 ppm\"\nkondo_temperature = \"40 mK\"\n", "")
    with caplog.at_level(logging.WARNING):
        s = parse_scenario(with_field(text, 'B = "0.1 T"'))  # off the grid: no impurity needs it there
    assert any("[field] B" in w and "changes nothing" in w for w in s.warnings)
    assert s.problem == parse_scenario(text).problem


def test_zero_field_is_the_scenario_without_a_field():
    zero, none = parse_scenario(with_field(AGMN, 'B = "0 T"')), parse_scenario(AGMN)
    # at zero field the free spins exchange no energy: they are left out, the pairs are the multiplets J
    assert zero.problem == none.problem and type(pairs_of(zero)) is PairScattering and not spins_of(zero)
    assert zero.derived["zeeman_steps"] == 0 and zero.derived["zeeman_meV"] == 0.0
    field_keys = {"field_T", "g_factor", "zeeman_meV", "zeeman_E0", "zeeman_steps", "zeeman_run_E0", "zeeman_rounding",
                  "zeeman_run_meV", "field_run_T"}
    assert set(zero.derived) - set(none.derived) == field_keys
    assert {k: v for k, v in zero.derived.items() if k not in field_keys} == none.derived


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_shipped_scenario_at_zero_field_runs_as_without_a_field(path, tmp_path):
    """B = 0 changes no result of a shipped scenario: f, P and every observable equal bit for bit."""
    base = tiny(path)
    if "[field]" in base:  # a shipped field scenario: compare its B = 0 with the field section removed
        base = re.sub(r"\[field\]\n(?:[^\[]*\n)?", "", base)
    if "[dimensionless]" in base:
        text = base.replace("[dimensionless]\n", "[dimensionless]\nzeeman = 0.0\n")
    else:
        text = with_field(base, 'B = "0 T"\ng = 2.0')
    outputs = [run_scenario(parse_scenario(t), tmp_path / f"{name}.h5") for name, t in (("none", base), ("zero", text))]
    with h5py.File(outputs[0], "r") as a, h5py.File(outputs[1], "r") as b:
        names = ["f", "time", "dt"] + (["P"] if "P" in a else []) + [f"observables/{k}" for k in a["observables"]]
        assert set(a["observables"]) == set(b["observables"])
        for name in names:
            np.testing.assert_array_equal(a[name][()], b[name][()], err_msg=name)


def test_the_active_coupling_cutoff_is_reported_and_a_coarse_step_cutoff_warned_about(capsys):
    """1 ppm Mn at 1 T on 601 points: half a step (0.005 eU) is 33 times (8/3) T_sg/0.3 and 0.23 k_B T, so
    the default V_min is the step's, and 29 % of the impurities (pairs with |V| below it) count as free
    spins. show says which cutoff is active; the loader warns naming the keys that move the split, and the
    n_energy it suggests takes V_min below 0.1 min(Delta_Z, k_B T)."""
    from hotelectron.io.quantities import physics_lines

    def loaded(text):
        s = parse_scenario(text)
        return s, [w for w in s.warnings if "is half the energy step" in w]

    coarse, warned = loaded(with_field(AGMN, 'B = "1 T"'))
    d = coarse.derived
    assert d["v_min_rule"] == "half_step" and d["v_min"] == pytest.approx(0.005, rel=1e-12)
    assert d["v_min_pair_probability"] == pytest.approx(8 / 3 * d["T_sg_E0"] / 0.3, rel=1e-12)
    assert d["v_min"] > 30 * d["v_min_pair_probability"]
    (warning,) = warned
    assert warning.startswith("[impurities] coupling_cutoff: the default V_min = 0.005 E0")
    assert "0.23 of min(Delta_Z, k_B T)" in warning and "[impurities] coupling_cutoff" in warning
    (cutoff,) = [line for line in physics_lines(d) if line.startswith("cutoff")]
    assert "half the energy step" in cutoff and "free spins" in cutoff and "[grid] n_energy" in cutoff
    n = int(re.search(r"\[grid\] n_energy = (\d+)", warning).group(1))
    finer, warned = loaded(with_field(AGMN.replace("n_energy = 601", f"n_energy = {n}"), 'B = "1 T"'))
    assert not warned and finer.derived["v_min"] <= 0.1 * finer.derived["temperature_E0"]
    fine, warned = loaded(with_field(AGMN.replace("n_energy = 601", "n_energy = 60001"), 'B = "1 T"'))
    assert fine.derived["v_min_rule"] == "pair_probability" and not warned
    assert fine.derived["unpaired_fraction"] == pytest.approx(0.7, rel=1e-12)
    given, warned = loaded(with_field(AGMN.replace('"40 mK"\n', '"40 mK"\ncoupling_cutoff = "1 ueV"\n', 1), 'B = "1 T"'))
    assert given.derived["v_min_rule"] == "given" and not warned
    zero, warned = loaded(AGMN)  # no field: the free spins are not in the model, their split does not matter
    assert zero.derived["v_min_rule"] == "half_step" and not warned


def test_the_field_resolved_f_converges_while_the_step_cutoff_moves_the_split_with_the_grid():
    """Where half an energy step exceeds (8/3) T_sg/0.3, the default V_min is half a step: refining the
    grid moves pairs with V_min < |V| < 2 V_min from the free spins to the pairs (here, 2 ppm Mn at 1.04 T,
    the paired fraction doubles with each refinement, 1.4 % to 11 %). Pairs with V << k_B T, Delta_Z act as
    two free spins, so f(L/2) must converge regardless. Measured (5 x n steady states, max |f(L/2)| change
    between successive grids at the nodes of the coarsest): 1.05e-5, 3.0e-6, 7.8e-7 (orders 1.80, 1.95;
    1.99 from 3841 to 7681) against 1.1e-5, 1.2e-6, 3.1e-7 with the cutoff held at 1.25 ueV (the
    discretisation alone); the split adds an error 2.5 times the discretisation's, of the same order 2,
    and the finest grid's error estimate, 2.6e-7, is 8e-6 of the relaxation max |f(L/2) - double step| = 0.033."""
    def middle(n, cutoff=""):
        text = AGMN_SECTIONS.replace('"1 ppm"', '"2 ppm"') + (f'coupling_cutoff = "{cutoff}"\n' if cutoff else "") + (
            f'[field]\nB = "1.0366 T"\n[grid]\nn_x = 5\nn_energy = {n}\nhalf_width = 3.0\n[run]\nmode = "steady"\n')
        s = parse_scenario(text)
        f = steady_state(s.problem).f
        every = (n - 1) // (GRIDS[0] - 1)
        return s.derived, f[2, ::every], ((f[0] + f[-1]) / 2)[::every]

    GRIDS = (481, 961, 1921, 3841)
    moving = [middle(n) for n in GRIDS]
    held = [middle(n, "1.25 ueV") for n in GRIDS]  # half the step of the coarsest grid, on every grid
    for k, (d, _, _) in enumerate(moving):
        assert d["v_min"] == pytest.approx(d["energy_step_E0"] / 2, rel=1e-12)  # the step cutoff is active
        assert 8 / 3 * d["T_sg_E0"] / 0.3 < d["v_min"] and d["zeeman_steps"] == 48 * 2 ** k
        assert d["pair_probability"] == pytest.approx(2 ** k * moving[0][0]["pair_probability"], rel=1e-12)
    changes = {name: np.array([np.max(np.abs(a[1] - b[1])) for a, b in zip(runs, runs[1:])])
               for name, runs in (("moving", moving), ("held", held))}
    for name, change in changes.items():  # second order at the finest grids
        assert abs(np.log2(change[-2] / change[-1]) - 2) < 0.1, (name, change)
    ratio = changes["moving"] / changes["held"]  # the split's share: it would double per refinement at order 1
    assert ratio[-1] / ratio[-2] < 2 ** 0.1, ratio
    # the finest grid's error (Richardson, order 2) is far below the relaxation it resolves
    relaxation = np.max(np.abs(moving[-1][1] - moving[-1][2]))
    assert changes["moving"][-1] / 3 < 1e-3 * relaxation, (changes["moving"][-1], relaxation)
