"""Learning-curve theories of THEORY.md §4, vectorized over η.

- :func:`ek_error` and friends: the equivalence kernel (EK).
- :func:`spectral_bias`: Canatar, Bordelon & Pehlevan's self-consistent theory (and
  :func:`eigenlearning`, the same in Simon et al.'s convention).
- :func:`rg_prediction`: the Wilsonian RG flow of the ridge for Gaussian features
  (the paper's theory) and the "rg-fluct" extension.
- :mod:`wilsonian.theory.scaling`: power-law exponents.
- :func:`prepare_modes`: evaluate several theories on one spectrum with shared set-up.
"""

from wilsonian.theory._common import Modes, prepare_modes

from wilsonian.theory.ek import ek_error, ek_mode_predictor, ek_mode_variance
from wilsonian.theory.rg import (
    RGPrediction,
    learnability,
    renormalized_ridge,
    rg_prediction,
    ridge_flow,
)
from wilsonian.theory.scaling import (
    PowerLawFit,
    fit_power_law,
    learning_curve_exponent,
    spectrum_exponent,
    target_tail_exponent,
)
from wilsonian.theory.truncation import TruncationBound, truncation_bound
from wilsonian.theory.spectral_bias import (
    Eigenlearning,
    SpectralBias,
    eigenlearning,
    spectral_bias,
    spectral_bias_mode_errors,
    solve_kappa,
)

__all__ = [
    "Eigenlearning",
    "Modes",
    "PowerLawFit",
    "RGPrediction",
    "SpectralBias",
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
    "solve_kappa",
    "spectral_bias",
    "spectral_bias_mode_errors",
    "spectrum_exponent",
    "target_tail_exponent",
    "TruncationBound",
    "truncation_bound",
]
