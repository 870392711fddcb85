"""Median over rounds of t(kernel)/t(X·Xᵀ), back to back, N=4000, d=784, ReLU depth 2."""
import sys, time, numpy as np
import wilsonian
from wilsonian.kernels import nngp, ntk
rng = np.random.default_rng(0)
n, d = 4000, 784
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
X = rng.standard_normal((n, d)); X /= np.linalg.norm(X, axis=1, keepdims=True)
out = np.empty((n, n))
cases = {"nngp": lambda: nngp(X, out=out), "ntk": lambda: ntk(X, out=out)}
base = lambda: np.matmul(X, X.T, out=out)
def wt(f):
    t0 = time.perf_counter(); f(); return time.perf_counter() - t0
for f in cases.values(): f()
base()
ratios = {k: [] for k in cases}; times = {k: [] for k in cases}; bases = []
for _ in range(rounds):
    b0 = wt(base)
    for k, f in cases.items():
        t = wt(f); b1 = wt(base)
        ratios[k].append(t / ((b0 + b1) / 2)); times[k].append(t); bases.append(b1); b0 = b1
print(wilsonian.__file__)
print(f"X·Xᵀ (np.matmul(X, X.T, out)) median {np.median(bases):.3f} s")
for k in cases:
    r = np.array(ratios[k])
    print(f"{k:5s} median {np.median(times[k]):.3f} s; ratio to X·Xᵀ median {np.median(r):.3f} (min {r.min():.3f}, max {r.max():.3f}, {rounds} rounds)")
print("loadavg", open('/proc/loadavg').read().strip())
