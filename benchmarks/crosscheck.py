"""Agreement numbers for the kernels: neural-tangents, quadrature, Monte Carlo; and speed
against neural-tangents. Prints Markdown tables (the README's) and writes them as JSON.

- neural-tangents (if importable, e.g. in the venv of ``.ci/crosscheck``): max |ours − theirs|
  / max |theirs| off and on the diagonal, NNGP and NTK, for every fully connected activation
  (depth 3; the rectified monomials at depth 1, see tests/test_fc_activations.py) and for
  CNNs (3 layers of 3×3 filters, SAME and VALID, flatten and GAP readouts);
- closed forms against the default 32-point Gauss–Hermite rule, by variance range;
- Monte Carlo of finite networks: the largest |z| over all entries and depths (the tests'
  estimates, tests/test_fc_activations.py and tests/test_conv.py);
- speed: the CNN flatten kernel (ReLU, 2 layers, 3×3 SAME, 28×28×1, N images) here and in
  neural-tangents on the same inputs (its ``kernel_fn`` jitted: the first call, which compiles,
  and the second).

Usage (from the repository root)::

    python benchmarks/crosscheck.py [--n-speed 200] [--json crosscheck.json] [--no-monte-carlo] [--speed-only]

``--speed-only`` times the CNN flatten kernels alone (what ``make bench --only conv`` runs in the
crosscheck venv).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from wilsonian.kernels import ConvKernel, activation, nngp, ntk

ROOT = Path(__file__).resolve().parents[1]
FC_CASES = [("relu", {}), ("erf", {}), ("leaky-relu", {"slope": 0.2}), ("abrelu", {"a": -0.4, "b": 1.3}),
            ("abs", {}), ("erf", {"a": 1.2, "b": 0.7, "c": 0.3}), ("gelu", {}), ("sin", {"b": 1.3, "c": 0.4}),
            ("cos", {"a": 1.1, "b": 0.9}), ("gaussian", {"a": 1.5, "b": -0.6}), ("exp", {"a": 0.6, "b": 0.5}),
            ("sign", {}), ("rectified-monomial", {"degree": 0}), ("rectified-monomial", {"degree": 2}),
            ("rectified-monomial", {"degree": 3}), ("monomial", {"degree": 2}), ("monomial", {"degree": 3}),
            ("tanh", {}), ("sigmoid", {}), ("tanh", {"points": 32}), ("sigmoid", {"points": 32})]


def label(name, params):
    return name + "".join(f" {k}={v}" for k, v in params.items())


def _stax():
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        from neural_tangents import stax
        return stax
    except Exception as exc:
        print(f"neural-tangents not usable here ({type(exc).__name__}: {exc}); skipping its tables", file=sys.stderr)
        return None


def _relative(ours, theirs, diagonal):
    theirs = np.asarray(theirs, dtype=np.float64)
    mask = np.eye(*theirs.shape, dtype=bool) if diagonal else np.zeros(theirs.shape, dtype=bool)
    scale = np.abs(theirs[~mask]).max()
    off = float(np.abs(ours - theirs)[~mask].max() / scale)
    on = float(np.nanmax(np.abs(ours - theirs)[mask]) / scale) if mask.any() else float("nan")
    return off, on


def fc_agreement(stax):
    sys.path.insert(0, str(ROOT / "tests"))
    from test_fc_activations import nt_layer

    rng = np.random.default_rng(11)
    X0 = rng.standard_normal((100, 784))
    rows = []
    wv, bv = 1.3, 0.1
    for name, params in FC_CASES:
        act = activation(name, **params)
        X = X0 / np.sqrt(784) if not act.closed_form else X0 * (0.6 if name in ("monomial", "exp") else 1.0)
        depth = 1 if name == "rectified-monomial" else 3
        dense = dict(W_std=math.sqrt(wv), b_std=math.sqrt(bv), parameterization="ntk")
        layers = [stax.Dense(1, **dense)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(depth):
                layers += [nt_layer(stax, act), stax.Dense(1, **dense)]
            ref = stax.serial(*layers)[2](X, None, ("nngp", "ntk"))
        kw = dict(activation=act, depth=depth, weight_var=wv, bias_var=bv)
        n_off, n_on = _relative(nngp(X, **kw), ref.nngp, True)
        t_off, t_on = _relative(ntk(X, **kw), ref.ntk, True)
        rows.append(dict(activation=label(name, params), depth=depth, nngp_off=n_off, nngp_diag=n_on,
                         ntk_off=t_off, ntk_diag=t_on))
    return rows


def _nt_cnn(stax, act, padding, readout, depth=3, wv=1.4, bv=0.1, width=1):
    layer = {"relu": stax.Relu(), "erf": stax.Erf(), "gelu": stax.Gelu()}[act]
    conv = dict(W_std=math.sqrt(wv), b_std=math.sqrt(bv), padding=padding.upper(), parameterization="ntk")
    layers = []
    for _ in range(depth):
        layers += [stax.Conv(width, (3, 3), **conv), layer]
    layers += [stax.Flatten() if readout == "flatten" else stax.GlobalAvgPool(),
               stax.Dense(1, W_std=math.sqrt(wv), b_std=math.sqrt(bv), parameterization="ntk")]
    return stax.serial(*layers)[2]


def cnn_agreement(stax):
    rng = np.random.default_rng(21)
    rows = []
    for readout, side, n in (("flatten", 28, 40), ("gap", 12, 16)):
        X = rng.random((n, side * side))
        X /= np.linalg.norm(X, axis=1, keepdims=True) / side    # pixels of order 1
        for act in ("relu", "erf", "gelu"):
            for padding in ("same", "valid"):
                ref = _nt_cnn(stax, act, padding, readout)(X.reshape(n, side, side, 1), None, ("nngp", "ntk"))
                row = dict(case=f"{act} {padding} {readout} {side}x{side}x1, 3 layers", n=n)
                for kind in ("nngp", "ntk"):
                    ours = ConvKernel((side, side, 1), kind, act, 3, 3, padding, readout, 1.4, 0.1).matrix(X)
                    row[f"{kind}_off"], row[f"{kind}_diag"] = _relative(ours, getattr(ref, kind), True)
                rows.append(row)
    return rows


def quadrature_agreement():
    rng = np.random.default_rng(0)
    rows = []
    for name, params in [("erf", {}), ("gelu", {}), ("gaussian", {}), ("sin", {}), ("relu", {}), ("abs", {}),
                         ("rectified-monomial", {"degree": 2})]:
        act = activation(name, **params)
        row = dict(activation=label(name, params))
        for lo, hi in ((0.001, 0.1), (0.1, 1.0), (1.0, 4.0)):
            q1, q2 = rng.uniform(lo, hi, 3000), rng.uniform(lo, hi, 3000)
            c = rng.uniform(-1, 1, 3000) * np.sqrt(q1 * q2)
            e, de = act.expectations(q1, q2, c)
            eq, deq = act.with_quadrature().expectations(q1, q2, c)
            row[f"q {lo}-{hi}"] = (float(np.abs(eq - e).max() / np.abs(e).max()),
                                   float(np.abs(deq - de).max() / np.abs(de).max()))
        rows.append(row)
    return rows


def monte_carlo_z():
    sys.path.insert(0, str(ROOT / "tests"))
    import test_conv
    import test_fc_activations as fc

    rows = []
    base, est = fc.monte_carlo_estimates()
    for index, case in enumerate(fc.CASES):
        X = case[2] * base
        kw = dict(activation=fc.make(case), weight_var=fc.MC_WV, bias_var=fc.MC_BV)
        row = dict(case=f"FC {label(case[0], case[1])}")
        for kind in ("nngp", "ntk"):
            row[kind] = max(float(np.abs(fc._z_scores(est[(L, kind)][:, index],
                                                      fc.kernel(kind, X, depth=L, **kw))).max())
                            for L in (1, 2))
        rows.append(row)
    cnn = test_conv.cnn_monte_carlo_estimates()
    for name, padding, readout, shape in test_conv.MC_CASES:
        X, est = cnn[name]
        row = dict(case=f"CNN {name} {padding} {readout} {shape}")
        for kind in ("nngp", "ntk"):
            z = []
            for L in (1, 2):
                s = est[(L, kind)]
                exact = ConvKernel(shape, kind, name, L, 3, padding, readout, test_conv.MC_WV, test_conv.MC_BV).matrix(X)
                z.append(float(np.abs((s.mean(0) - exact) / (s.std(0, ddof=1) / math.sqrt(len(s)))).max()))
            row[kind] = max(z)
        rows.append(row)
    return rows


def cnn_speed(stax, n):
    import jax

    rng = np.random.default_rng(5)
    X = rng.random((n, 784))
    X /= np.linalg.norm(X, axis=1, keepdims=True) / 28
    rows = []
    for kind in ("nngp", "ntk"):
        ours = ConvKernel((28, 28, 1), kind, "relu", 2, 3, "same", "flatten", 2.0, 0.0)
        ours.matrix(X[:4])
        t0 = time.perf_counter()
        K = ours.matrix(X)
        t_ours = time.perf_counter() - t0
        row = dict(case=f"CNN {kind} flatten relu 2 layers 3x3 same 28x28x1", n=n, ours_s=t_ours)
        if stax is not None:
            fn = jax.jit(_nt_cnn(stax, "relu", "same", "flatten", depth=2, wv=2.0, bv=0.0), static_argnames="get")
            imgs = X.reshape(n, 28, 28, 1)
            t0 = time.perf_counter()
            np.asarray(fn(imgs, None, get=kind))          # compiles for this shape, then runs
            row["nt_first_call_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            theirs = np.asarray(fn(imgs, None, get=kind))
            row["nt_s"] = time.perf_counter() - t0
            row["ratio_nt_over_ours"] = row["nt_s"] / t_ours
            row["max_rel_diff"] = float(np.abs(K - theirs).max() / np.abs(theirs).max())
        rows.append(row)
    return rows


def table(rows, title):
    keys = list(rows[0])
    print(f"\n### {title}\n")
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        cells = []
        for k in keys:
            v = r[k]
            if isinstance(v, tuple):
                cells.append(" / ".join(f"{x:.1e}" for x in v))
            elif isinstance(v, float):
                cells.append(f"{v:.3g}" if k.endswith("_s") or k.startswith("ratio") or k in ("nngp", "ntk")
                             else f"{v:.1e}")
            else:
                cells.append(str(v))
        print("| " + " | ".join(cells) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-speed", type=int, default=200)
    parser.add_argument("--json", default=None)
    parser.add_argument("--no-monte-carlo", action="store_true")
    parser.add_argument("--speed-only", action="store_true", help="only the CNN speed rows")
    args = parser.parse_args(argv)
    stax = _stax()
    out = {}
    if stax is not None and not args.speed_only:
        out["fc_vs_neural_tangents"] = fc_agreement(stax)
        table(out["fc_vs_neural_tangents"], "Fully connected vs neural-tangents (max |diff| / max |K|)")
        out["cnn_vs_neural_tangents"] = cnn_agreement(stax)
        table(out["cnn_vs_neural_tangents"], "CNN vs neural-tangents (max |diff| / max |K|)")
    if not args.speed_only:
        out["closed_form_vs_quadrature"] = quadrature_agreement()
        table(out["closed_form_vs_quadrature"], "Closed form vs 32-point Gauss–Hermite (E[φφ] / E[φ'φ'] rel. error)")
    if not (args.no_monte_carlo or args.speed_only):
        out["monte_carlo_max_abs_z"] = monte_carlo_z()
        table(out["monte_carlo_max_abs_z"], "Monte Carlo of finite networks: max |z| over entries and depths")
    out["cnn_speed"] = cnn_speed(stax, args.n_speed)
    table(out["cnn_speed"], "CNN flatten kernel: time, ours and neural-tangents (same inputs, this CPU)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
