"""The spin-mediated electron-electron kernel of free spins (``mechanisms.spin_mediated``).

The channel table and the prefactor are checked against second-order amplitudes built from explicit
spin matrices (no commutator algebra), the conventions against the package's independently written
Kondo formulas, and the kernel on the grid against its limits (zero field, large transfers, the
suppression below Delta_Z), detailed balance, conservation, the Jacobian and the energy step.
"""

import math

import numpy as np
import pytest
from spin_reference import spin_matrices
from systems import fermi

from hotelectron.kinetics.collisions import Collisions
from hotelectron.kinetics.convolution import PATHS, collision_integral
from hotelectron.kinetics.grids import EnergyGrid
from hotelectron.kinetics.mechanisms import MECHANISMS, ElectronElectron, SpinMediatedScattering
from hotelectron.kinetics.mechanisms.spin_mediated import (
    POLE,
    SPIN_CHANGE,
    boltzmann_populations,
    channel_weights,
    kappa_per_s,
    kondo_exchange,
    spin_moments,
)
from hotelectron.materials import material
from hotelectron.transport.alloy import Alloy, exchange_coupling
from hotelectron.transport.regimes import spin_flip_time_s
from hotelectron.units import BOLTZMANN_J_PER_K, ELECTRON_VOLT_J, HBAR_J_S

PAULI = (np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]]))


# -- the independent route: second order in J from explicit spin matrices --------------------------
def explicit_rates(S, zeeman, loss, populations):
    """``{q: W_q}`` for ``H = S.sigma`` (J = 1): electron 1 loses ``loss``, the spin goes M -> M + q,
    ``W_q = sum_M p_M sum_{final, partner spins} (1/2) sum_{sigma_1} |A|^2`` with the amplitude of both
    orders of the two scatterings through every intermediate state, energies ``zeeman * M``."""
    Sv = spin_matrices(S)  # basis m = S, S-1, ..., -S
    m = np.arange(S, -S - 1, -1)
    one = np.eye(2)
    V1 = sum(np.kron(np.kron(Sv[a], PAULI[a]), one) for a in range(3))  # spin and electron 1
    V2 = sum(np.kron(np.kron(Sv[a], one), PAULI[a]) for a in range(3))  # spin and electron 2
    M = np.repeat(m, 4)
    # E_i - E_n: electron 1 first, ``loss + Z (M_i - M_n)``; electron 2 first, ``-gain + Z (M_i - M_n)``
    # with the partner's gain ``loss - Z (M_f - M_i)``, i.e. ``-loss + Z (M_f - M_n)``
    first = 1.0 / (loss + zeeman * (M[None, :] - M[:, None]))  # [n, i]
    second = 1.0 / (-loss + zeeman * (M[:, None] - M[None, :]))  # [f, n]
    A = np.einsum("fn,ni,ni->fi", V2, V1, first) + np.einsum("fn,ni,fn->fi", V1, V2, second)
    p = np.repeat(populations[::-1], 4)  # populations are given for M = -S..S
    q = np.rint(M[:, None] - M[None, :]).astype(int)
    weight = 0.5 * np.abs(A) ** 2 * p[None, :]
    return {k: float(weight[q == k].sum()) for k in (-1, 0, 1)}


SPINS = [0.5, 1.0, 1.5, 2.5, 3.5]


def random_populations(S, rng):
    p = rng.random(int(2 * S + 1))
    return p / p.sum()


@pytest.mark.parametrize("S", SPINS)
def test_channels_are_the_second_order_amplitudes_of_explicit_spin_matrices(S, rng):
    """For random populations, both signs of the field and losses on both sides of the poles, the
    channel table (weights u_c, poles, spin changes) times 4 S(S+1) (the J^4 spin sum for H = J S.sigma)
    equals the explicit sum over spin states, grouped by the spin change, to round-off."""
    for zeeman, loss in [(0.3, 0.7), (0.3, 0.29), (-0.4, 0.13), (1.0, -2.3), (0.0, 0.5)]:
        p = random_populations(S, rng)
        explicit = explicit_rates(S, zeeman, loss, p)
        u = channel_weights(S, p)
        for q in (-1, 0, 1):
            closed = sum(4 * S * (S + 1) * u[c] / (loss - POLE[c] * zeeman) ** 2
                         for c in range(6) if SPIN_CHANGE[c] == q)
            assert closed == pytest.approx(explicit[q], rel=1e-12, abs=1e-14 * max(explicit.values()))


