"""Writing batch outputs: JSONL (a file or standard output) or Parquet, one writer interface for both.

Writers write to the path they are given; jobs give them the temporary path of `service.model.files.atomic_file`,
so an output appears whole or not at all. JSON lines are encoded by orjson (several times faster than the standard
library's `json.dumps`, which took a fifth of a job's time); a record orjson can't encode as the standard library
would (an integer wider than 64 bits, a lone surrogate) falls back to `json.dumps`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import orjson

from service.batch.parquet import PARQUET_SUFFIXES, ParquetWriter

OUTPUT_FORMATS = ("jsonl", "parquet")
# Types orjson would write its own way (dates as ISO 8601, dataclasses as objects) go to `default=str`, as before.
_OPTIONS = (
    orjson.OPT_APPEND_NEWLINE
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def output_format(name: str) -> str:
    """Parquet for a name ending in .parquet or .pq, else JSONL (as standard output always is)."""
    return "parquet" if name.lower().endswith(PARQUET_SUFFIXES) else "jsonl"


def json_line(record: dict[str, Any]) -> bytes:
    """One JSON object and a newline, UTF-8, characters unescaped."""
    try:
        return orjson.dumps(record, default=str, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8", "surrogatepass")


class JsonlWriter:
    """One JSON object a line to a binary stream."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        self.stream.write(b"".join(map(json_line, records)))

    def close(self) -> None:
        self.stream.flush()


class _FileJsonlWriter(JsonlWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path.open("wb"))

    def close(self) -> None:
        self.stream.close()


Writer = JsonlWriter | ParquetWriter


def open_writer(path: Path, fmt: str, schema: Any) -> Writer:
    """A writer of `fmt` to `path` (a new file); `close()` it to finish the file."""
    if fmt == "parquet":
        return ParquetWriter(path, schema)
    return _FileJsonlWriter(path)
