"""Property-based tests of the data parsers: on any input, a valid result or a WilsonianError.

Skipped when Hypothesis is not installed (it is in the ``test`` extra).
"""

from __future__ import annotations

import gzip
import io
import math
import shutil
import struct
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from wilsonian.data import load_npz, parse_idx, safe_unpickle  # noqa: E402
from wilsonian.data.archive import CIFAR10_MEMBER_MAX, unpack_into  # noqa: E402
from wilsonian.data.fetch import check_mirror, check_timeout  # noqa: E402
from wilsonian.data.idx import IDX_DTYPES, read_idx_stream  # noqa: E402
from wilsonian.errors import WilsonianError  # noqa: E402

PROPERTY = settings(max_examples=250, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def outcome(function, *args):
    """("ok", result) or ("error", None) for a WilsonianError; anything else propagates."""
    try:
        return "ok", function(*args)
    except WilsonianError as exc:
        assert str(exc) and "\n" not in str(exc)
        return "error", None


# --------------------------------------------------------------------------- IDX


@st.composite
def idx_like(draw):
    """Bytes that are often a valid IDX file, else near one (wrong length, type, ndim)."""
    type_code = draw(st.sampled_from([*IDX_DTYPES, 0x00, 0x07, 0x0F, 0xFF]))
    dims = draw(st.lists(st.integers(0, 5) | st.sampled_from([0xFFFFFFFF, 1 << 31]),
                         min_size=0, max_size=6))
    prefix = draw(st.sampled_from([b"\x00\x00", b"\x00\x01"]))
    header = prefix + bytes([type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    itemsize = IDX_DTYPES[type_code].itemsize if type_code in IDX_DTYPES else 1
    expected = math.prod(dims) * itemsize
    length = draw(st.sampled_from([expected, expected - 1, expected + 1, 0])
                  if expected < 4096 else st.integers(0, 64))
    data = draw(st.binary(min_size=max(length, 0), max_size=max(length, 0)))
    cut = draw(st.none() | st.integers(0, len(header) + len(data)))
    content = header + data
    return content if cut is None else content[:cut]


def check_idx_result(data: bytes, magic: int, array: np.ndarray) -> None:
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    assert magic == struct.unpack(">I", data[:4])[0]
    assert array.shape == dims and array.dtype.isnative and array.flags.owndata
    assert array.dtype == IDX_DTYPES[data[2]].newbyteorder("=")
    expected = np.frombuffer(data, dtype=IDX_DTYPES[data[2]], offset=4 + 4 * ndim)
    np.testing.assert_array_equal(array.reshape(-1), expected)


@PROPERTY
@given(st.binary(max_size=600) | idx_like())
def test_parse_idx_returns_a_valid_array_or_refuses(data):
    kind, result = outcome(parse_idx, data)
    if kind == "ok":
        check_idx_result(data, *result)


@PROPERTY
@given(idx_like())
def test_stream_reader_agrees_with_parse_idx(data):
    """The header-first reader (raw with a known size, raw without, gzip) decides as
    parse_idx does and returns the same array."""
    kind, result = outcome(parse_idx, data)
    readers = [
        lambda: read_idx_stream(io.BytesIO(data), "raw", len(data)),
        lambda: read_idx_stream(io.BytesIO(data), "stream"),
        lambda: read_idx_stream(gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(data))), "gz"),
    ]
    for reader in readers:
        other_kind, other = outcome(reader)
        assert other_kind == kind
        if kind == "ok":
            assert other[0] == result[0]
            np.testing.assert_array_equal(other[1], result[1])


# --------------------------------------------------------------------------- pickles

# Opcode snippets, allowed and refused globals among them, from which pickles are drawn.
_PICKLE_PIECES = [
    b"(", b"t", b")", b"]", b"}", b"e", b"a", b"s", b"u", b"R", b"b", b"0", b"2", b"N",
    b"\x85", b"\x86", b"\x87", b"\x88", b"\x89", b"q\x00", b"h\x00", b"q\x01", b"h\x01",
    b"K\x00", b"K\x07", b"M\x00\x0c", b"J\xff\xff\xff\x7f", b"J\x00\x00\x00\x80",
    b"U\x02u1", b"U\x01b", b"U\x04data", b"U\x06labels", b"X\x02\x00\x00\x00u1",
    b"X\x06\x00\x00\x00latin1", b"X\x05\x00\x00\x00rot13", b"C\x03abc",
    b"cnumpy\nndarray\n", b"cnumpy\ndtype\n", b"cnumpy.core.multiarray\n_reconstruct\n",
    b"cnumpy._core.numeric\n_frombuffer\n", b"c_codecs\nencode\n", b"cos\nsystem\n",
    b"cbuiltins\neval\n", b"cbuiltins\ngetattr\n",
]


@st.composite
def pickle_like(draw):
    body = b"".join(draw(st.lists(st.sampled_from(_PICKLE_PIECES), max_size=30)))
    return draw(st.sampled_from([b"\x80\x02", b"\x80\x04", b""])) + body + b"."


@PROPERTY
@given(st.binary(max_size=400) | pickle_like())
def test_safe_unpickle_loads_or_refuses(data):
    folder = Path(tempfile.mkdtemp())
    try:
        path = folder / "data_batch_1"
        path.write_bytes(data)
        outcome(safe_unpickle, path)
        assert sorted(p.name for p in folder.iterdir()) == ["data_batch_1"]
    finally:
        shutil.rmtree(folder)


# --------------------------------------------------------------------------- npz


def _valid_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, X=np.arange(12.0).reshape(4, 3), y=np.array([0, 1, 0, 1]))
    return buffer.getvalue()


