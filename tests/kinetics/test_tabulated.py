"""The tabulated kernel: the e-e kernel of a power-law table, detailed balance, conservation, the bath
form against the phonons, the interpolation error and the derivatives by the node values."""

import math

import numpy as np
import pytest
from systems import fermi

from hotelectron import spin
from hotelectron.kinetics.collisions import Collisions
from hotelectron.kinetics.convolution import PATHS
from hotelectron.kinetics.grids import EnergyGrid
from hotelectron.kinetics.mechanisms import MECHANISMS, ElectronElectron, ElectronPhonon, TabulatedKernel
from hotelectron.kinetics.mechanisms.tabulated import log_interpolation


def box(mechanism, n=401, half_width=10.0, path="fft"):
    return Collisions(EnergyGrid(n, 2 * half_width / (n - 1)), (mechanism,), path)


def double_step(e, T=0.1):
    return ((fermi(e, T, 1.0) + fermi(e, T, -1.0)) / 2)[None]


def power_law_table(kappa, a, energies, bath_temperature=None):
    energies = np.asarray(energies, dtype=float)
    return TabulatedKernel(tuple(energies), tuple(np.log(kappa) - a * np.log(energies)), bath_temperature)


def random_table(rng, bath_temperature=None, nodes=7):
    """A kernel falling roughly as E^-1.7 with random wiggles, nodes from below the step to beyond the grid."""
    energies = np.geomspace(0.02, 30.0, nodes)
    theta = np.log(0.5) - 1.7 * np.log(energies) + 0.4 * rng.standard_normal(nodes)
    return TabulatedKernel(tuple(energies), tuple(theta), bath_temperature)


def test_registry_holds_the_tabulated_kernel():
    assert MECHANISMS["tabulated"] is TabulatedKernel
    table = TabulatedKernel((0.1, 1.0), (0.0, -1.0))
    assert table.conserves_energy and not TabulatedKernel((0.1, 1.0), (0.0, -1.0), 0.1).conserves_energy


@pytest.mark.parametrize("a", [1.1, 1.5, 2.0, 2.5])
@pytest.mark.parametrize("energies", [(0.013, 0.2, 3.7, 37.0), (2.0, 5.0)], ids=["spanning", "two-nodes-inside"])
def test_a_power_law_table_is_the_electron_electron_kernel(a, energies):
    """Sampling kappa |E|^-a at any nodes, the table gives ElectronElectron's kernel (cell integrals
    and the centre correction) and collision integral to round-off. The bound 1e-12 is that of
    ElectronElectron's closed form (lo^(1-a) - hi^(1-a))/(a - 1), which loses ~eps m/|a - 1| ~ 2e-13
    at a = 1.1 over 200 cells."""
    kappa = 0.7
    reference, table = box(ElectronElectron(kappa, a)), box(power_law_table(kappa, a, energies))
    f = double_step(reference.grid.values)
    G = reference.electron_hole(f)
    K_ref, K_tab = reference.kernel(None, G), table.kernel(None, G)
    assert np.max(np.abs(K_tab - K_ref)) <= 1e-12 * np.max(K_ref)
    I_ref, I_tab = reference.integral(f), table.integral(f)
    assert np.max(np.abs(I_tab - I_ref)) <= 1e-12 * np.max(f * K_ref.sum(axis=1)[:, None])


@pytest.mark.parametrize("cutoff", [0.0, 0.33])
def test_a_cutoff_clips_the_cells_exactly(cutoff):
    """With a cutoff c the cell weights are the exact integrals of kappa E^-a over ``[max(lo, c), hi]``
    (zero below c; no centre correction, the kernel vanishing near 0), to round-off; without one they
    are ElectronElectron's (centre correction included)."""
    kappa, a, step = 0.7, 1.5, 0.05
    grid = EnergyGrid(201, step)
    table = TabulatedKernel((0.1, 1.0, 5.0), tuple(np.log(kappa * np.array([0.1, 1.0, 5.0]) ** -a)), cutoff=cutoff)
    m = np.arange(1, grid.n)
    hi = (m + 0.5) * step
    lo = np.minimum(np.maximum((m - 0.5) * step, cutoff), hi)
    exact = kappa * (lo ** (1 - a) - hi ** (1 - a)) / (a - 1)
    if cutoff == 0:
        exact = ElectronElectron(kappa, a).cell_weights(grid)[grid.n:] * kappa
    np.testing.assert_allclose(table.cell_weights(grid), exact, rtol=1e-12, atol=0)
    assert np.all(table.cell_weights(grid)[hi <= cutoff] == 0)


