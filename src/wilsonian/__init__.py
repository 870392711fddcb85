"""wilsonian: the Wilsonian renormalization group of neural-network Gaussian processes.

Data → NNGP kernel → eigenmodes on the data → exact GP learning curves, and the theories
that predict them: the equivalence kernel, spectral bias, and the RG flow of the ridge.
The maths is in THEORY.md; conventions: eigenvalues are those of K/N, φ_k(x_i) = √N v_k(i),
y_k = v_kᵀy/√N.

The front door, for notebooks (``import wilsonian as wl``):

- data: :func:`build_pool`, :class:`Pool`
- kernels: :class:`KernelSpec`, :func:`nngp`, :func:`ntk`
- the kernel on the pool: :func:`kernel_operator`, :class:`DenseOperator`, :class:`TiledOperator`
- its spectrum: :func:`spectrum_from_operator` with :class:`DenseSolver` or
  :class:`KrylovSolver`; :class:`Spectrum`, :func:`spectrum_from_kernel`, :func:`power_law_spectrum`
- exact GP learning curves: :func:`learning_curve` (one ridge), :func:`learning_curves`
  (many ridges on the same draws), :func:`log_marginal_likelihood` (the evidence)
- every theory: :class:`Theory`
- whole runs: :class:`RunConfig`, :func:`run`; grids of runs: :func:`sweep`
- figures: :mod:`wilsonian.plots`

Names are imported on first use, so ``import wilsonian`` is quick.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from wilsonian.errors import WilsonianError  # noqa: E402

_EXPORTS = {
    "Pool": "wilsonian.data",
    "build_pool": "wilsonian.data",
    "KernelSpec": "wilsonian.kernels",
    "nngp": "wilsonian.kernels",
    "ntk": "wilsonian.kernels",
    "DenseOperator": "wilsonian.operators",
    "TiledOperator": "wilsonian.operators",
    "kernel_operator": "wilsonian.operators",
    "Spectrum": "wilsonian.spectrum",
    "DenseSolver": "wilsonian.spectrum",
    "KrylovSolver": "wilsonian.spectrum",
    "spectrum_from_operator": "wilsonian.spectrum",
    "spectrum_from_kernel": "wilsonian.spectrum",
    "power_law_spectrum": "wilsonian.spectrum",
    "learning_curve": "wilsonian.gp",
    "LearningCurve": "wilsonian.gp",
    "learning_curves": "wilsonian.gp",
    "log_marginal_likelihood": "wilsonian.gp",
    "Theory": "wilsonian.theory",
    "RunConfig": "wilsonian.app.config",
    "run": "wilsonian.app.run",
    "sweep": "wilsonian.app.sweep",
    "plots": "wilsonian.plots",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wilsonian' has no attribute {name!r}")
    if name == "plots":
        value = importlib.import_module(module)
    else:
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_EXPORTS])


__all__ = ["WilsonianError", "__version__", *_EXPORTS]
