"""The summary figures of a sweep: theory/data ratios over (grid point, η), and the
renormalized ridge σ_eff²(η) and spectral-bias κ(η) of every grid point on one plot."""

from __future__ import annotations

import numpy as np

from wilsonian.plots.core import DEGENERATE_LABEL, degenerate_rg, figure, mark_degenerate, positive, tidy_log_axis

THEORIES = (("spectral_bias", "spectral bias"), ("rg", "RG (paper)"), ("rg_fluct", "RG-fluct"))


def _label(point: dict) -> str:
    return ", ".join(f"{k.replace('_', ' ')}={v:g}" if isinstance(v, float) else f"{k.replace('_', ' ')}={v}"
                     for k, v in point.items())


def sweep_ratio_figure(rows: list[dict], *, title: str = ""):
    """Heat maps of log10(theory/empirical) for each theory: a row per grid point, a column
    per η (blue: the theory is low, red: high; grey: undefined, e.g. RG-fluct where γ ≥ 1;
    grey with ×: the RG is degenerate there, no mode below T)."""
    from matplotlib import colormaps

    eta = np.asarray(rows[0]["table"]["eta"], dtype=float)
    labels = [_label(r["point"]) for r in rows]
    fig = figure(4.2 * len(THEORIES) + 1.5, 1.2 + 0.32 * len(rows))
    axes = fig.subplots(1, len(THEORIES), sharey=True)
    cmap = colormaps["RdBu_r"].with_extremes(bad="0.8")
    image = None
    for ax, (name, title_t) in zip(np.atleast_1d(axes), THEORIES):
        ratio = np.array([np.asarray(r["table"][name], dtype=float) / np.asarray(r["table"]["empirical_mean"], dtype=float)
                          for r in rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.log10(ratio)
        degenerate = np.array([degenerate_rg(r["table"]) for r in rows])
        if name in ("rg", "rg_fluct"):
            values = np.where(degenerate, np.nan, values)
        values = np.ma.masked_invalid(values)
        image = ax.imshow(values, aspect="auto", cmap=cmap, vmin=-0.5, vmax=0.5, interpolation="nearest")
        if name in ("rg", "rg_fluct"):
            for i, j in zip(*np.nonzero(degenerate)):
                ax.text(j, i, "×", ha="center", va="center", fontsize=8, color="0.3")
        ax.set_xticks(range(eta.size), [f"{e:g}" for e in eta], rotation=90, fontsize=7)
        ax.set_xlabel("η")
        ax.set_title(title_t, fontsize=9)
    np.atleast_1d(axes)[0].set_yticks(range(len(rows)), labels, fontsize=7)
    fig.colorbar(image, ax=axes, label="log10(theory / empirical)", shrink=0.9)
    if any(degenerate_rg(r["table"]).any() for r in rows):
        title = f"{title}   (×: {DEGENERATE_LABEL})" if title else f"×: {DEGENERATE_LABEL}"
    fig.suptitle(title, fontsize=10)
    return fig


def _bare_ridge(row: dict) -> float:
    """The bare σ² of a grid point: where the RG is degenerate, σ_eff² is exactly σ²."""
    degenerate = degenerate_rg(row["table"])
    return float(np.asarray(row["table"]["rg_ridge"], dtype=float)[degenerate][0]) if degenerate.any() else np.nan


def sweep_flow_figure(rows: list[dict], *, title: str = ""):
    """σ_eff²(η) of the RG and κ(η) of spectral bias for every grid point."""
    from matplotlib import colormaps

    colors = colormaps["viridis"](np.linspace(0, 0.9, len(rows)))
    fig = figure(11, 4.4)
    axes = fig.subplots(1, 2)
    for color, row in zip(colors, rows):
        eta = np.asarray(row["table"]["eta"], dtype=float)
        label = _label(row["point"])
        degenerate = degenerate_rg(row["table"])
        axes[0].loglog(eta, np.where(degenerate, np.nan, positive(row["table"]["rg_ridge"])), "o-", ms=3,
                       color=color, label=label)
        mark_degenerate(axes[0], eta, degenerate, _bare_ridge(row), color=color, label=None)
        axes[1].loglog(eta, positive(row["table"]["spectral_bias_kappa"]), "s--", ms=3, color=color, label=label)
    for ax, name in zip(axes, ("σ_eff²(η), the RG's renormalized ridge", "κ(η), spectral bias")):
        ax.set_xlabel("η (training points)")
        ax.set_title(name, fontsize=9)
        tidy_log_axis(ax)
    if any(degenerate_rg(r["table"]).any() for r in rows):
        axes[0].plot([], [], "x", color="0.3", label=DEGENERATE_LABEL.replace("RG degenerate", "degenerate"))
        axes[0].legend(fontsize=6)
    axes[1].legend(fontsize=6, ncols=2 if len(rows) > 8 else 1)
    fig.suptitle(title, fontsize=10)
    return fig
