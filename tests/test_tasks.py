"""Tasks beyond one binary curve: several outputs, label noise, train error, the evidence,
many ridges at once (THEORY.md §4 and §8), against closed forms and independent code."""

import json

import numpy as np
import pytest

from wilsonian import theory
from wilsonian.app.cli import main
from wilsonian.data import build_pool
from wilsonian.gp import learning_curve, learning_curves, log_marginal_likelihood
from wilsonian.kernels import KernelSpec
from wilsonian.spectrum import Spectrum, spectrum_from_kernel


@pytest.fixture(scope="module")
def digits10():
    """Ten-class digits (N = 600 of 1,797), one-hot targets, depth-2 ReLU NNGP."""
    pool = build_pool("digits", classes="all", n_pool=600, seed=0)
    K = KernelSpec().matrix(pool.X)
    return pool, K, spectrum_from_kernel(K, pool.y)


def test_one_hot_pool_and_spectrum(digits10):
    pool, K, spectrum = digits10
    assert pool.y.shape == (600, 10) and set(np.unique(pool.y)) == {0.0, 1.0}
    assert np.all(pool.y.sum(axis=1) == 1) and pool.meta["targets"] == "one-hot"
    assert spectrum.target_coefficients.shape == (600, 10) and spectrum.n_outputs == 10
    # sum rules per output and summed: Σ_k |y_k|² = ⟨|y|²⟩ = 1 for one-hot targets
    assert spectrum.identity_errors()["target_power"] < 1e-12
    assert spectrum.target_power == pytest.approx(1.0, rel=1e-12)


def test_one_hot_theories_are_the_sum_of_per_output_theories(digits10):
    pool, K, spectrum = digits10
    eta = np.array([5.0, 20, 80, 300])
    for ridge, noise in ((1e-8, 0.0), (1e-3, 0.05)):
        together = theory.Theory(spectrum, ridge, noise=noise).predict(eta)
        parts = [theory.Theory(spectrum.eigenvalues, ridge, noise=noise,
                               coefficients=spectrum.target_coefficients[:, c]).predict(eta) for c in range(10)]
        for name in ("ek", "spectral_bias", "rg"):
            summed = sum(getattr(p, name).error for p in parts)
            np.testing.assert_allclose(getattr(together, name).error, summed, rtol=1e-10, atol=1e-15)
        # κ does not depend on the targets: every output shares it
        np.testing.assert_allclose(together.spectral_bias.kappa, parts[3].spectral_bias.kappa, rtol=1e-13)


def test_one_hot_learning_curve_is_the_sum_over_outputs(digits10):
    pool, K, _ = digits10
    eta = [10, 40, 160]
    together = learning_curve(K, pool.y, eta, ridge=1e-6, trials=3, seed=2)
    parts = [learning_curve(K, pool.y[:, c], eta, ridge=1e-6, trials=3, seed=2) for c in range(10)]
    np.testing.assert_allclose(together.errors, sum(p.errors for p in parts), rtol=1e-9)
    np.testing.assert_allclose(together.train_errors, sum(p.train_errors for p in parts), rtol=1e-8, atol=1e-20)
    np.testing.assert_allclose(together.log_evidence, sum(p.log_evidence for p in parts), rtol=1e-10)


def test_train_error_equals_its_direct_computation(digits10):
    pool, K, _ = digits10
    y = pool.y[:, 3]
    eta, ridge, seed = [7, 50, 200], 1e-3, 5
    curve = learning_curve(K, y, eta, ridge=ridge, trials=2, seed=seed, noise=0.1)
    from wilsonian.gp import draw_order, label_noise

    for t, stream in enumerate(np.random.SeedSequence(seed).spawn(2)):
        order = draw_order(stream, len(y), max(eta), False)
        noisy = y[order] + label_noise(stream, (max(eta),), 0.1)
        for j, m in enumerate(eta):
            Km = K[np.ix_(order[:m], order[:m])]
            f = Km @ np.linalg.solve(Km + ridge * np.eye(m), noisy[:m])
            assert curve.train_errors[t, j] == pytest.approx(np.mean((f - noisy[:m]) ** 2), rel=1e-8)
            # the test error is against the clean targets over the whole pool
            pred = K[:, order[:m]] @ np.linalg.solve(Km + ridge * np.eye(m), noisy[:m])
            assert curve.errors[t, j] == pytest.approx(np.mean((pred - y) ** 2), rel=1e-9)


