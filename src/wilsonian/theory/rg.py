"""Wilsonian RG of the ridge for Gaussian features, THEORY.md §4.

Integrating out the feature modes φ_k and GP modes f_k with k > κ, shell by shell, adds each
shell's variance to the ridge:

    σ²(κ) = σ² + Σ_{k>κ} λ_k          (dσ²/dκ = −λ_κ; seed: "σ_c² = σ² + c")

Learnability with the running ridge: L_k = ηλ_k/(ηλ_k + σ²(k)). The cutoff κ*(η) is the
number of modes before the first one, counting from the largest eigenvalue, with L_k < T.
Renormalized ridge σ_eff²(η) = σ²(κ*), and the RG prediction is the EK error with that ridge:

    E_RG(η) = Σ_k [(σ_eff²/η)/(λ_k + σ_eff²/η)]² y_k².

The cutoff is found for all η at once: L_k < T ⇔ η < h_k = T σ²(k)/((1−T) λ_k), so the first
such k is the first place where the running maximum of h_k exceeds η (a binary search).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wilsonian.spectrum import Spectrum
from wilsonian.theory._common import LAMBDA2, POWER, Modes, as_etas, as_modes, check_ridge, check_threshold


def _flow(modes: Modes, ridge: float) -> np.ndarray:
    """σ²(κ) for κ = 0..M; summed from the smallest eigenvalue up for accuracy."""
    return ridge + modes.tail_mass + modes.tail_sums


def ridge_flow(spectrum: Spectrum | np.ndarray, ridge: float, coefficients=None) -> np.ndarray:
    """The running ridge σ²(κ) = σ² + Σ_{k>κ} λ_k for κ = 0, 1, …, M (length M + 1).

    σ²(0) = σ² + Σ_k λ_k (everything integrated out); σ²(M) = σ² (+ unresolved tail mass).
    """
    modes = as_modes(spectrum, coefficients if coefficients is not None else
                     (None if isinstance(spectrum, (Spectrum, Modes)) else np.zeros(np.shape(spectrum))))
    return _flow(modes, check_ridge(ridge))


def learnability(spectrum: Spectrum | np.ndarray, etas, ridge: float, coefficients=None) -> np.ndarray:
    """L_k(η) = ηλ_k/(ηλ_k + σ²(k)) with the running ridge, shape (n_eta, M)."""
    modes = as_modes(spectrum, coefficients if coefficients is not None else
                     (None if isinstance(spectrum, (Spectrum, Modes)) else np.zeros(np.shape(spectrum))))
    eta = as_etas(etas)
    running = _flow(modes, check_ridge(ridge))[1:]
    signal = eta[:, None] * modes.eigenvalues[None, :]
    denominator = signal + running[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        values = signal / denominator
    return np.where(denominator > 0, values, 0.0)


#: Cutoff tables (2·(M + 1) floats each) kept per Modes.
_CUTOFF_TABLES_KEPT = 4


def _cutoff_table(modes: Modes, ridge: float, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(σ²(κ) for κ = 0..M, running maximum over k' ≤ k of the η below which L_k' < T).

    Mode k is unlearnable (L_k < T) for η < h_k = T σ²(k)/((1 − T) λ_k), so the first such
    mode at a given η is the first k whose running maximum of h exceeds η. Kept on the modes
    per (σ², T): the spectral-bias start and the RG need the same table.
    """
    key = ("cutoff", ridge, threshold)
    table = modes.cache.get(key)
    if table is None:
        if len(modes.cache) >= _CUTOFF_TABLES_KEPT:  # a sweep over ridges keeps the latest few
            modes.cache.pop(next(iter(modes.cache)))
        flow = _flow(modes, ridge)
        lam = modes.eigenvalues
        with np.errstate(divide="ignore", invalid="ignore"):
            h = threshold * flow[1:] / ((1.0 - threshold) * lam)
        h = np.where(lam > 0, h, np.inf)  # a zero mode is never learnable
        table = modes.cache[key] = (flow, np.maximum.accumulate(h) if h.size else h)
    return table


def _cutoff_and_ridge(modes: Modes, eta: np.ndarray, ridge: float, threshold: float):
    flow, running_max = _cutoff_table(modes, ridge, threshold)
    lam = modes.eigenvalues
    cutoff = np.searchsorted(running_max, eta, side="right")
    all_learnable = cutoff == lam.size
    return cutoff, flow[cutoff], all_learnable


@dataclass(frozen=True)
class RGPrediction:
    """Gaussian-feature RG prediction on a grid of η.

    Attributes
    ----------
    cutoff : (n_eta,) int
        κ*(η): number of modes kept (learnable) before the first with L_k < T.
    renormalized_ridge : (n_eta,)
        σ_eff²(η) = σ²(κ*).
    all_learnable : (n_eta,) bool
        True where no resolved mode has L_k < T: then σ_eff² = σ² and the RG has nothing
        to integrate out (typically η close to the number of resolved modes).
    error : (n_eta,)
        E_RG(η), the paper's RG theory.
    gamma : (n_eta,)
        γ_RG = η Σ λ_k²/(ηλ_k + σ_eff²)².
    error_fluct : (n_eta,)
        Extension "rg-fluct": E_RG/(1 − γ_RG), +inf where γ_RG ≥ 1. Not in the paper.
    """

    eta: np.ndarray
    cutoff: np.ndarray
    renormalized_ridge: np.ndarray
    all_learnable: np.ndarray
    error: np.ndarray
    gamma: np.ndarray
    error_fluct: np.ndarray
    ridge: float
    threshold: float


def renormalized_ridge(spectrum: Spectrum | np.ndarray, etas, ridge: float, threshold: float = 0.5,
                       coefficients=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(κ*(η), σ_eff²(η), all_learnable(η)) for the threshold T."""
    modes = as_modes(spectrum, coefficients if coefficients is not None else
                     (None if isinstance(spectrum, (Spectrum, Modes)) else np.zeros(np.shape(spectrum))))
    return _cutoff_and_ridge(modes, as_etas(etas), check_ridge(ridge), check_threshold(threshold))


def rg_prediction(
    spectrum: Spectrum | np.ndarray, etas, ridge: float, threshold: float = 0.5, coefficients=None
) -> RGPrediction:
    """The Wilsonian RG learning curve E_RG(η) and its flow quantities (THEORY.md §4)."""
    modes = as_modes(spectrum, coefficients)
    eta = as_etas(etas)
    ridge = check_ridge(ridge)
    threshold = check_threshold(threshold)
    cutoff, sigma_eff, all_learnable = _cutoff_and_ridge(modes, eta, ridge, threshold)
    _, _, unlearnable = modes.positive_part()
    _, sums = modes.resolvent(eta, sigma_eff, second=[LAMBDA2, POWER])
    gamma = eta * sums[:, 0]  # γ_RG = η Σ λ²/(ηλ + σ_eff²)²
    error = np.square(sigma_eff) * sums[:, 1] + unlearnable  # EK with the renormalized ridge
    with np.errstate(invalid="ignore", divide="ignore"):
        error_fluct = np.where(gamma < 1, error / (1.0 - gamma), np.inf)
    return RGPrediction(eta, cutoff, sigma_eff, all_learnable, error, gamma, error_fluct, ridge, threshold)
