"""arccos and arcsin, compiled, the same numbers on every CPU, at SIMD speed everywhere.

The ReLU and erf layers spend most of their elementwise time in one arccos or arcsin per
entry. NumPy's own are SIMD (Intel's SVML) only on AVX-512 machines; on an AVX2 machine they
are the scalar C library's, ~20 ns an entry (an AMD EPYC of 2026), and the two give numbers
that differ in the last bit, so a kernel depended on which CPU computed it. These are
written as branch-free loops (both halves of the range computed, one selected), which LLVM
vectorizes on any x86-64 target, and without ``fastmath``, so every CPU gives the same bits;
the row kernels skip the outer half on spans of a row that lie in [−1/2, 1/2].

Method (the classical one, e.g. of Cody & Waite and of fdlibm; coefficients our own):
asin x = x + x·z·P(z) with z = x², for |x| ≤ 1/2, where P is a degree-12 polynomial
interpolating (asin √z − √z)/z^{3/2} at Chebyshev points of [0, 1/4] (derived and checked by
``benchmarks/derive_inverse_trig.py``, ~1e-17 relative). For |x| > 1/2 the reduction
asin |x| = π/2 − 2 asin √((1 − |x|)/2) brings the argument back to [0, 1/2]; √z is split
into a 26-bit head (Veltkamp) and a correction, so that the subtraction from π/2 loses nothing,
and π/2 is carried as two doubles. Both are within 0.84 ulp of the exact values (arcsin
0.77 ulp) on the test points of that script, against 0.51 ulp for the C library. Outside
[−1, 1] the result is NaN, as NumPy's.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# P(z) = Σ_k _P[k] z^k ≈ (asin √z − √z)/z^{3/2} on [0, 1/4] (benchmarks/derive_inverse_trig.py).
_P = (0.16666666666666669, 0.07499999999998433, 0.04464285714635543, 0.030381944138531247,
      0.02237217294214989, 0.017352392720869973, 0.013971212973552933, 0.011479177415184906,
      0.01032281435018578, 0.005457506718640358, 0.01740087944269402, -0.014851887071247204,
      0.028757851367421566)
_P_HIGHEST_FIRST = _P[::-1]
_PIO2_HI = 1.57079632679489655800e+00   # π/2 rounded to a double ...
_PIO2_LO = 6.12323399573676603587e-17   # ... and the rest of it
_PIO4_HI = 7.85398163397448278999e-01   # π/4 rounded to a double
_PI = math.pi
_SPLIT = 134217729.0                    # 2²⁷ + 1: Veltkamp's splitter for 53-bit doubles


@numba.njit(inline="always")
def _z_p(z):
    """z·P(z), by Horner's rule (a tuple of coefficients, so the loop is unrolled)."""
    p = 0.0
    for coefficient in _P_HIGHEST_FIRST:
        p = p * z + coefficient
    return z * p


@numba.njit(inline="always")
def _reduced(x):
    """(|x|, |x| ≤ 1/2, z·P(z), √z, the 26-bit head of √z, its correction) for the reduced
    argument z = x² (|x| ≤ 1/2) or (1 − |x|)/2."""
    a = abs(x)
    small = a <= 0.5
    z = x * x if small else (1.0 - a) * 0.5
    r = _z_p(z)
    s = math.sqrt(z)
    t = s * _SPLIT
    head = t - (t - s)                   # s to 26 bits: head² is exact
    # z − head² is exact too, so head + correction carries √z beyond a double's precision.
    correction = (z - head * head) / (s + head) if s > 0.0 else 0.0
    return a, small, r, s, head, correction


@numba.njit(inline="always")
def _acos_inner(x, r):
    """arccos x = π/2 − asin x for |x| ≤ 1/2, given r = z·P(z) at z = x² (acos's inner
    branch; the row kernels' shortcut calls it too, so the two cannot differ)."""
    return _PIO2_HI - (x - (_PIO2_LO - x * r))


@numba.njit(inline="always")
def _asin_inner(x, r):
    """arcsin x for |x| ≤ 1/2, given r = z·P(z) at z = x² (asin's inner branch)."""
    return x + x * r


@numba.njit(inline="always")
def acos(x):
    """arccos x, within 0.84 ulp; NaN outside [−1, 1]."""
    a, small, r, s, head, correction = _reduced(x)
    inner = _acos_inner(x, r)                                  # π/2 − asin x
    right = 2.0 * (head + (correction + s * r))                # 2 asin √((1 − x)/2)
    left = _PI - 2.0 * (s + (s * r - _PIO2_LO))                # π − 2 asin √((1 + x)/2)
    return inner if small else (right if x > 0.0 else left)


