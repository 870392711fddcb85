"""The paper's learning-curve figures: Fig. 1 (theories against the data) and Fig. 4 (the
threshold T). Each task is a title with its learning-curve table (and, for Fig. 4, the RG
at each T), as ``reproduce`` writes them into ``fig1.json`` / ``fig4.json``."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from wilsonian.plots.core import figure, fixed_margins, tidy_log_axis
from wilsonian.plots.learning import plot_learning_curves


def fig1_figure(tasks: Sequence[tuple[str, dict]], *, title: str = ""):
    """One panel per task: the empirical MSE against EK, spectral bias and the RG."""
    fig = figure(5.6 * len(tasks), 4.6)
    fixed_margins(fig, left=0.85, right=0.15, bottom=0.6, top=0.6, wspace=0.95, ncols=len(tasks))
    axes = np.atleast_1d(fig.subplots(1, len(tasks), squeeze=False)[0])
    for ax, (name, lc) in zip(axes, tasks):
        plot_learning_curves(ax, lc, theories=("ek", "spectral_bias", "rg"), title=name)
    fig.suptitle(title, fontsize=10)
    return fig


def fig4_figure(tasks: Sequence[tuple[str, dict, dict]], thresholds: Sequence[float], *, title: str = ""):
    """One panel per task: the data, spectral bias and the RG for each threshold T.

    Each task is (title, learning-curve table, {str(T): {"rg": …, "rg_all_learnable": …}}).
    Where no mode falls below T, σ_eff² falls back to σ² and E_RG to EK, far off the axis:
    those η are marked with a cross at the bottom instead of drawn.
    """
    from matplotlib import colormaps

    fig = figure(5.6 * len(tasks), 4.6)
    fixed_margins(fig, left=0.85, right=0.15, bottom=0.6, top=0.6, wspace=0.95, ncols=len(tasks))
    axes = np.atleast_1d(fig.subplots(1, len(tasks), squeeze=False)[0])
    colors = colormaps["plasma"](np.linspace(0.1, 0.85, len(thresholds)))
    for ax, (name, lc, by_threshold) in zip(axes, tasks):
        eta = np.asarray(lc["eta"], dtype=float)
        emp = np.asarray(lc["empirical_mean"], dtype=float)
        ax.errorbar(eta, emp, yerr=np.asarray(lc["empirical_sem"], dtype=float), fmt="o", color="k", capsize=3, label="empirical", zorder=5)
        ax.plot(eta, lc["spectral_bias"], color="tab:blue", lw=2, label="spectral bias")
        bottom, top = emp.min() / 8, emp.max() * 2
        for color, t in zip(colors, thresholds):
            rg = by_threshold[str(t)]
            degenerate = np.asarray(rg["rg_all_learnable"], dtype=bool)
            ax.plot(eta, np.where(degenerate, np.nan, rg["rg"]), "--", color=color, lw=1.8, label=f"RG, T = {t:g}")
            if degenerate.any():
                ax.plot(eta[degenerate], np.full(degenerate.sum(), bottom), "x", color=color, ms=8, clip_on=False,
                        label=f"T = {t:g}: no mode below T (E_RG = EK, off scale)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(bottom, top)
        ax.set_xlabel("η (training points)")
        ax.set_ylabel("test MSE on the pool")
        ax.set_title(name)
        tidy_log_axis(ax)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig
