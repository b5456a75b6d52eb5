"""A labeled example, the error a labeled file raises, and reading a labeled table: what every reader shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class DataError(ValueError):
    """A labeled file can't be used: the message names the file, the row and the problem."""


@dataclass(frozen=True)
class Example:
    text: str
    labels: dict[str, str]
    split: str | None = None
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


def read_table(path: Path, kind: str, **options: Any) -> Any:
    """A JSON-lines (`kind` "json") or CSV file as a `datasets.Dataset`, kept in memory (no cache)."""
    import datasets  # a second to import: only the commands that read labeled data pay for it

    datasets.disable_progress_bars()
    builder = datasets.Dataset.from_json if kind == "json" else datasets.Dataset.from_csv
    try:
        return builder(str(path), keep_in_memory=True, **options)
    except Exception as error:  # datasets wraps parser errors in several types; all mean "unreadable file"
        raise DataError(f"{path}: cannot be read as {kind.upper()}: {error}") from error
