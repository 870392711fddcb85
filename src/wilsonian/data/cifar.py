"""CIFAR-10, "python version": pickled batches, read without executing arbitrary pickles.

The archive ``cifar-10-python.tar.gz`` unpacks to ``cifar-10-batches-py/`` with
``data_batch_1`` .. ``data_batch_5`` (train, 10,000 images each), ``test_batch`` and
``batches.meta``. Each batch is a (Python 2) pickle of a dict with byte-string keys:
``b'data'``: uint8 array (10000, 3072), each row a 32×32 image stored channel-major
(1024 red, then 1024 green, then 1024 blue values, rows of 32 within each);
``b'labels'``: list of 10,000 ints in 0..9; ``b'batch_label'``, ``b'filenames'``.
``batches.meta`` holds ``b'label_names'``.

Pickles can run arbitrary code when loaded. :class:`SafeUnpickler` only resolves the
few NumPy globals needed to rebuild an array (and ``_codecs.encode`` restricted to
Latin-1, which Python 3 uses to pickle ``bytes`` at protocol 2); anything else is
refused. Files are read only up to a size limit, and a batch whose array is larger than
the file that carries it (a pickle can ask NumPy for an empty array of any size) is
refused.
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from wilsonian._progress import progress_iter
from wilsonian.data.catalog import CIFAR10_NAMES
from wilsonian.data.raw import RawData, check_split, require_dir
from wilsonian.errors import WilsonianError, file_error, one_line

CIFAR10_DIRNAME = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCHES = ("test_batch",)
CIFAR10_META = "batches.meta"
CIFAR10_IMAGE_SHAPE = (3, 32, 32)

#: Largest pickle :func:`safe_unpickle` reads by default (a CIFAR-10 batch has 31 MB).
PICKLE_MAX_BYTES = 64 << 20

_LATIN1 = {"latin1", "latin-1", "latin_1", "iso-8859-1", "iso8859-1", "iso_8859_1", "l1"}


def _core(module: str, name: str) -> Any:
    # NumPy 2 renamed numpy.core to numpy._core; old pickles (CIFAR-10's) name the old one.
    import numpy

    core = getattr(numpy, "_core", None)
    if core is None:  # NumPy 1.x
        import numpy.core as core  # noqa: PLC0415
    return getattr(getattr(core, module), name)


_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): lambda: _core("multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): lambda: _core("multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"): lambda: _core("numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"): lambda: _core("numeric", "_frombuffer"),
    ("_codecs", "encode"): lambda: _latin1_encode,
}


def _latin1_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    # How Python 3 pickles bytes at protocol 2: _codecs.encode(text, "latin1"). Other
    # codecs are refused: a codec name makes the codec registry import modules.
    if not isinstance(obj, str) or not isinstance(encoding, str) or encoding.lower() not in _LATIN1:
        raise pickle.UnpicklingError("_codecs.encode is allowed only for Latin-1 text")
    return codecs.encode(obj, "latin1")


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays and plain containers, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        factory = _ALLOWED_GLOBALS.get((module, name))
        if factory is None:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        return factory()


def safe_unpickle(path: str | Path, *, max_bytes: int | None = PICKLE_MAX_BYTES) -> Any:
    """Load a pickle that may only contain NumPy arrays, numbers, strings and containers.

    Byte strings from Python 2 pickles stay ``bytes`` (``encoding="bytes"``), as in the
    CIFAR-10 batches.

    Parameters
    ----------
    path : str or Path
        The pickle file.
    max_bytes : int or None
        Files larger than this are refused without being read whole (None: no limit).

    Raises
    ------
    WilsonianError
        Unreadable, too large, truncated, or disallowed content (the message names the
        offending global).
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except OSError as exc:
        raise file_error("read", path, exc) from exc
    if max_bytes is not None and len(data) > max_bytes:
        raise WilsonianError(
            f"{str(path)!r} is larger than {max_bytes} bytes, too large for a CIFAR-10 "
            "pickle; the file is corrupt or not a CIFAR-10 batch."
        )
    try:
        return SafeUnpickler(io.BytesIO(data), encoding="bytes").load()
    except pickle.UnpicklingError as exc:
        raise WilsonianError(
            f"refusing or unable to unpickle {str(path)!r} ({one_line(exc)}); only CIFAR-10 style "
            "pickles of NumPy arrays and lists are read."
        ) from exc
    except MemoryError as exc:
        raise WilsonianError(
            f"{str(path)!r} asks for more memory than there is; it is not a valid CIFAR-10 "
            "pickle, download it again."
        ) from exc
    except Exception as exc:  # noqa: BLE001 - whatever a damaged pickle makes the loader raise
        raise WilsonianError(
            f"{str(path)!r} is truncated or not a valid CIFAR-10 pickle "
            f"({type(exc).__name__}: {one_line(exc)}); download it again."
        ) from exc


def _get(batch: dict, key: str) -> Any:
    # Python 2 pickles give bytes keys; pickles written by Python 3 may give str keys.
    if key.encode() in batch:
        return batch[key.encode()]
    return batch.get(key)


