"""NNGP and NTK kernels of deep fully connected networks (THEORY.md §2, §7).

Network and conventions
-----------------------
Input dimension ``d``; ``depth`` = L hidden layers with an elementwise activation φ (any of
:mod:`wilsonian.kernels.activations`: ``"relu"``, ``"erf"``, ``"gelu"``, ... or your own);
weight variance σ_w² (``weight_var``), bias variance σ_b² (``bias_var``); standard
parameterization, i.e. in neural-tangents terms::

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
- every other activation: :mod:`wilsonian.kernels.activations`.

How it is computed
------------------
The diagonal q^l(x) = Kˡ(x, x) is a scalar recursion per input (ReLU: q^l = σ_w² q^{l−1}/2
+ σ_b²), computed once for all rows and columns (:func:`kernel_diagonal`). The off-diagonal
work is done on the correlation ρ^l = Kˡ/√(q^l q^l'). The rows of X are pre-scaled so that
one BLAS product gives ρ⁰. The output is computed in row tiles of 256 rows, in place: BLAS
writes a tile's matrix product straight into ``out`` (for ``X2=None`` only the columns on
and right of the diagonal, mirrored afterwards), then all layers are applied to the tile,
with no N² temporaries, by one of three paths:

- ReLU and erf with their default parameters: compiled passes on cache-sized slices of the
  tile (arccos/arcsin from :mod:`wilsonian.kernels._inverse_trig`), where every layer is
  "elementwise function of ρ, then scale by per-row and per-column vectors"
  (:class:`_Coefficients`);
- every other closed form: the same slices, with E[φφ] and E[φ'φ'] from compiled loops
  (numba) around the compiled arccos and NumPy's arctan/exp
  (:mod:`wilsonian.kernels._closed_forms`), and each layer's scale-and-shift in one
  compiled pass;
- tanh, sigmoid and custom φ: their Hermite series on slices
  (:mod:`wilsonian.kernels.hermite_series`; P evaluations of φ per input, one multiply-add
  per entry, layer and order), or with ``points`` Gauss–Hermite quadrature
  (:mod:`wilsonian.kernels.quadrature`; n² evaluations of φ per entry and layer).

Tiles are shared among as many worker threads as BLAS would use, each running
single-threaded BLAS (via threadpoolctl) and NumPy ufuncs or compiled loops (which release
the GIL). Extra memory is an O(n d) copy of the inputs, O(n L) vectors and a few slices of
2¹⁶ entries per worker, so ``out`` may be a preallocated or memory-mapped array. With
X2=None and depth 2 the elementwise work costs less than the matrix product for every
closed form; see benchmarks/bench_kernels.py.

Accuracy: the NNGP is well conditioned everywhere. The NTK's E[φ'φ'] for ReLU-like φ
depends on θ, and arccos has slope −1/sin θ, so for pairs of (nearly) identical inputs a
round-off δ in cos θ moves the NTK by about √δ relative (~1e-8). On the diagonal of
``ntk(X)`` this is avoided by using the diagonal recursion (cos θ = 1 exactly); ``ntk(X, X)``
cannot know that its rows coincide.
"""

from __future__ import annotations

import math
import queue
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from wilsonian._validation import as_inputs as _as_inputs
from wilsonian._validation import check_tile as _check_tile
from wilsonian.errors import WilsonianError
from wilsonian.kernels import _closed_forms
from wilsonian.kernels._tiles import blas_threads as _blas_threads
from wilsonian.kernels._tiles import check_out as _check_out
from wilsonian.kernels._tiles import Workspace, fill_parallel
from wilsonian.kernels._relu_erf import (_input_variances, _layer_coefficients, _ntk_diagonal_recursion,
                                         _safe_divide, _SliceWorkspace, _transform_rows, _variance_recursion)
from wilsonian.kernels.activations import ACTIVATIONS, Activation, resolve_activation

