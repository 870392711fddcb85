"""``wilsonian sweep``: a grid of runs that shares every kernel, spectrum and draw it can.

The grid ranges over any of threshold T, depth, activation, weight and bias variance,
ridge, classes (the data-set task) and pool size. Grid points that differ only in T and
the ridge share one kernel, one spectrum and one set of draws: all their ridges are solved
from one eigendecomposition of each training kernel (:func:`wilsonian.gp.learning_curves`),
and every T is a theory on the same spectrum. The other points are *groups*, run in
parallel processes where the cores allow, each through the cache; a finished group's rows
are cached too, so an interrupted sweep resumes where it stopped.

The result is one tidy table (a row per grid point and η) and summary figures.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import sys
from dataclasses import dataclass, replace
from typing import Any, Iterator, Sequence

import numpy as np

from wilsonian.app.config import RunConfig
from wilsonian.errors import WilsonianError

#: Options a grid may range over, with their value kind.
GRID_OPTIONS = {"threshold": float, "ridge": float, "depth": int, "activation": str, "weight_var": float,
                "bias_var": float, "classes": str, "n_pool": int}
#: Options that do not need a new spectrum: the points of a group differ only in these.
SHARED = ("threshold", "ridge")
#: Columns of the tidy table, after the grid's own.
COLUMNS = ("eta", "empirical_mean", "empirical_sem", "ek", "spectral_bias", "rg", "rg_fluct", "rg_ridge",
           "spectral_bias_kappa", "rg_cutoff", "rg_all_learnable", "train_empirical_mean", "train_eigenlearning")
MAX_POINTS = 400


def parse_grid_option(text: str) -> tuple[str, tuple]:
    """``name=v1,v2,...`` (``classes`` pairs separated by ``;``: ``classes=0,9;7,9``; an
    activation's parameters in parentheses: ``activation=relu,abrelu(a=-0.2,b=1.1)``)."""
    if "=" not in text:
        raise WilsonianError(f"--grid expects name=v1,v2,..., got {text!r}")
    name, _, values = text.partition("=")
    name = name.strip().replace("-", "_")
    if name == "activation":
        # commas inside parentheses belong to the activation's parameters
        return name, tuple(v.strip() for v in re.split(r",(?![^(]*\))", values) if v.strip())
    separator = ";" if name == "classes" else ","
    return name, tuple(v.strip() for v in values.split(separator) if v.strip())


def activation_value(text: str) -> tuple[str, tuple[str, ...] | None]:
    """A grid's activation, ``leaky-relu(slope=0.1)``, as (name, its ``name=value`` parameters)."""
    match = re.fullmatch(r"\s*([A-Za-z][\w-]*)\s*(?:\((.*)\))?\s*", text)
    if match is None:
        raise WilsonianError(f"{text!r} is not an activation; write a name, or a name and its parameters: "
                             "leaky-relu(slope=0.1)")
    name, inside = match.groups()
    params = tuple(p.strip() for p in inside.split(",") if p.strip()) if inside is not None else ()
    return name, params or None


def check_grid(grid: dict[str, Sequence]) -> dict[str, tuple]:
    """The grid with typed values, or an error naming the option and the value."""
    if not grid:
        raise WilsonianError("a sweep needs a grid: --grid threshold=0.25,0.5,0.75 (or a [grid] table in --config)")
    checked: dict[str, tuple] = {}
    for name, values in grid.items():
        if name not in GRID_OPTIONS:
            raise WilsonianError(f"--grid: cannot sweep {name.replace('_', '-')!r}; choose from "
                                 + ", ".join(o.replace("_", "-") for o in GRID_OPTIONS))
        kind = GRID_OPTIONS[name]
        if isinstance(values, str):   # "1,2,3" (classes "0,9;7,9"), as on the command line
            values = parse_grid_option(f"{name}={values}")[1]
        if isinstance(values, (str, int, float)):
            values = (values,)
        if not values:
            raise WilsonianError(f"--grid {name}: give at least one value")
        typed = []
        for value in values:
            try:
                if kind is int and (isinstance(value, bool) or float(value) != int(float(value))):
                    raise ValueError
                typed.append(kind(float(value)) if kind is int else kind(value))
            except (TypeError, ValueError):
                raise WilsonianError(f"--grid {name.replace('_', '-')}: {value!r} is not a valid "
                                     f"{kind.__name__}") from None
        if len(set(typed)) != len(typed):
            raise WilsonianError(f"--grid {name.replace('_', '-')}: values repeat")
        checked[name] = tuple(typed)
    points = int(np.prod([len(v) for v in checked.values()]))
    if points > MAX_POINTS:
        raise WilsonianError(f"the grid has {points} points; at most {MAX_POINTS}")
    return checked


def check_activation_axis(base: RunConfig, grid: dict[str, Sequence]) -> None:
    """A grid over the activation names each value's parameters itself: the base's
    --activation-param would belong to one activation only."""
    if "activation" in grid and base.activation_params:
        raise WilsonianError("--activation-param and --grid activation: give each activation's parameters in the "
                             "grid, e.g. --grid activation=relu,leaky-relu(slope=0.1)")


@dataclass(frozen=True)
class Group:
    """Grid points that share a spectrum: one config (every ridge) and the thresholds."""

    config: RunConfig
    thresholds: tuple[float, ...]
    points: tuple[dict[str, Any], ...]  # the grid values of each point of the group


@contextlib.contextmanager
def _at_grid_point(values: dict[str, Any]) -> Iterator[None]:
    """Name the grid values in an invalid point's error (``--grid depth=0, threshold=1.5: ...``)."""
    try:
        yield
    except WilsonianError as exc:
        if not values:
            raise
        where = ", ".join(f"{n.replace('_', '-')}={v}" for n, v in values.items())
        raise WilsonianError(f"--grid {where}: {exc}") from None


def plan(base: RunConfig, grid: dict[str, tuple]) -> list[Group]:
    """The groups of a grid, each validated (before any work)."""
    names = list(grid)
    own = [n for n in names if n not in SHARED]
    check_activation_axis(base, grid)
    groups = []
    for key in itertools.product(*(grid[n] for n in own)):
        values = dict(zip(own, key))
        settings = dict(values)
        if "activation" in values:   # the grid's value carries its parameters
            with _at_grid_point({"activation": values["activation"]}):
                settings["activation"], settings["activation_params"] = activation_value(values["activation"])
        ridges = grid.get("ridge", base.ridge_values)
        thresholds = grid.get("threshold", (base.threshold,))
        config = replace(base, **settings, ridge=ridges[0], ridges=tuple(ridges) if len(ridges) > 1 else None,
                         threshold=thresholds[0], nongaussian=False)
        shared = {n: ",".join(f"{v:g}" for v in grid[n]) for n in SHARED if n in grid}
        with _at_grid_point({**values, **shared}):
            config.validate()
        for t in thresholds:
            with _at_grid_point({**values, **({"threshold": f"{t:g}"} if "threshold" in grid else {})}):
                replace(config, threshold=t).validate()
        points = tuple({n: {"ridge": r, "threshold": t}.get(n, values.get(n)) for n in names}
                       for r in ridges for t in thresholds)
        groups.append(Group(config, tuple(thresholds), points))
    return groups


def _group_key(group: Group, blas_threads: int | None = None) -> str:
    """The cache key of a group's rows, computed with ``blas_threads`` (None: as many as BLAS
    has here), which the spectrum's round-off depends on."""
    from wilsonian.kernels._tiles import blas_threads as available
    from wilsonian.store import artifact_key

    threads = available() if blas_threads is None else blas_threads
    return artifact_key("sweep-group", config=group.config.as_dict(), thresholds=list(group.thresholds),
                        blas_threads=threads)


def cached_group(group: Group, blas_threads: int | None = None) -> dict[str, Any] | None:
    """A group's rows from the cache (computed with ``blas_threads``, as in :func:`run_group`),
    or None."""
    from wilsonian.app.run import open_cache

    hit = open_cache(group.config).load("sweep", _group_key(group, blas_threads), record_miss=False)
    return None if hit is None else json.loads(str(hit["rows"]))


def run_group(group: Group, blas_threads: int | None = None) -> dict[str, Any]:
    """One group's rows: its run (every ridge at once) and each threshold's theory, through the
    cache (a cached group is read back: an interrupted sweep resumes)."""
    from wilsonian.app.run import open_cache, run

    cache = open_cache(group.config)
    key = _group_key(group, blas_threads)

    def compute() -> dict[str, np.ndarray]:
        if blas_threads is not None:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=blas_threads, user_api="blas"):
                rows = _group_rows(group, run(group.config, warn_ignored=False))
        else:
            rows = _group_rows(group, run(group.config, warn_ignored=False))
        return {"rows": np.array(json.dumps(rows))}

    return json.loads(str(cache.fetch("sweep", key, compute)["rows"]))


