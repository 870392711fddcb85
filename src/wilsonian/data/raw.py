"""The value every loader returns: raw images and integer labels of one split.

Loaders (IDX, CIFAR-10, digits, ``.npz``) read files in their native formats, validate
them, and hand back a :class:`RawData`. Pool building (:func:`wilsonian.data.build_pool`)
then selects the two classes of a binary task, subsamples, and preprocesses
(THEORY.md §1, "Pool" and "Binary task").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wilsonian.errors import WilsonianError, file_error

#: The splits a loader understands. ``"all"`` is train followed by test.
SPLITS = ("train", "test", "all")


@dataclass(frozen=True)
class RawData:
    """Raw examples of one split of a data set, as stored in its files.

    Attributes
    ----------
    images : numpy.ndarray, shape (n, ...)
        The examples in their stored dtype and shape (``uint8`` (n, 28, 28) for IDX,
        ``uint8`` (n, 3, 32, 32) for CIFAR-10, ``float64`` (n, 8, 8) with values 0..16
        for digits, anything numeric for ``.npz``). Never rescaled.
    labels : numpy.ndarray, shape (n,) or (n, C)
        Class labels: ``int64`` indices into ``class_names`` for the standard data sets;
        the stored values (ints, strings, ...) for ``.npz``, whose ``y`` may also be float
        regression targets, one column per output.
    class_names : tuple of str or None
        Name of class ``i`` at position ``i``; ``None`` when the labels are not indices
        (``.npz``).
    scale : float
        Divisor that maps the stored values to [0, 1] (255 for 8-bit pixels, 16 for the
        scikit-learn digits, 1 when the values are not pixels).
    files : tuple of str
        Absolute paths of the files read (empty for data embedded in a library).
    notes : tuple of str
        Anything a user should know about how the split was formed.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...] | None
    scale: float
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n(self) -> int:
        return int(self.images.shape[0])


def check_split(split: Any) -> str:
    """Return ``split`` if it is one of :data:`SPLITS`, else raise :class:`WilsonianError`."""
    if not isinstance(split, str) or split not in SPLITS:
        raise WilsonianError(
            f"unknown split {split!r}; use one of {', '.join(SPLITS)}."
        )
    return split


def require_dir(data_dir: str | Path | None, dataset: str) -> Path:
    """Return ``data_dir`` as a :class:`~pathlib.Path` if it is an existing directory.

    Raises
    ------
    WilsonianError
        When no directory was given or it does not exist, with a hint on how to get
        the files.
    """
    hint = (
        f"pass --data-dir pointing to the {dataset} files "
        f"(`wilsonian data fetch {dataset} --data-dir DIR` downloads them)"
    )
    if data_dir is None:
        raise WilsonianError(f"no data directory given for {dataset}; {hint}.")
    try:
        path = Path(data_dir).expanduser()
        if not path.exists():
            raise WilsonianError(f"data directory {str(path)!r} does not exist; {hint}.")
        if not path.is_dir():
            raise WilsonianError(f"data directory {str(path)!r} is not a directory; {hint}.")
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # a name too long, a loop of links, no home for ~user
        if isinstance(exc, OSError):
            raise file_error("use the data directory", exc.filename or data_dir, exc) from exc
        raise WilsonianError(f"cannot use the data directory {str(data_dir)!r} ({exc}).") from exc
