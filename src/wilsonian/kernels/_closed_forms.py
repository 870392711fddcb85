"""Closed forms of E[φ(u)φ(v)] and E[φ'(u)φ'(v)] for Gaussian (u, v), on flat arrays.

One entry point, :func:`expect`, serves every activation (an integer code, with its
parameters in ``prm`` = (a, b, c, degree) and ``poly`` = polynomial coefficients) and every
kernel family. Each closed form runs in three passes over its arrays:

1. a compiled loop (numba, vectorizable: arithmetic and square roots only) writes the
   argument of the one transcendental function it needs (arccos, arctan or exp);
2. that function is applied: arccos compiled (:mod:`wilsonian.kernels._inverse_trig`, SIMD
   and the same bits on every CPU), arctan and exp by NumPy, whose SIMD versions (5–10×
   faster than a scalar libm call in a compiled loop) exist only on some CPUs;
3. a second compiled loop combines everything into E[φφ] and E[φ'φ'].

The formulas are those of :mod:`wilsonian.kernels.activations`, written without
cancellation:

- q + q' ∓ 2c = (s − s')² + 2 s s' (1 ∓ ρ) (sin, cos, exp),
- (1 + 2b²q)(1 + 2b²q') − 4b⁴c² = 1 + 2b²(q + q') + 4b⁴ q q'(1 − ρ²) (erf) and the like
  for GELU and the Gaussian,
- √(1 − ρ²) = √((1 − ρ)(1 + ρ)),

with s = √q, s' = √q', ρ = c/(s s') ∈ [−1, 1] (ρ = 0 where s s' = 0). The compiled loops use
no ``fastmath`` (the same numbers vectorized or not); NumPy's arctan/exp may differ by an
ulp or so between CPUs (SIMD or scalar implementations), the compiled arccos does not.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from wilsonian.kernels._inverse_trig import arccos_into

ABRELU, ERF, GELU, SIN, GAUSSIAN, EXP, SIGN, RECTIFIED, MONOMIAL = range(9)

_PI = math.pi
_TWO_PI = 2.0 * math.pi
_JIT = dict(cache=True, nogil=True, error_model="numpy")


@numba.njit(**_JIT)
def _prepare(code, prm, s1, s2, rho, w1, w2):
    """The argument(s) of the code's transcendental function into w1 (and w2)."""
    n = rho.size
    if code == ERF:            # w1 = 2b²c/√D, w2 = √D
        bb = prm[1] * prm[1]
        for t in range(n):
            ss = s1[t] * s2[t]
            sd2 = ss * ss * (1.0 - rho[t]) * (1.0 + rho[t])          # q q' (1 − ρ²)
            root = math.sqrt(1.0 + 2.0 * bb * (s1[t] * s1[t] + s2[t] * s2[t]) + 4.0 * bb * bb * sd2)
            w2[t] = root
            w1[t] = 2.0 * bb * rho[t] * ss / root
    elif code == GELU:         # w1 = c/δ, w2 = δ
        for t in range(n):
            q1, q2, ss = s1[t] * s1[t], s2[t] * s2[t], s1[t] * s2[t]
            delta = math.sqrt(1.0 + q1 + q2 + ss * ss * (1.0 - rho[t]) * (1.0 + rho[t]))
            w2[t] = delta
            w1[t] = rho[t] * ss / delta
    elif code == SIN:          # w1, w2 = −b²(q + q' ∓ 2c)/2
        half = -0.5 * prm[1] * prm[1]
        for t in range(n):
            diff2 = (s1[t] - s2[t]) * (s1[t] - s2[t])
            ss2 = 2.0 * s1[t] * s2[t]
            w1[t] = half * (diff2 + ss2 * (1.0 - rho[t]))
            w2[t] = half * (diff2 + ss2 * (1.0 + rho[t]))
    elif code == EXP:          # w1 = b²(q + q' + 2c)/2
        half = 0.5 * prm[1] * prm[1]
        for t in range(n):
            diff2 = (s1[t] - s2[t]) * (s1[t] - s2[t])
            w1[t] = half * (diff2 + 2.0 * s1[t] * s2[t] * (1.0 + rho[t]))


