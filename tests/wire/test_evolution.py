import numpy as np
import pytest
from systems import fermi, system
from systems import wire

from hotelectron.kinetics.energy_balance import vgl73_loss_rate
from hotelectron.wire.evolution import SCHEMES, BoxProblem, Evolution, State, _combine, _scaled_error, equilibrium_state, quench_state
from hotelectron.wire.steady import steady_state
from hotelectron.kinetics.grids import EnergyGrid, WireGrid
from hotelectron.wire import WireProblem


def smooth_start(problem):
    """Collisionless electrons with pairs stationary for them: smooth, and far from the steady state."""
    f = problem.collisionless()[1:-1]
    P = problem.collisions.stationary_pairs(f) if problem.pairs is not None else None
    return State(0.0, f, P)


@pytest.mark.parametrize("krylov", [False, True])
@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_every_scheme_converges_at_its_order(name, krylov):
    """Self-convergence: the differences between runs with n and 2n steps fall as n^-order, with
    the frozen operator as W (a W-method keeps its order for any W) and with the stages solved on
    the true Jacobian."""
    p = wire(n_x=9, n=81, rate=1.0, kappa=0.3)
    start = smooth_start(p)
    t_end = 0.02
    steps = np.array([16, 32, 64, 128, 256])
    ends = [Evolution(p, name, krylov=krylov, refine_above=0.0, krylov_tol=1e-11).fixed_steps(start, t_end, int(n)) for n in steps]
    differences = [max(np.max(np.abs(a.f - b.f)), np.max(np.abs(a.P - b.P))) for a, b in zip(ends, ends[1:])]
    slope = -np.polyfit(np.log(steps[:-1]), np.log(differences), 1)[0]
    assert abs(slope - SCHEMES[name].order) < 0.15
    assert differences[-1] < 1e-3


def test_long_time_evolution_reaches_the_steady_state():
    p = wire(n_x=17, n=161)
    steady = steady_state(p)
    evolution = Evolution(p, rtol=1e-4, atol=1e-7)
    end = evolution.advance(smooth_start(p), 12.0)
    assert np.max(np.abs(end.f - steady.f[1:-1])) <= 1e-6
    assert np.max(np.abs(end.P - steady.P)) <= 1e-6


def test_closed_box_quench_conserves_energy_while_electrons_relax():
    c = system(S=0.5, n=401, half_width=10.0, rate=0.5, relaxation=2.0, kappa=0.3, k_max=16)
    e = c.grid.values
    hot = fermi(e, 0.1) + 0.05 * np.exp(-(((e - 1.5) / 0.2) ** 2))  # a hot bump on a Fermi sea
    start = State(0.0, hot[None], c.pairs.gibbs(1, 0.1))
    evolution = Evolution(BoxProblem(c), rtol=1e-4, atol=1e-7, krylov_tol=1e-8)
    total0 = c.electron_energy(start.f)[0] + c.pairs.energy(start.P)[0]
    we = [c.electron_energy(start.f)[0]]
    drift = 0.0
    for state in evolution.run(start, [0.1, 0.3, 1.0]):
        w = c.electron_energy(state.f)[0]
        we.append(w)
        drift = max(drift, abs(w + c.pairs.energy(state.P)[0] - total0))
    assert drift <= 1e-8 * abs(total0)
    assert we[-1] < 0.8 * we[0]  # the electrons gave a good part of their excess energy away


def test_energy_loss_rate_at_the_first_moment_matches_vgl73():
    T, n = 0.1, 801
    c = system(S=0.5, kappa=None, n=n, half_width=8.0, rate=1.0)
    e = c.grid.values
    f0 = fermi(e, T)
    df = 1e-3 * np.exp(-(((e - 0.5) / 0.15) ** 2))
    P = c.pairs.gibbs(1, T)
    h = 1e-7
    rates = []
    for sign in (1, -1):  # the difference of +df and -df keeps the part linear in df
        start = State(0.0, (f0 + sign * df)[None], P)
        end = Evolution(BoxProblem(c)).fixed_steps(start, h, 1)
        rates.append((c.electron_energy(end.f)[0] - c.electron_energy(start.f)[0]) / h)
    loss = -(rates[0] - rates[1]) / 2
    # the residual difference is the O(d^2) discretisation measured in test_closed_box (9.4e-4 here)
    assert loss == pytest.approx(vgl73_loss_rate(df, e, T, 1.0), rel=2e-3)


