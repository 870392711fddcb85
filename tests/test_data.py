"""Tests of wilsonian.data: loaders on files written here in the real formats, pools, errors."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from wilsonian.data import (
    CIFAR10_NAMES,
    DATASETS,
    FASHION_MNIST_NAMES,
    build_pool,
    load_cifar10_split,
    load_idx_split,
    parse_idx,
    preprocess,
    read_cifar10_batch,
    read_idx,
    resolve_classes,
    safe_unpickle,
)
from wilsonian.errors import WilsonianError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


# --------------------------------------------------------------------------- file writers
# Written from the format specifications, independently of the loaders.


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: 0, 0, type 0x08, ndim, big-endian uint32 dims, data."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + array.tobytes(order="C")


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    data = idx_bytes(array)
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def make_idx_dir(directory: Path, n_train=60, n_test=30, shape=(6, 5), compress=True, seed=1):
    """MNIST-format files with random images and labels cycling through 0..9."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(1, 256, size=(n, *shape), dtype=np.uint8)  # no all-zero rows
        labels = ((np.arange(n) * 7 + (prefix == "t10k")) % 10).astype(np.uint8)
        write_idx(directory / f"{prefix}-images-idx3-ubyte", images, compress)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte", labels, compress)
        out[prefix] = (images, labels)
    return out


def _py2_string(b: bytes) -> bytes:
    # SHORT_BINSTRING / BINSTRING: how Python 2's cPickle stores a str at protocol 2.
    if len(b) < 256:
        return b"U" + bytes([len(b)]) + b
    return b"T" + struct.pack("<i", len(b)) + b


def _py2_int(v: int) -> bytes:
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if 0 <= v < 65536:
        return b"M" + struct.pack("<H", v)
    return b"J" + struct.pack("<i", v)


def _py2_uint8_array(a: np.ndarray) -> bytes:
    """A 2-D uint8 ndarray as Python 2 + NumPy 1 pickled it (numpy.core.multiarray names)."""
    out = b"cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02"
    # _reconstruct(ndarray, (0,), 'b'), then BUILD with the state (1, shape, dtype, False, data)
    out += _py2_int(0) + b"\x85" + _py2_string(b"b") + b"\x87R"
    out += b"(" + _py2_int(1)
    out += _py2_int(a.shape[0]) + _py2_int(a.shape[1]) + b"\x86"
    out += b"cnumpy\ndtype\n" + _py2_string(b"u1") + _py2_int(0) + _py2_int(1) + b"\x87R"
    out += b"(" + _py2_int(3) + _py2_string(b"|") + b"NNN" + b"J\xff\xff\xff\xffJ\xff\xff\xff\xff"
    out += _py2_int(0) + b"tb"                                             # dtype.__setstate__
    out += b"\x89" + _py2_string(np.ascontiguousarray(a).tobytes()) + b"tb"
    return out


def _py2_list(items: list[bytes]) -> bytes:
    return b"]" + (b"(" + b"".join(items) + b"e" if items else b"")


def cifar_batch_pickle(data: np.ndarray, labels: list[int], batch_label: bytes) -> bytes:
    """A CIFAR-10 batch pickle with the real layout: Python 2 protocol 2, byte-string keys."""
    filenames = [f"img_{i}.png".encode() for i in range(len(labels))]
    body = b"\x80\x02}q\x00("
    body += _py2_string(b"data") + _py2_uint8_array(data)
    body += _py2_string(b"labels") + _py2_list([_py2_int(v) for v in labels])
    body += _py2_string(b"batch_label") + _py2_string(batch_label)
    body += _py2_string(b"filenames") + _py2_list([_py2_string(f) for f in filenames])
    return body + b"u."


def cifar_meta_pickle(names=CIFAR10_NAMES) -> bytes:
    body = b"\x80\x02}q\x00("
    body += _py2_string(b"num_cases_per_batch") + _py2_int(10000)
    body += _py2_string(b"label_names") + _py2_list([_py2_string(n.encode()) for n in names])
    body += _py2_string(b"num_vis") + _py2_int(3072)
    return body + b"u."


def make_cifar_dir(root: Path, per_batch=12, n_test=8, seed=2, nested=True):
    rng = np.random.default_rng(seed)
    directory = root / "cifar-10-batches-py" if nested else root
    directory.mkdir(parents=True, exist_ok=True)
    batches = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(names):
        n = n_test if name == "test_batch" else per_batch
        data = rng.integers(1, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in (np.arange(n) + k) % 10]
        (directory / name).write_bytes(cifar_batch_pickle(data, labels, f"batch {k}".encode()))
        batches[name] = (data, np.array(labels))
    (directory / "batches.meta").write_bytes(cifar_meta_pickle())
    return batches


# --------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip(tmp_path, compress):
    written = make_idx_dir(tmp_path, compress=compress)
    suffix = ".gz" if compress else ""
    images = read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", expect="images")
    labels = read_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", expect="labels")
    np.testing.assert_array_equal(images, written["train"][0])
    np.testing.assert_array_equal(labels, written["train"][1])
    assert images.dtype == np.uint8 and images.shape == (60, 6, 5)


def test_idx_splits_concatenate_train_then_test(tmp_path):
    written = make_idx_dir(tmp_path)
    raw_all = load_idx_split(tmp_path, "all", dataset="mnist")
    np.testing.assert_array_equal(
        raw_all.images, np.concatenate([written["train"][0], written["t10k"][0]])
    )
    np.testing.assert_array_equal(
        raw_all.labels, np.concatenate([written["train"][1], written["t10k"][1]])
    )
    raw_test = load_idx_split(tmp_path, "test", dataset="mnist")
    np.testing.assert_array_equal(raw_test.images, written["t10k"][0])
    assert raw_test.scale == 255.0 and len(raw_test.files) == 2


