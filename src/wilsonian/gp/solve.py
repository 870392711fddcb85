"""Exact GP regression (THEORY.md §3): posterior means, solves for nested training sets, and
the log marginal likelihood (the evidence) for many ridges at once.

Average predictor on a training set X_η:  f̄(x*) = K(x*, X_η) [K(X_η, X_η) + σ² I]⁻¹ y(X_η).
Targets may have C outputs (an (η, C) matrix): the GP treats them independently with one
kernel, so one factorization serves them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from wilsonian._validation import check_ridge
from wilsonian.errors import WilsonianError
from wilsonian.spectrum.dense import TridiagonalForm


@dataclass(frozen=True)
class Posterior:
    """GP posterior at test points: mean, optional variance, and how it was solved."""

    mean: np.ndarray
    variance: np.ndarray | None
    solver: str  # "cholesky" or "eigh" (the fallback)


def _solve_psd(K_train: np.ndarray, rhs: np.ndarray, ridge: float) -> tuple[np.ndarray, str]:
    """Solve (K + σ²I) a = rhs for PSD K.

    Cholesky first. If it fails (K + σ²I numerically indefinite, e.g. σ² = 0 with duplicate
    training points), fall back to a symmetric eigendecomposition: eigenvalues of K below
    the round-off level n·ε·λ_max are set to 0 before σ² is added, and directions whose
    total is still 0 are dropped (the minimum-norm solution). The result is checked to be
    finite, never returned as NaN.
    """
    A = K_train + ridge * np.eye(K_train.shape[0])
    try:
        factor = scipy.linalg.cho_factor(A, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        factor = None
    if factor is not None and _well_conditioned_pivots(np.diagonal(factor[0]), A):
        solution = scipy.linalg.cho_solve(factor, rhs, check_finite=False)
        solver = "cholesky"
    else:
        solution, solver = _solve_by_eigh(K_train, rhs, ridge), "eigh"
    if not np.all(np.isfinite(solution)):
        solution, solver = _solve_by_eigh(K_train, rhs, ridge), "eigh"
    if not np.all(np.isfinite(solution)):
        raise WilsonianError("the GP solve produced non-finite values; check the kernel for NaN/Inf")
    return solution, solver


def _well_conditioned_pivots(pivots: np.ndarray, A: np.ndarray) -> bool:
    """False when a Cholesky pivot² is at round-off level (an exactly singular matrix can
    still factor, with pivots of order ε, and would give meaningless huge weights)."""
    scale = float(np.max(np.diagonal(A), initial=0.0))
    return bool(np.min(pivots) ** 2 > A.shape[0] * np.finfo(float).eps * scale)


def _solve_by_eigh(K_train: np.ndarray, rhs: np.ndarray, ridge: float) -> np.ndarray:
    w, V = np.linalg.eigh(K_train)
    floor = K_train.shape[0] * np.finfo(float).eps * max(float(np.abs(w).max(initial=0.0)), 1e-300)
    w = np.where(w > floor, w, 0.0) + ridge
    inverse = np.divide(1.0, w, out=np.zeros_like(w), where=w > 0)
    return V @ (inverse[:, None] * (V.T @ rhs.reshape(len(w), -1))).reshape(rhs.shape)


def posterior(
    K_train: np.ndarray,
    y_train: np.ndarray,
    K_test_train: np.ndarray,
    ridge: float,
    *,
    K_test_diagonal: np.ndarray | None = None,
) -> Posterior:
    """Exact GP posterior mean (and variance when ``K_test_diagonal`` is given).

    Parameters
    ----------
    K_train : (η, η) kernel among training points
    y_train : (η,) or (η, C) training targets
    K_test_train : (m, η) kernel between test and training points
    ridge : σ² ≥ 0 (absolute, not relative to the kernel scale)
    K_test_diagonal : (m,) K(x*, x*); if given, the posterior variance
        K(x*,x*) − k*ᵀ(K + σ²I)⁻¹k* is returned too.
    """
    K_train = np.asarray(K_train, dtype=np.float64)
    y_train = np.asarray(y_train, dtype=np.float64)
    K_test_train = np.asarray(K_test_train, dtype=np.float64)
    ridge = check_ridge(ridge)
    n = K_train.shape[0]
    if (K_train.shape != (n, n) or y_train.ndim not in (1, 2) or y_train.shape[0] != n or K_test_train.ndim != 2
            or K_test_train.shape[1] != n):
        raise WilsonianError(
            f"inconsistent shapes: K_train {K_train.shape}, y_train {y_train.shape}, "
            f"K_test_train {K_test_train.shape}"
        )
    if n == 0:
        raise WilsonianError("the training set is empty")
    alpha, solver = _solve_psd(K_train, y_train, ridge)
    mean = K_test_train @ alpha
    variance = None
    if K_test_diagonal is not None:
        weights, _ = _solve_psd(K_train, K_test_train.T, ridge)
        variance = np.asarray(K_test_diagonal, dtype=np.float64) - np.einsum("ij,ji->i", K_test_train, weights)
        variance = np.maximum(variance, 0.0)
    return Posterior(mean, variance, solver)


_LOG_2PI = float(np.log(2.0 * np.pi))


def _as_columns(targets: np.ndarray) -> np.ndarray:
    """Targets as a 2-D (η, C) array (a view)."""
    return targets.reshape(targets.shape[0], -1)


def nested_weights(K_train: np.ndarray, targets: np.ndarray, eta: np.ndarray, ridge: float
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    """GP weights α = (K_η + σ²I)⁻¹ y_η for every nested prefix η of one training sequence.

    Parameters
    ----------
    K_train : (η_max, η_max) kernel among the training sequence
    targets : (η_max,) or (η_max, C) its targets
    eta : sorted sizes, the last equal to η_max

    Returns
    -------
    alphas : (η_max, n_eta, C) column j holds the η_j weights, zero below, so that one product
        K(x, X_ηmax) @ alphas gives every η's predictor
    log_evidence : (n_eta,) log p(y_η | X_η) = −½ Σ_c y_cᵀα_c − (C/2) log det(K_η + σ²I) − (ηC/2) log 2π
        (the outputs are independent GPs with one kernel); −inf where K_η + σ²I is singular.
    fallbacks : how many prefixes needed the eigendecomposition (see :func:`_solve_psd`)

    One Cholesky factor of the largest matrix serves every η: the leading η×η block of a
    Cholesky factor is the factor of the leading block, and its diagonal gives the log
    determinant of every prefix.
    """
    columns = _as_columns(targets)
    A = K_train + ridge * np.eye(K_train.shape[0])
    try:
        chol = scipy.linalg.cholesky(A, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        chol = None
    alphas = np.zeros((K_train.shape[0], eta.size, columns.shape[1]))
    log_evidence = np.empty(eta.size)
    fallbacks = 0
    for j, m in enumerate(eta):
        m = int(m)
        alpha = None
        if chol is not None and _well_conditioned_pivots(np.diagonal(chol)[:m], A[:m, :m]):
            half = scipy.linalg.solve_triangular(chol[:m, :m], columns[:m], lower=True, check_finite=False)
            alpha = scipy.linalg.solve_triangular(chol[:m, :m], half, lower=True, trans="T", check_finite=False)
            if not np.all(np.isfinite(alpha)):
                alpha = None
            log_det = 2.0 * float(np.sum(np.log(np.diagonal(chol)[:m])))
        if alpha is None:
            fallbacks += 1
            alpha, _ = _solve_psd(K_train[:m, :m], columns[:m], ridge)
            w = np.linalg.eigvalsh(A[:m, :m])
            log_det = float(np.sum(np.log(w))) if np.all(w > 0) else np.inf
        alphas[:m, j] = alpha
        log_evidence[j] = -0.5 * float(np.sum(columns[:m] * alpha)) - 0.5 * columns.shape[1] * (log_det + m * _LOG_2PI)
    return alphas, log_evidence, fallbacks


def eigen_weights(K_train: np.ndarray, targets: np.ndarray, eta: np.ndarray, ridges: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GP weights for every nested prefix η and every ridge σ²_r, from one eigendecomposition
    of each prefix's kernel: with K_η = U diag(w) Uᵀ and z = Uᵀy_η,
    α_r = U z/(w + σ²_r), log p(y_η) = −½ Σ z²/(w + σ²_r) − ½ Σ log(w + σ²_r) − (η/2) log 2π
    (per output). Eigenvalues below the round-off level η·ε·w_max are taken as 0, and
    directions with w + σ² = 0 are dropped (the minimum-norm solution), as in :func:`_solve_psd`.

    Returns (alphas (η_max, R, n_eta, C), log_evidence (R, n_eta), the optimal ridge per η:
    the σ² that maximizes the evidence (over σ² ≥ 0, continuous) (n_eta,)).
    """
    columns = _as_columns(targets)
    n_out = columns.shape[1]
    alphas = np.zeros((K_train.shape[0], ridges.size, eta.size, n_out))
    log_evidence = np.empty((ridges.size, eta.size))
    best = np.empty(eta.size)
    for j, m in enumerate(eta):
        m = int(m)
        # K_η = Q T Qᵀ, T = Z W Zᵀ, so U = QZ; Q is applied to the R·C solutions instead of
        # being multiplied into Z (the m³ back-transformation of eigh)
        form = TridiagonalForm.of(K_train[:m, :m])
        w, Z = form.eigenpairs()
        floor = m * np.finfo(float).eps * max(float(np.abs(w).max(initial=0.0)), 1e-300)
        w = np.where(w > floor, w, 0.0)
        z = Z.T @ form.apply_q(columns[:m], transpose=True)  # Uᵀy, (m, C)
        z2 = np.square(z).sum(axis=1)
        total = w[None, :] + ridges[:, None]  # (R, m)
        inverse = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)
        scaled = inverse.T[:, :, None] * z[:, None, :]  # (m, R, C)
        alphas[:m, :, j] = form.apply_q(Z @ scaled.reshape(m, -1)).reshape(m, ridges.size, n_out)
        with np.errstate(divide="ignore"):
            log_det = np.where(np.all(total > 0, axis=1), np.sum(np.log(np.where(total > 0, total, 1.0)), axis=1),
                               np.inf)
        log_evidence[:, j] = -0.5 * (inverse * z2[None, :]).sum(axis=1) - 0.5 * n_out * (log_det + m * _LOG_2PI)
        best[j] = evidence_optimal_ridge(w, z2, n_out)
    return alphas, log_evidence, best