def test_evidence_equals_scikit_learn(digits10):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel

    pool, _, _ = digits10
    X, y = pool.X[:150], pool.y[:150, 2] - 0.1
    length = 0.8
    K = RBF(length_scale=length)(X)
    ridges, amplitudes = np.array([1e-6, 1e-3, 0.1]), np.array([0.5, 1.0, 3.0])
    ours = log_marginal_likelihood(K, y, ridges, amplitudes)
    for i, a in enumerate(amplitudes):
        for j, r in enumerate(ridges):
            kernel = ConstantKernel(a, constant_value_bounds="fixed") * RBF(length, length_scale_bounds="fixed")
            gpr = GaussianProcessRegressor(kernel, alpha=r, optimizer=None, normalize_y=False).fit(X, y)
            assert ours[i, j] == pytest.approx(gpr.log_marginal_likelihood_value_, rel=1e-10, abs=1e-10)


def test_many_ridges_at_once_equal_one_ridge_at_a_time(digits10):
    pool, K, _ = digits10
    eta, ridges = [10, 60, 250], [1e-6, 1e-3, 1e-1]
    together = learning_curves(K, pool.y, eta, ridges=ridges, trials=3, seed=4, noise=0.02)
    assert together[0].meta["solve"] == "eigh"
    for curve, ridge in zip(together, ridges):
        alone = learning_curve(K, pool.y, eta, ridge=ridge, trials=3, seed=4, noise=0.02)
        np.testing.assert_allclose(curve.errors, alone.errors, rtol=1e-7)
        np.testing.assert_allclose(curve.train_errors, alone.train_errors, rtol=1e-6)
        np.testing.assert_allclose(curve.log_evidence, alone.log_evidence, rtol=1e-9)
    # the evidence-optimal ridge of each training set maximizes its evidence
    best = together[0].optimal_ridge
    assert best.shape == (3, 3) and np.all(best > 0)


def test_label_noise_keeps_the_training_sets_and_the_clean_test_targets(digits10):
    pool, K, _ = digits10
    clean = learning_curve(K, pool.y[:, 0], [20, 100], ridge=1e-2, trials=4, seed=1)
    noisy = learning_curve(K, pool.y[:, 0], [20, 100], ridge=1e-2, trials=4, seed=1, noise=0.3)
    same = learning_curve(K, pool.y[:, 0], [20, 100], ridge=1e-2, trials=4, seed=1, noise=0.0)
    np.testing.assert_array_equal(clean.errors, same.errors)
    assert np.all(noisy.errors > clean.errors)  # noise hurts on average and here on every draw
    assert noisy.noise == 0.3 and noisy.as_dict()["label_noise"] == 0.3


def test_learnability_conservation_law(digits10):
    """Σ_k L̂_k = tr[K_η(K_η + σ²I)⁻¹] for the GP trained on one draw (exact), → η as σ² → 0;
    eigenlearning's learnabilities obey Σ_k L_k = η − σ²/κ_S."""
    pool, K, spectrum = digits10
    n = K.shape[0]
    lam, phi = np.linalg.eigh(K / n)
    phi = np.sqrt(n) * phi
    rng = np.random.default_rng(0)
    train = rng.choice(n, 40, replace=False)
    for ridge in (1e-3, 1e-9):
        Kt = K[np.ix_(train, train)]
        # learnability of mode k: ⟨φ_k, f̂[φ_k]⟩_μ, the GP's prediction of the target φ_k
        weights = np.linalg.solve(Kt + ridge * np.eye(40), phi[train])  # (40, N)
        learned = (K[:, train] @ weights) * phi  # column k: f̂[φ_k](x) φ_k(x)
        total = learned.mean(axis=0).sum()
        assert total == pytest.approx(np.trace(Kt @ np.linalg.inv(Kt + ridge * np.eye(40))), rel=1e-8)
        if ridge < 1e-6:
            assert total == pytest.approx(40, rel=1e-6)
    el = theory.eigenlearning(spectrum, [10.0, 40.0, 200.0], 1e-3)
    np.testing.assert_allclose(el.learnability_sum, el.eta - 1e-3 / el.kappa, rtol=1e-10)
    small = theory.eigenlearning(spectrum, [10.0, 40.0], 1e-12)
    np.testing.assert_allclose(small.learnability_sum, [10.0, 40.0], rtol=1e-6)


