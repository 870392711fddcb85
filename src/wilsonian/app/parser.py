"""The command line's parser: every subcommand's options, their types and their help.

Kept apart from :mod:`wilsonian.app.cli` (which runs the commands) so that each reads in one
sitting. Option values are parsed here into the types :class:`~wilsonian.app.config.RunConfig`
holds; everything that needs more than one option is checked there.
"""

from __future__ import annotations

import argparse
import math
from typing import Sequence

from wilsonian import __version__
from wilsonian.data.catalog import DATASETS
from wilsonian.errors import WilsonianError


#: ``wilsonian reproduce --help``: what each figure is and which options it reads.
_FIGURES_HELP = """\
figures:
  fig1  MSE against eta for the data set's two tasks: empirical, EK, spectral bias
        and the RG (at --ridge and --threshold)
  fig2  joint distributions of pairs of eigenmodes, with Gaussian marginals
        (--modes, default 10,11; an odd count pairs the first with each other)
  fig3  the Hermite toy model of the non-Gaussian RG, a Monte Carlo of --trials-mc
        training sets (default 5e6); no data, kernel or learning options
        ('wilsonian toy' takes the model's parameters)
  fig4  the RG prediction for several learnability thresholds (--thresholds,
        default 0.25,0.5,0.75): one spectrum and one set of draws
  fig5  Gaussian against Cauchy laws of every resolved mode along k, and high-k
        marginals (--modes: the marginals shown)
  fig2 and fig5 use the data and kernel options only; an option a figure does
  not use is named in a warning and ignored.

data: the paper's two tasks of --dataset (mnist 8-9 and 0-1, fashion-mnist 0-9
and 7-9, cifar10 ship-truck and automobile-bird, digits 8-9 and 0-1), pools of
10,000 training images each unless --n-pool is given (digits: the whole set).
Without --dataset: Fashion-MNIST where it is installed, else scikit-learn's digits.
"""

class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2), as the rest of the CLI."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise WilsonianError(f"{message} (see '{self.prog} --help')")


def _int_list(text: str) -> tuple[int, ...]:
    values = []
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        try:
            number = float(token)
            if not math.isfinite(number) or number != int(number):
                raise ValueError
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
        values.append(int(number))
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return tuple(values)


def _float_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
    return values


def _ridges(text: str) -> tuple[float, ...]:
    """One ridge, a comma-separated list, or a log range start:stop:count."""
    if ":" in text:
        from wilsonian.app.config_file import ridge_range

        try:
            return ridge_range(text)
        except WilsonianError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return _float_list(text)


def _tile_cache(text: str) -> float | None:
    """--tile-cache-gib: "auto" (None: a quarter of the available memory) or a number of GiB."""
    if text.strip().lower() == "auto":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto or a number of GiB, got {text!r}") from None


def _add_data_options(p: argparse.ArgumentParser, *, dataset_default: str | None = "digits",
                      dataset_help: str = "", n_pool_help: str = "the whole pool") -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default=dataset_default,
                   help=f"one of {', '.join(DATASETS)} (default: {dataset_help or '%(default)s'})")
    g.add_argument("--data-dir", help="directory with the data set's files (IDX files, cifar-10-batches-py)")
    g.add_argument("--data-file", help="the .npz file for --dataset npz (arrays X and y)")
    g.add_argument("--split", default="train", help="train, test or all (default: %(default)s)")
    g.add_argument("--n-pool", type=int, help=f"seeded subsample of N points (default: {n_pool_help})")
    g.add_argument("--preprocessing", default="unit-norm", help="unit-norm (default), standardize or none")


def _add_kernel_options(p: argparse.ArgumentParser) -> None:
    from wilsonian.kernels import ACTIVATIONS

    g = p.add_argument_group("kernel")
    g.add_argument("--kernel", default="nngp", help="nngp, ntk, or precomputed (with --kernel-file) (default: %(default)s)")
    g.add_argument("--activation", default="relu", help=f"{', '.join(ACTIVATIONS)} (default: %(default)s)")
    g.add_argument("--activation-param", dest="activation_params", action="append", metavar="NAME=VALUE",
                   help="a parameter of the activation, repeatable: slope (leaky-relu), a and b (abrelu, gaussian, "
                        "exp; a, b, c for erf, sin, cos), degree (rectified-monomial, monomial), points (tanh, "
                        "sigmoid: Gauss-Hermite quadrature with that many nodes per dimension instead of the "
                        "Hermite series)")
    g.add_argument("--architecture", default="fc", help="fc (fully connected) or conv (a CNN on the images) "
                                                        "(default: %(default)s)")
    g.add_argument("--filter", type=int, default=3, help="conv: f × f filters (default: %(default)s)")
    g.add_argument("--padding", default="same", help="conv: same or valid (default: %(default)s)")
    g.add_argument("--readout", default="flatten", help="conv: flatten (a dense readout over positions) or gap "
                                                        "(global average pooling; quadratic in positions) "
                                                        "(default: %(default)s)")
    g.add_argument("--depth", type=int, default=2, help="hidden layers L (conv: convolutional layers) "
                                                        "(default: %(default)s)")
    g.add_argument("--weight-var", type=float, default=2.0, help="σ_w² (default: %(default)s)")
    g.add_argument("--bias-var", type=float, default=0.0, help="σ_b² (default: %(default)s)")
    g.add_argument("--kernel-file", help="--kernel precomputed: an N × N .npy in the pool's order, or an .npz with K "
                                         "(and optionally X, checked to be the pool's rows)")
    g.add_argument("--symmetry-tol", type=float, default=1e-8,
                   help="--kernel-file: largest |K − Kᵀ|/max|K| accepted (default: %(default)g)")
    g.add_argument("--psd-tol", type=float, default=1e-8,
                   help="--kernel-file: smallest eigenvalue accepted, as a fraction of −λ_1 (default: %(default)g)")