def test_zero_field_prefactor_from_the_golden_rule_in_si_units():
    """kappa = 2 pi n_s nu^3 J^4 (E^2 W)/hbar, the golden rule with the explicit spin sum W (both
    electrons' spins, the spin averaged), for Ag with 1 ppm of S = 5/2 at T_K = 40 mK, E* = 0.1 meV,
    and nu J of the package's Kondo coupling (``transport.alloy.exchange_coupling``)."""
    host, S = material("Ag"), 2.5
    n_s = 1e-6 * host.atomic_density_m3
    nu = host.dos_per_spin_J_m3
    E_star_K = 0.1e-3 * ELECTRON_VOLT_J / BOLTZMANN_J_PER_K
    log = math.log(E_star_K / 0.04)
    nuJ = exchange_coupling(log)
    assert kondo_exchange(E_star_K, 0.04) == pytest.approx(nuJ, rel=1e-15)
    loss = 0.37  # any energy: W goes as 1/loss^2 at zero field
    W = sum(explicit_rates(S, 0.0, loss, np.full(6, 1 / 6)).values())
    J = nuJ / nu  # J in J m^3
    golden = 2 * math.pi * n_s * nu**3 * J**4 * W * loss**2 / HBAR_J_S
    assert kappa_per_s(n_s, S, nu, nuJ) == pytest.approx(golden, rel=1e-12)
    # (pi/2)(n_s/nu) S(S+1)/ln^4 per hbar: the leading-log form of the module docstring, ~1.2 per ns here
    assert golden == pytest.approx(math.pi / 2 * n_s / (HBAR_J_S * nu) * S * (S + 1) / log**4, rel=1e-12)
    assert 1e9 < golden < 1.3e9


def test_kappa_is_fixed_by_the_spin_flip_rate_at_large_logarithm():
    """kappa = (2 hbar nu / (pi n_s S(S+1))) (1/tau_s)^2 with the leading-log spin-flip rate: here from
    the package's Nagaoka-Hamann tau_s (an independent implementation of n_s/nu, hbar and the exchange
    convention) with its unitarity factor ln^2/(ln^2 + pi^2 S(S+1)) divided out."""
    for host, S, ppm in [("Ag", 2.5, 1.0), ("Au", 1.5, 30.0), ("Cu", 0.5, 0.3)]:
        alloy = Alloy(host, S, ppm, 0.04)
        T = 2.0
        log = math.log(T / 0.04)
        s2 = math.pi**2 * S * (S + 1)
        rate = 1.0 / spin_flip_time_s(alloy, T) * (log**2 + s2) / log**2
        nu = alloy.host.dos_per_spin_J_m3
        expected = 2 * HBAR_J_S * nu / (math.pi * alloy.n_s_m3 * S * (S + 1)) * rate**2
        assert kappa_per_s(alloy.n_s_m3, S, nu, kondo_exchange(T, 0.04)) == pytest.approx(expected, rel=1e-12)


# -- the kernel on the grid --------------------------------------------------------------------------
def collisions(mechanism, n=201, half_width=10.0, path="fft"):
    return Collisions(EnergyGrid(n, 2 * half_width / (n - 1)), (mechanism,), path)


def out_scale(c, f):
    return np.max(f * np.abs(c.kernel(None, c.electron_hole(f))).sum(axis=1)[:, None])


def test_registry_holds_the_spin_mediated_kernel():
    assert MECHANISMS["spin_mediated"] is SpinMediatedScattering
    assert SpinMediatedScattering(1.0, 2.5).conserves_energy
    assert not SpinMediatedScattering(1.0, 2.5, 3, 0.1).conserves_energy


@pytest.mark.parametrize("S, T_s", [(0.5, None), (2.5, 0.0), (3.5, 0.3)])
def test_zero_field_kernel_is_the_a2_kernel(S, T_s):
    """At Delta_Z = 0, whatever the spins' temperature: K[m] = kappa G(m d)/(d (m^2 - 1/4)), the exact cell
    integral of kappa/E^2, and ``ElectronElectron(kappa, 2)`` (whose m = +-1 weight carries its
    numerically summed second-order correction c(2) ~ 1e-13 instead of 0)."""
    kappa = 0.7
    c = collisions(SpinMediatedScattering(kappa, S, 0, T_s))
    f = np.stack([fermi(c.grid.values, 0.3), 0.5 * (fermi(c.grid.values, 0.02, 0.5) + fermi(c.grid.values, 0.02, -0.5))])
    G = c.electron_hole(f)
    K = c.kernel(None, G)
    n, d = c.grid.n, c.grid.step
    m = np.arange(-(n - 1), n)
    exact = np.where(m != 0, kappa * G / (d * (m * m - 0.25)), 0.0)
    assert np.max(np.abs(K[:, 1:-1] - exact)) <= 1e-14 * np.max(exact)
    assert not K[:, 0].any() and not K[:, -1].any()
    a2 = Collisions(c.grid, (ElectronElectron(kappa, 2.0),)).kernel(None, G)
    assert np.max(np.abs(K - a2)) <= 1e-12 * np.max(a2)


