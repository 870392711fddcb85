"""The one expensive operation every §4 theory needs: resolvent sums over the modes.

For each η_i with its ridge ρ_i (σ², σ_eff² or κ), the theories need sums of the form

    Σ_k a_k / (η_i λ_k + ρ_i)     and     Σ_k b_k / (η_i λ_k + ρ_i)²,

e.g. a = λ gives the spectral-bias equation, b = λ² gives γ/η and b = y² the error. With
t = ρ/η they are F(t)/η and G(t)/η² for F_w(t) = Σ w/(λ + t), G_w(t) = Σ w/(λ + t)², which
:class:`~wilsonian.theory._expansion.ResolventExpansion` evaluates in compiled code: from a
cluster expansion for many modes, directly for few.
"""

from __future__ import annotations

import numpy as np

from wilsonian.theory._expansion import ResolventExpansion

#: Weight columns of :func:`resolvent`: λ_k, λ_k² and y_k².
LAMBDA, LAMBDA2, POWER = 0, 1, 2

#: From this many modes on, sums go through the cluster expansion of
#: :mod:`wilsonian.theory._expansion` (≤ 1e-14 relative); below it, the direct sums are as
#: fast and exact.
EXPANSION_MIN_MODES = 512
#: Spectra with a positive eigenvalue below this use the direct sums, which handle them as
#: the pre-expansion code did: 1/(c + t)² at t = 0 would overflow for c ≲ 1e-154.
_EXPANSION_MIN_EIGENVALUE = 1e-150


class ResolventSums:
    """Σ_k w_k/(η λ_k + ρ) and Σ_k w_k/(η λ_k + ρ)² for fixed modes and weights, many (η, ρ).

    Parameters
    ----------
    eigenvalues : (M,) λ_k > 0, sorted descending
    weights : (M, W) weights, one column per weight

    With M ≥ :data:`EXPANSION_MIN_MODES` (and non-negative weights) the sums come from a
    cluster expansion built once here, so each (η, ρ) costs a few hundred operations instead
    of M; otherwise from the direct sums.
    """

    def __init__(self, eigenvalues: np.ndarray, weights: np.ndarray):
        exact = not (eigenvalues.size >= EXPANSION_MIN_MODES and eigenvalues[-1] > _EXPANSION_MIN_EIGENVALUE
                     and np.all(weights >= 0))
        self.expansion = ResolventExpansion(eigenvalues, weights, exact=exact)

    @property
    def exact(self) -> bool:
        return self.expansion.moments.shape[1] == 1

    def __call__(self, eta: np.ndarray, rho: np.ndarray, first=(), second=()) -> tuple[np.ndarray, np.ndarray]:
        """(Σ w/(ηλ+ρ) for the weight columns ``first``, Σ w/(ηλ+ρ)² for ``second``), (n, ·) each."""
        # Σ w/(ηλ + ρ) = F(ρ/η)/η and Σ w/(ηλ + ρ)² = G(ρ/η)/η².
        a, b = self.expansion(rho / eta, first, second)
        a /= eta[:, None]
        b /= np.square(eta)[:, None]
        return a, b


def resolvent(spectrum) -> ResolventSums:
    """The resolvent sums over a spectrum's positive modes with the weights every theory uses
    (columns :data:`LAMBDA`, :data:`LAMBDA2`, :data:`POWER`); built once per spectrum and
    shared by every theory evaluated on it."""

    def build() -> ResolventSums:
        lam, power, _ = spectrum.positive_part()
        return ResolventSums(lam, np.column_stack([lam, np.square(lam), power]))

    return spectrum.shared("resolvent", build)
