"""Input-dependent ridge and reweighted EK (THEORY.md §5), against exact identities."""

import numpy as np
import pytest

from wilsonian import theory
from wilsonian.gp import learning_curve
from wilsonian.spectrum import spectrum_from_kernel
from wilsonian.theory.nongaussian import (
    gaussian_rg_predictor,
    input_dependent_ridge,
    nongaussian_comparison,
    reweighted_coefficients,
)


def arccos_pool(n=400, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    c = np.clip(X @ X.T, -1, 1)
    K = (np.sqrt(1 - c**2) + (np.pi - np.arccos(c)) * c) / (2 * np.pi)
    y = np.sign(X[:, 0] * X[:, 1] + 0.2 * X[:, 2])
    return K, y


@pytest.fixture(scope="module")
def pool():
    K, y = arccos_pool()
    return K, y, spectrum_from_kernel(K, y, n_vectors=-1)


def test_input_dependent_ridge_identities(pool):
    K, y, spec = pool
    phi, lam = spec.eigenfunctions, spec.eigenvalues
    for cutoff in (0, 5, 40, 399):
        ridge_x = input_dependent_ridge(spec, cutoff, 1e-6)
        # C_>(x_i) from the kept modes and the diagonal equals Σ_{k>κ} λ_k φ_k(x_i)²
        direct = 1e-6 + np.square(phi[:, cutoff:]) @ lam[cutoff:]
        # up to the round-off of rebuilding K_ii from N eigenpairs, about N·ε·max K_ii
        roundoff = len(y) * np.finfo(float).eps * np.abs(np.diag(K)).max()
        assert np.allclose(ridge_x, direct, rtol=1e-9, atol=roundoff)
        # its pool average is the Gaussian RG's ridge σ² + Σ_{k>κ} λ_k (⟨φ_k²⟩ = 1)
        assert ridge_x.mean() == pytest.approx(1e-6 + lam[cutoff:].sum(), rel=1e-10)


def test_constant_ridge_reduces_to_ek(pool):
    K, y, spec = pool
    cutoff, eta, s = 30, 50.0, 3e-3
    f = reweighted_coefficients(spec, y, eta, cutoff, np.full(spec.n, s))
    lam, yk = spec.eigenvalues[:cutoff], spec.target_coefficients[:cutoff]
    assert np.allclose(f, lam * yk / (lam + s / eta), rtol=1e-9, atol=1e-14)
    # and the per-point Gaussian predictor on the kept modes is the same function
    assert np.allclose(spec.eigenfunctions[:, :cutoff] @ f, gaussian_rg_predictor(spec, eta, s, cutoff), atol=1e-12)


def test_reweighted_solution_solves_its_normal_equations(pool):
    K, y, spec = pool
    cutoff, eta = 25, 80.0
    ridge_x = input_dependent_ridge(spec, cutoff, 1e-6)
    f = reweighted_coefficients(spec, y, eta, cutoff, ridge_x)
    phi = spec.eigenfunctions[:, :cutoff]
    M = (phi / ridge_x[:, None]).T @ phi / spec.n
    b = (phi / ridge_x[:, None]).T @ y / spec.n
    lhs = np.diag(1 / spec.eigenvalues[:cutoff]) @ f + eta * M @ f
    assert np.allclose(lhs, eta * b, rtol=1e-8, atol=1e-10 * np.abs(eta * b).max())


def test_comparison_report_is_consistent(pool):
    K, y, spec = pool
    eta = np.array([10, 20, 40])
    curve = learning_curve(K, y, eta, ridge=1e-6, trials=6, seed=1, keep_predictions=True)
    # the kept average predictor is the mean of the per-draw predictors: its error is E over the pool
    assert curve.prediction_mean.shape == (3, spec.n)
    report = nongaussian_comparison(spec, y, eta, 1e-6, 0.5, curve.prediction_mean, curve.prediction_var, 6)
    rg = theory.rg_prediction(spec, eta, 1e-6, 0.5)
    assert np.array_equal(report.cutoff, rg.cutoff)
    assert np.allclose(report.ridge_x.mean(axis=1), rg.renormalized_ridge, rtol=1e-10)
    d = report.as_dict()
    assert np.all(np.isfinite(d["improvement_ratio"])) and np.all(report.noise_floor > 0)


def test_keep_predictions_does_not_change_draws(pool):
    K, y, _ = pool
    a = learning_curve(K, y, [10, 30], ridge=1e-6, trials=4, seed=3)
    b = learning_curve(K, y, [10, 30], ridge=1e-6, trials=4, seed=3, keep_predictions=True)
    assert np.array_equal(a.errors, b.errors)
    # mean predictor's error against the per-draw average: Jensen, E[(f−y)²] ≥ (E f − y)²
    assert np.all(np.mean((b.prediction_mean - y) ** 2, axis=1) <= b.mean + 1e-12)
