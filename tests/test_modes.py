"""Tests for wilsonian.mode_stats (and its figures): Gaussian/Cauchy mode statistics and fourth cumulants.

Everything is checked against closed forms (MLE formulas, score equations, cumulants of
known laws and of linear mixtures), against SciPy's reference routines, or against Monte
Carlo with standard errors. All data come from seeded Generators.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import scipy.stats

import wilsonian.mode_stats as modes_module
from wilsonian.errors import WilsonianError
from wilsonian.mode_stats import (
    FourthCumulant,
    ModeStatistics,
    cauchy_mle,
    fourth_cumulant,
    mode_statistics,
)
from wilsonian.plots import gauss_vs_cauchy_figure, joint_pairs_figure, marginals_figure, save_figure


def plot_joint_pairs(phi, pairs, stem, **options):
    return save_figure(joint_pairs_figure(phi, pairs, **options), stem)


def plot_gauss_vs_cauchy(stats, stem, **options):
    return save_figure(gauss_vs_cauchy_figure(stats, **options), stem)


def plot_marginals(phi, modes, stem, **options):
    return save_figure(marginals_figure(phi, modes, **options), stem)

N_LARGE = 20_000


def whitened_gaussian(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Correlated Gaussian columns, whitened on the sample so ⟨φ_a φ_b⟩ = δ_ab exactly."""
    mixing = rng.standard_normal((k, k)) + 2.0 * np.eye(k)
    raw = rng.standard_normal((n, k)) @ mixing.T + rng.standard_normal(k)
    second_moment = raw.T @ raw / n
    return raw @ np.linalg.inv(np.linalg.cholesky(second_moment)).T


def brute_force_cumulant(samples: np.ndarray) -> np.ndarray:
    """Connected fourth cumulant straight from its definition (full einsum)."""
    z = samples - samples.mean(axis=0)
    n = z.shape[0]
    m4 = np.einsum("ia,ib,ic,id->abcd", z, z, z, z) / n
    c = z.T @ z / n
    return (
        m4
        - np.einsum("ab,cd->abcd", c, c)
        - np.einsum("ac,bd->abcd", c, c)
        - np.einsum("ad,bc->abcd", c, c)
    )


# ---------------------------------------------------------------------------------------
# Gaussian features
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gaussian_phi() -> np.ndarray:
    return whitened_gaussian(np.random.default_rng(11), N_LARGE, 4)


def test_whitening_gives_orthonormal_modes(gaussian_phi):
    np.testing.assert_allclose(gaussian_phi.T @ gaussian_phi / N_LARGE, np.eye(4), atol=1e-12)


def test_gaussian_features_have_zero_fourth_cumulant(gaussian_phi):
    result = fourth_cumulant(gaussian_phi, [1, 2, 3, 4])
    assert result.cumulant.shape == result.stderr.shape == (4, 4, 4, 4)
    assert np.all(result.stderr > 0)
    assert np.max(np.abs(result.cumulant) / result.stderr) < 4.0
    # For a Gaussian of variance σ² the asymptotic variance of the sample κ4 is 24σ⁸/N
    # (σ² < 1 here: the columns have mean-square 1 but a non-zero mean).
    variance = np.var(gaussian_phi, axis=0)
    assert variance.min() < 0.9  # so that the σ⁸ factor is really tested
    for a in range(4):
        expected_se = math.sqrt(24.0 / N_LARGE) * variance[a] ** 2
        assert result.stderr[a, a, a, a] == pytest.approx(expected_se, rel=0.1)


def test_gaussian_features_prefer_gaussian(gaussian_phi):
    stats = mode_statistics(gaussian_phi)
    assert stats.preferred.tolist() == ["gaussian"] * 4
    assert np.all(stats.gauss_loglik > stats.cauchy_loglik)
    # Excess kurtosis is 0 with standard error √(24/N).
    assert np.all(np.abs(stats.excess_kurtosis) < 4.0 * math.sqrt(24.0 / N_LARGE))
    assert np.all(stats.ks_gauss < 0.02)
    assert np.all(stats.ks_cauchy > 0.05)  # a Cauchy law is visibly wrong for N(0, 1)
    # Whitened modes: mean-square 1, so the Gaussian MLE gives std² + mean² = 1.
    np.testing.assert_allclose(stats.gauss_std**2 + stats.gauss_mean**2, 1.0, atol=1e-12)