def test_idx_parse_other_element_types():
    # int16, 2-D: type code 0x0B, big-endian values.
    values = np.array([[1, -2, 300], [-32768, 32767, 0]], dtype=">i2")
    data = struct.pack(">BBBB", 0, 0, 0x0B, 2) + struct.pack(">II", 2, 3) + values.tobytes()
    magic, array = parse_idx(data)
    assert magic == 0x0B02
    np.testing.assert_array_equal(array, values.astype(np.int16))


def test_mnist_pool_values_exact(tmp_path):
    written = make_idx_dir(tmp_path)
    images, labels = written["train"]
    pool = build_pool("mnist", data_dir=tmp_path, classes=(3, 7), preprocessing="none")
    rows = np.flatnonzero((labels == 3) | (labels == 7))
    np.testing.assert_array_equal(pool.X, images[rows].reshape(len(rows), -1) / 255.0)
    np.testing.assert_array_equal(pool.y, np.where(labels[rows] == 3, 1.0, -1.0))
    assert pool.X.dtype == np.float64 and pool.y.dtype == np.float64
    assert pool.dim == 30 and pool.n == len(rows)
    assert pool.meta["classes"] == [3, 7] and pool.meta["class_names"] == ["3", "7"]
    assert pool.meta["scale_divisor"] == 255.0
    assert pool.meta["files"] == [
        str((tmp_path / "train-images-idx3-ubyte.gz").resolve()),
        str((tmp_path / "train-labels-idx1-ubyte.gz").resolve()),
    ]


def test_truncated_idx_gz(tmp_path):
    make_idx_dir(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(WilsonianError, match="train-images-idx3-ubyte.gz"):
        build_pool("mnist", data_dir=tmp_path)


def test_truncated_idx_raw(tmp_path):
    make_idx_dir(tmp_path, compress=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(WilsonianError, match=r"t10k-images-idx3-ubyte.*truncated"):
        load_idx_split(tmp_path, "test")


def test_idx_trailing_bytes(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(idx_bytes(np.arange(5)) + b"\x00")
    with pytest.raises(WilsonianError, match="unexpected bytes"):
        read_idx(path)


def test_not_an_idx_file(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"PK\x03\x04 not idx at all")
    with pytest.raises(WilsonianError, match="not an IDX file"):
        read_idx(path)


def test_images_and_labels_swapped(tmp_path):
    make_idx_dir(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    images_bytes, labels_bytes = images.read_bytes(), labels.read_bytes()
    images.write_bytes(labels_bytes)
    labels.write_bytes(images_bytes)
    with pytest.raises(WilsonianError, match=r"labels file.*images file.*swapped"):
        build_pool("mnist", data_dir=tmp_path)


@pytest.mark.parametrize("compress", [True, False])
def test_an_images_file_with_the_labels_magic_is_called_the_wrong_kind(tmp_path, compress):
    """Its header announces a 1-D labels array, so its image bytes would be 'unexpected bytes
    after the data': the kind is checked on the header first."""
    make_idx_dir(tmp_path, compress=compress)
    name = "train-images-idx3-ubyte" + (".gz" if compress else "")
    data = idx_bytes(np.zeros((60, 6, 5), dtype=np.uint8))
    data = struct.pack(">BBBBI", 0, 0, 0x08, 1, 60) + data[16:]     # labels magic, 60 entries, then the pixels
    (tmp_path / name).write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(WilsonianError, match=r"is an IDX labels file, but an images file .* swapped or misnamed"):
        build_pool("mnist", data_dir=tmp_path)


def test_images_labels_count_mismatch(tmp_path):
    make_idx_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(59, dtype=np.uint8))
    with pytest.raises(WilsonianError, match="60 images but .* 59 labels"):
        build_pool("mnist", data_dir=tmp_path)


def test_idx_label_out_of_range(tmp_path):
    make_idx_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.full(60, 12, dtype=np.uint8))
    with pytest.raises(WilsonianError, match="label 12"):
        build_pool("mnist", data_dir=tmp_path)


def test_missing_data_dir(tmp_path):
    with pytest.raises(WilsonianError, match="does not exist"):
        build_pool("mnist", data_dir=tmp_path / "nowhere")
    with pytest.raises(WilsonianError, match="no data directory"):
        build_pool("mnist")
    with pytest.raises(WilsonianError, match="no data directory"):
        build_pool("cifar10")


def test_missing_idx_file(tmp_path):
    make_idx_dir(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(WilsonianError, match="missing file t10k-labels-idx1-ubyte"):
        build_pool("mnist", data_dir=tmp_path, split="test")


def test_fashion_class_names_case_insensitive(tmp_path):
    make_idx_dir(tmp_path)
    pool = build_pool("fashion-mnist", data_dir=tmp_path, classes="t-shirt/TOP, Ankle_Boot")
    assert pool.meta["classes"] == [0, 9]
    assert pool.meta["class_names"] == [FASHION_MNIST_NAMES[0], FASHION_MNIST_NAMES[9]]
    same = build_pool("fashion-mnist", data_dir=tmp_path, classes=("0", 9))
    np.testing.assert_array_equal(pool.X, same.X)
    np.testing.assert_array_equal(pool.y, same.y)


# --------------------------------------------------------------------------- classes


def test_default_classes():
    assert resolve_classes("digits", None) == ((8, 9), ("8", "9"))
    assert resolve_classes("mnist", None) == ((8, 9), ("8", "9"))
    assert resolve_classes("fashion-mnist", None) == ((0, 9), ("T-shirt/top", "Ankle boot"))
    assert resolve_classes("cifar10", None) == ((8, 9), ("ship", "truck"))
    assert resolve_classes("cifar10", "AIRPLANE,bird") == ((0, 2), ("airplane", "bird"))


@pytest.mark.parametrize(
    "classes, match",
    [
        ("8,8", "same"),
        (("ship", 8), "same"),
        (("1,2,3", "binary"), "exactly two"),  # three classes are one-hot targets, not binary
        ((1,), "two or more"),
        ("1,", "two or more"),
        ("dragon,ship", "unknown class 'dragon'"),
        ((0, 10), "unknown class 10"),
        ((True, 1), "unknown class"),
        (3.5, "two or more"),
    ],
)
def test_bad_classes(classes, match):
    targets = None
    if isinstance(classes, tuple) and classes[-1] == "binary":
        classes, targets = classes[0], "binary"
    with pytest.raises(WilsonianError, match=match):
        resolve_classes("cifar10", classes, targets=targets)


def test_several_classes_and_all():
    assert resolve_classes("cifar10", "1,2,3") == ((1, 2, 3), ("automobile", "bird", "cat"))
    values, names = resolve_classes("digits", "all")
    assert values == tuple(range(10)) and names == tuple(str(i) for i in range(10))


def test_unknown_class_in_pool():
    with pytest.raises(WilsonianError, match="unknown class 'ship' for digits"):
        build_pool("digits", classes="ship,8")


# --------------------------------------------------------------------------- CIFAR-10


def test_python2_pickle_writer_is_what_pickle_reads():
    # Sanity of the test's own writer: the standard unpickler reads it as the real files read.
    data = np.arange(2 * 3072, dtype=np.uint64).astype(np.uint8).reshape(2, 3072)
    batch = pickle.loads(cifar_batch_pickle(data, [3, 300], b"x"), encoding="bytes")
    assert set(batch) == {b"data", b"labels", b"batch_label", b"filenames"}
    np.testing.assert_array_equal(batch[b"data"], data)
    assert batch[b"labels"] == [3, 300] and batch[b"batch_label"] == b"x"


@pytest.mark.parametrize("nested", [True, False])
def test_cifar_round_trip(tmp_path, nested):
    batches = make_cifar_dir(tmp_path, nested=nested)
    raw = load_cifar10_split(tmp_path if nested else tmp_path, "train")
    expected = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    assert raw.images.shape == (60, 3, 32, 32) and raw.images.dtype == np.uint8
    np.testing.assert_array_equal(raw.images.reshape(60, -1), expected)
    # channel-major layout: the first 1024 values of a row are the red plane, row by row
    np.testing.assert_array_equal(raw.images[0, 0, 1, :], expected[0, 32:64])
    np.testing.assert_array_equal(raw.images[0, 2, 0, :], expected[0, 2048:2080])
    assert raw.class_names == CIFAR10_NAMES
    test = load_cifar10_split(tmp_path, "test")
    np.testing.assert_array_equal(test.images.reshape(8, -1), batches["test_batch"][0])
    np.testing.assert_array_equal(test.labels, batches["test_batch"][1])


def test_cifar_pool_by_names(tmp_path):
    batches = make_cifar_dir(tmp_path)
    pool = build_pool("cifar10", data_dir=tmp_path, classes="Ship,TRUCK", split="test",
                      preprocessing="none")
    data, labels = batches["test_batch"]
    rows = np.flatnonzero((labels == 8) | (labels == 9))
    np.testing.assert_array_equal(pool.X, data[rows] / 255.0)
    np.testing.assert_array_equal(pool.y, np.where(labels[rows] == 8, 1.0, -1.0))
    assert pool.dim == 3072 and pool.meta["class_names"] == ["ship", "truck"]
    assert pool.meta["files"][-1].endswith("batches.meta")


def test_cifar_python3_pickle_also_read(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, size=(4, 3072), dtype=np.uint8)
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": data, b"labels": [1, 2, 3, 4]}, protocol=4))
    images, labels = read_cifar10_batch(path)
    np.testing.assert_array_equal(images.reshape(4, -1), data)
    np.testing.assert_array_equal(labels, [1, 2, 3, 4])


class _Evil:
    def __reduce__(self):
        return (print, ("unpickling ran code",))


def test_safe_unpickle_refuses_arbitrary_globals(tmp_path, capsys):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}, protocol=2))
    with pytest.raises(WilsonianError, match=r"\.print is not allowed"):
        safe_unpickle(path)
    assert "unpickling ran code" not in capsys.readouterr().out


