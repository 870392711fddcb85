"""Compiled kernels of the toy-model Monte Carlo (:mod:`wilsonian.toy`).

At the paper's parameters the Monte Carlo draws 5·10⁸ normals and sums seven powers of each.
In NumPy that took ~25 passes over memory per normal (drawing the normals and the power sums
measured ~60 % and ~35 % of the time); here the normals are drawn one row of a block at a
time (a row is one point of each of the block's training sets, and stays in the L1 cache) and
their powers are added to the sets' sums at once.

The draws are NumPy's own: :func:`standard_normals` is NumPy's ``random_standard_normal``
(its ziggurat, with NumPy's tables as numba ships them) on NumPy's SFC64 stream, written
inline with the generator's four state words in registers, so a compiled loop returns exactly
the numbers ``Generator(SFC64(...)).standard_normal(size)`` would (the tests check it bit for
bit, the ziggurat's tail included) and leaves the same state. That costs ~2.0–2.5 ns per
normal; numba's compiled ``Generator.standard_normal``, which calls the bit generator through a
function pointer, ~2.8–7 ns, and NumPy's vectorized ``standard_normal`` ~8–10 ns
(benchmarks/bench_toy.py prints all three; the ranges span two EPYC machines).

Every loop has a fixed order of floating-point operations (no ``fastmath``), so a seed gives
the same numbers on any CPU that numba targets, whatever its vector width.
"""

from __future__ import annotations

import numba
import numpy as np

