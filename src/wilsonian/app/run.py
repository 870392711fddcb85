"""The main job: data → kernel operator → spectrum → empirical and theoretical learning curves.

:func:`run` does the computation and returns a :class:`RunResult` (nothing is written but
the cache); :mod:`wilsonian.app.outputs` writes it. The run picks its kernel operator and its
eigensolver once (:class:`~wilsonian.app.config.RunConfig`); after that every step is the
same whatever they are.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from wilsonian import __version__
from wilsonian._validation import check_etas
from wilsonian.app.cache import CachedOperator, say, solve
from wilsonian.atomic import fault_point
from wilsonian.app.config import RunConfig
from wilsonian.data import Pool, build_pool
from wilsonian.errors import WilsonianError
from wilsonian.gp import LearningCurve, learning_curves
from wilsonian.operators import KernelOperator, kernel_operator
from wilsonian.spectrum import Spectrum
from wilsonian.store import ArtifactCache, default_cache_dir
from wilsonian.theory import Predictions, Theory, learning_curve_exponent, spectrum_exponent, target_tail_exponent


def default_etas(n_pool: int, *, count: int = 12, smallest: int = 10, largest: int = 2000) -> np.ndarray:
    """About ``count`` log-spaced integers from ``smallest`` to min(largest, N/4).

    The theories describe i.i.d. draws with η ≪ N; beyond about N/4 a draw without
    replacement covers a sizeable part of the pool and the RG cutoff reaches the last mode.
    """
    top = max(2, min(largest, n_pool // 4))
    bottom = max(1, min(smallest, top // 4))
    return np.unique(np.round(np.geomspace(bottom, top, count)).astype(np.int64))


def open_cache(config: RunConfig) -> ArtifactCache:
    root = Path(config.cache_dir) if config.cache_dir else default_cache_dir()
    return ArtifactCache(root, enabled=not config.no_cache, quiet=config.quiet)


def load_pool(config: RunConfig) -> Pool:
    return build_pool(
        config.dataset, data_dir=config.data_dir, data_file=config.data_file, classes=config.classes,
        targets=config.targets, split=config.split, n_pool=config.n_pool, preprocessing=config.preprocessing, seed=config.seed,
        progress=not config.quiet,
    )


@contextlib.contextmanager
def open_operator(config: RunConfig, pool: Pool, cache: ArtifactCache) -> Iterator[CachedOperator]:
    """The run's kernel operator on the pool, for its backend, through the cache.

    A Dask backend keeps its cluster (a local one, or ``--scheduler``) open for the block.
    """
    with contextlib.ExitStack() as stack:
        before_solve = ""
        if config.kernel == "precomputed":
            from wilsonian.kernels import load_kernel_file
            from wilsonian.operators import DenseOperator

            kernel_file = load_kernel_file(config.kernel_file, n=pool.n, pool_X=pool.X,
                                           symmetry_tol=config.symmetry_tol)
            operator = DenseOperator(kernel_file.K, key=kernel_file.as_dict())
            label = f"precomputed {config.kernel_file}"
        else:
            kernel = config.kernel_object(pool)
            client = None
            if config.backend == "dask":
                from wilsonian.operators.dask_cluster import dask_client

                client = stack.enter_context(dask_client(config.scheduler))
            keep_bytes = config.tile_keep_bytes()
            operator = kernel_operator(pool.X, kernel, backend=config.backend, device=config.device or "cpu",
                                       client=client, keep_bytes=keep_bytes)
            if config.solver == "topk" and config.backend == "numpy":
                before_solve = _kept_tiles_line(pool.n, keep_bytes, auto=config.tile_cache_gib is None)
            label = f"{_kernel_label(kernel)}, d = {pool.dim}"
        yield CachedOperator(operator, cache, quiet=config.quiet, label=f"{label} ({config.backend})",
                             cache_matrix=config.kernel != "precomputed", before_solve=before_solve)


def _kept_tiles_line(n: int, keep_bytes: float, *, auto: bool = False) -> str:
    """What the top-k run keeps of the kernel between passes (whole tiles only: a budget below
    one keeps nothing), and, for the automatic budget, where it came from and how to turn it off."""
    from wilsonian.operators.tiled import kept_tiles_bytes

    kept, every = kept_tiles_bytes(n, keep_bytes), kept_tiles_bytes(n, float("inf"))
    line = f"kernel tiles kept between passes: {kept / 2**30:.3g} of {every / 2**30:.3g} GiB"
    if auto and keep_bytes == 0:
        return line + " (--tile-cache-gib auto: the available memory is unknown here; give --tile-cache-gib G)"
    if kept == 0:
        line += " (the budget is below one tile: every pass recomputes every tile)"
    if auto:
        line += (f" (--tile-cache-gib auto: at most a quarter of the {4 * keep_bytes / 2**30:.3g} GiB available; "
                 "--tile-cache-gib 0 keeps none)")
    return line


def _kernel_label(kernel) -> str:
    """"nngp relu depth 2", "conv ntk relu depth 2, 3×3 filters, gap readout": for progress lines."""
    record = kernel.as_dict()
    label = " ".join(str(record[k]) for k in ("family", "kind", "activation") if record.get(k) and
                     (k != "family" or record[k] != "fc")) + f" depth {record.get('depth')}"
    if record.get("family") == "conv":
        f = record.get("filter_size")
        label += f", {f}×{f} filters, {record.get('readout')} readout"
    return label


def spectrum_check(config: RunConfig):
    """What a fresh spectrum must pass before it is cached: a matrix the user handed in must
    be positive semi-definite (eigenvalues ≥ −tol·λ_1)."""
    if config.kernel != "precomputed":
        return None
    from wilsonian.kernels import check_psd

    def check(spectrum: Spectrum) -> None:
        check_psd([spectrum.eigenvalues[0], spectrum.meta.get("most_negative_eigenvalue", 0.0)],
                  tol=config.psd_tol, what=f"the kernel in {config.kernel_file}")

    return check


def warn_indefinite_kernel(config: RunConfig, spectrum: Spectrum) -> None:
    """A kernel file let through by a raised --psd-tol whose negative eigenvalues exceed the
    ridge: a training set's K + σ²I can then be singular or indefinite, and the exact GP's
    errors blow up (the theories, which see only the clipped spectrum, do not)."""
    if config.kernel != "precomputed":
        return
    lowest = -spectrum.meta.get("most_negative_eigenvalue", 0.0) * spectrum.n   # of K itself
    top = float(spectrum.eigenvalues[0]) * spectrum.n
    ridge = min(config.ridge_values)
    if top > 0 and lowest > 1e-8 * top and lowest > ridge:   # not round-off: the default tolerance let none through
        warnings.warn(f"the kernel in {config.kernel_file} has an eigenvalue of {-lowest:.3g} ({-lowest / top:.1e} × the "
                      f"largest, accepted by --psd-tol {config.psd_tol:g}), beyond the ridge σ² = {ridge:g}: a "
                      "training set's K + σ²I can be singular, and the empirical errors blow up; give --ridge "
                      f"above {lowest:.3g}", stacklevel=2)


def check_kernel_scale(operator: KernelOperator) -> None:
    """Refuse hyperparameters whose kernel overflows, from its diagonal alone (cheap)."""
    with np.errstate(over="ignore", invalid="ignore"):
        diagonal = operator.diagonal()
    if not np.all(np.isfinite(diagonal)) or np.max(np.abs(diagonal)) > 1e150:
        reach = f"{np.max(np.abs(diagonal)):.3g}" if np.all(np.isfinite(diagonal)) else "inf or NaN"
        raise WilsonianError(
            f"the kernel overflows float64 on this pool (its diagonal reaches {reach}): lower --weight-var, "
            "--bias-var or --depth")


def compute_spectrum(config: RunConfig, pool: Pool, cache: ArtifactCache, solver=None) -> Spectrum:
    """The spectrum of the run's kernel on the pool (``solver`` defaults to the config's)."""
    config.check_size(pool.n)
    with open_operator(config, pool, cache) as operator:
        check_kernel_scale(operator)
        spectrum, _ = solve(operator, solver or config.eigensolver(), pool.y, cache, quiet=config.quiet,
                            check=spectrum_check(config))
    return spectrum


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

    attempt("eigenvalues", lambda: spectrum_exponent(spectrum, k_min, k_max))
    attempt("target_tail", lambda: target_tail_exponent(spectrum, k_min, k_max))
    attempt("empirical_learning_curve", lambda: learning_curve_exponent(curve.eta, curve.mean))
    return out


@dataclass
class RunResult:
    """Everything a run computed: the inputs' records, the numbers and the report objects.

    ``curves`` and ``predictions`` hold one entry per ridge (one, unless ``--ridge`` listed
    several); ``curve``, ``prediction`` and ``theory`` are those of the first ridge.
    ``extras`` holds the objects the figures draw from, computed once here: ``soft_flow``
    (a :class:`~wilsonian.theory.flow.SoftFlow` of the first ridge) and ``nongaussian`` when
    asked for.
    """

    config: RunConfig
    pool: Pool
    spectrum: Spectrum
    curves: list[LearningCurve]
    predictions: list[Predictions]
    results: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def curve(self) -> LearningCurve:
        return self.curves[0]

    @property
    def prediction(self) -> Predictions:
        return self.predictions[0]

    @property
    def theory(self) -> Theory:
        return Theory(self.spectrum, self.config.ridge, self.config.threshold, noise=self.config.label_noise)

    @property
    def theories(self) -> list[Theory]:
        return [Theory(self.spectrum, r, self.config.threshold, noise=self.config.label_noise)
                for r in self.config.ridge_values]


THEORY_COLUMNS = ("ek", "spectral_bias", "rg", "rg_fluct")

NOTES = {
    "mse": "test MSE over the whole pool, summed over the target's outputs (C = 1 for a binary task)",
    "train": "train MSE on each draw's training points, against the labels it was fitted to (noisy with "
             "--label-noise); train_eigenlearning = (σ²/κ)²(E_SB + ε²)",
    "rg": "E_RG: EK with the renormalized ridge σ_eff² = σ² + Σ_{k>κ*} λ_k (the paper's RG theory)",
    "rg_fluct": "extension, not in the paper: E_RG/(1−γ_RG); +inf (null) where γ_RG ≥ 1",
    "rg_all_learnable": "true where no mode has L_k < T: nothing integrated out, σ_eff² = σ²",
    "empirical": "nested training sets per draw; error averaged over the whole pool",
    "soft_flow": "σ²_{n+1} = σ² + Σ_k λ_k (1 − L_k(σ²_n)) from the sharp cutoff σ_eff² (first ridge); its "
                 "fixed point is the spectral-bias κ, and E_n/(1 − γ_n) goes from RG-fluct to E_SB",
}


def tidy_table(ridges: tuple[float, ...], tables: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One learning-curve table with a row per (ridge, η): the tables of each ridge stacked,
    with a ``ridge`` column last (for one ridge, its table with that column added)."""
    columns = {name: np.concatenate([np.asarray(t[name]) for t in tables]) for name in tables[0]}
    columns["ridge"] = np.concatenate([np.full(len(t["eta"]), r) for r, t in zip(ridges, tables)])
    return columns


