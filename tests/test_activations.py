"""Activations (wilsonian.kernels.activations): closed forms, quadrature, parsing.

- Every smooth closed form against two-dimensional Gauss–Hermite quadrature of its own φ
  and φ' (an independent computation), to 1e-10 relative at 64 points for variances ≤ 1.
- Kinked and discontinuous φ against independent formulas (the orthant probability, the
  arcsine law, ReLU = rectified monomial of degree 1) and against quadrature to the slow
  algebraic rate the docstring states.
- The accuracy statements of wilsonian.kernels.quadrature at its default degree.
- The ρ = 1 diagonal and the zero-variance limit E[φ(0)φ(v)] = φ(0) E[φ(v)].
- Parsing: names, parameters as command-line strings, and every bad input.
"""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

from wilsonian.errors import WilsonianError
from wilsonian.kernels import KernelSpec, activation, custom_activation, parse_activation
from wilsonian.kernels import quadrature
from wilsonian.kernels.activations import ACTIVATIONS

# (name, params): every closed form, several with non-default parameters.
SMOOTH = [
    ("erf", {}), ("erf", {"a": 1.3, "b": 0.7, "c": 0.2}), ("gelu", {}), ("sin", {}),
    ("sin", {"a": 1.2, "b": 0.8, "c": 0.3}), ("cos", {}), ("cos", {"a": 0.9, "b": 1.4, "c": -0.4}),
    ("gaussian", {}), ("gaussian", {"a": 0.7, "b": -0.4}), ("exp", {"a": 0.5, "b": 0.6}),
    ("monomial", {"degree": 0}), ("monomial", {"degree": 1}), ("monomial", {"degree": 2}),
    ("monomial", {"degree": 3}), ("monomial", {"degree": 5}),
]
KINKED = [
    ("relu", {}), ("leaky-relu", {"slope": 0.2}), ("abrelu", {"a": -0.3, "b": 1.5}), ("abs", {}),
    ("rectified-monomial", {"degree": 1}), ("rectified-monomial", {"degree": 2}),
    ("rectified-monomial", {"degree": 3}),
]


def ident(case):
    name, params = case
    return name + "".join(f"-{k}{v}" for k, v in params.items())


def grid(lo, hi, n=2000, seed=0):
    """Variances in [lo, hi], correlations in [−1, 1] with ±1 and near-1 values included."""
    rng = np.random.default_rng(seed)
    q1, q2 = rng.uniform(lo, hi, n), rng.uniform(lo, hi, n)
    rho = rng.uniform(-1, 1, n)
    rho[:40], rho[40:80], rho[80:160] = 1.0, -1.0, 1.0 - 10.0 ** rng.uniform(-12, -2, 80)
    return q1, q2, rho * np.sqrt(q1 * q2)


def rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


# ------------------------------------------------------------- closed form vs quadrature


@pytest.mark.parametrize("case", SMOOTH, ids=ident)
def test_smooth_closed_forms_match_quadrature(case):
    """To 1e-10 relative: the 64-point rule is that accurate for these φ when q ≤ 1."""
    act = activation(case[0], **case[1])
    q1, q2, c = grid(0.01, 1.0)
    e, de = act.expectations(q1, q2, c)
    eq, deq = act.with_quadrature(64).expectations(q1, q2, c)
    assert rel(e, eq) < 1e-10
    assert rel(de, deq) < 1e-10
    v, dv = act.variance(q1)
    vq, dvq = act.with_quadrature(64).variance(q1)
    assert rel(v, vq) < 1e-10 and rel(dv, dvq) < 1e-9   # φ'² of the Gaussian is the sharpest


@pytest.mark.parametrize("case", KINKED, ids=ident)
def test_kinked_closed_forms_approach_quadrature(case):
    """A kink converges slowly (algebraically): error at 200 points below that at 50."""
    act = activation(case[0], **case[1])
    q1, q2, c = grid(0.1, 2.0, n=300)
    e, de = act.expectations(q1, q2, c)
    errors = [rel(e, act.with_quadrature(p).expectations(q1, q2, c)[0]) for p in (50, 200)]
    assert errors[1] < errors[0] and errors[1] < 3e-3, errors
    derrors = [rel(de, act.with_quadrature(p).expectations(q1, q2, c)[1]) for p in (50, 200)]
    assert derrors[1] < derrors[0] and derrors[1] < 0.1, derrors  # a jump in φ': slower still