# NumPy's ziggurat tables (numpy/random/src/distributions/ziggurat_constants.h), as numba
# copies them for its own Generator.standard_normal; the tests compare the draws with NumPy's.
from numba.np.random._constants import (
    fi_double,
    ki_double,
    wi_double,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

_KI = np.asarray(ki_double, dtype=np.uint64)
_WI = np.asarray(wi_double, dtype=np.float64)
_FI = np.asarray(fi_double, dtype=np.float64)
_R = float(ziggurat_nor_r)
_INV_R = float(ziggurat_nor_inv_r)
_MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2⁻⁵³: NumPy's next_double from the top 53 bits
# The sign bit's factor: NumPy negates x where the bit is set, and x·(−1.0) is exactly −x.
# As a branch on a random bit (LLVM keeps it one for AVX2 targets) it was mispredicted half
# the time: 5.3 ns per normal against 2.5 ns on an AVX2 EPYC.
_SIGNS = np.array([1.0, -1.0])
#: Trials solved together in :func:`solve_coefficients` (five statistics of 512 trials: 20 kB).
SOLVE_BLOCK = 512

#: Powers summed by the unrolled row kernel; a Monte Carlo with more (degree > 6) takes the
#: general loop.
UNROLLED_POWERS = 8


def sfc64_state(generator: np.random.Generator) -> np.ndarray:
    """The four state words (a, b, c, counter) of a Generator on NumPy's SFC64, as uint64."""
    state = generator.bit_generator.state
    if state["bit_generator"] != "SFC64":
        raise TypeError(f"expected an SFC64 generator, got {state['bit_generator']}")
    return np.array(state["state"]["state"], dtype=np.uint64)


@numba.njit(nogil=True, cache=True, inline="always")
def _sfc64_next(a, b, c, counter):
    """One SFC64 step (NumPy's sfc64_next): returns (output, a, b, c, counter)."""
    out = a + b + counter
    return (
        out,
        b ^ (b >> np.uint64(11)),
        c + (c << np.uint64(3)),
        ((c << np.uint64(24)) | (c >> np.uint64(40))) + out,
        counter + np.uint64(1),
    )


@numba.njit(nogil=True, cache=True)
def standard_normals(state, out):
    """Fill ``out`` with the SFC64 stream's next N(0, 1) draws; ``state`` (4 uint64) advances.

    NumPy's ``random_standard_normal``: 8 bits choose the ziggurat's layer, 1 the sign and 52
    the abscissa; 99 % of draws return at the first comparison. The state lives in locals,
    not in the array: written back to memory every step, it put a store-to-load round trip
    on the generator's dependency chain (~5 ns per normal instead of ~2).
    """
    a, b, c, counter = state[0], state[1], state[2], state[3]
    i = 0
    while i < out.size:
        r, a, b, c, counter = _sfc64_next(a, b, c, counter)
        layer = r & np.uint64(0xFF)
        r >>= np.uint64(8)
        rabs = (r >> np.uint64(1)) & _MANTISSA
        x = np.float64(rabs) * _WI[layer] * _SIGNS[r & np.uint64(1)]
        if rabs < _KI[layer]:
            out[i] = x
            i += 1
        elif layer == 0:  # the tail beyond r, by Marsaglia's exponential method
            while True:
                u, a, b, c, counter = _sfc64_next(a, b, c, counter)
                xx = -_INV_R * np.log1p(-(np.float64(u >> np.uint64(11)) * _TO_UNIT))
                u, a, b, c, counter = _sfc64_next(a, b, c, counter)
                yy = -np.log1p(-(np.float64(u >> np.uint64(11)) * _TO_UNIT))
                if yy + yy > xx * xx:
                    out[i] = -(_R + xx) if (rabs >> np.uint64(8)) & np.uint64(1) else _R + xx
                    i += 1
                    break
        else:  # the wedge of the layer
            u, a, b, c, counter = _sfc64_next(a, b, c, counter)
            unit = np.float64(u >> np.uint64(11)) * _TO_UNIT
            if (_FI[layer - 1] - _FI[layer]) * unit + _FI[layer] < np.exp(-0.5 * x * x):
                out[i] = x
                i += 1
    state[0], state[1], state[2], state[3] = a, b, c, counter


@numba.njit(nogil=True, cache=True)
def _block_eight_powers(state, n, row, s1, s2, s3, s4, s5, s6, s7, s8):
    """s_k[t] += Σ_i x_it^k, k = 1..8, for the n rows x_i. of normals drawn into ``row``.

    The powers are x·x·…·x in that order. One pass over t with the eight sums as separate
    arrays, taken once per block: the loop vectorizes over t and touches each sum once per
    point (the general loop below reads and writes a power buffer for every k; with the sums
    sliced per row, numba's reference counting of the slices cost ~0.5 ns per normal).
    """
    for _ in range(n):
        standard_normals(state, row)
        for t in range(row.size):
            v = row[t]
            p = v
            s1[t] += p
            p *= v
            s2[t] += p
            p *= v
            s3[t] += p
            p *= v
            s4[t] += p
            p *= v
            s5[t] += p
            p *= v
            s6[t] += p
            p *= v
            s7[t] += p
            p *= v
            s8[t] += p


@numba.njit(nogil=True, cache=True)
def add_power_sums(x, sums, power):
    """sums[k − 1, t] += x[t]^k for k = 1..K, with (K, T) = sums.shape, T = x.size.

    The same products in the same order as :func:`_block_eight_powers` (x^k is x^(k−1)·x);
    ``power`` (T scratch values) holds the running power.
    """
    order, trials = sums.shape
    for t in range(trials):
        power[t] = x[t]
    for k in range(order):
        for t in range(trials):
            sums[k, t] += power[t]
        if k + 1 < order:
            for t in range(trials):
                power[t] *= x[t]


@numba.njit(nogil=True, cache=True)
def chunk_power_sums(state, n, block, out):
    """Power sums P_1..P_K (rows of ``out``, shape (K, trials)) of ``trials`` training sets.

    The sets are drawn in blocks of ``block`` (the last may be shorter) from the SFC64
    ``state``: a block of b sets takes the next b·n normals of :func:`standard_normals` and
    reads them as an (n, b) array in row-major order: normal j·b + t is point j of set t.
    Fewer than eight powers are summed as eight (the extra rows are dropped), which runs the
    unrolled kernel; the sums kept are the same numbers.
    """
    order, trials = out.shape
    rows = max(order, UNROLLED_POWERS)
    row = np.empty(block)
    power = np.empty(block)
    for start in range(0, trials, block):
        size = min(block, trials - start)
        # A new C-contiguous array, not a view: numba vectorizes only unit-stride rows.
        block_sums = np.zeros((rows, size))
        if rows == UNROLLED_POWERS:
            _block_eight_powers(state, n, row[:size], block_sums[0], block_sums[1],
                                block_sums[2], block_sums[3], block_sums[4], block_sums[5],
                                block_sums[6], block_sums[7])
        else:
            for _ in range(n):
                standard_normals(state, row[:size])
                add_power_sums(row[:size], block_sums, power)
        out[:, start : start + size] = block_sums[:order]


@numba.njit(nogil=True, cache=True)
def solve_coefficients(sums, n, mapping, lambda1, lambda_high, ridge, out):
    """Posterior-mean coefficients of eq. (toy.1) by Cramer's rule, for all trials.

    ``sums`` (K, m) holds P_1..P_K; ``mapping`` (5, K + 1) maps [P_0..P_K] to
    [G_11, G_12, G_22, r_1, r_2] (zero coefficients skipped). ``out`` (4, m) receives
    c_1, c_2, r_1, r_2. The operations are those of the NumPy expressions this replaced, in
    the same order (NumPy made ~40 temporary arrays per batch: ~20 % of the Monte Carlo);
    every loop runs over trials, so it vectorizes.
    """
    order, trials = sums.shape
    # Blocks of SOLVE_BLOCK trials keep the five statistics in L1: over whole chunks of 10⁵
    # trials, each of the ~12 passes below went to memory. Each statistic is the same sum in
    # the same order either way.
    stats = np.empty((5, SOLVE_BLOCK))
    for begin in range(0, trials, SOLVE_BLOCK):
        size = min(SOLVE_BLOCK, trials - begin)
        for j in range(5):
            start = mapping[j, 0] * n
            for t in range(size):
                stats[j, t] = start
            for k in range(order):
                weight = mapping[j, k + 1]
                if weight != 0.0:
                    for t in range(size):
                        stats[j, t] += weight * sums[k, begin + t]
        for t in range(size):
            g11, g12, g22, r1, r2 = stats[0, t], stats[1, t], stats[2, t], stats[3, t], stats[4, t]
            # (σ² I + Λ G) c = Λ r; det ≥ σ⁴ > 0 because G is positive semi-definite.
            a11 = ridge + lambda1 * g11
            a22 = ridge + lambda_high * g22
            det = a11 * a22 - lambda1 * lambda_high * g12 * g12
            out[0, begin + t] = lambda1 * (r1 * a22 - lambda_high * g12 * r2) / det
            out[1, begin + t] = lambda_high * (r2 * a11 - lambda1 * g12 * r1) / det
            out[2, begin + t] = r1
            out[3, begin + t] = r2
