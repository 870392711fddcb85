"""The distributed backend: kernel products and the top-k eigensolver on a Dask cluster.

- A pool is stored as a chunked on-disk array that Dask reads in parallel: a directory
  written by ``dask.array.to_npy_stack`` (one ``.npy`` file per block of rows plus Dask's
  ``info`` file), with the targets in ``y.npy`` and a ``pool.json`` record
  (:func:`save_pool_stack`, :func:`load_pool_stack`). No dependency beyond Dask.
- :class:`DaskOperator` is a :class:`~wilsonian.operators.TiledOperator` whose product
  V ↦ K V runs on the cluster: each worker holds the pool inputs X (read from the stack by
  the workers, chunk by chunk, then replicated), and one task per block of rows computes
  K[rows, :] V, recomputing the kernel rows on the fly
  (:func:`wilsonian.operators.tiled.kernel_rows`). V is broadcast once per pass. Blocks
  (for the learning curves) are computed locally.
- :func:`wilsonian.spectrum.topk_spectrum_dask` runs the block-Krylov eigensolver with that
  operator, so it gives the same numbers as the in-memory path up to round-off.

``scheduler=None`` starts a :class:`distributed.LocalCluster` of two worker processes on
127.0.0.1 (loopback only, no dashboard); an address string connects to a running scheduler
(``Client(address)``), whose workers must be able to read the stack's path (a shared file
system) or receive X over the network when X is given as an array.
Dask is an optional extra: ``pip install 'dask[array,distributed]'``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from numbers import Integral
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from wilsonian._validation import as_inputs
from wilsonian.atomic import staged_directory
from wilsonian.errors import WilsonianError
from wilsonian.operators.tiled import TiledOperator, check_kernel, kernel_rows

__all__ = [
    "DaskKernelOperator",
    "DaskOperator",
    "dask_client",
    "load_pool_stack",
    "save_pool_stack",
]

# Kernel entries of one task's row block (rows × N): 2²⁴ float64 = 128 MiB per task.
_TASK_ENTRIES = 1 << 24
_STACK_RECORD = "pool.json"
_TARGETS = "y.npy"


def _require_dask() -> tuple[Any, Any]:
    try:
        import dask.array as da
        import distributed
    except ImportError:
        raise WilsonianError(
            "the distributed path needs Dask; install it with pip install 'dask[array,distributed]'."
        ) from None
    return da, distributed


# ------------------------------------------------------------------------ chunked pools


def save_pool_stack(path: str | os.PathLike, X: Any, y: Any = None, *, chunk_rows: int | None = None,
                    overwrite: bool = False) -> Path:
    """Store a pool as a chunked ``.npy`` stack that Dask reads in parallel.

    Parameters
    ----------
    path : directory to create (its parent is created if needed).
    X : (N, d) inputs, stored as float64 in blocks of ``chunk_rows`` rows.
    y : (N,) targets, optional (stored in ``y.npy``).
    chunk_rows : rows per file (default: about 64 MiB per file, at least 1).
    overwrite : replace an existing directory.

    Returns
    -------
    Path of the directory. It is written in a temporary directory beside it and renamed
    into place, so a reader never sees a half-written stack.
    """
    da, _ = _require_dask()
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise WilsonianError(f"X must be a non-empty 2-D (N, d) array, got shape {X.shape}.")
    if not np.isfinite(X).all():
        raise WilsonianError("X contains NaN or infinite values; clean or drop those inputs.")
    n, d = X.shape
    if y is not None:
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (n,) or not np.isfinite(y).all():
            raise WilsonianError(f"y must be a finite array of shape ({n},), got shape {y.shape}.")
    if chunk_rows is None:
        chunk_rows = max(1, min(n, (1 << 23) // d))
    elif isinstance(chunk_rows, bool) or not isinstance(chunk_rows, Integral) or chunk_rows < 1:
        raise WilsonianError(f"chunk_rows must be a positive integer, got {chunk_rows!r}.")
    chunk_rows = int(chunk_rows)
    path = Path(path)
    if path.exists() and not overwrite:
        raise WilsonianError(f"{path} already exists; pass overwrite=True or choose another directory.")
    with staged_directory(path) as tmp:
        da.to_npy_stack(str(tmp), da.from_array(X, chunks=(chunk_rows, d)), axis=0)
        if y is not None:
            np.save(tmp / _TARGETS, y)
        record = {"n": n, "d": d, "chunk_rows": chunk_rows, "has_targets": y is not None,
                  "format": "dask.array.to_npy_stack(axis=0), float64"}
        (tmp / _STACK_RECORD).write_text(json.dumps(record, indent=1))
    return path


def load_pool_stack(path: str | os.PathLike) -> tuple[Any, np.ndarray | None]:
    """(X as a lazy dask array chunked by rows, y or None) from :func:`save_pool_stack`."""
    da, _ = _require_dask()
    path = Path(path)
    if not (path / _STACK_RECORD).is_file() or not (path / "info").is_file():
        raise WilsonianError(
            f"{path} is not a pool stack (no {_STACK_RECORD} or info file); write one with save_pool_stack."
        )
    X = da.from_npy_stack(str(path), mmap_mode="r")
    y = np.load(path / _TARGETS) if (path / _TARGETS).is_file() else None
    return X, y


# ------------------------------------------------------------------------- the cluster


@contextlib.contextmanager
def dask_client(scheduler: Any = None, *, n_workers: int = 2) -> Iterator[Any]:
    """A Dask client: ``None`` → a new LocalCluster of ``n_workers`` processes on 127.0.0.1
    (closed on exit); an address string → ``Client(address)`` (closed on exit); an existing
    ``distributed.Client`` is used as it is and left open."""
    _, distributed = _require_dask()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0", silence_logs=40, scheduler_kwargs={"dashboard": False},
        )
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    if not isinstance(scheduler, str) or not scheduler:
        raise WilsonianError(
            f"scheduler must be None (a local cluster), an address such as 'tcp://host:8786', or a "
            f"distributed.Client; got {scheduler!r}."
        )
    try:
        client = distributed.Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise WilsonianError(f"could not connect to the Dask scheduler at {scheduler} ({exc}); check the address.") from None
    with client:
        yield client


def _row_block_product(X: np.ndarray, kernel: Any, start: int, stop: int, V: np.ndarray) -> np.ndarray:
    """On a worker: K[start:stop, :] @ V, the kernel rows recomputed from X."""
    return kernel_rows(X, kernel, start, stop) @ V


def _diagonal_block(X: np.ndarray, kernel: Any, start: int, stop: int) -> np.ndarray:
    return kernel.diagonal(X[start:stop])


class DaskOperator(TiledOperator):
    """V ↦ K V on a Dask cluster: one task per block of rows, K never stored.

    Parameters
    ----------
    client : distributed.Client
    X : (N, d) array, a dask array (e.g. from :func:`load_pool_stack`), or a stack path.
        An in-memory array is scattered to every worker; a dask array or path is read by
        the workers chunk by chunk in parallel, assembled on one worker and replicated (and
        read here too, when a block is asked for locally).
    kernel : KernelSpec (or any kernel object)
    block_rows : int, optional
        Rows per task (default: about 2²⁴ kernel entries, at least 4 tasks per worker).

    Attributes
    ----------
    n : N;  passes : products so far;  blocks : list of (start, stop) row blocks.
    """

    backend = "dask"

    def __init__(self, client: Any, X: Any, kernel: Any, *, block_rows: int | None = None):
        da, _ = _require_dask()
        check_kernel(kernel)
        self.client = client
        if isinstance(X, (str, os.PathLike)):
            X, _ = load_pool_stack(X)
        if isinstance(X, da.Array):
            if X.ndim != 2:
                raise WilsonianError(f"X must be 2-D (N, d), got shape {X.shape}.")
            X = X.rechunk({1: -1})
            chunks = client.compute(list(X.to_delayed().ravel()))  # parallel reads on the workers
            self._X = client.submit(_concatenate_rows, chunks, pure=False)
            n_workers = max(1, len(client.scheduler_info().get("workers", {})))
            client.replicate([self._X], n=n_workers)
            local = self._X.result()
        else:
            local = as_inputs(X, "X", min_rows=2)
            self._X = client.scatter(local, broadcast=True, hash=False)
        super().__init__(local, kernel)
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        if block_rows is None:
            block_rows = max(1, min(_TASK_ENTRIES // self.n, math.ceil(self.n / (4 * n_workers))))
        elif isinstance(block_rows, bool) or not isinstance(block_rows, Integral) or block_rows < 1:
            raise WilsonianError(f"block_rows must be a positive integer, got {block_rows!r}.")
        block_rows = int(block_rows)
        self.blocks = [(i, min(i + block_rows, self.n)) for i in range(0, self.n, block_rows)]

    def diagonal(self) -> np.ndarray:
        """K(x_i, x_i), shape (N,), computed on the workers."""
        futures = [self.client.submit(_diagonal_block, self._X, self.kernel, a, b, pure=False)
                   for a, b in self.blocks]
        return np.concatenate(self.client.gather(futures))

    def matmul(self, V: np.ndarray) -> np.ndarray:
        V = np.ascontiguousarray(self._check_block(V))
        V_future = self.client.scatter(V, broadcast=True, hash=False)
        futures = [self.client.submit(_row_block_product, self._X, self.kernel, a, b, V_future, pure=False)
                   for a, b in self.blocks]
        out = np.empty_like(V)
        for (a, b), block in zip(self.blocks, self.client.gather(futures)):
            out[a:b] = block
        del V_future
        self.passes += 1
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "workers": len(self.client.scheduler_info().get("workers", {})),
                "tasks_per_pass": len(self.blocks)}

    def stats(self) -> dict[str, Any]:
        # The scheduler's address changes from run to run: it belongs with the timings.
        address = self.client.scheduler.address if self.client.scheduler is not None else None
        return {**super().stats(), "scheduler": address}


#: The name this operator had before the operators package.
DaskKernelOperator = DaskOperator


def _concatenate_rows(chunks: list[np.ndarray]) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate([np.asarray(c, dtype=np.float64) for c in chunks], axis=0))
