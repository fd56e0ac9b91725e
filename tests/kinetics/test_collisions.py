"""The collision right-hand side: both paths agree, and the FFT path's scratch never leaks into results."""

import threading

import numpy as np
import pytest
from systems import fermi, system


def hot_state(c, rng):
    """A double step along two positions and pairs off their stationary balance."""
    e = c.grid.values
    f = np.stack([0.5 * fermi(e, 0.15, 0.5) + 0.5 * fermi(e, 0.15, -0.5), fermi(e, 0.3)])
    P = c.stationary_pairs(f) * rng.uniform(0.5, 1.5, size=(2, c.pairs.couplings.size, c.pairs.n_levels))
    return f, P


def test_fft_and_direct_right_hand_sides_agree(rng):
    fast = system(S=2.5, n=161)
    direct = system(S=2.5, n=161, path="direct")
    f, P = hot_state(fast, rng)
    df_fast, dP_fast = fast.rhs(f, P)
    df_direct, dP_direct = direct.rhs(f, P)
    out_scale = np.max(f * fast.kernel(P, fast.electron_hole(f)).sum(axis=1)[:, None])
    assert np.max(np.abs(df_fast - df_direct)) <= 1e-12 * out_scale
    assert np.max(np.abs(dP_fast - dP_direct)) <= 1e-12 * np.max(np.abs(dP_direct))


def test_results_are_fresh_arrays_and_repeated_calls_agree(rng):
    """The right-hand side works in per-thread scratch; what it returns must survive the next call."""
    c = system(S=2.5, n=161)
    f, P = hot_state(c, rng)
    df, dP = c.rhs(f, P)
    kept = df.copy(), dP.copy()
    c.rhs(f[::-1].copy(), P[::-1].copy())  # another state through the same scratch
    assert np.array_equal(df, kept[0]) and np.array_equal(dP, kept[1])
    again = c.rhs(f, P)
    assert np.array_equal(again[0], df) and np.array_equal(again[1], dP)