# ---------------------------------------------------------------------------------------
# Cauchy features
# ---------------------------------------------------------------------------------------


CAUCHY_LOCS = np.array([0.0, 1.5, -0.3])
CAUCHY_SCALES = np.array([1.0, 0.2, 3.0])


@pytest.fixture(scope="module")
def cauchy_phi() -> np.ndarray:
    rng = np.random.default_rng(12)
    return CAUCHY_LOCS + CAUCHY_SCALES * rng.standard_cauchy((N_LARGE, 3))


def test_cauchy_features_prefer_cauchy_and_recover_parameters(cauchy_phi):
    stats = mode_statistics(cauchy_phi)
    assert stats.preferred.tolist() == ["cauchy"] * 3
    # Fisher information of the Cauchy law: 1/(2γ²) for x0 and for γ, so SE = γ√(2/N).
    se = CAUCHY_SCALES * math.sqrt(2.0 / N_LARGE)
    assert np.all(np.abs(stats.cauchy_loc - CAUCHY_LOCS) < 4.0 * se)
    assert np.all(np.abs(stats.cauchy_scale - CAUCHY_SCALES) < 4.0 * se)
    assert np.all(stats.ks_cauchy < 0.02)
    assert np.all(stats.ks_gauss > 0.2)
    # Mean log-density of a Cauchy law at its true parameters is −log(4πγ).
    entropy_se = math.sqrt(np.pi**2 / 3.0 / N_LARGE)  # Var log(1+z²) = π²/3
    assert np.all(
        np.abs(stats.cauchy_loglik + np.log(4 * np.pi * CAUCHY_SCALES)) < 4.0 * entropy_se
    )


def test_cauchy_mle_agrees_with_scipy_fit(cauchy_phi):
    loc, scale = cauchy_mle(cauchy_phi)
    for column in range(cauchy_phi.shape[1]):
        sample = cauchy_phi[:, column]
        scipy_loc, scipy_scale = scipy.stats.cauchy.fit(sample)
        assert abs(loc[column] - scipy_loc) < 1e-3 * scale[column]
        assert abs(scale[column] / scipy_scale - 1.0) < 1e-3
        ours = scipy.stats.cauchy.logpdf(sample, loc[column], scale[column]).sum()
        theirs = scipy.stats.cauchy.logpdf(sample, scipy_loc, scipy_scale).sum()
        assert ours >= theirs - 1e-8  # ours is at least as good a maximum


@pytest.mark.parametrize("law", ["cauchy", "normal", "t3", "skewed"])
def test_cauchy_mle_solves_score_equations(law):
    rng = np.random.default_rng(13)
    sample = {
        "cauchy": rng.standard_cauchy(5000) * 2.0 - 1.0,
        "normal": rng.standard_normal(5000),
        "t3": rng.standard_t(3, 5000),
        "skewed": rng.exponential(size=5000),
    }[law]
    loc, scale = cauchy_mle(sample)
    assert np.ndim(loc) == 0 and scale > 0
    z = (sample - loc) / scale
    # ∂/∂x0: Σ z/(1+z²) = 0;  ∂/∂γ: Σ 1/(1+z²) = N/2.
    assert abs(np.mean(z / (1 + z * z))) < 1e-8
    assert abs(np.mean(1 / (1 + z * z)) - 0.5) < 1e-8


def test_cauchy_mle_fallback_optimizer_finds_same_maximum(cauchy_phi):
    full_loc, full_scale = cauchy_mle(cauchy_phi)
    # One EM step then BFGS for every column.
    loc, scale = cauchy_mle(cauchy_phi, max_iter=1)
    np.testing.assert_allclose(loc, full_loc, atol=1e-6 * full_scale.max())
    np.testing.assert_allclose(scale, full_scale, rtol=1e-6)


