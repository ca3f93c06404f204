"""Graceful truncation: fit a report made of sections into GitHub's size limits.

A report is a list of :class:`Section`. When the whole is over the limit, :func:`fit` shortens
the droppable sections in rank order (each through its shorter versions, longest first) until it
fits, and says so in a note under the first section, linking the full report. Only when the kept
sections alone are too long does it cut the text (:func:`clip`), at a line and closing any code fence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

SEPARATOR = "\n\n"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _nothing() -> Iterable[str]:
    return ()


@dataclass(frozen=True)
class Section:
    """A block of markdown; ``shorter`` yields shorter versions of it, longest first ("" drops it).

    Sections without shorter versions are always kept whole; the others are shortened by
    ascending ``rank``. ``label`` names what is lost in the truncation note, e.g. "slice rows".
    """

    text: str
    label: str = ""
    rank: int = 0
    shorter: Callable[[], Iterable[str]] = _nothing


def fit(sections: Sequence[Section], limit: int, full_report: str = "") -> str:
    """The sections joined by blank lines, shortened as needed to at most ``limit`` characters.

    ``full_report`` is markdown pointing to the whole report, e.g. a link, for the note.
    """
    texts = [section.text for section in sections]
    whole = _join(texts)
    if len(whole) <= limit:
        return whole
    lost: list[str] = []
    order = sorted((s.rank, i) for i, s in enumerate(sections) if s.shorter is not _nothing)
    for _, index in order:
        lost.append(sections[index].label)
        for version in sections[index].shorter():
            texts[index] = version
            shortened = _join(_with_note(texts, _note(lost, limit, full_report)))
            if len(shortened) <= limit:
                return shortened
    return clip(_join(_with_note(texts, _note(lost, limit, full_report))), limit)


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a line end, any open code fence closed."""
    if len(text) <= limit:
        return text
    suffix = f"\n\n… (truncated to {limit:,} characters)"
    room = limit - len(suffix)
    while room > 0:
        cut = text[:room]
        cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
        fence = open_fence(cut)
        kept = f"{cut}\n{fence}" if fence else cut
        if len(kept) <= limit - len(suffix):
            return kept + suffix
        room = len(cut) - len(fence) - 1
    return suffix.strip()[:limit]


def open_fence(text: str) -> str:
    """The fence that would close a code block left open at the end of ``text`` ("" if none)."""
    opener = ""
    for line in text.splitlines():
        match = _FENCE.match(line)
        if not match:
            continue
        mark = match.group(1)
        if not opener:
            opener = mark
        elif mark[0] == opener[0] and len(mark) >= len(opener) and not line.strip().strip(mark[0]):
            opener = ""
    return opener


def _note(lost: Sequence[str], limit: int, full_report: str) -> str:
    where = full_report or "the full report is in the run's artifacts (`report.md`)"
    trimmed = ", ".join(label for label in lost if label) or "details"
    return f"> ✂️ Shortened to fit GitHub's limit of {limit:,} characters ({trimmed} trimmed): {where}."


def _with_note(texts: Sequence[str], note: str) -> list[str]:
    return [*texts[:1], note, *texts[1:]]


def _join(texts: Iterable[str]) -> str:
    return SEPARATOR.join(text for text in texts if text)
