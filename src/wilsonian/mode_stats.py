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
  which increases the likelihood at every step, started at the median and the half
  inter-quartile range (the Cauchy quartiles are x0 ± γ). Columns that have not converged
  after ``max_iter`` steps are finished by a quasi-Newton optimizer
  (:func:`scipy.optimize.minimize`, BFGS with the analytic gradient).

The fits are compared by their mean log-likelihood per point (the preferred law is the one
with the higher value), by Kolmogorov–Smirnov distances to each fitted law (as
:func:`scipy.stats.kstest`) and by the excess kurtosis (plug-in estimator, as
:func:`scipy.stats.kurtosis` with ``bias=True``).

Speed
-----
The fits are compiled (:mod:`wilsonian._mode_fits`, numba) and run one column at a time:
the column is copied and sorted once (the KS distances and the quartiles need the order),
and every statistic, each EM step included, is then a pass over N numbers in the cache.
Blocks of columns run on worker threads. Only the modes asked for are sorted and fitted.

The figures of these statistics are in :mod:`wilsonian.plots.modes`.
"""

from __future__ import annotations

import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np

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

#: EM steps of the Cauchy fits in :func:`mode_statistics` before BFGS finishes a column.
_EM_MAX_ITER = 500

#: Labels used in :attr:`ModeStatistics.preferred`.
GAUSSIAN = "gaussian"
CAUCHY = "cauchy"


# ----------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------


def _as_phi(phi: Any, check_finite: bool = True) -> np.ndarray:
    """Return ``phi`` as a float64 (N, K) array with N ≥ MIN_POINTS, or raise.

    With ``check_finite=False`` the caller checks the columns it uses (:func:`_check_finite`):
    eigenfunctions can be N × N, and a scan of all of them costs more than fitting a few.
    """
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
    if check_finite:
        _check_finite(array)
    return array


def _check_finite(values: np.ndarray, finite: bool | None = None) -> None:
    """Raise unless every entry of ``values`` is finite (or ``finite`` says they are)."""
    if not (np.all(np.isfinite(values)) if finite is None else finite):
        raise WilsonianError(
            "phi contains NaN or infinite values; check the eigensolver output."
        )


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


def _degenerate_error(labels: np.ndarray) -> WilsonianError:
    """The error for modes with one value on at least half of the points.

    Then the Cauchy likelihood is unbounded (scale → 0) or maximal on the boundary, and a
    constant column also has no Gaussian fit (σ = 0).
    """
    return WilsonianError(
        f"modes {labels.tolist()} take a single value on at least half of the points, so their "
        "Gaussian/Cauchy fits do not exist; leave these modes out."
    )


def _column_blocks(n_points: int, n_columns: int, workers: int = 1) -> list[slice]:
    """Split ``n_columns`` into contiguous blocks: at most ``_BLOCK_ELEMENTS`` numbers each,
    and at least one block per worker."""
    width = max(1, min(_BLOCK_ELEMENTS // n_points, -(-n_columns // workers)))
    return [slice(start, min(start + width, n_columns)) for start in range(0, n_columns, width)]


def _workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _map_blocks(function, blocks: list[slice], progress: bool, label: str) -> None:
    """Call ``function(block)`` for every block, on worker threads (the kernels release the GIL)."""
    bar = None
    if progress:
        from wilsonian._progress import progress_bar

        bar = progress_bar(total=len(blocks), desc=label, unit="block")
    try:
        if len(blocks) == 1:
            function(blocks[0])
            if bar is not None:
                bar.update(1)
            return
        with ThreadPoolExecutor(max_workers=min(_workers(), len(blocks))) as pool:
            for future in [pool.submit(function, block) for block in blocks]:
                future.result()
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()


# ----------------------------------------------------------------------------------------
# Cauchy maximum likelihood
# ----------------------------------------------------------------------------------------


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


def _finish_with_bfgs(sample: np.ndarray, loc: float, scale: float) -> tuple[float, float]:
    """Cauchy MLE of one sample from the EM iterate (x0, γ), by BFGS with the analytic gradient."""
    import scipy.optimize

    result = scipy.optimize.minimize(
        _cauchy_negloglik_and_grad, np.array([loc, math.log(scale)]), args=(sample,), jac=True,
        method="BFGS", options={"gtol": 1e-12},
    )
    return float(result.x[0]), math.exp(result.x[1])


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
    PX-EM for the Student-t law with one degree of freedom, started at the median and half
    inter-quartile range, compiled and run column by column; see the module docstring. At
    convergence the score equations hold: ``Σ z/(1+z²) = 0`` and ``Σ 1/(1+z²) = N/2`` with
    ``z = (x−x0)/γ``.
    """
    one_d = np.ndim(samples) == 1
    phi = _as_phi(np.reshape(samples, (-1, 1)) if one_d else samples)
    if not (tol > 0 and math.isfinite(tol)):
        raise WilsonianError(f"tol must be a positive number, got {tol!r}.")
    if int(max_iter) != max_iter or max_iter < 1:
        raise WilsonianError(f"max_iter must be a positive integer, got {max_iter!r}.")
    from wilsonian import _mode_fits

    n_modes = phi.shape[1]
    loc, scale = np.empty(n_modes), np.empty(n_modes)
    status = np.empty(n_modes, dtype=np.int64)
    rows = np.ascontiguousarray(phi.T)  # one sample per row
    rows.sort(axis=1)
    _mode_fits.cauchy_rows(rows, float(tol), int(max_iter), loc, scale, status)
    degenerate = status == _mode_fits.DEGENERATE
    if np.any(degenerate):
        raise _degenerate_error(np.arange(1, n_modes + 1)[degenerate])
    for column in np.flatnonzero(status == _mode_fits.NOT_CONVERGED):
        loc[column], scale[column] = _finish_with_bfgs(phi[:, column], loc[column], scale[column])
    if one_d:
        return loc[0], scale[0]
    return loc, scale


