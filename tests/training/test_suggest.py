"""`stance suggest`: the least confident items first, N of them, no near-duplicates, the model's labels, a file
training reads, bad rows skipped and counted, sentences with --split-sentences, a bounded pool."""

from __future__ import annotations

import io
import json
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from service.model.bundle import Bundle
from service.model.predict import predict
from service.model.sentences import split_sentences
from training.cli import main
from training.data import load_examples
from training.examples import Example
from training.suggest import Candidate, Counts, Pool, margin, normalise, select, shingles


@pytest.fixture(scope="module")
def texts(corpus: list[Example]) -> list[str]:
    """Distinct held-out sentences of the corpus: an unlabeled input the model has not trained on."""
    seen: dict[str, None] = {}
    for example in corpus:
        if example.split == "test":
            seen.setdefault(example.text)
    return list(seen)[:200]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows), "utf-8")
    return path


def suggest(bundle: Bundle, source: Path | str, out: Path, n: int, *args: str) -> list[dict[str, Any]]:
    argv = ["suggest", str(source), "--n", str(n), "--output", str(out), "--model", str(bundle.path), *args]
    assert main(argv) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_least_confident_first_with_the_models_labels(bundle: Bundle, texts: list[str], tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": f"s{i}", "text": text} for i, text in enumerate(texts)])
    records = suggest(bundle, source, tmp_path / "out.jsonl", 12)
    assert len(records) == 12
    heads = predict(bundle, [record["text"] for record in records])
    margins = [margin(answer) for answer in heads]
    assert margins == pytest.approx([record["margin"] for record in records], abs=1e-9)
    assert all(a <= b + 1e-9 for a, b in pairwise(margins))
    for record, answer in zip(records, heads, strict=True):
        assert {head: record[head] for head in answer} == {head: result["label"] for head, result in answer.items()}
        gaps = [
            sorted(result["scores"].values())[-1] - sorted(result["scores"].values())[-2] for result in answer.values()
        ]
        assert record["margin"] == pytest.approx(min(gaps))
        assert record["text"] == texts[record["row"] - 1] and record["id"] == f"s{record['row'] - 1}"
    # The first is the least confident item of the whole input.
    assert records[0]["margin"] == pytest.approx(min(margin(answer) for answer in predict(bundle, texts)))


def test_a_bounded_pool_gives_what_ranking_everything_gives(bundle: Bundle, texts: list[str], tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": text} for text in texts])
    records = suggest(bundle, source, tmp_path / "out.jsonl", 5)  # a pool of 20 of the 200 texts
    everything = [
        Candidate(margin(answer), order, normalise(text), {"text": text})
        for order, (text, answer) in enumerate(zip(texts, predict(bundle, texts), strict=True))
    ]
    ranked = sorted(everything, key=lambda candidate: (candidate.margin, candidate.order))
    expected = select(ranked, 5, Counts())
    assert [record["text"] for record in records] == [candidate.record["text"] for candidate in expected]


def test_near_duplicates_are_skipped(bundle: Bundle, texts: list[str], tmp_path: Path, capsys) -> None:
    base = "Militants attacked a police post near the border and killed four soldiers on Tuesday."
    near = "Militants attacked a police post near the border and killed four soldiers on Tuesday!"
    same = "  MILITANTS attacked a police post   near the border and killed four soldiers on Tuesday. "
    other = "The central bank left interest rates unchanged."
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": text} for text in (base, near, same, other)])
    records = suggest(bundle, source, tmp_path / "out.jsonl", 4)
    kept = [normalise(record["text"]) for record in records]
    assert len(records) == 2 and normalise(other) in kept
    assert sum(text.startswith("militants") for text in kept) == 1
    assert "2 duplicates skipped; 2 of 4 suggestions written" in capsys.readouterr().err


def test_the_output_is_training_data(bundle: Bundle, texts: list[str], tmp_path: Path) -> None:
    rows = [{"id": i, "text": text} for i, text in enumerate(texts[:40])]
    records = suggest(bundle, write_jsonl(tmp_path / "in.jsonl", rows), tmp_path / "out.jsonl", 10)
    examples = load_examples([tmp_path / "out.jsonl"])
    assert [example.text for example in examples] == [record["text"] for record in records]
    for example, record in zip(examples, records, strict=True):
        assert example.labels == {head: record[head] for head in bundle.labels}
        assert example.meta["margin"] == record["margin"] and example.meta["id"] == str(record["row"] - 1)


def test_bad_rows_are_skipped_and_counted(bundle: Bundle, tmp_path: Path, capsys) -> None:
    rows: list[Any] = [
        {"id": "a", "text": "Exports rose to $1.2 billion."},
        {"id": "b", "text": ""},
        {"id": "c", "text": 17},
        "not json",
        "[1, 2]",
        {"id": "d"},
        {"id": "e", "text": "nul \u0000 inside"},
        {"id": "f", "text": "The ministers signed a trade pact."},
    ]
    records = suggest(bundle, write_jsonl(tmp_path / "in.jsonl", rows), tmp_path / "out.jsonl", 5)
    assert sorted(record["id"] for record in records) == ["a", "f"]
    err = capsys.readouterr().err
    assert "stance suggest: 8 rows read, 2 scored (2 items), 6 rejected (first: " in err
    assert "row 2: missing or empty text field 'text'" in err


def test_csv_without_the_text_column_is_an_error(bundle: Bundle, tmp_path: Path, capsys) -> None:
    (tmp_path / "in.csv").write_text("id,body\n1,Hello there.\n", encoding="utf-8")
    argv = ["suggest", str(tmp_path / "in.csv"), "--n", "3", "--output", str(tmp_path / "out.jsonl")]
    assert main([*argv, "--model", str(bundle.path)]) == 2
    assert "no column 'text'" in capsys.readouterr().err
    assert main([*argv, "--model", str(bundle.path), "--text-field", "body"]) == 0
    assert json.loads((tmp_path / "out.jsonl").read_text())["id"] == "1"


def test_split_sentences_suggests_sentences(bundle: Bundle, tmp_path: Path, monkeypatch) -> None:
    documents = [
        "Pakistan and Afghanistan agreed to reopen the crossing. Militants killed four soldiers.",
        "The ministers signed a trade pact. Markets rallied. Both sides hailed the deal.",
    ]
    lines = "".join(json.dumps({"text": text}) + "\n" for text in documents)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines.encode("utf-8"))))
    records = suggest(bundle, "-", tmp_path / "out.jsonl", 10, "--split-sentences")
    sentences = {(row, span.text) for row, text in enumerate(documents, 1) for span in split_sentences(text)}
    assert len(records) == 5 and {(record["row"], record["text"]) for record in records} == sentences


def test_the_pool_keeps_the_best_and_one_per_text() -> None:
    pool = Pool(3)
    for order, (value, text) in enumerate([(0.5, "a"), (0.1, "b"), (0.9, "c"), (0.3, "d"), (0.1, "B"), (0.05, "e")]):
        pool.add(Candidate(value, order, normalise(text), {"text": text}))
    assert [candidate.record["text"] for candidate in pool.ranked()] == ["e", "b", "d"]
    assert shingles("abc") == frozenset(["abc"]) and len(shingles("abcdefg")) == 3
