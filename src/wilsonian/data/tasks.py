"""Tasks: which classes of a data set make the pool, and how they become targets.

Two classes give a binary task, y = +1 for the first and −1 for the second (THEORY.md §1);
more (or ``"all"``) give one-hot targets, one output per class (§8); an ``.npz`` file with
float targets is a regression task, one output per column.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from wilsonian.data.catalog import CLASS_NAMES, DEFAULT_CLASSES
from wilsonian.data.raw import RawData
from wilsonian.errors import WilsonianError

#: How classes become targets.
TARGETS = ("binary", "one-hot")
#: The class specification meaning every class of the data set.
ALL_CLASSES = "all"


def _normalize_name(name: str) -> str:
    return " ".join(name.strip().lower().replace("_", " ").split())


def _split_classes(classes: Any) -> list[Any]:
    """The class tokens of ``classes``: a string "A,B,...", a sequence, or "all" (→ ["all"])."""
    if isinstance(classes, str):
        if classes.strip().lower() == ALL_CLASSES:
            return [ALL_CLASSES]
        parts: list[Any] = [part.strip() for part in classes.split(",")]
    elif isinstance(classes, np.ndarray):
        parts = classes.tolist()
    elif isinstance(classes, Sequence):
        parts = list(classes)
    else:
        raise WilsonianError(
            f"classes must be 'A,B' (a binary task), a list of two or more, or 'all'; got {classes!r}."
        )
    if len(parts) < 2 or any(isinstance(p, str) and not p.strip() for p in parts):
        raise WilsonianError(
            f"classes must be two or more, like 'A,B', 'A,B,C' or 'all'; got {classes!r}."
        )
    return parts


def is_integer_token(token: Any) -> bool:
    return isinstance(token, numbers.Integral) and not isinstance(token, (bool, np.bool_))


def _named_class_index(token: Any, names: Sequence[str], dataset: str) -> int:
    valid = f"use 0..{len(names) - 1} or one of: " + ", ".join(repr(n) for n in names)
    if is_integer_token(token):
        index = int(token)
    elif isinstance(token, str) and re.fullmatch(r"\s*[+-]?\d+\s*", token):
        index = int(token)
    elif isinstance(token, str):
        lookup = {_normalize_name(n): i for i, n in enumerate(names)}
        key = _normalize_name(token)
        if key not in lookup:
            raise WilsonianError(f"unknown class {token!r} for {dataset}; {valid}.")
        index = lookup[key]
    else:
        raise WilsonianError(f"unknown class {token!r} for {dataset}; {valid}.")
    if not 0 <= index < len(names):
        raise WilsonianError(f"unknown class {index} for {dataset}; {valid}.")
    return index


def _label_repr(values: np.ndarray, limit: int = 20) -> str:
    shown = ", ".join(repr(json_label(v)) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")


def json_label(value: Any) -> Any:
    """A label value as a plain JSON-serializable Python scalar."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _npz_class_value(token: Any, uniq: np.ndarray, source: str) -> Any:
    """The stored label value that ``token`` names among the distinct labels ``uniq``."""
    available = f"the labels in {source} are: {_label_repr(uniq)}"
    if uniq.dtype.kind in "biuf":
        try:
            value = float(token) if not is_integer_token(token) else int(token)
        except (TypeError, ValueError):
            raise WilsonianError(f"unknown class {token!r}; {available}.") from None
        hits = uniq[uniq == value]
    else:
        text = token.decode() if isinstance(token, bytes) else str(token).strip()
        as_text = np.array(
            [u.decode("utf-8", "replace") if isinstance(u, bytes) else str(u) for u in uniq]
        )
        hits = uniq[as_text == text]
        if hits.size == 0:
            hits = uniq[np.char.lower(as_text) == text.lower()]
    if hits.size != 1:
        raise WilsonianError(f"unknown class {token!r}; {available}.")
    return hits[0]


@dataclass(frozen=True)
class _Task:
    kind: str                      # "binary", "one-hot" or "regression"
    values: tuple[Any, ...]        # stored label values of the classes (empty for regression)
    names: tuple[str, ...]
    given: Any                     # JSON form of what the caller passed


def resolve_classes(
    dataset: str, classes: Any, raw: RawData | None = None, targets: str | None = None
) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """Resolve a class specification to label values and names.

    Parameters
    ----------
    dataset : str
        One of :data:`~wilsonian.data.DATASETS` except ``"gaussian"``.
    classes : sequence of int/str, str "A,B[,C...]", "all", or None
        Integer class indices or (for Fashion-MNIST and CIFAR-10) the standard class
        names, case-insensitive. For ``npz`` the stored label values. ``None`` gives the
        data set's default binary task (:data:`~wilsonian.data.DEFAULT_CLASSES`; for ``npz``
        labels that are exactly {+1, −1}, or float regression targets, kept as they are).
    raw : RawData, optional
        The loaded data; required for ``npz`` (its labels define the classes).
    targets : {"binary", "one-hot"}, optional
        How classes become targets (see :func:`build_pool`); default binary for two
        classes, one-hot for more.

    Returns
    -------
    values : tuple
        The label values (class indices for the standard data sets), in target order.
    names : tuple of str
        Their names.
    """
    task = resolve_task(dataset, classes, raw, targets)
    return task.values, task.names