@pytest.mark.parametrize("bath_temperature", [None, 0.3])
def test_fixed_points_hold_with_a_cutoff(bath_temperature, rng):
    table = random_table(rng, bath_temperature)
    c = box(TabulatedKernel(table.energies, table.log_values, bath_temperature, cutoff=0.37))
    f = fermi(c.grid.values, 0.3, 0.2)[None]
    G = c.electron_hole(f)
    assert np.max(np.abs(c.integral(f, None, G))) <= 1e-13 * np.max(f * c.kernel(None, G).sum(axis=1)[:, None])


@pytest.mark.parametrize("path", PATHS)
def test_any_fermi_function_is_a_fixed_point_of_the_electron_partner(path, rng):
    c = box(random_table(rng), path=path)
    for T, mu in [(0.3, 0.4), (0.05, -1.0), (0.2, 0.0)]:  # edges beyond 30 T: truncation below round-off
        f = fermi(c.grid.values, T, mu)[None]
        G = c.electron_hole(f)
        scale = np.max(f * c.kernel(None, G).sum(axis=1)[:, None])
        assert np.max(np.abs(c.integral(f, None, G))) <= 1e-13 * scale


@pytest.mark.parametrize("path", PATHS)
def test_the_bath_fixes_the_fermi_function_at_its_own_temperature_only(path, rng):
    T_b = 0.3
    c = box(random_table(rng, bath_temperature=T_b), path=path)
    for mu in (0.0, 0.7):
        f = fermi(c.grid.values, T_b, mu)[None]
        G = c.electron_hole(f)
        scale = np.max(f * c.kernel(None, G).sum(axis=1)[:, None])
        assert np.max(np.abs(c.integral(f, None, G))) <= 1e-13 * scale
    hot = fermi(c.grid.values, 2 * T_b)[None]  # a hotter Fermi sea is not at rest: it cools
    assert np.max(np.abs(c.integral(hot))) > 1e-3 * np.max(hot * c.kernel(None, c.electron_hole(hot)).sum(axis=1)[:, None])


def test_the_bath_kernel_obeys_detailed_balance_at_the_bath_temperature(rng):
    T_b = 0.2
    c = box(random_table(rng, bath_temperature=T_b))
    K = c.kernel(None, c.electron_hole(double_step(c.grid.values)))[0]
    n, m = c.grid.n, np.arange(1, c.grid.n)
    np.testing.assert_allclose(K[n - m], K[n + m] * np.exp(-m * c.grid.step / T_b), rtol=1e-12)


def test_the_electron_partner_conserves_particles_and_energy(rng):
    c = box(random_table(rng))
    e = c.grid.values
    f = double_step(e)
    I = c.integral(f)
    dwe, _ = c.energy_rates(f)
    scale = c.grid.step * np.sum(np.abs(e) * f * c.kernel(None, c.electron_hole(f)).sum(axis=1))
    assert abs(dwe[0]) <= 1e-13 * scale
    assert abs(I.sum()) <= 1e-13 * np.max(np.abs(I)) * I.size


def test_a_cold_bath_conserves_particles_and_takes_the_energy_of_hot_electrons(rng):
    c = box(random_table(rng, bath_temperature=0.02))
    f = double_step(c.grid.values)
    I = c.integral(f)
    assert abs(I.sum()) <= 1e-13 * np.max(np.abs(I)) * I.size
    dwe, _ = c.energy_rates(f)
    assert dwe[0] < 0 and c.bath_heat(f)[0] == pytest.approx(-dwe[0], rel=1e-12)


