"""NNGP and NTK kernels of convolutional networks on images (THEORY.md §7).

Network and conventions
-----------------------
Images of H × W pixels and C channels, given as the rows of X (flattened, channels last
``(H, W, C)`` or first ``(C, H, W)``). ``depth`` = L convolutional layers, each followed by
the activation φ (any of :mod:`wilsonian.kernels.activations`), then a readout; in
neural-tangents terms (standard parameterization, stride 1, hidden widths → ∞)::

    [Conv(width, (f, f), padding, W_std=σ_w, b_std=σ_b) -> φ] × L -> readout -> Dense(W_std=σ_w, b_std=σ_b)

with readout ``Flatten()`` (``"flatten"``) or ``GlobalAvgPool()`` (``"gap"``). Filter window
Δ of f × f offsets; ``"same"`` zero-pads (⌊(f−1)/2⌋ before, the rest after) and keeps the
H × W grid, ``"valid"`` shrinks it by f − 1 per layer. For positions p, p' the covariance of
the pre-activations of conv layer l (counting from 0) is

    K⁰_{pp'}(x, x') = σ_w²/(C f²) Σ_{δ∈Δ} Σ_c x_{p+δ,c} x'_{p'+δ,c} + σ_b²
    Kˡ_{pp'}(x, x') = σ_w²/f² Σ_{δ∈Δ} E[φ(u)φ(v)]_{p+δ,p'+δ} + σ_b²

the expectation taken with the variances K^{l−1}_{p+δ,p+δ}(x, x), K^{l−1}_{p'+δ,p'+δ}(x', x')
and the covariance K^{l−1}_{p+δ,p'+δ}(x, x'); padded positions contribute 0. The readouts
act on the last conv layer (P positions):

    flatten:  K(x, x') = σ_w²/P  Σ_p E[φφ]_{pp} + σ_b²      (only p = p' is ever needed)
    gap:      K(x, x') = σ_w²/P² Σ_{p,p'} E[φφ]_{pp'} + σ_b²  (every p, p', at every layer)

The NTK (NTK parameterization, as for the fully connected kernels) adds, layer by layer,
Θˡ_{pp'} = Kˡ_{pp'} + σ_w²/f² Σ_δ (E[φ'φ'] Θˡ⁻¹)_{p+δ,p'+δ} (Θ⁰ = K⁰), and the readout
Θ = K + σ_w²/P Σ_p (E[φ'φ'] Θ)_{pp} (flatten) or σ_w²/P² Σ_{pp'} (gap).

How it is computed, and what it costs
-------------------------------------
Pairs of inputs are done in blocks; for each block the per-position covariances of all
pairs go through the layers at once: channel products, then per layer E[φφ] and E[φ'φ'] at
every position (pair) by the closed forms of :mod:`wilsonian.kernels._closed_forms` (or the
Hermite series, or quadrature), then the f × f stencil (separable compiled loops). The per-input variances
K_{pp}(x, x) are a recursion per image, computed once; the kernel diagonal comes from them
exactly. Blocks go to as many threads as BLAS would use (two on two cores). Memory: a few
arrays of ≈ 2¹⁶ entries per thread for flatten, of P² entries for GAP, whatever N.

Cost per pair, for L layers on P = H W positions: flatten ≈ L·P closed-form evaluations
(the stencil costs about as much again), GAP ≈ L·P², quadratic in positions. Measured on a
shared 2-core AMD EPYC (Zen 4) with benchmarks/bench_conv.py, ReLU, L = 2, 3×3 SAME:

- flatten on 28×28×1: 12 µs per pair for the NNGP, 17 µs for the NTK, so N = 3,000 images
  (4.5 M pairs) take about 1 minute;
- GAP: 0.04 ms per pair on 8×8 (all 1,797 digits in about a minute), 0.21 ms on 12×12,
  0.87 ms on 16×16, 1.9 ms on 20×20, 9–13 ms on 28×28 (N ≈ 300 in 10 minutes): beyond
  16×16 images GAP is practical for a few hundred images only. Its blocks reuse their work
  arrays (:class:`~wilsonian.kernels._tiles.Workspace`): allocated per pair they cost a third of the time in page faults.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numba
import numpy as np

from wilsonian._validation import as_inputs
from wilsonian._validation import check_tile
from wilsonian.errors import WilsonianError
from wilsonian.kernels import _closed_forms
from wilsonian.kernels._tiles import Workspace, blas_threads, check_out, run_tiles
from wilsonian.kernels.activations import Activation, resolve_activation

__all__ = ["PADDINGS", "READOUTS", "ConvKernel", "conv_nngp", "conv_ntk"]

PADDINGS = ("same", "valid")
READOUTS = ("flatten", "gap")
# Per-position entries (pairs × positions, or pairs × positions²) in one block of pairs.
_BLOCK_ENTRIES = 1 << 16


# --------------------------------------------------------------------- compiled parts


@numba.njit(cache=True, nogil=True)
def _channel_products(A, B, out):
    """out[a, b, p] = Σ_c A[a, p, c] B[b, p, c]."""
    m, P, C = A.shape
    n = B.shape[0]
    for a in range(m):
        for b in range(n):
            for p in range(P):
                acc = 0.0
                for c in range(C):
                    acc += A[a, p, c] * B[b, p, c]
                out[a, b, p] = acc


@numba.njit(cache=True, nogil=True)
def _stencil(E, f, pad, out):
    """out[t, h, w] = Σ_{0≤dh,dw<f} E[t, h+dh−pad, w+dw−pad], 0 outside (separable).

    Offsets are the outer loops and the valid ranges are computed once, so the innermost
    loops run over contiguous rows without branches (they vectorize).
    """
    T, H, W = E.shape
    Ho, Wo = out.shape[1], out.shape[2]
    tmp = np.empty((Ho, W))
    for t in range(T):
        tmp[:, :] = 0.0
        for h in range(Ho):
            for dh in range(f):
                hh = h + dh - pad
                if 0 <= hh < H:
                    for w in range(W):
                        tmp[h, w] += E[t, hh, w]
        out[t, :, :] = 0.0
        for dw in range(f):
            lo, hi = max(0, pad - dw), min(Wo, W + pad - dw)
            for h in range(Ho):
                for w in range(lo, hi):
                    out[t, h, w] += tmp[h, w + dw - pad]


@numba.njit(cache=True, nogil=True)
def _stencil_pairs(E, f, pad, out):
    """out[t, h, w, h', w'] = Σ_{dh,dw} E[t, h+dh−pad, w+dw−pad, h'+dh−pad, w'+dw−pad].

    The window moves p and p' together (the same filter offset δ on both inputs); loops
    ordered as in :func:`_stencil`.
    """
    T, H, W = E.shape[0], E.shape[1], E.shape[2]
    Ho, Wo = out.shape[1], out.shape[2]
    tmp = np.empty((Ho, W, Ho, W))
    for t in range(T):
        tmp[...] = 0.0
        for dh in range(f):
            for h in range(Ho):
                a = h + dh - pad
                if not 0 <= a < H:
                    continue
                for h2 in range(Ho):
                    b = h2 + dh - pad
                    if not 0 <= b < H:
                        continue
                    for w in range(W):
                        for w2 in range(W):
                            tmp[h, w, h2, w2] += E[t, a, w, b, w2]
        out[t] = 0.0
        for dw in range(f):
            lo, hi = max(0, pad - dw), min(Wo, W + pad - dw)
            for h in range(Ho):
                for w in range(lo, hi):
                    for h2 in range(Ho):
                        for w2 in range(lo, hi):
                            out[t, h, w, h2, w2] += tmp[h, w + dw - pad, h2, w2 + dw - pad]


# ----------------------------------------------------------------------- validation


def _check_image_shape(image_shape: Any) -> tuple[int, int, int]:
    if image_shape is None:
        raise WilsonianError(
            "convolutional kernels need the image shape (H, W, C) of the flattened rows; pass "
            "image_shape=(28, 28, 1) or take it from the pool (pool.image_shape). A pool that is "
            "not made of images (e.g. the gaussian dataset) cannot use a convolutional kernel.")
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else None
    if shape is not None and len(shape) == 2:
        shape = shape + (1,)
    if (shape is None or len(shape) != 3
            or not all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in shape)):
        raise WilsonianError(f"image_shape must be (H, W) or (H, W, C) of positive integers, got {image_shape!r}.")
    return tuple(int(s) for s in shape)


def _check_real(name: str, value: Any, strict: bool) -> float:
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (value <= 0 if strict else value < 0):
        raise WilsonianError(f"{name} must be a finite number {'> 0' if strict else '>= 0'}, got {value!r}.")
    return float(value)


# -------------------------------------------------------------------------- the kernel


@dataclass(frozen=True)
class ConvKernel:
    """The NNGP or NTK of a convolutional network (module docstring) as a kernel object.

    Parameters
    ----------
    image_shape : (H, W) or (H, W, C)
        Shape of one image; rows of X hold H·W·C values.
    kind : {"nngp", "ntk"}
    activation : str or Activation
        Any activation of :mod:`wilsonian.kernels.activations` (with ``activation_params``).
    depth : int, >= 1
        Number L of convolutional layers (each followed by φ).
    filter_size : int, >= 1
        f: square f × f filters, at most min(H, W).
    padding : {"same", "valid"}
    readout : {"flatten", "gap"}
    weight_var, bias_var : float
        σ_w² > 0 and σ_b² ≥ 0 of every layer, readout included.
    activation_params : mapping or tuple of pairs, optional
    channels_first : bool
        Rows are flattened (C, H, W) (CIFAR-10's layout) instead of (H, W, C).

    Notes
    -----
    ``matrix(X1, X2=None, out=None, tile=None, progress=False)``, ``diagonal(X)`` and
    ``as_dict()`` make it a kernel for every operator of :mod:`wilsonian.operators`.
    """

    image_shape: tuple = None
    kind: str = "nngp"
    activation: str = "relu"
    depth: int = 2
    filter_size: int = 3
    padding: str = "same"
    readout: str = "flatten"
    weight_var: float = 2.0
    bias_var: float = 0.0
    activation_params: tuple = ()
    channels_first: bool = False

    def __post_init__(self) -> None:
        shape = _check_image_shape(self.image_shape)
        if self.kind not in ("nngp", "ntk"):
            raise WilsonianError(f"kind must be 'nngp' or 'ntk', got {self.kind!r}; pick one of those.")
        act = resolve_activation(self.activation, self.activation_params)
        if self.kind == "ntk":
            act.require_derivative()
        for name, value in (("depth", self.depth), ("filter_size", self.filter_size)):
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
                raise WilsonianError(f"{name} must be a positive integer, got {value!r}.")
        if self.padding not in PADDINGS:
            raise WilsonianError(f"padding must be one of {', '.join(PADDINGS)}, got {self.padding!r}.")
        if self.readout not in READOUTS:
            raise WilsonianError(f"readout must be one of {', '.join(READOUTS)}, got {self.readout!r}.")
        H, W, _ = shape
        f, L = int(self.filter_size), int(self.depth)
        if f > min(H, W):
            raise WilsonianError(f"the filter size {f} (--filter, filter_size) is larger than the {H}×{W} "
                                  f"images; use at most {min(H, W)}.")
        if self.padding == "valid" and min(H, W) - L * (f - 1) < 1:
            raise WilsonianError(
                f"{L} 'valid' layers of {f}×{f} filters shrink {H}×{W} images to nothing; use "
                f"padding='same', fewer layers or a smaller filter.")
        if not isinstance(self.channels_first, bool):
            raise WilsonianError(f"channels_first must be True or False, got {self.channels_first!r}.")
        set_ = object.__setattr__
        set_(self, "image_shape", shape)
        set_(self, "_act", act)
        set_(self, "activation", act.name)
        set_(self, "activation_params", act.params)
        set_(self, "depth", L)
        set_(self, "filter_size", f)
        set_(self, "weight_var", _check_real("weight_var", self.weight_var, True))
        set_(self, "bias_var", _check_real("bias_var", self.bias_var, False))

    @property
    def activation_object(self) -> Activation:
        """The resolved :class:`~wilsonian.kernels.activations.Activation`."""
        return self._act

    # ------------------------------------------------------------------ the protocol
    def as_dict(self) -> dict[str, Any]:
        """Plain-dict record (provenance and cache key); ``"family": "conv"``."""
        record = {"family": "conv", "kind": self.kind, "activation": self.activation}
        if self.activation_params:
            record["activation_params"] = dict(self.activation_params)
        record.update(self._act.method_record())
        record.update(depth=self.depth, filter_size=self.filter_size, padding=self.padding,
                      readout=self.readout, weight_var=self.weight_var, bias_var=self.bias_var,
                      image_shape=list(self.image_shape), channels_first=self.channels_first)
        return record

    def diagonal(self, X: Any) -> np.ndarray:
        """K(x_i, x_i), shape (n,), from the per-image variance recursion (exact, O(n L P f²))."""
        images = self._images(X, "X")
        var, theta = self._variances(images)
        if self.readout == "flatten":
            return self._flatten_diagonal(var, theta)
        return self._gap_diagonal(images, var)

    def matrix(self, X1: Any, X2: Any = None, *, out: np.ndarray | None = None, tile: int | None = None,
               progress: bool = False) -> np.ndarray:
        """The kernel matrix, shape (n1, n2); ``X2=None`` computes the upper triangle and
        mirrors it (exactly symmetric, exact diagonal). ``tile``: rows per task."""
        check_tile(tile)
        A = self._images(X1, "X1")
        symmetric = X2 is None
        B = A if symmetric else self._images(X2, "X2")
        n1, n2 = len(A), len(B)
        if out is None:
            out = np.empty((n1, n2))
        else:
            check_out(out, (n1, n2), (np.asarray(X1),) if symmetric else (np.asarray(X1), np.asarray(X2)))
        var_a, th_a = self._variances(A)
        var_b = var_a if symmetric else self._variances(B)[0]
        diag = None
        if symmetric:
            diag = self._flatten_diagonal(var_a, th_a) if self.readout == "flatten" else self._gap_diagonal(A, var_a)
        P = self.image_shape[0] * self.image_shape[1]
        per_pair = P * P if self.readout == "gap" else P
        rows = tile or max(1, min(16, _BLOCK_ENTRIES // (per_pair * 8)))
        cols = max(1, _BLOCK_ENTRIES // (per_pair * rows))
        tasks = [(i0, min(i0 + rows, n1)) for i0 in range(0, n1, rows)]
        spaces = threading.local()   # one workspace per worker thread, freed with this call

        def compute(task: tuple[int, int]) -> None:
            # Rows i0:i1, columns from i0 (symmetric) or 0, in blocks of ``cols`` columns.
            i0, i1 = task
            if not hasattr(spaces, "ws"):
                spaces.ws = Workspace()
            for j0 in range(i0 if symmetric else 0, n2, cols):
                j1 = min(j0 + cols, n2)
                out[i0:i1, j0:j1] = self._pairs(A[i0:i1], B[j0:j1], var_a, var_b, (i0, i1), (j0, j1),
                                                ws=spaces.ws)
            if symmetric:
                # The square i0:i1 was computed whole: make it exactly symmetric with the
                # exact diagonal, then mirror the rest. Tasks write disjoint parts of out.
                square = out[i0:i1, i0:i1]
                np.copyto(square, square.T.copy(), where=np.tri(i1 - i0, k=-1, dtype=bool))
                square[np.diag_indices(i1 - i0)] = diag[i0:i1]
                out[i1:, i0:i1] = out[i0:i1, i1:].T

        workers = 1 if len(tasks) == 1 else min(blas_threads(), len(tasks))
        run_tiles(tasks, compute, workers, progress=progress, desc=f"conv {self.kind} tiles")
        return out

    # ---------------------------------------------------------------------- internals
    def _images(self, X: Any, name: str) -> np.ndarray:
        """Rows of X as C-contiguous (n, H, W, C) float64 images."""
        X = as_inputs(X, name)
        H, W, C = self.image_shape
        if X.shape[1] != H * W * C:
            raise WilsonianError(
                f"{name} has {X.shape[1]} features per row but image_shape {self.image_shape} needs "
                f"{H * W * C}; pass the image shape of these inputs.")
        if self.channels_first:
            return np.ascontiguousarray(X.reshape(len(X), C, H, W).transpose(0, 2, 3, 1))
        return X.reshape(len(X), H, W, C)

    def _grid(self, H: int, W: int) -> tuple[int, int, int]:
        """(pad, H_out, W_out) of one conv layer."""
        f = self.filter_size
        if self.padding == "same":
            return (f - 1) // 2, H, W
        return 0, H - f + 1, W - f + 1

    def _variances(self, images: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """Per-image K^l_{pp}(x, x) (and Θ^l_{pp}(x, x) for the NTK), l = 0..L−1, each (n, H_l, W_l)."""
        act, wv, bv, f = self._act, self.weight_var, self.bias_var, self.filter_size
        n, H, W, C = images.shape
        sq = np.ascontiguousarray(np.einsum("nhwc,nhwc->nhw", images, images))
        pad, Ho, Wo = self._grid(H, W)
        var = [np.empty((n, Ho, Wo))]
        _stencil(sq, f, pad, var[0])
        var[0] *= wv / (C * f * f)
        var[0] += bv
        theta = [var[0]] if self.kind == "ntk" else None
        for _ in range(1, self.depth):
            e, de = act.variance(var[-1])
            pad, Ho, Wo = self._grid(*var[-1].shape[1:])
            k = np.empty((n, Ho, Wo))
            _stencil(np.ascontiguousarray(e), f, pad, k)
            var.append(wv / (f * f) * k + bv)
            if theta is not None:
                t = np.empty((n, Ho, Wo))
                _stencil(np.ascontiguousarray(de * theta[-1]), f, pad, t)
                theta.append(var[-1] + wv / (f * f) * t)
        return var, theta

    def _flatten_diagonal(self, var: list[np.ndarray], theta: list[np.ndarray] | None) -> np.ndarray:
        e, de = self._act.variance(var[-1])
        P = var[-1].shape[1] * var[-1].shape[2]
        k = self.weight_var / P * e.reshape(len(e), -1).sum(axis=1) + self.bias_var
        if theta is None:
            return k
        return k + self.weight_var / P * (de * theta[-1]).reshape(len(e), -1).sum(axis=1)

    def _gap_diagonal(self, images: np.ndarray, var: list[np.ndarray]) -> np.ndarray:
        """GAP K(x, x): each image with itself, its p = p' positions from its own variances."""
        ws = Workspace()
        return np.array([self._pairs(images[i:i + 1], images[i:i + 1], var, var, (i, i + 1), (i, i + 1),
                                     same=True, ws=ws)[0, 0] for i in range(len(images))])

    def _expect(self, sa: np.ndarray, sb: np.ndarray, cov: np.ndarray, full: bool, need_de: bool,
                ws: Workspace):
        """E[φφ], E[φ'φ'] on a block: cov (m, n, P) or (m, n, P, P); sa, sb (m, P), (n, P)
        per-image standard deviations √K_{pp}(x, x) of the rows' and the columns' images.
        The closed forms' results are arrays of ``ws``, valid until its next block."""
        if full:
            s1, s2 = sa[:, None, :, None], sb[None, :, None, :]
        else:
            s1, s2 = sa[:, None, :], sb[None, :, :]
        act = self._act
        if not act.closed_form:
            return act.expect_cov(s1, s2, cov, need_de=need_de)
        flat = []
        for name, s in (("s1", s1), ("s2", s2)):
            spread = ws.array(name, cov.shape)
            np.copyto(spread, np.broadcast_to(s, cov.shape))
            flat.append(spread.reshape(-1))
        c = cov.reshape(-1)
        rho, e, de, w1, w2 = (ws.array(name, (c.size,)) for name in ("rho", "e", "de", "w1", "w2"))
        _closed_forms.correlations(c, flat[0], flat[1], rho)
        _closed_forms.expect(act.code, act.prm, act.poly, flat[0], flat[1], rho, e, de, w1, w2, need_de)
        return e.reshape(cov.shape), de.reshape(cov.shape)

    def _pairs(self, A: np.ndarray, B: np.ndarray, var_a: list[np.ndarray], var_b: list[np.ndarray],
               rows: tuple[int, int], cols: tuple[int, int], same: bool = False,
               ws: Workspace | None = None) -> np.ndarray:
        """K (or Θ) for all pairs of images A (m, H, W, C) × B (n, H, W, C), shape (m, n).

        ``var_a``, ``var_b``: per-image variance recursions of the inputs that A and B are
        rows ``rows`` and ``cols`` of. ``same`` (A is B, one image): its positions p = p'
        get E[φ(u)²], E[φ'(u)²] of its own variances exactly (the exact GAP diagonal).
        ``ws``: the work arrays to use (the caller's thread's; a fresh set when None).
        """
        ws = Workspace() if ws is None else ws
        ra, rb = slice(*rows), slice(*cols)
        wv, bv, f = self.weight_var, self.bias_var, self.filter_size
        ntk, full = self.kind == "ntk", self.readout == "gap"
        m, n = len(A), len(B)
        H, W, C = A.shape[1:]
        pad, Ho, Wo = self._grid(H, W)
        if full:   # G[a, b, p, p'] = Σ_c x_{pc} x'_{p'c}, stencil moving p and p' together
            G = np.matmul(A.reshape(m, 1, H * W, C), B.reshape(1, n, H * W, C).transpose(0, 1, 3, 2),
                          out=ws.array("G", (m, n, H * W, H * W)))
            cov = ws.array("cov0", (m * n, Ho, Wo, Ho, Wo))
            _stencil_pairs(G.reshape(m * n, H, W, H, W), f, pad, cov)
        else:
            G = ws.array("G", (m, n, H * W))
            _channel_products(A.reshape(m, H * W, C), B.reshape(n, H * W, C), G)
            cov = ws.array("cov0", (m * n, Ho, Wo))
            _stencil(G.reshape(m * n, H, W), f, pad, cov)
        cov *= wv / (C * f * f)
        cov += bv
        th = None
        if ntk:
            th = ws.array("th", cov.shape)
            np.copyto(th, cov)
        for layer in range(self.depth):
            last = layer == self.depth - 1
            va, vb = var_a[layer][ra], var_b[layer][rb]
            P = va.shape[1] * va.shape[2]
            shape = (m, n, P, P) if full else (m, n, P)
            e, de = self._expect(np.sqrt(va.reshape(m, P)), np.sqrt(vb.reshape(n, P)),
                                 np.ascontiguousarray(cov).reshape(shape), full, ntk, ws)
            if same and full:   # the p = p' entries of one image with itself: its own variances
                ev, dev = self._act.variance(va.reshape(P))
                idx = np.arange(P)
                e[0, 0, idx, idx] = ev
                if de is not None:
                    de[0, 0, idx, idx] = dev
            if last:
                k = wv / P**(2 if full else 1) * e.reshape(m, n, -1).sum(axis=2) + bv
                if not ntk:
                    return k
                product = np.multiply(de, th.reshape(shape), out=ws.array("product", shape))
                return k + wv / P**(2 if full else 1) * product.reshape(m, n, -1).sum(axis=2)
            hl, wl = va.shape[1], va.shape[2]
            pad, Ho, Wo = self._grid(hl, wl)
            grid = (m * n, hl, wl, hl, wl) if full else (m * n, hl, wl)
            new_shape = (m * n, Ho, Wo, Ho, Wo) if full else (m * n, Ho, Wo)
            stencil = _stencil_pairs if full else _stencil
            new_cov = ws.array(f"cov{(layer + 1) % 2}", new_shape)   # not the buffer cov is in
            stencil(np.ascontiguousarray(e).reshape(grid), f, pad, new_cov)
            new_cov *= wv / (f * f)
            new_cov += bv
            if ntk:
                product = np.multiply(de, th.reshape(shape), out=ws.array("product", shape))
                t = ws.array("t", new_shape)
                stencil(product.reshape(grid), f, pad, t)
                t *= wv / (f * f)
                th = np.add(new_cov, t, out=ws.array("th", new_shape))
            cov = new_cov
        raise AssertionError("unreachable")


def conv_nngp(X1: Any, X2: Any = None, *, image_shape: Any, **kw: Any) -> np.ndarray:
    """NNGP of a convolutional network: ``ConvKernel(image_shape, "nngp", **kw).matrix(X1, X2)``.

    ``kw``: activation, depth, filter_size, padding, readout, weight_var, bias_var,
    activation_params, channels_first (see :class:`ConvKernel`), plus out, tile, progress.
    """
    call = {k: kw.pop(k) for k in ("out", "tile", "progress") if k in kw}
    return ConvKernel(image_shape, "nngp", **kw).matrix(X1, X2, **call)


def conv_ntk(X1: Any, X2: Any = None, *, image_shape: Any, **kw: Any) -> np.ndarray:
    """NTK of a convolutional network; arguments as :func:`conv_nngp`."""
    call = {k: kw.pop(k) for k in ("out", "tile", "progress") if k in kw}
    return ConvKernel(image_shape, "ntk", **kw).matrix(X1, X2, **call)
