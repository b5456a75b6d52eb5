"""The corpus rules of the corpus issue: size, balance, breadth, and no templating (near-duplicates)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from service.model.bundle import HEADS
from training.corpus import read_corpus

MIN_ROWS = 10_000
MIN_SHARE = 0.08
MIN_SHARE_TOPIC_OTHER = 0.04
MIN_ACTORS = 250
MIN_EVENTS = 60
NEAR_DUPLICATE_JACCARD = 0.8
MAX_NEAR_DUPLICATE_SHARE = 0.01


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [row for file_rows in read_corpus().values() for row in file_rows]


def test_size(rows: list[dict]) -> None:
    assert len(rows) >= MIN_ROWS


@pytest.mark.parametrize("head", list(HEADS))
def test_every_label_has_its_share(rows: list[dict], head: str) -> None:
    counts = Counter(row[head] for row in rows)
    for label in HEADS[head]:
        minimum = MIN_SHARE_TOPIC_OTHER if (head, label) == ("topic", "other") else MIN_SHARE
        assert counts[label] / len(rows) >= minimum, (head, label, counts[label])


def test_stories_have_3_to_12_sentences(rows: list[dict]) -> None:
    sizes = Counter(row["story"] for row in rows)
    assert all(3 <= size <= 12 for size in sizes.values()), [s for s, n in sizes.items() if not 3 <= n <= 12]


def test_breadth_of_events(rows: list[dict]) -> None:
    assert len({row["event"] for row in rows}) >= MIN_EVENTS


def actor_patterns() -> dict[str, re.Pattern[str]]:
    lines = (Path(__file__).parent / "actors.txt").read_text(encoding="utf-8").splitlines()
    names = [line for line in lines if line and not line.startswith("#")]
    patterns = {}
    for name in names:
        alternatives = "|".join(re.escape(alternative) for alternative in name.split("|"))
        patterns[name.split("|")[0]] = re.compile(rf"(?<![\w.])(?:{alternatives})(?!\w)")
    return patterns


def test_breadth_of_actors(rows: list[dict]) -> None:
    text = "\n".join(row["text"] for row in rows)
    found = sorted(actor for actor, pattern in actor_patterns().items() if pattern.search(text))
    assert len(found) >= MIN_ACTORS, found


def test_near_duplicates_are_rare(rows: list[dict]) -> None:
    """Rows with a character 5-gram Jaccard similarity over 0.8 to another row stay under 1 %."""
    texts = [" ".join(row["text"].lower().split()) for row in rows]
    grams = CountVectorizer(analyzer="char", ngram_range=(5, 5), binary=True, lowercase=False).fit_transform(texts)
    grams = grams.astype(np.float32).tocsr()
    sizes = np.asarray(grams.sum(axis=1)).ravel()
    shared = (grams @ grams.T).tocoo()
    upper = shared.row < shared.col
    rows_i, rows_j, inter = shared.row[upper], shared.col[upper], shared.data[upper]
    jaccard = inter / (sizes[rows_i] + sizes[rows_j] - inter)
    close = jaccard > NEAR_DUPLICATE_JACCARD
    involved = set(rows_i[close]) | set(rows_j[close])
    examples = [(texts[i], texts[j]) for i, j in zip(rows_i[close][:5], rows_j[close][:5], strict=True)]
    assert len(involved) / len(texts) < MAX_NEAR_DUPLICATE_SHARE, examples
