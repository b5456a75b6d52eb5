"""The project's own corpus in `data/corpus/`: assign ids and story-level splits, and print its statistics.

python -m training.corpus assign   # give new rows an `id` and their story's `split` (existing ones kept)
python -m training.corpus stats    # Markdown tables of size and label distribution
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from service.model.bundle import HEADS
from service.model.paths import CORPUS_DIR
from training.markdown import update_file

SPLIT_SHARES = (("train", 70), ("dev", 15), ("test", 15))
STATS_BLOCK = "corpus-stats"


def story_split(story: str) -> str:
    """A stable split for a story, from a hash of its id, so whole stories land in one split."""
    bucket = int(hashlib.sha256(story.encode("utf-8")).hexdigest(), 16) % 100
    for split, share in SPLIT_SHARES:
        if bucket < share:
            return split
        bucket -= share
    raise AssertionError("split shares must add up to 100")


def read_corpus(corpus_dir: Path = CORPUS_DIR) -> dict[Path, list[dict[str, Any]]]:
    return {
        path: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for path in sorted(corpus_dir.glob("*.jsonl"))
    }


def assign(corpus_dir: Path = CORPUS_DIR) -> None:
    """Number each story's sentences and record its split; rows that already have both are left as they are."""
    for path, rows in read_corpus(corpus_dir).items():
        position: Counter[str] = Counter()
        for row in rows:
            position[row["story"]] += 1
            row.setdefault("id", f"{row['story']}-{position[row['story']]:02d}")
            row.setdefault("split", story_split(row["story"]))
        ordered = [{"id": r["id"], **{k: v for k, v in r.items() if k != "id"}} for r in rows]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ordered), encoding="utf-8")


def stats(corpus_dir: Path = CORPUS_DIR) -> str:
    """Markdown: rows, stories and events per split, then the label distribution per head."""
    rows = [row for file_rows in read_corpus(corpus_dir).values() for row in file_rows]
    lines = ["| split | sentences | stories |", "|---|---:|---:|"]
    for split, _ in SPLIT_SHARES:
        own = [row for row in rows if row.get("split") == split]
        lines.append(f"| {split} | {len(own)} | {len({row['story'] for row in own})} |")
    lines.append(f"| **all** | {len(rows)} | {len({row['story'] for row in rows})} |")
    for head, labels in HEADS.items():
        counts = Counter(row[head] for row in rows)
        lines += ["", f"| {head} | sentences | share |", "|---|---:|---:|"]
        lines += [f"| {label} | {counts[label]} | {counts[label] / len(rows):.1%} |" for label in labels]
    registers = Counter(row["register"] for row in rows)
    lines += ["", "| register | sentences | share |", "|---|---:|---:|"]
    lines += [f"| {name} | {count} | {count / len(rows):.1%} |" for name, count in registers.most_common()]
    events = Counter(row["event"] for row in rows)
    lines += [
        "",
        f"{len(events)} kinds of event: " + ", ".join(f"{name} ({count})" for name, count in sorted(events.items())),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.corpus", description=__doc__)
    parser.add_argument("command", choices=("assign", "stats"))
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR)
    parser.add_argument("--readme", type=Path, help="with stats: also rewrite the generated block of this file")
    args = parser.parse_args(argv)
    if args.command == "assign":
        assign(args.corpus)
        return
    tables = stats(args.corpus)
    print(tables, end="")
    if args.readme:
        update_file(args.readme, STATS_BLOCK, tables, title="The corpus")


if __name__ == "__main__":
    main()
