import numpy as np
import pytest

from systems import wire

from hotelectron.kinetics.grids import EnergyGrid, WireGrid
from hotelectron.wire import WireProblem
from hotelectron.wire.observables import observables
from hotelectron.wire.steady import SteadyResidual, steady_state


def test_without_collisions_the_steady_state_is_the_linear_interpolation():
    p = wire(pairs=False, ee=False)
    s = steady_state(p)
    assert np.max(np.abs(s.f - p.collisionless())) <= 1e-12


@pytest.mark.parametrize("S, n", [(0.5, 161), (2.5, 160)])  # 0 on the grid, and mid-cell
def test_zero_bias_gives_the_fermi_function_and_johnson_noise(S, n):
    T = 0.1
    mu = 0.0 if n % 2 else 4.0 / (n - 1)  # the potential sits on a grid point
    p = wire(bias=0.0, T=T, S=S, n=n, half_width=4.0, mu=mu)
    start = p.collisionless().copy()
    start[1:-1] += 0.02 * np.exp(-(((p.energy.values - 0.5) / 0.2) ** 2))  # the solver must remove it
    s = steady_state(p, initial=start, f_tol=1e-13)
    assert s.iterations >= 1
    assert np.max(np.abs(s.f - p.equilibrium())) <= 1e-12
    obs = observables(p, s.f, s.P)
    assert obs.noise == pytest.approx(4 * T, rel=1e-6)  # Johnson: S_I = 4 T / R
    np.testing.assert_allclose(obs.t_eff, T, rtol=1e-6)