# ---------------------------------------------------------------------------------------
# Closed forms and reference routines for the per-mode statistics
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_phi() -> np.ndarray:
    rng = np.random.default_rng(14)
    n = 3000
    return np.column_stack(
        [
            rng.standard_normal(n) + 0.3,
            rng.standard_t(2, n),
            rng.standard_cauchy(n),
            rng.uniform(-1, 2, n),
            rng.laplace(0.5, 2.0, n),
        ]
    )


def test_statistics_match_closed_forms_and_scipy(mixed_phi):
    stats = mode_statistics(mixed_phi)
    assert isinstance(stats, ModeStatistics)
    assert len(stats) == 5 and stats.n_points == mixed_phi.shape[0]
    np.testing.assert_array_equal(stats.mode, [1, 2, 3, 4, 5])
    for j in range(mixed_phi.shape[1]):
        x = mixed_phi[:, j]
        mean, std = x.mean(), np.sqrt(np.mean((x - x.mean()) ** 2))
        assert stats.gauss_mean[j] == pytest.approx(mean, rel=1e-12, abs=1e-14)
        assert stats.gauss_std[j] == pytest.approx(std, rel=1e-12)
        assert stats.gauss_loglik[j] == pytest.approx(
            scipy.stats.norm.logpdf(x, mean, std).mean(), rel=1e-12
        )
        loc, scale = stats.cauchy_loc[j], stats.cauchy_scale[j]
        assert stats.cauchy_loglik[j] == pytest.approx(
            scipy.stats.cauchy.logpdf(x, loc, scale).mean(), rel=1e-12
        )
        assert stats.ks_gauss[j] == pytest.approx(
            scipy.stats.kstest(x, "norm", args=(mean, std)).statistic, abs=1e-12
        )
        assert stats.ks_cauchy[j] == pytest.approx(
            scipy.stats.kstest(x, "cauchy", args=(loc, scale)).statistic, abs=1e-12
        )
        z = x - mean
        excess = np.mean(z**4) / np.mean(z**2) ** 2 - 3.0
        assert stats.excess_kurtosis[j] == pytest.approx(excess, rel=1e-10)
        expected = "cauchy" if stats.cauchy_loglik[j] > stats.gauss_loglik[j] else "gaussian"
        assert stats.preferred[j] == expected
    np.testing.assert_allclose(stats.loglik_difference, stats.cauchy_loglik - stats.gauss_loglik)


def test_mode_subset_and_blocking_do_not_change_results(mixed_phi, monkeypatch):
    full = mode_statistics(mixed_phi)
    subset = mode_statistics(mixed_phi, modes=[5, 2])
    np.testing.assert_array_equal(subset.mode, [5, 2])
    monkeypatch.setattr(modes_module, "_BLOCK_ELEMENTS", 2 * mixed_phi.shape[0])
    blocked = mode_statistics(mixed_phi, progress=True)  # 3 blocks of ≤ 2 columns
    for name in ("gauss_mean", "cauchy_loc", "cauchy_scale", "ks_gauss", "ks_cauchy",
                 "excess_kurtosis", "cauchy_loglik"):
        np.testing.assert_allclose(getattr(subset, name), getattr(full, name)[[4, 1]], rtol=1e-9)
        np.testing.assert_allclose(getattr(blocked, name), getattr(full, name), rtol=1e-9)
    np.testing.assert_array_equal(blocked.preferred, full.preferred)


def test_any_memory_layout_gives_the_same_statistics(mixed_phi):
    reference = mode_statistics(mixed_phi).as_dict()
    read_only = mixed_phi.copy()
    read_only.setflags(write=False)  # as Spectrum.eigenfunctions
    for name, phi in {"fortran": np.asfortranarray(mixed_phi), "read-only": read_only,
                      "strided": np.repeat(mixed_phi, 2, axis=1)[:, ::2]}.items():
        assert mode_statistics(phi).as_dict() == reference, name
    backwards = mode_statistics(mixed_phi[:, ::-1], modes=[5, 4, 3, 2, 1]).as_dict()  # negative strides
    assert {k: v for k, v in backwards.items() if k != "mode"} == \
        {k: v for k, v in reference.items() if k != "mode"}