def evidence_summary(eta: np.ndarray, ridges: tuple[float, ...], curves: list[LearningCurve],
                     theories: list[Theory]) -> dict[str, Any]:
    """The GP evidence at every ridge, the evidence-optimal ridge and the theory-optimal one.

    ``log_evidence_mean[r][j]``: mean over draws of log p(y_η | X_η) at ridge r and η_j;
    ``evidence_optimal_ridge``: the median over draws of each training set's maximizing σ²
    (several ridges only: it comes with their eigendecompositions); ``theory_optimal_ridge``:
    the σ² that minimizes E_SB; ``best_on_grid``: the grid ridge that is best by the
    evidence, by the empirical test error and by E_SB.
    """
    evidence = np.array([c.log_evidence.mean(axis=0) for c in curves])
    record: dict[str, Any] = {
        "eta": eta,
        "ridges": list(ridges),
        "log_evidence_mean": evidence,
        "theory_optimal_ridge": theories[0].optimal_ridge(eta),
        "evidence_optimal_ridge": (np.median(curves[0].optimal_ridge, axis=0)
                                   if curves[0].optimal_ridge is not None else None),
    }
    if len(ridges) > 1:
        grid = np.array(ridges)
        test = np.array([c.mean for c in curves])
        sb = np.array([t.spectral_bias(eta).error for t in theories])
        record["best_on_grid"] = {"evidence": grid[np.argmax(evidence, axis=0)],
                                  "empirical_test_error": grid[np.argmin(test, axis=0)],
                                  "spectral_bias": grid[np.argmin(np.where(np.isfinite(sb), sb, np.inf), axis=0)]}
    return record


