"""The Dask path: chunked pools, the distributed operator, same numbers as in memory."""

import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed")

from wilsonian.operators.dask_cluster import (  # noqa: E402
    DaskKernelOperator,
    load_pool_stack,
    save_pool_stack,
)
from wilsonian.errors import WilsonianError  # noqa: E402
from wilsonian.kernels import KernelSpec  # noqa: E402
from wilsonian.spectrum import topk_spectrum, topk_spectrum_dask  # noqa: E402




pytestmark = pytest.mark.usefixtures("one_blas_thread")

@pytest.fixture(scope="module")
def client():
    """A LocalCluster of two worker processes on loopback, shared by the tests."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=40)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def pool():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((700, 12))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.sign(X[:, 0] + 0.5 * X[:, 1])
    return X, y


def test_stack_round_trip_is_atomic(tmp_path, pool):
    X, y = pool
    path = save_pool_stack(tmp_path / "pool", X, y, chunk_rows=128)
    Xd, y_back = load_pool_stack(path)
    assert Xd.chunks[0] == (128,) * 5 + (60,)
    assert np.array_equal(Xd.compute(), X) and np.array_equal(y_back, y)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pool"]  # no temporary left behind
    with pytest.raises(WilsonianError, match="already exists"):
        save_pool_stack(path, X, y)
    save_pool_stack(path, X[:100], None, overwrite=True)
    Xd, y_back = load_pool_stack(path)
    assert Xd.shape == (100, 12) and y_back is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pool"]
    with pytest.raises(WilsonianError, match="not a pool stack"):
        load_pool_stack(tmp_path)


def test_operator_equals_dense_product(client, tmp_path, pool):
    X, _ = pool
    spec = KernelSpec("ntk", "relu", 2, 2.0, 0.1)
    K = spec.matrix(X)
    V = np.random.default_rng(0).standard_normal((700, 4))
    path = save_pool_stack(tmp_path / "pool", X, chunk_rows=100)
    for source in (X, path):
        op = DaskKernelOperator(client, source, spec, block_rows=90)
        assert np.allclose(op(V), K @ V, rtol=0, atol=1e-12 * np.abs(K).sum(axis=1).max())
        assert np.allclose(op.diagonal(), np.diag(K), rtol=1e-15, atol=0)
        assert len(op.blocks) == 8


def test_same_top_eigenvalues_as_in_memory(client, tmp_path, pool):
    X, y = pool
    spec = KernelSpec()
    memory = topk_spectrum(X, y, spec, 40, seed=2)
    path = save_pool_stack(tmp_path / "pool", X, y, chunk_rows=150)
    dask = topk_spectrum_dask(path, None, spec, 40, scheduler=client, seed=2)
    assert np.allclose(dask.eigenvalues, memory.eigenvalues, rtol=1e-8, atol=0)
    assert np.allclose(dask.target_coefficients, memory.target_coefficients, rtol=1e-8, atol=1e-12)
    assert dask.trace == pytest.approx(memory.trace, rel=1e-14)
    assert dask.target_power == memory.target_power
    assert dask.meta["backend"] == "dask" and dask.meta["workers"] == 2
    assert dask.meta["all_converged"]


def test_default_scheduler_starts_a_local_cluster(pool):
    X, y = pool
    spectrum = topk_spectrum_dask(X[:300], y[:300], KernelSpec(), 10, scheduler=None)
    reference = topk_spectrum(X[:300], y[:300], KernelSpec(), 10)
    assert np.allclose(spectrum.eigenvalues, reference.eigenvalues, rtol=1e-8, atol=0)
    assert spectrum.meta["scheduler"].startswith("tcp://127.0.0.1:")


def test_bad_input_is_rejected(client, pool):
    X, y = pool
    with pytest.raises(WilsonianError, match="scheduler"):
        topk_spectrum_dask(X, y, KernelSpec(), 5, scheduler=42)
    with pytest.raises(WilsonianError, match="y is required"):
        topk_spectrum_dask(X, None, KernelSpec(), 5, scheduler=client)
    with pytest.raises(WilsonianError, match="shape"):
        topk_spectrum_dask(X, y[:-1], KernelSpec(), 5, scheduler=client)
    with pytest.raises(WilsonianError, match="block_rows"):
        DaskKernelOperator(client, X, KernelSpec(), block_rows=0)
