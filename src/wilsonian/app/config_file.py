"""Configuration files: ``wilsonian run --config run.toml`` (or a run's own ``config.json``).

A file holds the same names as the command-line options (``n-pool`` or ``n_pool``), in TOML
or JSON. Values are checked against the option's type, and unknown keys are refused with the
key's name. The command line overrides the file, and the file overrides the defaults; a
run's ``config.json`` fed back with ``--config`` reproduces its numbers exactly.
A sweep file may add a ``[grid]`` table (see :mod:`wilsonian.app.sweep`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path
from typing import Any

from wilsonian import __version__
from wilsonian.errors import WilsonianError, file_error

#: Keys a run's own config.json carries that are records, not options.
RECORD_KEYS = ("version",)

#: Options whose field name is not their flag's (``--activation-param`` fills activation_params):
#: a file may use either.
FLAG_NAMES = {"activation_param": "activation_params"}


def ridge_range(text: str) -> tuple[float, ...]:
    """``--ridge start:stop:count`` (a log range, as on the command line) as its ridges."""
    parts = text.split(":")
    try:
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3 or not (math.isfinite(start) and math.isfinite(stop)):
            raise ValueError
    except (ValueError, IndexError, OverflowError):
        raise WilsonianError(f"a ridge range is start:stop:count, e.g. 1e-8:1e-2:7; got {text!r}") from None
    if not (start > 0 and stop > 0 and 1 <= count <= 64):
        raise WilsonianError(f"a ridge range needs start, stop > 0 and 1 ≤ count ≤ 64; got {text!r}")
    import numpy as np

    return tuple(float(v) for v in np.geomspace(start, stop, count))


def _kind(annotation: str) -> tuple[str, bool]:
    """(value kind, None allowed) from a dataclass field's annotation text."""
    text = annotation.replace(" ", "")
    optional = text.endswith("|None")
    base = text[: -len("|None")] if optional else text
    kinds = {"int": "int", "float": "float", "str": "str", "bool": "bool",
             "tuple[int,...]": "ints", "tuple[float,...]": "floats", "tuple[str,...]": "strs"}
    if base not in kinds:
        raise TypeError(f"unsupported option type {annotation!r}")
    return kinds[base], optional


def option_kinds(config_class) -> dict[str, tuple[str, bool]]:
    return {f.name: _kind(str(f.type)) for f in dataclasses.fields(config_class)}


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The options in a TOML or JSON file, keys normalized to the config's field names."""
    path = Path(path).expanduser()
    if path.is_dir():
        hint = " (a run's folder holds config.json: give that file)" if (path / "config.json").is_file() else ""
        raise WilsonianError(f"--config {path}: a folder, not a file; give a TOML or JSON file of options{hint}")
    if not path.is_file():
        raise WilsonianError(f"--config {path}: no such file; give a TOML or JSON file of options")
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise file_error("read the config file", path, exc) from exc
    if path.suffix.lower() == ".json":
        try:
            values = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WilsonianError(f"--config {path}: not valid JSON ({exc})") from None
    else:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib
        try:
            values = tomllib.loads(text.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise WilsonianError(f"--config {path}: not valid TOML ({exc})") from None
    if not isinstance(values, dict):
        raise WilsonianError(f"--config {path}: the file must hold a table of options, got {type(values).__name__}")
    normalized: dict[str, Any] = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        name = FLAG_NAMES.get(name, name)
        if name in normalized:
            raise WilsonianError(f"--config {path}: option {key!r} is given twice")
        normalized[name] = value
    return normalized


def coerce(path: Path | str, name: str, value: Any, kind: str, optional: bool) -> Any:
    """``value`` as the option's type, or an error naming the key."""
    where = f"--config {path}: option {name.replace('_', '-')!r}"
    if value is None:
        if optional:
            return None
        raise WilsonianError(f"{where} cannot be null")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise WilsonianError(f"{where} must be true or false, got {value!r}")
    if kind == "str":
        if isinstance(value, str):
            return value
        raise WilsonianError(f"{where} must be a string, got {value!r}")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
            raise WilsonianError(f"{where} must be an integer, got {value!r}")
        return int(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise WilsonianError(f"{where} must be a finite number, got {value!r}")
        return float(value)
    element = {"ints": "int", "floats": "float", "strs": "str"}[kind]
    if kind == "strs" and isinstance(value, dict):   # activation-params = {slope = 0.1}
        value = [f"{k}={v}" for k, v in value.items()]
    if isinstance(value, str) and kind != "strs":    # etas = "10,20,50", as on the command line
        value = [_number(where, token) for token in value.split(",") if token.strip()]
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value:
        raise WilsonianError(f"{where} must be a non-empty list, got {value!r}")
    return tuple(coerce(path, name, v, element, False) for v in value)


def _number(where: str, token: str) -> float | int:
    try:
        number = float(token)
    except ValueError:
        raise WilsonianError(f"{where} must be numbers separated by commas, got {token.strip()!r}") from None
    return int(number) if number.is_integer() and "." not in token and "e" not in token.lower() else number


def merge(config_class, path: str | Path | None, explicit: dict[str, Any], *, ignore: tuple[str, ...] = (),
          allow_grid: bool = False):
    """A ``config_class`` from its defaults, the file at ``path`` and the ``explicit`` options
    of the command line, in increasing priority. A ``grid`` table belongs to a sweep (which
    reads it itself, ``allow_grid``); anywhere else it is refused rather than silently dropped."""
    kinds = option_kinds(config_class)
    values: dict[str, Any] = {}
    if path is not None:
        for name, value in read_config_file(path).items():
            if name == "grid":
                if value and not allow_grid:
                    raise WilsonianError(f"--config {path}: it has a [grid] table, which only `wilsonian sweep "
                                         f"--config` reads; remove the grid to run its base point")
                continue
            if name == "version" and value != __version__:
                warnings.warn(f"--config {path} was written by wilsonian {value}, this is {__version__}: "
                              "its numbers may differ", stacklevel=2)
            if name in RECORD_KEYS or name in ignore:
                continue
            if name == "tile_cache_gib" and isinstance(value, str) and value.strip().lower() == "auto":
                values[name] = None                                  # the default, spelled out
                continue
            if name == "ridge" and isinstance(value, str) and ":" in value:   # a log range
                try:
                    value = list(ridge_range(value))
                except WilsonianError as exc:
                    raise WilsonianError(f"--config {path}: option 'ridge': {exc}") from None
            if name == "ridge" and isinstance(value, (list, str)):  # a ridge list in a file
                ridges = coerce(path, name, value, "floats", False)
                values["ridge"], values["ridges"] = ridges[0], (ridges if len(ridges) > 1 else None)
                continue
            if name not in kinds:
                close = sorted(k.replace("_", "-") for k in kinds if k[:3] == name[:3])
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise WilsonianError(f"--config {path}: unknown option {name.replace('_', '-')!r}{hint}")
            values[name] = coerce(path, name, value, *kinds[name])
    values.update(explicit)
    if "ridges" in values and values["ridges"] is not None and "ridge" not in explicit:
        values["ridge"] = values["ridges"][0]
    return config_class(**values)
