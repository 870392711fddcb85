"""The fused kernel tiles give the numbers of the plain NumPy code they replaced, bit for bit.

- Each fused layer (ReLU and erf, NNGP and NTK, with and without bias, every depth, the
  last layer's variants) on tiles at odd offsets, on and off the diagonal, symmetric and
  rectangular, against the former whole-tile NumPy ufunc chain written out here.
- The operators' rows and passes against the former code: ``kernel.matrix`` on the row
  block's pieces (the same matrix products, so the same round-off).
"""

from __future__ import annotations

import numpy as np
import pytest

from wilsonian.kernels import KernelSpec
from wilsonian.kernels import fully_connected as fc
from wilsonian.kernels._inverse_trig import arccos, arcsin
from wilsonian.operators import TiledOperator, kernel_rows


def _scale_shift(m, a_r, a_c, b_r, b_c):
    m *= np.multiply.outer(a_r, a_c)
    if b_r is not None:
        m += np.multiply.outer(b_r, b_c)


def ufunc_chain(G, R, C, activation, ntk):
    """The former NumPy layers on a Gram tile G = (s x_i)·(s x_j), whole-tile ufuncs in the
    order they ran (fully_connected before the fused layers), with the compiled arccos and
    arcsin that replaced NumPy's (tests/test_inverse_trig.py)."""
    rho = G.copy()
    if R.shift0 is not None:
        rho += np.multiply.outer(R.shift0, C.shift0)
    theta = rho.copy() if ntk else None
    depth = len(R.alpha)
    for layer in range(depth):
        last = layer == depth - 1
        np.clip(rho, -1.0, 1.0, out=rho)
        scales = (R.alpha[layer], C.alpha[layer], R.beta[layer], C.beta[layer])
        if activation == "relu":
            sin = np.sqrt((1.0 - rho) * (1.0 + rho))
            pi_minus = np.pi - arccos(rho)
            rho = rho * pi_minus + sin                      # J
            if ntk:
                theta = theta * pi_minus + rho
                _scale_shift(theta, *scales)
            if not (ntk and last):
                _scale_shift(rho, *scales)
        else:
            u = rho * np.multiply.outer(R.gamma[layer], C.gamma[layer])
            if ntk:
                theta = theta / np.sqrt((1.0 - u) * (1.0 + u))
                theta = theta * np.multiply.outer(R.eps[layer], C.eps[layer])
            rho = arcsin(u)
            _scale_shift(rho, *scales)
            if ntk:
                theta = theta + rho
    return theta if ntk else rho


def expected_tile(tiles, i0, i1, j0, j1):
    """K[i0:i1, j0:j1] from the same matrix product and the former layers."""
    G = np.matmul(tiles.X1s[i0:i1], tiles.X2s[j0:j1].T)
    R, C = tiles.rows_all.rows(slice(i0, i1)), tiles.cols_all.rows(slice(j0, j1))
    K = ufunc_chain(G, R, C, tiles.name, tiles.ntk)
    if tiles.symmetric and j0 == i0:
        m = i1 - i0
        K[np.arange(m), np.arange(m)] = R.ntk_diag if tiles.ntk else R.nngp_diag
        square = K[:, :m]
        np.copyto(square, square.T.copy(), where=np.tri(m, k=-1, dtype=bool))
    return K


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((83, 13)) * rng.uniform(0.2, 3.0, size=(83, 1))
    X[9] = 0.0            # q = 0 without bias
    X[11] = X[4]          # ρ = 1 off the diagonal
    X[12] = -X[4]         # ρ = −1
    Y = rng.standard_normal((29, 13))
    Y[3] = X[20]
    return X, Y


# (i0, i1, j0, j1, c0, symmetric): odd offsets everywhere, a target wider than the tile
TILES = [(3, 40, 3, 57, 5, True),      # starts on the diagonal, holds its square and more
         (7, 30, 7, 30, 0, True),      # exactly its square
         (3, 40, 41, 78, 2, True),     # right of the diagonal
         (41, 60, 1, 40, 3, True),     # left of it
         (5, 22, 7, 19, 1, False)]     # rectangular kernel K(X, Y)


