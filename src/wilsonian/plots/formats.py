"""The figure formats, known before Matplotlib is imported.

This module imports only the standard library, so the command line checks
``--figure-formats`` before any work and without the ~0.3 s of Matplotlib's imports.
"""

from __future__ import annotations

from typing import Iterable

from wilsonian.errors import WilsonianError

__all__ = ["COMMAND_FORMATS", "FORMATS", "check_formats", "command_formats"]

#: Formats :func:`wilsonian.plots.save_figure` writes unless told otherwise, and every
#: format it knows.
FORMATS = ("png", "pdf")

#: Formats the commands write unless ``--figure-formats`` says otherwise: a PDF costs as
#: much as the PNG again (and ~0.15 s of font-subsetting imports), so it is written on request.
COMMAND_FORMATS = ("png",)


def check_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """Figure formats from ``"png,pdf"`` or a sequence, validated; duplicates dropped.

    Raises
    ------
    WilsonianError
        An unknown format, or none.
    """
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    chosen: list[str] = []
    for item in items:
        name = str(item).strip().lower().lstrip(".")
        if not name:
            continue
        if name not in FORMATS:
            raise WilsonianError(f"unknown figure format {item!r}; choose from {', '.join(FORMATS)} "
                                 "(comma-separated, e.g. png,pdf)")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise WilsonianError(f"no figure format given; choose from {', '.join(FORMATS)}, e.g. png,pdf")
    return tuple(chosen)


def command_formats(formats: str | Iterable[str] | None = None) -> tuple[str, ...]:
    """The formats a command writes: ``formats`` checked, or :data:`COMMAND_FORMATS` when None."""
    return check_formats(COMMAND_FORMATS if formats is None else formats)
