"""Tests for wilsonian.kernels (THEORY.md §2).

- Monte Carlo over real finite-width networks (weights N(0, σ_w²/fan_in), biases N(0, σ_b²)):
  the output covariance (NNGP) and the empirical NTK (gradient inner products, computed by
  hand) agree with the closed forms within 5 standard errors, and reject a wrong depth.
- An independent whole-matrix implementation of the THEORY formulas: every tiled, symmetric,
  threaded and out= path agrees with it to 1e-12.
- Identities and limits: linear kernel at depth 0, homogeneity, parallel and antipodal
  inputs, closed-form diagonals, symmetry and positive semi-definiteness.
- neural-tangents, when importable, to round-off.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.special import erf

from wilsonian.kernels import fully_connected as kernels
from wilsonian.errors import WilsonianError
from wilsonian.kernels import KernelSpec, kernel_diagonal, nngp, ntk

HYPERS = [  # (activation, σ_w², σ_b²)
    ("relu", 2.0, 0.0),
    ("relu", 1.3, 0.2),
    ("erf", 2.0, 0.0),
    ("erf", 1.5, 0.25),
]


# ----------------------------------------------------------------- independent reference


def reference(X1, X2, kind, activation, depth, weight_var, bias_var):
    """THEORY.md §2 written out on whole matrices, with np.sin(θ) and no rescaling."""
    X = X1 if X2 is None else np.vstack([X1, X2])
    K = weight_var * (X @ X.T) / X.shape[1] + bias_var
    theta = K.copy()
    for _ in range(depth):
        q = np.diag(K).copy()
        qq = np.outer(q, q)
        if activation == "relu":
            cos = np.clip(K / np.sqrt(qq), -1.0, 1.0)
            ang = np.arccos(cos)
            e_phi = np.sqrt(qq) * (np.sin(ang) + (np.pi - ang) * cos) / (2 * np.pi)
            e_dphi = (np.pi - ang) / (2 * np.pi)
        else:
            aa = np.outer(1 + 2 * q, 1 + 2 * q)
            e_phi = (2 / np.pi) * np.arcsin(2 * K / np.sqrt(aa))
            e_dphi = (4 / np.pi) / np.sqrt(aa - 4 * K**2)
        K_next = weight_var * e_phi + bias_var
        theta = K_next + weight_var * theta * e_dphi
        K = K_next
    result = theta if kind == "ntk" else K
    if X2 is None:
        return result
    return result[: len(X1), len(X1):]


def kernel(kind, *args, **kw):
    return (ntk if kind == "ntk" else nngp)(*args, **kw)


def assert_close(actual, desired, rtol=1e-12):
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * np.abs(desired).max())


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(20240511)
    X = rng.standard_normal((37, 11)) * rng.uniform(0.3, 2.0, size=(37, 1))
    Y = rng.standard_normal((23, 11)) * rng.uniform(0.3, 2.0, size=(23, 1))
    return X, Y


# ------------------------------------------------------- Monte Carlo of finite networks


MC_WIDTH = 1000       # hidden width W: finite-width bias O(1/W) is well below the errors
MC_NETWORKS = 100     # independent networks
MC_OUTPUTS = 250      # readout units per network (iid given the hidden layers)
MC_NTK_OUTPUTS = 4    # readout units whose NTK is computed (averaged) per network
MC_DEPTH = 3


def _mc_inputs():
    rng = np.random.default_rng(7)
    d = 6
    x1 = rng.standard_normal(d)
    x2 = 0.9 * x1 + 0.45 * rng.standard_normal(d)   # strongly correlated with x1
    x3 = 1.6 * rng.standard_normal(d)               # larger norm, ~orthogonal
    x4 = -0.7 * x1 + 0.2 * rng.standard_normal(d)   # anti-correlated, smaller norm
    return np.stack([x1, x2, x3, x4])


def _phi(activation, z):
    return np.maximum(z, 0.0) if activation == "relu" else erf(z)


def _dphi(activation, z):
    return (z > 0).astype(float) if activation == "relu" else 2 / np.sqrt(np.pi) * np.exp(-z**2)


@pytest.fixture(scope="module")
def monte_carlo():
    """Per-network estimates of NNGP and NTK for every (hypers, depth) from real networks.

    One network has MC_DEPTH hidden layers of width W; the depth-L network is its first L
    hidden layers plus the readout. Weights are standard normals scaled at use:
    W = σ_w/√fan_in · Z (the same function in the standard and the NTK parameterization).
    NNGP estimate per network: output covariance averaged over its MC_OUTPUTS iid readout
    units. NTK estimate: Σ over all weights and biases (in NTK parameterization) of
    ∂f(x)/∂p ∂f(x')/∂p, averaged over MC_NTK_OUTPUTS readout units.
    """
    X = _mc_inputs()
    n, d = X.shape
    W, H, O = MC_WIDTH, len(HYPERS), MC_NTK_OUTPUTS
    # All hyperparameter sets go through one matrix product per layer (few, larger BLAS
    # calls), on one BLAS thread: tiny multi-threaded calls crawl on a busy machine.
    sw = np.sqrt([h[1] for h in HYPERS])[:, None, None]
    sb = np.sqrt([h[2] for h in HYPERS])[:, None, None]
    bv = np.array([h[2] for h in HYPERS])[:, None, None]

    def act(fn, z):  # apply each hyperparameter set's activation (or derivative)
        return np.stack([fn(h[0], z[i]) for i, h in enumerate(HYPERS)])

    rng = np.random.default_rng(12345)
    est = {(L, kind): [] for kind in ("nngp", "ntk") for L in range(1, MC_DEPTH + 1)}
    with _one_blas_thread():
        for _ in range(MC_NETWORKS):
            Z = [rng.standard_normal((d, W))] + [rng.standard_normal((W, W)) for _ in range(MC_DEPTH - 1)]
            bz = [rng.standard_normal(W) for _ in range(MC_DEPTH)]
            R = rng.standard_normal((W, MC_OUTPUTS))
            rb = rng.standard_normal(MC_OUTPUTS)
            hs, pre = [np.broadcast_to(X, (H, n, d))], []  # hs[k]: input of Dense k; pre[k]: z^k
            for layer in range(MC_DEPTH):
                fan = hs[-1].shape[-1]
                z = sw / math.sqrt(fan) * (hs[-1].reshape(H * n, fan) @ Z[layer]).reshape(H, n, W)
                pre.append(z + sb * bz[layer])
                hs.append(act(_phi, pre[-1]))
                L = layer + 1
                # NNGP: readout on h^L, output covariance over the iid readout units.
                F = sw / math.sqrt(W) * (hs[L].reshape(H * n, W) @ R).reshape(H, n, -1) + sb * rb
                est[(L, "nngp")].append(F @ F.transpose(0, 2, 1) / MC_OUTPUTS)
                # NTK: readout layer (δ = 1), then backpropagate δ through Dense L-1 .. 0.
                theta = sw**2 / W * hs[L] @ hs[L].transpose(0, 2, 1) + bv
                D = (sw / math.sqrt(W))[..., None] * R[:, :O].T[None, :, None, :] \
                    * act(_dphi, pre[L - 1])[:, None]                      # (H, O, n, W)
                for k in range(L - 1, -1, -1):
                    fan_k = hs[k].shape[-1]
                    dd = np.einsum("hoiw,hojw->hij", D, D) / O
                    theta = theta + (sw**2 / fan_k * hs[k] @ hs[k].transpose(0, 2, 1) + bv) * dd
                    if k > 0:
                        back = (D.reshape(-1, W) @ Z[k].T).reshape(D.shape)
                        D = (sw / math.sqrt(W))[..., None] * back * act(_dphi, pre[k - 1])[:, None]
                est[(L, "ntk")].append(theta)
    out = {}
    for (L, kind), samples in est.items():
        samples = np.array(samples)  # (networks, H, n, n)
        for i, hyp in enumerate(HYPERS):
            out[(hyp, kind, L)] = samples[:, i]
    return X, out


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _z_scores(samples, exact):
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / math.sqrt(len(samples))
    return (mean - exact) / se


@pytest.mark.parametrize("kind", ["nngp", "ntk"])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("hyp", HYPERS, ids=lambda h: f"{h[0]}-w{h[1]}-b{h[2]}")
def test_monte_carlo_finite_networks(monte_carlo, hyp, depth, kind):
    X, est = monte_carlo
    act, wv, bv = hyp
    exact = kernel(kind, X, activation=act, depth=depth, weight_var=wv, bias_var=bv)
    z = _z_scores(est[(hyp, kind, depth)], exact)
    assert np.abs(z).max() < 5.0, f"max |z| = {np.abs(z).max():.2f}"
    # The test has power: the kernel of a network one layer shallower is rejected.
    wrong = kernel(kind, X, activation=act, depth=depth - 1, weight_var=wv, bias_var=bv)
    assert np.abs(_z_scores(est[(hyp, kind, depth)], wrong)).max() > 5.0


# --------------------------------------------------- paths against the plain formulas


@pytest.mark.parametrize("kind", ["nngp", "ntk"])
@pytest.mark.parametrize("depth", [0, 1, 2, 3])
@pytest.mark.parametrize("hyp", HYPERS, ids=lambda h: f"{h[0]}-w{h[1]}-b{h[2]}")
def test_matches_reference_symmetric_and_rectangular(data, hyp, depth, kind):
    X, Y = data
    act, wv, bv = hyp
    kw = dict(activation=act, depth=depth, weight_var=wv, bias_var=bv)
    assert_close(kernel(kind, X, **kw), reference(X, None, kind, act, depth, wv, bv))
    assert_close(kernel(kind, X, Y, **kw), reference(X, Y, kind, act, depth, wv, bv))


@pytest.mark.parametrize("tile", [1, 3, 7, 36, 37, 1000])
@pytest.mark.parametrize("kind", ["nngp", "ntk"])
def test_tiles_slices_workers(data, kind, tile, monkeypatch):
    X, Y = data
    kw = dict(activation="relu", depth=2, weight_var=1.7, bias_var=0.1)
    ref_sym = reference(X, None, kind, "relu", 2, 1.7, 0.1)
    ref_rect = reference(X, Y, kind, "relu", 2, 1.7, 0.1)
    # Tiny slices so that tiles hold several slices; one worker, or two even on one core.
    monkeypatch.setattr(kernels, "_blas_threads", lambda: 2)
    for slice_entries, workers in [(1, 1), (40, 2), (1 << 16, 2)]:
        monkeypatch.setattr(kernels, "_SLICE_ENTRIES", slice_entries)
        monkeypatch.setattr(kernels, "_MAX_WORKERS", workers)
        K = kernel(kind, X, tile=tile, **kw)
        assert_close(K, ref_sym)
        np.testing.assert_array_equal(K, K.T)
        assert_close(kernel(kind, X, Y, tile=tile, **kw), ref_rect)


@pytest.mark.parametrize("kind", ["nngp", "ntk"])
def test_out_array_and_memmap(data, kind, tmp_path):
    X, Y = data
    kw = dict(activation="erf", depth=2, weight_var=1.5, bias_var=0.25)
    out = np.full((len(X), len(Y)), np.nan)
    res = kernel(kind, X, Y, out=out, **kw)
    assert res is out
    assert_close(out, reference(X, Y, kind, "erf", 2, 1.5, 0.25))
    mm = np.memmap(tmp_path / "K.f64", dtype=np.float64, mode="w+", shape=(len(X), len(X)))
    res = kernel(kind, X, out=mm, tile=5, **kw)
    assert res is mm
    mm.flush()
    back = np.fromfile(tmp_path / "K.f64").reshape(len(X), len(X))
    assert_close(back, reference(X, None, kind, "erf", 2, 1.5, 0.25))


@pytest.mark.parametrize("hyp", HYPERS, ids=lambda h: f"{h[0]}-w{h[1]}-b{h[2]}")
def test_x2_given_matches_symmetric_blocks(data, hyp):
    X, Y = data
    act, wv, bv = hyp
    kw = dict(activation=act, depth=3, weight_var=wv, bias_var=bv)
    XY = np.vstack([X, Y])
    for kind in ("nngp", "ntk"):
        full = kernel(kind, XY, **kw)
        assert_close(kernel(kind, X, Y, **kw), full[: len(X), len(X):])
        assert_close(kernel(kind, Y, X, **kw), full[len(X):, : len(X)])
    # X2 = X1: the NNGP is well conditioned; the ReLU NTK at cos θ ≈ 1 (the diagonal)
    # is only good to ~√ε (see the module notes), everything else to round-off.
    assert_close(nngp(X, X, **kw), nngp(X, **kw))
    K2, K1 = ntk(X, X, **kw), ntk(X, **kw)
    off = ~np.eye(len(X), dtype=bool)
    assert_close(K2[off], K1[off])
    np.testing.assert_allclose(np.diag(K2), np.diag(K1), rtol=1e-7)


@pytest.mark.parametrize("kind", ["nngp", "ntk"])
@pytest.mark.parametrize("hyp", HYPERS, ids=lambda h: f"{h[0]}-w{h[1]}-b{h[2]}")
def test_diagonal_matches_matrix(data, hyp, kind):
    X, _ = data
    act, wv, bv = hyp
    for depth in (0, 1, 4):
        kw = dict(activation=act, depth=depth, weight_var=wv, bias_var=bv)
        diag = kernel_diagonal(X, kind=kind, **kw)
        assert diag.shape == (len(X),)
        np.testing.assert_array_equal(np.diag(kernel(kind, X, **kw)), diag)
        assert_close(diag, np.diag(reference(X, None, kind, act, depth, wv, bv)))


@pytest.mark.parametrize("kind", ["nngp", "ntk"])
@pytest.mark.parametrize("hyp", HYPERS, ids=lambda h: f"{h[0]}-w{h[1]}-b{h[2]}")
def test_symmetric_positive_semidefinite(hyp, kind):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 8))
    X[1] = X[0]                    # a duplicated input makes K exactly singular
    act, wv, bv = hyp
    K = kernel(kind, X, activation=act, depth=3, weight_var=wv, bias_var=bv)
    np.testing.assert_array_equal(K, K.T)
    eig = np.linalg.eigvalsh(K)
    assert eig.min() >= -1e-12 * eig.max()


# ------------------------------------------------------------------ identities, limits


def test_depth_zero_is_linear_kernel(data):
    X, Y = data
    for kind in ("nngp", "ntk"):
        K = kernel(kind, X, Y, depth=0, weight_var=1.7, bias_var=0.3)
        assert_close(K, 1.7 * X @ Y.T / X.shape[1] + 0.3)


def test_relu_closed_form_diagonals(data):
    X, _ = data
    q0 = 2.0 * np.sum(X**2, axis=1) / X.shape[1]
    for L in range(5):
        # σ_w² = 2, σ_b = 0: q^L = q⁰ and Θ^L = q^L + 2·(1/2)·Θ^{L−1} = (L + 1) q⁰.
        assert_close(kernel_diagonal(X, depth=L), q0, rtol=1e-14)
        assert_close(kernel_diagonal(X, kind="ntk", depth=L), (L + 1) * q0, rtol=1e-14)
    # General σ_w²: q^L = (σ_w²/2)^L q⁰.
    assert_close(kernel_diagonal(X, depth=3, weight_var=1.2), 0.6**3 * 1.2 / 2.0 * q0, rtol=1e-14)


def test_relu_depth_one_arc_cosine(data):
    """Cho & Saul's arc-cosine kernel of degree 1, written with arctan2."""
    X, Y = data
    nx, ny = np.linalg.norm(X, axis=1), np.linalg.norm(Y, axis=1)
    cos = (X @ Y.T) / np.outer(nx, ny)
    ang = np.arctan2(np.sqrt(np.maximum(0.0, 1 - cos**2)), cos)
    # σ_w² = 2: K¹ = σ_w² √(q q') J(θ)/(2π) with √(q q') = 2|x||x'|/d.
    expected = 2 * np.outer(nx, ny) / X.shape[1] * (np.sin(ang) + (np.pi - ang) * cos) / np.pi
    assert_close(nngp(X, Y, depth=1, weight_var=2.0), expected, rtol=1e-11)


def test_relu_homogeneity_without_bias(data):
    X, Y = data
    for kind in ("nngp", "ntk"):
        K = kernel(kind, X, Y, depth=3, weight_var=1.4)
        assert_close(kernel(kind, 2.5 * X, Y, depth=3, weight_var=1.4), 2.5 * K)


def test_parallel_and_antipodal_inputs(data):
    X, _ = data
    x = X[:1]
    # x' = c x: cos θ = 1 in every layer, so K^L(x, cx) = c q^L(x) (σ_b = 0, ReLU).
    for kind in ("nngp", "ntk"):
        diag = kernel_diagonal(x, kind=kind, depth=3, weight_var=2.0)
        np.testing.assert_allclose(kernel(kind, x, 3.0 * x, depth=3), 3.0 * diag[:, None],
                                   rtol=1e-7)  # NTK: arccos at cos θ ≈ 1, see module notes
    # x' = −x, σ_w² = 2, σ_b = 0: θ = π in layer 1, where sin θ + (π − θ) cos θ = 0, so
    # K¹ = 0; then θ = π/2 in layer 2, where it is 1, so K² = σ_w² q/(2π) = q/π.
    q = kernel_diagonal(x, depth=0)[0]
    np.testing.assert_allclose(nngp(x, -x, depth=1), 0.0, atol=1e-12 * q)
    np.testing.assert_allclose(nngp(x, -x, depth=2), q / np.pi, rtol=1e-12)
    # erf is odd: K^L(x, −x) = −K^L(x, x) without bias.
    for kind in ("nngp", "ntk"):
        np.testing.assert_allclose(kernel(kind, x, -x, activation="erf", depth=3),
                                   -kernel(kind, x, x, activation="erf", depth=3), rtol=1e-12)


def test_erf_small_inputs_linearize(data):
    X, Y = data
    eps = 1e-4
    # erf(u) ≈ 2u/√π for small u: each layer multiplies the kernel by σ_w² (4/π).
    K = nngp(eps * X, eps * Y, activation="erf", depth=2, weight_var=1.5)
    linear = (1.5 * 4 / np.pi) ** 2 * 1.5 * eps**2 * X @ Y.T / X.shape[1]
    assert_close(K, linear, rtol=1e-6)


def test_zero_input_without_bias():
    X = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, -1.0], [0.5, -1.0, 2.0]])
    for act in ("relu", "erf"):
        for kind in ("nngp", "ntk"):
            K = kernel(kind, X, activation=act, depth=2)
            assert np.isfinite(K).all()
            np.testing.assert_array_equal(K[0], 0.0)
            np.testing.assert_array_equal(K[:, 0], 0.0)
            assert_close(K[1:, 1:], reference(X[1:], None, kind, act, 2, 2.0, 0.0))
            # With a bias the zero input is an ordinary input.
            Kb = kernel(kind, X, activation=act, depth=2, bias_var=0.1)
            assert_close(Kb, reference(X, None, kind, act, 2, 2.0, 0.1))


