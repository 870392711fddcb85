"""``report.html``: one self-contained page per run or reproduction, to open in any browser.

Everything is inside the file: the figures as embedded PNG, no script, no style sheet or
font from the network. It holds the task, the kernel, the spectrum's summary and fitted
exponents, the learning-curve table with each theory's ratio to the data, the RG flow, the
non-Gaussian section and the truncation bound when computed, warnings, and the full config
with its provenance (versions, data files and their SHA-256 digests).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import platform
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from wilsonian import __version__

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.8em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}td,th{border:1px solid #ddd;padding:.25em .5em;
text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}img{max-width:100%;border:1px solid #eee}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.5em 1em}.muted{color:#777}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.8em}nav a{margin-right:1em}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if not np.isfinite(value):
        return "∞" if value > 0 else "—"
    return f"{value:.{digits}g}"


def _table(header: list[str], rows: Iterable[list[Any]], left: int = 0) -> str:
    head = "".join(f'<th class="{"l" if i < left else ""}">{_esc(h)}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(row))
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _image(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{_esc(caption)}" src="data:image/png;base64,{data}">'
            f'<figcaption class="muted">{_esc(caption)}</figcaption></figure>')


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        return f"(unreadable: {exc.strerror})"
    return h.hexdigest()


def provenance(files: Iterable[str] = ()) -> dict[str, Any]:
    """Versions of wilsonian, Python and the numerical libraries, and the data files' digests."""
    import matplotlib
    import scipy

    versions = {"wilsonian": __version__, "python": platform.python_version(), "numpy": np.__version__,
                "scipy": scipy.__version__, "matplotlib": matplotlib.__version__, "platform": platform.platform()}
    try:
        import numba

        versions["numba"] = numba.__version__
    except ImportError:  # pragma: no cover - numba is a dependency
        pass
    return {"versions": versions, "data_files": {f: _sha256(f) for f in files}}


def _page(title: str, sections: list[tuple[str, str]]) -> str:
    nav = "".join(f'<a href="#s{i}">{_esc(name)}</a>' for i, (name, _) in enumerate(sections))
    body = "".join(f'<h2 id="s{i}">{_esc(name)}</h2>{content}' for i, (name, content) in enumerate(sections))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f'<body><h1>{_esc(title)}</h1><p class="muted">wilsonian {_esc(__version__)}</p><nav>{nav}</nav>'
            f"{body}</body></html>\n")


def _figures(directory: Path, names: Iterable[tuple[str, str]]) -> str:
    return "".join(_image(directory / f"{name}.png", caption) for name, caption in names
                   if (directory / f"{name}.png").exists())


def _config_section(config: dict, files: Iterable[str]) -> str:
    record = provenance(files)
    versions = _table(["package", "version"], [[_esc(k), _esc(v)] for k, v in record["versions"].items()], left=2)
    data = (_table(["data file", "SHA-256"], [[_esc(f), f"<code>{_esc(d)}</code>"] for f, d in
                                              record["data_files"].items()], left=2)
            if record["data_files"] else '<p class="muted">no data files (embedded or synthetic data)</p>')
    return f"<pre>{_esc(json.dumps(config, indent=1, default=str))}</pre>{versions}{data}"


