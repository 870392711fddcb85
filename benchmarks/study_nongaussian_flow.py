"""Study: the conditional (A, B) RG and the soft flow on a real pool (the numbers of the notes).

Pool: Fashion-MNIST t-shirt/top vs ankle boot, N = 3000 (seeded subsample), depth-2 ReLU NNGP,
σ² = 1e-8. The exact average predictor comes from ``replicates`` independent sets of
``trials`` draws each (seeds 0, 1, …); the MSE of a theory against the pooled average
predictor is reported with the draw-noise floor, and the difference between two theories,
which is linear in the empirical mean, gets its standard error from the spread of the
replicates' differences.

    python benchmarks/study_nongaussian_flow.py [--trials 25] [--replicates 4] [--out results/theory17]

Writes ``study.json`` and the figures ``soft_flow.png``, ``nongaussian.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from wilsonian import gp, theory
from wilsonian.atomic import to_json
from wilsonian.data import build_pool
from wilsonian.kernels import nngp
from wilsonian.plots import nongaussian_figure, save_figure, soft_flow_figure
from wilsonian.spectrum import spectrum_from_kernel
from wilsonian.theory.conditional import binned_check, conditional_moments
from wilsonian.theory.nongaussian import nongaussian_comparison

ETAS = np.array([10, 20, 40, 80, 150, 300, 600])
RIDGE = 1e-8
NAMES = ("gaussian_rg", "gaussian_rg_kept_modes", "nongaussian_rg", "conditional_rg", "conditional_rg_ridge_only",
         "first_order_rg")


def mses(report) -> dict[str, np.ndarray]:
    return {"gaussian_rg": report.mse_gaussian, "gaussian_rg_kept_modes": report.mse_gaussian_kept,
            "nongaussian_rg": report.mse_nongaussian, "conditional_rg": report.mse_conditional,
            "conditional_rg_ridge_only": report.mse_conditional_ridge_only, "first_order_rg": report.mse_first_order}


def run(trials: int, replicates: int, out: Path) -> dict:
    t0 = time.perf_counter()
    pool = build_pool("fashion-mnist", classes="0,9", n_pool=3000, seed=0)
    K = nngp(pool.X, activation="relu", depth=2)
    spec = spectrum_from_kernel(K, pool.y, n_vectors=-1)
    curves = [gp.learning_curve(K, pool.y, ETAS, ridge=RIDGE, trials=trials, seed=s, keep_predictions=True)
              for s in range(replicates)]
    mean = np.mean([c.prediction_mean for c in curves], axis=0)
    # pooled variance over all draws: within-replicate variances plus the spread of the means
    var = (np.mean([c.prediction_var for c in curves], axis=0) * (trials - 1)
           + np.var([c.prediction_mean for c in curves], axis=0) * trials) / (trials - 1 / replicates)
    empirical = np.mean([c.mean for c in curves], axis=0)
    report = nongaussian_comparison(spec, pool.y, ETAS, RIDGE, 0.5, mean, var, trials * replicates)
    # replicate differences per-point − conditional (floor-free): their spread gives the SE
    diffs = []
    for c in curves:
        r = nongaussian_comparison(spec, pool.y, ETAS, RIDGE, 0.5, c.prediction_mean, c.prediction_var, trials)
        m = mses(r)
        diffs.append([m["nongaussian_rg"] - m["conditional_rg"], m["nongaussian_rg"] - m["conditional_rg_ridge_only"],
                      m["gaussian_rg_kept_modes"] - m["nongaussian_rg"]])
    diffs = np.array(diffs)  # (replicates, 3, n_eta)
    d = report.as_dict()
    cond = d["conditional_rg"]
    table = {"eta": ETAS, "cutoff": report.cutoff, **mses(report), "draw_noise_floor": report.noise_floor,
             "pp_minus_conditional": diffs[:, 0].mean(0), "pp_minus_conditional_se": diffs[:, 0].std(0, ddof=1)
             / np.sqrt(replicates), "pp_minus_ridge_only": diffs[:, 1].mean(0),
             "pp_minus_ridge_only_se": diffs[:, 1].std(0, ddof=1) / np.sqrt(replicates),
             "kept_minus_pp": diffs[:, 2].mean(0), "kept_minus_pp_se": diffs[:, 2].std(0, ddof=1) / np.sqrt(replicates),
             **{k: cond[k] for k in ("ridge_r2", "target_r2", "ridge_held_out_r2", "target_held_out_r2",
                                      "n_terms_ridge", "n_terms_target", "clipped")}}

    # A and B of a few shell modes at κ = 12 (η = 40), held-out R² and binned conditional moments
    kept, modes = 12, [13, 20, 50, 100, 300, 1000]
    cm = conditional_moments(spec.eigenfunctions[:, :1001], kept, modes)
    phi = spec.eigenfunctions
    binned = {}
    for j, q in enumerate(modes):
        binned[q] = {f"by_phi{k + 1}": {
            "A": {key: binned_check(phi[:, q - 1], cm.a_held_out[:, j], phi[:, k])[key]
                  for key in ("chi2_per_bin", "chi2_per_bin_unconditional")},
            "B": {key: binned_check((phi[:, q - 1] ** 2 - 1) / 2, cm.b_held_out[:, j], phi[:, k])[key]
                  for key in ("chi2_per_bin", "chi2_per_bin_unconditional")}} for k in (1, 2, 3)}

    # the soft flow from the sharp cutoff, against the data
    t = theory.Theory(spec, RIDGE)
    flow = t.soft_flow(ETAS, 12)
    sb, rg = t.spectral_bias(ETAS), t.rg(ETAS)
    step = 1e-2 * RIDGE  # dκ/dσ² by central differences (σ² ≪ κ: κ is smooth there)
    derivative = (theory.spectral_bias(spec, ETAS, RIDGE + step).kappa
                  - theory.spectral_bias(spec, ETAS, RIDGE - step).kappa) / (2 * step)
    lc = {"eta": ETAS, "empirical_mean": empirical, "empirical_sem": np.std([c.mean for c in curves], axis=0, ddof=1)
          / np.sqrt(replicates)}
    out.mkdir(parents=True, exist_ok=True)
    save_figure(soft_flow_figure(flow, lc, label="Fashion-MNIST 0/9, N = 3000, ReLU L = 2, σ² = 1e-8"),
                out / "soft_flow")
    save_figure(nongaussian_figure(report), out / "nongaussian")
    flow_table = {"eta": ETAS, "sharp_start": flow.ridge_path[0], "kappa": flow.kappa, "fixed_point": flow.fixed_point,
                  "relative_difference": np.abs(flow.fixed_point - flow.kappa) / flow.kappa, "gamma": flow.gamma,
                  "steps": flow.steps, "predicted_steps": flow.predicted_steps,
                  "last_contraction": flow.contraction[-1], "susceptibility": flow.susceptibility,
                  "dkappa_dsigma2_finite_difference": derivative, "empirical": empirical,
                  "error_fluct_path_over_empirical": flow.error_fluct_path[[0, 1, 2, 5, 12]] / empirical,
                  "error_path_over_empirical": flow.error_path[[0, 1, 2, 5, 12]] / empirical,
                  "sb_over_empirical": sb.error / empirical, "rg_over_empirical": rg.error / empirical,
                  "agreement": flow.agreement(empirical)}
    return {"table": table, "moments": {"kept": kept, "modes": modes, "a_held_out_r2": cm.a_r2,
                                        "b_held_out_r2": cm.b_r2, "binned": binned},
            "flow": flow_table, "trials": trials, "replicates": replicates,
            "seconds": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=25)
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--out", default="results/theory17")
    args = parser.parse_args()
    out = Path(args.out)
    result = run(args.trials, args.replicates, out)
    (out / "study.json").write_text(to_json(result) + "\n")
    print(json.dumps(json.loads(to_json(result["table"])), indent=None)[:4000])


if __name__ == "__main__":
    main()
