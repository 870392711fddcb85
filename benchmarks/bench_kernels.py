"""Benchmark of :mod:`wilsonian.kernels` against the X·Xᵀ product it cannot avoid.

Every time is a ratio to ``X @ X.T`` measured in the same run (best of ``repeat``), so the
numbers mean the same thing on a laptop and on a cluster node. Cases: NNGP and NTK, ReLU
and erf, ``X2=None`` (symmetric, upper triangle + mirror) and ``X2=X`` (full rectangle),
with a straightforward full-matrix NumPy implementation ("naive") for comparison; then
every other closed-form activation (compiled path), NNGP and NTK, ``X2=None``. Peak extra
memory is measured with tracemalloc (NumPy reports its allocations to it) and given as
peak minus the size of the output.

Usage::

    python benchmarks/bench_kernels.py [--n 4000] [--d 784] [--repeat 3] [--seed 0] [--no-activations]

Importable: ``run(n=..., d=...)`` returns the table as a list of dicts.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from wilsonian.kernels import activation, nngp, ntk


def naive_kernel(X: np.ndarray, kind: str, activation: str, depth: int, weight_var: float,
                 bias_var: float) -> np.ndarray:
    """THEORY.md §2 written the obvious way: whole-matrix NumPy with temporaries."""
    K = weight_var * (X @ X.T) / X.shape[1] + bias_var
    theta = K.copy()
    for _ in range(depth):
        q = np.diag(K)
        norm = np.sqrt(np.outer(q, q))
        if activation == "relu":
            cos = np.clip(K / norm, -1.0, 1.0)
            ang = np.arccos(cos)
            K_new = weight_var * norm * (np.sin(ang) + (np.pi - ang) * cos) / (2 * np.pi) + bias_var
            slope = (np.pi - ang) / (2 * np.pi)
        else:
            one_plus = 1.0 + 2.0 * np.diag(K)
            K_new = weight_var * (2 / np.pi) * np.arcsin(2 * K / np.sqrt(np.outer(one_plus, one_plus))) + bias_var
            slope = (4 / np.pi) / np.sqrt(np.outer(one_plus, one_plus) - 4 * K**2)
        theta = K_new + weight_var * theta * slope
        K = K_new
    return theta if kind == "ntk" else K


def _wall_time(fn, inner: int = 1) -> float:
    """Best of ``inner`` back-to-back calls (as ``timeit`` times a statement)."""
    best = float("inf")
    for _ in range(inner):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _peak_extra_bytes(fn, output_bytes: int) -> int:
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - output_bytes


#: Back-to-back calls per timing (see run()).
INNER = 3

#: The closed forms of the compiled path and the Hermite series of tanh and sigmoid (name,
#: parameters), one benchmark row per kind.
ACTIVATION_CASES = [
    ("leaky-relu", {"slope": 0.1}), ("abrelu", {"a": -0.2, "b": 1.1}), ("abs", {}),
    ("erf", {"a": 1.2, "b": 0.8, "c": 0.1}), ("gelu", {}), ("sin", {}), ("cos", {}), ("gaussian", {}),
    ("exp", {"b": 0.5}), ("sign", {}), ("rectified-monomial", {"degree": 2}), ("monomial", {"degree": 3}),
    ("tanh", {}), ("sigmoid", {}),
]


def series_against_quadrature(n: int = 1000, d: int = 784, *, seed: int = 0, depth: int = 2) -> list[dict]:
    """tanh by its Hermite series (the default) and by the 32-point quadrature (``points=32``,
    the method before 2026-12-02), NNGP and NTK, once each at N = ``n`` (the quadrature costs
    ~5 µs per entry and layer: ~90 s at N = 4,000), on unit-norm rows (q ≈ 0.003) and on
    rows of unit scale (q ≈ σ_w² = 2, where the series needs its most orders). Keys: case,
    series_s, quadrature_s, ratio (series / quadrature), max_rel_diff."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    rows = []
    for scale, Z in (("unit-norm rows", X / np.linalg.norm(X, axis=1, keepdims=True)), ("unit-scale rows", X)):
        for kind, fn in (("nngp", nngp), ("ntk", ntk)):
            fn(Z[:20], activation="tanh")                      # compiled code loaded first
            t0 = time.perf_counter()
            series = fn(Z, activation="tanh", depth=depth)
            t1 = time.perf_counter()
            quad = fn(Z, activation="tanh", depth=depth, activation_params={"points": 32})
            t2 = time.perf_counter()
            rows.append(dict(case=f"{kind} tanh, {scale}", series_s=t1 - t0, quadrature_s=t2 - t1,
                             ratio=(t1 - t0) / (t2 - t1),
                             max_rel_diff=float(np.abs(series - quad).max() / np.abs(series).max())))
    return rows


