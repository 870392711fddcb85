"""The IDX format of MNIST and Fashion-MNIST.

An IDX file is a header followed by the raw array, C order, big-endian:

- bytes 0-1: zero; byte 2: element type (0x08 unsigned byte, 0x09 signed byte,
  0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64); byte 3: number of dimensions;
- then one big-endian uint32 per dimension;
- then the data, exactly prod(dims) elements.

The images files have magic number 0x00000803 (unsigned bytes, 3-D: n × rows × cols),
the labels files 0x00000801 (unsigned bytes, 1-D: n). Files may be gzip-compressed
(``.gz``) or raw.

Files are read header first: the magic number and dims fix the size of the data, and no
more than that (plus one byte, to detect trailing garbage) is read or decompressed.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import warnings
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from wilsonian._progress import progress_iter
from wilsonian.data.catalog import CLASS_NAMES
from wilsonian.data.raw import RawData, check_split, require_dir
from wilsonian.errors import WilsonianError, file_error, one_line

#: Element types by IDX type code (stored big-endian).
IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
_KIND_BY_MAGIC = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
_MAGIC_BY_KIND = {"images": IMAGES_MAGIC, "labels": LABELS_MAGIC}

#: File-name prefixes of the two splits.
IDX_SPLIT_PREFIX = {"train": "train", "test": "t10k"}


#: Largest data part an IDX file may announce (2 GiB; MNIST's training images take 47 MB).
IDX_MAX_BYTES = 1 << 31

#: Most dimensions an IDX file may announce (the standard files have 1 or 3).
IDX_MAX_DIMS = 32

_CHUNK = 1 << 20


def _parse_header(head: bytes, source: str) -> tuple[int, np.dtype, tuple[int, ...]]:
    """Magic number, element type and dims from the first ``4 + 4 * ndim`` bytes.

    ``head`` may be shorter than the whole header (then it is truncated) or longer (the
    rest is ignored).
    """
    if len(head) < 4:
        raise WilsonianError(
            f"IDX file {source!r} is truncated: it has {len(head)} bytes, fewer than the "
            "4-byte magic number; download it again."
        )
    (magic,) = struct.unpack(">I", head[:4])
    type_code, ndim = head[2], head[3]
    if head[:2] != b"\x00\x00" or type_code not in IDX_DTYPES or ndim == 0:
        raise WilsonianError(
            f"file {source!r} is not an IDX file (magic number 0x{magic:08X}); "
            "check that the path points to an MNIST-format images or labels file."
        )
    if ndim > IDX_MAX_DIMS:
        raise WilsonianError(
            f"file {source!r} is not a usable IDX file: its header announces {ndim} "
            f"dimensions, more than {IDX_MAX_DIMS}; the file is corrupt."
        )
    header_len = 4 + 4 * ndim
    if len(head) < header_len:
        raise WilsonianError(
            f"IDX file {source!r} is truncated inside its header; download it again."
        )
    dims = struct.unpack(f">{ndim}I", head[4:header_len])
    return magic, IDX_DTYPES[type_code], tuple(int(d) for d in dims)


def _data_size(dims: tuple[int, ...], dtype: np.dtype, source: str) -> int:
    """Bytes of data the header announces; refused beyond :data:`IDX_MAX_BYTES`.

    The dims other than zero count too: NumPy cannot make an array of shape
    (0, 2**32 - 1, 2**32 - 1), although it would hold no data.
    """
    expected = math.prod(dims) * dtype.itemsize
    extent = math.prod(d for d in dims if d) * dtype.itemsize
    if max(expected, extent) > IDX_MAX_BYTES:
        raise WilsonianError(
            f"IDX file {source!r} announces dims {dims} ({expected} bytes of data), beyond "
            f"the {IDX_MAX_BYTES} bytes this reader accepts; the file is corrupt or "
            "not an MNIST-format file."
        )
    return expected


def _truncated(source: str, dims: tuple[int, ...], expected: int, present: int) -> WilsonianError:
    return WilsonianError(
        f"IDX file {source!r} is truncated: its header announces dims {dims} "
        f"({expected} bytes of data) but only {present} bytes follow; download it again."
    )


def _trailing(source: str, dims: tuple[int, ...], expected: int, extra: str) -> WilsonianError:
    return WilsonianError(
        f"IDX file {source!r} has {extra} unexpected bytes after the {expected} bytes "
        f"announced by its header (dims {dims}); the file is corrupt."
    )


def _native(array: np.ndarray) -> np.ndarray:
    """``array`` in native byte order, in place where it has to be swapped."""
    if array.dtype.isnative:
        return array
    return array.byteswap(inplace=True).view(array.dtype.newbyteorder("="))


def _read_exactly(fh: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``fh``; the number of bytes read (fewer at the end of the file)."""
    filled = 0
    while filled < len(view):
        n = fh.readinto(view[filled:filled + _CHUNK])
        if not n:
            break
        filled += n
    return filled


