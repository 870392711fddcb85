"""Benchmark: the whole `wilsonian run` job against one dense eigendecomposition.

Ours: `wilsonian run` on a pool of N points (Fashion-MNIST t-shirt/top vs ankle boot when
installed, else Gaussian inputs) with default settings and no cache, in a child process so
that its peak resident memory can be read (ru_maxrss). Baseline: ``numpy.linalg.eigh`` of an
N×N kernel matrix, timed in another child process in the same run. Target (issue 6):
ours ≤ 2.5× the baseline, peak memory < 4·N²·8 bytes.

Usage: python benchmarks/bench_pipeline.py [--n 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, row  # noqa: E402

from wilsonian.data import default_data_dir  # noqa: E402

EIGH_CHILD = """
import sys, time, numpy as np
from wilsonian.data import build_pool
from wilsonian.kernels import nngp
n = int(sys.argv[1]); dataset = sys.argv[2]
kw = dict(classes="0,9") if dataset == "fashion-mnist" else dict(dim=50)
pool = build_pool(dataset, n_pool=n, seed=0, **kw)
K = nngp(pool.X)
t0 = time.perf_counter(); np.linalg.eigh(K); print(time.perf_counter() - t0)
"""


def _child(args: list[str]) -> tuple[float, str, int]:
    """Run a child process; return (wall seconds, stdout, its peak RSS in bytes)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout:
        proc = subprocess.Popen(args, stdout=stdout, stderr=subprocess.DEVNULL, text=True)
        # os.wait4 gives this child's own resource usage (RUSAGE_CHILDREN would be the
        # maximum over every child this process has waited for, e.g. earlier benchmarks).
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{args[:3]} failed with exit code {proc.returncode}")
        stdout.seek(0)
        return wall, stdout.read(), usage.ru_maxrss * 1024


def run(n: int = 10_000) -> list[dict]:
    dataset = "fashion-mnist" if default_data_dir("fashion-mnist") is not None else "gaussian"
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "wilsonian", "run", "--dataset", dataset, "--n-pool", str(n),
               "--no-cache", "--quiet", "--out", str(Path(tmp) / "out")]
        if dataset == "fashion-mnist":
            cmd += ["--classes", "0,9"]
        wall, _, peak = _child(cmd)
        info = json.loads((Path(tmp) / "out" / "run_info.json").read_text())
    _, out, _ = _child([sys.executable, "-c", EIGH_CHILD, str(n), dataset])
    eigh_seconds = float(out.strip().splitlines()[-1])
    limit = 4 * n * n * 8
    return [row(f"wilsonian run, N={n} ({dataset}), defaults, no cache", wall, "one numpy.linalg.eigh",
                eigh_seconds, peak_bytes=peak, target=f"≤ 2.5×, peak < {limit / 2**30:.1f} GiB",
                stages=info["timings_s"], peak_over_limit=peak / limit)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    rows = run(args.n)
    print_table(rows)
    print("stages (s):", {k: round(v, 2) for k, v in rows[0]["stages"].items()})