@pytest.mark.parametrize("S", [0.5, 2.5])
def test_steady_state_conserves_current_and_energy(S):
    p = wire(S=S, n_x=33, n=241, half_width=6.0)
    s = steady_state(p)
    obs = observables(p, s.f, s.P)
    currents = np.array([obs.current_left, obs.current_middle, obs.current_right])
    assert np.max(np.abs(currents - obs.current_middle)) <= 1e-8 * abs(obs.current_middle)
    assert obs.heat_left + obs.heat_right == pytest.approx(obs.joule_power, rel=1e-6)
    assert obs.edge_out_flux < 1e-8 * abs(obs.current_middle) and obs.edge_in_flux < 1e-8 * abs(obs.current_middle)
    assert abs(obs.edge_energy_rate) < 1e-8 * obs.joule_power
    # collisions really act: the middle distribution is far from the double step
    assert np.max(np.abs(obs.f_mid - p.collisionless()[p.wire.n // 2])) > 0.05
    # T_eff(x) is fixed by conservation alone (SPEC 5): the collisionless value at U >> T
    collisionless = observables(p, p.collisionless())
    np.testing.assert_allclose(obs.t_eff, collisionless.t_eff, rtol=1e-6, atol=1e-9)


def test_a_narrow_energy_grid_shows_its_edge_losses():
    """Half-width 1 eU: hot electrons leave through the edges; the diagnostics see it although the
    net particle flux cancels by particle-hole symmetry."""
    p = wire(S=1.5, n_x=17, n=81, half_width=1.0)
    s = steady_state(p)
    obs = observables(p, s.f, s.P)
    assert obs.edge_out_flux > 1e-4 * obs.current_middle
    assert obs.edge_out_flux == pytest.approx(obs.edge_in_flux, rel=1e-6)
    assert abs(obs.edge_energy_rate) > 1e-3 * obs.joule_power
    assert obs.heat_left + obs.heat_right == pytest.approx(obs.joule_power - obs.edge_energy_rate, rel=1e-6)


def test_newton_iterations_of_cold_and_warm_starts():
    """Fits call the solver hundreds of times from the solution at a nearby parameter point. On a
    17 x 161 wire at f_tol = 1e-12 (measured: 4 iterations and 11 products cold; 1 iteration, 2
    residuals and 5 products after a change of 1e-6 in kappa, whose first Krylov solve already aims
    at f_tol; 3 iterations and 9 products after 10 % more pair rate). Warm and cold starts reach the
    same f: the diffusion bounds the error by max|R| / 8, so their difference stays below (R + R') / 2."""
    cold = steady_state(wire(n_x=17, n=161), f_tol=1e-12)
    assert cold.iterations <= 4 and cold.products <= 12
    for changed, iterations, evaluations, products in (({"kappa": 0.3 * (1 + 1e-6)}, 1, 2, 6), ({"rate": 2.2}, 3, 4, 10)):
        p = wire(n_x=17, n=161, **changed)
        warm = steady_state(p, f_tol=1e-12, initial=cold.f)
        assert warm.iterations <= iterations and warm.evaluations <= evaluations and warm.products <= products
        again = steady_state(p, f_tol=1e-12)
        assert np.max(np.abs(warm.f - again.f)) <= 0.5 * (warm.residual + again.residual)


def test_a_cold_solve_starts_from_the_wire_on_five_nodes():
    """On 33 x 641 nodes (31 x 641 > 2^14 interior cells) a cold solve starts from the steady state on
    5 nodes, interpolated along x: it reaches the f of a solve from the collisionless start to the
    solver's tolerance with fewer residuals and products on the fine grid (measured 4 + 9 against
    5 + 11; the start costs 3 + 2 on 3 interior nodes)."""
    p = wire(n_x=33, n=641)
    nested = steady_state(p, f_tol=1e-12)
    plain = steady_state(p, f_tol=1e-12, initial=p.collisionless())
    assert nested.start_evaluations > 0 and plain.start_evaluations == 0
    assert nested.evaluations < plain.evaluations and nested.products < plain.products
    assert np.max(np.abs(nested.f - plain.f)) <= 0.5 * (nested.residual + plain.residual)


def test_the_start_on_five_nodes_is_not_itself_started_from_five_nodes(monkeypatch):
    """An energy grid of 5462 points or more makes the 5-node wire count as large too: its solve must
    start from the collisionless f, not from another 5-node solve (which recursed to Python's stack
    limit). Here the threshold is lowered so that 3 x 81 interior cells count as large."""
    from hotelectron.wire import steady

    monkeypatch.setattr(steady, "COARSE_CELLS", 3 * 81)
    starts = []
    coarse_start = steady._coarse_start
    monkeypatch.setattr(steady, "_coarse_start", lambda p, pairs: starts.append(p.wire.n) or coarse_start(p, pairs))
    s = steady_state(wire(n_x=17, n=81), f_tol=1e-10)
    assert starts == [17, 5] and s.start_evaluations > 0 and s.residual <= 1e-10


def test_a_tolerance_below_the_round_off_of_the_grid_is_refused_at_once():
    """d^2 f/dx^2 on 257 nodes carries round-off of order 4 eps/h^2 = 6e-11 (measured floor 1.6e-11):
    f_tol = 3e-12 ends within 10 f_tol without backtracking, 1e-12 with an error naming the level."""
    p = wire(n_x=257, n=81, T=0.1)
    s = steady_state(p, f_tol=3e-12)
    assert s.residual <= 3e-11 and s.evaluations <= s.iterations + 2
    with pytest.raises(RuntimeError, match="round-off level of 257 nodes"):
        steady_state(p, f_tol=1e-12)


def test_steady_state_is_second_order_in_dx():
    finest = steady_state(wire(n_x=257, n=81)).f
    errors, steps = [], []
    for n_x in (17, 33, 65):
        p = wire(n_x=n_x, n=81)
        f = steady_state(p).f
        stride = (257 - 1) // (n_x - 1)
        errors.append(np.max(np.abs(f - finest[::stride])))
        steps.append(p.wire.step)
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - 2) < 0.15
    assert errors[-1] < 1e-3


def test_bad_reservoirs_are_refused():
    grid = EnergyGrid(11, 0.1)
    with pytest.raises(ValueError, match="mu_left"):
        WireProblem(grid, WireGrid(5), 0.25, 0.0, 0.01, 0.01)
    with pytest.raises(ValueError, match="too narrow"):
        WireProblem(grid, WireGrid(5), 0.1, -0.1, 0.2, 0.2)
    with pytest.raises(ValueError, match="temperature_left"):
        WireProblem(grid, WireGrid(5), 0.1, -0.1, -1.0, 0.0)


def test_refining_the_energy_grid_converges_at_second_order():
    """Noise of the wire with pairs and e-e scattering for energy steps 0.05 ... 0.00625 (T = 0.05).

    Successive differences fall by 2.6, 4.1, 4.2: second order once the step resolves T.
    """
    noise = []
    for n in (161, 321, 641, 1281):
        p = wire(n_x=17, n=n, half_width=4.0, T=0.05)
        s = steady_state(p)
        noise.append(observables(p, s.f, s.P).noise)
    differences = np.abs(np.diff(noise))
    rates = np.log2(differences[:-1] / differences[1:])
    assert np.all(differences[1:] < differences[:-1])
    assert abs(rates[-1] - 2) < 0.15
    assert differences[-1] < 1e-5 * noise[-1]


def test_the_field_resolved_steady_state_converges_at_second_order_in_the_energy_step():
    """Pairs in a Zeeman field (S = 1/2, Delta_Z = 0.4 eU, a whole number of steps on every grid) plus
    e-e: the noise for energy steps 0.05 ... 0.00625 (T = 0.05). Observed: successive differences
    7.8e-6, 1.9e-6, 4.5e-7, rates 2.02 and 2.09."""
    from hotelectron.kinetics import CouplingGrid, ElectronElectron, FieldPairScattering

    noise = []
    for n in (161, 321, 641, 1281):
        step = 8.0 / (n - 1)
        pairs = FieldPairScattering(0.5, 2.0, 30.0, CouplingGrid(step, 0.1, (n - 1) // 2), round(0.4 / step))
        p = WireProblem(EnergyGrid(n, step), WireGrid(9), 0.5, -0.5, 0.05, 0.05, (pairs, ElectronElectron(0.3, 1.5)))
        s = steady_state(p)
        noise.append(observables(p, s.f, s.P).noise)
    differences = np.abs(np.diff(noise))
    rates = np.log2(differences[:-1] / differences[1:])
    assert np.all(np.abs(rates - 2) < 0.15)
    assert differences[-1] < 1e-6 * noise[-1]


def test_unconverged_steady_state_is_refused():
    with pytest.raises(RuntimeError, match="did not converge"):
        steady_state(wire(rate=20.0, kappa=2.0), maxiter=1)


def test_direct_path_reaches_the_fft_path_steady_state_and_evolves_with_exact_products():
    """Both paths compute the same discrete sums: the direct-path problem (its values from the
    O(n^2) sums, its Jacobian products from the spectra) gives the FFT path's steady state, and its
    Jacobian products equal a centred difference of its own right-hand side."""
    import dataclasses

    from hotelectron.wire.dynamics import Dynamics

    fft = wire(n_x=9, n=81, S=1.5)
    direct = dataclasses.replace(fft, path="direct")
    a, b = steady_state(fft), steady_state(direct)
    assert np.max(np.abs(a.f - b.f)) < 1e-11 and np.max(np.abs(a.P - b.P)) < 1e-11

    dynamics = Dynamics(direct)
    rng = np.random.default_rng(3)
    state = dynamics.layout.join(np.clip(a.f[1:-1] + 0.02 * rng.standard_normal(a.f[1:-1].shape), 0, 1), a.P)
    v = rng.standard_normal(state.size)
    h = 1e-5
    centred = (dynamics.rhs_only(state + h * v) - dynamics.rhs_only(state - h * v)) / (2 * h)
    exact = dynamics.jvp(dynamics.rhs(state), v)
    assert np.max(np.abs(exact - centred)) < 1e-6 * np.max(np.abs(exact))


def test_residuals_and_jacobian_products_add_the_diffusion_like_its_twins(rng):
    p = wire(n_x=9, n=81)
    state = SteadyResidual(p)
    u = p.collisionless()[1:-1] + 0.01 * rng.standard_normal((7, 81))
    R, lin = state.evaluate(u)
    expected = p.laplacian_interior(u) + p.collisions.linearise(u, stationary=True)[0]
    assert np.max(np.abs(R - expected)) <= 1e-12 * np.max(np.abs(expected))
    v = rng.standard_normal(lin.f.shape)
    expected = p.laplacian_homogeneous(v) + p.collisions.jvp(lin, v)[0]
    assert np.max(np.abs(state.jvp(lin, v.ravel()).reshape(v.shape) - expected)) <= 1e-12 * np.max(np.abs(expected))
    u[3, 5] = np.nan
    with pytest.raises(FloatingPointError, match="non-finite"):
        state.evaluate(u)


def test_solves_of_one_size_share_their_arrays_without_changing_the_answer():
    """A thread keeps the arrays of a solve (Krylov basis, preconditioner, linearisations) for the next
    one of the same size: wires that differ in a rate, in the energy grid or in the moments the
    collisions conserve (pairs held at Gibbs populations, a bath) reach the same f, bit for bit, as in
    a thread that solves them first."""
    import threading

    base = wire(n_x=9, n=81)
    gibbs = base.pairs.gibbs(7, 0.02)
    cases = [(base, None), (wire(n_x=9, n=81, kappa=0.5), None), (base, gibbs), (wire(n_x=9, n=81, half_width=2.0), None)]
    in_turn = [steady_state(p, fixed_pairs=pairs) for p, pairs in cases]
    for (p, pairs), kept in zip(cases, in_turn):
        fresh = []
        thread = threading.Thread(target=lambda: fresh.append(steady_state(p, fixed_pairs=pairs)))
        thread.start()
        thread.join()
        assert np.array_equal(fresh[0].f, kept.f) and np.array_equal(fresh[0].P, kept.P)
        assert (fresh[0].evaluations, fresh[0].products) == (kept.evaluations, kept.products)


def test_with_an_inverse_square_kernel_at_zero_temperature_f_depends_on_eps_over_eU_only():
    """SPEC 4 and 6: with K(E) = kappa/E^2 and T = 0 there is no energy scale but eU, so at fixed kappa the
    steady f(x, eps) of biases 1 and 3 coincide as functions of eps/eU (on grids scaled with the bias:
    n = 161 over [-4, 4] eU, the same cells). The Coulomb kernel (a = 3/2) has the scale
    kappa^(1/(a-2)): the same two biases then give visibly different curves, so the comparison can fail."""
    from hotelectron.kinetics.mechanisms import ElectronElectron

    def steady(bias, exponent):
        step = 8.0 * bias / 160
        p = WireProblem(EnergyGrid(161, step), WireGrid(17), bias / 2, -bias / 2, 0.0, 0.0,
                        (ElectronElectron(1.0, exponent),))
        return steady_state(p, f_tol=1e-12).f

    for exponent in (2.0, 1.5):
        low, high = steady(1.0, exponent), steady(3.0, exponent)
        # collisions really move f(L/2) away from the double step
        assert np.max(np.abs(low[8] - 0.5 * (low[0] + low[-1]))) > 0.05
        difference = np.max(np.abs(low - high))
        if exponent == 2.0:
            assert difference <= 1e-10, difference
        else:
            assert difference > 1e-2, difference


@pytest.mark.parametrize(("options", "match"), [
    pytest.param(lambda p: {"f_tol": float("nan")}, r"f_tol must be a finite number > 0; got nan", id="f_tol NaN"),
    pytest.param(lambda p: {"f_tol": -1.0}, r"f_tol must be a finite number > 0; got -1.0", id="f_tol negative"),
    pytest.param(lambda p: {"maxiter": 0}, r"maxiter must be an integer >= 1; got 0", id="no Newton iterations"),
    pytest.param(lambda p: {"krylov_maxiter": 0}, r"krylov_maxiter must be an integer >= 1; got 0", id="no Krylov vectors"),
    pytest.param(lambda p: {"initial": np.where(p.collisionless() > 0.5, np.nan, p.collisionless())},
                 r"initial holds non-finite values", id="NaN in initial"),
    pytest.param(lambda p: {"fixed_pairs": np.full((7, 80, 2), np.nan)}, r"fixed_pairs holds non-finite or negative",
                 id="NaN pairs"),
    pytest.param(lambda p: {"fixed_pairs": -p.pairs.gibbs(7, 0.02)}, r"fixed_pairs holds non-finite or negative",
                 id="negative pairs"),
    pytest.param(lambda p: {"fixed_pairs": p.pairs.gibbs(7, 0.02)[:, :-1]}, r"fixed_pairs must have shape \(7, 80, 2\)",
                 id="pairs short"),
])
def test_arguments_that_cannot_give_a_steady_state_are_refused(options, match):
    """f_tol = NaN and NaN fixed pairs returned the start after 0 iterations as if converged; negative
    pairs ran 24 Newton iterations into 'no descent'; f_tol = -1 ran a whole solve before saying so."""
    p = wire(n_x=9, n=81)
    with pytest.raises(ValueError, match=match):
        steady_state(p, **options(p))
