import numpy as np
import pytest
from systems import fermi, system

from hotelectron import spin
from hotelectron.kinetics.convolution import PATHS
from hotelectron.kinetics.mechanisms import MECHANISMS, ElectronElectron

SPINS = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]


def out_scale(c, f, P, G, mechanisms):
    return np.max(f * c.kernel(P, G, mechanisms).sum(axis=1)[:, None])


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("S", SPINS)
def test_fermi_function_with_gibbs_pairs_is_an_exact_fixed_point(S, path):
    T = 0.2  # the grid edge at 10 = 50 T puts the truncation below round-off
    c = system(S=S, path=path, n=201)
    f = np.repeat(fermi(c.grid.values, T)[None], 2, axis=0)
    P = c.pairs.gibbs(2, T)
    assert np.any(c.pairs.couplings.values < 0) and np.any(c.pairs.couplings.values > 0)
    G = c.electron_hole(f)
    for mechanism in c.mechanisms:
        I = c.integral(f, P, G, [mechanism])
        assert np.max(np.abs(I)) <= 1e-13 * out_scale(c, f, P, G, [mechanism])
    dP = c.pair_rates(f, P, G)
    pair_scale = c.pairs.relaxation * np.max(G) * S * (S + 1)
    assert np.max(np.abs(dP)) <= 1e-13 * pair_scale


@pytest.mark.parametrize("exponent", [1.5, 2.0])
def test_electron_electron_fixed_point_at_other_potential_and_temperature(exponent):
    c = system(rate=None, exponent=exponent, n=301)
    f = fermi(c.grid.values, 0.3, mu=0.4)[None]
    G = c.electron_hole(f)
    I = c.integral(f, None, G)
    assert np.max(np.abs(I)) <= 1e-13 * out_scale(c, f, None, G, c.mechanisms)


@pytest.mark.parametrize("S", SPINS)
def test_pair_kernel_with_gibbs_pairs_converges_to_chi_for_any_spin(S):
    """For any S the V-grid kernel, a comb of transfers k (eps_J' - eps_J), tends to chi(E) dE in the
    weak sense: its sum against a smooth test function converges at second order to the integral
    with spin.chi (closed forms, an independent implementation)."""
    from scipy import integrate

    T, rate, centre = 0.3, 0.8, 1.0

    def bump(e):  # 2e-9 at the edges of the window |e - centre| < 0.9
        return np.exp(-(((e - centre) / 0.2) ** 2))

    for sign in (-1, 1):
        exact = rate * integrate.quad(
            lambda e: spin.chi(e, S, T, 1.0) * bump(sign * e), sign * centre - 0.9, sign * centre + 0.9, epsrel=1e-12
        )[0]
        errors, steps = [], []
        for n in (401, 801, 1601):
            c = system(S=S, kappa=None, n=n, half_width=4.0, rate=rate)
            K = c.kernel(c.pairs.gibbs(1, T), None)[0]
            M = (K.size - 1) // 2
            E = np.arange(-M, M + 1) * c.grid.step
            window = np.abs(sign * E - centre) < 0.9
            errors.append(abs(np.sum((K * bump(sign * E))[window]) / exact - 1))
            steps.append(c.grid.step)
        slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
        assert abs(slope - 2) < 0.15
        assert errors[-1] < 1e-3


def test_spin_half_kernel_equals_chi_times_cell_weights():
    T = 0.25
    c = system(S=0.5, kappa=None, n=161, rate=1.3)
    K = c.kernel(c.pairs.gibbs(1, T), None)[0]
    couplings = c.pairs.couplings
    M = (K.size - 1) // 2
    E = couplings.values  # S = 1/2: every transfer is one coupling, E = V
    expected = 1.3 * spin.chi(E, 0.5, T, 1.0) * E**2 * couplings.weights
    np.testing.assert_allclose(K[M + couplings.k], expected, rtol=1e-13)


def test_electron_electron_conserves_energy_and_particles():
    c = system(rate=None, n=401)
    e = c.grid.values
    f = (fermi(e, 0.1, 1.0) + fermi(e, 0.1, -1.0))[None] / 2  # a double step
    dwe, _ = c.energy_rates(f)
    I = c.integral(f)
    G = c.electron_hole(f)
    scale = c.grid.step * np.sum(np.abs(e) * f * c.kernel(None, G).sum(axis=1))
    assert abs(dwe[0]) <= 1e-13 * scale
    assert abs(I.sum()) <= 1e-13 * np.max(np.abs(I)) * I.size


