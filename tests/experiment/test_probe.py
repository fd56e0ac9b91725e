"""Probe model: exact limits, an independent quadrature, the sum rule, Zeeman peaks, the double step."""

import numpy as np
import pytest
from scipy.integrate import quad

from hotelectron.experiment.probe import ProbeParameterError, ProbeParameters, conductance, dos

GAP, DYNES = 1.0, 1e-3  # energies in units of the gap


def fermi(energy, kt):
    return 0.5 * (1.0 - np.tanh(0.5 * energy / kt))


def quadrature_conductance(ev, kt, gap=GAP, dynes=DYNES):
    """R_T dI/dV = int dE n_S(E + eV) (-df/dE) for a Fermi f, by adaptive quadrature."""
    def integrand(e):
        return dos(e + ev, gap, dynes) * 0.25 / kt / np.cosh(0.5 * e / kt) ** 2
    points = sorted(p for p in (-gap - ev, gap - ev) if abs(p) < 40 * kt)
    value, _ = quad(integrand, -40 * kt, 40 * kt, points=points or None, limit=500,
                    epsabs=1e-12, epsrel=1e-12)
    return value


def test_normal_probe_gives_one_for_any_f(rng):
    energy = np.linspace(-2, 2, 301)
    f = rng.uniform(0, 1, energy.size)
    bias = np.linspace(-3, 3, 41)
    assert np.array_equal(conductance(energy, f, bias, gap=0.0, dynes=0.0), np.ones_like(bias))


def test_vanishing_gap_gives_one(rng):
    energy = np.linspace(-2, 2, 401)
    f = np.sort(rng.uniform(0, 1, energy.size))[::-1]
    bias = np.linspace(-1, 1, 21)
    for gap, tol in ((1e-4, 2e-3), (1e-6, 2e-5)):
        assert np.max(np.abs(conductance(energy, f, bias, gap, dynes=1e-3 * gap) - 1)) < tol


def test_fermi_f_matches_direct_quadrature_to_1e_8():
    kt = 0.1
    energy = np.linspace(-4, 4, 160_001)  # step 5e-5 = kT / 2000: interpolation error ~ 1e-9
    bias = np.linspace(-1.5, 1.5, 31)
    grid = conductance(energy, fermi(energy, kt), bias, GAP, DYNES)
    reference = np.array([quadrature_conductance(v, kt) for v in bias])
    assert np.max(np.abs(grid - reference)) < 1e-8


def test_fermi_f_in_a_field_matches_direct_quadrature_to_1e_8():
    """Each spin's DOS is the zero-field one shifted by -+h: R_T dI/dV(V) = [G_0(V + h) + G_0(V - h)] / 2,
    G_0 the zero-field quadrature (no Zeeman path of conductance or dos used); grid as in the zero-field test."""
    kt, h = 0.1, 0.3
    energy = np.linspace(-4, 4, 160_001)
    bias = np.linspace(-1.5, 1.5, 31)
    grid = conductance(energy, fermi(energy, kt), bias, GAP, DYNES, zeeman=h)
    reference = np.array([0.5 * (quadrature_conductance(v + h, kt) + quadrature_conductance(v - h, kt)) for v in bias])
    assert np.max(np.abs(grid - reference)) < 1e-8


def test_second_order_convergence_in_energy_step():
    kt = 0.1
    bias = np.linspace(-1.5, 1.5, 13)
    reference = np.array([quadrature_conductance(v, kt) for v in bias])
    steps, errors = [], []
    for n in (201, 401, 801, 1601):
        energy = np.linspace(-4, 4, n)
        errors.append(np.max(np.abs(conductance(energy, fermi(energy, kt), bias, GAP, DYNES) - reference)))
        steps.append(energy[1] - energy[0])
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - 2) < 0.1
    assert errors[-1] < 1e-4  # observed 7.2e-5 at h = kT / 20


def test_sum_rule_integral_of_excess_conductance_vanishes(rng):
    # int dV (R_T dI/dV - 1) = int dE f(E) [n_S(+inf) - n_S(-inf)] = 0; the DOS tails decay as
    # Delta^2 / 2 V^2, so the window +-W leaves ~ Delta^2 / W
    energy = np.linspace(-1.5, 1.5, 601)
    f = np.clip(0.5 - energy / 2 + 0.05 * rng.standard_normal(energy.size), 0, 1)
    # fine where the DOS has structure, coarse in the smooth tails
    bias = np.concatenate([np.linspace(-2000, -5, 4000, endpoint=False), np.linspace(-5, 5, 10_001),
                           np.linspace(5, 2000, 4001)[1:]])
    g = conductance(energy, f, bias, GAP, 1e-2)
    integral = np.trapezoid(g - 1, bias)
    tail = 2 * GAP**2 / 2000  # both analytic tails beyond +-2000: int_W^inf Delta^2 / 2 V^2 dV each
    assert abs(integral + tail) < 1e-3
    assert abs(integral) < 2e-3


