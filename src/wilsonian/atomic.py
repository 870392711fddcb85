"""Atomic file writes and directory swaps; output folders that never replace what wilsonian did not write.

A reader (or a crash) never sees a half-written file or folder.

Files are written to a temporary file in the destination's directory, flushed, fsync'ed and
renamed over the destination with :func:`os.replace`, which is atomic on POSIX file systems.

Folders (:func:`staged_directory`) are written into a staging folder beside the destination
and swapped in with one atomic exchange (Linux ``renameat2(RENAME_EXCHANGE)``), so the
destination is never missing; where the platform cannot exchange, two renames are used and
an interrupted swap is undone by the next one. Swaps of one destination are serialised with
a lock, and leftovers of killed runs are removed (only those that carry wilsonian's marks).

Temporary files and staging folders name (or hold a mark naming) the machine and process
that writes them; :func:`remove_stale_temporaries` removes those whose writer is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np



def fault_point(stage: str) -> None:
    """A testing hook: with ``WILSONIAN_FAULT=<stage>`` in the environment the process dies
    here at once, as under ``kill -9`` (the fault-injection tests use it; nothing else does)."""
    if os.environ.get("WILSONIAN_FAULT") == stage:
        os._exit(137)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates files readable by their owner only; results and downloads should get the
# usual permissions, as a plain open() would give them.
_FILE_MODE = 0o666 & ~_current_umask()


#: Longest part of a destination's name kept in its temporary file's name, so that the
#: temporary name stays well within the usual 255-byte limit of a file name.
_NAME_KEEP = 120

#: ``.<name>.<host>-<pid>.<8 hex digits><suffix>.tmp``: the names :func:`atomic_path` gives
#: its temporary files. The host has no dots (see :func:`_host_tag`) and the token is hex, so
#: the writer is read back unambiguously from the right.
_TEMPORARY_NAME = re.compile(
    r"\.(?P<name>.+)\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>[0-9]+)\.(?P<token>[0-9a-f]{8})"
    r"(?P<suffix>(?:\.[^.]+)*)\.tmp"
)


def _host_tag() -> str:
    """This machine's name as it appears in temporary names: letters, digits, ``_`` and ``-``,
    at most 32 characters (a longer or changed name ends in a digest of the whole name, so
    that machines whose names differ only there still get different tags)."""
    name = socket.gethostname()
    tag = re.sub(r"[^A-Za-z0-9-]", "_", name)
    if len(tag) > 32 or (tag != name and len(tag) > 23):
        tag = tag[:23] + "_" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return tag or "host"


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine may still run (True when in doubt)."""
    if os.name == "nt":  # pragma: no cover - os.kill would terminate the process there
        return True
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process, or a pid we cannot judge
    return True


def _create_temporary(path: Path, suffix: str) -> Path:
    """Create an empty file, owner-only, named after ``path`` and this process, beside it."""
    writer = f"{_host_tag()}-{os.getpid()}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name[:_NAME_KEEP]}.{writer}.{secrets.token_hex(4)}{suffix}.tmp"
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path.parent))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched. The
    temporary file is named ``.<name>.<host>-<pid>.<random><suffix>.tmp``, so that a
    later run can tell the leftover of a killed writer from the file of a live one
    (:func:`remove_stale_temporaries`).

    Parameters
    ----------
    path : str or os.PathLike
        The destination; its folder is created if needed.
    suffix : str
        Kept before ``.tmp``: an extension that writers such as ``np.savez`` or
        Matplotlib look at.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _create_temporary(path, suffix)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, _FILE_MODE)
        fault_point("before-file-rename")
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _temporary_writer_gone(name: str) -> bool:
    """Whether ``name`` is an :func:`atomic_path` temporary of a dead process of this machine."""
    match = _TEMPORARY_NAME.fullmatch(name)
    if match is None or match["host"] != _host_tag():
        return False  # not ours, or another machine's: not ours to judge
    return not _process_alive(int(match["pid"]))


def _staging_writer_gone(folder: Path) -> bool:
    """Whether ``folder`` is a :func:`staged_directory` staging folder of a dead process of
    this machine (its mark must be complete and readable)."""
    try:
        host, pid = (folder / STAGING_MARK).read_text().split()
        pid_number = int(pid)
    except (OSError, ValueError):
        return False  # no mark (not ours), or one still being written
    return host == socket.gethostname() and not _process_alive(pid_number)


def remove_stale_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Remove what killed wilsonian runs left in ``directory``, and nothing else.

    Removed are temporary files of :func:`atomic_path` (``.<name>.<host>-<pid>.<random>
    <suffix>.tmp``) and staging folders of :func:`staged_directory` (``.<name>.<random>.tmp``
    holding a writer mark), each only when its writer ran on this machine and is no longer
    running. Files of live writers, of other machines, symbolic links, and anything not
    named so are left alone; so are ``.old`` folders of an interrupted swap, which the
    next swap of their destination restores or removes. Errors while removing are ignored
    (the leftover stays).

    Parameters
    ----------
    directory : str or os.PathLike
        The folder to clean (not recursively). A missing folder is not an error.

    Returns
    -------
    list of Path
        What was removed.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        path = Path(entry.path)
        try:
            if entry.is_symlink():
                continue
            if entry.is_file(follow_symlinks=False) and _temporary_writer_gone(entry.name):
                path.unlink()
                removed.append(path)
            elif entry.is_dir(follow_symlinks=False) and _staging_writer_gone(path):
                shutil.rmtree(path)
                removed.append(path)
        except OSError:
            continue
    return removed


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


