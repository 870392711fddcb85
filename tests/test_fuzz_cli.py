"""Property-based fuzzing of the command line (Hypothesis): any options, hostile files.

Whatever the arguments, ``wilsonian`` ends with exit code 0 (and a complete output folder)
or 2 with exactly one ``error: ...`` line on stderr; it never shows a traceback and never
leaves a half-written file, a cache entry of a failed run, or anything outside ``--out``.
Valid runs are kept small by fast defaults that the fuzzed options may override.
"""

import math
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from wilsonian.app.cli import main

HOSTILE = Path(tempfile.mkdtemp(prefix="wilsonian-hostile-"))


def _hostile_files() -> list[str]:
    files = {
        "empty.npz": b"",
        "garbage.npz": b"PK\x03\x04 this is not a zip file",
        "text.npz": "X,y\n1,2\n".encode(),
    }
    for name, content in files.items():
        (HOSTILE / name).write_bytes(content)
    np.save(HOSTILE / "array.npy", np.zeros((10, 3)))
    np.savez(HOSTILE / "no_y.npz", X=np.zeros((10, 3)))
    np.savez(HOSTILE / "nan.npz", X=np.full((10, 3), np.nan), y=np.ones(10))
    np.savez(HOSTILE / "mismatch.npz", X=np.ones((10, 3)), y=np.ones(7))
    np.savez(HOSTILE / "objects.npz", X=np.array([{"a": 1}] * 10, dtype=object), y=np.ones(10))
    np.savez(HOSTILE / "ok.npz", X=np.random.default_rng(0).normal(size=(40, 3)),
             y=np.sign(np.random.default_rng(1).normal(size=40)))
    (HOSTILE / "evil.pkl").write_bytes(pickle.dumps({"data": np.zeros(3)}))
    # kernel files: the right size for the fuzzed pools (--n-pool 120), and wrong ones
    rng = np.random.default_rng(2)
    A = rng.normal(size=(120, 130))
    good = A @ A.T / 130
    np.save(HOSTILE / "K_ok.npy", good)
    np.save(HOSTILE / "K_small.npy", good[:50, :50])
    np.save(HOSTILE / "K_asym.npy", good + np.triu(np.ones((120, 120)), 1))
    bad = good.copy()
    bad[3, 7] = bad[7, 3] = np.nan
    np.save(HOSTILE / "K_nan.npy", bad)
    np.save(HOSTILE / "K_indefinite.npy", good - 2 * np.eye(120) * np.linalg.eigvalsh(good)[-1])
    np.savez(HOSTILE / "K_with_X.npz", K=good, X=np.zeros((120, 64)))
    # config files
    (HOSTILE / "ok.toml").write_text("trials = 2\nthreshold = 0.4\n")
    (HOSTILE / "unknown.toml").write_text("colour = 'red'\n")
    (HOSTILE / "wrong.toml").write_text("depth = 'deep'\n")
    (HOSTILE / "broken.toml").write_text("depth = = 2\n")
    (HOSTILE / "grid.toml").write_text("[grid]\nthreshold = [0.3, 0.6]\n")
    (HOSTILE / "list.json").write_text("[1, 2, 3]")
    (HOSTILE / "binary.toml").write_bytes(b"\xff\xfe\x00garbage")
    (HOSTILE / "dir.npz").mkdir(exist_ok=True)
    return [str(HOSTILE / name) for name in sorted(p.name for p in HOSTILE.iterdir())] + [
        str(HOSTILE / "missing.npz"), "", "/", "/dev/null", "x" * 300]


