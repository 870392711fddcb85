"""The :class:`Pool`: the N inputs and ±1 targets that define the data measure μ.

:func:`build_pool` turns a data set into the pool of a binary task (THEORY.md §1,
"Pool" and "Binary task"): all images of two classes A and B of one split, y = +1 for A
and −1 for B, optionally a seeded subsample of N of them, preprocessed (by default as in
Canatar et al. 2021: pixels/255, flatten, each row scaled to unit L2 norm).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wilsonian.data.catalog import (
    DATASETS,
    GAUSSIAN_DEFAULT_DIM,
    GAUSSIAN_DEFAULT_N,
    default_data_dir,
)
from wilsonian.data.cifar import load_cifar10_split
from wilsonian.data.idx import load_idx_split
from wilsonian.data.raw import RawData, check_split
from wilsonian.data.sources import load_digits_split, load_npz
from wilsonian.data.synthetic import TEACHERS, gaussian_inputs, teacher_targets
from wilsonian.data.tasks import class_counts, is_integer_token, json_label, make_targets, resolve_task
from wilsonian.errors import WilsonianError, file_error

#: Preprocessing choices (THEORY.md §1; "unit-norm" is the paper's default).
PREPROCESSINGS = ("unit-norm", "standardize", "none")


@dataclass(frozen=True)
class Pool:
    """A data pool: inputs ``X`` (N×d, float64), targets ``y`` ((N,) or (N, C)), and provenance.

    The data measure μ of THEORY.md §1 is uniform on the rows of ``X``.

    ``meta`` records everything that produced the pool (dataset, source files, classes,
    split, subsample size and seed, preprocessing) so that results can be traced back.
    It contains only JSON-serializable values.
    """

    X: np.ndarray
    y: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """(H, W, C) of the images the rows of ``X`` were flattened from; None if not images.

        Read from ``meta["input_shape"]``: (H, W) images (MNIST, Fashion-MNIST, digits) have
        C = 1; CIFAR-10 rows are (C, H, W) (see :attr:`channels_first`); other 3-D inputs
        (an ``.npz`` of shape (n, H, W, C)) are taken as channels last. 1-D inputs (the
        gaussian dataset) are not images. A convolutional kernel needs this shape.
        """
        shape = self.meta.get("input_shape")
        if not shape or len(shape) not in (2, 3) or int(np.prod(shape)) != self.dim:
            return None
        if len(shape) == 2:
            return int(shape[0]), int(shape[1]), 1
        if self.channels_first:
            return int(shape[1]), int(shape[2]), int(shape[0])
        return int(shape[0]), int(shape[1]), int(shape[2])

    @property
    def channels_first(self) -> bool:
        """True when the rows of ``X`` are flattened (C, H, W) images (CIFAR-10's layout)."""
        return self.meta.get("dataset") == "cifar10" and len(self.meta.get("input_shape") or ()) == 3


# --------------------------------------------------------------------------- preprocessing


def preprocess(X: np.ndarray, preprocessing: str = "unit-norm") -> np.ndarray:
    """Preprocess flattened, already rescaled inputs (THEORY.md §1 "Binary task").

    Parameters
    ----------
    X : numpy.ndarray, shape (n, d)
        Rows are the flattened examples, already divided by the pixel scale.
    preprocessing : {"unit-norm", "standardize", "none"}
        ``"unit-norm"``: each row scaled to unit L2 norm (Canatar et al. 2021; the
        default). ``"standardize"``: each feature shifted and scaled to zero mean and unit
        variance over the rows (population variance, ddof=0); constant features become 0.
        ``"none"``: unchanged.

    Returns
    -------
    numpy.ndarray, float64, shape (n, d)
        A new array.

    Raises
    ------
    WilsonianError
        Unknown method, NaN/Inf in ``X``, or a zero row under ``"unit-norm"``.
    """
    if preprocessing not in PREPROCESSINGS:
        raise WilsonianError(
            f"unknown preprocessing {preprocessing!r}; use one of {', '.join(PREPROCESSINGS)}."
        )
    X = np.array(X, dtype=np.float64, copy=True)
    if X.ndim != 2:
        raise WilsonianError(f"inputs must be a 2-D array (n, d); got shape {X.shape}.")
    if not np.all(np.isfinite(X)):
        bad = int(np.count_nonzero(~np.isfinite(X)))
        raise WilsonianError(
            f"the inputs contain {bad} NaN or infinite value(s); clean the data first."
        )
    if preprocessing == "unit-norm":
        norms = np.linalg.norm(X, axis=1)
        zero = np.flatnonzero(norms == 0.0)
        if zero.size:
            raise WilsonianError(
                f"{zero.size} input row(s) are all zero (first: pool row {zero[0]}) and cannot "
                "be scaled to unit norm; use preprocessing 'standardize' or 'none', or remove them."
            )
        X /= norms[:, None]
    elif preprocessing == "standardize":
        # Constant features are detected exactly (peak-to-peak 0), not by a tiny standard
        # deviation that round-off in the mean would produce.
        constant = np.ptp(X, axis=0) == 0.0
        X -= X.mean(axis=0)
        std = X.std(axis=0)
        std[constant] = 1.0
        X /= std
        X[:, constant] = 0.0
    return X


# --------------------------------------------------------------------------- pools


def _check_int(value: Any, what: str, minimum: int) -> int:
    if not is_integer_token(value) or int(value) < minimum:
        raise WilsonianError(f"{what} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _load_raw(
    dataset: str, data_dir: Path | None, data_file: str | Path | None, split: str, progress: bool
) -> RawData:
    try:
        return _load_raw_unchecked(dataset, data_dir, data_file, split, progress)
    except OSError as exc:  # any the loaders did not name themselves
        raise file_error("read", exc.filename or data_file or data_dir, exc) from exc


def _load_raw_unchecked(
    dataset: str, data_dir: Path | None, data_file: str | Path | None, split: str, progress: bool
) -> RawData:
    if dataset == "digits":
        return load_digits_split(split)
    if dataset in ("mnist", "fashion-mnist"):
        return load_idx_split(data_dir, split, dataset=dataset, progress=progress)
    if dataset == "cifar10":
        return load_cifar10_split(data_dir, split, progress=progress)
    return load_npz(data_file)


def build_pool(
    dataset: str = "digits",
    *,
    data_dir: str | Path | None = None,
    data_file: str | Path | None = None,
    classes: Any = None,
    split: str = "train",
    n_pool: int | None = None,
    preprocessing: str = "unit-norm",
    seed: int = 0,
    dim: int | None = None,
    teacher: str = "sign",
    pixel_scale: float | None = None,
    targets: str | None = None,
    progress: bool = False,
) -> Pool:
    """Build the pool of a task: binary, one-hot classes or regression (THEORY.md §1, §8).

    Parameters
    ----------
    dataset : {"digits", "fashion-mnist", "mnist", "cifar10", "npz", "gaussian"}
        ``digits`` is scikit-learn's embedded 8×8 digits; ``npz`` a user file with
        arrays ``X`` (n, ...) and ``y`` (n,); ``gaussian`` synthetic x ~ N(0, I_dim)
        labelled by a seeded teacher.
    data_dir : str or Path, optional
        Directory of the IDX files (mnist, fashion-mnist) or of CIFAR-10's
        ``cifar-10-batches-py/``. Fashion-MNIST defaults to
        ``/usr/share/datasets/fashion-mnist`` when that exists; mnist and cifar10 need it.
        Must be None for the other data sets.
    data_file : str or Path, optional
        The ``.npz`` file; required for, and only for, ``npz``.
    classes : (A, B, ...), "A,B[,...]", "all", or None
        The classes: integer indices or, for fashion-mnist and cifar10, standard names
        (case-insensitive, e.g. "t-shirt/top", "Ankle boot", "ship"); "all" for every
        class. Two classes give a binary task, y = +1 for A and −1 for B; more give one-hot
        targets, y ∈ R^C with y_c = 1 for class c and 0 otherwise (``targets`` overrides).
        Default: digits/mnist (8, 9), fashion-mnist (0, 9) = T-shirt/top vs Ankle boot,
        cifar10 (8, 9) = ship vs truck; npz: labels that are already ±1, or float targets
        (regression, y (n,) or (n, C)). Must be None for gaussian.
    split : {"train", "test", "all"}
        "all" is train followed by test. digits has no split ("train" and "all" are all
        1,797 images, "test" is an error). gaussian draws train/"all" and test inputs from
        different random streams with the same teacher.
    n_pool : int, optional
        Keep a seeded subsample of this many points, drawn without replacement (not
        stratified): the first n_pool of ``default_rng(seed).permutation(n_available)``,
        kept in file order. So for a fixed seed a smaller pool is a subset of a larger
        one. None keeps all. For gaussian, the number of points drawn (default 1000).
    preprocessing : {"unit-norm", "standardize", "none"}
        Applied after dividing by the pixel scale and flattening; see :func:`preprocess`.
    seed : int
        Seeds the subsample (and, for gaussian, the inputs and the teacher).
    dim : int, optional
        Input dimension of gaussian (default 20); must be None otherwise.
    teacher : {"sign", "linear"}
        gaussian only: y = sign(w·x) or y = w·x/√d with w ~ N(0, I_d) from the seed,
        applied to the pool rows after preprocessing (sign is unchanged by unit-norm).
    pixel_scale : float, optional
        Divisor applied to the stored values before preprocessing. Default: 255 for 8-bit
        images (IDX, CIFAR-10, uint8 npz), 16 for digits (pixel range 0..16), 1 otherwise.
    targets : {"binary", "one-hot"}, optional
        How classes become targets: binary ±1 (two classes only) or one-hot (any number).
        Default: binary for two classes, one-hot for more.
    progress : bool
        Progress bars on stderr while reading files.

    Returns
    -------
    Pool
        ``X`` float64 (n, d), ``y`` float64 (n,) in {+1, −1} (or the linear teacher's
        values, or regression targets), or (n, C) one-hot / regression targets; and
        ``meta`` (JSON-serializable): dataset, classes (as given, resolved label values,
        names), targets, n_outputs, split, n_pool, n, n_available, dim, seed, preprocessing,
        scale_divisor, files, data_dir/data_file, notes, and teacher for gaussian.

    Raises
    ------
    WilsonianError
        Unknown dataset, split, preprocessing or class; the same class twice; not two
        classes; n_pool < 2 or larger than the pool; NaN/Inf; missing or corrupt files.
    """
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise WilsonianError(
            f"unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}."
        )
    split = check_split(split)
    if preprocessing not in PREPROCESSINGS:
        raise WilsonianError(
            f"unknown preprocessing {preprocessing!r}; use one of {', '.join(PREPROCESSINGS)}."
        )
    seed = _check_int(seed, "seed", 0)
    if n_pool is not None:
        n_pool = _check_int(n_pool, "n_pool", 2)
    if pixel_scale is not None:
        if isinstance(pixel_scale, bool) or not isinstance(pixel_scale, numbers.Real) or not (
            np.isfinite(pixel_scale) and pixel_scale > 0
        ):
            raise WilsonianError(f"pixel_scale must be a positive number; got {pixel_scale!r}.")
        pixel_scale = float(pixel_scale)
    if dim is not None and dataset != "gaussian":
        raise WilsonianError(
            f"dim applies only to dataset 'gaussian'; {dataset} has a fixed input dimension."
        )
    if teacher != "sign" and dataset != "gaussian":
        raise WilsonianError("teacher applies only to dataset 'gaussian'.")
    if data_file is not None and dataset != "npz":
        raise WilsonianError(
            f"a data file is used only by dataset 'npz', not {dataset}; drop --data-file."
        )
    if data_dir is not None and dataset not in ("mnist", "fashion-mnist", "cifar10"):
        raise WilsonianError(
            f"dataset {dataset} reads no data directory; drop --data-dir "
            "(it is for mnist, fashion-mnist and cifar10)."
        )
    if dataset == "npz" and split == "test":   # as for digits, rather than the whole file unannounced
        raise WilsonianError("a data file has no test split; use split 'train' or 'all' (both are every row "
                             "of the file).")
    if dataset == "gaussian":
        return _gaussian_pool(
            classes=classes, split=split, n_pool=n_pool, preprocessing=preprocessing,
            seed=seed, dim=dim, teacher=teacher, pixel_scale=pixel_scale,
        )

    if data_dir is None and dataset in ("mnist", "fashion-mnist", "cifar10"):
        data_dir = default_data_dir(dataset)
    raw = _load_raw(dataset, data_dir, data_file, split, progress)
    task = resolve_task(dataset, classes, raw, targets)

    labels = raw.labels
    if task.kind == "regression":
        rows = np.arange(labels.shape[0])
    else:
        masks = [labels == value for value in task.values]
        for name, mask in zip(task.names, masks):
            if not mask.any():
                raise WilsonianError(
                    f"class {name!r} has no examples in the {split} split of {dataset}; "
                    "choose another class or split."
                )
        rows = np.flatnonzero(np.logical_or.reduce(masks))
    n_available = int(rows.size)
    if n_pool is not None:
        if n_pool > n_available:
            chosen = "points" if task.kind == "regression" else (
                "points of classes " + ", ".join(repr(n) for n in task.names))
            raise WilsonianError(
                f"a pool of {n_pool} points (--n-pool, n_pool) but only {n_available} {chosen} are in the "
                f"{split} split of {dataset}; use at most {n_available}."
            )
        keep = np.random.default_rng(seed).permutation(n_available)[:n_pool]
        rows = rows[np.sort(keep)]

    scale = pixel_scale if pixel_scale is not None else raw.scale
    X_raw = raw.images[rows].reshape(rows.size, -1).astype(np.float64) / scale
    X = preprocess(X_raw, preprocessing)
    y, convention = make_targets(task, labels[rows])

    meta = {
        "dataset": dataset,
        "classes_given": task.given,
        "classes": [json_label(v) for v in task.values] if task.values else None,
        "class_names": list(task.names) if task.names else None,
        "targets": task.kind,
        "n_outputs": 1 if y.ndim == 1 else int(y.shape[1]),
        "label_convention": convention,
        "split": split,
        "n_pool": n_pool,
        "n_available": n_available,
        "n": int(X.shape[0]),
        **class_counts(task, y),
        "dim": int(X.shape[1]),
        "input_shape": [int(s) for s in raw.images.shape[1:]],
        "seed": seed,
        "subsample": (
            {"binary": "all points of the two classes, in file order", "regression": "all points, in file order"}
            .get(task.kind, "all points of the chosen classes, in file order") if n_pool is None else
            "first n_pool of numpy.random.default_rng(seed).permutation(n_available), "
            "in file order"
        ),
        "preprocessing": preprocessing,
        "scale_divisor": float(scale),
        "files": list(raw.files),
        "data_dir": str(Path(data_dir).resolve()) if data_dir is not None else None,
        "data_file": str(Path(data_file).resolve()) if data_file is not None else None,
        "notes": list(raw.notes),
    }
    return Pool(X=X, y=y, meta=meta)


def _gaussian_pool(
    *, classes: Any, split: str, n_pool: int | None, preprocessing: str, seed: int,
    dim: int | None, teacher: str, pixel_scale: float | None,
) -> Pool:
    if classes is not None:
        raise WilsonianError(
            "dataset 'gaussian' has no classes (its targets come from a teacher); drop --classes."
        )
    if teacher not in TEACHERS:
        raise WilsonianError(f"unknown teacher {teacher!r}; use one of {', '.join(TEACHERS)}.")
    dim = GAUSSIAN_DEFAULT_DIM if dim is None else _check_int(dim, "dim", 1)
    n = GAUSSIAN_DEFAULT_N if n_pool is None else n_pool
    scale = 1.0 if pixel_scale is None else pixel_scale
    X = preprocess(gaussian_inputs(n, dim, seed=seed, split=split) / scale, preprocessing)
    y, teacher_meta = teacher_targets(X, teacher=teacher, seed=seed)
    notes = []
    if split == "all":
        notes.append("gaussian: split 'all' draws the same inputs as 'train'")
    meta = {
        "dataset": "gaussian",
        "classes_given": None,
        "classes": None,
        "class_names": None,
        "label_convention": teacher_meta["formula"],
        "split": split,
        "n_pool": n_pool,
        "n_available": None,
        "n": int(n),
        "n_positive": int(np.count_nonzero(y > 0)),
        "n_negative": int(np.count_nonzero(y < 0)),
        "dim": int(dim),
        "input_shape": [int(dim)],
        "seed": seed,
        "inputs": (
            f"x ~ N(0, I_d) from numpy.random.default_rng([{seed}, "
            f"{2 if split == 'test' else 1}])"
        ),
        "preprocessing": preprocessing,
        "scale_divisor": float(scale),
        "files": [],
        "data_dir": None,
        "data_file": None,
        "notes": notes,
        "teacher": teacher_meta,
    }
    return Pool(X=X, y=y, meta=meta)
