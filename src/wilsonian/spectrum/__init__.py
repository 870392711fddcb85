"""The kernel's eigensystem on the pool: the :class:`Spectrum` type and its solvers.

- :mod:`~wilsonian.spectrum.core`: :class:`Spectrum` (the one type every theory reads) and
  its constructors.
- :mod:`~wilsonian.spectrum.dense`: the dense eigensystem of an N × N kernel matrix
  (eigenvalues and projections without the eigenvector back-transformation).
- :mod:`~wilsonian.spectrum.krylov`: a block-Krylov eigensolver that needs only V ↦ K V.
- :mod:`~wilsonian.spectrum.solvers`: :class:`DenseSolver` and :class:`KrylovSolver`, which
  turn any kernel operator into a :class:`Spectrum`.
"""

from wilsonian.spectrum.core import (
    Spectrum,
    as_spectrum,
    power_law_spectrum,
    spectrum_from_eigenpairs,
    spectrum_from_kernel,
)
from wilsonian.spectrum.dense import Eigensystem, symmetric_eigensystem
from wilsonian.spectrum.solvers import (
    DenseSolver,
    KrylovSolver,
    spectrum_from_operator,
    topk_spectrum,
    topk_spectrum_dask,
)

__all__ = [
    "DenseSolver",
    "Eigensystem",
    "KrylovSolver",
    "Spectrum",
    "as_spectrum",
    "power_law_spectrum",
    "spectrum_from_eigenpairs",
    "spectrum_from_kernel",
    "spectrum_from_operator",
    "symmetric_eigensystem",
    "topk_spectrum",
    "topk_spectrum_dask",
]