FILES = _hostile_files()
NUMBERS = st.one_of(
    st.integers(-10, 3000).map(str),
    st.sampled_from(["0", "-1", "1e30", "1e308", "-1e308", "inf", "-inf", "nan", "1e-300", "0.5", "2", "abc", "",
                     "1,2", "99999999999999999999999", "0x10", "1_000"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
LISTS = st.one_of(
    st.lists(st.integers(-5, 60), min_size=0, max_size=4).map(lambda v: ",".join(map(str, v))),
    st.sampled_from(["inf", "1e30", "5,nan", "5,,10", "5.5", "-1", "0", "x", ",", "10," * 3]),
)
WORDS = st.one_of(st.text(max_size=12), st.sampled_from(["relu", "erf", "nngp", "ntk", "train", "all", "test"]))

RUN_OPTIONS = {
    "--dataset": st.sampled_from(["digits", "gaussian", "npz", "mnist", "cifar10", "imagenet", ""]),
    "--data-file": st.sampled_from(FILES),
    "--data-dir": st.sampled_from([str(HOSTILE), "/nonexistent", "", "/dev/null"]),
    "--classes": st.one_of(st.sampled_from(["8,9", "0,1", "3,3", "8,42", "cat,dog", "", ",", "8", "1,2,3"]), WORDS),
    "--split": WORDS,
    "--n-pool": st.one_of(st.integers(-5, 400).map(str), st.sampled_from(["100000000", "1e9", "nan"])),
    "--preprocessing": st.one_of(st.sampled_from(["unit-norm", "standardize", "none"]), WORDS),
    "--kernel": WORDS,
    "--activation": WORDS,
    "--depth": st.one_of(st.integers(-3, 6).map(str), st.sampled_from(["100000", "2.5", "nan"])),
    "--weight-var": NUMBERS,
    "--bias-var": NUMBERS,
    "--ridge": NUMBERS,
    "--threshold": NUMBERS,
    "--etas": LISTS,
    "--trials": st.one_of(st.integers(-3, 4).map(str), st.sampled_from(["1e9", "10000000", "x"])),
    "--seed": NUMBERS,
    "--solver": st.sampled_from(["dense", "topk", "lanczos", ""]),
    "--k": st.one_of(st.integers(-3, 400).map(str), st.sampled_from(["1e9", "x"])),
    "--tol": NUMBERS,
    "--extra-modes": st.one_of(st.integers(-3, 400).map(str), st.sampled_from(["1e9"])),
    "--tile-cache-gib": NUMBERS,
    "--device": st.sampled_from(["tpu", "cuda:7", ""]),
    "--scheduler": st.sampled_from(["tcp://127.0.0.1:1", "", "not a url"]),
    # tasks
    "--targets": st.one_of(st.sampled_from(["binary", "one-hot", "regression"]), WORDS),
    "--label-noise": NUMBERS,
    # kernels
    "--architecture": st.one_of(st.sampled_from(["fc", "conv", "rnn"]), WORDS),
    "--filter": st.one_of(st.integers(-2, 12).map(str), st.sampled_from(["1e9", "x"])),
    "--padding": st.one_of(st.sampled_from(["same", "valid", "circular"]), WORDS),
    "--readout": st.one_of(st.sampled_from(["flatten", "gap", "attention"]), WORDS),
    "--activation-param": st.sampled_from(["slope=0.1", "degree=3", "degree=1e9", "a=nan", "slope", "=", "b=-1",
                                           "points=5", "points=100000", "x=1"]),
    "--kernel-file": st.sampled_from([f for f in FILES if "K_" in f] + [FILES[0], "/nonexistent.npy"]),
    "--symmetry-tol": NUMBERS,
    "--psd-tol": NUMBERS,
    "--config": st.sampled_from([f for f in FILES if f.endswith((".toml", ".json"))] + ["/nonexistent.toml"]),
}
RUN_VALUES = {
    "--classes": ["all", "0,1,2", "1,2,3,4"],
    "--activation": ["leaky-relu", "abrelu", "gelu", "sin", "tanh", "monomial", "sign", "gaussian"],
    "--kernel": ["precomputed", "ntk"],
    "--ridge": ["1e-8,1e-2", "1e-8:1:5", "1e-8:1:0", "1e-4,-1", "1:1e-8:3", "1e-6,1e-6"],
}
RUN_FLAGS = ["--nongaussian", "--replace", "--no-replace", "--power-per-output"]
RUN_ONLY = {"--solver", "--k", "--tol", "--extra-modes", "--tile-cache-gib", "--device", "--scheduler", "--nongaussian",
            "--power-per-output"}
SWEEP_GRIDS = st.sampled_from(["threshold=0.3,0.6", "ridge=1e-6,1e-2", "depth=1,2", "activation=relu,gelu",
                               "classes=8,9;0,1", "n-pool=80,120", "depth=1,x", "threshold=2", "colour=red",
                               "depth=1,1", "weight-var=1,nan", "bias-var=0.1", "depth"])
TOY_OPTIONS = {
    "--trials": st.one_of(st.integers(-3, 2000).map(str), st.sampled_from(["1e20", "100000000000000", "x"])),
    "--lambda-high": LISTS,
    "--lambda1": NUMBERS,
    "--ridge": NUMBERS,
    "--n": st.one_of(st.integers(-3, 200).map(str), st.sampled_from(["1000000000000"])),
    "--degree": st.one_of(st.integers(-3, 40).map(str)),
    "--seed": NUMBERS,
    "--workers": st.one_of(st.integers(-3, 64).map(str)),
}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(["run", "run", "run", "sweep", "toy"]))
    table = TOY_OPTIONS if command == "toy" else RUN_OPTIONS
    if command == "sweep":
        table = {k: v for k, v in table.items() if k not in RUN_ONLY}
    names = draw(st.lists(st.sampled_from(sorted(table)), min_size=1, max_size=4, unique=True))
    args = []
    for name in names:
        value = draw(table[name])
        if name in RUN_VALUES and command != "toy" and draw(st.booleans()):
            value = draw(st.sampled_from(RUN_VALUES[name]))  # the valid values the words rarely hit
        args += [name, value]
    if command != "toy":
        args += draw(st.lists(st.sampled_from(RUN_FLAGS), max_size=1))
        base = ["--etas", "5,10", "--trials", "2", "--n-pool", "120"]
        if command == "sweep":
            args = [a for a in args if a not in RUN_ONLY]
            for grid in draw(st.lists(SWEEP_GRIDS, min_size=0, max_size=2)):
                args += ["--grid", grid]
    else:
        base = ["--trials", "500", "--lambda-high", "0.1"]
    return [command, *base, *args]


def _files_below(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.slow
# No shrink phase: each example is a whole run, and shrinking one failure took CI over five
# minutes; derandomized generation already makes a failing example reproducible as printed.
@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=[HealthCheck.too_slow])
@given(command_lines())
# Found by this test in CI: E_EK and the train error underflow to 0, an empty log axis.
@example(["run", "--etas", "5,10", "--trials", "2", "--n-pool", "120", "--ridge", "2.2250738585e-313"])
def test_any_command_line_ends_cleanly(argv):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out, cache = root / "out", root / "cache"
        args = [*argv, "--quiet", "--out", str(out)]
        if argv[0] in ("run", "sweep"):
            args += ["--cache-dir", str(cache)]
        import contextlib
        import io

        stderr, stdout = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
            code = main(args)
        err = stderr.getvalue()
        assert "Traceback" not in err
        if code == 0:
            assert (out / ".wilsonian-output.json").is_file()
            assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no staging leftovers
        else:
            assert code == 2, (code, err)
            lines = [line for line in err.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("error: "), err
            assert not out.exists()
            assert not [p for p in _files_below(root) if p.endswith(".npz")]  # nothing cached
        # nothing is ever written outside the run's folders
        assert {p.split("/")[0] for p in _files_below(root)} <= {"out", "cache"}
        assert not math.isnan(float(code))
