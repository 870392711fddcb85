"""`make bench`: every benchmark, one table of side-by-side ratios (ours / baseline, same run).

Sizes are the issue's acceptance sizes; `--quick` shrinks them for a smoke run.
The table is also written to benchmarks/last_run.json with the machine's description.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from common import print_table, row  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, NumPy {np.__version__}"


def kernel_rows(n: int) -> list[dict]:
    import bench_kernels

    rows = []
    for r in bench_kernels.run(n=n):
        rows.append(row(f"kernel {r['case']}, depth {r['depth']}, N={r['n']}, d={r['d']}", r["time_s"], "X·Xᵀ alone",
                        r["baseline_s"], peak_bytes=int(r["peak_extra_mib"] * 2**20),
                        target="≤ 2× (naive NumPy: " + (f"{r['naive_ratio']:.1f}×)" if np.isfinite(r["naive_ratio"]) else "n/a)")))
    return rows


def linalg_rows(n: int) -> list[dict]:
    import bench_linalg

    rows = []
    for r in bench_linalg.run(n=n):
        target = "≤ 0.6×" if r["n_vectors"] == 0 else "≤ 0.7×"
        rows.append(row(f"eigen: {r['case']}, N={r['n']}", r["ours_s"], "numpy.linalg.eigh", r["eigh_s"],
                        peak_bytes=int(r["ours_peak_mib"] * 2**20), target=target,
                        eigenvalue_error=r["eigenvalue_error"], projection_error=r["projection_error"]))
    return rows


def conv_rows(n: int) -> list[dict]:
    """The CNN flatten kernel against neural-tangents on the same inputs. neural-tangents' pins
    need a venv of their own (.ci/crosscheck makes it: $CROSSCHECK_VENV or .venv-crosscheck), so
    crosscheck.py --speed-only runs there and reports both times; without it the row says so."""
    import subprocess
    import tempfile

    venv = Path(os.environ.get("CROSSCHECK_VENV", HERE.parent / ".venv-crosscheck"))
    python = venv / "bin" / "python"
    case = f"CNN {{}} flatten, ReLU, 2 layers 3×3 SAME, 28×28×1, N={n}"
    if not python.exists():
        print(f"conv: no neural-tangents venv at {venv} (run .ci/crosscheck once); rows skipped", file=sys.stderr)
        return [row(case.format(k) + " (neural-tangents venv missing)", float("nan"), "neural-tangents", float("nan"))
                for k in ("NNGP", "NTK")]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speed.json"
        env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
        subprocess.run([str(python), str(HERE / "crosscheck.py"), "--speed-only", "--n-speed", str(n),
                        "--json", str(out)], check=True, env=env, stdout=subprocess.DEVNULL)
        speed = json.loads(out.read_text())["cnn_speed"]
    return [row(case.format(r["case"].split()[1].upper()), r["ours_s"], "neural-tangents (jitted, 2nd call)",
                r["nt_s"], target="faster (ratio < 1)", max_rel_diff=r["max_rel_diff"]) for r in speed]


def toy_rows(trials: int) -> list[dict]:
    import bench_toy

    results = bench_toy.run(trials=trials)
    base = results[0]
    return [row(f"toy Monte Carlo, {trials:.0e} trials, {r['name']}", r["seconds"], base["name"], base["seconds"],
                target="≥ 8× faster (ratio ≤ 0.125)") for r in results[1:]]


#: The row groups, in the order they run (``--only`` picks some).
GROUPS = ("kernels", "linalg", "learning", "theory", "toy", "pipeline", "commands", "ridges", "conv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test, not the targets)")
    parser.add_argument("--only", help=f"comma-separated subset: {','.join(GROUPS)}")
    parser.add_argument("--commands-n", type=int, default=10_000,
                        help="pool size of the whole-command rows (10,000 is the paper's; about 20 min on 2 cores)")
    args = parser.parse_args()
    quick = args.quick
    chosen = set(args.only.split(",")) if args.only else set(GROUPS)
    unknown = chosen - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}; choose from {', '.join(GROUPS)}")
    rows: list[dict] = []
    started = time.perf_counter()
    if "kernels" in chosen:
        rows += kernel_rows(1500 if quick else 4000)
    if "linalg" in chosen:
        rows += linalg_rows(2000 if quick else 8000)
    if "learning" in chosen:
        import bench_learning_curve
        rows += bench_learning_curve.run(n=3000 if quick else 10_000, trials=4 if quick else 20)
    if "theory" in chosen:
        import bench_theory
        rows += bench_theory.run()
    if "toy" in chosen:
        rows += toy_rows(500_000 if quick else 5_000_000)
    if "pipeline" in chosen:
        import bench_pipeline
        rows += bench_pipeline.run(n=3000 if quick else 10_000)
    if "commands" in chosen:
        import bench_commands
        rows += bench_commands.run(n=1000 if quick else args.commands_n, trials=200_000 if quick else 5_000_000)
    if "ridges" in chosen:
        import bench_ridges
        rows += bench_ridges.run(count=5 if quick else 20, trials=4 if quick else 20)
    if "conv" in chosen:
        rows += conv_rows(100 if quick else 300)
    print(f"machine: {machine()}")
    print_table(rows)
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")
    record = {"machine": machine(), "quick": quick, "rows": rows}
    (HERE / "last_run.json").write_text(json.dumps(record, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
