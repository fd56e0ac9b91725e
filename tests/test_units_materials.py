import math

import pytest

from hotelectron import materials, units


@pytest.mark.parametrize(
    ("text", "expected", "si"),
    [
        ("0.3 mV", "voltage", 3e-4),
        ("25 mK", "temperature", 0.025),
        ("5 um", "length", 5e-6),
        ("1.5 micrometer", "length", 1.5e-6),
        ("60 ppm", "concentration", 6e-5),
        ("0.006 percent", "concentration", 6e-5),
        ("1e10 1/s", "rate", 1e10),
        ("6e10 s^-1", "rate", 6e10),
        ("0.5 T", "magnetic_field", 0.5),
        ("200 mT", "magnetic_field", 0.2),
        ("0.01 m^2/s", "diffusion", 0.01),
        ("100 cm^2/s", "diffusion", 0.01),
        ("0.1 meV", "energy", 1.602176634e-23),
    ],
)
def test_parse_quantity_to_si(text, expected, si):
    assert units.parse_quantity(text, expected, "field") == pytest.approx(si, rel=1e-14)


def test_parse_quantity_in_requested_unit():
    assert units.parse_quantity("25 mK", "temperature", "T", unit="mK") == pytest.approx(25.0, rel=1e-14)
    assert units.parse_quantity("60 ppm", "concentration", "n_s", unit="ppm") == pytest.approx(60.0, rel=1e-14)


@pytest.mark.parametrize(
    ("text", "expected", "fragment"),
    [
        ("3", "temperature", "unit is missing"),
        ("60", "concentration", "unit is missing"),
        ("3 m", "temperature", "not temperature"),
        ("2 furlongs", "temperature", "not temperature"),
        ("1 zorks", "temperature", "unknown unit"),
        ("mK", "temperature", "does not start with a number"),
        ("nan K", "temperature", "not finite"),
        ("inf mV", "voltage", "not finite"),
        ("1 +", "temperature", "cannot read"),
        ("-5 mK", "temperature", "positive"),
        ("60 ppm ppm", "concentration", "not a single unit"),
        ("60 ppm/ppm", "concentration", "not a single unit"),
    ],
)
def test_parse_quantity_refuses_with_a_message_naming_field_value_and_allowed(text, expected, fragment):
    with pytest.raises(ValueError, match="bath_temperature") as info:
        units.parse_quantity(text, expected, "bath_temperature", positive=True)
    message = str(info.value)
    assert fragment in message
    assert repr(text) in message and "expected a" in message


@pytest.mark.parametrize(
    ("text", "expected", "hint"),
    [
        ("50 mk", "temperature", "'mk' is read as milli-boltzmann_constant: did you mean '50 mK'"),
        ("0.5 t", "magnetic_field", "'t' is read as metric_ton: did you mean '0.5 T'"),
        ("0.3 mv", "voltage", "'mv' is not a unit: did you mean '0.3 mV'"),
        ("5 UM", "length", "did you mean '5 um'"),
        ("2 Ns", "time", "did you mean '2 ns'"),
    ],
)
def test_a_unit_in_the_wrong_case_gets_the_spelling_of_the_expected_dimension(text, expected, hint):
    """One symbol's letters in the other case, the fewest changes first ("mK", not "MK" megakelvin)."""
    with pytest.raises(ValueError) as info:
        units.parse_quantity(text, expected, "[x] y")
    assert hint in str(info.value)
    meant = hint.split("did you mean '")[1].rstrip("'")
    units.parse_quantity(meant, expected, "[x] y")  # what the hint offers is accepted


@pytest.mark.parametrize(("text", "expected"), [("1 t", "temperature"), ("5 xyz", "length"), ("3 m", "temperature")])
def test_no_hint_where_no_spelling_has_the_dimension(text, expected):
    with pytest.raises(ValueError) as info:
        units.parse_quantity(text, expected, "[x] y")
    assert "did you mean" not in str(info.value)


def test_temperature_from_energy_and_back():
    # k_B = 0.0861733 meV/K (CODATA): 1 meV is 11.6045 K
    assert units.meV_to_kelvin(1.0) == pytest.approx(11.604518, rel=1e-7)
    assert units.kelvin_to_meV(units.meV_to_kelvin(0.37)) == pytest.approx(0.37, rel=1e-15)
    assert units.parse_temperature_K("0.1 meV", "T") == pytest.approx(units.meV_to_kelvin(0.1), rel=1e-14)
    assert units.parse_temperature_K("25 mK", "T") == pytest.approx(0.025, rel=1e-14)
    with pytest.raises(ValueError, match="temperature"):
        units.parse_temperature_K("3 m", "T")


