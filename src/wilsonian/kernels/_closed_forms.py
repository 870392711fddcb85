"""Compiled closed forms of E[φ(u)φ(v)] and E[φ'(u)φ'(v)] for Gaussian (u, v) (numba).

One scalar function, :func:`expect`, holds every closed form; the activation is an integer
code with its parameters in two arrays (``prm``: a, b, c, degree; ``poly``: polynomial
coefficients), so that one compiled loop serves every activation: :func:`expect_cov` on
flat arrays (convolutional kernels, diagonals) and :func:`fc_block`, all layers of a fully
connected kernel on a tile at once. The formulas, their derivations and conventions are in
:mod:`wilsonian.kernels.activations`; here each is written without cancellation:

- q + q' ∓ 2c = (s − s')² + 2 s s' (1 ∓ ρ) (sin, cos, exp),
- (1 + 2b²q)(1 + 2b²q') − 4b⁴c² = 1 + 2b²(q + q') + 4b⁴ q q'(1 − ρ²) (erf) and the like
  for GELU and the Gaussian,
- √(1 − ρ²) = √((1 − ρ)(1 + ρ)),

with s = √q, s' = √q', ρ = c/(s s') ∈ [−1, 1] (ρ = 0 where s s' = 0). No ``fastmath``: the
order of operations is fixed, so results do not depend on the vector width of the CPU.
"""

from __future__ import annotations

import math

import numba
import numpy as np

ABRELU, ERF, GELU, SIN, GAUSSIAN, EXP, SIGN, RECTIFIED, MONOMIAL = range(9)

_PI = math.pi
_TWO_PI = 2.0 * math.pi


@numba.njit(cache=True, nogil=True, inline="always")
def _horner(poly, row, x):
    acc = 0.0
    for k in range(poly.shape[1] - 1, -1, -1):
        acc = acc * x + poly[row, k]
    return acc


@numba.njit(cache=True, nogil=True, inline="always")
def _power(x, n):
    """xⁿ for a small integer n ≥ 0 by repeated multiplication (x⁰ = 1, also for x = 0)."""
    acc = 1.0
    for _ in range(n):
        acc *= x
    return acc


@numba.njit(cache=True, nogil=True, inline="always")
def expect(code, prm, poly, s1, s2, rho, need_de):
    """(E[φ(u)φ(v)], E[φ'(u)φ'(v)]) for u = s1 z₁, v = s2 (ρ z₁ + √(1 − ρ²) z₂).

    ``rho`` must lie in [−1, 1], and be 0 where s1·s2 = 0. Without ``need_de`` the second
    value may be left 0 where it costs extra work.
    """
    ss = s1 * s2
    k = rho * ss
    if code == ABRELU:                       # a·min(x, 0) + b·max(x, 0)
        a, b = prm[0], prm[1]
        s = math.sqrt((1.0 - rho) * (1.0 + rho))
        theta = math.acos(rho)
        slope = 0.5 * (a * a + b * b) - (a - b) * (a - b) * theta / _TWO_PI
        return ss * ((a - b) * (a - b) * s / _TWO_PI + slope * rho), slope
    if code == ERF:                          # a·erf(b x) + c
        a, bb, c = prm[0], prm[1] * prm[1], prm[2]
        sd = ss * ss * (1.0 - rho) * (1.0 + rho)
        root = math.sqrt(1.0 + 2.0 * bb * (s1 * s1 + s2 * s2) + 4.0 * bb * bb * sd)
        return (a * a * (2.0 / _PI) * math.atan(2.0 * bb * k / root) + c * c,
                a * a * bb * (4.0 / _PI) / root)
    if code == GELU:                         # x Φ(x)
        q1, q2 = s1 * s1, s2 * s2
        plus1 = (1.0 + q1) * (1.0 + q2)
        delta2 = 1.0 + q1 + q2 + ss * ss * (1.0 - rho) * (1.0 + rho)   # (1 + q)(1 + q') − c²
        delta = math.sqrt(delta2)
        angle = math.atan(k / delta)
        e = 0.25 * k + (k * angle + (k * k + q1 * q2 * delta2) / (plus1 * delta)) / _TWO_PI
        if not need_de:
            return e, 0.0
        de = 0.25 + angle / _TWO_PI + k / (_TWO_PI * delta) * (1.0 + (1.0 - q1 * q2) / plus1 + 1.0 / delta2)
        return e, de
    if code == SIN:                          # a·sin(b x + c); prm[2] holds cos 2c
        aa, bb, cos2c = prm[0] * prm[0], prm[1] * prm[1], prm[2]
        diff2 = (s1 - s2) * (s1 - s2)
        minus = math.exp(-0.5 * bb * (diff2 + 2.0 * ss * (1.0 - rho)))   # exp(−b²(q+q'−2c)/2)
        plus = math.exp(-0.5 * bb * (diff2 + 2.0 * ss * (1.0 + rho)))    # exp(−b²(q+q'+2c)/2)
        return 0.5 * aa * (minus - cos2c * plus), 0.5 * aa * bb * (minus + cos2c * plus)
    if code == GAUSSIAN:                     # a·exp(b x²), b < 0
        aa, b = prm[0] * prm[0], prm[1]
        det = 1.0 - 2.0 * b * (s1 * s1 + s2 * s2) + 4.0 * b * b * ss * ss * (1.0 - rho) * (1.0 + rho)
        root = math.sqrt(det)
        return aa / root, 4.0 * aa * b * b * k / (det * root)
    if code == EXP:                          # a·exp(b x)
        aa, bb = prm[0] * prm[0], prm[1] * prm[1]
        diff2 = (s1 - s2) * (s1 - s2)
        e = aa * math.exp(0.5 * bb * (diff2 + 2.0 * ss * (1.0 + rho)))
        return e, bb * e
    if code == SIGN:                         # sign(x); φ' = 0 almost everywhere
        if ss == 0.0:
            return 0.0, 0.0
        return 1.0 - 2.0 * math.acos(rho) / _PI, 0.0
    if code == RECTIFIED:                    # max(x, 0)^n (n = 0: the step x ≥ 0)
        n = int(prm[3])
        if n == 0 and ss == 0.0:             # a zero-variance input sits at the step
            return (1.0 if s1 == 0.0 else 0.5) * (1.0 if s2 == 0.0 else 0.5), 0.0
        s = math.sqrt((1.0 - rho) * (1.0 + rho))
        angle = _PI - math.acos(rho)
        e = _power(ss, n) * (angle * _horner(poly, 0, rho) + s * _horner(poly, 1, rho))
        if n == 0:
            return e, 0.0
        return e, _power(ss, n - 1) * (angle * _horner(poly, 2, rho) + s * _horner(poly, 3, rho))
    if code == MONOMIAL:                     # x^n
        n = int(prm[3])
        e = _power(ss, n) * _horner(poly, 0, rho)
        if n == 0:
            return e, 0.0
        return e, _power(ss, n - 1) * _horner(poly, 1, rho)
    return math.nan, math.nan


