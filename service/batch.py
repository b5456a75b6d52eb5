"""Classify rows of JSONL or CSV files: one output record per input row, read and written as a stream."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from itertools import islice
from typing import IO, Any

from service.bundle import Bundle
from service.predict import predict

FORMATS = ("jsonl", "csv")
CHUNK_ROWS = 512


class InputError(ValueError):
    """An input row can't be classified: the message names the row and the problem."""


def format_of(name: str) -> str:
    """The input format implied by a file name (`-`, stdin, is JSONL)."""
    if name == "-" or name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    raise InputError(f"{name}: unknown format; use a .jsonl or .csv file")


def read_records(stream: IO[str], fmt: str) -> Iterator[dict[str, Any]]:
    if fmt == "csv":
        yield from csv.DictReader(stream)
        return
    for line_number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"line {line_number}: invalid JSON: {error.msg}") from error
        if not isinstance(record, dict):
            raise InputError(f"line {line_number}: expected a JSON object, got {type(record).__name__}")
        yield record


def classify_records(
    bundle: Bundle, records: Iterable[dict[str, Any]], text_field: str = "text"
) -> Iterator[dict[str, Any]]:
    """Label each record's whole text on every head, keeping its `id` when it has one."""
    iterator = enumerate(records, start=1)
    while chunk := list(islice(iterator, CHUNK_ROWS)):
        texts = []
        for row_number, record in chunk:
            text = record.get(text_field)
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"row {row_number}: missing or empty text field {text_field!r}")
            texts.append(text)
        for (_, record), text, heads in zip(chunk, texts, predict(bundle, texts), strict=True):
            output: dict[str, Any] = {"id": record["id"]} if "id" in record else {}
            output["text"] = text
            output.update({head: asdict(result) for head, result in heads.items()})
            yield output
