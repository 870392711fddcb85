"""Benchmark of the toy-model Monte Carlo (wilsonian.toy.monte_carlo) against a baseline.

The baseline is the straightforward vectorized NumPy version of the same computation: draw a
batch of B×n normals with ``rng.standard_normal``, build the per-point feature array
Φ (B, n, 2) and the targets He_D(x), form ΦᵀΦ and Φᵀy with batched matmul, and solve the B
systems (σ² I + Λ ΦᵀΦ) c = Λ Φᵀy with np.linalg.solve. Its choices are the fastest of the
obvious ones measured on the development machine (matmul beat einsum, polyval of the monomial
coefficients beat hermeval, B = 10⁴ beat B = 10⁵ because the arrays stay in cache); it runs
on one thread, as written. ``--variants`` also times the slower obvious choices.

toy.monte_carlo differs in three ways: per-trial power sums instead of per-point features
(no He_D or Φ arrays, Cramer's rule instead of a batched solve), a compiled kernel (numba)
that draws NumPy's own normals (NumPy's SFC64 and ziggurat, inline) and adds their powers
while they are in cache, and worker threads over chunks. It is called once on a few trials before it is
timed, so the timing excludes numba's compilation (or loading its cache), which is reported
apart as ``warmup_seconds``.

The normals alone are also timed, 10⁷ draws each: NumPy's vectorized ``standard_normal``,
numba's ``Generator.standard_normal`` and the inline SFC64 ziggurat in compiled loops (the
same numbers), and then the inline draws with the sums of their seven powers, as the Monte
Carlo makes them: the floor of the Monte Carlo per normal and thread (the seed fixes the
stream, and the order of each power's products is part of the numbers), 5·10⁸ normals at the
paper's parameters.

All rows are measured in the same run, one after the other; the table reports wall-clock
and process CPU seconds and both ratios. On a shared machine the wall-clock ratio of the
threaded row depends on how many cores are actually free; the CPU ratio does not.

    python benchmarks/bench_toy.py [--trials 5000000] [--batch 10000] [--variants]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from numpy.polynomial import hermite_e, polynomial

from wilsonian import toy


def baseline_monte_carlo(
    trials: int,
    *,
    lambda1: float = 1.0,
    lambda_high: float = 0.1,
    ridge: float = 400.0,
    n: int = 100,
    degree: int = 5,
    batch: int = 10_000,
    seed: int = 0,
    literal: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Straightforward batched Monte Carlo: returns (mean (2,), per-trial covariance (2, 2)).

    ``literal=True`` is the variant written exactly as first described (einsum for ΦᵀΦ and
    Φᵀy, ``hermeval`` for the target); the default uses the faster matmul and ``polyval``.
    """
    rng = np.random.default_rng(seed)
    unit = np.zeros(degree + 1)
    unit[degree] = 1.0
    target = hermite_e.herme2poly(unit)
    lam = np.array([lambda1, lambda_high])
    total = np.zeros(2)
    total_outer = np.zeros((2, 2))
    for start in range(0, trials, batch):
        b = min(batch, trials - start)
        x = rng.standard_normal((b, n))
        phi = np.stack([x, (x * x - 1.0) / np.sqrt(2.0)], axis=-1)  # (b, n, 2)
        if literal:
            y = hermite_e.hermeval(x, unit)
            gram = np.einsum("bni,bnj->bij", phi, phi)
            rhs = np.einsum("bni,bn->bi", phi, y)[..., None]
        else:
            y = polynomial.polyval(x, target)  # (b, n)
            phi_t = phi.transpose(0, 2, 1)
            gram = phi_t @ phi  # (b, 2, 2)
            rhs = phi_t @ y[..., None]  # (b, 2, 1)
        system = ridge * np.eye(2) + lam[:, None] * gram
        c = np.linalg.solve(system, lam[:, None] * rhs)[..., 0]  # (b, 2)
        total += c.sum(axis=0)
        total_outer += c.T @ c
    mean = total / trials
    covariance = (total_outer - trials * np.outer(mean, mean)) / (trials - 1)
    return mean, covariance


def _timed(function):
    cpu0 = os.times()
    start = time.perf_counter()
    value = function()
    wall = time.perf_counter() - start
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return value, wall, cpu