def test_zeeman_peaks_sit_at_gap_plus_minus_spin_shift():
    h = 0.2
    energy = np.linspace(-0.5, 0.5, 2001)
    f = (energy < 0).astype(float)  # T = 0: R_T dI/dV = n_S(eV)
    expected = np.sort([-GAP - h, -GAP + h, GAP - h, GAP + h])
    # the whole range at 2e-3, the neighbourhood of each expected peak at 1e-4
    windows = [np.linspace(e - 0.02, e + 0.02, 401) for e in expected]
    bias = np.unique(np.round(np.concatenate([np.linspace(-1.6, 1.6, 1601), *windows]), 9))  # no near-duplicates
    g = conductance(energy, f, bias, GAP, 1e-4, zeeman=h)
    interior = (g[1:-1] > g[:-2]) & (g[1:-1] > g[2:]) & (g[1:-1] > 2)
    peaks = np.sort(bias[1:-1][interior])
    assert peaks.size == 4
    # the other spin branch's sloping DOS moves each maximum by a few 1e-4 of the gap
    assert np.max(np.abs(peaks - expected)) < 1e-3


def test_field_parameters_give_g_mu_b_b_splitting():
    probe = ProbeParameters(gap_meV=0.17, dynes_meV=1e-3, temperature_K=0.05, field_T=1.0)
    assert probe.zeeman_meV == pytest.approx(0.5 * 2 * 0.057883818, rel=1e-8)
    assert ProbeParameters(gap_meV=0.17).zeeman_meV == 0


def test_double_step_is_average_of_two_shifted_bcs_curves():
    # collisionless wire at x: f = (1 - x) f_F(E + eU/2) + x f_F(E - eU/2)
    kt, eu, x = 0.05, 1.5, 0.3
    energy = np.linspace(-3, 3, 120_001)
    f = (1 - x) * fermi(energy + eu / 2, kt) + x * fermi(energy - eu / 2, kt)
    bias = np.linspace(-2.5, 2.5, 21)
    grid = conductance(energy, f, bias, GAP, DYNES)
    # -df/dE = (1 - x) delta_T(E + eU/2) + x delta_T(E - eU/2): the BCS curve shifted by -+eU/2
    reference = np.array([(1 - x) * quadrature_conductance(v - eu / 2, kt)
                          + x * quadrature_conductance(v + eu / 2, kt) for v in bias])
    assert np.max(np.abs(grid - reference)) < 1e-7


@pytest.mark.parametrize("field, value, match", [
    ("gap_meV", -0.1, "gap_meV"), ("dynes_meV", 0.0, "dynes_meV"), ("temperature_K", 5.0, "T_c"),
    ("g", float("nan"), "finite"), ("g", 0.0, r"\(0, 20\]"), ("g", -2.0, r"\(0, 20\]"), ("g", 1e300, r"\(0, 20\]"),
    # g mu_B B/2 = 100 gaps at B = 100 * 0.17 meV / 0.0579 meV/T = 293.7 T (g = 2)
    ("field_T", 1e16, "exceeds 100 times the gap"), ("field_T", 294.0, "exceeds 100 times the gap"),
    # beyond 1 eV the cell integrals cancel to garbage (a gap of 1e300 meV gave R_T dI/dV = 1.9e146)
    ("gap_meV", 1e300, "at most 1000 meV"), ("gap_meV", 1000.001, "at most 1000 meV"),
    ("dynes_meV", 1e300, "at most 1000 meV")])
def test_bad_probe_parameters_are_refused(field, value, match):
    kwargs = dict(gap_meV=0.17, dynes_meV=1e-3, temperature_K=0.05)
    kwargs[field] = value
    with pytest.raises(ProbeParameterError, match=match) as caught:
        ProbeParameters(**kwargs)
    assert caught.value.field == field  # what a caller names as its own option


