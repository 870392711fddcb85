"""Feature-mode statistics: Gaussian versus Cauchy marginals and fourth cumulants.

THEORY.md §6 (paper Figs. 2 and 5) and the connected fourth cumulant of §5.

Input convention
----------------
Every function takes ``phi``, an array of shape ``(N, K)``: the kernel eigenfunctions on
the pool, ``phi[i, j] = φ_{j+1}(x_i) = √N v_{j+1}(i)`` (THEORY.md §1), columns ordered by
descending eigenvalue. Each column has mean square 1 over the pool; its mean need not be 0.

Modes are labelled **1-based**, as in the paper: mode ``k`` is column ``k - 1`` of ``phi``.
Every ``modes`` / ``pairs`` argument and every ``mode`` array in an output uses these
1-based labels.

Fits
----
For each mode the N values ``φ_k(x_i)`` are treated as an i.i.d. sample and fitted by
maximum likelihood with

* a Gaussian law N(μ, σ²): closed form, μ = mean, σ² = mean squared deviation (ddof = 0);
* a Cauchy law with location ``x0`` and scale ``γ``: no closed form. The two-parameter
  Cauchy likelihood has a single stationary point, its maximum, unless at least half of the
  sample coincides (Copas 1975, Biometrika 62, 701), so any ascent method that converges
  finds the MLE. We use the parameter-expanded EM iteration for the Student-t law with one
  degree of freedom (Liu, Rubin & Wu 1998, Biometrika 85, 755; Kent, Tyler & Vardi 1994),
  which increases the likelihood at every step and runs on all columns at once, started at
  the median and the half inter-quartile range (the Cauchy quartiles are x0 ± γ). Columns
  that have not converged after ``max_iter`` steps are finished by a quasi-Newton optimizer
  (:func:`scipy.optimize.minimize`, BFGS with the analytic gradient).

The fits are compared by their mean log-likelihood per point (the preferred law is the one
with the higher value), by Kolmogorov–Smirnov distances to each fitted law and by the excess
kurtosis (plug-in estimator, :func:`scipy.stats.kurtosis` with ``bias=True``).

The figures of these statistics are in :mod:`wilsonian.plots.modes`.
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np
import scipy.optimize
import scipy.special
import scipy.stats
from tqdm.auto import tqdm

from wilsonian.errors import WilsonianError

__all__ = [
    "ModeStatistics",
    "FourthCumulant",
    "mode_statistics",
    "cauchy_mle",
    "fourth_cumulant",
]

#: Smallest pool the statistics accept: below this the fits and KS distances mean little.
MIN_POINTS = 8

#: Largest number of modes for :func:`fourth_cumulant`: the tensor has m⁴ entries and the
#: standard errors cost O(N m⁴) operations.
MAX_CUMULANT_MODES = 64

#: Elements (float64) per working array: bounds memory to a few hundred MB whatever N and K.
_BLOCK_ELEMENTS = 1 << 22

#: Labels used in :attr:`ModeStatistics.preferred`.
GAUSSIAN = "gaussian"
CAUCHY = "cauchy"


# ----------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------


def _as_phi(phi: Any) -> np.ndarray:
    """Return ``phi`` as a finite float64 (N, K) array with N ≥ MIN_POINTS, or raise."""
    if np.iscomplexobj(phi):
        raise WilsonianError("phi is complex; pass the real eigenfunctions φ_k(x_i).")
    try:
        array = np.asarray(phi, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise WilsonianError(
            f"phi could not be read as an array of real numbers ({exc}); pass a float (N, K) array."
        ) from None
    if array.ndim != 2:
        raise WilsonianError(
            f"phi must be 2-D with shape (N points, K modes), got shape {array.shape}; "
            "reshape it, e.g. phi[:, None] for a single mode."
        )
    n_points, n_modes = array.shape
    if n_points < MIN_POINTS:
        raise WilsonianError(
            f"phi has {n_points} points (rows) but at least {MIN_POINTS} are needed; "
            "use a larger pool."
        )
    if n_modes < 1:
        raise WilsonianError("phi has no columns (modes); pass at least one eigenfunction.")
    if not np.all(np.isfinite(array)):
        raise WilsonianError(
            "phi contains NaN or infinite values; check the eigensolver output."
        )
    return array


def _as_modes(modes: Any, n_modes: int, name: str = "modes") -> np.ndarray:
    """Validate 1-based mode labels against ``n_modes`` columns; return them as int64."""
    try:
        raw = np.asarray(modes)
    except (TypeError, ValueError):
        raise WilsonianError(f"{name} must be a sequence of 1-based integer mode indices.") from None
    if raw.ndim == 0:
        raw = raw.reshape(1)
    if raw.ndim != 1 or raw.size == 0:
        raise WilsonianError(
            f"{name} must be a non-empty 1-D sequence of 1-based mode indices, got {modes!r}."
        )
    if raw.dtype.kind not in "iu":
        if raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)):
            raw = raw.astype(np.int64)
        else:
            raise WilsonianError(
                f"{name} must contain integers (1-based mode indices), got {modes!r}."
            )
    labels = raw.astype(np.int64)
    out_of_range = labels[(labels < 1) | (labels > n_modes)]
    if out_of_range.size:
        raise WilsonianError(
            f"{name} {out_of_range.tolist()} out of range: modes are 1-based and phi has "
            f"{n_modes} columns, so use indices 1..{n_modes}."
        )
    if np.unique(labels).size != labels.size:
        raise WilsonianError(f"{name} contains repeated indices {labels.tolist()}; list each mode once.")
    return labels


def _as_pairs(pairs: Any, n_modes: int) -> np.ndarray:
    """Validate a list of (k1, k2) 1-based mode pairs; return an (P, 2) int64 array."""
    try:
        raw = np.asarray(pairs)
    except (TypeError, ValueError):
        raw = np.empty(0)
    if raw.ndim == 1 and raw.size == 2:
        raw = raw.reshape(1, 2)
    if raw.ndim != 2 or raw.shape[1] != 2 or raw.shape[0] == 0:
        raise WilsonianError(
            f"pairs must be a non-empty list of (k1, k2) mode pairs, got {pairs!r}."
        )
    return np.stack([_as_modes(pair, n_modes, "each pair") for pair in raw])


def _check_not_degenerate(sorted_columns: np.ndarray, labels: np.ndarray) -> None:
    """Raise if some column has one value repeated on at least half of the points.

    Then the Cauchy likelihood is unbounded (scale → 0) or maximal on the boundary, and a
    constant column also has no Gaussian fit (σ = 0).
    """
    n_points = sorted_columns.shape[0]
    half = math.ceil(n_points / 2)
    # In a sorted column a value occupies ≥ `half` rows iff some window of `half` rows is flat.
    degenerate = np.any(sorted_columns[half - 1 :] == sorted_columns[: n_points - half + 1], axis=0)
    if np.any(degenerate):
        bad = labels[degenerate].tolist()
        raise WilsonianError(
            f"modes {bad} take a single value on at least half of the points, so their "
            "Gaussian/Cauchy fits do not exist; leave these modes out."
        )


def _column_blocks(n_points: int, n_columns: int) -> list[slice]:
    """Split ``n_columns`` into contiguous blocks of about ``_BLOCK_ELEMENTS`` elements."""
    width = max(1, _BLOCK_ELEMENTS // n_points)
    return [slice(start, min(start + width, n_columns)) for start in range(0, n_columns, width)]


# ----------------------------------------------------------------------------------------
# Cauchy maximum likelihood
# ----------------------------------------------------------------------------------------


def _cauchy_mean_loglik(samples: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Mean Cauchy log-density per point, column by column: −log(πγ) − ⟨log(1 + z²)⟩."""
    z = (samples - loc) / scale
    return -np.log(np.pi * scale) - np.mean(np.log1p(z * z), axis=0)