@numba.njit(**_JIT)
def _finish(code, prm, poly, s1, s2, rho, w1, w2, e, de, need_de):
    """E[φφ] into e and E[φ'φ'] into de, from the transcendental values in w1 (and w2).

    Without ``need_de``, de may be left unset where it costs extra work (GELU).
    """
    n = rho.size
    if code == ABRELU:         # w1 = θ
        a, b = prm[0], prm[1]
        sq = 0.5 * (a * a + b * b)
        cross = (a - b) * (a - b) / _TWO_PI
        for t in range(n):
            slope = sq - cross * w1[t]
            s = math.sqrt((1.0 - rho[t]) * (1.0 + rho[t]))
            de[t] = slope
            e[t] = s1[t] * s2[t] * (cross * s + slope * rho[t])
    elif code == ERF:          # w1 = arctan(2b²c/√D), w2 = √D
        aa, bb, cc = prm[0] * prm[0], prm[1] * prm[1], prm[2] * prm[2]
        for t in range(n):
            e[t] = aa * (2.0 / _PI) * w1[t] + cc
            de[t] = aa * bb * (4.0 / _PI) / w2[t]
    elif code == GELU:         # w1 = A = arctan(c/δ), w2 = δ
        for t in range(n):
            q1, q2, ss = s1[t] * s1[t], s2[t] * s2[t], s1[t] * s2[t]
            k, delta = rho[t] * ss, w2[t]
            delta2 = delta * delta
            plus1 = (1.0 + q1) * (1.0 + q2)
            e[t] = 0.25 * k + (k * w1[t] + (k * k + q1 * q2 * delta2) / (plus1 * delta)) / _TWO_PI
        if need_de:
            for t in range(n):
                q1, q2, ss = s1[t] * s1[t], s2[t] * s2[t], s1[t] * s2[t]
                k, delta = rho[t] * ss, w2[t]
                plus1 = (1.0 + q1) * (1.0 + q2)
                de[t] = (0.25 + w1[t] / _TWO_PI
                         + k / (_TWO_PI * delta) * (1.0 + (1.0 - q1 * q2) / plus1 + 1.0 / (delta * delta)))
    elif code == SIN:          # w1, w2 = e^{−b²(q+q'∓2c)/2}; prm[2] holds cos 2c
        aa, bb, cos2c = prm[0] * prm[0], prm[1] * prm[1], prm[2]
        for t in range(n):
            e[t] = 0.5 * aa * (w1[t] - cos2c * w2[t])
            de[t] = 0.5 * aa * bb * (w1[t] + cos2c * w2[t])
    elif code == GAUSSIAN:
        aa, b = prm[0] * prm[0], prm[1]
        for t in range(n):
            ss = s1[t] * s2[t]
            sd2 = ss * ss * (1.0 - rho[t]) * (1.0 + rho[t])          # q q' (1 − ρ²)
            det = 1.0 - 2.0 * b * (s1[t] * s1[t] + s2[t] * s2[t]) + 4.0 * b * b * sd2
            root = math.sqrt(det)
            e[t] = aa / root
            de[t] = 4.0 * aa * b * b * rho[t] * ss / (det * root)
    elif code == EXP:          # w1 = e^{b²(q+q'+2c)/2}
        aa, bb = prm[0] * prm[0], prm[1] * prm[1]
        for t in range(n):
            e[t] = aa * w1[t]
            de[t] = bb * aa * w1[t]
    elif code == SIGN:         # w1 = θ; sign' = 0 almost everywhere
        for t in range(n):
            e[t] = 0.0 if s1[t] * s2[t] == 0.0 else 1.0 - 2.0 * w1[t] / _PI
            de[t] = 0.0
    elif code == RECTIFIED:    # w1 = θ; E = (ss')ⁿ[(π − θ) A(ρ) + sin θ B(ρ)], φ' likewise
        m = int(prm[3])
        _two_polynomials(poly, 0, 1, rho, e, de)
        for t in range(n):
            s = math.sqrt((1.0 - rho[t]) * (1.0 + rho[t]))
            e[t] = (_PI - w1[t]) * e[t] + s * de[t]
        if m == 0:
            for t in range(n):
                de[t] = 0.0
                if s1[t] * s2[t] == 0.0:   # a zero-variance input sits at the step, where it is 1
                    e[t] = (1.0 if s1[t] == 0.0 else 0.5) * (1.0 if s2[t] == 0.0 else 0.5)
            return
        _two_polynomials(poly, 2, 3, rho, de, w2)
        for t in range(n):
            s = math.sqrt((1.0 - rho[t]) * (1.0 + rho[t]))
            de[t] = (_PI - w1[t]) * de[t] + s * w2[t]
        _scale_by_powers(s1, s2, m, e, de, w2)
    elif code == MONOMIAL:     # E = (ss')ⁿ P(ρ), E' = (ss')ⁿ⁻¹ P'(ρ)
        m = int(prm[3])
        _two_polynomials(poly, 0, 1, rho, e, de)
        if m == 0:
            for t in range(n):
                de[t] = 0.0
            return
        _scale_by_powers(s1, s2, m, e, de, w2)


