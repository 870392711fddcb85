"""The Monte Carlo of the Hermite toy model (:mod:`wilsonian.toy.model`): exact GP posterior
means of millions of training sets, from power sums of their inputs.

Monte Carlo
-----------
For one training set x_1..x_n (Φ is the n×2 feature matrix, Λ = diag(λ_1, λ_2)), the exact GP
posterior mean is f̄(x*) = c_1 φ_1(x*) + c_2 φ_2(x*) with, by the push-through identity
k(x*)ᵀ(K + σ²I)⁻¹y = φ(x*)ᵀ Λ Φᵀ(ΦΛΦᵀ + σ²I)⁻¹y = φ(x*)ᵀ(σ²Λ⁻¹ + ΦᵀΦ)⁻¹Φᵀy,

    (σ² I + Λ ΦᵀΦ) c = Λ Φᵀ y.                                               (toy.1)

This form needs no Λ⁻¹, so λ_2 = 0 is the same formula (it gives c_2 = 0 and
c_1 = λ_1 Φ_1ᵀy / (σ² + λ_1 Φ_1ᵀΦ_1)). The five numbers ΦᵀΦ (3) and Φᵀy (2) are sums over the
training points of polynomials in x, so each trial needs only the power sums
P_k = Σ_i x_i^k for k = 1..K, K = max(4, D + 2) (P_0 = n):

    (ΦᵀΦ)_11 = P_2,  (ΦᵀΦ)_12 = (P_3 − P_1)/√2,  (ΦᵀΦ)_22 = (P_4 − 2P_2 + n)/2,
    (Φᵀy)_1 = Σ_j h_j P_{j+1},  (Φᵀy)_2 = Σ_j h_j (P_{j+2} − P_j)/√2,

where He_D(x) = Σ_j h_j x^j. The 2×2 system (toy.1) is solved by Cramer's rule for all trials
at once. The monomial expansion of He_D cancels large terms; at D = 5 this costs nothing
measurable, and the tests check it against per-point features up to D = 12.

Reproducibility contract: trials are cut into chunks of ``chunk`` consecutive trials
(default :data:`DEFAULT_CHUNK`). Chunk i starts from the SFC64 state of
``numpy.random.Generator(SFC64(SeedSequence(seed, spawn_key=(i,))))``, i.e. the i-th child of
``SeedSequence(seed).spawn`` (:func:`chunk_generator`): its inputs are that generator's
``standard_normal`` stream (NumPy's ziggurat), taken in blocks of :data:`BLOCK_TRIALS`
training sets; a block of b sets reads its b·n normals as an (n, b) array in row-major
order (:func:`chunk_inputs` returns them). Per-chunk moments are combined in chunk order. The result is therefore a function of
(parameters, trials, seed, chunk) only, identical for any number of worker threads; the
first chunks of a longer run are those of a shorter one. The drawing and the power sums are
compiled (:mod:`wilsonian.toy._kernels`, numba) with a fixed order of operations.
"""


from __future__ import annotations

import math
import os
import queue
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.polynomial import hermite_e, polynomial

from wilsonian._workspace import Workspace
from wilsonian.errors import WilsonianError
import wilsonian.toy._kernels as _toy_kernels
from wilsonian.toy.model import (
    ToyParams,
    _as_int,
    features,
    target_overlaps,
)

__all__ = [
    "BLOCK_TRIALS",
    "DEFAULT_CHUNK",
    "PAPER_TRIALS",
    "ToyMonteCarlo",
    "chunk_generator",
    "chunk_inputs",
    "monte_carlo",
    "monte_carlo_models",
    "trial_coefficients",
]

#: Number of training sets in the paper's Monte Carlo.
PAPER_TRIALS = 5_000_000
#: Trials per chunk: part of the seed's contract (see the module docstring).
DEFAULT_CHUNK = 100_000
#: Training sets per block inside a chunk (part of the seed contract): the block's K power
#: sums (K·256·8 bytes) stay in the L1 cache while its normals stream through.
BLOCK_TRIALS = 256

#: Most normals one Monte Carlo may draw (trials × n): ~30 minutes at ~2 ns per normal on
#: two cores. Beyond it a run is refused up front instead of running without bound.
MAX_NORMALS = 10**12

_SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------------------------
# Monte Carlo: exact posterior means from power sums
# --------------------------------------------------------------------------------------------


