"""NNGP and NTK kernels of deep fully connected networks (THEORY.md §2).

Network and conventions
-----------------------
Input dimension ``d``; ``depth`` = L hidden layers with activation φ (``"relu"`` or
``"erf"``); weight variance σ_w² (``weight_var``), bias variance σ_b² (``bias_var``);
standard parameterization, i.e. in neural-tangents terms::

    Dense -> φ -> Dense -> φ -> ... -> φ -> Dense        (L activations, L+1 Dense layers)

with every Dense layer ``Dense(width, W_std=σ_w, b_std=σ_b)``. The covariance of the
outputs of Dense layer l (counting from 0) over random networks is, in the infinite-width
limit,

    K⁰(x, x') = σ_w² x·x'/d + σ_b²                                       (THEORY §2)
    Kˡ(x, x') = σ_w² E[φ(u)φ(v)] + σ_b²,  (u, v) ~ N(0, Kˡ⁻¹ on {x, x'}),  l = 1..L

and **the NNGP kernel is K^L**: the covariance of the final Dense readout. There is no
extra readout term on top of K^L: Dense layer L *is* the readout. ``depth=0`` gives the
linear kernel K⁰ (a network that is a single Dense layer).

The NTK follows the same layer count (THEORY §2, "extension")::

    Θ⁰ = K⁰,   Θˡ = Kˡ + σ_w² Θˡ⁻¹ E[φ'(u)φ'(v)],   NTK = Θ^L.

This is the neural tangent kernel of the same network in the NTK parameterization
(weights N(0, 1) scaled by σ_w/√fan_in, biases N(0, 1) scaled by σ_b, gradients with
respect to all of them), i.e. neural-tangents ``kernel_fn(..., 'ntk')`` of the stax
network above built with ``parameterization='ntk'``. Both parameterizations have the same
NNGP; in the standard parameterization the NTK depends on the width and on per-layer
learning rates, so the NTK parameterization is the one with a width-free limit.

Closed forms (q = K(x, x), q' = K(x', x'), cos θ = K(x, x')/√(q q') clipped to [−1, 1]):

- ReLU: E[φφ] = √(q q') (sin θ + (π − θ) cos θ)/(2π);  E[φ'φ'] = (π − θ)/(2π).
- erf:  E[φφ] = (2/π) arcsin(2K/√((1+2q)(1+2q')));  E[φ'φ'] = (4/π)/√((1+2q)(1+2q') − 4K²).

How it is computed
------------------
The diagonal q^l(x) = Kˡ(x, x) is a scalar recursion per input (ReLU: q^l = σ_w² q^{l−1}/2
+ σ_b²), computed once for all rows and columns (:func:`kernel_diagonal`). The off-diagonal
work is done on the correlation ρ^l = Kˡ/√(q^l q^l'), for which every layer is "elementwise
function of ρ, then scale by per-row and per-column vectors" (:class:`_Coefficients`). The
rows of X are pre-scaled so that one BLAS product gives ρ⁰. The output is computed in row
tiles of 256 rows, in place: BLAS writes a tile's matrix product straight into ``out`` (for
``X2=None`` only the columns on and right of the diagonal, mirrored afterwards), then all
layers are applied to cache-sized slices of the tile, with no N² temporaries. Tiles are
shared among as many worker threads as BLAS would use, each running single-threaded BLAS
(via threadpoolctl) and NumPy ufuncs (which release the GIL). Extra memory is an O(n d)
copy of the inputs, O(n L) vectors and a few slices of 2¹⁶ entries per worker, so ``out``
may be a preallocated or memory-mapped array. With X2=None and depth 2 the elementwise work
costs less than the matrix product; see benchmarks/bench_kernels.py.

Accuracy: the NNGP is well conditioned everywhere. The NTK's E[φ'φ'] for ReLU depends on θ,
and arccos has slope −1/sin θ, so for pairs of (nearly) identical inputs a round-off δ in
cos θ moves the NTK by about √δ relative (~1e-8). On the diagonal of ``ntk(X)`` this is
avoided by setting cos θ = 1 exactly; ``ntk(X, X)`` cannot know that its rows coincide.
"""

from __future__ import annotations

import math
import queue
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from wilsonian._validation import as_inputs as _as_inputs
from wilsonian._validation import check_tile as _check_tile
from wilsonian.errors import WilsonianError

