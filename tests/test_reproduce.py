"""`wilsonian reproduce figN` and `wilsonian toy` on small settings (digits, few draws)."""

import json

import numpy as np
import pytest

from wilsonian.app.cli import main

COMMON = ["--dataset", "digits", "--trials", "3", "--etas", "5,10,20", "--quiet"]


def run_ok(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cache"))


def test_fig1_two_tasks_with_every_theory(tmp_path, cache, capsys):
    out = tmp_path / "fig1"
    run_ok(["reproduce", "fig1", "--out", str(out), "--cache-dir", cache, "--figure-formats", "png,pdf", *COMMON],
           capsys)
    record = json.loads((out / "fig1.json").read_text())
    assert [t["pool"]["class_names"] for t in record["tasks"]] == [["8", "9"], ["0", "1"]]
    for task in record["tasks"]:
        lc = task["learning_curve"]
        assert lc["eta"] == [5, 10, 20]
        assert all(np.isfinite(lc["spectral_bias"])) and all(np.isfinite(lc["rg"]))
    assert (out / "fig1.png").stat().st_size > 1000 and (out / "fig1.pdf").exists()
    assert len(json.loads((out / "config.json").read_text())) == 2


def test_fig4_thresholds(tmp_path, cache, capsys):
    out = tmp_path / "fig4"
    run_ok(["reproduce", "fig4", "--out", str(out), "--cache-dir", cache, "--thresholds", "0.3,0.5,0.7", *COMMON],
           capsys)
    record = json.loads((out / "fig4.json").read_text())
    for task in record["tasks"]:
        by_t = task["rg_by_threshold"]
        assert set(by_t) == {"0.3", "0.5", "0.7"}
        # a higher T integrates out more modes: the renormalized ridge cannot decrease
        assert np.all(np.array(by_t["0.7"]["rg_ridge"]) >= np.array(by_t["0.3"]["rg_ridge"]))
        assert by_t["0.5"]["rg"] == task["learning_curve"]["rg"]


def test_fig2_and_fig5_mode_statistics(tmp_path, cache, capsys):
    captured = run_ok(["reproduce", "fig2", "--out", str(tmp_path / "fig2"), "--cache-dir", cache, *COMMON], capsys)
    # COMMON's learning-curve options are not fig2's: named, not silently dropped, not refused
    assert ("warning: reproduce fig2 ignores --etas, --trials (fig2 fits the eigenmodes and draws no learning "
            "curve)" in captured.err)
    # and records their defaults: the same config as without them
    assert json.loads((tmp_path / "fig2" / "config.json").read_text())[0]["trials"] == 20
    record = json.loads((tmp_path / "fig2" / "fig2.json").read_text())
    assert record["pairs"] == [[10, 11]]
    assert (tmp_path / "fig2" / "fig2_8-9.png").exists()
    run_ok(["reproduce", "fig5", "--out", str(tmp_path / "fig5"), "--cache-dir", cache, *COMMON], capsys)
    record = json.loads((tmp_path / "fig5" / "fig5.json").read_text())
    stats = record["tasks"][0]["mode_statistics"]
    assert len(stats["mode"]) > 50 and stats["mode"][0] == 1
    assert set(stats["preferred"]) <= {"gaussian", "cauchy"}
    u = np.array(record["tasks"][0]["fourth_cumulant"]["cumulant"])
    assert u.ndim == 4 and np.allclose(u, np.transpose(u, (1, 0, 2, 3)))


def test_options_a_figure_does_not_use_are_named(tmp_path, capsys):
    captured = run_ok(["reproduce", "fig3", "--out", str(tmp_path / "a"), "--trials-mc", "500", "--quiet",
                       "--dataset", "mnist", "--kernel", "ntk", "--thresholds", "0.3"], capsys)
    line, = [x for x in captured.err.splitlines() if x.startswith("warning: reproduce fig3 ignores ")]
    assert line.startswith("warning: reproduce fig3 ignores --dataset, --kernel, --thresholds (fig3 is the Hermite")
    captured = run_ok(["reproduce", "fig3", "--out", str(tmp_path / "b"), "--trials-mc", "500", "--quiet",
                       "--seed", "1", "--no-cache"], capsys)
    assert "ignores" not in captured.err
    # the same sample: the ignored options changed nothing
    a, b = (json.loads((tmp_path / d / "toy.json").read_text()) for d in ("a", "b"))
    assert a["results"] != b["results"]   # seed 1 against seed 0
    captured = run_ok(["reproduce", "fig3", "--out", str(tmp_path / "c"), "--trials-mc", "500", "--quiet"], capsys)
    assert json.loads((tmp_path / "c" / "toy.json").read_text()) == a


def test_reproduce_help_describes_each_figure(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "fig2", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    for figure in ("fig1", "fig2", "fig3", "fig4", "fig5"):
        assert f"\n  {figure}  " in out
    assert "--modes, default 10,11" in out and "--thresholds,\n        default 0.25,0.5,0.75" in out


def test_fig3_and_toy_write_the_slopes(tmp_path, capsys):
    captured = run_ok(["reproduce", "fig3", "--out", str(tmp_path / "fig3"), "--trials-mc", "20000", "--quiet"],
                      capsys)
    assert "lambda_> = 0.1" in captured.out
    record = json.loads((tmp_path / "fig3" / "toy.json").read_text())
    rows = {r["lambda_high"]: r for r in record["results"]}
    assert set(rows) == {0.0, 0.1}
    for r in rows.values():
        assert {"lambda_high", "theory_slope", "mc_slope", "mc_slope_se"} <= set(r)
    assert rows[0.1]["theory_slope"] == pytest.approx(-2.89e-3, rel=0.01)
    assert (tmp_path / "fig3" / "fig3.png").exists() and not (tmp_path / "fig3" / "fig3.pdf").exists()
    run_ok(["toy", "--trials", "10000", "--lambda-high", "0.3", "--ridge", "100", "--out", str(tmp_path / "toy"),
            "--quiet"], capsys)
    record = json.loads((tmp_path / "toy" / "toy.json").read_text())
    assert [r["lambda_high"] for r in record["results"]] == [0.3]
    assert json.loads((tmp_path / "toy" / "config.json").read_text())["ridge"] == 100


@pytest.mark.parametrize("args", [
    ["reproduce", "fig9"],
    ["reproduce", "fig1", "--dataset", "gaussian"],
    ["reproduce", "fig4", "--dataset", "digits", "--thresholds", "0.5,1.2"],
    ["reproduce", "fig4", "--dataset", "digits", "--thresholds", "0.5,0.5"],
    ["toy", "--trials", "0"],
    ["toy", "--ridge", "-1"],
    ["toy", "--trials", "10", "--figure-formats", "tiff"],
    ["reproduce", "fig3", "--figure-formats", ""],
])
def test_reproduce_errors(tmp_path, capsys, args):
    code = main([*args, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
