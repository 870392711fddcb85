"""Matrix-free top-k spectrum: against dense eigh, THEORY.md §1 identities, residuals."""

import json

import numpy as np
import pytest

from wilsonian import theory
from wilsonian.errors import WilsonianError
from wilsonian.kernels import KernelSpec
from wilsonian.spectrum import spectrum_from_kernel
from wilsonian.operators import TiledOperator as KernelOperator
from wilsonian.operators import kernel_rows
from wilsonian.spectrum import topk_spectrum
from wilsonian.spectrum.krylov import block_krylov_eigensolver, default_solver_sizes




pytestmark = pytest.mark.usefixtures("one_blas_thread")

@pytest.fixture(scope="module")
def digits_pool(digits_binary_pool):
    """1,000 real images (scikit-learn digits), unit-norm rows, y = ±1 for digit < 5 / ≥ 5."""
    return digits_binary_pool(1000)


@pytest.fixture(scope="module")
def dense(digits_pool):
    X, y = digits_pool
    spec = KernelSpec()
    K = spec.matrix(X)
    w, V = np.linalg.eigh(K)
    return spec, K, w[::-1], V[:, ::-1]


@pytest.fixture(scope="module")
def top100(digits_pool, dense):
    X, y = digits_pool
    spec = dense[0]
    return topk_spectrum(X, y, spec, 100, tile=300, verify=True)


def test_topk_equals_dense_eigensystem(digits_pool, dense, top100):
    X, y = digits_pool
    _, K, w, V = dense
    n, k = len(y), 100
    s = top100
    lam = w[:k] / n
    assert s.is_truncated and s.n_modes == k and s.n == n
    assert np.max(np.abs(s.eigenvalues - lam) / lam) < 1e-10
    yk = np.abs(V[:, :k].T @ y) / np.sqrt(n)
    # Absolute accuracy relative to the target's scale, and relative accuracy of every y_k
    # that carries at least 1e-12 of the target power.
    assert np.max(np.abs(s.target_coefficients - yk)) < 1e-10 * np.sqrt(s.target_power)
    big = yk**2 > 1e-12 * s.target_power
    assert np.max(np.abs(s.target_coefficients[big] - yk[big]) / yk[big]) < 1e-8
    assert s.meta["solver"] == "topk" and s.meta["all_converged"]


def test_sum_rules_and_eigenfunctions(digits_pool, dense, top100):
    X, y = digits_pool
    _, K, w, _ = dense
    n = len(y)
    s = top100
    # Exact totals from the diagonal and the targets (THEORY.md §1).
    assert s.trace == pytest.approx(np.trace(K) / n, rel=1e-14)
    assert s.trace == pytest.approx(w.sum() / n, rel=1e-12)
    assert s.target_power == pytest.approx(np.mean(y**2), rel=1e-15)
    assert s.tail_mass == pytest.approx(w[100:].sum() / n, rel=1e-8)
    phi = s.eigenfunctions
    assert phi.shape == (n, 100)
    assert np.allclose(phi.T @ phi / n, np.eye(100), atol=1e-12)  # ⟨φ_k φ_q⟩_μ = δ_kq
    assert np.allclose(phi.T @ y / n, s.target_coefficients, atol=1e-14)  # y_k = ⟨φ_k y⟩_μ
    # (K/N) φ_k = λ_k φ_k, to the solver's residual.
    residual = np.linalg.norm(K @ phi / n - phi * s.eigenvalues, axis=0) / np.sqrt(n)
    assert np.max(residual) < 1e-11 * s.eigenvalues[0]
    assert np.allclose(s.kernel_diagonal, np.diag(K), rtol=1e-15, atol=0)


def test_reported_residuals_are_the_true_ones(digits_pool, dense):
    X, y = digits_pool
    spec, K, w, _ = dense
    s = topk_spectrum(X, y, spec, 60, tol=1e-9)
    V = s.eigenfunctions / np.sqrt(len(y))
    wk = s.eigenvalues * len(y)
    true = np.linalg.norm(K @ V - V * wk, axis=0) / wk[0]
    reported = np.array(s.meta["residual_norms"])
    assert s.meta["residual_source"] == "krylov"
    assert np.max(reported) <= 1e-9
    # The Krylov-relation residuals equal the direct ones where they are above round-off,
    # and are floored near the round-off level elsewhere.
    above = true > 1e-12
    assert above.sum() > 10
    assert np.allclose(reported[above], true[above], rtol=1e-3)
    assert np.all(reported >= true / 10)
    # The eigenvalue error estimate bounds the actual error, up to the round-off of the dense
    # reference itself (about N·ε·w_1 in absolute terms).
    err = np.abs(wk - w[:60])
    estimate = np.array(s.meta["eigenvalue_error_estimates"]) * wk
    assert np.all(err <= estimate + len(y) * np.finfo(float).eps * w[0])
    assert np.max(np.array(s.meta["eigenvalue_error_estimates"])) < 1e-10  # and is informative
    json.dumps(s.meta)  # JSON-ready


