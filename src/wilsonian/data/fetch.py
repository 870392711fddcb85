"""Download MNIST, Fashion-MNIST and CIFAR-10 with SHA-256 checks and atomic writes.

Each file is downloaded to a temporary file in the destination directory, hashed while
it streams, and renamed onto its final name only when its SHA-256 digest matches; a
mismatch or a failed download deletes the temporary file. A file that is already present
with the right digest is not downloaded again. CIFAR-10's archive is then unpacked safely
(no member may land outside the data directory) into ``cifar-10-batches-py/``, again via
a temporary directory and a rename.

Resources stay bounded and failures leave nothing half-done:

- a download is stopped as soon as it exceeds the known size of its file;
- redirects are followed only to http:// and https:// URLs;
- the timeout and the mirror URL are checked before anything is created;
- only the data set's own archive members are unpacked, each checked against the size it
  may have before its data is read (no links, devices, or paths outside the folder; see
  :mod:`wilsonian.data.archive`);
- a data directory the fetch created is removed again if the fetch fails before keeping
  a verified file, and temporary files of killed fetches are removed by the next one;
- file system errors (read-only or full disk, name too long) are reported with the path.

Where the digests come from
---------------------------
- MNIST: SHA-256 and sizes from TensorFlow Datasets,
  ``tensorflow_datasets/url_checksums/mnist.txt`` (files of the CVDF mirror of
  yann.lecun.com, the same files that torchvision fetches from ossci-datasets; several
  other public projects list the same digests).
- Fashion-MNIST: SHA-256 and sizes from TensorFlow Datasets,
  ``tensorflow_datasets/url_checksums/fashion_mnist.txt`` (the zalandoresearch files).
  The Debian package ``dataset-fashion-mnist`` ships *recompressed* copies (no file name
  in the gzip header, so 23-24 bytes shorter and with other digests); their decompressed
  content is identical to the originals (its MD5s match those published for the
  uncompressed files), so the loader reads them, but they are not byte-identical to
  what this module downloads.
- CIFAR-10: SHA-256 of ``cifar-10-python.tar.gz`` from Keras
  (``keras/datasets/cifar10.py``, ``file_hash``); size 170,498,071 bytes. torchvision
  lists the MD5 ``c58f30108f718f92721af3b95e74349a`` for the same file.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import math
import numbers
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from wilsonian.atomic import atomic_path, remove_stale_temporaries
from wilsonian.data.archive import CIFAR10_MEMBERS, extract_cifar10
from wilsonian.errors import WilsonianError, file_error, one_line

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_USER_AGENT = "wilsonian-data-fetch/0.1 (Python urllib)"


@dataclass(frozen=True)
class RemoteFile:
    """A file to download: its standard name, size in bytes, and SHA-256 digest."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RemoteDataset:
    """A downloadable data set: base URL and files (URL = base URL + file name)."""

    base_url: str
    files: tuple[RemoteFile, ...]
    extract_dir: str | None = None  # archive member directory to unpack, if any


