"""Output folders: written atomically, and never replacing what wilsonian did not write.

A run replaces its ``--out`` folder as a whole, so it must be certain that everything it
replaces is its own. Every output folder carries a manifest (:data:`MARKER`) of the files the
run wrote, with their sizes and digests; a folder is replaced only when every file in it is
listed there, unchanged (:func:`check_output_dir`). :func:`staged_output` stages the new
folder beside the old one and swaps it in atomically (:func:`wilsonian.atomic.staged_directory`).

Also here: the files of one run (:func:`write_outputs`), its CSV table and its summary.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from wilsonian.atomic import STAGING_MARK, recover_interrupted_swap, staged_directory, to_json
from wilsonian.errors import WilsonianError

MARKER = ".wilsonian-output.json"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files_under(root: Path) -> Iterator[Path]:
    """Every entry below ``root`` that is not a directory (files, links, sockets...), sorted."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        # a link to a directory is listed among dirnames but not descended into: report it
        for name in sorted(filenames + [d for d in dirnames if (here / d).is_symlink()]):
            yield here / name


def write_manifest(directory: Path) -> None:
    """Record every file in ``directory`` (size, SHA-256) in its MARKER file."""
    files = {}
    for path in _files_under(directory):
        rel = path.relative_to(directory).as_posix()
        if rel not in (MARKER, STAGING_MARK):
            files[rel] = {"size": path.stat().st_size, "sha256": _sha256_file(path)}
    from wilsonian import __version__

    marker = {"written_by": "wilsonian", "version": __version__, "files": files}
    (directory / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")


def _refuse(out: Path, why: str) -> WilsonianError:
    return WilsonianError(
        f"--out {out} {why}; wilsonian replaces its output folder as a whole and deletes nothing it did "
        f"not write, so choose a new or empty folder (or move those files away)")


def check_replaceable(out: Path) -> None:
    """Raise unless the existing folder ``out`` is empty or holds only what wilsonian wrote there."""
    entries = [p for p in out.iterdir()]
    if not entries:
        return
    try:
        marker = json.loads((out / MARKER).read_text())
        listed = marker["files"]
        if marker.get("written_by") != "wilsonian" or not isinstance(listed, dict):
            raise ValueError
    except FileNotFoundError:
        raise _refuse(out, f"is not empty and was not written by wilsonian (it has no {MARKER})") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise _refuse(out, f"has an unreadable {MARKER}") from None
    for path in _files_under(out):
        rel = path.relative_to(out).as_posix()
        if rel == MARKER:
            continue
        entry = listed.get(rel)
        if entry is None or path.is_symlink() or not path.is_file():
            raise _refuse(out, f"holds {rel}, which wilsonian did not write")
        if path.stat().st_size != entry.get("size") or _sha256_file(path) != entry.get("sha256"):
            raise _refuse(out, f"holds {rel}, which was changed after wilsonian wrote it")


def check_output_dir(out: str | os.PathLike, protected: Iterable[tuple[str, str | os.PathLike | None]] = (),
                     *, recover: bool = True) -> Path:
    """Check that ``out`` may be (re)written as a whole, before any work is done.

    Refused: a path that is a file or lies under one; ``/`` or a mount point; a folder equal
    to or above the working directory or any ``protected`` path (``(label, path)`` pairs, for
    example the data file and the cache directory); a non-empty folder that wilsonian did not
    write, or in which a file was added or changed since. Returns the resolved path.
    With ``recover`` (the default), a swap of this folder that a killed run left half done
    is undone first (:func:`wilsonian.atomic.recover_interrupted_swap`).
    """
    try:
        given = Path(out).expanduser()
    except RuntimeError:  # ~nosuchuser
        raise WilsonianError(f"--out {out}: its home directory cannot be found") from None
    try:
        return _check_output_dir(given, protected, recover)
    except OSError as exc:  # a name too long, a loop of links, an unreadable parent...
        raise WilsonianError(f"--out {given} cannot be used: {exc.strerror or exc}") from None


def _check_output_dir(given: Path, protected, recover: bool) -> Path:
    resolved = given.resolve()
    # A run killed while it replaced this folder leaves it restorable: restore it first.
    if recover and resolved.parent.is_dir():
        recover_interrupted_swap(resolved, (MARKER,))
    for parent in (resolved, *resolved.parents):
        if parent.exists() and not parent.is_dir():
            if parent == resolved:
                raise WilsonianError(f"--out {given} exists and is not a directory; choose a directory path")
            raise WilsonianError(f"--out {given} lies under {parent}, which is a file, not a directory")
    if resolved == Path(resolved.anchor) or (resolved.exists() and os.path.ismount(resolved)):
        raise _refuse(given, "is the root of a file system")
    for label, path in [("the working directory", os.getcwd()), *protected]:
        if path is None:
            continue
        guarded = Path(path).expanduser().resolve()
        if guarded == resolved or resolved in guarded.parents:
            where = "is" if guarded == resolved else "is above"
            raise _refuse(given, f"{where} {label} ({guarded})")
    if resolved.is_dir():
        check_replaceable(resolved)
    if recover:   # the check before any work (not the one under the swap's lock)
        _check_writable(given, resolved)
    return resolved


def _check_writable(given: Path, resolved: Path) -> None:
    """Refuse ``--out`` where its staging folder could not be made (a read-only file system,
    /proc, no permission), so that the run fails before its work, not after it."""
    place = resolved.parent
    while not place.exists():   # the folders to be created go under the nearest existing one
        place = place.parent
    try:
        probe = tempfile.mkdtemp(prefix=f".{resolved.name}.", suffix=".probe", dir=place)
    except OSError as exc:
        raise WilsonianError(f"--out {given} cannot be written: no folder can be made in {place} "
                             f"({exc.strerror or exc})") from None
    os.rmdir(probe)


@contextlib.contextmanager
def staged_output(out_dir: str | Path, protected: Iterable[tuple[str, Any]] = ()) -> Iterator[Path]:
    """Yield an empty staging folder that replaces ``out_dir`` only if the block succeeds.

    A failure or a kill anywhere leaves ``out_dir`` exactly as it was (absent, or the
    previous run's). ``out_dir`` is checked with :func:`check_output_dir` before staging and
    again, under the swap's lock, just before the swap, so a folder that is not wilsonian's own
    is never replaced. The staging folder gets the manifest of what the run wrote.
    """
    protected = list(protected)
    out = check_output_dir(out_dir, protected)
    with staged_directory(out, recognised=(MARKER,), finalize=write_manifest,
                          before_swap=lambda: check_output_dir(out, protected, recover=False)) as staging:
        yield staging


def output_guards(config) -> list[tuple[str, Any]]:
    """The paths that a run's ``--out`` must not equal or contain: its inputs and its cache."""
    from wilsonian.data import default_data_dir
    from wilsonian.store import default_cache_dir

    data_dir = config.data_dir if config.data_dir is not None else default_data_dir(config.dataset)
    return [("the data file", config.data_file), ("the data directory", data_dir),
            ("the cache directory", config.cache_dir or default_cache_dir())]


def learning_curve_csv(results: dict[str, Any]) -> str:
    """The learning-curve table of ``results.json`` as CSV (one row per η)."""
    lc = results["learning_curve"]
    columns = list(lc)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for i in range(len(lc["eta"])):
        row = []
        for c in columns:
            v = lc[c][i]
            if isinstance(v, (bool, np.bool_)):
                row.append(str(bool(v)).lower())
            elif isinstance(v, (int, np.integer)):
                row.append(str(int(v)))
            else:
                row.append(repr(float(v)))
        writer.writerow(row)
    return buffer.getvalue()


def summary_table(result) -> str:
    """The table ``wilsonian run`` prints (one block per ridge)."""
    config, pool = result.config, result.pool
    if config.kernel == "precomputed":
        kernel = f"precomputed {config.kernel_file}"   # --activation and --depth play no part
    else:
        kernel = f"{config.kernel}/{config.activation}/L={config.depth}"
        if config.architecture == "conv":
            kernel = f"conv {kernel} {config.filter}×{config.filter} {config.padding} {config.readout}"
    teacher = pool.meta.get("teacher")
    task = (pool.meta.get("class_names") or pool.meta.get("targets")
            or (f"teacher {teacher['formula']}" if isinstance(teacher, dict) else ""))
    lines = [
        f"{pool.meta.get('dataset')} {task}  N={pool.n}  "
        f"d={pool.dim}  outputs={result.spectrum.n_outputs}  kernel={kernel}  "
        f"T={config.threshold:g}" + (f"  label noise ε²={config.label_noise:g}" if config.label_noise else ""),
    ]
    flagged = False
    for prediction, curve in zip(result.predictions, result.curves):
        lc = prediction.compare(curve)
        lines += [
            f"ridge σ² = {curve.ridge:g}",
            f"{'eta':>6} {'empirical':>11} {'±sem':>9} {'EK':>10} {'SB':>10} {'RG':>10} {'RG-fluct':>10} "
            f"{'kappa_SB':>10} {'sigma2_eff':>10} {'cutoff':>6} {'train':>10} {'train_EL':>10}",
        ]
        for i, e in enumerate(lc["eta"]):
            flag = "*" if lc["rg_all_learnable"][i] else " "
            flagged |= bool(lc["rg_all_learnable"][i])
            lines.append(
                f"{int(e):>6} {lc['empirical_mean'][i]:>11.4e} {lc['empirical_sem'][i]:>9.2e} {lc['ek'][i]:>10.3e} "
                f"{lc['spectral_bias'][i]:>10.3e} {lc['rg'][i]:>10.3e} {lc['rg_fluct'][i]:>10.3e} "
                f"{lc['spectral_bias_kappa'][i]:>10.3e} {lc['rg_ridge'][i]:>10.3e} {int(lc['rg_cutoff'][i]):>5d}{flag} "
                f"{lc['train_empirical_mean'][i]:>10.3e} {lc['train_eigenlearning'][i]:>10.3e}"
            )
    agree = result.results["agreement"]
    lines.append(
        "median |log10(theory/empirical)|: "
        + ", ".join(f"{k} {v['median_abs_log10_ratio']:.3f}" for k, v in agree.items())
    )
    if flagged:
        lines.append("* no mode below the threshold T: every resolved mode learnable, sigma2_eff = ridge")
    return "\n".join(lines)


def write_json(path: Path, obj: Any) -> None:
    """JSON into a staging folder (the folder's swap makes it atomic)."""
    path.write_text(to_json(obj) + "\n")


def write_outputs(result, out_dir: str | Path, *, figures: bool = True, figure_formats=None) -> Path:
    """Write all outputs of a run into ``out_dir`` atomically (see :func:`staged_output`).

    ``figure_formats``: "png", "pdf" or both (default PNG only).
    """
    with staged_output(out_dir, output_guards(result.config)) as staging:
        write_json(staging / "results.json", result.results)
        write_json(staging / "config.json", result.results["config"])
        write_json(staging / "run_info.json", result.info)
        (staging / "learning_curve.csv").write_text(learning_curve_csv(result.results))
        if figures:
            from wilsonian.plots import command_formats, run_figures

            run_figures(result, staging / "figures", formats=command_formats(figure_formats))
        from wilsonian.app.report import run_report

        (staging / "report.html").write_text(run_report(result, staging / "figures"), encoding="utf-8")
    return Path(out_dir)
