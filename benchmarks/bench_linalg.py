"""Benchmark: wilsonian.spectrum.symmetric_eigensystem against numpy.linalg.eigh.

The matrix is an NNGP kernel (one-hidden-layer ReLU arc-cosine kernel of N random unit
vectors in 784 dimensions), the kind of matrix the library decomposes. Each measurement runs
in its own child process, so that its peak resident memory can be read from /proc
(``VmHWM``, reset before the call; it also sees LAPACK's own workspaces); the timings are
wall-clock and CPU seconds of the call alone, best of ``repeats`` runs, interleaved so that
noise from other processes hits every case alike. Ratios are ours / eigh in the same run.

Usage::

    python benchmarks/bench_linalg.py --n 4000 [--repeats 2] [--vectors 500] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

INPUT_DIMENSION = 784


def relu_nngp_kernel(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Arc-cosine (ReLU) kernel of n random unit vectors in 784 dimensions, and a ±1 target.

    K_ij = (sin θ_ij + (π − θ_ij) cos θ_ij) / (2π), cos θ_ij = x_i·x_j (THEORY.md §2 with
    q = q' = 1). Computed in place to keep the memory at one N×N array.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, INPUT_DIMENSION))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    K = X @ X.T
    np.clip(K, -1.0, 1.0, out=K)
    theta = np.arccos(K)
    K *= np.pi - theta
    np.sin(theta, out=theta)
    K += theta
    del theta
    K /= 2.0 * np.pi
    # X @ X.T is symmetric to round-off only; make it exactly symmetric.
    K += K.T.copy()
    K *= 0.5
    y = np.where(X[:, 0] > 0, 1.0, -1.0)
    return K, y


def _memory_status_kib(field: str) -> int | None:
    """A field of /proc/self/status in KiB (VmRSS: resident now; VmHWM: peak), None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_memory() -> None:
    """Reset VmHWM to the current resident size (Linux ≥ 4.0), so the peak is this call's."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def _child(matrix_path: str, target_path: str, which: str, n_vectors: int, result_path: str) -> None:
    """Run one measurement; print a JSON line with seconds and peak memory above the input."""
    from wilsonian.spectrum import symmetric_eigensystem

    K = np.load(matrix_path)
    y = np.load(target_path)
    # Warm up both BLAS libraries (NumPy's and SciPy's), whose thread buffers would
    # otherwise be counted as the first call's memory.
    warm_K, warm_y = relu_nngp_kernel(300, seed=1)
    np.linalg.eigh(warm_K)
    symmetric_eigensystem(warm_K, warm_y, n_vectors=5, method="tridiagonal")
    del warm_K, warm_y
    # ru_maxrss would do, but it is inherited from the parent through fork and exec.
    _reset_peak_memory()
    before_kib = _memory_status_kib("VmRSS")
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if which == "eigh":
        w, V = np.linalg.eigh(K)
        elapsed = time.perf_counter() - start
        w = w[::-1]
        p = V[:, ::-1].T @ y
    else:
        w, p, _ = symmetric_eigensystem(K, y, n_vectors=n_vectors)
        elapsed = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    peak_kib = _memory_status_kib("VmHWM")
    np.save(result_path, np.stack([w, np.abs(p)]))
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    extra = (peak_kib - before_kib) / 1024 if peak_kib is not None and before_kib is not None else float("nan")
    print(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "peak_extra_mib": extra}))


def _measure(workdir: str, which: str, n_vectors: int, tag: str, threads: int | None) -> dict:
    result_path = os.path.join(workdir, f"result-{tag}.npy")
    args = [sys.executable, os.path.abspath(__file__), "--child", workdir, which, str(n_vectors), result_path]
    env = dict(os.environ)
    if threads:
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[variable] = str(threads)
    done = subprocess.run(args, check=True, capture_output=True, text=True, env=env)
    measurement = json.loads(done.stdout.strip().splitlines()[-1])
    measurement["result"] = np.load(result_path)
    return measurement


def run(n: int = 8000, repeats: int = 2, n_vectors: int = 500, seed: int = 0,
        threads: int | None = None) -> list[dict]:
    """Time eigenvalues + projections (and + top eigenvectors) against numpy.linalg.eigh.

    Parameters
    ----------
    n : int
        Matrix size N.
    repeats : int
        Runs per case; the best (smallest) time is reported.
    n_vectors : int
        k for the "top-k eigenvectors" case (capped at N - 1).
    seed : int
        Seed of the random inputs of the kernel.
    threads : int, optional
        BLAS threads of the measured calls (OPENBLAS_NUM_THREADS etc.); default: the
        library's default. One thread gives steadier ratios on a busy machine.

    Returns
    -------
    list of dict
        One row per case: case, n, n_vectors, ours_s, eigh_s, ratio (wall, best of repeats),
        ours_cpu_s, eigh_cpu_s, cpu_ratio, ours_peak_mib, eigh_peak_mib (peak resident memory
        above the loaded K and y), and the agreement with eigh in the same run:
        eigenvalue_error = max|Δw_k| / w_1 and projection_error = max_K |Δ Σ_{k≤K} p_k²| / |y|².
    """
    k = min(n_vectors, n - 1)
    cases = [("eigh", "eigh", 0), ("eigenvalues+projections", "ours", 0),
             (f"eigenvalues+projections+top{k}", "ours", k)]
    with tempfile.TemporaryDirectory(prefix="bench_linalg_") as workdir:
        K, y = relu_nngp_kernel(n, seed)
        np.save(os.path.join(workdir, "K.npy"), K)
        np.save(os.path.join(workdir, "y.npy"), y)
        del K
        runs: dict[str, list[dict]] = {case: [] for case, _, _ in cases}
        for repeat in range(repeats):
            for case, which, vectors in cases:
                m = _measure(workdir, which, vectors, f"{repeat}-{which}-{vectors}", threads)
                print(f"  [{repeat + 1}/{repeats}] {case}: {m['seconds']:.2f} s", file=sys.stderr, flush=True)
                runs[case].append(m)
    best = {
        case: {
            "seconds": min(m["seconds"] for m in ms),
            "cpu_seconds": min(m["cpu_seconds"] for m in ms),
            "peak_extra_mib": min(m["peak_extra_mib"] for m in ms),
            "result": ms[0]["result"],
        }
        for case, ms in runs.items()
    }
    reference = best["eigh"]
    w_ref, p_ref = reference["result"]
    norm2 = float(y @ y)
    rows = []
    for case, which, vectors in cases[1:]:
        m = best[case]
        w, p = m["result"]
        rows.append({
            "case": case,
            "n": n,
            "n_vectors": vectors,
            "threads": threads or "default",
            "ours_s": m["seconds"],
            "eigh_s": reference["seconds"],
            "ratio": m["seconds"] / reference["seconds"],
            "ours_cpu_s": m["cpu_seconds"],
            "eigh_cpu_s": reference["cpu_seconds"],
            "cpu_ratio": m["cpu_seconds"] / reference["cpu_seconds"],
            "ours_peak_mib": m["peak_extra_mib"],
            "eigh_peak_mib": reference["peak_extra_mib"],
            "eigenvalue_error": float(np.abs(w - w_ref).max() / abs(w_ref[0])),
            "projection_error": float(np.abs(np.cumsum(p**2) - np.cumsum(p_ref**2)).max() / norm2),
        })
    return rows


def _print_table(rows: list[dict]) -> None:
    header = (f"{'case':38s} {'N':>6s} {'ours s':>8s} {'eigh s':>8s} {'ratio':>6s} {'cpu ratio':>9s} "
              f"{'ours MiB':>9s} {'eigh MiB':>9s} {'|dw|/w1':>9s} {'|dcum p2|':>9s}")
    print(header)
    for r in rows:
        print(f"{r['case']:38s} {r['n']:6d} {r['ours_s']:8.2f} {r['eigh_s']:8.2f} {r['ratio']:6.3f} "
              f"{r['cpu_ratio']:9.3f} {r['ours_peak_mib']:9.0f} {r['eigh_peak_mib']:9.0f} "
              f"{r['eigenvalue_error']:9.1e} {r['projection_error']:9.1e}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        workdir, which, n_vectors, result_path = argv[1:5]
        _child(os.path.join(workdir, "K.npy"), os.path.join(workdir, "y.npy"), which, int(n_vectors), result_path)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=8000, help="matrix size N (default 8000)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per case, best reported (default 2)")
    parser.add_argument("--vectors", type=int, default=500, help="k of the top-k case (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: library default)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    rows = run(args.n, repeats=args.repeats, n_vectors=args.vectors, seed=args.seed, threads=args.threads)
    _print_table(rows)
    if args.json:
        from wilsonian.atomic import write_json

        write_json(args.json, rows)


if __name__ == "__main__":
    main()
