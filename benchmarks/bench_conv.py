"""What the convolutional kernels cost (wilsonian.kernels.conv), as time per pair of images.

Flatten readouts need per-position covariances only (cost ∝ L·P per pair, P = H·W); global
average pooling needs every position pair (∝ L·P²). Rows:

- flatten, ReLU, depth 2, 3×3 SAME, on N 28×28×1 images (NNGP and NTK): wall time for the
  symmetric matrix, µs per pair, and the time that extrapolates to N = 3,000;
- GAP on 8×8×1 (the digits) and a sweep of square image sizes, each timed on a few pairs,
  with the largest N whose symmetric matrix takes ≤ 10 minutes here.

Usage::

    python benchmarks/bench_conv.py [--n 1000] [--sizes 8 12 16 20 28]

Importable: ``run(...)`` returns the rows as dicts.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from wilsonian.kernels import ConvKernel


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(n: int = 1000, sizes: tuple[int, ...] = (8, 12, 16, 20, 28), seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    X = rng.random((n, 28 * 28))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    for kind in ("nngp", "ntk"):
        kernel = ConvKernel((28, 28, 1), kind, "relu", 2, 3, "same", "flatten")
        kernel.matrix(X[:4])                                    # compile / load the numba cache
        seconds = _timed(lambda: kernel.matrix(X))
        pairs = n * (n + 1) / 2
        rows.append(dict(case=f"conv {kind} flatten relu L=2 3x3 same, 28x28x1", n=n, seconds=seconds,
                         us_per_pair=1e6 * seconds / pairs, n3000_seconds=seconds / pairs * 3000 * 3001 / 2))
    for side in sizes:
        m = 64 if side <= 12 else (16 if side <= 20 else 6)
        Xs = rng.random((m, side * side))
        kernel = ConvKernel((side, side, 1), "nngp", "relu", 2, 3, "same", "gap")
        kernel.matrix(Xs[:2])
        seconds = _timed(lambda: kernel.matrix(Xs))
        per_pair = seconds / (m * (m + 1) / 2)
        practical = int((2 * 600 / per_pair) ** 0.5)              # N(N+1)/2 pairs in 10 minutes
        rows.append(dict(case=f"conv nngp gap relu L=2 3x3 same, {side}x{side}x1", n=m, seconds=seconds,
                         us_per_pair=1e6 * per_pair, n_in_10_minutes=practical))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--sizes", type=int, nargs="*", default=[8, 12, 16, 20, 28])
    args = parser.parse_args(argv)
    for r in run(args.n, tuple(args.sizes)):
        extra = (f"N=3000 ≈ {r['n3000_seconds']:.0f} s" if "n3000_seconds" in r
                 else f"N ≤ {r['n_in_10_minutes']} in 10 min")
        print(f"{r['case']:52s} N={r['n']:5d} {r['seconds']:8.2f} s  {r['us_per_pair']:9.1f} µs/pair  {extra}")


if __name__ == "__main__":
    main()