def test_independent_formulas_for_discontinuous_and_kinked():
    q1, q2, c = grid(0.1, 3.0)
    rho = np.clip(c / np.sqrt(q1 * q2), -1, 1)
    # Arcsine law: E[sign u sign v] = (2/π) arcsin ρ; sign' = 0. At |ρ| = 1 the slope is
    # infinite: the round-off δ of c/√(q q') moves both by √δ (1e-8).
    e, de = activation("sign").expectations(q1, q2, c)
    np.testing.assert_allclose(e, 2 / np.pi * np.arcsin(rho), atol=1e-15)
    assert np.all(de == 0)
    # Orthant probability: E[1(u ≥ 0) 1(v ≥ 0)] = 1/4 + arcsin(ρ)/(2π).
    e, de = activation("rectified-monomial", degree=0).expectations(q1, q2, c)
    np.testing.assert_allclose(e, 0.25 + np.arcsin(rho) / (2 * np.pi), atol=1e-8)
    inner = np.abs(rho) < 1 - 1e-6
    np.testing.assert_allclose(e[inner], 0.25 + np.arcsin(rho[inner]) / (2 * np.pi), atol=1e-15)
    # ReLU twice: the a·min + b·max code and the arc-cosine polynomials of degree 1.
    relu = activation("relu").expectations(q1, q2, c)
    rm1 = activation("rectified-monomial", degree=1).expectations(q1, q2, c)
    for a, b in zip(relu, rm1):
        assert rel(a, b) < 1e-14
    # abrelu(a, b) = b·relu(x) − a·relu(−x): E = (a² + b²) E_relu(ρ) − 2ab E_relu(−ρ).
    a, b = -0.3, 1.5
    e, de = activation("abrelu", a=a, b=b).expectations(q1, q2, c)
    plus, dplus = activation("relu").expectations(q1, q2, c)
    minus, dminus = activation("relu").expectations(q1, q2, -c)
    assert rel(e, (a * a + b * b) * plus - 2 * a * b * minus) < 1e-14
    assert rel(de, (a * a + b * b) * dplus + 2 * a * b * dminus) < 1e-14
    # Isserlis: E[u²v²] = q q' + 2c², E[u³v³] = 9 q q' c + 6 c³.
    e, _ = activation("monomial", degree=2).expectations(q1, q2, c)
    assert rel(e, q1 * q2 + 2 * c**2) < 1e-14
    e, _ = activation("monomial", degree=3).expectations(q1, q2, c)
    assert rel(e, 9 * q1 * q2 * c + 6 * c**3) < 1e-14


def test_price_theorem_derivative():
    """d E[φ(u)φ(v)]/dc = E[φ'(u)φ'(v)] (Price's theorem), by central differences."""
    q1, q2, c = grid(0.1, 1.5, n=200)
    c = np.clip(c, -0.9 * np.sqrt(q1 * q2), 0.9 * np.sqrt(q1 * q2))
    h = 1e-6
    for name, params in SMOOTH + KINKED:
        act = activation(name, **params)
        up, _ = act.expectations(q1, q2, c + h)
        down, _ = act.expectations(q1, q2, c - h)
        _, de = act.expectations(q1, q2, c)
        assert rel((up - down) / (2 * h), de) < 1e-6, name


@pytest.mark.parametrize("case", SMOOTH + KINKED + [("sign", {})], ids=ident)
def test_diagonal_and_zero_variance(case):
    act = activation(case[0], **case[1])
    q = np.array([0.0, 1e-6, 0.3, 1.0, 2.5])
    v, dv = act.variance(q)
    e, de = act.expectations(q, q, q)            # ρ = 1 (or 1 − ulp) through the pair formula
    np.testing.assert_allclose(e, v, rtol=1e-7 if case[0] == "sign" else 1e-12, atol=1e-300)
    np.testing.assert_allclose(de[1:], dv[1:], rtol=1e-6)  # arccos at ρ = 1 − ulp (ReLU-like)
    # A zero-variance input is u = 0: E[φ(0)φ(v)] = φ(0) E[φ(v)] (1-D quadrature of φ).
    qv = np.array([0.2, 1.0])
    e0, _ = act.expectations(np.zeros(2), qv, np.zeros(2))
    x, w = quadrature.gauss_hermite(200)
    mean = act.phi(np.sqrt(qv)[:, None] * x) @ w
    tol = 1e-12 if case in SMOOTH else 1e-2
    np.testing.assert_allclose(e0, float(act.phi(np.zeros(1))[0]) * mean, rtol=tol, atol=tol)