def run_report(result, figures_dir: Path) -> str:
    """The report of a ``wilsonian run`` (a :class:`wilsonian.app.run.RunResult`)."""
    res, pool, spectrum, config = result.results, result.pool, result.spectrum, result.config
    names = pool.meta.get("class_names") or pool.meta.get("classes") or "—"
    task = _table(["", ""], [
        ["data set", _esc(pool.meta.get("dataset"))], ["classes", _esc(names)],
        ["targets", _esc(f"{pool.meta.get('targets', 'binary')}: {pool.meta.get('label_convention', '')}")],
        ["outputs C", spectrum.n_outputs], ["pool N", pool.n], ["input dimension d", pool.dim],
        ["split / preprocessing", _esc(f"{pool.meta.get('split')} / {pool.meta.get('preprocessing')}")],
        ["ridges σ²", _esc(", ".join(f"{r:g}" for r in config.ridge_values))], ["threshold T", config.threshold],
        ["label noise ε² (per output)", config.label_noise], ["draws", config.trials],
        ["with replacement", _number(config.replace)], ["seed", config.seed]], left=2)
    kernel = _table(["", ""], [[_esc(k), _esc(v)] for k, v in res["kernel"].items()], left=2)
    scaling = res.get("scaling", {})
    fits = [[_esc(name), _number(f.get("slope")), _number(f.get("slope_se")),
             _esc(f"{_number(f.get('x_min'))}–{_number(f.get('x_max'))}") if "slope" in f else _esc(f.get("error", ""))]
            for name, f in scaling.items()]
    spec = _table(["", ""], [["modes resolved", spectrum.n_modes], ["trace K/N", _number(spectrum.trace)],
                             ["⟨|y|²⟩", _number(spectrum.target_power)], ["λ_1", _number(spectrum.eigenvalues[0])],
                             ["clipped negative eigenvalues", spectrum.n_clipped],
                             ["sum-rule errors (trace, power)",
                              _esc(", ".join(_number(v, 2) for v in res["spectrum"]["identity_errors"].values()))]],
                  left=2)
    spec += _table(["power law of", "slope", "± SE", "fitted range"], fits, left=1)
    spec += _figures(figures_dir, [("spectrum", "eigenvalues and target power per mode")])
    curves = ""
    warnings = []
    for prediction, curve in zip(result.predictions, result.curves):
        lc = prediction.compare(curve)
        rows = []
        for i, e in enumerate(lc["eta"]):
            emp = lc["empirical_mean"][i]
            flag = " *" if lc["rg_all_learnable"][i] else ""
            rows.append([int(e), _number(emp), _number(lc["empirical_sem"][i], 2)]
                        + [_number(lc[name][i] / emp if emp > 0 else np.nan, 3) for name in
                           ("ek", "spectral_bias", "rg", "rg_fluct")]
                        + [_number(lc["spectral_bias_kappa"][i]), _number(lc["rg_ridge"][i]),
                           f"{int(lc['rg_cutoff'][i])}{flag}", _number(lc["train_empirical_mean"][i]),
                           _number(lc["train_eigenlearning"][i])])
            if lc["rg_all_learnable"][i]:
                warnings.append(f"σ² = {curve.ridge:g}, η = {int(e)}: no mode falls below T = {config.threshold:g}; "
                                "the RG has nothing to integrate out (σ_eff² = σ², E_RG = EK) and is not drawn.")
        curves += (f"<h3>σ² = {curve.ridge:g}</h3>" + _table(
            ["η", "empirical", "± SE", "EK/emp", "SB/emp", "RG/emp", "RG-fluct/emp", "κ_SB", "σ_eff²", "κ*",
             "train", "train, eigenlearning"], rows))
    curves += _figures(figures_dir, [("learning_curves", "learning curves: data and theories"),
                                     ("ridge_sweep", "the ridge sweep")])
    flow = _figures(figures_dir, [("rg_flow", "the running ridge and the cutoff of each η"),
                                  ("learnability", "learnability per mode"),
                                  ("soft_flow", "the soft RG flow to the spectral-bias fixed point")])
    sections = [("task", task), ("kernel", kernel), ("spectrum", spec), ("learning curves", curves),
                ("RG flow", flow)]
    if "nongaussian" in res:
        ng = res["nongaussian"]
        mse = ng["per_point_mse"]
        conditional = ng.get("conditional_rg", {}).get("per_point_mse", {}).get("conditional_rg")
        rows = [[int(e), int(c), _number(r), _number(g), _number(k), _number(n)]
                + ([] if conditional is None else [_number(conditional[i])]) + [_number(f)]
                for i, (e, c, r, g, k, n, f) in enumerate(zip(
                    ng["eta"], ng["cutoff"], ng["renormalized_ridge"], mse["gaussian_rg"],
                    mse["gaussian_rg_kept_modes"], mse["nongaussian_rg"], mse["draw_noise_floor"]))]
        sections.append(("non-Gaussian RG", _table(
            ["η", "κ*", "σ_eff²", "Gaussian RG", "Gaussian, kept", "reweighted"]
            + ([] if conditional is None else ["conditional (A, B)"]) + ["draw-noise floor"], rows)
            + _figures(figures_dir, [("nongaussian", "input-dependent ridge and per-point errors")])))
    if "truncation" in res:
        bound = res["truncation"]
        sections.append(("truncation", f"<p>{_esc(bound['statement'])}</p>"))
    warnings += [f"{key}: {value}" for key, value in res.get("notes", {}).items() if key == "rg_fluct"]
    sections.append(("warnings", "".join(f'<p class="warn">{_esc(w)}</p>' for w in warnings) or
                     "<p>none</p>"))
    sections.append(("config and provenance", _config_section(res["config"], pool.meta.get("files") or [])))
    return _page(f"wilsonian run: {pool.meta.get('dataset')} {names}", sections)