def _cauchy_negloglik_and_grad(params: np.ndarray, sample: np.ndarray) -> tuple[float, np.ndarray]:
    """Negative mean Cauchy log-likelihood of one sample in (x0, log γ), and its gradient."""
    loc, log_scale = params
    scale = math.exp(log_scale)
    z = (sample - loc) / scale
    z2 = z * z
    value = math.log(math.pi) + log_scale + float(np.mean(np.log1p(z2)))
    grad_loc = -2.0 * float(np.mean(z / (1.0 + z2))) / scale
    grad_log_scale = 1.0 - 2.0 * float(np.mean(z2 / (1.0 + z2)))
    return value, np.array([grad_loc, grad_log_scale])


def _cauchy_start(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and half inter-quartile range (exact for a Cauchy law), per column."""
    q25, loc, q75 = np.quantile(samples, [0.25, 0.5, 0.75], axis=0)
    scale = 0.5 * (q75 - q25)
    flat = scale <= 0
    if np.any(flat):
        # Ties at the quartiles: fall back on the mean absolute deviation from the median,
        # positive because fewer than half the points sit on any single value.
        scale[flat] = np.mean(np.abs(samples[:, flat] - loc[flat]), axis=0)
    return loc, scale


def _cauchy_mle_columns(
    samples: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cauchy MLE of every column of a non-degenerate (N, m) float64 array."""
    loc, scale = _cauchy_start(samples)
    active = np.arange(samples.shape[1])
    block = samples
    for _ in range(max_iter):
        if active.size == 0:
            break
        x0, gamma = loc[active], scale[active]
        residual = block - x0
        # E-step: the latent precision 1/(1+z²) of each point under the t₁ (Cauchy) law
        # (in place: these (N, m) arrays dominate the cost).
        weight = residual / gamma
        np.square(weight, out=weight)
        weight += 1.0
        np.reciprocal(weight, out=weight)
        weight_sum = weight.sum(axis=0)
        new_loc = x0 + np.einsum("ij,ij->j", weight, residual) / weight_sum
        np.subtract(block, new_loc, out=residual)
        # PX-EM scale step: divide by Σw rather than N/2; same fixed point (for the Cauchy
        # MLE Σw = N/2), much faster convergence.
        new_scale = np.sqrt(np.einsum("ij,ij,ij->j", weight, residual, residual) / weight_sum)
        change = np.maximum(np.abs(new_loc - x0) / new_scale, np.abs(new_scale / gamma - 1.0))
        loc[active], scale[active] = new_loc, new_scale
        done = change < tol
        if np.any(done):
            active = active[~done]
            block = block[:, ~done]
    for column in active:  # not converged: finish with BFGS from the EM iterate
        result = scipy.optimize.minimize(
            _cauchy_negloglik_and_grad,
            np.array([loc[column], math.log(scale[column])]),
            args=(samples[:, column],),
            jac=True,
            method="BFGS",
            options={"gtol": 1e-12},
        )
        loc[column], scale[column] = result.x[0], math.exp(result.x[1])
    return loc, scale


def cauchy_mle(
    samples: Any, *, tol: float = 1e-10, max_iter: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood Cauchy location and scale of each column (THEORY.md §6).

    Parameters
    ----------
    samples : array_like, shape (N,) or (N, m)
        One sample per column (a 1-D array is one sample). N ≥ 8, finite; no value may
        occupy half of a column or more (then the MLE does not exist).
    tol : float
        Convergence threshold on the relative change of (x0, γ) per EM step, measured as
        ``max(|Δx0|/γ, |Δγ/γ|)``.
    max_iter : int
        EM steps before the columns that have not converged are finished by BFGS.

    Returns
    -------
    loc, scale : ndarray, shape () or (m,)
        Location x0 and scale γ > 0 of the Cauchy density ``1 / (πγ (1 + ((x−x0)/γ)²))``.

    Notes
    -----
    Vectorized PX-EM for the Student-t law with one degree of freedom, started at the
    median and half inter-quartile range; see the module docstring. At convergence the
    score equations hold: ``Σ z/(1+z²) = 0`` and ``Σ 1/(1+z²) = N/2`` with ``z = (x−x0)/γ``.
    """
    one_d = np.ndim(samples) == 1
    phi = _as_phi(np.reshape(samples, (-1, 1)) if one_d else samples)
    if not (tol > 0 and math.isfinite(tol)):
        raise WilsonianError(f"tol must be a positive number, got {tol!r}.")
    if int(max_iter) != max_iter or max_iter < 1:
        raise WilsonianError(f"max_iter must be a positive integer, got {max_iter!r}.")
    labels = np.arange(1, phi.shape[1] + 1)
    _check_not_degenerate(np.sort(phi, axis=0), labels)
    loc, scale = _cauchy_mle_columns(phi, float(tol), int(max_iter))
    if one_d:
        return loc[0], scale[0]
    return loc, scale


# ----------------------------------------------------------------------------------------
# Per-mode statistics
# ----------------------------------------------------------------------------------------


def _ks_distance(sorted_columns: np.ndarray, cdf_values: np.ndarray) -> np.ndarray:
    """Two-sided KS statistic per column, from sorted samples' fitted-CDF values.

    D = max_i max(i/N − F(x_(i)), F(x_(i)) − (i−1)/N), as :func:`scipy.stats.kstest`.
    """
    n_points = sorted_columns.shape[0]
    upper = np.arange(1, n_points + 1, dtype=np.float64)[:, None] / n_points
    lower = upper - 1.0 / n_points
    return np.maximum(np.max(upper - cdf_values, axis=0), np.max(cdf_values - lower, axis=0))


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array)  # own copy, so freezing it cannot affect the caller
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class ModeStatistics:
    """Gaussian and Cauchy fits of feature modes (THEORY.md §6, paper Fig. 5).

    All arrays have shape (M,), one entry per analysed mode, in the order requested.

    Attributes
    ----------
    mode : int64
        1-based mode index k (column k−1 of phi; k = 1 is the largest eigenvalue).
    gauss_mean, gauss_std : float64
        Gaussian MLE: sample mean and root-mean-square deviation (ddof = 0).
    cauchy_loc, cauchy_scale : float64
        Cauchy MLE: location x0 and scale γ (half-width at half-maximum).
    gauss_loglik, cauchy_loglik : float64
        Mean log-likelihood per point of the fitted law, ``(1/N) Σ_i log p(φ_k(x_i))``.
    ks_gauss, ks_cauchy : float64
        Kolmogorov–Smirnov distance between the empirical CDF and the fitted CDF.
    excess_kurtosis : float64
        Plug-in excess kurtosis m4/m2² − 3 (0 for a Gaussian).
    preferred : str
        ``"cauchy"`` where ``cauchy_loglik > gauss_loglik``, else ``"gaussian"``.
    n_points : int
        N, the number of pool points in each sample.
    """

    mode: np.ndarray
    gauss_mean: np.ndarray
    gauss_std: np.ndarray
    cauchy_loc: np.ndarray
    cauchy_scale: np.ndarray
    gauss_loglik: np.ndarray
    cauchy_loglik: np.ndarray
    ks_gauss: np.ndarray
    ks_cauchy: np.ndarray
    excess_kurtosis: np.ndarray
    preferred: np.ndarray
    n_points: int

    def __post_init__(self) -> None:
        size = None
        for item in fields(self):
            if item.name == "n_points":
                continue
            array = _readonly(getattr(self, item.name))
            if array.ndim != 1 or (size is not None and array.size != size):
                raise WilsonianError(
                    f"ModeStatistics.{item.name} must be 1-D with one entry per mode; "
                    "build it with mode_statistics()."
                )
            size = array.size
            object.__setattr__(self, item.name, array)

    def __len__(self) -> int:
        return int(self.mode.size)

    @property
    def loglik_difference(self) -> np.ndarray:
        """Mean log-likelihood of the Cauchy fit minus that of the Gaussian fit, shape (M,)."""
        return self.cauchy_loglik - self.gauss_loglik

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict: lists of Python ints/floats/strings, plus ``n_points``."""
        out: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            out[item.name] = value.tolist() if isinstance(value, np.ndarray) else int(value)
        return out


def mode_statistics(
    phi: Any, modes: Sequence[int] | np.ndarray | None = None, progress: bool = False
) -> ModeStatistics:
    """Fit a Gaussian and a Cauchy law to each feature mode and compare them (THEORY.md §6).

    Parameters
    ----------
    phi : array_like, shape (N, K)
        Eigenfunctions on the pool, ``phi[i, k-1] = φ_k(x_i) = √N v_k(i)``, columns in
        descending eigenvalue order. Finite, N ≥ 8.
    modes : sequence of int, optional
        1-based indices of the modes to analyse (each in 1..K, no repeats); default all K.
    progress : bool
        Show a progress bar (tqdm, stderr) over blocks of columns.

    Returns
    -------
    ModeStatistics
        Per-mode Gaussian and Cauchy MLEs, mean log-likelihoods, KS distances, excess
        kurtosis and preferred law, in the order of ``modes``.

    Raises
    ------
    WilsonianError
        Bad ``phi`` or ``modes``, or a mode with a single value on half the points or more.

    Notes
    -----
    Cost: one sort per column plus ~40 vectorized EM sweeps for the Cauchy fit, i.e.
    O(N K log N); columns are processed in blocks of about 4·10⁶ numbers so that memory
    stays bounded for any K.
    """
    array = _as_phi(phi)
    n_points, n_modes = array.shape
    labels = (
        np.arange(1, n_modes + 1, dtype=np.int64) if modes is None else _as_modes(modes, n_modes)
    )
    columns = labels - 1

    parts: dict[str, list[np.ndarray]] = {
        name: []
        for name in (
            "gauss_mean",
            "gauss_std",
            "cauchy_loc",
            "cauchy_scale",
            "gauss_loglik",
            "cauchy_loglik",
            "ks_gauss",
            "ks_cauchy",
            "excess_kurtosis",
        )
    }
    blocks = _column_blocks(n_points, columns.size)
    for block in tqdm(blocks, desc="mode statistics", unit="block", disable=not progress, file=sys.stderr):
        samples = array[:, columns[block]]
        sorted_samples = np.sort(samples, axis=0)
        _check_not_degenerate(sorted_samples, labels[block])

        mean = samples.mean(axis=0)
        std = np.sqrt(np.mean((samples - mean) ** 2, axis=0))
        # At the Gaussian MLE ⟨(x−μ)²⟩/σ² = 1, so the mean log-density is closed form.
        gauss_loglik = -0.5 * np.log(2.0 * np.pi * std**2) - 0.5

        loc, scale = _cauchy_mle_columns(sorted_samples, tol=1e-10, max_iter=500)
        cauchy_loglik = _cauchy_mean_loglik(sorted_samples, loc, scale)

        # Fitted CDFs in closed form (scipy.stats' generic cdf costs more than the fit).
        ks_gauss = _ks_distance(sorted_samples, scipy.special.ndtr((sorted_samples - mean) / std))
        ks_cauchy = _ks_distance(
            sorted_samples, 0.5 + np.arctan((sorted_samples - loc) / scale) / np.pi
        )
        kurtosis = scipy.stats.kurtosis(samples, axis=0, fisher=True, bias=True)

        for name, value in (
            ("gauss_mean", mean),
            ("gauss_std", std),
            ("cauchy_loc", loc),
            ("cauchy_scale", scale),
            ("gauss_loglik", gauss_loglik),
            ("cauchy_loglik", cauchy_loglik),
            ("ks_gauss", ks_gauss),
            ("ks_cauchy", ks_cauchy),
            ("excess_kurtosis", kurtosis),
        ):
            parts[name].append(value)

    joined = {name: np.concatenate(values) for name, values in parts.items()}
    preferred = np.where(joined["cauchy_loglik"] > joined["gauss_loglik"], CAUCHY, GAUSSIAN)
    return ModeStatistics(mode=labels, preferred=preferred, n_points=n_points, **joined)


# ----------------------------------------------------------------------------------------
# Connected fourth cumulant
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FourthCumulant:
    """Connected fourth cumulant of chosen modes and its standard errors (THEORY.md §5).

    Attributes
    ----------
    modes : int64, shape (m,)
        1-based mode labels; axis positions a, b, c, d of the tensors refer to this order.
    cumulant : float64, shape (m, m, m, m)
        U[a,b,c,d] = ⟨z_a z_b z_c z_d⟩ − C_ab C_cd − C_ac C_bd − C_ad C_bc with
        z_a = φ_a − ⟨φ_a⟩ and C_ab = ⟨z_a z_b⟩ (plug-in moments over the pool; not
        standardized, so U_aaaa = excess kurtosis × C_aa²). Fully symmetric.
    stderr : float64, shape (m, m, m, m)
        Delta-method (infinitesimal-jackknife) standard error of each entry.
    n_points : int
        N, the number of pool points.
    """

    modes: np.ndarray
    cumulant: np.ndarray
    stderr: np.ndarray
    n_points: int

    def __post_init__(self) -> None:
        for name in ("modes", "cumulant", "stderr"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict of nested lists plus ``n_points``."""
        return {
            "modes": self.modes.tolist(),
            "cumulant": self.cumulant.tolist(),
            "stderr": self.stderr.tolist(),
            "n_points": int(self.n_points),
        }


def fourth_cumulant(phi: Any, modes: Sequence[int] | np.ndarray) -> FourthCumulant:
    """Connected fourth cumulant U[a,b,c,d] of the chosen modes, with standard errors.

    THEORY.md §5: U_{k1k2k3k4} = ⟨φ_k1 φ_k2 φ_k3 φ_k4⟩_connected, the measure of
    non-Gaussianity of the features. For jointly Gaussian features U = 0.

    Parameters
    ----------
    phi : array_like, shape (N, K)
        Eigenfunctions on the pool (see the module docstring). Finite, N ≥ 8.
    modes : sequence of int, length m
        1-based mode indices (1..K, no repeats, m ≤ MAX_CUMULANT_MODES).

    Returns
    -------
    FourthCumulant
        ``cumulant`` and ``stderr``, each (m, m, m, m), in the order of ``modes``.

    Notes
    -----
    Each variable is centered at its sample mean; moments are plug-in averages over the
    pool (1/N). The standard error is the delta method: with the influence function

        IF_i = z_a z_b z_c z_d − M_abcd
               − Σ_{3 pairings} [C_ab (z_c z_d − C_cd) + C_cd (z_a z_b − C_ab)]
               − (M_bcd z_a + M_acd z_b + M_abd z_c + M_abc z_d)

    (M the sample moments of z; the last line accounts for the estimated means), the
    variance of U is estimated by Σ_i IF_i² / (N (N−1)). This is deterministic and equals
    the leave-one-out jackknife to leading order in 1/N. Only the C(m+3, 4) distinct
    entries (a ≤ b ≤ c ≤ d) are computed: cost O(N m⁴/24) time, memory O(m⁴ + 2²² numbers).
    """
    array = _as_phi(phi)
    n_points = array.shape[0]
    labels = _as_modes(modes, array.shape[1])
    n_sel = labels.size
    if n_sel > MAX_CUMULANT_MODES:
        raise WilsonianError(
            f"fourth_cumulant got {n_sel} modes; the tensor has m⁴ entries, so choose at most "
            f"{MAX_CUMULANT_MODES} modes."
        )
    centered = array[:, labels - 1]
    centered = centered - centered.mean(axis=0)
    cov = centered.T @ centered / n_points
    third = np.einsum("ia,ib,ic->abc", centered, centered, centered, optimize=True) / n_points

    # U is fully symmetric: work on the index tuples a ≤ b ≤ c ≤ d only (m⁴/24 of them for
    # large m), one column per tuple, then copy each value to all its permutations.
    a, b, c, d = np.array(list(itertools.combinations_with_replacement(range(n_sel), 4))).T
    chunk = max(1, _BLOCK_ELEMENTS // a.size)

    def products(z: np.ndarray) -> np.ndarray:  # z_a z_b z_c z_d per point, (n, T)
        return z[:, a] * z[:, b] * z[:, c] * z[:, d]

    fourth = sum(
        products(centered[start : start + chunk]).sum(axis=0)
        for start in range(0, n_points, chunk)
    )
    fourth = fourth / n_points
    # The three pairings of (a, b, c, d): (ab|cd), (ac|bd), (ad|bc).
    pairings = ((a, b, c, d), (a, c, b, d), (a, d, b, c))
    cumulant = fourth - sum(cov[p, q] * cov[r, s] for p, q, r, s in pairings)

    # Standard errors: sum the squared influence function over chunks of points.
    influence_squared = np.zeros(a.size)
    for start in range(0, n_points, chunk):
        z = centered[start : start + chunk]
        influence = products(z) - fourth
        for p, q, r, s in pairings:
            influence -= cov[p, q] * (z[:, r] * z[:, s] - cov[r, s])
            influence -= cov[r, s] * (z[:, p] * z[:, q] - cov[p, q])
        # Moving the means moves the centered fourth moment: ∂M_abcd/∂μ_a = −M_bcd, etc.
        influence -= z[:, a] * third[b, c, d] + z[:, b] * third[a, c, d]
        influence -= z[:, c] * third[a, b, d] + z[:, d] * third[a, b, c]
        influence_squared += np.einsum("it,it->t", influence, influence)
    stderr = np.sqrt(influence_squared / (n_points * (n_points - 1.0)))

    cumulant_tensor = np.empty((n_sel,) * 4)
    stderr_tensor = np.empty((n_sel,) * 4)
    for order in itertools.permutations((a, b, c, d)):
        cumulant_tensor[order] = cumulant
        stderr_tensor[order] = stderr
    return FourthCumulant(
        modes=labels, cumulant=cumulant_tensor, stderr=stderr_tensor, n_points=n_points
    )
