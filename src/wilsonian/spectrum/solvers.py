"""Eigensolvers over any kernel operator: :class:`DenseSolver` and :class:`KrylovSolver`.

A solver turns a :class:`~wilsonian.operators.KernelOperator` and the pool targets y into a
:class:`~wilsonian.spectrum.Spectrum` (THEORY.md §1: eigenvalues of K/N, y_k = v_kᵀy/√N,
φ_k = √N v_k). ``solve`` also returns the operator that the learning curves should use
next: the dense solver has formed K anyway, so it hands on a
:class:`~wilsonian.operators.DenseOperator` of it; the Krylov solver hands on the operator
it was given (K never stored). That is the only difference downstream code ever sees.

- :class:`DenseSolver`: every mode, from K formed once (``operator.matrix()``) and
  decomposed by LAPACK (or by the backend's own ``eigensystem``, on a torch device).
- :class:`KrylovSolver`: the top k modes from products V ↦ K V only
  (:func:`wilsonian.spectrum.krylov.block_krylov_eigensolver`); a truncated spectrum whose
  trace comes from the exact diagonal, so the theories see the tail through ``tail_mass``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Callable

import numpy as np

from wilsonian._validation import as_targets, check_int, check_positive
from wilsonian.errors import WilsonianError
from wilsonian.operators.dense import materialize
from wilsonian.spectrum.core import Spectrum, spectrum_from_eigenpairs
from wilsonian.spectrum.dense import symmetric_eigensystem
from wilsonian.spectrum.krylov import block_krylov_eigensolver

__all__ = ["DenseSolver", "KrylovSolver", "spectrum_from_operator", "topk_spectrum", "topk_spectrum_dask"]

_DENSE_METHODS = ("auto", "eigh", "tridiagonal")


class DenseSolver:
    """Every mode of K/N from a dense eigendecomposition.

    Parameters
    ----------
    n_vectors : int
        Eigenfunctions to keep: 0 none (default), −1 all (the non-Gaussian RG needs them).
    method : {"auto", "eigh", "tridiagonal"}
        LAPACK route, see :func:`wilsonian.spectrum.dense.symmetric_eigensystem`.
    """

    name = "dense"

    def __init__(self, n_vectors: int = 0, method: str = "auto"):
        if isinstance(n_vectors, bool) or not isinstance(n_vectors, (int, np.integer)) or n_vectors < -1:
            raise WilsonianError(f"n_vectors must be an integer ≥ −1 (−1: all), got {n_vectors!r}")
        if method not in _DENSE_METHODS:
            raise WilsonianError(f"method must be one of {', '.join(_DENSE_METHODS)}, got {method!r}")
        self.n_vectors = int(n_vectors)
        self.method = method

    def cache_key(self) -> dict[str, Any]:
        return {"solver": self.name, "method": self.method, "n_vectors": self.n_vectors}

    def describe(self) -> str:
        return "dense" + (", all eigenvectors" if self.n_vectors == -1 else
                          f", {self.n_vectors} eigenvectors" if self.n_vectors else "")

    def solve(self, operator, y: np.ndarray, *, progress: bool = False) -> tuple[Spectrum, Any]:
        y = as_targets(y, operator.n)
        K = operator.matrix(progress=progress)
        return self.spectrum_of_matrix(operator, K, y), materialize(operator, K)

    def spectrum_of_matrix(self, operator, K: np.ndarray, y: np.ndarray) -> Spectrum:
        """The spectrum of a kernel matrix ``K`` that ``operator`` produced."""
        diagonal = np.array(np.diagonal(K), dtype=np.float64)
        # LAPACK, unless the backend decomposes on its own device
        decompose = operator.eigensystem or symmetric_eigensystem
        w, p, V = decompose(K, y, n_vectors=self.n_vectors, method=self.method)
        meta = {"solver": self.name, "method": self.method, "n_vectors": self.n_vectors, **operator.describe()}
        return spectrum_from_eigenpairs(w, p, V, y=y, kernel_diagonal=diagonal, meta=meta)

    def downstream(self, operator) -> Any:
        """The operator the learning curves use after this solver: K in memory."""
        return materialize(operator)


class KrylovSolver:
    """The top k modes of K/N without storing K (thick-restart block Lanczos).

    Parameters
    ----------
    k : int
        Modes to keep, 1 ≤ k < N.
    extra_modes : int
        Resolve k + ``extra_modes`` and keep the top k: the last resolved modes converge
        slowest, so a few extra buy accuracy for the kept ones.
    tol : float
        Residual target ‖Kv − wv‖/w_1 for every resolved pair (default 1e-12).
    max_iter, oversample, block_size, max_basis, seed :
        See :func:`wilsonian.spectrum.krylov.block_krylov_eigensolver`.
    verify : bool
        Spend one more pass to compute the residuals directly.
    n_vectors : int, optional
        Eigenfunctions to keep (default 0, none; at most k).
    """

    name = "topk"

    def __init__(self, k: int, *, extra_modes: int = 0, tol: float = 1e-12, max_iter: int = 50,
                 oversample: int | None = None, block_size: int | None = None, max_basis: int | None = None,
                 seed: int = 0, verify: bool = False, n_vectors: int | None = 0):
        self.k = check_int(k, "k", 1)
        self.extra_modes = check_int(extra_modes, "extra_modes", 0)
        self.tol = check_positive(tol, "tol")
        self.max_iter = check_int(max_iter, "max_iter", 1)
        self.sizes = {"oversample": oversample, "block_size": block_size, "max_basis": max_basis}
        self.seed = int(seed)
        self.verify = bool(verify)
        self.n_vectors = self.k if n_vectors is None else check_int(n_vectors, "n_vectors", 0)
        if self.n_vectors > self.k:
            raise WilsonianError(f"n_vectors = {self.n_vectors} exceeds k = {self.k}; at most the k resolved "
                                 "modes have vectors.")

    @property
    def resolved(self) -> int:
        return self.k + self.extra_modes

    def cache_key(self) -> dict[str, Any]:
        return {"solver": self.name, "k": self.resolved, "kept": self.k, "tol": self.tol, "seed": self.seed,
                "max_iter": self.max_iter, "n_vectors": self.n_vectors, "verify": self.verify, **self.sizes}

    def describe(self) -> str:
        return f"top {self.resolved} without storing K" + (f", keeping {self.k}" if self.extra_modes else "")

    def solve(self, operator, y: np.ndarray, *, progress: bool = False) -> tuple[Spectrum, Any]:
        y = as_targets(y, operator.n)
        spectrum = self.from_products(operator.matmul, operator.diagonal(), y, progress=progress,
                                      meta=operator.describe())
        return spectrum, operator

    def downstream(self, operator) -> Any:
        """The operator the learning curves use after this solver: the same one."""
        return operator

    def from_products(self, matmul: Callable[[np.ndarray], np.ndarray], diagonal: np.ndarray, y: np.ndarray, *,
                      progress: bool = False, meta: dict[str, Any] | None = None) -> Spectrum:
        """The truncated spectrum from a product V ↦ K V and the kernel diagonal (for the exact trace)."""
        diagonal = np.asarray(diagonal, dtype=np.float64)
        n = y.shape[0]
        if diagonal.shape != (n,):
            raise WilsonianError(f"the kernel diagonal must have shape ({n},), got {diagonal.shape}.")
        if self.resolved >= n:
            raise WilsonianError(f"k = {self.resolved} must be smaller than the pool size N = {n}; use the dense "
                                 "solver.")
        result = block_krylov_eigensolver(matmul, n, self.resolved, tol=self.tol, max_iter=self.max_iter,
                                          seed=self.seed, progress=progress, **self.sizes)
        V, w = result.vectors, result.eigenvalues
        residuals, source, passes = result.residual_norms, "krylov", result.passes
        if self.verify:
            KV = np.asarray(matmul(V), dtype=np.float64)
            residuals = np.linalg.norm(KV - V * w, axis=0) / w[0]
            source, passes = "direct", passes + 1
            del KV
        projections = V.T @ y
        # orient each vector so that its projection (on the first output) is ≥ 0
        signs = np.where((projections if projections.ndim == 1 else projections[:, 0]) < 0, -1.0, 1.0)
        projections *= signs if projections.ndim == 1 else signs[:, None]
        kept_vectors = min(self.n_vectors, self.resolved)
        phi = V[:, :kept_vectors] * signs[:kept_vectors] if kept_vectors else None
        del V
        info = {
            "solver": self.name,
            "method": "thick-restart block Lanczos",
            "k": self.resolved,
            "iterations": result.passes,
            "passes": passes,
            "columns": result.columns,
            "restarts": result.restarts,
            "block_size": result.block_size,
            "max_basis": result.max_basis,
            "keep": result.keep,
            "tol": self.tol,
            "seed": self.seed,
            "residual_norms": [float(r) for r in residuals],
            "residual_norms_meaning": "||K v - w v|| / w_1 per eigenpair (K, not K/N)",
            "residual_source": source,
            "eigenvalue_error_estimates": [float(e) for e in result.eigenvalue_error_estimates],
            "converged": [bool(c) for c in result.converged],
            "all_converged": bool(result.converged.all()),
            **(meta or {}),
        }
        spectrum = spectrum_from_eigenpairs(w, projections, phi, y=y, kernel_diagonal=diagonal, meta=info)
        return spectrum.truncated(self.k) if self.extra_modes else spectrum


def spectrum_from_operator(operator, y: np.ndarray, solver: DenseSolver | KrylovSolver | None = None, *,
                           progress: bool = False) -> Spectrum:
    """The spectrum of any kernel operator (default: :class:`DenseSolver`, every mode)."""
    return (solver or DenseSolver()).solve(operator, y, progress=progress)[0]


def topk_spectrum(X: Any, y: Any, spec: Any, k: int, *, tile: int | None = None, keep_bytes: float = 0,
                  progress: bool = False, matmul: Callable[[np.ndarray], np.ndarray] | None = None,
                  **solver_options: Any) -> Spectrum:
    """The top-k spectrum of K/N on the pool (X, y) for the kernel ``spec``, without storing K.

    ``solver_options`` are those of :class:`KrylovSolver` (``tol``, ``seed``, ``extra_modes``,
    ``n_vectors`` — by default all k —, ...). ``matmul``, if given, replaces the products of the
    built-in :class:`~wilsonian.operators.TiledOperator` (``tile`` rows per tile, up to
    ``keep_bytes`` of them kept between passes): any callable V ↦ K V. Returns a truncated
    :class:`Spectrum` (see :class:`KrylovSolver`).
    """
    from wilsonian.operators.tiled import TiledOperator

    operator = TiledOperator(X, spec, tile=tile, keep_bytes=keep_bytes)
    solver_options.setdefault("n_vectors", None)
    solver = KrylovSolver(k, **solver_options)
    if matmul is None:
        return solver.solve(operator, y, progress=progress)[0]
    if not callable(matmul):
        raise WilsonianError("matmul must be a callable V -> K @ V (or None for the built-in operator).")
    return solver.from_products(matmul, operator.diagonal(), as_targets(y, operator.n), progress=progress,
                                meta=operator.describe())


def topk_spectrum_dask(
    X: Any,
    y: Any,
    spec: Any,
    k: int,
    *,
    scheduler: Any = None,
    n_workers: int = 2,
    block_rows: int | None = None,
    progress: bool = False,
    **solver_options: Any,
) -> Spectrum:
    """The top-k spectrum with the kernel products on a Dask cluster.

    Parameters
    ----------
    X : (N, d) array, dask array, or path of a stack from
        :func:`wilsonian.operators.dask_cluster.save_pool_stack`.
    y : (N,) targets, or None to read ``y.npy`` from the stack.
    spec : KernelSpec
    k : number of modes.
    scheduler : None, "ADDRESS" or a distributed.Client
        None starts a LocalCluster of ``n_workers`` processes on 127.0.0.1 for this call;
        an address (e.g. "tcp://10.0.0.5:8786") connects to a running scheduler.
    block_rows : rows per task, see :class:`wilsonian.operators.dask_cluster.DaskOperator`.
    solver_options : the settings of :class:`wilsonian.spectrum.KrylovSolver` (``tol``,
        ``seed``, ``max_iter``, ``n_vectors``, ...); the same seed gives the same starting
        block, so the results equal the in-memory path's up to round-off.

    Returns
    -------
    Spectrum
        As :func:`topk_spectrum`; ``meta["backend"] = "dask"`` with the
        scheduler address, the number of workers and of tasks per pass. (``wilsonian run``
        keeps the address, which changes from run to run, in ``run_info.json``.)
    """
    from wilsonian.operators.dask_cluster import DaskOperator, dask_client, load_pool_stack
    from wilsonian.operators.tiled import check_kernel

    check_kernel(spec)
    if isinstance(X, (str, os.PathLike)):
        _, stored_y = load_pool_stack(X)
        if y is None:
            if stored_y is None:
                raise WilsonianError(f"the stack {X} holds no targets; pass y.")
            y = stored_y
    if y is None:
        raise WilsonianError("y is required when X is an array; pass the pool targets.")
    solver = KrylovSolver(k, **solver_options)
    with dask_client(scheduler, n_workers=n_workers) as client:
        operator = DaskOperator(client, X, spec, block_rows=block_rows)
        spectrum, _ = solver.solve(operator, as_targets(y, operator.n), progress=progress)
        scheduler_address = operator.stats()["scheduler"]
    return replace(spectrum, meta={**spectrum.meta, "scheduler": scheduler_address})
