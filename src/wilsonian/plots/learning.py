"""The figures of ``wilsonian run``: learning curves, spectrum, RG flow, learnability, soft flow.

Each takes result objects (a learning-curve table as in ``results.json["learning_curve"]``,
a :class:`~wilsonian.spectrum.Spectrum`, a :class:`~wilsonian.theory.Theory`) and returns a
figure; :func:`run_figures` draws and saves them all for a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from wilsonian.plots.core import (
    FORMATS,
    THEORY_STYLE,
    degenerate_rg,
    figure,
    fixed_margins,
    mark_degenerate,
    positive,
    save_figures,
    tidy_log_axis,
)


def plot_learning_curves(ax, lc: dict, *, theories: Iterable[str] = ("ek", "spectral_bias", "rg", "rg_fluct"),
                         title: str | None = None, zoom: bool = False) -> None:
    """Empirical MSE with error bars against each theory, log–log, on ``ax``.

    ``lc`` is a learning-curve table (``eta``, ``empirical_mean``, ``empirical_sem`` and a
    column per theory). ``zoom`` restricts the y-range to the empirical points (EK,
    typically orders of magnitude below, is then stated in a note instead).
    """
    eta = np.asarray(lc["eta"], dtype=float)
    ax.errorbar(eta, lc["empirical_mean"], yerr=np.asarray(lc["empirical_sem"], dtype=float), fmt="o", color="k", ms=5, capsize=3,
                label="empirical (exact GP)", zorder=5)
    degenerate = degenerate_rg(lc)
    for name in theories:
        values = positive(lc[name])
        if name in ("rg", "rg_fluct"):
            values = np.where(degenerate, np.nan, values)
        ax.plot(eta, values, **THEORY_STYLE[name])
    if any(name in ("rg", "rg_fluct") for name in theories):
        mark_degenerate(ax, eta, degenerate, np.nanmin(positive(lc["empirical_mean"])) / 3,
                        color=THEORY_STYLE["rg"]["color"])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("η (training points)")
    ax.set_ylabel("test MSE on the pool")
    if zoom:
        # Only the empirical range: EK, far below, is annotated rather than drawn.
        emp = positive(lc["empirical_mean"])
        low, high = np.nanmin(emp), np.nanmax(emp)
        ax.set_ylim(low / 4, high * 2.5)
        ek = positive(lc.get("ek", np.array([np.nan])))
        if "ek" in theories and np.isfinite(ek).any() and np.nanmax(ek) < low / 4:
            ax.text(0.02, 0.03, f"EK off scale: {np.nanmin(ek):.1e} … {np.nanmax(ek):.1e}",
                    transform=ax.transAxes, fontsize=8, color="tab:gray")
    tidy_log_axis(ax)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)


def mse_label(n_outputs: int = 1, what: str = "test") -> str:
    """The y-axis label of an error: summed over outputs when there are several."""
    return f"{what} MSE on the pool" if n_outputs == 1 else f"{what} MSE, summed over the {n_outputs} outputs"


def plot_train_errors(ax, lc: dict, *, color: str = "k", label_suffix: str = "") -> None:
    """The empirical train MSE of the draws (± SE) and eigenlearning's (σ²/κ)²(E_SB + ε²)."""
    eta = np.asarray(lc["eta"], dtype=float)
    ax.errorbar(eta, positive(lc["train_empirical_mean"]), yerr=np.asarray(lc["train_empirical_sem"], dtype=float),
                fmt="s", mfc="none", color=color, ms=5, capsize=3, label="train, empirical" + label_suffix)
    ax.plot(eta, positive(lc["train_eigenlearning"]), color=color, ls="-", lw=1.5,
            label="train, eigenlearning" + label_suffix)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("η (training points)")
    tidy_log_axis(ax)


