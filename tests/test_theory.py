"""Closed-form checks of the learning-curve theories (THEORY.md §4)."""

import numpy as np
import pytest

from wilsonian import theory
from wilsonian.errors import WilsonianError
from wilsonian.spectrum import Spectrum, power_law_spectrum

ETAS = np.unique(np.round(np.logspace(0, 4, 60)))


def wide_spectrum(n_modes=3000, decades=15, seed=0):
    """Eigenvalues spanning `decades` decades with random target coefficients."""
    rng = np.random.default_rng(seed)
    lam = 10.0 ** (-decades * np.arange(n_modes) / (n_modes - 1))
    yk = rng.normal(size=n_modes) * np.sqrt(lam) ** 0.5
    return Spectrum.from_modes(lam, yk)


def kappa_residual(lam, eta, kappa, ridge):
    """|κ − σ² − (κ/η)Σλ/(λ+κ/η)|/κ, written straight from THEORY.md, independently of the solver."""
    t = kappa[:, None] / eta[:, None]
    rhs = ridge + t[:, 0] * np.sum(lam[None, :] / (lam[None, :] + t), axis=1)
    return np.abs(kappa - rhs) / kappa


# ----------------------------------------------------------------------------- EK
def test_ek_noiseless_and_noisy_limits():
    s = power_law_spectrum(500, 0.7)
    power = np.square(s.target_coefficients).sum()
    # σ² → 0: every mode with λ > 0 is learned exactly
    assert np.allclose(theory.ek_error(s, ETAS, 0.0), 0.0, atol=1e-300)
    assert np.allclose(theory.ek_mode_predictor(s, [5.0], 1e-300), s.target_coefficients[None, :], rtol=1e-12)
    assert np.all(theory.ek_mode_variance(s, ETAS, 0.0) == 0.0)
    # σ²/η → ∞: nothing is learned, E → ⟨y²⟩, per-mode variance → prior λ_k
    assert np.allclose(theory.ek_error(s, [1.0], 1e30), power, rtol=1e-12)
    assert np.allclose(theory.ek_mode_variance(s, [1.0], 1e30), s.eigenvalues[None, :], rtol=1e-12)
    # a zero mode is never learned, even at σ² = 0
    z = Spectrum.from_modes([1.0, 0.5, 0.0], [1.0, 2.0, 3.0])
    assert theory.ek_error(z, [10.0], 0.0)[0] == pytest.approx(9.0)


def test_ek_error_matches_its_formula_and_decreases():
    s = wide_spectrum(400)
    ridge = 1e-3
    e = theory.ek_error(s, ETAS, ridge)
    direct = [np.sum(((ridge / n) / (s.eigenvalues + ridge / n)) ** 2 * s.target_coefficients**2) for n in ETAS]
    assert np.allclose(e, direct, rtol=1e-12)
    assert np.all(np.diff(e) <= 1e-15)


# ----------------------------------------------------------------------------- spectral bias
@pytest.mark.parametrize("ridge", [0.0, 1e-14, 1e-8, 1e-3, 1.0])
def test_kappa_solves_its_equation_on_15_decades(ridge):
    s = wide_spectrum()
    eta = np.unique(np.concatenate([ETAS, [2999, 3000, 3001, 5000]]))
    sb = theory.spectral_bias(s, eta, ridge)
    positive = sb.kappa > 0
    if ridge > 0:
        assert positive.all()
    # the only roots of F with σ² = 0 and η ≥ M are κ = 0
    assert np.all(positive[eta < 3000])
    assert np.all(~positive[eta >= 3000]) or ridge > 0
    res = kappa_residual(s.eigenvalues, eta[positive], sb.kappa[positive], ridge)
    assert res.max() < 1e-12
    # κ is bracketed by [σ², σ² + Σλ] and the theory's γ is < 1 where κ > 0
    assert np.all(sb.kappa >= ridge) and np.all(sb.kappa <= ridge + s.eigenvalues.sum())
    assert np.all(sb.gamma[positive] < 1)


@pytest.mark.parametrize("multiplicity", [1, 7])
def test_kappa_closed_form_for_degenerate_spectrum(multiplicity):
    # M equal eigenvalues λ: κ² + κ(ηλ − σ² − Mλ) − σ²ηλ = 0
    lam, ridge = 0.3, 0.02
    s = Spectrum.from_modes(np.full(multiplicity, lam), np.ones(multiplicity))
    sb = theory.spectral_bias(s, ETAS, ridge)
    b = ETAS * lam - ridge - multiplicity * lam
    exact = (-b + np.sqrt(b * b + 4 * ridge * ETAS * lam)) / 2
    assert np.allclose(sb.kappa, exact, rtol=1e-12)
    gamma = multiplicity * ETAS * lam**2 / (ETAS * lam + exact) ** 2
    error = multiplicity * exact**2 / (ETAS * lam + exact) ** 2 / (1 - gamma)
    assert np.allclose(sb.gamma, gamma, rtol=1e-11)
    assert np.allclose(sb.error, error, rtol=1e-10)


