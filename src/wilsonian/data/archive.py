"""Unpack the CIFAR-10 archive safely: bounded, inside its folder, atomically.

The archive ``cifar-10-python.tar.gz`` is read member by member. Each header is checked
before the member's data is read or skipped: no absolute paths or ``..``, no links,
devices or sparse files, and no more bytes than the real file has (the batches about
31.0 MB each, the others a few bytes). The whole archive may declare at most
:data:`ARCHIVE_TOTAL_MAX` bytes in at most :data:`ARCHIVE_MAX_MEMBERS` members, so that
decompressing it stays bounded even when it is not the real archive. Only the data
set's own files are unpacked, into a staging folder that replaces
``cifar-10-batches-py/`` in one atomic swap (:func:`wilsonian.atomic.staged_directory`).
"""

from __future__ import annotations

import re
import tarfile
import zlib
from pathlib import Path

from wilsonian.atomic import staged_directory
from wilsonian.errors import WilsonianError, file_error, one_line

_CHUNK = 1 << 20

#: Files that must exist after unpacking CIFAR-10.
CIFAR10_MEMBERS = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta")

#: The most each file of the CIFAR-10 archive may declare: the batches have about 31.0 MB
#: (10,000 images of 3,072 bytes, their labels and file names), the others a few bytes.
CIFAR10_MEMBER_MAX = {
    **{name: 40 << 20 for name in CIFAR10_MEMBERS if name != "batches.meta"},
    "batches.meta": 1 << 20,
    "readme.html": 1 << 20,
}
#: Limits for any archive member and for the whole archive, unpacked or skipped: the
#: decompression of an archive stays within what these declare.
ARCHIVE_MEMBER_MAX = 40 << 20
ARCHIVE_TOTAL_MAX = 320 << 20
ARCHIVE_MAX_MEMBERS = 64

#: Largest extended header (pax, GNU long name or link) an archive may carry: tarfile
#: reads such a header whole, before it hands out the member it describes.
_ARCHIVE_HEADER_MAX = 64 << 10
_EXTENSION_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                    tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses oversized extended headers and sparse members before tarfile reads them.

    ``_proc_member`` is tarfile's hook for subclasses that handle member types.
    """

    def _proc_member(self, tarfile_):
        if self.type in _EXTENSION_TYPES and self.size > _ARCHIVE_HEADER_MAX:
            raise WilsonianError(
                f"the archive has an extended header of {self.size} bytes, more than "
                f"{_ARCHIVE_HEADER_MAX}; it is not the CIFAR-10 python version, refusing to "
                "unpack."
            )
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise WilsonianError(
                f"archive member {self.name!r} is a sparse file; refusing to unpack."
            )
        return super()._proc_member(tarfile_)


def _member_parts(member: tarfile.TarInfo) -> list[str]:
    """The path components of a member, refusing names that would leave the target."""
    name = member.name
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts:
        raise WilsonianError(
            f"archive member {name!r} would be written outside the data directory; "
            "refusing to unpack."
        )
    return parts


def _check_member(member: tarfile.TarInfo, state: dict) -> None:
    """Refuse unsafe or oversized members before their data is read or skipped."""
    state["count"] += 1
    state["total"] += max(member.size, 0)
    _member_parts(member)
    if not (member.isfile() or member.isdir()):
        raise WilsonianError(
            f"archive member {member.name!r} is not a regular file or directory (a link or "
            "a device); refusing to unpack."
        )
    if state["count"] > ARCHIVE_MAX_MEMBERS:
        raise WilsonianError(
            f"the archive has more than {ARCHIVE_MAX_MEMBERS} members; it is not the "
            "CIFAR-10 python version, refusing to unpack."
        )
    if member.size > ARCHIVE_MEMBER_MAX or state["total"] > ARCHIVE_TOTAL_MAX:
        raise WilsonianError(
            f"archive member {member.name!r} declares {member.size} bytes, more than the "
            "CIFAR-10 python version holds; refusing to unpack."
        )


def _copy_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    """Write ``member``'s data, exactly ``member.size`` bytes, to the new file ``target``."""
    source = tar.extractfile(member)
    if source is None:
        raise WilsonianError(f"archive member {member.name!r} has no data; refusing to unpack.")
    left = member.size
    try:
        out = open(target, "xb")
    except OSError as exc:
        raise file_error("write", target, exc) from exc
    with source, out:
        while left > 0:
            chunk = source.read(min(_CHUNK, left))
            if not chunk:
                raise WilsonianError(
                    f"archive member {member.name!r} is truncated; download the archive again."
                )
            left -= len(chunk)
            try:
                out.write(chunk)
            except OSError as exc:
                raise file_error("write", target, exc) from exc


