"""A kernel computed from the pool's inputs, tile by tile, never stored: :class:`TiledOperator`.

Each product V ↦ K V is one pass over K in row tiles whose entries are recomputed on the fly:
memory O(N·b) plus one tile. K is symmetric, so only the tiles on and right of the diagonal
are computed: a tile T = K[R, R'] (rows R = i0:i1, columns R' = i0:N) serves both
(KV)[R] += T V[R'] and (KV)[i1:] += T[:, i1−i0:]ᵀ V[R]; every entry is computed once per
pass. Diagonal blocks use the kernel's symmetric path (exact diagonal; it matters for the
ReLU NTK, see :mod:`wilsonian.kernels.fully_connected`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from wilsonian._validation import as_inputs, check_tile
from wilsonian.errors import WilsonianError
from wilsonian.operators.base import KernelOperator, tile_rows


def check_kernel(kernel: Any) -> Any:
    """A kernel object: ``matrix(X1, X2=None, out=...)``, ``diagonal(X)`` and ``as_dict()``."""
    if not all(callable(getattr(kernel, name, None)) for name in ("matrix", "diagonal", "as_dict")):
        raise WilsonianError(
            f"spec must be a wilsonian kernel (e.g. wilsonian.kernels.KernelSpec) with matrix(), diagonal() "
            f"and as_dict(), got {type(kernel).__name__}.")
    return kernel


def kernel_rows(X: np.ndarray, kernel: Any, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of K = kernel(X, X), shape (stop − start, N).

    The diagonal block comes from the symmetric kernel path (exact diagonal, exactly
    symmetric), the rest from the rectangular path. The Dask workers own whole row blocks.
    """
    n = X.shape[0]
    rows = np.empty((stop - start, n))
    if start > 0:
        kernel.matrix(X[start:stop], X[:start], out=rows[:, :start])
    kernel.matrix(X[start:stop], out=rows[:, start:stop])
    if stop < n:
        kernel.matrix(X[start:stop], X[stop:], out=rows[:, stop:])
    return rows


class TiledOperator(KernelOperator):
    """V ↦ K V for K = kernel(X, X), in row tiles recomputed on the fly (never N × N).

    Parameters
    ----------
    X : (N, d) array_like
        The pool inputs.
    kernel : KernelSpec (or any kernel object, see :mod:`wilsonian.kernels`)
    tile : int, optional
        Rows per tile of ``matmul`` (default: about 2²⁴ kernel entries, 128 MiB, per tile).

    Attributes
    ----------
    passes : int
        Number of products so far.
    kernel_seconds, product_seconds : float
        Wall time spent computing kernel tiles and multiplying them.
    """

    backend = "numpy"

    def __init__(self, X: Any, kernel: Any, *, tile: int | None = None):
        self.kernel = check_kernel(kernel)
        self.X = as_inputs(X, "X", min_rows=2)
        super().__init__(self.X.shape[0])
        tile = check_tile(tile)
        self.tile = tile_rows(self.n) if tile is None else min(self.n, tile)
        self._key: dict[str, Any] | None = None

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

    def matmul(self, V: np.ndarray) -> np.ndarray:
        V = self._check_block(V)
        X, kernel, n = self.X, self.kernel, self.n
        out = np.zeros((n, V.shape[1]))
        buffer = np.empty(min(self.tile, n) * n)
        for i0 in range(0, n, self.tile):
            i1 = min(i0 + self.tile, n)
            t0 = time.perf_counter()
            # One buffer: the square diagonal block then the rectangle to its right.
            diag = buffer[: (i1 - i0) ** 2].reshape(i1 - i0, i1 - i0)
            kernel.matrix(X[i0:i1], out=diag)
            t1 = time.perf_counter()
            out[i0:i1] += diag @ V[i0:i1]
            t2 = time.perf_counter()
            self.kernel_seconds += t1 - t0
            self.product_seconds += t2 - t1
            if i1 < n:
                rect = buffer[: (i1 - i0) * (n - i1)].reshape(i1 - i0, n - i1)
                kernel.matrix(X[i0:i1], X[i1:], out=rect)
                t3 = time.perf_counter()
                out[i0:i1] += rect @ V[i1:]
                out[i1:] += rect.T @ V[i0:i1]
                self.kernel_seconds += t3 - t2
                self.product_seconds += time.perf_counter() - t3
        self.passes += 1
        return out
