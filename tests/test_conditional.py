"""The conditional law P[φ_q | φ_<] ≈ N(0,1)[1 + Aφ_q + B(φ_q² − 1)]: A and B recovered where
they are known (the Hermite toy, synthetic features), their relation to the cumulants, and
the conditional (A, B) RG against the per-point one."""

import numpy as np
import pytest

from wilsonian.gp import learning_curve
from wilsonian.mode_stats import fourth_cumulant
from wilsonian.spectrum import spectrum_from_kernel
from wilsonian.theory.conditional import (
    binned_check,
    conditional_moments,
    conditional_ridge,
    design,
    gram_charlier_b,
    monomials,
)
from wilsonian.theory.nongaussian import input_dependent_ridge, nongaussian_comparison
from wilsonian.toy import conditional_moments as toy_moments
from wilsonian.toy import conditional_slope, reweighted_slope

SQRT2 = np.sqrt(2.0)


def arccos_kernel(n, dim, seed):
    """The degree-1 arc-cosine kernel on n random points of the unit sphere in R^dim, and the points."""
    X = np.random.default_rng(seed).normal(size=(n, dim))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    c = np.clip(X @ X.T, -1, 1)
    return (np.sqrt(1 - c**2) + (np.pi - np.arccos(c)) * c) / (2 * np.pi), X


def z_within(value, truth, se, z=4.5):
    return np.all(np.abs(np.asarray(value) - truth) <= z * np.asarray(se) + 1e-12)


def test_monomials_count_and_design():
    terms = monomials(5, 3, cross_modes=3)
    assert terms[0] == () and (4,) in terms and (4, 4) in terms and (0, 1, 2) in terms
    assert (3, 4) not in terms and len(terms) == len(set(terms))
    # 1 + 5 + 5 + C(3,2) + C(5,3) cubic monomials of 3 modes
    assert len(terms) == 1 + 5 + 5 + 3 + 10
    phi = np.arange(10.0).reshape(5, 2)
    X = design(phi, [(), (0,), (0, 1), (1, 1, 1)])
    assert np.array_equal(X, np.column_stack([np.ones(5), phi[:, 0], phi[:, 0] * phi[:, 1], phi[:, 1] ** 3]))


# --------------------------------------------------------------------------- the Hermite toy


@pytest.fixture(scope="module")
def toy_sample():
    x = np.random.default_rng(0).normal(size=40_000)
    return np.column_stack([x, (x * x - 1) / SQRT2])


def test_toy_A_and_B_are_recovered_in_closed_form(toy_sample):
    phi = toy_sample
    # φ_2 is a function of x: a model containing the truth recovers it exactly (zero residual)
    cm = conditional_moments(phi, 1, [2], degree_a=3, degree_b=4, cross_modes=1)
    a_exact, b_exact = toy_moments(phi[:, 0])
    assert np.allclose(cm.A(phi[:, :1])[:, 0], a_exact, atol=1e-9)
    assert np.allclose(cm.B(phi[:, :1])[:, 0], b_exact, atol=1e-8)
    assert cm.coefficient("A", (0, 0))[0][0] == pytest.approx(1 / SQRT2, abs=1e-10)  # A = He_2/√2
    assert cm.coefficient("B", (0, 0, 0, 0))[0][0] == pytest.approx(0.25, abs=1e-9)  # B ⊃ He_4/4
    assert cm.a_r2[0] == pytest.approx(1.0) and cm.b_r2[0] == pytest.approx(1.0)


def test_toy_quadratic_B_is_the_He2_projection_within_its_errors(toy_sample):
    phi = toy_sample
    cm = conditional_moments(phi, 1, [2], degree_a=2, degree_b=2, cross_modes=1)
    # the degree-2 projection of B = He_4/4 + He_2 under N(0,1) is He_2 = x² − 1
    for term, truth in (((), -1.0), ((0,), 0.0), ((0, 0), 1.0)):
        value, se = cm.coefficient("B", term)
        assert se[0] > 0 and z_within(value, truth, se), (term, value, se)
    # and the Gram–Charlier B from the cumulants: ¼ U_2211 = 1 on He_2 (U_2211 = 4, κ_221 = 0)
    gc = gram_charlier_b(phi, 1, 2)
    assert gc[(0, 0)] == pytest.approx(1.0, abs=0.15) and gc[(0,)] == pytest.approx(0.0, abs=0.1)


