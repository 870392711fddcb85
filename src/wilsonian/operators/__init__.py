"""Kernels on a pool, one protocol for every backend: :class:`KernelOperator`.

- :class:`DenseOperator`: a kernel matrix in memory (computed here, or your own).
- :class:`TiledOperator`: the kernel of a :mod:`wilsonian.kernels` family on the pool's
  inputs, tile by tile on the fly, never stored (NumPy).
- :class:`~wilsonian.operators.dask_cluster.DaskOperator`: the same, with the products on a
  Dask cluster (``pip install 'dask[array,distributed]'``).
- :class:`~wilsonian.operators.torch_device.TorchOperator`: the same on a PyTorch device
  (``pip install torch``).

``DaskOperator``, ``dask_client`` and ``TorchOperator`` are names of this package too, loaded
on first use (their modules need Dask or PyTorch only when an operator is made).

:func:`kernel_operator` picks one by name. The eigensolvers of :mod:`wilsonian.spectrum`
and the learning curves of :mod:`wilsonian.gp` accept any of them.
"""

from __future__ import annotations

from typing import Any

from wilsonian._lazy import lazy_exports
from wilsonian.errors import WilsonianError
from wilsonian.operators.base import KernelOperator
from wilsonian.operators.dense import DenseOperator
from wilsonian.operators.tiled import TiledOperator, kernel_rows

#: Backend names accepted by :func:`kernel_operator`.
BACKENDS = ("numpy", "torch", "dask")


def kernel_operator(X: Any, kernel: Any, *, backend: str = "numpy", device: str = "cpu", client: Any = None,
                    tile: int | None = None, keep_bytes: float = 0) -> KernelOperator:
    """The operator of ``kernel`` on the pool inputs ``X`` for a backend.

    ``backend="numpy"`` (default): :class:`TiledOperator` (``keep_bytes`` of its tiles kept
    between passes); ``"torch"``: on ``device``; ``"dask"``: products on the cluster of
    ``client`` (a ``distributed.Client``).
    """
    if backend == "numpy":
        return TiledOperator(X, kernel, tile=tile, keep_bytes=keep_bytes)
    if keep_bytes:
        raise WilsonianError(f"keep_bytes is an option of the numpy backend's TiledOperator, not of {backend!r}")
    if backend == "torch":
        from wilsonian.operators.torch_device import TorchOperator

        return TorchOperator(X, kernel, device=device, tile=tile)
    if backend == "dask":
        from wilsonian.operators.dask_cluster import DaskOperator

        if client is None:
            raise WilsonianError("the dask backend needs a client: use wilsonian.operators.dask_cluster.dask_client()")
        return DaskOperator(client, X, kernel)
    raise WilsonianError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")


def as_operator(kernel: Any) -> KernelOperator:
    """An operator as it is, or a :class:`DenseOperator` of a kernel matrix."""
    if isinstance(kernel, KernelOperator):
        return kernel
    return DenseOperator(kernel)


__getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "DaskOperator": "wilsonian.operators.dask_cluster",
    "dask_client": "wilsonian.operators.dask_cluster",
    "TorchOperator": "wilsonian.operators.torch_device",
})

__all__ = ["BACKENDS", "DaskOperator", "DenseOperator", "KernelOperator", "TiledOperator", "TorchOperator",
           "as_operator", "dask_client", "kernel_operator", "kernel_rows"]
