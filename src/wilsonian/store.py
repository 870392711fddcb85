"""On-disk cache of expensive artifacts (kernel matrices, spectra).

Each entry is one uncompressed ``.npz`` file named by a SHA-256 key of everything that
produced it (see :func:`artifact_key`). Entries are written atomically (temporary file +
rename), carry a checksum of their own arrays, and are verified on load: a truncated or
altered entry is reported, deleted and recomputed, never used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from wilsonian.atomic import remove_stale_temporaries, save_npz

FORMAT_VERSION = 1
#: Version of what each kind of entry holds, part of its key. Bump a kind's version when
#: its entries change (an array or a meta field added or removed, or numbers that come out
#: different): an entry written before is then a miss, never served in its old shape.
#: (Spectra gained ``most_negative_eigenvalue`` and the sweep groups' results new keys
#: while both were at 1; spectra gained ``complete`` at 3; the tests pin each entry's
#: fields to these versions.) Kernel keys stay as they are: a run's results.json records
#: its kernel's key.
CONTENT_VERSIONS = {"spectrum": 3, "sweep-group": 2}


def array_digest(*arrays: np.ndarray) -> str:
    """SHA-256 of arrays' dtypes, shapes and bytes (C order)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.reshape(-1).view(np.uint8))
    return h.hexdigest()


def artifact_key(kind: str, **inputs: Any) -> str:
    """A stable key: SHA-256 of the kind, the format version (and the kind's
    :data:`CONTENT_VERSIONS` entry) and JSON of the inputs."""
    versions = {"format": FORMAT_VERSION}
    if kind in CONTENT_VERSIONS:
        versions["content"] = CONTENT_VERSIONS[kind]
    payload = json.dumps({"kind": kind, **versions, **inputs}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def default_cache_dir() -> Path:
    """$WILSONIAN_CACHE, else $XDG_CACHE_HOME/wilsonian, else ~/.cache/wilsonian."""
    if os.environ.get("WILSONIAN_CACHE"):
        return Path(os.environ["WILSONIAN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wilsonian"


@dataclass
class ArtifactCache:
    """A directory of cached arrays; ``enabled=False`` turns every lookup into a miss.

    ``events`` records what happened ("hit", "miss", "corrupt", "unwritable") per entry, for
    reporting. A cache that cannot be written (read-only file system, full disk, no
    permission) is reported once as a warning and the run carries on without it. Entries
    never hold non-finite values. :meth:`fetch` serialises concurrent computations of one
    entry with a lock, so a second run waits for the first and reuses its result.
    """

    root: Path | None
    enabled: bool = True
    quiet: bool = False
    events: list[dict[str, str]] = field(default_factory=list)
    writable: bool = True
    _cleaned: set = field(default_factory=set, repr=False)

    def _path(self, kind: str, key: str) -> Path:
        assert self.root is not None
        return Path(self.root) / kind / f"{key}.npz"

    def _say(self, message: str) -> None:
        """A progress line (``--quiet`` silences it)."""
        if not self.quiet:
            print(message, file=sys.stderr)

    @staticmethod
    def _warn(message: str) -> None:
        """A warning line: shown even with ``--quiet``."""
        print(f"warning: {message}", file=sys.stderr)

    def remove_leftovers(self) -> None:
        """Remove the temporary files that killed writers left in the cache's folders (a
        run killed, or a sweep's workers stopped, while writing an entry: up to 8N² bytes)."""
        if not self.enabled or self.root is None or not Path(self.root).is_dir():
            return
        for folder in Path(self.root).iterdir():
            if folder.is_dir() and not folder.is_symlink():
                remove_stale_temporaries(folder)

    def load(self, kind: str, key: str, *, record_miss: bool = True) -> dict[str, np.ndarray] | None:
        """The arrays of a verified entry, or None (missing, disabled or corrupt)."""
        if not self.enabled or self.root is None:
            return None
        path = self._path(kind, key)
        try:
            present = path.exists()
        except OSError:
            present = False
        if not present:
            if record_miss:
                self.events.append({"kind": kind, "key": key, "event": "miss"})
            return None
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            stored = str(arrays.pop("__checksum__"))
            names = sorted(arrays)
            if stored != array_digest(*(arrays[n] for n in names)):
                raise ValueError("checksum mismatch")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            self._warn(f"corrupt cache entry {path} ({exc}); recomputing it")
            self.events.append({"kind": kind, "key": key, "event": "corrupt"})
            try:
                path.unlink()
            except OSError:
                pass
            return None
        self.events.append({"kind": kind, "key": key, "event": "hit"})
        self._say(f"cache: reusing {kind} {key[:12]} from {path.parent}")
        return arrays

    def save(self, kind: str, key: str, **arrays: np.ndarray) -> None:
        """Write an entry atomically (no-op when disabled or unwritable; never non-finite data)."""
        if not self.enabled or self.root is None or not self.writable:
            return
        for name, array in arrays.items():
            array = np.asarray(array)
            if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
                self._warn(f"not caching {kind} {key[:12]}: its {name} has non-finite values")
                return
        names = sorted(arrays)
        checksum = np.array(array_digest(*(np.asarray(arrays[n]) for n in names)))
        path = self._path(kind, key)
        if kind not in self._cleaned:  # temporary files of killed runs (up to 8N² bytes each)
            self._cleaned.add(kind)
            remove_stale_temporaries(path.parent)
        try:
            save_npz(path, __checksum__=checksum, **arrays)
        except OSError as exc:
            self._unwritable(exc)

    def _unwritable(self, exc: OSError) -> None:
        self.writable = False
        self.events.append({"kind": "cache", "key": "", "event": "unwritable"})
        reason = exc.strerror or str(exc)
        self._warn(f"cannot write the cache in {self.root} ({reason}); carrying on without it")

    @contextlib.contextmanager
    def lock(self, kind: str, key: str) -> Iterator[None]:
        """An exclusive lock on one entry (a small ``.lock`` file beside it; no lock where
        the cache cannot be written or ``flock`` does not exist)."""
        if not self.enabled or self.root is None or not self.writable:
            yield
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        path = self._path(kind, key).with_suffix(".lock")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            self._unwritable(exc)
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def fetch(self, kind: str, key: str, compute) -> dict[str, np.ndarray]:
        """The entry's arrays: from the cache, or ``compute()`` (a dict of arrays) and saved.

        Concurrent runs computing the same entry are serialised: the second waits for the
        first and reads its result.
        """
        hit = self.load(kind, key)
        if hit is not None:
            return hit
        with self.lock(kind, key):
            hit = self.load(kind, key, record_miss=False)  # written while we waited?
            if hit is not None:
                return hit
            arrays = compute()
            self.save(kind, key, **arrays)
            return arrays

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for e in self.events:
            counts[e["event"]] = counts.get(e["event"], 0) + 1
        return {"root": str(self.root) if self.root else None, "enabled": self.enabled,
                "writable": self.writable, "events": list(self.events), "counts": counts}
