"""The fused layers of the fully connected ReLU and erf kernels, on slices of a tile.

Kept apart from :mod:`wilsonian.kernels.fully_connected` (which drives it) because its numbers
are the reference every other path is checked against: every layer is "elementwise function
of the correlation ρ, then scale by per-row and per-column vectors" (:class:`_Coefficients`),
applied in place to cache-sized slices of a tile, no N² temporaries. Each layer is one
compiled arccos (ReLU) or arcsin (erf) pass (:mod:`wilsonian.kernels._inverse_trig`: SIMD on
every CPU, the same bits on every CPU) and one compiled pass that does all the arithmetic
around it, in the order the former whole-slice NumPy expressions did it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from wilsonian.kernels._inverse_trig import arccos_rows, arcsin, arcsin_rows


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den with 0 where den == 0 (an input whose variance is 0 stays 0 in every layer)."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=np.float64), den)
    res = np.zeros(den.shape)
    np.divide(num, den, out=res, where=den > 0)
    return res


def _input_variances(X: np.ndarray, weight_var: float, bias_var: float) -> np.ndarray:
    """q⁰(x) = K⁰(x, x) = σ_w² |x|²/d + σ_b², shape (n,)."""
    return weight_var * np.einsum("ij,ij->i", X, X) / X.shape[1] + bias_var


def _variance_recursion(q0: np.ndarray, activation: str, depth: int, weight_var: float,
                        bias_var: float) -> list[np.ndarray]:
    """[q⁰, q¹, ..., q^L]: the kernel diagonal Kˡ(x, x) of every layer, each shape (n,).

    ReLU: q^l = σ_w² q^{l−1}/2 + σ_b²  (θ = 0 in the closed form).
    erf:  q^l = σ_w² (2/π) arcsin(2q/(1 + 2q)) + σ_b².
    """
    qs = [q0]
    for _ in range(depth):
        q = qs[-1]
        if activation == "relu":
            qs.append(weight_var * q / 2.0 + bias_var)
        else:
            qs.append(weight_var * (2.0 / np.pi) * arcsin(2.0 * q / (1.0 + 2.0 * q)) + bias_var)
    return qs


def _ntk_diagonal_recursion(qs: list[np.ndarray], activation: str, weight_var: float) -> np.ndarray:
    """Θ^L(x, x) from Θ⁰ = q⁰, Θˡ = qˡ + σ_w² Θˡ⁻¹ E[φ'φ'] at u = v.

    At u = v: ReLU E[φ'²] = 1/2; erf E[φ'²] = (4/π)/√(1 + 4q).
    """
    theta = qs[0]
    for q_prev, q in zip(qs[:-1], qs[1:]):
        if activation == "relu":
            slope = 0.5
        else:
            slope = (4.0 / np.pi) / np.sqrt(1.0 + 4.0 * q_prev)
        theta = q + weight_var * slope * theta
    return theta


# --------------------------------------------------------------- per-layer coefficients


@dataclass
class _Coefficients:
    """Per-input vectors that turn one layer's elementwise map on ρ into the next ρ.

    Work is done on correlations ρ^l = Kˡ/√(q^l_i q^l_j) and Θ̃^l = Θ^l/√(q^l_i q^l_j), so
    that, for inputs i (rows), j (columns), layer l = 1..L and θ = arccos ρ^{l−1},
    THEORY §2 becomes "elementwise function, then per-input scales":

    ReLU:  J    = sin θ + (π − θ) ρ^{l−1}
           ρ^l  = α_i α_j J + β_i β_j
           Θ̃^l  = α_i α_j (J + (π − θ) Θ̃^{l−1}) + β_i β_j
    erf:   u    = γ_i γ_j ρ^{l−1}
           ρ^l  = α_i α_j arcsin(u) + β_i β_j
           Θ̃^l  = ρ^l + ε_i ε_j Θ̃^{l−1}/√(1 − u²)

    with q = q^{l−1}, q' = q^l: ReLU α = √(σ_w² q/(2π q')), erf α = √(2σ_w²/(π q')),
    γ = √(2q/(1 + 2q)), ε = √(4σ_w² q/(π q' (1 + 2q))), β = σ_b/√q'. Layer 0:
    ρ⁰ = (s_i x_i)·(s_j x_j) + t_i t_j with s = √(σ_w²/(d q⁰)), t = σ_b/√q⁰, and s is
    applied to the rows of X before the matrix product. The last layer's α, β, ε (or s, t
    when L = 0) are multiplied by √q^L, so that it yields K^L and Θ^L themselves.
    Inputs with q = 0 (x = 0 and σ_b = 0) get 0 in every vector: their kernel is 0.
    """

    x_scale: np.ndarray            # s, shape (n,)
    shift0: np.ndarray | None      # t, None when σ_b = 0
    alpha: list[np.ndarray]        # α per layer
    beta: list[np.ndarray | None]  # β per layer, None when σ_b = 0
    gamma: list[np.ndarray]        # γ per layer (erf only)
    eps: list[np.ndarray]          # ε per layer (erf only)
    nngp_diag: np.ndarray          # q^L
    ntk_diag: np.ndarray           # Θ^L(x, x)

    def rows(self, sl: slice) -> "_Coefficients":
        """The same coefficients restricted to the inputs in ``sl``."""
        def cut(v):
            return None if v is None else v[sl]
        return _Coefficients(
            x_scale=self.x_scale[sl], shift0=cut(self.shift0),
            alpha=[a[sl] for a in self.alpha], beta=[cut(b) for b in self.beta],
            gamma=[g[sl] for g in self.gamma], eps=[e[sl] for e in self.eps],
            nngp_diag=self.nngp_diag[sl], ntk_diag=self.ntk_diag[sl],
        )


def _layer_coefficients(X: np.ndarray, activation: str, depth: int, weight_var: float,
                        bias_var: float) -> _Coefficients:
    """All per-input vectors of :class:`_Coefficients` for the rows of ``X``."""
    d = X.shape[1]
    qs = _variance_recursion(_input_variances(X, weight_var, bias_var), activation, depth,
                             weight_var, bias_var)
    root = [np.sqrt(q) for q in qs]
    with_bias = bias_var > 0
    x_scale = _safe_divide(math.sqrt(weight_var / d), root[0])
    shift0 = _safe_divide(math.sqrt(bias_var), root[0]) if with_bias else None
    alpha, beta, gamma, eps = [], [], [], []
    for q, rq_new in zip(qs[:-1], root[1:]):
        if activation == "relu":
            alpha.append(_safe_divide(np.sqrt(weight_var * q / (2.0 * np.pi)), rq_new))
        else:
            alpha.append(_safe_divide(math.sqrt(2.0 * weight_var / np.pi), rq_new))
            gamma.append(np.sqrt(2.0 * q / (1.0 + 2.0 * q)))
            eps.append(_safe_divide(np.sqrt(4.0 * weight_var * q / (np.pi * (1.0 + 2.0 * q))), rq_new))
        beta.append(_safe_divide(math.sqrt(bias_var), rq_new) if with_bias else None)
    # Fold the final K^L = √(q^L_i q^L_j) ρ^L into the last stage (one pass less per entry).
    if depth == 0:
        x_scale = x_scale * root[0]
        shift0 = None if shift0 is None else shift0 * root[0]
    else:
        alpha[-1] = alpha[-1] * root[-1]
        beta[-1] = None if beta[-1] is None else beta[-1] * root[-1]
        if eps:
            eps[-1] = eps[-1] * root[-1]
    return _Coefficients(x_scale=x_scale, shift0=shift0, alpha=alpha, beta=beta, gamma=gamma,
                         eps=eps, nngp_diag=qs[-1],
                         ntk_diag=_ntk_diagonal_recursion(qs, activation, weight_var))


# ------------------------------------------------------------------- elementwise layers
#
# Compiled loops (numba, no fastmath: the same operations in the same order as the NumPy
# expressions they replace, so the same numbers) around the compiled arccos and arcsin of
# _inverse_trig (NumPy's were SIMD only on AVX-512 machines, ~5× slower elsewhere, and the
# two kinds of machine differed in the last bit). Per layer and slice: one pass for the
# transcendental, one compiled pass for the rest of the layer and the start of the next.
# A slice T is a C-contiguous block of whole rows of the output, of which columns c0: are
# the slice (so the inner loops run over contiguous memory and vectorize); w and theta are
# (rows, columns) work buffers.

_JIT = dict(cache=True, nogil=True, error_model="numpy")
_PI = math.pi
_NONE = np.empty(0)     # "no vector" (σ_b = 0, or an NNGP's Θ buffer)


@numba.njit(inline="always")
def _clip(v):
    """np.clip(v, −1, 1) (NaN stays NaN)."""
    return -1.0 if v < -1.0 else (1.0 if v > 1.0 else v)


@numba.njit(**_JIT)
def _relu_start(T, r0, c0, w, theta, t_r, t_c, ntk, clip):
    """ρ⁰ = T + t_i t_j in place (Θ̃⁰ = ρ⁰ into theta), clipped to [−1, 1] when ``clip``."""
    shift = t_r.size > 0
    m, n = w.shape
    for i in range(m):
        row = T[r0 + i, c0:c0 + n]     # (slices keep the inner loops vectorizable)
        tr = theta[i] if ntk else row
        ti = t_r[r0 + i] if shift else 0.0
        for j in range(n):
            r = row[j]
            if shift:
                r = r + ti * t_c[j]
            if ntk:
                tr[j] = r
            row[j] = _clip(r) if clip else r


@numba.njit(**_JIT)
def _relu_layer(T, r0, c0, w, theta, a_r, a_c, b_r, b_c, ntk, last):
    """One ReLU layer, w = θ = arccos ρ:  J = ρ (π − θ) + sin θ,  ρ ← α_i α_j J + β_i β_j
    (clipped unless ``last``), Θ̃ ← α_i α_j (Θ̃ (π − θ) + J) + β_i β_j; at the ``last``
    layer T gets K^L (Θ^L when ``ntk``)."""
    shift = b_r.size > 0
    m, n = w.shape
    for i in range(m):
        row = T[r0 + i, c0:c0 + n]
        wr = w[i]
        tr = theta[i] if ntk else wr
        ai = a_r[r0 + i]
        bi = b_r[r0 + i] if shift else 0.0
        for j in range(n):
            r = row[j]
            s = math.sqrt((1.0 - r) * (1.0 + r))     # sin θ, accurate near ρ = ±1
            p = _PI - wr[j]                           # π − θ
            J = r * p + s
            if ntk:
                t = (tr[j] * p + J) * (ai * a_c[j])
                if shift:
                    t = t + bi * b_c[j]
                if last:
                    row[j] = t
                else:
                    tr[j] = t
            if not (ntk and last):
                v = J * (ai * a_c[j])
                if shift:
                    v = v + bi * b_c[j]
                row[j] = v if last else _clip(v)


@numba.njit(**_JIT)
def _erf_start(T, r0, c0, w, theta, t_r, t_c, g_r, g_c, e_r, e_c, ntk):
    """ρ⁰ = T + t_i t_j, Θ̃⁰ = ρ⁰, then the first layer's argument u = γ_i γ_j clip(ρ⁰)
    into w and Θ̃ ← ε_i ε_j Θ̃/√(1 − u²)."""
    shift = t_r.size > 0
    m, n = w.shape
    for i in range(m):
        row = T[r0 + i, c0:c0 + n]
        wr = w[i]
        tr = theta[i] if ntk else wr
        ti = t_r[r0 + i] if shift else 0.0
        gi = g_r[r0 + i]
        ei = e_r[r0 + i] if ntk else 0.0
        for j in range(n):
            r = row[j]
            if shift:
                r = r + ti * t_c[j]
            u = _clip(r) * (gi * g_c[j])
            wr[j] = u
            if ntk:
                tr[j] = (r / math.sqrt((1.0 - u) * (1.0 + u))) * (ei * e_c[j])


@numba.njit(**_JIT)
def _erf_layer(T, r0, c0, w, theta, a_r, a_c, b_r, b_c, g_r, g_c, e_r, e_c, ntk, last):
    """The rest of an erf layer, T = arcsin u:  ρ ← α_i α_j T + β_i β_j,  Θ̃ ← Θ̃ + ρ; then
    the next layer's argument (γ, ε of the next layer, as in :func:`_erf_start`) or, at the
    ``last`` layer, K^L or Θ^L in T."""
    shift = b_r.size > 0
    m, n = w.shape
    for i in range(m):
        row = T[r0 + i, c0:c0 + n]
        wr = w[i]
        tr = theta[i] if ntk else wr
        ai = a_r[r0 + i]
        bi = b_r[r0 + i] if shift else 0.0
        gi = 0.0 if last else g_r[r0 + i]
        ei = e_r[r0 + i] if ntk and not last else 0.0
        for j in range(n):
            v = row[j] * (ai * a_c[j])
            if shift:
                v = v + bi * b_c[j]
            if last:
                row[j] = tr[j] + v if ntk else v
            else:
                u = _clip(v) * (gi * g_c[j])
                wr[j] = u
                if ntk:
                    tr[j] = ((tr[j] + v) / math.sqrt((1.0 - u) * (1.0 + u))) * (ei * e_c[j])


@numba.njit(**_JIT)
def _set_diagonal(T, col, values):
    """T[i, col + i] = values[i]."""
    for i in range(T.shape[0]):
        T[i, col + i] = values[i]


class _SliceWorkspace:
    """Work buffers for one slice (w, and Θ̃ for the NTK), reused across slices and tiles."""

    def __init__(self, entries: int, ntk: bool):
        self.entries = entries
        self.w = np.empty(entries)
        self.theta = np.empty(entries) if ntk else None

    def views(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        size = shape[0] * shape[1]
        theta = self.theta[:size].reshape(shape) if self.theta is not None else _NONE.reshape(0, 0)
        return self.w[:size].reshape(shape), theta


def _vector(v: np.ndarray | None) -> np.ndarray:
    return _NONE if v is None else v


def _transform_rows(T: np.ndarray, c0: int, n: int, R: _Coefficients, C: _Coefficients, activation: str,
                    ntk: bool, on_diagonal: bool, slice_rows: int, ws: _SliceWorkspace) -> None:
    """Turn T[:, c0:c0+n], a tile of the Gram matrix (s_i x_i)·(s_j x_j), into K^L (or Θ^L),
    in place, ``slice_rows`` rows at a time.

    ``T`` is C-contiguous (whole rows of the output; the tile is n of its columns); ``R``
    and ``C`` are the coefficients of its rows and columns. ``on_diagonal``: row r's diagonal
    entry is in the tile's column r, and gets the O(n) diagonal recursion (exactly
    :func:`kernel_diagonal`).
    """
    m = T.shape[0]
    depth = len(R.alpha)
    relu = activation == "relu" or depth == 0
    t_r, t_c = _vector(R.shift0), _vector(C.shift0)
    betas = [(_vector(R.beta[k]), _vector(C.beta[k])) for k in range(depth)]
    if not relu:
        eps = [(R.eps[k], C.eps[k]) if ntk else (_NONE, _NONE) for k in range(depth)]
    for r0 in range(0, m, slice_rows):
        rows = min(slice_rows, m - r0)
        w, theta = ws.views((rows, n))
        if relu:
            _relu_start(T, r0, c0, w, theta, t_r, t_c, ntk, depth > 0)
            for k in range(depth):
                arccos_rows(T, r0, c0, w)
                _relu_layer(T, r0, c0, w, theta, R.alpha[k], C.alpha[k], *betas[k], ntk, k == depth - 1)
        else:
            _erf_start(T, r0, c0, w, theta, t_r, t_c, R.gamma[0], C.gamma[0], *eps[0], ntk)
            for k in range(depth):
                arcsin_rows(w, T, r0, c0)
                nxt = min(k + 1, depth - 1)
                _erf_layer(T, r0, c0, w, theta, R.alpha[k], C.alpha[k], *betas[k], R.gamma[nxt], C.gamma[nxt],
                           *eps[nxt], ntk, k == depth - 1)
    if on_diagonal:
        _set_diagonal(T, c0, R.ntk_diag if ntk else R.nngp_diag)