def test_input_conversions(data):
    X, _ = data
    K = nngp(X)
    assert K.dtype == np.float64
    assert_close(nngp(np.asfortranarray(X)), K, rtol=1e-13)
    assert_close(nngp(X.tolist()), K, rtol=1e-13)
    wide = np.repeat(X, 2, axis=1)
    assert_close(nngp(wide[:, ::2]), K, rtol=1e-13)  # non-contiguous view
    ints = np.arange(12).reshape(4, 3)
    assert_close(nngp(ints), nngp(ints.astype(float)), rtol=1e-15)


def test_progress_bar_on_stderr(data, capsys):
    X, _ = data
    K = nngp(X, tile=5, progress=True)
    err = capsys.readouterr().err
    assert "tiles" in err
    assert_close(K, nngp(X))
    nngp(X)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------------ KernelSpec


def test_kernel_spec(data):
    X, Y = data
    spec = KernelSpec(kind="ntk", activation="erf", depth=3, weight_var=1.5, bias_var=0.25)
    kw = dict(activation="erf", depth=3, weight_var=1.5, bias_var=0.25)
    np.testing.assert_array_equal(spec.matrix(X, Y), ntk(X, Y, **kw))
    np.testing.assert_array_equal(spec.diagonal(X), kernel_diagonal(X, kind="ntk", **kw))
    record = spec.as_dict()
    assert record == {"kind": "ntk", "activation": "erf", "depth": 3, "weight_var": 1.5,
                      "bias_var": 0.25}
    assert KernelSpec(**json.loads(json.dumps(record))) == spec
    assert KernelSpec().as_dict() == {"kind": "nngp", "activation": "relu", "depth": 2,
                                      "weight_var": 2.0, "bias_var": 0.0}
    with pytest.raises(AttributeError):
        spec.depth = 4  # frozen
    with pytest.raises(WilsonianError):
        KernelSpec(kind="gp")
    with pytest.raises(WilsonianError):
        KernelSpec(depth=-1)


