"""Load labeled sentences (JSONL or CSV) into examples; a row has `text` and any subset of the head columns."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from service.model.bundle import HEADS
from training.examples import DataError, Example, read_table
from training.sources import load_source, parse_spec

LABELED_SUFFIXES = {".jsonl": "json", ".json": "json", ".csv": "csv"}
SPLITS = ("train", "dev", "test")


def labeled_files(path: Path) -> list[Path]:
    """A labeled file, or every JSONL/CSV file under a folder, in a stable order."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in LABELED_SUFFIXES and p.is_file())
        if not files:
            raise DataError(f"{path}: no .jsonl or .csv files found")
        return files
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    if path.suffix not in LABELED_SUFFIXES:
        raise DataError(f"{path}: unsupported format {path.suffix!r} (use .jsonl or .csv)")
    return [path]


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of one JSONL or CSV file."""
    yield from read_table(path, LABELED_SUFFIXES[path.suffix])


LabelMap = dict[str, dict[str, str | None]]  # head -> {label of another scheme: our label, or None to drop}


def to_example(row: dict[str, Any], source: str, line: int, label_map: LabelMap | None = None) -> Example:
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{source}: row {line}: missing or empty `text`")
    labels: dict[str, str] = {}
    for head, allowed in HEADS.items():
        value = row.get(head)
        if label_map and head in label_map and value is not None:
            value = label_map[head].get(str(value), value)
        if value is None or value == "":
            continue
        if value not in allowed:
            raise DataError(
                f"{source}: row {line}: unknown {head} label {value!r}; expected one of {', '.join(allowed)}"
            )
        labels[head] = str(value)
    split = row.get("split") or None
    if split is not None and split not in SPLITS:
        raise DataError(f"{source}: row {line}: unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    meta = {key: value for key, value in row.items() if key not in {"text", "split", *HEADS}}
    return Example(text=text.strip(), labels=labels, split=split, source=source, meta=meta)


def read_label_map(path: Path) -> LabelMap:
    """A JSON file `{"stance": {"verbal cooperation": "cooperative", "irrelevant": null}, ...}`."""
    try:
        label_map = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read the label map: {error}") from error
    if not isinstance(label_map, dict) or not all(isinstance(m, dict) for m in label_map.values()):
        raise DataError(f'{path}: a label map is a JSON object of heads, e.g. {{"stance": {{"theirs": "ours"}}}}')
    unknown = set(label_map) - set(HEADS)
    if unknown:
        raise DataError(f"{path}: unknown heads {sorted(unknown)}; expected some of {', '.join(HEADS)}")
    for head, mapping in label_map.items():
        wrong = {target for target in mapping.values() if target is not None and target not in HEADS[head]}
        if wrong:
            raise DataError(f"{path}: {head} maps onto unknown labels {sorted(wrong)}")
    return label_map


def load_examples(
    specs: Iterable[str | Path], split: str | None = None, label_map: LabelMap | None = None
) -> list[Example]:
    """Every labeled row of the given files, folders or `source:PATH` public datasets; with `split`, one split.

    `label_map` renames gold labels of another scheme onto ours (plain files only) before they are checked.
    """
    examples: list[Example] = []
    for spec in specs:
        source, path = parse_spec(str(spec))
        if source is not None:
            examples += [ex for ex in load_source(source, path) if split is None or ex.split == split]
            continue
        for file in labeled_files(path):
            for line, row in enumerate(read_rows(file), start=1):
                example = to_example(row, str(file), line, label_map)
                if split is None or example.split == split:
                    examples.append(example)
    if not examples:
        raise DataError("no labeled rows found" + (f" in split {split!r}" if split else ""))
    return examples