def test_columns_finished_by_bfgs_get_the_same_statistics(mixed_phi, monkeypatch):
    converged = mode_statistics(mixed_phi)
    monkeypatch.setattr(modes_module, "_EM_MAX_ITER", 1)  # one EM step, then BFGS for every mode
    finished = mode_statistics(mixed_phi)
    np.testing.assert_allclose(finished.cauchy_loc, converged.cauchy_loc, rtol=0,
                               atol=1e-6 * converged.cauchy_scale.max())
    for name in ("cauchy_scale", "cauchy_loglik", "ks_cauchy"):
        np.testing.assert_allclose(getattr(finished, name), getattr(converged, name), rtol=1e-6)
    for name in ("gauss_mean", "gauss_std", "gauss_loglik", "ks_gauss", "excess_kurtosis"):
        np.testing.assert_array_equal(getattr(finished, name), getattr(converged, name))


def test_as_dict_is_json_ready_and_value_is_frozen(mixed_phi):
    stats = mode_statistics(mixed_phi, modes=[1, 3])
    data = json.loads(json.dumps(stats.as_dict()))
    assert data["mode"] == [1, 3]
    assert data["preferred"] == stats.preferred.tolist()
    assert data["n_points"] == mixed_phi.shape[0]
    assert set(data) == {
        "mode", "gauss_mean", "gauss_std", "cauchy_loc", "cauchy_scale", "gauss_loglik",
        "cauchy_loglik", "ks_gauss", "ks_cauchy", "excess_kurtosis", "preferred", "n_points",
    }
    with pytest.raises(ValueError):
        stats.gauss_mean[0] = 0.0  # read-only array
    with pytest.raises(AttributeError):
        stats.mode = np.array([2, 4])  # frozen dataclass
    cumulant = fourth_cumulant(mixed_phi, [1, 4])
    data = json.loads(json.dumps(cumulant.as_dict()))
    assert np.array(data["cumulant"]).shape == (2, 2, 2, 2)


# ---------------------------------------------------------------------------------------
# Fourth cumulant on known non-Gaussian laws
# ---------------------------------------------------------------------------------------


def test_fourth_cumulant_of_mixed_independent_sources_matches_closed_form():
    rng = np.random.default_rng(15)
    n = N_LARGE
    # Unit-variance sources with known fourth cumulants κ4 = σ⁴ × excess kurtosis:
    # uniform on [−√3, √3]: E x⁴ = 9/5 → κ4 = −6/5;  Laplace with b = 1/√2: κ4 = 3;  Gaussian: 0.
    sources = np.column_stack(
        [
            rng.uniform(-math.sqrt(3), math.sqrt(3), n),
            rng.laplace(0.0, 1 / math.sqrt(2), n),
            rng.standard_normal(n),
        ]
    )
    kappa = np.array([-6.0 / 5.0, 3.0, 0.0])
    mixing = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.7], [0.3, -0.4, 1.0]])
    phi = sources @ mixing.T + np.array([0.2, -1.0, 3.0])  # means must not matter
    # Cumulants are multilinear and additive over independent sources.
    exact = np.einsum("aj,bj,cj,dj,j->abcd", mixing, mixing, mixing, mixing, kappa)
    result = fourth_cumulant(phi, [1, 2, 3])
    np.testing.assert_array_equal(result.modes, [1, 2, 3])
    assert np.max(np.abs(result.cumulant - exact) / result.stderr) < 5.0
    # And it is the definition itself, computed here by brute force.
    np.testing.assert_allclose(result.cumulant, brute_force_cumulant(phi), atol=1e-10)


