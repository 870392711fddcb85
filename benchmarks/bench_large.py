"""Benchmark: beyond one machine's dense limits (issue 7).

``run()`` compares, at an N where the dense path still fits (default 8,000):

- the matrix-free top-k spectrum (``wilsonian.topk.topk_spectrum``, k = 500) against the
  dense path (kernel matrix + ``spectrum_from_kernel``: all eigenvalues and y_k), with the
  largest relative eigenvalue difference, the y_k differences, the eigensolver residuals and
  the peak traced memory of each;
- the predicted learning curves (SB, RG, RG-fluct, EK) of the truncated spectrum against
  those of the full dense spectrum, for η up to the reported truncation bound;
- the matrix-free learning curve (``wilsonian.gp.learning_curve`` over a ``TiledOperator``) against the same over K in memory
  on the dense kernel (same draws: the errors must agree to round-off).

The pool is Fashion-MNIST t-shirt/top vs ankle boot when the Debian package is installed,
else Gaussian inputs.

The issue's two acceptance cases run on demand, each best in a fresh process (peak RSS is
the process's):

    python benchmarks/bench_large.py --case fashion14k     # N = 14,000, k = 1000
    python benchmarks/bench_large.py --case synthetic60k   # N = 60,000 Gaussian inputs
    python benchmarks/bench_large.py --case estimate60k    # time of one pass at N = 60,000
    python benchmarks/bench_large.py --case compare20k     # top-500 vs dense at N = 20,000
    python benchmarks/bench_large.py --case compare20k --tile-cache-gib 0   # the same, matrix-free
    python benchmarks/bench_large.py --case roundoff20k    # the same y_k from two dense methods

compare20k is the issue's N = 20,000 check (about 20 minutes and 10 GB here): Fashion-MNIST
has only 14,000 t-shirt/ankle-boot images, so its pool is 20,000 training images labelled
tops (t-shirt/top, pullover, coat, shirt: +1) against the rest (−1).

They report wall time, peak RSS (``resource.getrusage``), passes over K and residuals.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import peak_memory, print_table, row  # noqa: E402

from wilsonian import theory  # noqa: E402
from wilsonian.data import build_pool, default_data_dir  # noqa: E402
from wilsonian.gp import learning_curve  # noqa: E402
from wilsonian.kernels import KernelSpec  # noqa: E402
from wilsonian.spectrum import spectrum_from_kernel  # noqa: E402
from wilsonian.theory.truncation import THEORIES, truncation_bound  # noqa: E402
from wilsonian.operators import TiledOperator as KernelOperator  # noqa: E402
from wilsonian.spectrum import topk_spectrum  # noqa: E402


def learning_curve_matrix_free(X, y, spec, etas, **options):
    return learning_curve(KernelOperator(X, spec), y, etas, **options)


def topk_with_stats(X, y, spec, k, *, progress=False, **options):
    """The top-k spectrum and its operator's pass and time counts (not in the spectrum's meta)."""
    from wilsonian.spectrum import KrylovSolver

    operator = KernelOperator(X, spec)
    spectrum, _ = KrylovSolver(k, **{"n_vectors": None, **options}).solve(operator, y, progress=progress)
    return spectrum, operator.stats()


def make_pool(n: int | None, seed: int = 0, split: str = "train"):
    if default_data_dir("fashion-mnist") is not None:
        pool = build_pool("fashion-mnist", classes="0,9", n_pool=n, split=split, seed=seed)
        return pool, "fashion-mnist 0,9"
    pool = build_pool("gaussian", n_pool=n or 14_000, seed=seed, dim=50)
    return pool, "gaussian d=50"


def spectrum_differences(topk, dense) -> dict:
    """Max relative λ difference; y_k differences, absolute (in units of √⟨y²⟩) and relative for
    the modes holding ≥ 1e-12 of the target power; relative difference of Σ_{k≤K} y_k² for every K."""
    k = topk.n_modes
    lam, ref = topk.eigenvalues, dense.eigenvalues[:k]
    yk, yref = topk.target_coefficients, dense.target_coefficients[:k]
    big = yref**2 >= 1e-12 * dense.target_power
    cum, cref = np.cumsum(yk**2), np.cumsum(yref**2)
    return {
        "max_rel_eigenvalue_diff": float(np.max(np.abs(lam - ref) / ref)),
        "max_abs_yk_diff_over_rms_y": float(np.max(np.abs(yk - yref)) / np.sqrt(dense.target_power)),
        "max_rel_yk_diff": float(np.max(np.abs(yk[big] - yref[big]) / yref[big])),
        "median_rel_yk_diff": float(np.median(np.abs(yk - yref) / yref)),
        "max_rel_cumulative_power_diff": float(np.max(np.abs(cum - cref) / cref)),
        "max_residual": float(max(topk.meta["residual_norms"])),
        "passes": int(topk.meta["passes"]),
    }


def theory_agreement(truncated, full, ridge: float, threshold: float = 0.5) -> dict:
    """Max relative difference between the truncated and the full spectrum's predictions for
    η ≤ each theory's truncation bound (the acceptance: ≤ 1 %)."""
    bound = truncation_bound(truncated, [10, 100, 1000], ridge, threshold)
    out = {"bound_overall": bound.bound, "bounds": bound.bounds}
    for name in THEORIES:
        grid = bound.grid[bound.grid <= bound.bounds[name]]
        if grid.size == 0:
            out[f"max_diff_{name}"] = None
            continue
        a = _prediction(truncated, grid, ridge, threshold, name)
        b = _prediction(full, grid, ridge, threshold, name)
        out[f"max_diff_{name}"] = float(np.max(np.abs(a - b) / b))
    return out


