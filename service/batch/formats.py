"""Files in and out of batch classification: JSONL, CSV and Parquet read as a stream of rows, in slices of rows
that can be read on their own (the partitions of a job), and JSONL or Parquet written atomically.

Rows are numbered from 0 within their file: JSONL's non-blank lines, CSV's non-empty records after the header,
Parquet's rows. A row that can't be read (invalid JSON, not an object, a broken CSV record) is still a row: it
comes with the reason instead of a record, so a job can set it aside and go on. Text is decoded with
`surrogateescape`, so bytes that are not UTF-8 survive as lone surrogates for the caller to reject.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

INPUT_FORMATS = ("jsonl", "csv", "parquet")
OUTPUT_FORMATS = ("jsonl", "parquet")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_PARQUET_BATCH = 4096
_BOM = b"\xef\xbb\xbf"


class InputError(ValueError):
    """The input or the arguments can't be used: the message names the file (and row) and the problem."""


def input_format(name: str) -> str:
    """The input format implied by a file name (`-`, standard input, is JSONL)."""
    lower = name.lower()
    if name == "-" or lower.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    raise InputError(f"{name}: unknown format; use a .jsonl, .csv or .parquet file (or --input-format)")


def output_format(name: str) -> str:
    """Parquet for a name ending in .parquet or .pq, else JSONL (as standard output always is)."""
    return "parquet" if name.lower().endswith(_PARQUET_SUFFIXES) else "jsonl"


def input_files(path: Path, fmt: str | None = None) -> list[tuple[Path, str]]:
    """A file, or the files of a folder in name order (skipping names starting with `_` or `.`), with formats."""
    if path.is_dir():
        files = [
            child
            for child in sorted(path.iterdir())
            if child.is_file() and not child.name.startswith(("_", ".")) and _known(child.name, fmt)
        ]
        if not files:
            raise InputError(f"{path}: no .jsonl, .csv or .parquet files in this folder")
        return [(child, fmt or input_format(child.name)) for child in files]
    if not path.is_file():
        raise InputError(f"{path}: no such file or folder")
    return [(path, fmt or input_format(path.name))]


def _known(name: str, fmt: str | None) -> bool:
    try:
        return fmt is not None or bool(input_format(name))
    except InputError:
        return False


@dataclass(frozen=True)
class Slice:
    """Rows `first` to `first + rows` of one file (`rows=None`: to its end): what one partition reads."""

    path: str
    fmt: str
    first: int = 0
    rows: int | None = None
    offset: int = 0  # byte offset of row `first` (JSONL, CSV)
    header: tuple[str, ...] | None = None  # CSV column names, for a slice that starts after the header
    row_base: int = 0  # rows of the job's earlier input files, so row numbers run on across files


@dataclass(frozen=True)
class RawRow:
    """One input row: its index in its file and its record, or why there is none."""

    index: int
    record: dict[str, Any] | None
    error: str | None = None


# --- reading ---------------------------------------------------------------------------------------------------


