"""The top of a kernel's spectrum from products V ↦ K V only: a block-Krylov eigensolver.

What it computes
----------------
The k largest eigenpairs of a symmetric PSD operator (the pool kernel matrix), used by
:class:`wilsonian.spectrum.KrylovSolver` to build a *truncated*
:class:`~wilsonian.spectrum.Spectrum` in the conventions of THEORY.md §1.

How
---
The only access to K is the block product V ↦ K V (one *pass* over K); with a
:class:`~wilsonian.operators.TiledOperator` its kernel entries are recomputed on the fly, so
memory is O(N·(basis size)) plus one tile. Computing the kernel
entries is a large part of a pass (for Fashion-MNIST, d = 784, as much as multiplying K by
about 600 vectors), so the eigensolver is chosen to need few passes, each serving a whole
block:

*Thick-restart block Lanczos with full reorthogonalization* (:func:`block_krylov_eigensolver`).
The basis Q (N × m, orthonormal) grows by one block per pass: W = K Q_j, orthogonalized
twice against Q (classical Gram–Schmidt, twice is enough) and QR-factored into the next
block, W = Q_{j+1} R_j. The projected matrix H = QᵀKQ is filled one block column per pass
(its last block row is R_j), and the Krylov relation

    K Q = Q H + Q_{j+1} R_j E_jᵀ

gives each Ritz pair (θ, Q s) its residual ‖K Q s − θ Q s‖ = ‖R_j s_j‖ (s_j: the last block
rows of s) without another pass. When the basis is full it is restarted on the top
``k + oversample`` Ritz vectors Y = Q S, for which K Y = Y Θ + Q_{j+1} R_j S_jᵀ still holds,
so H restarts as diag(Θ) and the next pass continues the same Krylov sequence.
Measured on a Fashion-MNIST NNGP kernel (N = 3000, k = 500, λ_500/λ_1 ≈ 3·10⁻⁵, relative
gap at k ≈ 4·10⁻³), passes to reach residuals ≤ 10⁻¹⁰·λ_1: this solver with the defaults
(b = 300, 900 kept, basis ≤ 1800) 11 (12 to 10⁻¹²); subspace iteration with Rayleigh–Ritz
(block 800) 19; ``scipy.sparse.linalg.lobpcg`` (block 600) 46. At N = 5000 and N = 14,000
(k = 1000) the defaults took 13 passes to 10⁻¹² (benchmarks/bench_large.py).
Between restarts the m×m Ritz problem is solved only while m is small or when the residual
trend says convergence is near (:func:`_worth_checking`): with a large basis it costs as
much as a pass.

Accuracy
--------
``residual_norms[i]`` = ‖K v_i − w_i v_i‖/w_1 (K, not K/N; w = Nλ). By the symmetric
eigenvalue perturbation theory, the eigenvalue error is at most the residual and, once the
Ritz values are separated, at most residual²/gap (``eigenvalue_error_estimates`` uses the
gap to the nearest other Ritz value). The default ``tol=1e-12`` gives λ_k to ~10⁻¹²
relative and y_k to ~10⁻¹¹·√⟨y²⟩ absolute: tighter than ``tol=1e-10`` by two passes, and
needed for y_k, whose error is residual/gap (gaps are small in power-law spectra).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.linalg

from wilsonian._validation import check_int as _check_int
from wilsonian._validation import check_positive as _check_positive
from wilsonian.errors import WilsonianError

__all__ = ["EigensolverResult", "block_krylov_eigensolver", "default_solver_sizes"]
# Basis size up to which the Ritz pairs are computed at every pass (eigh of H is cheap).
_CHEAP_RITZ = 1000

Matmul = Callable[[np.ndarray], np.ndarray]


# ----------------------------------------------------------------------- the eigensolver


@dataclass(frozen=True)
class EigensolverResult:
    """Top eigenpairs of a symmetric PSD operator A (for the kernel, A = K, not K/N).

    Attributes
    ----------
    eigenvalues : (k,) Ritz values w_i, descending.
    vectors : (N, k) orthonormal Ritz vectors, same order.
    residual_norms : (k,) ‖A v_i − w_i v_i‖ / w_1 from the Krylov relation, floored at the
        round-off level √N·ε of a product with A.
    converged : (k,) bool, Krylov residual ≤ tol.
    eigenvalue_error_estimates : (k,) max(min(r_i, r_i²/gap_i), ε w_1)/w_i with
        r_i = ‖A v_i − w_i v_i‖ and gap_i the distance from w_i to the nearest other Ritz
        value: an estimate of the relative eigenvalue error (a bound once the Ritz values are
        close to convergence, up to round-off).
    passes : number of block products with A.
    columns : total number of vectors multiplied by A.
    restarts : number of thick restarts.
    block_size, max_basis, keep : the sizes used.
    """

    eigenvalues: np.ndarray
    vectors: np.ndarray
    residual_norms: np.ndarray
    converged: np.ndarray
    eigenvalue_error_estimates: np.ndarray
    passes: int
    columns: int
    restarts: int
    block_size: int
    max_basis: int
    keep: int


def default_solver_sizes(n: int, k: int, oversample: int | None = None, block_size: int | None = None,
                         max_basis: int | None = None) -> tuple[int, int, int]:
    """(block size b, Ritz vectors kept at a restart, maximum basis size) for N = n.

    Defaults (measured on NNGP spectra, see the module docstring): b = max(0.6 k, 128),
    kept = k + max(0.8 k, 64), basis = kept + 3 b; all clipped to fit N.
    """
    if oversample is None:
        oversample = max(int(math.ceil(0.8 * k)), 64)
    if block_size is None:
        block_size = max(int(math.ceil(0.6 * k)), 128)
    keep = k + oversample
    if max_basis is None:
        max_basis = keep + 3 * block_size
    max_basis = min(max_basis, n)
    block_size = max(1, min(block_size, max_basis - k))
    keep = max(k, min(keep, max_basis - block_size))
    if max_basis < keep + block_size:
        raise WilsonianError(
            f"max_basis = {max_basis} leaves no room for k = {k} vectors plus a block of "
            f"{block_size}; raise max_basis or lower k."
        )
    return block_size, keep, max_basis


def _split_block(W: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """QR of the orthogonalized new block, W ≈ Q_good R_good, dropping round-off directions.

    Returns (Q_good (N, r), R_good (r, b)) with r the numerical rank of W relative to
    ``scale`` (the largest eigenvalue seen). A rank below b means the Krylov space has
    (nearly) closed, e.g. for a low-rank kernel. Householder QR (BLAS-3) first; the
    column-pivoted QR, which reveals the rank but is much slower, only when some |R_ii|
    is at round-off level.
    """
    n, b = W.shape
    tiny = n * np.finfo(float).eps * scale
    Q, R = np.linalg.qr(W)
    if np.all(np.abs(np.diagonal(R)) > tiny):
        return Q, R
    Q, R, perm = scipy.linalg.qr(W, mode="economic", pivoting=True, check_finite=False)
    rank = int(np.count_nonzero(np.abs(np.diagonal(R)) > tiny))
    R_good = np.empty((rank, b))
    R_good[:, perm] = R[:rank]
    return Q[:, :rank], R_good


def _fill_random(Q: np.ndarray, m: int, count: int, rng: np.random.Generator) -> None:
    """Columns m:m+count of Q ← random unit vectors orthogonal to Q[:, :m] (and each other)."""
    basis = Q[:, :m]
    Z = rng.standard_normal((Q.shape[0], count))
    for _ in range(2):
        Z -= basis @ (basis.T @ Z)
    Q[:, m:m + count] = np.linalg.qr(Z)[0]


def _append_block(Q: np.ndarray, m: int, Q_new: np.ndarray, b: int, rng: np.random.Generator) -> tuple[slice, int]:
    """Put the next block into columns m:m+b of the basis (random orthogonal columns where the
    new block lost rank); return (its slice, the new basis size)."""
    rank = Q_new.shape[1]
    Q[:, m:m + rank] = Q_new
    if rank < b:
        _fill_random(Q, m + rank, b - rank, rng)
    return slice(m, m + b), m + b


def _worth_checking(history: list[tuple[int, float]], passes: int, m: int, tol: float) -> bool:
    """Whether to compute the Ritz pairs at this pass to test convergence.

    Always while the basis is small (the m×m eigendecomposition is cheap) or the residual
    trend is unknown; otherwise only when the geometric trend of the last two checks,
    extrapolated to this pass, is within a factor 30 of ``tol``.
    """
    if m <= _CHEAP_RITZ or len(history) < 2:
        return True
    (p1, r1), (p2, r2) = history[-2], history[-1]
    if not (0 < r2 < r1) or p2 <= p1:
        return True
    rate = (r2 / r1) ** (1.0 / (p2 - p1))
    return r2 * rate ** (passes - p2) <= 30.0 * tol


def block_krylov_eigensolver(
    matmul: Matmul,
    n: int,
    k: int,
    *,
    oversample: int | None = None,
    block_size: int | None = None,
    max_basis: int | None = None,
    tol: float = 1e-12,
    max_iter: int = 50,
    seed: int = 0,
    progress: bool = False,
) -> EigensolverResult:
    """Top-k eigenpairs of a symmetric PSD operator given only as V ↦ A V.

    Thick-restart block Lanczos with full reorthogonalization; see the module docstring.

    Parameters
    ----------
    matmul : callable
        ``matmul(V)`` with V (n, b) float64 returns A V (n, b). Called once per pass.
    n : int
        Dimension of A.
    k : int
        Number of eigenpairs wanted, 1 ≤ k < n.
    oversample, block_size, max_basis : int, optional
        Extra Ritz vectors kept at restarts, vectors per pass, and the largest basis
        (memory: 8·n·max_basis bytes plus n·keep for a restart). Defaults from
        :func:`default_solver_sizes`.
    tol : float
        Stop when ‖A v_i − w_i v_i‖ ≤ tol·w_1 for all i ≤ k.
    max_iter : int
        Maximum number of passes (block products). If reached, the result is returned with
        ``converged`` False where the test fails, and a RuntimeWarning is issued.
    seed : int
        Seeds the random starting block (``numpy.random.default_rng(seed)``).
    progress : bool
        tqdm bar over passes on stderr.

    Returns
    -------
    EigensolverResult
    """
    n = _check_int(n, "n", 1)
    k = _check_int(k, "k", 1)
    if k >= n:
        raise WilsonianError(f"k = {k} must be smaller than N = {n}; use the dense solver for all modes.")
    tol = _check_positive(tol, "tol")
    max_iter = _check_int(max_iter, "max_iter", 1)
    for name, value in (("oversample", oversample), ("block_size", block_size), ("max_basis", max_basis)):
        if value is not None:
            _check_int(value, name, 0 if name == "oversample" else 1)
    b, keep, m_max = default_solver_sizes(n, k, oversample, block_size, max_basis)
    rng = np.random.default_rng(seed)

    # Fortran order: the basis is used column block by column block.
    Q = np.empty((n, m_max), order="F")
    H = np.zeros((m_max, m_max))
    _fill_random(Q, 0, b, rng)
    m, last = b, slice(0, b)
    passes = columns = restarts = 0
    history: list[tuple[int, float]] = []  # (pass, largest residual of the k wanted pairs)
    scale = 0.0
    bar = None
    if progress:
        from wilsonian._progress import progress_bar

        bar = progress_bar(total=max_iter, desc="top-k eigensolver passes", unit="pass", leave=False)
    try:
        while True:
            W = np.asarray(matmul(np.ascontiguousarray(Q[:, last])), dtype=np.float64)
            if W.shape != (n, last.stop - last.start):
                raise WilsonianError(
                    f"matmul returned shape {W.shape} for a block of shape {(n, last.stop - last.start)}; "
                    "it must return K @ V."
                )
            passes += 1
            columns += last.stop - last.start
            basis = Q[:, :m]
            coupling = basis.T @ W
            W -= basis @ coupling
            correction = basis.T @ W  # second Gram–Schmidt pass: orthogonal to round-off
            W -= basis @ correction
            coupling += correction
            H[:m, last] = coupling
            H[last, :m] = coupling.T
            H[last, last] = 0.5 * (H[last, last] + H[last, last].T)
            scale = max(scale, float(np.max(np.abs(np.diagonal(H)[:m]))))
            Q_new, R_new = _split_block(W, scale)

            restart = m + b > m_max
            if bar is not None:
                bar.update(1)
            if not (restart or passes >= max_iter or _worth_checking(history, passes, m, tol)):
                # The Ritz pairs (an m×m eigendecomposition, as costly as a pass when the
                # basis is large) are only needed to restart, or to stop once the residual
                # trend says convergence is near.
                last, m = _append_block(Q, m, Q_new, b, rng)
                continue

            # Ritz pairs: only the top `keep` (≥ k) are ever used. NumPy's LAPACK, not SciPy's:
            # the products above run on NumPy's OpenBLAS, and alternating between two
            # OpenBLAS thread pools (each busy-waits after a call) starves both on few cores.
            top = min(keep, m)
            theta, S = np.linalg.eigh(H[:m, :m])
            theta, S = theta[::-1][:top], S[:, ::-1][:, :top]
            scale = max(scale, float(theta[0]))
            residual = np.linalg.norm(R_new @ S[last, :], axis=0)
            relative = residual / theta[0]
            done = top >= k and bool(np.all(relative[:k] <= tol))
            if top >= k:
                history.append((passes, float(relative[:k].max())))
            if bar is not None:
                bar.set_postfix(basis=m, max_residual=f"{relative[:k].max():.1e}")
            if done or passes >= max_iter:
                break

            if m + b > m_max:  # thick restart on the top Ritz vectors
                Q[:, :keep] = basis @ S[:, :keep]
                H[:] = 0.0
                H[np.arange(keep), np.arange(keep)] = theta[:keep]
                m = keep
                restarts += 1
            last, m = _append_block(Q, m, Q_new, b, rng)
    finally:
        if bar is not None:
            bar.close()

    if theta.size < k:
        raise WilsonianError(
            f"max_iter = {max_iter} passes built only {theta.size} of the k = {k} vectors; raise max_iter "
            "(KrylovSolver(max_iter=...) in Python) or lower k."
        )
    vectors = Q[:, :m] @ S[:, :k]
    eigenvalues = theta[:k].copy()
    converged = relative[:k] <= tol
    # The Krylov relation can report residuals far below what a product with K can resolve;
    # √N·ε (relative to w_1) is the typical round-off of such a product.
    floor = math.sqrt(n) * np.finfo(float).eps
    relative = np.maximum(relative, floor)
    residual = np.maximum(residual, floor * theta[0])
    if not converged.all():
        warnings.warn(
            f"top-k eigensolver: {int((~converged).sum())} of {k} eigenpairs did not reach the "
            f"tolerance {tol:g} in {passes} passes (largest residual {relative[:k].max():.2e}); "
            "raise the tolerance (--tol), resolve a few extra modes (--extra-modes: the last ones "
            "converge slowest) or raise max_iter (KrylovSolver(max_iter=...) in Python).",
            RuntimeWarning,
            stacklevel=2,
        )
    others = theta  # Ritz values beyond k stand in for the rest of the spectrum
    gaps = np.full(k, np.inf)
    if others.size > 1:
        diff = np.abs(eigenvalues[:, None] - others[None, :])
        diff[np.arange(k), np.arange(k)] = np.inf
        gaps = diff.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        # No computed eigenvalue is more accurate than the round-off ε·w_1 of K itself.
        bound = np.maximum(np.minimum(residual[:k], np.square(residual[:k]) / gaps),
                           np.finfo(float).eps * theta[0])
        estimates = np.where(eigenvalues > 0, bound / eigenvalues, np.inf)
    return EigensolverResult(
        eigenvalues=eigenvalues,
        vectors=vectors,
        residual_norms=relative[:k].copy(),
        converged=converged,
        eigenvalue_error_estimates=estimates,
        passes=passes,
        columns=columns,
        restarts=restarts,
        block_size=b,
        max_basis=m_max,
        keep=keep,
    )