def _power_sum_map(degree: int) -> np.ndarray:
    """Matrix L, shape (5, K + 1), with [G_11, G_12, G_22, r_1, r_2] = L @ [P_0, ..., P_K].

    G = ΦᵀΦ and r = Φᵀy for y = He_D; P_k = Σ_i x_i^k; K = max(4, D + 2). Each row holds the
    monomial coefficients of the polynomial summed over the training points.
    """
    unit = np.zeros(degree + 1)
    unit[degree] = 1.0
    target = hermite_e.herme2poly(unit)
    phi1 = np.array([0.0, 1.0])
    phi2 = np.array([-1.0, 0.0, 1.0]) / _SQRT2
    rows = [
        polynomial.polymul(phi1, phi1),
        polynomial.polymul(phi1, phi2),
        polynomial.polymul(phi2, phi2),
        polynomial.polymul(phi1, target),
        polynomial.polymul(phi2, target),
    ]
    order = max(4, degree + 2)
    mapping = np.zeros((5, order + 1))
    for i, row in enumerate(rows):
        mapping[i, : row.size] = row
    return mapping


def _fill_power_sums(powers: np.ndarray, out: np.ndarray) -> None:
    """Power sums of a block of training sets, in place.

    Parameters
    ----------
    powers : ndarray, shape (h, b, n), h = ⌈K/2⌉
        ``powers[0]`` holds the inputs (b training sets of n points); ``powers[1:]`` is
        scratch space, overwritten with x², ..., x^h.
    out : ndarray, shape (K, b)
        Receives P_k = Σ_i x_i^k for k = 1..K (row k − 1), K ≤ 2h.

    Only the powers up to h are stored; P_k for k > h is the fused product-sum
    Σ_i x_i^h x_i^(k−h), which einsum computes without a temporary array.
    """
    half = powers.shape[0]
    np.multiply(powers[0], powers[0], out=powers[1])
    for k in range(2, half):
        np.multiply(powers[k - 1], powers[0], out=powers[k])
    # einsum's contiguous sums are ~2x faster than np.add.reduce over rows of ~100 here,
    # and, unlike a product with a vector of ones, never start BLAS threads.
    np.einsum("kbn->kb", powers, out=out[:half])
    for k in range(half + 1, out.shape[0] + 1):
        np.einsum("bn,bn->b", powers[half - 1], powers[k - half - 1], out=out[k - 1])


def _solve_coefficients(sums: np.ndarray, n: int, params: ToyParams, mapping: np.ndarray,
                        out: np.ndarray | None = None):
    """Posterior-mean coefficients (toy.1) by Cramer's rule, for all trials at once.

    Parameters
    ----------
    sums : ndarray, shape (K, m)
        Power sums P_1..P_K of m training sets.
    out : ndarray, shape (4, m), optional
        C-contiguous array to write them into (default: a new one).

    Returns
    -------
    ndarray, shape (4, m)
        ``out`` or a new array: rows c_1, c_2 (the coefficients) and r_1, r_2 (Φᵀy, used as control variates).
    """
    values = np.empty((4, sums.shape[1])) if out is None else out
    _toy_kernels.solve_coefficients(np.ascontiguousarray(sums), n, mapping, params.lambda1,
                                    params.lambda_high, params.ridge, values)
    return values


