"""Progress bars on stderr, with tqdm imported only when one is shown.

On a terminal a bar redraws itself in place up to ten times a second (tqdm's default).
Where stderr is a file or a pipe (a batch job's log, ``2> log``) every redraw is another
``\\r``-separated copy of the bar in the file: an hour-long job would write tens of thousands
of them. There a bar redraws at most every :data:`LOG_INTERVAL_S` seconds; it still shows its
first and its last state.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable, TypeVar

T = TypeVar("T")

#: Seconds between redraws of a bar whose stderr is not a terminal.
LOG_INTERVAL_S = 10.0


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):   # replaced or closed stderr
        return False


def progress_bar(**options: Any):
    """A tqdm bar (``tqdm.auto``: a widget in a notebook) on stderr with ``options``.

    tqdm costs ~45 ms to import (asyncio, importlib.metadata): a run without a bar does not
    pay it, so call this only when a bar is shown.
    """
    from tqdm.auto import tqdm

    options.setdefault("file", sys.stderr)
    in_notebook = tqdm.__module__.startswith("tqdm.notebook")   # a widget: redraws cost nothing
    if not in_notebook and not _stderr_is_terminal():
        options["mininterval"] = max(options.get("mininterval", 0.1), LOG_INTERVAL_S)
    return tqdm(**options)


def progress_iter(items: Iterable[T], desc: str, show: bool) -> Iterable[T]:
    """``items`` behind a :func:`progress_bar` when ``show``, else ``items`` itself."""
    if not show:
        return items
    return progress_bar(iterable=items, desc=desc, leave=False)
