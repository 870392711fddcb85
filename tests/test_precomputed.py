"""Your own kernel: kernel files (wilsonian.kernels.load_kernel_file, check_psd) and
Python functions (wilsonian.kernels.CallableKernel) on every operator."""

from __future__ import annotations

import numpy as np
import pytest

from wilsonian.errors import WilsonianError
from wilsonian.kernels import CallableKernel, KernelSpec, check_psd, load_kernel_file
from wilsonian.operators import DenseOperator, TiledOperator
from wilsonian.spectrum import topk_spectrum


def rbf(A, B, length=3.0):
    sq = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T
    return np.exp(-np.maximum(sq, 0.0) / (2 * length**2))


@pytest.fixture(scope="module")
def pool():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((60, 5))
    return X, np.sign(X[:, 0]), KernelSpec("nngp", "gelu", 2).matrix(X)


# --------------------------------------------------------------------------- files


def test_npy_and_npz_round_trip(tmp_path, pool):
    X, y, K = pool
    np.save(tmp_path / "K.npy", K)
    kf = load_kernel_file(tmp_path / "K.npy", n=60)
    np.testing.assert_array_equal(kf.K, K)
    assert kf.X is None and kf.y is None and kf.asymmetry == 0.0 and kf.n == 60
    np.savez(tmp_path / "K.npz", K=K.astype(np.float32), X=X, y=y)
    kz = load_kernel_file(tmp_path / "K.npz", n=60, pool_X=X)
    assert kz.K.dtype == np.float64 and np.array_equal(kz.K, kz.K.T)
    np.testing.assert_array_equal(kz.X, X)
    np.testing.assert_array_equal(kz.y, y)
    record = kz.as_dict()
    assert record["family"] == "file" and record["digest"] == kz.digest and record["n"] == 60
    op = DenseOperator(kz.K, key=kz.as_dict())
    assert op.cache_key() == record and op.n == 60
    # Round-off asymmetry below the tolerance is averaged away.
    noisy = K + 1e-12 * np.abs(K).max() * np.triu(np.ones_like(K), 1)
    np.save(tmp_path / "noisy.npy", noisy)
    kn = load_kernel_file(tmp_path / "noisy.npy")
    np.testing.assert_array_equal(kn.K, kn.K.T)
    assert 0 < kn.asymmetry < 1e-11
    np.testing.assert_allclose(kn.K, K, rtol=0, atol=1e-12 * np.abs(K).max())


def test_bad_kernel_files(tmp_path, pool):
    X, y, K = pool

    def save(name, **arrays):
        path = tmp_path / name
        if name.endswith(".npy"):
            np.save(path, arrays["K"])
        else:
            np.savez(path, **arrays)
        return path

    bad_sym = K.copy()
    bad_sym[0, 5] += 1e-3
    nan = K.copy()
    nan[3, 4] = nan[4, 3] = np.nan
    cases = [
        (save("asym.npy", K=bad_sym), {}, "not symmetric"),
        (save("nan.npy", K=nan), {}, r"NaN or infinite entries \(first at row 3, column 4\)"),
        (save("rect.npy", K=K[:, :50]), {}, "square N × N matrix, got shape"),
        (save("vec.npy", K=K[0]), {}, "square N × N matrix"),
        (save("ok.npy", K=K), {"n": 61}, "pool has N = 61"),
        (save("strs.npy", K=np.array([["a"]])), {}, "real numbers"),
        (save("noK.npz", M=K), {}, "no array 'K'"),
        (save("badX.npz", K=K, X=X[:10]), {}, "X has 10 rows"),
        (save("bady.npz", K=K, y=y[:5]), {}, "y must be 60 finite"),
        (save("order.npz", K=K, X=X[::-1]), {"pool_X": X}, "not the pool's inputs in the pool's order"),
        (tmp_path / "missing.npy", {}, "does not exist"),
    ]
    (tmp_path / "K.txt").write_text("1 0\n0 1\n")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    cases += [(tmp_path / "K.txt", {}, "must end in .npy"), (tmp_path / "junk.npy", {}, "could not be read")]
    for path, kw, match in cases:
        with pytest.raises(WilsonianError, match=match):
            load_kernel_file(path, **kw)


def test_check_psd():
    assert check_psd([3.0, 1.0, 0.0, -1e-14]) == pytest.approx(-1e-14 / 3)
    with pytest.raises(WilsonianError, match="not positive semi-definite"):
        check_psd([3.0, 1.0, -1e-3])
    assert check_psd([3.0, 1.0, -1e-7], tol=1e-6) < 0
    with pytest.raises(WilsonianError, match=r"no positive eigenvalue \(every eigenvalue is ≤ 0, the most negative -2"):
        check_psd([-1.0, -2.0])
    with pytest.raises(WilsonianError, match=r"no positive eigenvalue \(every eigenvalue is ≤ 0, the most negative"):
        check_psd([0.0, -2.0])          # as the run passes them: λ_1 clipped to 0, the most negative
    with pytest.raises(WilsonianError, match=r"\(every eigenvalue is ≤ 0\)"):
        check_psd([0.0, 0.0])
    with pytest.raises(WilsonianError, match="finite"):
        check_psd([1.0, np.nan])


# ----------------------------------------------------------------------- callables


