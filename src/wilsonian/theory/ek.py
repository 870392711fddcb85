"""Equivalence kernel (EK) theory, THEORY.md §4.

Per mode: f̄_k = λ_k y_k / (λ_k + σ²/η),  Var f_k = 1/(λ_k⁻¹ + η/σ²),
E_EK(η) = Σ_k [(σ²/η)/(λ_k + σ²/η)]² y_k².
"""

from __future__ import annotations

import numpy as np

from wilsonian.spectrum import Spectrum
from wilsonian.theory._common import POWER, as_etas, as_modes, check_ridge


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


def ek_mode_predictor(
    spectrum: Spectrum | np.ndarray, etas, ridge: float, coefficients=None
) -> np.ndarray:
    """Average predictor per mode f̄_k = λ_k y_k/(λ_k + σ²/η), shape (n_eta, M)."""
    modes = as_modes(spectrum, coefficients)
    eta = as_etas(etas)
    ridge = check_ridge(ridge)
    learned = 1.0 - unlearned_fraction(modes.eigenvalues, eta, ridge)
    return learned * modes.coefficients[None, :]


def ek_mode_variance(spectrum: Spectrum | np.ndarray, etas, ridge: float, coefficients=None) -> np.ndarray:
    """Posterior variance per mode 1/(λ_k⁻¹ + η/σ²) = λ_k σ²/(σ² + ηλ_k), shape (n_eta, M)."""
    modes = as_modes(spectrum, coefficients)
    eta = as_etas(etas)
    ridge = check_ridge(ridge)
    lam = modes.eigenvalues[None, :]
    denominator = ridge + eta[:, None] * lam
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = lam * ridge / denominator
    return np.where(denominator > 0, variance, 0.0)


def ek_error_with_ridge(modes, eta: np.ndarray, ridge: float | np.ndarray) -> np.ndarray:
    """E_EK for a given (scalar or per-η) ridge ρ: ρ² Σ_k y_k²/(ηλ_k + ρ)² + unlearnable power."""
    _, _, unlearnable = modes.positive_part()
    rho = np.ascontiguousarray(np.broadcast_to(np.asarray(ridge, dtype=np.float64), eta.shape))
    _, sums = modes.resolvent(eta, rho, second=[POWER])
    return np.square(rho) * sums[:, 0] + unlearnable


def ek_error(spectrum: Spectrum | np.ndarray, etas, ridge: float, coefficients=None) -> np.ndarray:
    """E_EK(η) = Σ_k [(σ²/η)/(λ_k + σ²/η)]² y_k², shape (n_eta,).

    Unresolved tail modes (truncated spectra) count as unlearned: they add ``tail_power``.
    """
    modes = as_modes(spectrum, coefficients)
    return ek_error_with_ridge(modes, as_etas(etas), check_ridge(ridge))
