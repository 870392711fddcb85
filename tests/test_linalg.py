"""Tests of wilsonian.spectrum.symmetric_eigensystem (THEORY.md §1 eigenproblem on the pool).

Matrices are built with a known eigensystem (K = Q diag(λ) Qᵀ, λ over 15 decades) so that
the results are checked against the exact answer, and on an NNGP (ReLU arc-cosine) kernel,
where they are checked against numpy.linalg.eigh and the §1 identities.
"""

from __future__ import annotations

import numpy as np
import pytest

from wilsonian.spectrum import dense as linalg
from wilsonian.errors import WilsonianError
from wilsonian.spectrum import symmetric_eigensystem


def random_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def wide_spectrum_problem(n: int, seed: int):
    """K = Q diag(λ) Qᵀ with λ log-spaced over 15 decades; y with decaying coefficients."""
    rng = np.random.default_rng(seed)
    Q = random_orthogonal(n, rng)
    lam = np.logspace(0.0, -15.0, n)
    K = (Q * lam) @ Q.T
    K = 0.5 * (K + K.T)
    coefficients = rng.standard_normal(n) * lam**0.25
    y = Q @ coefficients
    return K, y, lam, np.abs(coefficients)


def relu_nngp_kernel(n: int, d: int, seed: int):
    """One-layer ReLU NNGP kernel (arc-cosine, THEORY.md §2) of n random unit vectors, ±1 target."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    cos = np.clip(X @ X.T, -1.0, 1.0)
    theta = np.arccos(cos)
    K = (np.sin(theta) + (np.pi - theta) * cos) / (2.0 * np.pi)
    K = 0.5 * (K + K.T)
    y = np.where(X[:, 0] + 0.3 * X[:, 1] > 0, 1.0, -1.0)
    return K, y


def use_reduction(name: str, monkeypatch) -> None:
    """Make the tridiagonal method use the one- or two-stage reduction at every N."""
    if name == "two-stage":
        if linalg._dsytrd_2stage_routine() is None:
            pytest.skip("no LAPACK with dsytrd_2stage found")
        monkeypatch.setattr(linalg, "_TWO_STAGE_MIN_N", 0)
    else:
        monkeypatch.setattr(linalg, "_dsytrd_2stage_routine", lambda: None)


@pytest.fixture(params=["one-stage", "two-stage"])
def reduction(request, monkeypatch):
    """Run a test with each tridiagonal reduction (the two-stage one only where LAPACK has it)."""
    use_reduction(request.param, monkeypatch)
    return request.param


def cumulative_power(p: np.ndarray) -> np.ndarray:
    return np.cumsum(p**2)


def assert_projections_close(p, p_ref, w_ref, y, constant=1e-12) -> int:
    """Check p against p_ref within first-order perturbation bounds; return how many are tight.

    A backward error δ = constant·max|w| in K turns eigenvector k by at most ~δ/gap_k
    (gap_k: distance to the nearest other eigenvalue), so |p_k − p_ref,k| ≲ δ|y|/gap_k;
    and the power Σ_{k≤K} p_k² moves across the cut K|K+1 by at most ~δ|y|²/(w_K − w_{K+1})
    (Davis–Kahan). LAPACK's backward errors are ~ε·N·max|w|, far below constant = 1e-12.
    """
    norm = np.linalg.norm(y)
    delta = constant * np.abs(w_ref).max()
    gaps = np.abs(np.diff(w_ref))
    isolation = np.minimum(np.r_[np.inf, gaps], np.r_[gaps, np.inf])
    with np.errstate(divide="ignore"):
        p_tolerance = delta * norm / isolation + 1e-13 * norm
        cumulative_tolerance = delta * norm**2 / np.r_[gaps, np.inf] + 1e-13 * norm**2
    p_error = np.abs(p - p_ref)
    assert np.all(p_error <= p_tolerance), f"worst p error / tolerance {np.max(p_error / p_tolerance):.3g}"
    cumulative_error = np.abs(cumulative_power(p) - cumulative_power(p_ref))
    assert np.all(cumulative_error <= cumulative_tolerance), (
        f"worst cumulative error / tolerance {np.max(cumulative_error / cumulative_tolerance):.3g}"
    )
    return int(np.sum(p_tolerance < 1e-6 * norm))


# ---------------------------------------------------------------------------------------------
# Against the exact eigensystem


@pytest.mark.parametrize("method, reduction_name", [("eigh", None), ("tridiagonal", "one-stage"),
                                                    ("tridiagonal", "two-stage")])
def test_wide_spectrum_matches_exact_eigensystem(method, reduction_name, monkeypatch):
    # eigh passes the same checks: the tolerances are those of any backward-stable solver.
    if reduction_name:
        use_reduction(reduction_name, monkeypatch)
    n = 400
    K, y, lam, exact_p = wide_spectrum_problem(n, seed=1)
    w, p, V = symmetric_eigensystem(K, y, method=method)
    assert V is None
    # Eigenvalues to round-off of the largest (the tail below ~1e-16 is noise for any solver).
    np.testing.assert_allclose(w, lam, rtol=0, atol=1e-13 * lam[0])
    tight = assert_projections_close(p, exact_p, lam, y)
    assert tight > 100  # the top third of the modes stand well above round-off
    # The total power is |y|² to round-off.
    assert abs(p @ p - y @ y) <= 1e-13 * (y @ y)


def test_degenerate_cluster_keeps_its_total_power(reduction):
    # Inside a cluster of equal eigenvalues p_k is arbitrary; the cluster's Σ p_k² is not.
    rng = np.random.default_rng(5)
    n = 300
    Q = random_orthogonal(n, rng)
    lam = np.concatenate([[3.0], np.full(5, 1.0), np.logspace(-1, -12, n - 6)])
    K = (Q * lam) @ Q.T
    K = 0.5 * (K + K.T)
    c = rng.standard_normal(n)
    y = Q @ c
    w, p, _ = symmetric_eigensystem(K, y, method="tridiagonal")
    np.testing.assert_allclose(w, lam, rtol=0, atol=1e-13 * lam[0])
    np.testing.assert_allclose(np.sum(p[1:6] ** 2), np.sum(c[1:6] ** 2), rtol=1e-12)
    assert assert_projections_close(p, np.abs(c), lam, y) > 60


def test_indefinite_matrix(reduction):
    # Not PSD: the shift that makes the tridiagonal matrix positive definite must handle it.
    rng = np.random.default_rng(9)
    n = 200
    Q = random_orthogonal(n, rng)
    lam = np.sort(rng.uniform(-2.0, 1.0, n))[::-1]
    K = (Q * lam) @ Q.T
    K = 0.5 * (K + K.T)
    c = rng.standard_normal(n)
    y = Q @ c
    w, p, _ = symmetric_eigensystem(K, y, method="tridiagonal")
    np.testing.assert_allclose(w, lam, rtol=0, atol=1e-13)
    assert assert_projections_close(p, np.abs(c), lam, y) == n
    _, _, V = symmetric_eigensystem(K, y, n_vectors=10, method="tridiagonal")
    np.testing.assert_allclose(np.abs(V.T @ Q[:, :10]), np.eye(10), atol=1e-10)


def test_diagonal_matrix_is_exact(reduction):
    d = np.array([0.5, 3.0, 1e-3, 2.0, 0.0, 7.0])
    y = np.array([1.0, -2.0, 3.0, 0.5, -1.5, 0.25])
    order = np.argsort(-d)
    w, p, V = symmetric_eigensystem(np.diag(d), y, n_vectors=3, method="tridiagonal")
    np.testing.assert_allclose(w, d[order], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(p, np.abs(y[order]), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.abs(V), np.eye(6)[:, order[:3]], atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Against numpy.linalg.eigh on an NNGP kernel, and the §1 identities


def test_nngp_kernel_agrees_with_eigh(reduction):
    K, y = relu_nngp_kernel(400, d=20, seed=3)
    w_ref, p_ref, _ = symmetric_eigensystem(K, y, method="eigh")
    w, p, _ = symmetric_eigensystem(K, y, method="tridiagonal")
    np.testing.assert_allclose(w, w_ref, rtol=0, atol=1e-13 * w_ref[0])
    assert assert_projections_close(p, p_ref, w_ref, y) > 200
    # THEORY.md §1 identities: Σ w = trace K, Σ p² = |y|².
    np.testing.assert_allclose(w.sum(), np.trace(K), rtol=1e-12)
    np.testing.assert_allclose(p @ p, y @ y, rtol=1e-13)


@pytest.mark.parametrize("k", [1, 37, 250])
def test_top_eigenvectors(k):
    # (Eigenvectors always come with the one-stage reduction, whose Q LAPACK can apply.)
    K, y = relu_nngp_kernel(400, d=15, seed=4)
    w, p, V = symmetric_eigensystem(K, y, n_vectors=k, method="tridiagonal")
    assert V.shape == (400, k)
    # Eigen-equation residual, orthonormality, and p[:k] = Vᵀy (same order and signs).
    assert np.abs(K @ V - V * w[:k]).max() <= 1e-13 * w[0]
    assert np.abs(V.T @ V - np.eye(k)).max() <= 1e-12
    np.testing.assert_allclose(V.T @ y, p[:k], rtol=0, atol=1e-11 * np.linalg.norm(y))


def test_all_eigenvectors_reconstruct_the_kernel():
    # THEORY.md §1: K_ij = Σ_k w_k v_k(i) v_k(j) when all N eigenvectors are asked for.
    K, y = relu_nngp_kernel(300, d=10, seed=6)
    for method, n_vectors in [("auto", "all"), ("eigh", -1), ("tridiagonal", 300)]:
        w, p, V = symmetric_eigensystem(K, y, n_vectors=n_vectors, method=method)
        assert V.shape == (300, 300)
        np.testing.assert_allclose((V * w) @ V.T, K, rtol=0, atol=1e-13 * w[0])
        np.testing.assert_allclose(V.T @ y, p, rtol=0, atol=1e-11 * np.linalg.norm(y))


@pytest.mark.parametrize("method", ["eigh", "tridiagonal"])
def test_order_and_sign_conventions(method):
    K, y = relu_nngp_kernel(250, d=8, seed=7)
    w, p, V = symmetric_eigensystem(K, y, n_vectors=20, method=method)
    assert w.shape == p.shape == (250,)
    assert np.all(np.diff(w) <= 0), "eigenvalues must be in descending order"
    assert np.all(p >= 0), "each eigenvector is oriented so that its projection is non-negative"
    assert np.all(V.T @ y >= -1e-12 * np.linalg.norm(y))
    # Flipping the target flips every eigenvector, so the projections stay the same.
    w2, p2, V2 = symmetric_eigensystem(K, -y, n_vectors=20, method=method)
    np.testing.assert_allclose(p2, p, rtol=0, atol=1e-11 * np.linalg.norm(y))
    isolated = np.abs(V2.T @ V).max(axis=0) > 1 - 1e-8
    np.testing.assert_allclose(V2[:, isolated], -V[:, isolated], atol=1e-8)


def test_auto_method_and_small_sizes(reduction):
    for n in (1, 2, 3, 5):
        K, y = relu_nngp_kernel(n, d=4, seed=n)
        w_ref, p_ref, _ = symmetric_eigensystem(K, y, method="eigh")
        for method in ("auto", "tridiagonal"):
            w, p, V = symmetric_eigensystem(K, y, n_vectors=1, method=method)
            np.testing.assert_allclose(w, w_ref, rtol=0, atol=1e-14 * w_ref[0])
            np.testing.assert_allclose(cumulative_power(p), cumulative_power(p_ref), atol=1e-13 * (y @ y))
            np.testing.assert_allclose(V[:, 0] @ y, p[0], atol=1e-13 * np.linalg.norm(y))


def test_special_targets(reduction):
    K, y = relu_nngp_kernel(120, d=6, seed=8)
    # y = 0: every projection vanishes.
    w, p, V = symmetric_eigensystem(K, np.zeros(120), n_vectors=3, method="tridiagonal")
    assert np.all(p == 0) and V.shape == (120, 3)
    # y already along the first axis: the Householder reflector is the identity (τ = 0).
    e1 = np.zeros(120)
    e1[0] = -2.0
    w_ref, V_ref = np.linalg.eigh(K)
    w, p, _ = symmetric_eigensystem(K, e1, method="tridiagonal")
    np.testing.assert_allclose(cumulative_power(p), cumulative_power(2.0 * V_ref[0, ::-1]), atol=1e-12)
    # K = 0: all eigenvalues vanish, the power |y|² is still accounted for.
    w, p, _ = symmetric_eigensystem(np.zeros((50, 50)), y[:50], method="tridiagonal")
    assert np.all(w == 0)
    np.testing.assert_allclose(p @ p, y[:50] @ y[:50], rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# Memory options and input handling


def test_overwrite_false_leaves_inputs_alone_and_true_gives_same_result():
    K, y = relu_nngp_kernel(300, d=10, seed=2)
    K_saved, y_saved = K.copy(), y.copy()
    w, p, V = symmetric_eigensystem(K, y, n_vectors=5, method="tridiagonal")
    assert np.array_equal(K, K_saved) and np.array_equal(y, y_saved)
    for work in (K.copy(), np.asfortranarray(K)):
        w2, p2, V2 = symmetric_eigensystem(work, y, n_vectors=5, overwrite=True, method="tridiagonal")
        np.testing.assert_allclose(w2, w, rtol=0, atol=1e-14 * w[0])
        np.testing.assert_allclose(p2, p, rtol=0, atol=1e-12 * np.linalg.norm(y))
        np.testing.assert_allclose(V2, V, atol=1e-10)


def test_other_dtypes_and_layouts_are_accepted():
    K, y = relu_nngp_kernel(100, d=5, seed=11)
    w_ref, p_ref, _ = symmetric_eigensystem(K, y, method="eigh")
    # float32 K (symmetric to float32 round-off), integer y, a strided view of K.
    K32 = K.astype(np.float32)
    w, p, _ = symmetric_eigensystem(K32, y.astype(np.int64), method="tridiagonal")
    np.testing.assert_allclose(w, w_ref, rtol=0, atol=1e-6 * w_ref[0])
    big = np.zeros((200, 200))
    big[::2, ::2] = K
    w, p, _ = symmetric_eigensystem(big[::2, ::2], y, overwrite=True, method="tridiagonal")
    np.testing.assert_allclose(w, w_ref, rtol=0, atol=1e-13 * w_ref[0])
    np.testing.assert_allclose(cumulative_power(p), cumulative_power(p_ref), atol=1e-11 * (y @ y))
    assert np.array_equal(big[::2, ::2], K), "a non-contiguous K is copied, never overwritten"


@pytest.mark.parametrize(
    "K, y, kwargs, message",
    [
        (np.eye(3)[:2], np.ones(2), {}, "square"),
        (np.ones(3), np.ones(3), {}, "square"),
        (np.zeros((0, 0)), np.ones(0), {}, "square"),
        (np.eye(3) * (1 + 1j), np.ones(3), {}, "real"),
        (np.eye(3), np.ones(4), {}, "shape"),
        (np.eye(3), np.ones((3, 1, 1)), {}, "shape"),  # (N, C) is a target with C outputs
        (np.diag([1.0, np.nan, 1.0]), np.ones(3), {}, "NaN"),
        (np.diag([1.0, np.inf, 1.0]), np.ones(3), {}, "NaN"),
        (np.eye(3), np.array([1.0, np.inf, 0.0]), {}, "NaN"),
        (np.triu(np.ones((4, 4))), np.ones(4), {}, "symmetric"),
        (np.eye(3), np.ones(3), {"n_vectors": 4}, "n_vectors"),
        (np.eye(3), np.ones(3), {"n_vectors": -2}, "n_vectors"),
        (np.eye(3), np.ones(3), {"n_vectors": 1.5}, "n_vectors"),
        (np.eye(3), np.ones(3), {"n_vectors": True}, "n_vectors"),
        (np.eye(3), np.ones(3), {"n_vectors": "some"}, "n_vectors"),
        (np.eye(3), np.ones(3), {"method": "lanczos"}, "method"),
    ],
)
def test_bad_input_raises(K, y, kwargs, message):
    with pytest.raises(WilsonianError, match=message):
        symmetric_eigensystem(K, y, **kwargs)


def test_huge_finite_entries_are_not_mistaken_for_infinite():
    # The sum of K overflows while every entry is finite: the entrywise check must decide.
    K = np.full((3, 3), 1e308)
    with np.errstate(over="ignore"):
        assert not np.isfinite(K.sum())
    checked, _ = linalg._validated_inputs(K, np.ones(3))
    assert np.array_equal(checked, K)