__all__ = ["ACTIVATIONS", "KINDS", "KernelSpec", "nngp", "ntk", "kernel_diagonal"]

ACTIVATIONS = ("relu", "erf")
KINDS = ("nngp", "ntk")

# Rows in one tile of the output. BLAS writes each tile straight into the output, so the
# tile costs no memory; it should be tall enough for the matrix product to run at full speed,
# and short enough that, for X2=None, the wasted lower half of each diagonal block
# (tile_rows²/2 entries) stays a few per cent of the work (3 % at N = 4,000).
_TILE_ROWS = 256
# Entries in one slice of a tile that goes through all layers at once (~25 ufunc calls):
# large enough that the Python overhead per call is small, small enough that the slice and
# its four work buffers (2.5 MiB) stay in cache.
_SLICE_ENTRIES = 1 << 16
# Upper bound on worker threads (None: as many as BLAS would use); tests lower it.
_MAX_WORKERS: int | None = None


# --------------------------------------------------------------------------- validation


def _check_hyperparameters(activation: Any, depth: Any, weight_var: Any, bias_var: Any) -> None:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise WilsonianError(
            f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}; "
            "pick one of those."
        )
    if isinstance(depth, bool) or not isinstance(depth, Integral) or depth < 0:
        raise WilsonianError(
            f"depth must be a non-negative integer (number of hidden layers), got {depth!r}."
        )
    for name, value, strict in (("weight_var", weight_var, True), ("bias_var", bias_var, False)):
        ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and (value > 0 if strict else value >= 0)
        if not ok:
            bound = "> 0" if strict else ">= 0"
            raise WilsonianError(f"{name} must be a finite number {bound}, got {value!r}.")


def _check_kind(kind: Any) -> None:
    if not isinstance(kind, str) or kind not in KINDS:
        raise WilsonianError(f"kind must be 'nngp' or 'ntk', got {kind!r}; pick one of those.")


def _check_out(out: Any, shape: tuple[int, int], inputs: tuple[np.ndarray, ...]) -> None:
    if not isinstance(out, np.ndarray):
        raise WilsonianError(f"out must be a NumPy array (or np.memmap), got {type(out).__name__}.")
    if out.shape != shape or out.dtype != np.float64:
        raise WilsonianError(
            f"out must be a float64 array of shape {shape}, got {out.dtype} {out.shape}; "
            "allocate it with np.empty(shape) or np.memmap(..., dtype='float64', shape=shape)."
        )
    if not out.flags.writeable:
        raise WilsonianError("out is read-only; pass a writeable array.")
    if any(np.may_share_memory(out, x) for x in inputs):
        raise WilsonianError("out shares memory with the inputs; pass a separate array.")


# ------------------------------------------------------------------ diagonal recursions


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


def kernel_diagonal(X: Any, *, kind: str = "nngp", activation: str = "relu", depth: int = 2,
                    weight_var: float = 2.0, bias_var: float = 0.0) -> np.ndarray:
    """Diagonal K(x_i, x_i) of the NNGP (``kind="nngp"``) or NTK (``"ntk"``) kernel.

    Costs O(n d): it never forms the matrix. Same conventions as :func:`nngp`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    kind : {"nngp", "ntk"}
    activation, depth, weight_var, bias_var
        As in :func:`nngp`.

    Returns
    -------
    ndarray, shape (n,), float64
        q^L(x_i) = K^L(x_i, x_i) for the NNGP, Θ^L(x_i, x_i) for the NTK (THEORY.md §2).
    """
    _check_kind(kind)
    _check_hyperparameters(activation, depth, weight_var, bias_var)
    X = _as_inputs(X, "X")
    qs = _variance_recursion(_input_variances(X, weight_var, bias_var), activation, depth,
                             weight_var, bias_var)
    if kind == "nngp":
        return qs[-1]
    return _ntk_diagonal_recursion(qs, activation, weight_var)


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


# -------------------------------------------------------------------------- the driver


