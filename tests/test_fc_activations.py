"""Fully connected kernels for every activation (THEORY.md §2, §7).

- Every closed form and the quadrature path against THEORY §2 written out on whole
  matrices with ``Activation.expectations`` (the recursion, tiles, threads, symmetric and
  rectangular paths, exact diagonals), to 1e-12.
- A Monte Carlo of finite networks of width 600 for every activation: output covariance
  (NNGP) and the empirical NTK (gradients by hand) within 5 standard errors, rejecting the
  kernel of a network one layer shallower.
- neural-tangents, when importable, to round-off (skipped with the reason otherwise).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from wilsonian.errors import WilsonianError
from wilsonian.kernels import KernelSpec, activation, custom_activation, kernel_diagonal, nngp, ntk
from wilsonian.kernels import fully_connected as fc
from wilsonian.operators import TiledOperator

SOFTPLUS = custom_activation(lambda z: np.logaddexp(0.0, z), lambda z: 0.5 * (1 + np.tanh(z / 2)), label="softplus")

# (name, params, input scale): every activation; the scale keeps fast-growing φ moderate.
CASES = [
    ("leaky-relu", {"slope": 0.2}, 1.0), ("abrelu", {"a": -0.4, "b": 1.3}, 1.0), ("abs", {}, 1.0),
    ("erf", {"a": 1.2, "b": 0.7, "c": 0.3}, 1.0), ("gelu", {}, 1.0), ("sin", {"b": 1.3, "c": 0.4}, 1.0),
    ("cos", {"a": 1.1, "b": 0.9}, 1.0), ("gaussian", {"a": 1.5, "b": -0.6}, 1.0), ("exp", {"a": 0.6, "b": 0.5}, 0.7),
    ("sign", {}, 1.0), ("rectified-monomial", {"degree": 0}, 1.0), ("rectified-monomial", {"degree": 2}, 0.8),
    ("monomial", {"degree": 2}, 0.6), ("monomial", {"degree": 3}, 0.5), ("tanh", {}, 1.0), ("sigmoid", {}, 1.0),
    ("tanh", {"points": 32}, 1.0),
]


def ident(case):
    return case[0] + "".join(f"-{k}{v}" for k, v in case[1].items())


def make(case):
    return activation(case[0], **case[1])


def reference(X1, X2, kind, act, depth, weight_var, bias_var):
    """THEORY.md §2 on whole matrices; u = v (the diagonal) through Activation.variance."""
    X = X1 if X2 is None else np.vstack([X1, X2])
    K = weight_var * (X @ X.T) / X.shape[1] + bias_var
    theta = K.copy()
    for _ in range(depth):
        q = np.diag(K).copy()
        e, de = act.expectations(q[:, None], q[None, :], K)
        v, dv = act.variance(q)
        np.fill_diagonal(e, v)
        np.fill_diagonal(de, dv)
        K_next = weight_var * e + bias_var
        theta = K_next + weight_var * de * theta
        K = K_next
    out = theta if kind == "ntk" else K
    return out if X2 is None else out[: len(X1), len(X1):]


def kernel(kind, *args, **kw):
    return (ntk if kind == "ntk" else nngp)(*args, **kw)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((41, 9)) * rng.uniform(0.3, 1.5, size=(41, 1))
    X[7] = 0.0                                   # a zero input: q⁰ = 0 without bias
    Y = np.vstack([rng.standard_normal((12, 9)), X[:5] * 0.8])
    return X, Y


@pytest.mark.parametrize("kind", ["nngp", "ntk"])
@pytest.mark.parametrize("case", CASES + [("custom", {}, 1.0)], ids=ident)
def test_matches_reference(data, case, kind):
    X, Y = data
    act = SOFTPLUS if case[0] == "custom" else make(case)
    X, Y = case[2] * X, case[2] * Y
    for depth, bv in ((1, 0.0), (3, 0.15)):
        kw = dict(activation=act, depth=depth, weight_var=1.4, bias_var=bv)
        K = kernel(kind, X, **kw)
        ref = reference(X, None, kind, act, depth, 1.4, bv)
        scale = np.abs(ref).max()
        np.testing.assert_allclose(K, ref, rtol=0, atol=1e-12 * scale)
        np.testing.assert_array_equal(K, K.T)
        np.testing.assert_array_equal(np.diag(K), kernel_diagonal(X, kind=kind, **kw))
        # Rectangular. The last rows of Y are multiples of rows of X: |ρ| = 1 up to a round-off
        # δ, which ReLU-like NTKs turn into √δ (module notes of fully_connected), and sign and
        # the step into √δ per layer. Those columns are compared apart.
        R = kernel(kind, X, Y, **kw)
        ref = reference(X, Y, kind, act, depth, 1.4, bv)
        np.testing.assert_allclose(R[:, :12], ref[:, :12], rtol=0, atol=1e-12 * scale)
        if case[0] not in ("sign", "rectified-monomial"):
            np.testing.assert_allclose(R[:, 12:], ref[:, 12:], rtol=0, atol=1e-7 * scale)


@pytest.mark.parametrize("case", [CASES[4], CASES[14]], ids=ident)
def test_tiles_workers_out(data, case, monkeypatch, tmp_path):
    X, Y = data
    act = make(case)
    ref = reference(X, None, "ntk", act, 2, 1.3, 0.1)
    ref_rect = reference(X, Y, "ntk", act, 2, 1.3, 0.1)
    monkeypatch.setattr(fc, "_blas_threads", lambda: 2)
    for slice_entries, workers, tile in [(1, 1, 1), (40, 2, 7), (1 << 16, 2, 1000)]:
        monkeypatch.setattr(fc, "_SLICE_ENTRIES", slice_entries)
        monkeypatch.setattr(fc, "_MAX_WORKERS", workers)
        K = ntk(X, activation=act, depth=2, weight_var=1.3, bias_var=0.1, tile=tile)
        np.testing.assert_allclose(K, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
        np.testing.assert_array_equal(K, K.T)
        R = ntk(X, Y, activation=act, depth=2, weight_var=1.3, bias_var=0.1, tile=tile)
        np.testing.assert_allclose(R, ref_rect, rtol=0, atol=1e-12 * np.abs(ref).max())
    mm = np.memmap(tmp_path / "K.f64", dtype=np.float64, mode="w+", shape=(len(X), len(X)))
    assert ntk(X, activation=act, depth=2, weight_var=1.3, bias_var=0.1, out=mm, tile=5) is mm
    np.testing.assert_allclose(np.asarray(mm), ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_compiled_relu_and_erf_match_numpy_path(data):
    """The compiled path computes ReLU and erf too (erf with parameters): same numbers."""
    X, Y = data
    relu_compiled = activation("leaky-relu", slope=0.0)    # a·min(x, 0) + max(x, 0) with a = 0
    erf_compiled = activation("erf", c=1e-300)             # c² underflows: plain erf
    for kind in ("nngp", "ntk"):
        for mine, theirs in ((relu_compiled, "relu"), (erf_compiled, "erf")):
            K = kernel(kind, X, Y, activation=mine, depth=3, weight_var=1.6, bias_var=0.2)
            R = kernel(kind, X, Y, activation=theirs, depth=3, weight_var=1.6, bias_var=0.2)
            np.testing.assert_allclose(K, R, rtol=0, atol=1e-13 * np.abs(R).max())


def test_kernel_spec_with_operator(data):
    X, _ = data
    spec = KernelSpec("ntk", "gelu", 2, 1.5, 0.1)
    op = TiledOperator(X, spec, tile=9)
    V = np.random.default_rng(0).standard_normal((len(X), 3))
    K = spec.matrix(X)
    np.testing.assert_allclose(op.matmul(V), K @ V, rtol=1e-12, atol=1e-12 * np.abs(K @ V).max())
    np.testing.assert_array_equal(op.diagonal(), np.diag(K))
    assert op.cache_key()["kernel"]["activation"] == "gelu"
    assert op.cache_key()["kernel"] != TiledOperator(X, KernelSpec("ntk", "gelu", 2, 1.5, 0.2)).cache_key()["kernel"]


def test_bad_activation_arguments():
    X = np.ones((3, 2))
    with pytest.raises(WilsonianError, match="slope"):
        nngp(X, activation="leaky-relu")
    with pytest.raises(WilsonianError, match="unknown activation"):
        ntk(X, activation="swish")
    with pytest.raises(WilsonianError, match="dphi"):
        ntk(X, activation=custom_activation(np.tanh, label="tanh-no-derivative"))
    with pytest.raises(WilsonianError, match="has no parameter"):
        kernel_diagonal(X, activation="relu", activation_params={"slope": 1.0})


# ------------------------------------------------------- Monte Carlo of finite networks


MC_WIDTH = 600
MC_NETWORKS = 80
MC_OUTPUTS = 200
MC_NTK_OUTPUTS = 4
MC_DEPTH = 2
MC_WV, MC_BV = 1.5, 0.1


def monte_carlo_estimates():
    """Per-network NNGP and NTK estimates of every case at depths 1..MC_DEPTH.

    All cases share the weights (standard normals scaled at use, W = σ_w/√fan_in · Z) and go
    through one matrix product per layer; each applies its own φ. The NTK is the sum over
    all weights and biases (NTK parameterization) of ∂f(x)/∂p ∂f(x')/∂p, by backpropagation.
    """
    rng = np.random.default_rng(2024)
    d = 6
    x1 = rng.standard_normal(d)
    base = np.stack([x1, 0.9 * x1 + 0.45 * rng.standard_normal(d), 1.4 * rng.standard_normal(d),
                     -0.7 * x1 + 0.2 * rng.standard_normal(d)])
    acts = [make(c) for c in CASES]
    scales = np.array([c[2] for c in CASES])[:, None, None]
    H, n, W, O = len(CASES), len(base), MC_WIDTH, MC_NTK_OUTPUTS
    sw, sb = math.sqrt(MC_WV), math.sqrt(MC_BV)

    def each(fn_name, z):
        return np.stack([getattr(a, fn_name)(z[i]) for i, a in enumerate(acts)])

    est = {(L, kind): [] for kind in ("nngp", "ntk") for L in range(1, MC_DEPTH + 1)}
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        for _ in range(MC_NETWORKS):
            Z = [rng.standard_normal((d, W))] + [rng.standard_normal((W, W)) for _ in range(MC_DEPTH - 1)]
            bz = [rng.standard_normal(W) for _ in range(MC_DEPTH)]
            R = rng.standard_normal((W, MC_OUTPUTS))
            rb = rng.standard_normal(MC_OUTPUTS)
            hs, pre = [scales * base], []
            for layer in range(MC_DEPTH):
                fan = hs[-1].shape[-1]
                z = sw / math.sqrt(fan) * (hs[-1].reshape(-1, fan) @ Z[layer]).reshape(H, n, W) + sb * bz[layer]
                pre.append(z)
                hs.append(each("phi", z))
                L = layer + 1
                F = sw / math.sqrt(W) * (hs[L].reshape(H * n, W) @ R).reshape(H, n, -1) + sb * rb
                est[(L, "nngp")].append(F @ F.transpose(0, 2, 1) / MC_OUTPUTS)
                theta = MC_WV / W * hs[L] @ hs[L].transpose(0, 2, 1) + MC_BV
                D = sw / math.sqrt(W) * R[:, :O].T[None, :, None, :] * each("dphi", pre[L - 1])[:, None]
                for k in range(L - 1, -1, -1):
                    fan_k = hs[k].shape[-1]
                    dd = np.einsum("hoiw,hojw->hij", D, D) / O
                    theta = theta + (MC_WV / fan_k * hs[k] @ hs[k].transpose(0, 2, 1) + MC_BV) * dd
                    if k > 0:
                        back = (D.reshape(-1, W) @ Z[k].T).reshape(D.shape)
                        D = sw / math.sqrt(W) * back * each("dphi", pre[k - 1])[:, None]
                est[(L, "ntk")].append(theta)
    return base, {key: np.array(v) for key, v in est.items()}


@pytest.fixture(scope="module")
def monte_carlo():
    return monte_carlo_estimates()


def _z_scores(samples, exact):
    # Some estimates do not fluctuate (sign² = 1 on the diagonal): floor the error at round-off.
    se = samples.std(axis=0, ddof=1) / math.sqrt(len(samples))
    return (samples.mean(axis=0) - exact) / np.maximum(se, 1e-12 * np.abs(exact).max())


@pytest.mark.parametrize("kind", ["nngp", "ntk"])
@pytest.mark.parametrize("index", range(len(CASES)), ids=[ident(c) for c in CASES])
def test_monte_carlo_finite_networks(monte_carlo, index, kind):
    base, est = monte_carlo
    case = CASES[index]
    X = case[2] * base
    kw = dict(activation=make(case), weight_var=MC_WV, bias_var=MC_BV)
    for depth in range(1, MC_DEPTH + 1):
        z = _z_scores(est[(depth, kind)][:, index], kernel(kind, X, depth=depth, **kw))
        assert np.abs(z).max() < 5.0, f"depth {depth}: max |z| = {np.abs(z).max():.2f}"
    # Power: the kernel of a network one layer shallower is rejected.
    wrong = kernel(kind, X, depth=MC_DEPTH - 1, **kw)
    assert np.abs(_z_scores(est[(MC_DEPTH, kind)][:, index], wrong)).max() > 5.0


# ---------------------------------------------------------------- neural-tangents


def _stax():
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        from neural_tangents import stax
    except Exception as exc:  # not installed, or broken by a newer JAX
        pytest.skip(f"neural-tangents not usable here: {type(exc).__name__}: {exc}")
    return stax


def nt_layer(stax, act):
    """The neural-tangents layer of the same φ and conventions."""
    p = {"a": 1.0, "b": 1.0, "c": 0.0} | dict(act.params)
    name = act.name
    if name == "relu":
        return stax.Relu()
    if name == "leaky-relu":
        return stax.LeakyRelu(p["slope"])
    if name == "abrelu":
        return stax.ABRelu(p["a"], p["b"])
    if name == "abs":
        return stax.Abs()
    if name == "erf":
        return stax.Erf(p["a"], p["b"], p["c"])
    if name == "gelu":
        return stax.Gelu()
    if name == "sin":
        return stax.Sin(p["a"], p["b"], p["c"])
    if name == "cos":
        return stax.Cos(p["a"], p["b"], p["c"])
    if name == "gaussian":
        return stax.Gaussian(p["a"], dict(act.params).get("b", -1.0))
    if name == "exp":
        return stax.Exp(p["a"], p["b"])
    if name == "sign":
        return stax.Sign()
    if name == "rectified-monomial":
        return stax.RectifiedMonomial(p["degree"])
    if name == "monomial":
        return stax.Monomial(p["degree"])
    import jax.numpy as jnp

    fn = {"tanh": jnp.tanh, "sigmoid": lambda x: 1 / (1 + jnp.exp(-x))}[name]
    # Ours is the Hermite series unless ``points`` asks for the quadrature; theirs is always a
    # quadrature: with as many points as ours, or 128 against the series (at the layers'
    # variances here, 0.1-0.3, 32 points are off by 1.4e-10; ours and 128 points by ~1e-15).
    return stax.ElementwiseNumerical(fn, act.points or 128)


NT_CASES = [("relu", {}, 1.0), ("erf", {}, 1.0)] + CASES


@pytest.mark.parametrize("case", NT_CASES, ids=ident)
def test_neural_tangents(case):
    """Off the diagonal to 1e-11 of max |K| (standard-normal rows, d = 784, depth 3).

    Two neural-tangents 0.6.5 defects are worked around, not copied: its RectifiedMonomial
    divides by sin θ = 0 where cos θ rounds to 1 (NaN on part of the diagonal, and then
    everywhere from the second layer on), so it is compared at depth 1 off the diagonal;
    its sign and step kernels take arccos of cos θ = 1 − ulp on the diagonal, which the
    layers amplify to ~1e-2 at depth 3, where ours is exactly σ_w² + σ_b² (sign² = 1).
    """
    stax = _stax()
    import warnings

    act = make(case)
    rng = np.random.default_rng(11)
    X, Y = rng.standard_normal((30, 784)), rng.standard_normal((13, 784))
    if not act.closed_form:        # quadrature: small variances, where both rules are exact
        X, Y = X / np.sqrt(784), Y / np.sqrt(784)
    X, Y = case[2] * X, case[2] * Y
    wv, bv = 1.3, 0.1
    depth = 1 if act.name == "rectified-monomial" else 3
    discontinuous = act.name == "sign" or (act.name == "rectified-monomial" and dict(act.params)["degree"] == 0)
    dense = dict(W_std=math.sqrt(wv), b_std=math.sqrt(bv), parameterization="ntk")
    layers = [stax.Dense(512, **dense)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(depth):
            layers += [nt_layer(stax, act), stax.Dense(512, **dense)]
        kernel_fn = stax.serial(*layers)[2]
        for A, B in ((X, None), (X, Y)):
            ref = kernel_fn(A, B, ("nngp", "ntk"))
            for kind, theirs in (("nngp", ref.nngp), ("ntk", ref.ntk)):
                theirs = np.asarray(theirs, dtype=np.float64)
                ours = kernel(kind, A, B, activation=act, depth=depth, weight_var=wv, bias_var=bv)
                diag = np.eye(*theirs.shape, dtype=bool) if B is None else np.zeros(theirs.shape, dtype=bool)
                assert np.isfinite(theirs[~diag]).all()
                diff = np.abs(ours - theirs) / np.abs(theirs[~diag]).max()
                assert diff[~diag].max() < 1e-11, f"{kind}: {diff[~diag].max():.2e}"
                if B is None and act.name != "rectified-monomial" and not discontinuous:
                    # ours is the exact recursion, theirs arccos(1 − ulp): ReLU-like NTKs ~√ulp
                    assert diff[diag].max() < 1e-6, f"{kind} diagonal: {diff[diag].max():.2e}"
