"""How long a kernel matrix will take, said before it is computed.

A fully connected ReLU kernel on a few thousand inputs takes a second; a convolutional
kernel with global average pooling on 28×28 images costs ~30 ms per pair, so N = 2,000 takes
most of a day. The run times the kernel on a small block of the pool first, and a kernel
that will take long says so before it starts.

The block grows (2×2, 4×4, ... pairs) until it takes :data:`SAMPLE_SECONDS` or holds
:data:`MAX_SAMPLE` rows: a kernel whose cost is per pair (convolutional, or by quadrature)
gets a per-pair time from a block of a few pairs, while a kernel that is one matrix product
(fully connected ReLU, erf) never fills its sample and gets an upper bound from the largest
block, which its call overhead dominates. Either way the sample is a small part of a kernel
worth a line: each block has 4× the pairs of the one before, so all of them together take
at most about 5·SAMPLE_SECONDS (1 s), against the minute a kernel needs to get the line.
Its first, untimed call loads the kernel's compiled code, which the matrix would load anyway.
"""

from __future__ import annotations

import math
import time

import numpy as np

#: Sampling stops once a block takes this long (seconds)...
SAMPLE_SECONDS = 0.2
#: ... or has this many rows (and columns).
MAX_SAMPLE = 256
#: The line is shown for kernels estimated to take at least this long (seconds).
WORTH_SAYING_S = 60.0


def matrix_seconds(operator) -> tuple[float, float] | None:
    """(estimated seconds for ``operator.matrix()``, seconds per pair) from timed blocks.

    The matrix is symmetric, so it costs about N²/2 pairs. The blocks pair the first inputs
    with the next ones (off the diagonal, as most pairs are), on one thread. The estimate
    does not divide by the kernel's worker threads: on the 2-core machine of the README the
    convolutional kernels' whole matrices took as long per pair as the one-thread blocks
    (GAP 15.0 against 15.3 ms, flatten 8.4 against 9.9 µs), so it is an upper end where
    the workers do help. None when the pool is too small to sample.
    """
    n = operator.n
    if n < 4:
        return None
    operator.block(np.arange(1), np.arange(1, 2))   # untimed: loads the compiled code, once per process
    m, elapsed = 2, 0.0
    while 2 * m <= n:
        rows, cols = np.arange(m), np.arange(m, 2 * m)
        t0 = time.perf_counter()
        operator.block(rows, cols)
        elapsed = time.perf_counter() - t0
        if elapsed >= SAMPLE_SECONDS or 2 * m > MAX_SAMPLE or 4 * m > n:
            break
        m *= 2
    per_pair = elapsed / (m * m)
    return per_pair * n * (n + 1) / 2, per_pair


def duration(seconds: float) -> str:
    """"45 s", "12 min", "3.5 h", "2.1 days": a rough duration for a progress line."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        hours = seconds / 3600
        return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"
    return f"{seconds / 86400:.1f} days"


def kernel_time_line(operator, *, per_pass: bool = False) -> str | None:
    """A line for a kernel matrix estimated to take at least :data:`WORTH_SAYING_S`, else None.

    ``per_pass``: the matrix-free eigensolver's wording, whose passes each compute the tiles
    they do not keep.
    """
    estimate = matrix_seconds(operator)
    if estimate is None or not math.isfinite(estimate[0]) or estimate[0] < WORTH_SAYING_S:
        return None
    seconds, per_pair = estimate
    pairs = operator.n * (operator.n + 1) // 2
    what = "kernel tiles" if per_pass else "kernel"
    when = " for each pass that computes all of them (kept tiles are computed once)" if per_pass else ""
    return (f"{what}: about {duration(seconds)} here{when} ({pairs:,} pairs at {per_pair * 1e3:.3g} ms each, timed "
            "on a block of this pool); a smaller --n-pool costs as its square")