def _prediction(spectrum, eta, ridge, threshold, name):
    if name == "ek":
        return theory.ek_error(spectrum, eta, ridge)
    if name == "spectral_bias":
        return theory.spectral_bias(spectrum, eta, ridge).error
    rg = theory.rg_prediction(spectrum, eta, ridge, threshold)
    return rg.error if name == "rg" else rg.error_fluct


def run(n: int = 8000, k: int = 500, trials: int = 5, ridge: float = 1e-8, seed: int = 0) -> list[dict]:
    pool, source = make_pool(n, seed)
    spec = KernelSpec()
    rows = []

    t0 = time.perf_counter()
    top, top_peak = peak_memory(lambda: topk_spectrum(pool.X, pool.y, spec, k, seed=seed))
    t_top = time.perf_counter() - t0

    def dense_path():
        K = spec.matrix(pool.X)
        return K, spectrum_from_kernel(K, pool.y, overwrite=False)

    t0 = time.perf_counter()
    (K, dense), dense_peak = peak_memory(dense_path)
    t_dense = time.perf_counter() - t0
    diff = spectrum_differences(top, dense)
    rows.append(row(f"top-k spectrum k={k}, N={n} ({source})", t_top, "dense kernel + eigensystem", t_dense,
                    peak_bytes=top_peak, target="λ, y_k to 1e-8 rel", dense_peak_mb=dense_peak / 2**20, **diff))

    agreement = theory_agreement(top, dense, ridge)
    rows.append(row(f"theories on top-{k} vs full spectrum, σ²={ridge:g}", 0.0, "-", 0.0,
                    target="≤ 1% up to the bound", **agreement))

    etas = [10, 100, 1000]
    t0 = time.perf_counter()
    free, free_peak = peak_memory(lambda: learning_curve_matrix_free(pool.X, pool.y, spec, etas, ridge=ridge,
                                                                     trials=trials, seed=seed))
    t_free = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = learning_curve(K, pool.y, etas, ridge=ridge, trials=trials, seed=seed)
    t_ref = time.perf_counter() - t0
    rows.append(row(f"learning curve matrix-free, N={n}, η≤1000, {trials} draws", t_free,
                    "gp.learning_curve (K given)", t_ref, peak_bytes=free_peak, target="same errors",
                    max_rel_error_diff=float(np.max(np.abs(free.errors - ref.errors) / ref.errors))))
    return rows