# ------------------------------------------------------------------------ validation


GOOD = np.ones((3, 2))


@pytest.mark.parametrize("kwargs", [
    dict(activation="swish"), dict(activation=None), dict(activation="ReLU"),
    dict(depth=-1), dict(depth=1.5), dict(depth=True), dict(depth="2"),
    dict(weight_var=0.0), dict(weight_var=-1.0), dict(weight_var=np.nan), dict(weight_var=np.inf),
    dict(weight_var="2"), dict(bias_var=-0.1), dict(bias_var=np.nan), dict(bias_var=np.inf),
    dict(tile=0), dict(tile=-3), dict(tile=2.5),
], ids=repr)
def test_bad_hyperparameters(kwargs):
    kwargs = dict(kwargs)
    for fn in (nngp, ntk):
        with pytest.raises(WilsonianError):
            fn(GOOD, **kwargs)
    kwargs.pop("tile", None)
    if kwargs:
        with pytest.raises(WilsonianError):
            kernel_diagonal(GOOD, **kwargs)


@pytest.mark.parametrize("X1, X2", [
    (np.ones(3), None),
    (np.ones((2, 3, 4)), None),
    (np.ones((0, 3)), None),
    (np.ones((3, 0)), None),
    (np.array([[1.0, np.nan]]), None),
    (np.array([[1.0, np.inf]]), None),
    (np.ones((2, 2), dtype=complex), None),
    (np.array([["a", "b"]]), None),
    ([[1.0, 2.0], [3.0]], None),
    (GOOD, np.ones((2, 3))),
    (GOOD, np.array([[np.nan, 1.0]])),
], ids=range(11))
def test_bad_inputs(X1, X2):
    with pytest.raises(WilsonianError) as err:
        nngp(X1, X2)
    assert isinstance(err.value, ValueError)
    assert str(err.value).endswith(".")


