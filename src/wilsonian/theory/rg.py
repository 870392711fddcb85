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

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from wilsonian.spectrum import Spectrum
from wilsonian.theory._sums import LAMBDA2, POWER, resolvent


def ridge_flow(spectrum: Spectrum, ridge: float) -> np.ndarray:
    """The running ridge σ²(κ) = σ² + Σ_{k>κ} λ_k for κ = 0, 1, …, M (length M + 1).

    σ²(0) = σ² + Σ_k λ_k (everything integrated out); σ²(M) = σ² (+ unresolved tail mass).
    Summed from the smallest eigenvalue up for accuracy.
    """
    return ridge + spectrum.tail_mass + spectrum.tail_sums


def learnability(spectrum: Spectrum, eta: np.ndarray, ridge: float) -> np.ndarray:
    """L_k(η) = ηλ_k/(ηλ_k + σ²(k)) with the running ridge σ²(k) = σ² + Σ_{j>k} λ_j, shape (n_eta, M)."""
    running = ridge_flow(spectrum, ridge)[1:]
    signal = eta[:, None] * spectrum.eigenvalues[None, :]
    denominator = signal + running[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        values = signal / denominator
    return np.where(denominator > 0, values, 0.0)


def _cutoff_table(spectrum: Spectrum, ridge: float, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(σ²(κ) for κ = 0..M, running maximum over k' ≤ k of the η below which L_k' < T).

    Mode k (1-based) is unlearnable, L_k < T, for η < h_k = T σ²(k)/((1 − T) λ_k), where
    σ²(k) = σ² + Σ_{j>k} λ_j is the running ridge *at* mode k (flow[k] below, not
    flow[k − 1]). So the first such mode at a given η is the first k whose running maximum
    of h exceeds η. Kept on the spectrum per (σ², T): the spectral-bias start and the RG
    need the same table.
    """
    def build():
        flow = ridge_flow(spectrum, ridge)
        lam = spectrum.eigenvalues
        with np.errstate(divide="ignore", invalid="ignore"):
            h = threshold * flow[1:] / ((1.0 - threshold) * lam)
        h = np.where(lam > 0, h, np.inf)  # a zero mode is never learnable
        return flow, (np.maximum.accumulate(h) if h.size else h)

    return spectrum.shared_table(("cutoff", ridge, threshold), build)


def cutoff_and_ridge(spectrum: Spectrum, eta: np.ndarray, ridge: float, threshold: float):
    """(κ*(η), σ_eff²(η) = σ²(κ*), all_learnable(η)) for the threshold T.

    ``all_learnable`` is true where no mode with λ_k > 0 has L_k < T: the RG then has
    nothing to integrate out (modes with λ_k = 0 add nothing to the ridge), and σ_eff² = σ²
    plus the unresolved tail mass.
    """
    flow, running_max = _cutoff_table(spectrum, ridge, threshold)
    cutoff = np.searchsorted(running_max, eta, side="right")
    all_learnable = cutoff >= spectrum.n_positive
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
        True where no mode (with λ_k > 0) has L_k < T: then σ_eff² = σ² and the RG has
        nothing to integrate out (typically η close to the number of resolved modes).
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rg_prediction(spectrum: Spectrum, eta: np.ndarray, ridge: float, threshold: float,
                  noise: float = 0.0) -> RGPrediction:
    """The Wilsonian RG learning curve E_RG(η) and its flow quantities (THEORY.md §4).

    With label noise ε², EK with the renormalized ridge gains ε² γ_RG (the noise reaching
    the kept predictor, see :func:`wilsonian.theory.ek.error_with_ridge`); RG-fluct divides
    the whole by 1 − γ_RG, as spectral bias does.
    """
    cutoff, sigma_eff, all_learnable = cutoff_and_ridge(spectrum, eta, ridge, threshold)
    _, _, unlearnable = spectrum.positive_part()
    _, sums = resolvent(spectrum)(eta, sigma_eff, second=[LAMBDA2, POWER])
    gamma = eta * sums[:, 0]  # γ_RG = η Σ λ²/(ηλ + σ_eff²)²
    error = np.square(sigma_eff) * sums[:, 1] + unlearnable + noise * gamma  # EK with the renormalized ridge
    with np.errstate(invalid="ignore", divide="ignore"):
        error_fluct = np.where(gamma < 1, error / (1.0 - gamma), np.inf)
    return RGPrediction(eta, cutoff, sigma_eff, all_learnable, error, gamma, error_fluct, ridge, threshold)
