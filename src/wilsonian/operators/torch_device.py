"""The PyTorch backend: kernel tiles, products and the dense eigensystem on CPU or CUDA.

:class:`TorchOperator` is the kernel operator of :mod:`wilsonian.operators` on a torch
device: every block, product V ↦ K V and the whole matrix are computed there, and the dense
eigensolver runs ``torch.linalg.eigh`` there. The mathematics and conventions are those of
the NumPy path:

- :func:`kernel_torch` (and :func:`nngp_torch`, :func:`ntk_torch`): THEORY.md §2, the
  recursions of :mod:`wilsonian.kernels.fully_connected` (ReLU and erf closed forms,
  standard parameterization, the NNGP is K^L, the NTK in the NTK parameterization), in row
  tiles on the device. For ``X2=None`` the diagonal is set from the O(N) recursion and
  cos θ = 1 exactly on it, as in the NumPy path.
- :func:`eigh_torch`: eigenvalues of K (not K/N) in descending order, projections
  p_k = v_kᵀy ≥ 0 and the top eigenvectors, i.e. the
  :class:`wilsonian.spectrum.Eigensystem` of :func:`wilsonian.spectrum.symmetric_eigensystem`.

Inputs and outputs are NumPy arrays; tensors live on the device only inside a call.
float64 by default (``dtype=torch.float32`` on request, e.g. for consumer GPUs).
PyTorch is imported lazily; ``device="cuda"`` without a usable GPU raises a WilsonianError.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Any

import numpy as np

from wilsonian._validation import as_inputs, check_tile
from wilsonian.errors import WilsonianError
from wilsonian.kernels import KernelSpec
from wilsonian.operators.base import KernelOperator

__all__ = [
    "TorchKernelOperator",
    "TorchOperator",
    "eigh_torch",
    "kernel_torch",
    "nngp_torch",
    "ntk_torch",
    "torch_available",
]

# Kernel entries per row tile on the device (float64: 256 MiB, a handful of work arrays).
_TILE_ENTRIES = 1 << 25


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise WilsonianError(
            "the PyTorch backend needs PyTorch; install it with pip install torch "
            "(or use the NumPy path, device=None)."
        ) from None
    return torch


def torch_available(device: str = "cpu") -> bool:
    """True when PyTorch is installed and ``device`` ("cpu", "cuda", "cuda:N") is usable."""
    try:
        _device(device)
    except WilsonianError:
        return False
    return True


def _device(device: Any) -> Any:
    torch = _torch()
    if not isinstance(device, str) or not (device == "cpu" or device == "cuda" or device.startswith("cuda:")):
        raise WilsonianError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}.")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise WilsonianError(
                f"device {device!r} was requested but CUDA is not available to PyTorch "
                f"(torch {torch.__version__}); use device='cpu' or install a CUDA build of PyTorch."
            )
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise WilsonianError(
                f"device {device!r} does not exist: {torch.cuda.device_count()} CUDA device(s) found."
            )
    return torch.device(device)


def _dtype(dtype: Any) -> Any:
    torch = _torch()
    if dtype is None:
        return torch.float64
    if dtype in (torch.float64, torch.float32):
        return dtype
    if dtype in (np.float64, "float64"):
        return torch.float64
    if dtype in (np.float32, "float32"):
        return torch.float32
    raise WilsonianError(f"dtype must be float64 or float32, got {dtype!r}.")


def _check_torch_kernel(spec: Any) -> None:
    """The torch backend has the relu and erf recursions only: refuse anything else."""
    if not isinstance(spec, KernelSpec):
        raise WilsonianError(f"spec must be a wilsonian.kernels.KernelSpec, got {type(spec).__name__}.")
    if spec.activation not in ("relu", "erf") or spec.activation_params:
        raise WilsonianError(f"the torch backend computes only the relu and erf kernels, not {spec.activation!r}; "
                             "use the numpy or dask backend.")


# --------------------------------------------------------------------------- kernels


def _variances(X: Any, spec: KernelSpec) -> list[Any]:
    """[q⁰, …, q^L] per row of X (a tensor): the kernel diagonal of every layer."""
    torch = _torch()
    q = spec.weight_var * (X * X).sum(dim=1) / X.shape[1] + spec.bias_var
    qs = [q]
    for _ in range(spec.depth):
        if spec.activation == "relu":
            q = spec.weight_var * q / 2.0 + spec.bias_var
        else:
            q = spec.weight_var * (2.0 / math.pi) * torch.asin(2.0 * q / (1.0 + 2.0 * q)) + spec.bias_var
        qs.append(q)
    return qs


def _ntk_diagonal(qs: list[Any], spec: KernelSpec) -> Any:
    torch = _torch()
    theta = qs[0]
    for q_prev, q in zip(qs[:-1], qs[1:]):
        slope = 0.5 if spec.activation == "relu" else (4.0 / math.pi) / torch.sqrt(1.0 + 4.0 * q_prev)
        theta = q + spec.weight_var * slope * theta
    return theta


def _kernel_tile(A: Any, B: Any, qa: list[Any], qb: list[Any], spec: KernelSpec, diag_offset: int | None) -> Any:
    """K^L (or Θ^L) between the rows of A and B on the device (THEORY.md §2).

    ``diag_offset``: for a tile of the symmetric matrix, the column of row 0's diagonal
    entry; there cos θ = 1 exactly and the result is the diagonal recursion.
    """
    torch = _torch()
    ntk = spec.kind == "ntk"
    K = spec.weight_var * (A @ B.T) / A.shape[1] + spec.bias_var
    theta_ntk = K.clone() if ntk else None
    rows = torch.arange(A.shape[0], device=A.device)
    diag = None
    if diag_offset is not None:
        diag = (rows, rows + diag_offset)
    for layer in range(spec.depth):
        q_r, q_c = qa[layer][:, None], qb[layer][None, :]
        if spec.activation == "relu":
            norm = torch.sqrt(q_r * q_c)
            rho = torch.where(norm > 0, K / torch.where(norm > 0, norm, 1.0), 0.0).clamp_(-1.0, 1.0)
            if diag is not None:
                rho[diag] = 1.0
            angle = torch.arccos(rho)
            sine = torch.sqrt((1.0 - rho) * (1.0 + rho))
            K_new = spec.weight_var * norm * (sine + (math.pi - angle) * rho) / (2.0 * math.pi) + spec.bias_var
            if ntk:
                theta_ntk = K_new + spec.weight_var * theta_ntk * (math.pi - angle) / (2.0 * math.pi)
        else:
            scale = torch.sqrt((1.0 + 2.0 * q_r) * (1.0 + 2.0 * q_c))
            u = (2.0 * K / scale).clamp_(-1.0, 1.0)
            K_new = spec.weight_var * (2.0 / math.pi) * torch.asin(u) + spec.bias_var
            if ntk:
                slope = (4.0 / math.pi) / torch.sqrt(scale * scale - 4.0 * K * K)
                theta_ntk = K_new + spec.weight_var * theta_ntk * slope
        K = K_new
    out = theta_ntk if ntk else K
    if diag is not None:
        out[diag] = (_ntk_diagonal(qa, spec) if ntk else qa[-1])
    return out


def kernel_torch(X1: Any, X2: Any = None, spec: KernelSpec | None = None, *, device: str = "cpu",
                 dtype: Any = None, tile: int | None = None) -> np.ndarray:
    """The kernel matrix spec(X1, X2) computed with PyTorch on ``device`` (THEORY.md §2).

    Parameters
    ----------
    X1 : (n1, d) array_like
    X2 : (n2, d) array_like, optional (None: X1, with an exact diagonal)
    spec : KernelSpec (default: ``KernelSpec()``, the NNGP of a depth-2 ReLU network)
    device : "cpu", "cuda" or "cuda:N"
    dtype : torch.float64 (default) or torch.float32
    tile : rows per device tile (default: about 2²⁵ entries)

    Returns
    -------
    ndarray, (n1, n2), float64 (float32 if requested)
    """
    torch = _torch()
    spec = KernelSpec() if spec is None else spec
    _check_torch_kernel(spec)
    dev, dt = _device(device), _dtype(dtype)
    A = as_inputs(X1, "X1")
    symmetric = X2 is None
    B = A if symmetric else as_inputs(X2, "X2")
    if B.shape[1] != A.shape[1]:
        raise WilsonianError(f"X1 and X2 must have the same number of features, got {A.shape[1]} and {B.shape[1]}.")
    if tile is not None and (isinstance(tile, bool) or not isinstance(tile, Integral) or tile < 1):
        raise WilsonianError(f"tile must be a positive number of rows or None, got {tile!r}.")
    with torch.no_grad():
        At = torch.as_tensor(A, dtype=dt, device=dev)
        Bt = At if symmetric else torch.as_tensor(B, dtype=dt, device=dev)
        qa_all = _variances(At, spec)
        qb = qa_all if symmetric else _variances(Bt, spec)
        rows = int(tile) if tile else max(1, min(A.shape[0], _TILE_ENTRIES // B.shape[0]))
        out = np.empty((A.shape[0], B.shape[0]), dtype=np.float64 if dt == torch.float64 else np.float32)
        for i0 in range(0, A.shape[0], rows):
            i1 = min(i0 + rows, A.shape[0])
            qa = [q[i0:i1] for q in qa_all]
            block = _kernel_tile(At[i0:i1], Bt, qa, qb, spec, i0 if symmetric else None)
            out[i0:i1] = block.cpu().numpy()
    if symmetric:
        # Mirror the upper triangle, as the NumPy path does: an exactly symmetric matrix.
        for i0 in range(0, A.shape[0], rows):
            i1 = min(i0 + rows, A.shape[0])
            out[i1:, i0:i1] = out[i0:i1, i1:].T
            block = out[i0:i1, i0:i1]
            lower = np.tril_indices(i1 - i0, -1)
            block[lower] = block.T[lower]
    return out


def nngp_torch(X1: Any, X2: Any = None, *, activation: str = "relu", depth: int = 2, weight_var: float = 2.0,
               bias_var: float = 0.0, device: str = "cpu", dtype: Any = None, tile: int | None = None) -> np.ndarray:
    """NNGP kernel K^L(X1, X2) on ``device``; arguments as :func:`wilsonian.kernels.nngp`."""
    spec = KernelSpec("nngp", activation, depth, weight_var, bias_var)
    return kernel_torch(X1, X2, spec, device=device, dtype=dtype, tile=tile)


def ntk_torch(X1: Any, X2: Any = None, *, activation: str = "relu", depth: int = 2, weight_var: float = 2.0,
              bias_var: float = 0.0, device: str = "cpu", dtype: Any = None, tile: int | None = None) -> np.ndarray:
    """NTK Θ^L(X1, X2) on ``device``; arguments as :func:`wilsonian.kernels.ntk`."""
    spec = KernelSpec("ntk", activation, depth, weight_var, bias_var)
    return kernel_torch(X1, X2, spec, device=device, dtype=dtype, tile=tile)


class TorchOperator(KernelOperator):
    """The kernel operator of :mod:`wilsonian.operators` with every kernel entry computed on a
    torch ``device``; the dense eigensystem runs there too. K is never stored on the device.

    Parameters
    ----------
    X : (N, d) pool inputs
    spec : KernelSpec (fully connected NNGP or NTK)
    device : "cpu", "cuda" or "cuda:N"
    dtype : torch.float64 (default) or torch.float32
    tile : rows per device tile (default: about 2²⁵ entries)
    """

    backend = "torch"

    def __init__(self, X: Any, spec: KernelSpec, *, device: str = "cpu", dtype: Any = None,
                 tile: int | None = None):
        torch = _torch()
        _check_torch_kernel(spec)
        self.spec = spec
        self.device_name = device
        self.device, self.dtype = _device(device), _dtype(dtype)
        X = as_inputs(X, "X")
        super().__init__(X.shape[0])
        self.X = X
        with torch.no_grad():
            self._X = torch.as_tensor(X, dtype=self.dtype, device=self.device)
            self._q = _variances(self._X, spec)
        tile = check_tile(tile)
        self.tile = tile if tile else max(1, min(self.n, _TILE_ENTRIES // self.n))
        self._key: dict[str, Any] | None = None

    def _index(self, index: Any) -> Any:
        torch = _torch()
        if isinstance(index, slice):
            return index
        return torch.as_tensor(np.asarray(index), dtype=torch.long, device=self.device)

    def block(self, rows: Any, cols: Any = None) -> np.ndarray:
        torch = _torch()
        with torch.no_grad():
            r = self._index(rows)
            A, qa = self._X[r], [q[r] for q in self._q]
            if cols is None:
                tile = _kernel_tile(A, A, qa, qa, self.spec, 0)
                tile = 0.5 * (tile + tile.T)  # exactly symmetric, as the NumPy path
            else:
                c = self._index(cols)
                tile = _kernel_tile(A, self._X[c], qa, [q[c] for q in self._q], self.spec, None)
            return tile.cpu().numpy().astype(np.float64, copy=False)

    def diagonal(self) -> np.ndarray:
        return self.spec.diagonal(self.X)

    def matrix(self, *, progress: bool = False) -> np.ndarray:
        return kernel_torch(self.X, None, self.spec, device=self.device_name, dtype=self.dtype, tile=self.tile)

    def matmul(self, V: np.ndarray) -> np.ndarray:
        torch = _torch()
        V = self._check_block(V)
        with torch.no_grad():
            Vt = torch.as_tensor(V, dtype=self.dtype, device=self.device)
            out = torch.empty_like(Vt)
            for i0 in range(0, self.n, self.tile):
                i1 = min(i0 + self.tile, self.n)
                qa = [q[i0:i1] for q in self._q]
                block = _kernel_tile(self._X[i0:i1], self._X, qa, self._q, self.spec, i0)
                out[i0:i1] = block @ Vt
            result = out.cpu().numpy().astype(np.float64, copy=False)
        self.passes += 1
        return result

    def eigensystem(self, K: np.ndarray, y: np.ndarray, *, n_vectors: int = 0, method: str = "auto"):
        """The dense eigensystem on the device (``method`` is LAPACK's, not used here)."""
        return eigh_torch(K, y, n_vectors=n_vectors, device=self.device_name, dtype=self.dtype)

    def cache_key(self) -> dict[str, Any]:
        if self._key is None:
            from wilsonian.store import array_digest

            self._key = {"pool": array_digest(self.X), "kernel": self.spec.as_dict(), "backend": "torch",
                         "device": self.device_name, "dtype": str(self.dtype)}
        return self._key

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "kernel": self.spec.as_dict(), "device": self.device_name}