@numba.njit(cache=True, nogil=True)
def expect_cov(code, prm, poly, s1, s2, cov, e_out, de_out):
    """Elementwise :func:`expect` on flat arrays, from covariances ``cov`` = c (not ρ).

    ρ = c/(s1 s2) is clipped to [−1, 1] (round-off) and set to 0 where s1 s2 = 0.
    """
    for t in range(cov.size):
        ss = s1[t] * s2[t]
        rho = 0.0
        if ss > 0.0:
            rho = min(1.0, max(-1.0, cov[t] / ss))
        e_out[t], de_out[t] = expect(code, prm, poly, s1[t], s2[t], rho, True)


@numba.njit(cache=True, nogil=True)
def fc_block(block, sr, sc, ir, ic, tr, tc, code, prm, poly, wv, bv, ntk, diag_col, diag_vals):
    """All L layers of a fully connected kernel on one tile, in place.

    On entry ``block[i, j]`` = (s_i x_i)·(s_j x_j) with s = √(σ_w²/(d q⁰)); adding
    t_i t_j (``tr``, ``tc``: σ_b/√q⁰) gives the input correlation ρ⁰. ``sr[i, l]`` = √qˡ of
    row i (``sc`` for columns), ``ir``/``ic`` = 1/√qˡ (0 where qˡ = 0), l = 0..L. Per entry,
    with K⁰ = ρ⁰ √(q⁰ q⁰') and Θ⁰ = K⁰, for l = 1..L:

        Kˡ = σ_w² E[φφ](ρˡ⁻¹) + σ_b²,  Θˡ = Kˡ + σ_w² E[φ'φ'](ρˡ⁻¹) Θˡ⁻¹,  ρˡ = Kˡ/√(qˡ qˡ').

    On exit ``block`` holds K^L (or Θ^L if ``ntk``). With ``diag_col`` ≥ 0 the entry
    (i, diag_col + i) is the diagonal of a symmetric matrix: it gets ``diag_vals[i]``.
    """
    m, n = block.shape
    depth = sr.shape[1] - 1
    for i in range(m):
        for j in range(n):
            if diag_col >= 0 and j == diag_col + i:
                block[i, j] = diag_vals[i]
                continue
            rho = block[i, j] + tr[i] * tc[j]
            kern = rho * sr[i, 0] * sc[j, 0]
            theta = kern
            for layer in range(depth):
                rho = min(1.0, max(-1.0, rho))
                e, de = expect(code, prm, poly, sr[i, layer], sc[j, layer], rho, ntk)
                kern = wv * e + bv
                if ntk:
                    theta = kern + wv * de * theta
                rho = kern * ir[i, layer + 1] * ic[j, layer + 1]
            block[i, j] = theta if ntk else kern


@numba.njit(cache=True, nogil=True)
def expect_same(code, prm, poly, s, e_out, de_out):
    """E[φ(u)²] and E[φ'(u)²] for u = s z (ρ = 1 exactly), elementwise on flat arrays."""
    for t in range(s.size):
        e_out[t], de_out[t] = expect(code, prm, poly, s[t], s[t], 1.0, True)


def expect_arrays(code: int, prm: np.ndarray, poly: np.ndarray, s1, s2, cov) -> tuple[np.ndarray, np.ndarray]:
    """:func:`expect_cov` on broadcastable arrays; returns (E[φφ], E[φ'φ']) of their shape."""
    s1, s2, cov = np.broadcast_arrays(np.asarray(s1, dtype=np.float64), np.asarray(s2, dtype=np.float64),
                                      np.asarray(cov, dtype=np.float64))
    shape = cov.shape
    flat = [np.ascontiguousarray(a).ravel() for a in (s1, s2, cov)]
    e, de = np.empty(flat[2].size), np.empty(flat[2].size)
    expect_cov(code, prm, poly, flat[0], flat[1], flat[2], e, de)
    return e.reshape(shape), de.reshape(shape)
