"""The `wilsonian` command: outputs, cache, reproducibility and one-line errors."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def numbers(path):
    """results.json without the options that only say where and how loudly a run wrote."""
    results = json.loads(Path(path).read_text())
    for key in ("out", "quiet", "cache_dir", "no_cache"):
        results["config"].pop(key, None)
    return results

from wilsonian.app.cli import main
from wilsonian.errors import WilsonianError

FAST = ["--etas", "5,10,20,40", "--trials", "3", "--quiet"]


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    out, cache = root / "out", root / "cache"
    code = main(["run", "--out", str(out), "--cache-dir", str(cache), *FAST])
    assert code == 0
    return root, out, cache


def test_run_writes_every_output(first_run):
    _, out, _ = first_run
    results = json.loads((out / "results.json").read_text())
    for key in ("config", "pool", "spectrum", "learning_curve"):
        assert key in results
    assert results["config"]["version"] and results["config"]["dataset"] == "digits"
    assert {"dataset", "n", "dim"} <= set(results["pool"])
    spectrum = results["spectrum"]
    assert len(spectrum["eigenvalues"]) == results["pool"]["n"] == len(spectrum["target_coefficients"])
    assert np.all(np.diff(spectrum["eigenvalues"]) <= 0)
    assert spectrum["trace"] == pytest.approx(sum(spectrum["eigenvalues"]), rel=1e-10)
    lc = results["learning_curve"]
    for key in ("eta", "empirical_mean", "empirical_sem", "ek", "spectral_bias", "spectral_bias_kappa",
                "rg", "rg_ridge", "rg_cutoff", "rg_fluct"):
        assert len(lc[key]) == 4, key
    assert json.loads((out / "config.json").read_text()) == results["config"]
    header = (out / "learning_curve.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["eta", "empirical_mean", "empirical_sem"]
    names = ("learning_curves", "spectrum", "rg_flow", "learnability", "soft_flow")
    for name in names:
        assert (out / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    # PNG only unless PDF is asked for
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(f"{n}.png" for n in names)
    # nothing half-written lying around
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_figure_formats_option_writes_what_it_names(first_run, capsys):
    root, out, cache = first_run
    out2 = root / "out_formats"
    code, _, err = run_cli(["run", "--out", str(out2), "--cache-dir", str(cache), *FAST,
                            "--figure-formats", "pdf,png"], capsys)
    assert code == 0, err
    figures = out2 / "figures"
    for name in ("learning_curves", "spectrum", "rg_flow", "learnability", "soft_flow"):
        assert (figures / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        assert (figures / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    assert numbers(out2 / "results.json") == numbers(out / "results.json")
    for bad in ("svg", "png,jpeg", ","):
        code, _, err = run_cli(["run", "--out", str(root / "out_bad"), *FAST, "--figure-formats", bad], capsys)
        assert code == 2 and err.startswith("error: ") and "figure format" in err
        assert not (root / "out_bad").exists()


def test_second_run_reuses_cache_and_is_identical(first_run, capsys):
    root, out, cache = first_run
    out2 = root / "out2"
    code, _, err = run_cli(["run", "--out", str(out2), "--cache-dir", str(cache), "--etas", "5,10,20,40",
                            "--trials", "3"], capsys)
    assert code == 0
    assert "cache: reusing kernel" in err and "cache: reusing spectrum" in err
    info = json.loads((out2 / "run_info.json").read_text())
    assert info["cache"]["counts"] == {"hit": 2}
    assert numbers(out2 / "results.json") == numbers(out / "results.json")


# What a spectrum entry holds at store.CONTENT_VERSIONS["spectrum"] == 3. When this changes,
# bump that version (so entries written before are not served without the new fields) and
# update these sets.
SPECTRUM_ARRAYS = {"eigenvalues", "target_coefficients", "trace", "target_power", "eigenfunctions",
                   "kernel_diagonal", "clipped", "n_clipped", "complete", "meta"}
DENSE_META = {"backend", "kernel", "kernel_key", "method", "most_negative_eigenvalue", "n", "n_vectors", "solver"}
TOPK_META = DENSE_META - {"n_vectors"} | {
    "all_converged", "block_size", "columns", "converged", "eigenvalue_error_estimates", "iterations", "k", "keep",
    "max_basis", "passes", "residual_norms", "residual_norms_meaning", "residual_source", "restarts", "seed", "tol"}


def _spectrum_entries(cache):
    entries = []
    for path in sorted((cache / "spectrum").glob("*.npz")):
        with np.load(path) as npz:
            arrays = {name: npz[name] for name in npz.files if name != "__checksum__"}
        entries.append((set(arrays), set(json.loads(str(arrays["meta"])))))
    return entries


def test_spectrum_entries_hold_the_fields_of_their_content_version(first_run, tmp_path, capsys):
    from wilsonian.store import CONTENT_VERSIONS

    assert CONTENT_VERSIONS["spectrum"] == 3
    _, _, cache = first_run
    assert _spectrum_entries(cache) == [(SPECTRUM_ARRAYS, DENSE_META)]
    topk_cache = tmp_path / "cache"
    code, _, err = run_cli(["run", "--solver", "topk", "--k", "30", "--n-pool", "300", "--out", str(tmp_path / "tk"),
                            "--cache-dir", str(topk_cache), *FAST], capsys)
    assert code == 0, err
    assert _spectrum_entries(topk_cache) == [(SPECTRUM_ARRAYS, TOPK_META)]


def test_a_spectrum_entry_of_another_content_version_is_not_served(first_run, tmp_path, capsys, monkeypatch):
    import shutil

    import wilsonian.store

    _, out, first_cache = first_run
    cache = tmp_path / "cache"
    shutil.copytree(first_cache, cache)
    monkeypatch.setitem(wilsonian.store.CONTENT_VERSIONS, "spectrum", 2)   # as written before the bump
    code, _, err = run_cli(["run", "--out", str(tmp_path / "out"), "--cache-dir", str(cache), *FAST[:-1]], capsys)
    assert code == 0
    assert "cache: reusing kernel" in err and "cache: reusing spectrum" not in err
    assert numbers(tmp_path / "out" / "results.json") == numbers(out / "results.json")


def test_corrupt_cache_entry_is_detected_and_recomputed(first_run, capsys):
    root, out, cache = first_run
    entries = sorted(cache.glob("*/*.npz"))
    assert len(entries) == 2
    spectrum_entry = next(p for p in entries if p.parent.name == "spectrum")
    data = bytearray(spectrum_entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    spectrum_entry.write_bytes(bytes(data))
    out3 = root / "out3"
    code, _, err = run_cli(["run", "--out", str(out3), "--cache-dir", str(cache), "--etas", "5,10,20,40",
                            "--trials", "3"], capsys)
    assert code == 0
    assert "corrupt cache entry" in err
    assert numbers(out3 / "results.json") == numbers(out / "results.json")
    # the entry was rewritten and is valid again
    code, _, err = run_cli(["run", "--out", str(root / "out4"), "--cache-dir", str(cache), *FAST[:-1]], capsys)
    assert "corrupt" not in err and "cache: reusing spectrum" in err


def test_different_seed_changes_draws_not_spectrum(first_run, capsys):
    root, out, cache = first_run
    code, _, _ = run_cli(["run", "--out", str(root / "seed1"), "--cache-dir", str(cache), "--seed", "1", *FAST], capsys)
    assert code == 0
    a = json.loads((out / "results.json").read_text())
    b = json.loads((root / "seed1" / "results.json").read_text())
    assert a["spectrum"]["eigenvalues"] == b["spectrum"]["eigenvalues"]
    assert a["learning_curve"]["empirical_mean"] != b["learning_curve"]["empirical_mean"]


BAD = [
    (["--threshold", "1.5"], "threshold"),
    (["--threshold", "0"], "threshold"),
    (["--ridge", "-1"], "ridge"),
    (["--dataset", "imagenet"], "dataset"),
    (["--classes", "3,3"], "class"),
    (["--classes", "8,42"], "class"),
    (["--dataset", "mnist", "--data-dir", "/nonexistent/mnist"], "nonexistent"),
    (["--etas", "0,5"], "etas"),
    (["--etas", "5,x"], "etas"),
    (["--trials", "0"], "trials"),
    (["--n-pool", "100000"], "pool"),
    (["--n-pool", "400"], "a pool of 400 points (--n-pool, n_pool) but only 354 points of classes '8', '9'"),
    (["--depth", "-1"], "--depth is the number of hidden layers"),
    (["--weight-var", "-2"], "--weight-var must be"),
    (["--bias-var", "-1"], "--bias-var must be"),
    (["--activation", "swish"], "activation"),
    (["--activation", "leaky-relu"], "slope"),
    (["--kernel", "rbf"], "--kernel must be one of nngp, ntk or precomputed"),
    (["--solver", "topk", "--k", "0"], "--k is the number of modes to resolve, at least 1, got 0"),
    (["--etas", "100000"], "η = 100,000 exceeds the pool size N = 354"),   # the cause, not the memory
    (["--kernel", "precomputed", "--kernel-file", "/nonexistent/K.npy"], "does not exist"),
    (["--split", "validation"], "split"),
    (["--bogus-option"], "unrecognized"),
]


@pytest.mark.parametrize("extra, word", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_options_give_one_line_error_and_no_output(tmp_path, capsys, extra, word):
    out, cache = tmp_path / "out", tmp_path / "cache"
    code, stdout, err = run_cli(["run", "--out", str(out), "--cache-dir", str(cache), *FAST, *extra], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert word.lower() in lines[0].lower()
    assert not out.exists()
    assert not list(cache.rglob("*.npz")) if cache.exists() else True
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("extra, word", [
    (["--kernel", "precomputed", "--kernel-file", "/nonexistent/K.npy"], "does not exist"),
    (["--kernel", "precomputed", "--kernel-file", "."], "is a folder, not a file"),
    (["--device", "cpu"], "--device needs PyTorch"),
])
def test_option_errors_come_before_any_progress_line(tmp_path, capsys, extra, word):
    """Without --quiet too, such an error is the only line: it is found before the pool loads."""
    if extra[0] == "--device" and importlib.util.find_spec("torch") is not None:
        pytest.skip("PyTorch is installed here")
    code, _, err = run_cli(["run", "--out", str(tmp_path / "out"), "--no-cache", *extra], capsys)
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and word in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command, word", [
    (["toy", "--trials", "0"], "--trials must be at least 1"),
    (["toy", "--n", "0"], "--n must be at least 1"),
    (["toy", "--lambda-high", "0,-1"], "--lambda-high must be >= 0"),
    (["toy", "--ridge", "0"], "--ridge must be > 0"),
    (["toy", "--lambda1", "0"], "--lambda1 must be > 0"),
    (["toy", "--degree", "99"], "--degree must be at most 30"),
    (["toy", "--workers", "0"], "--workers must be at least 1"),
    (["reproduce", "fig3", "--trials-mc", "0"], "--trials-mc must be at least 1"),
])
def test_toy_errors_name_the_option(tmp_path, capsys, command, word):
    code, _, err = run_cli([*command, "--out", str(tmp_path / "out"), "--quiet"], capsys)
    assert code == 2 and err.startswith(f"error: {word}") and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


def test_the_summary_line_names_the_kernel_and_task_that_ran(tmp_path, capsys):
    from wilsonian.data import build_pool
    from wilsonian.kernels import KernelSpec

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "reg.npz", X=rng.standard_normal((60, 5)), y=rng.standard_normal(60))
    np.save(tmp_path / "K.npy", KernelSpec().matrix(build_pool("digits", seed=0).X))
    first_lines = {}
    for name, extra in (("conv", ["--architecture", "conv", "--n-pool", "60"]),
                        ("file", ["--kernel", "precomputed", "--kernel-file", str(tmp_path / "K.npy")]),
                        ("reg", ["--dataset", "npz", "--data-file", str(tmp_path / "reg.npz")])):
        code, out, err = run_cli(["run", *FAST, "--no-cache", "--out", str(tmp_path / name), *extra], capsys)
        assert code == 0, err
        first_lines[name] = out.splitlines()[0]
    assert "kernel=conv nngp/relu/L=2 3×3 same flatten" in first_lines["conv"]
    assert f"kernel=precomputed {tmp_path / 'K.npy'}" in first_lines["file"] and "relu" not in first_lines["file"]
    assert first_lines["reg"].startswith("npz regression  N=60")
    code, out, err = run_cli(["run", *FAST, "--no-cache", "--out", str(tmp_path / "g"), "--dataset", "gaussian"],
                             capsys)
    assert code == 0 and out.startswith("gaussian teacher y = sign(w.x)"), err
    meta = json.loads((tmp_path / "reg" / "results.json").read_text())["pool"]
    assert meta["subsample"] == "all points, in file order"


def test_options_a_run_ignores_are_named_in_a_warning(tmp_path, capsys):
    from wilsonian.data import build_pool
    from wilsonian.kernels import KernelSpec

    np.save(tmp_path / "K.npy", KernelSpec().matrix(build_pool("digits", seed=0).X))
    precomputed = ["--kernel", "precomputed", "--kernel-file", str(tmp_path / "K.npy")]
    code, _, err = run_cli(["run", *FAST, "--no-cache", "--out", str(tmp_path / "a"), *precomputed,
                            "--activation", "tanh", "--depth", "5"], capsys)
    assert code == 0 and err == ("warning: --kernel precomputed ignores --activation, --depth (the kernel is the "
                                 "file's matrix)\n"), err
    code, _, err = run_cli(["run", *FAST, "--no-cache", "--out", str(tmp_path / "b"), *precomputed], capsys)
    assert code == 0 and err == "", err
    code, _, err = run_cli(["run", *FAST, "--no-cache", "--out", str(tmp_path / "c"), "--readout", "gap"], capsys)
    assert code == 0 and "warning: --readout shapes a convolutional kernel" in err, err


def test_out_pointing_at_a_file(tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    code, _, err = run_cli(["run", "--out", str(target), "--no-cache", *FAST], capsys)
    assert code == 2 and err.startswith("error: ") and "not a directory" in err
    assert target.read_text() == "keep me"


def test_failed_run_keeps_previous_results(first_run, tmp_path, capsys):
    _, out, cache = first_run
    before = (out / "results.json").read_bytes()
    code, _, _ = run_cli(["run", "--out", str(out), "--cache-dir", str(cache), *FAST, "--classes", "1,99"], capsys)
    assert code == 2
    assert (out / "results.json").read_bytes() == before


def test_errors_have_no_traceback_in_a_real_process(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "wilsonian", "run", "--threshold", "2", "--out", str(tmp_path / "o")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: ") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_data_fetch_rejects_unknown_name(tmp_path, capsys):
    code, _, err = run_cli(["data", "fetch", "imagenet", "--data-dir", str(tmp_path)], capsys)
    assert code == 2 and err.startswith("error: ")


def test_run_nongaussian_adds_results_and_figure(tmp_path, capsys):
    out = tmp_path / "ng"
    code, _, _ = run_cli(["run", "--nongaussian", "--out", str(out), "--no-cache", *FAST], capsys)
    assert code == 0
    ng = json.loads((out / "results.json").read_text())["nongaussian"]
    for key in ("gaussian_rg", "gaussian_rg_kept_modes", "nongaussian_rg", "draw_noise_floor"):
        assert len(ng["per_point_mse"][key]) == 4
    assert ng["ridge_x_mean"] == pytest.approx(ng["renormalized_ridge"], rel=1e-9)
    assert (out / "figures" / "nongaussian.png").exists()


def test_run_topk_matches_dense_where_truncation_is_harmless(first_run, tmp_path, capsys):
    _, out, _ = first_run
    code, _, _ = run_cli(["run", "--solver", "topk", "--k", "200", "--out", str(tmp_path / "tk"), "--no-cache",
                          *FAST], capsys)
    assert code == 0
    dense = json.loads((out / "results.json").read_text())
    topk = json.loads((tmp_path / "tk" / "results.json").read_text())
    lam_dense = np.array(dense["spectrum"]["eigenvalues"][:200])
    assert np.allclose(topk["spectrum"]["eigenvalues"], lam_dense, rtol=1e-8, atol=1e-12 * lam_dense[0])
    # the same draws, computed without the N×N matrix
    assert np.allclose(topk["learning_curve"]["empirical_mean"], dense["learning_curve"]["empirical_mean"], rtol=1e-8)
    assert {"bound", "statement", "per_theory"} <= set(topk["truncation"])
    assert topk["spectrum"]["eigensolver"]["solver"] == "topk"
    sb_dense, sb_topk = np.array(dense["learning_curve"]["spectral_bias"]), np.array(topk["learning_curve"]["spectral_bias"])
    bound = topk["truncation"]["bounds"]["spectral_bias"]
    within = np.array(dense["learning_curve"]["eta"]) <= bound
    assert np.allclose(sb_topk[within], sb_dense[within], rtol=0.01)


def test_run_topk_tolerance_and_extra_modes(tmp_path, capsys):
    args = ["run", "--solver", "topk", "--k", "60", "--tol", "1e-13", "--extra-modes", "20",
            "--cache-dir", str(tmp_path / "cache"), *FAST]
    results = []
    for name in ("first", "cached"):  # the second run reads the spectrum back from the cache
        code, _, _ = run_cli([*args, "--out", str(tmp_path / name)], capsys)
        assert code == 0
        results.append(json.loads((tmp_path / name / "results.json").read_text()))
        solver = results[-1]["spectrum"]["eigensolver"]
        assert len(results[-1]["spectrum"]["eigenvalues"]) == 60 and solver["extra_modes"] == 20
        assert solver["tol"] == 1e-13 and len(solver["residual_norms"]) == 60
        assert max(solver["residual_norms"]) <= 1e-13
    assert results[0]["spectrum"]["eigenvalues"] == results[1]["spectrum"]["eigenvalues"]
    config = json.loads((tmp_path / "first" / "config.json").read_text())
    assert config["tol"] == 1e-13 and config["extra_modes"] == 20


def test_run_topk_with_kept_tiles_writes_the_same_results(tmp_path, capsys):
    """--tile-cache-gib changes how much is recomputed, not a number: results.json and
    config.json are the same bytes with none kept (0), a budget, or the default (auto);
    run_info.json says what was asked for and how much was kept."""
    args = ["run", "--solver", "topk", "--k", "40", "--no-cache", *FAST]   # every run makes its passes
    outputs = {}
    for name, extra in (("none", ["--tile-cache-gib", "0"]), ("budget", ["--tile-cache-gib", "0.5"]),
                        ("auto", [])):
        code, _, err = run_cli([*args, "--out", str(tmp_path / name), *extra], capsys)
        assert code == 0, err
        outputs[name] = json.loads((tmp_path / name / "run_info.json").read_text())
        assert "tile_cache_gib" not in json.loads((tmp_path / name / "config.json").read_text())
    for name in ("results.json", "config.json"):
        assert len({(tmp_path / out / name).read_bytes() for out in outputs}) == 1, name
    invocations = {out: info["invocation"]["tile_cache_gib"] for out, info in outputs.items()}
    assert invocations == {"none": 0.0, "budget": 0.5, "auto": "auto"}
    kept = {out: info["operator"]["kept_tile_bytes"] for out, info in outputs.items()}
    every = 8 * 354 * 354                      # one tile: the whole K
    assert kept == {"none": 0, "budget": every, "auto": every}


def test_run_says_how_much_of_the_kernel_it_keeps():
    from wilsonian.app.run import _kept_tiles_line

    assert _kept_tiles_line(354, 1e9) == "kernel tiles kept between passes: 0.000934 of 0.000934 GiB"
    assert "below one tile" in _kept_tiles_line(20_000, 2**20)
    assert _kept_tiles_line(20_000, 2.0 * 2**30).startswith("kernel tiles kept between passes: 1.55 of 1.55 GiB")
    assert _kept_tiles_line(20_000, 6.0 * 2**30, auto=True) == (
        "kernel tiles kept between passes: 1.55 of 1.55 GiB (--tile-cache-gib auto: at most a quarter of the "
        "24 GiB available; --tile-cache-gib 0 keeps none)")
    assert "available memory is unknown" in _kept_tiles_line(20_000, 0.0, auto=True)


def test_the_kept_tiles_line_comes_with_the_passes_not_with_a_cached_spectrum(tmp_path, capsys):
    args = ["run", "--solver", "topk", "--k", "40", "--cache-dir", str(tmp_path / "cache"),
            "--etas", "5,10,20,40", "--trials", "3"]
    said = []
    for out in ("first", "second"):
        code, _, err = run_cli([*args, "--out", str(tmp_path / out)], capsys)
        assert code == 0, err
        said.append(err)
    assert "kernel tiles kept between passes" in said[0] and "eigensolver:" in said[0]
    assert "kernel tiles kept between passes" not in said[1] and "eigensolver:" not in said[1]


def test_the_automatic_tile_budget_is_a_quarter_of_the_available_memory_for_topk_only(monkeypatch):
    """auto (the default) keeps tiles only where a run makes several passes over a kernel it
    computes on the NumPy backend; an explicit budget is taken as given."""
    import wilsonian._validation as validation
    from wilsonian.app.config import RunConfig
    from wilsonian.operators.tiled import kept_tiles_bytes

    monkeypatch.setattr(validation, "available_memory", lambda: 24 * 2**30)
    topk = RunConfig(solver="topk", k=5)
    assert topk.tile_cache_gib is None and topk.tile_keep_bytes() == 6 * 2**30
    assert kept_tiles_bytes(20_000, topk.tile_keep_bytes()) == kept_tiles_bytes(20_000, float("inf"))
    assert 0 < kept_tiles_bytes(60_000, topk.tile_keep_bytes()) <= 6 * 2**30 < kept_tiles_bytes(60_000, float("inf"))
    for other in (RunConfig(), RunConfig(solver="dask", k=5), RunConfig(solver="topk", k=5, device="cpu"),
                  RunConfig(solver="topk", k=5, kernel="precomputed", kernel_file="K.npy")):
        assert other.tile_keep_bytes() == 0.0
    assert RunConfig(solver="topk", k=5, tile_cache_gib=0.5).tile_keep_bytes() == 2**29
    assert RunConfig(solver="topk", k=5, tile_cache_gib=0.0).tile_keep_bytes() == 0.0
    monkeypatch.setattr(validation, "available_memory", lambda: None)
    assert topk.tile_keep_bytes() == 0.0


def test_available_memory_reads_memavailable():
    from wilsonian._validation import available_memory, physical_memory

    available = available_memory()
    assert available is not None and 0 < available <= physical_memory()


@pytest.mark.parametrize("spelling", ["auto", "AUTO", "0.25"])
def test_tile_cache_gib_spellings(spelling):
    from wilsonian.app.cli import build_parser

    args = build_parser().parse_args(["run", "--solver", "topk", "--k", "5", "--tile-cache-gib", spelling])
    assert args.tile_cache_gib == (None if spelling.lower() == "auto" else 0.25)


def test_a_config_file_may_spell_out_the_automatic_tile_budget(tmp_path):
    from wilsonian.app.config import RunConfig
    from wilsonian.app.config_file import merge

    path = tmp_path / "c.toml"
    path.write_text('solver = "topk"\nk = 5\ntile-cache-gib = "auto"\n')
    assert merge(RunConfig, path, {}).tile_cache_gib is None
    path.write_text('solver = "topk"\nk = 5\ntile-cache-gib = 1.5\n')
    assert merge(RunConfig, path, {}).tile_cache_gib == 1.5
    path.write_text('solver = "topk"\nk = 5\ntile-cache-gib = "lots"\n')
    with pytest.raises(WilsonianError, match="tile_cache_gib|tile-cache-gib"):
        merge(RunConfig, path, {})


def test_kept_tiles_count_in_the_memory_check():
    """A tile cache larger than the machine is refused before any work, with what to lower;
    on a small pool only the whole triangle (4·N² bytes) is ever kept, so it passes."""
    from wilsonian.app.config import RunConfig

    config = RunConfig(solver="topk", k=5, tile_cache_gib=1e9)
    config.validate()
    config.check_size(354)
    with pytest.raises(WilsonianError, match="kept tiles.*--tile-cache-gib"):
        config.check_size(3_000_000)
    RunConfig(solver="topk", k=5).check_size(3_000_000)


@pytest.mark.parametrize("extra, word", [
    (["--k", "10"], "--k"),
    (["--solver", "topk"], "--k"),
    (["--solver", "lanczos", "--k", "5"], "solver"),
    (["--scheduler", "tcp://127.0.0.1:1"], "scheduler"),
    (["--device", "tpu"], "device"),
    (["--tol", "1e-12"], "--tol"),
    (["--solver", "topk", "--k", "5", "--tol", "0"], "--tol"),
    (["--solver", "topk", "--k", "5", "--tol", "1e-20"], "--tol 1e-20 is below the round-off"),
    (["--solver", "topk", "--k", "5", "--extra-modes", "-1"], "--extra-modes"),
    (["--tile-cache-gib", "1"], "--tile-cache-gib"),
    (["--solver", "topk", "--k", "5", "--tile-cache-gib", "-1"], "--tile-cache-gib"),
    (["--solver", "topk", "--k", "5", "--tile-cache-gib", "nan"], "--tile-cache-gib"),
    (["--solver", "topk", "--k", "5", "--tile-cache-gib", "1e300"], "--tile-cache-gib"),  # inf bytes
    (["--solver", "topk", "--k", "5", "--tile-cache-gib", "lots"], "--tile-cache-gib"),
    (["--solver", "topk", "--k", "5", "--device", "cpu", "--tile-cache-gib", "1"], "--tile-cache-gib"),
])
def test_large_pool_option_errors(tmp_path, capsys, extra, word):
    code, _, err = run_cli(["run", "--out", str(tmp_path / "o"), "--no-cache", *FAST, *extra], capsys)
    assert code == 2 and err.startswith("error: ") and word in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("ridge", ["2.2250738585e-313", "1e-200"])
def test_ridge_so_small_that_errors_underflow_still_writes_figures(tmp_path, capsys, ridge):
    """At σ² ≈ 1e-200 the train error and E_EK are exactly 0: nothing positive for their log
    axes (found by the CLI fuzz test). The run completes; the empty panel says so."""
    out = tmp_path / "tiny"
    code, _, err = run_cli(["run", "--out", str(out), "--no-cache", "--ridge", ridge, "--n-pool", "120",
                            "--etas", "5,10", "--trials", "2", "--quiet"], capsys)
    assert code == 0, err
    assert (out / "figures" / "learning_curves.png").exists()
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["ridge"] == float(ridge)


def test_out_where_nothing_can_be_written_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    import wilsonian.app.run as run_module

    monkeypatch.setattr(run_module, "run", lambda config: pytest.fail("the run started"))
    for out in ("/proc/wilsonian-test-out", "/sys/wilsonian-test-out"):
        if not Path(out).parent.is_dir():
            continue
        code, _, err = run_cli(["run", "--out", out, "--no-cache", *FAST], capsys)
        assert code == 2 and err.startswith(f"error: --out {out} cannot be written: ") and err.count("\n") == 1
    # a folder that does not exist yet is fine, and the check leaves nothing behind
    deep = tmp_path / "a" / "b" / "c"
    from wilsonian.app.outputs import check_output_dir

    check_output_dir(deep)
    assert list(tmp_path.iterdir()) == []


def test_a_warning_is_one_line(capsys, monkeypatch):
    import warnings

    import wilsonian.app.cli as cli

    def warns(args):
        warnings.warn("top-k eigensolver: 3 of 5 eigenpairs did not reach the tolerance", RuntimeWarning)
        return 0

    monkeypatch.setattr(cli, "_data", warns)
    code, _, err = run_cli(["data", "fetch", "mnist", "--data-dir", "x"], capsys)
    assert code == 0
    assert err == "warning: top-k eigensolver: 3 of 5 eigenpairs did not reach the tolerance\n"
    from wilsonian.errors import show_warning_on_one_line

    assert warnings.showwarning is not show_warning_on_one_line   # restored after the command


def test_ctrl_c_while_the_command_loads_is_one_line(tmp_path):
    # The script's entry point imports the command line itself: an interrupt during those
    # imports (0.1-0.7 s) ends as one line, not a traceback.
    code = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'wilsonian.app.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from wilsonian.app.entry import main\n"
        "sys.exit(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 130 and done.stderr == "error: interrupted\n"
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"wilsonian": "wilsonian.app.entry:main"}
