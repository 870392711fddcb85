"""The workbench: config files (round trip, overrides, bad files) and sweeps (sharing, resuming,
the tidy table, bad grids), through the command line as a user calls it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from wilsonian.app.cli import main

SMALL = ["--n-pool", "300", "--etas", "10,40", "--trials", "2", "--quiet"]


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *words):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])


# ----------------------------------------------------------------------------- config files


def test_a_runs_config_json_reproduces_it_byte_for_byte(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    code, _, err = run_cli(["run", *SMALL, "--classes", "all", "--ridge", "1e-6,1e-2", "--label-noise", "0.05",
                            "--no-cache", "--out", first], capsys)
    assert code == 0, err
    code, _, err = run_cli(["run", "--config", first / "config.json", "--no-cache", "--quiet", "--out", second],
                           capsys)
    assert code == 0, err
    assert (second / "results.json").read_bytes() == (first / "results.json").read_bytes()
    assert (second / "config.json").read_bytes() == (first / "config.json").read_bytes()
    assert (second / "learning_curve.csv").read_bytes() == (first / "learning_curve.csv").read_bytes()


def test_the_command_line_overrides_the_file_and_the_file_the_defaults(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('n-pool = 300\netas = [10, 40]\ntrials = 3\nridge = [1e-4]\nlabel_noise = 0.01\n')
    out = tmp_path / "o"
    code, _, err = run_cli(["run", "--config", config, "--trials", "2", "--quiet", "--no-cache", "--out", out],
                           capsys)
    assert code == 0, err
    saved = json.loads((out / "config.json").read_text())
    assert saved["trials"] == 2  # the command line
    assert saved["ridge"] == 1e-4 and saved["label_noise"] == 0.01 and saved["n_pool"] == 300  # the file
    assert saved["threshold"] == 0.5 and saved["depth"] == 2  # the defaults


@pytest.mark.parametrize("text, suffix, words", [
    ("n-pool = 300\nbogus-option = 1\n", ".toml", ["bogus-option"]),
    ("n-pool = 'many'\n", ".toml", ["n-pool"]),
    ("trials = 2.5\n", ".toml", ["trials"]),
    ('{"ridge": "small"}', ".json", ["ridge"]),
    ("n-pool = = 3\n", ".toml", ["run.toml"]),
    ("[1, 2", ".json", ["run.json"]),
    ("n-pool = 300\n\n[grid]\ndepth = [1, 2]\n", ".toml", ["[grid]", "sweep"]),  # a sweep's file, not a run's
])
def test_bad_config_files_are_one_line_errors_and_write_nothing(tmp_path, capsys, text, suffix, words):
    config = tmp_path / f"run{suffix}"
    config.write_text(text)
    out, cache = tmp_path / "o", tmp_path / "cache"
    code, stdout, err = run_cli(["run", "--config", config, "--cache-dir", cache, "--out", out], capsys)
    assert_one_line_error(code, err, *words)
    assert not out.exists() and not cache.exists()


def test_a_missing_config_file_is_named(tmp_path, capsys):
    missing = tmp_path / "nowhere.toml"
    for command in ("run", "sweep"):
        code, _, err = run_cli([command, "--config", missing, "--out", tmp_path / "o"], capsys)
        assert_one_line_error(code, err, "nowhere.toml")
    assert not (tmp_path / "o").exists()


def test_a_folder_given_as_the_config_file_is_called_a_folder(tmp_path, capsys):
    folder = tmp_path / "previous"
    folder.mkdir()
    code, _, err = run_cli(["run", "--config", folder, "--out", tmp_path / "o"], capsys)
    assert_one_line_error(code, err, "a folder, not a file")
    assert "config.json" not in err
    (folder / "config.json").write_text("{}")       # a run's output folder: name the file in it
    code, _, err = run_cli(["run", "--config", folder, "--out", tmp_path / "o"], capsys)
    assert_one_line_error(code, err, "a folder, not a file", "holds config.json")
    assert not (tmp_path / "o").exists()


def test_a_config_file_takes_the_command_lines_syntax(tmp_path, capsys):
    # etas and ridges as the command line writes them, a TOML table of activation
    # parameters, and figure-formats (an option of the output, not of the run)
    config = tmp_path / "run.toml"
    config.write_text('n-pool = 300\netas = "10,40"\ntrials = 2\nridge = "1e-6:1e-2:3"\n'
                      'activation = "leaky-relu"\nactivation-params = {slope = 0.2}\nfigure-formats = "png,pdf"\n')
    code, _, err = run_cli(["run", "--config", config, "--quiet", "--no-cache", "--out", tmp_path / "a"], capsys)
    assert code == 0, err
    assert (tmp_path / "a" / "figures" / "learning_curves.pdf").exists()
    code, _, err = run_cli(["run", "--n-pool", "300", "--etas", "10,40", "--trials", "2", "--ridge", "1e-6:1e-2:3",
                            "--activation", "leaky-relu", "--activation-param", "slope=0.2", "--quiet", "--no-cache",
                            "--out", tmp_path / "b"], capsys)
    assert code == 0, err
    assert not (tmp_path / "b" / "figures" / "learning_curves.pdf").exists()
    for name in ("results.json", "config.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # the flag's own spelling, --activation-param, is a key too
    config.write_text(config.read_text().replace("activation-params", "activation-param"))
    code, _, err = run_cli(["run", "--config", config, "--quiet", "--no-cache", "--out", tmp_path / "d"], capsys)
    assert code == 0, err
    assert (tmp_path / "d" / "results.json").read_bytes() == (tmp_path / "b" / "results.json").read_bytes()
    config.write_text('figure-formats = 3\n')
    code, _, err = run_cli(["run", "--config", config, "--quiet", "--no-cache", "--out", tmp_path / "c"], capsys)
    assert_one_line_error(code, err, "figure-formats")


def test_a_sweep_files_grid_takes_the_command_lines_syntax(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text('n-pool = 300\netas = [10, 40]\ntrials = 2\n\n[grid]\nthreshold = "0.25,0.75"\n')
    code, _, err = run_cli(["sweep", "--config", config, "--quiet", "--no-cache", "--out", tmp_path / "a"], capsys)
    assert code == 0, err
    code, _, err = run_cli(["sweep", *SMALL, "--grid", "threshold=0.25,0.75", "--no-cache", "--out", tmp_path / "b"],
                           capsys)
    assert code == 0, err
    assert (tmp_path / "a" / "sweep.csv").read_bytes() == (tmp_path / "b" / "sweep.csv").read_bytes()


def test_a_config_file_of_another_version_is_read_with_a_warning(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"n_pool": 300, "etas": [10, 40], "trials": 2, "version": "0.0.1"}))
    code, _, err = run_cli(["run", "--config", config, "--quiet", "--no-cache", "--out", tmp_path / "a"], capsys)
    assert code == 0, err
    assert err == f"warning: --config {config} was written by wilsonian 0.0.1, this is " \
                  f"{json.loads((tmp_path / 'a' / 'config.json').read_text())['version']}: its numbers may differ\n"


# ----------------------------------------------------------------------------------- sweeps


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_threshold_and_ridge_sweep_shares_one_spectrum_and_matches_single_runs(tmp_path, capsys):
    out, cache = tmp_path / "sweep", tmp_path / "cache"
    code, stdout, err = run_cli(["sweep", *SMALL, "--grid", "threshold=0.3,0.7", "--grid", "ridge=1e-6,1e-2",
                                 "--cache-dir", cache, "--out", out], capsys)
    assert code == 0, err
    record = json.loads((out / "sweep.json").read_text())
    assert len(record["groups"]) == 1  # T and the ridge need no new spectrum
    assert len(record["rows"]) == 4
    rows = read_csv(out / "sweep.csv")
    assert list(rows[0])[:3] == ["threshold", "ridge", "eta"] and len(rows) == 4 * 2
    # the same numbers as a run of its own at one grid point
    single = tmp_path / "single"
    code, _, err = run_cli(["run", *SMALL, "--threshold", "0.7", "--ridge", "1e-2", "--no-cache", "--out", single],
                           capsys)
    assert code == 0, err
    alone = json.loads((single / "results.json").read_text())["learning_curve"]
    point = [r for r in rows if float(r["threshold"]) == 0.7 and float(r["ridge"]) == 1e-2]
    for column in ("empirical_mean", "spectral_bias", "rg", "rg_ridge", "train_empirical_mean"):
        np.testing.assert_allclose([float(r[column]) for r in point], alone[column], rtol=1e-9)
    for name in ("sweep_ratios", "sweep_flow"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
    # What a sweep group's cache entry holds at CONTENT_VERSIONS["sweep-group"] == 2: when
    # this changes, bump that version (old entries must not be served) and update the sets.
    from wilsonian.store import CONTENT_VERSIONS

    assert CONTENT_VERSIONS["sweep-group"] == 2
    entry, = (cache / "sweep").glob("*.npz")
    with np.load(entry) as npz:
        group = json.loads(str(npz["rows"]))
    assert set(group) == {"rows", "pool", "config", "results"}
    assert set(group["results"]) == {"agreement", "agreement_by_ridge", "config", "empirical", "empirical_by_ridge",
                                     "evidence", "kernel", "learning_curve", "notes", "pool", "scaling",
                                     "soft_flow", "spectrum"}


def test_an_interrupted_sweep_resumes_from_its_cache(tmp_path, capsys, monkeypatch):
    import wilsonian.app.run as run_module

    calls = []
    real_run = run_module.run

    def counting_run(config, **options):
        calls.append(config.depth)
        return real_run(config, **options)

    monkeypatch.setattr(run_module, "run", counting_run)
    cache = tmp_path / "cache"
    common = ["sweep", *SMALL, "--workers", "1", "--cache-dir", cache]
    # the first sweep "stopped" after depth 1; the second finds it and computes only depth 2
    code, _, err = run_cli([*common, "--grid", "depth=1", "--out", tmp_path / "a"], capsys)
    assert code == 0, err
    code, _, err = run_cli([*common, "--grid", "depth=1,2", "--out", tmp_path / "b"], capsys)
    assert code == 0, err
    assert calls == [1, 2]
    code, _, err = run_cli([*common, "--grid", "depth=1,2", "--out", tmp_path / "c"], capsys)
    assert code == 0 and calls == [1, 2]  # everything from the cache
    assert (tmp_path / "b" / "sweep.csv").read_bytes() == (tmp_path / "c" / "sweep.csv").read_bytes()


def test_groups_of_a_sweep_run_in_parallel_processes(tmp_path, capsys):
    out = tmp_path / "s"
    code, _, err = run_cli(["sweep", *SMALL, "--workers", "2", "--grid", "depth=1,2", "--grid", "threshold=0.4,0.6",
                            "--no-cache", "--out", out], capsys)
    assert code == 0, err
    rows = read_csv(out / "sweep.csv")
    assert [(r["depth"], r["threshold"]) for r in rows[::2]] == [("1", "0.4"), ("1", "0.6"), ("2", "0.4"),
                                                                  ("2", "0.6")]
    assert json.loads((out / "config.json").read_text())["grid"] == {"depth": [1, 2], "threshold": [0.4, 0.6]}


@pytest.mark.parametrize("grid, words", [
    (["--grid", "depth=1,x"], ["depth", "'x'"]),
    (["--grid", "depth=1,1.5"], ["depth"]),
    (["--grid", "threshold=0.5,1.5"], ["--grid threshold=1.5: "]),
    (["--grid", "ridge=1e-4,-1"], ["--grid ridge=0.0001,-1: "]),
    (["--grid", "weight-var=1,0", "--grid", "threshold=0.2,0.4"], ["--grid weight-var=0.0, threshold=0.2,0.4: "]),
    (["--grid", "depth=1,-2"], ["--grid depth=-2: "]),
    (["--grid", "activation=relu,nonsense"], ["nonsense"]),
    (["--grid", "colour=red"], ["colour"]),
    (["--grid", "depth=1,1"], ["depth", "repeat"]),
    (["--grid", "depth=1,2", "--grid", "depth=3"], ["--grid depth is given twice"]),
    (["--grid", "depth"], ["--grid"]),
    ([], ["grid"]),
])
def test_bad_grids_are_one_line_errors_before_any_work(tmp_path, capsys, grid, words):
    out, cache = tmp_path / "o", tmp_path / "cache"
    code, _, err = run_cli(["sweep", *SMALL, *grid, "--cache-dir", cache, "--out", out], capsys)
    assert_one_line_error(code, err, *words)
    assert not out.exists() and not cache.exists()


def test_a_sweep_config_file_with_a_grid_table(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text('n-pool = 300\netas = [10, 40]\ntrials = 2\n\n[grid]\nthreshold = [0.25, 0.75]\n')
    out = tmp_path / "o"
    code, _, err = run_cli(["sweep", "--config", config, "--quiet", "--no-cache", "--out", out], capsys)
    assert code == 0, err
    assert {r["threshold"] for r in read_csv(out / "sweep.csv")} == {"0.25", "0.75"}
    # a sweep's --workers may come from its file (how the points run, not what they compute)
    config.write_text('workers = 1\nn-pool = 300\netas = [10, 40]\ntrials = 2\n\n[grid]\nthreshold = [0.25, 0.75]\n')
    code, _, err = run_cli(["sweep", "--config", config, "--quiet", "--no-cache", "--out", tmp_path / "w"], capsys)
    assert code == 0, err
    code, _, err = run_cli(["sweep", *SMALL, "--grid", "threshold=0.25,0.75", "--workers", "1", "--no-cache",
                            "--out", tmp_path / "w1"], capsys)   # (the workers move the round-off)
    assert code == 0, err
    assert (tmp_path / "w" / "sweep.csv").read_bytes() == (tmp_path / "w1" / "sweep.csv").read_bytes()
    config.write_text(config.read_text().replace("workers = 1", "workers = 0"))
    code, _, err = run_cli(["sweep", "--config", config, "--quiet", "--no-cache", "--out", tmp_path / "w0"], capsys)
    assert_one_line_error(code, err, "--workers", "got 0")
    config.write_text('n-pool = 300\n\n[grid]\nthreshold = ["low"]\n')
    code, _, err = run_cli(["sweep", "--config", config, "--quiet", "--no-cache", "--out", tmp_path / "p"], capsys)
    assert_one_line_error(code, err, "threshold", "low")
    # kept tiles are run's: a sweep's parallel points would each keep their own
    config.write_text('solver = "topk"\nk = 20\ntile_cache_gib = 0.5\n\n[grid]\nthreshold = [0.25, 0.75]\n')
    code, _, err = run_cli(["sweep", "--config", config, "--quiet", "--no-cache", "--out", tmp_path / "q"], capsys)
    assert_one_line_error(code, err, "tile_cache_gib", "sweep")
    assert not (tmp_path / "q").exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts processes through Linux's /proc")
@pytest.mark.parametrize("when, gap", [("while the workers start", 0.02), ("once they run", 0.02),
                                       ("once they run", 0.0), ("once they run", 0.007)])
def test_ctrl_c_stops_the_sweeps_worker_processes(tmp_path, when, gap):
    """Ctrl-C reaches every process of the terminal's group. The sweep's pool leaves it to
    the parent, which stops every worker and exits: no hang, no process left running. The
    second SIGINT, ``gap`` s after the first, is ignored wherever it lands (back to back it hit
    multiprocessing's locks, 'RuntimeError: release unlocked lock'; a few ms later, the
    interpreter's exit, which it killed), as in the command, which ends the same way."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "interrupted.py"
    script.write_text(
        "import sys, time\n"
        "from wilsonian.app.workers import in_processes, one_interrupt_until_exit\n"
        "if __name__ == '__main__':\n"
        "    one_interrupt_until_exit()   # as wilsonian.app.cli.main does\n"
        "    try:\n"
        "        in_processes(time.sleep, [(120,), (120,), (120,)], 2)\n"
        "    except KeyboardInterrupt:\n"
        "        print('interrupted', flush=True)\n"
        "        sys.exit(130)\n")
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        # parent, resource tracker and 2 workers: the workers are still importing when there
        # are 4 processes; they have long been running a second later
        while len(_session_processes(child.pid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(_session_processes(child.pid)) >= 4, "the workers did not start"
        if when == "once they run":
            time.sleep(1.5)
        os.killpg(child.pid, signal.SIGINT)   # as the terminal does
        time.sleep(gap)
        os.killpg(child.pid, signal.SIGINT)   # and a second time (timeout sends two; a user presses twice)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode == 130 and out == "interrupted\n", err
    assert "Traceback" not in err and "leaked" not in err
    deadline = time.monotonic() + 10
    while _session_processes(child.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_processes(child.pid) == []


def _session_processes(session: int) -> list[int]:
    """PIDs of the live processes of a session (Linux /proc)."""
    import os

    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == session:   # state, ..., session id
            found.append(int(entry))
    return found


def _numbers(path):
    results = json.loads(path.read_text())
    for key in ("out", "quiet", "cache_dir", "no_cache"):
        results["config"].pop(key, None)
    return results


def test_a_sweeps_cache_changes_no_bits(tmp_path, capsys):
    """BLAS's round-off depends on its thread count and a sweep's workers run on fewer
    threads: a run served by a sweep's cache, and a sweep resumed from one, give the bits
    they give without it."""
    cache = tmp_path / "cache"
    code, _, err = run_cli(["sweep", *SMALL, "--grid", "depth=1", "--cache-dir", cache, "--out", tmp_path / "s1"],
                           capsys)
    assert code == 0, err
    code, _, err = run_cli(["sweep", *SMALL, "--grid", "depth=1,2", "--cache-dir", cache, "--out", tmp_path / "s2"],
                           capsys)
    assert code == 0, err
    code, _, err = run_cli(["sweep", *SMALL, "--grid", "depth=1,2", "--no-cache", "--out", tmp_path / "fresh"],
                           capsys)
    assert code == 0, err
    assert (tmp_path / "s2" / "sweep.csv").read_bytes() == (tmp_path / "fresh" / "sweep.csv").read_bytes()
    for name in ("cached", "alone"):
        where = ["--cache-dir", cache] if name == "cached" else ["--no-cache"]
        code, _, err = run_cli(["run", *SMALL, "--depth", "2", *where, "--out", tmp_path / name], capsys)
        assert code == 0, err
    assert _numbers(tmp_path / "cached" / "results.json") == _numbers(tmp_path / "alone" / "results.json")


def test_an_activation_axis_carries_each_activations_parameters(tmp_path, capsys):
    """--grid activation=relu,leaky-relu(slope=0.1): each value names its own parameters, and
    its row matches the single run with --activation-param."""
    out = tmp_path / "sweep"
    code, _, err = run_cli(["sweep", *SMALL, "--grid", "activation=relu,leaky-relu(slope=0.1),abrelu(a=-0.2,b=1.1)",
                            "--workers", "1", "--no-cache", "--out", out], capsys)
    assert code == 0, err
    rows = read_csv(out / "sweep.csv")
    assert [r["activation"] for r in rows if r["eta"] == "10"] == ["relu", "leaky-relu(slope=0.1)",
                                                                    "abrelu(a=-0.2,b=1.1)"]
    code, _, err = run_cli(["run", *SMALL, "--activation", "leaky-relu", "--activation-param", "slope=0.1",
                            "--no-cache", "--out", tmp_path / "run"], capsys)
    assert code == 0, err
    single = json.loads((tmp_path / "run" / "results.json").read_text())["learning_curve"]
    swept = [r for r in rows if r["activation"] == "leaky-relu(slope=0.1)"]
    assert np.allclose([float(r["empirical_mean"]) for r in swept], single["empirical_mean"], rtol=1e-10)
    assert np.allclose([float(r["spectral_bias"]) for r in swept], single["spectral_bias"], rtol=1e-10)
    for extra, words in (([ "--activation-param", "slope=0.1", "--grid", "activation=relu,leaky-relu"],
                          ("--activation-param and --grid activation",)),
                         (["--grid", "activation=relu,leaky-relu"], ("--grid activation=leaky-relu", "slope")),
                         (["--grid", "activation=relu,(x)"], ("'(x)' is not an activation",))):
        code, _, err = run_cli(["sweep", *SMALL, *extra, "--no-cache", "--out", tmp_path / "bad"], capsys)
        assert_one_line_error(code, err, *words)
    assert not (tmp_path / "bad").exists()


def test_a_runs_config_json_names_its_input_files_absolutely_and_reruns_from_anywhere(tmp_path, capsys,
                                                                                       monkeypatch):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "reg.npz", X=rng.standard_normal((80, 5)), y=rng.standard_normal(80))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["run", "--dataset", "npz", "--data-file", "reg.npz", "--etas", "5,10", "--trials", "2",
                            "--quiet", "--no-cache", "--out", "typed"], capsys)
    assert code == 0, err
    saved = json.loads((tmp_path / "typed" / "config.json").read_text())
    assert saved["data_file"] == str(tmp_path / "reg.npz")
    monkeypatch.chdir(tmp_path / "elsewhere")
    code, _, err = run_cli(["run", "--config", "../typed/config.json", "--quiet", "--no-cache", "--out", "again"],
                           capsys)
    assert code == 0, err
    code, _, err = run_cli(["run", "--dataset", "npz", "--data-file", str(tmp_path / "reg.npz"), "--etas", "5,10",
                            "--trials", "2", "--quiet", "--no-cache", "--out", "absolute"], capsys)
    assert code == 0, err
    typed = (tmp_path / "typed" / "results.json").read_bytes()
    assert (tmp_path / "elsewhere" / "again" / "results.json").read_bytes() == typed
    assert (tmp_path / "elsewhere" / "absolute" / "results.json").read_bytes() == typed


def test_one_interrupt_raises_once_then_gives_the_next_sigint_back():
    """Inside the block a second SIGINT is ignored; after it (a notebook, a test) Ctrl-C
    interrupts again as before."""
    import os
    import signal

    from wilsonian.app.workers import one_interrupt

    def sigint():
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):   # let the handler run
            pass

    caught = 0
    with one_interrupt():
        with one_interrupt():            # nested blocks share the first interrupt
            try:
                sigint()
            except KeyboardInterrupt:
                caught += 1
            sigint()                     # ignored: an interrupt here would fail the test
        sigint()                         # still ignored in the outer block
    assert caught == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        sigint()                         # the previous handler again: raises
