"""How far a truncated spectrum can be trusted: the η up to which the unresolved tail
changes no prediction of THEORY.md §4 by more than a tolerance.

A truncated :class:`~wilsonian.spectrum.Spectrum` resolves the top M modes λ_1 ≥ … ≥ λ_M and
knows only the totals of the rest: the tail mass τ = tr K/N − Σ_{k≤M} λ_k and the tail power
P = ⟨y²⟩ − Σ_{k≤M} y_k². The theories treat the tail as unlearnable (λ → 0): τ adds to the
ridge (spectral bias, RG) and P to the error (:class:`wilsonian.theory._common.Modes`).

The bound
---------
Every unresolved eigenvalue lies in [0, λ_M], and the N − M unresolved modes hold the mass τ,
so a tail "level" μ (all tail modes at μ) is possible for τ/(N − M) ≤ μ ≤ λ_M. We compare

(a) λ → 0, the least learnable tail: what the theories compute from a truncated spectrum;
(b) concrete tails: ⌊τ/μ⌋ modes at a level μ plus one with the remainder, for 8 levels μ
    log-spaced from λ_M down to max(τ/(N − M), 10⁻⁶ λ_M), the power P either spread in
    proportion to the eigenvalues or put on one mode at λ_M (the most learnable place).

Monotonicity: EK leaves the fraction (σ²/(ηλ + σ²))² of y_k² unlearned, decreasing in λ, so
E_EK(true) lies between (a) and the tail with P at λ_M, exactly. In the spectral-bias equation
the tail adds Σ λ κ/(ηλ + κ) = Σ λ · (decreasing function of λ), between τ κ/(ηλ_M + κ) and τ,
so κ(true) lies between κ at level λ_M and κ(a). E_SB and E_RG/(1−γ) also contain γ, which a
more learnable tail raises while it lowers the bias, so one extreme tail is not enough
(measured: the level-λ_M tail alone let the true SB difference reach 1.01 % inside a 1 %
bound); the maximum over the family (b) is the estimate of the truncation error. The bound
η* is the largest η of a fine log grid such that for every grid η ≤ η* every prediction
differs from (a) by at most ``tolerance`` (relative to (a)). The tests check it against full
spectra that were truncated: the true difference stays within the tolerance up to η*.

With a tiny ridge EK's bound is η* < 1: EK keeps the bare σ², so it learns every tail mode with
ηλ ≫ σ² and needs the whole spectrum (it is the theory the paper shows to fail). The
per-theory bounds (``TruncationBound.bounds``) give SB and RG theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wilsonian._validation import as_etas, check_ridge, check_threshold
from wilsonian.errors import WilsonianError
from wilsonian.spectrum import Spectrum
from wilsonian.theory.ek import error_with_ridge
from wilsonian.theory.rg import rg_prediction
from wilsonian.theory.spectral_bias import spectral_bias

__all__ = ["THEORIES", "TruncationBound", "tail_model_spectrum", "truncation_bound"]

THEORIES = ("ek", "spectral_bias", "rg", "rg_fluct")
# Points of the log-spaced grid on which the bound is located.
_GRID_POINTS = 512
# Tail levels per family of tail models.
_LEVELS = 8


@dataclass(frozen=True)
class TruncationBound:
    """Result of :func:`truncation_bound`.

    Attributes
    ----------
    eta : (n_eta,) the requested η.
    relative_difference : (n_eta,) max over the theories of |E_b − E_a|/E_a.
    per_theory : {"ek", "spectral_bias", "rg", "rg_fluct"} → (n_eta,) the same per theory.
    bounds : {theory → η*} the bound of each theory alone. EK keeps the bare ridge σ², so
        with a tiny σ² it learns tail modes with ηλ ≫ σ² and its bound can be η* < 1 while
        the others (whose ridge contains the tail mass) are fine far beyond.
    within_bound : (n_eta,) bool, η ≤ ``bound``.
    bound : float
        η*: the largest grid η up to which every difference stays ≤ ``tolerance``
        (0.0 if already η = 1 violates it; the grid's end if nothing does).
    limited_by_grid : bool
        True when no grid point violated the tolerance (η* is then the grid's end, max(N, η)).
    grid, grid_difference : (G,) the fine grid and the max difference on it.
    tolerance, ridge, threshold : the inputs.
    n, n_modes, tail_mass, tail_power, smallest_eigenvalue :
        N, M, τ, P and λ_M.
    levels : (L,) the tail levels μ of the tail models (empty when τ = 0).
    statement : str
        The bound in words, with the model used.
    """

    eta: np.ndarray
    relative_difference: np.ndarray
    per_theory: dict[str, np.ndarray]
    bounds: dict[str, float]
    within_bound: np.ndarray
    bound: float
    limited_by_grid: bool
    grid: np.ndarray
    grid_difference: np.ndarray
    tolerance: float
    ridge: float
    threshold: float
    n: int
    n_modes: int
    tail_mass: float
    tail_power: float
    smallest_eigenvalue: float
    levels: np.ndarray
    statement: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready record (arrays as arrays; the project's JSON writer converts them)."""
        return {
            "eta": self.eta,
            "relative_difference": self.relative_difference,
            "per_theory": dict(self.per_theory),
            "bounds": dict(self.bounds),
            "within_bound": self.within_bound,
            "bound": self.bound,
            "limited_by_grid": self.limited_by_grid,
            "tolerance": self.tolerance,
            "ridge": self.ridge,
            "threshold": self.threshold,
            "n": self.n,
            "n_modes": self.n_modes,
            "tail_mass": self.tail_mass,
            "tail_power": self.tail_power,
            "smallest_eigenvalue": self.smallest_eigenvalue,
            "levels": self.levels,
            "statement": self.statement,
        }


def tail_model_spectrum(spectrum: Spectrum, level: float | None = None, *,
                        power_on_top: bool = False) -> Spectrum:
    """A complete spectrum whose tail is a concrete realization of (τ, P) with eigenvalues ≤ λ_M.

    The tail mass τ is put in ⌊τ/μ⌋ modes at the level μ (``level``, default λ_M) and one
    mode with the remainder. The tail power P is spread over the tail modes in proportion to
    their eigenvalues, or, with ``power_on_top``, put on one extra mode at λ_M (its mass
    taken from τ): the most learnable place for it. Levels below τ/(N − M) cannot hold the
    mass in the N − M unresolved modes and are raised to it.
    """
    # The theories depend on the targets only through |y_k|²: one output holds it all.
    lam, yk = spectrum.eigenvalues, np.sqrt(spectrum.mode_power)
    tau, power = spectrum.tail_mass, spectrum.tail_power
    if lam.size == 0:
        raise WilsonianError("the spectrum resolves no mode; compute at least one eigenvalue.")
    smallest = float(lam[-1])
    if tau <= 0.0 or smallest <= 0.0:
        # No eigenvalue mass can sit in the tail (all of it would have to be ≤ λ_M = 0):
        # unresolved power is unlearnable in every model.
        return Spectrum.from_modes(lam, yk, n=spectrum.n, trace=float(lam.sum()) + tau,
                                   target_power=spectrum.target_power)
    room = max(spectrum.n - lam.size, 1)
    top_mode = np.empty(0)
    mass = tau
    if power_on_top and power > 0 and tau > smallest and room > 1:
        top_mode = np.array([smallest])
        mass, room = tau - smallest, room - 1
    mu = smallest if level is None else float(level)
    mu = min(max(mu, mass / room), max(smallest, mass / room))
    whole = min(int(np.floor(mass / mu)), room)
    remainder = mass - whole * mu
    tail = np.full(whole, mu)
    if remainder > mu * 1e-12:
        tail = np.append(tail, remainder)
    if top_mode.size:
        coefficients = np.concatenate([[np.sqrt(power)], np.zeros(tail.size)])
        tail = np.concatenate([top_mode, tail])
    else:
        coefficients = np.sqrt(power * tail / mass)
    return Spectrum.from_modes(
        np.concatenate([lam, tail]), np.concatenate([yk, coefficients]), n=spectrum.n,
    )


def tail_levels(spectrum: Spectrum, count: int = _LEVELS) -> np.ndarray:
    """Log-spaced tail levels μ from λ_M down to max(τ/(N − M), 10⁻⁶ λ_M)."""
    smallest = float(spectrum.eigenvalues[-1])
    room = max(spectrum.n - spectrum.n_modes, 1)
    lowest = min(smallest, max(spectrum.tail_mass / room, 1e-6 * smallest))
    if lowest <= 0 or lowest >= smallest:
        return np.array([smallest])
    return np.geomspace(smallest, lowest, count)


def _predictions(spectrum: Spectrum, eta: np.ndarray, ridge: float, threshold: float) -> dict[str, np.ndarray]:
    rg = rg_prediction(spectrum, eta, ridge, threshold)
    return {
        "ek": error_with_ridge(spectrum, eta, ridge)[0],
        "spectral_bias": spectral_bias(spectrum, eta, ridge).error,
        "rg": rg.error,
        "rg_fluct": rg.error_fluct,
    }


def _relative_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|b − a|/|a|; 0 where both are equal (including both +inf), +inf where only one is."""
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.abs(b - a) / np.abs(a)
    equal = a == b
    diff = np.where(equal, 0.0, diff)
    return np.where(np.isnan(diff), np.inf, diff)


def _bound(grid: np.ndarray, difference: np.ndarray, tolerance: float) -> tuple[float, bool, np.ndarray]:
    """(largest grid η with every difference up to it ≤ tolerance, no violation at all, violations)."""
    violations = np.flatnonzero(~(difference <= tolerance))
    if violations.size == 0:
        return float(grid[-1]), True, violations
    first = violations[0]
    return (float(grid[first - 1]) if first > 0 else 0.0), False, violations


def truncation_bound(
    spectrum: Spectrum,
    etas,
    ridge: float,
    threshold: float = 0.5,
    tolerance: float = 0.01,
) -> TruncationBound:
    """The largest η for which the truncation changes no prediction by more than ``tolerance``.

    Parameters
    ----------
    spectrum : Spectrum
        Usually truncated (``spectrum.is_truncated``), e.g. from
        :func:`wilsonian.topk.topk_spectrum`. A full spectrum gives differences 0.
    etas : array of η ≥ 1
        Where to report the differences.
    ridge : σ² ≥ 0
    threshold : T ∈ (0, 1), the RG learnability threshold.
    tolerance : float in (0, 1), relative.

    Returns
    -------
    TruncationBound
        See the class; ``bound`` is η*, ``statement`` says how it was obtained.

    Notes
    -----
    The differences are between the two tails (a) and (b) of this module's docstring; EK's
    true error lies between them exactly, the other theories' are bracketed in the same
    sense of "least" and "most learnable tail". Cost: the four theories on a grid of 512 η
    for at most N modes.
    """
    if not isinstance(spectrum, Spectrum):
        raise WilsonianError("truncation_bound needs a wilsonian Spectrum (with its trace and target power).")
    eta = as_etas(etas)
    ridge = check_ridge(ridge)
    threshold = check_threshold(threshold)
    tolerance = float(tolerance)
    if not (np.isfinite(tolerance) and 0.0 < tolerance < 1.0):
        raise WilsonianError(f"the tolerance must be a relative difference in (0, 1), got {tolerance}.")
    if spectrum.n_modes == 0:
        raise WilsonianError("the spectrum resolves no mode; compute at least one eigenvalue.")

    top = float(max(spectrum.n, eta.max()))
    grid = np.unique(np.concatenate([np.geomspace(1.0, top, _GRID_POINTS), eta]))
    a = _predictions(spectrum, grid, ridge, threshold)
    per_grid = {name: np.zeros(grid.size) for name in THEORIES}
    if spectrum.tail_mass > 0 and spectrum.eigenvalues[-1] > 0:
        levels = tail_levels(spectrum)
        models = [(mu, on_top) for mu in levels for on_top in (False, True)]
        for mu, on_top in models:
            b = _predictions(tail_model_spectrum(spectrum, mu, power_on_top=on_top), grid, ridge, threshold)
            for name in THEORIES:
                np.maximum(per_grid[name], _relative_difference(a[name], b[name]), out=per_grid[name])
    else:
        levels, models = np.empty(0), []
    grid_difference = np.max(np.vstack([per_grid[name] for name in THEORIES]), axis=0)

    bounds = {name: _bound(grid, per_grid[name], tolerance)[0] for name in THEORIES}
    bound, limited, violations = _bound(grid, grid_difference, tolerance)

    position = np.searchsorted(grid, eta)
    per_theory = {name: per_grid[name][position] for name in THEORIES}
    relative = grid_difference[position]

    lam_m = float(spectrum.eigenvalues[-1])
    tau, power = spectrum.tail_mass, spectrum.tail_power
    if limited:
        where = f"for every η up to {bound:.6g} (the end of the grid: no grid point exceeded it)"
    elif bound > 0:
        where = f"for every η ≤ η* = {bound:.6g} (first exceeded at η = {grid[violations[0]]:.6g})"
    else:
        where = "for no η ≥ 1 (η = 1 already exceeds it)"
    if levels.size:
        models_text = (
            f"(b) with the tail realized as modes at one level μ, for {levels.size} levels from "
            f"λ_M down to {levels[-1]:.4g} (the mass τ in ⌊τ/μ⌋ modes, at most N − M of them), the "
            f"power P either spread in proportion to the eigenvalues or put on one mode at λ_M "
            f"({len(models)} tails, the maximum difference kept)"
        )
    else:
        models_text = "(b) nothing: there is no tail mass, so the tail cannot be learned in any model"
    statement = (
        f"Truncation bound: {spectrum.n_modes} of N = {spectrum.n} modes resolved; the unresolved "
        f"ones have eigenvalues in [0, λ_M = {lam_m:.4g}] and carry tail mass τ = {tau:.4g} and "
        f"target power P = {power:.4g}. Each theory was evaluated (a) with the tail at λ = 0 (the "
        f"reported prediction) and {models_text}. The tail at λ_M is the most learnable one with "
        f"mass τ: EK's true error lies between it and (a) exactly, and so does the spectral-bias κ. "
        f"EK, SB, RG and RG-fluct differ from (a) by at most {tolerance:.3g} (relative) {where}, on "
        f"a log grid of {grid.size} points from 1 to {top:.6g}; σ² = {ridge:.4g}, T = {threshold:.3g}. "
        f"Per theory: " + ", ".join(f"{name} η* = {bounds[name]:.6g}" for name in THEORIES) + "."
    )
    return TruncationBound(
        eta=eta,
        relative_difference=relative,
        per_theory=per_theory,
        bounds=bounds,
        within_bound=eta <= bound,
        bound=bound,
        limited_by_grid=bool(limited),
        grid=grid,
        grid_difference=grid_difference,
        tolerance=tolerance,
        ridge=ridge,
        threshold=threshold,
        n=int(spectrum.n),
        n_modes=int(spectrum.n_modes),
        tail_mass=float(tau),
        tail_power=float(power),
        smallest_eigenvalue=lam_m,
        levels=levels,
        statement=statement,
    )
