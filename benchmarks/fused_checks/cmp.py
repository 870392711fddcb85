"""Compare two snapshots of snap.py: identical arrays, and the worst differences of the others.

usage: python cmp.py before.npz after.npz
"""
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
same = diff = 0; worst = []
missing = sorted(set(a.files) ^ set(b.files))
for k in sorted(set(a.files) & set(b.files)):
    x, y = a[k], b[k]
    if x.shape != y.shape: print("SHAPE", k); diff += 1; continue
    if np.array_equal(x, y, equal_nan=True): same += 1; continue
    diff += 1
    fin = np.isfinite(x) & np.isfinite(y)
    nanmis = int(np.sum(np.isfinite(x) != np.isfinite(y)))
    scale = np.abs(x[fin]).max() if fin.any() else 1.0
    rel = float(np.max(np.abs(x[fin] - y[fin])) / scale) if fin.any() else 0.0
    ent = float(np.max(np.abs(x[fin]-y[fin]) / np.maximum(np.abs(x[fin]), 1e-300))) if fin.any() else 0.0
    worst.append((rel, ent, nanmis, int(np.sum(x != y)), k))
worst.sort(reverse=True)
print(f"identical {same}, different {diff}, only in one: {missing}")
for w in worst[:40]: print("  rel-to-max %.2e  entrywise %.2e  nan-mismatch %d  entries differing %d  %s" % w)