def trial_coefficients(
    x: np.ndarray,
    *,
    lambda1: float = 1.0,
    lambda_high: float = 0.1,
    ridge: float = 400.0,
    degree: int = 5,
) -> np.ndarray:
    """Exact GP posterior-mean coefficients for given training sets (eq. toy.1).

    Parameters
    ----------
    x : array_like, shape (m, n)
        m training sets of n inputs each; targets are y = He_D(x).

    Returns
    -------
    ndarray, shape (m, 2)
        (c_1, c_2) per training set; the posterior mean is c_1 φ_1(x*) + c_2 φ_2(x*).
        Computed from power sums, as in :func:`monte_carlo`.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise WilsonianError(f"x must have shape (training sets, points), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise WilsonianError("x must be finite")
    params = ToyParams(lambda1, lambda_high, ridge, x.shape[1], degree)
    mapping = _power_sum_map(params.degree)
    order = mapping.shape[1] - 1
    powers = np.empty(((order + 1) // 2,) + x.shape)
    powers[0] = x
    sums = np.empty((order, x.shape[0]))
    _fill_power_sums(powers, sums)
    return _solve_coefficients(sums, params.n, params, mapping)[:2].T.copy()


def chunk_generator(seed: int, index: int) -> np.random.Generator:
    """Generator of chunk ``index``: seeded by child ``index`` of ``SeedSequence(seed).spawn``.

    The bit generator is NumPy's SFC64 rather than the default PCG64: it is of high
    statistical quality (it passes PractRand and BigCrush), and on the development machine it
    drew uniforms ~25 % faster.
    """
    sequence = np.random.SeedSequence(seed, spawn_key=(index,))
    return np.random.Generator(np.random.SFC64(sequence))


def chunk_inputs(seed: int, index: int, size: int, n: int) -> np.ndarray:
    """The inputs of chunk ``index`` when it holds ``size`` training sets, shape (size, n).

    The same draws as :func:`monte_carlo` makes (module docstring), for checks and plots;
    the Monte Carlo itself never stores them. ``size`` must be the chunk's size: the blocks
    of the last :data:`BLOCK_TRIALS` sets depend on it (the first k·BLOCK_TRIALS sets do not).
    """
    seed, index = _as_int("seed", seed, 0), _as_int("index", index, 0)
    size, n = _as_int("size", size, 1), _as_int("n", n, 1)
    state = _toy_kernels.sfc64_state(chunk_generator(seed, index))
    x = np.empty((size, n))
    for start in range(0, size, BLOCK_TRIALS):
        rows = min(BLOCK_TRIALS, size - start)
        normals = np.empty(rows * n)
        _toy_kernels.standard_normals(state, normals)
        x[start : start + rows] = normals.reshape(n, rows).T
    return x


def _chunk_moments(seed: int, index: int, size: int, models: Sequence[ToyParams], mapping: np.ndarray,
                   workspace: Workspace | None = None):
    """Draw chunk ``index`` (``size`` training sets); return [(count, mean (4,), scatter (4, 4))]
    for each of ``models`` (parameters that share n and the degree, e.g. several λ_>).

    The moments are those of the per-trial vector (c_1, c_2, r_1, r_2), r = Φᵀy.

    The compiled kernel draws the inputs block by block (module docstring) and keeps only
    their power sums: memory is O(size·K) plus one block of normals (n·BLOCK_TRIALS), in
    ``workspace`` when given (reused from chunk to chunk: fresh arrays are new pages). The
    power sums do not depend on λ_1, λ_> or σ², so every model is solved from the same sums:
    each gets exactly the numbers a run of its own would give. ``scatter`` is the centered
    Σ (v − v̄)(v − v̄)ᵀ.
    """
    n = models[0].n
    workspace = workspace or Workspace()
    sums = workspace.array("sums", (mapping.shape[1] - 1, size))
    values = workspace.array("values", (4, size))
    state = _toy_kernels.sfc64_state(chunk_generator(seed, index))
    _toy_kernels.chunk_power_sums(state, n, BLOCK_TRIALS, sums)
    moments = []
    for params in models:
        _solve_coefficients(sums, n, params, mapping, out=values)
        mean = values.mean(axis=1)
        centered = np.subtract(values, mean[:, None], out=values)
        # einsum, not a matrix product: no BLAS threads inside the worker threads.
        scatter = np.einsum("ib,jb->ij", centered, centered)
        moments.append((size, mean, scatter))
    return moments


def _combine(first, second):
    """Merge (count, mean, scatter) of two disjoint samples (Chan et al.'s parallel update)."""
    n_a, mean_a, scatter_a = first
    n_b, mean_b, scatter_b = second
    total = n_a + n_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (n_b / total)
    scatter = scatter_a + scatter_b + np.outer(delta, delta) * (n_a * n_b / total)
    return total, mean, scatter


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class ToyMonteCarlo:
    """Result of :func:`monte_carlo`.

    Attributes
    ----------
    params : ToyParams
    trials : int
        Number m of independent training sets.
    seed, chunk : int
        The seed and chunk size that determine the sample (module docstring).
    mean : ndarray, shape (2,)
        Average posterior-mean coefficients (c̄_1, c̄_2) over the m training sets: the
        plain Monte Carlo estimate of the paper.
    covariance : ndarray, shape (2, 2)
        Sample covariance (ddof = 1) of the per-trial coefficients (c_1, c_2); NaN if m = 1.
        The covariance of ``mean`` is ``covariance / trials``.
    cv_mean : ndarray, shape (2,)
        Control-variate estimate of the same expectation E[c]: c̄ − β (r̄ − E r), with
        r = Φᵀy per trial, whose mean n (⟨φ_1 He_D⟩, ⟨φ_2 He_D⟩) is known exactly
        (:func:`target_overlaps`), and β = Σ_cr Σ_rr⁻¹ fitted on the sample. r carries most
        of the trial-to-trial noise of c, so this is ~20× more precise at paper parameters
        (its O(1/m) bias from fitting β is far below its standard error).
    cv_covariance : ndarray, shape (2, 2)
        Per-trial residual covariance Σ_cc − Σ_cr Σ_rr⁻¹ Σ_rc; ``cv_covariance / trials`` is
        the covariance of ``cv_mean``. NaN for m < 4.
    """

    params: ToyParams
    trials: int
    seed: int
    chunk: int
    mean: np.ndarray
    covariance: np.ndarray
    cv_mean: np.ndarray
    cv_covariance: np.ndarray

    @property
    def se(self) -> np.ndarray:
        """Standard errors of (c̄_1, c̄_2): sample std / √m, shape (2,)."""
        return np.sqrt(np.diag(self.covariance) / self.trials)

    @property
    def slope(self) -> float:
        """Monte Carlo slope c̄_1 (coefficient of φ_1 = x)."""
        return float(self.mean[0])

    @property
    def slope_se(self) -> float:
        """Standard error of :attr:`slope`."""
        return float(self.se[0])

    @property
    def cv_se(self) -> np.ndarray:
        """Standard errors of :attr:`cv_mean`, shape (2,)."""
        return np.sqrt(np.diag(self.cv_covariance) / self.trials)

    @property
    def cv_slope(self) -> float:
        """Control-variate estimate of the slope E[c_1]."""
        return float(self.cv_mean[0])

    @property
    def cv_slope_se(self) -> float:
        """Standard error of :attr:`cv_slope`."""
        return float(self.cv_se[0])

    def predictor(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Average predictor c̄_1 x + c̄_2 φ_2(x) and its standard error (plain estimate).

        Parameters
        ----------
        x : array_like, shape (...)

        Returns
        -------
        (mean, se) : two ndarrays of shape (...)
            se² = φ(x)ᵀ (covariance / m) φ(x), with the covariance of (c_1, c_2).
        """
        phi = features(x)
        mean = phi @ self.mean
        var = np.einsum("...i,ij,...j->...", phi, self.covariance / self.trials, phi)
        return mean, np.sqrt(np.maximum(var, 0.0))

    def as_dict(self) -> dict:
        """Plain dict (for JSON)."""
        return {
            "params": self.params.as_dict(),
            "trials": self.trials,
            "seed": self.seed,
            "chunk": self.chunk,
            "mean": self.mean,
            "se": self.se,
            "covariance": self.covariance,
            "cv_mean": self.cv_mean,
            "cv_se": self.cv_se,
            "cv_covariance": self.cv_covariance,
        }


def _summarize(count: int, mean: np.ndarray, scatter: np.ndarray, params: ToyParams):
    """Plain and control-variate estimates from the moments of (c_1, c_2, r_1, r_2)."""
    if count < 2:
        nan = np.full((2, 2), np.nan)
        return mean[:2], nan, np.full(2, np.nan), nan
    cov = scatter / (count - 1)
    cov_cc, cov_cr, cov_rr = cov[:2, :2], cov[:2, 2:], cov[2:, 2:]
    if count < 4:
        return mean[:2], cov_cc, np.full(2, np.nan), np.full((2, 2), np.nan)
    beta = cov_cr @ np.linalg.pinv(cov_rr)
    r_mean = params.n * target_overlaps(params.degree)
    cv_mean = mean[:2] - beta @ (mean[2:] - r_mean)
    cv_cov = cov_cc - beta @ cov_cr.T
    # A residual variance is ≥ 0; where r explains c exactly (λ_> = 0 at a huge ridge) the
    # difference above is round-off of either sign (−7e-77 found by the CLI fuzz test), and
    # a negative one would make the standard error NaN.
    diagonal = np.arange(2)
    cv_cov[diagonal, diagonal] = np.maximum(cv_cov[diagonal, diagonal], 0.0)
    return mean[:2], cov_cc, cv_mean, cv_cov


def _resolve_workers(workers: int | None, chunks: int) -> int:
    if workers is None:
        try:
            available = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            available = os.cpu_count() or 1
        return max(1, min(available, chunks))
    return min(_as_int("workers", workers, 1), chunks)


def monte_carlo(
    *,
    trials: int = PAPER_TRIALS,
    lambda1: float = 1.0,
    lambda_high: float = 0.1,
    ridge: float = 400.0,
    n: int = 100,
    degree: int = 5,
    seed: int = 0,
    chunk: int = DEFAULT_CHUNK,
    workers: int | None = None,
    progress: bool = False,
) -> ToyMonteCarlo:
    """Average the exact GP posterior mean over ``trials`` independent training sets.

    Each trial draws x_1..x_n iid N(0, 1), sets y_i = He_D(x_i), and solves (toy.1) from
    the power sums of its inputs (module docstring). Chunks of ``chunk`` trials run on
    ``workers`` threads (the compiled kernel releases the GIL).

    Parameters
    ----------
    trials : int
        Number m ≥ 1 of training sets (paper: 5·10⁶).
    lambda1, lambda_high, ridge, n, degree
        Model parameters, see :class:`ToyParams`.
    seed : int
        Non-negative seed. Same (seed, chunk, parameters, trials) → identical result.
    chunk : int
        Trials per chunk; part of the seed's contract, independent of ``workers``.
    workers : int, optional
        Threads; default: the CPUs available to this process. Does not change the result.
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    ToyMonteCarlo

    Notes
    -----
    Memory is bounded by the chunks in flight: about (K + 8)·8 bytes per trial of a chunk
    plus one block of normals (n·BLOCK_TRIALS·8 bytes, 200 kB at n = 100), whatever ``trials`` is.
    Time at the paper's parameters is dominated by drawing the 100 normals per trial and
    adding their powers, both compiled; see benchmarks/bench_toy.py.
    """
    params = ToyParams(lambda1, lambda_high, ridge, n, degree)
    return monte_carlo_models([params], trials, seed, chunk, workers, progress)[0]


class _NoProgress:
    """Stands in for a progress bar when none is shown (tqdm is then not even imported)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, count: int) -> None:
        return None


def monte_carlo_models(models: Sequence[ToyParams], trials, seed, chunk, workers,
                        progress: bool) -> list[ToyMonteCarlo]:
    """:func:`monte_carlo` of several models with the same n and degree, from one set of draws.

    Each result equals ``monte_carlo`` of that model alone with the same trials, seed and
    chunk (the draws and their power sums do not depend on λ_1, λ_> or σ²).
    """
    trials = _as_int("trials", trials, 1)
    n = models[0].n
    if trials * n > MAX_NORMALS:
        raise WilsonianError(
            f"{trials:,} trials of n = {n} points draw {trials * n:.1e} normals, beyond "
            f"{MAX_NORMALS:.0e} (about half an hour on two cores at ~2 ns each); use fewer trials")
    seed = _as_int("seed", seed, 0)
    chunk = _as_int("chunk", chunk, 1)
    chunks = -(-trials // chunk)
    workers = _resolve_workers(workers, chunks)
    mapping = _power_sum_map(models[0].degree)
    sizes = [min(chunk, trials - i * chunk) for i in range(chunks)]
    if progress:
        from wilsonian._progress import progress_bar

        bar = progress_bar(total=trials, unit="trial", unit_scale=True, desc="toy Monte Carlo")
    else:
        bar = _NoProgress()

    results: list = [None] * chunks
    with bar:
        if workers == 1:
            workspace = Workspace()
            for i, size in enumerate(sizes):
                results[i] = _chunk_moments(seed, i, size, models, mapping, workspace)
                bar.update(size)
        else:
            # One workspace per worker, taken for a chunk and put back after it.
            free = queue.SimpleQueue()
            for _ in range(workers):
                free.put(Workspace())

            def moments(i: int, size: int):
                workspace = free.get()
                try:
                    return _chunk_moments(seed, i, size, models, mapping, workspace)
                finally:
                    free.put(workspace)

            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(moments, i, size): i for i, size in enumerate(sizes)}
                try:
                    for future in as_completed(futures):
                        index = futures[future]
                        results[index] = future.result()
                        bar.update(sizes[index])
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise

    out = []
    for m, params in enumerate(models):
        total = results[0][m]
        for part in results[1:]:  # chunk order: the sum does not depend on the thread schedule
            total = _combine(total, part[m])
        mean, covariance, cv_mean, cv_covariance = _summarize(*total, params)
        out.append(ToyMonteCarlo(
            params, trials, seed, chunk, _readonly(mean), _readonly(covariance),
            _readonly(cv_mean), _readonly(cv_covariance),
        ))
    return out
