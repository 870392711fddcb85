"""Gaussian expectations of any elementwise φ from its Hermite series (Mehler's formula).

Expand φ(s z), z ~ N(0, 1), in the orthonormal Hermite polynomials hₙ = Heₙ/√n!:
φ(s z) = Σₙ αₙ(s) hₙ(z), αₙ(s) = E[φ(s z) hₙ(z)]. For (u, v) = (s z₁, s' z₂) with
corr(z₁, z₂) = ρ, E[hₘ(z₁) hₙ(z₂)] = δₘₙ ρⁿ (Mehler), so

    E[φ(u) φ(v)] = Σₙ αₙ(s) αₙ(s') ρⁿ,      E[φ'(u) φ'(v)] = Σₙ βₙ(s) βₙ(s') ρⁿ,   (hs.1)

with βₙ the coefficients of φ'. Every term is a positive semi-definite kernel in the inputs
(a rank-one matrix times the Schur power ρ^∘ⁿ), so any truncation of (hs.1) is one too.

The coefficients of one input, for φ and φ' alike, come from the P-point Gauss–Hermite rule
of the weight e^{−x²/2}/√(2π): α̂ₙ = Σ_p w_p φ(s x_p) hₙ(x_p), n < P, for the smallest P of
:data:`RULES` whose coefficients beyond P/2 are below :data:`NEGLIGIBLE` of their norm (φ(s·)
is then resolved by the rule; the largest rule serves any φ that never is). Coefficients
below :data:`NEGLIGIBLE` of the norm, or below their own rounding error, are set to zero,
and so is every one above the last kept: the sum over a pair runs up to the smaller of the
two inputs' last kept orders. Each input's coefficients depend on its s alone (and on which
of φ, φ' are asked for), so an entry is the same number in whatever tile or block it is
computed. The error of a pair is at most
Σ_dropped |αₙ(s) αₙ(s')|, of the order of NEGLIGIBLE·√(E[φ(u)²] E[φ(v)²]), plus the rule's own
error.

Cost: P evaluations of φ and φ' per input (not per pair) and one multiply-add per pair and
retained order: ~10 orders at the project's default inputs (unit-norm rows, q ≈ 0.003),
~150 for tanh at q = 1. The two-dimensional quadrature of :mod:`wilsonian.kernels.quadrature`
spends n² = 1,024 evaluations of φ and φ' per pair and layer, and is less accurate at every
variance (benchmarks/crosscheck.py: tanh 3e-3 / 3e-2 there at 1 ≤ q ≤ 4).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Callable, Hashable

import numba
import numpy as np

#: Gauss–Hermite rules tried for the coefficients of an input, smallest first (numpy's
#: ``hermegauss`` is accurate to ~10⁻¹⁴ up to 256 points; the smaller rules to round-off).
RULES = (32, 64, 128, 256)
#: Coefficients below this fraction of an input's coefficient norm are dropped.
NEGLIGIBLE = 1e-15


@lru_cache(maxsize=None)
def _rule(points: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, x): the nodes x_p and T[p, n] = w_p hₙ(x_p), shape (P, P), so that
    α̂ = φ(s x) @ T (read-only)."""
    x, w = np.polynomial.hermite_e.hermegauss(points)
    w = w / w.sum()
    h = np.empty((points, points))
    h[:, 0] = 1.0
    h[:, 1] = x
    for n in range(1, points - 1):  # the three-term recurrence of the orthonormal hₙ
        h[:, n + 1] = (x * h[:, n] - np.sqrt(n) * h[:, n - 1]) / np.sqrt(n + 1)
    table = w[:, None] * h
    table.flags.writeable = False
    return table, x


def _values(fn: Callable, z: np.ndarray) -> np.ndarray:
    # Overflow or a domain error at far nodes is expected and handled (coefficients): quiet.
    with np.errstate(all="ignore"):
        out = np.asarray(fn(z), dtype=np.float64)
    return out if out.shape == z.shape else np.broadcast_to(out, z.shape)


@numba.njit(nogil=True, cache=True)
def _transform(vals, table, coefs, noise, norm):
    """coefs = vals @ table, noise = |vals| @ |table| and each row's norm of coefs, every sum
    in a fixed order: the same numbers for a row whatever rows come with it (a BLAS product
    picks its kernel, and so its rounding, by the matrix's shape)."""
    rows, points = vals.shape
    for i in range(rows):
        for n in range(points):
            coefs[i, n] = 0.0
            noise[i, n] = 0.0
        for p in range(points):
            v = vals[i, p]
            for n in range(points):
                coefs[i, n] += v * table[p, n]
                noise[i, n] += abs(v) * abs(table[p, n])
        total = 0.0
        for n in range(points):
            total += coefs[i, n] * coefs[i, n]
        norm[i] = np.sqrt(total)