def _group_rows(group: Group, result) -> dict[str, Any]:
    from wilsonian.atomic import to_json

    from wilsonian.theory import Theory

    rows = []
    eta = result.curves[0].eta.astype(float)
    points = iter(group.points)
    for curve in result.curves:
        for t in group.thresholds:
            prediction = Theory(result.spectrum, curve.ridge, t, noise=group.config.label_noise).predict(eta)
            table = prediction.compare(curve)
            rows.append({"point": next(points), "table": {c: table[c] for c in COLUMNS}})
    return json.loads(to_json({"rows": rows, "pool": {**result.pool.meta, "n": result.pool.n},
                               "config": group.config.as_dict(), "results": result.results}))


@dataclass
class SweepResult:
    grid: dict[str, tuple]
    rows: list[dict[str, Any]]  # per grid point: {"point": {...}, "table": {...}}
    groups: list[dict[str, Any]]

    def tidy(self) -> dict[str, list]:
        """One row per grid point and η: the grid values, then :data:`COLUMNS`."""
        names = list(self.grid)
        table: dict[str, list] = {n: [] for n in [*names, *COLUMNS]}
        for row in self.rows:
            count = len(row["table"]["eta"])
            for n in names:
                table[n] += [row["point"][n]] * count
            for c in COLUMNS:
                table[c] += list(row["table"][c])
        return table


