"""The conditional law of an integrated-out feature given the kept ones, and the RG it gives.

The seed's non-Gaussian step integrates out a shell mode q with its law given the kept modes
φ_< = (φ_1, …, φ_κ), at leading order in the shell width and 1/d:

    P[φ_q | φ_<] ≈ N(0, 1; φ_q) [1 + A_q φ_q + B_q (φ_q² − 1)],

so that A_q(φ_<) = E[φ_q | φ_<] and B_q(φ_<) = (E[φ_q² | φ_<] − 1)/2 (the first two
conditional moments of that density). Model (Gram–Charlier to first order in the cumulants,
standardized kept modes, H_kl = φ_kφ_l − δ_kl, H_klm the third Hermite tensor):

    A_q = ⟨φ_q⟩ + ½ Σ_kl κ_qkl H_kl + ⅙ Σ_klm U_qklm H_klm        (degree 3)
    B_q = ½ Σ_k κ_qqk φ_k + ¼ Σ_kl U_qqkl H_kl                    (degree 2)

with κ_abc the third and U_abcd the connected fourth cumulants. The linear part of A vanishes
identically: ⟨φ_q φ_k⟩_μ = 0 for eigenfunctions. If the third cumulants are O(d^−½) and the
fourth O(1/d) (cumulant of order r ~ d^{−(r−2)/2}), these are all the terms up to O(1/d).

On a pool the conditional expectations are estimated as L²(μ) projections (least squares)
onto the monomials of this model: 1; φ_k and φ_k² for every kept mode; every other monomial
of degree 2..p in the top m kept modes (``cross_modes``), which keeps the number of
coefficients ≪ N. :func:`conditional_moments` fits A_q and B_q per shell mode with
heteroskedasticity-robust standard errors and held-out (K-fold) R².

Integrating out the shells then gives (notes, derivation):

    σ²_AB(x) = σ² + Σ_{q>κ} λ_q (1 + 2B_q(φ_<(x))) = σ² + P[C_>](x),
    y_AB(x) = y_<(x) + Σ_{q>κ} y_q A_q(φ_<(x)) = y_<(x) + P[y_>](x),

P the projection onto the model (least squares is linear, so the λ- and y-weighted sums of the
per-mode fits are the fits of C_> and y_>); the kept modes' EK with this ridge and target is
:func:`conditional_prediction`. With a constant kernel diagonal (unit-norm inputs, any
dot-product kernel), C_> = K(x,x) − Σ_{k≤κ} λ_k φ_k² is itself diagonal-quadratic in the kept
modes, so P[C_>] = C_> exactly and σ²_AB is the per-point ridge of §5.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wilsonian.errors import WilsonianError

#: Top kept modes whose cross products (degree ≥ 2) enter the model.
CROSS_MODES = 8
#: Top kept modes whose linear and square terms enter the RG's models (all of them in
#: :func:`conditional_moments`): a cap that keeps the fits cheap and the coefficients ≪ N.
FULL_MODES = 64
#: Default degrees: B quadratic (fourth cumulants), A cubic (third and fourth cumulants).
DEGREE_RIDGE = 2
DEGREE_TARGET = 3


def monomials(kept: int, degree: int, cross_modes: int = CROSS_MODES,
              full_modes: int | None = None) -> list[tuple[int, ...]]:
    """The model's terms as tuples of 0-based kept-mode indices (() is the constant).

    1; φ_k (degree ≥ 1) and φ_k² (degree ≥ 2) for the first ``full_modes`` kept modes (all by
    default); every other monomial of degree 2..``degree`` in the top ``cross_modes`` ones.
    """
    if degree < 0 or cross_modes < 0 or kept < 0:
        raise WilsonianError("degree, cross_modes and kept must be >= 0")
    m = min(kept, cross_modes)
    full = max(m, kept if full_modes is None else min(kept, full_modes))
    terms: list[tuple[int, ...]] = [()]
    if degree >= 1:
        terms += [(k,) for k in range(full)]
    if degree >= 2:
        terms += [(k, k) for k in range(full)]
    for d in range(2, degree + 1):
        terms += [c for c in itertools.combinations_with_replacement(range(m), d) if not (d == 2 and c[0] == c[1])]
    return terms


def design(phi_kept: np.ndarray, terms: list[tuple[int, ...]]) -> np.ndarray:
    """The (n, P) matrix of the monomials ``terms`` of the kept modes ``phi_kept`` (n, κ)."""
    phi_kept = np.asarray(phi_kept, dtype=np.float64)
    out = np.empty((phi_kept.shape[0], len(terms)))
    for j, term in enumerate(terms):
        column = np.ones(phi_kept.shape[0])
        for k in term:
            column = column * phi_kept[:, k]
        out[:, j] = column
    return out


def _fit(X: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of ``values`` (n,) or (n, Q) on the columns of X (QR with
    column pivoting: rank-deficient designs, e.g. φ_1 ≈ constant, are handled)."""
    import scipy.linalg

    coefficients, *_ = scipy.linalg.lstsq(X, values, lapack_driver="gelsy", check_finite=False)
    return coefficients


