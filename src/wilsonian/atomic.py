"""Atomic file writes, and output folders that never replace what wilsonian did not write.

A reader (or a crash) never sees a half-written file.

Everything is written to a temporary file in the destination's directory, flushed,
fsync'ed and then renamed over the destination with :func:`os.replace`, which is
atomic on POSIX file systems.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from wilsonian.errors import WilsonianError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates files readable by their owner only; results and downloads should get the
# usual permissions, as a plain open() would give them.
_FILE_MODE = 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    ``suffix`` keeps an extension that writers such as ``np.savez`` or Matplotlib
    look at.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f"{suffix}.tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, _FILE_MODE)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    write_bytes(path, text.encode("utf-8"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def to_json(obj: Any) -> str:
    """Serialize ``obj`` (dicts of arrays, NumPy scalars, paths) to JSON text.

    Non-finite floats are written as ``null`` so that the file stays strict JSON.
    """
    return json.dumps(_finite(obj), default=_json_default, indent=1, allow_nan=False)


def _finite(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f":
            return [_finite(v) for v in obj.tolist()]
        return obj.tolist()
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if np.isfinite(value) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write ``obj`` as JSON to ``path``."""
    write_text(path, to_json(obj) + "\n")


def save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Atomically write arrays to an uncompressed ``.npz`` file."""
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


# ---------------------------------------------------------------------------------------------
# Output directories: a run replaces its --out folder as a whole, so it must be certain that
# everything it replaces is its own. Every output folder carries a manifest (MARKER) of the
# files the run wrote, with their sizes and digests; a folder is replaced only when every file
# in it is listed there, unchanged.

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
        if rel != MARKER:
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


def check_output_dir(out: str | os.PathLike, protected: Iterable[tuple[str, str | os.PathLike | None]] = ()) -> Path:
    """Check that ``out`` may be (re)written as a whole, before any work is done.

    Refused: a path that is a file or lies under one; ``/`` or a mount point; a folder equal
    to or above the working directory or any ``protected`` path (``(label, path)`` pairs, for
    example the data file and the cache directory); a non-empty folder that wilsonian did not
    write, or in which a file was added or changed since. Returns the resolved path.
    """
    given = Path(out).expanduser()
    resolved = given.resolve()
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
    return resolved
