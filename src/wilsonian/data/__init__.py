"""Data sets and pools (THEORY.md §1, "Pool" and "Binary task").

- :func:`build_pool` — the pool of a binary task from any supported data set.
- Loaders returning :class:`RawData` (raw images + labels of one split):
  :func:`load_idx_split` (MNIST, Fashion-MNIST), :func:`load_cifar10_split`,
  :func:`load_digits_split`, :func:`load_npz`; low-level :func:`read_idx`,
  :func:`read_cifar10_batch`, :func:`safe_unpickle`.
- :func:`fetch_dataset` — download MNIST, Fashion-MNIST or CIFAR-10 with SHA-256 checks.
"""

from wilsonian._lazy import lazy_exports
from wilsonian.data.catalog import (
    CIFAR10_NAMES,
    CLASS_NAMES,
    DATASETS,
    DEFAULT_CLASSES,
    FASHION_MNIST_NAMES,
    default_data_dir,
)
from wilsonian.data.cifar import (
    load_cifar10_split,
    read_cifar10_batch,
    safe_unpickle,
)
from wilsonian.data.idx import load_idx_split, parse_idx, read_idx
from wilsonian.data.pool import PREPROCESSINGS, Pool, build_pool, preprocess
from wilsonian.data.tasks import ALL_CLASSES, TARGETS, resolve_classes
from wilsonian.data.raw import SPLITS, RawData
from wilsonian.data.sources import load_digits_split, load_npz
from wilsonian.data.synthetic import TEACHERS, gaussian_inputs, teacher_targets

# The downloader loads on first use: it imports http.client, ssl and urllib (~40 ms), which
# only `wilsonian data fetch` needs.
__getattr__, __dir__ = lazy_exports(__name__, globals(), {
    name: "wilsonian.data.fetch" for name in ("FETCHABLE", "REMOTE_DATASETS", "fetch_dataset", "sha256_file")})

__all__ = [
    "ALL_CLASSES",
    "TARGETS",
    "CIFAR10_NAMES",
    "CLASS_NAMES",
    "DATASETS",
    "DEFAULT_CLASSES",
    "FASHION_MNIST_NAMES",
    "FETCHABLE",
    "PREPROCESSINGS",
    "REMOTE_DATASETS",
    "SPLITS",
    "TEACHERS",
    "Pool",
    "RawData",
    "build_pool",
    "default_data_dir",
    "fetch_dataset",
    "gaussian_inputs",
    "load_cifar10_split",
    "load_digits_split",
    "load_idx_split",
    "load_npz",
    "parse_idx",
    "preprocess",
    "read_cifar10_batch",
    "read_idx",
    "resolve_classes",
    "safe_unpickle",
    "sha256_file",
    "teacher_targets",
]