def read_idx_stream(fh: BinaryIO, source: str = "<stream>", size: int | None = None, *,
                    expect: str | None = None) -> tuple[int, np.ndarray]:
    """Read an IDX file from an open binary stream, reading no more than it announces.

    The 4-byte magic number and the dims are read first; then exactly the announced
    number of data bytes, plus one to detect trailing bytes. A gzip stream is therefore
    never decompressed beyond what its header declares.

    Parameters
    ----------
    fh : binary file object
        Positioned at the start of the (uncompressed) IDX content.
    source : str
        Name of the file, used in error messages.
    size : int, optional
        Total length of the content when known (a raw file): checked against the header
        before any data is read.
    expect : {"images", "labels"}, optional
        The kind of file wanted: another magic number is refused on the header, before its
        sizes are checked (a swapped file's sizes would be the wrong complaint).

    Returns
    -------
    magic : int
    array : numpy.ndarray, shape dims, native byte order

    Raises
    ------
    WilsonianError
        Bad magic number, truncated header or data, bytes after the data, or an
        announced size beyond :data:`IDX_MAX_BYTES`.
    """
    head = fh.read(4)
    if len(head) == 4:
        head += fh.read(4 * head[3])
    magic, dtype, dims = _parse_header(head, source)
    if expect is not None and magic != _MAGIC_BY_KIND[expect]:
        raise _wrong_kind(source, magic, expect)
    expected = _data_size(dims, dtype, source)
    if size is not None:
        present = size - len(head)
        if present < expected:
            raise _truncated(source, dims, expected, present)
        if present > expected:
            raise _trailing(source, dims, expected, str(present - expected))
    try:
        array = np.empty(dims, dtype=dtype)
    except MemoryError as exc:
        raise WilsonianError(
            f"not enough memory to read IDX file {source!r} (dims {dims}, {expected} bytes)."
        ) from exc
    present = _read_exactly(fh, memoryview(array.reshape(-1)).cast("B"))
    if present < expected:
        raise _truncated(source, dims, expected, present)
    if fh.read(1):
        raise _trailing(source, dims, expected, "1 or more")
    return magic, _native(array)


def _wrong_kind(source: str, magic: int, expect: str) -> WilsonianError:
    wanted = _MAGIC_BY_KIND[expect]
    found = _KIND_BY_MAGIC.get(magic)
    what = f"an IDX {found} file" if found else f"an IDX file with magic 0x{magic:08X}"
    return WilsonianError(f"file {source!r} is {what}, but an {expect} file (magic 0x{wanted:08X}) was expected; "
                          "the images and labels files seem swapped or misnamed.")


def _read_file(path: Path, expect: str | None = None) -> tuple[int, np.ndarray]:
    """Read ``path`` (gzip-compressed for ``.gz``), with errors that name it."""
    source = str(path)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                return read_idx_stream(fh, source, expect=expect)
        with open(path, "rb") as fh:
            return read_idx_stream(fh, source, size=os.fstat(fh.fileno()).st_size, expect=expect)
    except EOFError as exc:
        raise WilsonianError(
            f"compressed file {source!r} is truncated ({one_line(exc)}); download it again."
        ) from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise WilsonianError(
            f"file {source!r} is not a valid gzip file ({one_line(exc)}); download it again."
        ) from exc
    except OSError as exc:
        raise file_error("read", path, exc) from exc


def parse_idx(data: bytes, source: str = "<bytes>") -> tuple[int, np.ndarray]:
    """Parse the bytes of an IDX file.

    Parameters
    ----------
    data : bytes
        The uncompressed file content.
    source : str
        Name of the file, used in error messages.

    Returns
    -------
    magic : int
        The 32-bit magic number (``0x00000803`` for images, ``0x00000801`` for labels).
    array : numpy.ndarray, shape dims
        The data in native byte order (a copy that owns its memory).

    Raises
    ------
    WilsonianError
        Bad magic number, truncated header or data, bytes after the data, more than
        :data:`IDX_MAX_DIMS` dimensions or :data:`IDX_MAX_BYTES` bytes.
    """
    magic, dtype, dims = _parse_header(data[:4 + 4 * IDX_MAX_DIMS], source)
    header_len = 4 + 4 * len(dims)
    count = math.prod(dims)
    expected = _data_size(dims, dtype, source)
    present = len(data) - header_len
    if present < expected:
        raise _truncated(source, dims, expected, present)
    if present > expected:
        raise _trailing(source, dims, expected, str(present - expected))
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header_len)
    return magic, array.reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path, expect: str | None = None) -> np.ndarray:
    """Read an IDX file (raw or ``.gz``).

    Parameters
    ----------
    path : str or Path
        The file.
    expect : {"images", "labels"} or None
        If given, the file must be an images file (magic 0x00000803, uint8, n × rows ×
        cols) or a labels file (magic 0x00000801, uint8, n).

    Returns
    -------
    numpy.ndarray
        The stored array, shape given by the header.

    Raises
    ------
    WilsonianError
        Missing, truncated or corrupt file, or a file of the wrong kind (e.g. a labels
        file where an images file is expected: swapped or misnamed files).
    """
    path = Path(path)
    if path.is_dir():
        raise WilsonianError(f"{str(path)!r} is a folder, not an IDX file.")
    if not path.is_file():
        raise WilsonianError(f"IDX file {str(path)!r} does not exist.")
    _, array = _read_file(path, expect)
    return array


