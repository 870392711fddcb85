"""The cluster expansion of the resolvent sums (wilsonian.theory._expansion) against direct sums,
and the theories computed through it against the same theories computed exactly."""

from __future__ import annotations

import numpy as np
import pytest

from wilsonian import theory
from wilsonian.theory import _sums
from wilsonian.spectrum import Spectrum
from wilsonian.theory._expansion import ResolventExpansion

T_VALUES = np.concatenate([[0.0], np.geomspace(1e-18, 1e4, 90)])


def direct(lam, weights, t):
    """Σ w/(λ + t) and Σ w/(λ + t)² in plain NumPy, (n_t, W) each."""
    r = 1.0 / (lam[None, :] + t[:, None])
    return r @ weights, (r * r) @ weights


def spectra():
    rng = np.random.default_rng(0)
    k = np.arange(1, 10_001)
    power_law = k**-1.4 * np.exp(0.1 * rng.normal(size=k.size))
    fifteen_decades = np.geomspace(1.0, 1e-15, 3000)
    ties = np.repeat([1.0, 0.3, 0.3 * (1 - 1e-12), 1e-3, 1e-9], [1, 700, 1, 900, 1500])
    one_cluster = rng.uniform(1.0, 1.5, 2000)
    for name, lam in (("power law", power_law), ("15 decades", fifteen_decades), ("ties", ties),
                      ("one cluster", one_cluster)):
        lam = np.sort(lam)[::-1]
        y2 = rng.normal(size=lam.size) ** 2 * lam**0.5
        yield name, lam, np.column_stack([lam, lam**2, y2])


@pytest.mark.parametrize("name, lam, weights", list(spectra()), ids=lambda v: v if isinstance(v, str) else "")
def test_expansion_equals_direct_sums(name, lam, weights):
    expansion = ResolventExpansion(lam, weights)
    assert expansion.n_clusters < lam.size / 20  # it compresses
    first, second = expansion(T_VALUES, [0, 1, 2], [0, 1, 2])
    ref_first, ref_second = direct(lam, weights, T_VALUES)
    assert np.max(np.abs(first / ref_first - 1)) < 1e-13, name
    assert np.max(np.abs(second / ref_second - 1)) < 1e-13, name


def test_exact_mode_is_the_direct_sum():
    lam = np.geomspace(2.0, 1e-6, 300)
    weights = np.column_stack([lam, -np.cos(np.arange(300))])  # any sign is allowed here
    first, second = ResolventExpansion(lam, weights, exact=True)(T_VALUES, [0, 1], [1])
    ref_first, ref_second = direct(lam, weights, T_VALUES)
    np.testing.assert_allclose(first, ref_first, rtol=1e-14, atol=1e-14 * np.abs(ref_first).max())
    np.testing.assert_allclose(second, ref_second[:, [1]], rtol=1e-13,
                               atol=1e-14 * np.abs(ref_second).max())


def test_expansion_rejects_unsorted_or_nonpositive_eigenvalues():
    with pytest.raises(ValueError):
        ResolventExpansion(np.array([1.0, 2.0]), np.ones((2, 1)))
    with pytest.raises(ValueError):
        ResolventExpansion(np.array([1.0, 0.0]), np.ones((2, 1)))


def test_small_spectra_use_the_exact_sums_and_large_ones_the_expansion():
    small = theory.prepare_modes(np.geomspace(1, 1e-3, _sums.EXPANSION_MIN_MODES - 1),
                                 np.ones(_sums.EXPANSION_MIN_MODES - 1))
    large = theory.prepare_modes(np.geomspace(1, 1e-3, _sums.EXPANSION_MIN_MODES),
                                 np.ones(_sums.EXPANSION_MIN_MODES))
    assert _sums.resolvent(small).exact and not _sums.resolvent(large).exact


@pytest.mark.parametrize("ridge", [0.0, 1e-14, 1e-8, 1e-3, 1.0])
@pytest.mark.parametrize("name, lam, weights", list(spectra())[:2], ids=lambda v: v if isinstance(v, str) else "")
def test_theories_through_the_expansion_equal_exact_ones(monkeypatch, ridge, name, lam, weights):
    coefficients = np.sqrt(weights[:, 2])
    eta = np.unique(np.geomspace(1, 2 * lam.size, 60).round())

    def all_theories():
        modes = theory.prepare_modes(lam, coefficients)
        sb = theory.spectral_bias(modes, eta, ridge)
        rg = theory.rg_prediction(modes, eta, ridge, 0.5)
        return modes, sb, rg, theory.ek_error(modes, eta, ridge)

    modes, sb, rg, ek = all_theories()
    assert not _sums.resolvent(modes).exact
    monkeypatch.setattr(_sums, "EXPANSION_MIN_MODES", 10**9)
    exact_modes, sb_exact, rg_exact, ek_exact = all_theories()
    assert _sums.resolvent(exact_modes).exact
    finite = np.isfinite(sb_exact.error)
    assert np.array_equal(finite, np.isfinite(sb.error))
    np.testing.assert_allclose(sb.kappa, sb_exact.kappa, rtol=1e-12, atol=0)
    np.testing.assert_allclose(sb.error[finite], sb_exact.error[finite], rtol=1e-11)
    assert np.max(sb.residual) < 1e-12
    np.testing.assert_allclose(rg.error, rg_exact.error, rtol=1e-12)
    np.testing.assert_allclose(rg.gamma, rg_exact.gamma, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ek, ek_exact, rtol=1e-12)


def test_prepared_modes_work_everywhere_and_do_not_alias_the_caller():
    lam = np.geomspace(1.0, 1e-4, 600)
    y = np.sqrt(lam)
    modes = theory.prepare_modes(lam, y)
    eta = np.array([10.0, 100.0])
    before = theory.spectral_bias(modes, eta, 1e-3).kappa
    # Every theory function takes prepared modes, the RG helpers included.
    np.testing.assert_array_equal(theory.ridge_flow(modes, 0.1), theory.ridge_flow(lam, 0.1))
    np.testing.assert_array_equal(theory.learnability(modes, eta, 0.1), theory.learnability(lam, eta, 0.1))
    assert theory.renormalized_ridge(modes, eta, 0.1)[1].tolist() == theory.renormalized_ridge(lam, eta, 0.1)[1].tolist()
    # Changing the caller's arrays afterwards changes nothing: the modes hold read-only copies.
    lam *= 2
    np.testing.assert_array_equal(theory.spectral_bias(modes, eta, 1e-3).kappa, before)
    with pytest.raises(ValueError):
        modes.eigenvalues[0] = 1.0


def test_replaced_modes_do_not_share_cached_tables():
    import dataclasses

    lam = np.geomspace(1.0, 1e-3, 50)
    modes = theory.prepare_modes(lam, np.ones(50))
    eta = np.array([5.0, 40.0])
    theory.rg_prediction(modes, eta, 0.1)  # fills the cutoff table for (0.1, 0.5)
    with_tail = dataclasses.replace(modes, trace=modes.trace + 5.0)  # tail mass 5
    expected = theory.rg_prediction(
        Spectrum.from_modes(modes.eigenvalues, modes.target_coefficients, trace=modes.trace + 5.0),
        eta, 0.1).renormalized_ridge
    np.testing.assert_array_equal(theory.rg_prediction(with_tail, eta, 0.1).renormalized_ridge, expected)
    assert np.all(expected >= 5.1)  # the tail mass is in the ridge
