"""The configuration of ``wilsonian run``: :class:`RunConfig`, validated before any work.

The config also makes the two choices that shape a run, once: which kernel operator (the
backend: NumPy, PyTorch or Dask) and which eigensolver (dense or block Krylov). Nothing
downstream asks the config about them again.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from wilsonian import __version__
from wilsonian._validation import MAX_SCALE, check_memory, check_ridge, check_threshold
from wilsonian.errors import WilsonianError
from wilsonian.kernels import KINDS, KernelSpec

SOLVERS = ("dense", "topk", "dask")
ARCHITECTURES = ("fc", "conv")
DEVICES = ("cpu", "cuda")
#: Options that say where and how loudly a run writes, not what it computes.
LOCATION_OPTIONS = ("out", "cache_dir", "no_cache", "quiet", "tile_cache_gib")
#: Bounds on sizes: beyond them a run cannot finish on any machine this tool targets.
MAX_TRIALS = 1_000_000
MAX_ETA = 1_000_000
MAX_POOL = 10_000_000
MAX_DEPTH = 1000
MAX_RIDGES = 64


@dataclass(frozen=True)
class RunConfig:
    """Every option of ``wilsonian run``; saved with the results."""

    dataset: str = "digits"
    data_dir: str | None = None
    data_file: str | None = None
    classes: str | None = None
    targets: str | None = None
    split: str = "train"
    n_pool: int | None = None
    preprocessing: str = "unit-norm"
    kernel: str = "nngp"
    activation: str = "relu"
    activation_params: tuple[str, ...] | None = None
    architecture: str = "fc"
    filter: int = 3
    padding: str = "same"
    readout: str = "flatten"
    kernel_file: str | None = None
    symmetry_tol: float = 1e-8
    psd_tol: float = 1e-8
    depth: int = 2
    weight_var: float = 2.0
    bias_var: float = 0.0
    ridge: float = 1e-8
    ridges: tuple[float, ...] | None = None
    label_noise: float = 0.0
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
    power_per_output: bool = False
    solver: str = "dense"
    k: int | None = None
    tol: float | None = None
    extra_modes: int = 0
    scheduler: str | None = None
    device: str | None = None
    #: GiB of kernel tiles a top-k run keeps between passes; None ("auto" on the command line):
    #: a quarter of the memory available when the run starts (:meth:`tile_keep_bytes`).
    tile_cache_gib: float | None = None

    def validate(self) -> None:
        """Cheap checks of every option before any work is done."""
        if self.solver not in SOLVERS:
            raise WilsonianError(f"--solver must be one of {', '.join(SOLVERS)}, got {self.solver!r}")
        if self.solver == "dense":
            if self.k is not None:
                raise WilsonianError("--k goes with --solver topk or dask (the dense solver resolves every mode)")
        elif self.k is None:
            raise WilsonianError(f"--solver {self.solver} needs --k, the number of modes to resolve (≥ 1)")
        elif self.k < 1:
            raise WilsonianError(f"--k is the number of modes to resolve, at least 1, got {self.k}")
        if self.solver == "dense" and (self.tol is not None or self.extra_modes):
            raise WilsonianError("--tol and --extra-modes go with --solver topk or dask")
        if self.tol is not None and not (np.isfinite(self.tol) and 0 < self.tol < 1):
            raise WilsonianError(f"--tol must lie strictly between 0 and 1, got {self.tol}")
        if self.extra_modes < 0:
            raise WilsonianError(f"--extra-modes must be ≥ 0, got {self.extra_modes}")
        gib = self.tile_cache_gib
        if gib is not None and (isinstance(gib, bool) or not (isinstance(gib, (int, float))
                                                              and np.isfinite(gib * 2.0**30) and gib >= 0)):
            raise WilsonianError(f"--tile-cache-gib must be auto or a finite number ≥ 0, got {gib!r}")
        if self.tile_cache_gib and (self.solver != "topk" or self.device is not None or self.kernel == "precomputed"):
            raise WilsonianError("--tile-cache-gib goes with --solver topk on the numpy backend (no --device), "
                                 "for a kernel computed from the inputs: it keeps kernel tiles between passes")
        if self.scheduler is not None and self.solver != "dask":
            raise WilsonianError("--scheduler goes with --solver dask")
        if self.device is not None:
            if self.device not in DEVICES:
                raise WilsonianError(f"--device must be cpu or cuda, got {self.device!r}")
            if self.solver == "dask":
                raise WilsonianError("--device (the PyTorch backend) and --solver dask are two backends; choose one")
        if self.nongaussian and self.solver != "dense":
            raise WilsonianError("--nongaussian needs the dense solver (it uses every eigenfunction on the pool)")
        for ridge in self.ridge_values:
            try:
                check_ridge(ridge)
            except WilsonianError:
                raise WilsonianError(f"--ridge must be finite numbers ≥ 0, got {ridge}") from None
            if ridge > MAX_SCALE:
                raise WilsonianError(f"--ridge {ridge:g} is beyond {MAX_SCALE:g}, where the error sums overflow; "
                                     "the kernel is O(1) for unit-norm inputs, so use a ridge on that scale")
        if self.ridges is not None:
            if len(self.ridges) == 0 or len(set(self.ridges)) != len(self.ridges):
                raise WilsonianError("--ridge: give distinct values, e.g. 1e-8,1e-6,1e-4 or a range 1e-8:1e-2:7")
            if len(self.ridges) > MAX_RIDGES:
                raise WilsonianError(f"--ridge: at most {MAX_RIDGES} values at once, got {len(self.ridges)}")
            if self.ridge != self.ridges[0]:
                raise WilsonianError("ridge must be the first of ridges (the CLI sets both from --ridge)")
            if self.nongaussian:
                raise WilsonianError("--nongaussian compares per-point predictors at one ridge; give one --ridge")
        if not (np.isfinite(self.label_noise) and 0 <= self.label_noise <= MAX_SCALE):
            raise WilsonianError(f"--label-noise must be a finite variance ε² ≥ 0, got {self.label_noise}")
        try:
            check_threshold(self.threshold)
        except (WilsonianError, TypeError, ValueError):
            raise WilsonianError(f"--threshold T must lie strictly between 0 and 1, got {self.threshold}") from None
        if not 1 <= self.trials <= MAX_TRIALS:
            raise WilsonianError(f"--trials must be between 1 and {MAX_TRIALS:,}, got {self.trials}")
        if self.etas is not None and (len(self.etas) == 0 or min(self.etas) < 1):
            raise WilsonianError("--etas must be a comma-separated list of integers ≥ 1")
        if self.etas is not None and max(self.etas) > MAX_ETA:
            raise WilsonianError(f"--etas: η = {max(self.etas):g} training points is beyond {MAX_ETA:,}: one exact GP "
                                 "solve of that size would not fit in memory")
        if self.n_pool is not None and not 2 <= self.n_pool <= MAX_POOL:
            raise WilsonianError(f"--n-pool must be between 2 and {MAX_POOL:,}, got {self.n_pool}")
        if not 0 <= self.seed < 2**63:
            raise WilsonianError(f"--seed must be an integer in [0, 2^63), got {self.seed}")
        if self.k is not None and self.k > MAX_POOL:
            raise WilsonianError(f"--k must be at most {MAX_POOL:,}, got {self.k}")
        if isinstance(self.depth, int) and self.depth > MAX_DEPTH:
            raise WilsonianError(f"--depth {self.depth} is beyond {MAX_DEPTH} hidden layers (each is a pass over the "
                                 "N × N kernel); deep ReLU kernels converge to a constant long before")
        for name, value in (("--weight-var", self.weight_var), ("--bias-var", self.bias_var)):
            if np.isfinite(value) and value > MAX_SCALE:
                raise WilsonianError(f"{name} {value:g} is beyond {MAX_SCALE:g}: the kernel would overflow")
        self._check_kernel_options()

    def _check_kernel_options(self) -> None:
        if self.kernel not in (*KINDS, "precomputed"):
            raise WilsonianError(f"--kernel must be one of {', '.join(KINDS)} or precomputed, got {self.kernel!r}")
        if self.kernel == "precomputed":
            if self.kernel_file is None:
                raise WilsonianError("--kernel precomputed needs --kernel-file K.npy (an N × N matrix in the pool's "
                                     "order, or an .npz with K and optionally X and y)")
            if self.backend != "numpy":
                raise WilsonianError("--kernel precomputed is a matrix in memory: drop --device and --solver dask")
            from wilsonian.kernels.precomputed import check_kernel_path

            check_kernel_path(str(self.kernel_file))   # before the pool is loaded
        elif self.kernel_file is not None:
            raise WilsonianError("--kernel-file goes with --kernel precomputed")
        for name, value in (("--symmetry-tol", self.symmetry_tol), ("--psd-tol", self.psd_tol)):
            if not (np.isfinite(value) and 0 <= value < 1):
                raise WilsonianError(f"{name} must be a relative tolerance in [0, 1), got {value}")
        if self.architecture not in ARCHITECTURES:
            raise WilsonianError(f"--architecture must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}")
        if self.architecture == "conv":
            if self.padding not in ("same", "valid"):
                raise WilsonianError(f"--padding must be same or valid, got {self.padding!r}")
            if self.readout not in ("flatten", "gap"):
                raise WilsonianError(f"--readout must be flatten or gap, got {self.readout!r}")
            if not 1 <= self.filter <= 64:
                raise WilsonianError(f"--filter must be an odd or even size between 1 and 64, got {self.filter}")
            if self.depth < 1:
                raise WilsonianError(f"a convolutional network needs --depth ≥ 1 layers, got {self.depth}")
            if self.device is not None:
                raise WilsonianError("the torch backend computes fully connected kernels only; drop --device")
        if self.kernel != "precomputed":
            # The hyperparameters in the options' names (the kernel's own checks name its arguments).
            if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 0:
                raise WilsonianError(f"--depth is the number of hidden layers, an integer ≥ 0, got {self.depth!r}")
            for name, value, low in (("--weight-var", self.weight_var, "> 0"), ("--bias-var", self.bias_var, "≥ 0")):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                if not (ok and (value > 0 if low == "> 0" else value >= 0)):
                    raise WilsonianError(f"{name} must be a finite number {low}, got {value!r}")
            self.kernel_spec()  # activation, its parameters and the hyperparameters, before any work
            if self.device is not None:
                spec = self.kernel_spec()
                if spec.activation not in ("relu", "erf") or spec.activation_params:
                    raise WilsonianError(f"the torch backend computes only the relu and erf kernels, not "
                                         f"{spec.activation!r}; drop --device (the numpy backend computes it)")
        if self.device is not None:
            import importlib.util

            # Last of the options' checks (a combination --device cannot do is said first), and
            # before the pool is loaded.
            if importlib.util.find_spec("torch") is None:
                raise WilsonianError("--device needs PyTorch; install it with pip install torch, or drop --device "
                                     "(the NumPy backend computes the same kernels)")

    def ignored_options(self) -> list[str]:
        """One line for each group of options set away from their defaults that play no part
        in this run (a precomputed kernel's activation and depth, a fully connected network's
        filter), so that a run that ignores them says so rather than records them silently."""
        defaults = RunConfig()
        kernel_options = ("activation", "activation_params", "depth", "weight_var", "bias_var", "architecture")
        conv_options = ("filter", "padding", "readout")
        lines = []

        def changed(names):
            flags = {"activation_params": "--activation-param"}
            return ", ".join(flags.get(n, "--" + n.replace("_", "-")) for n in names
                             if getattr(self, n) != getattr(defaults, n))

        if self.kernel == "precomputed":
            given = changed(kernel_options + conv_options)
            if given:
                lines.append(f"--kernel precomputed ignores {given} (the kernel is the file's matrix)")
        elif self.architecture == "fc":
            given = changed(conv_options)
            if given:
                verb = "shape" if "," in given else "shapes"
                lines.append(f"{given} {verb} a convolutional kernel; this run's is fully connected "
                             "(give --architecture conv)")
        return lines

    def check_size(self, n: int) -> None:
        """Checks that need the pool size N: --k and the memory of the dense path and of η."""
        floor = math.sqrt(n) * np.finfo(float).eps   # the round-off of a product with K
        if self.tol is not None and self.tol < floor:
            raise WilsonianError(f"--tol {self.tol:g} is below the round-off of a product with K at N = {n:,} "
                                 f"(√N·2.2e-16 = {floor:.1e}): no eigensolver reaches it; use --tol {floor:.1e} "
                                 "or more")
        if self.k is not None and self.k + self.extra_modes >= n:
            raise WilsonianError(f"--k {self.k} (+ --extra-modes {self.extra_modes}) must be smaller than the pool "
                                 f"size N = {n}; use the dense solver for every mode")
        if self.solver == "dense":
            # K, the eigensolver's copy of it and (with --nongaussian) every eigenvector
            matrices = 3 if self.nongaussian else 2
            check_memory(matrices * 8.0 * n * n, f"the dense solver at N = {n:,}",
                         "use --solver topk --k K (memory O(N·K)) or a smaller --n-pool")
        else:
            from wilsonian.operators.tiled import kept_tiles_bytes

            kept = kept_tiles_bytes(n, self.tile_keep_bytes())
            check_memory(8.0 * n * 4 * (self.k + self.extra_modes) + kept, f"the top-{self.k} solver at N = {n:,}"
                         + (f" with {kept / 2**30:.2f} GiB of kept tiles" if kept else ""),
                         "lower --k" + (" or --tile-cache-gib" if kept else ""))
        if self.etas is not None:
            eta = max(self.etas)
            if not self.replace and eta > n:   # the cause, before the memory it would take
                raise WilsonianError(f"--etas: η = {eta:,} exceeds the pool size N = {n:,}; lower it or draw with "
                                     "replacement (--replace)")
            check_memory(3 * 8.0 * eta * eta, f"exact GP solves with η = {eta:,}", "lower --etas")

    @property
    def ridge_values(self) -> tuple[float, ...]:
        """Every ridge σ² of the run (one, or the list of ``--ridge a,b,c``)."""
        return tuple(self.ridges) if self.ridges is not None else (self.ridge,)

    def kernel_spec(self) -> KernelSpec:
        """The fully connected kernel of the options (also checks the activation's parameters)."""
        return KernelSpec(self.kernel, self.activation, self.depth, self.weight_var, self.bias_var,
                          tuple(self.activation_params or ()))

    def kernel_object(self, pool) -> Any:
        """The kernel of the options on this pool: fully connected, or convolutional with the
        pool's image shape. (A precomputed kernel is a matrix, see :func:`wilsonian.app.run.open_operator`.)"""
        spec = self.kernel_spec()
        if self.architecture == "fc":
            return spec
        from wilsonian.kernels import ConvKernel

        if pool.image_shape is None:
            raise WilsonianError(f"--architecture conv needs images, and the {self.dataset} inputs are not (their "
                                 f"shape is {tuple(pool.meta.get('input_shape') or (pool.dim,))}); an .npz data "
                                 "file of images holds X of shape (n, H, W) or (n, H, W, C)")

        return ConvKernel(pool.image_shape, spec.kind, spec.activation, spec.depth, self.filter, self.padding,
                          self.readout, spec.weight_var, spec.bias_var, spec.activation_params,
                          channels_first=pool.channels_first)

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

    def tile_keep_bytes(self) -> float:
        """Memory for the kernel tiles a top-k run keeps between eigensolver passes, in bytes.

        ``--tile-cache-gib G`` gives G GiB. The default (None, "auto") gives a quarter of the
        memory available now (:func:`~wilsonian._validation.available_memory`) to a top-k run
        on the NumPy backend with a kernel computed from the inputs, and nothing to any other
        run: kept tiles are the same numbers, so later passes only skip recomputing them.
        """
        if self.tile_cache_gib is not None:
            return self.tile_cache_gib * 2.0**30
        if self.solver != "topk" or self.backend != "numpy" or self.kernel == "precomputed":
            return 0.0
        from wilsonian._validation import available_memory

        available = available_memory()
        return 0.0 if available is None else available / 4.0

    def as_dict(self) -> dict[str, Any]:
        """What determines the numbers: every option but where and how loudly the run writes
        (those are in :meth:`invocation`), and the package version. This is ``config.json``
        and ``results.json["config"]``, so that one seed gives the same files wherever the
        run writes them."""
        d = {key: value for key, value in asdict(self).items() if key not in LOCATION_OPTIONS}
        d["etas"] = list(self.etas) if self.etas is not None else None
        d["ridges"] = list(self.ridges) if self.ridges is not None else None
        d["activation_params"] = list(self.activation_params) if self.activation_params is not None else None
        d["version"] = __version__
        return d

    def invocation(self) -> dict[str, Any]:
        """Where and how loudly the run wrote, and the memory it kept tiles in: what does not
        change the numbers (for ``run_info.json``)."""
        record = {key: getattr(self, key) for key in LOCATION_OPTIONS}
        if record["tile_cache_gib"] is None:
            record["tile_cache_gib"] = "auto"
        return record
