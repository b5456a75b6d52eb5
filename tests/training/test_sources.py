"""Adapters for public datasets: label maps on small files written here, then every adapter on the real files.

The real files are read from $STANCE_PUBLIC_DATA (`.ci/run` sets it to ../shared/data); without it those tests skip.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from service.model.bundle import HEADS
from training.data import load_examples
from training.examples import DataError
from training.sources import LABEL_MAPS, SOURCES, clean_ag_news, load_source, parse_spec


def test_every_map_targets_labels_of_its_head() -> None:
    assert set(LABEL_MAPS) == set(SOURCES)
    for name, maps in LABEL_MAPS.items():
        assert list(maps) == [SOURCES[name].head]
        for head, mapping in maps.items():
            assert set(mapping.values()) <= set(HEADS[head]), name


def test_parse_spec() -> None:
    assert parse_spec("cameo:/x/train.tsv") == ("cameo", Path("/x/train.tsv"))
    assert parse_spec("data/corpus") == (None, Path("data/corpus"))
    assert parse_spec("unknown:thing.csv") == (None, Path("unknown:thing.csv"))


def test_un_quadclass_uses_the_real_label_order(tmp_path: Path) -> None:
    path = tmp_path / "quad.tsv"
    path.write_text(
        'en\tQuadClass\n"Troops shelled the town."\t1\nAid was delivered.\t2\nThey warned.\t3\n'
        "They praised.\t4\nThe annex lists staff.\t0\n",
        encoding="utf-8",
    )
    labels = [ex.labels["stance"] for ex in load_source("un-quadclass", path)]
    assert labels == ["threat", "cooperative", "threat", "cooperative", "neutral"]


def test_cameo_keeps_quotes_inside_sentences(tmp_path: Path) -> None:
    path = tmp_path / "cameo.tsv"
    path.write_bytes(b'He said "no" to talks.\t3\r\nThey met.\t0\r\n')
    examples = load_source("cameo", path)
    assert [(ex.text, ex.labels["stance"]) for ex in examples] == [
        ('He said "no" to talks.', "threat"),
        ("They met.", "neutral"),
    ]


def test_newsmtsc_keeps_only_sentences_whose_targets_agree(tmp_path: Path) -> None:
    rows = [
        {"sentence_normalized": "All agree.", "targets": [{"polarity": 6.0}, {"polarity": 6.0}]},
        {"sentence_normalized": "They disagree.", "targets": [{"polarity": 2.0}, {"polarity": 6.0}]},
        {"sentence_normalized": "Flat.", "targets": [{"polarity": 4.0}]},
    ]
    path = tmp_path / "devtest_mt.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    examples = load_source("newsmtsc", path)
    assert [(ex.text, ex.labels["sentiment"], ex.split) for ex in examples] == [
        ("All agree.", "positive", "test"),
        ("Flat.", "neutral", "test"),
    ]


def test_ag_news_escapes_are_undone() -> None:
    assert clean_ag_news("A\\second team won #36;10 million &amp; more") == "A second team won $10 million & more"


def test_missing_source_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_examples([f"cameo:{tmp_path / 'nope.tsv'}"])


PUBLIC = os.environ.get("STANCE_PUBLIC_DATA")
needs_public = pytest.mark.skipif(not PUBLIC, reason="STANCE_PUBLIC_DATA is not set (CI sets it to ../shared/data)")

# (source, file, head, rows expected after mapping, label counts expected)
REAL_FILES = [
    ("cameo", "conflibert_cameo/train.tsv", 1349, {"threat": 558, "cooperative": 551, "neutral": 240}),
    (
        "un-quadclass",
        "un_quadclass/en_annotations_quad_multiclass.tsv",
        5979,
        {"cooperative": 2592, "threat": 2367, "neutral": 1020},
    ),
    (
        "nyt-cap",
        "nyt_cap_headlines/NYTimes.csv",
        2328,
        {"society": 571, "diplomacy": 498, "security": 448, "economy": 370, "politics": 345, "other": 96},
    ),
    ("newsmtsc", "newsmtsc/train.jsonl", 7357, {"negative": 2679, "neutral": 2662, "positive": 2016}),
    ("newsmtsc", "newsmtsc/devtest_mt.jsonl", 427, {"neutral": 244, "negative": 116, "positive": 67}),
    ("ag-news", "ag_news/test.csv", 5700, {"society": 3800, "economy": 1900}),
]


@needs_public
@pytest.mark.parametrize(("source", "file", "rows", "labels"), REAL_FILES, ids=[f for _, f, _, _ in REAL_FILES])
def test_adapter_on_the_real_file(source: str, file: str, rows: int, labels: dict[str, int]) -> None:
    examples = load_examples([f"{source}:{Path(PUBLIC or '') / file}"])
    head = SOURCES[source].head
    assert len(examples) == rows
    assert Counter(ex.labels[head] for ex in examples) == labels
    assert all(ex.text == ex.text.strip() and ex.text for ex in examples)
    splits = Counter(ex.split for ex in examples)
    if file.startswith("newsmtsc/devtest"):
        assert set(splits) == {"test"}
    else:
        assert splits["train"] > 0.6 * rows and splits["dev"] > 0.1 * rows
    # A text never sits in two splits, so duplicates can't leak from training into the held-out portion.
    split_of: dict[str, set[str | None]] = {}
    for ex in examples:
        split_of.setdefault(ex.text, set()).add(ex.split)
    assert all(len(s) == 1 for s in split_of.values())