def phonon_and_table_integrals(n, kappa, T, p):
    grid = EnergyGrid(n, 8.0 / (n - 1))
    e = grid.values
    f = (fermi(e, 0.3) + 0.05 * np.exp(-(((e - 0.5) / 0.3) ** 2)))[None]
    phonons = Collisions(grid, (ElectronPhonon(kappa, T, p),))
    I_tab = Collisions(grid, (power_law_table(kappa, 1 - p, [0.1, 1.0], bath_temperature=T),)).integral(f)[0]
    out_scale = np.max(f * phonons.kernel(None, phonons.electron_hole(f)).sum(axis=1)[:, None])
    return grid, phonons.integral(f)[0], I_tab, out_scale


def test_a_bath_table_of_kappa_E_is_the_3d_phonon_kernel():
    """``K = kappa_ph |E|^(p-1)`` with a bath at T_ph is the phonon kernel (SPEC section 9). For p = 2
    the cell integral of K = kappa E is exactly the point value times the step (the phonons' rule):
    equal to round-off."""
    _, I_ph, I_tab, out_scale = phonon_and_table_integrals(401, 0.9, 0.2, 2.0)
    assert np.max(np.abs(I_tab - I_ph)) <= 1e-13 * out_scale


def test_a_bath_table_of_kappa_E_squared_converges_to_the_p3_phonon_kernel():
    """For p = 3 the two rules differ (cell integral of E^2 against the point value: d^3/12 per cell),
    so the collision integrals at fixed energies converge to each other at second order in the step."""
    points = np.array([-0.6, 0.0, 0.5, 1.0])
    differences, steps = [], []
    for n in (161, 321, 641, 1281):
        grid, I_ph, I_tab, _ = phonon_and_table_integrals(n, 0.9, 0.2, 3.0)
        index = [grid.index_of(x) for x in points]
        differences.append(np.max(np.abs(I_tab[index] - I_ph[index])) / np.max(np.abs(I_ph)))
        steps.append(grid.step)
    slope = np.polyfit(np.log(steps), np.log(differences), 1)[0]
    assert abs(slope - 2) < 0.1, slope
    assert differences[-1] < 1e-4


def chi_over_G(E, T):
    """The symmetric kernel chi(E)/G_T(E) of S = 1/2 pairs at T (T_sg = 1): the table's form of VGL (72)."""
    E = np.abs(E)
    return spin.chi(E, 0.5, T, 1.0) * -np.expm1(-E / T) / E


def test_the_interpolation_error_is_bounded_and_second_order_in_the_node_spacing():
    """The table of chi/G_T (curved in log-log near E ~ T) at node spacings h in ln E: every cell
    weight (m >= 2; w_1 also holds the centre correction) is within the interpolation bound
    ``exp(h^2/8 max |d^2 ln K/d(ln E)^2|) - 1`` of the exact cell integral (Gauss-Legendre, 20 points
    per cell), and the largest error falls as h^2 (slope within 0.1)."""
    T, step = 0.25, 0.05
    grid = EnergyGrid(201, step)
    m = np.arange(2, grid.n)
    x, wx = np.polynomial.legendre.leggauss(20)
    E = m[:, None] * step + 0.5 * step * x[None, :]
    exact = 0.5 * step * (chi_over_G(E, T) @ wx)
    u = np.linspace(math.log(0.5 * step), math.log(grid.half_width + step), 4001)
    curvature = np.max(np.abs(np.diff(np.log(chi_over_G(np.exp(u), T)), 2))) / (u[1] - u[0]) ** 2
    errors, spacings = [], []
    for nodes in (9, 17, 33, 65):
        energies = np.geomspace(0.5 * step, grid.half_width + step, nodes)
        h = math.log(energies[1] / energies[0])
        table = TabulatedKernel(tuple(energies), tuple(np.log(chi_over_G(energies, T))))
        error = np.max(np.abs(table.cell_weights(grid)[m - 1] / exact - 1))
        assert error <= math.expm1(h**2 / 8 * curvature), (nodes, error)
        errors.append(error)
        spacings.append(h)
    slope = np.polyfit(np.log(spacings), np.log(errors), 1)[0]
    assert abs(slope - 2) < 0.1, slope