# ------------------------------------------------------------------------------ directories

#: Written into every staging folder at creation: who is writing it (host and process), so
#: that a later run removes it only once that process is gone.
STAGING_MARK = ".wilsonian-staging"
_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _libc_renameat2():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_renameat2 = _libc_renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one atomic step; False where the platform cannot
    (and with ``WILSONIAN_NO_EXCHANGE=1``, which tests the fallback)."""
    if _renameat2 is None or os.environ.get("WILSONIAN_NO_EXCHANGE") == "1":
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # no exchange on this file system
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextlib.contextmanager
def directory_lock(path: Path) -> Iterator[None]:
    """An exclusive lock for swapping ``path``: ``flock`` on its parent folder (Linux, macOS).

    No file is created. Where ``flock`` is unavailable the swap runs unlocked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _staging_owner_alive(folder: Path) -> bool:
    try:
        host, pid = (folder / STAGING_MARK).read_text().split()
        pid_number = int(pid)
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return True  # another machine's run: it is not ours to judge
    return _process_alive(pid_number)


def _leftovers(path: Path, recognised: Iterable[str]) -> Iterator[Path]:
    """Staging and swapped-out folders of earlier swaps of ``path`` that carry one of the
    ``recognised`` marker files (or a staging mark whose process is gone)."""
    marks = tuple(recognised)
    for entry in path.parent.glob(f".{path.name}.*"):
        if not entry.is_dir() or entry.is_symlink() or entry.suffix not in (".tmp", ".old"):
            continue
        if (entry / STAGING_MARK).exists():
            if not _staging_owner_alive(entry):
                yield entry
        elif any((entry / mark).exists() for mark in marks):
            yield entry


def recover_interrupted_swap(path: str | os.PathLike, recognised: Iterable[str] = ()) -> None:
    """Put back the previous content of ``path`` if a swap was killed between its two renames
    (``path`` missing, its content in a ``.old`` folder beside it), and remove the leftovers
    of killed swaps; under the swap's lock. Safe to call at any time."""
    path = Path(path)
    if not path.parent.is_dir():
        return
    with directory_lock(path):
        _recover_and_clean(path, recognised)


def _recover_and_clean(path: Path, recognised: Iterable[str]) -> None:
    """Undo an interrupted two-rename swap (``path`` missing, its previous content in a
    ``.old`` folder), then remove the leftovers of killed runs. Called under the lock."""
    leftovers = sorted(_leftovers(path, recognised), key=lambda p: p.stat().st_mtime)
    if not path.exists():
        previous = [p for p in leftovers if p.suffix == ".old" and not (p / STAGING_MARK).exists()]
        if previous:
            os.rename(previous[-1], path)
            leftovers.remove(previous[-1])
    for entry in leftovers:
        shutil.rmtree(entry, ignore_errors=True)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as fh:
                os.fsync(fh.fileno())


def replace_directory(staging: Path, path: Path) -> None:
    """Put ``staging`` in place of ``path`` (call under :func:`directory_lock`).

    An existing ``path`` is swapped out in one atomic exchange and removed; without an
    exchange, it is renamed aside first and put back if the second rename fails (and by
    the next swap if the process dies in between).
    """
    if not path.exists() and not path.is_symlink():
        os.rename(staging, path)
        return
    if exchange(staging, path):
        fault_point("after-exchange")
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous content
        return
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
    old.rmdir()
    os.rename(path, old)
    fault_point("between-renames")
    try:
        os.rename(staging, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_directory(path: str | os.PathLike, *, recognised: Iterable[str] = (),
                     finalize=None, before_swap=None) -> Iterator[Path]:
    """Yield an empty staging folder beside ``path`` that replaces ``path`` only if the block
    succeeds; a failure (or a kill) anywhere leaves ``path`` exactly as it was.

    Parameters
    ----------
    path : the destination folder (created with its parents as needed).
    recognised : marker file names that identify this kind of folder (e.g. an output
        manifest): leftovers of killed swaps that hold one are removed.
    finalize : ``finalize(staging)``, called after the block (e.g. to write a manifest).
    before_swap : ``before_swap()``, called under the lock just before the swap (e.g. to
        check again that the destination may be replaced); an exception cancels the swap.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        (staging / STAGING_MARK).write_text(f"{socket.gethostname()} {os.getpid()}\n")
        os.chmod(staging, 0o777 & ~_current_umask())
        yield staging
        if finalize is not None:
            finalize(staging)
        _fsync_tree(staging)
        fault_point("before-swap")
        with directory_lock(path):
            _recover_and_clean(path, recognised)
            if before_swap is not None:
                before_swap()
            # Unmarked only now, under the lock: until the swap the mark says "in use".
            (staging / STAGING_MARK).unlink()
            replace_directory(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
