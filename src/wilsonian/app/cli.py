"""The ``wilsonian`` command: each subcommand's handler, and the one-line errors.

Its options are parsed by :mod:`wilsonian.app.parser`. Every error caused by the user's input ends as one line, ``error: <message>``, on stderr
with exit code 2 and no traceback; nothing half-written is left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from dataclasses import fields
from typing import TYPE_CHECKING, Sequence

from wilsonian.app.parser import _explicit_options, build_parser
from wilsonian.errors import WilsonianError, os_error_message, show_warning_on_one_line

if TYPE_CHECKING:
    from wilsonian.app.config import RunConfig

__all__ = ["main", "build_parser", "config_from_args"]


#: Options of ``reproduce`` that only some figures read (dest → figures).
_OPTION_FIGURES = {"thresholds": ("fig4",), "trials_mc": ("fig3",), "modes": ("fig2", "fig5")}
_FIGURE_ONLY_OPTIONS = set(_OPTION_FIGURES)
_FIGURE_OPTIONS = {figure: {d for d, figures in _OPTION_FIGURES.items() if figure in figures}
                   for figure in ("fig1", "fig2", "fig3", "fig4", "fig5")}
#: The learning-curve options, which fig2 and fig5 (mode statistics) do not read.
_LEARNING_OPTIONS = {"ridge", "label_noise", "threshold", "etas", "trials", "replace"}
#: Everything fig3 (the toy model) reads.
_FIG3_OPTIONS = {"trials_mc", "seed", "out", "cache_dir", "no_cache", "quiet", "figure_formats"}
_OPTION_FLAGS = {"activation_params": "--activation-param", "replace": "--replace/--no-replace"}


def _option_values(args: argparse.Namespace, names) -> dict:
    values = {name: getattr(args, name) for name in names if hasattr(args, name)}
    if isinstance(values.get("ridge"), tuple):  # --ridge: one value, or several
        ridges = values["ridge"]
        values["ridge"], values["ridges"] = ridges[0], (ridges if len(ridges) > 1 else None)
    if isinstance(values.get("activation_params"), list):
        values["activation_params"] = tuple(values["activation_params"])
    return values


def config_from_args(args: argparse.Namespace, *, allow_grid: bool = False, ignore: tuple[str, ...] = (),
                     **overrides) -> "RunConfig":
    """The run configuration of parsed ``run``, ``sweep`` or ``reproduce`` options (with
    ``--config``, the file's options under those given on the command line; only a sweep's
    file may hold a grid, ``allow_grid``)."""
    from wilsonian.app.config import RunConfig
    from wilsonian.app.config_file import merge

    names = [f.name for f in fields(RunConfig)]
    if getattr(args, "config", None) is None:
        values = _option_values(args, names)
        values.update(overrides)
        return _absolute_inputs(RunConfig(**values))
    explicit = _option_values(args, [n for n in names if n in getattr(args, "explicit", ())])
    explicit.update(overrides)
    # --figure-formats is an option of the output, not of the run: _figure_formats reads it
    # (and a sweep's --workers, of how its points run: _sweep reads it)
    return _absolute_inputs(merge(RunConfig, args.config, explicit, allow_grid=allow_grid,
                                  ignore=("figure_formats", *ignore)))


def _absolute_inputs(config: "RunConfig") -> "RunConfig":
    """The config with its input paths (--data-dir, --data-file, --kernel-file) made absolute,
    from the working directory: the config.json saved with the results then names the files
    that produced them, and re-runs from any folder."""
    import dataclasses
    import os

    paths = {name: os.path.abspath(os.path.expanduser(value)) for name in ("data_dir", "data_file", "kernel_file")
             if isinstance(value := getattr(config, name), str) and value}
    return dataclasses.replace(config, **paths) if paths else config


def _figure_formats(args: argparse.Namespace) -> tuple[str, ...]:
    """The checked ``--figure-formats``, else the config file's ``figure-formats`` (Matplotlib
    not imported)."""
    from wilsonian.plots.formats import command_formats

    formats, config = args.figure_formats, getattr(args, "config", None)
    if formats is None and config is not None:
        from wilsonian.app.config_file import read_config_file

        formats = read_config_file(config).get("figure_formats")
        if formats is not None and not (isinstance(formats, str) or (
                isinstance(formats, list) and all(isinstance(f, str) for f in formats))):
            raise WilsonianError(f"--config {config}: option 'figure-formats' must be a string such as "
                                 f"\"png,pdf\" or a list of them, got {formats!r}")
    return command_formats(formats)


def _run(args: argparse.Namespace) -> int:
    formats = _figure_formats(args)
    from wilsonian.app.outputs import check_output_dir, output_guards, summary_table, write_outputs
    from wilsonian.app.run import run

    config = config_from_args(args)
    config.validate()
    check_output_dir(config.out, output_guards(config))  # before any work
    result = run(config)
    out = write_outputs(result, config.out, figure_formats=formats)
    print(summary_table(result))
    print(f"wrote {out}/results.json, learning_curve.csv and figures/")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    formats = _figure_formats(args)
    from wilsonian.app import sweep
    from wilsonian.app.config_file import read_config_file
    from wilsonian.app.outputs import check_output_dir, output_guards

    grid: dict = {}
    workers = args.workers
    if args.config is not None:
        from wilsonian.app.config_file import coerce

        options = read_config_file(args.config)
        file_grid = options.get("grid", {})
        if not isinstance(file_grid, dict):
            raise WilsonianError(f"--config {args.config}: 'grid' must be a table of option = [values]")
        grid.update({k.replace("-", "_"): v for k, v in file_grid.items()})
        if workers is None and options.get("workers") is not None:
            workers = coerce(args.config, "workers", options["workers"], "int", False)
    given: set[str] = set()
    for name, values in args.grid or ():   # a command-line axis replaces the file's
        if name in given:
            flag = name.replace("_", "-")
            raise WilsonianError(f"--grid {flag} is given twice; give all its values in one --grid {flag}=v1,v2,...")
        given.add(name)
        grid[name] = values
    base = config_from_args(args, allow_grid=True, ignore=("workers",))
    sweep.check_activation_axis(base, grid)   # before the base's own check of its parameters
    base.validate()
    grid_checked = sweep.check_grid(grid)
    sweep.plan(base, grid_checked)  # every point validated before any work
    if workers is not None and not 1 <= workers <= 64:
        raise WilsonianError(f"--workers must be between 1 and 64, got {workers}")
    for line in base.ignored_options():   # once for the grid, after its checks
        warnings.warn(line, stacklevel=1)
    guards = output_guards(base)
    check_output_dir(base.out, guards)
    result = sweep.sweep(base, grid_checked, workers=workers)
    sweep.write(result, base, base.out, guards, figure_formats=formats)
    points = len(result.rows)
    print(f"{points} grid point{'s' if points != 1 else ''}; wrote {base.out}/sweep.csv, sweep.json, report.html and figures/")
    return 0


def _unused_options(figure: str, given: set[str]) -> tuple[list[str], str]:
    """The options in ``given`` (dests) that ``figure`` does not use, and why."""
    if figure == "fig3":
        unused = given - _FIG3_OPTIONS
        why = "fig3 is the Hermite toy model: it uses no data set, kernel or learning curve ('wilsonian toy' takes its parameters)"
    else:
        unused = given & (_FIGURE_ONLY_OPTIONS - _FIGURE_OPTIONS.get(figure, set()))
        why = "; ".join(f"{_option_flag(d)} is for {' and '.join(f)}" for d, f in _OPTION_FIGURES.items() if d in unused)
        if figure in ("fig2", "fig5") and given & _LEARNING_OPTIONS:
            unused |= given & _LEARNING_OPTIONS
            why = f"{figure} fits the eigenmodes and draws no learning curve" + (
                "; " + why if unused - _LEARNING_OPTIONS else "")
    return sorted(unused, key=_option_flag), why


def _option_flag(dest: str) -> str:
    return _OPTION_FLAGS.get(dest, "--" + dest.replace("_", "-"))


def _reproduce(args: argparse.Namespace) -> int:
    formats = _figure_formats(args)
    from wilsonian.app import reproduce
    from wilsonian.app.outputs import check_output_dir, output_guards

    if args.figure not in reproduce.FIGURES:
        raise WilsonianError(f"unknown figure {args.figure!r}; choose one of {', '.join(reproduce.FIGURES)}")
    # A loop over the figures may pass every figure the same options, so an option a figure
    # does not use is named on stderr rather than refused: it must not pass unnoticed.
    unused, why = _unused_options(args.figure, getattr(args, "explicit", set()))
    if unused:
        print(f"warning: reproduce {args.figure} ignores {', '.join(_option_flag(d) for d in unused)} ({why})",
              file=sys.stderr)
        # ... and records their defaults, as if they had not been given
        defaults = build_parser().parse_args(["reproduce", args.figure])
        for dest in unused:
            setattr(args, dest, getattr(defaults, dest))
    if args.figure == "fig3":
        guards = [("the cache directory", args.cache_dir)]
        check_output_dir(args.out, guards)
        with _toy_option_names(trials_flag="--trials-mc"):
            result = reproduce.fig3(trials=args.trials_mc, seed=args.seed, quiet=args.quiet)
    else:
        dataset, data_dir = reproduce.choose_dataset(args.dataset, args.data_dir, quiet=args.quiet)
        configs = reproduce.task_configs(config_from_args(args, dataset=dataset, data_dir=data_dir))
        guards = output_guards(configs[0])
        if args.figure == "fig4":
            reproduce.check_thresholds(args.thresholds)
        elif args.figure == "fig2":
            reproduce.mode_pairs(args.modes)
        check_output_dir(args.out, guards)  # before any work
        if args.figure == "fig1":
            result = reproduce.fig1(configs)
        elif args.figure == "fig4":
            result = reproduce.fig4(configs, args.thresholds)
        elif args.figure == "fig2":
            result = reproduce.fig2(configs, args.modes)
        else:
            result = reproduce.fig5(configs, args.modes)
    out = reproduce.write(result, args.out, guards, figure_formats=formats)
    for line in result.summary:
        print(line)
    print(f"wrote {out}")
    return 0


#: The toy's parameters as its library checks name them, and the options that set them.
_TOY_FLAGS = {"lambda1": "--lambda1", "lambda_high": "--lambda-high", "ridge (sigma^2)": "--ridge",
              "n (training points)": "--n", "degree": "--degree", "trials": "--trials", "workers": "--workers",
              "seed": "--seed"}


@contextlib.contextmanager
def _toy_option_names(trials_flag: str = "--trials"):
    """A toy parameter's error in the name of its option ('--n must be at least 1', not 'n
    (training points) must ...'): the checks are the library's, which names its arguments."""
    flags = {**_TOY_FLAGS, "trials": trials_flag}
    try:
        yield
    except WilsonianError as error:
        message = str(error)
        for name, flag in flags.items():
            if message.startswith(name + " must "):
                raise WilsonianError(flag + message[len(name):]) from None
        raise


def _toy(args: argparse.Namespace) -> int:
    formats = _figure_formats(args)
    from wilsonian.app import reproduce
    from wilsonian.app.outputs import check_output_dir

    check_output_dir(args.out)  # before any work
    with _toy_option_names():
        result = reproduce.toy(lambda_highs=tuple(args.lambda_high), trials=args.trials, lambda1=args.lambda1,
                               ridge=args.ridge, n=args.n, degree=args.degree, seed=args.seed,
                               workers=args.workers, quiet=args.quiet)
    out = reproduce.write(result, args.out, figure_formats=formats)
    for line in result.summary:
        print(line)
    print(f"wrote {out}")
    return 0


def _data(args: argparse.Namespace) -> int:
    from wilsonian.data import fetch_dataset

    paths = fetch_dataset(args.name, args.data_dir, mirror=args.mirror, progress=not args.quiet, timeout=args.timeout)
    for path in paths:
        print(path)
    return 0


class _LineTrackingStream:
    """stderr, remembering whether its last character ended a line (progress bars end theirs
    with a carriage return or nothing, so an error printed after one would share its line)."""

    def __init__(self, stream):
        self._stream = stream
        self.at_line_start = True

    def write(self, text: str) -> int:
        if text:
            self.at_line_start = text.endswith("\n")
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _end_progress_lines() -> None:
    """Close any progress bar still on stderr and end its line, so that an error that
    interrupted it starts a line of its own."""
    if "tqdm" in sys.modules:  # no bar was ever shown otherwise (and tqdm costs ~45 ms to import)
        from tqdm import tqdm

        for bar in list(getattr(tqdm, "_instances", ())):
            bar.close()
    if not getattr(sys.stderr, "at_line_start", True):
        sys.stderr.write("\n")


def _error(message: str, code: int = 2) -> int:
    _end_progress_lines()
    print(f"error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``argv``, or the process's own arguments when None.

    With ``argv`` None (the ``wilsonian`` script, ``python -m wilsonian``) the process ends
    when this returns, so the objects the command made are frozen out of the garbage
    collector (:func:`gc.freeze`): the interpreter's exit then skips a collection over all of
    them, 0.5-0.8 s of a ``wilsonian run`` with NumPy, SciPy, numba, scikit-learn and
    Matplotlib loaded, against 0.07 s. Files are closed by then and exit handlers still run;
    a caller that passes ``argv`` (a test, a notebook) keeps its collector as it was.
    """
    stderr, show_warning = sys.stderr, warnings.showwarning
    sys.stderr = _LineTrackingStream(stderr)
    warnings.showwarning = show_warning_on_one_line
    if argv is None:   # the process ends with this command: a second Ctrl-C must not cut its end short
        from wilsonian.app.workers import one_interrupt_until_exit

        one_interrupt_until_exit()
    try:
        return _main(argv)
    finally:
        sys.stderr, warnings.showwarning = stderr, show_warning
        if argv is None:
            import gc

            gc.freeze()


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "config", None) is not None or args.command == "reproduce":
            args.explicit = _explicit_options(argv)
        handler = {"run": _run, "sweep": _sweep, "reproduce": _reproduce, "toy": _toy, "data": _data}[args.command]
        return handler(args)
    except WilsonianError as exc:
        return _error(str(exc))
    except FileNotFoundError as exc:
        return _error(f"file not found: {exc.filename or exc}")
    except PermissionError as exc:
        return _error(f"permission denied: {exc.filename or exc}")
    except BrokenPipeError:  # the reader of stdout went away (e.g. | head): nothing to report
        return 0
    except OSError as exc:
        return _error(os_error_message(exc))
    except MemoryError:
        return _error("out of memory; use a smaller --n-pool")
    except KeyboardInterrupt:
        return _error("interrupted", 130)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
