"""Kernels you bring: a kernel matrix from a file, or any Python function of two input sets.

- :func:`load_kernel_file`: a ``.npy`` N × N matrix in the pool's order, or a ``.npz`` with
  ``K`` and optionally ``X`` (N × d inputs) and ``y`` (N targets); validated (square, the
  pool's N, finite, symmetric to a tolerance) and returned as a :class:`KernelFile`;
  ``DenseOperator(kf.K, key=kf.as_dict())`` gives every solver its operator.
- :func:`check_psd`: the positive semi-definiteness check a caller makes after its
  eigendecomposition (eigenvalues not below −tol·λ₁).
- :class:`CallableKernel`: ``fn(X1, X2) -> (n1, n2) array`` (and optionally a diagonal
  function) as a kernel object with ``matrix``/``diagonal``/``as_dict``, so that the
  matrix-free (:class:`~wilsonian.operators.TiledOperator`), Dask and dense paths all take it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from wilsonian._validation import as_inputs, check_tile
from wilsonian.errors import WilsonianError
from wilsonian.kernels._tiles import check_out, run_tiles

__all__ = ["CallableKernel", "KernelFile", "check_psd", "load_kernel_file"]

# Rows per block when checking and symmetrizing a loaded matrix (no N² temporaries).
_CHECK_ROWS = 512


@dataclass(frozen=True)
class KernelFile:
    """A validated kernel matrix from a file.

    Attributes
    ----------
    K : ndarray, (N, N) float64
        Exactly symmetric: (K + Kᵀ)/2 of the file's matrix.
    X : ndarray (N, d) or None
        Inputs stored with it (``.npz`` key ``X``).
    y : ndarray (N,) or None
        Targets stored with it (``.npz`` key ``y``).
    path : str
    digest : str
        SHA-256 (first 16 hex digits) of the symmetrized K: the cache key.
    asymmetry : float
        max |K − Kᵀ| / max |K| of the file's matrix.
    """

    K: np.ndarray
    X: np.ndarray | None
    y: np.ndarray | None
    path: str
    digest: str
    asymmetry: float

    @property
    def n(self) -> int:
        return int(self.K.shape[0])

    def as_dict(self) -> dict[str, Any]:
        """Provenance and cache key: ``{"family": "file", "path", "digest", "n", "asymmetry"}``.

        The operator for the solvers is ``DenseOperator(kf.K, key=kf.as_dict())``
        (:mod:`wilsonian.operators`, which this package does not import).
        """
        return {"family": "file", "path": self.path, "digest": self.digest, "n": self.n,
                "asymmetry": self.asymmetry}


def check_kernel_path(path: str) -> None:
    """A kernel file must be an existing file (checked before anything is loaded)."""
    if os.path.isdir(path):
        raise WilsonianError(f"kernel file {path!r} is a folder, not a file; give the path of a .npy or .npz file.")
    if not os.path.isfile(path):
        raise WilsonianError(f"kernel file {path!r} does not exist; give the path of a .npy or .npz file.")


def _matrix_from(path: str) -> tuple[Any, Any, Any]:
    """(K, X, y) as stored; X and y None for a ``.npy`` file."""
    lower = path.lower()
    check_kernel_path(path)
    try:
        if lower.endswith(".npy"):
            return np.load(path, allow_pickle=False), None, None
        if lower.endswith(".npz"):
            with np.load(path, allow_pickle=False) as data:
                if "K" not in data.files:
                    raise WilsonianError(
                        f"kernel file {path!r} has no array 'K' (it has {', '.join(data.files) or 'none'}); "
                        "save it with np.savez(path, K=K, X=X, y=y).")
                return (data["K"], data["X"] if "X" in data.files else None,
                        data["y"] if "y" in data.files else None)
    except WilsonianError:
        raise
    except Exception as exc:
        raise WilsonianError(f"kernel file {path!r} could not be read ({type(exc).__name__}: {exc}).") from None
    raise WilsonianError(f"kernel file {path!r} must end in .npy (the matrix) or .npz (K, optional X, y).")


def load_kernel_file(path: Any, *, n: int | None = None, pool_X: Any = None,
                     symmetry_tol: float = 1e-8) -> KernelFile:
    """Load and validate a kernel matrix in the pool's order.

    Parameters
    ----------
    path : str or path-like
        ``.npy`` (an N × N array) or ``.npz`` (``K``; optionally ``X`` and ``y``).
    n : int, optional
        The pool size N it must match.
    pool_X : array_like (N, d), optional
        The pool's inputs: if the file stores ``X`` too, they must be the same rows in the
        same order (to 1e-12 relative), so that K is in the pool's order.
    symmetry_tol : float
        Largest accepted max |K − Kᵀ| / max |K|.

    Returns
    -------
    KernelFile

    Raises
    ------
    WilsonianError
        Missing or unreadable file, no ``K`` in a ``.npz``, K not a real square 2-D array, the
        wrong N, NaN or infinite entries, asymmetry above ``symmetry_tol``, X or y of the
        wrong shape, or X that differs from the pool's.
    """
    path = os.fspath(path)
    K, X, y = _matrix_from(path)
    if K.dtype.kind not in "biuf":
        raise WilsonianError(f"kernel file {path!r}: K must hold real numbers, got dtype {K.dtype}.")
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] < 1:
        raise WilsonianError(f"kernel file {path!r}: K must be a square N × N matrix, got shape {K.shape}.")
    N = K.shape[0]
    if n is not None and N != n:
        raise WilsonianError(f"kernel file {path!r} is {N} × {N} but the pool has N = {n} points; the matrix "
                             "must hold one row and column per pool point, in the pool's order.")
    K = np.array(K, dtype=np.float64, order="C")   # a private, writeable copy
    scale, worst = 0.0, 0.0
    for i0 in range(0, N, _CHECK_ROWS):
        i1 = min(i0 + _CHECK_ROWS, N)
        rows = K[i0:i1]
        if not np.isfinite(rows).all():
            bad = np.argwhere(~np.isfinite(rows))[0]
            raise WilsonianError(f"kernel file {path!r}: K has NaN or infinite entries (first at row "
                                 f"{i0 + bad[0]}, column {bad[1]}); recompute it.")
        scale = max(scale, float(np.abs(rows).max()))
        worst = max(worst, float(np.abs(rows[:, i0:] - K[i0:, i0:i1].T).max()))
    asymmetry = worst / scale if scale > 0 else 0.0
    if asymmetry > symmetry_tol:
        raise WilsonianError(f"kernel file {path!r}: K is not symmetric (max |K − Kᵀ|/max |K| = {asymmetry:.2e} "
                             f"> {symmetry_tol:g}); a kernel matrix must be, check its row and column order.")
    for i0 in range(0, N, _CHECK_ROWS):   # exact symmetry: average with the transpose, in blocks
        i1 = min(i0 + _CHECK_ROWS, N)
        upper = 0.5 * (K[i0:i1, i0:] + K[i0:, i0:i1].T)
        K[i0:i1, i0:] = upper
        K[i0:, i0:i1] = upper.T
    if X is not None:
        X = as_inputs(X, f"X in {path!r}")
        if X.shape[0] != N:
            raise WilsonianError(f"kernel file {path!r}: X has {X.shape[0]} rows but K is {N} × {N}.")
        if pool_X is not None:
            P = as_inputs(pool_X, "pool_X")
            if P.shape != X.shape or not np.allclose(P, X, rtol=1e-12, atol=1e-12 * max(np.abs(P).max(), 1e-300)):
                raise WilsonianError(f"kernel file {path!r}: its X is not the pool's inputs in the pool's order; "
                                     "build the pool the same way, or drop X from the file.")
    if y is not None:
        y = np.asarray(y)
        if y.dtype.kind not in "biuf" or y.shape != (N,) or not np.isfinite(y).all():
            raise WilsonianError(f"kernel file {path!r}: y must be {N} finite real numbers, got {y.dtype} {y.shape}.")
        y = y.astype(np.float64)
    digest = hashlib.sha256(K.tobytes()).hexdigest()[:16]
    return KernelFile(K=K, X=X, y=y, path=os.path.abspath(path), digest=digest, asymmetry=asymmetry)


def check_psd(eigenvalues: Any, *, tol: float = 1e-8, what: str = "the kernel") -> float:
    """Check that no eigenvalue lies below −tol·λ₁ (λ₁ the largest); return min λ / λ₁.

    Use it after an eigendecomposition of a kernel you did not compute (eigenvalues of K or
    of K/N: the ratio is the same). Round-off leaves eigenvalues of order −1e-13 λ₁ for a
    float64 kernel and −1e-7 λ₁ for one computed in float32: raise ``tol`` for the latter.

    Raises
    ------
    WilsonianError
        If some eigenvalue is below −tol·λ₁, or λ₁ ≤ 0.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if lam.size == 0 or not np.isfinite(lam).all():
        raise WilsonianError(f"the eigenvalues of {what} must be finite and non-empty.")
    top, low = float(lam.max()), float(lam.min())
    if top <= 0:
        lowest = f", the most negative {low:.3e}" if low < 0 else ""
        raise WilsonianError(f"{what} has no positive eigenvalue (every eigenvalue is ≤ 0{lowest}); "
                             "it is not a kernel matrix.")
    ratio = low / top
    if ratio < -tol:
        raise WilsonianError(f"{what} is not positive semi-definite: its smallest eigenvalue is {ratio:.2e} × the "
                             f"largest (tolerance {tol:g}); check the matrix, or raise the tolerance if it was "
                             "computed in low precision.")
    return ratio