@pytest.mark.parametrize("kind", ["nngp", "ntk"])
def test_operator_equals_dense_product(kind):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((257, 6))
    spec = KernelSpec(kind, "relu", 2, 2.0, 0.1)
    K = spec.matrix(X)
    V = rng.standard_normal((257, 5))
    op = KernelOperator(X, spec, tile=50)  # tiles that do not divide N
    assert np.allclose(op(V), K @ V, rtol=0, atol=1e-12 * np.abs(K).sum(axis=1).max())
    assert op.passes == 1
    # Rows and the symmetric matrix come from BLAS products of different shapes, whose
    # summation order (and so the last bit) depends on the CPU's BLAS kernels.
    assert np.allclose(kernel_rows(X, spec, 40, 90), K[40:90], rtol=1e-14, atol=0)


def test_matmul_hook_and_determinism(digits_pool, dense, top100):
    X, y = digits_pool
    spec, K, _, _ = dense
    calls = []

    def matmul(V):
        calls.append(V.shape[1])
        return K @ V

    s = topk_spectrum(X, y, spec, 100, matmul=matmul)
    assert len(calls) == s.meta["iterations"]
    assert np.allclose(s.eigenvalues, top100.eigenvalues, rtol=1e-11, atol=0)
    first = topk_spectrum(X, y, spec, 20, matmul=lambda V: K @ V, seed=5)
    again = topk_spectrum(X, y, spec, 20, matmul=lambda V: K @ V, seed=5)
    assert np.array_equal(again.eigenvalues, first.eigenvalues)
    assert np.array_equal(again.target_coefficients, first.target_coefficients)


