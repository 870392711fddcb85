"""The main job: data → kernel → spectrum → empirical and theoretical learning curves.

:func:`run` does the computation and returns a :class:`RunResult`; :func:`write_outputs`
writes ``results.json``, ``config.json``, ``learning_curve.csv`` and the figures, all into a
temporary directory that replaces the output directory only when everything succeeded.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from wilsonian import __version__, theory
from wilsonian.atomic import check_output_dir, to_json, write_manifest
from wilsonian.data import Pool, build_pool
from wilsonian.errors import WilsonianError
from wilsonian.gp import LearningCurve, check_etas, learning_curve
from wilsonian.kernels import KernelSpec
from wilsonian.spectrum import Spectrum, spectrum_from_eigenpairs, spectrum_from_kernel
from wilsonian.store import ArtifactCache, array_digest, artifact_key, default_cache_dir


SOLVERS = ("dense", "topk", "dask")


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
            if self.device not in ("cpu", "cuda"):
                raise WilsonianError(f"--device must be cpu or cuda, got {self.device!r}")
            if self.solver != "dense":
                raise WilsonianError("--device (the PyTorch backend) goes with --solver dense")
        if self.nongaussian and self.solver != "dense":
            raise WilsonianError("--nongaussian needs the dense solver (it uses the pool's kernel matrix)")
        if not np.isfinite(self.ridge) or self.ridge < 0:
            raise WilsonianError(f"--ridge must be a finite number ≥ 0, got {self.ridge}")
        if not 0 < self.threshold < 1:
            raise WilsonianError(f"--threshold T must lie strictly between 0 and 1, got {self.threshold}")
        if self.trials < 1:
            raise WilsonianError(f"--trials must be ≥ 1, got {self.trials}")
        if self.etas is not None and (len(self.etas) == 0 or min(self.etas) < 1):
            raise WilsonianError("--etas must be a comma-separated list of integers ≥ 1")
        if self.n_pool is not None and self.n_pool < 2:
            raise WilsonianError(f"--n-pool must be ≥ 2, got {self.n_pool}")
        KernelSpec(self.kernel, self.activation, self.depth, self.weight_var, self.bias_var)
        out = Path(self.out)
        if out.exists() and not out.is_dir():
            raise WilsonianError(f"--out {out} exists and is not a directory; choose a directory path")
        if self.cache_dir is not None and Path(self.cache_dir).exists() and not Path(self.cache_dir).is_dir():
            raise WilsonianError(f"--cache-dir {self.cache_dir} is not a directory")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["etas"] = list(self.etas) if self.etas is not None else None
        d["version"] = __version__
        return d


def default_etas(n_pool: int, *, count: int = 12, smallest: int = 10, largest: int = 2000) -> np.ndarray:
    """About ``count`` log-spaced integers from ``smallest`` to min(largest, N/4).

    The theories describe i.i.d. draws with η ≪ N; beyond about N/4 a draw without
    replacement covers a sizeable part of the pool and the RG cutoff reaches the last mode.
    """
    top = max(2, min(largest, n_pool // 4))
    bottom = max(1, min(smallest, top // 4))
    return np.unique(np.round(np.geomspace(bottom, top, count)).astype(np.int64))


def _progress(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def pool_digest(pool: Pool) -> str:
    return array_digest(pool.X, pool.y)


def cached_kernel(pool: Pool, spec: KernelSpec, cache: ArtifactCache, *, quiet: bool = True) -> tuple[np.ndarray, str]:
    """The kernel matrix on the pool, from the cache when possible. Returns (K, key)."""
    key = artifact_key("kernel", pool=pool_digest(pool), kernel=spec.as_dict())
    hit = cache.load("kernel", key)
    if hit is not None:
        return hit["K"], key
    _progress(quiet, f"kernel: {spec.kind} {spec.activation} depth {spec.depth} on N = {pool.n}, d = {pool.dim}")
    K = spec.matrix(pool.X, progress=not quiet)
    cache.save("kernel", key, K=K)
    return K, key


def _spectrum_to_arrays(spectrum: Spectrum) -> dict[str, np.ndarray]:
    """A spectrum as plain arrays for the cache (eigenfunctions as a (0, 0) array when absent)."""
    phi = spectrum.eigenfunctions
    return dict(
        eigenvalues=spectrum.eigenvalues, target_coefficients=spectrum.target_coefficients,
        trace=np.float64(spectrum.trace), target_power=np.float64(spectrum.target_power),
        eigenfunctions=phi if phi is not None else np.zeros((0, 0)),
        kernel_diagonal=spectrum.kernel_diagonal, clipped=np.float64(spectrum.clipped),
        n_clipped=np.int64(spectrum.n_clipped), meta=np.array(json.dumps(spectrum.meta, default=_plain)),
    )


def _spectrum_from_arrays(arrays: dict[str, np.ndarray], n: int) -> Spectrum:
    phi = arrays["eigenfunctions"]
    return Spectrum(
        eigenvalues=arrays["eigenvalues"], target_coefficients=arrays["target_coefficients"], n=n,
        trace=float(arrays["trace"]), target_power=float(arrays["target_power"]),
        eigenfunctions=phi if phi.size else None, kernel_diagonal=arrays["kernel_diagonal"],
        clipped=float(arrays["clipped"]), n_clipped=int(arrays["n_clipped"]), meta=json.loads(str(arrays["meta"])),
    )


def cached_spectrum(
    K: np.ndarray, pool: Pool, kernel_key: str, cache: ArtifactCache, *, n_vectors: int = 0, quiet: bool = True
) -> Spectrum:
    """The spectrum of K/N with y_k (and the top ``n_vectors`` eigenfunctions), cached."""
    key = artifact_key("spectrum", kernel=kernel_key, n_vectors=n_vectors)
    hit = cache.load("spectrum", key)
    if hit is not None:
        return _spectrum_from_arrays(hit, pool.n)
    _progress(quiet, f"eigensolver: dense, N = {pool.n}" + (f", {n_vectors} eigenvectors" if n_vectors else ""))
    spectrum = spectrum_from_kernel(K, pool.y, n_vectors=n_vectors, meta={"kernel_key": kernel_key})
    cache.save("spectrum", key, **_spectrum_to_arrays(spectrum))
    return spectrum


def cached_topk_spectrum(pool: Pool, spec: KernelSpec, config: RunConfig, cache: ArtifactCache) -> Spectrum:
    """The top-k spectrum without storing K (``--solver topk``, or ``dask`` on a cluster), cached.

    With ``--extra-modes E`` the solver resolves (and the cache holds) k + E modes and the
    top k are kept: the last resolved modes converge slowest.
    """
    resolved = config.k + config.extra_modes
    options = {"seed": config.seed} if config.tol is None else {"seed": config.seed, "tol": config.tol}
    key = artifact_key("topk-spectrum", pool=pool_digest(pool), kernel=spec.as_dict(), k=resolved, **options)
    hit = cache.load("spectrum", key)
    if hit is not None:
        spectrum = _spectrum_from_arrays(hit, pool.n)
    else:
        _progress(config.quiet, f"eigensolver: {config.solver}, top {resolved} of N = {pool.n} without storing K")
        if config.solver == "dask":
            from wilsonian.distributed import topk_spectrum_dask

            spectrum = topk_spectrum_dask(pool.X, pool.y, spec, resolved, scheduler=config.scheduler,
                                          progress=not config.quiet, n_vectors=0, **options)
        else:
            from wilsonian.topk import topk_spectrum

            spectrum = topk_spectrum(pool.X, pool.y, spec, resolved, progress=not config.quiet, n_vectors=0,
                                     **options)
        cache.save("spectrum", key, **_spectrum_to_arrays(spectrum))
    return spectrum.truncated(config.k) if config.extra_modes else spectrum


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def torch_kernel(pool: Pool, spec: KernelSpec, device: str, *, quiet: bool = True) -> tuple[np.ndarray, str]:
    """The kernel matrix computed by the PyTorch backend (``--device``), returned as NumPy."""
    from wilsonian.backends.torch_backend import kernel_torch

    _progress(quiet, f"kernel: {spec.kind} on {device} with PyTorch, N = {pool.n}")
    K = np.asarray(kernel_torch(pool.X, None, spec, device=device))
    return K, artifact_key("kernel", pool=pool_digest(pool), kernel=spec.as_dict())


def torch_spectrum(K: np.ndarray, pool: Pool, kernel_key: str, device: str, *, quiet: bool = True) -> Spectrum:
    """The dense spectrum from PyTorch's eigensolver on ``device``."""
    from wilsonian.backends.torch_backend import eigh_torch

    _progress(quiet, f"eigensolver: torch.linalg.eigh on {device}, N = {pool.n}")
    w, p, _ = eigh_torch(K, pool.y, device=device)
    return spectrum_from_eigenpairs(w, p, None, y=pool.y, kernel_diagonal=np.diagonal(K),
                                    meta={"solver": "torch", "device": device, "kernel_key": kernel_key})


