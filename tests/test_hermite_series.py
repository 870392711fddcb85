"""The Hermite-series expectations (wilsonian.kernels.hermite_series) of tanh, sigmoid and
custom activations.

- Against the closed forms of smooth activations, their φ and φ' passed as custom ones
  (an independent computation): round-off up to q = 1, and far below the quadrature's error
  beyond; a kinked φ (ReLU) at the slow rate it converges at, better than the quadrature.
- Tiles, blocks and shapes give the same numbers for the same pairs (each input's
  coefficients depend on its variance alone); the kernel is exactly symmetric and PSD.
- ``points`` still selects the quadrature, with the numbers it always gave; records and cache
  keys say which method computed a kernel.
"""

from __future__ import annotations

import numpy as np
import pytest

from wilsonian.kernels import KernelSpec, activation, custom_activation, hermite_series, nngp, ntk
from wilsonian.kernels import quadrature


def rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def pairs(lo, hi, rows=30, cols=40, seed=0):
    """A tile: row and column variances in [lo, hi], correlations in [−1, 1] with ±1."""
    rng = np.random.default_rng(seed)
    s1 = np.sqrt(rng.uniform(lo, hi, (rows, 1)))
    s2 = np.sqrt(rng.uniform(lo, hi, (1, cols)))
    rho = rng.uniform(-1.0, 1.0, (rows, cols))
    rho[:4, :4], rho[4:8, 4:8] = 1.0, -1.0
    return s1, s2, rho


def as_custom(name, **params):
    act = activation(name, **params)
    return act, custom_activation(act.phi, act.dphi, label=f"series-{name}")


# (name, params, (bound for q ≤ 1, bound for 1 ≤ q ≤ 4)) on E[φφ] and E[φ'φ'] alike; the
# 32-point quadrature's errors there are 8e-6 and 1e-2 for erf (quadrature module table).
SMOOTH = [
    ("erf", {}, (5e-15, 1e-9)), ("gelu", {}, (5e-15, 5e-15)), ("sin", {"a": 1.2, "b": 0.8, "c": 0.3}, (5e-15, 5e-15)),
    ("gaussian", {}, (5e-15, 1e-8)), ("exp", {"a": 0.5, "b": 0.6}, (5e-15, 5e-15)),
]


@pytest.mark.parametrize("name,params,bounds", SMOOTH, ids=[c[0] for c in SMOOTH])
def test_series_matches_closed_forms(name, params, bounds):
    exact, series = as_custom(name, **params)
    assert series.method == "hermite-series" and exact.method == "closed-form"
    for (lo, hi), bound in zip(((0.001, 1.0), (1.0, 4.0)), bounds):
        s1, s2, rho = pairs(lo, hi)
        e, de = exact.expect_rho(s1, s2, rho)
        es, des = series.expect_rho(s1, s2, rho)
        assert rel(es, e) < bound and rel(des, de) < bound, (lo, hi, rel(es, e), rel(des, de))


def test_series_beats_the_quadrature_where_it_was_weak():
    """erf at 1 ≤ q ≤ 4: the series to 1e-9, the 32-point quadrature only to ~1e-2; ReLU (a
    kink, algebraic convergence for both): the series 1e-3 / 1e-2, the quadrature 8e-3 / 8e-2."""
    for name, bound in (("erf", (1e-9, 1e-9)), ("relu", (3e-3, 3e-2))):
        exact, series = as_custom(name)
        quad = custom_activation(exact.phi, exact.dphi, label="quad", points=32)
        s1, s2, rho = pairs(1.0, 4.0)
        e, de = exact.expect_rho(s1, s2, rho)
        es, des = series.expect_rho(s1, s2, rho)
        eq, deq = quad.expect_rho(s1, s2, rho)
        assert rel(es, e) < bound[0] and rel(des, de) < bound[1], name
        assert rel(es, e) < rel(eq, e) / 5 and rel(des, de) < rel(deq, de) / 5, name


def test_tanh_and_sigmoid_against_a_fine_quadrature():
    """At small variances the 160-point quadrature is at round-off: so is the series."""
    for name in ("tanh", "sigmoid"):
        s1, s2, rho = pairs(0.001, 0.3)
        e, de = activation(name).expect_rho(s1, s2, rho)
        er, der = activation(name, points=160).expect_rho(s1, s2, rho)
        assert rel(e, er) < 5e-15 and rel(de, der) < 5e-15, name


def test_same_numbers_in_any_tile_block_or_shape():
    act = activation("tanh")
    s1, s2, rho = pairs(0.01, 2.0, rows=20, cols=50)
    e, de = act.expect_rho(s1, s2, rho)                       # a tile: the row-vectorized path
    eg, deg = act.expect_rho(s1[:, :, None], s2[:, :, None], rho[:, :, None])  # gathered path
    np.testing.assert_array_equal(e, eg[..., 0])
    np.testing.assert_array_equal(de, deg[..., 0])
    # A sub-tile (other columns around it, so other highest orders and other unique values)
    part, dpart = act.expect_rho(s1[5:9], s2[:, 10:13], rho[5:9, 10:13])
    np.testing.assert_array_equal(part, e[5:9, 10:13])
    np.testing.assert_array_equal(dpart, de[5:9, 10:13])
    # φ alone (NNGP) gives the same E[φφ] whether or not E[φ'φ'] is computed with it... up to
    # the rule each input's φ' asks for; both are exact to round-off.
    alone, none = act.expect_rho(s1, s2, rho, need_de=False)
    assert none is None and rel(alone, e) < 1e-15


