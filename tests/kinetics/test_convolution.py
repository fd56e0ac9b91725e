import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelectron.kinetics import convolution


def padded(f, pad):
    """f continued as 1 below and 0 above the grid, over ``pad`` extra points on each side."""
    nx = f.shape[0]
    return np.concatenate([np.ones((nx, pad)), f, np.zeros((nx, pad))], axis=1)


def brute_force_integral(f, K):
    """The collision integral with the tails written out on an explicitly padded grid."""
    nx, n = f.shape
    M = (K.shape[1] - 1) // 2
    F = padded(f, M + 1)
    I = np.zeros_like(f)
    for x in range(nx):
        for i in range(n):
            out = sum(K[x, M + m] * (1 - F[x, M + 1 + i - m]) for m in range(-M, M + 1))
            into = sum(K[x, M - m] * F[x, M + 1 + i - m] for m in range(-M, M + 1))
            I[x, i] = f[x, i] * out - (1 - f[x, i]) * into
    return I


def brute_force_G(f, m, step):
    nx, n = f.shape
    pad = abs(m) + n
    F = padded(f, pad)
    e = np.arange(F.shape[1] - abs(m))
    if m >= 0:
        return step * np.sum(F[:, e] * (1 - F[:, e + m]), axis=1)
    return step * np.sum(F[:, e - m] * (1 - F[:, e]), axis=1)