def _add_learning_options(p: argparse.ArgumentParser, *, trials: int = 20) -> None:
    g = p.add_argument_group("learning")
    g.add_argument("--ridge", type=_ridges, default=(1e-8,),
                   help="GP ridge σ², or several: 1e-8,1e-6,1e-4, or a log range 1e-8:1e-2:7 (start:stop:count); "
                        "several ridges share every kernel, spectrum and draw (default: 1e-8)")
    g.add_argument("--label-noise", type=float, default=0.0,
                   help="variance ε² of seeded Gaussian noise on the training labels (test targets stay clean)")
    g.add_argument("--threshold", type=float, default=0.5, help="RG learnability threshold T in (0,1) (default: 0.5)")
    g.add_argument("--etas", type=_int_list, help="training-set sizes, e.g. 10,20,50 (default: 12 log-spaced from 10 to min(2000, N/4); "
                        "from fewer than 10 on pools under N = 160)")
    g.add_argument("--trials", type=int, default=trials, help="independent draws per η (default: %(default)s)")
    g.add_argument("--replace", action=argparse.BooleanOptionalAction, default=False,
                   help="draw training points with replacement (default: without)")


def _add_run_options(p: argparse.ArgumentParser, *, out: str) -> None:
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: %(default)s)")
    g.add_argument("--out", default=out, help="output directory (default: %(default)s)")
    g.add_argument("--cache-dir", help="cache directory (default: $WILSONIAN_CACHE or ~/.cache/wilsonian)")
    g.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    g.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _add_figure_option(g)