def test_eigenlearning_convention_gives_the_same_error():
    s = wide_spectrum(2000)
    for ridge in [1e-10, 1e-4, 0.3]:
        sb = theory.spectral_bias(s, ETAS, ridge)
        el = theory.eigenlearning(s, ETAS, ridge)
        assert np.allclose(el.kappa, sb.kappa_eigenlearning, rtol=1e-14)
        # eigenlearning's own equation Σλ/(λ+κ_S) + σ²/κ_S = η
        lhs = np.sum(s.eigenvalues / (s.eigenvalues + el.kappa[:, None]), axis=1) + ridge / el.kappa
        assert np.allclose(lhs, ETAS, rtol=1e-10)
        assert np.allclose(el.error, sb.error, rtol=1e-10)


def test_label_noise_and_mode_errors():
    s = power_law_spectrum(800, 0.4)
    clean = theory.spectral_bias(s, ETAS, 1e-4)
    noisy = theory.spectral_bias(s, ETAS, 1e-4, noise=0.25)
    assert np.allclose(noisy.error - clean.error, 0.25 * clean.gamma / (1 - clean.gamma), rtol=1e-10)
    per_mode = theory.spectral_bias_mode_errors(s, ETAS, 1e-4)
    assert per_mode.shape == (ETAS.size, 800)
    assert np.allclose(per_mode.sum(axis=1), clean.error, rtol=1e-12)


@pytest.mark.parametrize("spectrum, noise", [(power_law_spectrum(300, 0.5), 0.0),
                                             (power_law_spectrum(800, 0.4), 0.1),
                                             (wide_spectrum(2000), 0.01)])
def test_spectral_bias_of_many_eta_is_each_eta_alone_bit_for_bit(spectrum, noise):
    # optimal_ridge solves its ridge grid for every η at once; it must be the per-η numbers.
    eta = ETAS[::6]
    for ridge in np.geomspace(1e-12, 10.0, 9):
        together = theory.spectral_bias(spectrum, eta, ridge, noise=noise)
        for i, e in enumerate(eta):
            alone = theory.spectral_bias(spectrum, [e], ridge, noise=noise)
            assert alone.kappa[0] == together.kappa[i] and alone.error[0] == together.error[i]


def test_spectral_bias_accepts_arrays_and_rejects_bad_input():
    s = power_law_spectrum(100, 1.0)
    a = theory.spectral_bias(s.eigenvalues, ETAS, 1e-3, s.target_coefficients)
    b = theory.spectral_bias(s, ETAS, 1e-3)
    assert np.array_equal(a.error, b.error)
    with pytest.raises(WilsonianError):
        theory.spectral_bias(s, ETAS, -1.0)
    with pytest.raises(WilsonianError):
        theory.spectral_bias(s, [0.5], 1e-3)
    with pytest.raises(WilsonianError):
        theory.spectral_bias(s, ETAS, 1e-3, noise=-1)
    with pytest.raises(WilsonianError):
        theory.spectral_bias(s.eigenvalues, ETAS, 1e-3)


# ----------------------------------------------------------------------------- RG
def test_ridge_flow_is_sigma2_plus_integrated_mass():
    s = wide_spectrum(300)
    flow = theory.ridge_flow(s, 1e-8)
    assert flow.shape == (301,)
    assert flow[0] == pytest.approx(1e-8 + s.eigenvalues.sum(), rel=1e-14)
    assert flow[-1] == 1e-8
    # dσ²/dκ = −λ_κ
    assert np.allclose(-np.diff(flow), s.eigenvalues, rtol=1e-9, atol=1e-300)


def test_rg_threshold_limits():
    s = wide_spectrum(500)
    ridge = 1e-6
    # T → 0: no mode is ever below T, nothing is integrated out, RG = EK
    rg = theory.rg_prediction(s, ETAS, ridge, threshold=1e-300)
    assert np.all(rg.all_learnable) and np.all(rg.cutoff == 500)
    assert np.all(rg.renormalized_ridge == ridge)
    assert np.allclose(rg.error, theory.ek_error(s, ETAS, ridge), rtol=1e-14)
    # T → 1: the first mode is already below T, every mode is integrated out
    rg = theory.rg_prediction(s, ETAS, ridge, threshold=1 - 1e-15)
    assert np.all(rg.cutoff == 0) and not rg.all_learnable.any()
    assert np.allclose(rg.renormalized_ridge, ridge + s.eigenvalues.sum(), rtol=1e-14)