def _offset_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(byte offset just past the line, line) for each line of a binary stream."""
    position = stream.tell() if stream.seekable() else 0
    for line in stream:
        position += len(line)
        yield position, line


def _without_bom(lines: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    """The lines, less the UTF-8 byte order mark some tools (Excel, Notepad) put at the start of a file."""
    iterator = iter(lines)
    for end, line in iterator:
        yield end, line.removeprefix(_BOM)
        break
    yield from iterator


def _jsonl_rows(lines: Iterable[tuple[int, bytes]], first: int = 0) -> Iterator[tuple[int, RawRow]]:
    """(byte offset past the row, row) for each non-blank line."""
    index = first
    for end, line in _without_bom(lines):
        if not line.strip():
            continue
        yield end, _jsonl_row(index, line)
        index += 1


def _jsonl_row(index: int, line: bytes) -> RawRow:
    try:
        record = json.loads(line.decode("utf-8", "surrogateescape"))
    except json.JSONDecodeError as error:
        return RawRow(index, None, f"invalid JSON: {error.msg}")
    if not isinstance(record, dict):
        return RawRow(index, None, f"expected a JSON object, got {type(record).__name__}")
    return RawRow(index, record)


_CsvRecord = tuple[int, list[str] | None, str | None]


def _csv_records(lines: Iterable[tuple[int, bytes]]) -> Iterator[_CsvRecord]:
    """(byte offset past the record, its fields or None, why not) for each non-empty CSV record.

    csv.reader asks for one more line only inside a quoted field, so the offset of the last line it took is
    where the next record starts."""
    _raise_csv_field_limit()
    position = [0]

    def text_lines() -> Iterator[str]:
        for end, line in _without_bom(lines):
            position[0] = end
            yield line.decode("utf-8", "surrogateescape")

    reader = csv.reader(text_lines())
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # the reader goes on with the next line
            yield position[0], None, f"unreadable CSV record: {error}"
            continue
        if fields:
            yield position[0], fields, None


def _raise_csv_field_limit() -> None:
    # The csv module refuses fields over 128 KiB; such a text must reach the length check and be rejected there.
    if csv.field_size_limit() < sys.maxsize // 2:
        with contextlib.suppress(OverflowError):
            csv.field_size_limit(sys.maxsize // 2)


def _csv_header(records: Iterator[_CsvRecord], name: str) -> tuple[tuple[str, ...], int]:
    """The column names and the offset just past them (an empty file has neither)."""
    for end, fields, error in records:
        if fields is None:
            raise InputError(f"{name}: unreadable CSV header: {error}")
        return tuple(fields), end
    return (), 0


def _csv_rows(
    lines: Iterable[tuple[int, bytes]], header: tuple[str, ...] | None, first: int = 0, name: str = "-"
) -> Iterator[tuple[int, RawRow]]:
    records = _csv_records(lines)
    if header is None:
        header, _ = _csv_header(records, name)
    index = first
    for end, fields, error in records:
        if fields is None:
            yield end, RawRow(index, None, error)
        else:
            # As csv.DictReader: missing fields are None, extra fields are dropped.
            record: dict[str, Any] = dict.fromkeys(header)
            record.update(zip(header, fields, strict=False))
            yield end, RawRow(index, record)
        index += 1


def csv_header(path: Path) -> tuple[str, ...]:
    with path.open("rb") as stream:
        return _csv_header(_csv_records(_offset_lines(stream)), str(path))[0]


def parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.ParquetFile(path).schema_arrow.names)


def _python_values(column: Any) -> list[Any]:
    """A pyarrow column as Python values; strings through bytes, so invalid UTF-8 becomes lone surrogates."""
    import pyarrow as pa

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = column.cast(pa.large_binary())
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        return [None if value is None else value.decode("utf-8", "surrogateescape") for value in column.to_pylist()]
    return list(column.to_pylist())


def _parquet_rows(part: Slice, columns: Iterable[str]) -> Iterator[RawRow]:
    """The slice's rows, reading only the row groups that hold them, a batch at a time."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(part.path)
    wanted = [name for name in dict.fromkeys(columns) if name in parquet.schema_arrow.names]
    total = parquet.metadata.num_rows
    stop = total if part.rows is None else min(part.first + part.rows, total)
    groups: list[int] = []
    index, group_start = None, 0
    for group in range(parquet.metadata.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        if group_start + size > part.first and group_start < stop:
            groups.append(group)
            index = group_start if index is None else index
        group_start += size
    if index is None:
        return
    for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH, row_groups=groups, columns=wanted):
        values = {name: _python_values(batch.column(name)) for name in wanted}
        for position in range(batch.num_rows):
            if index >= stop:
                return
            if index >= part.first:
                yield RawRow(index, {name: values[name][position] for name in wanted})
            index += 1


def read_slice(part: Slice, columns: Iterable[str] = ()) -> Iterator[RawRow]:
    """The rows of a slice; `columns` names the fields Parquet reads (the others are never loaded)."""
    if part.fmt == "parquet":
        yield from _parquet_rows(part, columns)
        return
    with open(part.path, "rb") as stream:
        stream.seek(part.offset)
        rows = read_stream(stream, part.fmt, part.header, part.first, part.path)
        yield from rows if part.rows is None else islice(rows, part.rows)


