"""The linear response of a steady state to a change of its kernel, against centred differences of
steady states (two independent routes: GMRES on the exact Jacobian products, and Newton solves)."""

from dataclasses import replace

import numpy as np
import pytest
from systems import wire

from hotelectron.kinetics.mechanisms import TabulatedKernel
from hotelectron.wire.response import SteadyResponse
from hotelectron.wire.steady import steady_state

NODES = tuple(np.geomspace(0.02, 3.0, 7))


def table_wire(theta, bath_temperature, pairs):
    """A 9 x 241 wire at T = 0.02 with a tabulated kernel (and stationary S = 1/2 pairs)."""
    base = wire(n_x=9, n=241, half_width=3.0, T=0.02, pairs=pairs, ee=False, rate=1.0)
    return replace(base, mechanisms=tuple(base.mechanisms) + (TabulatedKernel(NODES, tuple(theta), bath_temperature),))


@pytest.mark.parametrize("bath_temperature, pairs", [(None, False), (0.02, False), (None, True)],
                         ids=["electrons", "bath", "electrons-and-stationary-pairs"])
def test_the_response_to_the_node_values_equals_centred_differences_of_steady_states(bath_temperature, pairs):
    """The centred difference with step h = 1e-4 in ln K has a truncation error ~h^2 |f'''| ~ 1e-8 and a
    solver noise ~f_tol / h = 1e-9 (f_tol = 1e-13); the response solve is good to its rtol 1e-10. So the
    two agree to 1e-6 of the largest response."""
    theta = np.log(0.5) - 1.7 * np.log(np.asarray(NODES))
    problem = table_wire(theta, bath_temperature, pairs)
    f = steady_state(problem, f_tol=1e-13).f
    response = SteadyResponse(problem, f)
    table = problem.mechanisms[-1]
    for j in (1, 3, 5):
        dK = np.zeros((problem.wire.n - 2, 2 * problem.energy.n + 1))
        table.add_kernel_derivative(problem.energy, response.electron_hole, np.eye(len(NODES))[j], dK)
        exact = response.to_kernel_change(dK)
        h = 1e-4
        shifted = []
        for sign in (1, -1):
            moved = theta.copy()
            moved[j] += sign * h
            shifted.append(steady_state(table_wire(moved, bath_temperature, pairs), f_tol=1e-13, initial=f).f)
        centred = (shifted[0] - shifted[1]) / (2 * h)
        assert np.max(np.abs(exact - centred)) <= 1e-6 * np.max(np.abs(exact)), j
        assert np.all(exact[[0, -1]] == 0)  # the reservoirs do not move


def test_an_unreachable_tolerance_is_reported():
    theta = np.log(0.5) - 1.7 * np.log(np.asarray(NODES))
    problem = table_wire(theta, None, False)
    response = SteadyResponse(problem, steady_state(problem, f_tol=1e-12).f, rtol=1e-14, maxiter=2)
    dK = np.zeros((problem.wire.n - 2, 2 * problem.energy.n + 1))
    problem.mechanisms[-1].add_kernel_derivative(problem.energy, response.electron_hole, np.eye(len(NODES))[2], dK)
    with pytest.raises(RuntimeError, match="GMRES"):
        response.to_kernel_change(dK)
