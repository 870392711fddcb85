"""The paper's Figure 1 claim, asserted on real Fashion-MNIST (THEORY.md §4).

Pool: t-shirt/top vs ankle boot, N = 3,000 (seeded subsample of the training split),
depth-2 ReLU NNGP, σ² = 1e-8, 20 draws without replacement. The tolerances below were set
from the numbers this test prints (see the issue notes), with the theory's own caveat in
mind: spectral bias and the RG are asymptotic theories of i.i.d. draws, so they are
asserted for η ≪ N.
"""

import numpy as np
import pytest

from wilsonian import gp, theory
from wilsonian.data import build_pool, default_data_dir
from wilsonian.kernels import nngp
from wilsonian.spectrum import spectrum_from_kernel
from wilsonian.theory.nongaussian import nongaussian_comparison

pytestmark = [
    pytest.mark.fashion,
    pytest.mark.skipif(default_data_dir("fashion-mnist") is None,
                       reason="Fashion-MNIST not installed (Debian package dataset-fashion-mnist)"),
]

RIDGE = 1e-8
N = 3000
ETAS = np.array([10, 20, 40, 80, 150, 300])


@pytest.fixture(scope="module")
def fashion():
    pool = build_pool("fashion-mnist", classes="0,9", n_pool=N, seed=0)
    K = nngp(pool.X, activation="relu", depth=2)
    spectrum = spectrum_from_kernel(K, pool.y, n_vectors=-1)
    curve = gp.learning_curve(K, pool.y, ETAS, ridge=RIDGE, trials=20, seed=0, keep_predictions=True)
    sb = theory.spectral_bias(spectrum, ETAS, RIDGE)
    rg = theory.rg_prediction(spectrum, ETAS, RIDGE, 0.5)
    ek = theory.ek_error(spectrum, ETAS, RIDGE)
    print("\n eta   empirical   sem      SB/emp  RG/emp  RGfl/emp  EK/emp   sigma_eff/kappa")
    for i, e in enumerate(ETAS):
        print(f"{e:5d}  {curve.mean[i]:.4e} {curve.sem[i]:.1e}  {sb.error[i] / curve.mean[i]:.3f}   "
              f"{rg.error[i] / curve.mean[i]:.3f}   {rg.error_fluct[i] / curve.mean[i]:.3f}    "
              f"{ek[i] / curve.mean[i]:.1e}  {rg.renormalized_ridge[i] / sb.kappa[i]:.3f}")
    return pool, K, spectrum, curve, sb, rg, ek


def test_spectrum_identities_on_real_data(fashion):
    pool, K, spectrum, *_ = fashion
    errors = spectrum.identity_errors()
    assert errors["trace"] < 1e-12 and errors["target_power"] < 1e-12
    assert spectrum.clipped < 1e-12 * spectrum.trace
    # K_ij = Σ_k λ_k φ_k(x_i) φ_k(x_j) on a sample of entries, via the top-N eigenfunctions
    full = spectrum_from_kernel(K[:500, :500], pool.y[:500], n_vectors=-1)
    recon = (full.eigenfunctions * full.eigenvalues) @ full.eigenfunctions.T
    assert np.max(np.abs(recon - K[:500, :500])) < 1e-12 * np.abs(K).max() * 500


def test_empirical_learning_curve_falls(fashion):
    curve = fashion[3]
    assert np.all(np.diff(curve.mean) < 0)
    assert np.all(curve.sem < 0.25 * curve.mean)


def test_spectral_bias_and_rg_follow_the_empirical_curve(fashion):
    _, _, _, curve, sb, rg, _ = fashion
    ratio_sb = sb.error / curve.mean
    ratio_rg = rg.error / curve.mean
    ratio_fluct = rg.error_fluct / curve.mean
    small = ETAS <= N // 20
    # spectral bias: within 25%; the RG (no fluctuation factor): within a factor of 2
    assert np.all(np.abs(ratio_sb[small] - 1) < 0.25), ratio_sb
    assert np.all((ratio_rg[small] > 0.5) & (ratio_rg[small] < 2.0)), ratio_rg
    assert np.all(np.abs(ratio_fluct[small] - 1) < 0.25), ratio_fluct
    # both capture the semi power law: exponents within 0.15 of the empirical one
    slope_emp = theory.learning_curve_exponent(ETAS, curve.mean).slope
    for name, values in (("SB", sb.error), ("RG", rg.error)):
        slope = theory.learning_curve_exponent(ETAS, values).slope
        assert abs(slope - slope_emp) < 0.15, (name, slope, slope_emp)


def test_ek_fails_by_orders_of_magnitude(fashion):
    curve, ek = fashion[3], fashion[6]
    assert np.all(ek < 1e-2 * curve.mean)