@numba.njit(inline="always")
def asin(x):
    """arcsin x, within 0.77 ulp; NaN outside [−1, 1]."""
    a, small, r, s, head, correction = _reduced(x)
    inner = _asin_inner(x, r)
    # π/2 − 2 asin √z: from π/4 with the split √z (exact subtractions) for |x| ≤ 0.975,
    # directly nearer 1, where √z is small and nothing cancels.
    middle = _PIO4_HI - ((2.0 * s * r - (_PIO2_LO - 2.0 * correction)) - (_PIO4_HI - 2.0 * head))
    near_one = _PIO2_HI - (2.0 * (s + s * r) - _PIO2_LO)
    outer = near_one if a > 0.975 else middle
    return inner if small else (outer if x > 0.0 else -outer)


# The branch-free forms above compute both halves of the range for every entry; the half
# for |x| > 1/2 (a square root, a division and the split) is most of their cost. The row
# kernels cut each row into spans of _SPAN entries and, on a span that lies wholly in
# [−1/2, 1/2], compute only the inner half: the same operations in the same order as the
# selected branch, so the same bits. Spans, not whole rows, because the kernel's slices are
# rows from the diagonal on: every row holds a ρ = 1. At d = 784, Gaussian inputs give
# |ρ| < 1/2 almost everywhere (per entry and thread, arccos 2.1 → 1.3 ns, arcsin 2.2 → 1.1 ns);
# rows of correlated images mostly do not, and pay the counting pass (2–4 % of the full form).

_SPAN = 256


@numba.njit(inline="always")
def _all_inner(v):
    """Whether every entry of the 1-d array ``v`` is in [−1/2, 1/2] (NaN is not).

    Counts the entries outside rather than taking a maximum: an integer sum vectorizes
    without fastmath, a floating-point max does not.
    """
    outside = 0
    for j in range(v.size):
        outside += not (abs(v[j]) <= 0.5)
    return outside == 0


_JIT = dict(cache=True, nogil=True, error_model="numpy")


@numba.njit(**_JIT)
def arccos_rows(T, r0, c0, out):
    """out[i, j] = arccos T[r0 + i, c0 + j] for the shape of ``out`` (T C-contiguous)."""
    m, n = out.shape
    for i in range(m):
        for j0 in range(0, n, _SPAN):
            j1 = min(j0 + _SPAN, n)
            source = T[r0 + i, c0 + j0:c0 + j1]   # 1-d views from 0: the loops vectorize
            target = out[i, j0:j1]
            if _all_inner(source):
                for j in range(source.size):
                    x = source[j]
                    target[j] = _acos_inner(x, _z_p(x * x))
            else:
                for j in range(source.size):
                    target[j] = acos(source[j])


@numba.njit(**_JIT)
def arcsin_rows(w, T, r0, c0):
    """T[r0 + i, c0 + j] = arcsin w[i, j] for the shape of ``w`` (T C-contiguous)."""
    m, n = w.shape
    for i in range(m):
        for j0 in range(0, n, _SPAN):
            j1 = min(j0 + _SPAN, n)
            source = w[i, j0:j1]
            target = T[r0 + i, c0 + j0:c0 + j1]
            if _all_inner(source):
                for j in range(source.size):
                    x = source[j]
                    target[j] = _asin_inner(x, _z_p(x * x))
            else:
                for j in range(source.size):
                    target[j] = asin(source[j])


@numba.njit(**_JIT)
def arccos_into(x, out):
    """out = arccos x for flat arrays of one length."""
    for i in range(x.size):
        out[i] = acos(x[i])


@numba.njit(**_JIT)
def arcsin_into(x, out):
    """out = arcsin x for flat arrays of one length."""
    for i in range(x.size):
        out[i] = asin(x[i])


def arccos(x) -> np.ndarray:
    """:func:`acos` elementwise on an array of any shape (a new float64 array)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    arccos_into(x.reshape(-1), out.reshape(-1))
    return out


def arcsin(x) -> np.ndarray:
    """:func:`asin` elementwise on an array of any shape (a new float64 array)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    arcsin_into(x.reshape(-1), out.reshape(-1))
    return out