def test_mechanism_registry_names_every_mechanism():
    assert set(MECHANISMS) == {"pairs", "field_pairs", "free_spins", "electron_electron", "phonons", "tabulated"}
    for name, cls in MECHANISMS.items():
        assert cls.name == name


@pytest.mark.parametrize("kwargs, match", [({"kappa": -1.0}, "kappa"), ({"kappa": 1.0, "exponent": 3.5}, "exponent")])
def test_bad_electron_electron_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ElectronElectron(**kwargs)


@pytest.mark.parametrize("exponent", [1.5, 2.0, 2.5])
def test_electron_electron_integral_is_second_order_in_the_energy_step(exponent):
    """A smooth non-equilibrium f (Fermi sea at 0.3 plus a bump) on grids 0.1 ... 0.0125: the e-e
    collision integral at fixed energies converges at second order, the centre cell corrected."""
    points = np.array([-0.6, -0.2, 0.0, 0.4, 0.8])
    values, steps = [], []
    for n in (161, 321, 641, 1281, 2561):
        c = system(rate=None, kappa=1.0, exponent=exponent, n=n, half_width=8.0)
        e = c.grid.values
        f = (fermi(e, 0.3) + 0.05 * np.exp(-(((e - 0.5) / 0.3) ** 2)))[None]
        I = c.integral(f)[0]
        values.append(np.array([I[c.grid.index_of(p)] for p in points]))
        steps.append(c.grid.step)
    differences = [np.max(np.abs(values[k] - values[k + 1])) for k in range(len(values) - 1)]
    rates = np.log2(np.array(differences[:-1]) / np.array(differences[1:]))
    assert np.all(np.abs(rates[1:] - 2) < 0.15), rates