def test_bad_out_and_kind():
    with pytest.raises(WilsonianError):
        nngp(GOOD, out=np.empty((3, 2)))
    with pytest.raises(WilsonianError):
        nngp(GOOD, out=np.empty((3, 3), dtype=np.float32))
    ro = np.empty((3, 3))
    ro.flags.writeable = False
    with pytest.raises(WilsonianError):
        nngp(GOOD, out=ro)
    with pytest.raises(WilsonianError):
        nngp(GOOD, out=[[0.0] * 3] * 3)
    with pytest.raises(WilsonianError):
        kernel_diagonal(GOOD, kind="gp")


# ---------------------------------------------------------------- neural-tangents


def _neural_tangents_kernel_fn(activation, depth, weight_var, bias_var):
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        from neural_tangents import stax
    except Exception as exc:  # not installed, or broken by a newer JAX
        pytest.skip(f"neural-tangents not usable here: {type(exc).__name__}: {exc}")
    act = stax.Relu() if activation == "relu" else stax.Erf()
    dense = dict(W_std=math.sqrt(weight_var), b_std=math.sqrt(bias_var), parameterization="ntk")
    layers = [stax.Dense(512, **dense)]
    for _ in range(depth):
        layers += [act, stax.Dense(512, **dense)]
    return stax.serial(*layers)[2]