def resolve_task(dataset: str, classes: Any, raw: RawData | None, targets: str | None = None) -> _Task:
    given = _json_given(classes)
    if targets is not None and targets not in TARGETS:
        raise WilsonianError(f"unknown targets {targets!r}; use one of {', '.join(TARGETS)}.")
    if dataset == "npz":
        if raw is None:
            raise WilsonianError("classes of an npz data set need its labels (pass raw=).")
        source = raw.files[0] if raw.files else "the npz file"
        labels = raw.labels
        if classes is None and (labels.ndim == 2 or (labels.dtype.kind == "f" and not _integer_valued(labels))):
            if targets is not None:
                raise WilsonianError(f"{source} holds regression targets (float y); --targets applies to classes.")
            return _Task("regression", (), (), given)
        if labels.ndim == 2:
            raise WilsonianError(f"{source} holds an (n, C) matrix of regression targets; drop --classes.")
        if labels.dtype.kind == "f" and not _integer_valued(labels):
            raise WilsonianError(f"{source} holds regression targets (float y that are not all whole numbers), "
                                 "not classes; drop --classes.")
        uniq = np.unique(labels)
        if classes is None:
            if uniq.dtype.kind in "biuf" and set(uniq.tolist()) == {-1, 1}:
                values: tuple[Any, ...] = (uniq[uniq == 1][0], uniq[uniq == -1][0])
            else:
                numeric = uniq.dtype.kind in "biuf"
                raise WilsonianError(
                    f"the labels in {source} have {uniq.size} distinct values "
                    f"({_label_repr(uniq)}); give classes (--classes A,B: y = +1 for A, -1 for B; a list "
                    "of classes; or all: one-hot targets)" + (
                        "; float targets are a regression task unless every value is a whole number, as "
                        "here, which reads as class labels." if numeric else ".")
                )
        else:
            tokens = _split_classes(classes)
            if tokens == [ALL_CLASSES]:
                values = tuple(uniq.tolist())
            else:
                values = tuple(_npz_class_value(t, uniq, source) for t in tokens)
        names = tuple(str(json_label(v)) for v in values)
    else:
        names_all = raw.class_names if raw is not None and raw.class_names else CLASS_NAMES[dataset]
        if classes is None:
            values = DEFAULT_CLASSES[dataset]
        else:
            tokens = _split_classes(classes)
            if tokens == [ALL_CLASSES]:
                values = tuple(range(len(names_all)))
            else:
                values = tuple(_named_class_index(t, names_all, dataset) for t in tokens)
        names = tuple(names_all[v] for v in values)
    if len(set(json_label(v) for v in values)) != len(values):
        repeated = next(n for i, n in enumerate(names) if names.index(n) != i)
        raise WilsonianError(
            f"the class {repeated!r} is given twice: the classes must not be the same; give different ones."
        )
    kind = targets or ("binary" if len(values) == 2 else "one-hot")
    if kind == "binary" and len(values) != 2:
        raise WilsonianError(f"binary targets need exactly two classes; got {len(values)} (use --targets one-hot)")
    return _Task(kind, tuple(values), tuple(names), given)


def _integer_valued(labels: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)))


def _json_given(classes: Any) -> Any:
    if classes is None or isinstance(classes, str):
        return classes
    try:
        return [json_label(c) if not isinstance(c, str) else c for c in classes]
    except TypeError:
        return repr(classes)


def make_targets(task: _Task, labels: np.ndarray) -> tuple[np.ndarray, str]:
    """The pool's targets and how they were made from its labels."""
    if task.kind == "regression":
        return np.asarray(labels, dtype=np.float64), "y = the stored float targets (regression), one column per output"
    if task.kind == "binary":
        return np.where(labels == task.values[0], 1.0, -1.0), "y = +1 for classes[0], -1 for classes[1]"
    onehot = np.stack([labels == value for value in task.values], axis=1).astype(np.float64)
    return onehot, "one-hot: y_c = 1 for class c (classes[c]), 0 for the others; C = len(classes) outputs"


def class_counts(task: _Task, y: np.ndarray) -> dict[str, Any]:
    if task.kind == "binary":
        return {"n_positive": int(np.count_nonzero(y > 0)), "n_negative": int(np.count_nonzero(y < 0))}
    if task.kind == "one-hot":
        return {"n_per_class": [int(c) for c in y.sum(axis=0)]}
    return {}