@pytest.mark.parametrize("S", [0.5, 2.5, 3.5])
def test_pair_pass_equals_its_numpy_twin(rng, monkeypatch, S):
    """The compiled pass over the populations (kernel and rates; serial and threaded) against
    ``kernel_and_rates_reference``, on random populations, G and weights, with couplings whose links
    reach beyond the grid width."""
    from hotelectron.kinetics import _numba, pair_dynamics
    from hotelectron.kinetics.mechanisms import pairs

    n, nx = 23, 3
    k = np.concatenate([-np.arange(1, 31)[::-1], np.arange(1, 31)])  # transfers up to 2S |k| >= 30 > n
    levels = int(2 * S) + 1
    P = rng.uniform(size=(nx, k.size, levels))
    G = rng.uniform(size=(nx, 2 * n - 1))
    half = rng.uniform(size=k.size // 2)
    weights = np.concatenate([half[::-1], half])  # mirror-symmetric, as on a CouplingGrid
    c_up, c_down = pairs._electron_weights(S)
    a_up, a_down = pair_dynamics.chain_coefficients(S)
    K_ref, dP_ref = pairs.kernel_and_rates_reference(P, G, k, weights, c_up, c_down, a_up, a_down, 0.7, 0.3, n)
    assert K_ref[:, 0].min() > 0 and K_ref[:, -1].min() > 0  # the end cells are exercised
    start = rng.uniform(size=(nx, 2 * n + 1))
    for with_rates, threshold in ((True, _numba.PARALLEL_MIN_WORK), (False, _numba.PARALLEL_MIN_WORK), (True, 1)):
        monkeypatch.setattr(_numba, "PARALLEL_MIN_WORK", threshold)  # 1: the threaded compilation
        K = start.copy()
        dP = np.full_like(P, np.nan)
        pairs._kernel_and_rates(S)(P, G, k, weights, 0.7, 0.3, K, dP, with_rates)
        np.testing.assert_allclose(K - start, K_ref, rtol=1e-13, atol=1e-13 * np.abs(K_ref).max())
        if with_rates:
            np.testing.assert_allclose(dP, dP_ref, rtol=1e-13, atol=1e-14 * np.abs(dP_ref).max())
        else:
            assert np.all(np.isnan(dP))  # nothing written


@pytest.mark.parametrize("S", [0.5, 1.0, 2.5])
def test_stationary_pair_kernel_change_is_the_kernel_of_the_stationary_change(rng, S):
    """The fused pass of the Jacobian products with stationary pairs against its two steps: the change
    of the stationary populations (``stationary_pairs_change``) and the kernel of that change
    (``kernel_and_rates_reference``), with links beyond the grid width (end cells, closed-form G)."""
    from hotelectron.kinetics import pair_dynamics
    from hotelectron.kinetics.mechanisms import pairs

    n, nx, step = 23, 3, 0.3
    k = np.concatenate([-np.arange(1, 31)[::-1], np.arange(1, 31)])  # transfers up to 2S |k| >= 30 > n
    m = np.arange(1, n)
    excess = rng.uniform(size=(nx, n - 1))  # G(m) - G(-m) = m d, as for any f
    G = np.concatenate([excess[:, ::-1], rng.uniform(size=(nx, 1)), excess + m * step], axis=1)
    P = pair_dynamics.stationary_pairs(G, k, step, S)
    dG = rng.standard_normal(G.shape)
    half = rng.uniform(size=k.size // 2)
    weights = np.concatenate([half[::-1], half])
    c_up, c_down = pairs._electron_weights(S)
    a_up, a_down = pair_dynamics.chain_coefficients(S)
    dP = pair_dynamics.stationary_pairs_change(P, G, dG, k, step)
    expected, _ = pairs.kernel_and_rates_reference(dP, G, k, weights, c_up, c_down, a_up, a_down, 1.0, step, n)
    start = rng.uniform(size=(nx, 2 * n + 1))
    dK = start.copy()
    pairs._stationary_kernel_change(S)(P, G, dG, k, weights, step, dK)
    np.testing.assert_allclose(dK - start, expected, rtol=0, atol=1e-13 * np.abs(expected).max())
    if S > 0.5:
        assert np.abs(expected[:, -1]).min() > 0  # the end cells are exercised


def test_pair_pass_refuses_couplings_that_are_not_mirror_pairs():
    from hotelectron.kinetics.mechanisms import pairs

    k = np.array([-2, -1, 1, 2])
    pairs._check_mirrored(k, np.array([0.1, 0.5, 0.5, 0.1]))
    with pytest.raises(ValueError, match="mirror pairs"):
        pairs._check_mirrored(np.array([-2, -1, 1, 3]), np.array([0.1, 0.5, 0.5, 0.1]))
    with pytest.raises(ValueError, match="mirror pairs"):
        pairs._check_mirrored(k, np.array([0.1, 0.5, 0.4, 0.1]))


def test_electron_electron_kernel_add_equals_its_numpy_twin(rng):
    from hotelectron.kinetics.mechanisms import electron_electron

    G = rng.uniform(size=(4, 19))
    weights = rng.uniform(size=19)
    K = rng.uniform(size=(4, 21))
    expected = K.copy()
    electron_electron.add_weighted_reference(expected, weights, G, 0.7)
    electron_electron._add_weighted(K, weights, G, 0.7)
    np.testing.assert_allclose(K, expected, rtol=1e-15)


def test_kernels_given_as_weights_times_G_are_the_kernels_added(rng):
    """A mechanism that gives ``electron_hole_weights`` has exactly the kernel ``weights * G`` (what the
    right-hand side builds in the pass that makes G); the others give None."""
    from hotelectron.kinetics.grids import EnergyGrid
    from hotelectron.kinetics.mechanisms import ElectronPhonon, TabulatedKernel

    grid = EnergyGrid(41, 0.2)
    G = rng.uniform(size=(3, 2 * grid.n - 1))
    table = (tuple(np.geomspace(0.05, 10.0, 5)), tuple(rng.standard_normal(5)))
    linear = [ElectronElectron(0.7, 1.5), ElectronElectron(0.3, 2.0), TabulatedKernel(*table)]
    for mechanism in linear:
        weights = mechanism.electron_hole_weights(grid)
        expected = mechanism.out_kernel(grid, None, G)
        assert np.array_equal(expected[:, [0, -1]], np.zeros((3, 2)))
        np.testing.assert_allclose(weights * G, expected[:, 1:-1], rtol=1e-15, atol=0)
    assert TabulatedKernel(*table, bath_temperature=0.1).electron_hole_weights(grid) is None
    assert ElectronPhonon(1.0, 0.05).electron_hole_weights(grid) is None
    assert system(S=1.5, n=41).pairs.electron_hole_weights(grid) is None


def test_coulomb_kappa_is_the_wire_integral_of_the_screened_interaction():
    """kappa E^(-3/2) equals (1/(pi nu A hbar^3)) int dq/(2 pi) 1/(D^2 q^4 + (E/hbar)^2), integrated over the
    wire's wave vector numerically (a Cu wire of 45 x 100 nm, D = 0.0145 m^2/s), at three energies."""
    from scipy.integrate import quad

    from hotelectron.kinetics.mechanisms.electron_electron import coulomb_kappa
    from hotelectron.units import ELECTRON_VOLT_J, HBAR_J_S

    D, nu, A = 0.0145, 5.66417e46, 4.5e-15
    kappa = coulomb_kappa(D, nu, A)
    for E_meV in (0.003, 0.1, 1.0):
        w = E_meV * 1e-3 * ELECTRON_VOLT_J / HBAR_J_S
        q = (w / D) ** 0.5  # the integrand's scale
        integral = 2 * quad(lambda u: 1.0 / (D**2 * (u * q) ** 4 + w**2) * q, 0, np.inf, epsabs=0, epsrel=1e-12)[0]
        K = integral / (2 * np.pi) / (np.pi * nu * A * HBAR_J_S**3)
        assert kappa * (E_meV * 1e-3 * ELECTRON_VOLT_J) ** -1.5 == pytest.approx(K, rel=1e-9)


@pytest.mark.parametrize("exponent", [1.5, 2.0])
def test_electron_electron_integral_converges_to_a_direct_quadrature_of_its_definition(exponent):
    """I_ee(eps) = int dE kappa |E|^-a {f(eps)[1 - f(eps - E)] G(E) - [1 - f(eps)] f(eps - E) G(-E)} (SPEC 4)
    with G(D) = int f(e)(1 - f(e + D)) de, both by Gauss-Legendre quadrature of the analytic f (no
    energy grid): pins the normalisation of kappa, the pairing of G(+-E) with the partner's
    transfer and the sign convention df/dt = -I, which the fixed-point and conservation tests cannot
    see. The +-E halves are added before integrating (for a = 2 the odd part ~1/E cancels only
    between them), and E = u^2 makes the E^(2-a) behaviour at 0 smooth. The grid values converge to
    it at second order, within 1e-3 of the integral's scale at the step 0.01."""
    kappa, T = 0.9, 0.3
    energies = np.array([-0.6, -0.2, 0.0, 0.4, 0.8])

    def f(e):  # a Fermi sea at T with a bump of hot electrons and one of holes: not a fixed point
        return fermi(e, T) + 0.05 * np.exp(-(((e - 0.5) / 0.3) ** 2)) - 0.03 * np.exp(-(((e + 0.4) / 0.25) ** 2))

    def panels(edges, k):
        x, w = np.polynomial.legendre.leggauss(k)
        a, b = np.asarray(edges[:-1])[:, None], np.asarray(edges[1:])[:, None]
        return ((b - a) / 2 * x + (a + b) / 2).ravel(), ((b - a) / 2 * w + 0 * a).ravel()

    # f(e)(1 - f(e + D)) is below 1e-19 beyond |e| = 14 for |D| < 12; the bracket below falls as
    # exp(-E/T) beyond the bumps, so E = 12 (40 T) ends the outer integral
    e_q, w_q = panels(np.linspace(-14.0, 14.0, 15), 60)
    u, w_u = panels([0.0, 0.3, 0.7, 1.2, 1.8, 2.5, np.sqrt(12.0)], 60)
    E = u**2

    def G(D):
        return np.sum(w_q * f(e_q) * (1 - f(e_q + D[..., None])), axis=-1)

    G_plus, G_minus = G(E), G(-E)

    def bracket(eps, E, G_loss, G_gain):
        return f(eps) * (1 - f(eps - E)) * G_loss - (1 - f(eps)) * f(eps - E) * G_gain

    exact = np.array([kappa * np.sum(w_u * 2 * u * E**-exponent
                                     * (bracket(eps, E, G_plus, G_minus) + bracket(eps, -E, G_minus, G_plus)))
                      for eps in energies])
    assert np.min(np.abs(exact)) > 1e-3  # the bumps make the integral non-zero at every test energy
    errors, steps = [], []
    for n in (401, 801, 1601):
        c = system(rate=None, kappa=kappa, exponent=exponent, n=n, half_width=8.0)
        I = c.integral(f(c.grid.values)[None])[0]
        errors.append(np.max(np.abs(I[[c.grid.index_of(eps) for eps in energies]] - exact)))
        steps.append(c.grid.step)
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - 2) < 0.15, (slope, errors)
    assert errors[-1] < 1e-3 * np.max(np.abs(exact)), errors
