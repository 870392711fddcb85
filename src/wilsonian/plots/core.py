"""What every figure shares: a figure outside pyplot's global state, one saver, styles.

Figures are built on Matplotlib's object API (:class:`matplotlib.figure.Figure` on an Agg
canvas), never through pyplot: no global state, nothing left open, safe in threads, and a
notebook displays the returned figure as it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from wilsonian.atomic import atomic_path

#: Line styles of the theories, shared by every learning-curve figure.
THEORY_STYLE = {
    "ek": dict(color="tab:gray", ls=":", lw=2, label="EK (σ_eff² = σ²)"),
    "spectral_bias": dict(color="tab:blue", ls="-", lw=2, label="spectral bias"),
    "rg": dict(color="tab:red", ls="--", lw=2, label="RG (paper)"),
    "rg_fluct": dict(color="tab:orange", ls="-.", lw=1.5, label="RG-fluct (extension)"),
}

#: Formats :func:`save_figure` writes.
FORMATS = ("png", "pdf")


class _NotebookFigure(Figure):
    """A Matplotlib figure that a notebook displays as it is, whatever its plotting backend
    (IPython asks objects for ``_repr_png_``)."""

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def figure(width: float, height: float, *, layout: str | None = "constrained") -> Figure:
    """A new figure of ``width`` × ``height`` inches on an Agg canvas."""
    fig = _NotebookFigure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, stem: str | Path, *, formats=FORMATS, dpi: int = 130) -> tuple[Path, ...]:
    """Write ``fig`` as ``<stem>.png`` and ``<stem>.pdf`` (atomically); return the paths.

    The PDF carries no creation date, so the same numbers give the same file.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    for ax in fig.axes:
        _linear_if_nothing_positive(ax)
    written = []
    for fmt in formats:
        target = stem.parent / f"{stem.name}.{fmt}"
        metadata = {"CreationDate": None} if fmt == "pdf" else None
        with atomic_path(target, suffix=f".{fmt}") as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi if fmt == "png" else None, metadata=metadata)
        written.append(target)
    return tuple(written)


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
    """Grid, and no crowded minor tick labels on short log axes."""
    ax.grid(True, which="both", alpha=0.3)
    ax.xaxis.set_minor_formatter(NullFormatter())
