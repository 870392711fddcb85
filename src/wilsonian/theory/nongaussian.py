"""Non-Gaussian features: the input-dependent ridge and the reweighted EK (THEORY.md §5).

Integrating out the GP modes above the cutoff point by point replaces σ² by

    σ²(x) = σ² + C_>(x),   C_>(x) = Σ_{k>κ} λ_k φ_k(x)²,

whose pool average is the Gaussian RG's σ_eff² (⟨φ_k²⟩_μ = 1). On a pool,
C_>(x_i) = K_ii − Σ_{k≤κ} λ_k φ_k(x_i)², so only the kept eigenvectors and the kernel's
diagonal are needed. The kept modes then see a spatially reweighted loss; their EK
average predictor f_< = Σ_{k≤κ} f_k φ_k solves

    (Λ_<⁻¹ + η M) f = η b,   M_kq = ⟨φ_k φ_q/σ²(x)⟩_μ,   b_k = ⟨φ_k y/σ²(x)⟩_μ.

With σ²(x) ≡ const this is EK with that ridge, the Gaussian RG's prediction.
We solve the equivalent symmetric positive-definite system
(I + η Λ^½ M Λ^½) g = η Λ^½ b, f = Λ^½ g, which stays well conditioned for tiny λ_k.

The report also carries the conditional (A, B) RG of :mod:`wilsonian.theory.conditional`:
the same EK with σ²(x) and y replaced by their projections on the seed's leading-order model
of P[φ_q | φ_<], σ²_AB = σ² + P[C_>] and y_AB = y_< + P[y_>].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg

from wilsonian._validation import as_etas, as_targets, check_ridge, check_threshold
from wilsonian.errors import WilsonianError
from wilsonian.spectrum import Spectrum
from wilsonian.theory.conditional import CROSS_MODES, DEGREE_RIDGE, DEGREE_TARGET, FULL_MODES, conditional_ridge
from wilsonian.theory.rg import cutoff_and_ridge


def _kept_eigenfunctions(spectrum: Spectrum, cutoff: int) -> np.ndarray:
    phi = spectrum.eigenfunctions
    if phi is None or phi.shape[1] < cutoff:
        have = 0 if phi is None else phi.shape[1]
        raise WilsonianError(
            f"the non-Gaussian RG needs the top {cutoff} eigenfunctions but the spectrum has {have}; "
            "compute it with n_vectors ≥ the cutoff"
        )
    if spectrum.kernel_diagonal is None:
        raise WilsonianError("the non-Gaussian RG needs the kernel diagonal K(x_i, x_i) in the spectrum")
    return phi[:, :cutoff]


def input_dependent_ridge(spectrum: Spectrum, cutoff: int, ridge: float) -> np.ndarray:
    """σ²(x_i) = σ² + K_ii − Σ_{k≤κ} λ_k φ_k(x_i)² at a cutoff κ, shape (N,).

    Round-off can make K_ii − Σ_{k≤κ} slightly negative when κ is near N; it is clipped at 0.
    """
    ridge = check_ridge(ridge)
    phi = _kept_eigenfunctions(spectrum, cutoff)
    kept = np.square(phi) @ spectrum.eigenvalues[:cutoff] if cutoff else np.zeros(spectrum.n)
    return ridge + np.maximum(spectrum.kernel_diagonal - kept, 0.0)


def reweighted_coefficients(
    spectrum: Spectrum, y: np.ndarray, eta: float, cutoff: int, ridge_x: np.ndarray
) -> np.ndarray:
    """Kept-mode coefficients f_k (k ≤ κ) of the reweighted EK, shape (κ,) (or (κ, C) for a
    target with C outputs: one column per output)."""
    if cutoff == 0:
        return np.zeros((0,) + np.shape(y)[1:])
    phi = _kept_eigenfunctions(spectrum, cutoff)
    n = spectrum.n
    weights = 1.0 / ridge_x
    if not np.all(np.isfinite(weights)):
        raise WilsonianError("the input-dependent ridge vanishes at some point; use a ridge σ² > 0")
    root_lam = np.sqrt(spectrum.eigenvalues[:cutoff])
    scaled = phi * root_lam[None, :]  # φ_k(x) √λ_k
    weighted = scaled * weights[:, None]
    A = (scaled.T @ weighted) * (eta / n)  # η Λ^½ M Λ^½
    A[np.diag_indices_from(A)] += 1.0
    rhs = (weighted.T @ y) * (eta / n)  # η Λ^½ b
    g = scipy.linalg.solve(A, rhs, assume_a="pos", check_finite=False)
    return g * (root_lam if g.ndim == 1 else root_lam[:, None])


def first_order_coefficients(spectrum: Spectrum, y: np.ndarray, eta: float, cutoff: int,
                             ridge_x: np.ndarray) -> np.ndarray:
    """The reweighted EK to first order in δσ²(x) = σ²(x) − σ̄², σ̄² = ⟨σ²(x)⟩_μ, shape (κ,) or (κ, C):

        f_k = L_k y_k − L_k ⟨φ_k (y − f⁰) δσ²⟩_μ / σ̄²,   L_k = ηλ_k/(ηλ_k + σ̄²),   f⁰ = Σ_{l≤κ} L_l y_l φ_l,

    i.e. −L_k Σ_{q>κ} (λ_q/σ̄²) Σ_j U_kjqq (1 − L_j) y_j in cumulants: the residual of the
    Gaussian RG, weighted by the ridge's fluctuation, fed into kept mode k."""
    if cutoff == 0:
        return np.zeros((0,) + np.shape(y)[1:])
    phi = _kept_eigenfunctions(spectrum, cutoff)
    mean = float(np.mean(ridge_x))
    lam = spectrum.eigenvalues[:cutoff]
    learn = eta * lam / (eta * lam + mean)
    yk = spectrum.target_coefficients[:cutoff]
    column = learn if yk.ndim == 1 else learn[:, None]
    f0 = column * yk
    delta = np.asarray(ridge_x, dtype=np.float64) - mean
    residual = np.asarray(y, dtype=np.float64) - phi @ f0
    weighted = residual * (delta if residual.ndim == 1 else delta[:, None])
    return f0 - column * (phi.T @ weighted) / (spectrum.n * mean)


