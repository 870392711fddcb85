"""Power-law fits for scaling exponents (THEORY.md §4, "Scaling").

For λ_k ∝ k^−(1+α) the RG cutoff grows ∝ η and σ_eff² ∝ η^−α. These helpers fit straight
lines in log–log space by ordinary least squares and report the slope's standard error
from the residual scatter.
"""

from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np

from wilsonian.errors import WilsonianError
from wilsonian.spectrum import Spectrum


@dataclass(frozen=True)
class PowerLawFit:
    """y ≈ prefactor · x^slope over [x_min, x_max]; ``slope_se`` is the OLS standard error."""

    slope: float
    slope_se: float
    prefactor: float
    x_min: float
    x_max: float
    n_points: int

    def as_dict(self) -> dict:
        return asdict(self)


def fit_power_law(x, y, *, x_min: float | None = None, x_max: float | None = None) -> PowerLawFit:
    """Least-squares fit of log y = log a + b log x on the points with x in [x_min, x_max].

    Points with non-positive or non-finite x or y are dropped; at least 3 must remain.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise WilsonianError("fit_power_law needs 1-D x and y of equal length")
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if x_min is not None:
        keep &= x >= x_min
    if x_max is not None:
        keep &= x <= x_max
    if keep.sum() < 3:
        raise WilsonianError("a power-law fit needs at least 3 positive points in the chosen range")
    lx, ly = np.log(x[keep]), np.log(y[keep])
    design = np.column_stack([np.ones_like(lx), lx])
    coef, *_ = np.linalg.lstsq(design, ly, rcond=None)
    n = lx.size
    residual = ly - design @ coef
    dof = max(n - 2, 1)
    sigma2 = float(residual @ residual) / dof
    cov = sigma2 * np.linalg.inv(design.T @ design)
    return PowerLawFit(
        slope=float(coef[1]),
        slope_se=float(np.sqrt(max(cov[1, 1], 0.0))),
        prefactor=float(np.exp(coef[0])),
        x_min=float(x[keep].min()),
        x_max=float(x[keep].max()),
        n_points=int(n),
    )


def spectrum_exponent(spectrum: Spectrum, k_min: int = 1, k_max: int | None = None) -> PowerLawFit:
    """Fit λ_k ∝ k^slope; the exponent α of λ_k ∝ k^−(1+α) is −slope − 1."""
    k = np.arange(1, spectrum.n_modes + 1, dtype=np.float64)
    return fit_power_law(k, spectrum.eigenvalues, x_min=k_min, x_max=k_max)


def target_tail_exponent(spectrum: Spectrum, k_min: int = 1, k_max: int | None = None) -> PowerLawFit:
    """Fit the target power beyond mode k, Σ_{j>k} y_j², against k."""
    power = spectrum.mode_power
    tail = np.cumsum(power[::-1])[::-1]
    tail = np.append(tail[1:], 0.0) + spectrum.tail_power  # Σ_{j>k}
    k = np.arange(1, spectrum.n_modes + 1, dtype=np.float64)
    return fit_power_law(k, tail, x_min=k_min, x_max=k_max)


def learning_curve_exponent(eta, error, *, eta_min: float | None = None, eta_max: float | None = None) -> PowerLawFit:
    """Fit E(η) ∝ η^slope over [eta_min, eta_max]."""
    return fit_power_law(eta, error, x_min=eta_min, x_max=eta_max)