__all__ = ["ACTIVATIONS", "KINDS", "KernelSpec", "KernelTiles", "nngp", "ntk", "kernel_diagonal"]

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
# Entries per slice of the closed-form path: its eight work buffers (1 MiB) stay in L2.
_GENERAL_SLICE_ENTRIES = 1 << 14
# Upper bound on worker threads (None: as many as BLAS would use); tests lower it.
_MAX_WORKERS: int | None = None


# --------------------------------------------------------------------------- validation


def _check_hyperparameters(activation: Any, depth: Any, weight_var: Any, bias_var: Any,
                           activation_params: Any = None) -> Activation:
    """Validate the hyperparameters; return the resolved :class:`Activation`."""
    act = resolve_activation(activation, activation_params)
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
    return act


def _fused(act: Activation) -> bool:
    """ReLU and erf with default parameters: the NumPy slice path (numbers kept as they were)."""
    return act.name in ("relu", "erf") and not act.params


def _check_kind(kind: Any) -> None:
    if not isinstance(kind, str) or kind not in KINDS:
        raise WilsonianError(f"kind must be 'nngp' or 'ntk', got {kind!r}; pick one of those.")


# ------------------------------------------------------------------ diagonal recursions


def _general_recursion(q0: np.ndarray, act: Activation, depth: int, weight_var: float, bias_var: float,
                       ntk: bool) -> tuple[list[np.ndarray], np.ndarray]:
    """[q⁰, ..., q^L] and Θ^L(x, x) for any activation, from E[φ(u)²] and E[φ'(u)²]."""
    qs, theta = [q0], q0
    for _ in range(depth):
        e, de = act.variance(qs[-1])
        qs.append(weight_var * e + bias_var)
        if ntk:
            theta = qs[-1] + weight_var * de * theta
    return qs, theta


def _diagonals(X: np.ndarray, act: Activation, depth: int, weight_var: float, bias_var: float,
               ntk: bool) -> tuple[list[np.ndarray], np.ndarray]:
    """[q⁰, ..., q^L] and the NTK diagonal Θ^L(x, x) (q^L again when not ``ntk``)."""
    q0 = _input_variances(X, weight_var, bias_var)
    if _fused(act):
        qs = _variance_recursion(q0, act.name, depth, weight_var, bias_var)
        return qs, _ntk_diagonal_recursion(qs, act.name, weight_var) if ntk else qs[-1]
    qs, theta = _general_recursion(q0, act, depth, weight_var, bias_var, ntk)
    return qs, theta if ntk else qs[-1]


def kernel_diagonal(X: Any, *, kind: str = "nngp", activation: Any = "relu", depth: int = 2,
                    weight_var: float = 2.0, bias_var: float = 0.0, activation_params: Any = None) -> np.ndarray:
    """Diagonal K(x_i, x_i) of the NNGP (``kind="nngp"``) or NTK (``"ntk"``) kernel.

    Costs O(n d): it never forms the matrix. Same conventions as :func:`nngp`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    kind : {"nngp", "ntk"}
    activation, depth, weight_var, bias_var, activation_params
        As in :func:`nngp`.

    Returns
    -------
    ndarray, shape (n,), float64
        q^L(x_i) = K^L(x_i, x_i) for the NNGP, Θ^L(x_i, x_i) for the NTK (THEORY.md §2).
    """
    _check_kind(kind)
    act = _check_hyperparameters(activation, depth, weight_var, bias_var, activation_params)
    if kind == "ntk":
        act.require_derivative()
    X = _as_inputs(X, "X")
    qs, theta = _diagonals(X, act, depth, float(weight_var), float(bias_var), kind == "ntk")
    return theta if kind == "ntk" else qs[-1]


