"""Figures of the feature-mode statistics (paper Figs. 2 and 5; :mod:`wilsonian.mode_stats`).

``phi`` is the (N, K) array of eigenfunctions on the pool; modes are 1-based, as in the paper.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

from wilsonian.errors import WilsonianError
from wilsonian.mode_stats import ModeStatistics, _as_modes, _as_pairs, _as_phi, _check_finite, mode_statistics
from wilsonian.plots.core import figure as _figure
from wilsonian.plots.core import fixed_margins, light_log_ticks, signed, subscript


def _gauss_pdf(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    z = (x - mean) / std
    return np.exp(-0.5 * z * z) / (math.sqrt(2.0 * math.pi) * std)


def _cauchy_pdf(x: np.ndarray, loc: float, scale: float) -> np.ndarray:
    z = (x - loc) / scale
    return 1.0 / (math.pi * scale * (1.0 + z * z))


def _view_range(values: np.ndarray) -> tuple[float, float]:
    """Axis range: median ± 3 IQR, clipped to the data.

    That is ±4σ for a Gaussian and ±6γ for a Cauchy law, so both a Gaussian bulk and a
    Cauchy peak stay readable; quantile ranges would be swamped by Cauchy tails.
    """
    low_q, median, high_q = np.quantile(values, [0.25, 0.5, 0.75])
    half_width = 3.0 * (high_q - low_q)
    low = max(float(values.min()), float(median - half_width))
    high = min(float(values.max()), float(median + half_width))
    if not high > low:  # (nearly) constant values
        low, high = float(values.min()) - 0.5, float(values.max()) + 0.5
    return low, high


def _density_histogram(axis, values: np.ndarray, bins: int, value_range, orientation="vertical"):
    """Histogram normalized by all N points (not only those in range), as a density."""
    counts, edges = np.histogram(values, bins=bins, range=value_range)
    density = counts / (values.size * np.diff(edges))
    axis.stairs(
        density, edges, fill=True, alpha=0.45, color="tab:blue", orientation=orientation,
        label="data",
    )
    return edges


def joint_pairs_figure(
    phi: Any,
    pairs: Sequence[tuple[int, int]],
    *,
    title: str | None = None,
    gridsize: int = 50,
):
    """Joint distributions of mode pairs with Gaussian-fitted marginals (paper Fig. 2).

    For each pair (k1, k2) one panel group: a log-density hexbin of (φ_k1, φ_k2) with the
    1σ and 2σ ellipses of the bivariate Gaussian fit, and the marginal histograms (top: φ_k1,
    right: φ_k2) with their Gaussian MLE densities. Axes show the median ± 3 IQR.

    Parameters
    ----------
    phi : array_like, shape (N, K)
        Eigenfunctions on the pool (see the module docstring).
    pairs : sequence of (int, int)
        1-based mode pairs (k1 ≠ k2).
    title : str, optional
        Figure title.
    gridsize : int
        Hexagons across the x-axis.

    Returns
    -------
    matplotlib.figure.Figure (save it with :func:`wilsonian.plots.save_figure`)
    """
    array = _as_phi(phi, check_finite=False)
    pair_labels = _as_pairs(pairs, array.shape[1])
    _check_finite(array[:, np.unique(pair_labels) - 1])
    n_pairs = pair_labels.shape[0]
    figure = _figure(4.2 * n_pairs, 4.4)
    fixed_margins(figure, left=0.7, right=0.15, bottom=0.55, top=0.6, wspace=0.85, ncols=n_pairs)
    outer = figure.add_gridspec(1, n_pairs)
    angles = np.linspace(0.0, 2.0 * np.pi, 200)
    circle = np.stack([np.cos(angles), np.sin(angles)])
    for index, (k1, k2) in enumerate(pair_labels):
        x, y = array[:, k1 - 1], array[:, k2 - 1]
        grid = outer[index].subgridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4),
                                        wspace=0.1, hspace=0.1)
        joint = figure.add_subplot(grid[1, 0])
        top = figure.add_subplot(grid[0, 0], sharex=joint)
        right = figure.add_subplot(grid[1, 1], sharey=joint)
        x_range, y_range = _view_range(x), _view_range(y)
        joint.hexbin(
            x, y, gridsize=gridsize, bins="log", mincnt=1, cmap="viridis",
            extent=(*x_range, *y_range),
        )
        # Bivariate Gaussian fit (plug-in mean and covariance): its 1σ and 2σ contours.
        mean = np.array([x.mean(), y.mean()])
        cov = np.cov(np.stack([x, y]), bias=True)
        eigval, eigvec = np.linalg.eigh(cov)
        ellipse = eigvec @ (np.sqrt(np.clip(eigval, 0.0, None))[:, None] * circle)
        for n_sigma, style in ((1, "-"), (2, "--")):
            joint.plot(
                mean[0] + n_sigma * ellipse[0], mean[1] + n_sigma * ellipse[1],
                color="tab:red", linestyle=style, linewidth=1.0,
                label=f"Gaussian fit {n_sigma}σ",
            )
        joint.set_xlim(x_range)
        joint.set_ylim(y_range)
        # At most five x ticks, none in the last 8 % of the axis: a mode close to a constant
        # (φ₁ ≈ −1 ± 0.05 on the digits) has long tick labels, which ran into each other and
        # into the right marginal's.
        width = x_range[1] - x_range[0]
        joint.set_xticks([t for t in MaxNLocator(nbins=4).tick_values(*x_range)
                          if x_range[0] <= t <= x_range[1] - 0.08 * width])
        joint.set_xlabel(f"φ{subscript(k1)}")
        joint.set_ylabel(f"φ{subscript(k2)}")
        joint.legend(loc="upper right", fontsize="x-small")

        for axis, values, value_range, orientation in (
            (top, x, x_range, "vertical"),
            (right, y, y_range, "horizontal"),
        ):
            _density_histogram(axis, values, 60, value_range, orientation)
            grid_values = np.linspace(*value_range, 300)
            pdf = _gauss_pdf(grid_values, values.mean(), values.std())
            if orientation == "vertical":
                axis.plot(grid_values, pdf, color="tab:red", linewidth=1.2)
                axis.tick_params(labelbottom=False)
            else:
                axis.plot(pdf, grid_values, color="tab:red", linewidth=1.2)
                axis.tick_params(labelleft=False)
        top.set_title(f"modes k = {k1}, {k2}", fontsize="medium")
    if title:
        figure.suptitle(title)
    return figure


def gauss_vs_cauchy_figure(stats: ModeStatistics, *, title: str | None = None):
    """Gaussian versus Cauchy description of the modes against k (paper App., Fig. 5).

    Three panels against the 1-based mode index k (log axis): the mean log-likelihood
    difference (Cauchy − Gauss; above 0 the Cauchy law fits better), the KS distances to
    both fits, and the excess kurtosis (symlog axis). Horizontal lines mark 0.

    Parameters
    ----------
    stats : ModeStatistics
        Output of :func:`wilsonian.mode_stats.mode_statistics`.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure (save it with :func:`wilsonian.plots.save_figure`)
    """
    if not isinstance(stats, ModeStatistics):
        raise WilsonianError(
            f"stats must be a ModeStatistics (from mode_statistics()), got {type(stats).__name__}."
        )
    if len(stats) == 0:
        raise WilsonianError("stats holds no modes; run mode_statistics() on at least one mode.")
    order = np.argsort(stats.mode)
    k = stats.mode[order]
    figure = _figure(6.4, 7.2)
    fixed_margins(figure, left=1.0, right=0.15, bottom=0.55, top=0.45, hspace=0.15, nrows=3)
    axes = figure.subplots(3, 1, sharex=True)

    difference = stats.loglik_difference[order]
    axes[0].plot(k, difference, marker=".", linewidth=0.8, color="tab:purple")
    axes[0].axhline(0.0, color="black", linewidth=1.0)
    axes[0].set_ylabel("mean log-lik.\nCauchy − Gauss")
    axes[0].text(
        0.01, 0.97, "above 0: Cauchy preferred", transform=axes[0].transAxes,
        va="top", fontsize="small",
    )

    axes[1].plot(k, stats.ks_gauss[order], marker=".", linewidth=0.8, label="Gaussian fit")
    axes[1].plot(k, stats.ks_cauchy[order], marker=".", linewidth=0.8, label="Cauchy fit")
    axes[1].axhline(0.0, color="black", linewidth=1.0)
    axes[1].set_ylabel("KS distance")
    axes[1].legend(fontsize="small")

    axes[2].plot(k, stats.excess_kurtosis[order], marker=".", linewidth=0.8, color="tab:green")
    axes[2].axhline(0.0, color="black", linewidth=1.0)
    axes[2].set_yscale("symlog", linthresh=1.0)
    # Excess kurtosis is ≥ −2 for every law: no need for the negative decades.
    axes[2].set_ylim(-2.5, max(10.0, 2.0 * float(np.max(stats.excess_kurtosis))))
    axes[2].set_ylabel("excess kurtosis")
    axes[2].set_xlabel("mode index k")
    axes[2].set_xscale("log")
    light_log_ticks(axes[2])
    if title:
        figure.suptitle(title)
    return figure


def marginals_figure(
    phi: Any,
    modes: Sequence[int] | np.ndarray,
    *,
    title: str | None = None,
    bins: int = 80,
    columns: int = 4,
):
    """Marginal histograms of chosen modes with the Gaussian and Cauchy MLE densities (Fig. 5).

    Histograms are densities normalized by all N points; the axis shows the median ± 3 IQR.
    Each panel's title gives k and the mean log-likelihood difference Δℓ = Cauchy − Gauss.

    Parameters
    ----------
    phi : array_like, shape (N, K)
        Eigenfunctions on the pool (see the module docstring).
    modes : sequence of int
        1-based mode indices, one panel each.
    title : str, optional
        Figure title.
    bins : int
        Histogram bins over the displayed range.
    columns : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure (save it with :func:`wilsonian.plots.save_figure`)
    """
    array = _as_phi(phi, check_finite=False)  # mode_statistics checks the modes shown
    labels = _as_modes(modes, array.shape[1])
    if int(bins) != bins or bins < 1 or int(columns) != columns or columns < 1:
        raise WilsonianError("bins and columns must be positive integers.")
    stats = mode_statistics(array, labels)
    n_cols = min(int(columns), labels.size)
    n_rows = math.ceil(labels.size / n_cols)
    figure = _figure(3.2 * n_cols, 2.8 * n_rows)
    fixed_margins(figure, left=0.5, right=0.15, bottom=0.55, top=0.6 if title else 0.35,
                  wspace=0.45, hspace=0.8, ncols=n_cols, nrows=n_rows)
    axes = np.atleast_1d(figure.subplots(n_rows, n_cols, squeeze=False)).ravel()
    for index, label in enumerate(labels):
        axis = axes[index]
        values = array[:, label - 1]
        value_range = _view_range(values)
        _density_histogram(axis, values, int(bins), value_range)
        grid_values = np.linspace(*value_range, 400)
        axis.plot(
            grid_values,
            _gauss_pdf(grid_values, stats.gauss_mean[index], stats.gauss_std[index]),
            color="tab:red", linewidth=1.2, label="Gaussian MLE",
        )
        axis.plot(
            grid_values,
            _cauchy_pdf(grid_values, stats.cauchy_loc[index], stats.cauchy_scale[index]),
            color="tab:green", linewidth=1.2, linestyle="--", label="Cauchy MLE",
        )
        axis.set_title(
            f"k = {label}, Δℓ = {signed(stats.loglik_difference[index], '+.3f')}",
            fontsize="medium",
        )
        axis.set_xlabel(f"φ{subscript(label)}")
    for axis in axes[labels.size :]:
        axis.set_visible(False)
    axes[0].legend(fontsize="x-small")
    if title:
        figure.suptitle(title)
    return figure
