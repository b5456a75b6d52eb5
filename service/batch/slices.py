"""Slices of an input file that can be read on their own, each by a different process: the partitions of a job.

A file is planned in one pass (JSONL and CSV line by line, for the byte offset where each slice starts; Parquet
from its footer), so memory stays constant whatever its size, and each slice is then read from its offset (or
its row groups), giving the very rows the whole file gives at those positions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

from service.batch.parquet import parquet_rows, read_parquet
from service.batch.readers import RawRow, read_stream, row_ends


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


def read_slice(part: Slice, columns: Iterable[str] = ()) -> Iterator[RawRow]:
    """The rows of a slice; `columns` names the fields Parquet reads (the others are never loaded)."""
    if part.fmt == "parquet":
        stop = None if part.rows is None else part.first + part.rows
        for index, record in read_parquet(Path(part.path), part.first, stop, columns):
            yield RawRow(index, record)
        return
    with open(part.path, "rb") as stream:
        stream.seek(part.offset)
        rows = read_stream(stream, part.fmt, part.header, part.first, part.path)
        yield from rows if part.rows is None else islice(rows, part.rows)


def plan_file(path: Path, fmt: str, partition_rows: int, row_base: int = 0) -> tuple[list[Slice], int]:
    """Cut a file into slices of `partition_rows` rows (the last may be shorter) and count its rows."""
    header: tuple[str, ...] | None = None
    starts: list[tuple[int, int]] = []  # (first row, byte offset)
    if fmt == "parquet":
        total = parquet_rows(path)
        starts = [(first, 0) for first in range(0, total, partition_rows)]
    else:
        with path.open("rb") as stream:
            header, start, ends = row_ends(stream, fmt, str(path))
            total = 0
            for end in ends:
                if total % partition_rows == 0:
                    starts.append((total, start))
                total += 1
                start = end
    return [
        Slice(str(path), fmt, first, min(partition_rows, total - first), offset, header, row_base)
        for first, offset in starts
    ], total


def join_slices(slices: list[Slice], count: int) -> list[Slice]:
    """Each run of `count` consecutive slices of one file (as `plan_file` cuts it) as one slice."""
    return [
        replace(slices[start], rows=sum(part.rows or 0 for part in slices[start : start + count]))
        for start in range(0, len(slices), count)
    ]