@pytest.mark.parametrize("M", [3, 20, 45])  # shorter than, comparable to and longer than the grid
def test_both_paths_match_brute_force_with_explicit_tails(rng, M):
    f = rng.uniform(size=(2, 17))
    K = rng.uniform(size=(2, 2 * M + 1))
    reference = brute_force_integral(f, K)
    for path in convolution.PATHS:
        np.testing.assert_allclose(convolution.collision_integral(f, K, path), reference, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("path", convolution.PATHS)
def test_electron_hole_function_matches_brute_force(rng, path):
    f = rng.uniform(size=(3, 12))
    G = convolution.electron_hole(f, 0.3, path)
    for m in range(-30, 31):
        expected = brute_force_G(f, m, 0.3)
        np.testing.assert_allclose(convolution.electron_hole_at(G, m, 0.3), expected, rtol=1e-12, atol=1e-13)


def test_electron_hole_function_of_a_fermi_gas():
    T, step, n = 0.5, 0.1, 801
    eps = (np.arange(n) - (n - 1) / 2) * step
    f = 1 / (np.exp(eps / T) + 1)
    G = convolution.electron_hole(f[None], step)[0]
    delta = np.arange(-(n - 1), n) * step
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(delta == 0, T, delta / -np.expm1(-delta / T))
    np.testing.assert_allclose(G, exact, rtol=1e-12, atol=1e-12)  # edge terms ~ exp(-40/0.5)


def test_particle_number_changes_only_through_the_edges(rng):
    f = rng.uniform(size=(2, 40))
    K = rng.uniform(size=(2, 121))
    for path in convolution.PATHS:
        I = convolution.collision_integral(f, K, path)
        np.testing.assert_allclose(I.sum(axis=1), convolution.edge_particle_rate(f, K), rtol=1e-12)
    # a kernel shorter than the distance to the edges moves no electron across them
    f[:, :10], f[:, -10:] = 1.0, 0.0
    short = rng.uniform(size=(2, 19))
    assert np.all(convolution.edge_particle_rate(f, short) == 0)
    assert np.abs(convolution.collision_integral(f, short).sum(axis=1)).max() < 1e-13


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(3, 60),
    M=st.integers(0, 90),
    nx=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_fft_path_equals_direct_path(n, M, nx, seed):
    rng = np.random.default_rng(seed)
    f = rng.uniform(size=(nx, n))
    K = rng.uniform(size=(nx, 2 * M + 1)) * rng.uniform(0, 1e3)
    direct = convolution.collision_integral(f, K, "direct")
    fast = convolution.collision_integral(f, K, "fft")
    scale = np.max(f * K.sum(axis=1)[:, None]) + 1e-300
    assert np.max(np.abs(direct - fast)) <= 1e-12 * scale
    Gd = convolution.electron_hole(f, 0.1, "direct")
    Gf = convolution.electron_hole(f, 0.1, "fft")
    assert np.max(np.abs(Gd - Gf)) <= 1e-12 * 0.1 * n


def test_unknown_path_is_refused():
    with pytest.raises(ValueError, match="path must be one of"):
        convolution.collision_integral(np.zeros((1, 3)), np.zeros((1, 3)), "gpu")


@pytest.mark.parametrize("n", [16, 64, 41, 13])  # L = 2n (powers of two) and L > 2n + 1 (41: L = 90; 13: L = 27)
def test_compact_kernel_is_transformed_as_it_stands(rng, n):
    """A kernel of the compact width 2n + 1 (M = n, what the mechanisms give) is read by the FFT path
    without a copy where the transform length allows; both layouts agree with the direct path."""
    L = convolution.fft_length(n)
    assert L >= 2 * n
    f = rng.uniform(size=(3, n))
    K = rng.uniform(size=(3, 2 * n + 1)) * 10.0
    direct = convolution.collision_integral(f, K, "direct")
    fast = convolution.collision_integral(f, K, "fft")
    scale = np.max(f * K.sum(axis=1)[:, None])
    assert np.max(np.abs(direct - fast)) <= 1e-13 * scale


def test_row_transforms_equal_scipy_fft_and_keep_their_input(rng, monkeypatch):
    """``rfft_rows`` and ``irfft_rows`` (pocketfft into given arrays, strided rows allowed) against
    ``scipy.fft``, and the same through the fallback that a scipy without pocketfft's entry points takes."""
    import scipy.fft

    a = rng.uniform(size=(5, 49))[:, :48]  # rows with a stride longer than their length
    kept = a.copy()
    spectrum = np.empty((5, 25), complex)
    for fallback in (False, True):
        if fallback:
            monkeypatch.setattr(convolution, "_pocketfft_r2c", None)
            monkeypatch.setattr(convolution, "_pocketfft_c2r", None)
        out = convolution.rfft_rows(a, spectrum)
        assert out is spectrum
        np.testing.assert_allclose(spectrum, scipy.fft.rfft(a, axis=1), rtol=1e-14, atol=1e-13)
        assert np.array_equal(a, kept)
        back = np.empty((5, 48))
        convolution.irfft_rows(spectrum, 48, back)
        np.testing.assert_allclose(back, a, rtol=1e-13, atol=1e-14)


def _both_compilations(monkeypatch):
    """Yield once for the serial compilation of the fused passes and once for the threaded one (forced
    on small arrays), so that both are checked."""
    from hotelectron.kinetics import _numba

    yield "serial"
    monkeypatch.setattr(_numba, "PARALLEL_MIN_WORK", 1)
    yield "threaded"


# n_x not a multiple of the block (and 1 row for 2 threads); L = 2n and L > 2n + 1 (13: L = 27)
@pytest.mark.parametrize(("n_x", "n"), [(1, 16), (7, 13), (9, 64)])
def test_electron_hole_pass_equals_its_numpy_twin(rng, monkeypatch, n_x, n):
    """f's spectrum, G and the kernel ``weights * G`` of the fused pass against the numpy twin (the
    transforms of scipy.fft, edge terms by cumulative sums); round-off of the transforms only."""
    f = rng.uniform(size=(n_x, n))
    step = 0.3
    weights = rng.uniform(size=2 * n - 1)
    FF_ref, G_ref, K_ref = convolution.electron_hole_pass_reference(f, step, weights)
    L = convolution.fft_length(n)
    for _ in _both_compilations(monkeypatch):
        FF = np.full((n_x, L // 2 + 1), np.nan, complex)
        G = np.full((n_x, 2 * n - 1), np.nan)
        K = np.full((n_x, 2 * n + 1), np.nan)
        convolution._electron_hole_pass(f, step, FF, G, K, weights)
        np.testing.assert_allclose(FF, FF_ref, rtol=0, atol=1e-13 * n)
        np.testing.assert_allclose(G, G_ref, rtol=0, atol=1e-13 * step * n)
        np.testing.assert_allclose(K, K_ref, rtol=0, atol=1e-13 * step * n)
        G_alone = np.full_like(G, np.nan)
        convolution._electron_hole_pass(f, step, FF, G_alone)  # without a kernel
        np.testing.assert_array_equal(G_alone, G)


@pytest.mark.parametrize(("n_x", "n"), [(1, 16), (7, 13), (9, 64)])
def test_integral_pass_equals_its_numpy_twin(rng, monkeypatch, n_x, n):
    """The collision integral, its derivative D and the kernel's spectrum of the fused pass against the
    numpy twin, for a random compact kernel and either sign."""
    f = rng.uniform(size=(n_x, n))
    K = rng.uniform(size=(n_x, 2 * n + 1)) * 10.0
    FF = scipy_rfft(f, convolution.fft_length(n))
    scale = np.max(f * K.sum(axis=1)[:, None])
    for _ in _both_compilations(monkeypatch):
        for sign in (1.0, -1.0):
            I_ref, D_ref, FK_ref = convolution.integral_pass_reference(f, K, sign)
            I, D = np.full_like(f, np.nan), np.full_like(f, np.nan)
            FK = np.full_like(FF, np.nan)
            convolution._integral_pass(f, FF, K, sign, I, D, FK)
            np.testing.assert_allclose(I, I_ref, rtol=0, atol=1e-13 * scale)
            np.testing.assert_allclose(D, D_ref, rtol=0, atol=1e-13 * scale)
            np.testing.assert_allclose(FK, FK_ref, rtol=0, atol=1e-13 * np.max(np.abs(FK_ref)))
            I_alone = np.full_like(f, np.nan)
            convolution._integral_pass(f, FF, K, sign, I_alone)  # without D and FK
            np.testing.assert_array_equal(I_alone, I)


def scipy_rfft(f, L):
    import scipy.fft

    return scipy.fft.rfft(f, L, axis=1)


@pytest.mark.parametrize("M", [3, 16, 17, 40])  # shorter than, equal to (n - 1, n) and longer than the grid
def test_compact_kernel_keeps_the_integral(rng, M):
    """Lumping the transfers beyond the grid width into the end cells changes no collision integral
    (the direct path, which takes any M, on the original and the compact kernel)."""
    n = 17
    f = rng.uniform(size=(2, n))
    K = rng.uniform(size=(2, 2 * M + 1))
    compact = convolution.compact_kernel(K, n)
    assert compact.shape == (2, 2 * n + 1)
    np.testing.assert_allclose(convolution.collision_integral(f, compact, "direct"),
                               convolution.collision_integral(f, K, "direct"), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("n", [16, 13])  # L = 2n and L > 2n + 1
def test_change_of_G_is_the_centred_difference_of_the_direct_G(rng, n):
    """G is bilinear in f, so the centred difference of the direct path's G (edge terms summed) is its
    exact change: the FFT path's ``electron_hole_change`` (which takes m > 0 from m < 0) must equal it."""
    f = rng.uniform(0.1, 0.9, size=(3, n))  # G > 0 everywhere: no clipping
    v = rng.standard_normal((3, n))
    step, h = 0.3, 1e-3
    L = convolution.fft_length(n)
    dG = convolution.electron_hole_change(f, v, step, scipy_rfft(f, L), scipy_rfft(v, L))
    centred = (convolution.electron_hole(f + h * v, step, "direct") - convolution.electron_hole(f - h * v, step, "direct")) / (2 * h)
    np.testing.assert_allclose(dG, centred, rtol=0, atol=1e-11 * step * n)


@pytest.mark.parametrize("n", [16, 13])  # L = 2n and L > 2n + 1
def test_block_change_of_G_equals_its_numpy_twin(rng, n):
    """``_electron_hole_change_block`` (DUCC0 inside compiled code, a block of rows at a time, the
    half m >= 0 of the symmetric change) against ``electron_hole_change`` (pocketfft on the batch), on
    blocks of 4 rows and a last block of 1."""
    f = rng.uniform(0.1, 0.9, size=(5, n))
    v = rng.standard_normal((5, n))
    step = 0.3
    L = convolution.fft_length(n)
    FF = scipy_rfft(f, L)
    expected = convolution.electron_hole_change(f, v, step, FF, scipy_rfft(v, L))
    np.testing.assert_array_equal(expected[:, : n - 1], expected[:, :n - 1:-1])  # dG(-m d) = dG(m d)
    B = convolution.BLOCK_ROWS
    rows, spectrum = np.empty((B, L)), np.empty((B, L // 2 + 1), complex)
    half = np.full((5, n + 1), np.nan)
    for lo in range(0, 5, B):
        hi = min(lo + B, 5)
        convolution._electron_hole_change_block(v[lo:hi], FF[lo:hi], convolution._ones_spectrum(n, L), step,
                                                half[lo:hi], rows, spectrum)
    assert np.all(np.isnan(half[:, n]))  # the column beyond is the caller's
    # round-off of two transforms of length L on values of order n
    np.testing.assert_allclose(half[:, :n], expected[:, n - 1 :], rtol=0, atol=1e-13 * step * n)
