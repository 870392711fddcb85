"""The application: default grid, backends end to end, reproduce's data set, error lines."""

import json

import numpy as np
import pytest

from wilsonian.app import reproduce
from wilsonian.app.cli import main
from wilsonian.app.run import default_etas
from wilsonian.errors import WilsonianError

FAST = ["--etas", "5,10,20,40", "--trials", "3", "--quiet", "--no-cache"]


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("n, top", [(354, 88), (1797, 449), (10_000, 2000), (60_000, 2000), (20, 5)])
def test_default_etas_is_a_log_grid_up_to_a_quarter_of_the_pool(n, top):
    eta = default_etas(n)
    assert eta.dtype.kind == "i" and np.all(np.diff(eta) > 0)
    assert eta[-1] == top and eta[0] == min(10, max(1, top // 4))
    assert 4 <= eta.size <= 12
    ratios = eta[1:] / eta[:-1]
    if eta.size == 12:  # log-spaced: the ratios are all about (top/bottom)^(1/11)
        assert np.allclose(ratios, (eta[-1] / eta[0]) ** (1 / 11), rtol=0.15)


def test_make_run_default_grid(tmp_path, capsys):
    """The grid `make run` uses (digits 8/9, N = 354) is the one reported."""
    code, _, _ = run_cli(["run", "--out", str(tmp_path / "o"), "--trials", "2", "--quiet", "--no-cache"], capsys)
    assert code == 0
    lc = json.loads((tmp_path / "o" / "results.json").read_text())["learning_curve"]
    assert lc["eta"] == default_etas(354).tolist()


def test_device_cpu_with_nongaussian_matches_numpy(tmp_path, capsys):
    pytest.importorskip("torch")
    outs = {}
    for name, extra in (("numpy", []), ("torch", ["--device", "cpu"])):
        code, _, err = run_cli(["run", "--nongaussian", "--out", str(tmp_path / name), *FAST, *extra], capsys)
        assert code == 0, err
        outs[name] = json.loads((tmp_path / name / "results.json").read_text())
    a, b = outs["numpy"], outs["torch"]
    lam_a, lam_b = np.array(a["spectrum"]["eigenvalues"]), np.array(b["spectrum"]["eigenvalues"])
    assert np.allclose(lam_b, lam_a, rtol=0, atol=1e-12 * lam_a[0])
    assert np.allclose(b["learning_curve"]["empirical_mean"], a["learning_curve"]["empirical_mean"], rtol=1e-8)
    for key in ("gaussian_rg", "nongaussian_rg"):
        assert np.allclose(b["nongaussian"]["per_point_mse"][key], a["nongaussian"]["per_point_mse"][key], rtol=1e-6)
    assert b["spectrum"]["meta"]["backend"] == "torch"
    assert (tmp_path / "torch" / "figures" / "nongaussian.png").exists()


def test_device_with_topk_runs_on_the_torch_operator(tmp_path, capsys):
    pytest.importorskip("torch")
    code, _, err = run_cli(["run", "--device", "cpu", "--solver", "topk", "--k", "60", "--out", str(tmp_path / "t"),
                            *FAST], capsys)
    assert code == 0, err
    result = json.loads((tmp_path / "t" / "results.json").read_text())
    assert result["spectrum"]["eigensolver"]["backend"] == "torch" and result["spectrum"]["n_modes"] == 60


def test_reproduce_chooses_fashion_mnist_when_installed_and_digits_otherwise(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(reproduce, "default_data_dir", lambda name: tmp_path)
    assert reproduce.choose_dataset(None, None) == ("fashion-mnist", None)
    assert "using Fashion-MNIST" in capsys.readouterr().err
    monkeypatch.setattr(reproduce, "default_data_dir", lambda name: None)
    assert reproduce.choose_dataset(None, None) == ("digits", None)
    assert "not installed" in capsys.readouterr().err
    assert reproduce.choose_dataset("mnist", "/data") == ("mnist", "/data")
    with pytest.raises(WilsonianError, match="needs --dataset"):
        reproduce.choose_dataset(None, "/data")


def test_an_error_after_a_progress_bar_starts_its_own_line(tmp_path, capsys):
    """A corrupt IDX file stops the loader inside its progress bar; the error line must still
    be a line of its own."""
    import gzip

    for stem, magic in (("train-images-idx3-ubyte", 2051), ("train-labels-idx1-ubyte", 2049)):
        with gzip.open(tmp_path / f"{stem}.gz", "wb") as fh:
            fh.write(magic.to_bytes(4, "big") + (5).to_bytes(4, "big") + b"\x00" * 3)  # truncated
    code, _, err = run_cli(["run", "--dataset", "mnist", "--data-dir", str(tmp_path), "--no-cache",
                            "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    last = err.rstrip("\n").split("\n")[-1]  # a file's last line: carriage returns do not end it
    assert last.startswith("error: ") and "\r" not in last, repr(err[-200:])
    assert "reading mnist" in err and "Traceback" not in err


def test_readme_api_block_runs(tmp_path, monkeypatch):
    """The README's Python API section is one block; it must run as it is."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("<!-- api-block -->")
    block = readme[start:].split("```python\n", 1)[1].split("```", 1)[0]
    assert "import wilsonian as wl" in block and block.count("import ") == 2  # numpy and wilsonian
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["wl"].__name__ == "wilsonian"


def test_kernel_families_from_the_command_line(tmp_path, capsys):
    """--activation with parameters, --architecture conv on image pools, --kernel precomputed."""
    from wilsonian.data import build_pool
    from wilsonian.kernels import ConvKernel, KernelSpec

    fast = ["--etas", "5,10", "--trials", "2", "--quiet", "--no-cache"]
    code, _, err = run_cli(["run", "--activation", "leaky-relu", "--activation-param", "slope=0.2", *fast,
                            "--out", str(tmp_path / "a")], capsys)
    assert code == 0, err
    kernel = json.loads((tmp_path / "a" / "results.json").read_text())["kernel"]
    assert kernel["activation"] == "leaky-relu" and kernel["activation_params"] == {"slope": 0.2}
    code, _, err = run_cli(["run", "--architecture", "conv", "--filter", "3", "--readout", "gap", "--n-pool", "60",
                            *fast, "--out", str(tmp_path / "c")], capsys)
    assert code == 0, err
    results = json.loads((tmp_path / "c" / "results.json").read_text())
    pool = build_pool("digits", n_pool=60, seed=0)
    K = ConvKernel(pool.image_shape, "nngp", "relu", 2, 3, "same", "gap", 2.0, 0.0).matrix(pool.X)
    assert np.allclose(results["spectrum"]["eigenvalues"][:5], np.linalg.eigvalsh(K / 60)[::-1][:5], rtol=1e-9)
    # a kernel computed elsewhere gives the same run as the same kernel computed here
    pool = build_pool("digits", seed=0)
    np.save(tmp_path / "K.npy", KernelSpec("ntk", "erf", 2).matrix(pool.X))
    for name, extra in (("file", ["--kernel", "precomputed", "--kernel-file", str(tmp_path / "K.npy")]),
                        ("here", ["--kernel", "ntk", "--activation", "erf"])):
        code, _, err = run_cli(["run", *extra, *fast, "--out", str(tmp_path / name)], capsys)
        assert code == 0, err
    a, b = (json.loads((tmp_path / n / "results.json").read_text()) for n in ("file", "here"))
    assert np.allclose(a["learning_curve"]["empirical_mean"], b["learning_curve"]["empirical_mean"], rtol=1e-10)
    assert np.allclose(a["learning_curve"]["spectral_bias"], b["learning_curve"]["spectral_bias"], rtol=1e-10)


@pytest.mark.parametrize("extra, word", [
    (["--activation", "swishy"], "unknown activation"),
    (["--activation", "leaky-relu"], "slope"),
    (["--activation", "monomial", "--activation-param", "degree=x"], "degree"),
    (["--architecture", "conv", "--filter", "9"], "larger than"),
    (["--architecture", "conv", "--dataset", "gaussian"], "--architecture conv needs images"),
    (["--architecture", "resnet"], "architecture"),
    (["--architecture", "conv", "--readout", "max"], "readout"),
    (["--kernel", "precomputed"], "--kernel-file"),
    (["--device", "cpu", "--activation", "gelu"], "torch backend"),
])
def test_bad_kernel_options(tmp_path, capsys, extra, word):
    code, _, err = run_cli(["run", "--quiet", "--no-cache", "--etas", "5", "--trials", "2", "--out",
                            str(tmp_path / "o"), *extra], capsys)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert word in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("problem", ["asymmetric", "size", "nan", "negative"])
def test_bad_kernel_files(tmp_path, capsys, problem):
    from wilsonian.data import build_pool
    from wilsonian.kernels import KernelSpec

    K = KernelSpec().matrix(build_pool("digits", seed=0).X)
    if problem == "asymmetric":
        K[0, 1] += 1.0
    elif problem == "size":
        K = K[:10, :10]
    elif problem == "nan":
        K[3, 3] = np.nan
    else:
        K = K - 2 * np.abs(K).max() * np.eye(len(K))
    np.save(tmp_path / "K.npy", K)
    cache = tmp_path / "cache"
    code, _, err = run_cli(["run", "--kernel", "precomputed", "--kernel-file", str(tmp_path / "K.npy"), "--quiet",
                            "--cache-dir", str(cache), "--etas", "5", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists() and not list(cache.rglob("*.npz"))


class _PairwiseOperator:
    """Stands in for a kernel whose cost is per pair: each block sleeps ``per_pair`` per entry."""

    backend = "numpy"

    def __init__(self, n, per_pair):
        self.n, self.per_pair, self.blocks = n, per_pair, []

    def block(self, rows, cols=None):
        import time

        cols = rows if cols is None else cols
        self.blocks.append((len(rows), len(cols)))
        time.sleep(self.per_pair * len(rows) * len(cols))
        return np.zeros((len(rows), len(cols)))


def test_a_slow_kernel_is_estimated_from_a_small_block_before_it_starts():
    from wilsonian.app.estimate import SAMPLE_SECONDS, kernel_time_line, matrix_seconds

    op = _PairwiseOperator(2000, 0.01)           # 10 ms per pair: 2,001,000 pairs, about 5.6 h
    seconds, per_pair = matrix_seconds(op)
    assert per_pair == pytest.approx(0.01, rel=0.3) and seconds == pytest.approx(20010, rel=0.3)
    assert op.blocks[0] == (1, 1)                # the untimed first call
    assert sum(r * c for r, c in op.blocks) * 0.01 < 6 * SAMPLE_SECONDS   # the sample stays small
    line = kernel_time_line(_PairwiseOperator(2000, 0.01))
    assert line.startswith("kernel: about ") and " h here (2,001,000 pairs at " in line
    assert kernel_time_line(_PairwiseOperator(2000, 1e-6)) is None   # 2 s: not worth a line
    assert kernel_time_line(_PairwiseOperator(2000, 0.01), per_pass=True).startswith(
        "kernel tiles: about ")                  # the top-k solver's wording: a time per pass
    assert " here for each pass that computes all of them (kept tiles are computed once) (2,001,000 pairs" in \
        kernel_time_line(_PairwiseOperator(2000, 0.01), per_pass=True)
    assert matrix_seconds(_PairwiseOperator(3, 0.01)) is None        # too small to sample
    fast = _PairwiseOperator(100_000, 0.0)       # a matrix product: the sample never fills
    matrix_seconds(fast)
    assert max(r for r, _ in fast.blocks) == 256


@pytest.mark.parametrize("seconds, text", [(45, "45 s"), (720, "12 min"), (3.5 * 3600, "3.5 h"),
                                           (16 * 3600, "16 h"), (3 * 86400, "3.0 days")])
def test_durations_read_as_a_person_would_say_them(seconds, text):
    from wilsonian.app.estimate import duration

    assert duration(seconds) == text


def test_the_estimate_line_comes_before_the_kernel_and_only_when_it_is_computed(tmp_path, capsys):
    from wilsonian.app.cache import CachedOperator
    from wilsonian.store import ArtifactCache

    class Slow(_PairwiseOperator):
        storage, eigensystem = "memory", None

        def matrix(self, *, progress=False):
            print("computing", file=__import__("sys").stderr)
            return np.eye(self.n)

        def cache_key(self):
            return {"slow": self.n}

        def diagonal(self):
            return np.ones(self.n)

    cached = CachedOperator(Slow(600, 0.004), ArtifactCache(tmp_path / "cache"), quiet=False, label="slow")
    cached.matrix()
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "kernel: slow on N = 600" and err[1].startswith("kernel: about 12 min here") \
        and err[2] == "computing"
    cached.matrix()                              # from the cache: nothing to estimate
    assert "about" not in capsys.readouterr().err
    CachedOperator(Slow(600, 0.004), ArtifactCache(tmp_path / "q"), quiet=True).matrix()
    assert "about" not in capsys.readouterr().err
