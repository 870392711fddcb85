"""A kernel computed from the pool's inputs, tile by tile, never stored: :class:`TiledOperator`.

Each product V ↦ K V is one pass over K in row tiles whose entries are recomputed on the fly:
memory O(N·b) plus one tile. K is symmetric, so only the tiles on and right
of the diagonal are computed: a tile T = K[R, i0:N] (rows R = i0:i1) serves both
(KV)[R] += T V[i0:] and (KV)[i1:] += T[:, i1−i0:]ᵀ V[R]; every entry is computed once per
pass. A tile's leading square is its diagonal block, exactly symmetric with the exact
diagonal (it matters for the ReLU NTK, see :mod:`wilsonian.kernels.fully_connected`).

The kernel's tiles are prepared once per operator (:meth:`KernelSpec.prepare
<wilsonian.kernels.KernelSpec.prepare>`: inputs validated and scaled, per-input vectors),
and a tile's square and its rectangle are filled with the same matrix products, in the same
blocks of 256 rows, as ``kernel.matrix(X[R])`` and ``kernel.matrix(X[R], X[i1:])`` would
compute them: BLAS's round-off depends on a product's shape, so the entries, and K V, are
those of the former code bit for bit.

Each tile is computed by as many worker threads as BLAS would use (blocks of rows, each
one matrix product with single-threaded BLAS and the fused elementwise layers), then
multiplied by BLAS on its own threads, as before.
"""

from __future__ import annotations

import numbers
import time
from typing import Any

import numpy as np

from wilsonian._validation import as_inputs, check_tile
from wilsonian.errors import WilsonianError
from wilsonian.kernels._tiles import blas_threads, fill_parallel
from wilsonian.operators.base import KernelOperator, tile_rows


# Rows per block of a tile, as in the kernels' own dense path (fully_connected._TILE_ROWS)
# and in kernel.matrix(X[R]) of the former code.
_BLOCK_ROWS = 256


def check_kernel(kernel: Any) -> Any:
    """A kernel object: ``matrix(X1, X2=None, out=...)``, ``diagonal(X)`` and ``as_dict()``."""
    if not all(callable(getattr(kernel, name, None)) for name in ("matrix", "diagonal", "as_dict")):
        raise WilsonianError(
            f"spec must be a wilsonian kernel (e.g. wilsonian.kernels.KernelSpec) with matrix(), diagonal() "
            f"and as_dict(), got {type(kernel).__name__}.")
    return kernel


class _MatrixTiles:
    """Tiles of a kernel object through its ``matrix()`` (kernels without ``prepare``, and
    quadrature activations, whose entries depend on the tile's width at round-off): one
    call per span, as the operators always made them."""

    def __init__(self, kernel: Any, X: np.ndarray):
        self.kernel, self.X = kernel, X
        self.shape = (X.shape[0], X.shape[0])
        self.symmetric = True

    def fill(self, i0: int, i1: int, j0: int, j1: int, T: np.ndarray, c0: int = 0) -> None:
        if i1 <= i0 or j1 <= j0:
            return
        X = self.X
        if j0 == i0:   # the symmetric path: the square i0:i1 (j1 == i1 here)
            self.kernel.matrix(X[i0:i1], out=T[:, c0:c0 + j1 - j0])
        else:
            self.kernel.matrix(X[i0:i1], X[j0:j1], out=T[:, c0:c0 + j1 - j0])


def kernel_tiles(kernel: Any, X: np.ndarray) -> Any:
    """The tiles of K = kernel(X, X): ``kernel.prepare(X)`` where the kernel has it
    (:class:`~wilsonian.kernels.KernelSpec`: inputs validated and scaled once) and its
    entries do not depend on a tile's width, else through ``kernel.matrix``.
    ``fill(i0, i1, j0, j1, T, c0)`` writes K[i0:i1, j0:j1] into T[:, c0:]."""
    prepare = getattr(kernel, "prepare", None)
    if callable(prepare):
        tiles = prepare(X)
        if getattr(tiles, "exact_in_tiles", False):
            return tiles
    return _MatrixTiles(kernel, X)


