"""The figure of the Hermite toy model (paper Fig. 3) from :func:`wilsonian.toy.toy_results`."""

from __future__ import annotations

import math

import numpy as np

from wilsonian.errors import WilsonianError
from wilsonian.plots.core import figure, fixed_margins, subscript
from wilsonian.toy import conditional_slope, reweighted_slope

#: Colours of the λ_> series in :func:`plot_toy`; green is the standard theory's.
_SERIES_COLORS = ("tab:blue", "tab:red", "tab:purple", "tab:orange", "tab:brown", "tab:cyan")


def toy_figure(results: dict):
    """Figure 3 of the paper from :func:`wilsonian.toy.toy_results` output.

    Left: average predictor f̄(x) ± SE (Monte Carlo) for each λ_>, with the reweighting
    theory s·x (dashed) and the standard theory f̄ = 0 (green). Right: the slope c̄_1 ± SE
    against λ_> with the reweighting theory s(λ_>) as a curve, the conditional (A, B) RG with
    B truncated at degree 2 (≈ 0: the effect is B's He_4 part), plus the control-variate
    estimate of the same slope; the effect is small, and this panel shows it at the scale
    of its error bars.

    Returns
    -------
    matplotlib.figure.Figure (save it with :func:`wilsonian.plots.save_figure`)
    """
    try:
        x = np.asarray(results["grid"], dtype=np.float64)
        entries = list(results["results"])
        params = dict(results["params"])
        theory_params = {k: params[k] for k in ("lambda1", "ridge", "n", "degree")}
    except (KeyError, TypeError) as exc:
        raise WilsonianError(
            f"results must be the dict returned by toy_results (missing {exc})"
        ) from exc
    if not entries:
        raise WilsonianError(
            "results contain no lambda_high entries; run toy_results with at least one"
        )

    fig = figure(11, 4.3)
    fixed_margins(fig, left=0.8, right=0.15, bottom=0.6, top=0.35, wspace=1.0, ncols=2)
    left, right = fig.subplots(1, 2)
    spacing = float(np.ptp(x)) / max(x.size - 1, 1) or 1.0
    offsets = (np.arange(len(entries)) - (len(entries) - 1) / 2) * 0.08 * spacing
    fine = np.linspace(x.min(), x.max(), 200)
    standard = left.axhline(0.0, color="tab:green", lw=2)
    handles, labels = [standard], ["standard theory (EK, Gaussian RG)"]
    for i, entry in enumerate(entries):
        color = _SERIES_COLORS[i % len(_SERIES_COLORS)]
        lam = float(entry["lambda_high"])
        points = left.errorbar(
            x + offsets[i], entry["predictor_mean"], yerr=entry["predictor_se"], fmt="o",
            ms=3.5, capsize=2.5, color=color,
        )
        (line,) = left.plot(fine, float(entry["theory_slope"]) * fine, "--", color=color)
        handles.append((points, line))
        labels.append(f"λ_> = {lam:g}")
    left.set_xlabel("x")
    left.set_ylabel("average predictor f\u0304(x) (± SE)")  # f̄: combining macron
    left.set_title(
        f"target He{subscript(params['degree'])}, n={params['n']}, "
        f"σ²={params['ridge']:g}, m={int(params.get('trials', 0)):,} trials",
        fontsize=10,
    )
    # The predictors are lines through the origin: the legend goes in an empty quadrant, one
    # entry per λ_> (points and dashed line together).
    from matplotlib.legend_handler import HandlerTuple  # noqa: PLC0415

    falling = sum(float(e["theory_slope"]) for e in entries) <= 0
    left.legend(handles, labels, fontsize=7, loc="upper right" if falling else "upper left",
                handler_map={tuple: HandlerTuple(ndivide=None)}, title_fontsize=7,
                title="points: Monte Carlo ± SE\ndashed: reweighting theory")

    lams = np.array([float(e["lambda_high"]) for e in entries])
    dense = np.linspace(0.0, max(float(lams.max()), 0.1) * 1.05, 60)
    theory = [_curve_point(v, theory_params) for v in dense]
    right.axhline(0.0, color="tab:green", lw=2, label="standard theory")
    right.plot(dense, theory, "--", color="k", label="reweighting theory s(λ_>)")
    if theory_params["ridge"] > dense[-1]:  # the quadratic B model needs σ² > λ_>
        leading = [conditional_slope(lambda_high=v, ridge_degree=2, target_degree=max(3, params["degree"]),
                                     **theory_params) for v in dense]
        right.plot(dense, leading, ":", color="tab:purple", lw=2,
                   label="conditional (A, B) RG, B quadratic (seed's leading order)")
    right.errorbar(
        lams, [float(e["mc_slope"]) for e in entries],
        yerr=[float(e["mc_slope_se"]) for e in entries], fmt="o", color="tab:red", capsize=3,
        label="Monte Carlo slope c\u0304₁ ± SE",
    )
    if all("cv_slope" in e for e in entries):
        right.errorbar(
            lams + 0.01 * float(dense[-1]), [float(e["cv_slope"]) for e in entries],
            yerr=[float(e["cv_slope_se"]) for e in entries], fmt="s", mfc="none", ms=5,
            color="tab:blue", capsize=3, label="same, control-variate estimate ± SE",
        )
    right.set_xlabel("λ_>")
    right.set_ylabel("slope of f\u0304(x) (coefficient of x)")
    right.legend(fontsize=8)

    return fig


def _curve_point(lambda_high: float, theory_params: dict) -> float:
    """The reweighting theory's slope at one λ_> of the figure's curve, NaN where its
    quadrature does not converge (a ridge far below λ_>, e.g. σ² = 1e-300): the curve spans
    values the run never asked for, and a gap there must not fail the run."""
    try:
        return reweighted_slope(lambda_high=lambda_high, **theory_params)
    except WilsonianError:
        return math.nan
