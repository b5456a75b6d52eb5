"""Reading batch inputs: which files and formats, and the rows of a JSONL or CSV byte stream (a file, from any row
on, or standard input). Parquet is read by `service.batch.parquet`, slices of files by `service.batch.slices`.

Rows are numbered from 0 within their file: JSONL's non-blank lines, CSV's non-empty records after the header,
Parquet's rows. A row that can't be read (invalid JSON, not an object, a broken CSV record) is still a row: it
comes with the reason instead of a record, so a job can set it aside and go on. Text is decoded with
`surrogateescape`, so bytes that are not UTF-8 survive as lone surrogates for the caller to reject.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from service.batch.parquet import PARQUET_SUFFIXES, parquet_columns

INPUT_FORMATS = ("jsonl", "csv", "parquet")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
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
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise InputError(f"{name}: unknown format; use a .jsonl, .csv or .parquet file (or --input-format)")


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


def input_columns(path: Path, fmt: str) -> tuple[str, ...] | None:
    """The column names of a CSV or Parquet file (empty for an empty CSV); None for JSONL, which has none."""
    if fmt == "parquet":
        return tuple(parquet_columns(path))
    if fmt == "csv":
        with path.open("rb") as stream:
            return _csv_header(_csv_records(_offset_lines(stream)), str(path))[0]
    return None


def allow_long_csv_fields() -> None:
    """Let a CSV field be as long as a JSONL text may be, so that a long text reaches the length check and is
    rejected there for its length, as in JSONL, not as an unreadable record (the csv module's default is 128 KiB).

    The limit belongs to the csv module, for every reader in the process (a reader takes no limit of its own), so
    it is raised by an explicit call where a job starts in a process (`jobs.run`, `partitions.run_partition`), not
    as a hidden side effect of reading."""
    limit = sys.maxsize // 2
    if csv.field_size_limit() < limit:
        with contextlib.suppress(OverflowError):  # where a C long is 32 bits, keep the default
            csv.field_size_limit(limit)


@dataclass(frozen=True)
class RawRow:
    """One input row: its index in its file and its record, or why there is none."""

    index: int
    record: dict[str, Any] | None
    error: str | None = None


def read_stream(
    stream: Iterable[bytes], fmt: str, header: tuple[str, ...] | None = None, first: int = 0, name: str = "-"
) -> Iterator[RawRow]:
    """The rows of a JSONL or CSV byte stream (a file or standard input)."""
    lines = ((0, line) for line in stream)  # offsets matter only to planning
    if fmt == "jsonl":
        yield from _jsonl_rows(lines, first)
    elif fmt == "csv":
        yield from _csv_rows(lines, header, first, name)
    else:
        raise InputError(f"{name}: {fmt} can't be read from a stream; give a file")


def row_ends(stream: IO[bytes], fmt: str, name: str) -> tuple[tuple[str, ...] | None, int, Iterator[int]]:
    """For planning slices: a JSONL or CSV file's header (CSV), the byte offset where its first row starts, and
    the offset just past each row, as the readers above count rows but without parsing JSON."""
    lines = _offset_lines(stream)
    if fmt == "csv":
        records = _csv_records(lines)
        header, start = _csv_header(records, name)
        return header, start, (end for end, _, _ in records)
    # Blank lines before a row are skipped by the reader, so a row "starts" just past the previous one.
    return None, 0, (end for end, line in lines if line.strip())


# --- JSONL and CSV, line by line, with the byte offset where each row ends -------------------------------------


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


def _jsonl_rows(lines: Iterable[tuple[int, bytes]], first: int = 0) -> Iterator[RawRow]:
    """A row for each non-blank line."""
    index = first
    for _, line in _without_bom(lines):
        if not line.strip():
            continue
        yield _jsonl_row(index, line)
        index += 1


def _jsonl_row(index: int, line: bytes) -> RawRow:
    try:
        record = orjson.loads(line)  # a few times faster than json.loads on the common, clean line
    except orjson.JSONDecodeError:
        # What orjson refuses (bytes that are not UTF-8, lone surrogates, NaN, integers past 64 bits), json.loads
        # reads as before, or names the problem.
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


def _csv_header(records: Iterator[_CsvRecord], name: str) -> tuple[tuple[str, ...], int]:
    """The column names and the offset just past them (an empty file has neither)."""
    for end, fields, error in records:
        if fields is None:
            raise InputError(f"{name}: unreadable CSV header: {error}")
        return tuple(fields), end
    return (), 0


def _csv_rows(
    lines: Iterable[tuple[int, bytes]], header: tuple[str, ...] | None, first: int = 0, name: str = "-"
) -> Iterator[RawRow]:
    """A row for each non-empty record after the header (given, for a slice that starts after it)."""
    records = _csv_records(lines)
    if header is None:
        header, _ = _csv_header(records, name)
    index = first
    for _, fields, error in records:
        if fields is None:
            yield RawRow(index, None, error)
        else:
            # As csv.DictReader: missing fields are None, extra fields are dropped.
            record: dict[str, Any] = dict.fromkeys(header)
            record.update(zip(header, fields, strict=False))
            yield RawRow(index, record)
        index += 1