@numba.njit(**_JIT)
def _two_polynomials(poly, row_a, row_b, x, out_a, out_b):
    """out_a = Σ_k poly[row_a, k] xᵏ and out_b likewise, by Horner (coefficients outermost,
    so that the loops over entries vectorize)."""
    n = x.size
    for t in range(n):
        out_a[t] = 0.0
        out_b[t] = 0.0
    for k in range(poly.shape[1] - 1, -1, -1):
        ca, cb = poly[row_a, k], poly[row_b, k]
        for t in range(n):
            out_a[t] = out_a[t] * x[t] + ca
            out_b[t] = out_b[t] * x[t] + cb


@numba.njit(**_JIT)
def _scale_by_powers(s1, s2, m, e, de, work):
    """e *= (s1 s2)ᵐ and de *= (s1 s2)ᵐ⁻¹ (m ≥ 1), the powers built by multiplication."""
    n = e.size
    for t in range(n):
        work[t] = 1.0
    for _ in range(m - 1):
        for t in range(n):
            work[t] *= s1[t] * s2[t]
    for t in range(n):
        de[t] *= work[t]
        e[t] *= work[t] * s1[t] * s2[t]


def expect(code: int, prm: np.ndarray, poly: np.ndarray, s1: np.ndarray, s2: np.ndarray, rho: np.ndarray,
           e: np.ndarray, de: np.ndarray, w1: np.ndarray, w2: np.ndarray, need_de: bool = True) -> None:
    """E[φφ] into ``e``, E[φ'φ'] into ``de`` for u = s1 z₁, v = s2 (ρ z₁ + √(1 − ρ²) z₂).

    All arguments are flat C-contiguous float64 arrays of one length; ``rho`` in [−1, 1]
    (0 where s1·s2 = 0); ``w1``, ``w2`` are work buffers. ``need_de=False`` may skip E[φ'φ'].
    """
    if code in (ABRELU, SIGN, RECTIFIED):
        arccos_into(rho, w1)
    elif code in (GAUSSIAN, MONOMIAL):
        pass
    else:
        _prepare(code, prm, s1, s2, rho, w1, w2)
    if code in (ERF, GELU):
        np.arctan(w1, out=w1)
    elif code in (SIN, EXP):
        np.exp(w1, out=w1)
        if code == SIN:
            np.exp(w2, out=w2)
    _finish(code, prm, poly, s1, s2, rho, w1, w2, e, de, need_de)


@numba.njit(**_JIT)
def correlations(cov, s1, s2, rho):
    """ρ = c/(s1 s2), clipped to [−1, 1] (round-off), 0 where s1 s2 = 0; flat arrays."""
    for t in range(cov.size):
        ss = s1[t] * s2[t]
        rho[t] = 0.0 if ss <= 0.0 else min(1.0, max(-1.0, cov[t] / ss))


@numba.njit(**_JIT)
def fc_update(e, de, theta, rho, inv_r, inv_c, wv, bv, ntk, last):
    """One fully connected layer on a (m, n) slice, from E[φφ] (e) and E[φ'φ'] (de):

    Kˡ = σ_w² e + σ_b², Θˡ = Kˡ + σ_w² de Θˡ⁻¹ (in ``theta``), and the next correlation
    ρˡ = Kˡ inv_r[i] inv_c[j] into ``rho`` — or, at the ``last`` layer, Kˡ (Θˡ if ``ntk``).
    """
    m, n = rho.shape
    for i in range(m):
        for j in range(n):
            kern = wv * e[i, j] + bv
            if ntk:
                theta[i, j] = kern + wv * de[i, j] * theta[i, j]
            if last:
                rho[i, j] = theta[i, j] if ntk else kern
            else:
                rho[i, j] = kern * inv_r[i] * inv_c[j]


def expect_arrays(code: int, prm: np.ndarray, poly: np.ndarray, s1, s2, cov=None, rho=None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`expect` on broadcastable arrays, from the covariance ``cov`` (ρ = c/(s1 s2),
    clipped) or from ``rho`` itself; returns (E[φφ], E[φ'φ']) of the broadcast shape."""
    given = cov if rho is None else rho
    s1, s2, given = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (s1, s2, given)))
    shape = given.shape
    s1, s2, given = (np.ascontiguousarray(a).reshape(-1) for a in (s1, s2, given))
    if rho is None:
        r = np.empty(given.size)
        correlations(given, s1, s2, r)
    else:
        r = np.ascontiguousarray(given)
    e, de, w1, w2 = (np.empty(r.size) for _ in range(4))
    expect(code, prm, poly, s1, s2, r, e, de, w1, w2)
    return e.reshape(shape), de.reshape(shape)