def test_toy_conditional_slope_needs_B_beyond_quadratic():
    exact = reweighted_slope()
    # exact models (B to degree 4, the target's degree 5) are the per-point reweighting theory
    assert conditional_slope(ridge_degree=4, target_degree=5) == pytest.approx(exact, rel=1e-10)
    # the seed's leading order (B quadratic, A cubic) has no He_5 in the target: no effect
    assert conditional_slope(ridge_degree=2, target_degree=3) == 0.0
    # B quadratic with the whole target: second order in λ_>/σ², ~0.2 % of the effect, of the other sign
    quadratic = conditional_slope(ridge_degree=2, target_degree=5)
    assert 0 < quadratic < 0.01 * abs(exact)


# ------------------------------------------------------------------ synthetic known laws


@pytest.fixture(scope="module")
def synthetic():
    """Kept z ~ N(0, I_3); shell features with known conditional laws:
    q1 = α z1 z2 + √(1−α²) ε   (A = α z1z2, B = α²(z1²z2² − 1)/2)
    q2 = s(z) ε, s² = 0.4 + 0.3 z1² + 0.3 z2²   (A = 0, B = −0.3 + 0.15 z1² + 0.15 z2²)
    q3 = (0.8 + 0.6 z1) ε   (A = 0, B = −0.18 + 0.48 z1 + 0.18 z1²)."""
    rng = np.random.default_rng(1)
    n, alpha = 60_000, 0.6
    z = rng.normal(size=(n, 3))
    e = rng.normal(size=(n, 3))
    q1 = alpha * z[:, 0] * z[:, 1] + np.sqrt(1 - alpha**2) * e[:, 0]
    q2 = np.sqrt(0.4 + 0.3 * z[:, 0] ** 2 + 0.3 * z[:, 1] ** 2) * e[:, 1]
    q3 = (0.8 + 0.6 * z[:, 0]) * e[:, 2]
    return np.column_stack([z, q1, q2, q3]), alpha


def test_synthetic_A_and_B_are_recovered_within_their_errors(synthetic):
    phi, alpha = synthetic
    cm = conditional_moments(phi, 3, [4, 5, 6], degree_a=3, degree_b=2, cross_modes=3)
    truth_a = {(0, 1): [alpha, 0, 0]}
    for term in cm.terms_a:
        value, se = cm.coefficient("A", term)
        assert z_within(value, truth_a.get(term, [0, 0, 0]), se), (term, value, se)
    truth_b = {(): [None, -0.3, -0.18], (0,): [None, 0, 0.48], (0, 0): [None, 0.15, 0.18], (1, 1): [None, 0.15, 0]}
    for term in cm.terms_b:
        value, se = cm.coefficient("B", term)
        truth = truth_b.get(term, [None, 0.0, 0.0])
        assert z_within(value[1:], truth[1:], se[1:]), (term, value, se)
    assert cm.a_r2[0] > 0.25 and np.all(cm.b_r2[1:] > 0.02)
    # q1's B is quartic: the degree-4 model recovers it
    quartic = conditional_moments(phi, 3, [4], degree_a=2, degree_b=4, cross_modes=3)
    for term, truth in (((0, 0, 1, 1), alpha**2 / 2), ((), -alpha**2 / 2), ((0, 0), 0.0)):
        value, se = quartic.coefficient("B", term)
        assert z_within(value, truth, se), (term, value, se)


def test_gram_charlier_B_from_the_cumulants(synthetic):
    phi, _ = synthetic
    cm = conditional_moments(phi, 3, [5, 6], degree_a=1, degree_b=2, cross_modes=3)
    for j, mode in enumerate((5, 6)):
        gc = gram_charlier_b(phi, 3, mode)
        for term, predicted in gc.items():
            value, se = cm.coefficient("B", term)
            # the same moments, estimated two ways: agree within the sampling error
            assert abs(predicted - value[j]) <= 4.5 * se[j] + 1e-3, (mode, term, predicted, value[j], se[j])


def test_B_moments_are_the_fourth_cumulant_exactly():
    """⟨(z_q² − C_qq)(z_k z_l − C_kl)⟩ = U_qqkl + 2 C_qk C_ql on any sample (plug-in moments)."""
    K, X = arccos_kernel(500, 4, 2)
    phi = spectrum_from_kernel(K, X[:, 0], n_vectors=30).eigenfunctions
    labels = [2, 3, 4, 25]
    U = fourth_cumulant(phi, labels).cumulant
    z = phi[:, np.array(labels) - 1]
    z = z - z.mean(axis=0)
    C = z.T @ z / z.shape[0]
    q = 3
    for k in range(3):
        for l in range(3):
            moment = np.mean((z[:, q] ** 2 - C[q, q]) * (z[:, k] * z[:, l] - C[k, l]))
            assert moment == pytest.approx(U[q, q, k, l] + 2 * C[q, k] * C[q, l], abs=1e-12)


