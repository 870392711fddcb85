"""Every kernel path's output, saved to compare main's code and the branch's, bit for bit.

usage: PYTHONPATH=<src> python snap.py OUT.npz [part ...]; parts: fc big conv op rows dask topk
"""
import itertools, sys, time
import numpy as np
import wilsonian
from wilsonian.kernels import ConvKernel, KernelSpec, activation, custom_activation, nngp, ntk
from wilsonian.operators import TiledOperator, kernel_rows



def main():
    out_path = sys.argv[1]
    parts = set(sys.argv[2:]) or {"fc", "big", "conv", "op", "rows", "dask", "topk"}
    print(wilsonian.__file__, sorted(parts), flush=True)
    rng = np.random.default_rng(7)
    X = rng.standard_normal((389, 37)) * rng.uniform(0.2, 3.0, size=(389, 1))
    X[5] = 0.0
    X[17] = X[3]          # duplicate rows
    X[18] = -X[4]         # antipodal
    Y = rng.standard_normal((157, 37)) * rng.uniform(0.2, 3.0, size=(157, 1))
    Y[0] = X[3]
    res = {}
    acts = [("relu", {}), ("erf", {}), ("leaky-relu", {"slope": 0.1}), ("abrelu", {"a": -0.2, "b": 1.1}), ("abs", {}),
            ("erf", {"a": 1.2, "b": 0.8, "c": 0.1}), ("gelu", {}), ("sin", {}), ("cos", {"a": 0.7}), ("gaussian", {}),
            ("exp", {"b": 0.5}), ("sign", {}), ("rectified-monomial", {"degree": 2}), ("rectified-monomial", {"degree": 0}),
            ("monomial", {"degree": 3}), ("tanh", {}), ("sigmoid", {})]
    t0 = time.perf_counter()
    if "fc" in parts:
        for (name, prm), kind, depth, (wv, bv), tile in itertools.product(acts, ("nngp", "ntk"), (0, 1, 2, 3),
                                                                       ((2.0, 0.0), (1.3, 0.2)), (None, 100)):
            if name in ("tanh", "sigmoid") and (depth == 3 or tile == 100 or depth == 0):
                continue
            act = activation(name, **prm)
            f = ntk if kind == "ntk" else nngp
            key = f"{name}{sorted(prm.items())}-{kind}-L{depth}-wv{wv}-bv{bv}-t{tile}"
            try:
                res[key + "-sym"] = f(X, activation=act, depth=depth, weight_var=wv, bias_var=bv, tile=tile)
                res[key + "-rect"] = f(X, Y, activation=act, depth=depth, weight_var=wv, bias_var=bv, tile=tile)
            except Exception as e:
                print("skip", key, type(e).__name__, e)
        # a Fortran-ordered out (through a buffer per tile), and a custom activation
        for kind in ("nngp", "ntk"):
            o = np.empty((389, 389), order="F")
            res[f"F-out-{kind}"] = nngp(X, out=o, bias_var=0.1) if kind == "nngp" else ntk(X, out=o, activation="erf")
            cust = custom_activation(np.tanh, lambda z: 1 - np.tanh(z) ** 2, label="mytanh")
            res[f"custom-{kind}"] = (nngp if kind == "nngp" else ntk)(X[:120], activation=cust, depth=2)
        print("fc", len(res), f"{time.perf_counter() - t0:.0f} s", flush=True)
    Z = rng.standard_normal((1500, 784)); Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    if "big" in parts:
        for name, kind in itertools.product(("relu", "erf"), ("nngp", "ntk")):
            f = ntk if kind == "ntk" else nngp
            res[f"big-{name}-{kind}"] = f(Z, activation=name)
            res[f"big-{name}-{kind}-rect"] = f(Z[:700], Z[300:], activation=name)
        res["big-gelu-ntk"] = ntk(Z[:900], activation="gelu", bias_var=0.1)
        print("big", len(res), f"{time.perf_counter() - t0:.0f} s", flush=True)
    imgs = rng.standard_normal((40, 8 * 8 * 2))
    if "conv" in parts:
        for kind, readout in itertools.product(("nngp", "ntk"), ("flatten", "gap")):
            ck = ConvKernel((8, 8, 2), kind=kind, readout=readout)
            res[f"conv-{kind}-{readout}"] = ck.matrix(imgs)
            res[f"conv-{kind}-{readout}-rect"] = ck.matrix(imgs[:13], imgs[10:])
        print("conv", len(res), f"{time.perf_counter() - t0:.0f} s", flush=True)
    W = rng.standard_normal((3000, 784)); W /= np.linalg.norm(W, axis=1, keepdims=True)
    V = rng.standard_normal((3000, 40))
    specs = {"nngp-relu": KernelSpec(), "ntk-relu": KernelSpec(kind="ntk"),
             "nngp-erf-b": KernelSpec(activation="erf", bias_var=0.1), "ntk-erf": KernelSpec(kind="ntk", activation="erf"),
             "ntk-gelu": KernelSpec(kind="ntk", activation="gelu"), "nngp-tanh": KernelSpec(activation="tanh")}
    if "op" in parts:
        for (name, spec), tile in itertools.product(specs.items(), (None, 700, 1000, 100)):
            if name == "nngp-tanh" and tile not in (700,):
                continue
            n = 3000 if name != "nngp-tanh" else 1200
            op = TiledOperator(W[:n], spec, tile=tile)
            res[f"op-{name}-{tile}"] = op(V[:n])
            res[f"op1-{name}-{tile}"] = op(V[:n, :1])
        for tile in (None, 333):
            op = TiledOperator(Z, KernelSpec(kind="ntk", bias_var=0.2), tile=tile)
            res[f"opZ-{tile}"] = op(V[:1500, :7])
        ck = ConvKernel((8, 8, 2), kind="ntk")
        res["op-conv"] = TiledOperator(imgs, ck, tile=9)(V[:40, :3])
        print("op", len(res), f"{time.perf_counter() - t0:.0f} s", flush=True)
    if "rows" in parts:
        for name, spec in specs.items():
            n = 3000 if name != "nngp-tanh" else 1200
            for a, b in ((1200, 2000), (0, 300), (2500, n), (7, 1031)):
                if a >= min(b, n):
                    continue
                res[f"rows-{name}-{a}-{b}"] = kernel_rows(W[:n], spec, a, min(b, n))
        res["rows-conv"] = kernel_rows(imgs, ConvKernel((8, 8, 2)), 10, 30)
        print("rows", len(res), f"{time.perf_counter() - t0:.0f} s", flush=True)
    if "dask" in parts:
        import distributed
        from wilsonian.operators.dask_cluster import DaskOperator
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            for name in ("nngp-relu", "ntk-erf"):
                op = DaskOperator(client, W[:2000], specs[name])
                res[f"dask-{name}"] = op(V[:2000])
        print("dask", len(res), f"{time.perf_counter() - t0:.0f} s", flush=True)
    if "topk" in parts:
        from wilsonian.spectrum import topk_spectrum
        y = np.sign(W[:, 0] + 1e-3)
        for name in ("nngp-relu", "ntk-relu"):
            s = topk_spectrum(W, y, specs[name], 60, seed=0)
            res[f"topk-{name}-ev"] = s.eigenvalues
            res[f"topk-{name}-yk"] = s.target_coefficients
        print("topk", len(res), f"{time.perf_counter() - t0:.0f} s", flush=True)
    np.savez(out_path, **res)
    print(len(res), "arrays", f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