def test_callable_kernel_on_operators(pool):
    X, y, _ = pool
    kern = CallableKernel(rbf, label="rbf", params={"length": 3.0}, rows=7)
    K = kern.matrix(X)
    np.testing.assert_allclose(K, rbf(X, X), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(K, K.T)
    np.testing.assert_allclose(kern.diagonal(X), 1.0, rtol=1e-13)
    np.testing.assert_allclose(kern.matrix(X[:9], X[9:]), rbf(X[:9], X[9:]), rtol=1e-13, atol=1e-15)
    op = TiledOperator(X, kern, tile=11)
    V = np.random.default_rng(0).standard_normal((60, 4))
    np.testing.assert_allclose(op.matmul(V), K @ V, rtol=1e-12, atol=1e-12)
    spectrum = topk_spectrum(X, y, kern, 5)
    np.testing.assert_allclose(spectrum.eigenvalues, np.linalg.eigvalsh(K)[::-1][:5] / 60, rtol=1e-8)
    record = kern.as_dict()
    assert record["family"] == "callable" and record["label"] == "rbf" and record["params"] == {"length": 3.0}
    other = CallableKernel(lambda A, B: rbf(A, B, 2.0), label="rbf", params={"length": 3.0})
    assert other.as_dict()["code"] != record["code"]   # the bytecode digest tells them apart
    with_diag = CallableKernel(rbf, lambda A: np.ones(len(A)), label="rbf")
    np.testing.assert_array_equal(np.diag(with_diag.matrix(X)), 1.0)


def test_new_kernels_on_dask(pool):
    """Workers in another process: kernels travel pickled (the lambda by cloudpickle)."""
    distributed = pytest.importorskip("dask.distributed")
    from wilsonian.kernels import ConvKernel
    from wilsonian.operators.dask_cluster import DaskOperator

    X, _, _ = pool
    images = np.abs(np.random.default_rng(2).standard_normal((30, 16)))
    cases = [(CallableKernel(lambda A, B: (A @ B.T + 1.0) ** 2, label="poly2"), X),
             (KernelSpec("ntk", "leaky-relu", 2, activation_params={"slope": 0.1}), X),
             (ConvKernel((4, 4, 1), "ntk", "gelu", 2, readout="gap"), images)]
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=40)
    with distributed.Client(cluster) as client:
        for kern, inputs in cases:
            K = kern.matrix(inputs)
            op = DaskOperator(client, inputs, kern)
            V = np.random.default_rng(1).standard_normal((len(inputs), 3))
            np.testing.assert_allclose(op.matmul(V), K @ V, rtol=1e-12, atol=1e-12 * np.abs(K @ V).max())
            np.testing.assert_allclose(op.diagonal(), np.diag(K), rtol=1e-13)
    cluster.close()


def test_callable_kernel_errors(pool):
    X, _, _ = pool
    with pytest.raises(WilsonianError, match="label"):
        CallableKernel(rbf, label="")
    with pytest.raises(WilsonianError, match="callable"):
        CallableKernel("rbf", label="rbf")
    with pytest.raises(WilsonianError, match=r"must return a real \(60, 60\) array"):
        CallableKernel(lambda A, B: A @ A.T[:, :3], label="bad").matrix(X)
    with pytest.raises(WilsonianError, match="NaN"):
        CallableKernel(lambda A, B: np.full((len(A), len(B)), np.nan), label="nan").matrix(X)
    with pytest.raises(WilsonianError, match="failed on blocks"):
        CallableKernel(lambda A, B: 1 / 0, label="boom").matrix(X)
    with pytest.raises(WilsonianError, match="diagonal function"):
        CallableKernel(rbf, lambda A: np.ones(3), label="rbf").diagonal(X)


def test_a_loosened_psd_tolerance_warns_when_negative_eigenvalues_exceed_the_ridge(tmp_path, capsys):
    """--psd-tol let an indefinite matrix through: the run says that its GP solves can blow up
    and which ridge would keep them positive definite; a kernel passing the default check does not."""
    from wilsonian.app.cli import main
    from wilsonian.data import build_pool

    K = KernelSpec().matrix(build_pool("digits", seed=0).X)
    w, V = np.linalg.eigh(K)
    w[:3] = -1e-3 * w[-1]
    np.save(tmp_path / "indefinite.npy", (V * w) @ V.T)
    np.save(tmp_path / "K.npy", K)
    said = {}
    for name, extra in (("indefinite", ["--psd-tol", "1e-2"]), ("indefinite_big_ridge", ["--psd-tol", "1e-2",
                        "--ridge", "1"]), ("K", ["--ridge", "0"])):
        file = tmp_path / (name.split("_")[0] + ".npy")
        code = main(["run", "--kernel", "precomputed", "--kernel-file", str(file), "--etas", "5,10", "--trials", "3",
                     "--quiet", "--no-cache", "--out", str(tmp_path / name), *extra])
        said[name] = capsys.readouterr().err
        assert code == 0, said[name]
    lowest = 1e-3 * w[-1]
    assert said["indefinite"] == (
        f"warning: the kernel in {tmp_path / 'indefinite.npy'} has an eigenvalue of {-lowest:.3g} (-1.0e-03 × the "
        "largest, accepted by --psd-tol 0.01), beyond the ridge σ² = 1e-08: a training set's K + σ²I can be "
        f"singular, and the empirical errors blow up; give --ridge above {lowest:.3g}\n")
    assert said["indefinite_big_ridge"] == "" and said["K"] == ""