# ------------------------------------------------------------------------ acceptance cases


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def case_fashion14k(k: int = 1000, trials: int = 5, ridge: float = 1e-8, progress: bool = True) -> dict:
    pool, source = make_pool(None, split="all")
    spec = KernelSpec()
    start = time.perf_counter()
    spectrum, stats = topk_with_stats(pool.X, pool.y, spec, k, progress=progress)
    t_spectrum = time.perf_counter() - start
    bound = truncation_bound(spectrum, [10, 100, 1000, 2000], ridge, 0.5)
    t0 = time.perf_counter()
    curve = learning_curve_matrix_free(pool.X, pool.y, spec, [10, 50, 200, 1000, 2000], ridge=ridge,
                                       trials=trials, progress=progress)
    t_curve = time.perf_counter() - t0
    return _report("fashion14k", source, pool.n, k, spectrum, stats, t_spectrum, bound, curve, t_curve)


def _report(name, source, n, k, spectrum, stats, t_spectrum, bound, curve, t_curve) -> dict:
    residuals = np.array(spectrum.meta["residual_norms"])
    return {
        "case": name,
        "pool": source,
        "n": n,
        "k": k,
        "spectrum_s": t_spectrum,
        "kernel_s": stats["kernel_seconds"],
        "product_s": stats["product_seconds"],
        "passes": spectrum.meta["passes"],
        "restarts": spectrum.meta["restarts"],
        "block_size": spectrum.meta["block_size"],
        "max_basis": spectrum.meta["max_basis"],
        "all_converged": spectrum.meta["all_converged"],
        "max_residual": float(residuals.max()),
        "median_residual": float(np.median(residuals)),
        "lambda_k_over_lambda_1": float(spectrum.eigenvalues[-1] / spectrum.eigenvalues[0]),
        "tail_mass_fraction": spectrum.tail_mass / spectrum.trace,
        "tail_power_fraction": spectrum.tail_power / spectrum.target_power,
        "truncation_bounds": bound.bounds,
        "learning_curve_s": t_curve,
        "learning_curve": None if curve is None else {"eta": curve.eta.tolist(), "mean": curve.mean.tolist()},
        "peak_rss_mib": peak_rss_mib(),
    }


def fashion_tops_pool(n: int, seed: int = 0):
    """n Fashion-MNIST training images, y = +1 for the four upper-body classes, −1 otherwise."""
    from wilsonian.data import Pool, preprocess
    from wilsonian.data.idx import load_idx_split

    data_dir = default_data_dir("fashion-mnist")
    if data_dir is None:
        raise SystemExit("compare20k needs Fashion-MNIST (apt-get install dataset-fashion-mnist)")
    raw = load_idx_split(data_dir, "train", dataset="fashion-mnist")
    keep = np.sort(np.random.default_rng(seed).permutation(raw.labels.size)[:n])
    X = preprocess(raw.images[keep].reshape(n, -1) / 255.0, "unit-norm")
    y = np.where(np.isin(raw.labels[keep], [0, 2, 4, 6]), 1.0, -1.0)
    return Pool(X=X, y=y, meta={"dataset": "fashion-mnist", "task": "tops (0,2,4,6) vs rest", "n": n})


