"""The kernel's eigensystem on the data measure (THEORY.md §1): :class:`Spectrum`.

Conventions
-----------
The data measure μ is uniform on the N pool points, so the integral operator
``∫dμ(x') K(x, x') φ(x')`` is the matrix ``K/N``. Its eigenpairs are

    (K/N) v_k = λ_k v_k,   v_k ∈ R^N orthonormal,   λ_1 ≥ λ_2 ≥ … ≥ 0,
    φ_k(x_i) = √N v_k(i)   (so ⟨φ_k φ_q⟩_μ = δ_kq),
    y_k = ⟨φ_k y⟩_μ = v_kᵀ y / √N.

Identities (tested): Σ_k λ_k = trace(K)/N, Σ_k y_k² = ⟨y²⟩_μ,
K_ij = Σ_k λ_k φ_k(x_i) φ_k(x_j).

A :class:`Spectrum` may be *truncated* (only the top M modes resolved, as from an iterative
eigensolver); it then still knows the total trace and target power, and the theories use the
unresolved remainders ``tail_mass`` and ``tail_power``.

It is the one type every theory reads. It is validated once, holds read-only arrays, and
keeps what the theories derive from it and share (their resolvent sums and RG cutoff
tables, see :meth:`Spectrum.shared`) on itself, so that several theories evaluated on one
spectrum build them once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from wilsonian.errors import WilsonianError


def _frozen(values: Any) -> np.ndarray:
    """A read-only float64 copy: the spectrum caches sums over its arrays."""
    copy = np.array(values, dtype=np.float64)
    copy.setflags(write=False)
    return copy


def _read_only_view(values: Any) -> np.ndarray | None:
    """A read-only view (no copy: eigenfunctions can be N × N)."""
    if values is None:
        return None
    view = np.asarray(values, dtype=np.float64).view()
    view.setflags(write=False)
    return view


#: Cutoff tables (2·(M + 1) floats each) kept per spectrum: a sweep over ridges or
#: thresholds keeps the latest few.
_TABLES_KEPT = 4


@dataclass(frozen=True, eq=False)
class Spectrum:
    """Eigenvalues of K/N, target coefficients, and optionally the eigenfunctions on the pool.

    Attributes
    ----------
    eigenvalues : (M,) float64
        λ_k of K/N, descending, non-negative (negative round-off clipped to 0).
    target_coefficients : (M,) or (M, C) float64
        y_k = v_kᵀy/√N in the same order as ``eigenvalues``; one column per output for a
        target with C outputs (one-hot classes, vector regression).
    n : int
        Pool size N.
    trace : float
        ⟨K(x,x)⟩_μ = trace(K)/N (equals Σλ_k for a full spectrum).
    target_power : float
        ⟨|y|²⟩_μ, summed over outputs (equals Σ_k |y_k|² for a full spectrum).
    eigenfunctions : (N, m) float64 or None
        φ_k(x_i) = √N v_k(i) for the first m ≤ M modes, when they were requested.
    kernel_diagonal : (N,) float64 or None
        K(x_i, x_i), used by the input-dependent ridge (THEORY.md §5).
    clipped : float
        Sum of |λ| over negative eigenvalues of K/N that were clipped to 0.
    n_clipped : int
        How many eigenvalues were clipped.
    complete : bool
        All N modes are resolved (a full eigendecomposition of K): there is no tail, and
        trace − Σλ_k, like ⟨|y|²⟩ − Σ|y_k|², is the solver's round-off (``identity_errors``),
        not unresolved mass. False for a spectrum given by its modes, whose trace may state a
        tail beyond them.
    meta : dict
        What produced the spectrum (solver, kernel, pool provenance), JSON-ready.

    Every array is read-only. ``dataclasses.replace`` gives a new spectrum with fresh
    shared sums.
    """

    eigenvalues: np.ndarray
    target_coefficients: np.ndarray
    n: int
    trace: float
    target_power: float
    eigenfunctions: np.ndarray | None = None
    kernel_diagonal: np.ndarray | None = None
    clipped: float = 0.0
    n_clipped: int = 0
    complete: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    #: Values the theories derive from the spectrum and share (not init fields: a replaced
    #: spectrum starts with none): sums kept for good, per-(ridge, threshold) tables bounded.
    _shared: dict = field(default_factory=dict, init=False, repr=False)
    _tables: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        lam = _frozen(self.eigenvalues)
        yk = _frozen(self.target_coefficients)
        if lam.ndim != 1 or yk.ndim not in (1, 2) or yk.shape[:1] != lam.shape or (yk.ndim == 2 and not yk.shape[1]):
            raise WilsonianError(
                f"eigenvalues must be 1-D and target coefficients (M,) or (M, C) with the same M, "
                f"got shapes {lam.shape} and {yk.shape}"
            )
        if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(yk))):
            raise WilsonianError("the spectrum contains NaN or Inf values")
        if lam.size and (np.any(lam < 0) or np.any(np.diff(lam) > 0)):
            raise WilsonianError("eigenvalues must be non-negative and sorted in descending order")
        for name, value in (("trace", self.trace), ("target_power", self.target_power)):
            if not np.isfinite(value):
                raise WilsonianError(f"the spectrum's {name} must be finite, got {value}")
        object.__setattr__(self, "eigenvalues", lam)
        object.__setattr__(self, "target_coefficients", yk)
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "trace", float(self.trace))
        object.__setattr__(self, "target_power", float(self.target_power))
        object.__setattr__(self, "eigenfunctions", _read_only_view(self.eigenfunctions))
        if self.kernel_diagonal is not None:
            object.__setattr__(self, "kernel_diagonal", _frozen(self.kernel_diagonal))

    # ------------------------------------------------------------------ derived quantities
    @property
    def n_modes(self) -> int:
        """Number of resolved modes M."""
        return int(self.eigenvalues.size)

    @property
    def tail_mass(self) -> float:
        """trace(K)/N − Σ_{resolved} λ_k: eigenvalue mass of the unresolved modes (≥ 0; 0
        for a complete spectrum, whose difference is round-off of either sign: counted as a
        tail it would raise a tiny ridge by ~1e-17·trace on some machines and not others)."""
        if self.complete:
            return 0.0
        return max(0.0, float(self.trace - self.eigenvalues.sum()))

    @property
    def tail_power(self) -> float:
        """⟨|y|²⟩ − Σ_{resolved} |y_k|²: target power in the unresolved modes (≥ 0; 0 for a
        complete spectrum)."""
        if self.complete:
            return 0.0
        return max(0.0, float(self.target_power - self.mode_power.sum()))

    @property
    def is_truncated(self) -> bool:
        return self.n_modes < self.n

    @property
    def n_outputs(self) -> int:
        """C, the number of target outputs (1 for a scalar target)."""
        return 1 if self.target_coefficients.ndim == 1 else int(self.target_coefficients.shape[1])

    @cached_property
    def mode_power(self) -> np.ndarray:
        """|y_k|² = Σ_c y_kc², the target power of each mode summed over outputs, (M,).

        Every theory of THEORY.md §4 is linear in it (§8: the outputs are independent)."""
        power = np.square(self.target_coefficients)
        power = power if power.ndim == 1 else power.sum(axis=1)
        power.setflags(write=False)
        return power

    @property
    def n_positive(self) -> int:
        """Number of modes with λ_k > 0 (they come first: eigenvalues are sorted)."""
        return int(np.count_nonzero(self.eigenvalues > 0))

    def positive_part(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(λ_k > 0, their y_k², power that is never learned: zero modes plus the tail).

        A mode with λ_k = 0 adds nothing to any ridge or γ and keeps its full y_k² in the
        error, exactly like the unresolved tail (THEORY.md §4).
        """
        m = self.n_positive
        power = self.mode_power
        return self.eigenvalues[:m], power[:m], float(power[m:].sum()) + self.tail_power

    @cached_property
    def tail_sums(self) -> np.ndarray:
        """Σ_{j≥k} λ_j for k = 0..M (length M + 1), summed from the smallest λ up for accuracy."""
        return np.concatenate([np.cumsum(self.eigenvalues[::-1])[::-1], [0.0]])

    def shared(self, key: Any, build):
        """A value derived from this spectrum alone (e.g. the theories' resolvent sums), built
        once by ``build()`` and kept as long as the spectrum."""
        value = self._shared.get(key)
        if value is None:
            value = self._shared[key] = build()
        return value

    def shared_table(self, key: tuple, build):
        """A table keyed by ``key`` (e.g. the RG cutoff table per (σ², T)), built once by
        ``build()`` and kept for the theories that need it; only the latest few are kept."""
        table = self._tables.get(key)
        if table is None:
            if len(self._tables) >= _TABLES_KEPT:
                self._tables.pop(next(iter(self._tables)))
            table = self._tables[key] = build()
        return table

    def truncated(self, n_modes: int) -> "Spectrum":
        """The same spectrum with only the top ``n_modes`` modes resolved."""
        if not 0 <= n_modes <= self.n_modes:
            raise WilsonianError(f"n_modes must be in [0, {self.n_modes}], got {n_modes}")
        phi = self.eigenfunctions
        if phi is not None:
            phi = phi[:, : min(n_modes, phi.shape[1])]
        return replace(
            self,
            complete=self.complete and n_modes == self.n_modes,
            eigenvalues=self.eigenvalues[:n_modes],
            target_coefficients=self.target_coefficients[:n_modes],
            eigenfunctions=phi,
        )

    def identity_errors(self) -> dict[str, float]:
        """Relative violations of the THEORY.md §1 sum rules (meaningful for a full spectrum)."""
        trace = max(abs(self.trace), np.finfo(float).tiny)
        power = max(abs(self.target_power), np.finfo(float).tiny)
        return {
            "trace": abs(float(self.eigenvalues.sum()) - self.trace) / trace,
            "target_power": abs(float(self.mode_power.sum()) - self.target_power) / power,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (eigenvalues and coefficients in full, no eigenfunctions)."""
        return {
            "n": self.n,
            "n_modes": self.n_modes,
            "trace": self.trace,
            "target_power": self.target_power,
            "tail_mass": self.tail_mass,
            "tail_power": self.tail_power,
            "clipped": self.clipped,
            "n_clipped": self.n_clipped,
            "complete": self.complete,
            "eigenvalues": self.eigenvalues,
            "target_coefficients": self.target_coefficients,
            "meta": self.meta,
        }

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_modes(
        cls,
        eigenvalues: np.ndarray,
        target_coefficients: np.ndarray,
        *,
        n: int | None = None,
        trace: float | None = None,
        target_power: float | None = None,
        meta: dict[str, Any] | None = None,
    ) -> "Spectrum":
        """A spectrum given by its modes (e.g. an analytic power law), sorted descending.

        ``trace`` and ``target_power`` default to the sums over the given modes, i.e. a
        complete spectrum with no tail.
        """
        lam = np.asarray(eigenvalues, dtype=np.float64)
        yk = np.asarray(target_coefficients, dtype=np.float64)
        if lam.ndim != 1 or yk.ndim not in (1, 2) or yk.shape[:1] != lam.shape:
            raise WilsonianError(
                f"eigenvalues and coefficients must be 1-D of equal length (coefficients may have a "
                f"column per output), got {lam.shape} and {yk.shape}"
            )
        if not (np.all(np.isfinite(lam)) and np.all(np.isfinite(yk))):
            raise WilsonianError("eigenvalues and coefficients must be finite")
        if np.any(lam < 0):
            raise WilsonianError("eigenvalues must be non-negative")
        if np.any(np.diff(lam) > 0):
            order = np.argsort(-lam, kind="stable")
            lam, yk = lam[order], yk[order]
        return cls(
            eigenvalues=lam,
            target_coefficients=yk,
            n=int(n if n is not None else lam.size),
            trace=float(lam.sum() if trace is None else trace),
            target_power=float(np.square(yk).sum() if target_power is None else target_power),
            meta=dict(meta or {}, solver="given"),
        )


def as_spectrum(
    spectrum: Spectrum | np.ndarray,
    coefficients: np.ndarray | None = None,
    *,
    tail_mass: float = 0.0,
    tail_power: float = 0.0,
) -> Spectrum:
    """A :class:`Spectrum` as it is, or one built from (eigenvalues, target coefficients).

    Arrays are sorted descending; ``tail_mass`` and ``tail_power`` describe unresolved modes
    (Σλ and Σy² beyond the given ones). Eigenvalues alone (no coefficients) are accepted by
    the helpers that need no target (``ridge_flow``, ``learnability``): pass zeros.
    """
    if isinstance(spectrum, Spectrum):
        if coefficients is not None:
            raise WilsonianError("pass either a Spectrum or (eigenvalues, coefficients), not both")
        return spectrum
    if coefficients is None:
        raise WilsonianError("target coefficients are required when eigenvalues are given as an array")
    if tail_mass < 0 or tail_power < 0 or not (np.isfinite(tail_mass) and np.isfinite(tail_power)):
        raise WilsonianError("tail_mass and tail_power must be finite and non-negative")
    lam = np.asarray(spectrum, dtype=np.float64)
    yk = np.asarray(coefficients, dtype=np.float64)
    if lam.ndim != 1 or yk.ndim not in (1, 2) or yk.shape[:1] != lam.shape:
        raise WilsonianError(
            f"eigenvalues and coefficients must be 1-D of equal length, got {lam.shape} and {yk.shape}"
        )
    finite = np.all(np.isfinite(lam)) and np.all(np.isfinite(yk))
    return Spectrum.from_modes(
        lam, yk,
        trace=float(lam.sum()) + tail_mass if finite else None,
        target_power=float(np.square(yk).sum()) + tail_power if finite else None,
    )


def power_law_spectrum(
    n_modes: int, alpha: float, *, target_exponent: float | None = None, scale: float = 1.0
) -> Spectrum:
    """An analytic spectrum λ_k = scale·k^−(1+α), with y_k² ∝ k^−(1+target_exponent) (default α).

    Used to check scaling laws: for such spectra the RG cutoff grows ∝ η and σ_eff² ∝ η^−α.
    """
    if n_modes < 1 or alpha <= 0:
        raise WilsonianError("power_law_spectrum needs n_modes ≥ 1 and alpha > 0")
    k = np.arange(1, n_modes + 1, dtype=np.float64)
    beta = alpha if target_exponent is None else target_exponent
    lam = scale * k ** -(1.0 + alpha)
    yk = np.sqrt(k ** -(1.0 + beta))
    return Spectrum.from_modes(lam, yk, meta={"kind": "power-law", "alpha": alpha, "beta": beta})


def spectrum_from_kernel(
    K: np.ndarray,
    y: np.ndarray,
    *,
    n_vectors: int = 0,
    overwrite: bool = False,
    method: str = "auto",
    meta: dict[str, Any] | None = None,
) -> Spectrum:
    """Eigenvalues of K/N, target coefficients y_k and optionally the top eigenfunctions.

    Parameters
    ----------
    K : (N, N) float64
        Symmetric PSD kernel matrix on the pool.
    y : (N,) or (N, C) float64
        Targets on the pool (one column per output).
    n_vectors : int
        Number of eigenfunctions φ_k to return (0: none; −1: all).
    overwrite : bool
        Allow the solver to destroy ``K`` (saves an N×N copy).
    method : {"auto", "eigh", "tridiagonal"}
        Dense solver, see :func:`wilsonian.linalg.symmetric_eigensystem`.

    Notes
    -----
    Negative eigenvalues (round-off of a PSD matrix) are clipped to 0; their total
    magnitude is kept in ``Spectrum.clipped``. The trace and ⟨y²⟩ are taken from K and y
    directly, so the §1 sum rules are a real check on the solver.
    """
    from wilsonian.spectrum.dense import symmetric_eigensystem

    K = np.asarray(K)
    y = np.asarray(y, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise WilsonianError(f"the kernel matrix must be square, got shape {K.shape}")
    n = K.shape[0]
    if y.shape[:1] != (n,) or y.ndim not in (1, 2):
        raise WilsonianError(f"y must have shape ({n},) or ({n}, C) to match the kernel, got {y.shape}")
    diagonal = np.array(np.diagonal(K), dtype=np.float64)
    w, p, V = symmetric_eigensystem(K, y, n_vectors=n_vectors, overwrite=overwrite, method=method)
    info = {"solver": "dense", "method": method, "n_vectors": n_vectors}
    info.update(meta or {})
    return spectrum_from_eigenpairs(w, p, V, y=y, kernel_diagonal=diagonal, meta=info)


def spectrum_from_eigenpairs(
    eigenvalues: np.ndarray,
    projections: np.ndarray,
    vectors: np.ndarray | None,
    *,
    y: np.ndarray,
    kernel_diagonal: np.ndarray,
    meta: dict[str, Any] | None = None,
) -> Spectrum:
    """A :class:`Spectrum` from eigenpairs of the N×N matrix K (any solver: dense, top-k, torch).

    Parameters
    ----------
    eigenvalues : (M,) eigenvalues w_k of K, descending (M = N or a top-k block)
    projections : (M,) or (M, C) v_kᵀy
    vectors : (N, m) the first m eigenvectors, or None
    y : (N,) or (N, C) targets; kernel_diagonal : (N,) K(x_i, x_i)

    Eigenvalues of K/N are w_k/N; negative round-off is clipped to 0 (which keeps a
    descending order descending) and its total recorded. The trace and ⟨y²⟩ come from the
    diagonal and y directly, so the §1 sum rules remain a check on the solver.
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[0]
    lam = np.asarray(eigenvalues, dtype=np.float64) / n
    negative = lam < 0
    return Spectrum(
        eigenvalues=np.where(negative, 0.0, lam),
        target_coefficients=np.asarray(projections, dtype=np.float64) / np.sqrt(n),
        n=n,
        trace=float(np.sum(kernel_diagonal)) / n,
        target_power=float(np.sum(np.square(y))) / n,
        eigenfunctions=None if vectors is None else np.sqrt(n) * vectors,
        kernel_diagonal=np.asarray(kernel_diagonal, dtype=np.float64),
        clipped=float(-lam[negative].sum()),
        n_clipped=int(negative.sum()),
        complete=lam.size == n,
        meta={**(meta or {}), "most_negative_eigenvalue": float(min(lam.min(initial=0.0), 0.0))},
    )