def test_threads_evaluating_at_once_get_their_own_results(rng):
    c = system(S=2.5, n=161)
    states = [hot_state(c, rng) for _ in range(4)]
    expected = [c.rhs(f, P) for f, P in states]
    results = [None] * len(states)

    def evaluate(i):
        for _ in range(20):
            results[i] = c.rhs(*states[i])

    threads = [threading.Thread(target=evaluate, args=(i,)) for i in range(len(states))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (df, dP), (df_expected, dP_expected) in zip(results, expected):
        assert np.array_equal(df, df_expected) and np.array_equal(dP, dP_expected)


def test_pair_rates_go_into_a_given_array(rng):
    """``rhs(f, P, out=(None, dP))`` writes dP/dt into the caller's array, the same numbers as a fresh one, and
    refuses an array of another shape (the compiled passes would write beyond it)."""
    for path in ("fft", "direct"):
        c = system(S=2.5, n=161, path=path)
        f, P = hot_state(c, rng)
        df, dP = c.rhs(f, P)
        kept = np.full_like(P, np.nan)
        df_kept, dP_kept = c.rhs(f, P, out=(None, kept))
        assert dP_kept is kept
        np.testing.assert_array_equal(dP_kept, dP)
        np.testing.assert_array_equal(df_kept, df)
        with pytest.raises(ValueError, match="dP must be a float array of the populations' shape"):
            c.rhs(f, P, out=(None, np.empty(P.shape[:-1] + (P.shape[-1] - 1,))))


@pytest.mark.parametrize(("S", "n", "n_x"), [(2.5, 64, 7), (1.5, 41, 1)])  # L = 2n and L > 2n + 1 (41: L = 90)
def test_one_pass_right_hand_side_equals_its_numpy_twin(rng, monkeypatch, S, n, n_x):
    """Pairs and e-e in one pass (``PairScattering.rhs_in_one_pass``, serial and threaded) against the
    numpy twins of its three parts in a row (f's spectrum and G with the e-e kernel, the pair pass, the
    integral) and against the three passes it replaces; rows not a multiple of the block."""
    from hotelectron.kinetics import _numba, convolution, pair_dynamics
    from hotelectron.kinetics.mechanisms import pairs

    c = system(S=S, n=n)
    p = c.pairs
    f = rng.uniform(size=(n_x, n))
    P = rng.uniform(size=(n_x, p.couplings.size, p.n_levels))
    weights, others = c._linear_in_G
    assert others == (p,)
    _, G, K = convolution.electron_hole_pass_reference(f, c.grid.step, weights)
    w = 4.0 / 3.0 * p.rate * p.couplings.weights
    K_pairs, dP_ref = pairs.kernel_and_rates_reference(P, G, p.couplings.k, w, *pairs._electron_weights(S),
                                                       *pair_dynamics.chain_coefficients(S), p.relaxation, c.grid.step, n)
    df_ref, _, _ = convolution.integral_pass_reference(f, K + K_pairs, -1.0)
    scale = np.max(f * (K + K_pairs).sum(axis=1)[:, None])
    results = []
    for threshold in (_numba.PARALLEL_MIN_WORK, 1):  # the serial compilation, then the threaded one
        monkeypatch.setattr(_numba, "PARALLEL_MIN_WORK", threshold)
        df, dP = c.rhs(f, P)
        np.testing.assert_allclose(df, df_ref, rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(dP, dP_ref, rtol=0, atol=1e-13 * np.max(np.abs(dP_ref)))
        results.append((df, dP))
    monkeypatch.setattr(pairs.PairScattering, "rhs_in_one_pass", lambda *args: False)
    df, dP = c.rhs(f, P)  # the three passes: the same arithmetic, compiled in other contexts (fused multiply-adds)
    np.testing.assert_allclose(df, results[0][0], rtol=0, atol=1e-13 * scale)
    np.testing.assert_allclose(dP, results[0][1], rtol=0, atol=1e-14 * np.max(np.abs(dP_ref)))


@pytest.mark.parametrize("stationary", [True, False])
def test_a_linearisation_written_into_a_spare_one_equals_a_fresh_one(rng, stationary):
    """``linearise(reuse=old)`` overwrites the old linearisation's arrays: the right-hand side, the
    linearisation and the Jacobian products equal those of a fresh call bit for bit."""
    c = system(S=2.5, n=161)
    f, P = hot_state(c, rng)
    g, Q = hot_state(c, rng)
    g = np.clip(g + 0.01 * rng.standard_normal(g.shape), 0, 1)
    df, dP, lin = c.linearise(g, Q, stationary=stationary)
    spare = c.linearise(f, P, stationary=stationary)
    again_df, again_dP, again = c.linearise(g, Q, stationary=stationary, out=(spare[0], None), reuse=spare[2])
    assert again_df is spare[0] and again.FF is spare[2].FF and again.K is spare[2].K
    assert np.array_equal(again_df, df) and (stationary or np.array_equal(again_dP, dP))
    for name in ("G", "K", "D", "FF", "FK"):
        assert np.array_equal(getattr(again, name), getattr(lin, name)), name
    v_f, v_P = rng.standard_normal(f.shape), rng.standard_normal(P.shape)
    for exact, reused in zip(c.jvp(lin, v_f, v_P), c.jvp(again, v_f, v_P)):
        assert (exact is None and reused is None) or np.array_equal(exact, reused)


def test_a_linearisation_without_products_makes_their_parts_at_the_first_product(rng):
    """``linearise(products=False)``: the right-hand side's one pass keeps f's spectrum, G and the kernel,
    and the first Jacobian product makes D and the kernel's spectrum; right-hand side, linearisation
    and products equal those of the full linearisation to round-off (the same sums, compiled in other
    passes), and the pass's right-hand side is ``rhs``'s bit for bit."""
    c = system(S=2.5, n=161)
    f, P = hot_state(c, rng)
    df, dP, lin = c.linearise(f, P)
    df_pass, dP_pass, lazy = c.linearise(f, P, products=False)
    assert lazy.D is None and lazy.FK is None  # the one pass, not the full linearisation
    rhs = c.rhs(f, P)
    assert np.array_equal(df_pass, rhs[0]) and np.array_equal(dP_pass, rhs[1])
    scale = np.max(f * lin.K.sum(axis=1)[:, None])
    np.testing.assert_allclose(df_pass, df, rtol=0, atol=1e-13 * scale)
    np.testing.assert_allclose(dP_pass, dP, rtol=0, atol=1e-14 * np.max(np.abs(dP)))
    for name in ("G", "K"):
        np.testing.assert_allclose(getattr(lazy, name), getattr(lin, name), rtol=1e-14, atol=1e-15, err_msg=name)
    np.testing.assert_allclose(lazy.FF, lin.FF, rtol=0, atol=1e-14 * np.max(np.abs(lin.FF)))
    v_f, v_P = rng.standard_normal(f.shape), rng.standard_normal(P.shape)
    for exact, product in zip(c.jvp(lin, v_f, v_P), c.jvp(lazy, v_f, v_P)):
        np.testing.assert_allclose(product, exact, rtol=0, atol=1e-12 * np.max(np.abs(exact)))
    np.testing.assert_allclose(lazy.D, lin.D, rtol=1e-13, atol=0)
    D = lazy.D
    c.jvp(lazy, v_f, v_P)
    assert lazy.D is D  # made once


@pytest.mark.parametrize("path", ["fft", "direct"])
@pytest.mark.parametrize(("call", "match"), [
    pytest.param(lambda c, f, P: c.rhs(f[:, :-2], P), r"f must have shape \(n_x, 41\).*\(2, 39\)", id="f with too few energies"),
    pytest.param(lambda c, f, P: c.rhs(f[0], P[0]), r"f must have shape \(n_x, 41\).*\(41,\)", id="f of one position as 1-D"),
    pytest.param(lambda c, f, P: c.rhs(f, P[:, :-1]), r"P must have shape \(2, 40, 2\)", id="P with a coupling missing"),
    pytest.param(lambda c, f, P: c.rhs(f[:1], P), r"P must have shape \(1, 40, 2\)", id="P at other positions"),
    pytest.param(lambda c, f, P: c.rhs(f, None), r"P must have shape \(2, 40, 2\).*None", id="no P with pairs"),
    pytest.param(lambda c, f, P: c.integral(f[:, :-2], P), r"f must have shape", id="integral, f too short"),
    pytest.param(lambda c, f, P: c.linearise(f, P[:, :-1]), r"P must have shape", id="linearise, P short"),
    pytest.param(lambda c, f, P: c.electron_hole(f[:, :-2]), r"f must have shape", id="electron_hole, f too short"),
    pytest.param(lambda c, f, P: c.stationary_pairs(f[:, :-2]), r"f must have shape", id="stationary_pairs, f too short"),
    pytest.param(lambda c, f, P: c.electron_energy(f[:, :-2]), r"f must have shape", id="electron_energy, f too short"),
    pytest.param(lambda c, f, P: c.energy_rates(f, P[:, :-1]), r"P must have shape", id="energy_rates, P short"),
    pytest.param(lambda c, f, P: c.pair_rates(f, P[:, :-1]), r"P must have shape", id="pair_rates, P short"),
])
def test_states_of_the_wrong_shape_are_refused(path, call, match):
    """f[x, i] with another number of energies than the grid, or P of another shape than the mechanisms'
    populations at those positions, is refused naming both shapes: the compiled passes index by the grid
    and would read and write beyond the arrays (a wrong-length f returned numbers, one case corrupted the heap)."""
    c = system(n=41, half_width=4.0, path=path)
    f = np.stack([fermi(c.grid.values, 0.1)] * 2)
    P = c.stationary_pairs(f)
    with pytest.raises(ValueError, match=match):
        call(c, f, P)
