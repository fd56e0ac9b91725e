"""Quadrature over x in the observables: the noise integral."""

import math

import numpy as np
import pytest
from scipy import integrate
from systems import fermi

from hotelectron.kinetics.grids import EnergyGrid, WireGrid
from hotelectron.wire import WireProblem
from hotelectron.wire.observables import effective_temperature, observables


def _problem(n_x, T, n=321, half_width=4.0):
    """A collisionless wire at bias 1 (the energy unit is eU), temperature T, energies resolving T."""
    return WireProblem(EnergyGrid(n, 2 * half_width / (n - 1)), WireGrid(n_x), 0.5, -0.5, T, T, ())


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7, 8, 41])
def test_simpson_weights_integrate_cubics_exactly(n):
    w = WireGrid(n).simpson_weights
    x = WireGrid(n).values
    for k in range(4):
        assert w @ x**k == pytest.approx(1 / (k + 1), abs=1e-14)


@pytest.mark.parametrize("t", [0.05, 0.1, 0.2])
def test_collisionless_fano_factor_is_exact_at_41_nodes(t):
    """Without collisions f = (1 - x) f_L + x f_R, so int f(1 - f) d eps is quadratic in x:
    F = 4t/3 + coth(1/2t)/3 (1/3 at t -> 0). Simpson is exact; the trapezoid rule errs by
    (h^2/3)(2t - coth(1/2t))."""
    p = _problem(41, t, n=641, half_width=8.0)
    e = p.energy.values
    x = p.wire.values[:, None]
    f = (1 - x) * fermi(e, t, 0.5) + x * fermi(e, t, -0.5)
    obs = observables(p, f)
    exact = 4 * t / 3 + 1 / (3 * math.tanh(1 / (2 * t)))
    assert obs.current_middle == pytest.approx(1.0, abs=1e-13)
    assert obs.fano == pytest.approx(exact, abs=1e-12)
    # what the trapezoid rule gave: its error is the Euler-Maclaurin term, of order 1e-4 here
    occupancy = p.energy.step * np.sum(f * (1 - f), axis=1)
    trapezoid = 4 * np.trapezoid(occupancy, p.wire.values) / (2 * obs.current_middle)
    h = p.wire.step
    euler_maclaurin = h**2 / 3 * (2 * t - 1 / math.tanh(1 / (2 * t)))
    assert trapezoid - exact == pytest.approx(euler_maclaurin, rel=1e-8)
    assert abs(trapezoid - exact) > 5e-5


def test_noise_of_equilibrated_electrons_converges_at_fourth_order():
    """Full e-e equilibration: a local Fermi function at T_eff(x)^2 = T^2 + (3/pi^2) x(1 - x) (eU = 1),
    so S_I = 4 int T_eff dx (F = sqrt(3)/4 at T = 0, where sqrt(x(1 - x)) limits any rule to order
    3/2). At T > 0 the profile is smooth and Simpson's rule converges as h^4."""
    T = 0.3  # the profile varies on the scale T^2 pi^2/3 near the ends: resolved from n_x = 21 on

    def t_eff(x):
        return np.sqrt(T**2 + 3 / math.pi**2 * x * (1 - x))

    exact = 4 * integrate.quad(t_eff, 0, 1, epsabs=0, epsrel=1e-13)[0]
    steps, errors = [], []
    for n_x in (21, 41, 81, 161):
        p = _problem(n_x, T, n=401, half_width=10.0)
        x = p.wire.values[:, None]
        mu = 0.5 - x
        f = fermi(p.energy.values, t_eff(x), mu)
        steps.append(p.wire.step)
        errors.append(abs(observables(p, f).noise - exact))
    order = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(order - 4) < 0.1
    assert errors[-1] < 1e-9 * exact


@pytest.mark.parametrize("t", [0.02, 0.05, 0.2])
def test_collisionless_effective_temperature_is_the_closed_form(t):
    """T_eff from int (eps - mu)[f - theta(mu - eps)] d eps = pi^2 T_eff^2/6 (SPEC 5) of the collisionless
    f = (1 - x) f_L + x f_R: each reservoir's Fermi sea contributes pi^2 T^2/6 plus (mu_res - mu)^2/2 about
    the local potential mu = (1 - x) mu_L + x mu_R, so T_eff^2 = T^2 + 3 x(1 - x) eU^2/pi^2 exactly (by
    hand, not through the package's formula). It pins the pi^2/6, the local potential and the grid
    sum's correction for the kink at eps = 0 (exact to O(d^4) once the step d = 0.0125 resolves T)."""
    p = _problem(9, t, n=1281, half_width=8.0)
    obs = observables(p, p.collisionless())
    x = p.wire.values
    np.testing.assert_allclose(obs.t_eff**2, t**2 + 3 * x * (1 - x) / math.pi**2, rtol=0, atol=1e-12)


def test_effective_temperature_of_a_step_sharper_than_the_grid_is_the_documented_floor():
    """At T = 0 exactly the kink term is too much: T_eff^2 = d^2/(2 pi^2), as the docstring says; a Fermi
    edge the grid resolves (T = 2 d) is exact."""
    for n, d in ((241, 0.025), (481, 0.0125)):
        grid = EnergyGrid(n, d)
        step = np.where(grid.values < 0, 1.0, np.where(grid.values > 0, 0.0, 0.5))
        assert effective_temperature(grid, step[None])[0] ** 2 == pytest.approx(d**2 / (2 * np.pi**2), rel=1e-9)
        resolved = 1.0 / (np.exp(grid.values / (2 * d)) + 1.0)
        assert effective_temperature(grid, resolved[None])[0] == pytest.approx(2 * d, rel=1e-6)


@pytest.mark.parametrize(("state", "match"), [
    pytest.param(lambda p: p.collisionless()[1:-1], r"f must have shape \(9, 81\).*reservoirs included.*got \(7, 81\)", id="interior only"),
    pytest.param(lambda p: p.collisionless()[:, :-1], r"f must have shape \(9, 81\).*got \(9, 80\)", id="energies short"),
    pytest.param(lambda p: np.where(p.collisionless() > 0.5, np.nan, p.collisionless()), r"f holds non-finite values", id="NaN"),
])
def test_observables_refuse_a_state_that_does_not_fit(state, match):
    """The interior alone or a short energy axis met a matmul error on gufunc core dimensions; NaN in f
    gave NaN currents without a word."""
    from systems import wire

    p = wire(n_x=9, n=81)
    with pytest.raises(ValueError, match=match):
        observables(p, state(p))
