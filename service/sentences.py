"""Sentence splitting for news text, with offsets into the original string."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pysbd


@dataclass(frozen=True)
class Span:
    """One sentence: `text == document[start:end]`, without surrounding whitespace."""

    start: int
    end: int
    text: str


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    # clean=False keeps the text as it is, so every segment can be found again in the original.
    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text: str) -> list[Span]:
    """Split `text` into sentences; empty or whitespace-only text has none."""
    spans: list[Span] = []
    cursor = 0
    for segment in _segmenter().segment(text):
        stripped = segment.strip()
        if not stripped:
            continue
        start = text.find(stripped, cursor)
        if start < 0:  # pysbd changed the segment; keep the text whole from here rather than lose any of it
            rest = text[cursor:].strip()
            start = text.find(rest, cursor)
            spans.append(Span(start, start + len(rest), rest))
            return spans
        end = start + len(stripped)
        spans.append(Span(start, end, stripped))
        cursor = end
    return spans


def whole_text(text: str) -> list[Span]:
    """The text as one sentence, stripped of surrounding whitespace (for `split_sentences: false`)."""
    stripped = text.strip()
    if not stripped:
        return []
    start = text.find(stripped)
    return [Span(start, start + len(stripped), stripped)]
