"""Resolvent sums over many modes at the cost of a few dozen: cluster expansions.

Every theory of THEORY.md §4 needs, for each η and ridge ρ, sums

    F_w(t) = Σ_k w_k/(λ_k + t)   and   G_w(t) = Σ_k w_k/(λ_k + t)²,   t = ρ/η ≥ 0,

with non-negative weights w (λ, λ², y_k²). Done directly that is n_η × M divisions per Newton
step. Here the sorted eigenvalues are cut into clusters whose members lie within a relative
distance ρ_c = 1/3 of the cluster's centre c (a cluster spans a factor 2). With
d_k = (λ_k − c)/c and s = c/(c + t) ∈ (0, 1],

    1/(λ_k + t) = (1/(c + t)) Σ_q (−s d_k)^q,     |s d_k| ≤ 1/3,

so each cluster contributes (1/(c+t)) Σ_q m_q (−s)^q with moments m_q = Σ_{k∈c} w_k d_k^q,
computed once. Because t ≥ 0 moves the pole −t away from every cluster, the same expansion
holds for all t: no near field, no far field. With P terms the truncation error of a
cluster is at most 3^{−P}·(4/3)/(2/3) of its (positive) contribution to F, so P = 33 gives
≤ 2·10⁻¹⁶ relative for every F with non-negative weights; G's terms carry a factor q + 1,
which makes it ≤ 4·10⁻¹⁵ (tests: ≤ 1e-13 against the direct sums, measured ≤ 1.5e-14). A spectrum spanning D decades needs about 3.3 D
clusters: ~20 for 10⁴ power-law modes, so an evaluation costs ~20·33 operations per weight
instead of 10⁴, and the moments cost one pass of 33 products per mode.

The scaled moments (d instead of λ − c) keep every quantity O(1), so spectra spanning 15
decades neither overflow nor lose the small clusters.
"""

from __future__ import annotations

import numba
import numpy as np

#: Relative radius of a cluster: its members satisfy |λ − c| ≤ RADIUS·c.
RADIUS = 1.0 / 3.0
#: Terms of each cluster's expansion: RADIUS^TERMS·(1+RADIUS)/(1−RADIUS) < 2e-16.
TERMS = 33


@numba.njit(cache=True, nogil=True)
def _clusters(lam, radius):
    """Cluster starts (C + 1,) and centres (C,) for λ sorted descending, all > 0.

    A cluster starts at the largest remaining λ (= (1 + radius)·c) and takes every λ down
    to (1 − radius)·c.
    """
    m = lam.size
    starts = np.empty(m + 1, np.int64)
    centres = np.empty(m)
    count = 0
    k = 0
    while k < m:
        centre = lam[k] / (1.0 + radius)
        low = centre * (1.0 - radius)
        j = k
        while j < m and lam[j] >= low:
            j += 1
        starts[count] = k
        centres[count] = centre
        count += 1
        k = j
    starts[count] = m
    return starts[: count + 1].copy(), centres[:count].copy()


@numba.njit(cache=True, nogil=True, fastmath=True)
def _moments(lam, weights, starts, centres, terms):
    """m[c, q, w] = Σ_{k∈c} weights[w, k]·d_k^q, d_k = (λ_k − c)/c.

    ``fastmath`` lets the sums over a cluster's modes use vector registers. It reorders the
    additions (and allows contractions), so moments may differ in the last bits between
    CPUs; the inputs are finite, so its no-NaN/no-Inf assumptions hold.
    """
    n_clusters = centres.size
    n_weights, m = weights.shape
    d = np.empty(m)
    for c in range(n_clusters):
        for k in range(starts[c], starts[c + 1]):
            d[k] = (lam[k] - centres[c]) / centres[c]
    out = np.empty((n_clusters, terms, n_weights))
    for w in range(n_weights):
        term = weights[w].copy()  # w_k·d_k^q, advanced one power per q
        for c in range(n_clusters):
            segment = term[starts[c] : starts[c + 1]]
            distance = d[starts[c] : starts[c + 1]]
            for q in range(terms):
                # Two loops, not one fused loop: each vectorizes on its own (measured 3× faster).
                acc = 0.0
                for k in range(segment.size):
                    acc += segment[k]
                out[c, q, w] = acc
                for k in range(segment.size):
                    segment[k] *= distance[k]
    return out