def test_low_rank_kernel_fills_the_basis():
    """The linear kernel of d = 4 inputs has rank 4: the Krylov space closes after one pass."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 4))
    y = X[:, 0] + 0.1 * rng.standard_normal(300)
    spec = KernelSpec("nngp", "relu", 0, 1.0, 0.0)
    s = topk_spectrum(X, y, spec, 10)
    exact = np.linalg.eigvalsh(X.T @ X / 4)[::-1] / 300  # K = X Xᵀ/d, same nonzero eigenvalues
    assert np.allclose(s.eigenvalues[:4], exact, rtol=1e-12)
    assert np.all(s.eigenvalues[4:] < 1e-13 * s.eigenvalues[0])
    assert s.tail_mass < 1e-12 * s.trace
    assert s.meta["all_converged"]


def test_theories_accept_the_truncated_spectrum(digits_pool, dense, top100):
    X, y = digits_pool
    _, K, _, _ = dense
    full = spectrum_from_kernel(K, y)
    eta = np.array([10.0, 30.0])
    a = theory.spectral_bias(top100, eta, 1e-3).error
    b = theory.spectral_bias(full.truncated(100), eta, 1e-3).error
    assert np.allclose(a, b, rtol=1e-8)


def test_unconverged_run_warns_and_says_so(digits_pool):
    X, y = digits_pool
    with pytest.warns(RuntimeWarning, match="did not reach"):
        s = topk_spectrum(X, y, KernelSpec(), 50, max_iter=2, tol=1e-14)
    assert not s.meta["all_converged"]
    assert not all(s.meta["converged"])
    assert s.meta["iterations"] == 2


def test_solver_sizes_fit_small_problems():
    b, keep, m = default_solver_sizes(100, 40)
    assert m <= 100 and keep >= 40 and keep + b <= m
    with pytest.raises(WilsonianError):
        default_solver_sizes(100, 40, max_basis=40)


def test_bad_input_is_rejected(digits_pool):
    X, y = digits_pool
    spec = KernelSpec()
    with pytest.raises(WilsonianError, match="smaller than"):
        topk_spectrum(X[:20], y[:20], spec, 20)
    with pytest.raises(WilsonianError, match="shape"):
        topk_spectrum(X, y[:-1], spec, 5)
    with pytest.raises(WilsonianError, match="KernelSpec"):
        topk_spectrum(X, y, "nngp", 5)
    with pytest.raises(WilsonianError, match="callable"):
        topk_spectrum(X, y, spec, 5, matmul=3)
    with pytest.raises(WilsonianError, match="k must be"):
        topk_spectrum(X, y, spec, 0)
    with pytest.raises(WilsonianError, match="tol"):
        block_krylov_eigensolver(lambda V: V, 50, 3, tol=-1.0)
    with pytest.raises(WilsonianError, match="matmul returned"):
        block_krylov_eigensolver(lambda V: V[:, :1], 50, 3)


def test_skipping_ritz_checks_between_restarts_changes_nothing(digits_pool, dense, top100, monkeypatch):
    """With a large basis the solver tests convergence only at restarts and when the residual
    trend says it is near; forced here on a small problem, the result must be the same."""
    import wilsonian.spectrum.krylov as topk_module

    X, y = digits_pool
    monkeypatch.setattr(topk_module, "_CHEAP_RITZ", 0)
    s = topk_spectrum(X, y, dense[0], 100, tile=300)
    assert s.meta["all_converged"]
    assert np.allclose(s.eigenvalues, top100.eigenvalues, rtol=1e-11, atol=0)
    assert s.meta["iterations"] <= top100.meta["iterations"] + 3


@pytest.mark.parametrize("spec", [KernelSpec(), KernelSpec(kind="ntk", activation="gelu", bias_var=0.1)],
                         ids=["nngp-relu", "ntk-gelu"])
def test_kept_tiles_give_the_same_products_and_are_not_recomputed(spec, monkeypatch):
    """keep_bytes: the first pass keeps every tile that fits; later passes fill only the others,
    and every product is bit for bit that of the operator that keeps nothing."""
    import wilsonian.operators.tiled as tiled

    rng = np.random.default_rng(3)
    X = rng.standard_normal((301, 9))
    V = rng.standard_normal((301, 4))
    plain = KernelOperator(X, spec, tile=70)
    expected = [plain(V), plain(V[:, :1])]
    tile_bytes = [8 * (min(i0 + 70, 301) - i0) * (301 - i0) for i0 in range(0, 301, 70)]
    fills = []
    real_fill = tiled._fill_spans
    monkeypatch.setattr(tiled, "_fill_spans", lambda tiles, i0, *a: (fills.append(i0), real_fill(tiles, i0, *a)))
    # nothing, the first tile only, the first and the last (the second to fourth do not fit
    # after the first; the last does), everything
    budgets = [0, tile_bytes[0], tile_bytes[0] + tile_bytes[-1], sum(tile_bytes)]
    kept_first = [[], [0], [0, 280], [0, 70, 140, 210, 280]]
    for budget, kept in zip(budgets, kept_first):
        op = KernelOperator(X, spec, tile=70, keep_bytes=budget)
        fills.clear()
        assert np.array_equal(op(V), expected[0])
        assert fills == [0, 70, 140, 210, 280]
        fills.clear()
        assert np.array_equal(op(V[:, :1]), expected[1])
        assert fills == [i0 for i0 in (0, 70, 140, 210, 280) if i0 not in kept]
        assert op.kept_bytes == sum(b for i0, b in zip(range(0, 301, 70), tile_bytes) if i0 in kept)
        assert op.kept_bytes == tiled.kept_tiles_bytes(301, budget, 70) <= budget
        assert op.stats()["kept_tile_bytes"] == op.kept_bytes


def test_kept_tiles_keep_the_topk_spectrum(digits_pool, dense, top100):
    X, y = digits_pool
    kept = topk_spectrum(X, y, dense[0], 100, tile=300, verify=True, keep_bytes=1e9)
    assert np.array_equal(kept.eigenvalues, top100.eigenvalues)
    assert np.array_equal(kept.target_coefficients, top100.target_coefficients)


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "lots", "1e6", True, None, [1]])
def test_keep_bytes_must_be_a_finite_size(bad):
    with pytest.raises(WilsonianError, match="keep_bytes"):
        KernelOperator(np.eye(4), KernelSpec(), keep_bytes=bad)


def test_keep_bytes_is_the_numpy_backends_option():
    from wilsonian.operators import kernel_operator

    with pytest.raises(WilsonianError, match="numpy backend"):
        kernel_operator(np.eye(4), KernelSpec(), backend="torch", keep_bytes=1e6)
    assert kernel_operator(np.eye(4), KernelSpec(), keep_bytes=1e6).keep_bytes == 1e6



def test_an_interrupted_pass_keeps_no_half_made_tile(monkeypatch):
    import wilsonian.operators.tiled as tiled

    rng = np.random.default_rng(5)
    X, V = rng.standard_normal((200, 7)), rng.standard_normal((200, 2))
    expected = KernelOperator(X, KernelSpec(), tile=64)(V)
    op = KernelOperator(X, KernelSpec(), tile=64, keep_bytes=1e9)
    real_fill = tiled._fill_spans

    def failing_fill(tiles, i0, i1, spans, T, threads):
        T[...] = np.nan                    # what a half-made tile could hold
        if i0 == 64:
            raise KeyboardInterrupt
        real_fill(tiles, i0, i1, spans, T, threads)

    monkeypatch.setattr(tiled, "_fill_spans", failing_fill)
    with pytest.raises(KeyboardInterrupt):
        op(V)
    assert sorted(op._kept) == [0] and op.kept_bytes == op._kept[0].nbytes
    monkeypatch.setattr(tiled, "_fill_spans", real_fill)
    assert np.array_equal(op(V), expected)
    assert sorted(op._kept) == [0, 64, 128, 192]
