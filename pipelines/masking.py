"""Masking a repository's job secrets in everything a run publishes (log, log tail, errors, report)."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"
MIN_MASKED_LENGTH = 4  # shorter values ("1", "dev") would mask ordinary words all over the log


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``.

    Values shorter than MIN_MASKED_LENGTH are left alone. Each line of a multi-line value (a PEM key)
    is masked on its own too, as logs often print them line by line. Overlapping occurrences (one
    secret inside or across another) become one ``***``, so the longest always wins and no
    character of any secret is left showing. Encoded forms (URL-escaped, base64) are not found.
    """
    candidates = _maskable(secrets)
    spans: list[tuple[int, int]] = []
    for secret in candidates:
        start = text.find(secret)
        while start != -1:
            spans.append((start, start + len(secret)))
            start = text.find(secret, start + 1)
    if not spans:
        return text
    pieces: list[str] = []
    position = 0
    for start, end in _merged(spans):
        pieces += [text[position:start], MASK]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _maskable(secrets: Iterable[str]) -> list[str]:
    """The distinct strings to mask: each value and each line of a multi-line one, long enough."""
    found: set[str] = set()
    for secret in secrets:
        lines = [line.strip() for line in secret.splitlines()] if "\n" in secret or "\r" in secret else []
        found.update(part for part in (secret, *lines) if len(part) >= MIN_MASKED_LENGTH)
    return sorted(found, key=len, reverse=True)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ``spans`` with the overlapping ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class Masker:
    """``mask_secrets`` bound to one run's secret values."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.values = _maskable(secrets)

    def __call__(self, text: str) -> str:
        return mask_secrets(text, self.values) if self.values else text

    def lines(self, lines: Iterable[str]) -> list[str]:
        """Each line masked."""
        return [self(line) for line in lines]