REMOTE_DATASETS: dict[str, RemoteDataset] = {
    "mnist": RemoteDataset(
        base_url="https://ossci-datasets.s3.amazonaws.com/mnist/",
        files=(
            RemoteFile("train-images-idx3-ubyte.gz", 9912422,
                       "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            RemoteFile("train-labels-idx1-ubyte.gz", 28881,
                       "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            RemoteFile("t10k-images-idx3-ubyte.gz", 1648877,
                       "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            RemoteFile("t10k-labels-idx1-ubyte.gz", 4542,
                       "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        ),
    ),
    "fashion-mnist": RemoteDataset(
        base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        files=(
            RemoteFile("train-images-idx3-ubyte.gz", 26421880,
                       "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
            RemoteFile("train-labels-idx1-ubyte.gz", 29515,
                       "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
            RemoteFile("t10k-images-idx3-ubyte.gz", 4422102,
                       "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
            RemoteFile("t10k-labels-idx1-ubyte.gz", 5148,
                       "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
        ),
    ),
    "cifar10": RemoteDataset(
        base_url="https://www.cs.toronto.edu/~kriz/",
        files=(
            RemoteFile("cifar-10-python.tar.gz", 170498071,
                       "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),
        ),
        extract_dir="cifar-10-batches-py",
    ),
}

#: Names accepted by :func:`fetch_dataset`.
FETCHABLE = tuple(REMOTE_DATASETS)

#: Largest accepted ``timeout``, in seconds.
MAX_TIMEOUT = 3600.0

_HEX64 = re.compile(r"[0-9a-f]{64}")
_URL_SCHEMES = ("http", "https", "file")
_REDIRECT_SCHEMES = ("http", "https")


def sha256_file(path: str | Path) -> str:
    """The hexadecimal SHA-256 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _say(message: str, progress: bool) -> None:
    log.info(message)
    if progress:
        print(message, file=sys.stderr)


# --------------------------------------------------------------------------- arguments


def check_timeout(timeout: object) -> float:
    """``timeout`` as a float if it is a finite number of seconds in (0, :data:`MAX_TIMEOUT`]."""
    if (isinstance(timeout, bool) or not isinstance(timeout, numbers.Real)
            or not math.isfinite(timeout) or not 0 < timeout <= MAX_TIMEOUT):
        raise WilsonianError(
            f"timeout must be a positive, finite number of seconds, at most {MAX_TIMEOUT:g}; "
            f"got {timeout!r}."
        )
    return float(timeout)


def check_mirror(mirror: object) -> str:
    """The base URL of a mirror, ending in ``/``, if ``mirror`` is a usable one.

    Accepted are ``http://`` and ``https://`` URLs with a host (and a valid port, if any),
    and ``file://`` URLs of an absolute local path; none may have a query, a fragment,
    credentials, white space or control characters, and http(s) URLs must be ASCII.
    """
    def bad(why: str) -> WilsonianError:
        return WilsonianError(
            f"mirror must be an http://, https:// or file:// URL (a base URL to which the "
            f"file names are appended); got {mirror!r}: {why}."
        )

    if not isinstance(mirror, str):
        raise bad("not a string")
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", mirror):
        raise bad("it does not start with a scheme and '://'")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in mirror):
        raise bad("it contains white space or control characters (percent-encode them)")
    try:
        parts = urllib.parse.urlsplit(mirror)
        port = parts.port
    except ValueError as exc:
        raise bad(one_line(exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in _URL_SCHEMES:
        raise bad(f"scheme {parts.scheme!r} is not supported")
    if parts.query or parts.fragment or mirror.endswith(("?", "#")):
        raise bad("it has a query (?...) or fragment (#...)")
    if parts.username is not None or parts.password is not None:
        raise bad("it contains a user name or password")
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise bad("a file:// URL must not name a host (use file:///absolute/path)")
        if not parts.path.startswith("/"):
            raise bad("a file:// URL needs an absolute path")
    else:
        if not parts.hostname:
            raise bad("it has no host name")
        if port == 0:
            raise bad("port 0 is not a valid port")
        if not mirror.isascii():
            raise bad("it contains non-ASCII characters (percent-encode them; use the "
                      "punycode form of the host)")
    return mirror if mirror.endswith("/") else mirror + "/"


def _check_data_dir(data_dir: object) -> Path:
    if not isinstance(data_dir, (str, os.PathLike)):
        raise WilsonianError(f"data directory must be a path; got {data_dir!r}.")
    text = os.fspath(data_dir)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text.strip():
        raise WilsonianError("data directory must not be empty; pass --data-dir DIR.")
    if "\x00" in text:
        raise WilsonianError(f"data directory {text!r} contains a NUL character.")
    try:
        return Path(os.path.abspath(Path(text).expanduser()))
    except (OSError, RuntimeError) as exc:  # no current folder, or no home for "~user"
        raise WilsonianError(f"cannot resolve the data directory {text!r} ({one_line(exc)}).") from exc


# --------------------------------------------------------------------------- downloads


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to http:// and https:// URLs (urllib also follows ftp://)."""

    def http_error_302(self, req, fp, code, msg, headers):  # noqa: D102 (urllib API)
        location = headers.get("location") or headers.get("uri")
        if location is not None:
            target = urllib.parse.urljoin(req.full_url, location.strip())
            scheme = urllib.parse.urlsplit(target).scheme.lower()
            if scheme not in _REDIRECT_SCHEMES:
                fp.close()
                raise WilsonianError(
                    f"refusing the redirect from {req.full_url} to {target}: only http:// and "
                    "https:// redirects are followed; use a mirror that serves the files "
                    "directly (--mirror)."
                )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _network_error(url: str, exc: BaseException) -> WilsonianError:
    reason = exc
    if not isinstance(exc, urllib.error.HTTPError):
        reason = getattr(exc, "reason", None) or exc
    return WilsonianError(
        f"could not download {url} ({one_line(reason)}); check the network or pass a mirror URL "
        "(--mirror)."
    )


_NETWORK_ERRORS = (OSError, ValueError, http.client.HTTPException)


def _download(
    url: str, dest: Path, expected_sha256: str, *, limit: int, timeout: float, progress: bool
) -> None:
    """Stream ``url`` into a temporary file next to ``dest``; keep it only if the digest
    matches. At most ``limit`` bytes are accepted: a longer download is stopped there."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    digest = hashlib.sha256()
    received = 0
    total: int | None = None
    with atomic_path(dest, suffix=".part") as tmp:
        try:
            # Built per call: the opener reads the proxy settings from the environment.
            opener = urllib.request.build_opener(_HttpOnlyRedirects)
            response = opener.open(request, timeout=timeout)
        except WilsonianError:
            raise
        except _NETWORK_ERRORS as exc:
            # URLError, HTTPError and timeouts are OSErrors; ValueError: malformed URL.
            raise _network_error(url, exc) from exc
        with response, open(tmp, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.strip().isdigit() else None
            if total is not None and total > limit:
                raise WilsonianError(
                    f"{url} announces {total} bytes, more than the {limit} bytes of "
                    f"{dest.name}; nothing was kept, use another mirror."
                )
            from wilsonian._progress import progress_bar  # tqdm: ~45 ms, paid by a download only

            with progress_bar(total=total, unit="B", unit_scale=True, desc=dest.name,
                              disable=not progress, leave=False) as bar:
                while True:
                    try:
                        chunk = response.read(min(_CHUNK, limit + 1 - received))
                    except _NETWORK_ERRORS as exc:
                        raise _network_error(url, exc) from exc
                    if not chunk:
                        break
                    received += len(chunk)
                    if received > limit:
                        raise WilsonianError(
                            f"{url} sends more than the {limit} bytes of {dest.name}; the "
                            "download was stopped and discarded, use another mirror."
                        )
                    try:
                        out.write(chunk)
                    except OSError as exc:
                        raise file_error("write", dest, exc) from exc
                    digest.update(chunk)
                    bar.update(len(chunk))
        if total is not None and received != total:
            raise WilsonianError(
                f"download of {url} stopped after {received} of {total} bytes; try again."
            )
        actual = digest.hexdigest()
        if actual != expected_sha256:
            raise WilsonianError(
                f"checksum mismatch for {dest.name} from {url}: expected SHA-256 "
                f"{expected_sha256}, got {actual} ({received} bytes); the file was "
                "discarded, try again or use another mirror."
            )


# --------------------------------------------------------------------------- fetch


def _create_directory(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; the folders created, outermost first."""
    missing: list[Path] = []
    try:
        if directory.exists() and not directory.is_dir():
            raise WilsonianError(f"data directory {str(directory)!r} is not a directory.")
        probe = directory
        while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
            missing.append(probe)
            probe = probe.parent
        missing.reverse()
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_created(missing)
        raise file_error("create the data directory", exc.filename or directory, exc) from exc
    return missing


def _remove_created(created: list[Path]) -> None:
    """Remove the folders this fetch created, innermost first, while they are empty."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (kept files), or not ours to remove any more


def fetch_dataset(
    name: str,
    data_dir: str | Path,
    *,
    mirror: str | None = None,
    progress: bool = False,
    timeout: float = 60,
    checksums: Mapping[str, str] | None = None,
    sizes: Mapping[str, int] | None = None,
) -> list[Path]:
    """Download a data set's standard files into ``data_dir`` and verify them.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist", "cifar10"}
        The data set. (digits ships with scikit-learn; nothing to fetch.)
    data_dir : str or Path
        Destination directory, created if needed. Pass the same directory to
        :func:`wilsonian.data.build_pool` as ``data_dir``.
    mirror : str, optional
        Base URL replacing the default one (http, https or file); the file names stay the
        standard ones, e.g. ``mirror + "train-images-idx3-ubyte.gz"``.
    progress : bool
        Download progress bars and one line per file (downloaded / already present /
        unpacked) on stderr. The same lines always go to the ``logging`` logger
        ``wilsonian.data.fetch`` at INFO level.
    timeout : float
        Socket timeout in seconds for each connection and read, in (0, 3600].
    checksums : mapping of file name to SHA-256 hex digest, optional
        Overrides the expected digests (e.g. for a mirror serving other files, or tests).
    sizes : mapping of file name to int, optional
        Overrides the sizes in bytes of the files: a download longer than its file's size
        is stopped and discarded. Defaults to the sizes of the standard files.

    Returns
    -------
    list of Path
        The verified files, in the standard order; for cifar10 the archive followed by
        the unpacked ``cifar-10-batches-py`` directory.

    Raises
    ------
    WilsonianError
        Unknown name, bad mirror URL, timeout or checksum, failed download, download
        longer than its file, redirect to a scheme other than http(s), checksum mismatch
        (the partial file is removed), an unsafe / wrong archive, or a file system error
        (read-only or full disk, name too long...). A data directory this call created
        is removed again if it failed before keeping any verified file.

    Notes
    -----
    Temporary files that killed fetches left in ``data_dir`` are removed first (those
    whose writer process is gone, see :func:`wilsonian.atomic.remove_stale_temporaries`).
    """
    if not isinstance(name, str) or name not in REMOTE_DATASETS:
        hint = " (digits ships with scikit-learn and needs no download)" if name == "digits" else ""
        raise WilsonianError(
            f"cannot fetch {name!r}{hint}; use one of {', '.join(FETCHABLE)}."
        )
    timeout = check_timeout(timeout)
    remote = REMOTE_DATASETS[name]
    base_url = remote.base_url if mirror is None else check_mirror(mirror)
    expected = {f.name: f.sha256 for f in remote.files}
    limits = {f.name: f.size for f in remote.files}
    for file_name, digest in (checksums or {}).items():
        if file_name not in expected:
            raise WilsonianError(
                f"checksum given for unknown file {file_name!r}; {name} has "
                f"{', '.join(expected)}."
            )
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest.lower()):
            raise WilsonianError(
                f"checksum for {file_name} must be 64 hexadecimal digits; got {digest!r}."
            )
        expected[file_name] = digest.lower()
    for file_name, size in (sizes or {}).items():
        if file_name not in limits:
            raise WilsonianError(
                f"size given for unknown file {file_name!r}; {name} has {', '.join(limits)}."
            )
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size <= 0:
            raise WilsonianError(
                f"size of {file_name} must be a positive number of bytes; got {size!r}."
            )
        limits[file_name] = int(size)

    directory = _check_data_dir(data_dir)
    created = _create_directory(directory)
    try:
        try:
            return _fetch_into(remote, directory, base_url, expected, limits,
                               timeout=timeout, progress=progress)
        except OSError as exc:  # local file system errors; network ones are converted above
            raise file_error("write in the data directory", exc.filename or directory,
                             exc) from exc
    except BaseException:
        _remove_created(created)
        raise


def _verified_files(remote: RemoteDataset, directory: Path, expected: Mapping[str, str]) -> set[Path]:
    """The data set's files already in ``directory`` with their SHA-256; an error for any
    other file under one of their names, which wilsonian did not write and does not replace."""
    present = set()
    for remote_file in remote.files:
        dest = directory / remote_file.name
        if (dest.exists() or dest.is_symlink()) and not dest.is_file():
            raise WilsonianError(
                f"{str(dest)!r} exists but is not a file (a folder or a broken link); move "
                "it away and fetch again."
            )
        if not dest.is_file():
            continue
        try:
            digest = sha256_file(dest)
        except OSError as exc:
            raise file_error("read", dest, exc) from exc
        if digest != expected[remote_file.name]:
            # Downloads reach their name only once verified, so this file is not one of ours
            # (another release, a recompressed copy, a damaged file): it is the user's to move.
            raise WilsonianError(
                f"{dest} is present but is not the file wilsonian fetches (its SHA-256 does not match); "
                "wilsonian does not replace a file it did not write: move it away and fetch again, or "
                "read the folder as it is with --data-dir")
        present.add(dest)
    return present


def _fetch_into(remote: RemoteDataset, directory: Path, base_url: str,
                expected: Mapping[str, str], limits: Mapping[str, int], *,
                timeout: float, progress: bool) -> list[Path]:
    stale = remove_stale_temporaries(directory)
    if stale:
        _say(f"removed {len(stale)} temporary file(s) left by interrupted fetches in "
             f"{directory}", progress)
    directory = directory.resolve()
    present = _verified_files(remote, directory, expected)   # before any download
    paths: list[Path] = []
    fresh = False
    for remote_file in remote.files:
        dest = directory / remote_file.name
        digest = expected[remote_file.name]
        if dest in present:
            _say(f"{dest} already present, SHA-256 verified: skipped", progress)
            paths.append(dest)
            continue
        url = base_url + remote_file.name
        _say(f"downloading {url}", progress)
        _download(url, dest, digest, limit=limits[remote_file.name], timeout=timeout,
                  progress=progress)
        _say(f"{dest} downloaded, SHA-256 verified", progress)
        paths.append(dest)
        fresh = True

    if remote.extract_dir is not None:
        unpacked = directory / remote.extract_dir
        complete = all((unpacked / m).is_file() for m in CIFAR10_MEMBERS)
        if fresh or not complete:
            unpacked = extract_cifar10(paths[0], directory, remote.extract_dir)
            _say(f"unpacked {paths[0].name} into {unpacked}", progress)
        else:
            _say(f"{unpacked} already unpacked: skipped", progress)
        paths.append(unpacked)
    return paths