def test_large_transfers_recover_the_zero_field_kernel():
    """For |E| >> Delta_Z, T the field kernel tends to kappa G(E)/E^2, spins in their ground state: the
    first-order terms of the shifted pole and of the shifted partner G(E - Delta_Z) ~ E - Delta_Z cancel,
    and the deviation falls as (Delta_Z/E)^2 (fitted log-log slope within 0.1 of -2)."""
    z = 4
    c = collisions(SpinMediatedScattering(0.7, 2.5, z, 0.0), n=1601, half_width=40.0)
    f = fermi(c.grid.values, 0.05)[None]
    G = c.electron_hole(f)
    K = c.kernel(None, G)[0]
    d, n = c.grid.step, c.grid.n
    m = np.array([10, 20, 40, 80, 160]) * z
    zero_field = 0.7 * G[0, n - 1 + m] / (d * (m * m - 0.25))
    deviation = np.abs(K[n + m] / zero_field - 1)
    slope = np.polyfit(np.log(m), np.log(deviation), 1)[0]
    assert slope == pytest.approx(-2.0, abs=0.1)
    assert deviation[-1] < 1e-3


@pytest.mark.parametrize("populations, order", [(np.array([0.0, 0.0, 0.0, 1.0]), 1), (np.full(4, 0.25), 2)])
def test_channel_strengths_tend_to_the_zero_field_strength(populations, order):
    """``sum_c u_c E^2/(E - p_c)^2 -> 1`` for |E| >> Delta_Z (here Delta_Z = 1, S = 3/2): at first order in
    Delta_Z/E for polarised spins (the raising channels' pole shift alone), at second order for equal
    populations (the odd terms cancel between raising and lowering)."""
    u = channel_weights(1.5, populations)
    E = np.array([100.0, 200.0, 400.0, 800.0])
    deviation = np.abs(sum(u[c] * E**2 / (E - POLE[c]) ** 2 for c in range(6)) - 1)
    assert np.polyfit(np.log(E), np.log(deviation), 1)[0] == pytest.approx(-order, abs=0.1)


@pytest.mark.parametrize("S", [0.5, 2.5])
def test_kernel_is_suppressed_below_the_zeeman_energy(S):
    """Spins in their ground state, electrons cold (T = Delta_Z/40): for 0 < E << Delta_Z only the
    virtual flip-and-return channels remain, K(E) E^2/(kappa G(E)) -> (S/(S+1)) (E/Delta_Z)^2 instead of 1
    (on the grid E^2 is the cell's (m^2 - 1/4) d^2; the next order is about 3 (E/Delta_Z)^2 relative)."""
    z = 80
    c = collisions(SpinMediatedScattering(1.0, S, z, 0.0), n=1201, half_width=6.0)
    T = z * c.grid.step / 40
    f = fermi(c.grid.values, T)[None]
    G = c.electron_hole(f)
    K = c.kernel(None, G)[0]
    d, n = c.grid.step, c.grid.n
    m = np.arange(1, 5)
    ratio = K[n + m] * d * (m * m - 0.25) / G[0, n - 1 + m]
    leading = S / (S + 1) * (m * m - 0.25) / z**2
    assert np.all(np.abs(ratio / leading - 1) <= 4 * (m / z) ** 2)


def double_step(grid, bias):
    e = grid.values
    return (0.5 * (e < bias / 2) + 0.5 * (e < -bias / 2) + 0.25 * (np.isclose(e, bias / 2) + np.isclose(e, -bias / 2)))[None]


def test_relaxation_of_the_double_step_falls_as_inverse_square_field():
    """T = 0, spins in their ground state, the collisionless double step at bias 1: above
    Delta_Z = 2 eU no pair of electrons can flip a spin (the spin-flip channels give exactly nothing) and
    the rate of change of f falls as (eU/Delta_Z)^2 (log-log slope within 0.1 of -2)."""
    grid = EnergyGrid(801, 0.025)
    f = double_step(grid, 1.0)
    norms = []
    zs = [100, 200, 400, 800]  # Delta_Z = 2.5 ... 20 eU
    for z in zs:
        mechanism = SpinMediatedScattering(1.0, 2.5, z, 0.0)
        c = Collisions(grid, (mechanism,), "direct")
        G = c.electron_hole(f)
        flips = mechanism.channel_kernel(grid, G, range(4))
        assert np.max(np.abs(collision_integral(f, flips, "direct"))) == 0.0
        norms.append(np.sum(np.abs(c.integral(f))) * grid.step)
    slope = np.polyfit(np.log(zs), np.log(norms), 1)[0]
    assert slope == pytest.approx(-2.0, abs=0.1)


