"""The soft Wilsonian flow σ²_{n+1} = σ² + Σ λ_k (1 − L_k(σ²_n)): its fixed point is the
spectral-bias κ, it converges at the rate γ(κ), and 1/(1 − γ) is its susceptibility."""

import json

import numpy as np
import pytest

from wilsonian import theory
from wilsonian.app.cli import main
from wilsonian.spectrum import Spectrum, power_law_spectrum, spectrum_from_kernel
from wilsonian.theory.flow import soft_flow


def wide(n_modes=3000, decades=15, seed=0):
    rng = np.random.default_rng(seed)
    lam = 10.0 ** (-decades * np.arange(n_modes) / (n_modes - 1))
    return Spectrum.from_modes(lam, rng.normal(size=n_modes) * np.sqrt(lam))


def arccos_spectrum(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    c = np.clip(X @ X.T, -1, 1)
    K = (np.sqrt(1 - c**2) + (np.pi - np.arccos(c)) * c) / (2 * np.pi)
    return spectrum_from_kernel(K, np.sign(X[:, 0] * X[:, 1] + 0.2 * X[:, 2]))


SPECTRA = {"15 decades": wide, "power law": lambda: power_law_spectrum(5000, 0.6),
           "arccos pool": arccos_spectrum}
ETAS = np.unique(np.geomspace(1, 4000, 25).round())


@pytest.mark.parametrize("name", SPECTRA)
@pytest.mark.parametrize("ridge", [0.0, 1e-300, 1e-12, 1e-4])
def test_fixed_point_is_the_spectral_bias_kappa(name, ridge):
    spec = SPECTRA[name]()
    eta = ETAS[ETAS < 0.98 * spec.n_positive] if ridge == 0 else ETAS  # γ → 1 at η = M when σ² = 0
    flow = theory.Theory(spec, ridge).soft_flow(eta, 5)
    sb = theory.spectral_bias(spec, eta, ridge)
    assert flow.converged.all()
    assert np.array_equal(flow.kappa, sb.kappa)
    assert np.all(np.abs(flow.fixed_point - sb.kappa) <= 1e-10 * sb.kappa)
    # and the error with the fluctuation factor at the fixed point is E_SB
    assert np.allclose(flow.error_fluct, sb.error, rtol=1e-9)
    assert np.allclose(flow.gamma, sb.gamma, rtol=1e-8)


def test_zero_ridge_past_the_number_of_modes_flows_to_zero():
    spec = power_law_spectrum(300, 0.5)
    eta = np.array([400.0, 1000.0, 3000.0])
    # the sharp cutoff keeps every mode there (σ_eff² = 0, already the fixed point): start from Σλ
    flow = theory.Theory(spec, 0.0).soft_flow(eta, 200, start="full")
    assert flow.converged.all() and np.all(theory.spectral_bias(spec, eta, 0.0).kappa == 0)
    assert np.all(flow.fixed_point <= 1e-13 * flow.ridge_path[0])
    # near 0 the map is G(s) ≈ (M/η) s: the contraction is M/η
    assert np.allclose(flow.contraction[40], 300 / eta, rtol=1e-3)


@pytest.mark.parametrize("threshold", [0.1, 0.5, 0.9])
def test_every_threshold_flows_to_the_same_kappa(threshold):
    spec = power_law_spectrum(2000, 0.4)
    flow = theory.Theory(spec, 1e-8, threshold).soft_flow(ETAS[ETAS < 1500], 0)
    assert np.all(np.abs(flow.fixed_point - flow.kappa) <= 1e-10 * flow.kappa)


def test_stage_zero_is_the_paper_rg_and_rg_fluct():
    spec = arccos_spectrum()
    eta = np.array([5.0, 20, 60])
    t = theory.Theory(spec, 1e-6)
    flow, rg = t.soft_flow(eta, 3), t.rg(eta)
    assert np.array_equal(flow.ridge_path[0], rg.renormalized_ridge)
    assert np.allclose(flow.error_path[0], rg.error, rtol=1e-12)
    assert np.allclose(flow.error_fluct_path[0], rg.error_fluct, rtol=1e-12)


def test_flow_is_monotone_and_contracts_at_rate_gamma():
    spec = power_law_spectrum(4000, 0.5)
    eta = np.array([3.0, 30, 300, 1000])
    for start in ("sharp", "bare", "full"):
        flow = theory.Theory(spec, 1e-6).soft_flow(eta, 60, start=start)
        e = flow.ridge_path - flow.kappa
        slack = 1e-12 * flow.kappa
        # never crosses the fixed point, and the distance only shrinks
        above, below = np.all(e >= -slack, axis=0), np.all(e <= slack, axis=0)
        assert np.all(above | below)
        assert np.all(np.abs(e[1:]) <= np.abs(e[:-1]) + slack)
        # the linearization: e_{n+1}/e_n → G'(κ) = γ(κ), up to O(e_n/κ): take the last step
        # with e_n/κ between 1e-9 and 1e-6 (before round-off), per η
        for i in range(eta.size):
            rel = np.abs(e[:-1, i]) / flow.kappa[i]
            n = np.flatnonzero((rel > 1e-9) & (rel < 1e-6))
            if n.size:
                assert e[n[-1] + 1, i] / e[n[-1], i] == pytest.approx(flow.gamma[i], rel=1e-4)
    # the steps to the tolerance are what γⁿ predicts (within a few steps)
    flow = theory.Theory(spec, 1e-6).soft_flow(eta, 0, start="full")
    assert np.all(np.abs(flow.steps - flow.predicted_steps) <= 3 + 0.02 * flow.predicted_steps)


def test_susceptibility_is_the_derivative_of_kappa_and_the_error_factor():
    spec = arccos_spectrum()
    eta = np.array([10.0, 40, 120])
    ridge, h = 1e-3, 1e-4
    flow = theory.Theory(spec, ridge).soft_flow(eta, 0)
    up = theory.spectral_bias(spec, eta, ridge * (1 + h)).kappa
    down = theory.spectral_bias(spec, eta, ridge * (1 - h)).kappa
    derivative = (up - down) / (2 * h * ridge)
    assert np.allclose(derivative, flow.susceptibility, rtol=1e-5)
    # E_SB = E_EK(κ) dκ/dσ²
    assert np.allclose(theory.spectral_bias(spec, eta, ridge).error, flow.error * derivative, rtol=1e-5)
    # one Newton step = one flow step amplified by 1/(1 − γ_0)
    t = theory.Theory(spec, ridge).soft_flow(eta, 1)
    newton = t.ridge_path[0] + (t.ridge_path[1] - t.ridge_path[0]) / (1 - t.gamma_path[0])
    f = newton - ridge - spec.tail_mass - newton * np.array(
        [np.sum(spec.eigenvalues / (e * spec.eigenvalues + k)) for e, k in zip(eta, newton)])
    f0 = np.abs(t.ridge_path[0] - t.ridge_path[1])
    assert np.all(np.abs(f) < f0)


def test_label_noise_and_a_zero_start():
    spec = power_law_spectrum(500, 0.5)
    flow = theory.Theory(spec, 1e-4, noise=0.3).soft_flow([10, 100], 2)
    assert np.allclose(flow.error_fluct, theory.spectral_bias(spec, [10, 100], 1e-4, noise=0.3).error, rtol=1e-9)
    # a flat spectrum at σ² = 0: the sharp cutoff keeps every mode at η = M − 1 (σ_eff² = 0), an
    # unstable fixed point of the flow; it restarts from Σλ and still reaches κ > 0
    flat = Spectrum.from_modes(np.ones(50), np.ones(50))
    flow = theory.Theory(flat, 0.0).soft_flow([49], 2)
    assert flow.restarted[0] and flow.converged[0]
    assert flow.fixed_point[0] == pytest.approx(theory.spectral_bias(flat, [49], 0.0).kappa[0], rel=1e-10)


def test_run_reports_the_soft_flow_and_draws_it(tmp_path):
    out = tmp_path / "o"
    code = main(["run", "--etas", "5,10,20,40", "--trials", "3", "--quiet", "--no-cache", "--out", str(out)])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    flow = results["soft_flow"]
    sb = results["learning_curve"]["spectral_bias_kappa"]
    assert np.allclose(flow["fixed_point"], sb, rtol=1e-10)
    assert np.allclose(np.array(flow["error_fluct_path"])[0], results["learning_curve"]["rg_fluct"], rtol=1e-12)
    assert len(flow["agreement"]["error_fluct_path"]) == flow["iterations"] + 1
    assert (out / "figures" / "soft_flow.png").exists()


def test_soft_flow_rejects_bad_arguments():
    spec = power_law_spectrum(50, 0.5)
    with pytest.raises(Exception):
        soft_flow(spec, np.array([10.0]), 1e-3, 0.5, start="sideways")
    with pytest.raises(Exception):
        soft_flow(spec, np.array([10.0]), 1e-3, 0.5, tolerance=0.0)


def test_soft_flow_figure_does_not_draw_a_degenerate_sharp_cutoff():
    from wilsonian.plots import soft_flow_figure

    spec = power_law_spectrum(30, 0.5)
    eta = np.array([1.0, 2.0, 1e4])  # at η = 10⁴ every mode has L_k ≥ T: nothing integrated out
    t = theory.Theory(spec, 1e-3, 0.5)
    rg, flow = t.rg(eta), t.soft_flow(eta, 4)
    assert list(rg.all_learnable) == [False, False, True]
    lc = {"eta": eta, "empirical_mean": flow.error_fluct * 1.1, "empirical_sem": flow.error_fluct * 0.01,
          "rg_all_learnable": rg.all_learnable}
    fig = soft_flow_figure(flow, lc)
    left, middle, right = fig.axes[:3]
    # the stage-0 errors (E_RG, RG-fluct) stop at the degenerate η; stages n ≥ 1 and the fixed point do not
    for line in right.get_lines():
        if line.get_label().startswith(("E_0", "E_n/(1−γ_n), n = 0")):
            y = line.get_ydata()
            assert np.isnan(y[2]) and np.isfinite(y[:2]).all(), line.get_label()
        elif line.get_label().startswith(("E_n/(1−γ_n), n = 1", "fixed point")):
            assert np.isfinite(line.get_ydata()).all()
    assert any(line.get_marker() == "x" for line in right.get_lines())
    # its σ²_0 = σ² is an ×, the path is drawn from step 1
    xs = [line.get_xdata() for line in left.get_lines() if line.get_marker() == "o"]
    assert [x[0] for x in xs] == [0, 0, 1]
    assert any(line.get_marker() == "x" and len(line.get_xdata()) == 1 for line in left.get_lines())
    # without the table (or for another start) everything is drawn
    plain = soft_flow_figure(flow)
    assert [line.get_xdata()[0] for line in plain.axes[0].get_lines() if line.get_marker() == "o"] == [0, 0, 0]
