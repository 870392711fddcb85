"""Spectral-bias theory of Canatar, Bordelon & Pehlevan (2021), THEORY.md §4.

κ solves  κ = σ² + (κ/η) Σ_k λ_k/(λ_k + κ/η),
γ = η Σ_k λ_k²/(ηλ_k + κ)²,
E_SB(η) = (1/(1−γ)) Σ_k κ² y_k²/(ηλ_k + κ)²  (+ ε² γ/(1−γ) with label noise ε²).

The root finder works on F(κ) = κ − σ² − κ Σ_k λ_k/(ηλ_k + κ), which is convex with
F'(κ) = 1 − γ(κ). Newton's method started above the largest root therefore decreases
monotonically onto it and cannot overshoot, whatever the spread of the eigenvalues; a good
upper start (from the RG ridge, which tracks κ to a few percent) keeps the iteration count
small. Everything is vectorized over η; there is no loop over modes.

The functions here take a :class:`~wilsonian.spectrum.Spectrum` and validated η and σ²;
:class:`wilsonian.theory.Theory` is the validated entry point.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from wilsonian.errors import WilsonianError
from wilsonian.spectrum import Spectrum
from wilsonian.theory._sums import LAMBDA, LAMBDA2, POWER, ResolventSums, resolvent

_RELATIVE_TOLERANCE = 1e-14
_MAX_NEWTON_STEPS = 200


@dataclass(frozen=True)
class SpectralBias:
    """Spectral-bias prediction on a grid of η.

    Attributes
    ----------
    eta, kappa, gamma, error : (n_eta,) arrays
        κ(η) in Canatar's convention (κ_eigenlearning = κ/η), γ(η) and E_SB(η).
    residual : (n_eta,)
        |κ − σ² − κΣλ/(ηλ+κ)| / κ at the returned κ (0 where κ = 0 is the root).
    iterations : int
        Newton steps taken by the slowest η.
    """

    eta: np.ndarray
    kappa: np.ndarray
    gamma: np.ndarray
    error: np.ndarray
    residual: np.ndarray
    ridge: float
    noise: float
    iterations: int

    @property
    def kappa_eigenlearning(self) -> np.ndarray:
        """κ_S = κ/η, the convention of Simon et al. (eigenlearning)."""
        return self.kappa / self.eta

    @property
    def train_error(self) -> np.ndarray:
        """The train MSE that eigenlearning predicts: (σ²/κ)² (E_SB + ε²), against the noisy
        training labels (Simon et al. 2021: E_train = (δ/(nκ_S))² E_test, with the test error
        there measured against noisy labels; here E_SB is against clean ones, hence + ε²).
        0 at σ² = 0 (the GP interpolates)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(self.kappa > 0, np.square(self.ridge / np.where(self.kappa > 0, self.kappa, 1.0)), 0.0)
        return factor * (self.error + self.noise)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "train_error": self.train_error}


def _equation(sums: ResolventSums, eta: np.ndarray, kappa: np.ndarray, floor: float):
    """F(κ) = κ − σ² − τ − κΣλ/(ηλ+κ) and F'(κ) = 1 − γ, γ = ηΣλ²/(ηλ+κ)², per η."""
    first, second = sums(eta, kappa, first=[LAMBDA], second=[LAMBDA2])
    f = kappa - floor - kappa * first[:, 0]
    gamma = eta * second[:, 0]
    return f, 1.0 - gamma