def _valid_npz_compressed() -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, X=np.arange(12.0).reshape(4, 3), y=np.array(["a", "b"] * 2))
    return buffer.getvalue()


@st.composite
def npz_like(draw):
    """A valid .npz with a few bytes changed, cut short, or both."""
    data = bytearray(draw(st.sampled_from([_valid_npz(), _valid_npz_compressed()])))
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.none() | st.integers(0, len(data)))
    return bytes(data if cut is None else data[:cut])


@PROPERTY
@given(st.binary(max_size=300) | st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b)
       | npz_like())
def test_load_npz_loads_or_refuses(data):
    folder = Path(tempfile.mkdtemp())
    try:
        path = folder / "data.npz"
        path.write_bytes(data)
        kind, raw = outcome(load_npz, path)
        if kind == "ok":
            assert raw.images.ndim >= 2 and raw.images.shape[0] == raw.labels.shape[0] > 0
            assert raw.images.dtype.kind in "biuf" and raw.labels.ndim == 1
            if raw.images.dtype.kind == "f":
                assert np.all(np.isfinite(raw.images))
    finally:
        shutil.rmtree(folder)


# --------------------------------------------------------------------------- archives

_NAME_PARTS = ["cifar-10-batches-py", "data_batch_1", "test_batch", "batches.meta", "readme.html",
               "..", ".", "", "x", "/", "/tmp", "C:", "a\\b"]
_TYPES = [tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
          tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE, tarfile.CONTTYPE]


@st.composite
def tar_like(draw):
    members = []
    for _ in range(draw(st.integers(0, 8))):
        info = tarfile.TarInfo("/".join(draw(st.lists(st.sampled_from(_NAME_PARTS), min_size=1,
                                                      max_size=4))) or "x")
        info.type = draw(st.sampled_from(_TYPES))
        info.linkname = draw(st.sampled_from(["", "/etc/passwd", "../..", "data_batch_1"]))
        data = draw(st.binary(max_size=64)) if info.isreg() else b""
        info.size = len(data)
        members.append((info, data))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


@PROPERTY
@given(tar_like())
def test_unpacking_writes_only_known_files_inside_the_staging_folder(data):
    root = Path(tempfile.mkdtemp())
    try:
        archive, staging = root / "archive.tar", root / "staging"
        archive.write_bytes(data)
        staging.mkdir()
        kind, written = outcome(unpack_into, archive, staging, "cifar-10-batches-py")
        assert sorted(p.name for p in root.iterdir()) == ["archive.tar", "staging"]
        for path in staging.rglob("*"):
            assert path.parent == staging and path.name in CIFAR10_MEMBER_MAX
            assert path.is_file() and not path.is_symlink()
        if kind == "ok":
            assert sorted(written) == sorted(p.name for p in staging.iterdir())
    finally:
        shutil.rmtree(root)


# --------------------------------------------------------------------------- fetch options


@st.composite
def url_like(draw):
    scheme = draw(st.sampled_from(["http", "https", "file", "ftp", "HTTP", "", "h"]))
    host = draw(st.sampled_from(["example.org", "127.0.0.1", "[::1]", "[::1", "", "localhost",
                                 "user@host", "h:80", "h:99999", "h:x", "bücher.de"])
                | st.text(max_size=12))
    path = draw(st.sampled_from(["", "/", "/mnist/", "/a b", "?q", "#f", "/%20"])
                | st.text(max_size=12))
    return f"{scheme}://{host}{path}"


@PROPERTY
@given(st.text(max_size=40) | url_like())
def test_check_mirror_accepts_or_refuses(mirror):
    kind, base = outcome(check_mirror, mirror)
    if kind == "ok":
        assert base.endswith("/") and base.split("://")[0].lower() in ("http", "https", "file")


@PROPERTY
@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10, 10**6) | st.booleans()
       | st.text(max_size=5) | st.none())
def test_check_timeout_accepts_or_refuses(timeout):
    kind, value = outcome(check_timeout, timeout)
    if kind == "ok":
        assert math.isfinite(value) and 0 < value <= 3600