def case_compare20k(n: int = 20_000, k: int = 500, ridge: float = 1e-8, seed: int = 0, tol: float = 1e-12,
                    extra: int = 0, tile_cache_gib: float | None = None) -> dict:
    """Top-k against dense at N = 20,000. ``extra`` > 0 resolves k + extra modes and compares
    the top k: the last few resolved modes converge slowest. ``tile_cache_gib``: the top-k
    operator keeps that much of its kernel tiles between passes (2 holds all of them at
    N = 20,000: 1.5 GiB, against the dense path's 3 GiB K; 0 recomputes every tile at every
    pass); None is ``wilsonian run``'s default, auto (:meth:`RunConfig.tile_keep_bytes`)."""
    from wilsonian.app.config import RunConfig
    from wilsonian.operators.tiled import kept_tiles_bytes

    pool = fashion_tops_pool(n, seed)
    spec = KernelSpec()
    keep_bytes = RunConfig(solver="topk", k=k, tile_cache_gib=tile_cache_gib).tile_keep_bytes()
    t0 = time.perf_counter()
    top = topk_spectrum(pool.X, pool.y, spec, k + extra, seed=seed, tol=tol, progress=True,
                        keep_bytes=keep_bytes)
    top = top.truncated(k)
    t_top = time.perf_counter() - t0
    rss_top = peak_rss_mib()
    t0 = time.perf_counter()
    K = spec.matrix(pool.X)
    t_kernel = time.perf_counter() - t0
    t0 = time.perf_counter()
    dense = spectrum_from_kernel(K, pool.y, overwrite=True)
    t_dense = time.perf_counter() - t0 + t_kernel
    del K
    diff = spectrum_differences(top, dense)
    dy = np.abs(top.target_coefficients - dense.target_coefficients[:k])
    yref = np.abs(dense.target_coefficients[:k])
    rel = dy / yref
    return {
        "case": "compare20k", "n": n, "k": k, "extra": extra, "tol": tol, "pool": pool.meta["task"],
        "tile_cache_gib": "auto" if tile_cache_gib is None else tile_cache_gib,
        "kept_tile_gib": kept_tiles_bytes(n, keep_bytes) / 2**30,
        "topk_s": t_top, "dense_s": t_dense, "dense_kernel_s": t_kernel, "ratio_topk_over_dense": t_top / t_dense,
        "peak_rss_topk_mib": rss_top, "peak_rss_total_mib": peak_rss_mib(),
        **diff,
        "n_modes_rel_yk_above_1e-8": int(np.sum(rel > 1e-8)),
        "max_rel_yk_diff_all": float(rel.max()),
        "rel_yk_diff_where_yk2_ge_1e-6_power": float(np.max(rel[yref**2 >= 1e-6 * dense.target_power])),
        "theories": theory_agreement(top, dense, ridge),
    }


def case_roundoff20k(n: int = 20_000, k: int = 500, seed: int = 0) -> dict:
    """How far apart two *dense* methods put the y_k at N = 20,000 (the round-off floor that
    any comparison of y_k to 1e-8 relative meets): numpy.linalg.eigh against
    spectrum_from_kernel (tridiagonal route), each against the top-k path. ~25 min, ~13 GB."""
    pool = fashion_tops_pool(n, seed)
    spec = KernelSpec()
    top = topk_spectrum(pool.X, pool.y, spec, k, seed=seed)
    K = spec.matrix(pool.X)
    tridiagonal = spectrum_from_kernel(K, pool.y, overwrite=False)
    t0 = time.perf_counter()
    w, V = np.linalg.eigh(K / n)
    t_eigh = time.perf_counter() - t0
    del K
    order = np.argsort(w)[::-1][:k]
    y_eigh = V[:, order].T @ pool.y / np.sqrt(n)
    y_eigh *= np.sign(y_eigh) * np.sign(tridiagonal.target_coefficients[:k])  # eigenvector signs are arbitrary
    del V
    y_tri = tridiagonal.target_coefficients[:k]
    y_top = top.target_coefficients
    rms = np.sqrt(tridiagonal.target_power)

    def compare(a, b):
        rel = np.abs(a - b) / np.abs(b)
        return {"max_abs_over_rms_y": float(np.max(np.abs(a - b)) / rms), "max_rel": float(rel.max()),
                "median_rel": float(np.median(rel)), "modes_rel_above_1e-8": int(np.sum(rel > 1e-8)),
                "worst_modes": np.argsort(rel)[::-1][:5].tolist()}

    return {"case": "roundoff20k", "n": n, "k": k, "eigh_s": t_eigh,
            "max_rel_eigenvalue_eigh_vs_tridiagonal": float(np.max(np.abs(w[order] - tridiagonal.eigenvalues[:k])
                                                                 / tridiagonal.eigenvalues[:k])),
            "tridiagonal_vs_eigh": compare(y_tri, y_eigh), "topk_vs_eigh": compare(y_top, y_eigh),
            "topk_vs_tridiagonal": compare(y_top, y_tri), "peak_rss_mib": peak_rss_mib()}