def gaussian_rg_predictor(spectrum: Spectrum, eta: float, renormalized: float, cutoff: int | None = None) -> np.ndarray:
    """EK predictor with a constant ridge on the pool: Σ_k λ_k y_k/(λ_k + σ_eff²/η) φ_k(x_i).

    ``cutoff`` = None sums over every mode with an eigenfunction (the paper's E_RG predictor);
    an integer keeps only the first ``cutoff`` modes (the control for the reweighted theory).
    """
    phi = spectrum.eigenfunctions
    if phi is None:
        raise WilsonianError("per-point predictions need the spectrum's eigenfunctions")
    m = phi.shape[1] if cutoff is None else cutoff
    lam = spectrum.eigenvalues[:m]
    learned = lam / (lam + renormalized / eta)
    yk = spectrum.target_coefficients[:m]
    coefficients = learned * yk if yk.ndim == 1 else learned[:, None] * yk
    return phi[:, :m] @ coefficients


@dataclass
class NonGaussianReport:
    """Per-point comparison of the Gaussian and non-Gaussian RG against exact GP draws.

    ``mse_*[i]`` = ⟨(f̄_theory(x) − f̄_empirical(x))²⟩_μ at η_i, where f̄_empirical is the
    average predictor over the draws; ``noise_floor[i]`` = ⟨Var_draws f̄(x)⟩_μ / trials is the
    part of those numbers due to the finite number of draws.
    """

    eta: np.ndarray
    cutoff: np.ndarray
    renormalized_ridge: np.ndarray
    ridge_x: np.ndarray  # (n_eta, N)
    mse_gaussian: np.ndarray
    mse_gaussian_kept: np.ndarray
    mse_nongaussian: np.ndarray
    noise_floor: np.ndarray
    trials: int
    meta: dict[str, Any] = field(default_factory=dict)
    #: The conditional (A, B) RG (None when not computed): per-point MSE with (σ²_AB, y_AB),
    #: with σ²_AB and the full target (the ridge's part alone), and the models' R² per η.
    mse_conditional: np.ndarray | None = None
    mse_conditional_ridge_only: np.ndarray | None = None
    conditional_fit: dict[str, Any] | None = None
    #: The reweighted EK to first order in δσ²(x) (:func:`first_order_coefficients`).
    mse_first_order: np.ndarray | None = None

    def as_dict(self) -> dict[str, Any]:
        q = np.quantile(self.ridge_x, [0.0, 0.05, 0.5, 0.95, 1.0], axis=1)
        return {
            "eta": self.eta,
            "cutoff": self.cutoff,
            "renormalized_ridge": self.renormalized_ridge,
            "ridge_x_mean": self.ridge_x.mean(axis=1),
            "ridge_x_std": self.ridge_x.std(axis=1),
            "ridge_x_quantiles": {"q": [0.0, 0.05, 0.5, 0.95, 1.0], "values": q.T},
            "per_point_mse": {
                "gaussian_rg": self.mse_gaussian,
                "gaussian_rg_kept_modes": self.mse_gaussian_kept,
                "nongaussian_rg": self.mse_nongaussian,
                "draw_noise_floor": self.noise_floor,
            },
            # MSE minus the draw-noise floor estimates the squared bias against the exact mean
            # predictor (the quantity a theory should get right); it can dip below 0 by noise.
            "per_point_excess_over_noise": {
                "gaussian_rg": self.mse_gaussian - self.noise_floor,
                "gaussian_rg_kept_modes": self.mse_gaussian_kept - self.noise_floor,
                "nongaussian_rg": self.mse_nongaussian - self.noise_floor,
            },
            "improvement_ratio": self.mse_gaussian_kept / self.mse_nongaussian,
            "trials": self.trials,
            **({} if self.mse_conditional is None else {"conditional_rg": self._conditional_dict()}),
            **({} if self.mse_first_order is None else {"first_order_rg": {
                "per_point_mse": self.mse_first_order,
                "per_point_excess_over_noise": self.mse_first_order - self.noise_floor,
                "note": "reweighted EK to first order in δσ²(x): f_k = L_k y_k − L_k⟨φ_k (y − f⁰) δσ²⟩/σ_eff², "
                        "= −L_k Σ_q (λ_q/σ_eff²) Σ_j U_kjqq (1 − L_j) y_j in fourth cumulants"}}),
            "notes": {
                "ridge_x": "σ²(x_i) = σ² + K_ii − Σ_{k≤κ*} λ_k φ_k(x_i)²; its mean equals σ_eff²",
                "gaussian_rg": "EK with σ_eff² over all modes (the paper's RG predictor)",
                "gaussian_rg_kept_modes": "the same, kept modes only: the control for the reweighting",
                "nongaussian_rg": "reweighted EK for the kept modes (THEORY.md §5)",
                "improvement_ratio": "mse(gaussian, kept modes) / mse(non-Gaussian); > 1 means the "
                                     "input-dependent ridge predicts the average predictor better",
            },
            **self.meta,
        }

    def _conditional_dict(self) -> dict[str, Any]:
        return {
            "per_point_mse": {"conditional_rg": self.mse_conditional,
                              "conditional_rg_ridge_only": self.mse_conditional_ridge_only,
                              "nongaussian_rg": self.mse_nongaussian, "draw_noise_floor": self.noise_floor},
            "per_point_excess_over_noise": {"conditional_rg": self.mse_conditional - self.noise_floor,
                                            "conditional_rg_ridge_only": self.mse_conditional_ridge_only
                                            - self.noise_floor},
            # > 1: the conditional (A, B) RG predicts the average predictor better than σ²(x)
            "ratio_to_per_point": self.mse_nongaussian / self.mse_conditional,
            **(self.conditional_fit or {}),
            "notes": {
                "conditional_rg": "kept-mode EK with σ²_AB = σ² + Σ_q λ_q(1 + 2B_q(φ_<)) and y_AB = y_< + "
                                  "Σ_q y_q A_q(φ_<): P[φ_q|φ_<] ≈ N(0,1)[1 + Aφ_q + B(φ_q² − 1)], A and B the "
                                  "least-squares projections on the leading-order model (B quadratic, A cubic)",
                "conditional_rg_ridge_only": "σ²_AB with the full target y: the ridge's part of the difference",
                "ridge_r2": "in-sample R² of C_>(x) = σ²(x) − σ² on the B model (1: σ²_AB = σ²(x))",
                "target_r2": "in-sample R² of y_>(x) = y − y_< on the A model",
                "held_out": "σ²_AB and y_AB are cross-fitted (K-fold): the value at x_i comes from a fit "
                            "without x_i; *_held_out_r2 is their R²",
            },
        }