def test_quench_state_is_the_unbiased_equilibrium():
    p = wire(n_x=9, n=81)
    state = equilibrium_state(p)
    np.testing.assert_allclose(state.f, fermi(p.energy.values, p.temperature_left)[None].repeat(7, 0))
    np.testing.assert_allclose(state.P, p.pairs.gibbs(7, p.temperature_left))
    assert state.t == 0.0


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="scheme must be one of"):
        Evolution(wire(n_x=5, n=81), "rk4")


@pytest.mark.parametrize(("options", "match"), [
    ({"rtol": 0.0}, r"rtol must be a finite number > 0; got 0.0"),
    ({"rtol": -1e-4}, r"rtol must be a finite number > 0; got -0.0001"),
    ({"atol": -1e-7}, r"atol must be a finite number >= 0; got -1e-07"),
    ({"dt_initial": 0.0}, r"dt_initial must be a finite number > 0; got 0.0"),
    ({"dt_initial": -1e-6}, r"dt_initial must be a finite number > 0"),
    ({"dt_max": 0.0}, r"dt_max must be a number > 0"),
    ({"krylov_tol": 0.0}, r"krylov_tol must be a finite number > 0"),
    ({"refine_above": -1.0}, r"refine_above must be a number >= 0"),
    ({"krylov_maxiter": 0}, r"krylov_maxiter must be an integer >= 1; got 0"),
])
def test_tolerances_and_steps_out_of_range_are_refused(options, match):
    """A negative rtol made negative error weights; a step of zero or less never advanced."""
    with pytest.raises(ValueError, match=match):
        Evolution(wire(n_x=5, n=81), **options)


@pytest.mark.parametrize(("call", "match"), [
    pytest.param(lambda ev, s: ev.advance(s, -1.0), r"t_target = -1.0 lies before the state's time 0.0", id="advance backwards"),
    pytest.param(lambda ev, s: ev.advance(s, float("nan")), r"t_target must be a finite time.*nan", id="advance to NaN"),
    pytest.param(lambda ev, s: ev.advance(s, float("inf")), r"t_target must be a finite time.*inf", id="advance to infinity"),
    pytest.param(lambda ev, s: list(ev.run(s, [0.02, 0.01])), r"t_target = 0.01 lies before the state's time 0.02", id="run, decreasing times"),
    pytest.param(lambda ev, s: ev.fixed_steps(s, 0.01, 0), r"n_steps must be an integer >= 1; got 0", id="no fixed steps"),
    pytest.param(lambda ev, s: ev.fixed_steps(s, 0.01, -1), r"n_steps must be an integer >= 1; got -1", id="negative fixed steps"),
    pytest.param(lambda ev, s: ev.fixed_steps(s, -0.01, 2), r"t_end = -0.01 lies before the state's time 0.0", id="fixed steps backwards"),
])
def test_times_that_do_not_lie_ahead_are_refused(call, match):
    """``advance(state, t)`` with t before the state's time returned the unchanged state labelled t,
    t = NaN returned it at t = 0, t = inf stepped forever, and ``fixed_steps`` with n_steps = -1 returned
    the unchanged state at t_end."""
    p = wire(n_x=5, n=81)
    with pytest.raises(ValueError, match=match):
        call(Evolution(p), equilibrium_state(p))