def log_marginal_likelihood(K_train, y_train, ridges, amplitudes=1.0) -> np.ndarray:
    """The GP log marginal likelihood log p(y | X) for every ridge and kernel amplitude at once.

    For the kernel a·K and noise σ², with K = U diag(w) Uᵀ and z = Uᵀy (one eigendecomposition),
    log p = −½ Σ_i z_i²/(a w_i + σ²) − ½ Σ_i log(a w_i + σ²) − (η/2) log 2π, summed over the
    outputs of a multi-output y. Equal to scikit-learn's
    ``GaussianProcessRegressor(kernel=ConstantKernel(a) * k, alpha=σ²).log_marginal_likelihood``.

    Parameters
    ----------
    K_train : (η, η) kernel among the training points
    y_train : (η,) or (η, C) targets
    ridges : σ² values (> 0 where K is singular), any shape R
    amplitudes : a values (> 0), any shape A

    Returns
    -------
    ndarray, shape A + R (squeezed of scalar axes): −inf where a·K + σ²I is singular.
    """
    K_train = np.asarray(K_train, dtype=np.float64)
    columns = _as_columns(np.asarray(y_train, dtype=np.float64))
    m = K_train.shape[0]
    if K_train.shape != (m, m) or columns.shape[0] != m:
        raise WilsonianError(f"inconsistent shapes: K_train {K_train.shape}, y_train {np.shape(y_train)}")
    ridge_grid = np.asarray(ridges, dtype=np.float64)
    amp_grid = np.asarray(amplitudes, dtype=np.float64)
    if not (np.all(np.isfinite(ridge_grid)) and np.all(ridge_grid >= 0)):
        raise WilsonianError("every ridge σ² must be a finite number ≥ 0")
    if not (np.all(np.isfinite(amp_grid)) and np.all(amp_grid > 0)):
        raise WilsonianError("every kernel amplitude must be a finite number > 0")
    w, U = np.linalg.eigh(K_train)
    z2 = np.square(U.T @ columns).sum(axis=1)
    total = amp_grid.reshape(-1, 1, 1) * w[None, None, :] + ridge_grid.reshape(1, -1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = -0.5 * (z2 / total).sum(axis=2) - 0.5 * columns.shape[1] * (np.log(total).sum(axis=2) + m * _LOG_2PI)
    value = np.where(np.all(total > 0, axis=2), value, -np.inf)
    return value.reshape(amp_grid.shape + ridge_grid.shape)


def evidence_optimal_ridge(w: np.ndarray, z2: np.ndarray, n_outputs: int = 1) -> float:
    """The σ² ≥ 0 that maximizes log p(y) = −½ Σ z²/(w + σ²) − (C/2) Σ log(w + σ²), given the
    eigenvalues w of the training kernel and the output-summed squared projections z²
    (a bounded search in log σ² over 16 decades below to 2 above the largest eigenvalue)."""
    from scipy.optimize import minimize_scalar

    scale = max(float(np.max(w, initial=0.0)), 1e-300)

    def negative(log_ridge: float) -> float:
        total = w + np.exp(log_ridge)
        return 0.5 * float(np.sum(z2 / total)) + 0.5 * n_outputs * float(np.sum(np.log(total)))

    low, high = np.log(scale) - 16 * np.log(10.0), np.log(scale) + 2 * np.log(10.0)
    grid = np.linspace(low, high, 37)
    values = [negative(g) for g in grid]
    i = int(np.argmin(values))
    result = minimize_scalar(negative, bounds=(grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]),
                             method="bounded", options={"xatol": 1e-6})
    return float(np.exp(result.x))
