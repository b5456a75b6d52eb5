"""Adapters from public labeled datasets to our rows, selected by a prefix: `--data cameo:PATH`.

Nothing of these datasets is committed: they are read where they are (see `../shared/data/README.md`).
`LABEL_MAPS` is the one place their labels are mapped onto our heads; `data/SOURCES.md` documents it.
Datasets without an official split get a stable one from a hash of the text (70 % train, 15 % dev,
15 % test), so the held-out portion is the same in every run and duplicates never straddle two splits.
"""

from __future__ import annotations

import argparse
import csv
import html
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from training.corpus import story_split
from training.examples import DataError, Example, read_table

LABEL_MAPS: dict[str, dict[str, dict[str, str]]] = {
    # ConfliBERT CAMEO: 0 neutral statement or appeal, 1 verbal cooperation, 2 material cooperation,
    # 3 verbal conflict, 4 material conflict.
    "cameo": {"stance": {"0": "neutral", "1": "cooperative", "2": "cooperative", "3": "threat", "4": "threat"}},
    # UN QuadClass, the real order (not the upstream README's): 0 irrelevant, 1 material conflict,
    # 2 material cooperation, 3 verbal conflict, 4 verbal cooperation.
    "un-quadclass": {"stance": {"0": "neutral", "1": "threat", "2": "cooperative", "3": "threat", "4": "cooperative"}},
    # NYT front-page headlines, Comparative Agendas Project major topic codes.
    "nyt-cap": {
        "topic": {
            **dict.fromkeys(["16", "12"], "security"),
            "19": "diplomacy",
            **dict.fromkeys(["1", "4", "5", "8", "10", "14", "15", "18"], "economy"),
            **dict.fromkeys(["2", "3", "6", "7", "9", "13", "17", "28", "29", "31"], "society"),
            **dict.fromkeys(["20", "24"], "politics"),
            **dict.fromkeys(["21", "26", "27", "30", "99"], "other"),
        }
    },
    # NewsMTSC target polarity, kept only where every target of the sentence agrees.
    "newsmtsc": {"sentiment": {"2.0": "negative", "4.0": "neutral", "6.0": "positive"}},
    # AG News: only the unambiguous classes; "World" mixes diplomacy, security and politics and is dropped.
    "ag-news": {"topic": {"Business": "economy", "Sports": "society", "Sci/Tech": "society"}},
}


# Labels of ours a source's coding scheme has no class for, by head: its rows are no evidence against them
# (training/masked.py). CAMEO and UN QuadClass code events, not economics, so their market news is coded
# neutral or cooperative. AG News is not here: its four classes cover all news and its `World` rows are
# dropped as mixing three of our topics, not uncoded, so its Business row is still evidence against `security`.
UNCODED: dict[str, dict[str, set[str]]] = {
    "cameo": {"stance": {"economic"}},
    "un-quadclass": {"stance": {"economic"}},
}


def hashed_split(path: Path, text: str) -> str:
    return story_split(text)


def newsmtsc_split(path: Path, text: str) -> str:
    """NewsMTSC ships its own held-out file (`devtest_*`); its training file gives only train and dev rows."""
    if path.stem.startswith("devtest"):
        return "test"
    return "dev" if story_split(text) == "dev" else "train"


@dataclass(frozen=True)
class Source:
    read: Callable[[Path], Iterator[tuple[str, str]]]  # (text, upstream label) pairs
    head: str
    split: Callable[[Path, str], str] = hashed_split


def read_cameo(path: Path) -> Iterator[tuple[str, str]]:
    table = read_table(path, "csv", sep="\t", header=None, names=["text", "label"], quoting=csv.QUOTE_NONE)
    for row in table:
        yield row["text"], str(row["label"])


def read_un_quadclass(path: Path) -> Iterator[tuple[str, str]]:
    for row in read_table(path, "csv", sep="\t"):
        yield row["en"], str(row["QuadClass"])


def read_nyt_cap(path: Path) -> Iterator[tuple[str, str]]:
    for row in read_table(path, "csv", sep=";"):
        yield row["Title"], str(row["Topic.Code"])


def read_newsmtsc(path: Path) -> Iterator[tuple[str, str]]:
    for row in read_table(path, "json"):
        polarities = {target["polarity"] for target in row["targets"]}
        if len(polarities) == 1:
            yield row["sentence_normalized"], str(polarities.pop())


