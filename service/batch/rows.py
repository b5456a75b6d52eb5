"""Batch classification of rows: check each row, label the good ones a chunk at a time, build output records.

Three output shapes (`Options.mode`):

- `texts`: one record per row, the whole text labelled as one unit:
  `{"id": ..., "text": ..., "topic": {"label", "score", "scores", "confident"}, "stance": ..., "sentiment": ...}`
  (with `explain`, each head also has the API's `explain` list);
- `sentences`: one record per sentence, split and labelled by `service.model.predict.classify` as the API does:
  `{"id": ..., "row": ..., "sentence": i, "start": ..., "end": ..., "text": ..., <heads>, "actors": [...]}`;
- `summary`: one record per row with the share of its sentences per label per head, the API's `summary`, and
  the API's `relations`: `{"id": ..., "row": ..., "sentences": n, "summary": {head: {label: share}}, "relations":
  [...]}`.

`id` is the row's `--id-field` value, present when the row has that field; `row` is the row's number in the
input, from 1. A row that can't be labelled (unreadable, no text, or a text the API would refuse too: over
`max_text_chars`, with a NUL character, or not valid Unicode, as `service.model.text` says) is handed to a reject
callback with the reason instead.

Rows are labelled in chunks: rows 0-499 of a file, 500-999, and so on (`chunk_key`). Partitions hold a whole
number of chunks (`partition_rows` is a multiple of `CHUNK_ROWS`), so a file read whole and the same file read
partition by partition go through the scorer in the same batches and give bit-for-bit the same numbers, whatever
the partition size or the number of workers. (The scorer's sums run in an order that depends on the batch, so
other batches could differ in the last bit.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from itertools import groupby
from typing import Any

from service.batch.readers import RawRow
from service.model.bundle import Bundle
from service.model.predict import classify, label_sentences, predict
from service.model.text import MAX_TEXT_CHARS, text_problem, unicode_error

MODES = ("texts", "sentences", "summary")
CHUNK_ROWS = 500


@dataclass(frozen=True)
class Options:
    """What a job does with each row; the same for every partition."""

    text_field: str = "text"
    id_field: str = "id"
    mode: str = "texts"
    max_text_chars: int = MAX_TEXT_CHARS
    partition_rows: int = 10_000  # a multiple of CHUNK_ROWS
    explain: bool = False
    precision: int | None = None  # decimal places of the probabilities written; None: as computed


@dataclass
class Stats:
    """Rows read, classified and rejected, and sentences labelled."""

    rows: int = 0
    classified: int = 0
    rejected: int = 0
    sentences: int = 0

    def add(self, other: Stats) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


Reject = Callable[[dict[str, Any]], None]


def chunk_key(index: int) -> int:
    """Which chunk the row at `index` of its file belongs to."""
    return index // CHUNK_ROWS


def check_row(row: RawRow, options: Options) -> tuple[str, str | None]:
    """(the row's text, None) when it can be labelled, else ("", why not)."""
    if row.record is None:
        return "", row.error or "unreadable row"
    record_id = row.record.get(options.id_field)
    id_error = unicode_error(record_id) if isinstance(record_id, str) else None
    if id_error is not None:
        return "", f"id field {options.id_field!r} {id_error}"
    text = row.record.get(options.text_field)
    if text is None:
        return "", f"missing or empty text field {options.text_field!r}"
    if not isinstance(text, str):
        return "", f"text field {options.text_field!r} is not a string but {type(text).__name__}"
    problem = text_problem(text, options.max_text_chars)
    if problem is None:
        return text, None
    if problem.kind == "empty":  # nothing to label, as when the field is absent: the same reason
        return "", f"missing or empty text field {options.text_field!r}"
    return "", f"text field {options.text_field!r} {problem.detail}"


def reject_record(row: RawRow, number: int, source: str, reason: str, id_field: str) -> dict[str, Any]:
    """The reject file's line for a row: its number, file, id (when it has a readable one) and the reason."""
    rejected: dict[str, Any] = {"row": number, "file": source}
    if row.record is not None and id_field in row.record:
        record_id = row.record[id_field]
        if not isinstance(record_id, str) or unicode_error(record_id) is None:
            rejected["id"] = record_id
    rejected["reason"] = reason
    return rejected


def classify_rows(
    bundle: Bundle, rows: Iterable[RawRow], options: Options, source: str, row_base: int, reject: Reject
) -> Iterator[tuple[list[dict[str, Any]], Stats]]:
    """Label the rows of one file (or slice of it) a chunk at a time: (output records, counts) per chunk.

    A row's number is `row_base + index + 1`; rows that can't be labelled go to `reject` (which may raise to
    stop the job instead)."""
    for _, group in groupby(rows, key=lambda row: chunk_key(row.index)):
        chunk = list(group)
        stats = Stats(rows=len(chunk))
        good: list[tuple[int, dict[str, Any], str]] = []
        for row in chunk:
            number = row_base + row.index + 1
            text, reason = check_row(row, options)
            if reason is not None:
                reject(reject_record(row, number, source, reason, options.id_field))
                stats.rejected += 1
            else:
                assert row.record is not None
                good.append((number, row.record, text))
        stats.classified = len(good)
        records = label(bundle, good, options)
        if options.mode == "summary":
            stats.sentences = sum(record["sentences"] for record in records)
        else:
            stats.sentences = len(records)  # a text labelled whole counts as one sentence
        yield records, stats


def label(bundle: Bundle, rows: list[tuple[int, dict[str, Any], str]], options: Options) -> list[dict[str, Any]]:
    """Output records for (row number, record, text) triples, in the shape of `options.mode`."""
    texts = [text for _, _, text in rows]
    if options.mode == "texts":
        answers = predict(bundle, texts, options.explain, options.precision)
        return [
            {**_identity(record, options), "text": text, **heads}
            for (_, record, text), heads in zip(rows, answers, strict=True)
        ]
    if options.mode == "summary":
        documents = classify(bundle, texts, split=True, precision=options.precision)
        return [
            {
                **_identity(record, options),
                "row": number,
                "sentences": len(document.sentences),
                "summary": document.summary,
                "relations": document.relations,
            }
            for (number, record, _), document in zip(rows, documents, strict=True)
        ]
    labelled = label_sentences(bundle, texts, split=True, explain=options.explain, precision=options.precision)
    records: list[dict[str, Any]] = []
    for (number, record, _), sentences in zip(rows, labelled, strict=True):
        identity = {**_identity(record, options), "row": number}
        records.extend(sentence.record(**identity, sentence=index) for index, sentence in enumerate(sentences))
    return records


def _identity(record: dict[str, Any], options: Options) -> dict[str, Any]:
    return {"id": record[options.id_field]} if options.id_field in record else {}


def output_schema(bundle: Bundle, options: Options, fmt: str) -> Any:
    """The Parquet schema of the records of `options.mode`: the JSONL records' nesting; `id` is a string. None for
    another output format (pyarrow is imported only for Parquet: a fifth of a JSONL job's start-up otherwise)."""
    if fmt != "parquet":
        return None
    import pyarrow as pa

    mode = options.mode
    text_fields = ("id", "name", "type", "text")
    actor = pa.struct([*((name, pa.string()) for name in text_fields), ("start", pa.int64()), ("end", pa.int64())])
    shares = {head: pa.struct([(name, pa.float64()) for name in names]) for head, names in bundle.labels.items()}
    answer = [("label", pa.string()), ("score", pa.float64()), ("confident", pa.bool_())]
    if options.explain:
        answer.append(("explain", pa.list_(pa.struct([("feature", pa.string()), ("weight", pa.float64())]))))
    heads = [(head, pa.struct([*answer[:2], ("scores", scores), *answer[2:]])) for head, scores in shares.items()]
    identity = [("id", pa.string()), ("row", pa.int64())]
    if mode == "texts":
        columns = [("id", pa.string()), ("text", pa.string()), *heads]
    elif mode == "sentences":
        spans = [("sentence", pa.int64()), ("start", pa.int64()), ("end", pa.int64()), ("text", pa.string())]
        columns = [*identity, *spans, *heads, ("actors", pa.list_(actor))]
    else:
        pair = [("actors", pa.list_(pa.string())), ("sentences", pa.int64()), ("indices", pa.list_(pa.int64()))]
        relation = pa.struct([*pair, *shares.items()])
        summary = [("sentences", pa.int64()), ("summary", pa.struct(list(shares.items())))]
        columns = [*identity, *summary, ("relations", pa.list_(relation))]
    return pa.schema(columns)
