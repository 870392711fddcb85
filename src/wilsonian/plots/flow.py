"""The figure of the soft Wilsonian flow: from the sharp cutoff to the spectral-bias κ."""

from __future__ import annotations

import numpy as np

from wilsonian.plots.core import DEGENERATE_LABEL, degenerate_rg, figure, mark_degenerate, positive, tidy_log_axis

#: Stages of the flow drawn on the learning curve (besides the fixed point).
_STAGES = (0, 1, 2, 5)


def soft_flow_figure(flow, lc: dict | None = None, *, label: str = ""):
    """From a :class:`wilsonian.theory.flow.SoftFlow` (and the run's learning-curve table).

    Left: σ²_n/κ against the step n, one line per η: the flow is monotone and ends at κ.
    Middle: the distance |σ²_n − κ|/κ on a log axis with the linearization γ(κ)ⁿ (dotted):
    the rate is the derivative of the fixed-point map, G'(κ) = γ. Right: the error at a few
    stages, E_n/(1 − γ_n) (stage 0 = RG-fluct, the limit = E_SB) and E_n (stage 0 = E_RG),
    against the empirical curve.

    Where the sharp cutoff is degenerate (``lc["rg_all_learnable"]``: no mode below T, so
    σ²_0 = σ² and E_0 = EK), stage 0 is not the RG and is not drawn, as in every figure of a
    run: its σ²_0 is an × on the left, the distance is drawn from step 1, and the stage-0
    errors stop there (× on the η axis). The flow from that start to κ is drawn.
    """
    from matplotlib import colormaps

    eta = np.asarray(flow.eta, dtype=float)
    kappa = np.where(flow.fixed_point > 0, flow.fixed_point, np.nan)
    steps = np.arange(flow.ridge_path.shape[0])
    colors = colormaps["viridis"](np.linspace(0, 0.95, eta.size))
    degenerate = (degenerate_rg(lc) if lc is not None and flow.start == "sharp" and np.size(lc["eta"]) == eta.size
                  else np.zeros(eta.size, dtype=bool))
    fig = figure(16.5, 4.6)
    axes = fig.subplots(1, 3)
    for i in range(eta.size):
        first = int(degenerate[i])  # a degenerate σ²_0 is marked, the flow drawn from step 1
        ratio = positive(flow.ridge_path[:, i] / kappa[i])
        axes[0].semilogy(steps[first:], ratio[first:], "o-", ms=2.5, lw=1, color=colors[i],
                         label=f"η = {eta[i]:g}" if i in (0, eta.size - 1) else None)
        if degenerate[i]:
            axes[0].semilogy(steps[:1], ratio[:1], "x", ms=7, color=colors[i])
        distance = np.abs(flow.ridge_path[:, i] - flow.fixed_point[i]) / kappa[i]
        axes[1].semilogy(steps[first:], positive(distance[first:]), "-", lw=1.2, color=colors[i])
        if 0 < flow.gamma[i] < 1 and first < steps.size and distance[first] > 0:
            axes[1].semilogy(steps[first:], distance[first] * flow.gamma[i] ** (steps[first:] - first), ":", lw=1,
                             color=colors[i])
    axes[0].axhline(1.0, color="k", lw=1, ls="--")
    axes[0].set_xlabel("flow step n")
    axes[0].set_ylabel("σ²_n / κ")
    axes[0].set_title(f"soft flow from the {flow.start} start (T = {flow.threshold:g})", fontsize=10)
    if degenerate.any():
        axes[0].plot([], [], "x", color="0.3", label="σ²_0 = σ²: " + DEGENERATE_LABEL.replace(", not drawn", ""))
    axes[0].legend(fontsize=8)
    tidy_log_axis(axes[0])
    axes[1].set_xlabel("flow step n")
    axes[1].set_ylabel("|σ²_n − κ| / κ")
    axes[1].set_title("distance to the fixed point; dotted: γ(κ)ⁿ", fontsize=10)
    axes[1].set_ylim(bottom=max(1e-16, np.nanmin(positive(np.abs(flow.ridge_path - flow.fixed_point) / kappa))))
    tidy_log_axis(axes[1])

    ax = axes[2]
    if lc is not None:
        ax.errorbar(np.asarray(lc["eta"], dtype=float), lc["empirical_mean"],
                    yerr=np.asarray(lc["empirical_sem"], dtype=float), fmt="o", color="k", ms=5, capsize=3,
                    label="empirical (exact GP)", zorder=5)
    shades = colormaps["autumn"](np.linspace(0, 0.8, len(_STAGES)))
    for shade, n in zip(shades, _STAGES):
        if n < steps.size:
            values = positive(flow.error_fluct_path[n])
            ax.plot(eta, np.where(degenerate, np.nan, values) if n == 0 else values, "-", lw=1.2, color=shade,
                    label=f"E_n/(1−γ_n), n = {n}" + (" (RG-fluct)" if n == 0 and flow.start == "sharp" else ""))
    ax.plot(eta, np.where(degenerate, np.nan, positive(flow.error_path[0])), "--", lw=1.2, color="tab:red",
            label="E_0 (the RG, no factor)")
    if lc is not None:
        mark_degenerate(ax, eta, degenerate, np.nanmin(positive(lc["empirical_mean"])) / 3, color="tab:red")
    ax.plot(eta, positive(flow.error), ":", lw=1.5, color="tab:gray", label="E_EK(κ) (fixed point, no factor)")
    ax.plot(eta, positive(flow.error_fluct), "-", lw=2, color="tab:blue", label="fixed point: E_EK(κ)/(1−γ) = E_SB")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("η (training points)")
    ax.set_ylabel("test MSE on the pool")
    ax.set_title("the error along the flow", fontsize=10)
    ax.legend(fontsize=7)
    tidy_log_axis(ax)
    fig.suptitle(label, fontsize=9)
    return fig