def test_eigenlearning_train_error_follows_the_draws(digits10):
    pool, K, spectrum = digits10
    eta = np.array([10, 40, 120])
    for ridge, noise in ((1e-2, 0.0), (1e-2, 0.2)):
        curve = learning_curve(K, pool.y, eta, ridge=ridge, trials=30, seed=3, noise=noise)
        sb = theory.Theory(spectrum, ridge, noise=noise).spectral_bias(eta)
        ratio = sb.train_error / curve.train_mean
        assert np.all(np.abs(ratio - 1) < 0.2), ratio


def test_spectral_bias_with_label_noise_follows_the_data_within_its_error(digits10):
    """THEORY.md §8 on a real pool: with ε² > 0, E_SB with its noise term against the
    empirical test error at η ≤ N/10, i.i.d. draws (the theory's), 20 draws (the default)."""
    pool, K, spectrum = digits10
    eta = np.array([10, 16, 25, 38, 60])
    noise = 0.05
    curve = learning_curve(K, pool.y, eta, ridge=1e-4, trials=20, seed=0, noise=noise, replace=True)
    sb = theory.Theory(spectrum, 1e-4, noise=noise).spectral_bias(eta)
    z = (sb.error - curve.mean) / curve.sem
    assert np.all(np.abs(z) < 2.5), z  # measured: |z| ≤ 0.7
    assert np.all(np.abs(sb.error / curve.mean - 1) < 0.05)
    # and the noise term is what matters: without it the theory is far below
    clean = theory.Theory(spectrum, 1e-4).spectral_bias(eta)
    assert np.all((clean.error - curve.mean) / curve.sem < -3)


def test_the_interpolation_peak_where_eta_reaches_the_number_of_modes():
    """A linear kernel on digits has M ≤ 64 nonzero modes (one per varying pixel): with label noise and σ² → 0 the
    error peaks where η approaches M, in the theory and in the data."""
    pool = build_pool("digits", classes="all", seed=0)
    K = KernelSpec(depth=0).matrix(pool.X)
    spectrum = spectrum_from_kernel(K, pool.y)
    modes = int(np.count_nonzero(spectrum.eigenvalues > 1e-10 * spectrum.eigenvalues[0]))
    assert 55 <= modes <= 64  # at most d = 64: pixels that are always 0 give no mode
    eta = np.unique(np.concatenate([[20, 40, 120, 200], modes + np.array([-8, -3, 0, 3, 8, 20])]))
    curve = learning_curve(K, pool.y, eta, ridge=1e-10, trials=8, seed=0, noise=0.1, replace=True)
    sb = theory.Theory(spectrum, 1e-10, noise=0.1).spectral_bias(eta)
    # the theory peaks at η = M exactly; the data (a few ill-conditioned draws, whose tiniest
    # eigenvalues are 1e-7 of the largest) a little before it
    assert eta[np.argmax(np.where(np.isfinite(sb.error), sb.error, 0))] == modes
    peak = eta[np.argmax(curve.mean)]
    assert modes - 10 <= peak <= modes + 3
    low, high = curve.mean[eta == 20][0], curve.mean[eta == 200][0]
    assert curve.mean.max() > 20 * low and curve.mean.max() > 20 * high


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_with_classes_all_ridges_and_noise(tmp_path, capsys):
    out = tmp_path / "o"
    code, stdout, err = run_cli(["run", "--classes", "all", "--n-pool", "500", "--ridge", "1e-6,1e-3,1e-1",
                                 "--label-noise", "0.05", "--etas", "10,40,100", "--trials", "3", "--quiet",
                                 "--no-cache", "--out", str(out)], capsys)
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    lc = results["learning_curve"]
    assert lc["ridge"] == [1e-6] * 3 + [1e-3] * 3 + [1e-1] * 3 and len(lc["eta"]) == 9
    assert results["pool"]["n_outputs"] == 10 and results["config"]["ridges"] == [1e-6, 1e-3, 1e-1]
    evidence = results["evidence"]
    assert len(evidence["log_evidence_mean"]) == 3 and len(evidence["theory_optimal_ridge"]) == 3
    assert set(evidence["best_on_grid"]) == {"evidence", "empirical_test_error", "spectral_bias"}
    assert (out / "figures" / "ridge_sweep.png").exists()
    header = (out / "learning_curve.csv").read_text().splitlines()[0].split(",")
    assert header[-1] == "ridge" and "train_empirical_mean" in header and "train_eigenlearning" in header
    assert stdout.count("ridge σ² =") == 3