@dataclass
class TheoryCurves:
    """All theories of THEORY.md §4 on one grid of η."""

    eta: np.ndarray
    ek: np.ndarray
    spectral_bias: theory.SpectralBias
    rg: theory.RGPrediction

    def table(self) -> dict[str, np.ndarray]:
        return {
            "ek": self.ek,
            "spectral_bias": self.spectral_bias.error,
            "spectral_bias_kappa": self.spectral_bias.kappa,
            "spectral_bias_gamma": self.spectral_bias.gamma,
            "rg": self.rg.error,
            "rg_ridge": self.rg.renormalized_ridge,
            "rg_cutoff": self.rg.cutoff,
            "rg_all_learnable": self.rg.all_learnable,
            "rg_gamma": self.rg.gamma,
            "rg_fluct": self.rg.error_fluct,
        }


def theory_curves(spectrum: Spectrum, eta: np.ndarray, ridge: float, threshold: float) -> TheoryCurves:
    eta = np.asarray(eta, dtype=np.float64)
    modes = theory.prepare_modes(spectrum)  # one set-up of the resolvent sums for all three
    return TheoryCurves(
        eta=eta,
        ek=theory.ek_error(modes, eta, ridge),
        spectral_bias=theory.spectral_bias(modes, eta, ridge),
        rg=theory.rg_prediction(modes, eta, ridge, threshold),
    )


