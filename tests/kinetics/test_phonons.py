import math

import numpy as np
import pytest
from scipy import integrate
from systems import fermi

from hotelectron.kinetics.collisions import Collisions
from hotelectron.kinetics.convolution import PATHS
from hotelectron.kinetics.grids import CouplingGrid, EnergyGrid
from hotelectron.kinetics.mechanisms import MECHANISMS, ElectronElectron, ElectronPhonon, PairScattering
from hotelectron.kinetics.mechanisms.phonons import (
    kappa_from_sigma,
    power_constant,
    power_per_volume,
    sigma_from_kappa,
)
from hotelectron.materials import material
from hotelectron.units import BOLTZMANN_J_PER_K


def box(mechanisms, n=1601, half_width=4.0, path="fft"):
    return Collisions(EnergyGrid(n, 2 * half_width / (n - 1)), tuple(mechanisms), path)


def test_registry_holds_the_phonons():
    assert MECHANISMS["phonons"] is ElectronPhonon
    assert not ElectronPhonon(1.0, 0.1).conserves_energy and ElectronElectron(1.0).conserves_energy


def test_power_constant_is_gamma_zeta_and_24_zeta5_for_p2():
    """Gamma(p+3) zeta(p+3) against the integral int x^(p+2)/(e^x - 1) dx, and 24 zeta(5) for p = 2."""
    for p in (1.0, 2.0, 3.0):
        value = integrate.quad(lambda x: x ** (p + 2) / math.expm1(x) if x > 0 else 0.0, 0, 200, limit=200)[0]
        assert power_constant(p) == pytest.approx(value, rel=1e-10)
    assert power_constant(2.0) == pytest.approx(24 * 1.0369277551433699, rel=1e-14)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("T_e, T_ph, p", [(0.1, 0.05, 2.0), (0.1, 0.0, 2.0), (0.05, 0.1, 2.0), (0.1, 0.04, 3.0)])
def test_power_of_fermi_electrons_is_the_gamma_zeta_law(T_e, T_ph, p, path):
    """The kernel summed on the grid against a Fermi f at T_e gives 2 nu kappa Gamma(p+3) zeta(p+3)
    (T_e^(p+3) - T_ph^(p+3)) (SPEC section 9) to 1e-6: the phonons take the energy, the electrons'
    number is kept."""
    kappa = 0.7
    c = box([ElectronPhonon(kappa, T_ph, p)], path=path)
    f = fermi(c.grid.values, T_e)[None]
    power = c.bath_heat(f)[0]
    assert power == pytest.approx(power_per_volume(kappa, p, T_e, T_ph), rel=1e-6)
    dwe, _ = c.energy_rates(f)
    assert dwe[0] == pytest.approx(-power, rel=1e-12)
    particles = c.grid.step * np.sum(c.integral(f))
    gross = c.grid.step * np.sum(f * (1 - f) * c.kernel(None, c.electron_hole(f)).sum(axis=1)[:, None])
    assert abs(particles) <= 1e-13 * gross


def test_sigma_conversion_reproduces_the_t5_law_in_si_units():
    """Sigma -> kappa_ph (SI) -> the kernel on a grid in meV -> the power per volume in W/m^3 equals
    Sigma (T_e^5 - T_ph^5): the conversion by an independent, numerical route."""
    host = material("Ag")
    sigma = host.electron_phonon_sigma_W_K5_m3
    nu = host.dos_per_spin_J_m3
    kappa_si = kappa_from_sigma(sigma, nu)
    assert sigma_from_kappa(kappa_si, nu) == pytest.approx(sigma, rel=1e-14)
    E0 = BOLTZMANN_J_PER_K * 1.0  # energies in units of k_B * 1 K, times in seconds
    T_e, T_ph = 0.3, 0.1  # K
    c = box([ElectronPhonon(kappa_si * E0**3, T_ph)], n=2001, half_width=12.0)
    f = fermi(c.grid.values, T_e)[None]
    watts_per_m3 = c.bath_heat(f)[0] * 2 * nu * E0**2  # unit 2 nu E0^2 / s
    assert watts_per_m3 == pytest.approx(sigma * (T_e**5 - T_ph**5), rel=1e-6)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("S", [0.5, 1.5, 2.5])
