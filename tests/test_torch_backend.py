"""Optional PyTorch backend: the same kernels, eigensystems and operator products as NumPy."""

import sys

import numpy as np
import pytest

from wilsonian.errors import WilsonianError
from wilsonian.kernels import KernelSpec

torch = pytest.importorskip("torch")

from wilsonian import gp  # noqa: E402
from wilsonian.operators.torch_device import (  # noqa: E402
    TorchKernelOperator,
    eigh_torch,
    kernel_torch,
    nngp_torch,
    ntk_torch,
    torch_available,
)
from wilsonian.spectrum import symmetric_eigensystem  # noqa: E402
from wilsonian.spectrum import topk_spectrum  # noqa: E402




pytestmark = pytest.mark.usefixtures("one_blas_thread")

@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Torch's OpenMP threads and NumPy's OpenBLAS threads both busy-wait after each call; on
    a 2-core machine alternating between them (as the top-k solver does) starves both."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    X1 = rng.standard_normal((230, 7))
    X1[3] = 0.0  # a zero input: variance 0 in every layer when σ_b = 0
    X2 = rng.standard_normal((41, 7))
    return X1, X2


@pytest.mark.parametrize("kind", ["nngp", "ntk"])
@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("depth,bias_var", [(0, 0.0), (1, 0.3), (3, 0.0)])
def test_kernels_match_numpy(inputs, kind, activation, depth, bias_var):
    X1, X2 = inputs
    spec = KernelSpec(kind, activation, depth, 1.7, bias_var)
    K = spec.matrix(X1)
    K_torch = kernel_torch(X1, None, spec, tile=50)
    assert np.allclose(K_torch, K, rtol=1e-13, atol=1e-15 * np.abs(K).max())
    assert np.allclose(np.diag(K_torch), spec.diagonal(X1), rtol=1e-14, atol=0)
    assert np.array_equal(K_torch, K_torch.T)
    C = spec.matrix(X1, X2)
    assert np.allclose(kernel_torch(X1, X2, spec), C, rtol=1e-13, atol=1e-15 * np.abs(C).max())


def test_named_wrappers_and_float32(inputs):
    X1, X2 = inputs
    assert np.allclose(nngp_torch(X1, X2, depth=2), KernelSpec().matrix(X1, X2), rtol=1e-13)
    assert np.allclose(ntk_torch(X1, depth=1, activation="erf"), KernelSpec("ntk", "erf", 1).matrix(X1), rtol=1e-13)
    single = nngp_torch(X1, dtype=torch.float32)
    assert single.dtype == np.float32
    assert np.allclose(single, KernelSpec().matrix(X1), rtol=1e-5, atol=1e-6)


def test_eigensystem_matches_numpy(inputs):
    X1, _ = inputs
    K = KernelSpec().matrix(X1)
    y = np.sign(X1[:, 0]) + 0.1
    ref = symmetric_eigensystem(K, y, n_vectors=10, method="eigh")
    got = eigh_torch(K, y, n_vectors=10)
    w1 = ref.eigenvalues[0]
    assert np.allclose(got.eigenvalues, ref.eigenvalues, rtol=0, atol=1e-13 * w1)
    assert np.all(np.diff(got.eigenvalues) <= 0) and np.all(got.projections >= 0)
    # Σ p_k² = |y|² and, for the separated top modes, the projections and vectors themselves.
    assert np.sum(got.projections**2) == pytest.approx(y @ y, rel=1e-13)
    assert np.allclose(got.projections[:10], ref.projections[:10], rtol=1e-9, atol=1e-12)
    assert np.allclose(got.eigenvectors, ref.eigenvectors, atol=1e-9)
    assert np.allclose(got.eigenvectors.T @ y, got.projections[:10], atol=1e-12)
    assert eigh_torch(K, y).eigenvectors is None


def test_torch_operator_blocks_and_learning_curve_match_numpy(inputs):
    """The operator seam: blocks computed on the device are the NumPy kernel's, so the exact
    GP learning curve over the torch operator equals the one over the matrix in memory."""
    X1, _ = inputs
    spec = KernelSpec("ntk", "relu", 2, 2.0, 0.1)
    K = spec.matrix(X1)
    op = TorchKernelOperator(X1, spec, tile=64)
    rows, cols = np.arange(0, 230, 3), np.arange(1, 230, 3)  # disjoint: see the NTK accuracy note
    assert np.allclose(op.block(rows, cols), K[np.ix_(rows, cols)], rtol=1e-12, atol=1e-14)
    square = op.block(rows)
    assert np.array_equal(square, square.T)
    assert np.allclose(np.diag(square), spec.diagonal(X1[rows]), rtol=1e-14, atol=0)
    assert np.allclose(op.matrix(), K, rtol=1e-12, atol=1e-14)
    y = np.sign(X1[:, 1])
    ref = gp.learning_curve(K, y, [5, 40, 120], ridge=1e-4, trials=3, seed=2)
    got = gp.learning_curve(op, y, [5, 40, 120], ridge=1e-4, trials=3, seed=2)
    assert np.allclose(got.errors, ref.errors, rtol=1e-9, atol=0)


def test_torch_operator_drives_the_topk_solver(inputs):
    X1, _ = inputs
    y = np.sign(X1[:, 0])
    spec = KernelSpec()
    op = TorchKernelOperator(X1, spec, tile=64)
    a = topk_spectrum(X1, y, spec, 20, matmul=op)
    b = topk_spectrum(X1, y, spec, 20)
    assert op.passes == a.meta["iterations"]
    assert np.allclose(a.eigenvalues, b.eigenvalues, rtol=1e-10, atol=0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present; the unavailable-CUDA error cannot occur")
def test_cuda_request_without_gpu_is_a_clear_error(inputs):
    X1, _ = inputs
    assert not torch_available("cuda") and torch_available("cpu")
    with pytest.raises(WilsonianError, match="CUDA is not available"):
        nngp_torch(X1, device="cuda")
    with pytest.raises(WilsonianError, match="CUDA is not available"):
        eigh_torch(np.eye(3), np.ones(3), device="cuda:0")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu(inputs):
    X1, X2 = inputs
    spec = KernelSpec("ntk", "relu", 2)
    assert np.allclose(kernel_torch(X1, X2, spec, device="cuda"), spec.matrix(X1, X2), rtol=1e-12)
    K = spec.matrix(X1)
    y = np.sign(X1[:, 0])
    assert np.allclose(eigh_torch(K, y, device="cuda").eigenvalues, eigh_torch(K, y).eigenvalues,
                       rtol=0, atol=1e-12 * np.abs(K).max())


def test_bad_device_and_missing_torch(inputs, monkeypatch):
    X1, _ = inputs
    with pytest.raises(WilsonianError, match="device must be"):
        nngp_torch(X1, device="tpu")
    with pytest.raises(WilsonianError, match="dtype"):
        nngp_torch(X1, dtype="int8")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(WilsonianError, match="pip install torch"):
        nngp_torch(X1)
    assert not torch_available("cpu")
