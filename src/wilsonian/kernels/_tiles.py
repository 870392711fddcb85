"""What every kernel family shares: the ``out=`` check, the worker count, and the tile runner.

Kernel matrices are computed in tiles written straight into the output. Tiles go to as many
worker threads as BLAS would use, each running single-threaded BLAS (threadpoolctl) and
GIL-free NumPy ufuncs or compiled (numba ``nogil``) loops: on a machine shared with other
jobs this keeps each worker on one core, where OpenBLAS threads busy-waiting between calls
would steal the cores from the elementwise work.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

import numpy as np

from wilsonian.errors import WilsonianError


def check_out(out: Any, shape: tuple[int, int], inputs: tuple[np.ndarray, ...]) -> None:
    """``out`` must be a writeable float64 array of ``shape`` that shares no memory with inputs."""
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


def blas_threads() -> int:
    """Threads BLAS would use for ``X @ X.T`` here: our worker count (1 if unknown)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return 1
    counts = [m.get("num_threads", 1) for m in threadpool_info() if m.get("user_api") == "blas"]
    return max(counts, default=1)


def single_threaded_blas():
    """Context in which BLAS runs in the calling thread (threadpoolctl; see the module notes)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def run_tiles(tiles: Sequence[Any], compute: Callable[[Any], None], workers: int, *,
              progress: bool = False, desc: str = "kernel tiles") -> None:
    """``compute(t)`` for every tile, on ``workers`` threads (single-threaded BLAS in them).

    A tqdm progress bar over tiles goes to stderr when ``progress`` is set.
    """
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tiles), desc=desc, unit="tile", file=sys.stderr)
    try:
        if workers <= 1:
            for t in tiles:
                compute(t)
                if bar is not None:
                    bar.update(1)
        else:
            with single_threaded_blas(), ThreadPoolExecutor(workers) as pool:
                for _ in pool.map(compute, tiles):
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
