"""Convolutional NNGP and NTK (THEORY.md §7): wilsonian.kernels.conv.

- A brute-force NumPy reference written from THEORY §7 on the whole (input, position) ×
  (input, position) covariance matrix: every padding, readout, kind, filter size, depth,
  channel count and layout agrees to 1e-12.
- A Monte Carlo of finite-width CNNs (256 channels): output covariance and the empirical
  NTK (weight gradients by hand) within 5 standard errors; one layer fewer is rejected.
- neural-tangents' stax.Conv networks, when importable, to round-off.
- Bad input: image shape missing or wrong, filter larger than the image, 'valid' layers
  that shrink the image to nothing, bad readout/padding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from wilsonian.data import Pool
from wilsonian.errors import WilsonianError
from wilsonian.kernels import ConvKernel, activation, conv_nngp, conv_ntk
from wilsonian.operators import TiledOperator


def reference(X, image_shape, kind="nngp", activation_=None, depth=2, filter_size=3, padding="same",
              readout="flatten", weight_var=2.0, bias_var=0.0):
    """THEORY.md §7 on the full covariance K[(i, p), (j, p')] of all inputs and positions."""
    act = activation_ or activation("relu")
    H, W, C = image_shape
    n, f = len(X), filter_size
    pad = (f - 1) // 2 if padding == "same" else 0

    def size(h):
        return h if padding == "same" else h - f + 1

    def conv(M, h, w, scale):
        """Σ_δ M[(i, p+δ), (j, p'+δ)] over the window (zero outside), times scale."""
        ho, wo = size(h), size(w)
        out = np.zeros((n, ho, wo, n, ho, wo))
        for dh in range(f):
            for dw in range(f):
                rows = np.arange(ho) + dh - pad
                cols = np.arange(wo) + dw - pad
                oa, ob = np.flatnonzero((rows >= 0) & (rows < h)), np.flatnonzero((cols >= 0) & (cols < w))
                ia, ib = rows[oa], cols[ob]
                out[np.ix_(range(n), oa, ob, range(n), oa, ob)] += M[np.ix_(range(n), ia, ib, range(n), ia, ib)]
        return scale * out

    images = X.reshape(n, H, W, C)
    K = conv(np.einsum("ihwc,jklc->ihwjkl", images, images), H, W, weight_var / (C * f * f)) + bias_var
    T = K.copy()
    h, w = size(H), size(W)
    for layer in range(depth):
        q = np.einsum("ihwihw->ihw", K)
        e, de = act.expectations(q[:, :, :, None, None, None], q[None, None, None], K)
        v, dv = act.variance(q)                 # u = v exactly where input and position coincide
        e6, de6 = e.reshape(n * h * w, -1), de.reshape(n * h * w, -1)
        np.fill_diagonal(e6, v.ravel())
        np.fill_diagonal(de6, dv.ravel())
        if layer == depth - 1:
            P = h * w
            if readout == "flatten":
                k = weight_var / P * np.einsum("ihwjhw->ij", e) + bias_var
                t = k + weight_var / P * np.einsum("ihwjhw->ij", de * T)
            else:
                k = weight_var / P**2 * e.sum(axis=(1, 2, 4, 5)) + bias_var
                t = k + weight_var / P**2 * (de * T).sum(axis=(1, 2, 4, 5))
            return t if kind == "ntk" else k
        K_next = conv(e, h, w, weight_var / (f * f)) + bias_var
        T = K_next + conv(de * T, h, w, weight_var / (f * f))
        K = K_next
        h, w = size(h), size(w)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((7, 5 * 6 * 2)) * rng.uniform(0.5, 1.5, size=(7, 1))
    X[4] = 0.0
    return X


CONFIGS = [  # (padding, filter, depth)
    ("same", 3, 2), ("valid", 3, 2), ("same", 2, 3), ("valid", 2, 1), ("same", 1, 2),
]
ACTS = [("relu", {}), ("erf", {"b": 0.8}), ("gelu", {}), ("abs", {}), ("tanh", {"points": 16})]


@pytest.mark.parametrize("readout", ["flatten", "gap"])
@pytest.mark.parametrize("kind", ["nngp", "ntk"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c[0]}-f{c[1]}-L{c[2]}")
def test_matches_reference(images, config, kind, readout):
    padding, f, depth = config
    X = images
    for name, params in ACTS:
        act = activation(name, **params)
        Xa = X / 3.0 if name == "tanh" else X     # quadrature is exact for small variances
        kw = dict(kind=kind, depth=depth, filter_size=f, padding=padding, readout=readout, weight_var=1.7,
                  bias_var=0.2)
        ref = reference(Xa, (5, 6, 2), activation_=act, **kw)
        kernel = ConvKernel((5, 6, 2), activation=act, **kw)
        K = kernel.matrix(Xa)
        tol = 1e-12 * np.abs(ref).max()
        np.testing.assert_allclose(K, ref, rtol=0, atol=tol, err_msg=name)
        np.testing.assert_array_equal(K, K.T)
        np.testing.assert_array_equal(np.diag(K), kernel.diagonal(Xa))
        # rectangular, against different images (identical rows would sit at ρ = 1 ± ulp)
        R = kernel.matrix(Xa[:3], Xa[3:])
        np.testing.assert_allclose(R, ref[:3, 3:], rtol=0, atol=tol, err_msg=name)


def test_channels_first_tiles_threads_and_out(images, tmp_path, monkeypatch):
    X = images
    hwc = X.reshape(7, 5, 6, 2)
    chw = hwc.transpose(0, 3, 1, 2).reshape(7, -1)
    for readout in ("flatten", "gap"):
        kernel = ConvKernel((5, 6, 2), "ntk", "gelu", 2, readout=readout, bias_var=0.1)
        K = kernel.matrix(X)
        first = ConvKernel((5, 6, 2), "ntk", "gelu", 2, readout=readout, bias_var=0.1, channels_first=True)
        np.testing.assert_allclose(first.matrix(chw), K, rtol=1e-14)
        from wilsonian.kernels import conv

        monkeypatch.setattr(conv, "blas_threads", lambda: 2)
        monkeypatch.setattr(conv, "_BLOCK_ENTRIES", 40)
        for tile in (1, 2, 5):
            np.testing.assert_allclose(kernel.matrix(X, tile=tile), K, rtol=1e-14, atol=1e-14 * np.abs(K).max())
            np.testing.assert_array_equal(kernel.matrix(X, tile=tile), kernel.matrix(X, tile=tile).T)
        monkeypatch.undo()
        mm = np.memmap(tmp_path / f"{readout}.f64", dtype=np.float64, mode="w+", shape=(7, 7))
        assert kernel.matrix(X, out=mm) is mm
        np.testing.assert_array_equal(np.asarray(mm), K)
        # the operators take it: matrix-free products equal the dense ones
        op = TiledOperator(X, kernel, tile=3)
        V = np.random.default_rng(1).standard_normal((7, 2))
        np.testing.assert_allclose(op.matmul(V), K @ V, rtol=1e-12, atol=1e-12 * np.abs(K @ V).max())
        assert op.cache_key()["kernel"]["family"] == "conv"
    assert conv_nngp(X, image_shape=(5, 6, 2), readout="gap").shape == (7, 7)
    np.testing.assert_array_equal(conv_ntk(X[:2], X[2:], image_shape=(5, 6, 2)),
                                  ConvKernel((5, 6, 2), "ntk").matrix(X[:2], X[2:]))


def test_flat_and_single_pixel_limits():
    """1×1 filters on 1×1 images are a fully connected network with d = C."""
    from wilsonian.kernels import nngp, ntk

    rng = np.random.default_rng(4)
    X = rng.standard_normal((9, 5))
    for kind, fn in (("nngp", nngp), ("ntk", ntk)):
        for readout in ("flatten", "gap"):
            K = ConvKernel((1, 1, 5), kind, "gelu", 3, filter_size=1, readout=readout, weight_var=1.3,
                           bias_var=0.2).matrix(X)
            np.testing.assert_allclose(K, fn(X, activation="gelu", depth=3, weight_var=1.3, bias_var=0.2),
                                       rtol=1e-13)


def test_as_dict_and_validation():
    k = ConvKernel((28, 28), "ntk", "leaky-relu", 3, 5, "valid", "gap", 1.5, 0.1, {"slope": 0.1})
    assert k.image_shape == (28, 28, 1)
    assert k.as_dict() == {"family": "conv", "kind": "ntk", "activation": "leaky-relu",
                           "activation_params": {"slope": 0.1}, "depth": 3, "filter_size": 5,
                           "padding": "valid", "readout": "gap", "weight_var": 1.5, "bias_var": 0.1,
                           "image_shape": [28, 28, 1], "channels_first": False}
    assert ConvKernel(**{k: v for k, v in k.as_dict().items() if k != "family"}) == k
    with pytest.raises(WilsonianError, match="need the image shape"):
        ConvKernel(None, readout="gap")
    with pytest.raises(WilsonianError, match="image_shape must be"):
        ConvKernel((28,))
    with pytest.raises(WilsonianError, match="larger than the 8×8 images"):
        ConvKernel((8, 8, 1), filter_size=9)
    with pytest.raises(WilsonianError, match="shrink 8×8 images to nothing"):
        ConvKernel((8, 8, 1), depth=4, filter_size=3, padding="valid")
    with pytest.raises(WilsonianError, match="readout must be one of flatten, gap"):
        ConvKernel((8, 8, 1), readout="max")
    with pytest.raises(WilsonianError, match="padding must be"):
        ConvKernel((8, 8, 1), padding="full")
    with pytest.raises(WilsonianError, match="depth must be a positive integer"):
        ConvKernel((8, 8, 1), depth=0)
    with pytest.raises(WilsonianError, match="slope"):
        ConvKernel((8, 8, 1), activation="leaky-relu")
    with pytest.raises(WilsonianError, match="64 features per row but image_shape"):
        ConvKernel((4, 4, 3)).matrix(np.ones((3, 64)))


def test_pool_image_shape():
    X = np.zeros((3, 12))
    assert Pool(X, np.ones(3), {"input_shape": [3, 4]}).image_shape == (3, 4, 1)
    cifar = Pool(X, np.ones(3), {"input_shape": [3, 2, 2], "dataset": "cifar10"})
    assert cifar.image_shape == (2, 2, 3) and cifar.channels_first
    assert Pool(X, np.ones(3), {"input_shape": [2, 2, 3], "dataset": "npz"}).image_shape == (2, 2, 3)
    assert Pool(X, np.ones(3), {"input_shape": [12], "dataset": "gaussian"}).image_shape is None
    assert Pool(X, np.ones(3), {}).image_shape is None
    from wilsonian.data import build_pool

    from wilsonian.spectrum import topk_spectrum

    pool = build_pool("digits", n_pool=20)
    assert pool.image_shape == (8, 8, 1) and not pool.channels_first
    kernel = ConvKernel(pool.image_shape, readout="gap")
    K = kernel.matrix(pool.X)
    eig = np.linalg.eigvalsh(K)
    assert np.all(eig > -1e-12 * np.abs(K).max())
    # the matrix-free top-k solver takes it like any kernel (eigenvalues of K/N)
    top = topk_spectrum(pool.X, pool.y, kernel, 4)
    np.testing.assert_allclose(top.eigenvalues, eig[::-1][:4] / 20, rtol=1e-8)


# ------------------------------------------------------- Monte Carlo of finite CNNs


def _patches(h, f, pad, out_hw):
    """(n, Ho·Wo, f·f·C): the input window of every output position (zero padded)."""
    n, H, W, C = h.shape
    Ho, Wo = out_hw
    padded = np.zeros((n, H + f - 1, W + f - 1, C))
    padded[:, pad:pad + H, pad:pad + W] = h
    cols = [padded[:, dh:dh + Ho, dw:dw + Wo] for dh in range(f) for dw in range(f)]
    return np.stack(cols, axis=3).reshape(n, Ho * Wo, f * f * C)


def _unpatch(d, shape, f, pad, out_hw):
    """The transpose of _patches: scatter-add window gradients back onto the input grid."""
    n, H, W, C = shape
    Ho, Wo = out_hw
    d = d.reshape(n, Ho, Wo, f * f, C)
    padded = np.zeros((n, H + f - 1, W + f - 1, C))
    for k, (dh, dw) in enumerate((a, b) for a in range(f) for b in range(f)):
        padded[:, dh:dh + Ho, dw:dw + Wo] += d[:, :, :, k]
    return padded[:, pad:pad + H, pad:pad + W]


MC_CASES = [  # (activation, padding, readout, image shape)
    ("relu", "same", "flatten", (5, 5, 2)),
    ("erf", "valid", "gap", (6, 6, 1)),
    ("gelu", "valid", "flatten", (5, 6, 2)),
    ("sin", "same", "gap", (4, 4, 2)),
]
MC_WIDTH, MC_NETWORKS, MC_NTK_OUTPUTS, MC_WV, MC_BV = 256, 60, 2, 1.6, 0.1


def cnn_monte_carlo_estimates():
    """Per-network NNGP and NTK estimates of 2-layer CNNs (3×3 filters) and their 1-layer
    prefixes, weights standard normal scaled by σ_w/√(f² C_in) (NTK parameterization).

    NNGP estimate of one network: the output covariance averaged over its (Gaussian) readout
    weights given its hidden layers, σ_w² ⟨h, h'⟩/fan_in + σ_b², which is exact. NTK estimate:
    Σ over all parameters of ∂f(x)/∂p ∂f(x')/∂p for MC_NTK_OUTPUTS sampled readout units,
    with the conv weight gradients written as Σ_{p,p'} (a_p·a'_{p'})(δ_p·δ'_{p'}) (a the input
    windows, δ the backpropagated pre-activation gradients).
    """
    rng = np.random.default_rng(77)
    sw, sb, f = math.sqrt(MC_WV), math.sqrt(MC_BV), 3
    results = {}
    from threadpoolctl import threadpool_limits

    def pair_sums(G, n, P):     # Σ_{p,p'} G[(i, p), (j, p')] → (n, n)
        return G.reshape(n, P, n, P).sum(axis=(1, 3))

    for name, padding, readout, shape in MC_CASES:
        act = activation(name)
        H, W, C = shape
        n = 4
        X = rng.standard_normal((n, H * W * C)) * 0.8
        X[1] = 0.8 * X[0] + 0.3 * rng.standard_normal(H * W * C)
        pad = (f - 1) // 2 if padding == "same" else 0
        est = {(L, kind): [] for L in (1, 2) for kind in ("nngp", "ntk")}
        with threadpool_limits(1, user_api="blas"):
            for _ in range(MC_NETWORKS):
                h, caches = X.reshape(n, H, W, C), []
                for layer in range(2):
                    out_hw = h.shape[1:3] if padding == "same" else (h.shape[1] - f + 1, h.shape[2] - f + 1)
                    A = _patches(h, f, pad, out_hw)
                    fan = A.shape[2]
                    Wt, b = rng.standard_normal((fan, MC_WIDTH)), rng.standard_normal(MC_WIDTH)
                    z = sw / math.sqrt(fan) * A @ Wt + sb * b
                    flat = A.reshape(-1, fan)
                    caches.append((Wt, fan, z, h.shape, out_hw, flat @ flat.T))
                    h = act.phi(z).reshape(n, *out_hw, MC_WIDTH)
                    P = out_hw[0] * out_hw[1]
                    feats = h.reshape(n, -1) if readout == "flatten" else h.mean(axis=(1, 2))
                    fan_r = feats.shape[1]
                    theta = MC_WV / fan_r * feats @ feats.T + MC_BV
                    est[(layer + 1, "nngp")].append(theta.copy())
                    R = rng.standard_normal((fan_r, MC_NTK_OUTPUTS))
                    for o in range(MC_NTK_OUTPUTS):
                        g = sw / math.sqrt(fan_r) * R[:, o]
                        dh = (np.broadcast_to(g.reshape(1, *out_hw, MC_WIDTH), h.shape) if readout == "flatten"
                              else np.broadcast_to(g / P, h.shape))
                        for k in range(layer, -1, -1):
                            Wk, fan_k, zk, in_shape, hw, GA = caches[k]
                            D = dh.reshape(n, -1, MC_WIDTH) * act.dphi(zk)
                            Pk = D.shape[1]
                            GD = D.reshape(-1, MC_WIDTH) @ D.reshape(-1, MC_WIDTH).T
                            theta = theta + (MC_WV / fan_k * pair_sums(GA * GD, n, Pk)
                                             + MC_BV * pair_sums(GD, n, Pk)) / MC_NTK_OUTPUTS
                            if k > 0:
                                dh = _unpatch(sw / math.sqrt(fan_k) * D @ Wk.T, in_shape, f, pad, hw)
                    est[(layer + 1, "ntk")].append(theta)
        results[name] = (X, {key: np.array(v) for key, v in est.items()})
    return results


@pytest.fixture(scope="module")
def cnn_monte_carlo():
    return cnn_monte_carlo_estimates()


@pytest.mark.parametrize("kind", ["nngp", "ntk"])
@pytest.mark.parametrize("case", MC_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_monte_carlo_finite_cnns(cnn_monte_carlo, case, kind):
    name, padding, readout, shape = case
    X, est = cnn_monte_carlo[name]
    kw = dict(kind=kind, activation=name, filter_size=3, padding=padding, readout=readout, weight_var=MC_WV,
              bias_var=MC_BV)
    for depth in (1, 2):
        samples = est[(depth, kind)]
        exact = ConvKernel(shape, depth=depth, **kw).matrix(X)
        z = (samples.mean(axis=0) - exact) / (samples.std(axis=0, ddof=1) / math.sqrt(len(samples)))
        assert np.abs(z).max() < 5.0, f"depth {depth}: max |z| = {np.abs(z).max():.2f}"
    wrong = ConvKernel(shape, depth=1, **kw).matrix(X)
    samples = est[(2, kind)]
    z = (samples.mean(axis=0) - wrong) / (samples.std(axis=0, ddof=1) / math.sqrt(len(samples)))
    assert np.abs(z).max() > 5.0


# ---------------------------------------------------------------- neural-tangents


@pytest.mark.parametrize("readout", ["flatten", "gap"])
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("act", ["relu", "erf", "gelu"])
def test_neural_tangents(act, padding, readout):
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        from neural_tangents import stax
    except Exception as exc:
        pytest.skip(f"neural-tangents not usable here: {type(exc).__name__}: {exc}")
    rng = np.random.default_rng(21)
    shape = (8, 7, 3)          # 'valid': 8×7 → 6×5 → 4×3 → 2×1
    X = rng.standard_normal((9, 8 * 7 * 3))
    Y = rng.standard_normal((4, 8 * 7 * 3))
    wv, bv, depth, f = 1.4, 0.1, 3, 3
    layer = {"relu": stax.Relu(), "erf": stax.Erf(), "gelu": stax.Gelu()}[act]
    conv = dict(W_std=math.sqrt(wv), b_std=math.sqrt(bv), padding=padding.upper(), parameterization="ntk")
    layers = []
    for _ in range(depth):
        layers += [stax.Conv(64, (f, f), **conv), layer]
    layers += [stax.Flatten() if readout == "flatten" else stax.GlobalAvgPool(),
               stax.Dense(1, W_std=math.sqrt(wv), b_std=math.sqrt(bv), parameterization="ntk")]
    kernel_fn = stax.serial(*layers)[2]
    for A, B in ((X, None), (X, Y)):
        ref = kernel_fn(A.reshape(-1, *shape), None if B is None else B.reshape(-1, *shape), ("nngp", "ntk"))
        for kind, theirs in (("nngp", ref.nngp), ("ntk", ref.ntk)):
            theirs = np.asarray(theirs, dtype=np.float64)
            ours = ConvKernel(shape, kind, act, depth, f, padding, readout, wv, bv).matrix(A, B)
            diff = np.abs(ours - theirs) / np.abs(theirs).max()
            bound = 1e-7 if (B is None and kind == "ntk" and act == "relu") else 1e-11
            assert diff.max() < bound, f"{kind}: {diff.max():.2e}"


@pytest.mark.parametrize("readout", ["flatten", "gap"])
@pytest.mark.parametrize("kind", ["nngp", "ntk"])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_reused_work_arrays_give_every_pair_its_own_numbers(readout, kind, padding):
    """Blocks reuse one thread's work arrays (kernels._tiles.Workspace); the matrix must be, bit for
    bit, what each pair gives with fresh arrays (nothing left over from an earlier block,
    also where 'valid' layers shrink the arrays)."""
    from wilsonian.kernels._tiles import Workspace

    rng = np.random.default_rng(5)
    shape = (8, 9, 2)                 # 'valid': 8×9 → 6×7 → 4×5 → 2×3
    X = rng.standard_normal((6, 144))
    kernel = ConvKernel(shape, kind, "erf", 3, 3, padding, readout, 1.7, 0.2)
    K = kernel.matrix(X, X[:4], tile=1)
    images = kernel._images(X, "X")
    var = kernel._variances(images)[0]
    for i in range(6):
        for j in range(4):
            fresh = kernel._pairs(images[i:i + 1], images[j:j + 1], var, var, (i, i + 1), (j, j + 1),
                                  ws=Workspace())
            assert K[i, j].tobytes() == fresh[0, 0].tobytes(), (i, j)