def test_fourth_cumulant_diagonal_is_kurtosis_times_variance_squared():
    rng = np.random.default_rng(16)
    x = rng.uniform(-1.0, 3.0, 5000)[:, None]
    result = fourth_cumulant(x, [1])
    variance = np.var(x)
    assert result.cumulant[0, 0, 0, 0] == pytest.approx(
        scipy.stats.kurtosis(x[:, 0]) * variance**2, rel=1e-10
    )
    # Uniform of width 4: σ² = 4/3, excess kurtosis −6/5.
    assert abs(result.cumulant[0, 0, 0, 0] + 1.2 * (4 / 3) ** 2) < 4 * result.stderr[0, 0, 0, 0]


def test_fourth_cumulant_is_symmetric_and_follows_mode_order(mixed_phi):
    result = fourth_cumulant(mixed_phi, [1, 2, 4])
    for order in itertools.permutations(range(4)):
        np.testing.assert_array_equal(result.cumulant, result.cumulant.transpose(order))
        np.testing.assert_array_equal(result.stderr, result.stderr.transpose(order))
    swapped = fourth_cumulant(mixed_phi, [4, 2, 1])
    reverse = [2, 1, 0]
    np.testing.assert_allclose(
        swapped.cumulant, result.cumulant[np.ix_(reverse, reverse, reverse, reverse)], rtol=1e-12
    )


def test_fourth_cumulant_standard_error_matches_monte_carlo_spread():
    # Repeat the experiment many times: the spread of U across repetitions must match the
    # average estimated SE (delta method). A skewed two-point source (P(1) = 0.2) makes the
    # correction for the estimated means matter: without it the SE of U_2222 is off ~3×.
    rng = np.random.default_rng(17)
    repeats, n = 400, 500
    mixing = np.array([[1.0, 0.6], [0.0, 1.0]])
    estimates, variances = [], []
    for _ in range(repeats):
        sources = np.column_stack([rng.uniform(-1.0, 1.0, n), (rng.random(n) < 0.2) * 1.0])
        result = fourth_cumulant(sources @ mixing.T, [1, 2])
        estimates.append(result.cumulant)
        variances.append(result.stderr**2)
    spread = np.var(np.array(estimates), axis=0, ddof=1)
    predicted = np.mean(np.array(variances), axis=0)
    # Relative error of a variance from 400 draws is about √(2/400) ≈ 7 %.
    np.testing.assert_allclose(spread / predicted, 1.0, atol=0.25)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phi",
    [
        np.ones(20),
        np.ones((20, 2, 2)),
        np.ones((7, 2)),
        np.ones((20, 0)),
        np.where(np.eye(20, 3) > 0, np.nan, 1.0),
        np.where(np.eye(20, 3) > 0, np.inf, 1.0),
        [["a", "b"]] * 10,
        np.ones((20, 2)) * 1j,
    ],
    ids=["1d", "3d", "too-few-points", "no-columns", "nan", "inf", "strings", "complex"],
)
def test_bad_phi_is_rejected(phi):
    with pytest.raises(WilsonianError):
        mode_statistics(phi)
    with pytest.raises(WilsonianError):
        fourth_cumulant(phi, [1])


@pytest.mark.parametrize(
    "modes", [[0], [4], [-1], [1.5], [1, 1], [], "a", [[1, 2]], [True]],
    ids=["zero", "past-end", "negative", "fraction", "repeat", "empty", "string", "2d", "bool"],
)
def test_bad_modes_are_rejected(modes):
    phi = np.random.default_rng(18).standard_normal((50, 3))
    with pytest.raises(WilsonianError):
        mode_statistics(phi, modes=modes)
    with pytest.raises(WilsonianError):
        fourth_cumulant(phi, modes)