def _compare_neural_tangents(X, Y, activation, depth, weight_var, bias_var, rtol):
    """Max relative differences {(kind, "off-diagonal" | "diagonal"): value}, asserted.

    Off the diagonal the two must agree to round-off (``rtol``). On the diagonal of the
    symmetric ReLU NTK, neural-tangents evaluates arccos at a cos θ that round-off puts a
    hair below 1, which moves E[φ'φ'] by ~√ε (module notes); ours is the exact recursion
    (checked against the closed form in test_relu_closed_form_diagonals), so 1e-7 there.
    """
    kernel_fn = _neural_tangents_kernel_fn(activation, depth, weight_var, bias_var)
    kw = dict(activation=activation, depth=depth, weight_var=weight_var, bias_var=bias_var)
    worst = {}
    for A, B in ((X, None), (X, Y)):
        ref = kernel_fn(A, B, ("nngp", "ntk"))
        for kind, ours, theirs in (("nngp", nngp(A, B, **kw), ref.nngp), ("ntk", ntk(A, B, **kw), ref.ntk)):
            theirs = np.asarray(theirs, dtype=np.float64)
            rel = np.abs(ours - theirs) / np.abs(theirs).max()
            on_diag = np.eye(*rel.shape, dtype=bool) if B is None else np.zeros(rel.shape, dtype=bool)
            for where, mask in (("off-diagonal", ~on_diag), ("diagonal", on_diag)):
                if mask.any():
                    key = (kind, where)
                    worst[key] = max(worst.get(key, 0.0), float(rel[mask].max()))
    for (kind, where), value in worst.items():
        bound = 1e-7 if (where == "diagonal" and kind == "ntk" and activation == "relu") else rtol
        assert value <= bound, f"{kind} {where}: {value:.2e}"
    return worst


