"""The project's exception type.

Every error caused by bad input is a :class:`WilsonianError`. It subclasses
``ValueError`` so that callers who catch ``ValueError`` keep working; the CLI turns
it into a one-line ``error: ...`` message with exit code 2.
"""

from __future__ import annotations

import errno
import os


class WilsonianError(ValueError):
    """Bad input: the message says what was wrong and what to do about it."""


def show_warning_on_one_line(message, category, filename, lineno, file=None, line=None) -> None:
    """A ``warnings.showwarning`` for the commands: ``warning: ...`` on one line, as an error
    is, not Python's file name, line number and source line; on a line of its own after a
    progress bar (a stream that tracks ``at_line_start``, as the CLI's stderr does)."""
    import sys

    stream = sys.stderr if file is None else file
    if not getattr(stream, "at_line_start", True):
        stream.write("\n")
    print(f"warning: {message}", file=stream)


def one_line(exc: BaseException) -> str:
    """The text of ``exc`` (or its type name) on one line, for quoting in a message."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


_OS_ERROR_HINTS = {
    errno.ENOSPC: "the disk is full; free some space or choose another location",
    errno.EDQUOT: "the disk quota is exhausted; free some space or choose another location",
    errno.EACCES: "check the permissions or choose another location",
    errno.EPERM: "check the permissions or choose another location",
    errno.EROFS: "choose another location",
    errno.ENAMETOOLONG: "the name or path is too long; use a shorter one",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENOENT: "it, or a folder on its path, does not exist",
    errno.EIO: "the disk or network file system reported an input/output error",
    errno.ELOOP: "too many symbolic links in the path",
    errno.EMFILE: "too many open files; close other programs or raise the limit",
}


def file_error(action: str, path: str | os.PathLike | None, exc: OSError) -> WilsonianError:
    """A :class:`WilsonianError` for an OS error on a file: what failed, where, why.

    Parameters
    ----------
    action : str
        What was being done, as a verb phrase: ``"write"``, ``"create the folder"``.
    path : str, os.PathLike or None
        The file or folder; ``exc.filename`` when None.
    exc : OSError
        The error; its ``strerror`` is quoted and its ``errno`` selects a hint.

    Returns
    -------
    WilsonianError
        To be raised ``from exc``.
    """
    where = path if path is not None else exc.filename
    cause = exc.strerror or one_line(exc)
    hint = _OS_ERROR_HINTS.get(exc.errno or 0)
    target = f" {os.fspath(where)!r}" if where is not None else ""
    return WilsonianError(f"cannot {action}{target}: {cause}" + (f"; {hint}." if hint else "."))


def os_error_message(exc: OSError) -> str:
    """One line for an operating-system error that reached the command line: the cause, the
    path, and what to do."""
    cause = exc.strerror or one_line(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    hint = _OS_ERROR_HINTS.get(exc.errno or 0)
    return f"{cause}{where}" + (f"; {hint}" if hint else "")