def agreement(empirical: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """How well a theory follows the empirical curve: ratios predicted/empirical."""
    ok = np.isfinite(predicted) & (empirical > 0)
    if not ok.any():
        return {"median_abs_log10_ratio": float("nan"), "max_abs_log10_ratio": float("nan")}
    log_ratio = np.abs(np.log10(np.maximum(predicted[ok], 1e-300) / empirical[ok]))
    return {
        "median_abs_log10_ratio": float(np.median(log_ratio)),
        "max_abs_log10_ratio": float(np.max(log_ratio)),
        "median_ratio": float(np.median(predicted[ok] / empirical[ok])),
    }


def scaling_summary(spectrum: Spectrum, curve: LearningCurve) -> dict[str, Any]:
    """Power-law exponents of the spectrum, the target tail and the learning curve."""
    out: dict[str, Any] = {}
    positive = int(np.count_nonzero(spectrum.eigenvalues > 1e-12 * spectrum.eigenvalues[0]))
    k_min, k_max = 10, max(11, positive // 10)

    def attempt(name, fn):
        try:
            out[name] = fn().as_dict()
        except WilsonianError as exc:
            out[name] = {"error": str(exc)}

    attempt("eigenvalues", lambda: theory.spectrum_exponent(spectrum, k_min, k_max))
    attempt("target_tail", lambda: theory.target_tail_exponent(spectrum, k_min, k_max))
    attempt("empirical_learning_curve", lambda: theory.learning_curve_exponent(curve.eta, curve.mean))
    return out


@dataclass
class RunResult:
    config: RunConfig
    pool: Pool
    spectrum: Spectrum
    curve: LearningCurve
    theories: TheoryCurves
    results: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


def run(config: RunConfig) -> RunResult:
    """Compute everything ``wilsonian run`` reports (no files written except the cache)."""
    config.validate()
    quiet = config.quiet
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    pool = build_pool(
        config.dataset, data_dir=config.data_dir, data_file=config.data_file, classes=config.classes,
        split=config.split, n_pool=config.n_pool, preprocessing=config.preprocessing, seed=config.seed,
        progress=not quiet,
    )
    timings["pool"] = time.perf_counter() - t0
    eta = check_etas(config.etas if config.etas is not None else default_etas(pool.n), pool.n, replace=config.replace)
    spec = KernelSpec(config.kernel, config.activation, config.depth, config.weight_var, config.bias_var)
    cache = ArtifactCache(
        Path(config.cache_dir) if config.cache_dir else default_cache_dir(), enabled=not config.no_cache, quiet=quiet
    )
    _progress(quiet, f"pool: {pool.meta.get('dataset')} classes {pool.meta.get('class_names', pool.meta.get('classes'))}, N = {pool.n}, d = {pool.dim}")

    K = None
    if config.solver == "dense":
        t0 = time.perf_counter()
        if config.device is not None:
            K, kernel_key = torch_kernel(pool, spec, config.device, quiet=quiet)
        else:
            K, kernel_key = cached_kernel(pool, spec, cache, quiet=quiet)
        timings["kernel"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        n_vectors = -1 if config.nongaussian else 0
        if config.device is not None:
            spectrum = torch_spectrum(K, pool, kernel_key, config.device, quiet=quiet)
        else:
            spectrum = cached_spectrum(K, pool, kernel_key, cache, n_vectors=n_vectors, quiet=quiet)
        timings["spectrum"] = time.perf_counter() - t0
    else:
        t0 = time.perf_counter()
        spectrum = cached_topk_spectrum(pool, spec, config, cache)
        timings["spectrum"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    _progress(quiet, f"learning curve: {config.trials} draws at {eta.size} values of eta up to {eta[-1]}")
    if K is not None:
        # --nongaussian keeps the per-point average predictor of the same draws
        curve = learning_curve(K, pool.y, eta, ridge=config.ridge, trials=config.trials, replace=config.replace,
                               seed=config.seed, progress=not quiet, keep_predictions=config.nongaussian)
    else:
        from wilsonian.gp_large import learning_curve_matrix_free

        # Without the N×N matrix: kernel blocks between the pool and each draw, on the fly.
        curve = learning_curve_matrix_free(pool.X, pool.y, spec, eta, ridge=config.ridge, trials=config.trials,
                                           replace=config.replace, seed=config.seed, progress=not quiet)
    timings["learning_curve"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    curves = theory_curves(spectrum, eta, config.ridge, config.threshold)
    timings["theories"] = time.perf_counter() - t0

    learning = {"eta": eta, "empirical_mean": curve.mean, "empirical_sem": curve.sem}
    learning.update(curves.table())
    results: dict[str, Any] = {
        "config": config.as_dict(),
        "kernel": spec.as_dict(),
        "pool": {**pool.meta, "n": pool.n, "dim": pool.dim},
        "spectrum": {
            **spectrum.as_dict(),
            "identity_errors": spectrum.identity_errors(),
            "reconstruction": "dense eigendecomposition of K/N",
        },
        "learning_curve": learning,
        "empirical": curve.as_dict(),
        "agreement": {
            name: agreement(curve.mean, learning[name]) for name in ("ek", "spectral_bias", "rg", "rg_fluct")
        },
        "scaling": scaling_summary(spectrum, curve),
        "notes": {
            "rg": "E_RG: EK with the renormalized ridge σ_eff² = σ² + Σ_{k>κ*} λ_k (the paper's RG theory)",
            "rg_fluct": "extension, not in the paper: E_RG/(1−γ_RG); +inf (null) where γ_RG ≥ 1",
            "rg_all_learnable": "true where no mode has L_k < T: nothing integrated out, σ_eff² = σ²",
            "empirical": "nested training sets per draw; error averaged over the whole pool",
        },
    }
    if spectrum.is_truncated:
        from wilsonian.theory.truncation import truncation_bound

        bound = truncation_bound(spectrum, eta, config.ridge, config.threshold)
        results["truncation"] = bound.as_dict()
        meta = spectrum.meta
        results["spectrum"]["eigensolver"] = {
            key: meta.get(key) for key in ("solver", "backend", "k", "passes", "all_converged", "residual_norms",
                                           "eigenvalue_error_estimates", "tol")
        }
        # With --extra-modes the solver resolved more than it kept: report the kept ones.
        for key in ("residual_norms", "eigenvalue_error_estimates"):
            if results["spectrum"]["eigensolver"][key] is not None:
                results["spectrum"]["eigensolver"][key] = list(meta[key])[: spectrum.n_modes]
        results["spectrum"]["eigensolver"]["extra_modes"] = config.extra_modes
        _progress(quiet, f"truncation: predictions change by ≤ 1% up to eta = {bound.bound:g} ({bound.statement})")
    info = {"timings_s": timings, "cache": cache.summary(), "version": __version__}
    result = RunResult(config, pool, spectrum, curve, curves, results, info)
    if config.nongaussian:
        from wilsonian.theory.nongaussian import nongaussian_report

        t0 = time.perf_counter()
        report = nongaussian_report(spectrum, pool.y, curve, config.ridge, config.threshold)
        results["nongaussian"] = report.as_dict()
        result.extras["nongaussian"] = report
        timings["nongaussian"] = time.perf_counter() - t0
    return result


def learning_curve_csv(results: dict[str, Any]) -> str:
    lc = results["learning_curve"]
    columns = list(lc)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for i in range(len(lc["eta"])):
        row = []
        for c in columns:
            v = lc[c][i]
            if isinstance(v, (bool, np.bool_)):
                row.append(str(bool(v)).lower())
            elif isinstance(v, (int, np.integer)):
                row.append(str(int(v)))
            else:
                row.append(repr(float(v)))
        writer.writerow(row)
    return buffer.getvalue()


def summary_table(result: RunResult) -> str:
    lc = result.results["learning_curve"]
    lines = [
        f"{result.pool.meta.get('dataset')} {result.pool.meta.get('class_names', '')}  N={result.pool.n}  "
        f"d={result.pool.dim}  kernel={result.config.kernel}/{result.config.activation}/L={result.config.depth}  "
        f"ridge={result.config.ridge:g}  T={result.config.threshold:g}",
        f"{'eta':>6} {'empirical':>11} {'±sem':>9} {'EK':>10} {'SB':>10} {'RG':>10} {'RG-fluct':>10} "
        f"{'kappa_SB':>10} {'sigma2_eff':>10} {'cutoff':>6}",
    ]
    for i, e in enumerate(lc["eta"]):
        flag = "*" if lc["rg_all_learnable"][i] else " "
        lines.append(
            f"{int(e):>6} {lc['empirical_mean'][i]:>11.4e} {lc['empirical_sem'][i]:>9.2e} {lc['ek'][i]:>10.3e} "
            f"{lc['spectral_bias'][i]:>10.3e} {lc['rg'][i]:>10.3e} {lc['rg_fluct'][i]:>10.3e} "
            f"{lc['spectral_bias_kappa'][i]:>10.3e} {lc['rg_ridge'][i]:>10.3e} {int(lc['rg_cutoff'][i]):>5d}{flag}"
        )
    agree = result.results["agreement"]
    lines.append(
        "median |log10(theory/empirical)|: "
        + ", ".join(f"{k} {v['median_abs_log10_ratio']:.3f}" for k, v in agree.items())
    )
    if np.any(lc["rg_all_learnable"]):
        lines.append("* no mode below the threshold T: every resolved mode learnable, sigma2_eff = ridge")
    return "\n".join(lines)


@contextlib.contextmanager
def staged_output(out_dir: str | Path, protected: Iterable[tuple[str, Any]] = ()) -> Iterator[Path]:
    """Yield an empty staging directory that replaces ``out_dir`` only if the block succeeds.

    A failure anywhere leaves ``out_dir`` exactly as it was (absent, or the previous run's).
    ``out_dir`` is checked with :func:`wilsonian.atomic.check_output_dir` before staging and
    again just before the swap, so a folder that is not wilsonian's own is never replaced.
    The staging directory gets a manifest of what the run wrote.
    """
    protected = list(protected)
    out_dir = check_output_dir(out_dir, protected)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        yield staging
        write_manifest(staging)
        check_output_dir(out_dir, protected)
        _replace_directory(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def output_guards(config: RunConfig) -> list[tuple[str, Any]]:
    """The paths that a run's ``--out`` must not equal or contain: its inputs and its cache."""
    data_dir = config.data_dir
    if data_dir is None:
        from wilsonian.data import default_data_dir

        data_dir = default_data_dir(config.dataset)
    return [("the data file", config.data_file), ("the data directory", data_dir),
            ("the cache directory", config.cache_dir or default_cache_dir())]


def write_outputs(result: RunResult, out_dir: str | Path, *, figures: bool = True) -> Path:
    """Write all outputs of a run into ``out_dir`` atomically (see :func:`staged_output`)."""
    with staged_output(out_dir, output_guards(result.config)) as staging:
        (staging / "results.json").write_text(to_json(result.results) + "\n")
        (staging / "config.json").write_text(to_json(result.results["config"]) + "\n")
        (staging / "run_info.json").write_text(to_json(result.info) + "\n")
        (staging / "learning_curve.csv").write_text(learning_curve_csv(result.results))
        if figures:
            from wilsonian import plots

            plots.run_figures(result, staging / "figures")
    return Path(out_dir)


def _replace_directory(staging: Path, out_dir: Path) -> None:
    """Move ``staging`` to ``out_dir``; an existing ``out_dir`` is swapped out, then removed."""
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
        old.rmdir()
        out_dir.rename(old)
        try:
            staging.rename(out_dir)
        except BaseException:
            old.rename(out_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out_dir)