def test_the_largest_gap_and_broadening_a_probe_takes_still_give_its_dos():
    """At the caps (1 eV) the curve of a sharp Fermi edge is still the DOS at eV: the cell integrals of
    the antiderivative hold their precision there (they lost it near 1e12 meV: 0.998 for 1)."""
    energy = np.linspace(-0.4, 0.4, 161)
    f = fermi(energy, 0.005)
    for gap, dynes, bias in ((1000.0, 1e-3, 3000.0), (0.17, 1000.0, 0.5), (1000.0, 1000.0, 3000.0)):
        probe = ProbeParameters(gap_meV=gap, dynes_meV=dynes)
        got = conductance(energy, f, [-bias, bias], probe.gap_meV, probe.dynes_meV)
        assert np.allclose(got, dos(bias, gap, dynes), rtol=1e-6, atol=0)


def test_the_largest_field_a_probe_takes_and_a_normal_probe_in_any_field():
    assert ProbeParameters(gap_meV=0.17, field_T=293.0).zeeman_meV == pytest.approx(16.97, rel=1e-3)
    assert ProbeParameters(gap_meV=0.0, field_T=1e16).gap_meV == 0  # no gap: the field does not enter


def test_probe_temperature_lowers_the_gap():
    cold = ProbeParameters(gap_meV=0.17, temperature_K=0.05)
    warm = ProbeParameters(gap_meV=0.17, temperature_K=0.9)
    assert cold.gap_at_temperature_meV == pytest.approx(0.17, rel=1e-6)
    assert 0 < warm.gap_at_temperature_meV < 0.17


@pytest.mark.parametrize("ratio", [0.2, 0.4, 0.6, 0.9, 0.99])
def test_the_gap_solves_the_bcs_equation_in_its_matsubara_form(ratio):
    """Delta(T) from the gap equation's energy integral (the package) satisfies its Matsubara-sum form,
    ln(T_c/T) = 2 pi t sum_n [1/w_n - 1/sqrt(w_n^2 + d^2)], w_n = (2n + 1) pi t (energies in Delta(0),
    T_c = Delta(0) e^gamma/pi), to 1e-10: a second route to the same root."""
    import math

    from hotelectron.experiment.probe import bcs_gap_ratio

    t_c = math.exp(np.euler_gamma) / math.pi
    t = ratio * t_c
    d = bcs_gap_ratio(t)
    w = (2 * np.arange(2_000_000) + 1) * math.pi * t
    terms = 2 * math.pi * t * (1 / w - 1 / np.sqrt(w * w + d * d))
    tail = d * d / (8 * math.pi**2 * t**2 * (2 * w.size + 1) ** 2)  # sum of d^2/(2 w_n^3) beyond the last, x 2 pi t
    assert np.sum(terms) + tail - math.log(1 / ratio) == pytest.approx(0.0, abs=1e-10)
    # and the probe takes it: Delta(T) = Delta(0) d at T = t Delta(0)/k_B
    from hotelectron.experiment.probe import BOLTZMANN_MEV_PER_K

    probe = ProbeParameters(gap_meV=0.17, dynes_meV=1e-3, temperature_K=t * 0.17 / BOLTZMANN_MEV_PER_K)
    assert probe.gap_at_temperature_meV == pytest.approx(0.17 * d, rel=1e-12)


def test_the_gap_near_zero_temperature_and_at_t_c():
    """At low t = k_B T/Delta(0) the gap is Delta(0) [1 - sqrt(2 pi t) e^(-1/t) (1 - t/8 + O(t^2))] (the thermal
    term is 2 K_0(1/t) to leading order, and K_0(z) ~ sqrt(pi/2z) e^-z (1 - 1/8z)): the relative departure
    from the leading term, divided by t, tends to -1/8, its error shrinking with t; from T_c on the gap is 0."""
    import math

    from hotelectron.experiment.probe import BCS_RATIO, bcs_gap_ratio

    errors = []
    for t in (0.09, 0.07, 0.06):
        leading = math.sqrt(2 * math.pi * t) * math.exp(-1 / t)
        errors.append(abs(((1 - bcs_gap_ratio(t)) / leading - 1) / t + 1 / 8))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.005, errors
    assert bcs_gap_ratio(1 / BCS_RATIO) == 0.0 and bcs_gap_ratio(1.0) == 0.0
    assert BCS_RATIO == pytest.approx(1.76388, rel=1e-5)