@pytest.mark.parametrize(("state", "match"), [
    pytest.param(lambda p, s: State(0.0, s.f[:, :-1], s.P), r"state.f must have shape \(3, 81\).*got \(3, 80\)", id="f short"),
    pytest.param(lambda p, s: State(0.0, p.collisionless(), s.P), r"state.f must have shape \(3, 81\).*interior.*got \(5, 81\)", id="f with reservoirs"),
    pytest.param(lambda p, s: State(0.0, s.f, None), r"state.P must have shape \(3, 80, 2\).*got None", id="no P"),
    pytest.param(lambda p, s: State(0.0, np.where(s.f > 0.5, np.nan, s.f), s.P), r"state.f holds non-finite values", id="NaN in f"),
])
def test_states_that_do_not_fit_the_problem_are_refused(state, match):
    """A state of the wrong shape met a broadcast error deep in the flattening; NaN in f ended in
    'time step underflow'."""
    p = wire(n_x=5, n=81)
    with pytest.raises(ValueError, match=match):
        Evolution(p).advance(state(p, equilibrium_state(p)), 0.01)


def test_observables_recorded_along_a_quench_approach_the_steady_values():
    from hotelectron.wire.observables import observables, record

    p = wire(n_x=9, n=81)
    steady = steady_state(p)
    target = observables(p, steady.f, steady.P)
    evolution = Evolution(p)
    series = record(p, evolution.run(equilibrium_state(p), [0.01, 0.1, 1.0, 6.0]))
    assert series["time"].tolist() == [0.01, 0.1, 1.0, 6.0]
    assert series["f_mid"].shape == (4, 81) and series["t_eff"].shape == (4, 9)
    # the current at the left end starts high (the bias was just switched on) and settles
    assert series["current_left"][0] > 2 * target.current_left
    assert series["current_left"][-1] == pytest.approx(target.current_left, rel=1e-5)
    assert series["w_p"][-1] == pytest.approx(target.w_p, rel=1e-5)


def test_the_trajectory_error_stays_at_the_local_tolerance():
    """A quench at rtol 1e-3, atol 1e-6 (the benchmark's tolerances) against a reference at rtol 1e-6,
    atol 1e-9: the global error, scaled as the local error
    is (|error| / (rtol |y| + atol), max over f and P), stays below 1 at every time. (The local
    estimate is that of the embedded order-2 solution; the order-3 solution carried on is more
    accurate, and the dissipative dynamics do not amplify past errors: measured 0.23-0.45 here,
    0.3-0.4 on the default scenario and 0.2-1.0 on the benchmark wire.) The reference's own error
    is about 1e-3 of this scale."""
    p = wire(n_x=9, n=81, S=1.5)
    times = [0.003, 0.03, 0.3]
    tight = Evolution(p, rtol=1e-6, atol=1e-9)
    reference = list(tight.run(equilibrium_state(p), times))
    evolution = Evolution(p, rtol=1e-3, atol=1e-6)
    for state, exact in zip(evolution.run(equilibrium_state(p), times), reference):
        for ours, theirs in ((state.f, exact.f), (state.P, exact.P)):
            assert np.max(np.abs(ours - theirs) / (1e-3 * np.abs(theirs) + 1e-6)) < 1.0