@dataclass
class _Scales:
    """Per-input vectors of the compiled and quadrature paths (any activation).

    ``x_scale`` s = √(σ_w²/(d q⁰)) and ``shift`` t = σ_b/√q⁰ give ρ⁰ = (s x)·(s' x') + t t';
    ``std[:, l]`` = √qˡ and ``inv[:, l]`` = 1/√qˡ (0 where qˡ = 0), l = 0..L; ``diag`` is
    the kernel diagonal (q^L or Θ^L). Shapes (n,) and (n, L + 1), C-contiguous.
    """

    x_scale: np.ndarray
    shift: np.ndarray
    std: np.ndarray
    inv: np.ndarray
    diag: np.ndarray

    def rows(self, sl: slice) -> "_Scales":
        return _Scales(self.x_scale[sl], self.shift[sl], self.std[sl], self.inv[sl], self.diag[sl])


def _scales(X: np.ndarray, act: Activation, depth: int, weight_var: float, bias_var: float,
            ntk: bool) -> _Scales:
    qs, diag = _diagonals(X, act, depth, weight_var, bias_var, ntk)
    std = np.ascontiguousarray(np.sqrt(np.stack(qs, axis=1)))
    inv = _safe_divide(1.0, std)
    return _Scales(x_scale=_safe_divide(math.sqrt(weight_var / X.shape[1]), std[:, 0]),
                   shift=_safe_divide(math.sqrt(bias_var), std[:, 0]), std=std, inv=inv, diag=diag)


def _closed_form_slice(rows: np.ndarray, R: _Scales, C: _Scales, act: Activation, ntk: bool,
                       diag_col: int | None, weight_var: float, bias_var: float, ws: Workspace) -> None:
    """All layers on a slice ``rows`` = (s x)·(s' x') of a tile, in place, for a closed form.

    Per layer: ρ clipped to [−1, 1] (exactly 1 on the diagonal), E[φφ] and E[φ'φ'] from
    :func:`~wilsonian.kernels._closed_forms.expect` (compiled loops around NumPy's SIMD
    arccos/arctan/exp), then Kˡ = σ_w² E[φφ] + σ_b², Θˡ = Kˡ + σ_w² E[φ'φ'] Θˡ⁻¹ and
    ρˡ = Kˡ/√(qˡ qˡ') in one compiled pass (:func:`~wilsonian.kernels._closed_forms.fc_update`).
    """
    shape = rows.shape
    rho, s1, s2, e, de, w1, w2, theta = (ws.array(k, shape) for k in ("rho", "s1", "s2", "e", "de", "w1", "w2",
                                                                      "theta"))
    diag = None
    if diag_col is not None:
        diag = (np.arange(shape[0]), diag_col + np.arange(shape[0]))
    np.add(rows, np.multiply.outer(R.shift, C.shift), out=rho)       # ρ⁰
    if ntk:
        np.multiply(rho, np.multiply.outer(R.std[:, 0], C.std[:, 0]), out=theta)   # Θ⁰ = K⁰
    depth = R.std.shape[1] - 1
    flat = [a.reshape(-1) for a in (s1, s2, rho, e, de, w1, w2)]
    for layer in range(depth):
        np.clip(rho, -1.0, 1.0, out=rho)
        if diag is not None:
            rho[diag] = 1.0
        s1[...] = R.std[:, layer, None]
        s2[...] = C.std[None, :, layer]
        _closed_forms.expect(act.code, act.prm, act.poly, *flat, need_de=ntk)
        last = layer == depth - 1
        _closed_forms.fc_update(e, de, theta, rows if last else rho, R.inv[:, layer + 1], C.inv[:, layer + 1],
                                weight_var, bias_var, ntk, last)
    if diag is not None:
        rows[diag] = R.diag


