"""Writing batch outputs: JSONL (a file or standard output) or Parquet, one writer interface for both.

Writers write to the path they are given; jobs give them the temporary path of `service.model.files.atomic_file`,
so an output appears whole or not at all."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from service.batch.parquet import PARQUET_SUFFIXES, ParquetWriter

OUTPUT_FORMATS = ("jsonl", "parquet")


def output_format(name: str) -> str:
    """Parquet for a name ending in .parquet or .pq, else JSONL (as standard output always is)."""
    return "parquet" if name.lower().endswith(PARQUET_SUFFIXES) else "jsonl"


class JsonlWriter:
    """One JSON object a line, UTF-8, characters unescaped."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        self.stream.writelines(json.dumps(record, ensure_ascii=False, default=str) + "\n" for record in records)

    def close(self) -> None:
        self.stream.flush()


class _FileJsonlWriter(JsonlWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path.open("w", encoding="utf-8", newline="\n"))

    def close(self) -> None:
        self.stream.close()


Writer = JsonlWriter | ParquetWriter


def open_writer(path: Path, fmt: str, schema: Any) -> Writer:
    """A writer of `fmt` to `path` (a new file); `close()` it to finish the file."""
    if fmt == "parquet":
        return ParquetWriter(path, schema)
    return _FileJsonlWriter(path)