def find_idx_file(data_dir: Path, stem: str) -> Path:
    """The file ``stem`` in ``data_dir``, gzip-compressed (``stem.gz``, preferred) or raw.

    Also accepts the variant spelling with a dot (``train-images.idx3-ubyte``).
    """
    dotted = stem.replace("-idx", ".idx")
    candidates = [f"{stem}.gz", stem, f"{dotted}.gz", dotted]
    for name in candidates:
        path = data_dir / name
        if path.is_file():
            return path
    raise WilsonianError(
        f"missing file {stem}.gz (or {stem}) in {str(data_dir)!r}; check --data-dir or "
        "download the data set with `wilsonian data fetch`."
    )


#: Images per split of the published MNIST and Fashion-MNIST files (the same for both).
_PUBLISHED_SIZES = {"train": 60_000, "test": 10_000}


def _check_which_data_set(dataset: str, part: str, labels: np.ndarray, labels_path: Path) -> None:
    """Warn when a published-size labels file looks like the other of MNIST and Fashion-MNIST.

    The two share file names and formats, so a ``--data-dir`` of one read as the other gives
    results labelled with the wrong data set. Their labels tell them apart: Fashion-MNIST has
    exactly 6,000 (train) or 1,000 (test) images of each class, MNIST between 5,421 and 6,742
    (train) or 892 and 1,135 (test) of each digit. A warning, not an error: other data sets in
    this format (KMNIST, say) are balanced too and may be read under either name.
    """
    size = _PUBLISHED_SIZES[part]
    if labels.size != size:
        return
    balanced = bool(np.all(np.bincount(labels, minlength=10) == size // 10))
    if dataset == "mnist" and balanced:
        seems, because = "Fashion-MNIST", f"exactly {size // 10:,} images of each class, as Fashion-MNIST has"
    elif dataset == "fashion-mnist" and not balanced:
        seems, because = "MNIST", f"not {size // 10:,} images of each class, as Fashion-MNIST has"
    else:
        return
    warnings.warn(f"{str(labels_path)!r} has {because}: is --data-dir a folder of {seems}? "
                  f"The run reads it as {dataset} and labels its results so", stacklevel=3)


def load_idx_split(
    data_dir: str | Path | None,
    split: str = "train",
    *,
    dataset: str = "mnist",
    progress: bool = False,
) -> RawData:
    """Load one split of an MNIST-format data set (MNIST, Fashion-MNIST).

    Parameters
    ----------
    data_dir : str or Path
        Directory holding ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
        ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``.
    split : {"train", "test", "all"}
        ``"all"`` is train followed by test.
    dataset : {"mnist", "fashion-mnist"}
        Only sets the class names and the wording of errors.
    progress : bool
        Show a progress bar over the files on stderr.

    Returns
    -------
    RawData
        ``images`` uint8 (n, rows, cols), ``labels`` int64 (n,) in 0..9, ``scale`` 255.
    """
    split = check_split(split)
    directory = require_dir(data_dir, dataset)
    names = CLASS_NAMES[dataset]
    parts = ["train", "test"] if split == "all" else [split]
    images_parts, labels_parts, files = [], [], []
    for part in progress_iter(parts, f"reading {dataset}", progress):
        prefix = IDX_SPLIT_PREFIX[part]
        images_path = find_idx_file(directory, f"{prefix}-images-idx3-ubyte")
        labels_path = find_idx_file(directory, f"{prefix}-labels-idx1-ubyte")
        images = read_idx(images_path, expect="images")
        labels = read_idx(labels_path, expect="labels")
        if images.shape[0] != labels.shape[0]:
            raise WilsonianError(
                f"images file {str(images_path)!r} holds {images.shape[0]} images but labels "
                f"file {str(labels_path)!r} holds {labels.shape[0]} labels; the two files do "
                "not belong together."
            )
        if labels.size and int(labels.max()) >= len(names):
            raise WilsonianError(
                f"labels file {str(labels_path)!r} contains label {int(labels.max())}, outside "
                f"0..{len(names) - 1} for {dataset}; the file is corrupt or of another data set."
            )
        if images_parts and images.shape[1:] != images_parts[0].shape[1:]:
            raise WilsonianError(
                f"images in {str(images_path)!r} are {images.shape[1:]} but earlier ones are "
                f"{images_parts[0].shape[1:]}; the train and test files do not belong together."
            )
        _check_which_data_set(dataset, part, labels, labels_path)
        images_parts.append(images)
        labels_parts.append(labels.astype(np.int64))
        files += [str(images_path), str(labels_path)]
    return RawData(
        images=np.concatenate(images_parts) if len(parts) > 1 else images_parts[0],
        labels=np.concatenate(labels_parts) if len(parts) > 1 else labels_parts[0],
        class_names=names,
        scale=255.0,
        files=tuple(files),
    )
