"""Compiled per-mode fits of :mod:`wilsonian.mode_stats` (numba): blocked, one sample at a time in cache.

A block of columns of ``phi`` is gathered into rows (:func:`gather_columns`) and sorted by
NumPy (its SIMD sort is ~3× numba's). Every statistic of a sorted row is then a pass over
N numbers while they sit in the cache: the Gaussian moments, the quartiles that start the
Cauchy fit, the EM steps of the fit (two passes each), the Cauchy log-likelihood and both
Kolmogorov–Smirnov distances (:func:`sorted_statistics`). The NumPy version made ~10 passes
over N × (block of columns) arrays per EM step, out of cache, with two divisions per number.

The algorithms are those described in :mod:`wilsonian.mode_stats`; the order of the
additions differs from NumPy's (sequential here, pairwise there) and z = (x − x0)·(1/γ) is
a product, which moves the results by round-off (~1e-14 relative measured on real modes),
far below the fits' convergence tolerance. No ``fastmath``: the same input gives the same
numbers on any CPU.

The kernels release the GIL, so blocks of columns run on worker threads.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Columns of the per-mode output of :func:`column_statistics`.
FIELDS = ("gauss_mean", "gauss_std", "cauchy_loc", "cauchy_scale", "gauss_loglik", "cauchy_loglik",
          "ks_gauss", "ks_cauchy", "excess_kurtosis")

#: Status codes of :func:`column_statistics` / :func:`cauchy_columns`.
CONVERGED, NOT_CONVERGED, DEGENERATE = 0, 1, 2

_SQRT_HALF = math.sqrt(0.5)


@numba.njit(nogil=True, cache=True)
def _quantile(sorted_x, q):
    """NumPy's default ("linear") quantile of a sorted sample."""
    position = q * (sorted_x.size - 1)
    low = int(math.floor(position))
    high = min(low + 1, sorted_x.size - 1)
    t = position - low
    a, b = sorted_x[low], sorted_x[high]
    difference = b - a
    return b - difference * (1.0 - t) if t >= 0.5 else a + difference * t


@numba.njit(nogil=True, cache=True)
def _is_degenerate(sorted_x):
    """True if one value fills at least half of the sorted sample (a flat window of ⌈N/2⌉)."""
    n = sorted_x.size
    half = (n + 1) // 2
    for i in range(n - half + 1):
        if sorted_x[i + half - 1] == sorted_x[i]:
            return True
    return False


@numba.njit(nogil=True, cache=True)
def _cauchy_em(sorted_x, weights, tol, max_iter):
    """Cauchy MLE of one non-degenerate sorted sample by PX-EM; (loc, scale, converged).

    Started at the median and the half inter-quartile range (mean absolute deviation from
    the median when the quartiles tie). Each step: E-step weights w = 1/(1 + z²) of the
    current (x0, γ); x0' = x0 + Σw(x−x0)/Σw; γ'² = Σw(x−x0')²/Σw. It stops when
    max(|x0'−x0|/γ', |γ'/γ − 1|) < tol.
    """
    n = sorted_x.size
    loc = _quantile(sorted_x, 0.5)
    scale = 0.5 * (_quantile(sorted_x, 0.75) - _quantile(sorted_x, 0.25))
    if scale <= 0.0:
        total = 0.0
        for i in range(n):
            total += abs(sorted_x[i] - loc)
        scale = total / n
    for _ in range(max_iter):
        weight_sum = 0.0
        weighted = 0.0
        inverse_scale = 1.0 / scale  # one division per number, not two
        for i in range(n):
            residual = sorted_x[i] - loc
            z = residual * inverse_scale
            w = 1.0 / (z * z + 1.0)
            weights[i] = w
            weight_sum += w
            weighted += w * residual
        new_loc = loc + weighted / weight_sum
        spread = 0.0
        for i in range(n):
            residual = sorted_x[i] - new_loc
            spread += weights[i] * residual * residual
        new_scale = math.sqrt(spread / weight_sum)
        change = max(abs(new_loc - loc) / new_scale, abs(new_scale / scale - 1.0))
        loc, scale = new_loc, new_scale
        if change < tol:
            return loc, scale, True
    return loc, scale, False