def test_kernels_symmetric_psd_and_tile_independent():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 30))                    # standardized scale: q ≈ σ_w² = 2
    for kind, fn in (("nngp", nngp), ("ntk", ntk)):
        K = fn(X, activation="tanh", depth=3)
        np.testing.assert_array_equal(K, K.T)
        assert np.linalg.eigvalsh(K)[0] > -1e-13 * np.abs(K).max(), kind
        # Another tiling changes only the matrix product's round-off (OpenBLAS's Haswell kernels
        # sum a 17-row tile's last row in another order; SkylakeX's do not): the series itself
        # gives the same number for the same correlations in any tile (test above).
        tiled = fn(X, activation="tanh", depth=3, tile=17)
        assert np.abs(tiled - K).max() <= 1e-15 * np.abs(K).max(), kind
        Kq = fn(X, activation="tanh", depth=3, activation_params={"points": 160})
        assert rel(K, Kq) < 1e-6, kind                     # the quadrature, 160 points, is the weak one here


def test_points_selects_the_quadrature_with_its_former_numbers():
    act = activation("tanh", points=32)
    assert act.method == "quadrature" and dict(act.params) == {"points": 32}
    s1, s2, rho = pairs(0.01, 2.0)
    e, de = act.expect_rho(s1, s2, rho)
    eq, deq = quadrature.expectations(act.phi, act.dphi, s1, s2, rho, 32)
    np.testing.assert_array_equal(e, eq)
    np.testing.assert_array_equal(de, deq)


def test_records_and_cache_keys_name_the_method():
    series = KernelSpec("nngp", "tanh").as_dict()
    assert series["expectations"] == "hermite-series" and "activation_params" not in series
    quad = KernelSpec("nngp", "tanh", activation_params={"points": 32}).as_dict()
    assert "expectations" not in quad and quad["activation_params"] == {"points": 32}
    assert "expectations" not in KernelSpec("nngp", "erf").as_dict()
    softplus = custom_activation(lambda z: np.logaddexp(0.0, z), label="softplus")
    assert KernelSpec("nngp", softplus).as_dict()["expectations"] == "hermite-series"


def test_coefficients_drop_noise_and_stop_at_the_last_order():
    """tanh is odd: its even coefficients are zero, not rounding noise; a smaller variance needs
    fewer orders; the coefficients of one input do not depend on the others computed with it."""
    tanh = activation("tanh")
    (a,), last = hermite_series.coefficients((tanh.phi,), np.array([0.05, 0.3, 1.0]))
    assert np.all(a[:, 0::2] == 0.0)
    assert last[0] < last[1] < last[2] <= 255
    assert a.shape[1] == last.max() + 1
    assert np.all(a[np.arange(a.shape[1])[None, :] > last[:, None]] == 0.0)
    (b,), _ = hermite_series.coefficients((tanh.phi,), np.array([0.3]))
    np.testing.assert_array_equal(b[0], a[1, :b.shape[1]])
    assert np.all(a[1, b.shape[1]:] == 0.0)


def test_non_finite_values_give_nan_never_zero():
    """exp(s z) overflowing at the larger rules' nodes keeps a smaller rule; an E[φ²] beyond
    float64, or a φ undefined on the nodes (log1p below −1), gives NaN, not a silent 0."""
    exp = custom_activation(np.exp, np.exp, label="exp")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 10))
    K = nngp(X, activation=exp, depth=1)
    np.testing.assert_allclose(K, nngp(X, activation="exp", depth=1), rtol=1e-12)
    assert np.isnan(nngp(20 * X, activation=exp, depth=1)).all()
    with np.errstate(invalid="ignore", divide="ignore"):   # its digest at [−6, 6] warns too
        log1p = custom_activation(np.log1p, label="log1p")
    assert np.isnan(nngp(X, activation=log1p, depth=1)).all()


def test_coefficients_follow_what_phi_computes_not_its_object():
    """A function object whose behaviour changed, and an unhashable callable, get their own
    coefficients (they were keyed by the object once: a stale kernel, a TypeError)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((12, 20)) / np.sqrt(20)
    beta = 1.0
    phi = lambda z: np.tanh(beta * z)  # noqa: E731
    first = nngp(X, activation=custom_activation(phi, label="a"), depth=2)
    beta = 3.0
    second = nngp(X, activation=custom_activation(phi, label="b"), depth=2)
    fresh = nngp(X, activation=custom_activation(lambda z: np.tanh(3.0 * z), label="c"), depth=2)
    np.testing.assert_array_equal(second, fresh)
    assert rel(first, second) > 0.1

    class Scaled:                       # unhashable (defines __eq__ without __hash__)
        def __init__(self, b):
            self.b = b

        def __eq__(self, other):
            return isinstance(other, Scaled) and other.b == self.b

        def __call__(self, z):
            return np.tanh(self.b * z)

    K = nngp(X, activation=custom_activation(Scaled(3.0), label="scaled"), depth=2)
    np.testing.assert_array_equal(K, fresh)


def test_variance_of_many_inputs_in_bounded_chunks():
    tanh = activation("tanh", points=None)           # points=None is the default, accepted
    q = np.linspace(0.0, 2.0, 2 * hermite_series.CHUNK + 7)
    e, de = tanh.variance(q)
    e_few, de_few = tanh.variance(q[-5:])
    np.testing.assert_array_equal(e[-5:], e_few)
    np.testing.assert_array_equal(de[-5:], de_few)
    (a,), last = hermite_series.coefficients((tanh.phi,), np.sqrt(q[:10]))
    assert a.shape == (10, last.max() + 1)