def read_stream(
    stream: Iterable[bytes], fmt: str, header: tuple[str, ...] | None = None, first: int = 0, name: str = "-"
) -> Iterator[RawRow]:
    """The rows of a JSONL or CSV byte stream (a file or standard input)."""
    lines = ((0, line) for line in stream)
    if fmt == "jsonl":
        yield from (row for _, row in _jsonl_rows(lines, first))
    elif fmt == "csv":
        yield from (row for _, row in _csv_rows(lines, header, first, name))
    else:
        raise InputError(f"{name}: {fmt} can't be read from a stream; give a file")


# --- partitioning ----------------------------------------------------------------------------------------------


def plan_file(path: Path, fmt: str, partition_rows: int, row_base: int = 0) -> tuple[list[Slice], int]:
    """Cut a file into slices of `partition_rows` rows (the last may be shorter) and count its rows.

    JSONL and CSV are read once, line by line, for the byte offset where each slice starts; Parquet needs only
    its footer. Memory stays constant whatever the size of the file."""
    name = str(path)
    starts: list[tuple[int, int]] = []  # (first row, byte offset)
    header: tuple[str, ...] | None = None
    if fmt == "parquet":
        import pyarrow.parquet as pq

        total = pq.ParquetFile(path).metadata.num_rows
        starts = [(first, 0) for first in range(0, total, partition_rows)]
    else:
        total, starts, header = _scan_rows(path, fmt, partition_rows)
    return [
        Slice(name, fmt, first, min(partition_rows, total - first), offset, header, row_base)
        for first, offset in starts
    ], total


def _scan_rows(path: Path, fmt: str, partition_rows: int) -> tuple[int, list[tuple[int, int]], tuple[str, ...] | None]:
    """Rows of a JSONL or CSV file, the (row, byte offset) where every slice starts, and the CSV header."""
    name = str(path)
    starts: list[tuple[int, int]] = []
    header: tuple[str, ...] | None = None
    with path.open("rb") as stream:
        lines = _offset_lines(stream)
        if fmt == "csv":
            records = _csv_records(lines)
            header, start = _csv_header(records, name)
            ends: Iterator[int] = (end for end, _, _ in records)
        else:
            start = 0  # blank lines before a row are skipped by the reader, so a row "starts" after the previous one
            ends = (end for end, line in lines if line.strip())  # the reader's rows, without parsing them
        total = 0
        for end in ends:
            if total % partition_rows == 0:
                starts.append((total, start))
            total += 1
            start = end
    return total, starts, header


# --- writing ---------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed to it when the block ends without error and removed otherwise:
    readers (and `--resume`) never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


class JsonlWriter:
    """One JSON object a line, UTF-8, characters unescaped."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        self.stream.writelines(json.dumps(record, ensure_ascii=False, default=str) + "\n" for record in records)

    def close(self) -> None:
        self.stream.flush()


class ParquetWriter:
    """Records of a fixed schema, buffered into row groups of `group_rows` rows. A value of a top-level string
    column that is not a string (a JSON number as `id`, say) is written as its JSON text."""

    def __init__(self, path: Path, schema: Any, group_rows: int = 10_000) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.schema = schema
        self.group_rows = group_rows
        self.strings = [field.name for field in schema if pa.types.is_string(field.type)]
        self.buffer: list[dict[str, Any]] = []
        self.writer = pq.ParquetWriter(path, schema)

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            for name in self.strings:
                value = record.get(name)
                if value is not None and not isinstance(value, str):
                    record[name] = json.dumps(value, ensure_ascii=False, default=str)
            self.buffer.append(record)
        if len(self.buffer) >= self.group_rows:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.buffer:
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
            self.buffer = []

    def close(self) -> None:
        self._flush()
        self.writer.close()


def open_writer(path: Path, fmt: str, schema: Any) -> JsonlWriter | ParquetWriter:
    """A writer of `fmt` to `path` (a new file); `close()` it to finish the file."""
    if fmt == "parquet":
        return ParquetWriter(path, schema)
    return _FileJsonlWriter(path)


class _FileJsonlWriter(JsonlWriter):
    def __init__(self, path: Path) -> None:
        super().__init__(path.open("w", encoding="utf-8", newline="\n"))

    def close(self) -> None:
        self.stream.close()
