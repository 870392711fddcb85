"""The compiled arccos and arcsin of the ReLU and erf kernels (wilsonian.kernels._inverse_trig):
within an ulp of the exact values, correctly rounded at the special values, the same in every layout."""

import numpy as np
import pytest

from wilsonian.kernels._inverse_trig import arccos, arccos_rows, arcsin, arcsin_rows


def sample(rng):
    """Uniform on [−1, 1], and densely where the reductions switch or the slope blows up."""
    return np.concatenate([
        rng.uniform(-1, 1, 200_000),
        1 - rng.uniform(0, 1e-9, 2_000), -1 + rng.uniform(0, 1e-9, 2_000),      # ρ → ±1
        rng.uniform(0.49, 0.51, 5_000), -rng.uniform(0.49, 0.51, 5_000),         # |x| = 1/2
        rng.uniform(0.97, 0.98, 5_000), -rng.uniform(0.97, 0.98, 5_000),         # asin's 0.975
        rng.uniform(-1e-6, 1e-6, 2_000), np.geomspace(1e-300, 1e-3, 500),
    ])


def ulps(values, reference):
    return np.abs(values - reference) / np.spacing(np.abs(reference))


@pytest.mark.parametrize("ours, numpys", [(arccos, np.arccos), (arcsin, np.arcsin)])
def test_close_to_numpys(ours, numpys):
    x = sample(np.random.default_rng(0))
    got, ref = ours(x), numpys(x)
    # NumPy's is the C library's (within ~0.5 ulp; then ours are within 1 ulp of it and equal
    # in ~90 % of points) or, on AVX-512 machines, SVML's (a few ulp): the exact values are
    # the test below
    assert ulps(got, ref).max() <= 4.0
    assert np.mean(got == ref) > 0.5


def test_against_the_exact_values():
    import mpmath as mp

    mp.mp.dps = 40
    x = sample(np.random.default_rng(1))[::40]
    for ours, exact, bound in ((arccos, mp.acos, 0.85), (arcsin, mp.asin, 0.8)):
        truth = [exact(mp.mpf(float(v))) for v in x]
        errors = [float(abs(mp.mpf(float(g)) - t)) / np.spacing(abs(float(t))) for g, t in zip(ours(x), truth)]
        assert max(errors) < bound, ours.__name__


def test_special_values():
    """Correctly rounded at ±1, ±0 and ±1/2 (NumPy's SVML arccos(0.5) is an ulp off on
    AVX-512 machines, so the references are the exact values), NaN outside [−1, 1] and at NaN
    as NumPy's, and asin(−0) = −0."""
    import mpmath as mp

    mp.mp.dps = 40
    x = np.array([1.0, -1.0, 0.0, -0.0, 0.5, -0.5, np.nextafter(1.0, 2.0), -2.0, np.inf, np.nan])
    finite = np.abs(x) <= 1
    with np.errstate(invalid="ignore"):
        for ours, numpys, exact in ((arccos, np.arccos, mp.acos), (arcsin, np.arcsin, mp.asin)):
            got = ours(x)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(numpys(x)))
            rounded = np.array([float(exact(mp.mpf(float(v)))) for v in x[finite]])
            np.testing.assert_array_equal(got[finite], rounded)
            np.testing.assert_array_equal(np.signbit(got[finite]), np.signbit(x[finite]) & (ours is arcsin))


def test_the_row_kernels_are_the_elementwise_function():
    rng = np.random.default_rng(2)
    T = rng.uniform(-1, 1, (40, 70))
    w = np.empty((17, 33))
    arccos_rows(T, 5, 11, w)                                      # a block at odd offsets
    np.testing.assert_array_equal(w, arccos(T[5:22, 11:44]))
    before = T.copy()
    arcsin_rows(w / 4, T, 9, 30)
    np.testing.assert_array_equal(T[9:26, 30:63], arcsin(w / 4))
    T[9:26, 30:63] = before[9:26, 30:63]
    np.testing.assert_array_equal(T, before)                      # nothing else written
    assert arccos(np.ones((2, 3))).shape == (2, 3)


def test_the_inner_shortcut_gives_the_same_bits():
    """Spans of a row inside [−1/2, 1/2] take only the inner branch (the shortcut of the row
    kernels); spans with one entry outside, at ±1/2 and their neighbours, at ±0, NaN or a
    diagonal ρ = 1 take the full form. Both must give the branch-free function's bits."""
    from wilsonian.kernels._inverse_trig import _SPAN

    rng = np.random.default_rng(3)
    n = 3 * _SPAN + 37                                            # spans and a short last one
    edges = [0.5, -0.5, np.nextafter(0.5, 1.0), np.nextafter(-0.5, -1.0), np.nextafter(0.5, 0.0),
             0.0, -0.0, 1e-310, np.nan, 1.0, -1.0, 0.9, 0.55, -0.75]
    T = rng.uniform(-0.5, 0.5, (len(edges) + 1, n + 5))
    for i, value in enumerate(edges):                             # one per row, spans apart
        T[i, 5 + (i * 97) % n] = value
    T[-1, 5:] = rng.uniform(-0.5, 0.5, n) * 0.1                   # one row wholly inner
    w = np.empty((len(edges) + 1, n))
    with np.errstate(invalid="ignore"):
        arccos_rows(T, 0, 5, w)
        assert np.array_equal(w.view(np.int64), arccos(T[:, 5:]).view(np.int64))
        out = np.empty_like(T)
        arcsin_rows(T[:, 5:].copy(), out, 0, 5)
        assert np.array_equal(out[:, 5:].view(np.int64), arcsin(T[:, 5:]).view(np.int64))