def learning_curves_figure(lc: dict, *, label: str = "", n_outputs: int = 1):
    """Three panels: every theory over the full range (EK's failure), a zoom on the data, and
    the train error against eigenlearning's prediction."""
    fig = figure(16.5, 4.6)
    fixed_margins(fig, left=0.85, right=0.15, bottom=0.6, top=0.6, wspace=1.25, ncols=3)
    axes = fig.subplots(1, 3)
    plot_learning_curves(axes[0], lc, title="all theories (full range)")
    plot_learning_curves(axes[1], lc, title="zoom on the empirical curve", zoom=True)
    for ax in axes[:2]:
        ax.set_ylabel(mse_label(n_outputs))
    if "train_empirical_mean" in lc:
        plot_train_errors(axes[2], lc)
        axes[2].set_ylabel(mse_label(n_outputs, "train"))
        axes[2].set_title("train error (where σ² > 0)", fontsize=10)
        axes[2].legend(fontsize=8)
    else:
        axes[2].set_visible(False)
    fig.suptitle(label, fontsize=10)
    return fig


def ridge_sweep_figure(tables: list[dict], ridges, evidence: dict | None = None, *, label: str = "",
                       n_outputs: int = 1):
    """A ridge sweep: test errors (points) with spectral bias (lines) and the RG (dashed), one
    colour per ridge; the train errors with eigenlearning; and the optimal ridge against η."""
    from matplotlib import colormaps

    colors = colormaps["viridis"](np.linspace(0, 0.9, len(ridges)))
    fig = figure(16.5, 4.8)
    fixed_margins(fig, left=0.85, right=0.15, bottom=0.6, top=0.6, wspace=1.25, ncols=3)
    axes = fig.subplots(1, 3)
    for color, ridge, lc in zip(colors, ridges, tables):
        eta = np.asarray(lc["eta"], dtype=float)
        axes[0].errorbar(eta, positive(lc["empirical_mean"]), yerr=np.asarray(lc["empirical_sem"], dtype=float),
                         fmt="o", color=color, ms=4, capsize=2, label=f"σ² = {ridge:.2g}")
        axes[0].plot(eta, positive(lc["spectral_bias"]), color=color, lw=1.5)
        degenerate = degenerate_rg(lc)
        axes[0].plot(eta, np.where(degenerate, np.nan, positive(lc["rg"])), color=color, lw=1, ls="--")
        mark_degenerate(axes[0], eta, degenerate, np.nanmin(positive(lc["empirical_mean"])) / 3, color=color,
                        label=None)
        plot_train_errors(axes[1], lc, color=color, label_suffix=f", σ² = {ridge:.2g}")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("η (training points)")
    axes[0].set_ylabel(mse_label(n_outputs))
    axes[0].set_title("points: empirical; lines: spectral bias; dashed: RG (×: degenerate, not drawn)", fontsize=9)
    axes[0].legend(fontsize=7)
    tidy_log_axis(axes[0])
    axes[1].set_ylabel(mse_label(n_outputs, "train"))
    axes[1].set_title("train error: squares empirical, lines eigenlearning", fontsize=9)
    if evidence is not None:
        eta = np.asarray(evidence["eta"], dtype=float)
        ax = axes[2]
        ax.loglog(eta, positive(evidence["theory_optimal_ridge"]), "-", color="tab:blue",
                  label="minimizes E_SB (theory)")
        if evidence.get("evidence_optimal_ridge") is not None:
            ax.loglog(eta, positive(evidence["evidence_optimal_ridge"]), "o-", color="tab:red",
                      label="maximizes the evidence (median over draws)")
        best = evidence.get("best_on_grid", {})
        if "empirical_test_error" in best:
            ax.loglog(eta, best["empirical_test_error"], "s", mfc="none", color="k",
                      label="grid ridge with the lowest test error")
        ax.set_xlabel("η (training points)")
        ax.set_ylabel("optimal ridge σ²")
        ax.set_title("the optimal ridge", fontsize=9)
        ax.legend(fontsize=7)
        tidy_log_axis(ax)
    else:
        axes[2].set_visible(False)
    fig.suptitle(label, fontsize=10)
    return fig


