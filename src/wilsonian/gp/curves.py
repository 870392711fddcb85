"""Empirical learning curves of exact GP regression on a pool (THEORY.md §3).

Generalization error of one draw: E = ⟨|f̄(x) − y(x)|²⟩_μ over the whole pool, summed over
the outputs of a multi-output target; the train error of the same draw is the same average
over its η training points, against the labels it was trained on (noisy, with label noise).

Learning curves use *nested* training sets: in each draw, the training set for every η is
the first η indices of one random sequence (a permutation without replacement, or i.i.d.
indices with replacement). Each η's training set is then still a uniform draw, so the mean
and standard error per η are unchanged, while one factorization serves every η. Draws are
independent across trials.

The curves take any kernel operator (:mod:`wilsonian.operators`): a matrix in memory, or one
computed tile by tile. Per draw they ask for the kernel among the training sequence and, in
row tiles of the pool, between the pool and the training sequence; so memory is η_max² plus
one tile, never N² unless the operator holds K anyway.

One ridge: one Cholesky factor of the largest training matrix per draw serves every η.
Several ridges (:func:`learning_curves`): one eigendecomposition of each training kernel per
draw serves every ridge, and gives the evidence at every ridge and its optimum for free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from wilsonian._progress import progress_iter
from wilsonian._validation import check_etas, check_noise, check_ridge
from wilsonian.errors import WilsonianError
from wilsonian.gp.solve import eigen_weights, nested_weights

# Kernel entries per prediction tile (pool rows × training points): 32 MiB.
_TILE_ENTRIES = 1 << 22


def _sem(values: np.ndarray) -> np.ndarray:
    """Standard error of the mean over axis 0; NaN with one draw, where it is undefined, and
    where a draw is infinite (a log evidence of a singular K + σ²I: said by the run itself)."""
    if values.shape[0] < 2:
        return np.full(values.shape[1:], np.nan)
    with np.errstate(invalid="ignore"):
        return values.std(axis=0, ddof=1) / np.sqrt(values.shape[0])


@dataclass(frozen=True)
class LearningCurve:
    """Empirical learning curve at one ridge: the pool-averaged test MSE over independent draws.

    Attributes
    ----------
    eta : (n_eta,) int
    errors : (trials, n_eta) per-draw test errors E = ⟨|f̄ − y|²⟩_μ (summed over outputs)
    mean, sem : (n_eta,) mean over draws and its standard error (std/√trials; NaN for 1 trial)
    train_errors : (trials, n_eta) per-draw train errors on the η training points
    log_evidence : (trials, n_eta) log p(y_η | X_η) of each draw's training set
    optimal_ridge : (trials, n_eta) the evidence-maximizing σ² of each training set, when the
        curve was computed by :func:`learning_curves` (else None)
    noise : the label-noise variance ε² added to the training labels (test targets are clean)
    """

    eta: np.ndarray
    errors: np.ndarray
    ridge: float
    replace: bool
    seed: int
    nested: bool
    fallbacks: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    prediction_mean: np.ndarray | None = None  # (n_eta, N[, C]) average predictor f̄(x_i) over draws
    prediction_var: np.ndarray | None = None  # (n_eta, N[, C]) its variance across draws (ddof=1)
    train_errors: np.ndarray | None = None
    log_evidence: np.ndarray | None = None
    optimal_ridge: np.ndarray | None = None
    noise: float = 0.0

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
        return _sem(self.errors)

    @property
    def train_mean(self) -> np.ndarray | None:
        return None if self.train_errors is None else self.train_errors.mean(axis=0)

    @property
    def train_sem(self) -> np.ndarray | None:
        return None if self.train_errors is None else _sem(self.train_errors)

    def as_dict(self) -> dict[str, Any]:
        record = {
            "eta": self.eta,
            "mean": self.mean,
            "sem": self.sem,
            "trials": self.trials,
            "ridge": self.ridge,
            "replace": self.replace,
            "nested": self.nested,
            "seed": self.seed,
            "cholesky_fallbacks": self.fallbacks,
            "label_noise": self.noise,
        }
        if self.train_errors is not None:
            record.update(train_mean=self.train_mean, train_sem=self.train_sem)
        if self.log_evidence is not None:
            record.update(log_evidence_mean=self.log_evidence.mean(axis=0), log_evidence_sem=_sem(self.log_evidence))
        if self.optimal_ridge is not None:
            record.update(evidence_optimal_ridge_median=np.median(self.optimal_ridge, axis=0))
        return record


def draw_order(stream: np.random.SeedSequence, n: int, eta_max: int, replace: bool) -> np.ndarray:
    """One draw's training sequence: its first η indices are the training set of size η.

    A permutation prefix without replacement, i.i.d. indices with replacement; the stream is
    one child of ``SeedSequence(seed).spawn(trials)``, so every path draws the same sets.
    """
    rng = np.random.default_rng(stream)
    if replace:
        return rng.integers(0, n, size=eta_max)
    return rng.permutation(n)[:eta_max]


def label_noise(stream: np.random.SeedSequence, shape: tuple[int, ...], noise: float) -> np.ndarray:
    """The draw's label noise, N(0, ε²) per training label: from the draw's own child stream
    (``spawn_key + (1,)``), so that the training sets are the same with and without noise."""
    child = np.random.SeedSequence(stream.entropy, spawn_key=(*stream.spawn_key, 1))
    return np.sqrt(noise) * np.random.default_rng(child).standard_normal(shape)


def _check_common(operator, y, trials, tile):
    n = operator.n
    y = np.asarray(y, dtype=np.float64)
    if y.ndim not in (1, 2) or y.shape[0] != n or 0 in y.shape:
        raise WilsonianError(f"y must have shape ({n},) or ({n}, C), got {y.shape}")
    if not np.isfinite(y).all():
        raise WilsonianError("y contains NaN or infinite values; clean the targets.")
    if isinstance(trials, bool) or int(trials) != trials or trials < 1:
        raise WilsonianError(f"the number of draws (trials) must be a whole number ≥ 1, got {trials}")
    if tile is not None and (isinstance(tile, bool) or int(tile) != tile or tile < 1):
        raise WilsonianError(f"tile must be a positive number of rows or None, got {tile!r}.")
    return y, int(trials)


def learning_curves(
    kernel,
    y: np.ndarray,
    etas,
    *,
    ridges: Sequence[float],
    trials: int = 10,
    replace: bool = False,
    seed: int = 0,
    noise: float = 0.0,
    progress: bool = False,
    keep_predictions: bool = False,
    tile: int | None = None,
    solve: str = "auto",
) -> list[LearningCurve]:
    """Empirical learning curves at several ridges from the same draws (THEORY.md §3).

    Parameters
    ----------
    kernel : KernelOperator or (N, N) array
        The kernel on the pool: any operator of :mod:`wilsonian.operators`, or the matrix.
    y : (N,) or (N, C) targets (one column per output)
    etas : training-set sizes; sorted and de-duplicated
    ridges : σ² ≥ 0 values
    trials : number of independent draws (≥ 1)
    replace : draw training points with replacement (the theory's i.i.d. assumption) or
        without (a random subset)
    seed : seed of the draws; trial t uses the stream ``SeedSequence(seed).spawn(trials)[t]``
        (and its child ``(1,)`` for label noise), so results depend on nothing else — nor on
        the operator or the ridges.
    noise : label-noise variance ε² ≥ 0 added to the training labels (seeded, per draw)
    keep_predictions : also keep the average predictor per pool point (and its variance
        across draws), for the non-Gaussian RG's per-point comparisons
    tile : pool rows per prediction tile (default: about 2²² kernel entries per tile)
    solve : "cholesky" (one factor per draw per ridge), "eigh" (one eigendecomposition of
        each training kernel per draw, shared by every ridge; gives each training set's
        evidence-optimal ridge), or "auto": Cholesky for one ridge, eigh for several.

    Returns
    -------
    list of LearningCurve, one per ridge, in the order given.
    """
    from wilsonian.operators import as_operator

    operator = as_operator(kernel)
    y, trials = _check_common(operator, y, trials, tile)
    ridges = np.array([check_ridge(r) for r in np.atleast_1d(ridges)], dtype=np.float64)
    if ridges.size == 0:
        raise WilsonianError("give at least one ridge")
    noise = check_noise(noise)
    if solve not in ("auto", "cholesky", "eigh"):
        raise WilsonianError(f"solve must be 'auto', 'cholesky' or 'eigh', got {solve!r}")
    by_eigh = solve == "eigh" or (solve == "auto" and ridges.size > 1)
    n = operator.n
    eta = check_etas(etas, n, replace=replace)
    eta_max = int(eta[-1])
    tile_rows = int(tile) if tile is not None else max(1, min(n, _TILE_ENTRIES // eta_max))
    n_r, n_e, out_shape = ridges.size, eta.size, y.shape[1:]
    n_out = int(np.prod(out_shape)) if out_shape else 1
    errors = np.empty((trials, n_r, n_e))
    train = np.empty((trials, n_r, n_e))
    evidence = np.empty((trials, n_r, n_e))
    optimal = np.empty((trials, n_e)) if by_eigh else None
    fallbacks = np.zeros(n_r, dtype=int)
    if keep_predictions:
        # Welford's running mean and sum of squared deviations: stable for any number of draws.
        running_mean = np.zeros((n_r, n_e, n) + out_shape)
        running_m2 = np.zeros_like(running_mean)
        predictions = np.empty_like(running_mean)
    streams = np.random.SeedSequence(seed).spawn(trials)
    for t in progress_iter(range(trials), "learning curve draws", progress):
        order = draw_order(streams[t], n, eta_max, replace)
        targets = y[order] + label_noise(streams[t], (eta_max,) + out_shape, noise) if noise else y[order]
        K_train = operator.block(order)
        if by_eigh:
            alphas, evidence[t], optimal[t] = eigen_weights(K_train, targets, eta, ridges)
        else:
            alphas = np.empty((eta_max, n_r, n_e, n_out))
            for r, ridge in enumerate(ridges):
                alphas[:, r], evidence[t, r], failed = nested_weights(K_train, targets, eta, ridge)
                fallbacks[r] += failed
        # train errors, against the labels each training set was fitted to: where σ² > 0 the
        # residual is exactly −σ²α, which keeps its digits when K is ill-conditioned (K α − y
        # loses them to cancellation); at σ² = 0 (or a singular solve) it is computed directly
        columns = targets.reshape(eta_max, n_out)
        for j, m in enumerate(eta):
            m = int(m)
            alpha = alphas[:m, :, j]  # (m, R, C)
            residual = -ridges[None, :, None] * alpha
            direct = ridges == 0
            if direct.any():
                fitted = np.einsum("ik,krc->irc", K_train[:m, :m], alpha[:, direct])
                residual[:, direct] = fitted - columns[:m, None, :]
            train[t, :, j] = np.einsum("irc,irc->r", residual, residual) / m
        # each η's predictor uses only its own m training points: one product per η over the
        # first m columns costs Σ_j m_j, not n_eta·η_max, columns of kernel rows
        weights = [np.ascontiguousarray(alphas[:int(m), :, j]).reshape(int(m), n_r * n_out) for j, m in enumerate(eta)]
        squared = np.zeros((n_r, n_e))
        for r0 in range(0, n, tile_rows):
            r1 = min(r0 + tile_rows, n)
            rows = operator.block(slice(r0, r1), order)
            targets_here = y[r0:r1].reshape(r1 - r0, 1, n_out)
            for j, m in enumerate(eta):
                predicted = (rows[:, :int(m)] @ weights[j]).reshape(r1 - r0, n_r, n_out)
                if keep_predictions:
                    predictions[:, j, r0:r1] = np.moveaxis(predicted, 0, 1).reshape(n_r, r1 - r0, *out_shape)
                predicted -= targets_here
                squared[:, j] += np.einsum("irc,irc->r", predicted, predicted)
        errors[t] = squared / n
        if keep_predictions:
            delta = predictions - running_mean
            running_mean += delta / (t + 1)
            running_m2 += delta * (predictions - running_mean)
    meta = {"method": operator.storage, "operator": operator.backend, "tile_rows": tile_rows,
            "solve": "eigh" if by_eigh else "cholesky"}
    curves = []
    for r, ridge in enumerate(ridges):
        kept = {}
        if keep_predictions:
            variance = running_m2[r] / (trials - 1) if trials > 1 else np.zeros_like(running_m2[r])
            kept = {"prediction_mean": running_mean[r], "prediction_var": variance}
        curves.append(LearningCurve(
            eta, errors[:, r], float(ridge), bool(replace), int(seed), True, int(fallbacks[r]), meta=dict(meta),
            train_errors=train[:, r], log_evidence=evidence[:, r],
            optimal_ridge=None if optimal is None else optimal.copy(), noise=noise, **kept))
    return curves


def learning_curve(kernel, y: np.ndarray, etas, *, ridge: float, trials: int = 10, replace: bool = False,
                   seed: int = 0, noise: float = 0.0, progress: bool = False, keep_predictions: bool = False,
                   tile: int | None = None) -> LearningCurve:
    """Empirical learning curve of exact GP regression at one ridge σ² (THEORY.md §3).

    The arguments are those of :func:`learning_curves` with one ``ridge``; one Cholesky
    factor per draw serves every η.
    """
    return learning_curves(kernel, y, etas, ridges=[ridge], trials=trials, replace=replace, seed=seed, noise=noise,
                           progress=progress, keep_predictions=keep_predictions, tile=tile)[0]
