"""`stance suggest`: the sentences (or texts) of an unlabeled input most worth labeling next.

Every item is scored by the one predict; its margin is, over the heads, the smallest gap between the two top
probabilities of a head (p1 - p2). The least confident items (smallest margin, ties in input order) come first,
skipping near-duplicates of those already chosen: the same normalised text (lowercase, whitespace collapsed) or
a character 5-gram Jaccard similarity over 0.8. Each line carries the model's current labels, so a labeler only
fixes the wrong ones, and the file is what `stance train --data` reads:
`{"text", "topic", "stance", "sentiment", "margin", "id", "row"}` (`id` as a string, when the row has one; `row`
numbers the input rows from 1, as `stance classify` does; `margin` and `row` are kept as meta by training).

The input is read as `stance classify` reads it and scored a chunk of rows at a time; only a pool of the best
`POOL_FACTOR * n` candidates by margin is kept (exact duplicates enter it once), so memory is bounded by `n`,
not by the input's size.
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from service.batch.jobs import check_columns
from service.batch.readers import INPUT_FORMATS, InputError, RawRow, allow_long_csv_fields, input_files, read_stream
from service.batch.rows import Options, check_row, chunk_key
from service.batch.slices import Slice, read_slice
from service.model.bundle import Bundle, load_bundle
from service.model.files import atomic_file
from service.model.paths import MODELS_DIR
from service.model.predict import Heads, predict
from service.model.sentences import split_sentences
from service.model.text import MAX_TEXT_CHARS

POOL_FACTOR = 4  # candidates kept per suggestion asked for, so that skipped near-duplicates leave enough
NGRAM = 5
MAX_SIMILARITY = 0.8


def margin(heads: Heads) -> float:
    """The smallest, over the heads, gap between a head's two top probabilities."""
    gaps = []
    for result in heads.values():
        top = heapq.nlargest(2, result["scores"].values())
        gaps.append(top[0] - (top[1] if len(top) > 1 else 0.0))
    return min(gaps)


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def shingles(text: str) -> frozenset[str]:
    """The character 5-grams of a normalised text (a shorter text is its own one gram)."""
    if len(text) <= NGRAM:
        return frozenset([text])
    return frozenset(text[i : i + NGRAM] for i in range(len(text) - NGRAM + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


@dataclass
class Candidate:
    margin: float
    order: int  # position in the input (rows, then sentences), for ties
    key: str  # the normalised text
    record: dict[str, Any]


@dataclass
class Counts:
    """Rows read, scored and rejected, items (sentences or texts) scored, duplicates skipped."""

    rows: int = 0
    scored: int = 0
    rejected: int = 0
    items: int = 0
    duplicates: int = 0
    first_reject: str | None = None


@dataclass
class Pool:
    """The `size` candidates with the smallest (margin, order) seen so far, one per normalised text."""

    size: int
    heap: list[tuple[float, int, Candidate]] = field(default_factory=list)  # (-margin, -order): worst on top
    kept: dict[str, Candidate] = field(default_factory=dict)  # by normalised text

    def add(self, candidate: Candidate) -> bool:
        """Keep the candidate if it is among the best; False when it repeats a kept text (the better one stays)."""
        entry = (-candidate.margin, -candidate.order, candidate)
        same = self.kept.get(candidate.key)
        if same is not None:
            if (candidate.margin, candidate.order) < (same.margin, same.order):  # rare: e.g. another casing
                self.heap = [kept for kept in self.heap if kept[2] is not same]
                heapq.heapify(self.heap)
                heapq.heappush(self.heap, entry)
                self.kept[candidate.key] = candidate
            return False
        if len(self.heap) < self.size:
            heapq.heappush(self.heap, entry)
        elif entry[:2] > self.heap[0][:2]:
            del self.kept[heapq.heapreplace(self.heap, entry)[2].key]
        else:
            return True
        self.kept[candidate.key] = candidate
        return True

    def ranked(self) -> list[Candidate]:
        return sorted((entry[2] for entry in self.heap), key=lambda candidate: (candidate.margin, candidate.order))


def select(ranked: Iterable[Candidate], n: int, counts: Counts) -> list[Candidate]:
    """The first `n` candidates that are not near-duplicates of one chosen before them."""
    chosen: list[tuple[Candidate, frozenset[str]]] = []
    for candidate in ranked:
        if len(chosen) == n:
            break
        grams = shingles(candidate.key)
        if any(grams == other or jaccard(grams, other) > MAX_SIMILARITY for _, other in chosen):
            counts.duplicates += 1
            continue
        chosen.append((candidate, grams))
    return [candidate for candidate, _ in chosen]


def score_rows(
    bundle: Bundle, rows: Iterable[RawRow], options: Options, split: bool, source: str, row_base: int, counts: Counts
) -> Iterator[tuple[float, str, dict[str, Any]]]:
    """(margin, normalised text, output record) for each sentence (or text) of the good rows, in input order,
    scored a chunk of rows at a time; bad rows are counted and skipped."""
    for _, group in groupby(rows, key=lambda row: chunk_key(row.index)):
        items: list[tuple[str, dict[str, Any]]] = []  # (text, identity)
        for row in group:
            counts.rows += 1
            number = row_base + row.index + 1
            text, reason = check_row(row, options)
            if reason is not None:
                counts.rejected += 1
                if counts.first_reject is None:
                    counts.first_reject = f"{source}: row {number}: {reason}"
                continue
            assert row.record is not None
            counts.scored += 1
            identity: dict[str, Any] = {"row": number}
            record_id = row.record.get(options.id_field)
            if record_id is not None:
                identity["id"] = record_id if isinstance(record_id, str) else json.dumps(record_id)
            texts = [span.text for span in split_sentences(text)] if split else [text.strip()]
            items.extend((piece, identity) for piece in texts)
        counts.items += len(items)
        for (text, identity), heads in zip(items, predict(bundle, [text for text, _ in items]), strict=True):
            value = margin(heads)
            labels = {head: result["label"] for head, result in heads.items()}
            yield value, normalise(text), {"text": text, **labels, "margin": value, **identity}


def suggest(
    bundle: Bundle, sources: Iterable[tuple[str, Iterable[RawRow]]], n: int, options: Options, split: bool
) -> tuple[list[dict[str, Any]], Counts]:
    """The records of the `n` items most worth labeling, least confident first, and what was read."""
    if n < 1:
        raise InputError(f"--n must be at least 1, not {n}")
    counts = Counts()
    pool = Pool(POOL_FACTOR * n)
    order = 0
    for source, rows in sources:
        for value, key, record in score_rows(bundle, rows, options, split, source, counts.rows, counts):
            if not pool.add(Candidate(value, order, key, record)):
                counts.duplicates += 1
            order += 1
    return [candidate.record for candidate in select(pool.ranked(), n, counts)], counts


def read_sources(path: str, options: Options, fmt: str | None = None) -> list[tuple[str, Iterator[RawRow]]]:
    """(name, rows) of each input, as `stance classify` reads them: standard input, a file or a folder's files.
    The input's names and columns are checked now; rows are read lazily."""
    if path == "-":
        if fmt == "parquet":
            raise InputError("Parquet can't be read from standard input: give a file")
        stdin: Any = sys.stdin
        lines = (
            stdin.buffer if hasattr(stdin, "buffer") else (line.encode("utf-8", "surrogateescape") for line in stdin)
        )
        return [("-", read_stream(lines, fmt or "jsonl"))]
    files = input_files(Path(path), fmt)
    check_columns(files, options)
    names = [(str(file.resolve()), file_fmt) for file, file_fmt in files]
    return [
        (name, read_slice(Slice(name, file_fmt), (options.text_field, options.id_field))) for name, file_fmt in names
    ]


def write_records(records: list[dict[str, Any]], output: str) -> None:
    """JSON lines to a file (written whole or not at all) or to standard output (`-`)."""
    lines = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    if output == "-":
        sys.stdout.write(lines)
        return
    with atomic_file(Path(output)) as temporary:
        temporary.write_text(lines, encoding="utf-8")


def summary(counts: Counts, written: int, n: int, output: str) -> str:
    return (
        f"{counts.rows:,} rows read, {counts.scored:,} scored ({counts.items:,} items), {counts.rejected:,} rejected"
        f"{f' (first: {counts.first_reject})' if counts.first_reject else ''}; {counts.duplicates:,} duplicates "
        f"skipped; {written:,} of {n:,} suggestions written to {'standard output' if output == '-' else output}"
    )


def cmd_suggest(args: argparse.Namespace) -> None:
    if args.n < 1:
        raise InputError(f"--n must be at least 1, not {args.n}")
    allow_long_csv_fields()
    options = Options(text_field=args.text_field, id_field=args.id_field, max_text_chars=args.max_text_chars)
    sources = read_sources(args.input, options, args.input_format)  # checks the input before loading the model
    records, counts = suggest(load_bundle(args.model), sources, args.n, options, args.split_sentences)
    write_records(records, args.output)
    print(f"stance suggest: {summary(counts, len(records), args.n, args.output)}", file=sys.stderr)


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add `stance suggest` to the command line's sub-commands."""
    parser = commands.add_parser(
        "suggest", help="write the N least confident sentences (or texts) of an input, to label next"
    )
    parser.add_argument("input", help="input file, folder of files, or - for standard input (JSONL or CSV)")
    parser.add_argument("--n", type=int, required=True, help="how many suggestions to write")
    parser.add_argument("--output", "-o", required=True, help="JSONL file for `stance train --data`, or - (stdout)")
    parser.add_argument("--model", type=Path, default=MODELS_DIR / "current", help="bundle (default: %(default)s)")
    parser.add_argument("--text-field", default="text", help="column holding the text (default: %(default)s)")
    parser.add_argument("--id-field", default="id", help="column kept as each suggestion's id (default: %(default)s)")
    parser.add_argument("--input-format", choices=INPUT_FORMATS, help="override the format implied by the name")
    parser.add_argument(
        "--split-sentences", action="store_true", help="suggest sentences, split as the API splits (default: texts)"
    )
    parser.add_argument(
        "--max-text-chars", type=int, default=MAX_TEXT_CHARS, help="longer texts are skipped (default: %(default)s)"
    )
    parser.set_defaults(handler=cmd_suggest)
    return parser