@pytest.mark.parametrize("slice_entries", [37, 1 << 16], ids=["slices-of-1-row", "default-slices"])
@pytest.mark.parametrize("tile", TILES, ids=lambda t: f"{t[0]}-{t[1]}x{t[2]}-{t[3]}{'' if t[5] else '-rect'}")
@pytest.mark.parametrize("depth", [0, 1, 2, 3])
@pytest.mark.parametrize("bias_var", [0.0, 0.2])
@pytest.mark.parametrize("kind", ["nngp", "ntk"])
@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_fused_layers_are_the_ufunc_chain(inputs, activation, kind, bias_var, depth, tile, slice_entries,
                                          monkeypatch):
    X, Y = inputs
    i0, i1, j0, j1, c0, symmetric = tile
    monkeypatch.setattr(fc, "_SLICE_ENTRIES", slice_entries)
    spec = KernelSpec(kind=kind, activation=activation, depth=depth, weight_var=1.7, bias_var=bias_var)
    tiles = spec.prepare(X, None if symmetric else Y)
    assert tiles.fused and tiles.exact_in_tiles
    T = np.full((i1 - i0, c0 + (j1 - j0) + 4), np.nan)
    tiles.fill(i0, i1, j0, j1, T, c0)
    np.testing.assert_array_equal(T[:, c0:c0 + j1 - j0], expected_tile(tiles, i0, i1, j0, j1))
    assert np.isnan(T[:, :c0]).all() and np.isnan(T[:, c0 + j1 - j0:]).all()   # nothing else written


def test_fill_refuses_tiles_that_cut_the_diagonal(inputs):
    X, _ = inputs
    tiles = KernelSpec().prepare(X)
    from wilsonian.errors import WilsonianError

    with pytest.raises(WilsonianError):
        tiles.fill(3, 40, 10, 60, np.empty((37, 50)))      # meets the diagonal off its start
    with pytest.raises(WilsonianError):
        tiles.fill(3, 40, 3, 20, np.empty((37, 17)))       # starts on it without its square
    with pytest.raises(WilsonianError):
        tiles.fill(3, 40, 41, 60, np.empty((37, 19), order="F"))   # not C-contiguous


# ------------------------------------------------------------------ operators


def former_rows(X, kernel, start, stop):
    """kernel_rows as it was: kernel.matrix on the three pieces of the row block."""
    n = X.shape[0]
    rows = np.empty((stop - start, n))
    if start > 0:
        kernel.matrix(X[start:stop], X[:start], out=rows[:, :start])
    kernel.matrix(X[start:stop], out=rows[:, start:stop])
    if stop < n:
        kernel.matrix(X[start:stop], X[stop:], out=rows[:, stop:])
    return rows


def former_pass(X, kernel, V, tile):
    """TiledOperator.matmul as it was: the diagonal block and the rectangle from kernel.matrix."""
    n = X.shape[0]
    out = np.zeros((n, V.shape[1]))
    for i0 in range(0, n, tile):
        i1 = min(i0 + tile, n)
        diag = kernel.matrix(X[i0:i1])
        out[i0:i1] += diag @ V[i0:i1]
        if i1 < n:
            rect = kernel.matrix(X[i0:i1], X[i1:])
            out[i0:i1] += rect @ V[i1:]
            out[i1:] += rect.T @ V[i0:i1]
    return out


SPECS = [KernelSpec(), KernelSpec(kind="ntk", bias_var=0.1), KernelSpec(kind="ntk", activation="erf"),
         KernelSpec(kind="ntk", activation="gelu"), KernelSpec(activation="tanh", depth=1)]


@pytest.fixture(scope="module")
def pool():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((701, 31))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    X[100] = X[7]
    return X, rng.standard_normal((701, 3))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.kind}-{s.activation}")
def test_rows_and_passes_are_the_former_code(pool, spec):
    X, V = pool
    n = 701 if spec.activation != "tanh" else 300
    X, V = X[:n], V[:n]
    for start, stop in ((0, 257), (3, 300), (261, n), (1, n - 1)):
        np.testing.assert_array_equal(kernel_rows(X, spec, start, stop), former_rows(X, spec, start, stop))
    for tile in ((299, 513) if n > 300 else (97,)):
        op = TiledOperator(X, spec, tile=tile)
        np.testing.assert_array_equal(op(V), former_pass(X, spec, V, tile))
        np.testing.assert_array_equal(op(V[:, :1]), former_pass(X, spec, V[:, :1], tile))
