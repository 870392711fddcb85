"""A kernel matrix held in memory: :class:`DenseOperator`."""

from __future__ import annotations

from typing import Any

import numpy as np

from wilsonian.errors import WilsonianError
from wilsonian.operators.base import KernelOperator


class DenseOperator(KernelOperator):
    """The operator of an N × N kernel matrix in memory (or memory-mapped).

    Parameters
    ----------
    K : (N, N) float64 array
        Symmetric positive semi-definite. It is used as it is, not copied; do not change it
        while the operator is in use.
    key : dict, optional
        What produced K (for the cache and the provenance); by default a digest of K.
    """

    backend = "numpy"
    storage = "in memory"

    def __init__(self, K: Any, *, key: dict[str, Any] | None = None):
        K = np.asarray(K)
        if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] < 1:
            raise WilsonianError(f"the kernel matrix must be square, got shape {K.shape}")
        if K.dtype != np.float64:
            K = K.astype(np.float64)
        super().__init__(K.shape[0])
        self.K = K
        self._key = key

    def block(self, rows: Any, cols: Any = None) -> np.ndarray:
        if cols is None:
            cols = rows
        if isinstance(rows, slice) or isinstance(cols, slice):
            return np.ascontiguousarray(self.K[rows][:, cols])
        return self.K[np.ix_(np.asarray(rows), np.asarray(cols))]

    def diagonal(self) -> np.ndarray:
        return np.array(np.diagonal(self.K), dtype=np.float64)

    def matmul(self, V: np.ndarray) -> np.ndarray:
        V = self._check_block(V)
        self.passes += 1
        return self.K @ V

    def matrix(self, *, progress: bool = False) -> np.ndarray:
        return self.K

    def cache_key(self) -> dict[str, Any]:
        if self._key is None:
            from wilsonian.store import array_digest

            self._key = {"matrix": array_digest(self.K)}
        return self._key


def materialize(operator: KernelOperator, K: np.ndarray | None = None) -> DenseOperator:
    """``operator``'s kernel held in memory: a :class:`DenseOperator` of ``K`` (default:
    ``operator.matrix()``) with the same cache key."""
    return DenseOperator(operator.matrix() if K is None else K, key=operator.cache_key())