def test_bohr_magneton_is_e_hbar_over_2_m_e():
    # mu_B = e hbar / (2 m_e) with the exact SI e and hbar and the measured electron mass (scipy's
    # CODATA edition): CODATA 2018 and 2022 differ by 1.4e-9 in mu_B; 1e-8 checks the first eight digits
    from scipy.constants import m_e

    mu_B = units.ELEMENTARY_CHARGE_C * units.HBAR_J_S / (2 * m_e)
    assert units.BOHR_MAGNETON_J_PER_T == pytest.approx(mu_B, rel=1e-8)
    # the Zeeman energy the field docs quote: g mu_B B = 0.1158 meV for g = 2 and B = 1 T
    assert 2 * units.BOHR_MAGNETON_J_PER_T / units.ELECTRON_VOLT_J * 1e3 == pytest.approx(0.11577, abs=5e-6)


def test_density_from_fraction():
    au = materials.material("Au")
    assert units.density_from_fraction(60e-6, au.atomic_density_m3) == pytest.approx(60e-6 * 5.90e28)
    with pytest.raises(ValueError, match="fraction"):
        units.density_from_fraction(1.5, au.atomic_density_m3)


# SPEC section 8: nu per spin in 1e46 J^-1 m^-3, as tabulated there (two significant digits)
SPEC_TABLE = {"Cu": (8.47e28, 7.00, 1.57e6, 5.7), "Ag": (5.86e28, 5.49, 1.39e6, 5.0), "Au": (5.90e28, 5.53, 1.40e6, 5.0)}


@pytest.mark.parametrize("name", sorted(SPEC_TABLE))
def test_materials_match_the_spec_table(name):
    n, ef, vf, nu_1e46 = SPEC_TABLE[name]
    m = materials.material(name)
    assert (m.n_electron_m3, m.fermi_energy_eV, m.fermi_velocity_m_s) == (n, ef, vf)
    assert m.dos_per_spin_J_m3 / 1e46 == pytest.approx(nu_1e46, abs=0.05)  # the table's rounding
    # computed, not typed: nu per spin = 3n/(4 E_F)
    assert m.dos_per_spin_J_m3 == pytest.approx(3 * n / (4 * ef * units.ELECTRON_VOLT_J), rel=1e-15)
    assert "Ashcroft" in m.source
    # free-electron consistency: E_F = m v_F^2 / 2 within the tables' rounding (1%)
    electron_mass = 9.1093837015e-31
    assert 0.5 * electron_mass * vf**2 / units.ELECTRON_VOLT_J == pytest.approx(ef, rel=0.01)
    # and n = k_F^3/(3 pi^2) with k_F = m v_F / hbar
    k_f = electron_mass * vf / units.HBAR_J_S
    assert k_f**3 / (3 * math.pi**2) == pytest.approx(n, rel=0.02)


def test_material_lookup():
    assert materials.material("au") is materials.material("Au")
    m = materials.material("Cu")
    assert materials.material(m) is m
    with pytest.raises(ValueError, match="'Fe'.*known: Cu, Ag, Au"):
        materials.material("Fe")
    with pytest.raises(ValueError, match="fermi_energy_eV"):
        materials.Material("X", 1e28, -1.0, 1e6, "test")


@pytest.mark.parametrize("text", ["1 (um", "25 degC", "77 degF"])
def test_malformed_units_and_offset_scales_are_refused(text):
    from hotelectron.units import parse_quantity

    expected = "length" if "um" in text else "temperature"
    with pytest.raises(ValueError, match="field"):
        parse_quantity(text, expected, "field")


@pytest.mark.parametrize("text", ["0.0 m/0", "1 um**(1/0)", "2 K^(0/0)"])
def test_unit_text_that_divides_by_zero_is_refused(text):
    from hotelectron.units import parse_quantity

    expected = "temperature" if "K" in text else "length"
    with pytest.raises(ValueError, match="field"):
        parse_quantity(text, expected, "field")
