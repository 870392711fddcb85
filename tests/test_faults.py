"""Faults: a run killed at each stage, a full disk, a read-only cache, concurrent runs.

Nothing may be lost: ``--out`` always holds a complete result (the previous one, or the new
one), leftovers of killed runs are removed by the next run, and the cache never holds a
half-written entry.
"""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wilsonian.app.cli import main
from wilsonian.app.outputs import MARKER, check_replaceable

FAST = ["--etas", "5,10", "--trials", "2"]


def wilsonian(*args, env=None, check=True):
    proc = subprocess.run([sys.executable, "-m", "wilsonian", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def previous(tmp_path_factory):
    """A finished run (seed 0) to be replaced by a run that is killed (seed 1)."""
    root = tmp_path_factory.mktemp("faults")
    cache = root / "cache"
    wilsonian("run", "--quiet", "--out", str(root / "reference"), "--cache-dir", str(cache), *FAST)
    return root, cache


@pytest.mark.parametrize("stage, env", [
    ("after-spectrum", {}),
    ("before-file-rename", {}),          # a cache entry or output file half-way to its name
    ("before-swap", {}),                 # the new results staged, not yet swapped in
    ("after-exchange", {}),              # swapped in one step; the old folder not yet removed
    ("between-renames", {"WILSONIAN_NO_EXCHANGE": "1"}),  # where no exchange exists: two renames
])
def test_a_run_killed_at_any_stage_loses_nothing(previous, tmp_path, stage, env):
    root, cache = previous
    out = tmp_path / "out"
    args = ["run", "--quiet", "--out", str(out), "--cache-dir", str(tmp_path / "cache"), *FAST]
    wilsonian(*args, "--seed", "0", env=env)
    before = snapshot(out)
    killed = wilsonian(*args, "--seed", "1", env={**env, "WILSONIAN_FAULT": stage}, check=False)
    assert killed.returncode == 137, killed.stderr
    if stage == "between-renames":
        # the window of the two-rename fallback: the folder is aside, and the next command
        # that looks at --out puts it back before anything else (here one that then fails)
        bad = wilsonian(*args, "--classes", "1,99", env=env, check=False)
        assert bad.returncode == 2
    if stage == "after-exchange":
        # the new results are complete and in place; the old ones are a leftover
        results = json.loads((out / "results.json").read_text())
        assert results["config"]["seed"] == 1
        check_replaceable(out)
    else:
        assert snapshot(out) == before  # the previous results, untouched
    # the next run succeeds, and leaves no leftover of the killed one
    wilsonian(*args, "--seed", "2", env=env)
    assert leftovers(tmp_path) == []
    assert json.loads((out / "results.json").read_text())["config"]["seed"] == 2
    stray = [p for p in (tmp_path / "cache").rglob("*") if p.name.endswith(".tmp")]
    assert stray == [] or stage == "before-file-rename"  # a killed writer's temporary file...


def test_a_killed_cache_write_leaves_no_half_entry(tmp_path):
    cache = tmp_path / "cache"
    killed = wilsonian("run", "--quiet", "--out", str(tmp_path / "a"), "--cache-dir", str(cache), *FAST,
                       env={"WILSONIAN_FAULT": "before-file-rename"}, check=False)
    assert killed.returncode == 137
    assert not list(cache.rglob("*.npz"))  # no entry under its final name
    again = wilsonian("run", "--out", str(tmp_path / "b"), "--cache-dir", str(cache), *FAST)
    assert "corrupt" not in again.stderr
    assert list(cache.rglob("*.npz"))


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_full_disk_for_the_output_is_one_error_line_and_keeps_the_previous_results(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert run_cli(["run", "--quiet", "--no-cache", "--out", str(out), *FAST], capsys)[0] == 0
    before = snapshot(out)
    real_write = Path.write_text

    def full(self, *args, **kwargs):
        if self.name == "learning_curve.csv":
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    code, _, err = run_cli(["run", "--quiet", "--no-cache", "--out", str(out), "--seed", "1", *FAST], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: No space left on device") and "disk is full" in err
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("failure", [errno.EROFS, errno.ENOSPC, errno.EACCES])
def test_an_unwritable_cache_is_a_warning_and_the_run_carries_on(tmp_path, capsys, monkeypatch, failure):
    import wilsonian.store as store

    cache = str(tmp_path / "cache")
    real_open = os.open

    def unwritable(path, *args, **kwargs):
        raise OSError(failure, os.strerror(failure), str(path))

    def open_outside_the_cache(path, *args, **kwargs):  # the entry's lock file fails, too
        if str(path).startswith(cache):
            unwritable(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(store, "save_npz", unwritable)
    monkeypatch.setattr(store.os, "open", open_outside_the_cache)
    code, _, err = run_cli(["run", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), *FAST],
                           capsys)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning: cannot write the cache")]
    assert len(warnings) == 1 and os.strerror(failure) in warnings[0]
    info = json.loads((tmp_path / "out" / "run_info.json").read_text())
    assert info["cache"]["writable"] is False
    assert (tmp_path / "out" / "results.json").exists()


def test_concurrent_runs_on_one_output_and_one_cache_all_succeed(tmp_path):
    """Two runs at once, same --out and same cache: both finish; the kernel is computed once
    (the second waits on the entry's lock and reuses it); the folder is one complete result."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = [sys.executable, "-m", "wilsonian", "run", "--out", str(out), "--cache-dir", str(cache),
            "--dataset", "digits", "--classes", "0,1", *FAST]
    procs = [subprocess.Popen([*args, "--seed", str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for seed in (0, 1)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    reused = sum("cache: reusing kernel" in err for _, err in results)
    assert reused == 1
    assert len(list((cache / "kernel").glob("*.npz"))) == 1
    check_replaceable(out)
    assert json.loads((out / MARKER).read_text())["written_by"] == "wilsonian"
    assert json.loads((out / "results.json").read_text())["config"]["seed"] in (0, 1)
    assert leftovers(tmp_path) == []


def test_non_finite_kernels_are_refused_before_the_matrix_and_never_cached(tmp_path, capsys):
    cache = tmp_path / "cache"
    code, _, err = run_cli(["run", "--quiet", "--out", str(tmp_path / "o"), "--cache-dir", str(cache),
                            "--weight-var", "1e100", "--depth", "5", *FAST], capsys)
    assert code == 2 and err.startswith("error: the kernel overflows") and err.count("\n") == 1
    assert not list(cache.rglob("*.npz")) and not (tmp_path / "o").exists()


def test_one_seed_gives_the_same_results_file_wherever_it_writes(tmp_path, capsys):
    runs = [("a", "c1"), ("elsewhere/b", "c2"), ("a2", "c1")]  # the last one reads c1's cache
    files = []
    for out, cache in runs:
        assert run_cli(["run", "--quiet", "--out", str(tmp_path / out), "--cache-dir", str(tmp_path / cache),
                        *FAST], capsys)[0] == 0
        files.append((tmp_path / out / "results.json").read_bytes())
    assert files[0] == files[1] == files[2]
    info = json.loads((tmp_path / "a" / "run_info.json").read_text())
    assert info["invocation"]["out"] == str(tmp_path / "a")


def test_one_draw_reports_an_undefined_standard_error_in_run_and_toy(tmp_path, capsys):
    assert run_cli(["run", "--quiet", "--no-cache", "--out", str(tmp_path / "r"), "--etas", "5,10", "--trials", "1"],
                   capsys)[0] == 0
    lc = json.loads((tmp_path / "r" / "results.json").read_text())["learning_curve"]
    assert lc["empirical_sem"] == [None, None]
    assert run_cli(["toy", "--quiet", "--out", str(tmp_path / "t"), "--trials", "1"], capsys)[0] == 0
    rows = json.loads((tmp_path / "t" / "toy.json").read_text())["results"]
    assert all(row["mc_slope_se"] is None for row in rows)
    assert np.isfinite(rows[0]["mc_slope"])