def case_estimate60k(n: int = 60_000, dim: int = 20, block: int = 300) -> dict:
    pool = build_pool("gaussian", n_pool=n, dim=dim)
    op = KernelOperator(pool.X, KernelSpec())
    V = np.random.default_rng(0).standard_normal((n, block))
    t0 = time.perf_counter()
    op(V)
    return {"case": "estimate60k", "n": n, "dim": dim, "block": block, "one_pass_s": time.perf_counter() - t0,
            "kernel_s": op.kernel_seconds, "product_s": op.product_seconds, "peak_rss_mib": peak_rss_mib()}


def case_synthetic60k(n: int = 60_000, dim: int = 20, k: int = 230, tol: float = 1e-12, max_iter: int = 30,
                      progress: bool = True) -> dict:
    """Unit-norm Gaussian inputs make a dot-product kernel: its eigenvalues come in clusters of
    spherical harmonics (1, 20, 209, 1520, … modes for d = 20, split only by sampling noise).
    k = 230 ends at a cluster edge; a k inside a cluster (e.g. 500) converges slowly per
    eigenpair, as for any Krylov method (measured: residual 4e-7 after 13 passes)."""
    pool = build_pool("gaussian", n_pool=n, dim=dim)
    start = time.perf_counter()
    spectrum, stats = topk_with_stats(pool.X, pool.y, KernelSpec(), k, tol=tol, max_iter=max_iter, n_vectors=0,
                             progress=progress)
    t_spectrum = time.perf_counter() - start
    bound = truncation_bound(spectrum, [10, 100, 1000], 1e-8, 0.5)
    return _report("synthetic60k", f"gaussian d={dim}", n, k, spectrum, stats, t_spectrum, bound, None, None)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["table", "fashion14k", "synthetic60k", "estimate60k", "compare20k", "roundoff20k"], default="table")
    parser.add_argument("--n", type=int, default=8000)
    parser.add_argument("--k", type=int, default=None)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--tol", type=float, default=1e-12, help="eigensolver tolerance (compare20k)")
    parser.add_argument("--extra", type=int, default=0, help="compare20k: resolve k + extra modes, compare k")
    parser.add_argument("--tile-cache-gib", type=lambda v: None if v == "auto" else float(v), default=None,
                        help="compare20k: GiB of kernel tiles the top-k operator keeps between passes "
                             "(default auto, as wilsonian run; 0 recomputes every tile at every pass)")
    args = parser.parse_args(argv)
    if args.case == "table":
        rows = run(n=args.n, k=args.k or 500, trials=args.trials)
        print_table(rows)
        print(json.dumps(rows, indent=1, default=float))
    elif args.case == "fashion14k":
        print(json.dumps(case_fashion14k(k=args.k or 1000, trials=args.trials), indent=1))
    elif args.case == "synthetic60k":
        print(json.dumps(case_synthetic60k(k=args.k or 230), indent=1))
    elif args.case == "roundoff20k":
        print(json.dumps(case_roundoff20k(k=args.k or 500), indent=1, default=float))
    elif args.case == "compare20k":
        print(json.dumps(case_compare20k(k=args.k or 500, tol=args.tol, extra=args.extra,
                                                    tile_cache_gib=args.tile_cache_gib), indent=1, default=float))
    else:
        print(json.dumps(case_estimate60k(), indent=1))


if __name__ == "__main__":
    main()