def _folds(n: int, folds: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(order[f::folds]) for f in range(folds)]


def held_out(X: np.ndarray, values: np.ndarray, folds: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(out-of-fold predictions (n, Q), held-out R² (Q,)) of a least-squares fit, K-fold.

    R² = 1 − Σ(v − v̂_oof)²/Σ(v − v̄)²: the fraction of the variance the model predicts on
    points it was not fitted to (≤ 1; < 0 when it predicts worse than the mean)."""
    values = np.asarray(values, dtype=np.float64)
    squeeze = values.ndim == 1
    values = values[:, None] if squeeze else values
    prediction = np.empty_like(values)
    for test in _folds(values.shape[0], folds, seed):
        train = np.setdiff1d(np.arange(values.shape[0]), test)
        prediction[test] = X[test] @ _fit(X[train], values[train])
    spread = np.sum(np.square(values - values.mean(axis=0)), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(spread > 0, 1.0 - np.sum(np.square(values - prediction), axis=0) / spread, np.nan)
    return (prediction[:, 0], r2[0]) if squeeze else (prediction, r2)


def robust_se(X: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """Heteroskedasticity-robust (HC0 sandwich) standard errors (P, Q) of least-squares
    coefficients: cov = (XᵀX)⁻¹ Xᵀ diag(r²) X (XᵀX)⁻¹, one residual column per fit."""
    bread = np.linalg.pinv(X.T @ X)
    out = np.empty((X.shape[1], residuals.shape[1]))
    for q in range(residuals.shape[1]):
        meat = X.T @ (X * np.square(residuals[:, q])[:, None])
        out[:, q] = np.sqrt(np.maximum(np.diag(bread @ meat @ bread), 0.0))
    return out


@dataclass(frozen=True)
class ConditionalMoments:
    """A_q(φ_<) and B_q(φ_<) of chosen shell modes as polynomials of the kept modes.

    Attributes
    ----------
    kept : int
        κ: the kept modes are φ_1..φ_κ.
    modes : (Q,) int
        1-based labels of the shell modes q.
    terms_a, terms_b : list of tuples
        Monomials of the two models (see :func:`monomials`).
    a, b : (P_a, Q), (P_b, Q)
        Coefficients: A_q = Σ_p a[p, q] m_p(φ_<), B_q likewise.
    a_se, b_se :
        Their robust standard errors.
    a_r2, b_r2 : (Q,)
        Held-out R² of φ_q and of (φ_q² − 1)/2.
    a_held_out, b_held_out : (n, Q)
        Out-of-fold predictions of A_q and B_q at the points (for binned checks).
    """

    kept: int
    modes: np.ndarray
    terms_a: list
    terms_b: list
    a: np.ndarray
    b: np.ndarray
    a_se: np.ndarray
    b_se: np.ndarray
    a_r2: np.ndarray
    b_r2: np.ndarray
    a_held_out: np.ndarray = field(repr=False)
    b_held_out: np.ndarray = field(repr=False)

    def A(self, phi_kept: np.ndarray) -> np.ndarray:
        """E[φ_q | φ_<] at the points ``phi_kept`` (n, κ), shape (n, Q)."""
        return design(phi_kept, self.terms_a) @ self.a

    def B(self, phi_kept: np.ndarray) -> np.ndarray:
        """(E[φ_q² | φ_<] − 1)/2 at the points ``phi_kept`` (n, κ), shape (n, Q)."""
        return design(phi_kept, self.terms_b) @ self.b

    def coefficient(self, which: str, term: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(value, SE) per shell mode of one monomial (0-based kept indices, sorted) of A or B."""
        terms = self.terms_a if which == "A" else self.terms_b
        key = tuple(sorted(term))
        if key not in terms:
            raise WilsonianError(f"the {which} model has no term {key}")
        j = terms.index(key)
        return (self.a[j], self.a_se[j]) if which == "A" else (self.b[j], self.b_se[j])

    def as_dict(self) -> dict[str, Any]:
        return {"kept": self.kept, "modes": self.modes, "terms_a": [list(t) for t in self.terms_a],
                "terms_b": [list(t) for t in self.terms_b], "a": self.a, "b": self.b, "a_se": self.a_se,
                "b_se": self.b_se, "a_r2": self.a_r2, "b_r2": self.b_r2}


def conditional_moments(phi: np.ndarray, kept: int, modes, *, degree_a: int = DEGREE_TARGET,
                        degree_b: int = DEGREE_RIDGE, cross_modes: int = CROSS_MODES, folds: int = 5,
                        seed: int = 0) -> ConditionalMoments:
    """Fit A_q = E[φ_q | φ_<] and B_q = (E[φ_q² | φ_<] − 1)/2 by least squares on a pool.

    Parameters
    ----------
    phi : (N, K) features on the pool (eigenfunctions φ_k(x_i), or synthetic ones)
    kept : int
        κ: columns 0..κ−1 are the kept modes.
    modes : sequence of int
        1-based labels (> κ) of the shell modes to fit.
    degree_a, degree_b, cross_modes : the models (see :func:`monomials`)
    folds, seed : the K-fold split of the held-out R² and predictions
    """
    phi = np.asarray(phi, dtype=np.float64)
    labels = np.atleast_1d(np.asarray(modes, dtype=np.int64))
    if phi.ndim != 2 or not 0 <= kept < phi.shape[1]:
        raise WilsonianError(f"phi must be (N, K) with 0 <= kept < K, got shape {phi.shape} and kept={kept}")
    if labels.size == 0 or np.any(labels <= kept) or np.any(labels > phi.shape[1]):
        raise WilsonianError(f"shell modes must lie in {kept + 1}..{phi.shape[1]}, got {labels.tolist()}")
    shell = phi[:, labels - 1]
    kept_phi = phi[:, :kept]
    out = {}
    for name, degree, values in (("a", degree_a, shell), ("b", degree_b, (np.square(shell) - 1.0) / 2.0)):
        terms = monomials(kept, degree, cross_modes)
        if len(terms) >= phi.shape[0] / 2:
            raise WilsonianError(f"the {name.upper()} model has {len(terms)} terms for {phi.shape[0]} points; "
                                 "lower its degree or cross_modes")
        X = design(kept_phi, terms)
        coefficients = _fit(X, values)
        prediction, r2 = held_out(X, values, folds, seed)
        out[name] = (terms, coefficients, robust_se(X, values - X @ coefficients), r2, prediction)
    (ta, a, ase, ar2, ap), (tb, b, bse, br2, bp) = out["a"], out["b"]
    return ConditionalMoments(kept, labels, ta, tb, a, b, ase, bse, ar2, br2, ap, bp)


def gram_charlier_b(phi: np.ndarray, kept: int, mode: int) -> dict[tuple[int, ...], float]:
    """B_q's coefficients that the Gram–Charlier expansion predicts from the cumulants.

    B_q = ½ Σ_k κ_qqk φ_k + ¼ Σ_kl U_qqkl (φ_kφ_l − δ_kl): in monomials, 1: −¼ Σ_k U_qqkk;
    φ_k: ½ κ_qqk; φ_k²: ¼ U_qqkk; φ_kφ_l (k < l): ½ U_qqkl. Exact when the kept modes are
    independent standard normals and the law of φ_q given them is of the seed's form; the
    cumulants are the plug-in ones of :func:`wilsonian.mode_stats.fourth_cumulant`.
    """
    from wilsonian.mode_stats import fourth_cumulant

    phi = np.asarray(phi, dtype=np.float64)
    labels = list(range(1, kept + 1)) + [mode]
    U = fourth_cumulant(phi, labels).cumulant
    z = phi[:, np.array(labels) - 1]
    z = z - z.mean(axis=0)
    q = kept
    third = np.mean(np.square(z[:, q])[:, None] * z[:, :kept], axis=0)  # κ_qqk
    coefficients: dict[tuple[int, ...], float] = {(): -0.25 * float(sum(U[q, q, k, k] for k in range(kept)))}
    for k in range(kept):
        coefficients[(k,)] = 0.5 * float(third[k])
        coefficients[(k, k)] = 0.25 * float(U[q, q, k, k])
        for j in range(k + 1, kept):
            coefficients[(k, j)] = 0.5 * float(U[q, q, k, j])
    return coefficients


def binned_check(observed: np.ndarray, predicted: np.ndarray, by: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Per-bin means of an observed quantity (e.g. φ_q or (φ_q² − 1)/2) and of a held-out
    prediction (A_q, B_q), in quantile bins of ``by`` (a kept mode), with z-scores.

    z = (mean observed − mean predicted)/SE, SE from the spread of observed − predicted in
    the bin; ``chi2_per_bin`` = mean z² (≈ 1 when the model describes the binned moments).
    """
    observed, predicted, by = (np.asarray(v, dtype=np.float64) for v in (observed, predicted, by))
    edges = np.quantile(by, np.linspace(0, 1, bins + 1))
    index = np.clip(np.searchsorted(edges, by, side="right") - 1, 0, bins - 1)
    mean_obs, mean_pred, se = (np.full(bins, np.nan) for _ in range(3))
    for b in range(bins):
        sel = index == b
        if sel.sum() >= 2:
            mean_obs[b], mean_pred[b] = observed[sel].mean(), predicted[sel].mean()
            se[b] = (observed[sel] - predicted[sel]).std(ddof=1) / np.sqrt(sel.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (mean_obs - mean_pred) / se
    # the same bins with the unconditional mean as the prediction: how much there is to explain
    with np.errstate(divide="ignore", invalid="ignore"):
        z_null = (mean_obs - observed.mean()) / se
    return {"edges": edges, "observed": mean_obs, "predicted": mean_pred, "se": se, "z": z,
            "chi2_per_bin": float(np.nanmean(np.square(z))), "chi2_per_bin_unconditional": float(np.nanmean(z_null**2))}


# --------------------------------------------------------------------------------------------
# The conditional (A, B) RG on a pool
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConditionalRidge:
    """σ²_AB(x_i) and y_AB(x_i) at one cutoff, with how well the model describes C_> and y_>.

    ``ridge_x`` and ``target`` are out-of-fold (cross-fitted) predictions when ``folds`` > 1:
    the value at x_i comes from a fit that did not see x_i, so a model with many terms cannot
    reproduce σ²(x_i) and y(x_i) by overfitting them. ``ridge_r2``/``target_r2``: in-sample
    R² of C_> and y_> on the model; ``*_held_out_r2``: the same out of fold (NaN with
    ``folds`` ≤ 1); ``cross_modes``/``full_modes``: the sizes used (reduced on small pools so
    that a model has fewer than N/5 terms); ``clipped``: points where the predicted C_> left
    its range over the pool and was clipped to it.
    """

    cutoff: int
    ridge_x: np.ndarray
    target: np.ndarray
    ridge_r2: float
    target_r2: float
    ridge_held_out_r2: float
    target_held_out_r2: float
    n_terms_ridge: int
    n_terms_target: int
    cross_modes: int
    full_modes: int
    clipped: int


def _r2(values: np.ndarray, fitted: np.ndarray) -> float:
    spread = float(np.sum(np.square(values - values.mean(axis=0))))
    return float(1.0 - np.sum(np.square(values - fitted)) / spread) if spread > 0 else float("nan")


def sized_terms(kept: int, degree: int, cross_modes: int, full_modes: int, limit: float) -> tuple[list, int, int]:
    """(terms, cross, full): :func:`monomials` with the cross products, then the linear and square
    terms, cut until there are fewer than ``limit`` terms (the constant always stays)."""
    cross, full = min(cross_modes, kept), min(full_modes, kept)
    terms = monomials(kept, degree, cross, full)
    while len(terms) >= limit and (cross > 0 or full > 0):
        if cross > 0:
            cross -= 1
        else:
            full -= 1
        full = max(full, cross)
        terms = monomials(kept, degree, cross, full)
    return terms, cross, full


def conditional_ridge(phi_kept: np.ndarray, lam_kept: np.ndarray, yk_kept: np.ndarray, y: np.ndarray,
                      ridge_x: np.ndarray, ridge: float, *, degree_b: int = DEGREE_RIDGE,
                      degree_a: int = DEGREE_TARGET, cross_modes: int = CROSS_MODES,
                      full_modes: int = FULL_MODES, folds: int = 5, seed: int = 0) -> ConditionalRidge:
    """σ²_AB = σ² + P_B[C_>] and y_AB = y_< + P_A[y_>] at one cutoff κ = ``phi_kept.shape[1]``.

    ``ridge_x`` is the per-point σ²(x_i) = σ² + C_>(x_i) (so C_> = ridge_x − σ²), ``yk_kept``
    the kept target coefficients (κ,) or (κ, C), ``y`` the pool targets. The linear and square
    terms cover the top ``full_modes`` kept modes, the cross products the top ``cross_modes``
    (both reduced until a model has fewer than N/5 terms). With ``folds`` > 1 the values are
    cross-fitted (see :class:`ConditionalRidge`).
    """
    n, kept = phi_kept.shape
    low = phi_kept @ yk_kept if kept else np.zeros(np.shape(y))
    high = np.asarray(y, dtype=np.float64) - low
    shell = np.asarray(ridge_x, dtype=np.float64) - ridge
    out = []
    for degree, values in ((degree_b, shell), (degree_a, high)):
        terms, cross, full = sized_terms(kept, degree, cross_modes, full_modes, n / 5)
        X = design(phi_kept, terms)
        fitted = X @ _fit(X, values)
        used, r2_out = fitted, float("nan")
        if folds > 1:
            used, r2_held = held_out(X, values, folds, seed)
            r2_out = float(np.mean(np.atleast_1d(r2_held)))
        out.append((used, _r2(values, fitted), r2_out, len(terms), cross, full))
    (c_fit, r2_c, r2_c_out, p_b, cross_b, full_b), (y_fit, r2_y, r2_y_out, p_a, cross_a, full_a) = out
    low_c, high_c = float(shell.min()), float(shell.max())
    clipped = int(np.count_nonzero((c_fit < low_c) | (c_fit > high_c)))
    return ConditionalRidge(kept, ridge + np.clip(c_fit, low_c, high_c), low + y_fit, r2_c, r2_y,
                            r2_c_out, r2_y_out, p_b, p_a, min(cross_b, cross_a), min(full_b, full_a), clipped)