@numba.njit(cache=True, nogil=True)
def _evaluate(centres, moments, t, first_columns, second_columns, first, second):
    """first[i, j] = F_{w_j}(t_i) for w_j = first_columns[j]; second likewise with G.

    The loops over t are innermost and free of reductions, so they vectorize.
    """
    n = t.size
    first[:, :] = 0.0
    second[:, :] = 0.0
    u = np.empty(n)
    s = np.empty(n)
    poly = np.empty(n)
    terms = moments.shape[1]
    for c in range(centres.size):
        centre = centres[c]
        for i in range(n):
            u[i] = 1.0 / (centre + t[i])
            s[i] = centre * u[i]
        for j in range(first_columns.size):
            w = first_columns[j]
            for i in range(n):
                poly[i] = 0.0
            for q in range(terms - 1, -1, -1):
                coefficient = moments[c, q, w]
                for i in range(n):
                    poly[i] = coefficient - s[i] * poly[i]
            for i in range(n):
                first[i, j] += u[i] * poly[i]
        for j in range(second_columns.size):
            w = second_columns[j]
            for i in range(n):
                poly[i] = 0.0
            for q in range(terms - 1, -1, -1):
                coefficient = (q + 1) * moments[c, q, w]
                for i in range(n):
                    poly[i] = coefficient - s[i] * poly[i]
            for i in range(n):
                second[i, j] += u[i] * u[i] * poly[i]


@numba.njit(cache=True, nogil=True)
def _evaluate_active(centres, moments, lam_column, lam2_column, eta, values, active, count):
    """Σλ/(λ + t) and Σλ²/(λ + t)² at t = values_i/η_i for the first ``count`` indices i in
    ``active``, shapes (count, 1): one step of the solvers below, for the η still running."""
    t = np.empty(count)
    for j in range(count):
        t[j] = values[active[j]] / eta[active[j]]
    first = np.empty((count, 1))
    second = np.empty((count, 1))
    _evaluate(centres, moments, t, np.array([lam_column]), np.array([lam2_column]), first, second)
    return first, second


@numba.njit(cache=True, nogil=True)
def _newton_from_above(centres, moments, lam_column, lam2_column, eta, kappa, floor, tolerance, max_steps):
    """Newton steps on F(κ) = κ − floor − κ Σλ/(ηλ+κ), F' = 1 − η Σλ²/(ηλ+κ)², in place.

    Every κ must start at or above its root; F is convex, so the iterates decrease onto it
    (see :func:`wilsonian.theory.spectral_bias.solve_kappa`). Each step evaluates only the
    η not yet converged. Returns (steps of the slowest η, number still unconverged).
    """
    active = np.arange(eta.size)
    count = eta.size
    steps = 0
    while count > 0 and steps < max_steps:
        steps += 1
        first, second = _evaluate_active(centres, moments, lam_column, lam2_column, eta, kappa, active, count)
        keep = 0
        for j in range(count):
            i = active[j]
            k = kappa[i]
            f = k - floor - k * first[j, 0] / eta[i]
            fprime = 1.0 - second[j, 0] / eta[i]
            # Above the root F ≥ 0 up to round-off; F ≤ 0 means we sit on the root.
            delta = max(f, 0.0) / fprime if fprime > 0.0 else 0.0
            new = max(k - delta, floor)
            kappa[i] = new
            if not (delta <= tolerance * new or f <= 0.0):
                active[keep] = i
                keep += 1
        count = keep
    return steps, count


@numba.njit(cache=True, nogil=True)
def _picard(centres, moments, lam_column, lam2_column, eta, ridge, floor, n_positive, tolerance, max_steps,
            steps_out):
    """Fixed-point steps s ← G(s) = floor + s Σλ/(ηλ+s), in place, until each η converges.

    G is increasing and concave with G'(s) = γ(s) = η Σλ²/(ηλ+s)², so near its stable fixed
    point κ the error contracts by γ(κ) per step and the distance left after a step Δ is
    ≈ γ|Δ|/(1 − γ) (the geometric tail). An η stops when that tail is ≤ ``tolerance``·s, when
    the step reaches round-off (|Δ| ≤ 4 ε s; κ is then known to ~ε/(1 − γ)), or, where κ = 0 is the only fixed point
    (``floor`` = 0 and η ≥ ``n_positive`` = M), when s ≤ ``tolerance``·s_0. ``steps_out[i]``
    receives the steps η_i took (−1: not converged after ``max_steps``). Returns the number
    still unconverged.
    """
    n = eta.size
    active = np.arange(n)
    count = n
    start = ridge.copy()
    for i in range(n):
        steps_out[i] = -1
    eps = 2.220446049250313e-16
    steps = 0
    while count > 0 and steps < max_steps:
        steps += 1
        first, second = _evaluate_active(centres, moments, lam_column, lam2_column, eta, ridge, active, count)
        keep = 0
        for j in range(count):
            i = active[j]
            s = ridge[i]
            new = floor + s * first[j, 0] / eta[i]
            gamma = second[j, 0] / eta[i]
            delta = abs(new - s)
            ridge[i] = new
            done = False
            if gamma < 1.0:
                tail = gamma * delta / (1.0 - gamma)
                done = tail <= tolerance * new or delta <= 4.0 * eps * new
            if floor == 0.0 and eta[i] >= n_positive and new <= tolerance * start[i]:
                done = True
            if done:
                steps_out[i] = steps
            else:
                active[keep] = i
                keep += 1
        count = keep
    return count