def spectrum_figure(spectrum, *, fit: dict | None = None, label: str = "", per_output: bool = False,
                    output_names=None):
    """λ_k with its power-law ``fit`` (``results.json["scaling"]["eigenvalues"]``), and the
    target power per mode with the remaining power, summed over outputs; with ``per_output``
    (and several outputs) also each output's remaining power, named by ``output_names``."""
    k = np.arange(1, spectrum.n_modes + 1)
    fig = figure(11, 4.2)
    fixed_margins(fig, left=0.85, right=0.15, bottom=0.6, top=0.6, wspace=0.85, ncols=2)
    axes = fig.subplots(1, 2)
    axes[0].loglog(k, positive(spectrum.eigenvalues), color="tab:blue", lw=1.5, label="λ_k (eigenvalues of K/N)")
    if fit and "slope" in fit:
        kk = np.array([fit["x_min"], fit["x_max"]])
        axes[0].loglog(kk, fit["prefactor"] * kk ** fit["slope"], "k--", lw=1,
                       label=f"fit: λ_k ∝ k^{fit['slope']:.2f}±{fit['slope_se']:.2f}")
    axes[0].set_xlabel("mode k")
    axes[0].set_ylabel("λ_k")
    axes[0].set_title("kernel spectrum on the data measure")
    axes[0].legend(fontsize=8)
    tidy_log_axis(axes[0])
    outputs = spectrum.n_outputs
    summed = "" if outputs == 1 else f", summed over {outputs} outputs"
    power = spectrum.mode_power
    tail = np.cumsum(power[::-1])[::-1]
    axes[1].loglog(k, positive(power), ".", ms=2, color="tab:green", alpha=0.5, label=f"|y_k|² per mode{summed}")
    axes[1].loglog(k, positive(tail), color="tab:purple", lw=1.5, label=f"Σ_{{j≥k}} |y_j|² (remaining){summed}")
    if per_output and outputs > 1:
        from matplotlib import colormaps

        names = list(output_names) if output_names is not None and len(output_names) == outputs else range(outputs)
        colors = colormaps["tab10" if outputs <= 10 else "viridis"](np.linspace(0, 1, outputs) if outputs > 10
                                                                    else np.arange(outputs))
        per_mode = np.square(spectrum.target_coefficients)
        for c, name in enumerate(names):
            remaining = np.cumsum(per_mode[::-1, c])[::-1]
            axes[1].loglog(k, positive(remaining), lw=0.9, color=colors[c], alpha=0.8, label=f"output {name}")
    axes[1].set_xlabel("mode k")
    axes[1].set_ylabel("target power")
    axes[1].set_title("target decomposition")
    axes[1].legend(fontsize=7 if per_output and outputs > 1 else 8, ncol=2 if per_output and outputs > 4 else 1)
    tidy_log_axis(axes[1])
    fig.suptitle(label, fontsize=9)
    return fig


def _eta_colors(count: int):
    from matplotlib import colormaps

    return colormaps["viridis"](np.linspace(0, 1, count))


def rg_flow_figure(theory, lc: dict, *, label: str = ""):
    """The running ridge σ²(κ) with the cutoff κ*(η) of each η, and σ_eff²(η) beside κ_SB(η)."""
    flow = theory.ridge_flow()
    ridge = theory.ridge
    kappa_axis = np.arange(flow.size)
    fig = figure(11, 4.2)
    fixed_margins(fig, left=0.85, right=0.15, bottom=0.6, top=0.6, wspace=1.05, ncols=2)
    axes = fig.subplots(1, 2)
    axes[0].loglog(kappa_axis[1:], flow[1:], color="k", lw=1.5, label="σ²(κ) = σ² + Σ_{k>κ} λ_k")
    eta = np.asarray(lc["eta"], dtype=float)
    cut = np.asarray(lc["rg_cutoff"])
    colors = _eta_colors(eta.size)
    shown = cut > 0  # κ* = 0 (everything integrated out) has no place on a log axis
    axes[0].scatter(cut[shown], np.asarray(lc["rg_ridge"])[shown], s=40, zorder=5, edgecolors="k",
                    c=colors[shown], label="cutoff κ*(η) (colour: η)")
    axes[0].axhline(ridge, color="tab:gray", ls=":", lw=1, label=f"bare ridge σ² = {ridge:g}")
    axes[0].set_xlabel("κ (modes kept)")
    axes[0].set_ylabel("running ridge σ²(κ)")
    axes[0].set_title(f"RG flow of the ridge (T = {theory.threshold:g})")
    axes[0].legend(fontsize=8)
    tidy_log_axis(axes[0])
    degenerate = degenerate_rg(lc)
    axes[1].loglog(eta, np.where(degenerate, np.nan, positive(lc["rg_ridge"])), "o-", color="tab:red",
                   label="σ_eff²(η) (RG)")
    mark_degenerate(axes[1], eta, degenerate, ridge, color="tab:red")
    axes[1].loglog(eta, positive(lc["spectral_bias_kappa"]), "s--", color="tab:blue", label="κ(η) (spectral bias)")
    axes[1].axhline(ridge, color="tab:gray", ls=":", lw=1, label="σ²")
    axes[1].set_xlabel("η")
    axes[1].set_ylabel("renormalized ridge")
    axes[1].set_title("RG ridge tracks the spectral-bias κ")
    axes[1].legend(fontsize=8)
    tidy_log_axis(axes[1])
    fig.suptitle(label, fontsize=9)
    return fig


