"""What every kernel family shares: the ``out=`` check, the worker count, the tile runner and
the work arrays a thread reuses from one tile to the next.

Kernel matrices are computed in tiles written straight into the output. Tiles go to as many
worker threads as BLAS would use, each running single-threaded BLAS (threadpoolctl) and
GIL-free NumPy ufuncs or compiled (numba ``nogil``) loops: on a machine shared with other
jobs this keeps each worker on one core, where OpenBLAS threads busy-waiting between calls
would steal the cores from the elementwise work.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

import numpy as np

from wilsonian._workspace import Workspace  # noqa: F401  (the kernels' work arrays)
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
        from wilsonian._progress import progress_bar

        bar = progress_bar(total=len(tiles), desc=desc, unit="tile")
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


def fill_parallel(tiles: Any, i0: int, i1: int, spans: Sequence[tuple[int, int, int]], T: np.ndarray, *,
                  rows: int, workers: int, progress: bool = False, desc: str = "kernel tiles") -> None:
    """Rows i0:i1 of a kernel into T, in blocks of ``rows`` rows on ``workers`` threads.

    ``tiles`` has ``fill(i0, i1, j0, j1, T, c0)``, ``product(i0, i1, j0, j1, out)`` and
    ``symmetric`` (:class:`~wilsonian.kernels.KernelTiles`). Each span (j0, j1, c0) puts
    K[i0:i1, j0:j1] into T[:, c0:c0 + j1 − j0]; every block of rows is one ``fill`` (one matrix
    product) per span, so a caller picks the matrix products, and with them the round-off,
    by its spans. A span of a symmetric kernel with j0 == i0 starts on the diagonal: each
    block takes its columns from its own diagonal entry on (so a block's row r has its
    diagonal entry in its column r) and the square K[i0:i1, i0:i1] is mirrored below its
    diagonal, exactly symmetric. For a T that is not C-contiguous, BLAS writes each block's
    product into T itself and the layers run on a C-contiguous copy (as in the former
    whole-matrix code, so the same numbers).
    """
    if i1 <= i0:
        return
    spans = [(j0, j1, c0) for j0, j1, c0 in spans if j1 > j0]
    blocks = [(a0, min(a0 + rows, i1)) for a0 in range(i0, i1, rows)]
    # One task per block and span (each one matrix product), the largest first so that the
    # workers finish together; tasks write disjoint parts of T.
    tasks = [(a0, a1, span) for a0, a1 in blocks for span in spans]
    tasks.sort(key=lambda t: -(t[1] - t[0]) * (t[2][1] - (t[0] if tiles.symmetric and t[2][0] == i0 else t[2][0])))
    direct = T.flags.c_contiguous
    m = i1 - i0

    def compute(task: tuple[int, int, tuple[int, int, int]]) -> None:
        a0, a1, (j0, j1, c0) = task
        r0, r1 = a0 - i0, a1 - i0                       # rows of T
        diagonal = tiles.symmetric and j0 == i0
        b0 = a0 if diagonal else j0                     # first column of K in this block
        col = c0 + (b0 - j0)                            # ... and of T
        if direct:
            tiles.fill(a0, a1, b0, j1, T[r0:r1], col)
        else:
            view = T[r0:r1, col:col + j1 - b0]
            tiles.product(a0, a1, b0, j1, view)
            buffer = np.ascontiguousarray(view)
            tiles.fill(a0, a1, b0, j1, buffer, product=False)
            view[...] = buffer
        if diagonal:   # below the square's diagonal: no other task writes there
            T[r1:m, c0 + r0:c0 + r1] = T[r0:r1, c0 + r1:c0 + m].T

    # One block: BLAS on its own threads, as kernel.matrix() of one tile always had it (a
    # product's round-off depends on BLAS's thread count).
    run_tiles(tasks, compute, 1 if len(blocks) == 1 else workers, progress=progress, desc=desc)
