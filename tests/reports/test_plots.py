"""The PNG plots: which apply, valid and small images, identical bytes, and the right content."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from reports.figures import confusion_figure, curve_figure, deltas_figure, history_figure, png_bytes
from reports.plots import PLOTS, plot_names, render_plots
from reports.types import CurvePair
from tests.fixtures.report_cases import CASES, classification, curve, make_report, metric, regression

SIZES = {  # pixels at 100 dpi
    ("classification", "confusion"): (920, 440), ("first_model", "confusion"): (460, 440),
    ("classification", "roc"): (500, 460), ("classification", "pr"): (500, 460),
    ("classification", "deltas"): (640, 270), ("classification", "history"): (800, 360),
    ("regression", "predicted_vs_actual"): (540, 500), ("regression", "residuals"): (960, 400),
}
RENDERED = ("classification", "regression", "first_model")


@pytest.fixture(scope="module")
def plots() -> dict[str, dict[str, bytes]]:
    return {case: render_plots(CASES[case]) for case in RENDERED}


def test_only_the_plots_that_apply_are_rendered(plots: dict[str, dict[str, bytes]]) -> None:
    assert list(plots["classification"]) == ["confusion", "roc", "pr", "deltas", "history"]
    assert list(plots["regression"]) == ["predicted_vs_actual", "residuals", "deltas", "history"]
    assert list(plots["first_model"]) == ["confusion", "roc", "pr"]  # no champion, no history
    assert plot_names(CASES["error"]) == [] and render_plots(CASES["error"]) == {}
    assert set(plot_names(CASES["failed_gates"])) <= set(PLOTS)


@pytest.mark.parametrize("case", RENDERED)
def test_every_plot_is_a_small_png_of_the_expected_size(plots: dict[str, dict[str, bytes]],
                                                        case: str) -> None:
    for name, png in plots[case].items():
        image = Image.open(io.BytesIO(png))
        image.load()
        assert image.format == "PNG" and len(png) < 100_000, name
        assert image.size == SIZES.get((case, name), SIZES.get(("classification", name))), name
        assert "Software" not in image.info, name


def test_the_same_data_gives_identical_bytes(plots: dict[str, dict[str, bytes]]) -> None:
    assert render_plots(CASES["classification"]) == plots["classification"]


def test_a_large_regression_stays_under_100_kb() -> None:
    pngs = render_plots(make_report(classification=None, regression=regression(rows=20_000), metrics=[],
                                    history=[]))
    assert list(pngs) == ["predicted_vs_actual", "residuals"]
    assert all(len(png) < 100_000 for png in pngs.values())


def test_the_confusion_matrix_annotates_every_count() -> None:
    fig = confusion_figure(classification(), champion_version=6)
    candidate, champion = ([text.get_text() for text in ax.texts] for ax in fig.axes)
    assert candidate == ["18", "1", "0", "1", "20", "0", "0", "0", "14"]
    assert champion == ["17", "2", "0", "2", "17", "2", "0", "1", "13"]
    assert fig.axes[0].get_title() == "Candidate: 52/54 correct (96.3%)"
    assert fig.axes[1].get_title().startswith("Champion (v6)")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["class_0", "class_1", "class_2"]


def test_the_roc_legend_shows_each_models_auc() -> None:
    candidate, champion = curve(0.08), curve(0.15)
    fig = curve_figure(CurvePair(candidate=candidate, champion=champion), "roc", classes=2)
    legend = fig.axes[0].get_legend()
    assert legend is not None
    assert [text.get_text() for text in legend.get_texts()] == [
        "Chance", f"Candidate (AUC {candidate['auc']:.3f})", f"Champion (AUC {champion['auc']:.3f})"]
    assert fig.axes[0].get_xlabel() == "False positive rate"
    assert fig.axes[0].get_title() == "ROC curve (positive class)"


def test_the_deltas_plot_labels_each_change() -> None:
    fig = deltas_figure([metric("accuracy", 0.9, 0.8), metric("rmse", 2.0, 1.5, higher_is_better=False),
                         metric("new", 0.5, None)])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["+0.100", "-0.500"]  # no champion value: not plotted
    assert [t.get_text() for t in ax.get_yticklabels()] == ["accuracy", "rmse"]


def test_the_history_plot_ends_with_the_candidate() -> None:
    data = CASES["classification"]
    fig = history_figure(data["history"], data["metrics"])
    assert [ax.get_title() for ax in fig.axes] == ["accuracy", "f1_macro"]
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks[0] == "v3\nOct 1 '26" and ticks[-1] == "candidate"
    assert len(png_bytes(fig)) < 100_000


def test_degenerate_data_still_renders() -> None:
    nan = float("nan")
    data = make_report(
        metrics=[metric("accuracy", nan, 0.9), metric("f1", 0.9, 0.8, ci=None)],
        classification={**classification(), "confusion_candidate": [[0, 0, 0]] * 3, "roc": None, "pr": None},
        regression={"y_true": [1.0, nan, 3.0], "candidate": [1.0, 2.0, nan], "champion": None},
        history=[{"version": 1, "when": "yesterday", "metric": "accuracy", "value": 0.9}],
    )
    data["metrics"][0]["delta"] = nan
    pngs = render_plots(data)
    assert list(pngs) == ["confusion", "predicted_vs_actual", "residuals", "deltas", "history"]
    assert all(Image.open(io.BytesIO(png)).size for png in pngs.values())
