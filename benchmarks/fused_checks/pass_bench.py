"""One TiledOperator pass K V (ReLU depth 2 NNGP, Fashion-like unit-norm Gaussian rows, d = 784)
against the dense kernel matrix of the same pool: median of `rounds` each, back to back."""
import sys, time, numpy as np
import wilsonian
from wilsonian.kernels import KernelSpec
from wilsonian.operators import TiledOperator
n, b, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
X = rng.standard_normal((n, 784)); X /= np.linalg.norm(X, axis=1, keepdims=True)
V = rng.standard_normal((n, b))
spec = KernelSpec()
op = TiledOperator(X, spec)
op(V[:, :2])
out = np.empty((n, n))
spec.matrix(X, out=out)
wall, kern, prod, dense, xx = [], [], [], [], []
for _ in range(rounds):
    k0, p0 = op.kernel_seconds, op.product_seconds
    t0 = time.perf_counter(); op(V); wall.append(time.perf_counter() - t0)
    kern.append(op.kernel_seconds - k0); prod.append(op.product_seconds - p0)
    t0 = time.perf_counter(); spec.matrix(X, out=out); dense.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); np.matmul(X, X.T, out=out); xx.append(time.perf_counter() - t0)
med = lambda v: float(np.median(v))
print(wilsonian.__file__)
print(f"N={n} b={b} tile={op.tile}: pass {med(wall):.2f} s (kernel {med(kern):.2f}, products {med(prod):.2f}); "
      f"dense kernel {med(dense):.2f} s; X·Xᵀ {med(xx):.2f} s; load {open('/proc/loadavg').read().split()[:3]}")
