"""Golden tests for sentence splitting on news text, and the offset contract."""

from __future__ import annotations

from itertools import pairwise

import pytest

from service.model.sentences import split_sentences, whole_text
from training.corpus import read_corpus

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
        "question inside a quote, then lowercase",
        '"What are we supposed to do, stay home?" said a retired worker. He left.',
        ['"What are we supposed to do, stay home?" said a retired worker.', "He left."],
    ),
    (
        "initialism inside a name, then at a sentence end",
        "Ships joined the U.S. Fifth Fleet. Talks with the U.S. The next day, they left.",
        ["Ships joined the U.S. Fifth Fleet.", "Talks with the U.S.", "The next day, they left."],
    ),
    (
        "title starting the next sentence",
        "His family said he died on Jan. 5 at No. 10 Park Road. Mr. Choi was 84.",
        ["His family said he died on Jan. 5 at No. 10 Park Road.", "Mr. Choi was 84."],
    ),
    (
        "paragraphs",
        "First paragraph ends here.\n\nSecond one starts here. It goes on.",
        ["First paragraph ends here.", "Second one starts here.", "It goes on."],
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


def test_recovers_the_corpus_sentences_better_than_pysbd() -> None:
    """Stories of the corpus glued back into articles (headlines on their own line) split into their rows."""
    import pysbd

    stories: dict[str, list[dict]] = {}
    for rows in read_corpus().values():
        for row in rows:
            stories.setdefault(row["story"], []).append(row)
    segmenter = pysbd.Segmenter(language="en", clean=False)
    recovered = {"ours": 0, "pysbd": 0}
    total = 0
    for rows in stories.values():
        headlines = [row["text"] for row in rows if row["register"] == "headline"]
        body = [row["text"] for row in rows if row["register"] != "headline"]
        article = "\n".join([*headlines, " ".join(body)])
        gold = set(headlines + body)
        total += len(gold)
        recovered["ours"] += len(gold & {span.text for span in split_sentences(article)})
        recovered["pysbd"] += len(gold & {piece.strip() for piece in segmenter.segment(article)})
    assert recovered["ours"] / total >= 0.995, recovered
    assert recovered["ours"] >= recovered["pysbd"], recovered