def test_step_at_zero_variance():
    """max(x, 0)⁰ is 1 at x = 0 (neural-tangents' (x ≥ 0) · x⁰)."""
    act = activation("rectified-monomial", degree=0)
    e, _ = act.expectations([0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(e, [1.0, 0.5, 0.5])


# ---------------------------------------------------------------------- quadrature


# The table of wilsonian.kernels.quadrature (default 32 points): E[φφ] and E[φ'φ'] errors
# for q ≤ 0.1, 0.1 ≤ q ≤ 1, 1 ≤ q ≤ 4; asserted with a factor 3 of margin.
DOCUMENTED = {
    "erf": ((1e-15, 1e-15), (8e-8, 7e-7), (2e-3, 1e-2)),
    "gelu": ((1e-15, 1e-15), (5e-11, 8e-10), (3e-5, 7e-4)),
    "gaussian": ((1e-15, 1e-15), (4e-7, 2e-5), (1e-2, 1e-1)),
    "tanh": ((1e-13, 1e-13), (5e-6, 4e-5), (3e-3, 3e-2)),
    "sigmoid": ((1e-15, 1e-15), (2e-12, 1e-10), (1e-6, 5e-5)),
    "relu": ((1e-2, 1e-1),) * 3,
    "abs": ((2e-2, 2e-1),) * 3,
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_quadrature_accuracy_as_documented(name):
    exact = activation(name, points=160) if name in ("tanh", "sigmoid") else activation(name)
    rule = activation(name, points=32) if name in ("tanh", "sigmoid") else exact.with_quadrature()
    for (lo, hi), (bound_e, bound_de) in zip(((0.001, 0.1), (0.1, 1.0), (1.0, 4.0)), DOCUMENTED[name]):
        g = grid(lo, hi)
        e, de = exact.expectations(*g)
        eq, deq = rule.expectations(*g)
        floor = 3e-15                      # round-off of the closed forms themselves
        assert rel(eq, e) < max(3 * bound_e, floor), (lo, hi, rel(eq, e))
        assert rel(deq, de) < max(3 * bound_de, floor), (lo, hi, rel(deq, de))


def test_quadrature_exact_for_polynomials_and_symmetric():
    x, w = quadrature.gauss_hermite(8)
    assert abs(w.sum() - 1) < 1e-15 and abs((x**2) @ w - 1) < 1e-14 and abs((x**14) @ w - 135135) < 1e-7
    q1, q2, c = grid(0.1, 3.0, n=300)
    cube = custom_activation(lambda z: z**3, lambda z: 3 * z**2, label="cube", points=4)
    e, de = cube.expectations(q1, q2, c)
    assert rel(e, 9 * q1 * q2 * c + 6 * c**3) < 1e-13
    assert rel(de, 9 * (q1 * q2 + 2 * c**2)) < 1e-13
    # The larger variance goes first, so the rule is symmetric in its two inputs.
    tanh = activation("tanh", points=12)
    np.testing.assert_array_equal(tanh.expectations(q1, q2, c)[0], tanh.expectations(q2, q1, c)[0])


def test_custom_activation():
    softplus = custom_activation(lambda z: np.logaddexp(0.0, z), lambda z: 1 / (1 + np.exp(-z)),
                                 label="softplus")
    assert not softplus.closed_form and softplus.name == "custom"
    assert dict(softplus.params)["label"] == "softplus"
    other = custom_activation(lambda z: np.logaddexp(0.0, 2 * z), label="softplus")
    assert other != softplus                       # same label, different function
    assert softplus == custom_activation(lambda z: np.logaddexp(0.0, z), lambda z: 1 / (1 + np.exp(-z)),
                                         label="softplus")
    spec = KernelSpec("nngp", softplus, 2)
    assert spec.as_dict()["activation"] == "custom"
    json.dumps(spec.as_dict())
    with pytest.raises(WilsonianError, match="dphi"):
        KernelSpec("ntk", other, 2)
    with pytest.raises(WilsonianError, match="label"):
        custom_activation(np.tanh, label="")
    with pytest.raises(WilsonianError, match="vectorized"):
        custom_activation(lambda z: math.tanh(z), label="scalar-only")
    with pytest.raises(WilsonianError, match="custom_activation"):
        KernelSpec(activation="custom")


# ------------------------------------------------------------------------- parsing


def test_parse_activation_from_command_line_strings():
    act = parse_activation("leaky-relu", ["slope=0.1"])
    assert act.name == "leaky-relu" and act.params == (("slope", 0.1),)
    assert parse_activation("rectified-monomial", "degree=2").params == (("degree", 2),)
    assert parse_activation("monomial", {"degree": "3"}).params == (("degree", 3),)
    assert parse_activation("sin", ["a=1", "b=2.0"]).params == (("b", 2.0),)   # defaults dropped
    assert parse_activation("relu") == parse_activation("relu", [])
    assert parse_activation("tanh", ["points=40"]).points == 40
    assert set(ACTIVATIONS) >= {"relu", "erf", "leaky-relu", "abrelu", "abs", "gelu", "sin", "cos", "gaussian",
                                "sign", "rectified-monomial", "monomial", "tanh", "sigmoid"}


@pytest.mark.parametrize("name, params, match", [
    ("swish", None, "unknown activation 'swish'; choose one of relu"),
    ("ReLU", None, "unknown activation"),
    (None, None, "unknown activation"),
    ("custom", None, "custom_activation"),
    ("leaky-relu", None, "needs the parameter 'slope'"),
    ("abrelu", ["a=0.1"], "needs the parameter 'b'"),
    ("rectified-monomial", [], "needs the parameter 'degree'"),
    ("leaky-relu", ["slope=abc"], "slope must be a number, got 'abc'"),
    ("leaky-relu", ["slope=nan"], "slope must be a finite number"),
    ("monomial", ["degree=2.5"], "degree must be an integer"),
    ("monomial", ["degree=-1"], "degree must be an integer between 0 and 20"),
    ("monomial", ["degree=21"], "between 0 and 20"),
    ("gaussian", ["b=0.5"], "b must be a finite number < 0"),
    ("tanh", ["points=1"], "points must be an integer between 2 and 200"),
    ("relu", ["slope=0.1"], "'relu' has no parameter 'slope'; it takes no parameters"),
    ("sin", ["d=1"], "its parameters are a, b, c"),
    ("leaky-relu", ["slope"], "must be written name=value"),
    ("leaky-relu", ["=0.1"], "must be written name=value"),
    ("leaky-relu", ["slope=0.1", "slope=0.2"], "given twice"),
])
def test_parse_errors(name, params, match):
    with pytest.raises(WilsonianError, match=match):
        parse_activation(name, params)


def test_kernel_spec_records_parameters():
    spec = KernelSpec("ntk", "leaky-relu", 3, 1.5, 0.1, {"slope": "0.2"})
    assert spec.activation == "leaky-relu" and spec.activation_params == (("slope", 0.2),)
    record = spec.as_dict()
    assert record == {"kind": "ntk", "activation": "leaky-relu", "depth": 3, "weight_var": 1.5,
                      "bias_var": 0.1, "activation_params": {"slope": 0.2}}
    assert KernelSpec(**json.loads(json.dumps(record))) == spec
    assert KernelSpec(activation=activation("leaky-relu", slope=0.2), kind="ntk", depth=3, weight_var=1.5,
                      bias_var=0.1) == spec
    assert hash(spec) == hash(KernelSpec(**record))
    back = pickle.loads(pickle.dumps(spec))          # plain pickle: by name and parameters
    X = np.random.default_rng(0).standard_normal((5, 3))
    assert back == spec and np.array_equal(back.matrix(X), spec.matrix(X))
    assert KernelSpec("nngp", "sin", activation_params=["b=1"]).as_dict() == KernelSpec("nngp", "sin").as_dict()
    assert "activation_params" not in KernelSpec().as_dict()
    with pytest.raises(WilsonianError, match="slope"):
        KernelSpec(activation="leaky-relu")
    with pytest.raises(WilsonianError, match="either"):
        KernelSpec(activation=activation("leaky-relu", slope=0.2), activation_params={"slope": 0.3})
