"""Matrix-free empirical learning curves: same draws and errors as gp.learning_curve."""

import tracemalloc

import numpy as np
import pytest

from wilsonian.errors import WilsonianError
from wilsonian.gp import learning_curve, posterior
from wilsonian.kernels import KernelSpec
from wilsonian.operators import TiledOperator


def learning_curve_matrix_free(X, y, spec, etas, **options):
    """The learning curve over the matrix-free operator (kernel tiles computed per draw)."""
    return learning_curve(TiledOperator(X, spec), y, etas, **options)


@pytest.fixture(scope="module")
def pool(digits_binary_pool):
    return digits_binary_pool(700)


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("ridge", [1e-2, 1e-8])
def test_identical_to_the_dense_learning_curve(pool, replace, ridge):
    X, y = pool
    spec = KernelSpec()
    etas = [3, 40, 150, 400]
    dense = learning_curve(spec.matrix(X), y, etas, ridge=ridge, trials=3, replace=replace, seed=11)
    free = learning_curve_matrix_free(X, y, spec, etas, ridge=ridge, trials=3, replace=replace, seed=11, tile=97)
    assert np.array_equal(free.eta, dense.eta)
    assert np.allclose(free.errors, dense.errors, rtol=1e-10, atol=0)
    assert (free.ridge, free.replace, free.seed, free.nested) == (ridge, replace, 11, True)
    assert free.fallbacks == dense.fallbacks
    assert free.meta["method"] == "matrix-free"


def test_one_draw_is_the_exact_gp_error(pool):
    """Closed form for one draw: rebuild its training set from the documented stream."""
    X, y = pool
    spec = KernelSpec("ntk", "erf", 1, 1.5, 0.2)
    curve = learning_curve_matrix_free(X, y, spec, [25], ridge=1e-3, trials=2, seed=4)
    stream = np.random.SeedSequence(4).spawn(2)[1]
    order = np.random.default_rng(stream).permutation(len(y))[:25]
    K = spec.matrix(X)
    mean = posterior(K[np.ix_(order, order)], y[order], K[:, order], 1e-3).mean
    assert curve.errors[1, 0] == pytest.approx(np.mean((mean - y) ** 2), rel=1e-10)


def test_singular_training_sets_fall_back_like_the_dense_path(pool):
    X, y = pool
    X = np.repeat(X[:40], 2, axis=0)  # every input twice: with σ² = 0 the training kernel is singular
    y = np.repeat(y[:40], 2)
    spec = KernelSpec()
    dense = learning_curve(spec.matrix(X), y, [10, 60], ridge=0.0, trials=2, seed=1)
    free = learning_curve_matrix_free(X, y, spec, [10, 60], ridge=0.0, trials=2, seed=1)
    assert free.fallbacks == dense.fallbacks > 0
    assert np.all(np.isfinite(free.errors))
    assert np.allclose(free.errors, dense.errors, rtol=1e-6, atol=1e-12)


def test_never_forms_the_pool_kernel():
    """Peak memory stays far below one N×N matrix (N = 3000: 72 MB)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 8))
    y = np.sign(X[:, 0])
    tracemalloc.start()
    try:
        curve = learning_curve_matrix_free(X, y, KernelSpec(), [20, 200], ridge=1e-3, trials=1, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.2 * 3000**2 * 8
    assert np.all(curve.errors < 1.0)  # better than predicting 0


def test_bad_input_is_rejected(pool):
    X, y = pool
    spec = KernelSpec()
    with pytest.raises(WilsonianError):
        learning_curve_matrix_free(X, y, spec, [10], ridge=-1.0)
    with pytest.raises(WilsonianError):
        learning_curve_matrix_free(X, y[:-1], spec, [10], ridge=1e-3)
    with pytest.raises(WilsonianError):
        learning_curve_matrix_free(X, y, spec, [10_000], ridge=1e-3)
    with pytest.raises(WilsonianError):
        learning_curve_matrix_free(X, y, "nngp", [10], ridge=1e-3)
    with pytest.raises(WilsonianError):
        learning_curve_matrix_free(X, y, spec, [10], ridge=1e-3, trials=0)
    with pytest.raises(WilsonianError):
        learning_curve_matrix_free(X, y, spec, [10], ridge=1e-3, tile=0)
