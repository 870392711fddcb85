"""The RG cutoff against a direct scan written from THEORY.md §4, on spectra where it matters.

The cutoff rule uses the running ridge *at* mode k: σ²(k) = σ² + Σ_{j>k} λ_j (1-based k).
On a log-spaced spectrum the cutoff is all-or-nothing and cannot tell σ²(k) from σ²(k − 1);
on power-law and real spectra it can, and these tests check that it does.
"""

import numpy as np
import pytest

from wilsonian import theory
from wilsonian.kernels import KernelSpec
from wilsonian.spectrum import Spectrum, power_law_spectrum, spectrum_from_kernel


def direct_cutoff(lam, eta, ridge, threshold, *, shift=0):
    """κ*(η) = (first 1-based k with ηλ_k/(ηλ_k + σ²(k)) < T) − 1, scanning every mode.

    σ²(k) = σ² + Σ_{j>k} λ_j; ``shift=1`` uses σ²(k − 1) instead (the off-by-one the tests
    must be able to see). Returns (κ*, σ²(κ*), all learnable).
    """
    m = lam.size
    cutoff = np.empty(eta.size, dtype=int)
    for i, e in enumerate(eta):
        kappa = m
        for k in range(1, m + 1):  # 1-based
            running = ridge + lam[k - shift:].sum()  # Σ_{j>k−shift} λ_j, j 1-based
            if lam[k - 1] > 0 and e * lam[k - 1] / (e * lam[k - 1] + running) < threshold:
                kappa = k - 1
                break
        cutoff[i] = kappa
    sigma_eff = np.array([ridge + lam[c:].sum() for c in cutoff])
    return cutoff, sigma_eff, cutoff == np.count_nonzero(lam > 0)


@pytest.fixture(scope="module")
def digits_spectrum(digits_binary_pool):
    X, y = digits_binary_pool(1200)
    return spectrum_from_kernel(KernelSpec().matrix(X), y)


ETAS = np.unique(np.round(np.geomspace(1, 1200, 133)))


@pytest.mark.parametrize("threshold", [0.25, 0.5, 0.75])
@pytest.mark.parametrize("ridge", [1e-8, 1e-3])
def test_cutoff_equals_the_direct_scan_on_a_power_law(ridge, threshold):
    s = power_law_spectrum(600, 0.5)
    lam = s.eigenvalues
    cutoff, sigma_eff, all_learnable = direct_cutoff(lam, ETAS, ridge, threshold)
    rg = theory.rg_prediction(s, ETAS, ridge, threshold)
    np.testing.assert_array_equal(rg.cutoff, cutoff)
    np.testing.assert_allclose(rg.renormalized_ridge, sigma_eff, rtol=1e-12)
    np.testing.assert_array_equal(rg.all_learnable, all_learnable)
    # and the test can see the off-by-one: σ²(k − 1) moves the cutoff on this spectrum
    wrong, _, _ = direct_cutoff(lam, ETAS, ridge, threshold, shift=1)
    assert np.count_nonzero(wrong != cutoff) >= 5


def test_cutoff_equals_the_direct_scan_on_a_real_spectrum(digits_spectrum):
    s = digits_spectrum
    lam = s.eigenvalues
    cutoff, sigma_eff, all_learnable = direct_cutoff(lam, ETAS, 1e-8, 0.5)
    rg = theory.rg_prediction(s, ETAS, 1e-8, 0.5)
    np.testing.assert_array_equal(rg.cutoff, cutoff)
    np.testing.assert_allclose(rg.renormalized_ridge, sigma_eff, rtol=1e-12)
    np.testing.assert_array_equal(rg.all_learnable, all_learnable)
    wrong, wrong_ridge, _ = direct_cutoff(lam, ETAS, 1e-8, 0.5, shift=1)
    moved = wrong != cutoff
    # the numbers on a 1,200-point digits spectrum: the cutoff moves at many η and
    # σ_eff² by a large factor, so this comparison has the power to catch the bug
    assert moved.sum() >= 20
    assert np.max(np.maximum(wrong_ridge, sigma_eff) / np.minimum(wrong_ridge, sigma_eff)) > 1.5


def test_zero_eigenvalues_count_as_nothing_to_integrate_out():
    """Duplicated inputs give eigenvalues 0: when every positive mode is learnable the RG has
    nothing to integrate out, and says so."""
    s = Spectrum.from_modes([1.0, 0.5, 0.25, 0.0, 0.0], [1.0, 0.5, 0.2, 0.1, 0.1])
    rg = theory.rg_prediction(s, [1.0, 1e6], 1e-12, threshold=0.6)
    # η = 1: L_1 = 1/(1 + 0.75) < 0.6; η = 10⁶: every positive mode is learnable
    assert rg.cutoff.tolist() == [0, 3] and rg.all_learnable.tolist() == [False, True]
    assert rg.renormalized_ridge[1] == 1e-12
    # the unlearnable power of the zero modes stays in the error
    assert rg.error[1] >= 0.02 - 1e-15


