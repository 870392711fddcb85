"""One object for every theory of a spectrum at one ridge: :class:`Theory`.

``Theory(spectrum, ridge, threshold)`` validates the spectrum, σ² and T once and answers
EK, spectral bias (and eigenlearning), the RG flow (running ridge, learnability, cutoff,
σ_eff², E_RG and RG-fluct), the soft flow from the cutoff to κ, the truncation bound and the
non-Gaussian report. Every
learning-curve answer is a small frozen dataclass with ``eta``, ``error`` and ``as_dict()``;
the shared sums live on the spectrum, so asking several questions costs one set-up.

The module-level functions of :mod:`wilsonian.theory` (``rg_prediction``, ``ek_error``, …)
are one-line shortcuts through this class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wilsonian._validation import as_etas, check_noise, check_ridge, check_threshold
from wilsonian.errors import WilsonianError
from wilsonian.spectrum import Spectrum, as_spectrum
import wilsonian.theory.ek as _ek
import wilsonian.theory.rg as _rg
import wilsonian.theory.spectral_bias as _sb
from wilsonian.theory.ek import EK
from wilsonian.theory.rg import RGPrediction
from wilsonian.theory.spectral_bias import Eigenlearning, SpectralBias


@dataclass(frozen=True)
class Predictions:
    """EK, spectral bias and the RG on one grid of η (what ``wilsonian run`` reports)."""

    eta: np.ndarray
    ek: EK
    spectral_bias: SpectralBias
    rg: RGPrediction

    def table(self) -> dict[str, np.ndarray]:
        """The learning-curve columns of ``results.json`` (one value per η each)."""
        return {
            "ek": self.ek.error,
            "spectral_bias": self.spectral_bias.error,
            "spectral_bias_kappa": self.spectral_bias.kappa,
            "spectral_bias_gamma": self.spectral_bias.gamma,
            "rg": self.rg.error,
            "rg_ridge": self.rg.renormalized_ridge,
            "rg_cutoff": self.rg.cutoff,
            "rg_all_learnable": self.rg.all_learnable,
            "rg_gamma": self.rg.gamma,
            "rg_fluct": self.rg.error_fluct,
            "train_eigenlearning": self.spectral_bias.train_error,
        }

    def compare(self, curve) -> dict[str, np.ndarray]:
        """The learning-curve table: the empirical curve (a :class:`wilsonian.gp.LearningCurve`
        on the same η) beside every theory, as in ``results.json["learning_curve"]``."""
        if not np.array_equal(np.asarray(curve.eta, dtype=float), self.eta):
            raise WilsonianError("the learning curve and the predictions must share their grid of eta")
        table = {"eta": curve.eta, "empirical_mean": curve.mean, "empirical_sem": curve.sem, **self.table()}
        if curve.train_errors is not None:
            table.update(train_empirical_mean=curve.train_mean, train_empirical_sem=curve.train_sem)
        if curve.log_evidence is not None:
            table["log_evidence_mean"] = curve.log_evidence.mean(axis=0)
        return table

    def as_dict(self) -> dict[str, Any]:
        return {"eta": self.eta, "ek": self.ek.as_dict(), "spectral_bias": self.spectral_bias.as_dict(),
                "rg": self.rg.as_dict()}


class Theory:
    """The theories of THEORY.md §4–5 for one spectrum, ridge σ² and threshold T.

    Parameters
    ----------
    spectrum : Spectrum or (M,) eigenvalues of K/N
        With eigenvalues as an array, pass ``coefficients`` (the y_k) too.
    ridge : float
        σ² ≥ 0 (absolute, in the units of K).
    threshold : float
        The RG learnability threshold T ∈ (0, 1) (default 0.5).
    noise : float
        Label-noise variance ε² ≥ 0 on each output of the training labels (default 0).
    coefficients : (M,) array, optional
        Target coefficients y_k when ``spectrum`` is an array.

    Every method takes η (training-set sizes ≥ 1, any array) and is vectorized over it.
    """

    def __init__(self, spectrum: Spectrum | np.ndarray, ridge: float, threshold: float = 0.5, *,
                 noise: float = 0.0, coefficients: np.ndarray | None = None):
        self._spectrum = as_spectrum(spectrum, coefficients)
        self._ridge = check_ridge(ridge)
        self._threshold = check_threshold(threshold)
        self._noise = check_noise(noise)
        # label noise of variance ε² on each of C outputs adds C ε² to the summed error
        self._total_noise = self._noise * self._spectrum.n_outputs

    @property
    def spectrum(self) -> Spectrum:
        return self._spectrum

    @property
    def ridge(self) -> float:
        return self._ridge

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def noise(self) -> float:
        return self._noise

    def __repr__(self) -> str:
        s = self._spectrum
        return (f"Theory({s.n_modes} modes of N = {s.n}, ridge={self._ridge:g}, threshold={self._threshold:g}"
                + (f", noise={self._noise:g})" if self._noise else ")"))

    # ------------------------------------------------------------------------------ EK
    def ek(self, etas) -> EK:
        """E_EK(η): EK with the bare ridge σ²."""
        return _ek.ek_prediction(self._spectrum, as_etas(etas), self._ridge, self._total_noise)

    def ek_mode_predictor(self, etas) -> np.ndarray:
        """f̄_k = λ_k y_k/(λ_k + σ²/η) per mode, shape (n_eta, M)."""
        return _ek.mode_predictor(self._spectrum, as_etas(etas), self._ridge)

    def ek_mode_variance(self, etas) -> np.ndarray:
        """Posterior variance per mode λ_k σ²/(σ² + ηλ_k), shape (n_eta, M)."""
        return _ek.mode_variance(self._spectrum, as_etas(etas), self._ridge)

    # ------------------------------------------------------------------- spectral bias
    def spectral_bias(self, etas) -> SpectralBias:
        """κ(η), γ(η) and E_SB(η) of Canatar, Bordelon & Pehlevan (with the label noise)."""
        return _sb.spectral_bias(self._spectrum, as_etas(etas), self._ridge, self._total_noise)

    def spectral_bias_mode_errors(self, etas) -> np.ndarray:
        """Per-mode spectral-bias errors, shape (n_eta, M); they sum to E_SB − tail."""
        return _sb.mode_errors(self._spectrum, _sb.spectral_bias(self._spectrum, as_etas(etas), self._ridge))

    def eigenlearning(self, etas) -> Eigenlearning:
        """The same theory in Simon et al.'s convention κ_S = κ/η."""
        return _sb.eigenlearning(self._spectrum, as_etas(etas), self._ridge)

    # ------------------------------------------------------------------------- the RG
    def ridge_flow(self) -> np.ndarray:
        """The running ridge σ²(κ) = σ² + Σ_{k>κ} λ_k for κ = 0..M."""
        return _rg.ridge_flow(self._spectrum, self._ridge)

    def learnability(self, etas) -> np.ndarray:
        """L_k(η) = ηλ_k/(ηλ_k + σ²(k)) with the running ridge, shape (n_eta, M)."""
        return _rg.learnability(self._spectrum, as_etas(etas), self._ridge)

    def renormalized_ridge(self, etas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(κ*(η), σ_eff²(η), all_learnable(η)) at the threshold T."""
        return _rg.cutoff_and_ridge(self._spectrum, as_etas(etas), self._ridge, self._threshold)

    def rg(self, etas) -> RGPrediction:
        """E_RG(η), the paper's RG theory, with its cutoff, σ_eff² and the RG-fluct extension."""
        return _rg.rg_prediction(self._spectrum, as_etas(etas), self._ridge, self._threshold, self._total_noise)

    def soft_flow(self, etas, iterations: int = 20, *, start="sharp", tolerance: float = 1e-13,
                  max_iterations: int = 100_000):
        """The soft Wilsonian flow σ²_{n+1} = σ² + Σ_k λ_k (1 − L_k(σ²_n)), L_k(s) = ηλ_k/(ηλ_k + s),
        from the sharp cutoff σ_eff² (``start="sharp"``) to its fixed point, the spectral-bias κ
        (:mod:`wilsonian.theory.flow`): the ridge, γ and the error at each of ``iterations``
        recorded steps, and the fixed point at ``tolerance``."""
        from wilsonian.theory.flow import soft_flow

        return soft_flow(self._spectrum, as_etas(etas), self._ridge, self._threshold, self._total_noise,
                         iterations=iterations, start=start, tolerance=tolerance, max_iterations=max_iterations)

    def optimal_ridge(self, etas) -> np.ndarray:
        """The σ² that minimizes E_SB(η) at each η, for this spectrum and label noise."""
        return _sb.optimal_ridge(self._spectrum, as_etas(etas), self._total_noise)

    # ---------------------------------------------------------------------- together
    def predict(self, etas) -> Predictions:
        """EK, spectral bias and the RG on one grid of η."""
        eta = as_etas(etas)
        return Predictions(eta, _ek.ek_prediction(self._spectrum, eta, self._ridge, self._total_noise),
                           _sb.spectral_bias(self._spectrum, eta, self._ridge, self._total_noise),
                           _rg.rg_prediction(self._spectrum, eta, self._ridge, self._threshold, self._total_noise))

    def truncation_bound(self, etas, tolerance: float = 0.01):
        """How far a truncated spectrum can be trusted (:mod:`wilsonian.theory.truncation`)."""
        from wilsonian.theory.truncation import truncation_bound

        return truncation_bound(self._spectrum, etas, self._ridge, self._threshold, tolerance)

    def nongaussian(self, curve, y) -> Any:
        """The per-point comparison of the Gaussian and reweighted RG with exact GP averages.

        ``curve`` is a :class:`wilsonian.gp.LearningCurve` computed with
        ``keep_predictions=True`` on the spectrum's pool, ``y`` the pool targets; the
        spectrum needs its eigenfunctions and kernel diagonal
        (:mod:`wilsonian.theory.nongaussian`).
        """
        from wilsonian.theory.nongaussian import nongaussian_report

        return nongaussian_report(self._spectrum, y, curve, self._ridge, self._threshold)