def test_a_distribution_too_coarse_for_the_probe_is_named():
    """A Fermi edge sampled every 2 k_B T (the solver takes such grids) puts the probe's curve off by
    several per cent: the message says so; sampled every k_B T/2.5 it is accurate and nothing is said."""
    from hotelectron.experiment.probe import coarse_f_message

    for step, coarse in ((2.0, True), (0.4, False)):
        energy = np.arange(-40.0, 40.0 + step / 2, step)  # in k_B T
        f = fermi(energy, 1.0)
        message = coarse_f_message(f)
        assert (message is not None) == coarse
        if coarse:
            assert "raise [grid] n_energy" in message and f"{np.max(np.abs(np.diff(f))):.2f}" in message
        # the curve's error at the coherence peak against the quadrature, in k_B T = 0.05 gap
        ev = np.array([-1.0 - 0.05, -1.0, -1.0 + 0.05])
        exact = np.array([quadrature_conductance(v, 0.05) for v in ev])
        error = np.max(np.abs(conductance(energy * 0.05, f, ev, GAP, DYNES, 0.0) - exact)) / np.max(exact)
        assert (error > 0.02) == coarse, error


def test_dynes_dos_has_its_closed_form_values():
    """n_S(E) = |Re[(E + i G)/sqrt((E + i G)^2 - D^2)]| (SPEC 10) at points where it is known in closed form,
    without the package's branch choice: n_S(0) = G/sqrt(G^2 + D^2) (z = iG), the BCS |E|/sqrt(E^2 - D^2)
    outside the gap and 0 inside it as G -> 0 (first order in G), 1 far away; in a field the average of the
    two shifted curves."""
    for gap, dynes in ((1.0, 1e-3), (1.0, 0.3), (0.17, 0.02)):
        assert dos(0.0, gap, dynes) == pytest.approx(dynes / np.hypot(dynes, gap), rel=1e-13)
    e = np.array([-3.0, -1.5, -1.01, 1.01, 1.2, 4.0])
    np.testing.assert_allclose(dos(e, 1.0, 1e-9), np.abs(e) / np.sqrt(e**2 - 1.0), rtol=1e-6)
    inside = np.array([-0.9, -0.5, 0.2, 0.7])
    np.testing.assert_allclose(dos(inside, 1.0, 1e-6), 1e-6 * 1.0 / (1.0 - inside**2) ** 1.5, rtol=1e-5)
    assert dos(1e4, 1.0, 1e-3) == pytest.approx(1 + 0.5e-8, rel=1e-12)
    h, e = 0.3, np.linspace(-2, 2, 41)
    np.testing.assert_allclose(dos(e, 1.0, 0.01, zeeman=h), 0.5 * (dos(e + h, 1.0, 0.01) + dos(e - h, 1.0, 0.01)), rtol=1e-14)


_E = np.linspace(-1.0, 1.0, 101)
_F = 0.5 * (1 - np.tanh(_E / 0.1))
_V = np.linspace(-0.5, 0.5, 11)


@pytest.mark.parametrize(("args", "match"), [
    pytest.param((_E, np.where(_E > 0.5, np.nan, _F), _V, 0.17, 0.001), r"f holds non-finite values", id="NaN in f"),
    pytest.param((np.where(_E > 0.5, np.nan, _E), _F, _V, 0.17, 0.001), r"energy holds non-finite values", id="NaN energy"),
    pytest.param((_E, _F, np.array([np.nan, 0.1]), 0.17, 0.001), r"bias holds non-finite values", id="NaN bias"),
    pytest.param((_E, _F, _V.reshape(1, -1), 0.17, 0.001), r"bias must be a number or a 1-d array; got shape \(1, 11\)", id="2-D bias"),
    pytest.param((_E, _F, _V, float("nan"), 0.001), r"gap must be a finite number >= 0; got nan", id="NaN gap"),
    pytest.param((_E, _F, _V, -0.17, 0.001), r"gap must be a finite number >= 0; got -0.17", id="negative gap"),
    pytest.param((_E, _F, _V, 0.17, -0.001), r"dynes must be a finite number >= 0; got -0.001", id="negative dynes"),
])
def test_conductance_refuses_inputs_that_give_no_curve(args, match):
    """NaN in f, the energies, the biases or the gap gave NaN conductances without a word; a negative gap
    or Dynes parameter gave the curve of its magnitude; a 2-D bias met a broadcast error."""
    with pytest.raises(ValueError, match=match):
        conductance(*args)
