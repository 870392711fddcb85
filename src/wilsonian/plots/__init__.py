"""Every figure of wilsonian, from result objects, and the savers.

Each ``*_figure`` function returns a :class:`matplotlib.figure.Figure` (a notebook shows it
as it is); :func:`save_figure` writes PNG and PDF atomically (:func:`save_figures` several
figures); the commands write PNG unless asked for PDF (:data:`COMMAND_FORMATS`).

- :mod:`~wilsonian.plots.core`: the figure, its fixed layout, the savers and shared styles.
- :mod:`~wilsonian.plots.formats`: the figure formats, without importing Matplotlib.
- :mod:`~wilsonian.plots.learning`: the figures of a run (learning curves, spectrum, RG
  flow, learnability) and :func:`run_figures`.
- :mod:`~wilsonian.plots.flow`: the soft flow from the sharp cutoff to κ.
- :mod:`~wilsonian.plots.nongaussian`: the input-dependent ridge and per-point errors.
- :mod:`~wilsonian.plots.paper`: Figs. 1 and 4 of the paper.
- :mod:`~wilsonian.plots.sweep`: the summary figures of a sweep.
- :mod:`~wilsonian.plots.modes`: feature-mode statistics (Figs. 2 and 5).
- :mod:`~wilsonian.plots.toy`: the Hermite toy model (Fig. 3).

Names are imported on first use: the formats do not import Matplotlib, and a figure
module loads only what it draws with.
"""

from __future__ import annotations

from wilsonian._lazy import lazy_exports

_EXPORTS = {
    "COMMAND_FORMATS": "wilsonian.plots.formats",
    "FORMATS": "wilsonian.plots.formats",
    "THEORY_STYLE": "wilsonian.plots.core",
    "check_formats": "wilsonian.plots.formats",
    "command_formats": "wilsonian.plots.formats",
    "figure": "wilsonian.plots.core",
    "fixed_margins": "wilsonian.plots.core",
    "save_figure": "wilsonian.plots.core",
    "save_figures": "wilsonian.plots.core",
    "learnability_figure": "wilsonian.plots.learning",
    "learning_curves_figure": "wilsonian.plots.learning",
    "plot_learning_curves": "wilsonian.plots.learning",
    "rg_flow_figure": "wilsonian.plots.learning",
    "run_figures": "wilsonian.plots.learning",
    "spectrum_figure": "wilsonian.plots.learning",
    "gauss_vs_cauchy_figure": "wilsonian.plots.modes",
    "joint_pairs_figure": "wilsonian.plots.modes",
    "marginals_figure": "wilsonian.plots.modes",
    "soft_flow_figure": "wilsonian.plots.flow",
    "nongaussian_figure": "wilsonian.plots.nongaussian",
    "fig1_figure": "wilsonian.plots.paper",
    "fig4_figure": "wilsonian.plots.paper",
    "sweep_flow_figure": "wilsonian.plots.sweep",
    "sweep_ratio_figure": "wilsonian.plots.sweep",
    "toy_figure": "wilsonian.plots.toy",
}


__getattr__, __dir__ = lazy_exports("wilsonian.plots", globals(), _EXPORTS)

__all__ = [*_EXPORTS]
