"""The soft Wilsonian flow of the ridge, from the paper's sharp cutoff to its fixed point κ.

The sharp RG (:mod:`wilsonian.theory.rg`) integrates out every mode past the cutoff κ*(η),
fully. Weighting each mode instead by how much of it is *not* learned, 1 − L_k, and
re-evaluating the learnability with the ridge it produces, gives the flow

    σ²_{n+1} = G(σ²_n),   G(s) = σ² + τ + Σ_k λ_k (1 − L_k(s)),   L_k(s) = ηλ_k/(ηλ_k + s),

with τ the unresolved tail mass (never learned) and σ²_0 = σ_eff²(η), the sharp cutoff at the
threshold T. Its fixed point solves s = σ² + τ + Σ_k λ_k s/(ηλ_k + s): the spectral-bias
equation, so the flow ends at κ(η) for every η, whatever T.

Properties (derived in the notes; the tests check each):

* G is increasing and concave, G'(s) = γ(s) = η Σ_k λ_k²/(ηλ_k + s)², G'' < 0. An iterate
  above κ stays above it and decreases; one below stays below and increases: the flow never
  overshoots.
* The flow's linearization at κ is G'(κ) = γ(κ) = 1 − F'(κ) (F = s − G, the spectral-bias
  function): the distance to κ shrinks by γ per step, e_n ≈ γⁿ e_0, and the distance left
  after a step Δ_n is γΔ_n/(1 − γ), the geometric tail. Critical slowing down where γ → 1
  (σ² → 0 with η → M).
* 1/(1 − γ) = Σ_n γⁿ = dκ/dσ²: the susceptibility of the fixed point to the bare ridge (a
  perturbation of σ² is re-fed through the flow, a fraction γ at each pass), and
  E_SB = E_EK(κ)/(1 − γ) = E_EK(κ) dκ/dσ²: the error of the fixed point responds with the
  same factor. Stage 0 of ``error_fluct`` is the RG-fluct extension, its limit E_SB.

Everything is vectorized over η; each step is one resolvent sum (compiled).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from wilsonian.errors import WilsonianError
from wilsonian.spectrum import Spectrum
from wilsonian.theory._sums import LAMBDA, LAMBDA2, POWER, resolvent

#: Default relative tolerance of the fixed point (distance left, estimated by the geometric tail).
TOLERANCE = 1e-13
#: Steps after which an η that has not converged is reported as such.
MAX_ITERATIONS = 100_000
STARTS = ("sharp", "bare", "full")


@dataclass(frozen=True)
class SoftFlow:
    """The soft flow σ²_n on a grid of η, the error at each stage and its fixed point.

    Attributes
    ----------
    eta : (n_eta,)
    start : str
        "sharp" (σ²_0 = σ_eff², the paper's cutoff at T), "bare" (σ²_0 = σ²) or "full"
        (σ²_0 = σ² + Σλ, everything integrated out).
    ridge_path : (iterations + 1, n_eta)
        σ²_n for n = 0..iterations.
    gamma_path : (iterations + 1, n_eta)
        γ(σ²_n) = G'(σ²_n) = η Σλ²/(ηλ + σ²_n)².
    error_path : (iterations + 1, n_eta)
        E_n = EK with the ridge σ²_n (+ ε²γ_n with label noise): the RG's error at stage n
        (stage 0 is E_RG when the start is "sharp").
    error_fluct_path : (iterations + 1, n_eta)
        E_n/(1 − γ_n), +inf where γ_n ≥ 1 (stage 0 of a sharp start is RG-fluct).
    fixed_point : (n_eta,)
        The iterate where the flow stopped (see ``converged``).
    steps : (n_eta,) int
        Flow steps from σ²_0 to the fixed point at the tolerance (−1 where not converged).
    converged : (n_eta,) bool
    gamma, error, error_fluct : (n_eta,)
        γ, E_EK and E_EK/(1 − γ) at the fixed point (the last is E_SB there).
    kappa : (n_eta,)
        The spectral-bias κ from its Newton solver, for comparison.
    restarted : (n_eta,) bool
        Where σ²_0 was 0 but κ > 0: 0 is then an unstable fixed point of the flow, which is
        started from σ² + Σλ instead.
    """

    eta: np.ndarray
    start: str
    ridge_path: np.ndarray
    gamma_path: np.ndarray
    error_path: np.ndarray
    error_fluct_path: np.ndarray
    fixed_point: np.ndarray
    steps: np.ndarray
    converged: np.ndarray
    gamma: np.ndarray
    error: np.ndarray
    error_fluct: np.ndarray
    kappa: np.ndarray
    restarted: np.ndarray
    ridge: float
    threshold: float
    noise: float
    tolerance: float

    @property
    def iterations(self) -> int:
        """Number of recorded steps (the path has one more entry)."""
        return int(self.ridge_path.shape[0] - 1)

    @property
    def contraction(self) -> np.ndarray:
        """Δ_n/Δ_{n−1} with Δ_n = σ²_{n+1} − σ²_n, shape (iterations − 1, n_eta); → γ(κ).

        NaN where a step is 0 (converged to round-off)."""
        steps = np.diff(self.ridge_path, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = steps[1:] / steps[:-1]
        return np.where(steps[:-1] != 0, ratio, np.nan)

    @property
    def susceptibility(self) -> np.ndarray:
        """dκ/dσ² = 1/(1 − γ(κ)) = Σ_n γⁿ: the flow's amplification of a change of σ²."""
        with np.errstate(divide="ignore"):
            return np.where(self.gamma < 1, 1.0 / (1.0 - self.gamma), np.inf)

    @property
    def predicted_steps(self) -> np.ndarray:
        """log(tol κ/|σ²_0 − κ|)/log γ: the steps the linearization predicts for the tolerance."""
        e0 = np.abs(self.ridge_path[0] - self.fixed_point)
        with np.errstate(divide="ignore", invalid="ignore"):
            n = np.log(self.tolerance * self.fixed_point / e0) / np.log(self.gamma)
        return np.where((e0 > self.tolerance * self.fixed_point) & (self.gamma > 0) & (self.gamma < 1),
                        np.maximum(n, 0.0), 0.0)

    def agreement(self, empirical: np.ndarray) -> dict[str, np.ndarray]:
        """Median |log10(predicted/empirical)| over η at each stage, for E_n and E_n/(1 − γ_n),
        and for the fixed point (``empirical``: the mean learning curve on the same η). An
        infinite prediction (γ ≥ 1) counts as infinitely far; η with no positive empirical
        error are left out."""
        empirical = np.asarray(empirical, dtype=np.float64)

        def median_log(values: np.ndarray) -> np.ndarray:
            # a prediction that is infinite (γ ≥ 1) or not positive counts as infinitely far
            ok = np.isfinite(values) & (values > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                logs = np.where(ok, np.abs(np.log10(np.where(ok, values, 1.0) / empirical)), np.inf)
            logs = np.atleast_2d(logs)[:, empirical > 0]
            return np.median(logs, axis=1) if logs.shape[1] else np.full(logs.shape[0], np.nan)

        return {"error_path": median_log(self.error_path), "error_fluct_path": median_log(self.error_fluct_path),
                "error": median_log(self.error)[0], "error_fluct": median_log(self.error_fluct)[0]}

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "iterations": self.iterations, "susceptibility": self.susceptibility,
                "predicted_steps": self.predicted_steps}


def _stage(spectrum: Spectrum, eta: np.ndarray, s: np.ndarray, floor: float, noise: float):
    """(G(s), γ(s), E_EK(s)) per η, one resolvent evaluation."""
    _, _, unlearnable = spectrum.positive_part()
    first, second = resolvent(spectrum)(eta, s, first=[LAMBDA], second=[LAMBDA2, POWER])
    gamma = eta * second[:, 0]
    error = np.square(s) * second[:, 1] + unlearnable + noise * gamma
    return floor + s * first[:, 0], gamma, error


def _fluct(error: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gamma < 1, error / (1.0 - gamma), np.inf)


def start_ridge(spectrum: Spectrum, eta: np.ndarray, ridge: float, threshold: float, start) -> np.ndarray:
    """σ²_0 per η for a named start (see :class:`SoftFlow`) or given values."""
    floor = ridge + spectrum.tail_mass
    if isinstance(start, str):
        if start == "sharp":
            from wilsonian.theory.rg import cutoff_and_ridge

            return np.array(cutoff_and_ridge(spectrum, eta, ridge, threshold)[1], dtype=np.float64)
        if start == "bare":
            return np.full(eta.shape, floor)
        if start == "full":
            return np.full(eta.shape, floor + float(spectrum.eigenvalues.sum()))
        raise WilsonianError(f"start must be one of {STARTS} or values per eta, got {start!r}")
    values = np.broadcast_to(np.asarray(start, dtype=np.float64), eta.shape).copy()
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise WilsonianError("the flow's starting ridges must be finite and >= 0")
    return values


def soft_flow(spectrum: Spectrum, eta: np.ndarray, ridge: float, threshold: float, noise: float = 0.0, *,
              iterations: int = 20, start="sharp", tolerance: float = TOLERANCE,
              max_iterations: int = MAX_ITERATIONS) -> SoftFlow:
    """Iterate σ²_{n+1} = σ² + τ + Σ_k λ_k (1 − L_k(σ²_n)) from σ²_0 (THEORY.md §4, notes).

    Parameters
    ----------
    spectrum : Spectrum
    eta : (n_eta,) validated training-set sizes
    ridge, threshold, noise : σ², T (for the sharp start) and the label noise ε² (summed over outputs)
    iterations : int
        Steps recorded in the paths (the flow's figure and ``results.json``).
    start : "sharp", "bare", "full" or values per η
    tolerance : float
        Relative distance to the fixed point at which the flow stops, estimated by the
        geometric tail γ|Δ|/(1 − γ) of the last step Δ.
    max_iterations : int
        Steps after which an η is reported as not converged.

    Returns
    -------
    SoftFlow
    """
    if int(iterations) < 0 or int(max_iterations) < 1 or not (0 < tolerance < 1):
        raise WilsonianError("iterations must be >= 0, max_iterations >= 1 and 0 < tolerance < 1")
    from wilsonian.theory.spectral_bias import spectral_bias

    floor = ridge + spectrum.tail_mass
    lam, _, _ = spectrum.positive_part()
    s = start_ridge(spectrum, eta, ridge, threshold, start)
    kappa = spectral_bias(spectrum, eta, ridge).kappa
    # 0 is a fixed point of the flow when σ² + τ = 0; it is the only one for η ≥ M (κ = 0)
    # and an unstable one below, which a start at 0 would never leave.
    restarted = (s == 0.0) & (kappa > 0)
    s[restarted] = floor + float(lam.sum())
    start_values = s.copy()

    ridges, gammas, errors = [], [], []
    for n in range(int(iterations) + 1):
        image, gamma, error = _stage(spectrum, eta, s, floor, noise)
        ridges.append(s)
        gammas.append(gamma)
        errors.append(error)
        s = image

    fixed = start_values.copy()
    if lam.size:
        steps, _ = resolvent(spectrum).expansion.picard(LAMBDA, LAMBDA2, eta, fixed, floor, tolerance,
                                                        int(max_iterations))
    else:  # no mode to learn: G(s) = σ² + τ, reached in one step
        fixed[:] = floor
        steps = np.ones(eta.shape, dtype=np.int64)
    converged = steps >= 0
    _, gamma, error = _stage(spectrum, eta, fixed, floor, noise)
    gamma_path, error_path = np.array(gammas), np.array(errors)
    return SoftFlow(eta, start if isinstance(start, str) else "given", np.array(ridges), gamma_path, error_path,
                    _fluct(error_path, gamma_path), fixed, steps, converged, gamma, error, _fluct(error, gamma),
                    kappa, restarted, ridge, threshold, noise, float(tolerance))