def test_binned_check_sees_a_missing_dependence(synthetic):
    phi, _ = synthetic
    cm = conditional_moments(phi, 3, [5], degree_a=1, degree_b=2, cross_modes=3)
    observed = (phi[:, 4] ** 2 - 1) / 2
    good = binned_check(observed, cm.b_held_out[:, 0], phi[:, 0], 12)
    assert good["chi2_per_bin"] < 3 and good["chi2_per_bin_unconditional"] > 30
    flat = binned_check(observed, np.zeros(phi.shape[0]), phi[:, 0], 12)
    assert flat["chi2_per_bin"] > 30


# -------------------------------------------------------------------- the RG on a pool


@pytest.fixture(scope="module")
def pool():
    K, X = arccos_kernel(400, 6, 0)
    y = np.sign(X[:, 0] * X[:, 1] + 0.2 * X[:, 2])
    return K, y, spectrum_from_kernel(K, y, n_vectors=-1)


def test_constant_diagonal_makes_the_B_ridge_the_per_point_ridge(pool):
    K, y, spec = pool
    assert np.ptp(np.diag(K)) < 1e-14  # unit-norm inputs: K(x, x) is constant
    for cutoff in (3, 12, 30):
        ridge_x = input_dependent_ridge(spec, cutoff, 1e-6)
        ab = conditional_ridge(spec.eigenfunctions[:, :cutoff], spec.eigenvalues[:cutoff],
                               spec.target_coefficients[:cutoff], y, ridge_x, 1e-6, folds=5)
        # C_> = K_0 − Σ_{k≤κ} λ_k φ_k² is diagonal-quadratic in the kept modes: the B model holds it
        assert ab.ridge_r2 == pytest.approx(1.0, abs=1e-10) and ab.ridge_held_out_r2 == pytest.approx(1.0, abs=1e-9)
        assert np.allclose(ab.ridge_x, ridge_x, rtol=1e-8)
        assert ab.n_terms_ridge < spec.n / 5 and ab.n_terms_target < spec.n / 5


def test_report_keeps_its_numbers_and_adds_the_conditional_rg(pool):
    K, y, spec = pool
    eta = np.array([10, 30, 80])
    curve = learning_curve(K, y, eta, ridge=1e-6, trials=6, seed=1, keep_predictions=True)
    args = (spec, y, eta, 1e-6, 0.5, curve.prediction_mean, curve.prediction_var, 6)
    plain = nongaussian_comparison(*args, conditional=False).as_dict()
    full = nongaussian_comparison(*args)
    d = full.as_dict()
    assert "conditional_rg" not in plain and set(plain) < set(d)
    for key in ("gaussian_rg", "gaussian_rg_kept_modes", "nongaussian_rg", "draw_noise_floor"):
        assert np.array_equal(d["per_point_mse"][key], plain["per_point_mse"][key])
    cond = d["conditional_rg"]
    assert np.all(np.isfinite(cond["per_point_mse"]["conditional_rg"]))
    # where the ridge model is exact, the ridge-only variant is the per-point theory itself
    exact = np.asarray(cond["ridge_r2"]) > 1 - 1e-10
    assert exact.any()
    assert np.allclose(np.asarray(cond["per_point_mse"]["conditional_rg_ridge_only"])[exact],
                       full.mse_nongaussian[exact], rtol=1e-6)
    assert cond["model"]["kernel_diagonal_constant"] is True


def test_first_order_reweighting_is_the_linearized_per_point_theory(pool):
    from wilsonian.theory.nongaussian import first_order_coefficients, reweighted_coefficients

    K, y, spec = pool
    cutoff, eta = 20, 60.0
    ridge_x = input_dependent_ridge(spec, cutoff, 1e-6)
    mean = ridge_x.mean()
    errors = []
    for t in (1e-3, 2e-3):  # shrink the ridge's fluctuation: the error of the linearization is O(t²)
        scaled = mean + t * (ridge_x - mean)
        errors.append(np.abs(first_order_coefficients(spec, y, eta, cutoff, scaled)
                             - reweighted_coefficients(spec, y, eta, cutoff, scaled)).max())
    assert errors[1] / errors[0] == pytest.approx(4.0, rel=0.05)
    # and at t = 0 it is the Gaussian RG on the kept modes
    f0 = first_order_coefficients(spec, y, eta, cutoff, np.full(spec.n, mean))
    lam = spec.eigenvalues[:cutoff]
    assert np.allclose(f0, eta * lam / (eta * lam + mean) * spec.target_coefficients[:cutoff])
