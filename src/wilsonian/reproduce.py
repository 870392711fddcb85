"""``wilsonian reproduce figN`` and ``wilsonian toy``: the paper's figures from the user's data.

- fig1: MSE against η for the two binary tasks of a data set, σ² = 1e-8: empirical, EK,
  spectral bias and RG (paper Fig. 1).
- fig4: the effect of the learnability threshold T on the RG prediction (paper Fig. 4).
- fig2 / fig5: feature-mode statistics — joint distributions of low modes, Gaussian vs
  Cauchy fits against k (paper Figs. 2 and 5).
- fig3: the Hermite toy model of the non-Gaussian RG (paper Fig. 3).

Without ``--dataset``, fig1/2/4/5 use Fashion-MNIST where it is installed and scikit-learn's
digits otherwise, and say which.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from wilsonian.atomic import check_output_dir, to_json
from wilsonian.data import default_data_dir
from wilsonian.errors import WilsonianError
from wilsonian.pipeline import RunConfig, RunResult, run, staged_output

# The paper's tasks (MNIST '8-9' and '0-1', CIFAR10 'ship-truck' and 'automobile-bird'),
# and analogues for the data sets the paper did not use.
TASKS: dict[str, list[tuple[str, str]]] = {
    "mnist": [("8", "9"), ("0", "1")],
    "cifar10": [("ship", "truck"), ("automobile", "bird")],
    "fashion-mnist": [("0", "9"), ("7", "9")],  # t-shirt/top–ankle boot, sneaker–ankle boot
    "digits": [("8", "9"), ("0", "1")],
}
PAPER_POOL_SIZE = 10_000  # the paper's tasks have N ≈ 10,000


def _guards(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """The paths that ``--out`` must not equal or contain (see ``pipeline.output_guards``)."""
    from wilsonian.store import default_cache_dir

    guards: list[tuple[str, Any]] = [("the data directory", getattr(args, "data_dir", None))]
    dataset = getattr(args, "dataset", None)
    if hasattr(args, "data_dir") and not args.data_dir:
        guards.append(("the data directory", default_data_dir(dataset or "fashion-mnist")))
    if hasattr(args, "cache_dir"):
        guards.append(("the cache directory", args.cache_dir or default_cache_dir()))
    return guards


def _say(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


def choose_dataset(args: argparse.Namespace) -> tuple[str, str | None]:
    """The data set for a figure: the user's, else Fashion-MNIST if installed, else digits."""
    if args.dataset:
        if args.dataset not in TASKS:
            raise WilsonianError(f"reproduce supports {', '.join(TASKS)}; got --dataset {args.dataset}")
        return args.dataset, args.data_dir
    if args.data_dir:
        raise WilsonianError("--data-dir needs --dataset (mnist, fashion-mnist or cifar10)")
    fashion = default_data_dir("fashion-mnist")
    if fashion is not None and Path(fashion).is_dir():
        print(f"reproduce: using Fashion-MNIST from {fashion}", file=sys.stderr)
        return "fashion-mnist", None
    print("reproduce: Fashion-MNIST is not installed; using scikit-learn's 8x8 digits", file=sys.stderr)
    return "digits", None


def task_configs(args: argparse.Namespace, dataset: str, data_dir: str | None) -> list[RunConfig]:
    n_pool = args.n_pool
    if n_pool is None and dataset not in ("digits",):
        n_pool = PAPER_POOL_SIZE
    base = RunConfig(
        dataset=dataset, data_dir=data_dir, split=args.split, n_pool=n_pool, preprocessing=args.preprocessing,
        kernel=args.kernel, activation=args.activation, depth=args.depth, weight_var=args.weight_var,
        bias_var=args.bias_var, ridge=args.ridge, threshold=args.threshold, etas=args.etas, trials=args.trials,
        replace=args.replace, seed=args.seed, out=args.out, cache_dir=args.cache_dir, no_cache=args.no_cache,
        quiet=args.quiet,
    )
    return [replace(base, classes=f"{a},{b}") for a, b in TASKS[dataset]]


def run_tasks(args: argparse.Namespace) -> tuple[str, list[RunResult]]:
    dataset, data_dir = choose_dataset(args)
    configs = task_configs(args, dataset, data_dir)
    for config in configs:
        config.validate()
    results = []
    for config in configs:
        _say(args, f"task {config.classes} of {dataset}")
        results.append(run(config))
    return dataset, results