def _numerical_slice(rho: np.ndarray, R: _Scales, C: _Scales, act: Activation, ntk: bool,
                     diag_col: int | None, weight_var: float, bias_var: float) -> None:
    """The layers of :func:`_closed_form_slice`, with E[φφ] and E[φ'φ'] from the Hermite
    series or by quadrature (:meth:`Activation.expect_rho`);
    ``rho`` holds (s x)·(s' x') and gets K^L or Θ^L."""
    target = rho
    diag = None
    if diag_col is not None:
        diag = (np.arange(rho.shape[0]), diag_col + np.arange(rho.shape[0]))
    rho += np.multiply.outer(R.shift, C.shift)
    kern = rho * np.multiply.outer(R.std[:, 0], C.std[:, 0])
    theta = kern
    for layer in range(R.std.shape[1] - 1):
        np.clip(rho, -1.0, 1.0, out=rho)
        if diag is not None:
            rho[diag] = 1.0
        e, de = act.expect_rho(R.std[:, layer, None], C.std[None, :, layer], rho, need_de=ntk)
        kern = weight_var * e + bias_var
        if ntk:
            theta = kern + weight_var * de * theta
        rho = kern * np.multiply.outer(R.inv[:, layer + 1], C.inv[:, layer + 1])
    target[...] = theta if ntk else kern
    if diag is not None:
        target[diag] = R.diag


# -------------------------------------------------------------------------- the driver


