"""Parquet in and out, with pyarrow: rows read a batch at a time from only the row groups a slice needs, records
written a row group at a time. Strings are read through bytes, so values that are not UTF-8 survive as lone
surrogates for the row check to reject, as in JSONL and CSV."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

PARQUET_SUFFIXES = (".parquet", ".pq")
_READ_BATCH = 4096


def parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.ParquetFile(path).schema_arrow.names)


def parquet_rows(path: Path) -> int:
    """The file's row count, from its footer."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def read_parquet(
    path: Path, first: int, stop: int | None, columns: Iterable[str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, record) of rows `first` to `stop` (None: the end), with only the `columns` the file has."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    wanted = [name for name in dict.fromkeys(columns) if name in parquet.schema_arrow.names]
    total = parquet.metadata.num_rows
    stop = total if stop is None else min(stop, total)
    groups: list[int] = []
    index, group_start = None, 0
    for group in range(parquet.metadata.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        if group_start + size > first and group_start < stop:
            groups.append(group)
            index = group_start if index is None else index
        group_start += size
    if index is None:
        return
    for batch in parquet.iter_batches(batch_size=_READ_BATCH, row_groups=groups, columns=wanted):
        values = {name: _python_values(batch.column(name)) for name in wanted}
        for position in range(batch.num_rows):
            if index >= stop:
                return
            if index >= first:
                yield index, {name: values[name][position] for name in wanted}
            index += 1


def _python_values(column: Any) -> list[Any]:
    """A pyarrow column as Python values; strings through bytes, so invalid UTF-8 becomes lone surrogates."""
    import pyarrow as pa

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = column.cast(pa.large_binary())
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        return [None if value is None else value.decode("utf-8", "surrogateescape") for value in column.to_pylist()]
    return list(column.to_pylist())


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