@pytest.mark.parametrize("terms", [1, 2, 3, 4, 5])
def test_compiled_stage_sums_and_error_norm_equal_numpy(rng, terms):
    """``_combine`` (a loop of its own for up to four terms) and ``_scaled_error`` (over chunks of 64
    elements here, the last one partial) against their numpy forms on random input; a NaN anywhere in
    the estimate makes the norm NaN, also in the last chunk and beside an infinity."""
    k = rng.standard_normal((6, 1001))
    y, y_new = rng.standard_normal((2, 1001))
    values = rng.standard_normal(terms)
    rows = rng.permutation(6)[:terms].astype(np.int64)
    chunk = np.empty(64)
    estimate = values @ k[rows]
    np.testing.assert_allclose(_combine(y, values, rows, k, np.empty_like(y)), y + estimate, rtol=1e-14, atol=1e-14)
    expected = np.max(np.abs(estimate) / (1e-3 * np.maximum(np.abs(y), np.abs(y_new)) + 1e-6))
    assert _scaled_error(y, False, values, rows, k, y, y_new, 1e-3, 1e-6, chunk) == pytest.approx(expected, rel=1e-13)
    with_base = np.max(np.abs(y + estimate) / (1e-3 * np.maximum(np.abs(y), np.abs(y_new)) + 1e-6))
    assert _scaled_error(y, True, values, rows, k, y, y_new, 1e-3, 1e-6, chunk) == pytest.approx(with_base, rel=1e-13)
    k[rows[0], 1000] = np.nan
    assert np.isnan(_scaled_error(y, False, values, rows, k, y, y_new, 1e-3, 1e-6, chunk))
    k[rows[0], 3] = np.inf
    assert np.isnan(_scaled_error(y, False, values, rows, k, y, y_new, 1e-3, 1e-6, chunk))
    k[rows[0], 1000] = 0.0
    assert _scaled_error(y, False, values, rows, k, y, y_new, 1e-3, 1e-6, chunk) == np.inf


@pytest.mark.parametrize("mode", [1, 3])
def test_a_diffusion_mode_decays_at_its_rate_in_units_of_tau_D(mode):
    """Without collisions df/dt = d^2 f/dx^2 with x in units of L and t in tau_D = L^2/D (SPEC 5): a mode
    sin(k pi x) g(eps) on the collisionless f decays as exp(-lambda_k t) with the three-point Laplacian's
    eigenvalue lambda_k = (4/h^2) sin^2(k pi h/2) (derived here; pi^2 k^2 (1 - 0.08 %) for k = 1 at h =
    1/32). The self-convergence and steady-state tests cannot see a wrong time unit (the steady state
    does not depend on D); this does: to 1e-8 of the amplitude 0.1 at t = 0.05, where the continuum rate
    would already differ by 2e-5."""
    p = WireProblem(EnergyGrid(81, 0.1), WireGrid(33), 0.5, -0.5, 0.1, 0.1, ())
    x = p.wire.values[1:-1, None]
    g = np.exp(-(((p.energy.values - 0.3) / 0.4) ** 2))
    base = p.collisionless()[1:-1]
    shape = 0.1 * np.sin(mode * np.pi * x) * g
    rate = 4 / p.wire.step**2 * np.sin(mode * np.pi * p.wire.step / 2) ** 2
    end = Evolution(p, rtol=1e-8, atol=1e-11).advance(State(0.0, base + shape, None), 0.05)
    assert np.max(np.abs(end.f - (base + np.exp(-rate * 0.05) * shape))) < 1e-8


@pytest.mark.parametrize(("make", "match"), [
    pytest.param(lambda p: equilibrium_state(p, temperature=-0.1), r"temperature must be a finite number >= 0 \(E0\); got -0.1", id="negative T"),
    pytest.param(lambda p: equilibrium_state(p, temperature=float("nan")), r"temperature must be a finite number >= 0 \(E0\); got nan", id="NaN T"),
    pytest.param(lambda p: equilibrium_state(p, mu=float("nan")), r"mu must be a finite number \(E0\); got nan", id="NaN mu"),
    pytest.param(lambda p: quench_state(p, 0.5, 0.0, 0.3), r"bump_width must be a finite number > 0 \(E0\); got 0.0", id="zero width"),
    pytest.param(lambda p: quench_state(p, 0.5, 0.1, float("nan")), r"bump_height must be a finite number; got nan", id="NaN height"),
])
def test_initial_states_refuse_parameters_that_give_no_distribution(make, match):
    """Without pairs (whose Gibbs state checked T) a negative temperature gave f = 0 below the Fermi level
    and 1 above, a NaN one NaN; a bump of zero width gave NaN f."""
    with pytest.raises(ValueError, match=match):
        make(wire(n_x=5, n=81, pairs=False))
