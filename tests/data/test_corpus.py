"""Data tests on the corpus shipped in data/corpus: schema, labels, duplicates and split hygiene."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from service.model.bundle import HEADS
from service.model.paths import DATA_DIR
from training.agreement import AGREEMENT_BLOCK, corpus_rows, kappa_table
from training.corpus import STATS_BLOCK, read_corpus, stats, story_split
from training.markdown import replace_block

REGISTERS = {"wire", "statement", "quote", "oped", "analysis", "headline", "speech", "market", "translated", "liveblog"}
FIELDS = {"id", "story", "register", "event", "text", "split", *HEADS}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [row for file_rows in read_corpus().values() for row in file_rows]


def test_schema_and_label_values(rows: list[dict]) -> None:
    assert rows
    for row in rows:
        assert set(row) == FIELDS, row
        assert row["text"] == row["text"].strip() and row["text"]
        assert row["register"] in REGISTERS, row
        for head, labels in HEADS.items():
            assert row[head] in labels, row


def test_ids_are_unique(rows: list[dict]) -> None:
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))


def test_no_duplicate_texts(rows: list[dict]) -> None:
    seen: dict[str, str] = {}
    for row in rows:
        key = " ".join(row["text"].lower().split())
        assert key not in seen, (row["id"], seen.get(key))
        seen[key] = row["id"]


def test_whole_stories_share_one_split_and_no_text_crosses_splits(rows: list[dict]) -> None:
    split_of_story: dict[str, set[str]] = defaultdict(set)
    split_of_text: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        split_of_story[row["story"]].add(row["split"])
        split_of_text[" ".join(row["text"].lower().split())].add(row["split"])
        assert row["split"] == story_split(row["story"])
    assert all(len(splits) == 1 for splits in split_of_story.values())
    assert all(len(splits) == 1 for splits in split_of_text.values())


def test_every_split_is_used(rows: list[dict]) -> None:
    assert {row["split"] for row in rows} == {"train", "dev", "test"}


def test_readme_tables_are_current() -> None:
    """data/README.md shows the tables `make corpus-stats` generates from the corpus as it is now."""
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    assert replace_block(readme, STATS_BLOCK, stats()) == readme, "run `make corpus-stats` to refresh data/README.md"


def test_readme_agreement_table_is_current() -> None:
    """data/README.md shows the kappa table `python -m training.agreement kappa` computes for the corpus as it is."""
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    blind_file = DATA_DIR / "agreement" / "blind.jsonl"
    blind = [json.loads(line) for line in blind_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    table = kappa_table(corpus_rows(), blind, "python -m training.agreement kappa data/agreement/blind.jsonl")
    assert replace_block(readme, AGREEMENT_BLOCK, table) == readme, "run the kappa command to refresh data/README.md"
