"""What every figure shares: a figure outside pyplot's global state, a fixed layout, the savers, styles.

Figures are built on Matplotlib's object API (:class:`matplotlib.figure.Figure` on an Agg
canvas), never through pyplot: no global state, nothing left open, safe in threads, and a
notebook displays the returned figure as it is.

Speed. Drawing a figure costs more than most of the numbers in it, so:

- no layout engine by default: each figure places its axes with fixed margins in inches
  (:func:`fixed_margins`); Matplotlib's constrained layout measured about half of the
  drawing time, and a layout can still be asked for (``figure(..., layout="constrained")``);
- the commands write PNG only unless PDF is asked for
  (:data:`~wilsonian.plots.formats.COMMAND_FORMATS`): a PDF costs as much as the PNG again,
  plus ~0.15 s of font-subsetting imports;
- log axes get minor ticks at 2 and 5 of each decade, not eight (:func:`light_log_ticks`):
  tick artists were more than half of the drawing of a log–log figure;
- the formats are known without importing Matplotlib (:mod:`wilsonian.plots.formats`), and
  the plots package imports a figure module only when its figure is drawn.

Drawing on a background thread (while the files are written, or while Matplotlib is set up
during the computation) was tried and dropped: on two cores it measured no gain, or a loss.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

from wilsonian.atomic import write_bytes
from wilsonian.plots.formats import FORMATS, check_formats

#: Line styles of the theories, shared by every learning-curve figure.
THEORY_STYLE = {
    "ek": dict(color="tab:gray", ls=":", lw=2, label="EK (σ_eff² = σ²)"),
    "spectral_bias": dict(color="tab:blue", ls="-", lw=2, label="spectral bias"),
    "rg": dict(color="tab:red", ls="--", lw=2, label="RG (paper)"),
    "rg_fluct": dict(color="tab:orange", ls="-.", lw=1.5, label="RG-fluct (extension)"),
}

#: Resolution of the PNG files (dots per inch).
DPI = 130


class _NotebookFigure(Figure):
    """A Matplotlib figure that a notebook displays as it is, whatever its plotting backend
    (IPython asks objects for ``_repr_png_``)."""

    def _repr_png_(self) -> bytes:
        return render(self, "png", dpi=100)


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SUBSCRIPT = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")
_MATHDEFAULT = re.compile(r"\$\\mathdefault\{(.*)\}\$")
_EXPONENT = re.compile(r"\^\{(-?\d+)\}")


class PlainLogFormatter(LogFormatterSciNotation):
    """Matplotlib's log tick labels (10⁻³, 2×10⁻³, 0.5) as plain text, not mathtext.

    The default labels are mathtext (``$\\mathdefault{10^{-3}}$``); parsing them was about a
    third of the drawing time of the run's figures. The same labels in Unicode superscripts
    need only the font's metrics. Ticks, thresholds and which labels show are unchanged.
    """

    def __call__(self, x, pos=None):
        label = super().__call__(x, pos)
        match = _MATHDEFAULT.fullmatch(label)
        if match is None:
            return label
        text = _EXPONENT.sub(lambda m: m.group(1).translate(_SUPERSCRIPT), match.group(1))
        return text.replace(r"\times", "×").replace("-", "\N{MINUS SIGN}")


def subscript(value: object) -> str:
    """``value`` in Unicode subscript digits (``"φ" + subscript(12)`` is φ₁₂).

    The figures write their labels as plain text, not mathtext: Matplotlib's mathtext parser
    costs ~0.1 s to set up and ~0.01 s per label, half the drawing time of the toy figure.
    """
    return str(value).translate(_SUBSCRIPT)


def signed(value: float, spec: str = "g") -> str:
    """``format(value, spec)`` with a true minus sign (−0.381, not -0.381), as tick labels have."""
    return format(value, spec).replace("-", "\N{MINUS SIGN}")


def plain_log_labels(fig: Figure) -> None:
    """Give every log (or symlog) axis of ``fig`` that has Matplotlib's default tick labels
    :class:`PlainLogFormatter` labels (the same labels, as plain text)."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() not in ("log", "symlog"):
                continue
            for formatter, setter in ((axis.get_major_formatter(), axis.set_major_formatter),
                                      (axis.get_minor_formatter(), axis.set_minor_formatter)):
                if type(formatter) is LogFormatterSciNotation:
                    setter(PlainLogFormatter(base=formatter._base, labelOnlyBase=formatter.labelOnlyBase,
                                             minor_thresholds=formatter.minor_thresholds,
                                             linthresh=formatter._linthresh))


