"""Analysts' corrections train the next model: counted and hashed in the manifest, never leaking the test split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from training.cli import main
from training.examples import Example
from training.feedback import load_feedback, normalise, rows_sha256
from training.train import DEFAULT_PARAMS, split_examples

SMALL_ROWS = 300


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def correction(number: int, text: str, **labels: str) -> dict[str, Any]:
    """A row as `POST /v1/feedback` appends it."""
    return {
        "id": f"fb-{number}",
        "time": "2025-01-01T00:00:00+00:00",
        "text": text,
        **labels,
        "model_version": "20250101-000000",
        "request_id": f"req-{number}",
    }


@pytest.fixture()
def small(corpus: list[Example], tmp_path: Path, monkeypatch) -> Path:
    """A labeled file of corpus training rows (no `split`), one C instead of a search and no public dev rows for the
    thresholds (tests/training/test_thresholds.py has those): `stance train` is quick."""
    monkeypatch.setitem(DEFAULT_PARAMS, "C_grid", [4.0])
    monkeypatch.delenv("STANCE_PUBLIC_DATA", raising=False)
    rows = [{"text": ex.text, **ex.labels} for ex in corpus if ex.split == "train"][:SMALL_ROWS]
    return write_rows(tmp_path / "small.jsonl", rows)


def train(tmp_path: Path, *args: str) -> dict[str, Any]:
    """Run `stance train` into tmp_path/models; the new bundle's manifest."""
    assert main(["train", "--out", str(tmp_path / "models"), *args]) == 0
    version = (tmp_path / "models" / "current").read_text().strip()
    return json.loads((tmp_path / "models" / version / "manifest.json").read_text())


def test_feedback_rows_train_and_are_counted_and_hashed(small: Path, tmp_path: Path, capsys) -> None:
    rows = [
        correction(1, "Militants ambushed a police convoy near the border.", stance="threat", sentiment="negative"),
        {**correction(2, "The two ministers signed a trade accord.", topic="economy"), "note": "not diplomacy"},
    ]
    folder = tmp_path / "feedback"
    write_rows(folder / "2025-01-01.jsonl", rows)
    (folder / "2025-01-02.jsonl").touch()  # a file the service has just created holds no rows yet
    with (folder / "2025-01-01.jsonl").open("a") as file:  # a write cut short by a killed process, then another
        whole = json.dumps(correction(4, "Aid reached the camp.", stance="cooperative"))
        file.write('{"id": "fb-3", "text": "Cut sh\n' + whole + "\n")
    manifest = train(tmp_path, "--data", str(small), "--feedback", str(folder))

    assert manifest["training_data"]["feedback"] == {
        "path": str(folder),
        "rows": 3,
        "left_out": 0,
        "unreadable": 1,
        "sha256": rows_sha256(load_feedback(folder, []).used),
    }
    dev = round(SMALL_ROWS * DEFAULT_PARAMS["dev_fraction"])  # the corpus rows' seeded hold-out, as without feedback
    assert manifest["training_data"]["rows"] == {"train": SMALL_ROWS - dev + 3, "dev": dev}
    error = capsys.readouterr().err
    assert "3 feedback rows from" in error and f"1 lines cut short skipped: {folder / '2025-01-01.jsonl'}:3" in error


def test_feedback_rows_always_land_in_train(tmp_path: Path) -> None:
    """Rows without a `split` would go to the seeded dev hold-out; feedback rows are marked `train`."""
    write_rows(tmp_path / "fb" / "a.jsonl", [correction(n, f"Correction {n}.", stance="neutral") for n in range(20)])
    feedback = load_feedback(tmp_path / "fb", [])
    split = split_examples(feedback.used, dev_fraction=0.5, seed=13)
    assert len(split.train) == 20 and not split.dev


def test_the_feedback_hash_ignores_order_and_follows_content(tmp_path: Path) -> None:
    rows = [correction(1, "Talks resumed.", stance="cooperative"), correction(2, "Shells fell.", stance="threat")]
    write_rows(tmp_path / "a" / "x.jsonl", rows)
    write_rows(tmp_path / "b" / "y.jsonl", rows[::-1])
    write_rows(tmp_path / "c" / "x.jsonl", [rows[0], {**rows[1], "stance": "neutral"}])
    a, b, c = (rows_sha256(load_feedback(tmp_path / name, []).used) for name in "abc")
    assert a == b != c


def test_a_test_split_sentence_is_left_out_and_reported(
    corpus: list[Example], small: Path, tmp_path: Path, capsys
) -> None:
    test_sentence = next(ex.text for ex in corpus if ex.split == "test")
    disguised = "  " + test_sentence.upper().replace(" ", "\n ", 1) + " "  # the same text, once normalised
    assert normalise(disguised) == normalise(test_sentence)
    folder = tmp_path / "feedback"
    rows = [
        correction(1, disguised, stance="neutral"),
        correction(2, "A brand new sentence of ours.", stance="neutral"),
    ]
    write_rows(folder / "corrections.jsonl", rows)
    feedback = train(tmp_path, "--data", str(small), "--feedback", str(folder))["training_data"]["feedback"]
    assert (feedback["rows"], feedback["left_out"]) == (1, 1)
    assert feedback["sha256"] == rows_sha256(load_feedback(folder, []).used)
    assert [ex.meta["id"] for ex in load_feedback(folder, []).used] == ["fb-2"]
    error = capsys.readouterr().err
    assert "1 left out" in error and "fb-1" in error and "fb-2" not in error


def test_no_feedback_folder_means_no_rows(small: Path, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "feedback"
    assert not load_feedback(folder, []).used
    folder.mkdir()
    assert not load_feedback(folder, []).used
    monkeypatch.setenv("STANCE_FEEDBACK_DIR", str(tmp_path / "missing"))  # the default, as the service is told it
    feedback = train(tmp_path, "--data", str(small))["training_data"]["feedback"]
    assert feedback == {
        "path": str(tmp_path / "missing"),
        "rows": 0,
        "left_out": 0,
        "unreadable": 0,
        "sha256": rows_sha256([]),
    }


def test_no_feedback_leaves_the_folder_out(small: Path, tmp_path: Path, monkeypatch) -> None:
    write_rows(tmp_path / "feedback" / "a.jsonl", [correction(1, "Talks resumed.", stance="cooperative")])
    monkeypatch.setenv("STANCE_FEEDBACK_DIR", str(tmp_path / "feedback"))
    manifest = train(tmp_path, "--data", str(small), "--no-feedback")
    assert "feedback" not in manifest["training_data"]
    assert manifest["training_data"]["rows"]["train"] == SMALL_ROWS - round(SMALL_ROWS * DEFAULT_PARAMS["dev_fraction"])
