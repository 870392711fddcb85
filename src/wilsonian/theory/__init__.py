"""Learning-curve theories of THEORY.md §4–5, vectorized over η.

The entry point is :class:`Theory`: ``Theory(spectrum, ridge, threshold)`` answers EK,
spectral bias, the RG flow, the truncation bound and the non-Gaussian report. The
functions below are shortcuts with the same validation, one call each:

- :func:`ek_error` and friends: the equivalence kernel (EK).
- :func:`spectral_bias`: Canatar, Bordelon & Pehlevan's self-consistent theory (and
  :func:`eigenlearning`, the same in Simon et al.'s convention).
- :func:`rg_prediction`: the Wilsonian RG flow of the ridge for Gaussian features
  (the paper's theory) and the "rg-fluct" extension.
- :func:`soft_flow`: the soft flow from the RG's sharp cutoff to its fixed point, the
  spectral-bias κ (:mod:`wilsonian.theory.flow`).
- :mod:`wilsonian.theory.scaling`: power-law exponents.
"""

from __future__ import annotations

import numpy as np

from wilsonian.spectrum import Spectrum, as_spectrum
from wilsonian.theory.core import Predictions, Theory
from wilsonian.theory.ek import EK
from wilsonian.theory.flow import SoftFlow
from wilsonian.theory.rg import RGPrediction
from wilsonian.theory.scaling import (
    PowerLawFit,
    fit_power_law,
    learning_curve_exponent,
    spectrum_exponent,
    target_tail_exponent,
)
from wilsonian.theory.spectral_bias import Eigenlearning, SpectralBias
from wilsonian.theory.truncation import TruncationBound, truncation_bound


def _targetless(spectrum, coefficients):
    """Eigenvalues alone are enough for the flow helpers: zeros stand in for the targets."""
    if coefficients is None and not isinstance(spectrum, Spectrum):
        coefficients = np.zeros(np.shape(spectrum))
    return coefficients


def ek_error(spectrum, etas, ridge: float, coefficients=None) -> np.ndarray:
    """E_EK(η) = Σ_k [(σ²/η)/(λ_k + σ²/η)]² y_k², shape (n_eta,) (= ``Theory(...).ek(η).error``)."""
    return Theory(spectrum, ridge, coefficients=coefficients).ek(etas).error


def ek_mode_predictor(spectrum, etas, ridge: float, coefficients=None) -> np.ndarray:
    """Average predictor per mode f̄_k = λ_k y_k/(λ_k + σ²/η), shape (n_eta, M)."""
    return Theory(spectrum, ridge, coefficients=coefficients).ek_mode_predictor(etas)


def ek_mode_variance(spectrum, etas, ridge: float, coefficients=None) -> np.ndarray:
    """Posterior variance per mode 1/(λ_k⁻¹ + η/σ²), shape (n_eta, M)."""
    return Theory(spectrum, ridge, coefficients=coefficients).ek_mode_variance(etas)


def spectral_bias(spectrum, etas, ridge: float, coefficients=None, *, noise: float = 0.0) -> SpectralBias:
    """Solve for κ(η) and return E_SB(η) (THEORY.md §4, Canatar et al. 2021); ``noise`` is ε²."""
    return Theory(spectrum, ridge, noise=noise, coefficients=coefficients).spectral_bias(etas)


def spectral_bias_mode_errors(spectrum, etas, ridge: float, coefficients=None) -> np.ndarray:
    """Per-mode errors (1/(1−γ)) κ² y_k²/(ηλ_k + κ)², shape (n_eta, M)."""
    return Theory(spectrum, ridge, coefficients=coefficients).spectral_bias_mode_errors(etas)


def eigenlearning(spectrum, etas, ridge: float, coefficients=None) -> Eigenlearning:
    """Spectral bias in the eigenlearning convention κ_S = κ/η (Simon et al.)."""
    return Theory(spectrum, ridge, coefficients=coefficients).eigenlearning(etas)


def ridge_flow(spectrum, ridge: float, coefficients=None) -> np.ndarray:
    """The running ridge σ²(κ) = σ² + Σ_{k>κ} λ_k for κ = 0, 1, …, M (length M + 1)."""
    return Theory(spectrum, ridge, coefficients=_targetless(spectrum, coefficients)).ridge_flow()


def learnability(spectrum, etas, ridge: float, coefficients=None) -> np.ndarray:
    """L_k(η) = ηλ_k/(ηλ_k + σ²(k)) with the running ridge, shape (n_eta, M)."""
    return Theory(spectrum, ridge, coefficients=_targetless(spectrum, coefficients)).learnability(etas)


def renormalized_ridge(spectrum, etas, ridge: float, threshold: float = 0.5,
                       coefficients=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(κ*(η), σ_eff²(η), all_learnable(η)) for the threshold T."""
    theory = Theory(spectrum, ridge, threshold, coefficients=_targetless(spectrum, coefficients))
    return theory.renormalized_ridge(etas)


def rg_prediction(spectrum, etas, ridge: float, threshold: float = 0.5, coefficients=None) -> RGPrediction:
    """The Wilsonian RG learning curve E_RG(η) and its flow quantities (THEORY.md §4)."""
    return Theory(spectrum, ridge, threshold, coefficients=coefficients).rg(etas)


def soft_flow(spectrum, etas, ridge: float, threshold: float = 0.5, coefficients=None, *,
              iterations: int = 20, start="sharp") -> SoftFlow:
    """The soft flow σ²_{n+1} = σ² + Σ_k λ_k (1 − L_k(σ²_n)) from the sharp cutoff to κ."""
    return Theory(spectrum, ridge, threshold, coefficients=_targetless(spectrum, coefficients)).soft_flow(
        etas, iterations, start=start)


def prepare_modes(spectrum, coefficients=None) -> Spectrum:
    """A :class:`Spectrum` for (eigenvalues, coefficients), or the spectrum itself.

    Kept for scripts written before :class:`Spectrum` held the shared sums itself: every
    theory evaluated on one spectrum already shares its set-up.
    """
    return as_spectrum(spectrum, coefficients)


__all__ = [
    "EK",
    "Eigenlearning",
    "PowerLawFit",
    "Predictions",
    "RGPrediction",
    "SoftFlow",
    "SpectralBias",
    "Theory",
    "TruncationBound",
    "eigenlearning",
    "ek_error",
    "ek_mode_predictor",
    "ek_mode_variance",
    "fit_power_law",
    "learnability",
    "learning_curve_exponent",
    "prepare_modes",
    "renormalized_ridge",
    "rg_prediction",
    "ridge_flow",
    "soft_flow",
    "spectral_bias",
    "spectral_bias_mode_errors",
    "spectrum_exponent",
    "target_tail_exponent",
    "truncation_bound",
]