@pytest.mark.parametrize("extra, word", [
    (["--dataset", "gaussian", "--classes", "all"], "no classes"),
    (["--label-noise", "-0.1"], "label-noise"),
    (["--label-noise", "nan"], "label-noise"),
    (["--ridge", "1e-3,-1"], "ridge"),
    (["--ridge", "1e-3,1e-3"], "distinct"),
    (["--ridge", "1e-8:1e-2:0"], "range"),
    (["--ridge", "0:1:3"], "range"),
    (["--ridge", "1e-3,x"], "ridge"),
    (["--targets", "binary", "--classes", "1,2,3"], "binary"),
    (["--targets", "three-hot"], "targets"),
    (["--ridge", "1e-3,1e-2", "--nongaussian"], "one ridge"),
])
def test_bad_task_options(tmp_path, capsys, extra, word):
    code, _, err = run_cli(["run", "--quiet", "--no-cache", "--etas", "5", "--trials", "2", "--out",
                            str(tmp_path / "o"), *extra], capsys)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert word in err
    assert not (tmp_path / "o").exists()


def test_regression_targets_from_an_npz_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    Y = np.column_stack([X[:, 0] * X[:, 1], np.sin(X[:, 2])])
    np.savez(tmp_path / "reg.npz", X=X, y=Y)
    np.savez(tmp_path / "nan.npz", X=X, y=np.where(np.arange(200) == 7, np.nan, Y[:, 0]))
    pool = build_pool("npz", data_file=tmp_path / "reg.npz")
    assert pool.y.shape == (200, 2) and pool.meta["targets"] == "regression"
    code, _, err = run_cli(["run", "--dataset", "npz", "--data-file", str(tmp_path / "reg.npz"), "--etas", "10,40",
                            "--trials", "2", "--quiet", "--no-cache", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    code, _, err = run_cli(["run", "--dataset", "npz", "--data-file", str(tmp_path / "nan.npz"), "--etas", "10",
                            "--quiet", "--no-cache", "--out", str(tmp_path / "o2")], capsys)
    assert code == 2 and "NaN" in err and not (tmp_path / "o2").exists()
    # classes of regression targets, and a test split of a file that has none, are refused
    np.savez(tmp_path / "one.npz", X=X, y=Y[:, 0])
    for extra, words in ((["--classes", "0,1"], "holds regression targets (float y that are not all whole numbers)"),
                         (["--split", "test"], "a data file has no test split")):
        code, _, err = run_cli(["run", "--dataset", "npz", "--data-file", str(tmp_path / "one.npz"), "--quiet",
                                "--no-cache", "--out", str(tmp_path / "o3"), *extra], capsys)
        assert code == 2 and err.startswith("error: ") and words in err and err.count("\n") == 1, err


def test_spectrum_type_accepts_several_outputs_and_checks_them():
    s = Spectrum.from_modes([1.0, 0.5], [[1.0, 2.0], [0.5, 0.0]])
    assert s.n_outputs == 2 and s.mode_power.tolist() == [5.0, 0.25] and s.target_power == 5.25
    with pytest.raises(ValueError):
        Spectrum.from_modes([1.0, 0.5], [[1.0, 2.0]])


def test_spectrum_figure_draws_each_outputs_power_on_request(digits10):
    from wilsonian.plots.learning import spectrum_figure

    pool, _, spectrum = digits10
    names = pool.meta["class_names"]
    summed = spectrum_figure(spectrum).axes[1]
    each = spectrum_figure(spectrum, per_output=True, output_names=names).axes[1]
    assert len(each.get_lines()) == len(summed.get_lines()) + 10
    labels = [line.get_label() for line in each.get_lines()]
    assert "output 7" in labels and any("summed over 10 outputs" in label for label in labels)
    # each output's remaining power starts at its share of ⟨|y|²⟩ and they add up to the total
    starts = [line.get_ydata()[0] for line in each.get_lines() if line.get_label().startswith("output")]
    assert np.isclose(sum(starts), spectrum.mode_power.sum(), rtol=1e-12)
