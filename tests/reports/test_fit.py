"""Graceful truncation: shorter versions in rank order, then a clean cut."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from reports.fit import Section, clip, fit, open_fence


def _versions(*texts: str) -> Callable[[], Iterator[str]]:
    """A ``Section.shorter`` giving ``texts``."""
    return lambda: iter(texts)


def test_sections_that_fit_are_joined_untouched() -> None:
    assert fit([Section("a"), Section("b", "bees", 1, _versions(""))], 10) == "a\n\nb"


def test_the_lowest_rank_is_shortened_first_and_the_note_names_it() -> None:
    sections = [Section("head"), Section("x" * 200, "xs", 2, _versions("x")),
                Section("y" * 200, "ys", 1, _versions("y" * 20, ""))]
    text = fit(sections, 350, "[full](u)")
    note = "> ✂️ Shortened to fit GitHub's limit of 350 characters (ys trimmed): [full](u)."
    assert text.startswith(f"head\n\n{note}\n\n")
    assert text.endswith("x" * 200 + "\n\n" + "y" * 20) and len(text) <= 350


def test_when_the_kept_sections_are_too_long_the_text_is_cut() -> None:
    text = fit([Section("h" * 100), Section("z" * 50, "zs", 1, _versions(""))], 80)
    assert len(text) <= 80 and text.endswith("… (truncated to 80 characters)")


def test_clip_cuts_at_a_line_and_closes_an_open_fence() -> None:
    text = "intro\n\n```text\n" + "\n".join(f"line {i}" for i in range(100)) + "\n```\nafter"
    cut = clip(text, 200)
    assert len(cut) <= 200 and open_fence(cut) == ""
    assert cut.split("\n\n… (truncated")[0].endswith("\n```")
    assert clip("short", 10) == "short"


def test_open_fence_follows_commonmark_closing_rules() -> None:
    assert open_fence("````\n```\n") == "````"
    assert open_fence("~~~\ncode\n~~~") == ""
    assert open_fence("```\n```python\n") == "```"