def test_the_tail_mass_is_in_the_ridge_exactly():
    """A truncated spectrum's unresolved modes are λ → 0 modes with mass τ and power P: the
    theories must equal those of the resolved modes with ridge σ² + τ, plus P unlearned."""
    s = power_law_spectrum(2000, 0.4)
    cut = s.truncated(800)
    tau, power = cut.tail_mass, cut.tail_power
    resolved = Spectrum.from_modes(s.eigenvalues[:800], s.target_coefficients[:800])
    eta = np.unique(np.round(np.geomspace(1, 5000, 40)))
    ridge = 1e-6
    sb_cut, sb_ref = theory.spectral_bias(cut, eta, ridge), theory.spectral_bias(resolved, eta, ridge + tau)
    np.testing.assert_allclose(sb_cut.kappa, sb_ref.kappa, rtol=1e-12)
    np.testing.assert_allclose(sb_cut.error, sb_ref.error + power / (1 - sb_ref.gamma), rtol=1e-12)
    rg_cut, rg_ref = theory.rg_prediction(cut, eta, ridge), theory.rg_prediction(resolved, eta, ridge + tau)
    np.testing.assert_allclose(rg_cut.renormalized_ridge, rg_ref.renormalized_ridge, rtol=1e-12)
    np.testing.assert_allclose(rg_cut.error, rg_ref.error + power, rtol=1e-12)
    np.testing.assert_allclose(theory.ek_error(cut, eta, ridge), theory.ek_error(resolved, eta, ridge) + power,
                               rtol=1e-12)
    # the effect is far above the tolerance: without the tail mass κ would be visibly lower
    bare = theory.spectral_bias(resolved, eta, ridge)
    assert np.max(sb_cut.kappa / bare.kappa) > 1.1


def test_a_complete_spectrum_has_no_tail_whatever_its_round_off():
    """trace(K)/N − Σλ of a full eigendecomposition is round-off of either sign (3.5e-18 on
    the 1,200-digit spectrum with one CPU's OpenBLAS, ≤ 0 with another's): it is no tail, or
    a σ² = 1e-30 ridge would flow on one machine and not on another."""
    from dataclasses import replace

    from wilsonian.app.cache import spectrum_from_arrays, spectrum_to_arrays
    from wilsonian.spectrum import spectrum_from_eigenpairs

    rng = np.random.default_rng(5)
    A = rng.standard_normal((40, 40))
    K = A @ A.T
    y = rng.standard_normal(40)
    w, V = np.linalg.eigh(K)
    w, V = w[::-1], V[:, ::-1]
    # a diagonal whose sum exceeds Σw by round-off-sized and by real amounts alike
    for excess in (1e-13, 1.0):
        diagonal = np.diagonal(K) + excess / 40
        s = spectrum_from_eigenpairs(w, V.T @ y, None, y=y, kernel_diagonal=diagonal)
        assert s.complete and s.tail_mass == 0.0 and s.tail_power == 0.0
        # the sum rule still sees a real excess; a round-off-sized one may vanish in the sums
        # (1e-13 on a trace of ~1,600 is below its ulp, and one CPU's OpenBLAS then gives 0)
        assert (s.identity_errors()["trace"] > 1e-5) if excess == 1.0 else (s.identity_errors()["trace"] < 1e-14)
        assert theory.rg_prediction(s, [5.0], 1e-30).renormalized_ridge[0] > 0
        again = spectrum_from_arrays(spectrum_to_arrays(s), s.n)
        assert again.complete and again.tail_mass == 0.0
        cut = s.truncated(10)                                        # a real tail: counted
        assert not cut.complete and cut.tail_mass > 0 and cut.tail_power > 0
        assert replace(s, complete=False).tail_mass == pytest.approx(excess / 40, abs=1e-13)
    top = spectrum_from_eigenpairs(w[:10], (V.T @ y)[:10], None, y=y, kernel_diagonal=np.diagonal(K))
    assert not top.complete and top.tail_mass > 0                    # a top-k block
    # a spectrum given by its modes may state a tail in its trace (as_spectrum's tail_mass)
    given = Spectrum.from_modes([1.0, 0.5], [1.0, 1.0], trace=2.0)
    assert not given.complete and given.tail_mass == 0.5