@numba.njit(nogil=True, cache=True)
def _ks_distances(sorted_x, mean, std, loc, scale):
    """KS distances of the sorted sample to N(mean, std²) and to Cauchy(loc, scale).

    D = max_i max(i/N − F(x_(i)), F(x_(i)) − (i−1)/N), as :func:`scipy.stats.kstest`.
    """
    n = sorted_x.size
    gauss_factor = -_SQRT_HALF / std
    inverse_scale = 1.0 / scale
    ks_gauss = 0.0
    ks_cauchy = 0.0
    for i in range(n):
        upper = (i + 1) / n
        lower = i / n
        f = 0.5 * math.erfc((sorted_x[i] - mean) * gauss_factor)
        ks_gauss = max(ks_gauss, upper - f, f - lower)
        f = 0.5 + math.atan((sorted_x[i] - loc) * inverse_scale) / math.pi
        ks_cauchy = max(ks_cauchy, upper - f, f - lower)
    return ks_gauss, ks_cauchy


@numba.njit(nogil=True, cache=True)
def gather_columns(phi, columns, out):
    """``out[j] = phi[:, columns[j]]`` for an (m, N) C-ordered ``out``, reading ``phi`` by rows."""
    for i in range(phi.shape[0]):
        for j in range(columns.size):
            out[j, i] = phi[i, columns[j]]


@numba.njit(nogil=True, cache=True)
def sorted_statistics(rows, tol, max_iter, out, status):
    """Per-mode statistics of each sorted sample ``rows[j]`` into ``out[j]`` (order :data:`FIELDS`).

    ``status[j]`` is CONVERGED, NOT_CONVERGED (the Cauchy fit needs finishing: ``out``
    holds the last EM iterate, and the Cauchy log-likelihood and KS distances are left to
    :func:`finish_row`) or DEGENERATE (one value on half of the points or more: nothing
    computed).
    """
    n = rows.shape[1]
    weights = np.empty(n)
    for j in range(rows.shape[0]):
        sorted_x = rows[j]
        if _is_degenerate(sorted_x):
            status[j] = DEGENERATE
            continue
        total = 0.0
        for i in range(n):
            total += sorted_x[i]
        mean = total / n
        m2 = 0.0
        m4 = 0.0
        for i in range(n):
            d = sorted_x[i] - mean
            d2 = d * d
            m2 += d2
            m4 += d2 * d2
        m2 /= n
        m4 /= n
        std = math.sqrt(m2)
        loc, scale, converged = _cauchy_em(sorted_x, weights, tol, max_iter)
        out[j, 0] = mean
        out[j, 1] = std
        out[j, 2] = loc
        out[j, 3] = scale
        # At the Gaussian MLE ⟨(x−μ)²⟩/σ² = 1, so the mean log-density is closed form.
        out[j, 4] = -0.5 * math.log(2.0 * math.pi * m2) - 0.5
        out[j, 8] = m4 / (m2 * m2) - 3.0
        status[j] = CONVERGED if converged else NOT_CONVERGED
        if converged:
            finish_row(sorted_x, out[j])


@numba.njit(nogil=True, cache=True)
def finish_row(sorted_x, row):
    """Cauchy mean log-likelihood and both KS distances of a sorted sample into ``row``,
    from its fits in ``row`` (order :data:`FIELDS`)."""
    n = sorted_x.size
    loc, scale = row[2], row[3]
    inverse_scale = 1.0 / scale
    total = 0.0
    for i in range(n):
        z = (sorted_x[i] - loc) * inverse_scale
        total += math.log1p(z * z)
    row[5] = -math.log(math.pi * scale) - total / n
    row[6], row[7] = _ks_distances(sorted_x, row[0], row[1], loc, scale)


@numba.njit(nogil=True, cache=True)
def cauchy_rows(rows, tol, max_iter, loc, scale, status):
    """Cauchy MLE (PX-EM) of each sorted sample ``rows[j]`` into ``loc``, ``scale``, ``status``."""
    weights = np.empty(rows.shape[1])
    for j in range(rows.shape[0]):
        if _is_degenerate(rows[j]):
            status[j] = DEGENERATE
            continue
        loc[j], scale[j], converged = _cauchy_em(rows[j], weights, tol, max_iter)
        status[j] = CONVERGED if converged else NOT_CONVERGED