def find_cifar10_dir(data_dir: str | Path | None) -> Path:
    """The directory holding the batches: ``data_dir/cifar-10-batches-py`` or ``data_dir``."""
    directory = require_dir(data_dir, "cifar10")
    nested = directory / CIFAR10_DIRNAME
    if nested.is_dir():
        return nested
    if (directory / "data_batch_1").is_file() or (directory / "test_batch").is_file():
        return directory
    raise WilsonianError(
        f"no CIFAR-10 batches in {str(directory)!r}: expected {CIFAR10_DIRNAME}/ or "
        "data_batch_1..5 and test_batch there; download with `wilsonian data fetch cifar10`."
    )


def read_cifar10_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 batch file.

    Returns
    -------
    images : numpy.ndarray, uint8, shape (n, 3, 32, 32)
        Channel-major images (channel, row, column).
    labels : numpy.ndarray, int64, shape (n,)
        Class indices in 0..9.
    """
    path = Path(path)
    if path.is_dir():
        raise WilsonianError(
            f"CIFAR-10 batch {str(path)!r} is a folder, not a file; download the data set "
            "again with `wilsonian data fetch cifar10`."
        )
    if not path.is_file():
        raise WilsonianError(
            f"missing CIFAR-10 batch {str(path)!r}; download with `wilsonian data fetch cifar10`."
        )
    batch = safe_unpickle(path)
    if not isinstance(batch, dict):
        raise WilsonianError(f"{str(path)!r} is not a CIFAR-10 batch (not a dict).")
    data, labels = _get(batch, "data"), _get(batch, "labels")
    if not isinstance(data, np.ndarray) or labels is None:
        raise WilsonianError(
            f"{str(path)!r} is not a CIFAR-10 batch: it lacks the 'data' array or 'labels'."
        )
    n_pixels = int(np.prod(CIFAR10_IMAGE_SHAPE))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != n_pixels:
        raise WilsonianError(
            f"{str(path)!r}: 'data' is {data.dtype} {data.shape}, expected uint8 (n, {n_pixels})."
        )
    if data.nbytes > path.stat().st_size:
        raise WilsonianError(
            f"{str(path)!r}: 'data' ({data.nbytes} bytes) is larger than the file; the pickle "
            "is forged or corrupt, download it again."
        )
    try:
        labels = np.asarray(labels)
    except (ValueError, TypeError, OverflowError) as exc:
        raise WilsonianError(
            f"{str(path)!r}: 'labels' is not a list of integers ({one_line(exc)}); the file is corrupt."
        ) from exc
    if labels.nbytes > path.stat().st_size * 8:
        raise WilsonianError(
            f"{str(path)!r}: 'labels' is larger than the file can hold; the pickle is forged "
            "or corrupt, download it again."
        )
    if labels.ndim != 1 or labels.shape[0] != data.shape[0] or labels.dtype.kind not in "iu":
        raise WilsonianError(
            f"{str(path)!r}: 'labels' must be {data.shape[0]} integers, one per image; "
            f"got shape {labels.shape} of {labels.dtype}."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= len(CIFAR10_NAMES)):
        raise WilsonianError(f"{str(path)!r}: labels outside 0..9; the file is corrupt.")
    return data.reshape((-1, *CIFAR10_IMAGE_SHAPE)), labels.astype(np.int64)


def read_cifar10_label_names(directory: Path) -> tuple[str, ...] | None:
    """The class names from ``batches.meta``, or ``None`` if that file is absent."""
    path = directory / CIFAR10_META
    if not path.is_file():
        return None
    meta = safe_unpickle(path)
    names = _get(meta, "label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != len(CIFAR10_NAMES):
        raise WilsonianError(
            f"{str(path)!r} has no list of {len(CIFAR10_NAMES)} 'label_names'; the file is corrupt."
        )
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)


def load_cifar10_split(
    data_dir: str | Path | None, split: str = "train", *, progress: bool = False
) -> RawData:
    """Load one split of CIFAR-10 (python version).

    Parameters
    ----------
    data_dir : str or Path
        Directory containing ``cifar-10-batches-py/``, or that directory itself.
    split : {"train", "test", "all"}
        train = ``data_batch_1..5`` (50,000 images), test = ``test_batch`` (10,000),
        all = train followed by test.
    progress : bool
        Show a progress bar over the batch files on stderr.

    Returns
    -------
    RawData
        ``images`` uint8 (n, 3, 32, 32), ``labels`` int64 (n,), ``scale`` 255, class names
        from ``batches.meta`` (the standard names when it is absent).
    """
    split = check_split(split)
    directory = find_cifar10_dir(data_dir)
    batches = {
        "train": CIFAR10_TRAIN_BATCHES,
        "test": CIFAR10_TEST_BATCHES,
        "all": CIFAR10_TRAIN_BATCHES + CIFAR10_TEST_BATCHES,
    }[split]
    images_parts, labels_parts, files = [], [], []
    for name in progress_iter(batches, "reading cifar10", progress):
        images, labels = read_cifar10_batch(directory / name)
        images_parts.append(images)
        labels_parts.append(labels)
        files.append(str(directory / name))
    names = read_cifar10_label_names(directory)
    notes = ()
    if names is None:
        names = CIFAR10_NAMES
        notes = (f"{CIFAR10_META} not found; the standard CIFAR-10 class names were used",)
    else:
        files.append(str(directory / CIFAR10_META))
    return RawData(
        images=np.concatenate(images_parts),
        labels=np.concatenate(labels_parts),
        class_names=names,
        scale=255.0,
        files=tuple(files),
        notes=notes,
    )