def test_log_interpolation_is_exact_at_the_nodes_and_continues_the_end_power_laws():
    energies = (0.1, 1.0, 4.0)
    Phi = log_interpolation(energies, [0.1, 1.0, 4.0, -1.0, 0.01, 40.0])
    np.testing.assert_allclose(Phi[:4], np.eye(3)[[0, 1, 2, 1]], atol=1e-15)
    table = TabulatedKernel(energies, (2 * math.log(10.0), 0.0, -1.5 * math.log(4.0)))  # E^-2, then E^-1.5
    np.testing.assert_allclose(table.values([0.01, 0.5, 2.0, 40.0]), [0.01**-2, 0.5**-2, 2.0**-1.5, 40.0**-1.5],
                               rtol=1e-13)


@pytest.mark.parametrize("bath_temperature", [None, 0.2])
def test_kernel_derivatives_by_the_node_values(bath_temperature, rng):
    """``add_kernel_derivative`` against centred differences of the kernel: the error of those falls as
    the square of the step (the derivative of the centre correction is itself a difference, good to
    ~1e-8 of that term), so at step 1e-3 the two agree to 1e-5 of the largest entry."""
    table = random_table(rng, bath_temperature, nodes=6)
    c = box(table, n=201)
    G = c.electron_hole(double_step(c.grid.values))
    theta = np.array(table.log_values)
    for j in range(table.size):
        exact = np.zeros((1, 2 * c.grid.n + 1))
        table.add_kernel_derivative(c.grid, G, np.eye(table.size)[j], exact)
        h = 1e-3
        kernels = []
        for sign in (1, -1):
            shifted = theta.copy()
            shifted[j] += sign * h
            kernels.append(box(TabulatedKernel(table.energies, tuple(shifted), bath_temperature), n=201).kernel(None, G))
        centred = (kernels[0] - kernels[1]) / (2 * h)
        assert np.max(np.abs(exact - centred)) <= 1e-5 * np.max(np.abs(exact)), j


@pytest.mark.parametrize("path", PATHS)
def test_jacobian_products_with_a_tabulated_kernel_are_exact(path, rng):
    """The electron-partner kernel is linear in G (bilinear in f), so the integral is cubic in f and
    the Richardson extrapolation of two centred differences is exact."""
    n = 161
    grid = EnergyGrid(n, 8.0 / (n - 1))
    c = Collisions(grid, (random_table(rng),), path)
    f = 0.05 + 0.85 * fermi(grid.values, 0.1)[None] + 0.05 * rng.random((2, n))
    v = rng.standard_normal(f.shape)
    _, _, lin = c.linearise(f)
    exact = c.jvp(lin, v)[0]

    def centred(h):
        return (c.rhs(f + h * v)[0] - c.rhs(f - h * v)[0]) / (2 * h)

    extrapolated = (4 * centred(5e-3) - centred(1e-2)) / 3
    assert np.max(np.abs(exact - extrapolated)) <= 1e-10 * np.max(np.abs(exact))


@pytest.mark.parametrize("kwargs, match", [
    ({"energies": (1.0,), "log_values": (0.0,)}, "at least two"),
    ({"energies": (1.0, 0.5), "log_values": (0.0, 0.0)}, "increasing"),
    ({"energies": (0.0, 0.5), "log_values": (0.0, 0.0)}, "positive"),
    ({"energies": (0.1, 0.5), "log_values": (0.0,)}, "log_values"),
    ({"energies": (0.1, 0.5), "log_values": (0.0, float("nan"))}, "log_values"),
    ({"energies": (0.1, 0.5), "log_values": (0.0, 1.0), "bath_temperature": -0.1}, "bath_temperature"),
    ({"energies": (0.1, 0.5), "log_values": (0.0, 1.0), "cutoff": -1.0}, "cutoff"),
])
def test_bad_tables_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TabulatedKernel(**kwargs)