def test_degenerate_columns_are_rejected():
    rng = np.random.default_rng(19)
    phi = rng.standard_normal((40, 3))
    constant = phi.copy()
    constant[:, 1] = 1.0
    with pytest.raises(WilsonianError, match=r"modes \[2\]"):
        mode_statistics(constant)
    half_tied = phi.copy()
    half_tied[:20, 2] = 0.25  # a value on exactly half of the points: no Cauchy MLE
    with pytest.raises(WilsonianError, match=r"modes \[3\]"):
        mode_statistics(half_tied)
    # Below half the Cauchy MLE exists and satisfies its score equations.
    almost = phi.copy()
    almost[:19, 2] = 0.25
    stats = mode_statistics(almost)
    z = (almost[:, 2] - stats.cauchy_loc[2]) / stats.cauchy_scale[2]
    assert abs(np.mean(1 / (1 + z * z)) - 0.5) < 1e-7


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_only_the_modes_used_must_be_finite(mixed_phi, bad):
    # eigenfunctions can be N × N: the statistics check the columns they use, not all of them
    phi = mixed_phi.copy()
    phi[17, 2] = bad
    clean = mode_statistics(mixed_phi, modes=[1, 4, 5]).as_dict()
    assert mode_statistics(phi, modes=[1, 4, 5]).as_dict() == clean
    fourth_cumulant(phi, [1, 2])
    marginals_figure(phi, [1, 2])
    joint_pairs_figure(phi, [(1, 2)])
    for call in (lambda: mode_statistics(phi), lambda: mode_statistics(phi, modes=[3]),
                 lambda: fourth_cumulant(phi, [2, 3]), lambda: marginals_figure(phi, [3]),
                 lambda: joint_pairs_figure(phi, [(1, 3)]), lambda: cauchy_mle(phi)):
        with pytest.raises(WilsonianError, match="NaN or infinite"):
            call()


def test_too_many_cumulant_modes_are_rejected():
    phi = np.random.default_rng(20).standard_normal((10, modes_module.MAX_CUMULANT_MODES + 1))
    with pytest.raises(WilsonianError, match="at most"):
        fourth_cumulant(phi, np.arange(1, phi.shape[1] + 1))


def test_cauchy_mle_rejects_bad_options():
    sample = np.random.default_rng(21).standard_cauchy(100)
    with pytest.raises(WilsonianError):
        cauchy_mle(sample, tol=0.0)
    with pytest.raises(WilsonianError):
        cauchy_mle(sample, max_iter=0)


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------


def assert_wrote_png_and_pdf(directory, stem, written):
    png, pdf = directory / f"{stem}.png", directory / f"{stem}.pdf"
    assert tuple(written) == (png, pdf)
    assert sorted(p.name for p in directory.iterdir()) == sorted([png.name, pdf.name])
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_plot_joint_pairs_writes_png_and_pdf_only(tmp_path, gaussian_phi):
    out = tmp_path / "figs"
    written = plot_joint_pairs(gaussian_phi, [(1, 2), (3, 4)], out / "fig2.joint", title="test")
    assert_wrote_png_and_pdf(out, "fig2.joint", written)


def test_plot_gauss_vs_cauchy_writes_png_and_pdf_only(tmp_path, mixed_phi):
    stats = mode_statistics(mixed_phi)
    written = plot_gauss_vs_cauchy(stats, tmp_path / "gauss_vs_cauchy")
    assert_wrote_png_and_pdf(tmp_path, "gauss_vs_cauchy", written)
    with pytest.raises(WilsonianError):
        plot_gauss_vs_cauchy({"mode": [1]}, tmp_path / "bad")


def test_plot_marginals_writes_png_and_pdf_only(tmp_path, mixed_phi):
    written = plot_marginals(mixed_phi, [1, 2, 3, 4, 5], tmp_path / "marginals", columns=3)
    assert_wrote_png_and_pdf(tmp_path, "marginals", written)


def test_plots_with_bad_input_write_nothing(tmp_path, mixed_phi):
    with pytest.raises(WilsonianError):
        plot_joint_pairs(mixed_phi, [(1, 1)], tmp_path / "joint")
    with pytest.raises(WilsonianError):
        plot_joint_pairs(mixed_phi, [(1, 2, 3)], tmp_path / "joint")
    with pytest.raises(WilsonianError):
        plot_marginals(mixed_phi, [9], tmp_path / "marginals")
    assert list(tmp_path.iterdir()) == []


def test_fourth_cumulant_result_type(gaussian_phi):
    assert isinstance(fourth_cumulant(gaussian_phi, [2]), FourthCumulant)