def learnability_figure(theory, lc: dict, *, picks: int = 5):
    """L_k = ηλ_k/(ηλ_k + σ²(k)) against k for a few η, with the threshold T and each cutoff."""
    eta = np.asarray(lc["eta"], dtype=float)
    cut = np.asarray(lc["rg_cutoff"])
    colors = _eta_colors(eta.size)
    chosen = np.unique(np.linspace(0, eta.size - 1, min(picks, eta.size)).round().astype(int))
    L = theory.learnability(eta[chosen])
    k = np.arange(1, theory.spectrum.n_modes + 1)
    fig = figure(6.4, 4.4)
    fixed_margins(fig, left=0.75, right=0.15, bottom=0.6, top=0.35)
    ax = fig.subplots()
    for row, i in enumerate(chosen):
        ax.semilogx(k, L[row], color=colors[i], lw=1.5, label=f"η = {int(eta[i])}")
        ax.axvline(max(cut[i], 0.8), color=colors[i], ls=":", lw=1)
    ax.axhline(theory.threshold, color="k", ls="--", lw=1, label=f"threshold T = {theory.threshold:g}")
    ax.set_xlabel("mode k")
    ax.set_ylabel("learnability L_k = ηλ_k/(ηλ_k + σ²(k))")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("learnable vs unlearnable modes (dotted: cutoff κ*)")
    ax.legend(fontsize=8)
    tidy_log_axis(ax)
    return fig


def run_label(result) -> str:
    res, cfg = result.results, result.config
    ridges = cfg.ridge_values
    ridge = f"σ²={ridges[0]:g}" if len(ridges) == 1 else f"{len(ridges)} ridges {ridges[0]:.2g}…{ridges[-1]:.2g}"
    noise = f", ε²={cfg.label_noise:g}" if cfg.label_noise else ""
    return (f"{res['pool'].get('dataset')} {res['pool'].get('class_names', '')}, N={result.pool.n}, "
            f"{cfg.kernel} {cfg.activation} L={cfg.depth}, {ridge}{noise}")


def run_figures(result, directory: str | Path, *, formats: Iterable[str] = FORMATS) -> list[Path]:
    """All figures of ``wilsonian run`` (a :class:`wilsonian.app.run.RunResult`) into ``directory``.

    One file per figure and format (``formats``: "png", "pdf"); see :func:`save_figures`.
    """
    from wilsonian.plots.flow import soft_flow_figure
    from wilsonian.plots.nongaussian import nongaussian_figure

    directory = Path(directory)
    tables = [p.compare(c) for p, c in zip(result.predictions, result.curves)]
    lc = tables[0]
    label = run_label(result)
    theory = result.theory
    outputs = result.spectrum.n_outputs
    figures = {
        "learning_curves": learning_curves_figure(lc, label=label, n_outputs=outputs),
        "spectrum": spectrum_figure(result.spectrum, fit=result.results.get("scaling", {}).get("eigenvalues"),
                                    label=label, per_output=result.config.power_per_output,
                                    output_names=result.results["pool"].get("class_names")),
        "rg_flow": rg_flow_figure(theory, lc, label=label),
        "learnability": learnability_figure(theory, lc),
        "soft_flow": soft_flow_figure(result.extras["soft_flow"], lc, label=label),
    }
    if len(tables) > 1:
        figures["ridge_sweep"] = ridge_sweep_figure(tables, result.config.ridge_values,
                                                    result.results.get("evidence"), label=label, n_outputs=outputs)
    if "nongaussian" in result.extras:
        figures["nongaussian"] = nongaussian_figure(result.extras["nongaussian"])
    return save_figures(figures, formats=formats, directory=directory)
