"""Benchmark: the empirical learning curve of `reproduce fig1` for one task.

N = 10,000 pool points, 12 values of η up to 2,000, 20 draws without replacement, σ² = 1e-8.
Baseline: a loop over scikit-learn's ``KernelRidge(kernel="precomputed", alpha=σ²)`` on the
very same draws (fit on K[idx, idx], predict on K[:, idx], MSE over the pool). Ours:
``wilsonian.gp.learning_curve``, which factors K[idx, idx] + σ²I once per draw for the
largest η and reuses the leading blocks for every smaller η. The two must agree.

The kernel is the depth-2 ReLU NNGP of Fashion-MNIST t-shirt/top vs ankle boot when the
Debian package is installed, else of Gaussian inputs (the timing does not depend on which).

Usage: python benchmarks/bench_learning_curve.py [--n 10000] [--trials 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.kernel_ridge import KernelRidge

sys.path.insert(0, str(Path(__file__).parent))
from common import best_time, print_table, row  # noqa: E402

from wilsonian.data import build_pool, default_data_dir  # noqa: E402
from wilsonian.gp import learning_curve  # noqa: E402
from wilsonian.kernels import nngp  # noqa: E402
from wilsonian.app.run import default_etas  # noqa: E402


def make_kernel(n: int, seed: int = 0):
    if default_data_dir("fashion-mnist") is not None:
        pool = build_pool("fashion-mnist", classes="0,9", n_pool=n, seed=seed)
        source = "fashion-mnist 0,9"
    else:
        pool = build_pool("gaussian", n_pool=n, seed=seed, dim=50)
        source = "gaussian d=50"
    return nngp(pool.X), pool.y, source


def sklearn_loop(K, y, eta, ridge, trials, seed):
    """The same draws as wilsonian.gp.learning_curve, solved independently per η."""
    n = K.shape[0]
    errors = np.empty((trials, eta.size))
    streams = np.random.SeedSequence(seed).spawn(trials)
    for t in range(trials):
        order = np.random.default_rng(streams[t]).permutation(n)
        for j, m in enumerate(eta):
            idx = order[:m]
            model = KernelRidge(alpha=ridge, kernel="precomputed").fit(K[np.ix_(idx, idx)], y[idx])
            errors[t, j] = np.mean((model.predict(K[:, idx]) - y) ** 2)
    return errors


def run(n: int = 10_000, trials: int = 20, ridge: float = 1e-8, seed: int = 0) -> list[dict]:
    K, y, source = make_kernel(n, seed)
    eta = default_etas(n)  # 12 log-spaced values up to 2,000
    ours = learning_curve(K, y, eta, ridge=ridge, trials=trials, seed=seed)
    base = sklearn_loop(K, y, eta, ridge, trials, seed)
    difference = float(np.max(np.abs(ours.errors / base - 1)))
    t_ours = best_time(lambda: learning_curve(K, y, eta, ridge=ridge, trials=trials, seed=seed), 2)
    t_base = best_time(lambda: sklearn_loop(K, y, eta, ridge, trials, seed), 1)
    return [row(f"learning curve: N={n}, {eta.size} η ≤ {eta[-1]}, {trials} draws ({source})", t_ours,
                "sklearn KernelRidge loop", t_base, target="≥ 1.5× faster (ratio ≤ 0.67)",
                max_relative_difference=difference)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    rows = run(args.n, args.trials)
    print_table(rows)
    print(f"max relative difference of per-draw errors: {rows[0]['max_relative_difference']:.2e}")
