"""Loaders for the scikit-learn digits and for user ``.npz`` files."""

from __future__ import annotations

import gzip
import importlib.util
import math
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wilsonian.data.catalog import DIGIT_NAMES
from wilsonian.data.raw import RawData, check_split
from wilsonian.errors import WilsonianError, file_error, one_line

DIGITS_NOTE = (
    "digits has no train/test split: 'train' and 'all' both use all 1,797 images "
    "of sklearn.datasets.load_digits"
)


def load_digits_split(split: str = "train") -> RawData:
    """The scikit-learn 8×8 digits (embedded in scikit-learn, no download).

    Parameters
    ----------
    split : {"train", "all"}
        The data set has no split, so both mean all 1,797 images; ``"test"`` is an error.

    Returns
    -------
    RawData
        ``images`` float64 (1797, 8, 8) with integer values 0..16, ``labels`` int64 in
        0..9, ``scale`` 16 (the pixel range is 0..16, not 0..255).
    """
    split = check_split(split)
    if split == "test":
        raise WilsonianError(
            "digits has no test split; use split 'train' or 'all' (both are all 1,797 images)."
        )
    images, labels = _read_digits()
    return RawData(
        images=images,
        labels=labels,
        class_names=DIGIT_NAMES,
        scale=16.0,
        files=(),
        notes=(DIGITS_NOTE,),
    )


#: The shape of scikit-learn's ``datasets/data/digits.csv.gz``: 1,797 rows of 64 pixels and the label.
_DIGITS_SHAPE = (1797, 65)


def _read_digits() -> tuple[np.ndarray, np.ndarray]:
    """The digits' images (1797, 8, 8) float64 and labels int64, as ``load_digits`` gives them.

    Importing scikit-learn costs ~0.7 s, a quarter of the default ``wilsonian run``, while
    reading its file takes ~0.02 s: the file is read from the installed package without
    importing it (``find_spec`` of a top-level package runs none of its code), the way
    ``load_digits`` reads it (a gzipped CSV, label last). A file that is missing or not that
    table (:func:`_digits_table`) falls back to ``load_digits`` itself; the tests check both
    give the same arrays.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise WilsonianError("the digits data set comes with scikit-learn, which is not installed: "
                             "pip install scikit-learn")
    for location in spec.submodule_search_locations or ():
        table = _digits_table(Path(location) / "datasets" / "data" / "digits.csv.gz")
        if table is not None:
            return np.ascontiguousarray(table[:, :-1]).reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    try:
        bunch = load_digits()
    except Exception as exc:  # the file is damaged: load_digits fails in its own ways
        raise WilsonianError(f"cannot read scikit-learn's digits ({one_line(exc)}); "
                             "reinstall scikit-learn") from exc
    return np.asarray(bunch.images, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64)


def _digits_table(path: Path) -> np.ndarray | None:
    """The table in ``path`` if it is the digits': 1,797 rows of 64 pixels in 0..16 and a label
    in 0..9, all integers; None if it is missing, unreadable or anything else."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NumPy warns about an empty file: None below
            with gzip.open(path, "rt") as handle:
                table = np.loadtxt(handle, delimiter=",", ndmin=2)
    except (OSError, ValueError, EOFError):
        return None
    if table.shape != _DIGITS_SHAPE or not np.array_equal(table, np.round(table)):
        return None
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 16 or labels.min() < 0 or labels.max() > 9:
        return None
    return table


_NPZ_KEYS = ("X", "y")
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip
_NPY_MAGIC = b"\x93NUMPY"
_NPZ_CONTENT = ("an .npz file holding arrays X (n, ...) and y (n,), e.g. written by "
                "numpy.savez(path, X=X, y=y)")


@dataclass(frozen=True)
class _NpyHeader:
    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int


