"""Sentence splitting for news text, with offsets into the original string.

A sentence ends at a line break, or at `.`, `!` or `?` (with any closing quotes or brackets) followed by
whitespace and an uppercase letter, a digit or an opening quote; except after a title or an initial ("Gen.",
"Lt. Col.", "J. R. Smith"), and after an initialism ("U.S.") unless the next word starts a sentence. These rules
are news-specific on purpose: on the shipped corpus's stories they recover more gold sentences than pysbd, at
hundreds of times its speed (tests/model/test_sentences.py; `make bench`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Abbreviations that precede a name or a number: a period after them does not end the sentence.
TITLES = frozenset(
    "Adm Amb Brig Capt Cmdr Col Cpl Dr Ft Gen Gens Gov Hon Insp Lt Maj Messrs Mr Mrs Ms Mt "
    "No Nos Prof Pvt Rep Rev Sen Sgt Sr St Supt Vol vs Jan Feb Mar Apr Aug Sep Sept Oct Nov Dec".split()
)
# Capitalized words that begin sentences; after "U.S." one of them means a new sentence ("... the U.S. The next").
SENTENCE_STARTERS = frozenset(
    "A An And As At But By For From He Her His However I If In It Its Meanwhile Most Officials On One Our She "
    "Some That The Their There These They This Those Two We When While Yet".split()
)
# A line break, or a run of end punctuation (and closing quotes or brackets) before the next sentence's start. The
# pattern opens with one character class so that the regex engine skips to those characters quickly.
_CANDIDATE = re.compile(r"[.!?\n](?:(?<=\n)|[.!?]*[\"”’')\]]*(?=\s+[\"“‘'(\[]?[A-Z0-9]))")
_WORD_BEFORE = re.compile(r"[\"“‘'(\[]*([^\s\"“‘'(\[]*?)[.!?]+[\"”’')\]]*$")
_INITIALISM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_NEXT_WORD = re.compile(r"\s*[\"“‘'(\[]?([^\s.,;:!?\"”’')\]]*)")


@dataclass(slots=True)  # not frozen: built for every sentence, and a frozen dataclass is three times slower to build
class Span:
    """One sentence: `text == document[start:end]`, without surrounding whitespace."""

    start: int
    end: int
    text: str


def _is_boundary(text: str, start: int, end: int) -> bool:
    """Whether the candidate text[start:end] (punctuation, or a line break) ends a sentence."""
    if text[start] == "\n" or text[start] in "!?":
        return True
    line_start = text.rfind(" ", 0, start) + 1
    word = _WORD_BEFORE.match(text, line_start, end)
    token = word.group(1) if word else ""
    if token in TITLES or (len(token) == 1 and token.isupper()):
        return False
    if _INITIALISM.fullmatch(token):
        following = _NEXT_WORD.match(text, end)
        return following is not None and following.group(1) in SENTENCE_STARTERS
    return True


def split_sentences(text: str) -> list[Span]:
    """Split `text` into sentences; empty or whitespace-only text has none."""
    spans: list[Span] = []
    start = 0
    for candidate in _CANDIDATE.finditer(text):
        if _is_boundary(text, candidate.start(), candidate.end()):
            spans.extend(whole_text(text[start : candidate.end()], offset=start))
            start = candidate.end()
    spans.extend(whole_text(text[start:], offset=start))
    return spans


def whole_text(text: str, offset: int = 0) -> list[Span]:
    """The text as one sentence, stripped of surrounding whitespace (for `split_sentences: false`)."""
    stripped = text.strip()
    if not stripped:
        return []
    start = offset + text.find(stripped)
    return [Span(start, start + len(stripped), stripped)]
