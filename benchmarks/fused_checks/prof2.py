"""Where the dense NNGP's time goes (N = 4,000, d = 784, ReLU depth 2, 2 threads): best of 7
of X·Xᵀ, prepare, fill_parallel, the whole call, and the tiles' matrix products alone."""
import time, numpy as np
from wilsonian.kernels import fully_connected as fc
from wilsonian.kernels import _tiles
rng = np.random.default_rng(0)
n, d = 4000, 784
X = rng.standard_normal((n, d)); X /= np.linalg.norm(X, axis=1, keepdims=True)
out = np.empty((n, n))
def best(f, k=7):
    b = 1e9
    for _ in range(k):
        t0 = time.perf_counter(); f(); b = min(b, time.perf_counter() - t0)
    return b
tl = fc._prepare("nngp", X, None, "relu", 2, 2.0, 0.0)
print("X·Xᵀ", best(lambda: np.matmul(X, X.T, out=out)))
print("prepare", best(lambda: fc._prepare("nngp", X, None, "relu", 2, 2.0, 0.0)))
print("fill_parallel", best(lambda: _tiles.fill_parallel(tl, 0, n, [(0, n, 0)], out, rows=256, workers=2)))
print("nngp", best(lambda: fc.nngp(X, out=out)))
# gemm only, parallel in the same task structure
class G:
    symmetric = True
    def fill(self, i0, i1, j0, j1, T, c0=0):
        np.matmul(tl.X1s[i0:i1], tl.X2s[j0:j1].T, out=T[:, c0:c0 + j1 - j0])
print("gemm+mirror only, parallel", best(lambda: _tiles.fill_parallel(G(), 0, n, [(0, n, 0)], out, rows=256, workers=2)))
class G2(G):
    symmetric = False
print("gemm only (upper), parallel", best(lambda: _tiles.run_tiles([(i0, min(i0+256, n)) for i0 in range(0, n, 256)], lambda b: np.matmul(tl.X1s[b[0]:b[1]], tl.X1s[b[0]:].T, out=out[b[0]:b[1], b[0]:]), 2)))
print(open('/proc/loadavg').read())