# ----------------------------------------------------------------------------------------
# Per-mode statistics
# ----------------------------------------------------------------------------------------


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
    Cost: one sort per column plus ~35 EM steps (two passes over the column each) for the
    Cauchy fit, i.e. O(N M log N) for M modes, compiled; extra memory is two buffers of N
    numbers per worker thread, whatever M is.
    """
    array = _as_phi(phi, check_finite=False)  # only the modes analysed are checked
    n_points, n_modes = array.shape
    labels = (
        np.arange(1, n_modes + 1, dtype=np.int64) if modes is None else _as_modes(modes, n_modes)
    )
    from wilsonian import _mode_fits

    columns = labels - 1
    values = np.empty((columns.size, len(_mode_fits.FIELDS)))
    status = np.empty(columns.size, dtype=np.int64)
    finite = np.empty(columns.size, dtype=bool)

    def fit(block: slice) -> None:  # on a worker thread: each step releases the GIL
        rows = np.empty((block.stop - block.start, n_points))
        _mode_fits.gather_columns(array, columns[block], rows)
        rows.sort(axis=1)  # the quartiles and the KS distances need the order
        # Sorted, a row is finite if its ends are (-inf first; +inf, then NaN, last).
        finite[block] = np.isfinite(rows[:, 0]) & np.isfinite(rows[:, -1])
        if finite[block].all():
            _mode_fits.sorted_statistics(rows, 1e-10, _EM_MAX_ITER, values[block], status[block])

    _map_blocks(fit, _column_blocks(n_points, columns.size, _workers()), progress, "mode statistics")
    _check_finite(array, finite=bool(finite.all()))
    degenerate = status == _mode_fits.DEGENERATE
    if np.any(degenerate):
        raise _degenerate_error(labels[degenerate])
    for j in np.flatnonzero(status == _mode_fits.NOT_CONVERGED):  # rare: finish with BFGS
        sample = np.sort(array[:, columns[j]])
        values[j, 2:4] = _finish_with_bfgs(sample, values[j, 2], values[j, 3])
        _mode_fits.finish_row(sample, values[j])
    joined = {name: values[:, i].copy() for i, name in enumerate(_mode_fits.FIELDS)}
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
    array = _as_phi(phi, check_finite=False)
    n_points = array.shape[0]
    labels = _as_modes(modes, array.shape[1])
    n_sel = labels.size
    if n_sel > MAX_CUMULANT_MODES:
        raise WilsonianError(
            f"fourth_cumulant got {n_sel} modes; the tensor has m⁴ entries, so choose at most "
            f"{MAX_CUMULANT_MODES} modes."
        )
    centered = array[:, labels - 1]
    _check_finite(centered)
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
