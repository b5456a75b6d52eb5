"""Golden tests for sentence splitting on news text, and the offset contract."""

from __future__ import annotations

from itertools import pairwise

import pytest

from service.sentences import split_sentences, whole_text

GOLDEN = [
    (
        "abbreviations",
        "The U.S. and the U.N. agreed on Monday. Talks resume in Geneva.",
        ["The U.S. and the U.N. agreed on Monday.", "Talks resume in Geneva."],
    ),
    (
        "titles and initials",
        "Gen. Asim Malik met Lt. Col. J. R. Smith in Rawalpindi. Dr. Khan was also present.",
        ["Gen. Asim Malik met Lt. Col. J. R. Smith in Rawalpindi.", "Dr. Khan was also present."],
    ),
    (
        "decimals",
        "Growth slowed to 3.5 percent in 2025. Exports fell by 0.8 percent.",
        ["Growth slowed to 3.5 percent in 2025.", "Exports fell by 0.8 percent."],
    ),
    (
        "curly quotes",
        "“We will respond,” the minister said. “We have no choice.” The talks ended.",
        ["“We will respond,” the minister said.", "“We have no choice.”", "The talks ended."],
    ),
    (
        "straight quotes and dashes",
        '"We will respond." The talks ended — abruptly — on Friday. He left.',
        ['"We will respond."', "The talks ended — abruptly — on Friday.", "He left."],
    ),
    ("single quotes", "He said: 'We stand ready.' Then he left.", ["He said: 'We stand ready.'", "Then he left."]),
    (
        "question and exclamation",
        "Trade rose 14%! Is that enough? Officials think so.",
        ["Trade rose 14%!", "Is that enough?", "Officials think so."],
    ),
    (
        "headline line",
        "Pakistan, Afghanistan agree to reopen Torkham crossing\nKABUL - The two sides agreed on Sunday.",
        ["Pakistan, Afghanistan agree to reopen Torkham crossing", "KABUL - The two sides agreed on Sunday."],
    ),
    (
        "U.S. before a capital",
        "The U.S. Army said it would respond. St. Louis was quiet.",
        ["The U.S. Army said it would respond.", "St. Louis was quiet."],
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), GOLDEN, ids=[case for case, _, _ in GOLDEN])
def test_golden_splits(case: str, text: str, expected: list[str]) -> None:
    assert [span.text for span in split_sentences(text)] == expected


@pytest.mark.parametrize("text", [text for _, text, _ in GOLDEN] + ["  Leading space. And trailing.  \n\n"])
def test_offsets_index_the_original_text(text: str) -> None:
    spans = split_sentences(text)
    assert spans
    for span in spans:
        assert text[span.start : span.end] == span.text
    assert all(a.end <= b.start for a, b in pairwise(spans))


def test_only_whitespace_falls_between_sentences() -> None:
    text = "First one. Second one?\n\nThird one!  Fourth — with a dash."
    spans = split_sentences(text)
    assert "".join(text.split()) == "".join("".join(span.text.split()) for span in spans)


def test_empty_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences("   \n ") == []
    assert whole_text("  \t") == []


def test_whole_text_keeps_one_span() -> None:
    text = "  One. Two.  "
    [span] = whole_text(text)
    assert (span.start, span.end, span.text) == (2, 11, "One. Two.")