def test_curves_with_the_same_zeeman_over_bias_collapse():
    """a = 2 at T = 0: with Delta_Z/eU fixed and grids scaled with the bias, the collision integral is
    the same function of eps/eU (field on, spins in their ground state) to round-off."""
    out = []
    for bias in (1.0, 3.0):
        grid = EnergyGrid(401, 0.02 * bias)
        c = Collisions(grid, (SpinMediatedScattering(0.5, 1.5, 30, 0.0),))
        out.append(c.integral(double_step(grid, bias)))
    assert np.max(np.abs(out[0] - out[1])) <= 1e-12 * np.max(np.abs(out[0]))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("S", [0.5, 1.5, 2.5])
@pytest.mark.parametrize("z", [-4, 0, 3])
def test_fermi_with_boltzmann_spins_is_an_exact_fixed_point(S, z, path):
    T = 0.2  # the grid edge at 10 = 50 T puts the truncation below round-off
    c = collisions(SpinMediatedScattering(0.7, S, z, T), path=path)
    f = np.stack([fermi(c.grid.values, T), fermi(c.grid.values, T, mu=0.3)])
    assert np.max(np.abs(c.integral(f))) <= 1e-13 * out_scale(c, f)


def out_rates(K, f, step):
    """``d sum_i f_i sum_m K[m](1 - f_{i-m})``, O(N^2) per position, f = 1 below the grid and 0 above."""
    nx, n = f.shape
    out = np.zeros(nx)
    for x in range(nx):
        padded = np.concatenate([np.ones(n), f[x], np.zeros(n + 1)])  # index i + n
        for i in range(n):
            m = np.arange(-n, n + 1)
            out[x] += step * f[x, i] * np.sum(K[x, n + m] * (1 - padded[n + i - m]))
    return out


@pytest.mark.parametrize("z", [0, 6, -9])
def test_particles_and_energy_balance_with_the_spins(z):
    """Away from equilibrium (a smoothed double step, spins at the bath temperature): particles are
    conserved; the electrons' energy changes only by what the spin flips exchange with the spins,
    Delta_Z (rate up - rate down), the flips counted once from the electron that keeps its spin
    (channels 1-2) and once from the one that flips (channels 3-4): three routes agree to round-off."""
    grid = EnergyGrid(241, 16.0 / 240)
    e = grid.values
    f = 0.5 * (fermi(e, 0.05, 0.5) + fermi(e, 0.05, -0.5))[None]
    mechanism = SpinMediatedScattering(0.9, 1.5, z, 0.05)
    c = Collisions(grid, (mechanism,), "direct")
    I = c.integral(f)
    G = c.electron_hole(f)
    gross = grid.step * np.sum(f * np.abs(c.kernel(None, G)).sum(axis=1)[:, None])
    assert abs(grid.step * np.sum(I)) <= 1e-13 * gross
    heat = c.bath_heat(f)[0]  # = sum_i eps_i I_i d

    def flips(channel):
        return out_rates(mechanism.channel_kernel(grid, G, [channel]), f, grid.step)[0]

    zeeman = z * grid.step
    by_keeper = zeeman * (flips(0) - flips(1))
    by_flipper = zeeman * (flips(2) - flips(3))
    energy_scale = grid.step * np.sum(np.abs(e * I))
    if z == 0:
        assert abs(heat) <= 1e-13 * energy_scale
    else:
        assert abs(heat) > 1e-2 * energy_scale
        assert heat == pytest.approx(by_keeper, rel=1e-12)
        assert heat == pytest.approx(by_flipper, rel=1e-12)


def test_direct_and_fft_paths_agree(rng):
    grid = EnergyGrid(301, 8.0 / 300)
    mechanism = SpinMediatedScattering(0.4, 2.5, 7, 0.1)
    f = np.clip(fermi(grid.values, 0.1)[None] + 0.05 * rng.random((3, grid.n)), 0, 1)
    direct = Collisions(grid, (mechanism,), "direct").integral(f)
    fft = Collisions(grid, (mechanism,), "fft").integral(f)
    assert np.max(np.abs(direct - fft)) <= 1e-12 * out_scale(Collisions(grid, (mechanism,)), f)


