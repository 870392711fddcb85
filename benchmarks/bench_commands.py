"""Benchmark: every command as a whole process, next to its computation alone, against baselines.

Each command (``run``, ``reproduce fig1`` … ``fig5``, ``toy``) runs as the user runs it, in a
child process: ``python benchmarks/_timed_command.py`` calls the command line unchanged and
times its parts from inside (start-up, the computation, the writing of figures and files).
The parent measures the child's wall time: start-up, loading compiled code from a warm
numba cache (every command is run once at a tiny size first), the computation, the figures
and the files. All runs use ``--no-cache``: every number is computed.

Baselines, measured in the same run, each in its own child process:

- ``run``, ``reproduce fig1``, ``fig2``, ``fig4``, ``fig5``: one ``numpy.linalg.eigh`` (all
  eigenvectors) of the N×N kernel matrix of each task the command computes (one for
  ``run``, two for the figures). That is the eigendecomposition with vectors that fig2 and
  fig5 need (fig2 now needs only a few vectors, so it can beat it);
- ``toy`` and ``reproduce fig3``: the straightforward vectorized NumPy Monte Carlo of
  benchmarks/bench_toy.py, once per λ_> the command computes (two: 0 and 0.1).

Each command gives two rows: the whole process and its computation alone, both as ratios to
the same baseline; ``figures_s`` is the time of its writer (figures and files, after the
computation) and ``startup_s`` the time before its computation starts.

    python benchmarks/bench_commands.py [--n 10000] [--trials 5000000] [--only toy,fig5]
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

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from common import print_table, row  # noqa: E402

from wilsonian.data import default_data_dir  # noqa: E402

COMMANDS = ("run", "fig1", "fig2", "fig3", "fig4", "fig5", "toy")
TASKS = {"fashion-mnist": ("0,9", "7,9"), "digits": ("8,9", "0,1")}  # as `reproduce` chooses them
TOY_LAMBDAS = (0.0, 0.1)

EIGH_CHILD = """
import sys, time, numpy as np
from wilsonian.data import build_pool
from wilsonian.kernels import nngp
dataset, classes, n = sys.argv[1], sys.argv[2], (int(sys.argv[3]) if sys.argv[3] != "all" else None)
pool = build_pool(dataset, classes=classes, n_pool=n, seed=0)
K = nngp(pool.X)
t0 = time.perf_counter(); np.linalg.eigh(K); print(time.perf_counter() - t0)
"""

TOY_CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from bench_toy import baseline_monte_carlo
trials = int(sys.argv[2])
t0 = time.perf_counter()
for lambda_high in [float(v) for v in sys.argv[3].split(",")]:
    baseline_monte_carlo(trials, lambda_high=lambda_high)
print(time.perf_counter() - t0)
"""


def _wall(args: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:6])} ... failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, done.stdout


def command_args(name: str, dataset: str, n: int | None, trials: int) -> list[str]:
    """The command line of ``name`` at the benchmark's size (without --out)."""
    pool = [] if n is None else ["--n-pool", str(n)]
    data = ["--dataset", dataset, *pool]
    if name == "toy":
        return ["toy", "--trials", str(trials), "--quiet"]
    if name == "fig3":
        return ["reproduce", "fig3", "--trials-mc", str(trials), "--quiet", "--no-cache"]
    if name == "run":
        return ["run", *data, "--classes", TASKS[dataset][0], "--quiet", "--no-cache"]
    return ["reproduce", name, *data, "--quiet", "--no-cache"]


def timed_command(args: list[str]) -> dict:
    """Wall time of the whole child process and the parts it timed from inside."""
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "record.json"
        wall, _ = _wall([sys.executable, str(HERE / "_timed_command.py"), str(record), *args,
                         "--out", str(Path(tmp) / "out")])
        parts = json.loads(record.read_text())
    return {"wall_s": wall, **parts}


def eigh_seconds(dataset: str, classes: str, n: int | None) -> float:
    _, out = _wall([sys.executable, "-c", EIGH_CHILD, dataset, classes, "all" if n is None else str(n)])
    return float(out.strip().splitlines()[-1])


def toy_baseline_seconds(trials: int) -> float:
    _, out = _wall([sys.executable, "-c", TOY_CHILD, str(HERE), str(trials),
                    ",".join(str(v) for v in TOY_LAMBDAS)])
    return float(out.strip().splitlines()[-1])


def warm_up(chosen: list[str], dataset: str) -> None:
    """Each command once at a tiny size: numba's cache is warm before anything is timed."""
    tiny = {"run": 400, "fig1": 400, "fig2": 400, "fig4": 400, "fig5": 400}
    for name in chosen:
        n = None if dataset == "digits" else tiny.get(name)
        timed_command(command_args(name, dataset, n, 2_000))


def run(n: int | None = 10_000, trials: int = 5_000_000, only: list[str] | None = None) -> list[dict]:
    chosen = [c for c in COMMANDS if only is None or c in only]
    dataset = "fashion-mnist" if default_data_dir("fashion-mnist") is not None else "digits"
    if dataset == "digits":
        n = None  # the digits tasks are small: the whole task
    warm_up(chosen, dataset)
    baselines: dict[str, tuple[str, float]] = {}
    if any(c in chosen for c in ("run", "fig1", "fig2", "fig4", "fig5")):
        eighs = [eigh_seconds(dataset, classes, n) for classes in TASKS[dataset]]
        size = "N" if n is None else f"N={n}"
        baselines["one"] = (f"numpy.linalg.eigh of K ({size})", eighs[0])
        baselines["two"] = (f"numpy.linalg.eigh of both tasks' K ({size})", sum(eighs))
    if any(c in chosen for c in ("toy", "fig3")):
        baselines["toy"] = ("NumPy Monte Carlo, λ_> = 0 and 0.1", toy_baseline_seconds(trials))
    targets = {"fig2": "≤ 1.5×", "fig5": "≤ 1.5×", "toy": "≥ 15× faster (≤ 0.067)", "fig3": "≥ 15× faster (≤ 0.067)"}
    rows = []
    for name in chosen:
        args = command_args(name, dataset, n, trials)
        parts = timed_command(args)
        base_name, base_s = baselines["toy" if name in ("toy", "fig3") else "one" if name == "run" else "two"]
        label = " ".join(a for a in args if a not in ("--quiet", "--no-cache", "--dataset"))
        extra = dict(startup_s=parts["startup_s"], compute_s=parts["compute_s"], figures_s=parts["write_s"],
                     figure_share=parts["write_s"] / parts["wall_s"])
        rows.append(row(f"{label}: whole process", parts["wall_s"], base_name, base_s,
                        target=targets.get(name, ""), **extra))
        rows.append(row(f"{label}: computation alone", parts["compute_s"], base_name, base_s, **extra))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="pool size per task (default: the paper's 10,000)")
    parser.add_argument("--trials", type=int, default=5_000_000, help="toy / fig3 training sets")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(COMMANDS)}")
    args = parser.parse_args()
    rows = run(args.n, args.trials, args.only.split(",") if args.only else None)
    print(f"{os.cpu_count()} CPUs")
    print_table(rows)
    print(f"{'command':<58} {'start-up':>9} {'compute':>9} {'figures':>9} {'share':>6}")
    for r in rows[::2]:
        print(f"{r['case'].rsplit(':', 1)[0]:<58} {r['startup_s']:>9.2f} {r['compute_s']:>9.2f} "
              f"{r['figures_s']:>9.2f} {r['figure_share']:>6.1%}")


if __name__ == "__main__":
    main()
