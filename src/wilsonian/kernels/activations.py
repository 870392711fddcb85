"""Elementwise nonlinearities φ and their Gaussian expectations (THEORY.md §2, §7).

A network layer maps the covariance of its inputs to Kˡ = σ_w² E[φ(u)φ(v)] + σ_b² with
(u, v) ~ N(0, [[q, c], [c, q']]); the NTK also needs E[φ'(u)φ'(v)]. An :class:`Activation`
knows both, as closed forms where they exist and otherwise from the Hermite series of φ
(Mehler's formula, :mod:`wilsonian.kernels.hermite_series`), or, when asked for with
``points``, by two-dimensional Gauss–Hermite quadrature (:mod:`wilsonian.kernels.quadrature`). Every fully connected and
convolutional kernel of :mod:`wilsonian.kernels` takes one.

Closed forms (s = √q, s' = √q', ρ = c/(s s'), θ = arccos ρ; conventions of neural-tangents'
``stax`` layers of the same name, checked against it in tests/test_activations.py)
------------------------------------------------------------------------------------
``abrelu`` a·min(x, 0) + b·max(x, 0) (``relu``: a = 0, b = 1; ``leaky-relu``: a = slope,
b = 1; ``abs``: a = −1, b = 1)::

    E[φφ] = s s' [(a − b)² (sin θ − θ cos θ)/(2π) + (a² + b²) cos θ/2]
    E[φ'φ'] = (a² + b²)/2 − (a − b)² θ/(2π)

``erf`` a·erf(b x) + c, with D = (1 + 2b²q)(1 + 2b²q') − 4b⁴c²::

    E[φφ] = a² (2/π) arctan(2b²c/√D) + c²,   E[φ'φ'] = a² b² (4/π)/√D

``gelu`` x Φ(x) (Φ the standard normal CDF), with P = (1 + q)(1 + q'), δ² = P − c²,
A = arctan(c/δ)::

    E[φφ] = c/4 + [c A + (c² + q q' δ²)/(P δ)]/(2π)
    E[φ'φ'] = 1/4 + A/(2π) + c [1 + (1 − q q')/P + 1/δ²]/(2π δ)

``sin`` a·sin(b x + c) (``cos`` a·cos(b x + c) = a·sin(b x + c + π/2))::

    E[φφ] = (a²/2)[e^{−b²(q+q'−2c)/2} − cos 2c · e^{−b²(q+q'+2c)/2}]
    E[φ'φ'] = (a² b²/2)[e^{−b²(q+q'−2c)/2} + cos 2c · e^{−b²(q+q'+2c)/2}]

``gaussian`` a·exp(b x²), b < 0, with D = (1 − 2bq)(1 − 2bq') − 4b²c²::

    E[φφ] = a²/√D,   E[φ'φ'] = 4 a² b² c/D^{3/2}

``exp`` a·exp(b x): E[φφ] = a² e^{b²(q+q'+2c)/2}, E[φ'φ'] = b² E[φφ].

``sign``: E[φφ] = 1 − 2θ/π (0 if q q' = 0); E[φ'φ'] = 0 (φ' = 0 almost everywhere, as in
neural-tangents: the NTK gets no contribution through a sign layer).

``rectified-monomial`` max(x, 0)ⁿ (n = 0: the step, 1 for x ≥ 0), the arc-cosine kernel::

    E[φφ] = (s s')ⁿ Jₙ(θ)/(2π),   E[φ'φ'] = n² (s s')ⁿ⁻¹ Jₙ₋₁(θ)/(2π)  (0 for n = 0)
    Jₙ(θ) = (−1)ⁿ (sin θ)^{2n+1} ((1/sin θ) ∂/∂θ)ⁿ ((π − θ)/sin θ)
          = (−1)ⁿ [(π − θ) Pₙ(cos θ) + sin θ Qₙ(cos θ)]

with polynomials P₀ = 1, Q₀ = 0, P_{k+1} = −(1 − t²)P_k' − (2k + 1) t P_k,
Q_{k+1} = −(1 − t²)Q_k' − 2k t Q_k − P_k (J₁ is the ReLU's sin θ + (π − θ) cos θ).

``monomial`` xⁿ: E[φφ] = Σ_m [n!/(m!(n − 2m)! 2^m)]² (n − 2m)! c^{n−2m} (q q')^m (Isserlis),
E[φ'φ'] = n² E[u^{n−1} v^{n−1}].

``tanh`` and ``sigmoid`` (1/(1 + e^{−x})) have no closed form: their Hermite series, or with
``points`` the quadrature with that many nodes per dimension (the default until 2026-12, at
32). So has any φ of your own: :func:`custom_activation`.

The diagonal u = v (ρ = 1 exactly) gives the variance recursion qˡ = σ_w² E[φ(u)²] + σ_b².
An input of variance 0 (x = 0 without bias) is the constant u = 0: E[φφ] = φ(0) E[φ(v)].
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any, Callable

import numpy as np
from numpy.polynomial import Polynomial
from scipy.special import erf as _erf
from scipy.special import expit as _expit

from wilsonian.errors import WilsonianError
from wilsonian.kernels import _closed_forms as cf
from wilsonian.kernels import hermite_series, quadrature

__all__ = ["ACTIVATIONS", "Activation", "activation", "custom_activation", "parse_activation",
           "resolve_activation"]

_REQUIRED = object()
_MAX_DEGREE = 20


# ------------------------------------------------------------------ parameter checks


def _real(value: float) -> str | None:
    return None if math.isfinite(value) else "a finite number"


def _negative(value: float) -> str | None:
    return None if math.isfinite(value) and value < 0 else "a finite number < 0"


def _degree(value: int) -> str | None:
    return None if 0 <= value <= _MAX_DEGREE else f"an integer between 0 and {_MAX_DEGREE}"


def _points(value: int) -> str | None:
    return None if 2 <= value <= 200 else "an integer between 2 and 200"


@dataclass(frozen=True)
class _Param:
    name: str
    default: Any = _REQUIRED
    integer: bool = False
    check: Callable[[Any], str | None] = _real


_AFFINE = (_Param("a", 1.0), _Param("b", 1.0), _Param("c", 0.0))
# No points: the Hermite series; points: the quadrature with that many nodes per dimension.
_QUAD = (_Param("points", None, integer=True, check=_points),)

#: Parameters of each activation (name, default; no default = required).
_PARAMS: dict[str, tuple[_Param, ...]] = {
    "relu": (),
    "erf": _AFFINE,
    "leaky-relu": (_Param("slope"),),
    "abrelu": (_Param("a"), _Param("b")),
    "abs": (),
    "gelu": (),
    "sin": _AFFINE,
    "cos": _AFFINE,
    "gaussian": (_Param("a", 1.0), _Param("b", -1.0, check=_negative)),
    "exp": (_Param("a", 1.0), _Param("b", 1.0)),
    "sign": (),
    "rectified-monomial": (_Param("degree", integer=True, check=_degree),),
    "monomial": (_Param("degree", integer=True, check=_degree),),
    "tanh": _QUAD,
    "sigmoid": _QUAD,
}

#: Every activation name :func:`activation` accepts ("custom" comes from :func:`custom_activation`).
ACTIVATIONS = tuple(_PARAMS)
_NAMES_OF = {name: {p.name for p in specs} for name, specs in _PARAMS.items()}


def _rebuild(name: str, params: tuple) -> "Activation":
    return activation(name, **dict(params))


# ------------------------------------------------------------------------ the object


@dataclass(frozen=True, eq=False)
class Activation:
    """An elementwise nonlinearity φ with E[φ(u)φ(v)] and E[φ'(u)φ'(v)] for Gaussian (u, v).

    Build one with :func:`activation` (by name), :func:`parse_activation` (from command-line
    strings) or :func:`custom_activation` (your own φ). Two activations are equal when
    their ``name`` and canonical ``params`` are.

    Attributes
    ----------
    name : str
        One of :data:`ACTIVATIONS`, or ``"custom"``.
    params : tuple of (str, value)
        The parameters that differ from their defaults, in declaration order: the record
        that enters ``as_dict()`` and cache keys.
    closed_form : bool
        False for tanh, sigmoid and custom activations.
    points : int or None
        Quadrature nodes per dimension, or None for the Hermite series (when not a
        closed form).
    """

    name: str
    params: tuple = ()
    phi: Callable = field(repr=False, default=None)
    dphi: Callable | None = field(repr=False, default=None)
    code: int = -1
    prm: np.ndarray = field(repr=False, default=None)
    poly: np.ndarray = field(repr=False, default=None)
    points: int | None = None

    @property
    def closed_form(self) -> bool:
        return self.code >= 0

    @property
    def method(self) -> str:
        """How E[φφ] and E[φ'φ'] are computed: closed-form, hermite-series or quadrature."""
        if self.closed_form:
            return "closed-form"
        return "hermite-series" if self.points is None else "quadrature"

    def method_record(self) -> dict[str, str]:
        """What a kernel's record (and cache key) adds for this activation's method:
        ``{"expectations": "hermite-series"}`` for the series, whose numbers differ from the
        quadrature tanh, sigmoid and custom φ had before; nothing otherwise, so every other
        record is as it always was."""
        return {"expectations": "hermite-series"} if self.method == "hermite-series" else {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and (self.name, self.params) == (other.name, other.params)

    def __hash__(self) -> int:
        return hash((self.name, self.params))

    def __reduce__(self):
        # A named activation travels (pickle, Dask, multiprocessing) as its name and
        # parameters, not as the lambdas it holds; a custom one needs cloudpickle.
        if self.name in _PARAMS and all(key in _NAMES_OF[self.name] for key, _ in self.params):
            return (_rebuild, (self.name, self.params))
        return super().__reduce__()

    def as_dict(self) -> dict[str, Any]:
        """{"activation": name, "activation_params": {...}} (the latter only if non-empty)."""
        out: dict[str, Any] = {"activation": self.name}
        if self.params:
            out["activation_params"] = dict(self.params)
        return out

    def expectations(self, q1: Any, q2: Any, c: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """(E[φ(u)φ(v)], E[φ'(u)φ'(v)]) for (u, v) ~ N(0, [[q1, c], [c, q2]]), elementwise.

        The arrays broadcast; c/√(q1 q2) is clipped to [−1, 1]. The second is None when a
        custom activation has no φ'.
        """
        q1, q2, c = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (q1, q2, c)))
        return self.expect_cov(np.sqrt(q1), np.sqrt(q2), c)

    def expect_cov(self, s1: Any, s2: Any, c: Any, need_de: bool = True
                   ) -> tuple[np.ndarray, np.ndarray | None]:
        """As :meth:`expectations`, from standard deviations s1 = √q1, s2 = √q2.
        ``need_de=False`` allows the second to be skipped (None)."""
        if self.closed_form:
            return cf.expect_arrays(self.code, self.prm, self.poly, s1, s2, cov=c)
        s1, s2, c = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (s1, s2, c)))
        ss = s1 * s2
        rho = np.zeros(ss.shape)
        np.divide(c, ss, out=rho, where=ss > 0)
        np.clip(rho, -1.0, 1.0, out=rho)
        return self._numerical(s1, s2, rho, need_de)

    def _numerical(self, s1: Any, s2: Any, rho: Any, need_de: bool
                   ) -> tuple[np.ndarray, np.ndarray | None]:
        if self.points is None:  # the series costs per function: φ' only when asked for
            # Keyed by what φ is (name, parameters, a custom φ's digest), not by its objects.
            return hermite_series.expectations(self.phi, self.dphi if need_de else None, s1, s2, rho,
                                               key=(self.name, self.params))
        return quadrature.expectations(self.phi, self.dphi, s1, s2, rho, self.points)

    def expect_rho(self, s1: Any, s2: Any, rho: Any, need_de: bool = True
                   ) -> tuple[np.ndarray, np.ndarray | None]:
        """As :meth:`expect_cov`, from the correlation ρ ∈ [−1, 1] (0 where s1·s2 = 0)."""
        if self.closed_form:
            return cf.expect_arrays(self.code, self.prm, self.poly, s1, s2, rho=rho)
        return self._numerical(s1, s2, rho, need_de)

    def variance(self, q: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """(E[φ(u)²], E[φ'(u)²]) for u ~ N(0, q): the ρ = 1 case, exactly."""
        q = np.asarray(q, dtype=np.float64)
        if self.closed_form:
            s = np.sqrt(q)
            return cf.expect_arrays(self.code, self.prm, self.poly, s, s, rho=np.ones(q.shape))
        if self.points is None:
            return hermite_series.variance(self.phi, self.dphi, q)
        e = quadrature.variance(self.phi, q, self.points)
        de = None if self.dphi is None else quadrature.variance(self.dphi, q, self.points)
        return e, de

    def with_quadrature(self, points: int = quadrature.DEFAULT_POINTS) -> "Activation":
        """The same φ evaluated by Gauss–Hermite quadrature (to check a closed form)."""
        return Activation(name=self.name, params=self.params + (("quadrature_points", int(points)),),
                          phi=self.phi, dphi=self.dphi, points=int(points))

    def require_derivative(self) -> None:
        """Raise unless E[φ'φ'] is available (the NTK needs it)."""
        if self.dphi is None:
            raise WilsonianError(
                f"the NTK needs the derivative of the activation; custom activation "
                f"{dict(self.params).get('label')!r} was given no dphi: pass dphi= to custom_activation.")


# ------------------------------------------------------------------------ builders


def _rectified_polynomials(n: int) -> np.ndarray:
    """Rows A_n, B_n, n² A_{n−1}, n² B_{n−1}: E = (ss')ⁿ[(π − θ) A_n(ρ) + sin θ B_n(ρ)]."""
    t = Polynomial([0.0, 1.0])
    one_minus = 1.0 - t * t
    ps, qs = [Polynomial([1.0])], [Polynomial([0.0])]
    for k in range(n):
        p, q = ps[-1], qs[-1]
        ps.append(-one_minus * p.deriv() - (2 * k + 1) * t * p)
        qs.append(-one_minus * q.deriv() - 2 * k * t * q - p)
    poly = np.zeros((4, n + 1))
    for row, (p, scale) in enumerate(((ps[n], 1.0), (qs[n], 1.0))):
        c = (-1.0) ** n * scale * p.coef / (2.0 * math.pi)
        poly[row, : c.size] = c
    if n >= 1:
        for row, p in ((2, ps[n - 1]), (3, qs[n - 1])):
            c = (-1.0) ** (n - 1) * n * n * p.coef / (2.0 * math.pi)
            poly[row, : c.size] = c
    return poly


def _monomial_coefficients(n: int) -> np.ndarray:
    """c_k with E[uⁿvⁿ] = (ss')ⁿ Σ_k c_k ρᵏ (row 0) and n² the same for n − 1 (row 1)."""
    def coefficients(m: int) -> np.ndarray:
        c = np.zeros(n + 1)
        for j in range(m // 2 + 1):
            hermite = math.factorial(m) / (math.factorial(j) * math.factorial(m - 2 * j) * 2**j)
            c[m - 2 * j] = hermite**2 * math.factorial(m - 2 * j)
        return c
    poly = np.zeros((4, n + 1))
    poly[0] = coefficients(n)
    if n >= 1:
        poly[1] = n * n * coefficients(n - 1)
    return poly


def _build(name: str, p: dict[str, Any]) -> dict[str, Any]:
    """code, prm (a, b, c, degree), poly, phi and dphi of a named activation."""
    prm = np.zeros(4)
    poly = np.zeros((4, 1))
    if name in ("relu", "leaky-relu", "abrelu", "abs"):
        a, b = {"relu": (0.0, 1.0), "abs": (-1.0, 1.0)}.get(name) or (
            (p["slope"], 1.0) if name == "leaky-relu" else (p["a"], p["b"]))
        prm[:2] = a, b
        return dict(code=cf.ABRELU, prm=prm, poly=poly,
                    phi=lambda x: a * np.minimum(x, 0.0) + b * np.maximum(x, 0.0),
                    dphi=lambda x: np.where(x > 0, b, a) + 0.0 * x)
    if name == "erf":
        a, b, c = p["a"], p["b"], p["c"]
        prm[:3] = a, b, c
        return dict(code=cf.ERF, prm=prm, poly=poly, phi=lambda x: a * _erf(b * x) + c,
                    dphi=lambda x: a * b * (2.0 / math.sqrt(math.pi)) * np.exp(-(b * x) ** 2))
    if name == "gelu":
        def gelu(x):
            return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))

        def dgelu(x):
            return 0.5 * (1.0 + _erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return dict(code=cf.GELU, prm=prm, poly=poly, phi=gelu, dphi=dgelu)
    if name in ("sin", "cos"):
        a, b, c = p["a"], p["b"], p["c"]
        # cos(bx + c) = sin(bx + c + π/2), and cos 2(c + π/2) = −cos 2c (exact, no π round-off).
        prm[:3] = a, b, math.cos(2.0 * c) if name == "sin" else -math.cos(2.0 * c)
        if name == "sin":
            return dict(code=cf.SIN, prm=prm, poly=poly, phi=lambda x: a * np.sin(b * x + c),
                        dphi=lambda x: a * b * np.cos(b * x + c))
        return dict(code=cf.SIN, prm=prm, poly=poly, phi=lambda x: a * np.cos(b * x + c),
                    dphi=lambda x: -a * b * np.sin(b * x + c))
    if name == "gaussian":
        a, b = p["a"], p["b"]
        prm[:2] = a, b
        return dict(code=cf.GAUSSIAN, prm=prm, poly=poly, phi=lambda x: a * np.exp(b * x * x),
                    dphi=lambda x: 2.0 * a * b * x * np.exp(b * x * x))
    if name == "exp":
        a, b = p["a"], p["b"]
        prm[:2] = a, b
        return dict(code=cf.EXP, prm=prm, poly=poly, phi=lambda x: a * np.exp(b * x),
                    dphi=lambda x: a * b * np.exp(b * x))
    if name == "sign":
        return dict(code=cf.SIGN, prm=prm, poly=poly, phi=np.sign, dphi=lambda x: np.zeros_like(x))
    if name in ("rectified-monomial", "monomial"):
        n = p["degree"]
        prm[3] = n
        if name == "monomial":
            return dict(code=cf.MONOMIAL, prm=prm, poly=_monomial_coefficients(n),
                        phi=lambda x: np.asarray(x, dtype=float) ** n,
                        dphi=lambda x: n * np.asarray(x, dtype=float) ** max(n - 1, 0) if n else 0.0 * x)
        return dict(code=cf.RECTIFIED, prm=prm, poly=_rectified_polynomials(n),
                    phi=lambda x: np.where(x >= 0, np.maximum(x, 0.0) ** n, 0.0),
                    dphi=lambda x: (n * np.where(x > 0, np.maximum(x, 0.0) ** max(n - 1, 0), 0.0)) if n else 0.0 * x)
    if name == "tanh":
        return dict(phi=np.tanh, dphi=lambda x: 1.0 / np.cosh(x) ** 2, points=p["points"])
    if name == "sigmoid":
        return dict(phi=_expit, dphi=lambda x: _expit(x) * _expit(-x), points=p["points"])
    raise AssertionError(name)


def _check_value(name: str, spec: _Param, value: Any) -> Any:
    """One parameter value, converted (str from the command line, or a number) and checked."""
    want = "an integer" if spec.integer else "a number"
    raw = value
    if isinstance(value, str):
        try:
            value = int(value) if spec.integer else float(value)
        except ValueError:
            raise WilsonianError(f"activation {name!r}: parameter {spec.name} must be {want}, got {raw!r}.") from None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise WilsonianError(f"activation {name!r}: parameter {spec.name} must be {want}, got {raw!r}.")
    if spec.integer:
        if not (isinstance(value, Integral) or (math.isfinite(value) and float(value).is_integer())):
            raise WilsonianError(f"activation {name!r}: parameter {spec.name} must be an integer, got {raw!r}.")
        value = int(value)
    else:
        value = float(value)
    problem = spec.check(value)
    if problem:
        raise WilsonianError(f"activation {name!r}: parameter {spec.name} must be {problem}, got {raw!r}.")
    return value


def activation(name: Any, **params: Any) -> Activation:
    """The activation called ``name`` with its parameters, validated.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`.
    **params
        leaky-relu: ``slope`` (required); abrelu: ``a``, ``b`` (required); erf, sin, cos:
        ``a``, ``b``, ``c`` (1, 1, 0); gaussian: ``a``, ``b`` (1, −1; b < 0); exp: ``a``,
        ``b`` (1, 1); rectified-monomial, monomial: ``degree`` (required, 0..20); tanh,
        sigmoid: ``points`` (the quadrature with that many nodes per dimension, 2..200,
        instead of the default Hermite series). Strings are
        converted (command-line values).

    Raises
    ------
    WilsonianError
        Unknown activation, unknown, missing or invalid parameter.
    """
    if not isinstance(name, str) or name not in _PARAMS:
        hint = " (custom activations come from wilsonian.kernels.custom_activation)" if name == "custom" else ""
        raise WilsonianError(f"unknown activation {name!r}{hint}; choose one of {', '.join(ACTIVATIONS)}.")
    specs = _PARAMS[name]
    known = {s.name for s in specs}
    for key in params:
        if key not in known:
            takes = f"its parameters are {', '.join(sorted(known))}" if known else "it takes no parameters"
            raise WilsonianError(f"activation {name!r} has no parameter {key!r}; {takes}.")
    values, canonical = {}, []
    for spec in specs:
        if spec.name not in params:
            if spec.default is _REQUIRED:
                example = "2" if spec.integer else "0.1"
                raise WilsonianError(f"activation {name!r} needs the parameter {spec.name!r} "
                                     f"(e.g. {spec.name}={example}).")
            values[spec.name] = spec.default
            continue
        if params[spec.name] is None and spec.default is None:   # points=None: the default
            values[spec.name] = None
            continue
        values[spec.name] = _check_value(name, spec, params[spec.name])
        if spec.default is _REQUIRED or values[spec.name] != spec.default:
            canonical.append((spec.name, values[spec.name]))
    return Activation(name=name, params=tuple(canonical), **_build(name, values))


def _split_pairs(params: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in params:
        if not isinstance(item, str) or "=" not in item:
            raise WilsonianError(f"activation parameter {item!r} must be written name=value, e.g. slope=0.1.")
        key, _, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not key or not value:
            raise WilsonianError(f"activation parameter {item!r} must be written name=value, e.g. slope=0.1.")
        if key in out:
            raise WilsonianError(f"activation parameter {key!r} is given twice.")
        out[key] = value
    return out


def parse_activation(name: Any, params: Mapping[str, Any] | Sequence[str] | None = None) -> Activation:
    """The activation of command-line options ``--activation NAME --activation-param K=V ...``.

    ``params`` is a mapping, or a sequence of ``"name=value"`` strings (one per repeated
    option), or None. Values are converted and checked as in :func:`activation`.
    """
    if params is None:
        params = {}
    elif not isinstance(params, Mapping):
        if isinstance(params, str):
            params = [params]
        params = _split_pairs(list(params))
    return activation(name, **dict(params))


def resolve_activation(act: Any, params: Any = None) -> Activation:
    """An :class:`Activation` from an Activation, or a name and its parameters (mapping,
    ``name=value`` strings or a tuple of pairs as in ``Activation.params``)."""
    if isinstance(act, Activation):
        if params and dict(params) != dict(act.params):
            raise WilsonianError("give the activation's parameters either in the Activation or in "
                                 "activation_params, not both.")
        return act
    if act == "custom":
        raise WilsonianError("a custom activation needs its function: pass "
                             "activation=wilsonian.kernels.custom_activation(phi, dphi, label=...).")
    if isinstance(params, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in params):
        params = dict(params)
    return parse_activation(act, params)


def _fingerprint(fn: Callable | None) -> str:
    """A digest of fn on fixed points: different functions give different cache keys."""
    if fn is None:
        return "none"
    z = np.linspace(-6.0, 6.0, 97)
    values = np.asarray(fn(z), dtype=np.float64)
    values = np.broadcast_to(values, z.shape)
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:16]


def custom_activation(phi: Callable, dphi: Callable | None = None, *, label: str,
                      points: int | None = None) -> Activation:
    """Your own elementwise φ, through its Hermite series (or Gauss–Hermite quadrature).

    Parameters
    ----------
    phi : callable
        Vectorized φ: a NumPy array in, an array of the same shape out (e.g. ``np.tanh``,
        ``lambda x: x * scipy.special.expit(x)``).
    dphi : callable, optional
        Vectorized φ'. Needed for the NTK only.
    label : str
        A name for records and figure labels. The cache key also holds a digest of φ and φ'
        at 97 points in [−6, 6], so two different functions never share a key.
    points : int, optional
        Use the two-dimensional quadrature with this many Gauss–Hermite nodes per dimension
        (n² evaluations of φ per kernel entry and layer; see
        :mod:`wilsonian.kernels.quadrature` for the accuracy) instead of the Hermite series
        (:mod:`wilsonian.kernels.hermite_series`: P evaluations per input, more accurate).
    """
    if not callable(phi) or (dphi is not None and not callable(dphi)):
        raise WilsonianError("custom_activation needs callables phi (and optionally dphi).")
    if not isinstance(label, str) or not label:
        raise WilsonianError("custom_activation needs a non-empty label, e.g. label='softplus'.")
    if points is not None:
        points = _check_value("custom", _QUAD[0], points)
    try:
        fingerprint = f"{_fingerprint(phi)}/{_fingerprint(dphi)}"
    except Exception as exc:
        raise WilsonianError(f"custom activation {label!r} failed on a NumPy array ({type(exc).__name__}: "
                             f"{exc}); phi and dphi must be vectorized.") from None
    params = (("label", label), ("fingerprint", fingerprint))
    if points is not None:
        params += (("points", points),)
    return Activation(name="custom", params=params, phi=phi, dphi=dphi, points=points)