def test_rg_cutoff_matches_its_definition():
    s = wide_spectrum(400, decades=8)
    ridge, threshold = 1e-9, 0.5
    rg = theory.rg_prediction(s, ETAS, ridge, threshold)
    L = theory.learnability(s, ETAS, ridge)
    for i, n in enumerate(ETAS):
        below = np.flatnonzero(L[i] < threshold)
        expected = below[0] if below.size else 400  # (first 1-based k with L_k < T) − 1
        assert rg.cutoff[i] == expected
        assert rg.all_learnable[i] == (below.size == 0)
        assert rg.renormalized_ridge[i] == pytest.approx(ridge + s.eigenvalues[expected:].sum(), rel=1e-12)
    gamma = ETAS * np.sum(s.eigenvalues**2 / (ETAS[:, None] * s.eigenvalues + rg.renormalized_ridge[:, None]) ** 2, axis=1)
    assert np.allclose(rg.gamma, gamma, rtol=1e-10)
    ok = gamma < 1
    assert np.allclose(rg.error_fluct[ok], rg.error[ok] / (1 - gamma[ok]), rtol=1e-10)
    # the fluctuation extension has no meaning once γ_RG ≥ 1: it says so with +inf
    assert np.all(np.isinf(rg.error_fluct[~ok]))


def test_rg_flags_when_every_mode_is_learnable():
    s = Spectrum.from_modes([1.0, 0.5, 0.25], [1, 1, 1])
    rg = theory.rg_prediction(s, [1e6], 1e-12)
    assert rg.all_learnable[0] and rg.cutoff[0] == 3 and rg.renormalized_ridge[0] == 1e-12


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_power_law_scaling_of_cutoff_and_ridge(alpha):
    threshold = 0.5
    # enough modes that the finite-M correction (κ*/M)^α to Σ_{k>κ*} λ_k stays below 1%
    s = power_law_spectrum(10_000_000, alpha)
    eta = np.logspace(2, 4, 12)
    cutoff, sigma_eff, all_learnable = theory.renormalized_ridge(s, eta, 0.0, threshold)
    assert not all_learnable.any()
    cut = theory.fit_power_law(eta, cutoff)
    ridge = theory.fit_power_law(eta, sigma_eff)
    assert cut.slope == pytest.approx(1.0, abs=0.02)
    assert ridge.slope == pytest.approx(-alpha, abs=0.02)
    # continuum estimate: L_k < T ⇔ k > α η (1−T)/T
    assert np.median(cutoff / eta) == pytest.approx(alpha * (1 - threshold) / threshold, rel=0.05)


def test_rg_rejects_bad_threshold():
    s = power_law_spectrum(10, 1.0)
    for bad in [0.0, 1.0, -0.1, 2.0, float("nan")]:
        with pytest.raises(WilsonianError):
            theory.rg_prediction(s, ETAS, 1e-3, threshold=bad)


# ----------------------------------------------------------------------------- truncated spectra
def test_tail_counts_as_ridge_and_error():
    s = wide_spectrum(1000, decades=6)
    full = theory.spectral_bias(s, ETAS[ETAS < 30], 1e-6)
    cut = theory.spectral_bias(s.truncated(900), ETAS[ETAS < 30], 1e-6)
    # far below the cutoff the last 100 modes are unlearnable: truncation changes nothing visible
    assert np.allclose(cut.error, full.error, rtol=1e-3)
    assert s.truncated(900).tail_mass == pytest.approx(s.eigenvalues[900:].sum(), rel=1e-10)


# ----------------------------------------------------------------------------- scaling fits
def test_power_law_fit_recovers_exponent_with_honest_error():
    rng = np.random.default_rng(3)
    x = np.logspace(0, 3, 40)
    exact = theory.fit_power_law(x, 2.0 * x**-1.3)
    assert exact.slope == pytest.approx(-1.3, abs=1e-12) and exact.slope_se < 1e-10
    fits = [theory.fit_power_law(x, 2.0 * x**-1.3 * np.exp(0.1 * rng.normal(size=x.size))) for _ in range(200)]
    z = np.array([(f.slope + 1.3) / f.slope_se for f in fits])
    assert abs(z.mean()) < 0.3 and 0.8 < z.std() < 1.25
    s = power_law_spectrum(1_000_000, 0.6)
    assert theory.spectrum_exponent(s, 1, 5000).slope == pytest.approx(-1.6, abs=1e-10)
    # Σ_{j>k} j^−1.6 ∝ k^−0.6 for 1 ≪ k ≪ M
    assert theory.target_tail_exponent(s, 50, 500).slope == pytest.approx(-0.6, abs=0.02)
