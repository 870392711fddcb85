"""The content of ``toy.json``: theory and Monte Carlo of the Hermite toy for several λ_>.

The Monte Carlo is :mod:`wilsonian.toy.montecarlo` (one set of draws for every λ_>), the
theories :mod:`wilsonian.toy.model`; this module puts them side by side with z-scores.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from wilsonian.errors import WilsonianError
from wilsonian.toy.model import ToyParams, _as_float, _as_int, conditional_slope, reweighted_slope, standard_slope
from wilsonian.toy.montecarlo import DEFAULT_CHUNK, PAPER_TRIALS, monte_carlo_models

__all__ = ["CONDITIONAL_MODELS", "toy_results"]


def _ratio(value: float, scale: float) -> float:
    """value/scale as a z-score; NaN where the standard error is 0 or undefined."""
    return value / scale if scale > 0 else math.nan


#: (B degree, A degree) of the conditional (A, B) RG reported by :func:`toy_results`.
CONDITIONAL_MODELS = ((2, 3), (2, 5), (4, 5))


def _conditional_slopes(common: dict) -> dict:
    """The conditional (A, B) RG's slope per model "B{p}_A{q}" (NaN where σ²_AB < 0)."""
    out = {}
    for p_b, q_a in CONDITIONAL_MODELS:
        try:
            out[f"B{p_b}_A{q_a}"] = conditional_slope(ridge_degree=p_b, target_degree=q_a, **common)
        except WilsonianError:
            out[f"B{p_b}_A{q_a}"] = math.nan
    return out


def toy_results(
    *,
    lambda_highs: Sequence[float] = (0.0, 0.1),
    trials: int = PAPER_TRIALS,
    lambda1: float = 1.0,
    ridge: float = 400.0,
    n: int = 100,
    degree: int = 5,
    seed: int = 0,
    chunk: int = DEFAULT_CHUNK,
    workers: int | None = None,
    progress: bool = False,
    grid: Sequence[float] | None = None,
) -> dict:
    """Theory and Monte Carlo for several λ_>: the content of ``toy.json``.

    Every λ_> uses the same ``seed`` (common random numbers: the same training inputs), so
    differences between λ_> values are less noisy than the individual results.

    Parameters
    ----------
    lambda_highs : sequence of float
        Values of λ_> (paper: 0 and 0.1).
    grid : sequence of float, optional
        Inputs x at which the average predictor is tabulated (default: 13 points in [−3, 3]).
    trials, lambda1, ridge, n, degree, seed, chunk, workers, progress
        As in :func:`monte_carlo`.

    Returns
    -------
    dict
        ``{"model", "params", "grid", "results": [...]}``; each result has ``lambda_high``,
        ``theory_slope`` (reweighting), ``standard_slope``, ``mc_slope``, ``mc_slope_se``
        (plain average, as in the paper), ``z_theory`` = (mc − theory)/se,
        ``z_zero`` = mc/se, ``cv_slope``, ``cv_slope_se`` (control-variate estimate),
        ``cv_ratio`` = cv_slope/theory_slope (NaN when the theory is 0), ``mc_mean``
        (c̄_1, c̄_2), ``mc_se``, ``mc_covariance`` (per trial), and on the grid
        ``predictor_mean``, ``predictor_se`` and ``theory_predictor``.
    """
    values = [_as_float("lambda_high", v, positive=False) for v in lambda_highs]
    if not values:
        raise WilsonianError("lambda_highs must contain at least one value")
    x = np.linspace(-3.0, 3.0, 13) if grid is None else np.asarray(grid, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise WilsonianError("grid must be a non-empty 1-D sequence of finite numbers")
    models = [ToyParams(lambda1, value, ridge, n, degree) for value in values]
    # One set of draws for every λ_> (common random numbers): the same numbers as separate runs.
    runs = monte_carlo_models(models, trials, seed, chunk, workers, progress)
    entries = []
    for value, mc in zip(values, runs):
        common = dict(lambda1=lambda1, lambda_high=value, ridge=ridge, n=n, degree=degree)
        theory = reweighted_slope(**common)
        mean, se = mc.predictor(x)
        entries.append(
            {
                "lambda_high": value,
                "theory_slope": theory,
                "standard_slope": standard_slope(**common),
                "mc_slope": mc.slope,
                "mc_slope_se": mc.slope_se,
                "z_theory": _ratio(mc.slope - theory, mc.slope_se),
                "z_zero": _ratio(mc.slope, mc.slope_se),
                "cv_slope": mc.cv_slope,
                "cv_slope_se": mc.cv_slope_se,
                "cv_ratio": mc.cv_slope / theory if theory != 0.0 else math.nan,
                "mc_mean": mc.mean,
                "mc_se": mc.se,
                "mc_covariance": mc.covariance,
                "predictor_mean": mean,
                "predictor_se": se,
                "theory_predictor": theory * x,
                "conditional_slopes": _conditional_slopes(common),
            }
        )
    params = ToyParams(lambda1, values[0], ridge, n, degree).as_dict()
    del params["lambda_high"]
    params.update(trials=_as_int("trials", trials, 1), seed=seed, chunk=chunk)
    return {"model": "hermite-toy", "params": params, "grid": x, "results": entries}