def solve_kappa(
    spectrum: Spectrum, eta: np.ndarray, ridge: float, initial: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """The largest root κ(η) of F(κ) = κ − σ² − τ − κ Σλ/(ηλ+κ) (τ = unresolved tail mass).

    Returns (κ, relative residual |F(κ)|/κ, Newton steps of the slowest η). For σ² + τ = 0
    and η ≥ number of nonzero modes, κ = 0 is the only root and is returned.
    """
    lam = spectrum.eigenvalues[: spectrum.n_positive]
    floor = ridge + spectrum.tail_mass  # F(floor) ≤ 0
    top = floor + float(lam.sum())  # F(top) > 0 whenever some λ > 0
    if lam.size == 0:
        return np.full(eta.shape, floor), np.zeros(eta.shape), 0
    kappa = np.full(eta.shape, top)
    zero_root = (floor == 0.0) & (eta >= lam.size)
    active = ~zero_root
    kappa[zero_root] = 0.0

    # Start from the guess where it lies above the root (F ≥ 0). From below, one Newton step
    # of a convex function lands above the root; if that fails, keep the safe upper bound.
    if initial is not None:
        guess = np.clip(np.asarray(initial, dtype=np.float64), floor, top)
        idx = np.flatnonzero(active & (guess > 0))
        if idx.size:
            f, fprime = _equation(resolvent(spectrum), eta[idx], guess[idx], floor)
            stepped = guess[idx] - np.divide(f, fprime, out=np.full_like(f, np.inf), where=fprime > 0)
            start = np.where(f >= 0, guess[idx], stepped)
            ok = np.isfinite(start) & (start > floor) & (start <= top)
            kappa[idx[ok]] = start[ok]

    idx = np.flatnonzero(active)
    start = kappa[idx]
    steps, unconverged = resolvent(spectrum).expansion.newton_from_above(
        LAMBDA, LAMBDA2, eta[idx], start, floor, _RELATIVE_TOLERANCE, _MAX_NEWTON_STEPS)
    kappa[idx] = start
    if unconverged:
        raise WilsonianError(
            f"the spectral-bias equation did not converge for {unconverged} values of eta "
            f"after {_MAX_NEWTON_STEPS} Newton steps"
        )
    residual = np.zeros(eta.shape)
    pos = kappa > 0
    if np.any(pos):
        f, _ = _equation(resolvent(spectrum), eta[pos], kappa[pos], floor)
        residual[pos] = np.abs(f) / kappa[pos]
    return kappa, residual, steps


def _initial_guess(spectrum: Spectrum, eta: np.ndarray, ridge: float) -> np.ndarray:
    from wilsonian.theory.rg import cutoff_and_ridge  # the RG ridge tracks κ closely

    _, guess, _ = cutoff_and_ridge(spectrum, eta, ridge, 0.5)
    return guess


def _error_factors(lam: np.ndarray, eta: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """κ/(ηλ_k + κ) as (n_eta, M); 1 for a mode with ηλ_k + κ = 0 (λ = 0 at κ = 0)."""
    denominator = eta[:, None] * lam[None, :] + kappa[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = kappa[:, None] / denominator
    return np.where(denominator > 0, fraction, 1.0)


def spectral_bias(spectrum: Spectrum, eta: np.ndarray, ridge: float, noise: float = 0.0) -> SpectralBias:
    """Solve for κ(η) and return E_SB(η) (THEORY.md §4, Canatar et al. 2021).

    ``noise`` is the label-noise variance ε² ≥ 0 (adds ε² γ/(1−γ)). Where γ ≥ 1 (σ² = 0 at
    η equal to the number of nonzero modes) the error is +inf.
    """
    kappa, residual, steps = solve_kappa(spectrum, eta, ridge, _initial_guess(spectrum, eta, ridge))
    _, _, unlearnable = spectrum.positive_part()
    # κ = 0 (σ² = 0, η ≥ M) leaves 1/(ηλ) finite since every λ here is > 0.
    _, sums = resolvent(spectrum)(eta, kappa, second=[LAMBDA2, POWER])
    gamma = eta * sums[:, 0]
    bias = np.square(kappa) * sums[:, 1] + unlearnable
    with np.errstate(divide="ignore", invalid="ignore"):
        one_minus = 1.0 - gamma
        error = np.where(one_minus > 0, (bias + noise * gamma) / one_minus, np.inf)
    return SpectralBias(eta, kappa, gamma, error, residual, ridge, noise, steps)


def mode_errors(spectrum: Spectrum, result: SpectralBias) -> np.ndarray:
    """Per-mode errors (1/(1−γ)) κ² y_k²/(ηλ_k + κ)², shape (n_eta, M); they sum to E_SB − tail."""
    factors = _error_factors(spectrum.eigenvalues, result.eta, result.kappa)
    with np.errstate(divide="ignore"):
        scale = np.where(result.gamma < 1, 1.0 / (1.0 - result.gamma), np.inf)
    return scale[:, None] * np.square(factors) * spectrum.mode_power[None, :]


@dataclass(frozen=True)
class Eigenlearning:
    """Eigenlearning (Simon et al. 2021) in its own convention: κ_S, learnabilities, E."""

    eta: np.ndarray
    kappa: np.ndarray  # κ_S, solves Σ_k λ_k/(λ_k+κ_S) + σ²/κ_S = η
    learnability: np.ndarray  # (n_eta, M), L_k = λ_k/(λ_k + κ_S)
    overfitting: np.ndarray  # E_0 = η/(η − Σ L_k²)
    error: np.ndarray  # E_0 Σ (1 − L_k)² y_k²

    @property
    def learnability_sum(self) -> np.ndarray:
        """Σ_k L_k, the conservation law of eigenlearning: = η − σ²/κ_S (the κ equation), so
        it equals η in the ridgeless limit while η is below the number of modes."""
        return self.learnability.sum(axis=1)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def eigenlearning(spectrum: Spectrum, eta: np.ndarray, ridge: float) -> Eigenlearning:
    """The same theory written in the eigenlearning convention κ_S = κ/η.

    Its error formula, E_0 Σ (1−L_k)² y_k² with E_0 = η/(η − Σ L_k²), is algebraically equal
    to E_SB; the tests check that the two agree.
    """
    kappa, _, _ = solve_kappa(spectrum, eta, ridge, _initial_guess(spectrum, eta, ridge))
    kappa_s = kappa / eta
    lam = spectrum.eigenvalues[None, :]
    denominator = lam + kappa_s[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        learn = np.where(denominator > 0, lam / denominator, 0.0)
        overfitting = eta / (eta - np.square(learn).sum(axis=1))
    error = overfitting * (np.square(1.0 - learn) @ spectrum.mode_power + spectrum.tail_power)
    error = np.where(overfitting > 0, error, np.inf)
    return Eigenlearning(eta, kappa_s, learn, overfitting, error)


def optimal_ridge(spectrum: Spectrum, eta: np.ndarray, noise: float = 0.0, *, decades: float = 16.0) -> np.ndarray:
    """The σ² that minimizes E_SB(η) at each η (label noise ε² included), shape (n_eta,).

    A bounded search in log σ² from ``decades`` below to 2 above the largest eigenvalue:
    a grid of 37 points, then Brent's method between the neighbours of the best one. Without
    label noise the optimum of a noiseless target is often σ² → 0: the lower bound is then
    returned.
    """
    from scipy.optimize import minimize_scalar

    top = float(spectrum.eigenvalues[0]) if spectrum.n_modes else 1.0
    low, high = np.log(top) - decades * np.log(10.0), np.log(top) + 2 * np.log(10.0)
    grid = np.linspace(low, high, 37)
    # The grid for every η at once (37 solves instead of 37 per η): each η's κ is solved on
    # its own (Newton stops per η), so these are the values of one η at a time, bit for bit.
    on_grid = np.array([spectral_bias(spectrum, eta, float(np.exp(g)), noise).error for g in grid]).T
    on_grid = np.where(np.isfinite(on_grid), on_grid, np.inf)
    best = np.empty(eta.size)
    for i, e in enumerate(eta):
        point = np.array([e])

        def error(log_ridge: float) -> float:
            value = spectral_bias(spectrum, point, float(np.exp(log_ridge)), noise).error[0]
            return float(value) if np.isfinite(value) else np.inf

        values = on_grid[i]
        j = int(np.argmin(values))
        result = minimize_scalar(error, bounds=(grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]),
                                 method="bounded", options={"xatol": 1e-6})
        best[i] = np.exp(result.x) if result.fun <= values[j] else np.exp(grid[j])
    return best
