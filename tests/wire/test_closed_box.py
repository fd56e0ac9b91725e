"""A closed uniform box (no diffusion): energy exchange between electrons and pairs."""

import numpy as np
import pytest
from systems import closed_box_trajectory, fermi, system

from hotelectron.kinetics.energy_balance import vgl73_loss_rate


@pytest.mark.parametrize("S", [0.5, 2.5])
def test_electron_plus_pair_energy_is_conserved(S):
    """Hot electrons and cold pairs exchange energy; W_e + W_p stays put.

    In these dimensionless units w_p is built from rate/relaxation, so this cannot fail on Gamma; the
    physical conversion is pinned in J/m^3 by tests/wire/test_physical_energy_balance.py."""
    c = system(S=S, n=401, half_width=10.0, rate=0.5, relaxation=2.0, kappa=0.3, k_max=16)
    e = c.grid.values
    f0 = fermi(e, 0.4)[None]
    f, P = closed_box_trajectory(c, f0, c.pairs.gibbs(1, 0.03), 4.0)  # f[t, i], P[t, k, J]
    we = c.electron_energy(f)
    wp = c.pairs.energy(P)
    total = we + wp
    assert abs(wp[-1] - wp[0]) >= 0.1 * abs(wp[0])  # the pairs really took up energy
    assert np.max(np.abs(total - total[0])) <= 1e-8 * np.max(np.abs(we))
    particles = c.grid.step * (f - (e < 0)).sum(axis=1)
    assert np.max(np.abs(particles - particles[0])) <= 1e-10
    # the edges lose nothing measurable on this grid
    assert abs(c.edge_particle_rate(f[-1][None], P[-1][None])[0]) < 1e-12


def test_general_integral_tends_to_the_hot_electron_chi_form():
    """S = 1/2, Gibbs pairs, a small bump at eps0 >> T: linear response of the full integral vs VGL (71).
    The difference is Pauli blocking of losses larger than eps0, so it falls like T-independent 1/eps0."""
    from hotelectron import spin

    T, n = 0.02, 1601
    c = system(S=0.5, kappa=None, n=n, half_width=8.0, rate=1.0)
    e = c.grid.values
    f0 = fermi(e, T)
    P = c.pairs.gibbs(1, T)
    couplings = c.pairs.couplings
    m = np.arange(-(n - 1), n)
    K = np.zeros(m.size)  # the chi kernel on the same cells: chi(E) E^2 * int_cell dE/E^2
    K[n - 1 + couplings.k] = spin.chi(couplings.values, 0.5, T, 1.0) * couplings.values**2 * couplings.weights
    errors = []
    for eps0 in (1.0, 2.0, 4.0):
        df = 1e-3 * np.exp(-(((e - eps0) / 0.1) ** 2))
        dI = (c.integral((f0 + df)[None], P)[0] - c.integral((f0 - df)[None], P)[0]) / 2
        dI_chi = K.sum() * df - np.convolve(df, K[::-1])[n - 1 : 2 * n - 1]  # sum_E chi(E)[df(eps) - df(eps+E)]
        near = np.abs(e - eps0) < 0.2
        errors.append(np.max(np.abs(dI - dI_chi)[near]) / np.max(np.abs(dI_chi[near])))
    assert errors[-1] < 0.01
    assert errors[0] / errors[1] > 1.8 and errors[1] / errors[2] > 1.8


def test_energy_loss_rate_matches_vgl73_and_converges():
    """-dW/dt at the first moment from the collision integral vs VGL (73) (with 2 nu, see energy_balance)."""
    T = 0.1
    differences = []
    steps = []
    for n in (201, 401, 801):
        c = system(S=0.5, kappa=None, n=n, half_width=8.0, rate=1.0)
        e = c.grid.values
        f0 = fermi(e, T)
        df = 1e-3 * np.exp(-(((e - 0.5) / 0.15) ** 2))
        P = c.pairs.gibbs(1, T)
        plus = c.energy_rates((f0 + df)[None], P)[0][0]
        minus = c.energy_rates((f0 - df)[None], P)[0][0]
        direct = -(plus - minus) / 2  # the part linear in delta f
        differences.append(abs(direct / vgl73_loss_rate(df, e, T, 1.0) - 1))
        steps.append(c.grid.step)
    slope = np.polyfit(np.log(steps), np.log(differences), 1)[0]
    assert abs(slope - 2) < 0.15
    assert differences[-1] < 1e-3
