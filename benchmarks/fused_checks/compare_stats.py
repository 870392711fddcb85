"""compare20k's two paths (bench_large.case_compare20k) at a given N, with the top-k operator's
pass statistics: top-k = TiledOperator + KrylovSolver(k, n_vectors=None, seed=0, tol=1e-12),
as topk_spectrum runs it; dense = spec.matrix + spectrum_from_kernel(overwrite=True)."""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1] + "/benchmarks")
import wilsonian
from bench_large import fashion_tops_pool
from wilsonian.kernels import KernelSpec
from wilsonian.operators import TiledOperator
from wilsonian.spectrum import KrylovSolver, spectrum_from_kernel
n = int(sys.argv[2]); k = int(sys.argv[3]) if len(sys.argv) > 3 else 500
pool = fashion_tops_pool(n, 0)
spec = KernelSpec()
t0 = time.perf_counter()
op = TiledOperator(pool.X, spec)
top, _ = KrylovSolver(k, n_vectors=None, seed=0, tol=1e-12).solve(op, pool.y)
top = top.truncated(k)
t_top = time.perf_counter() - t0
stats = op.stats()
t0 = time.perf_counter(); K = spec.matrix(pool.X); t_kernel = time.perf_counter() - t0
t0 = time.perf_counter(); dense = spectrum_from_kernel(K, pool.y, overwrite=True); t_eig = time.perf_counter() - t0
del K
ev = np.abs(top.eigenvalues - dense.eigenvalues[:k]) / dense.eigenvalues[:k]
print(json.dumps({"source": wilsonian.__file__, "n": n, "k": k, "topk_s": t_top, "passes": op.passes,
                  "topk_kernel_s": stats["kernel_seconds"], "topk_product_s": stats["product_seconds"],
                  "dense_kernel_s": t_kernel, "dense_eig_s": t_eig, "dense_s": t_kernel + t_eig,
                  "ratio_topk_over_dense": t_top / (t_kernel + t_eig), "max_rel_eig_diff": float(ev.max()),
                  "eig0": float(top.eigenvalues[0]),
                  "loadavg": open("/proc/loadavg").read().strip()}, indent=1))
