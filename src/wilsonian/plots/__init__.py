"""Every figure of wilsonian, from result objects, and one saver.

Each ``*_figure`` function returns a :class:`matplotlib.figure.Figure` (a notebook shows it
as it is); :func:`save_figure` writes PNG and PDF atomically.

- :mod:`~wilsonian.plots.learning`: the figures of a run (learning curves, spectrum, RG
  flow, learnability) and :func:`run_figures`.
- :mod:`~wilsonian.plots.flow`: the soft flow from the sharp cutoff to κ.
- :mod:`~wilsonian.plots.nongaussian`: the input-dependent ridge and per-point errors.
- :mod:`~wilsonian.plots.paper`: Figs. 1 and 4 of the paper.
- :mod:`~wilsonian.plots.sweep`: the summary figures of a sweep.
- :mod:`~wilsonian.plots.modes`: feature-mode statistics (Figs. 2 and 5).
- :mod:`~wilsonian.plots.toy`: the Hermite toy model (Fig. 3).
"""

from wilsonian.plots.core import THEORY_STYLE, figure, save_figure
from wilsonian.plots.learning import (
    learnability_figure,
    learning_curves_figure,
    plot_learning_curves,
    rg_flow_figure,
    run_figures,
    spectrum_figure,
)
from wilsonian.plots.flow import soft_flow_figure
from wilsonian.plots.modes import gauss_vs_cauchy_figure, joint_pairs_figure, marginals_figure
from wilsonian.plots.nongaussian import nongaussian_figure
from wilsonian.plots.paper import fig1_figure, fig4_figure
from wilsonian.plots.sweep import sweep_flow_figure, sweep_ratio_figure
from wilsonian.plots.toy import toy_figure

__all__ = [
    "THEORY_STYLE",
    "fig1_figure",
    "fig4_figure",
    "figure",
    "gauss_vs_cauchy_figure",
    "joint_pairs_figure",
    "learnability_figure",
    "learning_curves_figure",
    "marginals_figure",
    "nongaussian_figure",
    "plot_learning_curves",
    "rg_flow_figure",
    "run_figures",
    "save_figure",
    "soft_flow_figure",
    "spectrum_figure",
    "sweep_flow_figure",
    "sweep_ratio_figure",
    "toy_figure",
]