def sweep(base: RunConfig, grid: dict[str, Sequence], *, workers: int | None = None) -> SweepResult:
    """Run a grid: groups in parallel processes (at most the CPU count), each through the cache."""
    from wilsonian.app.run import open_cache
    from wilsonian.app.workers import in_processes

    grid = dict(grid)
    if base.tile_cache_gib:
        # Points run in parallel processes, each of which would keep its own tiles: the
        # memory check of one point would not hold for the sweep. (0 and auto are accepted.)
        raise WilsonianError("tile_cache_gib is an option of wilsonian run, not of a sweep (its points run in "
                             "parallel processes, each keeping its own tiles); drop it from the config file")
    # ... and so a sweep's top-k points recompute their tiles at every pass (same numbers).
    base = replace(base, tile_cache_gib=0.0)
    if base.ridges is not None and "ridge" not in grid:  # --ridge a,b,c is a ridge axis
        grid["ridge"] = base.ridges
    grid = check_grid(grid)
    groups = plan(base, grid)
    cores = os.cpu_count() or 1
    parallel = max(1, min(workers or cores, cores))   # groups at once
    # Each group's BLAS threads (on which its round-off depends) follow from --workers alone,
    # not from how many groups are left to run: a resumed sweep gives a fresh one's numbers.
    threads = None if parallel == 1 else max(1, cores // parallel)
    # groups a previous (perhaps interrupted) sweep finished come from the cache at once
    outcomes: list[dict | None] = [cached_group(g, threads) for g in groups]
    todo = [i for i, o in enumerate(outcomes) if o is None]
    processes = min(parallel, len(todo))
    if processes <= 1:
        for i in todo:
            outcomes[i] = run_group(groups[i], threads)
    else:
        # Workers' progress bars would interleave on one terminal: they run quiet (not part of
        # the numbers, nor of the cache keys) and the parent says when each group is done.
        def finished(j: int) -> None:
            if not base.quiet:
                print(f"sweep: group {j + 1} of {len(todo)} done", file=sys.stderr, flush=True)

        quiet = [replace(groups[i], config=replace(groups[i].config, quiet=True)) for i in todo]
        # Workers stopped mid-write (Ctrl-C) leave temporary files in the cache.
        done = in_processes(run_group, [(group, threads) for group in quiet], processes, done=finished,
                            on_interrupt=lambda: open_cache(base).remove_leftovers())
        for i, outcome in zip(todo, done):
            outcomes[i] = outcome
    rows = [row for outcome in outcomes for row in outcome["rows"]]
    order = {json.dumps(p, sort_keys=True): i for i, p in enumerate(_grid_points(grid))}
    rows.sort(key=lambda r: order[json.dumps({k: r["point"][k] for k in grid}, sort_keys=True)])
    return SweepResult(grid, rows, [{"config": o["config"], "pool": o["pool"]} for o in outcomes])


def threshold_sweep(config: RunConfig, thresholds: Sequence[float]) -> dict[str, Any]:
    """One run's threshold sweep: its results (at ``config.threshold``) and a row per T, all on
    one spectrum and one set of draws (``reproduce fig4`` is one per task)."""
    group = Group(config, tuple(thresholds), tuple({"threshold": t} for t in thresholds))
    return cached_group(group) or run_group(group)


def _grid_points(grid: dict[str, tuple]) -> list[dict[str, Any]]:
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def point_label(point: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')}={v:g}" if isinstance(v, float) else f"{k.replace('_', ' ')}={v}"
                     for k, v in point.items())


def write(result: SweepResult, base: RunConfig, out, guards=(), *, figure_formats=None) -> None:
    """sweep.csv (the tidy table), sweep.json, config.json (the base config and the grid), the
    summary figures (``figure_formats``, default PNG only) and report.html, into ``out``
    atomically."""
    import csv
    import io

    from wilsonian.app.outputs import staged_output, write_json
    from wilsonian.plots import command_formats, save_figures, sweep_flow_figure, sweep_ratio_figure

    formats = command_formats(figure_formats)

    table = result.tidy()
    with staged_output(out, guards) as staging:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(list(table))
        for i in range(len(table["eta"])):
            writer.writerow([_cell(table[c][i]) for c in table])
        (staging / "sweep.csv").write_text(buffer.getvalue())
        write_json(staging / "sweep.json", {"grid": result.grid, "rows": result.rows, "groups": result.groups})
        write_json(staging / "config.json", {**base.as_dict(), "grid": result.grid})
        title = ", ".join(f"{k.replace('_', ' ')} × {len(v)}" for k, v in result.grid.items())
        save_figures({"sweep_ratios": sweep_ratio_figure(result.rows, title=f"theory / data over the grid ({title})"),
                      "sweep_flow": sweep_flow_figure(result.rows, title="renormalized ridge and κ over the grid")},
                     formats=formats, directory=staging / "figures")
        from wilsonian.app.report import sweep_report

        (staging / "report.html").write_text(sweep_report(result, base.as_dict(), staging / "figures"),
                                             encoding="utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return "nan"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    return str(value)
