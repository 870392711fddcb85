"""Kernel families: what a network's infinite-width limit computes on pairs of inputs.

- :mod:`~wilsonian.kernels.fully_connected`: NNGP and NTK of deep fully connected networks
  (THEORY.md §2), tiled, symmetric, threaded.

A kernel is anything with ``matrix(X1, X2=None, *, out=None, tile=None, progress=False)``,
``diagonal(X)`` and ``as_dict()`` (its provenance and cache key), as :class:`KernelSpec` has:
the operators of :mod:`wilsonian.operators` ask nothing else of it.
"""

from wilsonian.kernels.fully_connected import ACTIVATIONS, KINDS, KernelSpec, kernel_diagonal, nngp, ntk

__all__ = ["ACTIVATIONS", "KINDS", "KernelSpec", "kernel_diagonal", "nngp", "ntk"]