def run(n: int = 4000, d: int = 784, *, repeat: int = 3, seed: int = 0, depth: int = 2,
        naive: bool = True, activations: bool = True) -> list[dict]:
    """Benchmark rows: one dict per case, times in seconds and ratios to X·Xᵀ.

    ``repeat`` rounds; in each, X·Xᵀ is timed before the first case and after every case,
    every time the best of ``INNER`` back-to-back calls.
    ``ratio`` is a case's best time over the best X·Xᵀ time; ``ratio_median`` is the median
    over rounds of its time over the faster of the two X·Xᵀ timings around it, which is
    steadier when other jobs share the machine. Peak extra memory: tracemalloc peak during
    one call minus the output's size.

    Keys: case, n, d, depth, time_s, baseline_s, ratio, ratio_median, naive_s, naive_ratio,
    max_rel_diff_naive, peak_extra_mib.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)  # the project's default preprocessing
    kw = dict(depth=depth, weight_var=2.0, bias_var=0.0)
    out = np.empty((n, n))
    cases = [  # name, kind, activation, X2 = X?
        ("nngp relu", "nngp", "relu", False),
        ("ntk relu", "ntk", "relu", False),
        ("nngp erf", "nngp", "erf", False),
        ("ntk erf", "ntk", "erf", False),
        ("nngp relu X2=X", "nngp", "relu", True),
    ]
    if activations:
        for name, params in ACTIVATION_CASES:
            label = name + "".join(f" {k}={v}" for k, v in params.items())
            cases += [(f"{kind} {label}", kind, activation(name, **params), False) for kind in ("nngp", "ntk")]

    def ours(kind, act, rect, out=out):
        return (ntk if kind == "ntk" else nngp)(X, X if rect else None, out=out, activation=act, **kw)

    ours("ntk", activation("gelu"), False)  # load the compiled path before timing
    timed = {name: (lambda k=kind, a=act, r=rect: ours(k, a, r)) for name, kind, act, rect in cases}
    if naive:
        timed.update({f"naive {name}": (lambda k=kind, a=act: naive_kernel(X, k, activation=a, **kw))
                      for name, kind, act, rect in cases if not rect and isinstance(act, str)})
    times = {name: [] for name in timed}
    pair_ratios = {name: [] for name in timed}
    baselines = []
    # Each time is the best of INNER back-to-back calls, X·Xᵀ's and a case's alike. A single
    # call timed right after an X·Xᵀ shares the cores with OpenBLAS's idle threads, which
    # busy-wait for about 0.1 s after every call (its THREAD_TIMEOUT): +0.02 s, +0.13× at
    # N = 4,000 on 2 cores, a cost of the interleaving, not of the kernel (in a fresh process,
    # or after anything but a large BLAS call, it is not there).
    for _ in range(repeat):
        before = _wall_time(lambda: X @ X.T, INNER)
        baselines.append(before)
        for name, fn in timed.items():
            t = _wall_time(fn, INNER)
            after = _wall_time(lambda: X @ X.T, INNER)
            baselines.append(after)
            times[name].append(t)
            pair_ratios[name].append(t / min(before, after))
            before = after
    baseline = min(baselines)

    rows = []
    for name, kind, act, rect in cases:
        peak = _peak_extra_bytes(lambda: ours(kind, act, rect, out=None), n * n * 8)
        row = dict(case=name, n=n, d=d, depth=depth, time_s=min(times[name]), baseline_s=baseline,
                   ratio=min(times[name]) / baseline, ratio_median=float(np.median(pair_ratios[name])),
                   naive_s=float("nan"), naive_ratio=float("nan"), max_rel_diff_naive=float("nan"),
                   peak_extra_mib=peak / 2**20)
        if f"naive {name}" in times:
            ref = naive_kernel(X, kind, activation=act, **kw)
            mine = ours(kind, act, rect)
            tn = min(times[f"naive {name}"])
            row.update(naive_s=tn, naive_ratio=tn / baseline,
                       max_rel_diff_naive=float(np.abs(mine - ref).max() / np.abs(ref).max()))
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--d", type=int, default=784)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive implementation")
    parser.add_argument("--no-activations", action="store_true", help="only ReLU and erf")
    args = parser.parse_args(argv)
    rows = run(args.n, args.d, repeat=args.repeat, seed=args.seed, depth=args.depth,
               naive=not args.no_naive, activations=not args.no_activations)
    print(f"N={args.n} d={args.d} depth={args.depth}: X·Xᵀ best {rows[0]['baseline_s']:.3f} s "
          f"over {args.repeat} rounds")
    head = (f"{'case':36s} {'time s':>7s} {'ratio':>6s} {'median':>6s} {'naive s':>8s} {'ratio':>6s} "
            f"{'rel diff':>8s} {'extra MiB':>9s}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['case']:36s} {r['time_s']:7.3f} {r['ratio']:6.2f} {r['ratio_median']:6.2f} "
              f"{r['naive_s']:8.3f} {r['naive_ratio']:6.2f} {r['max_rel_diff_naive']:8.1e} "
              f"{r['peak_extra_mib']:9.1f}")
    if not args.no_activations:
        print("\ntanh: Hermite series against the 32-point quadrature, N = 1,000")
        for r in series_against_quadrature(depth=args.depth, seed=args.seed):
            print(f"{r['case']:36s} series {r['series_s']:6.2f} s  quadrature {r['quadrature_s']:6.2f} s  "
                  f"ratio {r['ratio']:.3f}  max rel diff {r['max_rel_diff']:.1e}")


if __name__ == "__main__":
    main()
