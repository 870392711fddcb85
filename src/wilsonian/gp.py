"""Exact GP regression and empirical learning curves (THEORY.md §3).

Average predictor on a training set X_η:  f̄(x*) = K(x*, X_η) [K(X_η, X_η) + σ² I]⁻¹ y(X_η).
Generalization error of one draw: E = ⟨(f̄(x) − y(x))²⟩_μ over the whole pool.

Learning curves use *nested* training sets: in each draw, the training set for every η is
the first η indices of one random sequence (a permutation without replacement, or i.i.d.
indices with replacement). Each η's training set is then still a uniform draw, so the mean
and standard error per η are unchanged, while one Cholesky factor of the largest training
matrix serves every η: the leading η×η block of a Cholesky factor is the Cholesky factor of
the leading block. Draws are independent across trials.

The learning curve takes any kernel operator (:mod:`wilsonian.operators`): a matrix in
memory, or one computed tile by tile. Per draw it asks for the kernel among the training
sequence and, in row tiles of the pool, between the pool and the training sequence; so
memory is η_max² + one tile, never N² unless the operator holds K anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg
from tqdm.auto import tqdm

from wilsonian._validation import check_etas, check_ridge
from wilsonian.errors import WilsonianError


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
    y_train : (η,) training targets
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
    if K_train.shape != (n, n) or y_train.shape != (n,) or K_test_train.ndim != 2 or K_test_train.shape[1] != n:
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


@dataclass(frozen=True)
class LearningCurve:
    """Empirical learning curve: the pool-averaged test MSE over independent draws.

    Attributes
    ----------
    eta : (n_eta,) int
    errors : (trials, n_eta) per-draw errors E = ⟨(f̄ − y)²⟩_μ
    mean, sem : (n_eta,) mean over draws and its standard error (std/√trials; NaN for 1 trial)
    """

    eta: np.ndarray
    errors: np.ndarray
    ridge: float
    replace: bool
    seed: int
    nested: bool
    fallbacks: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    prediction_mean: np.ndarray | None = None  # (n_eta, N) average predictor f̄(x_i) over draws
    prediction_var: np.ndarray | None = None  # (n_eta, N) its variance across draws (ddof=1)

    @property
    def trials(self) -> int:
        return int(self.errors.shape[0])

    @property
    def mean(self) -> np.ndarray:
        return self.errors.mean(axis=0)

    @property
    def sem(self) -> np.ndarray:
        """Standard error of the mean; NaN (null in JSON) with one draw, where it is undefined
        (as the toy model's Monte Carlo reports it)."""
        if self.trials < 2:
            return np.full(self.errors.shape[1], np.nan)
        return self.errors.std(axis=0, ddof=1) / np.sqrt(self.trials)

    def as_dict(self) -> dict[str, Any]:
        return {
            "eta": self.eta,
            "mean": self.mean,
            "sem": self.sem,
            "trials": self.trials,
            "ridge": self.ridge,
            "replace": self.replace,
            "nested": self.nested,
            "seed": self.seed,
            "cholesky_fallbacks": self.fallbacks,
        }


def draw_order(stream: np.random.SeedSequence, n: int, eta_max: int, replace: bool) -> np.ndarray:
    """One draw's training sequence: its first η indices are the training set of size η.

    A permutation prefix without replacement, i.i.d. indices with replacement; the stream is
    one child of ``SeedSequence(seed).spawn(trials)``, so every path draws the same sets.
    """
    rng = np.random.default_rng(stream)
    if replace:
        return rng.integers(0, n, size=eta_max)
    return rng.permutation(n)[:eta_max]


def nested_weights(K_train: np.ndarray, targets: np.ndarray, eta: np.ndarray, ridge: float) -> tuple[np.ndarray, int]:
    """GP weights α = (K_η + σ²I)⁻¹ y_η for every nested prefix η of one training sequence.

    Parameters
    ----------
    K_train : (η_max, η_max) kernel among the training sequence
    targets : (η_max,) its targets
    eta : sorted sizes, the last equal to η_max

    Returns
    -------
    alphas : (η_max, n_eta) column j holds the η_j weights, zero below, so that one product
        K(x, X_ηmax) @ alphas gives every η's predictor
    fallbacks : how many prefixes needed the eigendecomposition (see :func:`_solve_psd`)

    One Cholesky factor of the largest matrix serves every η: the leading η×η block of a
    Cholesky factor is the factor of the leading block.
    """
    A = K_train + ridge * np.eye(K_train.shape[0])
    try:
        chol = scipy.linalg.cholesky(A, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        chol = None
    alphas = np.zeros((K_train.shape[0], eta.size))
    fallbacks = 0
    for j, m in enumerate(eta):
        m = int(m)
        alpha = None
        if chol is not None and _well_conditioned_pivots(np.diagonal(chol)[:m], A[:m, :m]):
            half = scipy.linalg.solve_triangular(chol[:m, :m], targets[:m], lower=True, check_finite=False)
            alpha = scipy.linalg.solve_triangular(chol[:m, :m], half, lower=True, trans="T", check_finite=False)
            if not np.all(np.isfinite(alpha)):
                alpha = None
        if alpha is None:
            fallbacks += 1
            alpha, _ = _solve_psd(K_train[:m, :m], targets[:m], ridge)
        alphas[:m, j] = alpha
    return alphas, fallbacks


# Kernel entries per prediction tile (pool rows × training points): 32 MiB.
_TILE_ENTRIES = 1 << 22


def learning_curve(
    kernel,
    y: np.ndarray,
    etas,
    *,
    ridge: float,
    trials: int = 10,
    replace: bool = False,
    seed: int = 0,
    progress: bool = False,
    keep_predictions: bool = False,
    tile: int | None = None,
) -> LearningCurve:
    """Empirical learning curve of exact GP regression on a pool (THEORY.md §3).

    Parameters
    ----------
    kernel : KernelOperator or (N, N) array
        The kernel on the pool: any operator of :mod:`wilsonian.operators` (for example a
        :class:`~wilsonian.operators.TiledOperator`, which never stores K), or the kernel
        matrix itself.
    y : (N,) targets
    etas : training-set sizes; sorted and de-duplicated
    ridge : σ² ≥ 0
    trials : number of independent draws (≥ 1)
    replace : draw training points with replacement (the theory's i.i.d. assumption) or
        without (a random subset)
    seed : seed of the ``numpy.random.Generator``; trial t uses the stream
        ``SeedSequence(seed).spawn(trials)[t]``, so results do not depend on anything else
        (nor on the operator: every operator gives the same draws).
    keep_predictions : also return the average predictor per pool point and η over the draws
        (``prediction_mean``) and its across-draw variance (``prediction_var``), for the
        per-point comparisons of the non-Gaussian RG. Does not change the draws.
    tile : pool rows per prediction tile (default: about 2²² kernel entries per tile).
    """
    from wilsonian.operators import as_operator

    operator = as_operator(kernel)
    n = operator.n
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (n,):
        raise WilsonianError(f"y must have shape ({n},), got {y.shape}")
    if not np.isfinite(y).all():
        raise WilsonianError("y contains NaN or infinite values; clean the targets.")
    ridge = check_ridge(ridge)
    if isinstance(trials, bool) or int(trials) != trials or trials < 1:
        raise WilsonianError(f"the number of draws (trials) must be a whole number ≥ 1, got {trials}")
    trials = int(trials)
    if tile is not None and (isinstance(tile, bool) or int(tile) != tile or tile < 1):
        raise WilsonianError(f"tile must be a positive number of rows or None, got {tile!r}.")
    eta = check_etas(etas, n, replace=replace)
    eta_max = int(eta[-1])
    tile_rows = int(tile) if tile is not None else max(1, min(n, _TILE_ENTRIES // eta_max))
    errors = np.empty((trials, eta.size))
    fallbacks = 0
    if keep_predictions:
        # Welford's running mean and sum of squared deviations: stable for any number of draws.
        running_mean = np.zeros((eta.size, n))
        running_m2 = np.zeros((eta.size, n))
        predictions = np.empty((eta.size, n))
    streams = np.random.SeedSequence(seed).spawn(trials)
    for t in tqdm(range(trials), desc="learning curve draws", disable=not progress, leave=False):
        order = draw_order(streams[t], n, eta_max, replace)
        alphas, failed = nested_weights(operator.block(order), y[order], eta, ridge)
        fallbacks += failed
        squared = np.zeros(eta.size)
        for r0 in range(0, n, tile_rows):
            r1 = min(r0 + tile_rows, n)
            predicted = operator.block(slice(r0, r1), order) @ alphas  # (rows, n_eta): every η at once
            if keep_predictions:
                predictions[:, r0:r1] = predicted.T
            predicted -= y[r0:r1, None]
            squared += np.einsum("ij,ij->j", predicted, predicted)
        errors[t] = squared / n
        if keep_predictions:
            delta = predictions - running_mean
            running_mean += delta / (t + 1)
            running_m2 += delta * (predictions - running_mean)
    meta = {"method": operator.storage, "operator": operator.backend, "tile_rows": tile_rows}
    if keep_predictions:
        variance = running_m2 / (trials - 1) if trials > 1 else np.zeros_like(running_m2)
        return LearningCurve(eta, errors, ridge, bool(replace), int(seed), True, fallbacks, meta=meta,
                             prediction_mean=running_mean, prediction_var=variance)
    return LearningCurve(eta, errors, ridge, bool(replace), int(seed), True, fallbacks, meta=meta)
