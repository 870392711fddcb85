"""The figures' fixed layout, the savers, the formats, plain log tick labels and the quick exit."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from wilsonian import plots, toy
from wilsonian.app.config import RunConfig
from wilsonian.app.run import run
from wilsonian.errors import WilsonianError
from wilsonian.mode_stats import mode_statistics
from wilsonian.plots import learning


@pytest.fixture(scope="module")
def every_figure(tmp_path_factory):
    """Each figure function on real (small) results: name → Figure."""
    config = RunConfig(etas=(5, 10, 20, 40), trials=3, quiet=True, no_cache=True, nongaussian=True,
                       out=str(tmp_path_factory.mktemp("out")))
    result = run(config)
    sweep = run(replace(config, ridges=(1e-8, 1e-3, 1e-1), nongaussian=False))
    lc = result.results["learning_curve"]
    tables = [p.compare(c) for p, c in zip(sweep.predictions, sweep.curves)]
    rows = [{"point": {"ridge": r}, "table": t} for r, t in zip(sweep.config.ridge_values, tables)]
    theory = result.theory
    rng = np.random.default_rng(3)
    phi = np.column_stack([rng.standard_normal(2000), rng.standard_t(3, 2000), rng.standard_cauchy(2000),
                           rng.standard_normal(2000)])
    by_t = {"0.5": {"rg": lc["rg"], "rg_all_learnable": lc["rg_all_learnable"]}}
    return {
        "learning_curves": learning.learning_curves_figure(lc, label="a label"),
        "spectrum": learning.spectrum_figure(result.spectrum, fit=result.results["scaling"]["eigenvalues"],
                                             label="a label"),
        "rg_flow": learning.rg_flow_figure(theory, lc, label="a label"),
        "learnability": learning.learnability_figure(theory, lc),
        "soft_flow": plots.soft_flow_figure(theory.soft_flow(lc["eta"]), lc, label="a label"),
        "ridge_sweep": learning.ridge_sweep_figure(tables, sweep.config.ridge_values, sweep.results.get("evidence"),
                                                   label="a label"),
        "sweep_flow": plots.sweep_flow_figure(rows, title="flow"),
        "nongaussian": plots.nongaussian_figure(result.extras["nongaussian"]),
        "fig1": plots.fig1_figure([("task a", lc), ("task b", lc)], title="Fig. 1"),
        "fig4": plots.fig4_figure([("task a", lc, by_t), ("task b", lc, by_t)], (0.5,), title="Fig. 4"),
        "joint": plots.joint_pairs_figure(phi, [(1, 2), (3, 4)], title="pairs"),
        "gauss_vs_cauchy": plots.gauss_vs_cauchy_figure(mode_statistics(phi), title="modes"),
        "marginals": plots.marginals_figure(phi, [1, 2, 3, 4], title="marginals", columns=3),
        "toy": plots.toy_figure(toy.toy_results(lambda_highs=(0.0, 0.1), trials=5_000)),
    }


def test_figures_use_a_fixed_layout_that_keeps_every_label_inside_and_apart(every_figure):
    for name, fig in every_figure.items():
        assert fig.get_layout_engine() is None, name
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        width, height = fig.get_size_inches()
        tight = fig.get_tightbbox(renderer)  # inches: everything drawn, labels included
        assert tight.x0 >= -0.01 and tight.y0 >= -0.01, (name, tight)
        assert tight.x1 <= width + 0.01 and tight.y1 <= height + 0.01, (name, tight)
        axes = [ax for ax in fig.axes if ax.get_visible()]
        for a in axes:  # an axes' labels and tick labels never run into another axes' plot area
            outer = a.get_tightbbox(renderer)
            for b in axes:
                if b is not a:
                    overlap = min(outer.x1, b.bbox.x1) - max(outer.x0, b.bbox.x0), \
                              min(outer.y1, b.bbox.y1) - max(outer.y0, b.bbox.y0)
                    assert min(overlap) <= 1, (name, overlap)


def test_joint_pairs_tick_labels_stay_apart_for_a_mode_near_a_constant():
    # φ₁ of the digits' kernel is about −1 ± 0.05: its tick labels (−1.050, −1.025, ...) ran
    # into each other and into the right marginal's.
    rng = np.random.default_rng(0)
    phi = np.column_stack([-1.0 + 0.02 * rng.standard_normal(354), rng.standard_normal(354)])
    fig = plots.joint_pairs_figure(phi, [(1, 2)])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    joint = next(ax for ax in fig.axes if ax.get_xlabel() == "φ₁")
    right = next(ax for ax in fig.axes if ax is not joint and ax.get_shared_y_axes().joined(ax, joint))
    boxes = [t.get_window_extent(renderer) for t in joint.get_xticklabels() if t.get_text() and t.get_visible()]
    boxes = [b for b in boxes if joint.bbox.x0 - 1 <= (b.x0 + b.x1) / 2 <= joint.bbox.x1 + 1]
    assert len(boxes) >= 3
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:])), boxes
    assert boxes[-1].x1 + 4 < min(t.get_window_extent(renderer).x0 for t in right.get_xticklabels() if t.get_text())


def test_log_tick_labels_are_the_default_labels_in_plain_text(every_figure):
    from matplotlib.ticker import LogFormatterSciNotation

    plain, mathtext = plots.core.PlainLogFormatter(base=10.0), LogFormatterSciNotation(base=10.0)
    values = (1e-3, 2e-3, 1.0, 10.0, 0.5, 1e12, 3e5, -1e-3)
    assert [plain(v) for v in values] == ["10⁻³", "2×10⁻³", "10⁰", "10¹", "5×10⁻¹", "10¹²", "3×10⁵", "−10⁻³"]
    assert [bool(mathtext(v)) for v in values] == [True] * len(values)
    drawn = 0
    for name, fig in every_figure.items():
        plots.core.render(fig, "png")
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                labels = [t.get_text() for t in axis.get_ticklabels(which="both") if t.get_text()]
                assert not any("$" in label for label in labels), (name, labels)
                drawn += axis.get_scale() in ("log", "symlog") and bool(labels)
    assert drawn > 10


def test_no_figure_needs_the_mathtext_parser(every_figure, monkeypatch):
    # The parser's set-up and parses were half of the toy figure's drawing time: every label,
    # title, legend entry and tick label is plain text (subscripts as Unicode digits).
    from matplotlib import mathtext

    def refuse(self, s, *args, **kwargs):
        raise AssertionError(f"mathtext parsed: {s!r}")

    monkeypatch.setattr(mathtext.MathTextParser, "parse", refuse)
    for name, fig in every_figure.items():
        plots.core.render(fig, "png")
    assert plots.core.subscript(12) == "₁₂" and plots.core.subscript("-3") == "₋₃"


def test_the_wilsonian_process_freezes_its_objects_before_exit_and_callers_keep_their_collector():
    import gc

    from wilsonian.app.cli import main

    before = gc.get_freeze_count()
    assert main(["reproduce", "fig9"]) == 2 and gc.get_freeze_count() == before
    code = ("import gc, sys\n"
            "from wilsonian.app.cli import main\n"
            "sys.argv = ['wilsonian', 'reproduce', 'fig9']\n"
            "assert main() == 2 and gc.get_freeze_count() > 0\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_check_formats():
    assert plots.check_formats("png,pdf") == ("png", "pdf")
    assert plots.check_formats(["PDF", ".png", "pdf"]) == ("pdf", "png")
    assert plots.COMMAND_FORMATS == ("png",) and plots.FORMATS == ("png", "pdf")
    for bad in ("svg", "", ",", ["png", "eps"]):
        with pytest.raises(WilsonianError, match="figure format"):
            plots.check_formats(bad)


def test_save_figure_writes_the_formats_asked_for_and_reproducible_pdf(tmp_path, every_figure):
    fig = every_figure["learnability"]
    written = plots.save_figure(fig, tmp_path / "a" / "fig")
    assert written == (tmp_path / "a" / "fig.png", tmp_path / "a" / "fig.pdf")
    assert written[0].read_bytes().startswith(b"\x89PNG") and written[1].read_bytes().startswith(b"%PDF")
    again = plots.save_figure(fig, tmp_path / "b" / "fig", formats=("pdf",))
    assert again == (tmp_path / "b" / "fig.pdf",)
    assert again[0].read_bytes() == written[1].read_bytes()  # no creation date in the PDF
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["fig.pdf"]


def test_a_figure_changed_after_saving_is_saved_as_changed(tmp_path):
    fig = plots.figure(2, 2)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1])
    first = plots.save_figure(fig, tmp_path / "one", formats="png")[0].read_bytes()
    ax.set_title("changed")
    second = plots.save_figure(fig, tmp_path / "two", formats="png")[0].read_bytes()
    assert first != second


def test_save_figures_writes_every_figure_and_stops_at_a_drawing_error(tmp_path, monkeypatch):
    good, bad = plots.figure(2, 2), plots.figure(2, 2)
    good.subplots().plot([0, 1])
    paths = plots.save_figures({"a/good": good, "b": good}, formats=("png", "pdf"), directory=tmp_path / "ok")
    assert [p.relative_to(tmp_path / "ok").as_posix() for p in paths] == ["a/good.png", "a/good.pdf", "b.png",
                                                                           "b.pdf"]
    real_render = plots.core.render

    def failing_render(fig, fmt, **kwargs):
        if fig is bad:
            raise RuntimeError("cannot draw this one")
        return real_render(fig, fmt, **kwargs)

    monkeypatch.setattr(plots.core, "render", failing_render)
    with pytest.raises(RuntimeError, match="cannot draw"):
        plots.save_figures({"bad": bad}, formats=("png",), directory=tmp_path / "failed")
    assert not (tmp_path / "failed" / "bad.png").exists()


def test_front_door_and_plots_package_load_lazily():
    code = (
        "import sys\n"
        "import wilsonian.plots, wilsonian.plots.formats\n"
        "assert 'matplotlib' not in sys.modules, 'plots package imported matplotlib'\n"
        "import wilsonian.app.reproduce, wilsonian.app.cli, wilsonian.gp\n"
        "assert 'wilsonian.app.run' not in sys.modules and 'scipy.stats' not in sys.modules\n"
        "assert 'tqdm' not in sys.modules, 'tqdm (~45 ms) is imported only to show a bar'\n"
        "assert 'http.client' not in sys.modules, 'the downloader (~40 ms) loads only to download'\n"
        "from wilsonian.plots import toy_figure\n"
        "assert 'matplotlib.figure' in sys.modules and 'scipy.stats' not in sys.modules\n"
        "import wilsonian.operators as operators\n"
        "assert 'wilsonian.operators.dask_cluster' not in sys.modules\n"
        "from wilsonian.operators import DaskOperator, TorchOperator, dask_client\n"
        "import wilsonian.operators.dask_cluster as d, wilsonian.operators.torch_device as t\n"
        "assert (DaskOperator, dask_client, TorchOperator) == (d.DaskOperator, d.dask_client, t.TorchOperator)\n"
        "assert {'DaskOperator', 'TorchOperator'} <= set(dir(operators)) and set(operators.__all__) <= set(dir(operators))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