def reproduction_report(reproduction, directory: Path) -> str:
    """The report of a ``wilsonian reproduce`` or ``toy`` output folder."""
    figures = "".join(_image(directory / f"{stem}.png", stem) for stem in reproduction.figures
                      if (directory / f"{stem}.png").exists())
    summary = "".join(f"<p>{_esc(line)}</p>" for line in reproduction.summary) or ""
    files: list[str] = []
    configs = reproduction.configs if isinstance(reproduction.configs, list) else [reproduction.configs]
    tasks = reproduction.record.get("tasks", []) if isinstance(reproduction.record, dict) else []
    for task in tasks:
        files += task.get("pool", {}).get("files") or []
    rows = []
    for task in tasks:
        agreement = task.get("agreement")
        if agreement:
            rows.append([_esc(task["pool"].get("class_names"))] +
                        [_number(agreement[name].get("median_ratio"), 3) for name in ("ek", "spectral_bias", "rg",
                                                                                      "rg_fluct")])
    table = _table(["task", "EK/emp", "SB/emp", "RG/emp", "RG-fluct/emp"], rows, left=1) if rows else ""
    sections = [("figures", figures), ("summary", summary + table or "<p>—</p>"),
                ("config and provenance", _config_section(configs, sorted(set(files))))]
    return _page(f"wilsonian {reproduction.name}", sections)


_THEORIES = (("ek", "EK"), ("spectral_bias", "SB"), ("rg", "RG"), ("rg_fluct", "RG-fluct"))


def _ratios(table: dict, name: str) -> np.ndarray:
    """theory/data per η of one grid point (NaN where the data is 0 or the theory undefined;
    the RG and RG-fluct also where no mode is unlearnable, as the figures leave them out)."""
    emp = np.asarray(table["empirical_mean"], dtype=float)
    theory = np.array([np.nan if v is None else v for v in table[name]], dtype=float)
    ratio = np.where(emp > 0, theory / np.where(emp > 0, emp, 1.0), np.nan)
    if name in ("rg", "rg_fluct"):
        ratio = np.where(np.asarray(table["rg_all_learnable"], dtype=bool), np.nan, ratio)
    return ratio


def _median_abs_log(ratio: np.ndarray) -> float | None:
    good = ratio[np.isfinite(ratio) & (ratio > 0)]
    return float(np.median(np.abs(np.log10(good)))) if good.size else None