def _fill_spans(tiles: Any, i0: int, i1: int, spans: list, T: np.ndarray, threads: int) -> None:
    """Rows i0:i1 of K into T, span by span (j0, j1, c0): K[i0:i1, j0:j1] into T[:, c0:].
    Prepared tiles: blocks of ``_BLOCK_ROWS`` rows on ``threads`` workers, one matrix
    product per block and span; a kernel's own ``matrix()`` has its own workers."""
    if isinstance(tiles, _MatrixTiles):
        for j0, j1, c0 in spans:
            tiles.fill(i0, i1, j0, j1, T, c0)
    else:
        fill_parallel(tiles, i0, i1, spans, T, rows=_BLOCK_ROWS, workers=threads)


def kernel_rows(X: np.ndarray, kernel: Any, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of K = kernel(X, X), shape (stop − start, N).

    The diagonal block is exactly symmetric with the exact diagonal, as in the symmetric
    kernel path; left and right of it, the rectangular path. The Dask workers own whole row
    blocks.
    """
    return _rows_of(kernel_tiles(kernel, X), start, stop)


def _rows_of(tiles: Any, start: int, stop: int, threads: int | None = None) -> np.ndarray:
    """:func:`kernel_rows` from the kernel's tiles (:func:`kernel_tiles`), on ``threads``
    workers (default: as many as BLAS would use)."""
    n = tiles.shape[1]
    threads = blas_threads() if threads is None else threads
    rows = np.empty((stop - start, n))
    # left of the diagonal block, the block, right of it (the matrix products kernel.matrix made)
    _fill_spans(tiles, start, stop, [(0, start, 0), (start, stop, start), (stop, n, stop)], rows, threads)
    return rows


def _tile_spans(i0: int, i1: int, n: int) -> list:
    """T = K[i0:i1, i0:N] as its square and the rectangle right of it."""
    return [(i0, i1, 0), (i1, n, i1 - i0)]


def check_keep_bytes(value: Any) -> float:
    """A memory budget for kept tiles: a finite real number of bytes ≥ 0 (not a string)."""
    number = float(value) if isinstance(value, numbers.Real) else float("nan")
    if isinstance(value, bool) or not np.isfinite(number) or number < 0:
        raise WilsonianError(f"keep_bytes must be a finite number of bytes ≥ 0, got {value!r}.")
    return number


def _kept_tiles(n: int, keep_bytes: float, tile: int) -> dict[int, int]:
    """First row → bytes of each tile K[i0:i1, i0:N] a :class:`TiledOperator` keeps for
    ``keep_bytes``: every whole tile that still fits, in the order of a pass."""
    kept: dict[int, int] = {}
    total = 0
    for i0 in range(0, n, tile):
        size = 8 * (min(i0 + tile, n) - i0) * (n - i0)
        if total + size <= keep_bytes:
            kept[i0] = size
            total += size
    return kept


def kept_tiles_bytes(n: int, keep_bytes: float, tile: int | None = None) -> int:
    """The bytes a :class:`TiledOperator` on N = ``n`` inputs keeps for ``keep_bytes`` (all of
    its tiles: about 4·N² bytes for large N, K's upper triangle in whole row tiles)."""
    return sum(_kept_tiles(n, keep_bytes, tile_rows(n) if tile is None else min(n, tile)).values())


class TiledOperator(KernelOperator):
    """V ↦ K V for K = kernel(X, X), in row tiles recomputed on the fly (never N × N).

    Parameters
    ----------
    X : (N, d) array_like
        The pool inputs. At the first product the kernel's tiles are prepared from them
        (for a :class:`~wilsonian.kernels.KernelSpec`: a scaled O(N d) copy, kept).
    kernel : KernelSpec (or any kernel object, see :mod:`wilsonian.kernels`)
    tile : int, optional
        Rows per tile of ``matmul`` (default: about 2²⁴ kernel entries, 128 MiB, per tile).
    keep_bytes : float, optional
        Memory for kernel tiles kept between passes (default 0: every pass recomputes every
        tile, memory O(N·b) plus one tile). The first pass keeps every tile that still fits
        (:func:`kept_tiles_bytes`); later passes reuse them and compute only the rest. Kept
        tiles are the same numbers, so the products do not change; with all of them (about
        4·N² bytes for large N, K's upper triangle, half the dense path's K; 8·N² when K is one
        tile) a pass costs only its products.

    Attributes
    ----------
    passes : int
        Number of products so far.
    kernel_seconds, product_seconds : float
        Wall time spent computing kernel tiles and multiplying them.
    kept_bytes : int
        Bytes of tiles kept so far.
    """

    backend = "numpy"

    def __init__(self, X: Any, kernel: Any, *, tile: int | None = None, keep_bytes: float = 0):
        self.kernel = check_kernel(kernel)
        self.X = as_inputs(X, "X", min_rows=2)
        super().__init__(self.X.shape[0])
        tile = check_tile(tile)
        self.tile = tile_rows(self.n) if tile is None else min(self.n, tile)
        self.keep_bytes = check_keep_bytes(keep_bytes)
        self._key: dict[str, Any] | None = None
        self._tiles: Any = None
        self._to_keep = _kept_tiles(self.n, self.keep_bytes, self.tile)   # first rows of the tiles to keep
        self._kept: dict[int, np.ndarray] = {}   # first row of a tile → the tile, once filled

    # aliases kept for the users of the former wilsonian.topk.KernelOperator
    @property
    def spec(self) -> Any:
        return self.kernel

    @property
    def tile_bytes(self) -> int:
        """Size of the largest kernel tile held at once."""
        return 8 * self.tile * self.n

    def block(self, rows: Any, cols: Any = None) -> np.ndarray:
        if cols is None:
            return self.kernel.matrix(self.X[rows])
        return self.kernel.matrix(self.X[rows], self.X[cols])

    def diagonal(self) -> np.ndarray:
        return self.kernel.diagonal(self.X)

    def matrix(self, *, progress: bool = False) -> np.ndarray:
        return self.kernel.matrix(self.X, progress=progress)

    def cache_key(self) -> dict[str, Any]:
        if self._key is None:
            from wilsonian.store import array_digest

            self._key = {"pool": array_digest(self.X), "kernel": self.kernel.as_dict()}
        return self._key

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "kernel": self.kernel.as_dict()}

    @property
    def kept_bytes(self) -> int:
        """Bytes of kernel tiles kept so far (at most ``keep_bytes``)."""
        return sum(T.nbytes for T in self._kept.values())

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "kept_tile_bytes": self.kept_bytes}

    def matmul(self, V: np.ndarray) -> np.ndarray:
        V = self._check_block(V)
        n = self.n
        if self._tiles is None:
            self._tiles = kernel_tiles(self.kernel, self.X)
        threads = blas_threads()
        out = np.zeros((n, V.shape[1]))
        buffer = None
        for i0 in range(0, n, self.tile):
            i1 = min(i0 + self.tile, n)
            m = i1 - i0
            t0 = time.perf_counter()
            T = self._kept.get(i0)        # K[i0:i1, i0:N]: square, then rectangle
            if T is None:
                keep = i0 in self._to_keep
                if keep:
                    T = np.empty((m, n - i0))
                else:
                    if buffer is None:
                        buffer = np.empty(min(self.tile, n) * n)
                    T = buffer[: m * (n - i0)].reshape(m, n - i0)
                _fill_spans(self._tiles, i0, i1, _tile_spans(i0, i1, n), T, threads)
                if keep:   # only once filled: an interrupted pass leaves no half-made tile
                    self._kept[i0] = T
            t1 = time.perf_counter()
            # BLAS's own threads for the products: their round-off depends on the thread count.
            out[i0:i1] += T[:, :m] @ V[i0:i1]
            if i1 < n:
                rect = T[:, m:]
                out[i0:i1] += rect @ V[i1:]
                out[i1:] += rect.T @ V[i0:i1]
            self.kernel_seconds += t1 - t0
            self.product_seconds += time.perf_counter() - t1
        self.passes += 1
        return out