@pytest.mark.parametrize("hyp", HYPERS, ids=lambda h: f"{h[0]}-w{h[1]}-b{h[2]}")
def test_neural_tangents_small(hyp):
    rng = np.random.default_rng(11)
    X, Y = rng.standard_normal((40, 784)), rng.standard_normal((17, 784))
    act, wv, bv = hyp
    _compare_neural_tangents(X, Y, act, 3, wv, bv, rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_neural_tangents_fashion_size(activation):
    """N = 2,000, d = 784 unit-norm rows, depth 2: to round-off."""
    rng = np.random.default_rng(12)
    X = rng.standard_normal((2000, 784))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y = X[:100] + 0.1 * rng.standard_normal((100, 784))
    worst = _compare_neural_tangents(X, Y, activation, 2, 2.0, 0.05, rtol=1e-11)
    print(f"\nneural-tangents vs wilsonian, {activation}, N=2000, d=784, max |diff|/max|K|: "
          + ", ".join(f"{k} {w}: {v:.1e}" for (k, w), v in worst.items()))


def test_a_bar_in_a_log_file_redraws_seldom(monkeypatch, capsys):
    """Where stderr is not a terminal (a batch job's log), a bar redraws at most every
    LOG_INTERVAL_S seconds instead of ten times a second; on a terminal tqdm's default holds."""
    import sys
    import time

    from wilsonian import _progress

    bar = _progress.progress_bar(total=3, desc="x")
    assert bar.mininterval == _progress.LOG_INTERVAL_S and bar.fp is not None
    bar.close()
    for _ in _progress.progress_iter(range(4), "y", True):
        time.sleep(0.15)      # beyond tqdm's default 0.1 s: on a terminal, one redraw per step
    assert capsys.readouterr().err.count("y:") <= 2     # its first and last state, not every step
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    bar = _progress.progress_bar(total=3, desc="x", mininterval=0.5)
    assert bar.mininterval == 0.5
    bar.close()
