"""What a command needs from the figures before Matplotlib is imported: the formats, and the figure thread.

A command that will draw figures calls :func:`warm_up` first. The figure thread then imports
Matplotlib and draws a small figure with the artists the real figures use (log axes,
mathtext, a legend, a hexbin), which loads the fonts, builds the mathtext parser and the PNG
encoder once per process, while the main thread loads data and computes. The real figures
are drawn later on the same thread (:func:`submit`, used by :mod:`wilsonian.plots.core`), so
two figures are never drawn at the same time and the caller can write files or compute
meanwhile.

This module imports only the standard library: calling :func:`warm_up` or
:func:`check_formats` costs nothing on the main thread.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable

from wilsonian.errors import WilsonianError

__all__ = ["COMMAND_FORMATS", "FORMATS", "check_formats", "submit", "warm_up"]

#: Formats :func:`wilsonian.plots.save_figure` writes unless told otherwise, and every
#: format it knows.
FORMATS = ("png", "pdf")

#: Formats the commands write unless ``--figure-formats`` says otherwise: a PDF costs as
#: much as the PNG again (and ~0.15 s of font-subsetting imports), so it is written on request.
COMMAND_FORMATS = ("png",)

_THREAD_NAME = "wilsonian-figures"
_lock = threading.RLock()
_executor: ThreadPoolExecutor | None = None
_warm: Future | None = None


def check_formats(formats: "str | Iterable[str]") -> tuple[str, ...]:
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


def _forget_in_child() -> None:
    """A forked child has no figure thread: it starts its own when it needs one."""
    global _executor, _warm, _lock
    _executor, _warm, _lock = None, None, threading.RLock()


os.register_at_fork(after_in_child=_forget_in_child)


def _worker() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_THREAD_NAME)
        return _executor


def submit(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
    """Run ``function(*args, **kwargs)`` on the figure thread; return its future.

    Called on the figure thread itself, it runs the function at once (no deadlock).
    """
    if threading.current_thread().name.startswith(_THREAD_NAME):
        future: Future = Future()
        try:
            future.set_result(function(*args, **kwargs))
        except BaseException as exc:  # delivered through the future, as from the thread
            future.set_exception(exc)
        return future
    return _worker().submit(function, *args, **kwargs)


def _draw_warm_up_figure() -> None:
    import io

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.0, 1.5))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    x = np.geomspace(1.0, 1e3, 16)
    left.loglog(x, 1.0 / x, "o-", label=r"$\lambda_k$")
    left.set_xlabel(r"$\phi_{1}$ (η)")
    left.legend(fontsize="x-small")
    right.hexbin(x, x, gridsize=4, bins="log", mincnt=1)
    right.set_title("σ²", fontsize="medium")
    fig.suptitle("warm-up")
    fig.savefig(io.BytesIO(), format="png", dpi=20)


def warm_up() -> Future:
    """Start setting Matplotlib up on the figure thread (once per process); return its future.

    Failures are not raised here: a figure drawn later reports them itself.
    """
    global _warm
    with _lock:
        if _warm is None:
            _warm = submit(_draw_warm_up_figure)
        return _warm
