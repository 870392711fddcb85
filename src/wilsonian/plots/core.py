"""What every figure shares: a figure outside pyplot's global state, a fixed layout, the savers, styles.

Figures are built on Matplotlib's object API (:class:`matplotlib.figure.Figure` on an Agg
canvas), never through pyplot: no global state, nothing left open, safe in threads, and a
notebook displays the returned figure as it is.

Speed. Drawing a figure costs more than most of the numbers in it, so:

- no layout engine by default: each figure places its axes with fixed margins in inches
  (:func:`fixed_margins`); Matplotlib's constrained layout measured about half of the
  drawing time, and a layout can still be asked for (``figure(..., layout="constrained")``);
- the commands write PNG only unless PDF is asked for
  (:data:`~wilsonian.plots.runtime.COMMAND_FORMATS`): a PDF costs as much as the PNG again,
  plus ~0.15 s of font-subsetting imports;
- figures are drawn on one background thread (:mod:`wilsonian.plots.runtime`), which has
  set Matplotlib up while the numbers were computed; :func:`save_figures` writes each file
  while the next one is drawn, and :func:`prerender` starts drawing a finished figure while
  the caller computes the next one.
"""

from __future__ import annotations

import io
from concurrent.futures import Future
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from wilsonian.atomic import write_bytes
from wilsonian.plots import runtime
from wilsonian.plots.runtime import COMMAND_FORMATS, FORMATS, check_formats

#: Line styles of the theories, shared by every learning-curve figure.
THEORY_STYLE = {
    "ek": dict(color="tab:gray", ls=":", lw=2, label="EK (σ_eff² = σ²)"),
    "spectral_bias": dict(color="tab:blue", ls="-", lw=2, label="spectral bias"),
    "rg": dict(color="tab:red", ls="--", lw=2, label="RG (paper)"),
    "rg_fluct": dict(color="tab:orange", ls="-.", lw=1.5, label="RG-fluct (extension)"),
}

#: Resolution of the PNG files (dots per inch).
DPI = 130

# Attribute of a Figure holding its background renderings: {(format, dpi): Future[bytes]}.
_RENDERINGS = "_wilsonian_renderings"


def figure(width: float, height: float, *, layout: str | None = None) -> Figure:
    """A new figure of ``width`` × ``height`` inches on an Agg canvas.

    ``layout`` is a Matplotlib layout engine ("constrained", "tight") or None (the default):
    then the figure keeps the positions its axes were given, e.g. by :func:`fixed_margins`.
    """
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def fixed_margins(fig: Figure, *, left: float = 0.8, right: float = 0.2, bottom: float = 0.6,
                  top: float = 0.45, wspace: float = 0.0, hspace: float = 0.0, ncols: int = 1,
                  nrows: int = 1) -> None:
    """Place the figure's subplot grid with margins and gaps given in inches (a fixed layout).

    ``wspace``/``hspace`` are the gaps between the ``ncols`` columns and ``nrows`` rows of the
    grid. Applies to the axes made by ``fig.subplots`` / ``fig.add_gridspec`` before or after.
    """
    width, height = fig.get_size_inches()
    axes_width = (width - left - right - (ncols - 1) * wspace) / ncols
    axes_height = (height - bottom - top - (nrows - 1) * hspace) / nrows
    fig.subplots_adjust(left=left / width, right=1.0 - right / width, bottom=bottom / height,
                        top=1.0 - top / height, wspace=wspace / axes_width, hspace=hspace / axes_height)


def render(fig: Figure, fmt: str, *, dpi: int = DPI) -> bytes:
    """The file contents of ``fig`` in format ``fmt`` ("png" or "pdf").

    The PDF carries no creation date, so the same numbers give the same file.
    """
    buffer = io.BytesIO()
    metadata = {"CreationDate": None} if fmt == "pdf" else None
    fig.savefig(buffer, format=fmt, dpi=dpi if fmt == "png" else None, metadata=metadata)
    return buffer.getvalue()


def prerender(fig: Figure, formats: Iterable[str] = COMMAND_FORMATS, *, dpi: int = DPI) -> Figure:
    """Start drawing ``fig`` in ``formats`` on the figure thread; return ``fig``.

    For a finished figure that will be saved later with :func:`save_figure` or
    :func:`save_figures`, which then write the bytes drawn here. Do not change ``fig``
    after this call: the saved file shows it as it was.
    """
    renderings = fig.__dict__.setdefault(_RENDERINGS, {})
    for fmt in check_formats(formats):
        if (fmt, dpi) not in renderings:
            renderings[(fmt, dpi)] = runtime.submit(render, fig, fmt, dpi=dpi)
    return fig


def _take_rendering(fig: Figure, fmt: str, dpi: int) -> Future:
    """The figure's :func:`prerender` result for ``fmt`` (used once), or a new rendering."""
    future = fig.__dict__.get(_RENDERINGS, {}).pop((fmt, dpi), None)
    return future if future is not None else runtime.submit(render, fig, fmt, dpi=dpi)


def save_figures(figures: Mapping[str | Path, Figure], *, formats: Iterable[str] = FORMATS,
                 dpi: int = DPI, directory: str | Path | None = None) -> list[Path]:
    """Write each ``stem → figure`` as ``<stem>.<format>`` (atomically); return the paths.

    Figures are drawn on the figure thread, one after the other; each file is written as
    soon as its figure is drawn, while the next one is drawn. Stems are relative to
    ``directory`` when it is given. The first drawing error is raised, after the others
    have finished.
    """
    formats = check_formats(formats)
    base = None if directory is None else Path(directory)
    jobs = []
    for stem, fig in figures.items():
        stem = Path(stem) if base is None else base / stem
        for fmt in formats:
            jobs.append((stem.parent / f"{stem.name}.{fmt}", _take_rendering(fig, fmt, dpi)))
    written: list[Path] = []
    error: BaseException | None = None
    for target, future in jobs:
        try:
            data = future.result()
        except BaseException as exc:  # wait for the rest before raising: nothing left drawing
            error = error or exc
            continue
        if error is None:
            write_bytes(target, data)
            written.append(target)
    if error is not None:
        raise error
    return written


def save_figure(fig: Figure, stem: str | Path, *, formats: Iterable[str] = FORMATS,
                dpi: int = DPI) -> tuple[Path, ...]:
    """Write ``fig`` as ``<stem>.png`` and ``<stem>.pdf`` (or ``formats``), atomically.

    Returns the paths written, in the order of ``formats``. The PDF carries no creation date,
    so the same numbers give the same file.
    """
    return tuple(save_figures({stem: fig}, formats=formats, dpi=dpi))


def positive(values) -> np.ndarray:
    """``values`` with non-positive or non-finite entries as NaN (a gap on a log axis)."""
    values = np.asarray(values, dtype=float)
    return np.where((values > 0) & np.isfinite(values), values, np.nan)


def tidy_log_axis(ax) -> None:
    """Grid, and no crowded minor tick labels on short log axes."""
    ax.grid(True, which="both", alpha=0.3)
    ax.xaxis.set_minor_formatter(NullFormatter())
