"""Loading labeled files: formats, partial heads, splits and clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from training.data import labeled_files, load_examples
from training.examples import DataError


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_jsonl_rows_keep_only_the_heads_they_have(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"text": "Troops clashed at the border.", "stance": "threat", "id": 7},
            {"text": "Exports rose.", "topic": "economy", "sentiment": "positive"},
        ],
    )
    first, second = load_examples([path])
    assert first.labels == {"stance": "threat"}
    assert first.meta == {"id": 7}
    assert second.labels == {"topic": "economy", "sentiment": "positive"}


def test_csv_with_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("text,topic,stance\nLeaders met in Delhi.,diplomacy,\nA bomb exploded.,,threat\n", encoding="utf-8")
    first, second = load_examples([path])
    assert first.labels == {"topic": "diplomacy"}
    assert second.labels == {"stance": "threat"}


def test_folder_reads_every_labeled_file_and_split_filters(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [{"text": "One.", "stance": "neutral", "split": "train"}])
    write_jsonl(tmp_path / "b.jsonl", [{"text": "Two.", "stance": "neutral", "split": "test"}])
    (tmp_path / "notes.md").write_text("not data")
    assert len(labeled_files(tmp_path)) == 2
    assert [ex.text for ex in load_examples([tmp_path], split="test")] == ["Two."]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"text": "Hello.", "stance": "hostile"}, "unknown stance label 'hostile'"),
        ({"text": "  ", "stance": "threat"}, "missing or empty `text`"),
        ({"stance": "threat"}, "missing or empty `text`"),
        ({"text": "Hello.", "split": "holdout"}, "unknown split 'holdout'"),
    ],
)
def test_bad_rows_name_file_row_and_problem(tmp_path: Path, row: dict, message: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [{"text": "Fine.", "stance": "neutral"}, row])
    with pytest.raises(DataError, match=re.escape(f"bad.jsonl: row 2: {message}")):
        load_examples([path])


def test_missing_and_unsupported_paths(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_examples([tmp_path / "nope.jsonl"])
    (tmp_path / "data.txt").write_text("x")
    with pytest.raises(DataError, match="unsupported format"):
        load_examples([tmp_path / "data.txt"])


def test_malformed_json_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"text": "ok", "stance": "neutral"}\n{"text": \n', encoding="utf-8")
    with pytest.raises(DataError, match=r"broken\.jsonl: cannot be read"):
        load_examples([path])