def _blas_threads() -> int:
    """Threads BLAS would use for ``X @ X.T`` here: our worker count (1 if unknown)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return 1
    counts = [m.get("num_threads", 1) for m in threadpool_info() if m.get("user_api") == "blas"]
    return max(counts, default=1)


def _single_threaded_blas():
    """Context in which BLAS runs in the calling thread (threadpoolctl; see the driver)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _kernel_matrix(kind: str, X1: Any, X2: Any, activation: str, depth: int, weight_var: float,
                   bias_var: float, tile: int | None, out: Any, progress: bool) -> np.ndarray:
    _check_kind(kind)
    _check_hyperparameters(activation, depth, weight_var, bias_var)
    _check_tile(tile)
    X1 = _as_inputs(X1, "X1")
    symmetric = X2 is None
    if symmetric:
        X2 = X1
    else:
        X2 = _as_inputs(X2, "X2")
        if X2.shape[1] != X1.shape[1]:
            raise WilsonianError(
                f"X1 and X2 must have the same number of features, got {X1.shape[1]} and "
                f"{X2.shape[1]}; preprocess both the same way."
            )
    n1, n2 = X1.shape[0], X2.shape[0]
    if out is None:
        out = np.empty((n1, n2))
    else:
        _check_out(out, (n1, n2), (X1, X2))
    weight_var, bias_var = float(weight_var), float(bias_var)
    ntk = kind == "ntk"

    rows_all = _layer_coefficients(X1, activation, depth, weight_var, bias_var)
    cols_all = rows_all if symmetric else _layer_coefficients(X2, activation, depth, weight_var, bias_var)
    # Rows pre-scaled by s (O(n d) copy), so that the matrix product yields ρ⁰ directly.
    X1s = X1 * rows_all.x_scale[:, None]
    X2s = X1s if symmetric else X2 * cols_all.x_scale[:, None]

    tile_rows = min(n1, tile if tile is not None else _TILE_ROWS)
    slice_rows = max(1, min(tile_rows, _SLICE_ENTRIES // n2))
    # Tiles (i0, i1, j0): rows i0:i1, columns j0:n2. Symmetric: only the columns on and
    # right of the diagonal, so a tile's row r has its diagonal entry in its column r.
    tiles = [(i0, min(i0 + tile_rows, n1), i0 if symmetric else 0) for i0 in range(0, n1, tile_rows)]
    # Parallelism: as many workers as BLAS has threads, each doing whole tiles (matrix
    # product with single-threaded BLAS, then the elementwise layers; ufuncs release the
    # GIL). Multi-threaded BLAS calls alternating with elementwise work would leave the
    # elementwise part on one core, and OpenBLAS threads busy-wait for ~0.1 s after each
    # call, stealing the cores from it.
    # (A single tile skips the ~2 ms of asking threadpoolctl.)
    workers = 1 if len(tiles) == 1 else min(_blas_threads(), len(tiles), _MAX_WORKERS or len(tiles))
    workspaces: queue.SimpleQueue = queue.SimpleQueue()
    for _ in range(workers):
        workspaces.put(_SliceWorkspace(slice_rows * n2, ntk))

    def compute_tile(tile_bounds: tuple[int, int, int]) -> None:
        i0, i1, j0 = tile_bounds
        ws = workspaces.get()
        try:
            block = out[i0:i1, j0:]
            np.matmul(X1s[i0:i1], X2s[j0:].T, out=block)  # BLAS writes straight into out
            _transform_rows(block, rows_all.rows(slice(i0, i1)), cols_all.rows(slice(j0, n2)),
                            activation, ntk, 0 if symmetric else None, slice_rows, ws)
            if symmetric:
                # Make the diagonal block exactly symmetric, then mirror the rest. Tiles
                # write disjoint parts of out, so workers never overlap.
                square = out[i0:i1, i0:i1]
                below = np.tri(i1 - i0, k=-1, dtype=bool)
                np.copyto(square, square.T.copy(), where=below)
                out[i1:, i0:i1] = out[i0:i1, i1:].T
        finally:
            workspaces.put(ws)

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tiles), desc=f"{kind} tiles", unit="tile", file=sys.stderr)
    try:
        if workers == 1:
            for t in tiles:
                compute_tile(t)
                if bar is not None:
                    bar.update(1)
        else:
            with _single_threaded_blas(), ThreadPoolExecutor(workers) as pool:
                for _ in pool.map(compute_tile, tiles):
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return out


