"""Benchmark: many ridges at once against one run per ridge.

Two rows, both on the default job's task (ten-class digits, one-hot, N = 1,797):

- computation: ``learning_curves(K, y, eta, ridges)`` (one eigendecomposition of each training
  kernel per draw serves every ridge) against one ``learning_curve`` call per ridge (one
  Cholesky factor per draw per ridge), the same draws, in this process;
- as users feel it: one ``wilsonian run --ridge a:b:R`` process against R single-ridge
  ``wilsonian run`` processes. The single runs share one cache, so only the first computes the
  kernel and the spectrum: the baseline is the best a user can do without the ridge axis.

Both start from an empty cache. The curves of the two ways agree to round-off (checked here).

Usage: python benchmarks/bench_ridges.py [--ridges 20]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, row  # noqa: E402

from wilsonian.data import build_pool  # noqa: E402
from wilsonian.gp import learning_curve, learning_curves  # noqa: E402
from wilsonian.kernels import KernelSpec  # noqa: E402


def ridge_grid(count: int) -> np.ndarray:
    return np.logspace(-8, 0, count)


def computation_row(count: int, trials: int) -> dict:
    pool = build_pool("digits", classes="all", seed=0)
    K = KernelSpec().matrix(pool.X)
    eta = np.unique(np.geomspace(10, 0.5 * pool.n, 12).astype(int))
    ridges = ridge_grid(count)
    t0 = time.perf_counter()
    together = learning_curves(K, pool.y, eta, ridges=ridges, trials=trials, seed=0)
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    apart = [learning_curve(K, pool.y, eta, ridge=r, trials=trials, seed=0) for r in ridges]
    baseline = time.perf_counter() - t0
    worst = max(float(np.max(np.abs(a.errors - b.errors) / np.abs(b.errors))) for a, b in zip(together, apart))
    return row(f"{count} ridges, learning curves, N={pool.n} ten-class digits, {eta.size} η × {trials} draws", ours,
               f"{count} × learning_curve (Cholesky per ridge)", baseline, target="well under 1",
               max_relative_difference=worst)


def _wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def command_row(count: int) -> dict:
    ridges = ridge_grid(count)
    base = [sys.executable, "-m", "wilsonian", "run", "--classes", "all", "--quiet"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ours = _wall(base + ["--ridge", f"1e-8:1:{count}", "--cache-dir", str(tmp / "c1"), "--out", str(tmp / "all")])
        baseline = sum(_wall(base + ["--ridge", f"{r:.17g}", "--cache-dir", str(tmp / "c2"), "--out", str(tmp / f"r{i}")])
                       for i, r in enumerate(ridges))
    return row(f"wilsonian run --ridge 1e-8:1:{count}, ten-class digits (whole command)", ours,
               f"{count} single-ridge runs sharing a cache", baseline, target="well under 1")


def run(count: int = 20, trials: int = 20) -> list[dict]:
    return [computation_row(count, trials), command_row(count)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ridges", type=int, default=20)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    rows = run(args.ridges, args.trials)
    print_table(rows)
    print(f"largest relative difference of the curves: {rows[0]['max_relative_difference']:.1e}")