_AG_ENTITY = re.compile(r"#(\d+);")


def clean_ag_news(text: str) -> str:
    """Undo AG News' escapes: `\\` for a line break, `#36;` for `$`, HTML entities."""
    text = _AG_ENTITY.sub(lambda match: chr(int(match.group(1))), text.replace("\\", " "))
    return " ".join(html.unescape(text).split())


def read_ag_news(path: Path) -> Iterator[tuple[str, str]]:
    for row in read_table(path, "csv"):
        yield clean_ag_news(f"{row['title']}. {row['description']}"), row["class"]


SOURCES: dict[str, Source] = {
    "cameo": Source(read_cameo, "stance"),
    "un-quadclass": Source(read_un_quadclass, "stance"),
    "nyt-cap": Source(read_nyt_cap, "topic"),
    "newsmtsc": Source(read_newsmtsc, "sentiment", newsmtsc_split),
    "ag-news": Source(read_ag_news, "topic"),
}


def parse_spec(spec: str) -> tuple[str | None, Path]:
    """`cameo:PATH` → ("cameo", PATH); a plain path has no source."""
    prefix, sep, rest = str(spec).partition(":")
    if sep and prefix in SOURCES:
        return prefix, Path(rest)
    return None, Path(spec)


def load_source(name: str, path: Path) -> list[Example]:
    """The rows of a public dataset, mapped onto our heads; unmapped labels are skipped."""
    if not path.is_file():
        raise DataError(f"{name}:{path}: no such file")
    source = SOURCES[name]
    label_map = LABEL_MAPS[name][source.head]
    examples = []
    for text, upstream in source.read(path):
        label = label_map.get(upstream)
        if label is None or not text or not text.strip():
            continue
        text = text.strip()
        examples.append(
            Example(text=text, labels={source.head: label}, split=source.split(path, text), source=f"{name}:{path}")
        )
    if not examples:
        raise DataError(f"{name}:{path}: no rows with a mapped label")
    return examples


# Where each public set lies under the public data folder (../shared/data), by source.
PUBLIC_FILES: dict[str, tuple[str, ...]] = {
    "cameo": ("conflibert_cameo/train.tsv",),
    "un-quadclass": ("un_quadclass/en_annotations_quad_multiclass.tsv",),
    "nyt-cap": ("nyt_cap_headlines/NYTimes.csv",),
    "newsmtsc": ("newsmtsc/train.jsonl", "newsmtsc/devtest_mt.jsonl"),
    "ag-news": ("ag_news/test.csv",),
}


def public_data_from_env() -> Path | None:
    """$STANCE_PUBLIC_DATA as a folder; set but empty means unset."""
    value = os.environ.get("STANCE_PUBLIC_DATA")
    return Path(value) if value else None


def add_public_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--public", type=Path, default=public_data_from_env(), help="public data folder ($STANCE_PUBLIC_DATA)"
    )


def public_folder(parser: argparse.ArgumentParser, value: Path | None) -> Path:
    """The folder given by --public, or an argparse error (exit 2) naming what is missing."""
    if value is None or not Path(value).is_dir():
        parser.error("give --public or set STANCE_PUBLIC_DATA to the public data folder (e.g. ../shared/data)")
    return Path(value)


def public_training_specs(public_dir: Path) -> list[str]:
    """Every public file as a `source:PATH` spec; their `test` rows are left out of training by their split."""
    return [f"{name}:{public_dir / file}" for name, files in PUBLIC_FILES.items() for file in files]


def public_dev_specs(public_dir: Path) -> list[str]:
    """The public files present in the folder as `source:PATH` specs, read for their `dev` rows only (to choose
    the confidence thresholds); a folder holding none of them is an error."""
    specs = [spec for spec in public_training_specs(public_dir) if parse_spec(spec)[1].is_file()]
    if not specs:
        raise DataError(f"{public_dir}: none of the public sets is there ({', '.join(PUBLIC_FILES)})")
    return specs


def evaluation_sets(public_dir: Path, corpus_dir: Path) -> dict[str, str]:
    """The held-out sets every model is scored on (their `test` split), by name."""
    sets = {"corpus": str(corpus_dir)}
    sets.update({name: f"{name}:{public_dir / files[-1]}" for name, files in PUBLIC_FILES.items()})
    return sets