def unpack_into(archive: Path, staging: Path, member_dir: str) -> list[str]:
    """Unpack the known files of ``member_dir/`` in ``archive`` into the folder ``staging``.

    Returns
    -------
    list of str
        The names written (flat, into ``staging``), in archive order.

    Raises
    ------
    WilsonianError
        A member that is unsafe or declares more than it may, a damaged archive, or a
        file system error while writing.
    """
    state = {"count": 0, "total": 0}
    written: list[str] = []
    try:
        with tarfile.open(archive, "r:*", tarinfo=_BoundedTarInfo) as tar:
            while (member := tar.next()) is not None:
                _check_member(member, state)
                parts = _member_parts(member)
                if member.isdir() or len(parts) != 2 or parts[0] != member_dir:
                    continue
                name = parts[1]
                limit = CIFAR10_MEMBER_MAX.get(name)
                if limit is None:
                    continue  # not a file of the data set: not unpacked
                if member.size > limit:
                    raise WilsonianError(
                        f"archive member {member.name!r} declares {member.size} bytes, more "
                        f"than the {limit} bytes of the real file; refusing to unpack."
                    )
                if name in written:
                    raise WilsonianError(
                        f"archive member {member.name!r} appears twice; refusing to unpack."
                    )
                _copy_member(tar, member, staging / name)
                written.append(name)
    except WilsonianError:
        raise
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise WilsonianError(f"cannot unpack {str(archive)!r} ({one_line(exc)}); download it again.") from exc
    except OSError as exc:
        if exc.filename is None:  # a damaged compressed stream (e.g. BadGzipFile)
            raise WilsonianError(
                f"cannot unpack {str(archive)!r} ({one_line(exc)}); download it again."
            ) from exc
        raise file_error("unpack into", exc.filename, exc) from exc
    return written


def extract_cifar10(archive: Path, data_dir: Path,
                    member_dir: str = "cifar-10-batches-py") -> Path:
    """Unpack ``member_dir/`` of ``archive`` as ``data_dir/member_dir``, atomically.

    Only the data set's own files are unpacked, each checked against the size it may
    have before its data is read. A previous ``member_dir`` is replaced only if it holds
    nothing but such files.

    Returns
    -------
    Path
        ``data_dir / member_dir``.

    Raises
    ------
    WilsonianError
        An unsafe, oversized, damaged or wrong archive, a folder that may not be
        replaced, or a file system error while writing.
    """
    final = data_dir / member_dir

    def check_replaceable() -> None:
        if not final.exists() and not final.is_symlink():
            return
        if final.is_symlink() or not final.is_dir():
            raise WilsonianError(
                f"{str(final)!r} is not a plain folder (a link or a file); move it away and "
                "fetch again."
            )
        foreign = sorted(p.name for p in final.iterdir()
                         if p.name not in CIFAR10_MEMBER_MAX or not p.is_file() or p.is_symlink())
        if foreign:
            raise WilsonianError(
                f"{str(final)!r} holds files that are not CIFAR-10's ({', '.join(foreign)}); "
                "it is not replaced: move them away and fetch again."
            )

    check_replaceable()
    with staged_directory(final, before_swap=check_replaceable) as staging:
        written = unpack_into(archive, staging, member_dir)
        missing = [m for m in CIFAR10_MEMBERS if m not in written]
        if missing:
            raise WilsonianError(
                f"{str(archive)!r} does not contain {member_dir}/ with {', '.join(missing)}; "
                "the archive is not the CIFAR-10 python version."
            )
    return final