def _code_digest(fn: Callable) -> str:
    """A digest of a function's compiled code and constants (best effort; '' if none)."""
    code = getattr(fn, "__code__", None) or getattr(getattr(fn, "__call__", None), "__code__", None)
    if code is None:
        return ""
    return hashlib.sha256(code.co_code + repr(code.co_consts).encode()).hexdigest()[:16]


class CallableKernel:
    """Any ``fn(X1, X2) -> array (n1, n2)`` as a kernel object (:mod:`wilsonian.kernels`).

    Parameters
    ----------
    fn : callable
        fn(X1, X2) with X1 (n1, d), X2 (n2, d) float64 arrays; returns the (n1, n2) kernel
        block. It must be symmetric: fn(X2, X1) = fn(X1, X2)ᵀ.
    diagonal : callable, optional
        diag(X) -> (n,) array of K(x_i, x_i); by default read from fn on diagonal blocks.
    label : str
        A name for records and cache keys.
    params : mapping, optional
        JSON-ready hyperparameters of fn, recorded in ``as_dict()`` (and so in cache keys).
    rows : int
        Rows per call of fn (default 512): memory is O(rows · n) per call.

    The cache key (``as_dict``) holds ``label``, ``params`` and a digest of fn's bytecode;
    it cannot see data that fn reads from outside, so put such settings in ``params``.
    ``matrix(X)`` calls fn on the blocks on and right of the diagonal and mirrors them: the
    result is exactly symmetric, whatever round-off fn has.
    """

    def __init__(self, fn: Callable, diagonal: Callable | None = None, *, label: str,
                 params: dict[str, Any] | None = None, rows: int = 512):
        if not callable(fn) or (diagonal is not None and not callable(diagonal)):
            raise WilsonianError("CallableKernel needs a callable fn(X1, X2) (and optionally diagonal(X)).")
        if not isinstance(label, str) or not label:
            raise WilsonianError("CallableKernel needs a non-empty label, e.g. label='rbf'.")
        self.fn, self.diagonal_fn, self.label = fn, diagonal, label
        self.params = dict(params or {})
        self.rows = check_tile(rows) or 512

    def _call(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        try:
            block = np.asarray(self.fn(A, B))
        except WilsonianError:
            raise
        except Exception as exc:
            raise WilsonianError(f"kernel function {self.label!r} failed on blocks {A.shape} × {B.shape} "
                                 f"({type(exc).__name__}: {exc}).") from None
        if block.shape != (len(A), len(B)) or block.dtype.kind not in "biuf":
            raise WilsonianError(f"kernel function {self.label!r} must return a real ({len(A)}, {len(B)}) array, "
                                 f"got {block.dtype} {block.shape}.")
        if not np.isfinite(block).all():
            raise WilsonianError(f"kernel function {self.label!r} returned NaN or infinite values.")
        return block

    def matrix(self, X1: Any, X2: Any = None, *, out: np.ndarray | None = None, tile: int | None = None,
               progress: bool = False) -> np.ndarray:
        """The kernel matrix (n1, n2); ``X2=None``: exactly symmetric."""
        step = check_tile(tile) or self.rows
        A = as_inputs(X1, "X1")
        symmetric = X2 is None
        B = A if symmetric else as_inputs(X2, "X2")
        if B.shape[1] != A.shape[1]:
            raise WilsonianError(f"X1 and X2 must have the same number of features, got {A.shape[1]} and {B.shape[1]}.")
        n1, n2 = len(A), len(B)
        if out is None:
            out = np.empty((n1, n2))
        else:
            check_out(out, (n1, n2), (A, B))
        diag = self.diagonal(A) if symmetric and self.diagonal_fn is not None else None

        def compute(i0: int) -> None:
            i1 = min(i0 + step, n1)
            j0 = i0 if symmetric else 0
            out[i0:i1, j0:] = self._call(A[i0:i1], B[j0:])
            if symmetric:
                square = out[i0:i1, i0:i1]
                np.copyto(square, square.T.copy(), where=np.tri(i1 - i0, k=-1, dtype=bool))
                if diag is not None:
                    square[np.diag_indices(i1 - i0)] = diag[i0:i1]
                out[i1:, i0:i1] = out[i0:i1, i1:].T

        # One worker: fn is user code that may hold the GIL or use its own threads.
        run_tiles(list(range(0, n1, step)), compute, 1, progress=progress, desc=f"{self.label} tiles")
        return out

    def diagonal(self, X: Any) -> np.ndarray:
        """K(x_i, x_i), shape (n,)."""
        X = as_inputs(X, "X")
        if self.diagonal_fn is not None:
            d = np.asarray(self.diagonal_fn(X))
            if d.shape != (len(X),) or d.dtype.kind not in "biuf" or not np.isfinite(d).all():
                raise WilsonianError(f"the diagonal function of {self.label!r} must return {len(X)} finite "
                                     f"real numbers, got {d.dtype} {d.shape}.")
            return d.astype(np.float64)
        step = min(self.rows, 64)
        return np.concatenate([np.diagonal(self._call(X[i:i + step], X[i:i + step]))
                               for i in range(0, len(X), step)]).astype(np.float64)

    def as_dict(self) -> dict[str, Any]:
        """``{"family": "callable", "label", "params", "code"}`` (provenance and cache key)."""
        return {"family": "callable", "label": self.label, "params": self.params,
                "code": _code_digest(self.fn), "diagonal_code": _code_digest(self.diagonal_fn)
                if self.diagonal_fn is not None else None}

    def __repr__(self) -> str:
        return f"CallableKernel(label={self.label!r}, params={self.params!r})"
