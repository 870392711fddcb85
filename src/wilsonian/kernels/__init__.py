"""Kernel families: what a network's infinite-width limit computes on pairs of inputs.

- :mod:`~wilsonian.kernels.fully_connected`: NNGP and NTK of deep fully connected networks
  (THEORY.md §2), tiled, symmetric, threaded, for any activation.
- :mod:`~wilsonian.kernels.activations`: the elementwise nonlinearities (closed forms, the
  Hermite series of any φ, :mod:`~wilsonian.kernels.hermite_series`, and Gauss–Hermite
  quadrature, :mod:`~wilsonian.kernels.quadrature`) and their parser.
- :mod:`~wilsonian.kernels.conv`: NNGP and NTK of convolutional networks on images
  (THEORY.md §7), flatten and global-average-pooling readouts.
- :mod:`~wilsonian.kernels.precomputed`: your own kernel, from a file or a Python function.

A kernel is anything with ``matrix(X1, X2=None, *, out=None, tile=None, progress=False)``,
``diagonal(X)`` and ``as_dict()`` (its provenance and cache key), as :class:`KernelSpec`,
:class:`ConvKernel` and :class:`CallableKernel` have: the operators of
:mod:`wilsonian.operators` ask nothing else of it.
"""

from wilsonian.kernels.activations import (Activation, activation, custom_activation, parse_activation,
                                           resolve_activation)
from wilsonian.kernels.conv import ConvKernel, conv_nngp, conv_ntk
from wilsonian.kernels.fully_connected import ACTIVATIONS, KINDS, KernelSpec, kernel_diagonal, nngp, ntk
from wilsonian.kernels.precomputed import CallableKernel, KernelFile, check_psd, load_kernel_file

__all__ = ["ACTIVATIONS", "Activation", "CallableKernel", "ConvKernel", "KINDS", "KernelFile", "KernelSpec",
           "activation", "check_psd", "conv_nngp", "conv_ntk", "custom_activation", "kernel_diagonal",
           "load_kernel_file", "nngp", "ntk", "parse_activation", "resolve_activation"]
