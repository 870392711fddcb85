"""The figure of the non-Gaussian RG: σ²(x) across the pool and per-point errors against η."""

from __future__ import annotations

import numpy as np

from wilsonian.plots.core import figure


def nongaussian_figure(report):
    """From a :class:`wilsonian.theory.nongaussian.NonGaussianReport`: σ²(x) sorted over the
    pool for a few η (dotted: the Gaussian σ_eff²), and the per-point errors of each theory
    (the Gaussian RG, the per-point reweighted RG and, when computed, the conditional (A, B)
    RG) against the exact average predictor, with the draw-noise floor."""
    from matplotlib import colormaps

    fig = figure(11, 4.2)
    axes = fig.subplots(1, 2)
    # η where every mode is kept have the bare, constant ridge: nothing to show
    informative = np.flatnonzero(report.cutoff < report.ridge_x.shape[1])
    if informative.size == 0:
        informative = np.arange(report.eta.size)
    picks = informative[np.unique(np.linspace(0, informative.size - 1, min(4, informative.size)).round().astype(int))]
    colors = colormaps["viridis"](np.linspace(0, 1, report.eta.size))
    for i in picks:
        values = np.sort(report.ridge_x[i])
        axes[0].semilogy(np.linspace(0, 1, values.size), values, color=colors[i],
                         label=f"η = {int(report.eta[i])}, κ* = {int(report.cutoff[i])}")
        axes[0].axhline(report.renormalized_ridge[i], color=colors[i], ls=":", lw=1)
    axes[0].set_xlabel("fraction of pool points (sorted)")
    axes[0].set_ylabel("σ²(x) = σ² + C_>(x)")
    axes[0].set_title("input-dependent ridge (dotted: Gaussian σ_eff²)")
    axes[0].legend(fontsize=8)
    axes[0].grid(True, which="both", alpha=0.3)
    eta = report.eta
    axes[1].loglog(eta, report.mse_gaussian, "o-", color="tab:red", label="Gaussian RG (all modes)")
    axes[1].loglog(eta, report.mse_gaussian_kept, "s--", color="tab:orange", label="Gaussian RG (kept modes)")
    axes[1].loglog(eta, report.mse_nongaussian, "^-", color="tab:purple", label="non-Gaussian RG (reweighted)")
    if getattr(report, "mse_conditional", None) is not None:
        axes[1].loglog(eta, report.mse_conditional, "v-", color="tab:green", label="conditional (A, B) RG")
        axes[1].loglog(eta, report.mse_conditional_ridge_only, "x:", color="tab:olive",
                       label="conditional, ridge σ²_AB only (full target)")
    axes[1].loglog(eta, report.noise_floor, ":", color="k", label="draw-noise floor")
    axes[1].set_xlabel("η")
    axes[1].set_ylabel("⟨(f̄_theory − f̄_empirical)²⟩ over the pool")
    axes[1].set_title("per-point prediction error of the average predictor")
    axes[1].legend(fontsize=8)
    axes[1].grid(True, which="both", alpha=0.3)
    return fig