def nongaussian_comparison(
    spectrum: Spectrum,
    y: np.ndarray,
    etas,
    ridge: float,
    threshold: float,
    prediction_mean: np.ndarray,
    prediction_var: np.ndarray,
    trials: int,
    *,
    conditional: bool = True,
    degree_b: int = DEGREE_RIDGE,
    degree_a: int = DEGREE_TARGET,
    cross_modes: int = CROSS_MODES,
    full_modes: int = FULL_MODES,
    folds: int = 5,
) -> NonGaussianReport:
    """Compare per-point predictions of the Gaussian and reweighted RG with exact GP averages.

    With ``conditional`` the conditional (A, B) RG is added (models of degree ``degree_b``
    for B and ``degree_a`` for A, linear and square terms of the top ``full_modes`` kept modes,
    cross products of the top ``cross_modes``, ``folds``-fold held-out R²;
    :mod:`wilsonian.theory.conditional`)."""
    eta = as_etas(etas)
    ridge = check_ridge(ridge)
    threshold = check_threshold(threshold)
    y = as_targets(y, spectrum.n)
    cutoff, sigma_eff, _ = cutoff_and_ridge(spectrum, eta, ridge, threshold)
    n = spectrum.n
    ridge_x = np.empty((eta.size, n))
    mse_g = np.empty(eta.size)
    mse_gk = np.empty(eta.size)
    mse_ng = np.empty(eta.size)
    mse_ab, mse_b, mse_1 = (np.full(eta.size, np.nan) for _ in range(3))
    fit = {name: np.full(eta.size, np.nan) for name in ("ridge_r2", "target_r2", "ridge_held_out_r2",
                                                          "target_held_out_r2", "n_terms_ridge", "n_terms_target",
                                                          "cross_modes", "full_modes", "clipped")}
    for i, (e, c) in enumerate(zip(eta, cutoff)):
        c = int(c)
        ridge_x[i] = input_dependent_ridge(spectrum, c, ridge)
        f = reweighted_coefficients(spectrum, y, e, c, ridge_x[i])
        phi = spectrum.eigenfunctions[:, :c]
        empirical = prediction_mean[i]
        nongaussian = phi @ f if c else np.zeros(empirical.shape)
        gaussian = gaussian_rg_predictor(spectrum, e, sigma_eff[i])
        gaussian_kept = gaussian_rg_predictor(spectrum, e, sigma_eff[i], cutoff=c)
        # per-point MSE over the pool, summed over outputs
        mse_g[i] = np.sum(np.square(gaussian - empirical)) / n
        mse_gk[i] = np.sum(np.square(gaussian_kept - empirical)) / n
        mse_ng[i] = np.sum(np.square(nongaussian - empirical)) / n
        f_1 = first_order_coefficients(spectrum, y, e, c, ridge_x[i])
        mse_1[i] = np.sum(np.square((phi @ f_1 if c else 0.0) - empirical)) / n
        if conditional:
            ab = conditional_ridge(phi, spectrum.eigenvalues[:c], spectrum.target_coefficients[:c], y, ridge_x[i],
                                   ridge, degree_b=degree_b, degree_a=degree_a, cross_modes=cross_modes,
                                   full_modes=full_modes, folds=folds)
            for name in fit:
                fit[name][i] = getattr(ab, name)
            f_ab = reweighted_coefficients(spectrum, ab.target, e, c, ab.ridge_x)
            f_b = reweighted_coefficients(spectrum, y, e, c, ab.ridge_x)
            mse_ab[i] = np.sum(np.square((phi @ f_ab if c else 0.0) - empirical)) / n
            mse_b[i] = np.sum(np.square((phi @ f_b if c else 0.0) - empirical)) / n
    noise = prediction_var.reshape(eta.size, n, -1).sum(axis=2).mean(axis=1) / trials
    report = NonGaussianReport(eta, cutoff, sigma_eff, ridge_x, mse_g, mse_gk, mse_ng, noise, trials,
                               mse_first_order=mse_1)
    if conditional:
        diagonal = spectrum.kernel_diagonal
        constant = bool(np.ptp(diagonal) <= 1e-12 * max(float(np.abs(diagonal).max()), np.finfo(float).tiny))
        model = {"degree_ridge": degree_b, "degree_target": degree_a, "cross_modes": cross_modes,
                 "full_modes": full_modes, "folds": folds,
                 "kernel_diagonal_constant": constant}
        report.mse_conditional, report.mse_conditional_ridge_only = mse_ab, mse_b
        report.conditional_fit = {"model": model, **fit}
    return report


def nongaussian_report(spectrum: Spectrum, y: np.ndarray, curve, ridge: float, threshold: float) -> NonGaussianReport:
    """The ``wilsonian run --nongaussian`` comparison, from a learning curve that kept its
    per-point average predictors (``keep_predictions=True``)."""
    if curve.prediction_mean is None:
        raise WilsonianError("the learning curve must be computed with keep_predictions=True")
    report = nongaussian_comparison(spectrum, y, curve.eta, ridge, threshold,
                                    curve.prediction_mean, curve.prediction_var, curve.trials)
    report.meta["empirical_draws"] = "the same seeded draws as the learning curve"
    return report