class KernelTiles:
    """A fully connected kernel on fixed inputs, computed tile by tile in the calling thread.

    Built by :meth:`KernelSpec.prepare` (and by :func:`nngp`/:func:`ntk`): the inputs are
    validated and scaled and the per-input vectors computed once, so that a tile costs only
    its matrix product and its elementwise layers. Every kernel matrix of this module goes
    through :meth:`fill`: the dense path (row tiles on worker threads), the passes of
    :class:`~wilsonian.operators.TiledOperator` and the rows of the Dask workers.

    Attributes
    ----------
    shape : (n1, n2)
    symmetric : bool
        X2 is None: the kernel of X1 with itself, exact diagonal, exactly symmetric.
    exact_in_tiles : bool
        An entry's number does not depend on the width of the tile it is computed in
        (all but activations computed by quadrature), given the same matrix product.
    """

    def __init__(self, kind: str, act: Activation, depth: int, weight_var: float, bias_var: float,
                 X1: np.ndarray, X2: np.ndarray | None):
        self.ntk = kind == "ntk"
        self.act, self.weight_var, self.bias_var = act, weight_var, bias_var
        self.symmetric = X2 is None
        # Depth 0 is the linear kernel whatever φ: the ReLU coefficients give it.
        self.fused = _fused(act) or depth == 0
        # Whether an entry is the same number whatever the width of its tile: not for the
        # quadrature, whose sums depend on the slice shape at round-off (see fill). The
        # Hermite series is: each input's coefficients depend on its variance alone.
        self.exact_in_tiles = self.fused or act.method != "quadrature"
        if self.fused:
            self.name = act.name if _fused(act) else "relu"
            self.rows_all = _layer_coefficients(X1, self.name, depth, weight_var, bias_var)
            self.cols_all = self.rows_all if self.symmetric else _layer_coefficients(
                X2, self.name, depth, weight_var, bias_var)
        else:
            self.rows_all = _scales(X1, act, depth, weight_var, bias_var, self.ntk)
            self.cols_all = self.rows_all if self.symmetric else _scales(X2, act, depth, weight_var, bias_var,
                                                                         self.ntk)
        # Rows pre-scaled by s (O(n d) copy), so that the matrix product yields ρ⁰ directly.
        self.X1s = X1 * self.rows_all.x_scale[:, None]
        self.X2s = self.X1s if self.symmetric else X2 * self.cols_all.x_scale[:, None]
        self.shape = (X1.shape[0], self.X2s.shape[0])
        self._spare: queue.SimpleQueue = queue.SimpleQueue()   # work buffers, one per thread at a time

    def _entries(self) -> int:
        if self.fused or not self.act.closed_form:
            return _SLICE_ENTRIES
        return min(_SLICE_ENTRIES, _GENERAL_SLICE_ENTRIES)

    def _workspace(self, entries: int) -> Any:
        try:
            ws = self._spare.get_nowait()
        except queue.Empty:
            ws = None
        if ws is None:
            ws = _SliceWorkspace(entries, self.ntk) if self.fused else Workspace()   # the latter grows itself
        elif self.fused and ws.entries < entries:
            ws = _SliceWorkspace(entries, self.ntk)
        return ws

    def _starts_on_diagonal(self, i0: int, i1: int, j0: int, j1: int) -> bool:
        """Whether the tile starts on the diagonal (and is a valid tile at all)."""
        on_diagonal = self.symmetric and j0 == i0
        if self.symmetric and not on_diagonal and j0 < i1 and i0 < j1:
            raise WilsonianError("a tile of a symmetric kernel must start on the diagonal or miss it.")
        if on_diagonal and j1 < i1:
            raise WilsonianError("a tile that starts on the diagonal must hold its whole square (j1 >= i1).")
        return on_diagonal

    def product(self, i0: int, i1: int, j0: int, j1: int, out: np.ndarray) -> None:
        """The tile's matrix product (s x_i)·(s x_j) alone, into ``out`` (any layout BLAS takes)."""
        self._starts_on_diagonal(i0, i1, j0, j1)
        np.matmul(self.X1s[i0:i1], self.X2s[j0:j1].T, out=out)

    def fill(self, i0: int, i1: int, j0: int, j1: int, T: np.ndarray, c0: int = 0, *,
             product: bool = True) -> None:
        """K[i0:i1, j0:j1] into T[:, c0:c0 + j1 − j0], in place, in the calling thread.

        ``T`` is a C-contiguous array of i1 − i0 rows (e.g. whole rows of the output): BLAS
        writes the tile's matrix product straight into it (``product=False``: T already holds
        it, from :meth:`product`), then the layers run on slices of about 2¹⁶ entries. For a
        symmetric kernel, a tile with j0 == i0 (and j1 ≥ i1) starts on the diagonal: its
        leading square is made exactly symmetric, with the diagonal of
        :func:`kernel_diagonal`; any other tile must not meet the diagonal. Each call is one
        matrix product, and BLAS's round-off depends on its shape: the callers choose the
        same tiles as the code before them did.
        """
        m, n = i1 - i0, j1 - j0
        if not T.flags.c_contiguous or T.shape[0] != m or T.shape[1] < c0 + n:
            raise WilsonianError(f"a tile of shape {(m, n)} needs a C-contiguous target with {m} rows and "
                                 f"at least {c0 + n} columns, got {T.shape}.")
        if m <= 0 or n <= 0:
            return
        on_diagonal = self._starts_on_diagonal(i0, i1, j0, j1)
        view = T[:, c0:c0 + n]
        if product:
            self.product(i0, i1, j0, j1, view)  # BLAS writes straight into T
        # Quadrature's sums depend on the slice shape at round-off: its slices keep the rows
        # they always had (from the matrix width, not the tile's).
        width = n if self.exact_in_tiles else self.shape[1]
        slice_rows = max(1, min(m, self._entries() // width))
        ws = self._workspace(slice_rows * n)
        try:
            R, C = self.rows_all.rows(slice(i0, i1)), self.cols_all.rows(slice(j0, j1))
            if self.fused:
                _transform_rows(T, c0, n, R, C, self.name, self.ntk, on_diagonal, slice_rows, ws)
            else:
                for r0 in range(0, m, slice_rows):
                    r1 = min(r0 + slice_rows, m)
                    self._layers(T[r0:r1, c0:c0 + n], R.rows(slice(r0, r1)), C, r0 if on_diagonal else None, ws)
        finally:
            self._spare.put(ws)
        if on_diagonal:
            # Make the square exactly symmetric (its diagonal came from the recursion).
            square = view[:, :m]
            np.copyto(square, square.T.copy(), where=np.tri(m, k=-1, dtype=bool))

    def _layers(self, rows: np.ndarray, R: Any, C: Any, diag_col: int | None, ws: Any) -> None:
        """The closed-form or numerical (series, quadrature) layers on a slice ``rows`` of a tile."""
        args = (rows, R, C, self.act, self.ntk, diag_col, self.weight_var, self.bias_var)
        if self.act.closed_form:
            _closed_form_slice(*args, ws)
        else:
            _numerical_slice(*args)


def _prepare(kind: str, X1: Any, X2: Any, activation: Any, depth: int, weight_var: float, bias_var: float,
             activation_params: Any = None) -> KernelTiles:
    _check_kind(kind)
    act = _check_hyperparameters(activation, depth, weight_var, bias_var, activation_params)
    if kind == "ntk":
        act.require_derivative()
    X1 = _as_inputs(X1, "X1")
    if X2 is not None:
        X2 = _as_inputs(X2, "X2")
        if X2.shape[1] != X1.shape[1]:
            raise WilsonianError(
                f"X1 and X2 must have the same number of features, got {X1.shape[1]} and "
                f"{X2.shape[1]}; preprocess both the same way."
            )
    return KernelTiles(kind, act, int(depth), float(weight_var), float(bias_var), X1, X2)


def _kernel_matrix(kind: str, X1: Any, X2: Any, activation: Any, depth: int, weight_var: float,
                   bias_var: float, tile: int | None, out: Any, progress: bool,
                   activation_params: Any = None) -> np.ndarray:
    _check_tile(tile)
    tiles = _prepare(kind, X1, X2, activation, depth, weight_var, bias_var, activation_params)
    symmetric = tiles.symmetric
    n1, n2 = tiles.shape
    if out is None:
        out = np.empty((n1, n2))
    else:
        _check_out(out, (n1, n2), (np.asarray(X1),) if symmetric else (np.asarray(X1), np.asarray(X2)))
    # Row tiles of _TILE_ROWS rows, each one matrix product; symmetric: only the columns on
    # and right of the diagonal, mirrored below it (fill_parallel). BLAS writes each tile
    # straight into a C-contiguous out. Parallelism: as many workers as BLAS has threads,
    # each doing whole tiles (matrix product with single-threaded BLAS, then the elementwise
    # layers; see _tiles). (A single tile skips the ~2 ms of asking threadpoolctl.)
    tile_rows = min(n1, tile if tile is not None else _TILE_ROWS)
    n_tiles = -(-n1 // tile_rows)
    workers = 1 if n_tiles == 1 else min(_blas_threads(), n_tiles, _MAX_WORKERS or n_tiles)
    fill_parallel(tiles, 0, n1, [(0, n2, 0)], out, rows=tile_rows, workers=workers, progress=progress,
                  desc=f"{kind} tiles")
    return out


def nngp(X1: Any, X2: Any = None, *, activation: Any = "relu", depth: int = 2,
         weight_var: float = 2.0, bias_var: float = 0.0, tile: int | None = None,
         out: np.ndarray | None = None, progress: bool = False, activation_params: Any = None) -> np.ndarray:
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
    activation : str or Activation
        A name of :data:`ACTIVATIONS` (with ``activation_params``), or an
        :class:`~wilsonian.kernels.activations.Activation` (e.g. from ``custom_activation``).
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
    activation_params : mapping, optional
        The activation's parameters, e.g. ``{"slope": 0.1}`` for ``"leaky-relu"`` (see
        :func:`wilsonian.kernels.activations.activation`).

    Returns
    -------
    ndarray, shape (n1, n2), float64

    Raises
    ------
    WilsonianError
        Bad hyperparameters, non-2-D or non-finite inputs, mismatched d, bad ``out``.
    """
    return _kernel_matrix("nngp", X1, X2, activation, depth, weight_var, bias_var, tile, out, progress,
                          activation_params)


def ntk(X1: Any, X2: Any = None, *, activation: Any = "relu", depth: int = 2,
        weight_var: float = 2.0, bias_var: float = 0.0, tile: int | None = None,
        out: np.ndarray | None = None, progress: bool = False, activation_params: Any = None) -> np.ndarray:
    """Neural tangent kernel Θ^L(X1, X2) of the network of :func:`nngp` (THEORY.md §2).

    Θ⁰ = K⁰, Θˡ = Kˡ + σ_w² Θˡ⁻¹ E[φ'(u)φ'(v)], l = 1..L: the infinite-width NTK in the
    NTK parameterization (neural-tangents ``parameterization='ntk'``), with gradients
    with respect to all weights and biases. Arguments and return value as in :func:`nngp`.
    For (nearly) identical inputs in different arguments the ReLU NTK is accurate to about
    1e-8 relative (arccos is ill-conditioned at cos θ = 1); the diagonal of ``ntk(X)`` is exact.
    """
    return _kernel_matrix("ntk", X1, X2, activation, depth, weight_var, bias_var, tile, out, progress,
                          activation_params)


@dataclass(frozen=True)
class KernelSpec:
    """Everything that defines a kernel: ``kind``, ``activation``, ``depth``, σ_w², σ_b²,
    and the activation's parameters.

    Validated on construction. ``activation`` may be given as a name with
    ``activation_params`` (a mapping, ``"name=value"`` strings, or pairs), or as an
    :class:`~wilsonian.kernels.activations.Activation`; it is stored as its name, with the
    parameters that differ from their defaults as a tuple of (name, value) pairs.
    ``spec.matrix(X1, X2)`` and ``spec.diagonal(X)`` evaluate it; ``spec.as_dict()`` is the
    JSON-ready provenance record (and cache key): ``activation_params`` appears in it only
    when non-empty, so ReLU and erf records are as they always were, and ``expectations``
    only for an activation computed from its Hermite series (tanh, sigmoid and custom ones
    without ``points``), whose numbers differ from the quadrature they had before.
    """

    kind: str = "nngp"
    activation: str = "relu"
    depth: int = 2
    weight_var: float = 2.0
    bias_var: float = 0.0
    activation_params: tuple = ()

    def __post_init__(self) -> None:
        _check_kind(self.kind)
        act = _check_hyperparameters(self.activation, self.depth, self.weight_var, self.bias_var,
                                     self.activation_params)
        if self.kind == "ntk":
            act.require_derivative()
        object.__setattr__(self, "_act", act)
        object.__setattr__(self, "activation", act.name)
        object.__setattr__(self, "activation_params", act.params)
        object.__setattr__(self, "depth", int(self.depth))
        object.__setattr__(self, "weight_var", float(self.weight_var))
        object.__setattr__(self, "bias_var", float(self.bias_var))

    @property
    def activation_object(self) -> Activation:
        """The resolved :class:`~wilsonian.kernels.activations.Activation`."""
        return self._act

    def _hyper(self) -> dict[str, Any]:
        return {"activation": self._act, "depth": self.depth,
                "weight_var": self.weight_var, "bias_var": self.bias_var}

    def matrix(self, X1: Any, X2: Any = None, *, tile: int | None = None,
               out: np.ndarray | None = None, progress: bool = False) -> np.ndarray:
        """The kernel matrix, shape (n1, n2); see :func:`nngp` / :func:`ntk`."""
        return _kernel_matrix(self.kind, X1, X2, tile=tile, out=out, progress=progress,
                              **self._hyper())

    def prepare(self, X1: Any, X2: Any = None) -> KernelTiles:
        """The kernel on these inputs, ready to be computed tile by tile (:class:`KernelTiles`):
        validation, scaled inputs and per-input vectors once, for many tiles."""
        return _prepare(self.kind, X1, X2, **self._hyper())

    def diagonal(self, X: Any) -> np.ndarray:
        """K(x_i, x_i), shape (n,); see :func:`kernel_diagonal`."""
        return kernel_diagonal(X, kind=self.kind, **self._hyper())

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict record of the spec (for results' provenance and cache keys)."""
        record = {"kind": self.kind, "activation": self.activation, "depth": self.depth,
                  "weight_var": self.weight_var, "bias_var": self.bias_var}
        if self.activation_params:
            record["activation_params"] = dict(self.activation_params)
        record.update(self._act.method_record())
        return record