def test_cifar_truncated_batch(tmp_path):
    make_cifar_dir(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(WilsonianError, match="data_batch_3"):
        build_pool("cifar10", data_dir=tmp_path)


def test_cifar_missing_batch_dir(tmp_path):
    with pytest.raises(WilsonianError, match="no CIFAR-10 batches"):
        build_pool("cifar10", data_dir=tmp_path)


# --------------------------------------------------------------------------- digits


def test_digits_pool_matches_sklearn():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pool = build_pool("digits", classes=(0, 1), preprocessing="none")
    rows = np.flatnonzero(bunch.target <= 1)
    np.testing.assert_array_equal(pool.X * 16.0, bunch.data[rows])
    np.testing.assert_array_equal(pool.y, np.where(bunch.target[rows] == 0, 1.0, -1.0))
    assert pool.X.max() <= 1.0 and pool.meta["scale_divisor"] == 16.0
    assert "no train/test split" in pool.meta["notes"][0]
    default = build_pool("digits")
    assert default.meta["classes"] == [8, 9]
    assert default.n == np.count_nonzero(bunch.target >= 8)


def test_digits_are_read_from_sklearns_file_without_importing_it(monkeypatch, tmp_path):
    import importlib.machinery
    import subprocess
    import sys

    from sklearn.datasets import load_digits

    from wilsonian.data import sources

    bunch = load_digits()
    images, labels = sources._read_digits()
    assert images.dtype == np.float64 and labels.dtype == np.int64 and images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images, bunch.images)
    np.testing.assert_array_equal(labels, bunch.target)
    code = ("import sys\nfrom wilsonian.data import build_pool\npool = build_pool('digits')\n"
            "assert pool.n == 354 and 'sklearn' not in sys.modules, sorted(sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True)

    # A package whose file is missing, or not the digits table, falls back to load_digits.
    (tmp_path / "datasets" / "data").mkdir(parents=True)
    (tmp_path / "datasets" / "data" / "digits.csv.gz").write_bytes(b"not gzip")
    fake = importlib.machinery.ModuleSpec("sklearn", None, is_package=True)
    fake.submodule_search_locations = [str(tmp_path / "nowhere"), str(tmp_path)]
    monkeypatch.setattr(sources.importlib.util, "find_spec", lambda name: fake)
    images, labels = sources._read_digits()
    np.testing.assert_array_equal(images, bunch.images)
    np.testing.assert_array_equal(labels, bunch.target)
    # Tables that are not the digits' (a pixel out of 0..16, NaN, a label of 10, empty) are refused.
    import gzip

    good = "\n".join(",".join(str(v) for v in [*row, label])
                     for row, label in zip(bunch.data.astype(int), bunch.target))
    target = tmp_path / "datasets" / "data" / "digits.csv.gz"
    target.write_bytes(gzip.compress(good.encode()))
    np.testing.assert_array_equal(sources._digits_table(target)[:, :-1], bunch.data)
    for text in (good.replace("0", "17", 1), good.replace("0", "nan", 1), good[: good.rindex(",")] + ",10", ""):
        target.write_bytes(gzip.compress(text.encode()))
        assert sources._digits_table(target) is None, text[:20]
    monkeypatch.setattr("sklearn.datasets.load_digits", lambda: [][0])  # a damaged installation
    with pytest.raises(WilsonianError, match="reinstall scikit-learn"):
        sources._read_digits()
    monkeypatch.setattr(sources.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(WilsonianError, match="pip install scikit-learn"):
        sources.load_digits_split()


def test_digits_has_no_test_split():
    with pytest.raises(WilsonianError, match="no test split"):
        build_pool("digits", split="test")
    np.testing.assert_array_equal(build_pool("digits", split="all").X, build_pool("digits").X)


# --------------------------------------------------------------------------- preprocessing


def test_unit_norm_rows_and_direction():
    pool = build_pool("digits")
    raw = build_pool("digits", preprocessing="none")
    np.testing.assert_allclose(np.linalg.norm(pool.X, axis=1), 1.0, rtol=0, atol=1e-12)
    # same direction as the scaled pixels
    norms = np.linalg.norm(raw.X, axis=1, keepdims=True)
    np.testing.assert_allclose(pool.X * norms, raw.X, rtol=0, atol=1e-12)


def test_standardize_zero_mean_unit_variance_constant_features_zero():
    pool = build_pool("digits", preprocessing="standardize")
    raw = build_pool("digits", preprocessing="none").X
    constant = np.ptp(raw, axis=0) == 0
    assert constant.any()  # the digits' border pixels of classes 8/9 are always 0
    np.testing.assert_allclose(pool.X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(pool.X[:, ~constant].var(axis=0), 1.0, rtol=1e-12)
    assert np.all(pool.X[:, constant] == 0.0)


def test_preprocess_rejects_zero_rows_and_nonfinite():
    X = np.array([[1.0, 2.0], [0.0, 0.0]])
    with pytest.raises(WilsonianError, match="all zero"):
        preprocess(X, "unit-norm")
    np.testing.assert_array_equal(preprocess(X, "none"), X)
    with pytest.raises(WilsonianError, match="NaN or infinite"):
        preprocess(np.array([[1.0, np.inf]]), "none")
    with pytest.raises(WilsonianError, match="unknown preprocessing"):
        preprocess(X, "whiten")


# --------------------------------------------------------------------------- subsampling


def test_seed_reproducibility_and_subsets():
    a = build_pool("digits", n_pool=100, seed=5)
    b = build_pool("digits", n_pool=100, seed=5)
    c = build_pool("digits", n_pool=100, seed=6)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    full = build_pool("digits")
    # rows are distinct pool rows (no replacement), kept in file order
    index = {row.tobytes(): i for i, row in enumerate(full.X)}
    positions = [index[row.tobytes()] for row in a.X]
    assert len(set(positions)) == 100 and positions == sorted(positions)
    np.testing.assert_array_equal(a.y, full.y[positions])
    # for a fixed seed a smaller pool is a subset of a larger one
    small = build_pool("digits", n_pool=40, seed=5)
    assert {row.tobytes() for row in small.X} <= {row.tobytes() for row in a.X}


def test_n_pool_errors():
    with pytest.raises(WilsonianError, match="only 354 points"):
        build_pool("digits", n_pool=355)
    assert build_pool("digits", n_pool=354).n == 354
    for bad in (1, 0, -3, 2.5, True):
        with pytest.raises(WilsonianError, match="n_pool"):
            build_pool("digits", n_pool=bad)


# --------------------------------------------------------------------------- npz


def test_npz_string_labels_and_uint8_scaling(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.integers(1, 256, size=(20, 2, 3), dtype=np.uint8)
    y = np.array(["cat", "dog", "eel", "dog"] * 5)
    path = tmp_path / "mine.npz"
    np.savez(path, X=X, y=y)
    pool = build_pool("npz", data_file=path, classes="Dog,cat", preprocessing="none")
    rows = np.flatnonzero((y == "dog") | (y == "cat"))
    np.testing.assert_array_equal(pool.X, X[rows].reshape(len(rows), -1) / 255.0)
    np.testing.assert_array_equal(pool.y, np.where(y[rows] == "dog", 1.0, -1.0))
    assert pool.meta["classes"] == ["dog", "cat"]
    with pytest.raises(WilsonianError, match="unknown class 'fox'"):
        build_pool("npz", data_file=path, classes="fox,cat")
    with pytest.raises(WilsonianError, match="3 distinct values"):
        build_pool("npz", data_file=path)


def test_npz_plus_minus_one_labels_kept(tmp_path):
    X = np.random.default_rng(4).standard_normal((10, 3))
    y = np.array([1, -1] * 5)
    path = tmp_path / "pm.npz"
    np.savez(path, X=X, y=y)
    pool = build_pool("npz", data_file=path, preprocessing="none")
    np.testing.assert_array_equal(pool.X, X)
    np.testing.assert_array_equal(pool.y, y.astype(float))
    assert pool.meta["scale_divisor"] == 1.0 and pool.meta["classes"] == [1, -1]
    flipped = build_pool("npz", data_file=path, classes="-1,1", preprocessing="none")
    np.testing.assert_array_equal(flipped.y, -y.astype(float))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_npz_nonfinite(tmp_path, bad):
    X = np.ones((4, 3))
    X[2, 1] = bad
    path = tmp_path / "bad.npz"
    np.savez(path, X=X, y=np.array([0, 1, 0, 1]))
    with pytest.raises(WilsonianError, match="NaN or infinite"):
        build_pool("npz", data_file=path, classes="0,1")


def test_npz_length_mismatch_and_missing_arrays(tmp_path):
    path = tmp_path / "short.npz"
    np.savez(path, X=np.ones((4, 3)), y=np.array([0, 1, 0]))
    with pytest.raises(WilsonianError, match=r"different lengths \(4 vs 3\)"):
        build_pool("npz", data_file=path, classes="0,1")
    other = tmp_path / "other.npz"
    np.savez(other, inputs=np.ones((4, 3)))
    with pytest.raises(WilsonianError, match="lacks array"):
        build_pool("npz", data_file=other)
    with pytest.raises(WilsonianError, match="does not exist"):
        build_pool("npz", data_file=tmp_path / "absent.npz")
    with pytest.raises(WilsonianError, match="--data-file"):
        build_pool("npz")


def test_npz_object_arrays_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, X=np.ones((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(WilsonianError, match="without pickle"):
        build_pool("npz", data_file=path)


# --------------------------------------------------------------------------- gaussian


def test_gaussian_sign_teacher():
    pool = build_pool("gaussian", n_pool=1000, dim=7, seed=11)
    assert pool.X.shape == (1000, 7) and set(np.unique(pool.y)) == {-1.0, 1.0}
    np.testing.assert_allclose(np.linalg.norm(pool.X, axis=1), 1.0, atol=1e-12)
    w = np.array(pool.meta["teacher"]["w"])
    assert np.all(pool.y * (pool.X @ w) >= 0)  # linearly separable by the recorded teacher
    # P(y = +1) = 1/2 by symmetry: within 4 standard errors (sd of the count = sqrt(n)/2)
    assert abs(pool.meta["n_positive"] - 500) < 4 * np.sqrt(1000) / 2
    again = build_pool("gaussian", n_pool=1000, dim=7, seed=11)
    np.testing.assert_array_equal(pool.X, again.X)
    np.testing.assert_array_equal(pool.y, again.y)


def test_gaussian_inputs_are_standard_normal():
    pool = build_pool("gaussian", n_pool=4000, dim=5, preprocessing="none", seed=2)
    n = pool.n
    # mean 0 (se 1/sqrt(n)) and covariance I (se of a variance ~ sqrt(2/n)) within 5 se
    assert np.all(np.abs(pool.X.mean(axis=0)) < 5 / np.sqrt(n))
    np.testing.assert_allclose(np.cov(pool.X.T), np.eye(5), atol=5 * np.sqrt(2 / n))


def test_gaussian_linear_teacher_and_splits():
    train = build_pool("gaussian", n_pool=60, dim=9, teacher="linear", seed=3, preprocessing="none")
    test = build_pool("gaussian", n_pool=60, dim=9, teacher="linear", seed=3, split="test",
                      preprocessing="none")
    # y is exactly linear in X: zero least-squares residual
    coef, *_ = np.linalg.lstsq(train.X, train.y, rcond=None)
    np.testing.assert_allclose(train.X @ coef, train.y, atol=1e-12)
    np.testing.assert_allclose(test.X @ coef, test.y, atol=1e-12)  # same teacher
    assert not np.allclose(train.X, test.X)                         # different inputs
    assert train.meta["teacher"]["kind"] == "linear"
    with pytest.raises(WilsonianError, match="no classes"):
        build_pool("gaussian", classes="0,1")
    with pytest.raises(WilsonianError, match="unknown teacher"):
        build_pool("gaussian", teacher="cubic")


# --------------------------------------------------------------------------- arguments, meta


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(WilsonianError) as info:
        build_pool("imagenet")
    for name in DATASETS:
        assert name in str(info.value)


def test_argument_validation(tmp_path):
    with pytest.raises(WilsonianError, match="unknown split"):
        build_pool("digits", split="validation")
    with pytest.raises(WilsonianError, match="unknown preprocessing"):
        build_pool("digits", preprocessing="pca")
    with pytest.raises(WilsonianError, match="seed"):
        build_pool("digits", seed=-1)
    with pytest.raises(WilsonianError, match="dim applies only"):
        build_pool("digits", dim=3)
    with pytest.raises(WilsonianError, match="data file is used only"):
        build_pool("digits", data_file=tmp_path / "x.npz")
    with pytest.raises(WilsonianError, match="reads no data directory"):
        build_pool("digits", data_dir=tmp_path)
    with pytest.raises(WilsonianError, match="pixel_scale"):
        build_pool("digits", pixel_scale=0)


def test_meta_is_json_and_complete(tmp_path):
    make_idx_dir(tmp_path)
    pools = [
        build_pool("digits", n_pool=50, seed=1),
        build_pool("mnist", data_dir=tmp_path, split="all", classes="1,2"),
        build_pool("gaussian", n_pool=10),
    ]
    for pool in pools:
        meta = json.loads(json.dumps(pool.meta))
        for key in ("dataset", "classes_given", "classes", "class_names", "split", "n_pool",
                    "n", "dim", "seed", "preprocessing", "scale_divisor", "files"):
            assert key in meta
        assert meta["n"] == pool.n and meta["dim"] == pool.dim
    assert pools[0].meta["n_pool"] == 50 and pools[1].meta["classes_given"] == "1,2"
    assert "teacher" in pools[2].meta


# --------------------------------------------------------------------------- real data


@pytest.mark.fashion
@pytest.mark.skipif(
    not (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="real Fashion-MNIST not installed in /usr/share/datasets/fashion-mnist "
    "(Debian package dataset-fashion-mnist)",
)
def test_real_fashion_mnist_default_task():
    pool = build_pool("fashion-mnist", classes=(0, 9), split="train")
    assert (pool.n, pool.dim) == (12000, 784)
    assert set(np.unique(pool.y)) == {-1.0, 1.0}
    assert np.count_nonzero(pool.y > 0) == np.count_nonzero(pool.y < 0) == 6000
    np.testing.assert_allclose(np.linalg.norm(pool.X, axis=1), 1.0, atol=1e-12)
    assert pool.meta["data_dir"] == str(FASHION_DIR)


# --------------------------------------------------------------------------- hostile files
# Each hostile input must give a WilsonianError (the CLI's one-line `error:`) and leave the
# folder it was read from exactly as it was.


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``directory`` with its size and modification time."""
    return {str(p.relative_to(directory)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in sorted(directory.rglob("*"))}


def idx_header(type_code: int, dims) -> bytes:
    return struct.pack(">BBBB", 0, 0, type_code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)


class CountingReader:
    """A binary stream that counts what is read through it."""

    def __init__(self, raw):
        self.raw, self.delivered = raw, 0

    def read(self, n=-1):
        data = self.raw.read(n)
        self.delivered += len(data)
        return data

    def readinto(self, buffer):
        n = self.raw.readinto(buffer)
        self.delivered += n or 0
        return n


def test_gzip_bomb_is_not_decompressed_beyond_its_header(tmp_path):
    from wilsonian.data.idx import read_idx_stream

    declared = idx_header(0x08, (10, 4, 4))  # 160 bytes of data announced
    bomb = gzip.compress(declared + bytes(64 << 20), compresslevel=9)  # then 64 MiB of zeros
    compressed = io.BytesIO(bomb)
    stream = CountingReader(gzip.GzipFile(fileobj=compressed, mode="rb"))
    with pytest.raises(WilsonianError, match="unexpected bytes after the 160 bytes"):
        read_idx_stream(stream, "bomb")
    assert stream.delivered <= len(declared) + 160 + 1
    assert compressed.tell() < len(bomb) // 4  # most of the compressed bomb was never read

    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(bomb)
    before = snapshot(tmp_path)
    with pytest.raises(WilsonianError, match="train-images-idx3-ubyte.gz.*unexpected bytes"):
        read_idx(path)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("dims", [(1 << 31, 1 << 31, 1), (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)])
def test_idx_absurd_dims_refused_before_reading(tmp_path, compress, dims):
    path = tmp_path / ("x-idx3-ubyte" + (".gz" if compress else ""))
    content = idx_header(0x08, dims) + bytes(100)
    path.write_bytes(gzip.compress(content) if compress else content)
    before = snapshot(tmp_path)
    with pytest.raises(WilsonianError, match=r"announces dims|truncated"):
        read_idx(path)
    assert snapshot(tmp_path) == before


def test_idx_raw_size_checked_against_header_before_reading(tmp_path):
    # A raw file is compared with its header through its size: no data is read at all.
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(idx_header(0x08, (1000, 28, 28)) + bytes(10))
    with pytest.raises(WilsonianError, match=r"truncated.*784000 bytes of data.*only 10"):
        read_idx(path)
    path.write_bytes(idx_header(0x08, (1, 2, 2)) + bytes(4 + 3))
    with pytest.raises(WilsonianError, match="3 unexpected bytes"):
        read_idx(path)


@pytest.mark.parametrize("content, match", [
    (b"", "truncated"),
    (b"\x00\x00\x08", "truncated"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated inside its header"),
    (b"\x00\x00\x08\x28" + bytes(4 * 40) + b"\x01", "40 dimensions"),
    (b"\x00\x00\x08\x00", "not an IDX file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "not an IDX file"),
    (b"\x1f\x8b\x08\x00garbage", "not an IDX file"),
    (bytes(range(256)) * 4, "not an IDX file"),
])
def test_idx_garbage_and_truncated_headers(tmp_path, content, match):
    with pytest.raises(WilsonianError, match=match):
        parse_idx(content)
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(WilsonianError, match=match):
        read_idx(path)
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(content))
    with pytest.raises(WilsonianError, match=match):
        read_idx(path)


def test_idx_gz_that_is_not_gzip_or_is_cut(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"this is not gzip data at all")
    with pytest.raises(WilsonianError, match="not a valid gzip file"):
        read_idx(path)
    whole = gzip.compress(idx_bytes(np.ones((50, 4, 4))))
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(WilsonianError, match="truncated"):
        read_idx(path)
    corrupted = bytearray(whole)
    corrupted[-8] ^= 0xFF  # the CRC-32 of the data
    path.write_bytes(bytes(corrupted))
    with pytest.raises(WilsonianError, match="gzip"):
        read_idx(path)


def test_idx_folder_or_empty_data_set(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(WilsonianError, match="is a folder"):
        read_idx(tmp_path / "folder")
    make_idx_dir(tmp_path / "empty", n_train=0, n_test=0)
    with pytest.raises(WilsonianError):
        build_pool("mnist", data_dir=tmp_path / "empty")


def test_idx_big_endian_types_come_back_native():
    values = np.array([[1.5, -2.0], [3.25, 1e300]])
    data = idx_header(0x0E, values.shape) + values.astype(">f8").tobytes()
    from wilsonian.data.idx import read_idx_stream

    _, array = read_idx_stream(io.BytesIO(data))
    assert array.dtype == np.float64 and array.dtype.isnative
    np.testing.assert_array_equal(array, values)


# CIFAR-10 batches whose pickles try to run code, or to make NumPy allocate far more than
# the file holds.


class _RunsCommand:
    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def _evil_pickles(marker: Path) -> dict[str, bytes]:
    import builtins
    import os
    import subprocess

    command = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system, protocol 2": pickle.dumps(_RunsCommand(os.system, command), protocol=2),
        "os.system, protocol 4": pickle.dumps({b"data": _RunsCommand(os.system, command)},
                                              protocol=4),
        "builtins.exec": pickle.dumps(_RunsCommand(builtins.exec, code), protocol=2),
        "builtins.eval": pickle.dumps(_RunsCommand(builtins.eval, code), protocol=0),
        "subprocess.Popen": pickle.dumps(_RunsCommand(subprocess.Popen, ["touch", str(marker)])),
        "GLOBAL opcode": b"cposix\nsystem\n(S'" + command.encode() + b"'\ntR.",
        "numpy.load": pickle.dumps(_RunsCommand(np.load, str(marker)), protocol=2),
        "getattr on an allowed global": b"\x80\x02cbuiltins\ngetattr\ncnumpy\nndarray\n"
                                        b"X\x07\x00\x00\x00__new__\x86R.",
        "_codecs.encode with a codec import": b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abc"
                                              b"X\x0a\x00\x00\x00zlib_codec\x86R.",
    }


@pytest.mark.parametrize("which", list(_evil_pickles(Path("m"))))
def test_cifar_pickles_that_run_code_are_refused(tmp_path, which):
    marker = tmp_path / "code-ran"
    directory = tmp_path / "cifar-10-batches-py"
    make_cifar_dir(tmp_path)
    (directory / "data_batch_1").write_bytes(_evil_pickles(marker)[which])
    before = snapshot(tmp_path)
    with pytest.raises(WilsonianError, match="is not allowed|only for Latin-1"):
        build_pool("cifar10", data_dir=tmp_path)
    with pytest.raises(WilsonianError, match="is not allowed|only for Latin-1"):
        safe_unpickle(directory / "data_batch_1")
    assert not marker.exists()
    assert snapshot(tmp_path) == before


def test_cifar_forged_array_larger_than_its_file_is_refused(tmp_path):
    # numpy.ndarray((100000, 3072), "u1") costs 40 bytes of pickle and 307 MB of memory.
    huge = (b"cnumpy\nndarray\n" + b"J\xa0\x86\x01\x00M\x00\x0c\x86"
            + b"X\x02\x00\x00\x00u1\x86R")
    forged = b"\x80\x02}(U\x04data" + huge + b"U\x06labels]u."
    path = tmp_path / "data_batch_1"
    path.write_bytes(forged)
    with pytest.raises(WilsonianError, match="larger than the file"):
        read_cifar10_batch(path)


def test_cifar_oversized_ragged_and_garbage_batches(tmp_path):
    path = tmp_path / "data_batch_1"
    data = np.ones((2, 3072), dtype=np.uint8)
    path.write_bytes(pickle.dumps({b"data": data, b"labels": [[1, 2], [3]]}, protocol=2))
    with pytest.raises(WilsonianError, match="labels"):
        read_cifar10_batch(path)
    path.write_bytes(pickle.dumps({b"data": data, b"labels": [1, 2]}, protocol=2))
    with pytest.raises(WilsonianError, match="larger than 100 bytes"):
        safe_unpickle(path, max_bytes=100)
    assert read_cifar10_batch(path)[1].tolist() == [1, 2]
    for garbage in (b"", b"\x80\x02", b"\x80\x05\x95\xff\xff\xff\xff\xff\xff\xff\x7f", bytes(range(256))):
        path.write_bytes(garbage)
        with pytest.raises(WilsonianError, match="data_batch_1"):
            read_cifar10_batch(path)
    (tmp_path / "folder").mkdir()
    with pytest.raises(WilsonianError, match="is a folder"):
        read_cifar10_batch(tmp_path / "folder")


# .npz files that are not what --data-file needs.


def _npz_members(path: Path, members: dict[str, bytes]) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _forged_npy(shape, dtype="<f8", data=b"\x00" * 16) -> bytes:
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def _write_hostile_npz(path: Path, kind: str) -> Path:
    X, y = np.ones((4, 3)), np.array([0, 1, 0, 1])
    if kind == "npy instead of npz":
        path = path.with_suffix(".npy")
        np.save(path, X)
    elif kind == "text file":
        path.write_text("X,y\n1,2\n")
    elif kind == "empty file":
        path.write_bytes(b"")
    elif kind == "truncated zip":
        np.savez(path, X=X, y=y)
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "corrupt compressed member":
        np.savez_compressed(path, X=np.arange(4000.0).reshape(1000, 4), y=np.zeros(1000))
        data = bytearray(path.read_bytes())
        data[200:260] = bytes(60)
        path.write_bytes(bytes(data))
    elif kind == "object X":
        _npz_members(path, {"X.npy": _npy(np.array([[{}], [None]], dtype=object)),
                            "y.npy": _npy(np.array([0, 1]))})
    elif kind == "wrong keys":
        np.savez(path, inputs=X, labels=y)
    elif kind == "NaN in y":
        np.savez(path, X=X, y=np.array([0.0, np.nan, 1.0, 0.0]))
    elif kind == "inf in X":
        X[1, 2] = np.inf
        np.savez(path, X=X, y=y)
    elif kind == "X 1-D":
        np.savez(path, X=np.ones(4), y=y)
    elif kind == "y 2-D":
        np.savez(path, X=X, y=y.reshape(4, 1, 1))  # (n, C) is a regression target; 3-D is not
    elif kind == "y length differs":
        np.savez(path, X=X, y=y[:3])
    elif kind == "no rows":
        np.savez(path, X=np.ones((0, 3)), y=np.array([], dtype=int))
    elif kind == "no features":
        np.savez(path, X=np.ones((4, 0)), y=y)
    elif kind == "complex X":
        np.savez(path, X=X + 1j, y=y)
    elif kind == "structured y":
        np.savez(path, X=X, y=np.zeros(4, dtype=[("a", "i4"), ("b", "f8")]))
    elif kind == "header larger than data":
        _npz_members(path, {"X.npy": _forged_npy((1 << 20, 1 << 20)), "y.npy": _npy(y)})
    elif kind == "garbage npy header":
        _npz_members(path, {"X.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': os.sy}\n",
                            "y.npy": _npy(y)})
    else:  # pragma: no cover
        raise AssertionError(kind)
    return path


HOSTILE_NPZ = {
    "npy instead of npz": r"is a \.npy file.*numpy\.savez",
    "text file": r"is not an \.npz file holding arrays X",
    "empty file": r"is not an \.npz file",
    "truncated zip": r"not a readable \.npz",
    "corrupt compressed member": r"not a readable \.npz",
    "object X": "without pickle",
    "wrong keys": r"lacks array\(s\) X, y.*it has: inputs, labels",
    "NaN in y": "1 NaN or infinite label",
    "inf in X": "1 NaN or infinite value",
    "X 1-D": "at least 2",
    "y 2-D": "must be 1-D",
    "y length differs": r"different lengths \(4 vs 3\)",
    "no rows": "empty",
    "no features": "no values",
    "complex X": "numeric array",
    "structured y": "use integer, float or string labels",
    "header larger than data": "corrupt: its header announces",
    "garbage npy header": r"not a readable \.npz",
}


@pytest.mark.parametrize("kind", list(HOSTILE_NPZ))
def test_hostile_npz_files(tmp_path, kind):
    path = _write_hostile_npz(tmp_path / "data.npz", kind)
    before = snapshot(tmp_path)
    with pytest.raises(WilsonianError, match=HOSTILE_NPZ[kind]) as info:
        build_pool("npz", data_file=path, classes="0,1")
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert snapshot(tmp_path) == before


def test_npz_folder_unreadable_and_too_large(tmp_path, monkeypatch):
    import os

    from wilsonian.data import sources

    with pytest.raises(WilsonianError, match="is a folder"):
        build_pool("npz", data_file=tmp_path)
    path = tmp_path / "ok.npz"
    np.savez(path, X=np.ones((4, 3)), y=np.array([0, 1, 0, 1]))
    monkeypatch.setattr(sources, "_physical_memory", lambda: 100)
    with pytest.raises(WilsonianError, match="more than this machine's"):
        build_pool("npz", data_file=path, classes="0,1")
    monkeypatch.undo()
    if os.geteuid() != 0:  # root reads any file
        path.chmod(0)
        try:
            with pytest.raises(WilsonianError, match="cannot read the data file.*ermission"):
                build_pool("npz", data_file=path, classes="0,1")
        finally:
            path.chmod(0o644)
    assert build_pool("npz", data_file=path, classes="0,1").n == 4


def test_cli_npy_as_npz_is_a_one_line_error(tmp_path, capsys):
    from wilsonian.app.cli import main

    np.save(tmp_path / "x.npy", np.ones((4, 3)))
    code = main(["run", "--dataset", "npz", "--data-file", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "out"), "--no-cache", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "x.npy" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_paths_too_long_or_unresolvable_are_one_line_errors(tmp_path):
    long = tmp_path / ("x" * 300)
    for kwargs in ({"data_file": str(long) + ".npz"}, {"data_dir": long}):
        dataset = "npz" if "data_file" in kwargs else "mnist"
        with pytest.raises(WilsonianError, match="too long; the name or path is too long"):
            build_pool(dataset, **kwargs)
    with pytest.raises(WilsonianError, match="too long"):
        build_pool("cifar10", data_dir=long)
    with pytest.raises(WilsonianError, match="cannot use the data directory"):
        build_pool("mnist", data_dir="~no-such-user-wilsonian/mnist")


@pytest.mark.parametrize("dataset", ["npz", "mnist", "cifar10"])
def test_unreadable_files_name_the_file_and_the_cause(tmp_path, monkeypatch, dataset):
    import builtins
    import errno

    from wilsonian.data import cifar, idx, sources

    if dataset == "npz":
        np.savez(tmp_path / "d.npz", X=np.ones((4, 3)), y=np.array([0, 1, 0, 1]))
        kwargs, module, victim = {"data_file": tmp_path / "d.npz", "classes": "0,1"}, sources, "d.npz"
    elif dataset == "mnist":
        make_idx_dir(tmp_path, compress=False)
        kwargs, module, victim = {"data_dir": tmp_path}, idx, "train-images-idx3-ubyte"
    else:
        make_cifar_dir(tmp_path)
        kwargs, module, victim = {"data_dir": tmp_path}, cifar, "data_batch_1"

    def denied(path, *args, **kw):
        if Path(path).name == victim:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return builtins.open(path, *args, **kw)

    monkeypatch.setattr(module, "open", denied, raising=False)
    with pytest.raises(WilsonianError, match=rf"cannot read.*{victim}': Permission denied; "
                                             "check the permissions"):
        build_pool(dataset, **kwargs)


@pytest.mark.parametrize("dataset, balanced, warns", [
    ("mnist", True, "Fashion-MNIST"), ("mnist", False, None),
    ("fashion-mnist", False, "MNIST"), ("fashion-mnist", True, None),
])
def test_a_folder_of_the_other_mnist_is_named_in_a_warning(tmp_path, dataset, balanced, warns):
    """MNIST and Fashion-MNIST share file names and formats; their published label counts
    (every class exactly 1,000 of the 10,000 test images in Fashion-MNIST, not in MNIST) tell
    a --data-dir of one read as the other."""
    import warnings

    labels = np.arange(10_000) % 10
    if not balanced:
        labels[:5] = 1                    # 1,004 ones and 999 of four other digits
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((10_000, 2, 2)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = load_idx_split(tmp_path, "test", dataset=dataset)
    assert raw.labels.size == 10_000
    messages = [str(w.message) for w in caught]
    if warns is None:
        assert messages == []
    else:
        assert len(messages) == 1 and f"a folder of {warns}?" in messages[0] and "t10k-labels" in messages[0]
    # other sizes (a subset, a different data set) are not judged
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((9_990, 2, 2)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:9_990])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_idx_split(tmp_path, "test", dataset=dataset)
    assert caught == []