@pytest.mark.parametrize("path", PATHS)
def test_jacobian_products_are_exact(path, rng):
    """The kernel is linear in G (the spins are held), so the collision integral is cubic in f and the
    Richardson extrapolation of two centred differences is exact: the products must equal it."""
    grid = EnergyGrid(161, 8.0 / 160)
    c = Collisions(grid, (SpinMediatedScattering(0.5, 1.5, 6, 0.1),), path)
    f = 0.05 + 0.85 * fermi(grid.values, 0.1)[None] + 0.05 * rng.random((2, grid.n))
    v = rng.standard_normal(f.shape)
    _, _, lin = c.linearise(f)
    exact = c.jvp(lin, v)[0]

    def centred(h):
        return (c.rhs(f + h * v)[0] - c.rhs(f - h * v)[0]) / (2 * h)

    h = 1e-2
    extrapolated = (4 * centred(h / 2) - centred(h)) / 3
    assert np.max(np.abs(exact - extrapolated)) <= 1e-10 * np.max(np.abs(exact))


def test_collision_integral_converges_at_second_order_in_the_energy_step():
    """A smoothed double step (T = 0.1, bias 1) with Delta_Z = 0.3 and spins at T: the pole cells'
    finite part keeps the rule second order (fitted slope within 0.1 of 2 over four halvings)."""
    values, steps = [], []
    probe = np.array([-0.6, -0.3, 0.0, 0.2, 0.45, 0.9])
    for d in (0.05, 0.025, 0.0125, 0.00625):
        n = int(round(8.0 / d)) + 1
        grid = EnergyGrid(n, d)
        e = grid.values
        f = 0.5 * (fermi(e, 0.1, 0.5) + fermi(e, 0.1, -0.5))[None]
        c = Collisions(grid, (SpinMediatedScattering(1.0, 2.5, int(round(0.3 / d)), 0.1),))
        I = c.integral(f)[0]
        values.append(I[[grid.index_of(p) for p in probe]])
        steps.append(d)
    differences = [np.max(np.abs(values[k] - values[k + 1])) for k in range(3)]
    slope = np.polyfit(np.log(steps[:3]), np.log(differences), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.1)
    assert differences[-1] <= 1e-3 * np.max(np.abs(values[-1]))


# -- inputs ------------------------------------------------------------------------------------------
def test_populations_and_moments():
    p = boltzmann_populations(2.5, 0.3, 0.2)
    M = np.arange(-2.5, 3.0)
    np.testing.assert_allclose(p[1:] / p[:-1], np.exp(-0.3 / 0.2), rtol=1e-13)
    up, down, zz = spin_moments(2.5, p)
    assert down == pytest.approx(np.exp(-0.3 / 0.2) * up, rel=1e-13)  # detailed balance of the flips
    assert up + down + 2 * zz == pytest.approx(2 * 2.5 * 3.5, rel=1e-14)
    assert zz == pytest.approx(np.sum(p * M**2), rel=1e-14)
    ground = boltzmann_populations(1.5, -0.2, 0.0)
    assert ground[-1] == 1.0 and ground.sum() == 1.0  # negative field: M = +S lowest
    np.testing.assert_allclose(boltzmann_populations(1.0, 0.0, 0.0), 1 / 3)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"kappa": -1.0, "S": 0.5}, "kappa"), ({"kappa": float("nan"), "S": 0.5}, "kappa"),
     ({"kappa": 1.0, "S": 0.3}, "spin"), ({"kappa": 1.0, "S": 0.5, "zeeman_steps": 2.5}, "zeeman_steps"),
     ({"kappa": 1.0, "S": 0.5, "zeeman_steps": 3}, "spin_temperature"),
     ({"kappa": 1.0, "S": 0.5, "zeeman_steps": 3, "spin_temperature": -0.1}, "spin_temperature")],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SpinMediatedScattering(**kwargs)


def test_bad_physical_inputs():
    with pytest.raises(ValueError, match="ln"):
        kondo_exchange(0.1, 0.05)  # ln 2 < 1
    with pytest.raises(ValueError, match="kondo_temperature_K"):
        kondo_exchange(1.0, 0.0)
    with pytest.raises(ValueError, match="n_s_m3"):
        kappa_per_s(-1.0, 0.5, 5e46, 0.1)
    with pytest.raises(ValueError, match="sum to 1"):
        spin_moments(0.5, [0.3, 0.3])
    with pytest.raises(ValueError, match="2 finite"):
        spin_moments(0.5, [0.3, 0.3, 0.4])