def test_fermi_with_gibbs_pairs_and_phonons_at_t_is_an_exact_fixed_point(S, path):
    T = 0.2
    n = 201
    grid = EnergyGrid(n, 20.0 / (n - 1))
    pairs = PairScattering(S, 1.0, 3.0, CouplingGrid(grid.step, grid.step / 2, (n - 1) // 2))
    c = Collisions(grid, (pairs, ElectronElectron(0.7, 1.5), ElectronPhonon(0.9, T)), path)
    f = np.repeat(fermi(grid.values, T)[None], 2, axis=0)
    P = pairs.gibbs(2, T)
    dfdt, dP = c.rhs(f, P)
    G = c.electron_hole(f)
    out_scale = np.max(f * c.kernel(P, G).sum(axis=1)[:, None])
    assert np.max(np.abs(dfdt)) <= 1e-13 * out_scale
    assert np.max(np.abs(c.integral(f, P, G, [c.mechanisms[2]]))) <= 1e-13 * out_scale
    assert np.max(np.abs(dP)) <= 1e-13 * pairs.relaxation * np.max(G) * S * (S + 1)


def test_direct_and_fft_paths_agree_with_phonons(rng):
    n = 301
    grid = EnergyGrid(n, 8.0 / (n - 1))
    mechanisms = (ElectronElectron(0.3, 1.5), ElectronPhonon(1.3, 0.07, 2.0))
    f = np.clip(fermi(grid.values, 0.1)[None] + 0.05 * rng.random((3, n)), 0, 1)
    direct = Collisions(grid, mechanisms, "direct").rhs(f)[0]
    fft = Collisions(grid, mechanisms, "fft").rhs(f)[0]
    G = Collisions(grid, mechanisms).electron_hole(f)
    scale = np.max(Collisions(grid, mechanisms).kernel(None, G).sum(axis=1))
    assert np.max(np.abs(direct - fft)) <= 1e-12 * scale


@pytest.mark.parametrize("path", PATHS)
def test_jacobian_products_with_phonons_are_exact(path, rng):
    """The phonon kernel does not depend on f and the e-e term is cubic in f, so the Richardson
    extrapolation of two centred differences is exact: the products must equal it to round-off."""
    n = 161
    grid = EnergyGrid(n, 8.0 / (n - 1))
    c = Collisions(grid, (ElectronElectron(0.3, 1.5), ElectronPhonon(2.0, 0.05)), path)
    # away from 0 and 1, so that G stays positive along the differences (the FFT path clips it at 0)
    f = 0.05 + 0.85 * fermi(grid.values, 0.1)[None] + 0.05 * rng.random((2, n))
    v = rng.standard_normal(f.shape)
    _, _, lin = c.linearise(f)
    exact = c.jvp(lin, v)[0]
    def centred(h):
        return (c.rhs(f + h * v)[0] - c.rhs(f - h * v)[0]) / (2 * h)

    h = 1e-2
    extrapolated = (4 * centred(h / 2) - centred(h)) / 3
    assert np.max(np.abs(exact - extrapolated)) <= 1e-10 * np.max(np.abs(exact))


def test_kernel_obeys_detailed_balance_at_the_phonon_temperature():
    T = 0.05
    grid = EnergyGrid(201, 0.01)
    K = ElectronPhonon(1.0, T).compact_kernel(grid)
    m = np.arange(1, grid.n)
    emission, absorption = K[grid.n + m], K[grid.n - m]
    np.testing.assert_allclose(absorption, emission * np.exp(-m * grid.step / T), rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"kappa": -1.0, "temperature": 0.1}, "kappa"), ({"kappa": 1.0, "temperature": -0.1}, "temperature"),
     ({"kappa": 1.0, "temperature": 0.1, "exponent": 0.5}, "exponent"),
     ({"kappa": float("nan"), "temperature": 0.1}, "kappa")],
)
def test_bad_phonon_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ElectronPhonon(**kwargs)
