"""Analysts' corrections (the feedback folder `POST /v1/feedback` appends to) as training rows.

Feedback rows are labeled rows like the corpus's (`text` plus any heads; `id`, `time`, `model_version`,
`request_id`, `note` become `meta`). They always train: each is marked split `train`, so none lands in the dev
hold-out or shifts which unmarked rows do. A row whose text (lowercased, whitespace collapsed) is a sentence of
the corpus's test split, or of any test row being trained with, is left out and reported, so a correction can't
leak the test split into training.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.model.paths import CORPUS_DIR, FEEDBACK_DIR
from training.corpus import read_corpus
from training.data import LABELED_SUFFIXES, read_rows, to_example
from training.examples import DataError, Example

FEEDBACK_ENV = "STANCE_FEEDBACK_DIR"


def default_feedback_dir() -> Path:
    """`$STANCE_FEEDBACK_DIR` when set, else `data/feedback/`: the folder the service writes corrections to."""
    return Path(os.environ.get(FEEDBACK_ENV) or FEEDBACK_DIR)


def normalise(text: str) -> str:
    """The form texts are compared in: lowercased, runs of whitespace as one space, no outer spaces."""
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class Feedback:
    """The feedback rows of one folder: those that train, and those left out for being test-split sentences."""

    folder: Path
    used: list[Example]
    left_out: list[Example]
    left_out_ids: list[str]
    unreadable: list[str] = dataclasses.field(default_factory=list)  # FILE:ROW of lines cut short, skipped

    def manifest(self) -> dict[str, Any]:
        """What the bundle's manifest records under `training_data.feedback`."""
        return {
            "path": str(self.folder),
            "rows": len(self.used),
            "left_out": len(self.left_out),
            "unreadable": len(self.unreadable),
            "sha256": rows_sha256(self.used),
        }


def canonical_line(example: Example) -> str:
    """One feedback row as canonical JSON (sorted keys, no empty fields), the unit the feedback hash covers."""
    row = {**{k: v for k, v in example.meta.items() if v is not None}, "text": example.text, **example.labels}
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def rows_sha256(examples: list[Example]) -> str:
    """SHA-256 of the rows' canonical JSON lines, sorted: the same rows give the same hash however filed."""
    lines = sorted(canonical_line(ex) for ex in examples)
    return hashlib.sha256("".join(line + "\n" for line in lines).encode("utf-8")).hexdigest()


def read_feedback(folder: Path) -> tuple[list[tuple[str, Example]], list[str]]:
    """Every row of the folder's .jsonl/.csv files, marked split `train`, with its `id` (or FILE:ROW when it has
    none), and the FILE:ROW of the lines that are not JSON; nothing when the folder is missing or empty."""
    folder = Path(folder)
    if not folder.is_dir():
        return [], []
    files = sorted(p for p in folder.rglob("*") if p.suffix in LABELED_SUFFIXES and p.is_file())
    examples, unreadable = [], []
    for file in files:
        for line, row in feedback_rows(file):
            if row is None:
                unreadable.append(f"{file}:{line}")
                continue
            example = dataclasses.replace(to_example(row, str(file), line), split="train")
            row_id = example.meta.get("id")
            examples.append((str(row_id) if row_id not in (None, "") else f"{file}:{line}", example))
    return examples, unreadable


def feedback_rows(file: Path) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """The rows of one feedback file, numbered from 1, with None for a JSON line that does not parse: the service
    writes whole lines, so that is one a killed process cut short; it is skipped, not an error.

    JSON lines are read as they are, not through the table reader, which types columns across rows (`time` would
    become a datetime, a field one row lacks None) and fails on an empty file."""
    lines = [line for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if lines and LABELED_SUFFIXES[file.suffix] != "json":
        yield from enumerate(read_rows(file), start=1)
        return
    for number, line in enumerate(lines, start=1):
        try:
            row = json.loads(line)
        except ValueError:
            yield number, None
            continue
        if not isinstance(row, dict):
            raise DataError(f"{file}: row {number}: expected a JSON object")
        yield number, row


def corpus_test_texts(corpus_dir: Path = CORPUS_DIR) -> set[str]:
    """The normalised texts of the corpus's test split."""
    return {
        normalise(row["text"])
        for rows in read_corpus(corpus_dir).values()
        for row in rows
        if row.get("split") == "test" and isinstance(row.get("text"), str)
    }


def load_feedback(folder: Path, examples: list[Example], corpus_dir: Path = CORPUS_DIR) -> Feedback:
    """The folder's feedback rows, split into those to train on and those whose text is a test-split sentence
    (of the corpus, or of the test rows among `examples`, the data being trained with)."""
    rows, unreadable = read_feedback(folder)
    if not rows:
        return Feedback(folder=Path(folder), used=[], left_out=[], left_out_ids=[], unreadable=unreadable)
    held_out = corpus_test_texts(corpus_dir) | {normalise(ex.text) for ex in examples if ex.split == "test"}
    leaks = [(row_id, ex) for row_id, ex in rows if normalise(ex.text) in held_out]
    return Feedback(
        folder=Path(folder),
        used=[ex for _, ex in rows if normalise(ex.text) not in held_out],
        left_out=[ex for _, ex in leaks],
        left_out_ids=[row_id for row_id, _ in leaks],
        unreadable=unreadable,
    )


def report(feedback: Feedback) -> str:
    """One line for stderr: the rows used, how many were left out with their ids, and the lines skipped."""
    line = f"{len(feedback.used)} feedback rows from {feedback.folder}"
    if feedback.left_out:
        ids = ", ".join(feedback.left_out_ids)
        line += f"; {len(feedback.left_out)} left out, their text being in the test split: {ids}"
    if feedback.unreadable:
        line += f"; {len(feedback.unreadable)} lines cut short skipped: {', '.join(feedback.unreadable)}"
    return line
