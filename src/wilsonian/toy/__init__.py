"""The Hermite toy model of the non-Gaussian RG (THEORY.md §5, paper Fig. 3).

- :mod:`~wilsonian.toy.model`: the model, its standard and reweighting theories.
- :mod:`~wilsonian.toy.montecarlo`: the seeded, compiled Monte Carlo of exact GP posterior
  means.
- :mod:`~wilsonian.toy.results`: :func:`toy_results`, the content of ``toy.json``.
- :mod:`~wilsonian.toy._kernels`: the compiled normals and power sums (numba).

The figure is :func:`wilsonian.plots.toy_figure`.
"""

from wilsonian.toy.model import (
    MAX_DEGREE,
    PAPER_PARAMS,
    ToyParams,
    conditional_moments,
    conditional_slope,
    features,
    hermite_target,
    reweighted_integrals,
    reweighted_slope,
    standard_slope,
    target_overlaps,
)
from wilsonian.toy.montecarlo import (
    BLOCK_TRIALS,
    DEFAULT_CHUNK,
    PAPER_TRIALS,
    ToyMonteCarlo,
    chunk_generator,
    chunk_inputs,
    monte_carlo,
    trial_coefficients,
)
from wilsonian.toy.results import toy_results

__all__ = [
    "BLOCK_TRIALS",
    "DEFAULT_CHUNK",
    "MAX_DEGREE",
    "PAPER_PARAMS",
    "PAPER_TRIALS",
    "ToyMonteCarlo",
    "ToyParams",
    "chunk_generator",
    "chunk_inputs",
    "conditional_moments",
    "conditional_slope",
    "features",
    "hermite_target",
    "monte_carlo",
    "reweighted_integrals",
    "reweighted_slope",
    "standard_slope",
    "target_overlaps",
    "toy_results",
    "trial_coefficients",
]
