"""Eigenvalues of a symmetric kernel matrix and the projections of a target on its eigenvectors.

THEORY.md §1 needs, for a symmetric PSD kernel matrix K (N×N) and a target y (N,), the
eigenvalues w_k of K and the projections p_k = v_kᵀy of y on the orthonormal eigenvectors
(the caller turns them into λ_k = w_k/N and y_k = p_k/√N), and sometimes the top few
eigenvectors v_k.

``numpy.linalg.eigh`` (LAPACK dsyevd) computes all N eigenvectors: a tridiagonal reduction
K = Q T Qᵀ, the eigenvectors Z of T, and the back-transformation V = QZ, an N×N×N product.
None of that is needed for p. The route taken here:

1. One Householder reflector H₀ maps y onto the first axis, H₀y = β e₁ with |β| = |y|, and
   K is replaced by H₀KH₀ (an O(N²) symmetric rank-2 update).
2. The rotated matrix is reduced to tridiagonal form T = QᵀH₀KH₀Q. LAPACK's reductions of
   the lower triangle never touch the first row (every reflector acts on rows 2..N), so
   Qe₁ = e₁ and therefore Vᵀy = ZᵀQᵀH₀y = β Zᵀe₁: the projections are |y| times the first
   components of the eigenvectors of T. When no eigenvectors are wanted and N ≥ 3000, the
   two-stage reduction (dsytrd_2stage: a BLAS-3 reduction to band form, then bulge chasing)
   is used; it is ~1.5-2× faster than dsytrd once K outgrows the cache, but LAPACK cannot
   apply its Q, which is not needed here. SciPy does not wrap it: it is called through
   ctypes from the LAPACK bundled with SciPy, and dsytrd is used when none is found.
3. The eigenvalues and the first components of the eigenvectors of T come from the
   bidiagonal QR algorithm (dbdsqr) on the Cholesky factor of T + σI, with the rotations
   accumulated on a single row (e₁ᵀ) only: O(N²) flops and O(N) memory, no N×N Z. The
   eigenvalues themselves come from dsterf, as in eigh.
4. The top k eigenvectors, when wanted, come from MRRR (dstemr) for those k eigenvectors of
   T only, back-transformed with dormtr and H₀: O(N²k) flops.

Memory: besides K, the working copy of K (none with ``overwrite=True``) and O(N·k); eigh
needs about three N×N arrays besides K.

Accuracy: eigenvalues as eigh's (~ε·w₁). Eigenvector directions, hence p_k, are determined
to ~c·ε·w₁/gap_k by any backward-stable solver; dbdsqr stops at ~100ε relative accuracy, so
c is ~10-100× larger here than in eigh (still ~1e-14·w₁/gap_k), and p_k is unaffected where
eigenvalues are well separated. Σ_k p_k² = |y|² to round-off either way.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import os
from typing import NamedTuple

import numpy as np
import scipy
import scipy.linalg
import scipy.linalg.blas as blas
import scipy.linalg.cython_lapack as cython_lapack
import scipy.linalg.lapack as lapack

from wilsonian.errors import WilsonianError

__all__ = ["Eigensystem", "TridiagonalForm", "symmetric_eigensystem"]

_METHODS = ("auto", "eigh", "tridiagonal")
# Rows compared with the matching columns in the symmetry check.
_SYMMETRY_SAMPLE_ROWS = 32
# Tolerated |K_ij − K_ji|, relative to the largest sampled |K_ij|: float32 round-off passes,
# a matrix that is not symmetric does not.
_SYMMETRY_RTOL = 1e-6
# Below this N, "auto" uses eigh: both take milliseconds and eigh has less overhead.
_AUTO_TRIDIAGONAL_MIN_N = 200
# Above this fraction of N eigenvectors, "auto" uses eigh: computing k eigenvectors of T
# with MRRR and back-transforming them costs more than eigh's divide and conquer plus its
# full back-transformation once k ≳ N/4 (measured at N = 1000-2000).
_AUTO_TRIDIAGONAL_MAX_VECTOR_FRACTION = 0.25
# The two-stage reduction wins once K no longer fits in the last-level cache (dsytrd then
# streams K from memory for each of its N matrix-vector products); below, dsytrd is faster.
_TWO_STAGE_MIN_N = 3000


class Eigensystem(NamedTuple):
    """Eigenvalues of K, projections of y on its eigenvectors, and the top eigenvectors.

    Attributes
    ----------
    eigenvalues : (N,) float64
        Eigenvalues w_k of K (not K/N), in descending order. Not clipped: a PSD matrix may
        show round-off negatives of order 1e-16·w_1.
    projections : (N,) or (N, C) float64
        p_k = v_kᵀy, in the same order; each eigenvector is oriented so that its projection
        (on the first output, for several) is non-negative. Σ_k |p_k|² = |y|².
    eigenvectors : (N, n_vectors) float64 or None
        The top eigenvectors v_k as columns, same order and orientation as ``projections``
        (so ``eigenvectors.T @ y`` equals ``projections[:n_vectors]``); None when none were
        requested.
    """

    eigenvalues: np.ndarray
    projections: np.ndarray
    eigenvectors: np.ndarray | None


def symmetric_eigensystem(
    K: np.ndarray,
    y: np.ndarray,
    *,
    n_vectors: int | str = 0,
    overwrite: bool = False,
    method: str = "auto",
) -> Eigensystem:
    """Eigenvalues of K, projections of y on its eigenvectors, and optionally the top eigenvectors.

    The pool eigenproblem of THEORY.md §1 before its 1/N scalings: K v_k = w_k v_k with
    orthonormal v_k, p_k = v_kᵀy (then λ_k = w_k/N, y_k = p_k/√N, φ_k(x_i) = √N v_k(i)).

    Parameters
    ----------
    K : (N, N) array_like
        Symmetric kernel matrix (converted to float64). Only one triangle is read; K must be
        symmetric to round-off (a sample of rows is checked against the matching columns).
    y : (N,) or (N, C) array_like
        Target vector, or one column per output (then the eigenvectors are formed: the
        tridiagonal route's projection trick serves one vector).
    n_vectors : int or "all"
        How many top eigenvectors to return: 0 (none, the default), 1..N, or -1 / "all".
    overwrite : bool
        If True, K may be destroyed (used as the workspace of the tridiagonal reduction) to
        save an N×N copy. This happens only when K is a float64 C- or Fortran-contiguous
        array and the tridiagonal method is used; otherwise K is left untouched. Do not use
        K afterwards.
    method : {"auto", "eigh", "tridiagonal"}
        "eigh": ``numpy.linalg.eigh`` (all eigenvectors; the reference). "tridiagonal": the
        route described in this module's docstring, which never forms all N eigenvectors.
        "auto": "eigh" when more than N/4 eigenvectors are requested or N < 200, else
        "tridiagonal".

    Returns
    -------
    Eigensystem
        ``(eigenvalues, projections, eigenvectors)``: w (N,) descending, p (N,) ≥ 0 in the
        same order, V (N, n_vectors) or None. See :class:`Eigensystem`.

    Raises
    ------
    WilsonianError
        If K is not square, not real, not finite or not symmetric, if y does not have
        length N or is not finite, or if ``n_vectors`` or ``method`` is not allowed.

    Notes
    -----
    Both methods agree to round-off: eigenvalues to ~1e-15·w_1; p_k² away from degenerate
    clusters and the cumulative sums Σ_{k≤K} p_k² for every K (inside a cluster of equal
    eigenvalues p_k is not defined individually, only the cluster's Σ p_k² is).
    """
    K, y = _validated_inputs(K, y)
    n = K.shape[0]
    n_vectors = _validated_n_vectors(n_vectors, n)
    if method not in _METHODS:
        raise WilsonianError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    if method == "auto":
        many_vectors = n_vectors > _AUTO_TRIDIAGONAL_MAX_VECTOR_FRACTION * n
        method = "eigh" if many_vectors or n < _AUTO_TRIDIAGONAL_MIN_N else "tridiagonal"
    # The tridiagonal route's reflection maps one target vector to e₁: a target with several
    # outputs takes its projections from the eigenvectors.
    if method == "eigh" or n == 1 or y.ndim == 2:  # N = 1 has nothing to reduce
        return _eigensystem_by_eigh(K, y, n_vectors)
    return _eigensystem_by_tridiagonal(K, y, n_vectors, overwrite)


# ---------------------------------------------------------------------------------------------
# Validation


def _validated_inputs(K, y) -> tuple[np.ndarray, np.ndarray]:
    K = np.asarray(K)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] == 0:
        raise WilsonianError(
            f"K must be a non-empty square matrix, got shape {K.shape}; pass the N×N kernel matrix"
        )
    if not (np.issubdtype(K.dtype, np.floating) or np.issubdtype(K.dtype, np.integer)):
        raise WilsonianError(f"K must be real, got dtype {K.dtype}; pass a float64 kernel matrix")
    if K.dtype != np.float64:
        K = K.astype(np.float64)
    n = K.shape[0]
    y = np.asarray(y)
    if y.ndim not in (1, 2) or y.shape[0] != n or (y.ndim == 2 and y.shape[1] == 0):
        raise WilsonianError(
            f"y must have shape ({n},) or ({n}, C) to match K, got {y.shape}; pass one target row per row of K"
        )
    if not (np.issubdtype(y.dtype, np.floating) or np.issubdtype(y.dtype, np.integer)):
        raise WilsonianError(f"y must be real, got dtype {y.dtype}")
    y = np.array(y, dtype=np.float64)  # a copy: the caller's y is never modified
    if not np.isfinite(y).all():
        raise WilsonianError("y contains NaN or infinite values; clean the targets first")
    # A finite sum proves every entry finite; only an infinite or NaN sum (or an overflow of
    # huge entries) needs the entrywise check, which allocates an N×N mask.
    with np.errstate(over="ignore", invalid="ignore"):
        total = K.sum()
    if not np.isfinite(total) and not np.isfinite(K).all():
        raise WilsonianError("K contains NaN or infinite values; check the kernel computation")
    rows = np.unique(np.linspace(0, n - 1, min(n, _SYMMETRY_SAMPLE_ROWS)).round().astype(np.intp))
    sampled_rows = K[rows, :]
    scale = float(np.abs(sampled_rows).max())
    asymmetry = float(np.abs(sampled_rows - K[:, rows].T).max())
    if asymmetry > _SYMMETRY_RTOL * scale:
        raise WilsonianError(
            f"K is not symmetric (|K_ij - K_ji| up to {asymmetry:.3g}, largest entry {scale:.3g}); "
            "symmetrize it, e.g. K = (K + K.T) / 2"
        )
    return K, y


def _validated_n_vectors(n_vectors, n: int) -> int:
    if isinstance(n_vectors, str):
        if n_vectors == "all":
            return n
        raise WilsonianError(f"n_vectors must be an integer in [0, {n}], -1 or 'all', got {n_vectors!r}")
    if isinstance(n_vectors, (bool, np.bool_)) or not isinstance(n_vectors, (int, np.integer)):
        raise WilsonianError(f"n_vectors must be an integer in [0, {n}], -1 or 'all', got {n_vectors!r}")
    if n_vectors == -1:
        return n
    if not 0 <= n_vectors <= n:
        raise WilsonianError(f"n_vectors must be an integer in [0, {n}], -1 or 'all', got {n_vectors}")
    return int(n_vectors)


# ---------------------------------------------------------------------------------------------
# The reference: all eigenvectors from numpy.linalg.eigh (LAPACK dsyevd)


def _eigensystem_by_eigh(K: np.ndarray, y: np.ndarray, n_vectors: int) -> Eigensystem:
    w, V = np.linalg.eigh(K)
    w = w[::-1].copy()
    V = V[:, ::-1]
    p = V.T @ y
    orientation = np.where(_leading(p) < 0, -1.0, 1.0)
    p *= orientation if p.ndim == 1 else orientation[:, None]
    vectors = None
    if n_vectors:
        vectors = V[:, :n_vectors] * orientation[:n_vectors]
    return Eigensystem(w, p, vectors)


def _leading(p: np.ndarray) -> np.ndarray:
    """The projection that orients each eigenvector: the only one, or the first output's."""
    return p if p.ndim == 1 else p[:, 0]


# ---------------------------------------------------------------------------------------------
# Tridiagonal route (see the module docstring)


def _eigensystem_by_tridiagonal(
    K: np.ndarray, y: np.ndarray, n_vectors: int, overwrite: bool
) -> Eigensystem:
    n = K.shape[0]
    A = _fortran_workspace(K, overwrite)
    # H₀ = I − τ h hᵀ with h = (1, h[1:]) maps y to β e₁ (LAPACK dlarfg).
    beta, h_tail, tau = lapack.dlarfg(n, y[0], y[1:])
    h = np.concatenate(([1.0], h_tail))
    _reflect_both_sides(A, h, tau)
    a11 = A[0, 0]

    two_stage = _dsytrd_2stage_routine() if n_vectors == 0 and n >= _TWO_STAGE_MIN_N else None
    if two_stage is not None:
        d, e = _tridiagonalize_two_stage(two_stage, A)
        reflectors = q_tau = None
    else:
        reflectors, d, e, q_tau = _tridiagonalize_one_stage(A)
    if d[0] != a11:
        # Qe₁ = e₁ is what makes p = β Zᵀe₁; a LAPACK that broke it would give wrong p.
        raise RuntimeError("the tridiagonal reduction moved the first row; p would be wrong")
    del A

    w, first_components = _eigenvalues_and_first_components(d, e)
    p = abs(beta) * np.abs(first_components)

    vectors = None
    if n_vectors:
        Z = _top_tridiagonal_eigenvectors(d, e, n_vectors)
        # Orient each v_k = H₀QZ_k so that v_kᵀy = β Z_k[0] ≥ 0, as p_k ≥ 0.
        Z *= np.where(beta * Z[0] < 0, -1.0, 1.0)
        _apply_tridiagonal_q(reflectors, q_tau, Z)
        Z -= np.outer(tau * h, h @ Z)  # H₀ Z
        vectors = Z
    return Eigensystem(w, p, vectors)


class TridiagonalForm(NamedTuple):
    """K = Q T Qᵀ: T tridiagonal (``diagonal``, ``off_diagonal``), Q kept as dsytrd's reflectors.

    For solves with many shifts, (K + σ²I)⁻¹ = Q Z (W + σ²)⁻¹ Zᵀ Qᵀ with T = Z W Zᵀ: the
    eigenvectors of T come in O(N²) (MRRR), and Q is applied to the right-hand sides only
    (dormtr, O(N²) per column), never formed: eigh's back-transformation QZ, an N×N×N product,
    is what this skips.
    """

    reflectors: np.ndarray
    tau: np.ndarray
    diagonal: np.ndarray
    off_diagonal: np.ndarray

    @classmethod
    def of(cls, K: np.ndarray) -> "TridiagonalForm":
        """The tridiagonal form of the symmetric K (its lower triangle is read; K is not changed)."""
        A = np.array(K, dtype=np.float64, order="F")
        if A.shape[0] < 2:  # nothing to reduce (dsytrd wants N ≥ 1 reflectors' worth)
            return cls(A, np.zeros(0), np.diagonal(A).copy(), np.zeros(0))
        reflectors, d, e, tau = _tridiagonalize_one_stage(A)
        return cls(reflectors, tau, d, e)

    def apply_q(self, C: np.ndarray, *, transpose: bool = False) -> np.ndarray:
        """Q C (or QᵀC with ``transpose``), a new Fortran-ordered (N, m) array."""
        out = np.array(C, dtype=np.float64, order="F").reshape(self.diagonal.size, -1, order="F")
        if self.tau.size and out.shape[1]:
            _apply_tridiagonal_q(self.reflectors, self.tau, out, transpose=transpose)
        return out

    def eigenpairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues of T (ascending, = those of K) and its orthonormal eigenvectors Z (MRRR)."""
        if self.diagonal.size < 2:
            return self.diagonal.copy(), np.ones((self.diagonal.size, self.diagonal.size))
        return scipy.linalg.eigh_tridiagonal(self.diagonal, self.off_diagonal, lapack_driver="stemr")


def _fortran_workspace(K: np.ndarray, overwrite: bool) -> np.ndarray:
    """A Fortran-ordered N×N array holding K (K itself when it may be overwritten).

    K is symmetric, so the transpose of a C-ordered K is the same matrix in Fortran order.
    """
    if overwrite and K.flags.writeable:
        if K.flags.f_contiguous:
            return K
        if K.flags.c_contiguous:
            return K.T
    return np.array(K, order="C").T if not K.flags.f_contiguous else K.copy(order="F")


def _reflect_both_sides(A: np.ndarray, h: np.ndarray, tau: float) -> None:
    """A ← H A H with H = I − τ h hᵀ, on the lower triangle of the Fortran array A, in place.

    H A H = A − h uᵀ − u hᵀ with u = w − (τ/2)(hᵀw) h, w = τ A h: a symmetric rank-2 update.
    """
    if tau == 0.0:
        return
    w = blas.dsymv(tau, A, h, lower=1)
    u = w - (0.5 * tau * (h @ w)) * h
    updated = blas.dsyr2(-1.0, h, u, lower=1, a=A, overwrite_a=1)
    if not np.shares_memory(updated, A):  # f2py works in place on a Fortran float64 array
        A[...] = updated


def _tridiagonalize_one_stage(A: np.ndarray):
    """dsytrd on the lower triangle of A (destroyed): reflectors, diagonal, off-diagonal, τ."""
    n = A.shape[0]
    lwork, info = lapack.dsytrd_lwork(n, lower=1)
    _check_info(info, "dsytrd_lwork")
    reflectors, d, e, tau, info = lapack.dsytrd(A, lower=1, lwork=int(lwork), overwrite_a=1)
    _check_info(info, "dsytrd")
    return reflectors, d, e, tau


def _tridiagonalize_two_stage(routine, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dsytrd_2stage (VECT='N') on the lower triangle of A (destroyed): diagonal, off-diagonal."""
    n = A.shape[0]
    d = np.empty(n)
    e = np.empty(max(n - 1, 1))
    tau = np.empty(max(n - 1, 1))
    info = ctypes.c_int(0)

    def call(hous2: np.ndarray, work: np.ndarray, lhous2: int, lwork: int) -> None:
        n_ = ctypes.c_int(n)
        routine(b"N", b"L", ctypes.byref(n_), _pointer(A), ctypes.byref(n_), _pointer(d), _pointer(e),
                _pointer(tau), _pointer(hous2), ctypes.byref(ctypes.c_int(lhous2)), _pointer(work),
                ctypes.byref(ctypes.c_int(lwork)), ctypes.byref(info), 1, 1)

    hous2_query, work_query = np.empty(1), np.empty(1)
    call(hous2_query, work_query, -1, -1)
    _check_info(info.value, "dsytrd_2stage workspace query")
    lhous2, lwork = int(hous2_query[0]), int(work_query[0])
    call(np.empty(lhous2), np.empty(lwork), lhous2, lwork)
    _check_info(info.value, "dsytrd_2stage")
    return d, e[: n - 1]


def _eigenvalues_and_first_components(d: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of the tridiagonal T (descending) and the first components of its eigenvectors.

    T + σI = L Lᵀ (Cholesky, dpttrf; σ ≥ 0 makes it positive definite) with L lower
    bidiagonal, so the eigenvectors of T are the left singular vectors of L (and the
    eigenvalues are s_k² − σ). dbdsqr computes the s_k and accumulates its rotations on a
    1×N matrix U = e₁ᵀ, giving the first row of the singular-vector matrix.
    """
    n = d.size
    eps = np.finfo(np.float64).eps
    norm_bound = float(np.abs(d).max() + 2.0 * (np.abs(e).max() if e.size else 0.0))
    if norm_bound == 0.0:
        first_row = np.zeros(n)
        first_row[0] = 1.0
        return np.zeros(n), first_row
    # The smallest eigenvalue, by bisection (dstebz, range by index 1..1).
    _, smallest, _, _, info = lapack.dstebz(d, e, 2, 0.0, 1.0, 1, 1, 0.0, b"E")
    _check_info(info, "dstebz")
    margin = 4.0 * n * eps * norm_bound
    shift = max(0.0, -float(smallest[0])) + margin
    for _ in range(8):
        diagonal, subdiagonal, info = lapack.dpttrf(d + shift, e.copy())
        if info == 0:
            break
        shift += margin
        margin *= 4.0
    else:
        raise RuntimeError(f"Cholesky factorization of the shifted tridiagonal matrix failed (info={info})")
    # T + σI = (L D Lᵀ) = B Bᵀ with B = L D^{1/2}: diagonal √D, subdiagonal ℓ_i √D_i.
    root = np.sqrt(diagonal)
    b_diagonal = root.copy()
    b_subdiagonal = subdiagonal * root[:-1]
    first_row = np.zeros(n)
    first_row[0] = 1.0
    _dbdsqr_left_rows(b_diagonal, b_subdiagonal, first_row)
    # dbdsqr stops at ~100ε relative accuracy, the root-free QL/QR of dsterf (as in eigh)
    # goes to ε: take the eigenvalues from dsterf. Both lists are sorted, so the k-th
    # eigenvalue goes with the k-th first component.
    eigenvalues, info = lapack.dsterf(d, e)
    _check_info(info, "dsterf")
    return np.sort(eigenvalues)[::-1], first_row


def _dbdsqr_left_rows(diagonal: np.ndarray, subdiagonal: np.ndarray, U: np.ndarray) -> None:
    """dbdsqr on the lower bidiagonal B, overwriting diagonal with s (descending), U with U·Q_left."""
    n = diagonal.size
    rows = U.size // n
    work = np.empty(4 * n)
    dummy = np.empty(1)
    info = ctypes.c_int(0)
    one, zero = ctypes.c_int(1), ctypes.c_int(0)
    _cython_lapack_routine("dbdsqr", 15)(
        b"L", ctypes.byref(ctypes.c_int(n)), ctypes.byref(zero), ctypes.byref(ctypes.c_int(rows)),
        ctypes.byref(zero), _pointer(diagonal), _pointer(subdiagonal), _pointer(dummy), ctypes.byref(one),
        _pointer(U), ctypes.byref(ctypes.c_int(max(rows, 1))), _pointer(dummy), ctypes.byref(one),
        _pointer(work), ctypes.byref(info),
    )
    _check_info(info.value, "dbdsqr")


def _top_tridiagonal_eigenvectors(d: np.ndarray, e: np.ndarray, k: int) -> np.ndarray:
    """The eigenvectors of T for its k largest eigenvalues (MRRR, dstemr), (N, k), descending.

    Called directly rather than through scipy.linalg.lapack.dstemr, whose wrapper allocates
    and zero-fills an N×N output even when only k columns are wanted.
    """
    n = d.size
    diagonal = d.copy()  # dstemr overwrites d and e
    off_diagonal = np.zeros(n)  # ... and takes e with length N
    off_diagonal[:-1] = e
    eigenvalues = np.empty(n)
    Z = np.empty((n, k), order="F")
    support = np.empty(2 * k, dtype=np.intc)
    found, info = ctypes.c_int(0), ctypes.c_int(0)
    try_relative_accuracy = ctypes.c_int(1)
    routine = _cython_lapack_routine("dstemr", 21)

    def call(work: np.ndarray, lwork: int, iwork: np.ndarray, liwork: int) -> None:
        routine(b"V", b"I", ctypes.byref(ctypes.c_int(n)), _pointer(diagonal), _pointer(off_diagonal),
                ctypes.byref(ctypes.c_double(0.0)), ctypes.byref(ctypes.c_double(0.0)),
                ctypes.byref(ctypes.c_int(n - k + 1)), ctypes.byref(ctypes.c_int(n)), ctypes.byref(found),
                _pointer(eigenvalues), _pointer(Z), ctypes.byref(ctypes.c_int(n)), ctypes.byref(ctypes.c_int(k)),
                ctypes.c_void_p(support.ctypes.data), ctypes.byref(try_relative_accuracy), _pointer(work),
                ctypes.byref(ctypes.c_int(lwork)), ctypes.c_void_p(iwork.ctypes.data),
                ctypes.byref(ctypes.c_int(liwork)), ctypes.byref(info))

    work_query, iwork_query = np.empty(1), np.empty(1, dtype=np.intc)
    call(work_query, -1, iwork_query, -1)
    _check_info(info.value, "dstemr workspace query")
    lwork, liwork = int(work_query[0]), int(iwork_query[0])
    call(np.empty(lwork), lwork, np.empty(liwork, dtype=np.intc), liwork)
    _check_info(info.value, "dstemr")
    if found.value != k:
        raise RuntimeError(f"dstemr returned {found.value} eigenvectors instead of {k}")
    return np.asfortranarray(Z[:, ::-1])


def _apply_tridiagonal_q(reflectors: np.ndarray, tau: np.ndarray, C: np.ndarray, transpose: bool = False) -> None:
    """C ← Q C (or QᵀC) in place (dormtr, side L, lower) with Q from dsytrd's reflectors;
    C Fortran-ordered."""
    n, m = C.shape
    routine = _cython_lapack_routine("dormtr", 13)
    info = ctypes.c_int(0)
    trans = b"T" if transpose else b"N"

    def call(work: np.ndarray, lwork: int) -> None:
        routine(b"L", b"L", trans, ctypes.byref(ctypes.c_int(n)), ctypes.byref(ctypes.c_int(m)),
                _pointer(reflectors), ctypes.byref(ctypes.c_int(reflectors.shape[0])), _pointer(tau),
                _pointer(C), ctypes.byref(ctypes.c_int(n)), _pointer(work), ctypes.byref(ctypes.c_int(lwork)),
                ctypes.byref(info))

    query = np.empty(1)
    call(query, -1)
    _check_info(info.value, "dormtr workspace query")
    lwork = int(query[0])
    call(np.empty(lwork), lwork)
    _check_info(info.value, "dormtr")


# ---------------------------------------------------------------------------------------------
# LAPACK routines that scipy.linalg.lapack does not wrap


def _pointer(array: np.ndarray) -> ctypes.c_void_p:
    assert array.dtype == np.float64 and (array.flags.f_contiguous or array.ndim == 1)
    return ctypes.c_void_p(array.ctypes.data)


@functools.lru_cache(maxsize=None)
def _cython_lapack_routine(name: str, n_args: int):
    """A LAPACK routine from scipy.linalg.cython_lapack, callable through ctypes.

    Those are C functions taking pointers only (char*, int*, double*), exported as capsules.
    """
    capsule = cython_lapack.__pyx_capi__[name]
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    address = get_pointer(capsule, get_name(capsule))
    return ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * n_args))(address)


@functools.lru_cache(maxsize=None)
def _dsytrd_2stage_routine():
    """LAPACK dsytrd_2stage (32-bit integers) from the LAPACK SciPy ships with, or None.

    SciPy does not wrap it. Wheels bundle OpenBLAS (full LAPACK, symbols prefixed
    ``scipy_``); other installs may have a system LAPACK. Without it, the one-stage dsytrd is
    used: same results, slower.
    """
    scipy_dir = os.path.dirname(scipy.__file__)
    candidates = sorted(
        glob.glob(os.path.join(scipy_dir, os.pardir, "scipy.libs", "*openblas*"))
        + glob.glob(os.path.join(scipy_dir, ".dylibs", "*openblas*"))
    )
    for name in ("openblas", "lapack"):
        found = ctypes.util.find_library(name)
        if found:
            candidates.append(found)
    for path in candidates:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in ("scipy_dsytrd_2stage_", "dsytrd_2stage_"):
            routine = getattr(library, symbol, None)
            if routine is not None:
                pointer, integer = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)
                # VECT, UPLO, N, A, LDA, D, E, TAU, HOUS2, LHOUS2, WORK, LWORK, INFO, and the
                # two hidden lengths of the character arguments (Fortran calling convention).
                routine.argtypes = [ctypes.c_char_p, ctypes.c_char_p, integer, pointer, integer, pointer, pointer,
                                    pointer, pointer, integer, pointer, integer, integer,
                                    ctypes.c_size_t, ctypes.c_size_t]
                routine.restype = None
                return routine
    return None


def _check_info(info: int, routine: str) -> None:
    if info != 0:
        raise np.linalg.LinAlgError(f"LAPACK {routine} failed with info={info}")