class ResolventExpansion:
    """F_w(t) and G_w(t) for fixed modes and non-negative weights, at any t ≥ 0.

    Parameters
    ----------
    eigenvalues : (M,) λ_k > 0, sorted descending
    weights : (M, W) weights w_k, one column per weight (non-negative unless ``exact``)
    exact : bool
        Make every mode its own cluster with one term: the sums are then the direct ones,
        Σ_k w_k/(λ_k + t), computed by the same compiled code (for few modes, where the
        clusters would save nothing).
    """

    def __init__(self, eigenvalues: np.ndarray, weights: np.ndarray, *, exact: bool = False):
        lam = np.ascontiguousarray(eigenvalues, dtype=np.float64)
        weights = np.asarray(weights, dtype=np.float64)
        if lam.ndim != 1 or np.any(lam <= 0) or np.any(np.diff(lam) > 0):
            raise ValueError("the expansion needs positive eigenvalues sorted descending")
        self._column_arrays: dict[tuple, np.ndarray] = {}
        if exact:
            self.starts = np.arange(lam.size + 1, dtype=np.int64)
            self.centres = lam
            self.moments = np.ascontiguousarray(weights[:, None, :])
        else:
            self.starts, self.centres = _clusters(lam, RADIUS)
            self.moments = _moments(lam, np.ascontiguousarray(weights.T), self.starts, self.centres, TERMS)

    @property
    def n_clusters(self) -> int:
        return int(self.centres.size)

    def __call__(self, t: np.ndarray, first_columns, second_columns) -> tuple[np.ndarray, np.ndarray]:
        """(F for the ``first_columns`` weights, G for the ``second_columns``), shapes (n, ·)."""
        first_columns, second_columns = self._columns(first_columns), self._columns(second_columns)
        t = np.ascontiguousarray(t, dtype=np.float64)
        first = np.empty((t.size, first_columns.size))
        second = np.empty((t.size, second_columns.size))
        _evaluate(self.centres, self.moments, t, first_columns, second_columns, first, second)
        return first, second

    def newton_from_above(self, lam_column: int, lam2_column: int, eta: np.ndarray, kappa: np.ndarray,
                          floor: float, tolerance: float, max_steps: int) -> tuple[int, int]:
        """Solve the spectral-bias equation in place from above (:func:`_newton_from_above`);
        the weight columns must hold λ and λ². Returns (steps, number unconverged)."""
        return _newton_from_above(self.centres, self.moments, lam_column, lam2_column,
                                  np.ascontiguousarray(eta, dtype=np.float64), kappa, float(floor),
                                  float(tolerance), int(max_steps))

    def picard(self, lam_column: int, lam2_column: int, eta: np.ndarray, ridge: np.ndarray, floor: float,
               tolerance: float, max_steps: int) -> tuple[np.ndarray, int]:
        """Iterate s ← floor + s Σλ/(ηλ+s) in place to its fixed point (:func:`_picard`); the weight
        columns must hold λ and λ². Returns (steps per η, −1 where unconverged; number unconverged)."""
        steps = np.empty(eta.size, dtype=np.int64)
        left = _picard(self.centres, self.moments, lam_column, lam2_column,
                       np.ascontiguousarray(eta, dtype=np.float64), ridge, float(floor), float(self.starts[-1]),
                       float(tolerance), int(max_steps), steps)
        return steps, int(left)

    def _columns(self, columns) -> np.ndarray:
        # Newton steps ask for the same few column sets many times: convert each once.
        key = tuple(columns)
        array = self._column_arrays.get(key)
        if array is None:
            array = self._column_arrays[key] = np.array(key, dtype=np.int64)
        return array
