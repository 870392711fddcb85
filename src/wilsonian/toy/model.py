"""The Hermite toy model of THEORY.md §5 (paper, Fig. 3): closed form and Monte Carlo.

Model
-----
Inputs x ~ N(0, 1). The kernel has two modes,

    φ_1(x) = He_1(x) = x               with eigenvalue λ_1 (paper: 1),
    φ_2(x) = He_2(x)/√2 = (x² − 1)/√2  with eigenvalue λ_2 = λ_> (paper: 0.1),

so K(x, x') = λ_1 φ_1(x)φ_1(x') + λ_2 φ_2(x)φ_2(x'). Both modes are orthonormal under N(0, 1).
The target is the probabilists' Hermite polynomial y = He_D(x) (paper: D = 5,
He_5 = x⁵ − 10x³ + 15x), learned from n = η training points (paper: 100) with ridge σ²
(paper: 400). He_i are the polynomials of :mod:`numpy.polynomial.hermite_e`, ⟨He_i He_j⟩ = i! δ_ij.

Theories (THEORY.md §5, "Toy model")
------------------------------------
* Standard theory (EK, Gaussian RG, spectral bias): every mode learns its own target
  coefficient ⟨φ_k y⟩. For D ≥ 3, He_D is orthogonal to both modes, so f̄ = 0
  (:func:`standard_slope`).
* Reweighting theory: integrating out mode 2 point by point gives the input-dependent ridge
  σ²(x) = σ² + λ_2 φ_2(x)², and EK for the kept mode with the reweighted loss gives
  f̄(x) = s·x,  s = η λ_1 B / (1 + η λ_1 A),  A = ⟨x²/σ²(x)⟩,  B = ⟨x He_D(x)/σ²(x)⟩
  (:func:`reweighted_slope`). Paper parameters: s ≈ −2.89·10⁻³.

  This is a leading-order theory. It is exact as σ² → ∞ with λ_> η/σ² → 0; at the
  paper's parameters the exact average slope is ~12 % smaller in magnitude (~15 % at
  λ_> = 0.5), from next-order terms of relative size ~λ_> η/σ² (mode 2 is partly learned,
  not only a ridge) and ~20 λ_1/σ² for D = 5 (fluctuations of ΦᵀΦ). Even at λ_> = 0 the
  exact slope is not 0 but λ_1³·120n/(σ² + nλ_1)³ + … = 9.3·10⁻⁵ (the fluctuation of Σx²
  against Σx·He_5, second order). The paper's plain average over 5·10⁶ training sets cannot
  resolve either (its SE is ~10 % of s); the control-variate estimate of
  :class:`ToyMonteCarlo` can.

The Monte Carlo is in :mod:`wilsonian.toy.montecarlo`, the figure in :mod:`wilsonian.plots.toy`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.polynomial import hermite_e
from scipy.special import roots_hermitenorm

from wilsonian.errors import WilsonianError

__all__ = [
    "MAX_DEGREE",
    "PAPER_PARAMS",
    "ToyParams",
    "conditional_moments",
    "conditional_slope",
    "features",
    "hermite_target",
    "reweighted_integrals",
    "reweighted_slope",
    "standard_slope",
    "target_overlaps",
]

#: Paper parameters of Fig. 3 (THEORY.md §5).
PAPER_PARAMS = {"lambda1": 1.0, "lambda_high": 0.1, "ridge": 400.0, "n": 100, "degree": 5}
#: Largest target degree accepted: beyond it the monomial expansion of He_D used by the
#: Monte Carlo loses digits that matter, and its variance is dominated by rare tails.
MAX_DEGREE = 30
#: Gauss–Hermite node counts tried, doubling, until two successive rules agree.
_MIN_NODES = 32
_MAX_NODES = 16384

_SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------------------------
# Parameters and validation
# --------------------------------------------------------------------------------------------


def _as_int(name: str, value: object, minimum: int) -> int:
    """An integer ≥ ``minimum``; integral floats such as 5e6 are accepted."""
    if isinstance(value, bool):
        raise WilsonianError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        result = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        result = int(value)
    else:
        raise WilsonianError(f"{name} must be an integer, got {value!r}")
    if result < minimum:
        raise WilsonianError(f"{name} must be at least {minimum}, got {result}")
    return result


#: Largest λ_1, λ_> or σ² accepted: beyond it the 2×2 normal equations overflow float64.
MAX_SCALE = 1e100


def _as_float(name: str, value: object, *, positive: bool) -> float:
    """A finite float that is > 0 (``positive``) or ≥ 0, and at most :data:`MAX_SCALE`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise WilsonianError(f"{name} must be a real number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise WilsonianError(f"{name} must be finite, got {result}")
    if result > MAX_SCALE:
        raise WilsonianError(f"{name} must be at most {MAX_SCALE:g} (the normal equations overflow), got {result:g}")
    if positive and result <= 0:
        raise WilsonianError(f"{name} must be > 0, got {result}")
    if not positive and result < 0:
        raise WilsonianError(f"{name} must be >= 0, got {result}")
    return result


@dataclass(frozen=True)
class ToyParams:
    """Parameters of the toy model, validated on construction.

    Attributes
    ----------
    lambda1 : float
        Eigenvalue λ_1 > 0 of the kept mode φ_1 = x.
    lambda_high : float
        Eigenvalue λ_2 = λ_> ≥ 0 of the mode φ_2 = (x² − 1)/√2 that the theory integrates out.
    ridge : float
        Ridge (observation-noise variance) σ² > 0. σ² = 0 is rejected: the reweighted ridge
        σ²(x) = λ_> φ_2(x)² vanishes at x = ±1 and the integrals A and B diverge, and the
        Monte Carlo posterior mean becomes a least-squares fit that is singular for n < 2.
    n : int
        Training points per training set, η = n ≥ 1.
    degree : int
        Degree D of the target He_D, 0 ≤ D ≤ :data:`MAX_DEGREE`.
    """

    lambda1: float = 1.0
    lambda_high: float = 0.1
    ridge: float = 400.0
    n: int = 100
    degree: int = 5

    def __post_init__(self) -> None:
        object.__setattr__(self, "lambda1", _as_float("lambda1", self.lambda1, positive=True))
        object.__setattr__(
            self, "lambda_high", _as_float("lambda_high", self.lambda_high, positive=False)
        )
        object.__setattr__(self, "ridge", _as_float("ridge (sigma^2)", self.ridge, positive=True))
        object.__setattr__(self, "n", _as_int("n (training points)", self.n, 1))
        degree = _as_int("degree", self.degree, 0)
        if degree > MAX_DEGREE:
            raise WilsonianError(
                f"degree must be at most {MAX_DEGREE}, got {degree}; higher Hermite targets lose "
                "precision in the power-sum Monte Carlo"
            )
        object.__setattr__(self, "degree", degree)

    def as_dict(self) -> dict:
        """Plain dict of the parameters (for JSON)."""
        return {
            "lambda1": self.lambda1,
            "lambda_high": self.lambda_high,
            "ridge": self.ridge,
            "n": self.n,
            "degree": self.degree,
        }


def features(x: np.ndarray) -> np.ndarray:
    """Evaluate the two kernel modes.

    Parameters
    ----------
    x : array_like, shape (...)
        Inputs.

    Returns
    -------
    ndarray, shape (..., 2)
        [φ_1(x), φ_2(x)] = [x, (x² − 1)/√2], orthonormal under N(0, 1).
    """
    x = np.asarray(x, dtype=np.float64)
    return np.stack([x, (x * x - 1.0) / _SQRT2], axis=-1)


def hermite_target(x: np.ndarray, degree: int) -> np.ndarray:
    """The target He_D(x) (probabilists' Hermite polynomial), evaluated pointwise."""
    degree = _as_int("degree", degree, 0)
    unit = np.zeros(degree + 1)
    unit[degree] = 1.0
    return hermite_e.hermeval(np.asarray(x, dtype=np.float64), unit)


# --------------------------------------------------------------------------------------------
# Theories
# --------------------------------------------------------------------------------------------


def standard_slope(
    *,
    lambda1: float = 1.0,
    lambda_high: float = 0.1,
    ridge: float = 400.0,
    n: int = 100,
    degree: int = 5,
) -> float:
    """Slope of f̄(x) = s·x predicted by the standard (Gaussian-feature) theory.

    EK with the Gaussian-RG ridge: integrating out mode 2 as if its feature were independent
    of x adds its mean ⟨λ_> φ_2²⟩ = λ_> to the ridge (THEORY.md §4), and the kept mode learns
    s = η λ_1 ⟨x He_D⟩ / (η λ_1 + σ² + λ_>). Since ⟨x He_D⟩ = δ_{D,1}, s = 0 for every D ≠ 1;
    in particular for the paper's He_5, which is orthogonal to both modes, the standard
    theory predicts a vanishing average predictor. This is :func:`reweighted_slope` with
    σ²(x) replaced by its mean.

    Returns
    -------
    float
        The slope (exactly 0.0 unless ``degree == 1``).
    """
    p = ToyParams(lambda1, lambda_high, ridge, n, degree)
    overlap = 1.0 if p.degree == 1 else 0.0  # ⟨x He_D⟩ = 1! δ_{D,1}
    return p.n * p.lambda1 * overlap / (p.n * p.lambda1 + p.ridge + p.lambda_high)


def _gauss_average(integrands: Callable[[np.ndarray], np.ndarray], nodes: int):
    """⟨g⟩ under N(0, 1) by an ``nodes``-point Gauss–Hermite rule, and ⟨|g|⟩ as a scale.

    ``integrands`` maps the nodes (N,) to values (k, N). scipy's ``roots_hermitenorm`` is
    the same rule as ``numpy.polynomial.hermite_e.hermegauss`` but stays accurate for the
    thousands of nodes a small ridge needs (hermegauss overflows beyond ~400 nodes).
    """
    x, w = roots_hermitenorm(nodes)
    w = w / math.sqrt(2.0 * math.pi)
    values = integrands(x)
    return values @ w, np.abs(values) @ w


def reweighted_integrals(
    *,
    lambda_high: float = 0.1,
    ridge: float = 400.0,
    degree: int = 5,
    nodes: int | None = None,
    rtol: float = 1e-12,
) -> tuple[float, float]:
    """The Gaussian averages A = ⟨x²/σ²(x)⟩ and B = ⟨x He_D(x)/σ²(x)⟩ (THEORY.md §5).

    Here σ²(x) = σ² + λ_> φ_2(x)² = σ² + λ_> (x² − 1)²/2 is the reweighted ridge.

    Parameters
    ----------
    lambda_high, ridge, degree
        λ_> ≥ 0, σ² > 0, D ≥ 0.
    nodes : int, optional
        Number of Gauss–Hermite nodes. By default the rule is doubled from 32 nodes until two
        successive rules agree to ``rtol`` relative to ⟨|integrand|⟩ (the integrand is
        rational, not polynomial, so no finite rule is exact; its poles approach the real
        axis at x = ±1 as σ²/λ_> → 0, which is when many nodes are needed).
    rtol : float
        Convergence tolerance of the automatic rule.

    Returns
    -------
    (A, B) : tuple of float
        Exact (no quadrature) when λ_> = 0: A = 1/σ², B = δ_{D,1}/σ²; B = 0 exactly for
        even D, whose integrand is odd.

    Raises
    ------
    WilsonianError
        On invalid parameters, or if 16384 nodes do not converge (σ²/λ_> ≲ 0.1).
    """
    p = ToyParams(lambda_high=lambda_high, ridge=ridge, degree=degree)
    target = np.zeros(p.degree + 1)
    target[p.degree] = 1.0

    def integrands(x: np.ndarray) -> np.ndarray:
        local_ridge = p.ridge + p.lambda_high * (x * x - 1.0) ** 2 / 2.0
        return np.stack([x * x, x * hermite_e.hermeval(x, target)]) / local_ridge

    if p.lambda_high == 0.0:
        # Constant ridge: A = ⟨x²⟩/σ², B = ⟨x He_D⟩/σ² = δ_{D,1}/σ², exactly.
        return 1.0 / p.ridge, (1.0 if p.degree == 1 else 0.0) / p.ridge
    odd_integrand = p.degree % 2 == 0  # x He_D(x)/σ²(x) is odd: B = 0 exactly
    if nodes is not None:
        count = _as_int("nodes", nodes, 1)
        values, _ = _gauss_average(integrands, count)
        return float(values[0]), 0.0 if odd_integrand else float(values[1])
    rtol = _as_float("rtol", rtol, positive=True)
    current = _adaptive_average(integrands, max(_MIN_NODES, p.degree + 2), rtol, p)
    return float(current[0]), 0.0 if odd_integrand else float(current[1])


def _adaptive_average(integrands: Callable[[np.ndarray], np.ndarray], count: int, rtol: float, p: ToyParams):
    """⟨integrands⟩ by Gauss–Hermite rules doubled from ``count`` nodes until two agree."""
    previous, _ = _gauss_average(integrands, count)
    while count < _MAX_NODES:
        count *= 2
        current, scale = _gauss_average(integrands, count)
        if np.all(np.abs(current - previous) <= rtol * scale):
            return current
        previous = current
    raise WilsonianError(
        f"Gauss-Hermite quadrature of the reweighted ridge did not converge with {_MAX_NODES} "
        f"nodes (ridge={p.ridge}, lambda_high={p.lambda_high}): the integrand's poles are too "
        "close to x = ±1; use a ridge of at least ~0.1 * lambda_high"
    )


def reweighted_slope(
    *,
    lambda1: float = 1.0,
    lambda_high: float = 0.1,
    ridge: float = 400.0,
    n: int = 100,
    degree: int = 5,
    nodes: int | None = None,
) -> float:
    """Slope s of the reweighting theory's predictor f̄(x) = s·x (THEORY.md §5).

    EK for the kept mode φ_1 = x with the reweighted loss, (λ_1⁻¹ + η A) s = η B, i.e.
    s = η λ_1 B / (1 + η λ_1 A) with A, B from :func:`reweighted_integrals`. The integrated-out
    mode φ_2 contributes no mean (its coefficient is 0 at this order).

    Returns
    -------
    float
        s; ≈ −2.89·10⁻³ at the paper parameters (λ_1 = 1, λ_> = 0.1, σ² = 400, n = 100,
        D = 5). With λ_> = 0, σ²(x) = σ² and B = ⟨x He_D⟩/σ² = 0 for D ≠ 1, so s = 0.

    Notes
    -----
    Leading order: exact as σ² → ∞ with λ_> η/σ² → 0. At the paper's parameters the exact
    Monte Carlo slope is ~12 % smaller in magnitude (module docstring).
    """
    p = ToyParams(lambda1, lambda_high, ridge, n, degree)
    a, b = reweighted_integrals(
        lambda_high=p.lambda_high, ridge=p.ridge, degree=p.degree, nodes=nodes
    )
    return p.n * p.lambda1 * b / (1.0 + p.n * p.lambda1 * a)


def conditional_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The toy's A(x) = E[φ_2 | φ_1 = x] and B(x) = (E[φ_2² | x] − 1)/2, in closed form.

    φ_2 = He_2(x)/√2 is a function of the kept mode x, so A = He_2/√2 (degree 2: the third
    cumulant κ_211 = ⟨φ_2 x²⟩ = √2 gives ½κ_211 He_2) and B = (He_2²/2 − 1)/2 = He_4/4 + He_2
    (He_2² = He_4 + 4He_2 + 2). The Gram–Charlier terms ½κ_221 x + ¼U_2211 He_2 give He_2
    (κ_221 = 0, U_2211 = ⟨φ_2² x²⟩ − 1 = 4); He_4/4 is beyond that order (a sixth cumulant).
    """
    x = np.asarray(x, dtype=np.float64)
    he2, he4 = x * x - 1.0, x**4 - 6.0 * x * x + 3.0
    return he2 / _SQRT2, he4 / 4.0 + he2


def conditional_slope(
    *,
    lambda1: float = 1.0,
    lambda_high: float = 0.1,
    ridge: float = 400.0,
    n: int = 100,
    degree: int = 5,
    ridge_degree: int = 2,
    target_degree: int = 3,
    rtol: float = 1e-12,
) -> float:
    """Slope of f̄(x) = s·x from the conditional (A, B) RG with truncated models.

    Integrating out φ_2 with P[φ_2 | x] ≈ N(0,1)[1 + Aφ_2 + B(φ_2² − 1)] gives the ridge
    σ²_AB(x) = σ² + λ_>(1 + 2B_p(x)) and the target y_AB = P_q[He_D] (the whole target is
    integrated out for D ≠ 1: its conditional mean given x is He_D itself), where B_p and P_q
    keep the Hermite components of degree ≤ p = ``ridge_degree`` and ≤ q = ``target_degree``
    (the L²(N(0,1)) projections, what least squares on a large pool converges to). Then, as in
    :func:`reweighted_slope`, s = ηλ_1⟨x y_AB/σ²_AB⟩/(1 + ηλ_1⟨x²/σ²_AB⟩).

    With p ≥ 4 and q ≥ D the models are exact and s is :func:`reweighted_slope`. The seed's
    leading order (B quadratic, A cubic: p = 2, q = 3) gives s = 0 for D = 5: the paper's
    Fig. 3 effect lives in the He_4 component of B and needs the target's degree-5 part.
    """
    p = ToyParams(lambda1, lambda_high, ridge, n, degree)
    p_b, q_a = _as_int("ridge_degree", ridge_degree, 0), _as_int("target_degree", target_degree, 0)
    target = np.zeros(p.degree + 1)
    target[p.degree] = 1.0 if (p.degree <= max(q_a, 1)) else 0.0
    if not target.any():
        return 0.0
    # B's Hermite components: He_2 (coefficient 1) and He_4 (1/4)
    c2, c4 = (1.0 if p_b >= 2 else 0.0), (0.25 if p_b >= 4 else 0.0)
    if p_b in (2, 3) and p.ridge <= p.lambda_high:
        raise WilsonianError("the quadratic B model makes σ²_AB = σ² − λ_> + 2λ_> x² negative: use σ² > λ_>")

    def integrands(x: np.ndarray) -> np.ndarray:
        he2, he4 = x * x - 1.0, x**4 - 6.0 * x * x + 3.0
        local_ridge = p.ridge + p.lambda_high * (1.0 + 2.0 * (c2 * he2 + c4 * he4))
        return np.stack([x * x, x * hermite_e.hermeval(x, target)]) / local_ridge

    values = _adaptive_average(integrands, max(_MIN_NODES, p.degree + 2), _as_float("rtol", rtol, positive=True), p)
    return p.n * p.lambda1 * float(values[1]) / (1.0 + p.n * p.lambda1 * float(values[0]))


def target_overlaps(degree: int) -> np.ndarray:
    """Exact Gaussian averages (⟨φ_1 He_D⟩, ⟨φ_2 He_D⟩) = (δ_{D,1}, √2 δ_{D,2}), shape (2,).

    n times this is the mean of r = Φᵀy per training set, which makes r a control variate.
    """
    degree = _as_int("degree", degree, 0)
    return np.array([1.0 if degree == 1 else 0.0, _SQRT2 if degree == 2 else 0.0])
