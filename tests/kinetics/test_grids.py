import numpy as np
import pytest

from hotelectron.kinetics.grids import CouplingGrid, EnergyGrid, WireGrid


def test_energy_grid_is_symmetric_and_uniform():
    for n in (7, 8):
        grid = EnergyGrid(n, 0.25)
        np.testing.assert_allclose(grid.values, -grid.values[::-1], atol=1e-15)
        np.testing.assert_allclose(np.diff(grid.values), 0.25)
    assert EnergyGrid(7, 0.25).index_of(0.5) == 5
    assert EnergyGrid(8, 0.25).index_of(-0.125) == 3


@pytest.mark.parametrize("energy", [0.1, 10.0])
def test_energy_off_the_grid_is_refused(energy):
    with pytest.raises(ValueError, match="does not sit on a point of the energy grid"):
        EnergyGrid(7, 0.25).index_of(energy, "bias")


@pytest.mark.parametrize(
    "args, match",
    [((2, 0.1), "integer >= 3"), ((5, 0.0), "positive"), ((5, float("nan")), "positive"), ((5.0, 0.1), "integer")],
)
def test_bad_energy_grids(args, match):
    with pytest.raises(ValueError, match=match):
        EnergyGrid(*args)


def test_coupling_grid_weights_integrate_inverse_square_exactly():
    grid = CouplingGrid(step=0.1, v_min=0.23, k_max=40)
    assert grid.k_min == 2
    positive = grid.weights[grid.k > 0]
    assert positive.sum() == pytest.approx(1 / 0.23 - 1 / grid.v_max, rel=1e-13)
    np.testing.assert_allclose(grid.weights, grid.weights[::-1])
    assert np.all(np.abs(grid.k) >= grid.k_min)


def test_coupling_quadrature_is_second_order():
    from scipy import integrate

    def g(V):  # negligible beyond the upper cutoff, so only the sharp lower cutoff matters
        return np.exp(-(V**2)) * (1 + V)

    v_min = 0.3
    exact = 2 * integrate.quad(lambda v: np.exp(-(v**2)) / v**2, v_min, np.inf, epsrel=1e-13)[0]
    steps = 0.1 / 2.0 ** np.arange(4)
    errors = []
    for h in steps:
        grid = CouplingGrid(step=h, v_min=v_min, k_max=int(round(8 / h)))
        errors.append(abs(np.sum(grid.weights * g(grid.values)) - exact))
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - 2) < 0.1
    assert errors[-1] < 1e-4


def test_coupling_cutoff_below_half_a_step_is_refused():
    with pytest.raises(ValueError, match="at least half an energy step"):
        CouplingGrid(step=0.1, v_min=0.04, k_max=10)


def test_round_trip_through_dict():
    for grid in (EnergyGrid(11, 0.1), CouplingGrid(0.1, 0.15, 9), WireGrid(9)):
        assert type(grid).from_dict(grid.to_dict()) == grid
    assert WireGrid(5).values[-1] == 1.0


def test_numpy_scalars_make_the_same_grids_as_python_numbers():
    """n = np.int64(101) was refused as 'must be an integer >= 3', step = np.float32(0.08) as 'must be a
    positive finite number': sizes and steps computed with numpy are numbers like any other."""
    assert EnergyGrid(np.int64(101), np.float32(0.08)) == EnergyGrid(101, float(np.float32(0.08)))
    assert type(EnergyGrid(np.int64(101), np.float64(0.08)).n) is int
    assert WireGrid(np.int32(9)) == WireGrid(9)
    assert CouplingGrid(np.float64(0.08), np.float64(0.1), np.int64(10)) == CouplingGrid(0.08, 0.1, 10)
    with pytest.raises(ValueError, match=r"energy grid size n must be an integer >= 3; got True"):
        EnergyGrid(True, 0.08)
    with pytest.raises(ValueError, match=r"energy grid size n must be an integer >= 3; got 101.0"):
        EnergyGrid(101.0, 0.08)
