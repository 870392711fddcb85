"""Work arrays a thread reuses from one block of work to the next (kernel tiles, conv
blocks, toy Monte Carlo chunks)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Workspace"]


class Workspace:
    """Work arrays of one thread, reused from one block or slice to the next.

    Arrays of megabytes allocated afresh for every block are returned to the system and
    faulted back in, page by page. A conv GAP block is one pair of 28×28 images whose arrays
    are P² = 614,656 entries (4.9 MB) each, a dozen of them per layer: a third of the time
    went to page faults. The toy Monte Carlo's chunk arrays made its 2×2 solves three times
    slower (24 ns a trial against 8). Reused, they are the same numbers, written in the same
    order.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialized float64 array of ``shape``, the same memory at every call for ``name``."""
        size = math.prod(shape)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < size:
            buffer = self._buffers[name] = np.empty(size)
        return buffer[:size].reshape(shape)
