"""Progress bars over a loop, with tqdm imported only when one is shown."""

from __future__ import annotations

from typing import Iterable, TypeVar

T = TypeVar("T")


def progress_iter(items: Iterable[T], desc: str, show: bool) -> Iterable[T]:
    """``items`` behind a tqdm bar on stderr when ``show``, else ``items`` itself.

    tqdm costs ~45 ms to import (asyncio, importlib.metadata): a run without a bar does not
    pay it.
    """
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, leave=False)