def _physical_memory() -> int | None:
    """This machine's memory in bytes, or None where it cannot be told."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _read_npy_header(archive: zipfile.ZipFile, member: str, source: str) -> _NpyHeader:
    """Shape and dtype of the array ``member`` of an ``.npz``, from its header alone; its
    size must match the member's declared uncompressed size."""
    info = archive.getinfo(member)
    with archive.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise WilsonianError(
                f"{member} in {source!r} is a .npy of format {version[0]}.{version[1]}, used "
                "only for structured arrays; store X and y as plain numeric or string arrays."
            )
        header_len = fh.tell()
    if dtype.hasobject:
        raise WilsonianError(
            f"{member} in {source!r} is an object array, which cannot be read without pickle "
            "(refused, as pickles can run code); store X and y as numeric or string arrays, "
            "not object arrays."
        )
    nbytes = math.prod(shape) * dtype.itemsize
    if info.file_size != header_len + nbytes:
        raise WilsonianError(
            f"{member} in {source!r} is corrupt: its header announces {dtype} {tuple(shape)} "
            f"({nbytes} bytes) but the archive holds {info.file_size - header_len} bytes of "
            "data; write the file again."
        )
    return _NpyHeader(tuple(int(d) for d in shape), dtype, nbytes)


def _inspect_npz(path: Path) -> dict[str, _NpyHeader]:
    """Check that ``path`` is an ``.npz`` with valid headers for X and y, without loading."""
    source = str(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise file_error("read the data file", path, exc) from exc
    if head.startswith(_NPY_MAGIC):
        raise WilsonianError(
            f"{source!r} is a .npy file (a single array), not {_NPZ_CONTENT}; check --data-file."
        )
    if head[:4] not in _ZIP_MAGICS:
        raise WilsonianError(f"{source!r} is not {_NPZ_CONTENT}; check --data-file.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            arrays = sorted({n[:-4] for n in names if n.endswith(".npy")})
            missing = [key for key in _NPZ_KEYS if f"{key}.npy" not in names]
            if missing:
                raise WilsonianError(
                    f"{source!r} lacks array(s) {', '.join(missing)}; it must hold X "
                    f"(n, ...) and y (n,) (it has: {', '.join(arrays) or 'nothing'})."
                )
            return {key: _read_npy_header(archive, f"{key}.npy", source) for key in _NPZ_KEYS}
    except WilsonianError:
        raise
    except OSError as exc:
        if exc.errno is not None:
            raise file_error("read the data file", path, exc) from exc
        raise WilsonianError(f"{source!r} is not a readable .npz file ({one_line(exc)}).") from exc
    except Exception as exc:  # noqa: BLE001 - anything else a damaged zip or header raises
        raise WilsonianError(
            f"{source!r} is not a readable .npz file ({type(exc).__name__}: {one_line(exc)}); it must "
            f"be {_NPZ_CONTENT}."
        ) from exc


def _check_npz_headers(headers: dict[str, _NpyHeader], source: str) -> None:
    """Shapes, dtypes and size of X and y, before anything is loaded."""
    X, y = headers["X"], headers["y"]
    if X.dtype.kind not in "biuf" or len(X.shape) < 2:
        raise WilsonianError(
            f"X in {source!r} must be a numeric array of shape (n, ...) with at least 2 "
            f"dimensions; got {X.dtype} {X.shape}."
        )
    if len(y.shape) not in (1, 2) or (len(y.shape) == 2 and (y.dtype.kind not in "biuf" or y.shape[1] == 0)):
        raise WilsonianError(f"y in {source!r} must be 1-D (n,) labels or targets, or a numeric (n, C) matrix of "
                             f"regression targets; got {y.dtype} {y.shape}.")
    if y.dtype.kind not in "biufUS":
        raise WilsonianError(
            f"y in {source!r} has dtype {y.dtype}; use integer, float or string labels."
        )
    if X.shape[0] != y.shape[0]:
        raise WilsonianError(
            f"X and y in {source!r} have different lengths ({X.shape[0]} vs {y.shape[0]}); "
            "they must have one label per row of X."
        )
    if X.shape[0] == 0:
        raise WilsonianError(f"X and y in {source!r} are empty (0 rows); there is no data.")
    if math.prod(X.shape[1:]) == 0:
        raise WilsonianError(
            f"X in {source!r} has shape {X.shape}: its rows have no values; each row must "
            "hold at least one feature."
        )
    memory = _physical_memory()
    total = X.nbytes + y.nbytes
    if memory is not None and total > memory:
        raise WilsonianError(
            f"X and y in {source!r} take {total / 1e9:.1f} GB, more than this machine's "
            f"{memory / 1e9:.1f} GB of memory; use a smaller data set."
        )


def load_npz(path: str | Path | None) -> RawData:
    """A user data set: an ``.npz`` file with arrays ``X`` (n, ...) and ``y`` (n,).

    The file is checked before it is loaded: it must be a zip archive (not a ``.npy``
    file), and the headers of ``X.npy`` and ``y.npy`` must announce suitable shapes and
    dtypes whose sizes match the archive's, so that nothing is decompressed beyond what
    the headers declare.

    Parameters
    ----------
    path : str or Path
        The file. Loaded with ``allow_pickle=False``: object arrays are refused.

    Returns
    -------
    RawData
        ``images`` = ``X`` as stored, ``labels`` = ``y`` as stored (ints, strings, or any
        values that compare with ``==``), ``class_names`` None, ``scale`` 255 when ``X`` is
        ``uint8`` (8-bit pixels), else 1.

    Raises
    ------
    WilsonianError
        Missing or unreadable file, a folder, a file that is not an ``.npz`` (a ``.npy``,
        text, a damaged zip), missing arrays, object arrays, non-numeric or non-finite
        ``X``, ``y`` not 1-D, ``X`` and ``y`` of different lengths, no rows or no
        features, or data larger than this machine's memory.
    """
    if path is None:
        raise WilsonianError(
            "dataset 'npz' needs a file: pass --data-file PATH.npz holding arrays X and y."
        )
    path = Path(path).expanduser()
    source = str(path)
    try:
        if path.is_dir():
            raise WilsonianError(
                f"data file {source!r} is a folder; pass --data-file the path of {_NPZ_CONTENT}."
            )
        if not path.exists():
            raise WilsonianError(f"data file {source!r} does not exist; check --data-file.")
        if not path.is_file():
            raise WilsonianError(
                f"data file {source!r} is not a regular file; check --data-file."
            )
    except OSError as exc:  # e.g. a name too long
        raise file_error("read the data file", path, exc) from exc
    headers = _inspect_npz(path)
    _check_npz_headers(headers, source)
    try:
        with np.load(path, allow_pickle=False) as archive:
            X = archive["X"]
            y = archive["y"]
    except OSError as exc:
        if exc.errno is not None:
            raise file_error("read the data file", path, exc) from exc
        raise WilsonianError(f"{source!r} is not a readable .npz file ({one_line(exc)}).") from exc
    except MemoryError as exc:
        raise WilsonianError(f"not enough memory to load {source!r}.") from exc
    except Exception as exc:  # noqa: BLE001 - damaged compressed data (zlib, CRC, EOF)
        raise WilsonianError(
            f"{source!r} is not a readable .npz file ({type(exc).__name__}: {one_line(exc)}); "
            "write it again."
        ) from exc
    if (X.shape, y.shape) != (headers["X"].shape, headers["y"].shape):
        raise WilsonianError(f"{source!r} changed while it was read; try again.")

    if X.dtype.kind == "f" and not np.all(np.isfinite(X)):
        bad = int(np.count_nonzero(~np.isfinite(X)))
        raise WilsonianError(
            f"X in {source!r} contains {bad} NaN or infinite value(s); clean the data first."
        )
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        bad = int(np.count_nonzero(~np.isfinite(y)))
        raise WilsonianError(
            f"y in {source!r} contains {bad} NaN or infinite label(s); clean the data first."
        )
    return RawData(
        images=X,
        labels=y,
        class_names=None,
        scale=255.0 if X.dtype == np.uint8 else 1.0,
        files=(str(path.resolve()),),
    )