def figure(width: float, height: float, *, layout: str | None = None) -> Figure:
    """A new figure of ``width`` × ``height`` inches on an Agg canvas.

    ``layout`` is a Matplotlib layout engine ("constrained", "tight") or None (the default):
    then the figure keeps the positions its axes were given, e.g. by :func:`fixed_margins`.
    """
    fig = _NotebookFigure(figsize=(width, height), layout=layout)
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

    The PDF carries no creation date, so the same numbers give the same file. Log axes get
    plain-text tick labels (:func:`plain_log_labels`) and a log axis with nothing positive
    to draw turns linear (:func:`_linear_if_nothing_positive`) first.
    """
    for ax in fig.axes:
        _linear_if_nothing_positive(ax)
    plain_log_labels(fig)
    buffer = io.BytesIO()
    metadata = {"CreationDate": None} if fmt == "pdf" else None
    fig.savefig(buffer, format=fmt, dpi=dpi if fmt == "png" else None, metadata=metadata)
    return buffer.getvalue()


def save_figures(figures: Mapping[str | Path, Figure], *, formats: Iterable[str] = FORMATS,
                 dpi: int = DPI, directory: str | Path | None = None) -> list[Path]:
    """Write each ``stem → figure`` as ``<stem>.<format>`` (atomically); return the paths.

    Stems are relative to ``directory`` when it is given.
    """
    formats = check_formats(formats)
    base = None if directory is None else Path(directory)
    written: list[Path] = []
    for stem, fig in figures.items():
        stem = Path(stem) if base is None else base / stem
        for fmt in formats:
            target = stem.parent / f"{stem.name}.{fmt}"
            write_bytes(target, render(fig, fmt, dpi=dpi))
            written.append(target)
    return written


def save_figure(fig: Figure, stem: str | Path, *, formats: Iterable[str] = FORMATS,
                dpi: int = DPI) -> tuple[Path, ...]:
    """Write ``fig`` as ``<stem>.png`` and ``<stem>.pdf`` (or ``formats``), atomically.

    Returns the paths written, in the order of ``formats``. The PDF carries no creation date,
    so the same numbers give the same file.
    """
    return tuple(save_figures({stem: fig}, formats=formats, dpi=dpi))


def _linear_if_nothing_positive(ax) -> None:
    """A log axis with no positive finite value to draw cannot be scaled (Matplotlib raises);
    it happens for honest numbers, e.g. a train error that underflows to 0 at σ² = 1e-200.
    Such an axis becomes linear and says so, so the figure (and the run) still completes."""
    if not ax.get_visible():
        return
    empty = False
    for axis, minpos in (("x", ax.dataLim.minposx), ("y", ax.dataLim.minposy)):
        if getattr(ax, f"get_{axis}scale")() == "log" and not np.isfinite(minpos):
            getattr(ax, f"set_{axis}scale")("linear")
            empty = True
    if empty:
        ax.text(0.5, 0.5, "nothing positive to draw\n(all values are 0, negative or not finite)",
                transform=ax.transAxes, ha="center", va="center", fontsize=8, color="0.4")


def positive(values) -> np.ndarray:
    """``values`` with non-positive or non-finite entries as NaN (a gap on a log axis)."""
    values = np.asarray(values, dtype=float)
    return np.where((values > 0) & np.isfinite(values), values, np.nan)


def light_log_ticks(ax) -> None:
    """Minor ticks at 2 and 5 of each decade on the log-scaled axes of ``ax``.

    Matplotlib's default puts eight per decade, and making tick artists was more than half
    of the drawing time of a figure with log axes (2.1× faster with these).
    """
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "log":
            axis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 5.0)))


DEGENERATE_LABEL = "no mode below T: RG degenerate (σ_eff² = σ², E_RG = EK), not drawn"


def degenerate_rg(table: dict) -> np.ndarray:
    """Where no mode falls below T (``rg_all_learnable``): the RG has nothing to integrate out,
    σ_eff² = σ² and E_RG collapses onto EK. A degenerate cutoff, not a prediction: figures
    mark these η and do not draw the RG there."""
    eta = np.asarray(table["eta"])
    return np.asarray(table.get("rg_all_learnable", np.zeros(eta.size)), dtype=bool)


def mark_degenerate(ax, eta, degenerate, bottom: float, *, color: str, label: str | None = DEGENERATE_LABEL) -> None:
    """An × at height ``bottom`` for each degenerate η (nothing when there is none)."""
    eta = np.asarray(eta, dtype=float)
    if degenerate.any():
        ax.plot(eta[degenerate], np.full(int(degenerate.sum()), bottom), "x", color=color, ms=8, clip_on=False,
                label=label)


def tidy_log_axis(ax) -> None:
    """Grid, light minor ticks, and no crowded minor tick labels on short log axes."""
    light_log_ticks(ax)
    ax.grid(True, which="both", alpha=0.3)
    ax.xaxis.set_minor_formatter(NullFormatter())