def sweep_report(result, base_config: dict, figures_dir: Path) -> str:
    """The report of a ``wilsonian sweep`` (a :class:`wilsonian.app.sweep.SweepResult`)."""
    axes = list(result.grid)
    # values joined by " | ": a value may hold commas itself (classes = 8,9 | 0,1)
    grid = _table(["axis", "values"], [[_esc(a.replace("_", " ")), _esc(" | ".join(map(str, v)))]
                                       for a, v in result.grid.items()], left=2)
    pools = [g.get("pool", {}) for g in result.groups]
    first = pools[0] if pools else {}

    def base(name: str) -> str:
        """The base config's value of an option, or "(grid)" where the grid sets it."""
        value = base_config.get(name)
        if name == "ridge" and base_config.get("ridges"):
            value = ", ".join(f"{r:g}" for r in base_config["ridges"])
        return "(grid)" if name in result.grid else str(value)

    task = _table(["", ""], [
        ["data set", _esc(first.get("dataset"))], ["classes", _esc("(grid)" if "classes" in result.grid else first.get("class_names"))],
        ["pool N", _esc(", ".join(sorted({str(p.get('n')) for p in pools}, key=int)))],
        ["kernel", _esc(f"{base('kernel')}, activation {base('activation')}, depth {base('depth')}, "
                        f"σ_w² {base('weight_var')}, σ_b² {base('bias_var')} ({base('architecture')})")],
        ["ridge σ²", _esc(base("ridge"))], ["threshold T", _esc(base("threshold"))], ["draws", base_config.get("trials")],
        ["grid points", len(result.rows)], ["groups (kernel and spectrum each)", len(result.groups)]], left=2)
    summary_rows, details, warnings = [], [], []
    for row in result.rows:
        point, table = row["point"], row["table"]
        ratios = {name: _ratios(table, name) for name, _ in _THEORIES}
        summary_rows.append([_esc(point[a]) for a in axes]
                            + [_number(_median_abs_log(ratios[name]), 3) for name, _ in _THEORIES]
                            + [_number(ratios[name][-1], 3) for name, _ in _THEORIES])
        label = ", ".join(f"{a.replace('_', ' ')} = {point[a]}" for a in axes)
        degenerate = [int(e) for e, d in zip(table["eta"], table["rg_all_learnable"]) if d]
        if degenerate:
            warnings.append(f"{label}: at η = {', '.join(map(str, degenerate))} no mode falls below T; the RG has "
                            "nothing to integrate out (σ_eff² = σ², E_RG = EK) and is left out.")
        rows = [[int(e), _number(table["empirical_mean"][i]), _number(table["empirical_sem"][i], 2)]
                + [_number(ratios[name][i], 3) for name, _ in _THEORIES]
                + [_number(table["spectral_bias_kappa"][i]), _number(table["rg_ridge"][i]),
                   f"{int(table['rg_cutoff'][i])}{' *' if table['rg_all_learnable'][i] else ''}"]
                for i, e in enumerate(table["eta"])]
        details.append(f"<details><summary>{_esc(label)}</summary>" + _table(
            ["η", "empirical", "± SE", "EK/emp", "SB/emp", "RG/emp", "RG-fluct/emp", "κ_SB", "σ_eff²", "κ*"], rows)
            + "</details>")
    last_eta = ", ".join(sorted({str(int(r["table"]["eta"][-1])) for r in result.rows}))
    agreement = (_table([a.replace("_", " ") for a in axes] + [f"median |log₁₀ {t}/emp|" for _, t in _THEORIES]
                        + [f"{t}/emp at η = {last_eta}" for _, t in _THEORIES], summary_rows, left=len(axes))
                 + '<p class="muted">The median over η of |log₁₀(theory/data)| (0 is exact agreement; 0.3 is a '
                   "factor of 2), and the ratio at the largest η. RG and RG-fluct leave out the η where no mode "
                   "is unlearnable.</p>")
    figures = _figures(figures_dir, [("sweep_ratios", "log₁₀ theory/data over (grid point, η)"),
                                     ("sweep_flow", "the renormalized ridge and κ of every grid point")])
    files = sorted({f for p in pools for f in (p.get("files") or [])})
    sections = [("grid", grid + task), ("agreement over the grid", agreement), ("figures", figures),
                ("learning curves per grid point", "".join(details)),
                ("warnings", "".join(f'<p class="warn">{_esc(w)}</p>' for w in warnings) or "<p>none</p>"),
                ("config and provenance", _config_section({**base_config, "grid": result.grid}, files))]
    title = ", ".join(f"{a.replace('_', ' ')} × {len(v)}" for a, v in result.grid.items())
    return _page(f"wilsonian sweep: {first.get('dataset')}, {title}", sections)
