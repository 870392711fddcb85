"""Checks at the boundary, written once: inputs, targets, ridge, threshold, sizes, integers.

Public functions and the command line call these on what a user hands in; everything behind
them trusts its arguments. Each raises :class:`~wilsonian.errors.WilsonianError` with a
message that names the value and says what would be accepted.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

from wilsonian.errors import WilsonianError


def as_inputs(X: Any, name: str = "X", *, min_rows: int = 1) -> np.ndarray:
    """``X`` as a finite, C-contiguous float64 (n, d) array with n ≥ ``min_rows``."""
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise WilsonianError(f"{name} could not be read as an array ({exc}); pass an (n, d) array.") from None
    if np.iscomplexobj(arr):
        raise WilsonianError(f"{name} is complex; pass a real (n, d) array.")
    if arr.dtype.kind not in "biuf":
        raise WilsonianError(f"{name} must hold real numbers, got dtype {arr.dtype}; pass a real (n, d) array.")
    if arr.ndim != 2:
        raise WilsonianError(
            f"{name} must be 2-D (n inputs × d features), got shape {arr.shape}; "
            "reshape it, e.g. X.reshape(len(X), -1).")
    if arr.shape[0] < max(min_rows, 1) or arr.shape[1] < 1:
        raise WilsonianError(
            f"{name} must have at least {max(min_rows, 1)} rows and one column, got shape {arr.shape}.")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise WilsonianError(f"{name} contains NaN or infinite values; clean or drop those inputs.")
    return arr


def as_targets(y: Any, n: int, name: str = "y") -> np.ndarray:
    """``y`` as a finite float64 array of shape (n,), or (n, C) for a target with C outputs."""
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf" or arr.ndim not in (1, 2) or arr.shape[0] != n or 0 in arr.shape:
        raise WilsonianError(f"{name} must be a real array of shape ({n},) or ({n}, C) matching the pool, "
                             f"got {arr.shape}.")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise WilsonianError(f"{name} contains NaN or infinite values; clean the targets.")
    return arr


def check_ridge(ridge: Any) -> float:
    """The GP ridge σ²: a finite number ≥ 0."""
    try:
        value = float(ridge)
    except (TypeError, ValueError):
        raise WilsonianError(f"the ridge σ² must be a finite number ≥ 0, got {ridge!r}") from None
    if not np.isfinite(value) or value < 0:
        raise WilsonianError(f"the ridge σ² must be a finite number ≥ 0, got {value}")
    return value


def check_threshold(threshold: Any) -> float:
    """The RG learnability threshold T, strictly between 0 and 1."""
    value = float(threshold)
    if not (0.0 < value < 1.0):
        raise WilsonianError(f"the learnability threshold T must lie strictly between 0 and 1, got {value}")
    return value


def check_noise(noise: Any) -> float:
    """A label-noise variance ε²: a finite number ≥ 0."""
    value = float(noise)
    if not np.isfinite(value) or value < 0:
        raise WilsonianError(f"the label-noise variance must be ≥ 0, got {value}")
    return value


def as_etas(etas: Any) -> np.ndarray:
    """η for the theories: a non-empty 1-D float array, each a finite number ≥ 1."""
    eta = np.atleast_1d(np.asarray(etas, dtype=np.float64))
    if eta.ndim != 1 or eta.size == 0:
        raise WilsonianError("eta must be a non-empty 1-D array of training-set sizes")
    if not np.all(np.isfinite(eta)) or np.any(eta < 1):
        raise WilsonianError(f"every eta (number of training points) must be ≥ 1, got min {eta.min()}")
    return eta


def check_etas(etas: Any, n_pool: int, *, replace: bool) -> np.ndarray:
    """Training-set sizes for exact GP draws: sorted unique ints in [1, N] (any size ≥ 1 with
    replacement)."""
    eta = np.atleast_1d(np.asarray(etas))
    if eta.size == 0 or eta.ndim != 1:
        raise WilsonianError("give at least one training-set size eta")
    if eta.dtype.kind not in "biuf" or not np.all(np.isfinite(eta.astype(float))) or np.any(eta != np.round(eta)):
        raise WilsonianError("training-set sizes eta must be whole numbers")
    if np.any(np.abs(eta.astype(float)) > np.iinfo(np.int64).max / 2):
        raise WilsonianError(f"training-set size eta = {eta.max():g} is far too large; eta ≤ N = {n_pool}")
    eta = np.unique(eta.astype(np.int64))
    if eta[0] < 1:
        raise WilsonianError(f"every eta must be ≥ 1, got {eta[0]}")
    if not replace and eta[-1] > n_pool:
        raise WilsonianError(f"eta = {eta[-1]} exceeds the pool size N = {n_pool}; lower it or draw with replacement")
    return eta


def check_int(value: Any, name: str, minimum: int, maximum: int | None = None) -> int:
    """An integer (not a bool) in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise WilsonianError(f"{name} must be an integer ≥ {minimum}, got {value!r}.")
    if maximum is not None and value > maximum:
        raise WilsonianError(f"{name} must be an integer ≤ {maximum}, got {value!r}.")
    return int(value)


def check_positive(value: Any, name: str) -> float:
    """A finite real number > 0 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not (math.isfinite(value) and value > 0):
        raise WilsonianError(f"{name} must be a finite number > 0, got {value!r}.")
    return float(value)


def check_tile(tile: Any) -> int | None:
    """Rows per tile: a positive integer, or None for the default."""
    if tile is not None and (isinstance(tile, bool) or not isinstance(tile, Integral) or tile < 1):
        raise WilsonianError(f"tile must be a positive number of rows or None, got {tile!r}.")
    return None if tile is None else int(tile)


#: Largest ridge, weight or bias variance accepted: beyond it squares of kernel-scale sums
#: overflow float64 (1e308) on the way to the learning-curve errors.
MAX_SCALE = 1e100


def physical_memory() -> int | None:
    """Bytes of physical memory on this machine, or None where it cannot be read."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation without swapping (Linux's MemAvailable:
    free memory plus the caches the kernel can drop), else the physical memory; None where
    neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return physical_memory()


def check_memory(nbytes: float, what: str, hint: str) -> None:
    """Refuse, before starting, work whose arrays alone would not fit in physical memory."""
    total = physical_memory()
    if total is not None and nbytes > 0.9 * total:
        raise WilsonianError(
            f"{what} needs about {nbytes / 2**30:.1f} GiB of memory, more than this machine has "
            f"({total / 2**30:.1f} GiB); {hint}")