#: The name this operator had before the operators package (``matmul`` hook of top-k).
TorchKernelOperator = TorchOperator


# ----------------------------------------------------------------- dense linear algebra


def eigh_torch(K: Any, y: Any, *, n_vectors: int = 0, device: str = "cpu", dtype: Any = None) -> Any:
    """Eigenvalues of K (descending), projections p_k = v_kᵀy ≥ 0, top eigenvectors.

    The same result as :func:`wilsonian.linalg.symmetric_eigensystem` (a
    :class:`wilsonian.linalg.Eigensystem`), computed with ``torch.linalg.eigh`` on
    ``device`` (all eigenvectors are formed on the device; memory ~3 N² numbers there).

    Parameters
    ----------
    K : (N, N) symmetric kernel matrix (only the lower triangle is read by the solver)
    y : (N,) targets
    n_vectors : how many top eigenvectors to return (0: none; -1: all)
    device, dtype : as in :func:`kernel_torch`
    """
    torch = _torch()
    from wilsonian.spectrum.dense import Eigensystem

    dev, dt = _device(device), _dtype(dtype)
    K = np.asarray(K)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] == 0 or K.dtype.kind not in "biuf":
        raise WilsonianError(f"K must be a non-empty real square matrix, got shape {K.shape}.")
    n = K.shape[0]
    y = np.asarray(y, dtype=np.float64)
    if y.ndim not in (1, 2) or y.shape[0] != n or not np.isfinite(y).all():
        raise WilsonianError(f"y must be a finite array of shape ({n},) or ({n}, C), got shape {y.shape}.")
    if isinstance(n_vectors, bool) or not isinstance(n_vectors, Integral) or not (-1 <= n_vectors <= n):
        raise WilsonianError(f"n_vectors must be an integer in [-1, {n}], got {n_vectors!r}.")
    n_vectors = n if n_vectors == -1 else int(n_vectors)
    with torch.no_grad():
        Kt = torch.as_tensor(np.asarray(K, dtype=np.float64), dtype=dt, device=dev)
        if not bool(torch.isfinite(Kt).all()):
            raise WilsonianError("K contains NaN or infinite values; check the kernel.")
        w, V = torch.linalg.eigh(Kt)
        del Kt
        w, V = torch.flip(w, dims=(0,)), torch.flip(V, dims=(1,))
        p = V.T @ torch.as_tensor(y, dtype=dt, device=dev)
        signs = torch.where((p if p.ndim == 1 else p[:, 0]) < 0, -1.0, 1.0).to(dt)
        p = p * (signs if p.ndim == 1 else signs[:, None])
        vectors = None
        if n_vectors:
            vectors = (V[:, :n_vectors] * signs[:n_vectors]).cpu().numpy().astype(np.float64)
        return Eigensystem(w.cpu().numpy().astype(np.float64), p.cpu().numpy().astype(np.float64), vectors)