def _resolved(vals: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients of the rows of ``vals`` (values on a rule's nodes) and which of them are
    kept: above :data:`NEGLIGIBLE` of the row's norm and above their own rounding error,
    the sum of the magnitudes of their terms times 4ε (below it a coefficient is noise:
    tanh's even ones, the far orders of a smooth φ)."""
    coefs, noise, norm = np.empty(vals.shape), np.empty(vals.shape), np.empty(vals.shape[0])
    _transform(np.ascontiguousarray(vals), table, coefs, noise, norm)
    kept = np.abs(coefs) > np.maximum(NEGLIGIBLE * norm[:, None], noise * (4 * np.finfo(np.float64).eps))
    overflow = ~np.isfinite(norm)   # E[φ²] beyond float64: NaN, never dropped as "small"
    coefs[overflow], kept[overflow] = np.nan, True
    return coefs, kept


def _store(out: list[np.ndarray], last: np.ndarray, rows: np.ndarray, points: int,
           resolved: list[tuple[np.ndarray, np.ndarray]], pick: np.ndarray) -> None:
    """Write the kept coefficients of the ``pick``ed rows of one rule into ``out``."""
    for a, (coefs, kept) in zip(out, resolved):
        kept = kept[pick]
        a[rows, :points] = np.where(kept, coefs[pick], 0.0)
        top_kept = np.where(kept.any(axis=1), points - 1 - np.argmax(kept[:, ::-1], axis=1), -1)
        last[rows] = np.maximum(last[rows], top_kept)


def _coefficients(fns: tuple[Callable, ...], s: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """:func:`coefficients` of one chunk of values, full width (256 orders).

    Returns ([A per fn, shape (len(s), 256)], last (len(s),) int64): A[i, n] = α̂ₙ(s_i)
    with the dropped ones (module docstring) zero; ``last[i]`` is the largest n kept for
    input i by any fn (−1 if none), and every coefficient above it is zero.

    A φ that is not finite on a larger rule's nodes (which reach ±22 s at 256 points: an
    exponential overflows, a logarithm leaves its domain) keeps the last rule it was finite
    on; one not finite on the smallest rule's nodes gets NaN coefficients, so its kernel is
    NaN, never a silent zero.
    """
    s = np.asarray(s, dtype=np.float64)
    top = RULES[-1]
    out = [np.zeros((s.size, top)) for _ in fns]
    last = np.full(s.size, -1, dtype=np.int64)
    pending = np.arange(s.size)
    previous = None      # (points, resolved) of the rule before, for the pending rows
    for points in RULES:
        table, x = _rule(points)
        z = s[pending, None] * x[None, :]
        values = [_values(fn, z) for fn in fns]
        finite = np.logical_and.reduce([np.isfinite(v).all(axis=1) for v in values])
        if not finite.all():
            if previous is None:
                for a in out:
                    a[pending[~finite]] = np.nan
                last[pending[~finite]] = 0
            else:
                _store(out, last, pending[~finite], previous[0], previous[1], ~finite)
        resolved = [_resolved(np.where(finite[:, None], v, 0.0), table) for v in values]
        # The rule resolves an input when no fn keeps a coefficient in its upper half.
        done = finite.copy()
        if points < top:
            for _, kept in resolved:
                done &= ~kept[:, points // 2:].any(axis=1)
        _store(out, last, pending[done], points, resolved, done)
        keep = finite & ~done
        pending = pending[keep]
        previous = (points, [(coefs[keep], kept[keep]) for coefs, kept in resolved])
        if pending.size == 0:
            break
    for a in out:  # zero above the common last order (for an fn whose own last is lower)
        a[np.arange(top)[None, :] > last[:, None]] = 0.0
    return out, last


CHUNK = 4096  # inputs whose coefficients are computed at once (temporaries ≈ 10 × CHUNK × 256)


def coefficients(fns: tuple[Callable, ...], s: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Hermite coefficients of each fn(s z) for the standard deviations ``s`` (1-D).

    Returns ([A per fn, shape (len(s), L)], last (len(s),) int64): A[i, n] = α̂ₙ(s_i) with
    the dropped ones (module docstring) zero; ``last[i]`` is the largest n kept for input i
    by any fn (−1 if none), every coefficient above it is zero, and L = max(last) + 1 (at
    least 1) of the 256 orders are returned. Computed :data:`CHUNK` inputs at a time, each
    input on its own (the same numbers in any chunk).
    """
    s = np.asarray(s, dtype=np.float64).ravel()
    parts = [_coefficients(fns, s[i:i + CHUNK]) for i in range(0, s.size, CHUNK)]
    last = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    width = max(int(last.max(initial=-1)) + 1, 1)
    out = [np.concatenate([p[0][k][:, :width] for p in parts]) if parts else np.zeros((0, width))
           for k in range(len(fns))]
    return out, last


_CACHE: OrderedDict = OrderedDict()   # least recently used first
_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()


def _cached_coefficients(fns: tuple[Callable, ...], key: Hashable, s: np.ndarray
                         ) -> tuple[list[np.ndarray], np.ndarray]:
    """:func:`coefficients` of ``s``, kept for the last few (key, s) asked for: every row tile
    of a kernel has the same columns, so their coefficients are computed once a layer.
    ``key`` names the functions by what they compute (an activation's name and parameters,
    its digest for a custom one), not by the objects, which may be unhashable or change;
    ``key=None`` computes without keeping anything."""
    if key is None:
        return coefficients(fns, s)
    full_key = (key, len(fns), s.tobytes())
    with _CACHE_LOCK:
        hit = _CACHE.get(full_key)
        if hit is not None:
            _CACHE.move_to_end(full_key)   # a CNN's row block meets every column block
            return hit
    coefs, last = coefficients(fns, s)
    for a in (*coefs, last):
        a.flags.writeable = False
    with _CACHE_LOCK:
        _CACHE[full_key] = (coefs, last)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return coefs, last


@numba.njit(nogil=True, cache=True)
def _series_step(t, rho, coefficient, column_coefficients):
    """t ← t·ρ + coefficient·column_coefficients (one Horner step of a row, vectorized)."""
    for j in range(t.size):
        t[j] = t[j] * rho[j] + coefficient * column_coefficients[j]


@numba.njit(nogil=True, cache=True)
def _outer_series(a1, last1, a2t, last2, rho, out):
    """out[i, j] = Σₙ a1[i, n] a2t[n, j] rho[i, j]ⁿ (Horner from the columns' top order).

    Terms above a pair's own orders are exact zeros, so starting higher changes nothing
    (``+ 0.0`` makes an all-zero sum +0 whatever the start): the same numbers as
    :func:`_gathered_series`.
    """
    top2 = -1
    for j in range(last2.size):
        top2 = max(top2, last2[j])
    for i in range(rho.shape[0]):
        t = out[i]
        t[:] = 0.0
        for n in range(min(last1[i], top2), -1, -1):
            _series_step(t, rho[i], a1[i, n], a2t[n])
        for j in range(t.size):
            t[j] = t[j] + 0.0


@numba.njit(nogil=True, cache=True)
def _gathered_series(a1, i1, last1, a2, i2, last2, rho, out):
    """out[e] = Σₙ a1[i1[e], n] a2[i2[e], n] rho[e]ⁿ for flat arrays of entries."""
    for e in range(rho.size):
        p, q = i1[e], i2[e]
        r = rho[e]
        t = 0.0
        for n in range(min(last1[p], last2[q]), -1, -1):
            t = t * r + a1[p, n] * a2[q, n]
        out[e] = t + 0.0


def expectations(phi: Callable, dphi: Callable | None, s1, s2, rho, key: Hashable = None
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """E[φ(u)φ(v)] and E[φ'(u)φ'(v)] by (hs.1); arguments as
    :func:`wilsonian.kernels.quadrature.expectations` (without ``points``). ``key``, which
    must change whenever φ or φ' does, lets the coefficients of repeated inputs be kept."""
    s1, s2, rho = (np.asarray(a, dtype=np.float64) for a in (s1, s2, rho))
    fns = (phi,) if dphi is None else (phi, dphi)
    shape = np.broadcast_shapes(s1.shape, s2.shape, rho.shape)
    u1, inv1 = np.unique(s1, return_inverse=True)
    u2, inv2 = np.unique(s2, return_inverse=True)
    c1, last1 = _cached_coefficients(fns, key, u1)
    c2, last2 = _cached_coefficients(fns, key, u2)
    results = []
    outer = (len(shape) == 2 and s1.shape == (shape[0], 1) and s2.shape == (1, shape[1])
             and rho.shape == shape)
    if outer:
        # A tile: rows × columns. Vectorized over the columns, in their order.
        rho = np.ascontiguousarray(rho)
        l1, l2 = last1[inv1.ravel()], last2[inv2.ravel()]
        for a1, a2 in zip(c1, c2):
            out = np.empty(shape)
            _outer_series(a1[inv1.ravel()], l1, np.ascontiguousarray(a2[inv2.ravel()].T), l2, rho, out)
            results.append(out)
    else:
        i1 = np.broadcast_to(inv1.reshape(s1.shape), shape).ravel()
        i2 = np.broadcast_to(inv2.reshape(s2.shape), shape).ravel()
        flat_rho = np.ascontiguousarray(np.broadcast_to(rho, shape)).ravel()
        for a1, a2 in zip(c1, c2):
            out = np.empty(flat_rho.size)
            _gathered_series(a1, i1, last1, a2, i2, last2, flat_rho, out)
            results.append(out.reshape(shape))
    return results[0], (results[1] if dphi is not None else None)


def variance(phi: Callable, dphi: Callable | None, q) -> tuple[np.ndarray, np.ndarray | None]:
    """E[φ(u)²] and E[φ'(u)²], u ~ N(0, q): (hs.1) at ρ = 1, the limit of the off-diagonal
    entries."""
    q = np.asarray(q, dtype=np.float64)
    e = np.empty(q.size)
    de = None if dphi is None else np.empty(q.size)
    s = np.sqrt(q).ravel()
    for i in range(0, s.size, CHUNK):   # a CNN asks for every position of every image at once
        part = s[i:i + CHUNK]
        pe, pde = expectations(phi, dphi, part, part, np.ones(part.size))
        e[i:i + CHUNK] = pe
        if de is not None:
            de[i:i + CHUNK] = pde
    return e.reshape(q.shape), None if de is None else de.reshape(q.shape)
