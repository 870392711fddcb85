"""The NumPy path of the fully connected ReLU and erf kernels: ufuncs on slices of a tile.

Kept apart from :mod:`wilsonian.kernels.fully_connected` (which drives it) because its numbers
are the reference every other path is checked against: every layer is "elementwise function
of the correlation ρ, then scale by per-row and per-column vectors" (:class:`_Coefficients`),
applied to cache-sized slices of a tile with preallocated buffers, no N² temporaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


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
            qs.append(weight_var * (2.0 / np.pi) * np.arcsin(2.0 * q / (1.0 + 2.0 * q)) + bias_var)
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


class _SliceWorkspace:
    """Preallocated work buffers for one slice, reused across slices (no N² temporaries)."""

    def __init__(self, entries: int, ntk: bool):
        self.a = np.empty(entries)
        self.b = np.empty(entries)
        self.outer = np.empty(entries)
        self.theta = np.empty(entries) if ntk else None

    @staticmethod
    def view(buf: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        return buf[: shape[0] * shape[1]].reshape(shape)


def _scale_shift(m: np.ndarray, a_r: np.ndarray, a_c: np.ndarray, b_r: np.ndarray | None,
                 b_c: np.ndarray | None, work: np.ndarray) -> None:
    """m[i, j] ← a_r[i] a_c[j] m[i, j] + b_r[i] b_c[j], in place (no shift when b is None).

    The outer product goes through ``work``: one cheap pass instead of two broadcasts.
    """
    np.multiply.outer(a_r, a_c, out=work)
    np.multiply(m, work, out=m)
    if b_r is not None:
        np.multiply.outer(b_r, b_c, out=work)
        np.add(m, work, out=m)


def _transform_slice(rho: np.ndarray, R: _Coefficients, C: _Coefficients, activation: str,
                     ntk: bool, diag_col: int | None, ws: _SliceWorkspace) -> None:
    """Turn a slice of the Gram matrix (s_i x_i)·(s_j x_j) into K^L (or Θ^L), in place.

    ``R``/``C`` are the coefficients of the slice's rows and columns. In the symmetric case
    ``diag_col`` is the column of row 0's diagonal entry (row r's is ``diag_col + r``);
    there cos θ is set to exactly 1 (see the module notes on accuracy) and the result to
    the O(n) diagonal recursion.
    """
    shape = rho.shape
    wa, wb, wo = (ws.view(buf, shape) for buf in (ws.a, ws.b, ws.outer))
    diag = None
    if diag_col is not None:
        diag = (np.arange(shape[0]), diag_col + np.arange(shape[0]))

    if R.shift0 is not None:                        # ρ⁰ (K⁰ if L = 0)
        np.multiply.outer(R.shift0, C.shift0, out=wo)
        np.add(rho, wo, out=rho)
    theta = None
    if ntk:
        theta = ws.view(ws.theta, shape)
        np.copyto(theta, rho)                       # Θ̃⁰ = ρ⁰

    depth = len(R.alpha)
    for layer in range(depth):
        last = layer == depth - 1
        np.clip(rho, -1.0, 1.0, out=rho)            # round-off can leave |ρ| a hair above 1
        if diag is not None:
            rho[diag] = 1.0
        scales = (R.alpha[layer], C.alpha[layer], R.beta[layer], C.beta[layer], wo)
        if activation == "relu":
            # sin θ = √((1 − ρ)(1 + ρ)): accurate near ρ = ±1, and much cheaper than np.sin.
            np.subtract(1.0, rho, out=wa)
            np.add(1.0, rho, out=wb)
            np.multiply(wa, wb, out=wa)
            np.sqrt(wa, out=wa)                     # wa = sin θ
            np.arccos(rho, out=wb)
            np.subtract(np.pi, wb, out=wb)          # wb = π − θ
            np.multiply(rho, wb, out=rho)
            np.add(rho, wa, out=rho)                # rho = J = sin θ + (π − θ) ρ
            if ntk:
                np.multiply(theta, wb, out=theta)
                np.add(theta, rho, out=theta)       # J + (π − θ) Θ̃^{l−1}
                _scale_shift(theta, *scales)
            if not (ntk and last):                  # the NTK's last layer needs no ρ^L
                _scale_shift(rho, *scales)
        else:
            np.multiply.outer(R.gamma[layer], C.gamma[layer], out=wo)
            np.multiply(rho, wo, out=wa)            # wa = u
            if ntk:
                np.subtract(1.0, wa, out=wb)
                np.add(1.0, wa, out=rho)            # (ρ^{l−1} is not needed any more)
                np.multiply(wb, rho, out=wb)
                np.sqrt(wb, out=wb)                 # √(1 − u²)
                np.divide(theta, wb, out=theta)
                np.multiply.outer(R.eps[layer], C.eps[layer], out=wo)
                np.multiply(theta, wo, out=theta)   # ε_i ε_j Θ̃^{l−1}/√(1 − u²)
            np.arcsin(wa, out=rho)
            _scale_shift(rho, *scales)
            if ntk:
                np.add(theta, rho, out=theta)       # Θ̃^l = ρ^l + ...

    if ntk:
        np.copyto(rho, theta)
    if diag is not None:
        # Exactly the O(n) recursion, so that the diagonal agrees with kernel_diagonal.
        rho[diag] = R.ntk_diag if ntk else R.nngp_diag


def _transform_rows(rows: np.ndarray, R: _Coefficients, C: _Coefficients, activation: str,
                    ntk: bool, diag_col: int | None, slice_rows: int, ws: _SliceWorkspace) -> None:
    """:func:`_transform_slice` over ``rows`` (m, n), ``slice_rows`` rows at a time."""
    for r0 in range(0, rows.shape[0], slice_rows):
        r1 = min(r0 + slice_rows, rows.shape[0])
        _transform_slice(rows[r0:r1], R.rows(slice(r0, r1)), C, activation, ntk,
                         None if diag_col is None else diag_col + r0, ws)
