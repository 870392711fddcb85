"""The paper's figures from the user's data: ``wilsonian reproduce figN`` and ``wilsonian toy``.

- fig1: MSE against η for the two binary tasks of a data set, σ² = 1e-8: empirical, EK,
  spectral bias and RG (paper Fig. 1).
- fig4: the effect of the learnability threshold T on the RG prediction (paper Fig. 4).
- fig2 / fig5: feature-mode statistics — joint distributions of low modes, Gaussian vs
  Cauchy fits against k (paper Figs. 2 and 5).
- fig3: the Hermite toy model of the non-Gaussian RG (paper Fig. 3).

Each function takes run configurations (or the toy's parameters) and returns a
:class:`Reproduction`: the JSON record, the figures and the configs. :func:`write` puts one
into an output folder. A notebook can call them as they are.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from wilsonian.app.config import RunConfig
from wilsonian.app.outputs import staged_output, write_json
from wilsonian.data import default_data_dir
from wilsonian.errors import WilsonianError

if TYPE_CHECKING:  # the run's machinery (theories, spectra, kernels) loads only where used
    from wilsonian.app.run import RunResult

# The paper's tasks (MNIST '8-9' and '0-1', CIFAR10 'ship-truck' and 'automobile-bird'),
# and analogues for the data sets the paper did not use.
TASKS: dict[str, list[tuple[str, str]]] = {
    "mnist": [("8", "9"), ("0", "1")],
    "cifar10": [("ship", "truck"), ("automobile", "bird")],
    "fashion-mnist": [("0", "9"), ("7", "9")],  # t-shirt/top–ankle boot, sneaker–ankle boot
    "digits": [("8", "9"), ("0", "1")],
}
PAPER_POOL_SIZE = 10_000  # the paper's tasks have N ≈ 10,000
FIGURES = ("fig1", "fig2", "fig3", "fig4", "fig5")


@dataclass
class Reproduction:
    """A reproduced figure: ``record`` (its JSON), ``figures`` (stem → Figure), ``configs``."""

    name: str
    record: dict[str, Any]
    figures: dict[str, Any]
    configs: Any
    record_name: str = ""
    summary: list[str] = field(default_factory=list)


def choose_dataset(dataset: str | None, data_dir: str | None, *, quiet: bool = False) -> tuple[str, str | None]:
    """The data set for a figure: the user's, else Fashion-MNIST if installed, else digits
    (which one is said on stderr unless ``quiet``; the figure's JSON records it anyway)."""
    if dataset:
        if dataset not in TASKS:
            raise WilsonianError(f"reproduce supports {', '.join(TASKS)}; got --dataset {dataset}")
        return dataset, data_dir
    if data_dir:
        raise WilsonianError("--data-dir needs --dataset (mnist, fashion-mnist or cifar10)")
    fashion = default_data_dir("fashion-mnist")
    if fashion is not None and Path(fashion).is_dir():
        if not quiet:
            print(f"reproduce: using Fashion-MNIST from {fashion}", file=sys.stderr)
        return "fashion-mnist", None
    if not quiet:
        print("reproduce: Fashion-MNIST is not installed; using scikit-learn's 8x8 digits", file=sys.stderr)
    return "digits", None


def task_configs(base: RunConfig) -> list[RunConfig]:
    """The configs of a data set's two tasks; pools of the paper's size unless ``n_pool`` is set."""
    n_pool = base.n_pool
    if n_pool is None and base.dataset != "digits":
        n_pool = PAPER_POOL_SIZE
    if base.ridges is not None:
        raise WilsonianError("reproduce draws the paper's figures at one ridge; give one --ridge "
                             "(use wilsonian run --ridge a,b,c for a ridge sweep)")
    configs = [replace(base, n_pool=n_pool, classes=f"{a},{b}") for a, b in TASKS[base.dataset]]
    for config in configs:
        config.validate()
    return configs


def _title(pool) -> str:
    names = pool.meta.get("class_names") or pool.meta.get("classes")
    if isinstance(names, (list, tuple)):
        names = "–".join(str(n) for n in names)
    return f"{pool.meta.get('dataset')} '{names}', N = {pool.n}"


def _slug(pool) -> str:
    names = pool.meta.get("class_names") or ["a", "b"]
    text = "-".join(str(n) for n in names).lower()
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _task_record(result: RunResult) -> dict[str, Any]:
    return {
        "config": result.results["config"],
        "pool": result.results["pool"],
        "learning_curve": result.results["learning_curve"],
        "agreement": result.results["agreement"],
        "spectrum": {k: result.results["spectrum"][k] for k in ("trace", "n", "clipped", "identity_errors")},
    }


def _run_all(configs: Sequence[RunConfig]) -> list[RunResult]:
    from wilsonian.app.run import run

    results = []
    for config in configs:
        if not config.quiet:
            print(f"task {config.classes} of {config.dataset}", file=sys.stderr, flush=True)
        results.append(run(config))
    return results


def fig1(configs: Sequence[RunConfig]) -> Reproduction:
    """Paper Fig. 1: each task's empirical MSE against EK, spectral bias and the RG."""
    from wilsonian.plots import fig1_figure

    results = _run_all(configs)
    ridge, threshold = configs[0].ridge, configs[0].threshold
    record = {"figure": "fig1", "dataset": configs[0].dataset, "tasks": [_task_record(r) for r in results]}
    figure = fig1_figure([(_title(r.pool), r.results["learning_curve"]) for r in results],
                         title=f"Fig. 1: empirical MSE vs theories, σ² = {ridge:g}, T = {threshold:g}")
    summary = [f"{_title(r.pool)}: median |log10(theory/empirical)| " + ", ".join(
        f"{k} {v['median_abs_log10_ratio']:.3f}" for k, v in r.results["agreement"].items()) for r in results]
    return Reproduction("fig1", record, {"fig1": figure}, [r.results["config"] for r in results], "fig1.json", summary)


def check_thresholds(thresholds: Sequence[float]) -> tuple[float, ...]:
    thresholds = tuple(float(t) for t in thresholds)
    for t in thresholds:
        if not 0 < t < 1:
            raise WilsonianError(f"every threshold T must lie strictly between 0 and 1, got {t}")
    if len(set(thresholds)) != len(thresholds):   # fig4.json keys its curves by T
        raise WilsonianError(f"--thresholds repeat a value ({', '.join(f'{t:g}' for t in thresholds)}); give each T once")
    return thresholds


def fig4(configs: Sequence[RunConfig], thresholds: Sequence[float] = (0.25, 0.5, 0.75)) -> Reproduction:
    """Paper Fig. 4: the RG prediction of each task for several learnability thresholds T — a
    threshold sweep per task (:func:`wilsonian.app.sweep.threshold_sweep`): one spectrum and
    one set of draws, a theory per T."""
    from wilsonian.app.sweep import threshold_sweep
    from wilsonian.plots import fig4_figure

    thresholds = check_thresholds(thresholds)
    record: dict[str, Any] = {"figure": "fig4", "dataset": configs[0].dataset, "thresholds": thresholds, "tasks": []}
    panels, used = [], []
    for config in configs:
        if not config.quiet:
            print(f"task {config.classes} of {config.dataset}", file=sys.stderr, flush=True)
        outcome = threshold_sweep(config, thresholds)
        results = outcome["results"]
        per_t = {str(row["point"]["threshold"]): {key: row["table"][key] for key in
                                                   ("rg", "rg_ridge", "rg_cutoff", "rg_all_learnable")}
                 for row in outcome["rows"]}
        task = {"config": results["config"], "pool": results["pool"], "learning_curve": results["learning_curve"],
                "agreement": results["agreement"],
                "spectrum": {k: results["spectrum"][k] for k in ("trace", "n", "clipped", "identity_errors")},
                "rg_by_threshold": per_t}
        record["tasks"].append(task)
        used.append(results["config"])
        panels.append((_pool_title(results["pool"]), results["learning_curve"], per_t))
    figure = fig4_figure(panels, thresholds, title="Fig. 4: effect of the learnability threshold T on the RG prediction")
    return Reproduction("fig4", record, {"fig4": figure}, used, "fig4.json")


def _pool_title(pool: dict) -> str:
    names = pool.get("class_names") or pool.get("classes")
    if isinstance(names, (list, tuple)):
        names = "–".join(str(n) for n in names)
    return f"{pool.get('dataset')} '{names}', N = {pool.get('n')}"


def _pools_and_spectra(configs: Sequence[RunConfig], check_modes=None) -> list[tuple[RunConfig, Any, Any]]:
    """(config, pool, spectrum with every eigenfunction) per task; ``check_modes(pool)`` runs
    on every pool before the first (expensive) spectrum."""
    from wilsonian.app.run import compute_spectrum, load_pool, open_cache
    from wilsonian.spectrum import DenseSolver

    pools = [load_pool(config) for config in configs]
    if check_modes is not None:
        for pool in pools:
            check_modes(pool)
    out = []
    for config, pool in zip(configs, pools):
        cache = open_cache(config)
        out.append((config, pool, compute_spectrum(config, pool, cache, DenseSolver(n_vectors=-1))))
    return out


def _check_mode_labels(modes: Sequence[int], pool) -> None:
    bad = [m for m in modes if not 1 <= m <= pool.n]
    if bad:
        raise WilsonianError(f"--modes are 1-based and at most N = {pool.n} for {_title(pool)}; got {bad}")


def mode_pairs(modes: Sequence[int] | None) -> list[tuple[int, int]]:
    """The pairs of Fig. 2 from ``--modes`` (default (10, 11)): consecutive pairs, or the first
    mode against each of the others when their number is odd."""
    chosen = tuple(modes) if modes else (10, 11)
    if len(chosen) < 2:
        raise WilsonianError("fig2 needs at least two --modes (1-based), e.g. --modes 10,11")
    if any(m < 1 for m in chosen):
        raise WilsonianError(f"--modes are 1-based (mode 1 is the largest eigenvalue); got {list(chosen)}")
    pairs = list(zip(chosen[0::2], chosen[1::2])) if len(chosen) % 2 == 0 else [(chosen[0], m) for m in chosen[1:]]
    if any(a == b for a, b in pairs):
        raise WilsonianError(f"each --modes pair needs two different modes; got {pairs}")
    return pairs


def fig2(configs: Sequence[RunConfig], modes: Sequence[int] | None = None) -> Reproduction:
    """Paper Fig. 2: joint distributions of two feature modes with Gaussian marginals, per task."""
    from wilsonian import mode_stats
    from wilsonian.plots import joint_pairs_figure

    # The lowest modes of a binary task carry the class split (bimodal); from about k = 10 on
    # they look like the paper's Fig. 2.
    pairs = mode_pairs(modes)
    involved = sorted({m for pair in pairs for m in pair})
    tasks = _pools_and_spectra(configs, lambda pool: _check_mode_labels(involved, pool))
    record: dict[str, Any] = {"figure": "fig2", "dataset": configs[0].dataset, "pairs": pairs, "tasks": []}
    figures = {}
    for config, pool, spectrum in tasks:
        phi = spectrum.eigenfunctions
        figures[f"fig2_{_slug(pool)}"] = joint_pairs_figure(phi, pairs, title=_title(pool))
        stats = mode_stats.mode_statistics(phi, involved)
        correlations = {f"{a},{b}": float(np.corrcoef(phi[:, a - 1], phi[:, b - 1])[0, 1]) for a, b in pairs}
        record["tasks"].append({"config": config.as_dict(), "pool": {**pool.meta, "n": pool.n},
                                "mode_statistics": stats.as_dict(), "pair_correlations": correlations})
    return Reproduction("fig2", record, figures, [t["config"] for t in record["tasks"]], "fig2.json")


def _log_spaced_modes(n_modes: int, count: int = 200) -> np.ndarray:
    return np.unique(np.round(np.geomspace(1, n_modes, count)).astype(int))


def fig5(configs: Sequence[RunConfig], modes: Sequence[int] | None = None) -> Reproduction:
    """Paper Fig. 5: Gaussian vs Cauchy description of the modes against k, and high-k marginals."""
    from wilsonian import mode_stats
    from wilsonian.plots import gauss_vs_cauchy_figure, marginals_figure

    if modes is not None and any(m < 1 for m in modes):
        raise WilsonianError(f"--modes are 1-based (mode 1 is the largest eigenvalue); got {list(modes)}")
    tasks = _pools_and_spectra(configs, None if modes is None else (lambda pool: _check_mode_labels(modes, pool)))
    record: dict[str, Any] = {"figure": "fig5", "dataset": configs[0].dataset, "tasks": []}
    figures = {}
    for config, pool, spectrum in tasks:
        phi = spectrum.eigenfunctions
        # modes with λ at round-off level are numerically arbitrary directions: leave them out
        resolved = int(np.count_nonzero(spectrum.eigenvalues > 1e-12 * spectrum.eigenvalues[0]))
        analysed = _log_spaced_modes(resolved)
        if not config.quiet:
            print(f"fig5: fitting Gaussian and Cauchy laws to {analysed.size} modes of {_title(pool)}",
                  file=sys.stderr, flush=True)
        stats = mode_stats.mode_statistics(phi, analysed, progress=not config.quiet)
        figures[f"fig5_{_slug(pool)}_k"] = gauss_vs_cauchy_figure(stats, title=_title(pool))
        high = tuple(modes) if modes else tuple(
            int(m) for m in np.unique(np.round(np.geomspace(2, resolved, 8)).astype(int)))
        figures[f"fig5_{_slug(pool)}_marginals"] = marginals_figure(phi, high, title=_title(pool))
        low = list(range(2, min(resolved, 6) + 1))
        cumulant = mode_stats.fourth_cumulant(phi, low)
        record["tasks"].append({"config": config.as_dict(), "pool": {**pool.meta, "n": pool.n},
                                "mode_statistics": stats.as_dict(), "marginal_modes": high,
                                "fourth_cumulant": cumulant.as_dict(), "resolved_modes": resolved})
    return Reproduction("fig5", record, figures, [t["config"] for t in record["tasks"]], "fig5.json")


def toy(*, lambda_highs: Sequence[float] = (0.0, 0.1), trials: int = 5_000_000, lambda1: float = 1.0,
        ridge: float = 400.0, n: int = 100, degree: int = 5, seed: int = 0, workers: int | None = None,
        quiet: bool = True, stem: str = "toy") -> Reproduction:
    """The Hermite toy model (paper Fig. 3 at its defaults): theory and Monte Carlo per λ_>."""
    from wilsonian import toy as toy_model
    from wilsonian.plots import toy_figure

    results = toy_model.toy_results(lambda_highs=lambda_highs, trials=trials, lambda1=lambda1, ridge=ridge, n=n,
                                    degree=degree, seed=seed, workers=workers, progress=not quiet)
    config = {"command": stem, "lambda_highs": list(lambda_highs), "trials": trials, "lambda1": lambda1,
              "ridge": ridge, "n": n, "degree": degree, "seed": seed}
    summary = []
    for row in results["results"]:
        z = row["mc_slope"] / row["mc_slope_se"] if row["mc_slope_se"] > 0 else float("nan")
        summary.append(f"lambda_> = {row['lambda_high']:g}: theory slope {row['theory_slope']:.4e}, "
                       f"Monte Carlo {row['mc_slope']:.4e} ± {row['mc_slope_se']:.1e} ({z:.1f} SE from 0)")
    return Reproduction(stem, results, {stem: toy_figure(results)}, config, "toy.json", summary)


def fig3(*, trials: int = 5_000_000, seed: int = 0, quiet: bool = True) -> Reproduction:
    """Paper Fig. 3: the Hermite toy model at the paper's parameters (λ_> = 0 and 0.1)."""
    return toy(lambda_highs=(0.0, 0.1), trials=trials, seed=seed, quiet=quiet, stem="fig3")


def write(reproduction: Reproduction, out: str | Path, guards=(), *, figure_formats=None) -> Path:
    """Write a reproduction's figures, its JSON record and ``config.json`` into ``out`` atomically.

    ``figure_formats``: "png", "pdf" or both (default PNG only).
    """
    from wilsonian.plots import command_formats, save_figures

    formats = command_formats(figure_formats)
    with staged_output(out, guards) as staging:
        write_json(staging / reproduction.record_name, reproduction.record)
        write_json(staging / "config.json", reproduction.configs)
        save_figures(reproduction.figures, formats=formats, directory=staging)
        from wilsonian.app.report import reproduction_report

        (staging / "report.html").write_text(reproduction_report(reproduction, staging), encoding="utf-8")
    return Path(out)
