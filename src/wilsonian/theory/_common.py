"""Input handling shared by the learning-curve theories."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from wilsonian.errors import WilsonianError
from wilsonian.spectrum import Spectrum


@dataclass(frozen=True)
class Modes:
    """Resolved modes plus what is known of the unresolved tail.

    ``tail_mass`` (Σ of unresolved λ) and ``tail_power`` (Σ of unresolved y_k²) are 0 for a
    full spectrum. The theories treat unresolved modes as unlearnable (λ → 0): their mass
    adds to the ridge and their power to the error. That is exact in the limit λ_k ≪ κ/η
    and is what the truncation bound of :mod:`wilsonian.theory.truncation` checks.
    """

    eigenvalues: np.ndarray
    coefficients: np.ndarray
    tail_mass: float = 0.0
    tail_power: float = 0.0
    #: Per-(ridge, threshold) tables shared by theories evaluated on these modes (not an init
    #: field: ``dataclasses.replace`` gives the copy an empty one).
    cache: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def n_positive(self) -> int:
        """Number of modes with λ_k > 0 (they come first: eigenvalues are sorted)."""
        return int(np.count_nonzero(self.eigenvalues > 0))

    def positive_part(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(λ_k > 0, their y_k², power that is never learned: zero modes plus the tail).

        A mode with λ_k = 0 adds nothing to any ridge or γ and keeps its full y_k² in the
        error, exactly like the unresolved tail.
        """
        m = self.n_positive
        power = np.square(self.coefficients)
        return self.eigenvalues[:m], power[:m], float(power[m:].sum()) + self.tail_power

    @cached_property
    def tail_sums(self) -> np.ndarray:
        """Σ_{j≥k} λ_j for k = 0..M (length M + 1), summed from the smallest λ up for accuracy."""
        return np.concatenate([np.cumsum(self.eigenvalues[::-1])[::-1], [0.0]])

    @cached_property
    def resolvent(self):
        """Resolvent sums over the positive modes with the weights every theory uses:
        columns :data:`LAMBDA` (λ_k), :data:`LAMBDA2` (λ_k²) and :data:`POWER` (y_k²).
        Built once per Modes, so theories evaluated on one Modes share it."""
        from wilsonian.theory._sums import ResolventSums

        lam, power, _ = self.positive_part()
        return ResolventSums(lam, np.column_stack([lam, np.square(lam), power]))


#: Weight columns of :attr:`Modes.resolvent`.
LAMBDA, LAMBDA2, POWER = 0, 1, 2


def as_modes(
    spectrum: Spectrum | np.ndarray,
    coefficients: np.ndarray | None = None,
    *,
    tail_mass: float = 0.0,
    tail_power: float = 0.0,
) -> Modes:
    """Accept a :class:`Spectrum`, a pair (eigenvalues, target coefficients), or Modes as they are."""
    if isinstance(spectrum, Modes):
        if coefficients is not None:
            raise WilsonianError("pass either Modes or (eigenvalues, coefficients), not both")
        return spectrum
    if isinstance(spectrum, Spectrum):
        if coefficients is not None:
            raise WilsonianError("pass either a Spectrum or (eigenvalues, coefficients), not both")
        return Modes(_frozen_copy(spectrum.eigenvalues), _frozen_copy(spectrum.target_coefficients),
                     spectrum.tail_mass, spectrum.tail_power)
    if coefficients is None:
        raise WilsonianError("target coefficients are required when eigenvalues are given as an array")
    lam = np.asarray(spectrum, dtype=np.float64)
    yk = np.asarray(coefficients, dtype=np.float64)
    if lam.ndim != 1 or lam.shape != yk.shape:
        raise WilsonianError(
            f"eigenvalues and coefficients must be 1-D of equal length, got {lam.shape} and {yk.shape}"
        )
    if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(yk))):
        raise WilsonianError("eigenvalues and coefficients must be finite")
    if np.any(lam < 0):
        raise WilsonianError("eigenvalues must be non-negative")
    if np.any(np.diff(lam) > 0):
        order = np.argsort(-lam, kind="stable")
        lam, yk = lam[order], yk[order]
    if tail_mass < 0 or tail_power < 0:
        raise WilsonianError("tail_mass and tail_power must be non-negative")
    return Modes(_frozen_copy(lam), _frozen_copy(yk), float(tail_mass), float(tail_power))


def _frozen_copy(values: np.ndarray) -> np.ndarray:
    """A read-only copy: Modes caches sums over its arrays, so they must not change under it."""
    copy = np.array(values, dtype=np.float64)
    copy.setflags(write=False)
    return copy


def prepare_modes(spectrum: Spectrum | np.ndarray, coefficients: np.ndarray | None = None) -> Modes:
    """The modes of a spectrum, to evaluate several theories on them at once.

    Every theory function accepts the result in place of the spectrum. Its resolvent sums
    (for M ≥ 512 modes, a cluster expansion whose set-up costs about as much as one pass
    over the modes) are then built once and shared, instead of once per theory.
    """
    return as_modes(spectrum, coefficients)


def as_etas(etas: np.ndarray | float) -> np.ndarray:
    """η as a 1-D float array; each η must be a finite number ≥ 1."""
    eta = np.atleast_1d(np.asarray(etas, dtype=np.float64))
    if eta.ndim != 1 or eta.size == 0:
        raise WilsonianError("eta must be a non-empty 1-D array of training-set sizes")
    if not np.all(np.isfinite(eta)) or np.any(eta < 1):
        raise WilsonianError(f"every eta (number of training points) must be ≥ 1, got min {eta.min()}")
    return eta


def check_ridge(ridge: float) -> float:
    ridge = float(ridge)
    if not np.isfinite(ridge) or ridge < 0:
        raise WilsonianError(f"the ridge σ² must be a finite number ≥ 0, got {ridge}")
    return ridge


def check_threshold(threshold: float) -> float:
    threshold = float(threshold)
    if not (0.0 < threshold < 1.0):
        raise WilsonianError(f"the learnability threshold T must lie strictly between 0 and 1, got {threshold}")
    return threshold