def _eigensolver_record(spectrum: Spectrum, config: RunConfig) -> dict[str, Any]:
    """The top-k solver's convergence record, for the kept modes."""
    meta = spectrum.meta
    record = {key: meta.get(key) for key in ("solver", "backend", "k", "passes", "all_converged", "residual_norms",
                                            "eigenvalue_error_estimates", "tol")}
    # With --extra-modes the solver resolved more than it kept: report the kept ones.
    for key in ("residual_norms", "eigenvalue_error_estimates"):
        if record[key] is not None:
            record[key] = list(meta[key])[: spectrum.n_modes]
    record["extra_modes"] = config.extra_modes
    return record


def run(config: RunConfig, *, warn_ignored: bool = True) -> RunResult:
    """Compute everything ``wilsonian run`` reports (no files written except the cache).

    ``warn_ignored``: warn of options that play no part (:meth:`RunConfig.ignored_options`),
    once the options and the data have passed every check (a sweep warns once for its grid)."""
    config.validate()
    quiet = config.quiet
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    pool = load_pool(config)
    timings["pool"] = time.perf_counter() - t0
    config.check_size(pool.n)
    eta = check_etas(config.etas if config.etas is not None else default_etas(pool.n), pool.n, replace=config.replace)
    # After every check of the options and the data, so that bad input stays one error line
    for line in config.ignored_options() if warn_ignored else ():
        warnings.warn(line, stacklevel=2)
    cache = open_cache(config)
    say(quiet, f"pool: {pool.meta.get('dataset')} classes {pool.meta.get('class_names', pool.meta.get('classes'))}, "
               f"N = {pool.n}, d = {pool.dim}")
    solver = config.eigensolver()
    with open_operator(config, pool, cache) as operator:
        check_kernel_scale(operator)  # O(N d), before the O(N² d) kernel
        kernel = operator.describe().get("kernel") or operator.cache_key()
        t0 = time.perf_counter()
        spectrum, curve_operator = solve(operator, solver, pool.y, cache, quiet=quiet, check=spectrum_check(config))
        timings["spectrum"] = time.perf_counter() - t0
        warn_indefinite_kernel(config, spectrum)
        fault_point("after-spectrum")
        t0 = time.perf_counter()
        ridges = config.ridge_values
        say(quiet, f"learning curve: {config.trials} draws at {eta.size} values of eta up to {eta[-1]}"
                   + (f", {len(ridges)} ridges" if len(ridges) > 1 else ""))
        # --nongaussian keeps the per-point average predictor of the same draws
        curves = learning_curves(curve_operator, pool.y, eta, ridges=ridges, trials=config.trials,
                                 replace=config.replace, seed=config.seed, noise=config.label_noise,
                                 progress=not quiet, keep_predictions=config.nongaussian)
        timings["learning_curve"] = time.perf_counter() - t0
        timings["kernel"] = operator.matrix_seconds
        operator_stats = operator.stats()

    t0 = time.perf_counter()
    theories = [Theory(spectrum, r, config.threshold, noise=config.label_noise) for r in ridges]
    predictions = [theory.predict(eta) for theory in theories]
    tables = [p.compare(c) for p, c in zip(predictions, curves)]
    timings["theories"] = time.perf_counter() - t0

    learning = tidy_table(ridges, tables)
    flow = theories[0].soft_flow(eta)  # the soft flow from the sharp cutoff to κ, first ridge
    results: dict[str, Any] = {
        "config": config.as_dict(),
        "kernel": kernel,
        "pool": {**pool.meta, "n": pool.n, "dim": pool.dim},
        "spectrum": {
            **spectrum.as_dict(),
            "identity_errors": spectrum.identity_errors(),
            "reconstruction": f"eigensystem of K/N: {solver.describe()}",
        },
        "learning_curve": learning,
        "empirical": curves[0].as_dict(),
        "agreement": {name: agreement(learning["empirical_mean"], learning[name]) for name in THEORY_COLUMNS},
        "scaling": scaling_summary(spectrum, curves[0]),
        "evidence": evidence_summary(eta, ridges, curves, theories),
        "soft_flow": {**flow.as_dict(), "agreement": flow.agreement(curves[0].mean)},
        "notes": dict(NOTES),
    }
    if len(ridges) > 1:
        results["empirical_by_ridge"] = [c.as_dict() for c in curves]
        results["agreement_by_ridge"] = [
            {"ridge": r, **{name: agreement(t["empirical_mean"], t[name]) for name in THEORY_COLUMNS}}
            for r, t in zip(ridges, tables)]
    if spectrum.is_truncated:
        bounds = [theory.truncation_bound(eta) for theory in theories]
        results["truncation"] = bounds[0].as_dict()
        if len(ridges) > 1:
            results["truncation_by_ridge"] = [b.as_dict() for b in bounds]
        results["spectrum"]["eigensolver"] = _eigensolver_record(spectrum, config)
        say(quiet, f"truncation: predictions change by ≤ 1% up to eta = {bounds[0].bound:g} ({bounds[0].statement})")
    info = {"timings_s": timings, "operator": operator_stats, "cache": cache.summary(),
            "invocation": config.invocation(), "version": __version__}
    result = RunResult(config, pool, spectrum, curves, predictions, results, info, extras={"soft_flow": flow})
    if config.nongaussian:
        t0 = time.perf_counter()
        report = theories[0].nongaussian(curves[0], pool.y)
        results["nongaussian"] = report.as_dict()
        result.extras["nongaussian"] = report
        timings["nongaussian"] = time.perf_counter() - t0
    return result
