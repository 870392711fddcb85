"""Gaussian expectations of any elementwise φ by Gauss–Hermite quadrature (THEORY.md §7).

For (u, v) ~ N(0, [[q, c], [c, q']]) write the covariance through its Cholesky factor,

    u = s z₁,   v = s' (ρ z₁ + √(1 − ρ²) z₂),   z₁, z₂ ~ N(0, 1) independent,

with s = √q ≥ s' = √q' (the larger variance first, so that the rule is symmetric in the
two inputs), ρ = c/(s s') (ρ = 0 when s s' = 0). Then

    E[φ(u) φ(v)] ≈ Σ_a Σ_b w_a w_b φ(s x_a) φ(s' (ρ x_a + √(1 − ρ²) x_b)),

where x_a, w_a are the n-point Gauss–Hermite rule for the weight exp(−x²/2)/√(2π)
(:func:`numpy.polynomial.hermite_e.hermegauss`, weights normalized to sum to 1). The same
with φ' gives E[φ'(u) φ'(v)] for the NTK. The rule is exact when φ(u) φ(v) is a polynomial
of degree ≤ 2n − 1 in each of z₁, z₂ (so for polynomial φ of degree ≤ n − 1); for smooth φ
the error falls exponentially with n, for φ with a kink (ReLU, abs) only algebraically.
At ρ = 1 the rule reduces to the one-dimensional n-point rule Σ_a w_a φ(s x_a)², which
:func:`variance` uses, so the kernel diagonal is the limit of its off-diagonal entries.

Accuracy of the default n = 32 (max |error| / max |E| over q, q' in the range, ρ ∈ [−1, 1];
measured by benchmarks/crosscheck.py against the closed forms, tanh and sigmoid against
n = 160; asserted in tests/test_activations.py), E[φφ] / E[φ'φ']:

=================  ===============  ===============  ===============
φ                  q ≤ 0.1          0.1 ≤ q ≤ 1      1 ≤ q ≤ 4
=================  ===============  ===============  ===============
erf                1e-15 / 1e-15    8e-8 / 7e-7      2e-3 / 1e-2
GELU               1e-15 / 1e-15    5e-11 / 8e-10    3e-5 / 7e-4
Gaussian (b = −1)  1e-15 / 1e-15    4e-7 / 2e-5      1e-2 / 1e-1
sin, polynomials   exact (round-off)
tanh               1e-13            5e-6 / 4e-5      3e-3 / 3e-2
sigmoid            1e-15            2e-12 / 1e-10    1e-6 / 5e-5
ReLU, abs (kinks)  1e-2 / 1e-1 at every q (only algebraic convergence in n)
=================  ===============  ===============  ===============

Smooth φ(√q z) sharpen as q grows, so the error grows with the variance; n = 64 gives tanh
4e-9 for q ≤ 1 and 1e-4 for q ≤ 4, at 4× the cost. With the project's default inputs
(unit-norm rows, so q⁰ = σ_w²/d ≈ 0.003 for MNIST) every smooth φ is at round-off. Cost:
n² evaluations of φ (and of φ') per kernel entry and layer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

#: Gauss–Hermite points per dimension used by default (n² evaluations of φ per entry).
DEFAULT_POINTS = 32
# Kernel entries evaluated at once: (chunk, n, n) work arrays of ≈ 2²¹ values (16 MiB).
_CHUNK_VALUES = 1 << 21


@lru_cache(maxsize=32)
def gauss_hermite(points: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x_a and weights w_a with Σ_a w_a f(x_a) ≈ E[f(z)], z ~ N(0, 1) (read-only)."""
    x, w = np.polynomial.hermite_e.hermegauss(points)
    w = w / w.sum()          # the exact normalization √(2π), without its round-off
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


def _as_values(fn: Callable, z: np.ndarray) -> np.ndarray:
    """fn(z) as float64 of z's shape (a function may return a scalar for a constant)."""
    out = np.asarray(fn(z), dtype=np.float64)
    if out.shape != z.shape:
        out = np.broadcast_to(out, z.shape)
    return out


def expectations(phi: Callable, dphi: Callable | None, s1, s2, rho, points: int = DEFAULT_POINTS
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """E[φ(u)φ(v)] and E[φ'(u)φ'(v)] by the two-dimensional rule of the module docstring.

    Parameters
    ----------
    phi, dphi : callable
        Vectorized φ and φ' (NumPy arrays in, arrays of the same shape out); ``dphi=None``
        skips the second expectation.
    s1, s2 : array_like
        Standard deviations √q, √q' (≥ 0), broadcastable with ``rho``.
    rho : array_like
        Correlations in [−1, 1] (use 0 where s1·s2 = 0).
    points : int
        Nodes per dimension n.

    Returns
    -------
    (ndarray, ndarray or None)
        Both of the broadcast shape of the inputs.
    """
    s1, s2, rho = np.broadcast_arrays(np.asarray(s1, dtype=np.float64), np.asarray(s2, dtype=np.float64),
                                      np.asarray(rho, dtype=np.float64))
    shape = s1.shape
    # The input with the larger variance goes first (on the z₁ axis): the rule then gives
    # the same number for (x, x') and (x', x), so kernel matrices come out symmetric.
    s1, s2 = np.maximum(s1, s2).ravel(), np.minimum(s1, s2).ravel()
    rho = rho.ravel()
    x, w = gauss_hermite(points)
    e = np.empty(s1.size)
    de = None if dphi is None else np.empty(s1.size)
    step = max(1, _CHUNK_VALUES // (points * points))
    for t0 in range(0, s1.size, step):
        sl = slice(t0, min(t0 + step, s1.size))
        a, b, r = s1[sl], s2[sl], rho[sl]
        u = a[:, None] * x[None, :]                                      # (m, n): z₁ only
        comp = np.sqrt(np.maximum((1.0 - r) * (1.0 + r), 0.0))
        v = (b * r)[:, None, None] * x[None, :, None] + (b * comp)[:, None, None] * x[None, None, :]
        # Σ_a w_a φ(u_a) Σ_b w_b φ(v_ab): the inner sum is a matrix-vector product.
        e[sl] = ((_as_values(phi, v) @ w) * _as_values(phi, u)) @ w
        if dphi is not None:
            de[sl] = ((_as_values(dphi, v) @ w) * _as_values(dphi, u)) @ w
    return e.reshape(shape), None if de is None else de.reshape(shape)


def variance(phi: Callable, q, points: int = DEFAULT_POINTS) -> np.ndarray:
    """E[φ(u)²], u ~ N(0, q): the n-point rule Σ_a w_a φ(√q x_a)² (the ρ = 1 limit above)."""
    q = np.asarray(q, dtype=np.float64)
    x, w = gauss_hermite(points)
    u = np.sqrt(q)[..., None] * x
    vals = _as_values(phi, u)
    return (vals * vals) @ w