def _add_figure_option(g) -> None:
    g.add_argument("--figure-formats", help="figure files to write: png, pdf or png,pdf (default: png)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wilsonian", description="Wilsonian RG of neural-network Gaussian processes.")
    parser.add_argument("--version", action="version", version=f"wilsonian {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="data → kernel → spectrum → learning curves and theories → results and figures")
    _add_data_options(run)
    run.add_argument("--classes", help="the classes: A,B (a binary task, y = +1 for A, −1 for B), a list of more, or "
                                      "'all' (one-hot targets, one output per class); indices or names")
    run.add_argument("--targets", help="binary (two classes only) or one-hot (any number); default: binary for two "
                                      "classes, one-hot for more")
    _add_kernel_options(run)
    _add_learning_options(run)
    _add_run_options(run, out="results")
    run.add_argument("--config", help="a TOML or JSON file of options (the same names; a run's own config.json "
                                     "reproduces it); options on the command line override it")
    run.add_argument("--nongaussian", action="store_true",
                     help="also compute the input-dependent ridge and the reweighted (non-Gaussian) RG per point")
    run.add_argument("--power-per-output", action="store_true",
                     help="with several outputs (one-hot classes), also draw each output's target power in the "
                          "spectrum figure")
    big = run.add_argument_group("large pools")
    big.add_argument("--solver", default="dense",
                     help="dense (every mode; stores K), topk (the top --k modes without storing K) or dask "
                          "(topk on a Dask cluster)")
    big.add_argument("--k", type=int, help="modes to resolve with --solver topk/dask")
    big.add_argument("--tol", type=float, help="eigensolver tolerance for --solver topk/dask: residual ‖Kv − wv‖/w_1 "
                                               "(default 1e-12; 5e-14 for y_k to ~1e-8; at least √N·2.2e-16, the round-off of a product with K)")
    big.add_argument("--extra-modes", type=int, default=0,
                     help="resolve this many modes beyond --k and keep --k (the last modes converge slowest)")
    big.add_argument("--tile-cache-gib", type=_tile_cache, default=None, metavar="auto|GIB",
                     help="with --solver topk: keep the kernel's whole row tiles that fit in this many GiB between "
                          "eigensolver passes, so that later passes recompute only the rest (same numbers; every "
                          "tile is about 4·N² bytes for large N, 1.55 GiB at N = 20,000); default auto, a quarter "
                          "of the memory available at the start; 0 recomputes every tile at every pass")
    big.add_argument("--scheduler", help="Dask scheduler address for --solver dask (default: a local cluster)")
    big.add_argument("--device", help="cpu or cuda: kernels and the dense eigensystem with PyTorch")

    swp = sub.add_parser("sweep", help="a grid of runs (T, depth, activation, σ_w², σ_b², ridge, classes, pool size) "
                                       "that shares every kernel, spectrum and draw it can")
    _add_data_options(swp)
    swp.add_argument("--classes", help="the classes, as for run (sweep several tasks with --grid classes=0,9;7,9)")
    swp.add_argument("--targets", help="binary or one-hot, as for run")
    _add_kernel_options(swp)
    _add_learning_options(swp)
    _add_run_options(swp, out="sweep")
    swp.add_argument("--grid", action="append", type=_grid_option, metavar="NAME=V1,V2,...",
                     help="a grid axis: threshold, ridge, depth, activation, weight-var, bias-var, n-pool, or classes "
                          "(pairs separated by ';'); repeat for more axes")
    swp.add_argument("--workers", type=int, help="parallel processes for the points that need their own spectrum "
                                                 "(default: the CPU count)")
    swp.add_argument("--config", help="a TOML or JSON file of options and a [grid] table")

    rep = sub.add_parser("reproduce", help="reproduce a figure of the paper (fig1, fig2, fig3, fig4, fig5)",
                         epilog=_FIGURES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    rep.add_argument("figure", help="fig1, fig2, fig3, fig4 or fig5")
    _add_data_options(rep, dataset_default=None, dataset_help="Fashion-MNIST where it is installed, else digits",
                      n_pool_help="10,000, the paper's size; digits: the whole set")
    _add_kernel_options(rep)
    _add_learning_options(rep)
    rep.add_argument("--thresholds", type=_float_list, default=(0.25, 0.5, 0.75), help="T values for fig4")
    rep.add_argument("--trials-mc", type=int, default=5_000_000, help="Monte Carlo training sets for fig3")
    rep.add_argument("--modes", type=_int_list, help="modes (1-based) for fig2/fig5")
    _add_run_options(rep, out="figures")

    toy = sub.add_parser("toy", help="the Hermite toy model of the non-Gaussian RG (paper Fig. 3)")
    toy.add_argument("--trials", type=int, default=5_000_000, help="independent training sets m (default: 5e6)")
    toy.add_argument("--lambda-high", type=_float_list, default=(0.0, 0.1),
                     help="λ_> values, comma-separated (default: 0,0.1)")
    toy.add_argument("--lambda1", type=float, default=1.0, help="λ_1 (default: 1)")
    toy.add_argument("--ridge", type=float, default=400.0, help="σ² (default: 400)")
    toy.add_argument("--n", type=int, default=100, help="training points per set (default: 100)")
    toy.add_argument("--degree", type=int, default=5, help="target He_degree (default: 5)")
    toy.add_argument("--seed", type=int, default=0, help="seed of the Monte Carlo's draws (default: 0)")
    toy.add_argument("--workers", type=int, help="threads (default: all cores)")
    toy.add_argument("--out", default="toy", help="output directory (default: %(default)s)")
    toy.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _add_figure_option(toy)

    data = sub.add_parser("data", help="data sets: download")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    fetch = data_sub.add_parser("fetch", help="download mnist, fashion-mnist or cifar10 with SHA-256 checks")
    fetch.add_argument("name", help="mnist, fashion-mnist or cifar10")
    fetch.add_argument("--data-dir", required=True, help="where to put the files")
    fetch.add_argument("--mirror", help="base URL of a mirror holding the standard file names")
    fetch.add_argument("--timeout", type=float, default=60.0,
                       help="seconds without data before a connection is given up (default: %(default)g)")
    fetch.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def _grid_option(text: str):
    from wilsonian.app.sweep import parse_grid_option

    try:
        return parse_grid_option(text)
    except WilsonianError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _explicit_options(argv: Sequence[str] | None) -> set[str]:
    """The options given on the command line itself (not by their defaults)."""
    parser = build_parser()
    options = set()
    for action in _all_actions(parser):
        if action.option_strings:
            options.add(action.dest)
            action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(argv))) & options   # not the subcommand's name or positionals


def _all_actions(parser: argparse.ArgumentParser):
    for action in parser._actions:  # argparse keeps its actions here
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_actions(sub)
