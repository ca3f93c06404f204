"""The report's markdown: golden files per case, then the rules each case relies on."""

from __future__ import annotations

import pytest

from reports.checks import CHECK_TEXT_LIMIT
from reports.markdown import COMMENT_LIMIT, render_markdown
from tests.fixtures.golden import assert_golden
from tests.fixtures.report_cases import (
    CASES,
    COMMAND,
    IMAGE_BASE,
    error_report,
    first_model_report,
    golden_path,
    make_report,
    metric,
    render_case,
)
from tests.fixtures.report_cases import truncated_report as big_report


@pytest.mark.parametrize("case", sorted(CASES))
def test_markdown_matches_the_golden_file(case: str) -> None:
    assert_golden(f"the {case!r} report", render_case(case), golden_path(case), COMMAND)


def test_the_heading_shows_the_verdict_kind_model_and_summary() -> None:
    lines = render_markdown(CASES["failed_gates"]).splitlines()
    assert lines[0] == "## ❌ Production failed: wine-classifier"
    assert "**accuracy 0.889 (-0.019 vs champion), 1/3 gates passed**" in lines
    assert "**Outcome:** not promoted: f1_macro did not beat the champion" in lines
    assert render_markdown(error_report()).startswith("## ⚠️ Staging stopped with an error")


def test_a_first_model_says_it_was_judged_by_absolute_gates_alone() -> None:
    text = render_markdown(first_model_report())
    assert "No champion yet: the candidate was judged by absolute gates alone." in text
    assert "| accuracy |       0.963 |          — |   — |       —       |" in text


def test_an_unusable_champion_is_named() -> None:
    data = first_model_report()
    data["champion_error"] = "model v6 could not be loaded"
    assert ("The champion could not be used (model v6 could not be loaded): the candidate was judged "
            "by absolute gates alone.") in render_markdown(data)


def test_names_and_reasons_cannot_break_the_tables() -> None:
    data = make_report(metrics=[metric("a|b *c* [x](y) <img>", 0.5, 0.4)])
    data["gates"][0]["reason"] = "line one\nline | two"
    text = render_markdown(data)
    assert r"| a\|b \*c\* \[x\](y) \<img> |" in text
    assert r"✅ line one line \| two" in text


def test_a_lower_is_better_metric_is_marked_and_explained() -> None:
    text = render_markdown(CASES["regression"])
    assert "| rmse ↓   |" in text and "for ↓ metrics, lower values are better" in text


def test_errors_show_the_last_50_log_lines_in_a_fence_and_no_plots() -> None:
    data = error_report()
    text = render_markdown(data, IMAGE_BASE, images=["confusion"])
    assert "Last 50 log lines:" in text and data["log_tail"][29] not in text and data["log_tail"][30] in text
    assert "\n````text\n" in text and text.count("\n````") == 2  # the log's own ``` cannot close it
    assert "![" not in text and "### Metrics" not in text


def test_only_the_links_that_are_set_are_shown() -> None:
    links = render_markdown(first_model_report()).rsplit("---", 1)[1]
    assert "[MLflow run](" in links and "[commit 1a2b3c4](" in links
    assert "full log" not in links and "full report" not in links


def test_images_are_linked_under_the_image_base() -> None:
    text = render_markdown(make_report(), image_base="plots/", images=["roc", "custom"])
    assert "![ROC curves](plots/roc.png)\n![custom](plots/custom.png)" in text


def test_a_report_within_the_limit_is_not_shortened() -> None:
    text = render_markdown(make_report())
    assert len(text) < COMMENT_LIMIT and "✂️" not in text


@pytest.mark.parametrize("limit", [COMMENT_LIMIT, CHECK_TEXT_LIMIT, 8_000])
def test_a_huge_report_is_shortened_to_the_limit_keeping_verdict_and_gates(limit: int) -> None:
    data = big_report()
    full = render_markdown(data, limit=10**9)
    assert len(full) > COMMENT_LIMIT and full.count("| store ") == 5_000
    text = render_markdown(data, IMAGE_BASE, ["confusion"], limit=limit)
    assert len(text) <= limit
    assert text.startswith("## ✅ Staging passed: wine-classifier")
    assert "### Gates" in text and "| roc_auc must_beat " in text
    assert f"Shortened to fit GitHub's limit of {limit:,} characters (slice rows trimmed): " \
           f"[the full report]({data['links']['full_report']})." in text
    assert "largest regressions of 5,000 slice rows:" in text and "| store-4809 |" in text


def test_detail_goes_in_order_slices_then_metrics_then_plots() -> None:
    data = big_report()
    compact = render_markdown(data, IMAGE_BASE, ["confusion"], limit=2_400)
    assert len(compact) <= 2_400 and "### Slices" not in compact
    assert "(slice rows, metric details trimmed)" in compact
    assert "| metric   |   candidate |   champion |      Δ |\n" in compact and "### Plots" in compact
    bare = render_markdown(data, IMAGE_BASE, ["confusion"], limit=2_000)
    assert "### Metrics" not in bare and "### Plots" not in bare and "### Gates" in bare
    assert "(slice rows, metric details, plots trimmed)" in bare


def test_log_lines_are_dropped_before_the_error_itself() -> None:
    data = error_report()
    data["links"]["full_report"] = None
    fewer = render_markdown(data, limit=1_100)
    assert len(fewer) <= 1_100 and "Last 5 log lines:" in fewer
    assert "(log lines trimmed): the full report is in the run's artifacts (`report.md`)." in fewer
    none = render_markdown(data, limit=900)
    assert "log lines:" not in none and "ValueError: could not convert" in none
