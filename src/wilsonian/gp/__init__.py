"""Exact GP regression and empirical learning curves (THEORY.md §3).

- :mod:`~wilsonian.gp.solve`: posterior means, solves for nested training sets, and the log
  marginal likelihood for many ridges and amplitudes at once.
- :mod:`~wilsonian.gp.curves`: empirical learning curves (test and train errors, evidence)
  over any kernel operator, at one ridge or many.
"""

from wilsonian._validation import check_etas
from wilsonian.gp.curves import LearningCurve, draw_order, label_noise, learning_curve, learning_curves
from wilsonian.gp.solve import (
    Posterior,
    eigen_weights,
    evidence_optimal_ridge,
    log_marginal_likelihood,
    nested_weights,
    posterior,
)

__all__ = [
    "LearningCurve",
    "Posterior",
    "check_etas",
    "draw_order",
    "eigen_weights",
    "evidence_optimal_ridge",
    "label_noise",
    "learning_curve",
    "learning_curves",
    "log_marginal_likelihood",
    "nested_weights",
    "posterior",
]