def test_rg_ridge_tracks_spectral_bias_kappa(fashion):
    _, _, _, _, sb, rg, _ = fashion
    ratio = rg.renormalized_ridge / sb.kappa
    small = ETAS <= N // 20
    assert np.all(np.abs(ratio[small] - 1) < 0.2), ratio
    # both are renormalized far above the bare ridge: the whole point of the RG
    assert np.all(rg.renormalized_ridge > 1e3 * RIDGE) and np.all(sb.kappa > 1e3 * RIDGE)


@pytest.fixture(scope="module")
def report(fashion):
    pool, _, spectrum, curve, *_ = fashion
    return nongaussian_comparison(spectrum, pool.y, ETAS, RIDGE, 0.5, curve.prediction_mean,
                                  curve.prediction_var, curve.trials)


def test_input_dependent_ridge_improves_per_point_predictions(report):
    """THEORY.md §5 on real data: the reweighted EK predicts the exact average predictor
    f̄(x_i) better than the Gaussian RG with the same kept modes (seen: 2–3× lower excess
    MSE for 30 ≲ η ≲ 300 at N = 3,000)."""
    excess_gaussian = report.mse_gaussian_kept - report.noise_floor
    excess_nongaussian = report.mse_nongaussian - report.noise_floor
    mid = (ETAS >= 40) & (ETAS <= 300)
    print("\n eta  cutoff  excess(Gauss kept)  excess(non-Gauss)  ratio  cv(sigma2(x))")
    for i, e in enumerate(ETAS):
        print(f"{e:5d} {report.cutoff[i]:6d}  {excess_gaussian[i]:.3e}  {excess_nongaussian[i]:.3e}  "
              f"{excess_gaussian[i] / excess_nongaussian[i]:.2f}  "
              f"{report.ridge_x[i].std() / report.ridge_x[i].mean():.2f}")
    assert np.all(excess_gaussian[mid] > 1.5 * excess_nongaussian[mid])
    # the ridge really is input dependent: spread comparable to its mean
    assert np.all(report.ridge_x[mid].std(axis=1) > 0.3 * report.ridge_x[mid].mean(axis=1))


def test_conditional_rg_on_real_data(fashion, report):
    """The conditional (A, B) RG (notes): with unit-norm inputs K(x, x) is constant, so the B
    ridge is the per-point ridge wherever the model holds every kept mode (κ ≤ 64); the
    cross-fitted A model of the target then matches the per-point RG within a few percent
    for η ≤ 150 (seen ≤ 2 % at 20 draws) and loses where it cannot predict y_> out of fold
    (η = 300: held-out R² ≈ 0.1, MSE ≈ 2× the per-point one)."""
    fit = report.conditional_fit
    assert fit["model"]["kernel_diagonal_constant"]
    small = report.cutoff <= 64
    assert np.allclose(fit["ridge_r2"][small], 1.0, atol=1e-10)
    assert np.allclose(report.mse_conditional_ridge_only[small], report.mse_nongaussian[small], rtol=1e-8)
    ratio = report.mse_conditional / report.mse_nongaussian
    print("\n eta cutoff  per-point  conditional  ratio  target held-out R2")
    for i, e in enumerate(ETAS):
        print(f"{e:5d} {report.cutoff[i]:5d}  {report.mse_nongaussian[i]:.3e}  {report.mse_conditional[i]:.3e}  "
              f"{ratio[i]:.3f}  {fit['target_held_out_r2'][i]:.3f}")
    assert np.all(np.abs(ratio[ETAS <= 150] - 1) < 0.15), ratio
    assert ratio[ETAS == 300][0] > 1.4 and fit["target_held_out_r2"][ETAS == 300][0] < 0.3


def test_conditional_moments_describe_binned_real_data(fashion):
    """A and B of shell modes given the top κ = 12 kept modes, out of fold, against binned
    conditional moments: consistent within the bin errors, where the unconditional mean is not."""
    from wilsonian.theory.conditional import binned_check, conditional_moments

    _, _, spectrum, *_ = fashion
    phi = spectrum.eigenfunctions
    cm = conditional_moments(phi[:, :101], 12, [13, 20, 100])
    a = binned_check(phi[:, 12], cm.a_held_out[:, 0], phi[:, 1])
    b = binned_check((phi[:, 99] ** 2 - 1) / 2, cm.b_held_out[:, 2], phi[:, 1])
    assert a["chi2_per_bin"] < 4 and a["chi2_per_bin_unconditional"] > 50
    assert b["chi2_per_bin"] < 4 and b["chi2_per_bin_unconditional"] > 20
    assert cm.a_r2[0] > 0.5 and cm.b_r2[2] > 0.05


def test_soft_flow_reaches_kappa_on_real_data(fashion):
    _, _, spectrum, _, sb, rg, _ = fashion
    flow = theory.Theory(spectrum, RIDGE).soft_flow(ETAS, 40)
    assert np.all(np.abs(flow.fixed_point - sb.kappa) <= 1e-10 * sb.kappa)
    assert np.array_equal(flow.ridge_path[0], rg.renormalized_ridge) and np.all(flow.steps <= 60)
    assert np.allclose(flow.contraction[15], sb.gamma, rtol=1e-3)