def nngp(X1: Any, X2: Any = None, *, activation: str = "relu", depth: int = 2,
         weight_var: float = 2.0, bias_var: float = 0.0, tile: int | None = None,
         out: np.ndarray | None = None, progress: bool = False) -> np.ndarray:
    """NNGP kernel K^L(X1, X2) of a deep fully connected network (THEORY.md §2).

    ``depth`` = L hidden layers of ``activation``, then a Dense readout; standard
    parameterization; the returned kernel is K^L, the covariance of the readout (see the
    module docstring for the recursion and the neural-tangents equivalent).

    Parameters
    ----------
    X1 : array_like, shape (n1, d)
        Inputs, one per row (converted to float64).
    X2 : array_like, shape (n2, d), optional
        Second set of inputs. ``None`` means ``X1`` and is about twice as fast: only the
        upper triangle is computed, then mirrored; the result is exactly symmetric.
    activation : {"relu", "erf"}
    depth : int, >= 0
        Number of hidden layers L; 0 gives the linear kernel K⁰ = σ_w² x·x'/d + σ_b².
    weight_var : float, > 0
        σ_w². The default 2 keeps ReLU variances constant across layers (He init).
    bias_var : float, >= 0
        σ_b².
    tile : int, optional
        Rows per tile of the output (default 256). Tiles are computed in place in the
        output, so this sets the progress granularity and the matrix-product block size,
        not the memory (extra memory: an O(n d) scaled copy of the inputs, O(n) vectors,
        and a few MiB of work buffers).
    out : ndarray, shape (n1, n2), float64, optional
        Preallocated result, e.g. an ``np.memmap``; it is filled and returned.
    progress : bool
        Show a tqdm progress bar over tiles on stderr.

    Returns
    -------
    ndarray, shape (n1, n2), float64

    Raises
    ------
    WilsonianError
        Bad hyperparameters, non-2-D or non-finite inputs, mismatched d, bad ``out``.
    """
    return _kernel_matrix("nngp", X1, X2, activation, depth, weight_var, bias_var, tile, out, progress)


def ntk(X1: Any, X2: Any = None, *, activation: str = "relu", depth: int = 2,
        weight_var: float = 2.0, bias_var: float = 0.0, tile: int | None = None,
        out: np.ndarray | None = None, progress: bool = False) -> np.ndarray:
    """Neural tangent kernel Θ^L(X1, X2) of the network of :func:`nngp` (THEORY.md §2).

    Θ⁰ = K⁰, Θˡ = Kˡ + σ_w² Θˡ⁻¹ E[φ'(u)φ'(v)], l = 1..L: the infinite-width NTK in the
    NTK parameterization (neural-tangents ``parameterization='ntk'``), with gradients
    with respect to all weights and biases. Arguments and return value as in :func:`nngp`.
    For (nearly) identical inputs in different arguments the ReLU NTK is accurate to about
    1e-8 relative (arccos is ill-conditioned at cos θ = 1); the diagonal of ``ntk(X)`` is exact.
    """
    return _kernel_matrix("ntk", X1, X2, activation, depth, weight_var, bias_var, tile, out, progress)


@dataclass(frozen=True)
class KernelSpec:
    """Everything that defines a kernel: ``kind``, ``activation``, ``depth``, σ_w², σ_b².

    Validated on construction. ``spec.matrix(X1, X2)`` and ``spec.diagonal(X)`` evaluate
    it; ``spec.as_dict()`` is the JSON-ready provenance record.
    """

    kind: str = "nngp"
    activation: str = "relu"
    depth: int = 2
    weight_var: float = 2.0
    bias_var: float = 0.0

    def __post_init__(self) -> None:
        _check_kind(self.kind)
        _check_hyperparameters(self.activation, self.depth, self.weight_var, self.bias_var)
        object.__setattr__(self, "depth", int(self.depth))
        object.__setattr__(self, "weight_var", float(self.weight_var))
        object.__setattr__(self, "bias_var", float(self.bias_var))

    def _hyper(self) -> dict[str, Any]:
        return {"activation": self.activation, "depth": self.depth,
                "weight_var": self.weight_var, "bias_var": self.bias_var}

    def matrix(self, X1: Any, X2: Any = None, *, tile: int | None = None,
               out: np.ndarray | None = None, progress: bool = False) -> np.ndarray:
        """The kernel matrix, shape (n1, n2); see :func:`nngp` / :func:`ntk`."""
        return _kernel_matrix(self.kind, X1, X2, tile=tile, out=out, progress=progress,
                              **self._hyper())

    def diagonal(self, X: Any) -> np.ndarray:
        """K(x_i, x_i), shape (n,); see :func:`kernel_diagonal`."""
        return kernel_diagonal(X, kind=self.kind, **self._hyper())

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict record of the spec (for results' provenance and cache keys)."""
        return asdict(self)
