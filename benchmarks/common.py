"""Shared timing helpers for the benchmarks: best-of-n wall time and peak traced memory."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np


def best_time(fn, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls, in seconds."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def peak_memory(fn) -> tuple[object, int]:
    """(result, peak bytes allocated through tracemalloc during the call; NumPy reports to it)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        value = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return value, int(peak)


def row(case: str, ours: float, baseline_name: str, baseline: float, *, peak_bytes: int | None = None,
        target: str = "", **extra) -> dict:
    """One line of the benchmark table; ``ratio`` = ours / baseline (lower is faster)."""
    return {
        "case": case,
        "ours_s": ours,
        "baseline": baseline_name,
        "baseline_s": baseline,
        "ratio": ours / baseline if baseline > 0 else float("nan"),
        "peak_mb": None if peak_bytes is None else peak_bytes / 2**20,
        "target": target,
        **extra,
    }


def print_table(rows: list[dict]) -> None:
    print(f"{'case':<58} {'ours [s]':>9} {'baseline [s]':>12} {'ratio':>7} {'peak MB':>8}  target / baseline")
    for r in rows:
        peak = "" if r.get("peak_mb") is None else f"{r['peak_mb']:.0f}"
        print(f"{r['case']:<58} {r['ours_s']:>9.4g} {r['baseline_s']:>12.4g} {r['ratio']:>7.3f} {peak:>8}  "
              f"{r.get('target', '')} vs {r['baseline']}")
