"""The one protocol for "a kernel on a pool": :class:`KernelOperator`.

Everything downstream of the kernel asks an operator for three things only:

- ``block(rows, cols=None)``: kernel entries between pool points (index arrays or slices;
  ``cols=None`` means the symmetric block among ``rows``, with its exact diagonal);
- ``matmul(V)`` (also ``operator(V)``): K V for a block of vectors, one *pass* over K;
- ``diagonal()``: K(x_i, x_i).

plus ``matrix()`` (the whole N × N matrix, for the dense eigensolver) and, optionally,
``eigensystem`` (a device backend's own dense eigendecomposition). The dense and
block-Krylov eigensolvers (:mod:`wilsonian.spectrum.solvers`) and the learning curves
(:mod:`wilsonian.gp`) work with any operator. A backend implements only what is specific
to it; the defaults here build ``matmul`` and ``matrix`` from ``block``.
"""

from __future__ import annotations

import abc
import time
from typing import Any

import numpy as np

from wilsonian.errors import WilsonianError

# Kernel entries per row tile of the default matmul: 2²⁴ float64 = 128 MiB.
TILE_ENTRIES = 1 << 24
MIN_TILE_ROWS = 64


def tile_rows(n: int, entries: int = TILE_ENTRIES, minimum: int = MIN_TILE_ROWS) -> int:
    """Rows per tile so that a tile of ``n`` columns holds about ``entries`` kernel entries."""
    return max(1, min(n, max(minimum, entries // max(n, 1))))


class KernelOperator(abc.ABC):
    """A symmetric PSD kernel on a pool of N points (see the module docstring).

    Attributes
    ----------
    n : int
        The pool size N.
    passes : int
        Products ``matmul(V)`` so far.
    """

    n: int
    backend = "abstract"
    #: "matrix-free" (entries computed on demand) or "in memory".
    storage = "matrix-free"

    def __init__(self, n: int):
        self.n = int(n)
        self.passes = 0
        self.kernel_seconds = 0.0
        self.product_seconds = 0.0

    # ------------------------------------------------------------------ what a backend gives
    @abc.abstractmethod
    def block(self, rows: Any, cols: Any = None) -> np.ndarray:
        """K[rows, cols] as a float64 array (``cols=None``: the symmetric block K[rows, rows])."""

    @abc.abstractmethod
    def diagonal(self) -> np.ndarray:
        """K(x_i, x_i), shape (N,)."""

    @abc.abstractmethod
    def cache_key(self) -> dict[str, Any]:
        """What determines every entry (pool digest, kernel, backend): a JSON-ready dict."""

    # ------------------------------------------------------------------ built from them
    def matmul(self, V: np.ndarray) -> np.ndarray:
        """K V for V of shape (N, b): one pass over K, in row tiles."""
        V = self._check_block(V)
        out = np.empty((self.n, V.shape[1]))
        step = tile_rows(self.n)
        for i0 in range(0, self.n, step):
            i1 = min(i0 + step, self.n)
            t0 = time.perf_counter()
            rows = self.block(slice(i0, i1), slice(None))
            t1 = time.perf_counter()
            out[i0:i1] = rows @ V
            self.kernel_seconds += t1 - t0
            self.product_seconds += time.perf_counter() - t1
        self.passes += 1
        return out

    def __call__(self, V: np.ndarray) -> np.ndarray:
        return self.matmul(V)

    def matrix(self, *, progress: bool = False) -> np.ndarray:
        """The whole N × N matrix (exactly symmetric)."""
        return self.block(slice(None))

    #: A backend's own dense eigendecomposition ``eigensystem(K, y, n_vectors=, method=)``
    #: returning (eigenvalues of K descending, projections v_kᵀy, top eigenvectors), e.g.
    #: on a GPU; None means LAPACK (:func:`wilsonian.spectrum.symmetric_eigensystem`).
    eigensystem = None

    def stats(self) -> dict[str, Any]:
        """Passes and time spent, for ``run_info.json`` (never part of the results)."""
        return {"backend": self.backend, "passes": self.passes, "kernel_seconds": self.kernel_seconds,
                "product_seconds": self.product_seconds}

    def describe(self) -> dict[str, Any]:
        """A short JSON-ready description for the spectrum's provenance."""
        return {"backend": self.backend, "n": self.n}

    def _check_block(self, V: Any) -> np.ndarray:
        V = np.asarray(V, dtype=np.float64)
        if V.ndim != 2 or V.shape[0] != self.n:
            raise WilsonianError(f"the block must have shape ({self.n}, b), got {V.shape}.")
        return V

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, backend={self.backend!r})"