def _task_title(result: RunResult) -> str:
    names = result.pool.meta.get("class_names") or result.config.classes
    if isinstance(names, (list, tuple)):
        names = "–".join(str(n) for n in names)
    return f"{result.pool.meta.get('dataset')} '{names}', N = {result.pool.n}"


def _task_record(result: RunResult) -> dict[str, Any]:
    return {
        "config": result.results["config"],
        "pool": result.results["pool"],
        "learning_curve": result.results["learning_curve"],
        "agreement": result.results["agreement"],
        "spectrum": {k: result.results["spectrum"][k] for k in ("trace", "n", "clipped", "identity_errors")},
    }


def fig1(args: argparse.Namespace) -> Path:
    from wilsonian import plots

    dataset, results = run_tasks(args)
    fig, axes = plots.plt.subplots(1, len(results), figsize=(5.6 * len(results), 4.6), squeeze=False)
    for ax, result in zip(axes[0], results):
        plots.plot_learning_curves(ax, result.results["learning_curve"], theories=("ek", "spectral_bias", "rg"),
                                   title=_task_title(result))
    fig.subplots_adjust(wspace=0.3)
    fig.suptitle(f"Fig. 1: empirical MSE vs theories, σ² = {args.ridge:g}, T = {args.threshold:g}", fontsize=10)
    record = {"figure": "fig1", "dataset": dataset, "tasks": [_task_record(r) for r in results]}
    with staged_output(args.out, _guards(args)) as staging:
        plots.save_figure(fig, staging / "fig1")
        (staging / "fig1.json").write_text(to_json(record) + "\n")
        (staging / "config.json").write_text(to_json([r.results["config"] for r in results]) + "\n")
    for r in results:
        print(f"{_task_title(r)}: median |log10(theory/empirical)| " + ", ".join(
            f"{k} {v['median_abs_log10_ratio']:.3f}" for k, v in r.results["agreement"].items()))
    return Path(args.out)


