"""The run's use of the on-disk cache: kernel matrices and spectra, keyed by what made them.

- :class:`CachedOperator` wraps any kernel operator: its whole matrix (what the dense
  solver needs) is read from the cache when present and written to it when computed.
- :func:`solve` runs an eigensolver through the cache: a spectrum is keyed by the operator
  (pool, kernel, backend), the solver's settings and the targets.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np

from wilsonian.errors import WilsonianError
from wilsonian.operators.base import KernelOperator
from wilsonian.spectrum import Spectrum
from wilsonian.store import ArtifactCache, array_digest, artifact_key


def say(quiet: bool, message: str) -> None:
    """One progress line on stderr (nothing with ``--quiet``)."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)


class CachedOperator(KernelOperator):
    """An operator whose ``matrix()`` goes through the cache; everything else is delegated."""

    def __init__(self, inner: KernelOperator, cache: ArtifactCache, *, quiet: bool = True, label: str = "",
                 cache_matrix: bool = True, before_solve: str = ""):
        super().__init__(inner.n)
        # A line said before an eigensolver runs on this operator (what a top-k run keeps of the
        # kernel between its passes), not when its spectrum comes from the cache.
        self.before_solve = before_solve
        self.cache_matrix = cache_matrix  # False for a matrix the user handed in: no copy of it
        self.inner = inner
        self.cache = cache
        self.quiet = quiet
        self.label = label
        self.backend = inner.backend
        self.storage = inner.storage
        self.eigensystem = inner.eigensystem
        self.matrix_seconds = 0.0

    def block(self, rows: Any, cols: Any = None) -> np.ndarray:
        return self.inner.block(rows, cols)

    def diagonal(self) -> np.ndarray:
        return self.inner.diagonal()

    def matmul(self, V: np.ndarray) -> np.ndarray:
        return self.inner.matmul(V)

    def cache_key(self) -> dict[str, Any]:
        return self.inner.cache_key()

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def stats(self) -> dict[str, Any]:
        return {**self.inner.stats(), "matrix_seconds": self.matrix_seconds}

    def matrix(self, *, progress: bool = False) -> np.ndarray:
        def compute() -> dict[str, np.ndarray]:
            say(self.quiet, f"kernel: {self.label} on N = {self.n}")
            if not self.quiet and self.cache_matrix and self.backend == "numpy":
                # a kernel that takes long says so before it starts (a GAP CNN can take a day)
                from wilsonian.app.estimate import kernel_time_line

                line = kernel_time_line(self.inner)
                if line:
                    say(False, line)
            t0 = time.perf_counter()
            K = self.inner.matrix(progress=progress)
            self.matrix_seconds += time.perf_counter() - t0
            if not np.all(np.isfinite(K)):
                raise WilsonianError("the kernel matrix has non-finite entries (overflow); lower --weight-var, "
                                     "--bias-var or --depth. Nothing was cached.")
            return {"K": K}

        if not self.cache_matrix:
            return compute()["K"]
        return self.cache.fetch("kernel", artifact_key("kernel", **self.cache_key()), compute)["K"]


def spectrum_to_arrays(spectrum: Spectrum) -> dict[str, np.ndarray]:
    """A spectrum as plain arrays for the cache (eigenfunctions as a (0, 0) array when absent)."""
    phi = spectrum.eigenfunctions
    return dict(
        eigenvalues=spectrum.eigenvalues, target_coefficients=spectrum.target_coefficients,
        trace=np.float64(spectrum.trace), target_power=np.float64(spectrum.target_power),
        eigenfunctions=phi if phi is not None else np.zeros((0, 0)),
        kernel_diagonal=spectrum.kernel_diagonal, clipped=np.float64(spectrum.clipped),
        n_clipped=np.int64(spectrum.n_clipped), complete=np.bool_(spectrum.complete), meta=np.array(json.dumps(spectrum.meta, default=_plain)),
    )


def spectrum_from_arrays(arrays: dict[str, np.ndarray], n: int) -> Spectrum:
    phi = arrays["eigenfunctions"]
    return Spectrum(
        eigenvalues=arrays["eigenvalues"], target_coefficients=arrays["target_coefficients"], n=n,
        trace=float(arrays["trace"]), target_power=float(arrays["target_power"]),
        eigenfunctions=phi if phi.size else None, kernel_diagonal=arrays["kernel_diagonal"],
        clipped=float(arrays["clipped"]), n_clipped=int(arrays["n_clipped"]),
        complete=bool(arrays["complete"]), meta=json.loads(str(arrays["meta"])),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def solve(operator: CachedOperator, solver, y: np.ndarray, cache: ArtifactCache, *,
          quiet: bool = True, check=None) -> tuple[Spectrum, KernelOperator]:
    """``solver.solve(operator, y)`` through the cache: (spectrum, operator for the learning curves).

    ``check(spectrum)``, if given, runs on a freshly computed spectrum before it is cached (an
    exception keeps it out of the cache)."""
    from wilsonian.kernels._tiles import blas_threads

    kernel_key = artifact_key("kernel", **operator.cache_key())
    # An eigensolver's round-off depends on BLAS's thread count (its level-2 products split
    # their sums by thread); the kernel's does not. A spectrum made on fewer threads (a
    # sweep's worker) is not served to a run on more: the run then gives its own bits.
    key = artifact_key("spectrum", kernel=kernel_key, solver=solver.cache_key(), targets=array_digest(y),
                       blas_threads=blas_threads())
    solved: dict[str, Any] = {}

    def compute() -> dict[str, np.ndarray]:
        say(quiet, f"eigensolver: {solver.describe()}, N = {operator.n}")
        if operator.before_solve:
            say(quiet, operator.before_solve)
        from wilsonian.spectrum import KrylovSolver

        if not quiet and isinstance(solver, KrylovSolver) and operator.backend == "numpy" and operator.cache_matrix:
            from wilsonian.app.estimate import kernel_time_line

            line = kernel_time_line(operator.inner, per_pass=True)   # the dense solver's is in matrix()
            if line:
                say(False, line)
        spectrum, solved["downstream"] = solver.solve(operator, y, progress=not quiet)
        if check is not None:
            check(spectrum)
        # The kernel's key in the spectrum's provenance: which cached kernel it belongs to.
        return spectrum_to_arrays(replace(spectrum, meta={**spectrum.meta, "kernel_key": kernel_key}))

    spectrum = spectrum_from_arrays(cache.fetch("spectrum", key, compute), operator.n)
    return spectrum, solved.get("downstream") or solver.downstream(operator)
