"""Compiled kernels of the toy-model Monte Carlo (:mod:`wilsonian.toy`).

At the paper's parameters the Monte Carlo draws 5·10⁸ normals and sums seven powers of each.
In NumPy that took ~25 passes over memory per normal (drawing the normals and the power sums
measured ~60 % and ~35 % of the time); here each block of normals is drawn into a buffer that
stays in cache and its powers are added to the training sets' sums at once.

The draws are NumPy's own: numba compiles ``Generator.standard_normal`` from NumPy's ziggurat
and calls the generator's bit generator, so a compiled loop returns exactly the numbers
``generator.standard_normal(size)`` would (the tests check it bit for bit) and advances the
same generator. In a compiled loop that costs ~2 ns per normal, against ~8 ns for NumPy's
vectorized ``standard_normal`` (benchmarks/bench_toy.py prints both).

Every loop has a fixed order of floating-point operations (no ``fastmath``), so a seed gives
the same numbers on any CPU that numba targets, whatever its vector width.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def fill_standard_normals(generator, out):
    """Fill ``out`` with the generator's next N(0, 1) draws (advancing it)."""
    for i in range(out.size):
        out[i] = generator.standard_normal()


@numba.njit(nogil=True, cache=True)
def add_power_sums(x, out):
    """out[k − 1, t] += Σ_i x[i·T + t]^k for k = 1..K, with (K, T) = out.shape.

    ``x`` is flat and point-major (n·T values, point i of training set t at i·T + t): the
    inner loops run over training sets, with no reduction, so they vectorize without
    reordering any sum. Both arrays must be C-contiguous (numba then knows the unit stride).
    """
    order, trials = out.shape
    n = x.size // trials
    power = np.empty(trials)
    for i in range(n):
        row = i * trials
        for t in range(trials):
            power[t] = x[row + t]
        for k in range(order):
            for t in range(trials):
                out[k, t] += power[t]
            if k + 1 < order:
                for t in range(trials):
                    power[t] *= x[row + t]


@numba.njit(nogil=True, cache=True)
def chunk_power_sums(generator, n, block, out):
    """Power sums P_1..P_K (rows of ``out``, shape (K, trials)) of ``trials`` training sets.

    The sets are drawn in blocks of ``block`` (the last may be shorter): a block of b sets
    takes the next b·n normals of :func:`fill_standard_normals` and reads them as an (n, b)
    array in row-major order: normal j·b + t is point j of set t.
    """
    order, trials = out.shape
    for start in range(0, trials, block):
        size = min(block, trials - start)
        normals = np.empty(size * n)
        fill_standard_normals(generator, normals)
        sums = np.zeros((order, size))
        add_power_sums(normals, sums)
        out[:, start : start + size] = sums