def fig4(args: argparse.Namespace) -> Path:
    from wilsonian import plots, theory

    thresholds = tuple(args.thresholds)
    for t in thresholds:
        if not 0 < t < 1:
            raise WilsonianError(f"every threshold T must lie strictly between 0 and 1, got {t}")
    dataset, results = run_tasks(args)
    fig, axes = plots.plt.subplots(1, len(results), figsize=(5.6 * len(results), 4.6), squeeze=False)
    record: dict[str, Any] = {"figure": "fig4", "dataset": dataset, "thresholds": thresholds, "tasks": []}
    colors = plots.plt.cm.plasma(np.linspace(0.1, 0.85, len(thresholds)))
    for ax, result in zip(axes[0], results):
        lc = result.results["learning_curve"]
        eta = np.asarray(lc["eta"], dtype=float)
        ax.errorbar(eta, lc["empirical_mean"], yerr=lc["empirical_sem"], fmt="o", color="k", capsize=3,
                    label="empirical", zorder=5)
        ax.plot(eta, lc["spectral_bias"], color="tab:blue", lw=2, label="spectral bias")
        per_t = {}
        emp = np.asarray(lc["empirical_mean"], dtype=float)
        bottom, top = emp.min() / 8, emp.max() * 2
        for color, t in zip(colors, thresholds):
            rg = theory.rg_prediction(result.spectrum, eta, result.config.ridge, t)
            per_t[str(t)] = {"rg": rg.error, "rg_ridge": rg.renormalized_ridge, "rg_cutoff": rg.cutoff,
                             "rg_all_learnable": rg.all_learnable}
            ax.plot(eta, rg.error, "--", color=color, lw=1.8, label=f"RG, T = {t:g}")
            if rg.all_learnable.any():
                # No mode below T: σ_eff² falls back to σ² and E_RG to EK, far off the axis.
                ax.plot(eta[rg.all_learnable], np.full(rg.all_learnable.sum(), bottom), "x", color=color, ms=8,
                        clip_on=False, label=f"T = {t:g}: no mode below T (E_RG = EK, off scale)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(bottom, top)
        ax.set_xlabel("η (training points)")
        ax.set_ylabel("test MSE on the pool")
        ax.set_title(_task_title(result))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        task = _task_record(result)
        task["rg_by_threshold"] = per_t
        record["tasks"].append(task)
    fig.subplots_adjust(wspace=0.3)
    fig.suptitle("Fig. 4: effect of the learnability threshold T on the RG prediction", fontsize=10)
    with staged_output(args.out, _guards(args)) as staging:
        plots.save_figure(fig, staging / "fig4")
        (staging / "fig4.json").write_text(to_json(record) + "\n")
        (staging / "config.json").write_text(to_json([r.results["config"] for r in results]) + "\n")
    return Path(args.out)


def task_spectra(args: argparse.Namespace) -> tuple[str, list[tuple[RunConfig, Any, Any]]]:
    """(dataset, [(config, pool, spectrum with every eigenfunction)]) for the figure's tasks."""
    from wilsonian.data import build_pool
    from wilsonian.kernels import KernelSpec
    from wilsonian.pipeline import cached_kernel, cached_spectrum
    from wilsonian.store import ArtifactCache, default_cache_dir

    dataset, data_dir = choose_dataset(args)
    configs = task_configs(args, dataset, data_dir)
    for config in configs:
        config.validate()
    cache = ArtifactCache(Path(args.cache_dir) if args.cache_dir else default_cache_dir(),
                          enabled=not args.no_cache, quiet=args.quiet)
    out = []
    for config in configs:
        pool = build_pool(config.dataset, data_dir=config.data_dir, classes=config.classes, split=config.split,
                          n_pool=config.n_pool, preprocessing=config.preprocessing, seed=config.seed)
        spec = KernelSpec(config.kernel, config.activation, config.depth, config.weight_var, config.bias_var)
        K, key = cached_kernel(pool, spec, cache, quiet=args.quiet)
        spectrum = cached_spectrum(K, pool, key, cache, n_vectors=-1, quiet=args.quiet)
        del K
        out.append((config, pool, spectrum))
    return dataset, out


def _pool_title(pool) -> str:
    names = pool.meta.get("class_names") or pool.meta.get("classes")
    if isinstance(names, (list, tuple)):
        names = "–".join(str(n) for n in names)
    return f"{pool.meta.get('dataset')} '{names}', N = {pool.n}"


def _slug(pool) -> str:
    names = pool.meta.get("class_names") or ["a", "b"]
    text = "-".join(str(n) for n in names).lower()
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def fig2(args: argparse.Namespace) -> Path:
    """Joint distributions of two low feature modes with Gaussian marginal fits, per task."""
    from wilsonian import modes

    # The lowest modes of a binary task carry the class split (bimodal); from about k = 10 on
    # they look like the paper's Fig. 2.
    chosen = tuple(args.modes) if args.modes else (10, 11)
    if len(chosen) < 2:
        raise WilsonianError("fig2 needs at least two --modes (1-based), e.g. --modes 10,11")
    pairs = list(zip(chosen[0::2], chosen[1::2])) if len(chosen) % 2 == 0 else [(chosen[0], m) for m in chosen[1:]]
    dataset, tasks = task_spectra(args)
    record: dict[str, Any] = {"figure": "fig2", "dataset": dataset, "pairs": pairs, "tasks": []}
    with staged_output(args.out, _guards(args)) as staging:
        for config, pool, spectrum in tasks:
            phi = spectrum.eigenfunctions
            modes.plot_joint_pairs(phi, pairs, staging / f"fig2_{_slug(pool)}", title=_pool_title(pool))
            involved = sorted({m for pair in pairs for m in pair})
            stats = modes.mode_statistics(phi, involved)
            correlations = {f"{a},{b}": float(np.corrcoef(phi[:, a - 1], phi[:, b - 1])[0, 1]) for a, b in pairs}
            record["tasks"].append({"config": config.as_dict(), "pool": {**pool.meta, "n": pool.n},
                                    "mode_statistics": stats.as_dict(), "pair_correlations": correlations})
        (staging / "fig2.json").write_text(to_json(record) + "\n")
        (staging / "config.json").write_text(to_json([t["config"] for t in record["tasks"]]) + "\n")
    return Path(args.out)


def _log_spaced_modes(n_modes: int, count: int = 200) -> np.ndarray:
    return np.unique(np.round(np.geomspace(1, n_modes, count)).astype(int))


def fig5(args: argparse.Namespace) -> Path:
    """Gaussian vs Cauchy description of every mode against k, and high-k marginals, per task."""
    from wilsonian import modes

    dataset, tasks = task_spectra(args)
    record: dict[str, Any] = {"figure": "fig5", "dataset": dataset, "tasks": []}
    with staged_output(args.out, _guards(args)) as staging:
        for config, pool, spectrum in tasks:
            phi = spectrum.eigenfunctions
            # modes with λ at round-off level are numerically arbitrary directions: leave them out
            resolved = int(np.count_nonzero(spectrum.eigenvalues > 1e-12 * spectrum.eigenvalues[0]))
            analysed = _log_spaced_modes(resolved)
            _say(args, f"fig5: fitting Gaussian and Cauchy laws to {analysed.size} modes of {_pool_title(pool)}")
            stats = modes.mode_statistics(phi, analysed, progress=not args.quiet)
            modes.plot_gauss_vs_cauchy(stats, staging / f"fig5_{_slug(pool)}_k", title=_pool_title(pool))
            high = tuple(args.modes) if args.modes else tuple(
                int(m) for m in np.unique(np.round(np.geomspace(2, resolved, 8)).astype(int)))
            modes.plot_marginals(phi, high, staging / f"fig5_{_slug(pool)}_marginals", title=_pool_title(pool))
            low = list(range(2, min(resolved, 6) + 1))
            cumulant = modes.fourth_cumulant(phi, low)
            record["tasks"].append({"config": config.as_dict(), "pool": {**pool.meta, "n": pool.n},
                                    "mode_statistics": stats.as_dict(), "marginal_modes": high,
                                    "fourth_cumulant": cumulant.as_dict(), "resolved_modes": resolved})
        (staging / "fig5.json").write_text(to_json(record) + "\n")
        (staging / "config.json").write_text(to_json([t["config"] for t in record["tasks"]]) + "\n")
    return Path(args.out)


def _toy_outputs(args: argparse.Namespace, *, lambda_highs, trials, lambda1, ridge, n, degree, workers, stem) -> Path:
    from wilsonian import toy

    results = toy.toy_results(lambda_highs=lambda_highs, trials=trials, lambda1=lambda1, ridge=ridge, n=n,
                              degree=degree, seed=args.seed, workers=workers, progress=not args.quiet)
    config = {"command": stem, "lambda_highs": list(lambda_highs), "trials": trials, "lambda1": lambda1,
              "ridge": ridge, "n": n, "degree": degree, "seed": args.seed}
    with staged_output(args.out, _guards(args)) as staging:
        toy.plot_toy(results, staging / stem)
        (staging / "toy.json").write_text(to_json(results) + "\n")
        (staging / "config.json").write_text(to_json(config) + "\n")
    for row in results["results"]:
        z = row["mc_slope"] / row["mc_slope_se"] if row["mc_slope_se"] > 0 else float("nan")
        print(f"lambda_> = {row['lambda_high']:g}: theory slope {row['theory_slope']:.4e}, "
              f"Monte Carlo {row['mc_slope']:.4e} ± {row['mc_slope_se']:.1e} ({z:.1f} SE from 0)")
    return Path(args.out)


def fig3(args: argparse.Namespace) -> Path:
    """The Hermite toy model at the paper's parameters (λ_> = 0 and 0.1, m = 5·10⁶)."""
    return _toy_outputs(args, lambda_highs=(0.0, 0.1), trials=args.trials_mc, lambda1=1.0, ridge=400.0, n=100,
                        degree=5, workers=None, stem="fig3")


FIGURES = {"fig1": fig1, "fig2": fig2, "fig3": fig3, "fig4": fig4, "fig5": fig5}


def main(args: argparse.Namespace) -> int:
    figure = FIGURES.get(args.figure)
    if figure is None:
        raise WilsonianError(f"unknown figure {args.figure!r}; choose one of {', '.join(sorted(FIGURES))}")
    check_output_dir(args.out, _guards(args))  # before any work
    out = figure(args)
    print(f"wrote {out}")
    return 0


def toy_command(args: argparse.Namespace) -> int:
    check_output_dir(args.out, _guards(args))  # before any work
    out = _toy_outputs(args, lambda_highs=tuple(args.lambda_high), trials=args.trials, lambda1=args.lambda1,
                       ridge=args.ridge, n=args.n, degree=args.degree, workers=args.workers, stem="toy")
    print(f"wrote {out}")
    return 0