def run(
    trials: int = toy.PAPER_TRIALS, *, batch: int = 10_000, seed: int = 0, variants: bool = False
) -> list[dict]:
    """Time the baseline and wilsonian.toy.monte_carlo (all CPUs and 1 thread), paper parameters.

    Returns one dict per method: ``name``, ``trials``, ``seconds`` (wall), ``cpu_seconds``
    (user + system of the process), ``speedup`` (baseline wall time / this wall time),
    ``cpu_speedup`` (same with CPU time), ``slope``, ``slope_se``. The first row is the
    reference baseline. ``variants=True`` adds two slower baseline variants (batch 10⁵, and
    the literal einsum/hermeval version at batch 10⁵) for context; they take minutes.
    """
    def baseline_row(name, **kwargs):
        (mean, cov), wall, cpu = _timed(lambda: baseline_monte_carlo(trials, seed=seed, **kwargs))
        return {"name": name, "trials": trials, "seconds": wall, "cpu_seconds": cpu,
                "slope": float(mean[0]), "slope_se": float(np.sqrt(cov[0, 0] / trials))}

    rows = [baseline_row(f"baseline (matmul, batch {batch})", batch=batch)]
    _, warmup, _ = _timed(lambda: toy.monte_carlo(trials=2 * toy.BLOCK_TRIALS, seed=seed))
    for workers, label in ((None, "toy.monte_carlo (all CPUs)"), (1, "toy.monte_carlo (1 thread)")):
        result, wall, cpu = _timed(
            lambda: toy.monte_carlo(trials=trials, seed=seed, workers=workers)
        )
        rows.append(
            {"name": label, "trials": trials, "seconds": wall, "cpu_seconds": cpu,
             "slope": result.slope, "slope_se": result.slope_se, "warmup_seconds": warmup}
        )
    if variants:
        rows.append(baseline_row("baseline (matmul, batch 100000)", batch=100_000))
        rows.append(baseline_row("baseline (einsum+hermeval, 100000)", batch=100_000, literal=True))
    for row in rows:
        row["speedup"] = rows[0]["seconds"] / row["seconds"]
        row["cpu_speedup"] = rows[0]["cpu_seconds"] / row["cpu_seconds"]
    return rows


def normals_rows(count: int = 10_000_000) -> list[dict]:
    """Seconds per 10⁷ N(0, 1) draws, all the same numbers: NumPy's vectorized call, numba's
    compiled ``Generator.standard_normal`` in a loop (the Monte Carlo's draws until 2026-12),
    and the inline SFC64 ziggurat the Monte Carlo uses; then those draws with the sums of
    their seven powers, as the Monte Carlo makes them (``chunk_power_sums``, 10⁵ training sets
    of 100 points). The last row is the Monte Carlo's floor per normal on one thread."""
    import numba

    from wilsonian.toy._kernels import chunk_power_sums, sfc64_state, standard_normals

    @numba.njit(nogil=True)
    def numba_generator_fill(generator, out):
        for i in range(out.size):
            out[i] = generator.standard_normal()

    out = np.empty(count)
    out.fill(0.0)  # touched: no page faults inside the timings (np.zeros maps them lazily)
    numba_generator_fill(toy.chunk_generator(0, 0), out[:10])  # compiled before the timings
    standard_normals(sfc64_state(toy.chunk_generator(0, 0)), out[:10])
    n = 100
    sums = np.zeros((7, count // n))
    chunk_power_sums(sfc64_state(toy.chunk_generator(0, 0)), n, toy.BLOCK_TRIALS, np.zeros((7, 10)))
    cases = [  # (name, the timed call, the normals it handles)
        ("NumPy Generator(SFC64).standard_normal", lambda: toy.chunk_generator(0, 0).standard_normal(out=out),
         count),
        ("numba Generator.standard_normal loop", lambda: numba_generator_fill(toy.chunk_generator(0, 0), out), count),
        ("inline SFC64 ziggurat (the Monte Carlo's)",
         lambda: standard_normals(sfc64_state(toy.chunk_generator(0, 0)), out), count),
        ("the same with the sums of 7 powers", lambda: chunk_power_sums(
            sfc64_state(toy.chunk_generator(0, 0)), n, toy.BLOCK_TRIALS, sums), count // n * n),
    ]
    rows = []
    for name, function, draws in cases:
        _, wall, cpu = _timed(function)
        rows.append({"name": name, "draws": draws, "seconds": wall, "ns_per_draw": wall / draws * 1e9})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=toy.PAPER_TRIALS)
    parser.add_argument("--batch", type=int, default=10_000, help="baseline batch size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", action="store_true", help="also time slower baselines")
    args = parser.parse_args(argv)
    rows = run(args.trials, batch=args.batch, seed=args.seed, variants=args.variants)
    theory = toy.reweighted_slope()
    print(f"toy Monte Carlo, paper parameters, {args.trials:,} trials, {os.cpu_count()} CPUs; "
          f"theory slope {theory:.4e}")
    print(f"{'method':36s} {'wall s':>7s} {'cpu s':>7s} {'speedup':>8s} {'cpu-spd':>8s} "
          f"{'slope':>11s} {'SE':>9s}")
    for row in rows:
        print(
            f"{row['name']:36s} {row['seconds']:7.2f} {row['cpu_seconds']:7.2f} "
            f"{row['speedup']:8.2f} {row['cpu_speedup']:8.2f} {row['slope']:11.3e} "
            f"{row['slope_se']:9.2e}"
        )
    print("speedup = baseline wall time / wall time; cpu-spd = the same with process CPU time")
    print(f"compiled kernel warm-up (numba compile or cache load): {rows[1]['warmup_seconds']:.2f} s")
    for row in normals_rows():
        print(f"{row['name']:40s} {row['ns_per_draw']:6.2f} ns per normal")


if __name__ == "__main__":
    main()
