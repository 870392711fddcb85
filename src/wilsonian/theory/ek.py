"""Equivalence kernel (EK) theory, THEORY.md §4.

Per mode: f̄_k = λ_k y_k / (λ_k + σ²/η),  Var f_k = 1/(λ_k⁻¹ + η/σ²),
E_EK(η) = Σ_k [(σ²/η)/(λ_k + σ²/η)]² y_k².

The functions here take a :class:`~wilsonian.spectrum.Spectrum` and validated η and σ²;
:class:`wilsonian.theory.Theory` is the validated entry point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wilsonian.spectrum import Spectrum
from wilsonian.theory._sums import LAMBDA2, POWER, resolvent


@dataclass(frozen=True)
class EK:
    """EK prediction on a grid of η: ``error`` E_EK(η) with the bare ridge σ²."""

    eta: np.ndarray
    error: np.ndarray
    ridge: float
    gamma: np.ndarray | None = None  # η Σ λ²/(ηλ + σ²)²: how much label noise reaches the predictor
    noise: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"eta": self.eta, "error": self.error, "ridge": self.ridge, "gamma": self.gamma, "noise": self.noise}


def unlearned_fraction(eigenvalues: np.ndarray, eta: np.ndarray, ridge: float | np.ndarray) -> np.ndarray:
    """(σ²/η)/(λ_k + σ²/η) = σ²/(ηλ_k + σ²) as an (n_eta, M) array.

    ``ridge`` may be a scalar or one value per η (the RG's renormalized ridge). A mode with
    λ_k = 0 and σ² = 0 is taken as unlearned (fraction 1), the limit λ → 0 at fixed σ².
    """
    ridge_col = np.broadcast_to(np.asarray(ridge, dtype=np.float64), eta.shape)[:, None]
    denominator = eta[:, None] * eigenvalues[None, :] + ridge_col
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = ridge_col / denominator
    return np.where(denominator > 0, fraction, 1.0)


def mode_predictor(spectrum: Spectrum, eta: np.ndarray, ridge: float) -> np.ndarray:
    """Average predictor per mode f̄_k = λ_k y_k/(λ_k + σ²/η), shape (n_eta, M)."""
    learned = 1.0 - unlearned_fraction(spectrum.eigenvalues, eta, ridge)
    yk = spectrum.target_coefficients
    return learned * yk[None, :] if yk.ndim == 1 else learned[:, :, None] * yk[None, :, :]


def mode_variance(spectrum: Spectrum, eta: np.ndarray, ridge: float) -> np.ndarray:
    """Posterior variance per mode 1/(λ_k⁻¹ + η/σ²) = λ_k σ²/(σ² + ηλ_k), shape (n_eta, M)."""
    lam = spectrum.eigenvalues[None, :]
    denominator = ridge + eta[:, None] * lam
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = lam * ridge / denominator
    return np.where(denominator > 0, variance, 0.0)


def error_with_ridge(spectrum: Spectrum, eta: np.ndarray, ridge: float | np.ndarray,
                     noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(E_EK, γ) for a given (scalar or per-η) ridge ρ and label noise ε²:

        E = ρ² Σ_k y_k²/(ηλ_k + ρ)² + unlearnable power + ε² γ,   γ = η Σ_k λ_k²/(ηλ_k + ρ)².

    EK per mode is f_k = ηλ_k/(ηλ_k + ρ)·(y_k + n_k), where the noise projects onto mode k
    with variance ε²/η; its square adds ε² ηλ_k²/(ηλ_k + ρ)². Unresolved tail modes
    (truncated spectra) and zero modes count as unlearned.
    """
    _, _, unlearnable = spectrum.positive_part()
    rho = np.ascontiguousarray(np.broadcast_to(np.asarray(ridge, dtype=np.float64), eta.shape))
    _, sums = resolvent(spectrum)(eta, rho, second=[LAMBDA2, POWER])
    gamma = eta * sums[:, 0]
    return np.square(rho) * sums[:, 1] + unlearnable + noise * gamma, gamma


def ek_prediction(spectrum: Spectrum, eta: np.ndarray, ridge: float, noise: float = 0.0) -> EK:
    """E_EK(η) = Σ_k [(σ²/η)/(λ_k + σ²/η)]² y_k² (+ ε² γ with label noise)."""
    error, gamma = error_with_ridge(spectrum, eta, ridge, noise)
    return EK(eta, error, ridge, gamma, noise)
