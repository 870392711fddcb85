"""The configuration of ``wilsonian run``: :class:`RunConfig`, validated before any work.

The config also makes the two choices that shape a run, once: which kernel operator (the
backend: NumPy, PyTorch or Dask) and which eigensolver (dense or block Krylov). Nothing
downstream asks the config about them again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from wilsonian import __version__
from wilsonian._validation import check_ridge, check_threshold
from wilsonian.errors import WilsonianError
from wilsonian.kernels import KernelSpec

SOLVERS = ("dense", "topk", "dask")
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class RunConfig:
    """Every option of ``wilsonian run``; saved with the results."""

    dataset: str = "digits"
    data_dir: str | None = None
    data_file: str | None = None
    classes: str | None = None
    split: str = "train"
    n_pool: int | None = None
    preprocessing: str = "unit-norm"
    kernel: str = "nngp"
    activation: str = "relu"
    depth: int = 2
    weight_var: float = 2.0
    bias_var: float = 0.0
    ridge: float = 1e-8
    threshold: float = 0.5
    etas: tuple[int, ...] | None = None
    trials: int = 20
    replace: bool = False
    seed: int = 0
    out: str = "results"
    cache_dir: str | None = None
    no_cache: bool = False
    quiet: bool = False
    nongaussian: bool = False
    solver: str = "dense"
    k: int | None = None
    tol: float | None = None
    extra_modes: int = 0
    scheduler: str | None = None
    device: str | None = None

    def validate(self) -> None:
        """Cheap checks of every option before any work is done."""
        if self.solver not in SOLVERS:
            raise WilsonianError(f"--solver must be one of {', '.join(SOLVERS)}, got {self.solver!r}")
        if self.solver == "dense":
            if self.k is not None:
                raise WilsonianError("--k goes with --solver topk or dask (the dense solver resolves every mode)")
        elif self.k is None or self.k < 1:
            raise WilsonianError(f"--solver {self.solver} needs --k, the number of modes to resolve (≥ 1)")
        if self.solver == "dense" and (self.tol is not None or self.extra_modes):
            raise WilsonianError("--tol and --extra-modes go with --solver topk or dask")
        if self.tol is not None and not (np.isfinite(self.tol) and 0 < self.tol < 1):
            raise WilsonianError(f"--tol must lie strictly between 0 and 1, got {self.tol}")
        if self.extra_modes < 0:
            raise WilsonianError(f"--extra-modes must be ≥ 0, got {self.extra_modes}")
        if self.scheduler is not None and self.solver != "dask":
            raise WilsonianError("--scheduler goes with --solver dask")
        if self.device is not None:
            if self.device not in DEVICES:
                raise WilsonianError(f"--device must be cpu or cuda, got {self.device!r}")
            if self.solver == "dask":
                raise WilsonianError("--device (the PyTorch backend) and --solver dask are two backends; choose one")
        if self.nongaussian and self.solver != "dense":
            raise WilsonianError("--nongaussian needs the dense solver (it uses every eigenfunction on the pool)")
        try:
            check_ridge(self.ridge)
        except WilsonianError:
            raise WilsonianError(f"--ridge must be a finite number ≥ 0, got {self.ridge}") from None
        try:
            check_threshold(self.threshold)
        except WilsonianError:
            raise WilsonianError(f"--threshold T must lie strictly between 0 and 1, got {self.threshold}") from None
        if self.trials < 1:
            raise WilsonianError(f"--trials must be ≥ 1, got {self.trials}")
        if self.etas is not None and (len(self.etas) == 0 or min(self.etas) < 1):
            raise WilsonianError("--etas must be a comma-separated list of integers ≥ 1")
        if self.n_pool is not None and self.n_pool < 2:
            raise WilsonianError(f"--n-pool must be ≥ 2, got {self.n_pool}")
        self.kernel_spec()

    def kernel_spec(self) -> KernelSpec:
        return KernelSpec(self.kernel, self.activation, self.depth, self.weight_var, self.bias_var)

    # ------------------------------------------------------------ the run's two choices
    @property
    def backend(self) -> str:
        """The kernel operator's backend: "dask", "torch" (``--device``) or "numpy"."""
        if self.solver == "dask":
            return "dask"
        return "torch" if self.device is not None else "numpy"

    def eigensolver(self):
        """The eigensolver: dense (every mode; every eigenfunction with ``--nongaussian``) or
        block Krylov (the top ``--k``)."""
        from wilsonian.spectrum import DenseSolver, KrylovSolver

        if self.solver == "dense":
            return DenseSolver(n_vectors=-1 if self.nongaussian else 0)
        options: dict[str, Any] = {"extra_modes": self.extra_modes, "seed": self.seed}
        if self.tol is not None:
            options["tol"] = self.tol
        return KrylovSolver(self.k, **options)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["etas"] = list(self.etas) if self.etas is not None else None
        d["version"] = __version__
        return d
