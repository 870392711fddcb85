"""--out never deletes or replaces a file that wilsonian did not write."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from wilsonian.app.outputs import MARKER, check_output_dir
from wilsonian.app.cli import main
from wilsonian.errors import WilsonianError

FAST = ["--etas", "5,10", "--trials", "2", "--quiet"]


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_refused(code, err, *words):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def user_folder(tmp_path):
    folder = tmp_path / "paper"
    (folder / "figures").mkdir(parents=True)
    (folder / "draft.tex").write_text("\\section{Results}")
    (folder / "figures" / "plot.png").write_bytes(b"\x89PNG user figure")
    return folder


def test_run_refuses_a_folder_it_did_not_write(user_folder, tmp_path, capsys):
    before = snapshot(user_folder)
    cache = tmp_path / "cache"
    code, _, err = run_cli(["run", "--out", str(user_folder), "--cache-dir", str(cache), *FAST], capsys)
    assert_refused(code, err, "not written by wilsonian", MARKER)
    assert snapshot(user_folder) == before
    assert not cache.exists()  # refused before any work
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper"]  # no staging leftovers


def test_toy_and_reproduce_refuse_a_folder_they_did_not_write(user_folder, capsys):
    before = snapshot(user_folder)
    code, _, err = run_cli(["toy", "--trials", "100", "--quiet", "--out", str(user_folder)], capsys)
    assert_refused(code, err, "not written by wilsonian")
    code, _, err = run_cli(["reproduce", "fig3", "--trials-mc", "100", "--quiet", "--out", str(user_folder)], capsys)
    assert_refused(code, err, "not written by wilsonian")
    assert snapshot(user_folder) == before


def test_a_symlink_to_a_user_folder_is_refused(user_folder, tmp_path, capsys):
    link = tmp_path / "link"
    link.symlink_to(user_folder)
    before = snapshot(user_folder)
    code, _, err = run_cli(["run", "--out", str(link), "--no-cache", *FAST], capsys)
    assert_refused(code, err, "not written by wilsonian")
    assert snapshot(user_folder) == before


def test_working_directory_and_above_are_refused(tmp_path, monkeypatch, capsys):
    work = tmp_path / "project" / "work"
    work.mkdir(parents=True)
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work)
    for out in (".", str(work), str(tmp_path / "project")):
        code, _, err = run_cli(["run", "--out", out, "--no-cache", *FAST], capsys)
        assert_refused(code, err, "the working directory")
    assert (work / "notes.txt").read_text() == "mine"


def test_data_file_folder_and_cache_are_refused(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    np.savez(data / "pool.npz", X=rng.normal(size=(60, 4)), y=np.sign(rng.normal(size=60)))
    before = (data / "pool.npz").read_bytes()
    args = ["run", "--dataset", "npz", "--data-file", str(data / "pool.npz"), *FAST]
    code, _, err = run_cli([*args, "--no-cache", "--out", str(data)], capsys)
    assert_refused(code, err, "the data file")
    code, _, err = run_cli([*args, "--no-cache", "--out", str(data / "pool.npz")], capsys)
    assert_refused(code, err, "not a directory")
    assert (data / "pool.npz").read_bytes() == before

    cache = tmp_path / "caches" / "wilsonian"
    code, _, _ = run_cli([*args, "--cache-dir", str(cache), "--out", str(tmp_path / "ok")], capsys)
    assert code == 0
    entries = snapshot(cache)
    for out in (cache, cache.parent):
        code, _, err = run_cli([*args, "--cache-dir", str(cache), "--out", str(out)], capsys)
        assert_refused(code, err, "the cache directory")
    assert snapshot(cache) == entries


def test_root_and_mount_points_are_refused(tmp_path, monkeypatch):
    with pytest.raises(WilsonianError, match="root of a file system"):
        check_output_dir("/")
    mounted = tmp_path / "disk"
    mounted.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == mounted or real_ismount(p))
    with pytest.raises(WilsonianError, match="root of a file system"):
        check_output_dir(mounted)


def test_out_under_a_regular_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(["run", "--out", str(tmp_path / "file" / "out"), "--no-cache", *FAST], capsys)
    assert_refused(code, err, "is a file")
    assert (tmp_path / "file").read_text() == "x"


def test_own_output_is_replaced_and_an_empty_folder_is_used(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()  # empty: nothing to lose
    code, _, _ = run_cli(["run", "--out", str(out), "--no-cache", *FAST], capsys)
    assert code == 0
    marker = json.loads((out / MARKER).read_text())
    assert marker["written_by"] == "wilsonian"
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {MARKER}
    assert set(marker["files"]) == written and "results.json" in written
    first = (out / "results.json").read_bytes()
    # the second run replaces the first one's folder, which it recognises by the marker
    code, _, _ = run_cli(["run", "--out", str(out), "--no-cache", "--seed", "1", *FAST], capsys)
    assert code == 0
    assert (out / "results.json").read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("change", ["add", "edit", "add-dir"])
def test_own_output_with_user_changes_is_refused(tmp_path, capsys, change):
    out = tmp_path / "out"
    assert run_cli(["run", "--out", str(out), "--no-cache", *FAST], capsys)[0] == 0
    if change == "add":
        (out / "my_notes.txt").write_text("keep")
        word = "my_notes.txt, which wilsonian did not write"
    elif change == "edit":
        (out / "learning_curve.csv").write_text("edited by hand")
        word = "learning_curve.csv, which was changed"
    else:
        (out / "analysis").mkdir()
        (out / "analysis" / "fit.py").write_text("print()")
        word = "analysis/fit.py"
    before = snapshot(out)
    code, _, err = run_cli(["run", "--out", str(out), "--no-cache", *FAST], capsys)
    assert_refused(code, err, word)
    assert snapshot(out) == before


def test_a_folder_with_a_forged_or_broken_marker_is_refused(user_folder):
    (user_folder / MARKER).write_text("{not json")
    with pytest.raises(WilsonianError, match="unreadable"):
        check_output_dir(user_folder)
    (user_folder / MARKER).write_text(json.dumps({"written_by": "wilsonian", "files": {}}))
    with pytest.raises(WilsonianError, match="draft.tex, which wilsonian did not write"):
        check_output_dir(user_folder)
