"""Actors: precision and recall on the labeled test set (`make evaluate-actors` → docs/evaluation.md), and the
cost of finding actors and relations on real unseen text (`make bench-actors` → docs/benchmarks.md).

The test set, data/actors/test_set.txt, marks every mention as `[[mention|ID]]` (data/actors/README.md). A found
mention is right when its offsets and id equal a marked one's: a wrong id or a cut-off name counts as both a false
positive and a false negative.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.speed_text import unseen_sentences
from service.model.actors import ActorMatcher, ActorTable, default_matcher
from service.model.bundle import load_bundle
from service.model.paths import DATA_DIR, MODELS_DIR, PROJECT_ROOT
from service.model.predict import classify
from service.model.relations import relations
from training.markdown import machine, update_file
from training.sources import add_public_option, public_folder

TEST_SET = DATA_DIR / "actors" / "test_set.txt"
EVALUATION = PROJECT_ROOT / "docs" / "evaluation.md"
BENCHMARKS = PROJECT_ROOT / "docs" / "benchmarks.md"
BLOCK, SPEED_BLOCK = "actors", "bench-actors"
_MARK = re.compile(r"\[\[([^\]|]+)\|([A-Z0-9_]+)\]\]")
ARTICLE_SENTENCES = 20

Gold = tuple[int, int, str]


@dataclass(frozen=True)
class Example:
    text: str
    gold: list[Gold]


def parse_line(line: str) -> Example:
    """A marked sentence → its plain text and the (start, end, id) of every marked mention."""
    parts, gold, position, cursor = [], [], 0, 0
    for match in _MARK.finditer(line):
        parts.append(line[cursor : match.start()])
        position += match.start() - cursor
        mention, actor = match.groups()
        gold.append((position, position + len(mention), actor))
        parts.append(mention)
        position += len(mention)
        cursor = match.end()
    parts.append(line[cursor:])
    text = "".join(parts)
    if "[[" in text or "]]" in text:
        raise ValueError(f"malformed mark in: {line}")
    return Example(text, gold)


def read_test_set(path: Path = TEST_SET) -> list[Example]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [parse_line(line) for line in lines if line.strip() and not line.startswith("#")]


def actor_type(table: ActorTable, actor: str) -> str:
    return table.actors[actor][1] if actor in table.actors else "country" if len(actor) == 3 else "organisation"


def score(matcher: ActorMatcher, examples: list[Example]) -> tuple[dict[str, Counter[str]], list[str]]:
    """True positives, false positives and false negatives per actor type, and a line per error."""
    counts: dict[str, Counter[str]] = {"country": Counter(), "organisation": Counter()}
    errors = []
    for example in examples:
        found = {(m["start"], m["end"], m["id"]) for m in matcher.find(example.text)}
        gold = set(example.gold)
        for outcome, mentions in (("tp", found & gold), ("fp", found - gold), ("fn", gold - found)):
            for start, end, actor in sorted(mentions):
                counts[actor_type(matcher.table, actor)][outcome] += 1
                if outcome != "tp":
                    errors.append(f"{outcome} {actor} {example.text[start:end]!r} in: {example.text}")
    return counts, errors


def evaluation_table(counts: dict[str, Counter[str]], examples: list[Example]) -> str:
    lines = [
        "## Actors: precision and recall",
        "",
        f"Actor mentions found by `service.model.actors` in the {len(examples)} hand-marked sentences of",
        "`data/actors/test_set.txt` (`make evaluate-actors`, `python -m benchmarks.actors evaluate`). A mention is",
        "right when its offsets and id equal a marked one's. Targets: 0.95 for countries, 0.90 for organisations.",
        "",
        "| type | marked | found | right | precision | recall |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, count in counts.items():
        marked, found = count["tp"] + count["fn"], count["tp"] + count["fp"]
        precision, recall = count["tp"] / max(found, 1), count["tp"] / max(marked, 1)
        lines.append(f"| {kind} | {marked} | {found} | {count['tp']} | {precision:.3f} | {recall:.3f} |")
    return "\n".join(lines) + "\n"


def speed_table(public: Path, model: Path, limit: int) -> str:
    """Per sentence: classify() on 20-sentence articles, and the part of it that finds actors and relations."""
    bundle, matcher = load_bundle(model), default_matcher()
    sentences = unseen_sentences(public, bundle.manifest)[:limit]
    articles = [" ".join(sentences[i : i + ARTICLE_SENTENCES]) for i in range(0, len(sentences), ARTICLE_SENTENCES)]
    started = time.perf_counter()
    documents = classify(bundle, articles)
    cold_seconds = time.perf_counter() - started
    started = time.perf_counter()
    documents = classify(bundle, articles)  # again: the per-word caches now hold these words
    warm_seconds = time.perf_counter() - started
    count = sum(len(document.sentences) for document in documents)
    labels = {head: bundle.labels[head] for head in bundle.scorer.classes}
    started = time.perf_counter()
    mentions = [matcher.find(article) for article in articles]
    find_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for document in documents:
        relations(
            [[m["id"] for m in sentence.actors] for sentence in document.sentences],
            [sentence.span.text for sentence in document.sentences],
            {head: [sentence.heads[head]["label"] for sentence in document.sentences] for head in labels},
            labels,
        )
    relation_seconds = time.perf_counter() - started
    records = [document.record() for document in documents]
    with_actors = len(json.dumps(records))
    for record in records:
        record.pop("relations")
        for sentence in record["sentences"]:
            sentence.pop("actors")
    without = len(json.dumps(records))
    per, actors_seconds = 1e6 / count, find_seconds + relation_seconds

    def row(step: str, seconds: float) -> str:
        return f"| {step} | {seconds * per:.1f} | {seconds / cold_seconds:.1%} | {seconds / warm_seconds:.1%} |"

    return "\n".join(
        [
            "## Actors and relations: cost per sentence",
            "",
            f"`make bench-actors` (`python -m benchmarks.actors speed`): {len(sentences):,} public-set sentences",
            "the model did not train on (`benchmarks/speed_text.py`, as `make bench`: each once, shuffled), joined",
            f"into {len(articles)} articles of {ARTICLE_SENTENCES} sentences",
            f"({count:,} sentences once split), through `classify` (split, three heads, actors, relations): once on a",
            "freshly loaded model (cold: the per-word caches empty), then again (warm). Finding actors and",
            f"relations is timed alone on the same articles. Machine: {machine()}.",
            "",
            "| step | µs per sentence | share of classify, cold | share of classify, warm |",
            "|---|---:|---:|---:|",
            row("classify, cold", cold_seconds),
            row("classify, warm", warm_seconds),
            row("of which: finding actors", find_seconds),
            row("of which: relations", relation_seconds),
            row("of which: actors and relations", actors_seconds),
            "",
            f"{sum(map(len, mentions)):,} mentions found. JSON answer: {with_actors / count:.0f} bytes per sentence "
            f"with actors and relations, {without / count:.0f} without ({with_actors / without - 1:+.1%}).",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.actors", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    evaluate = commands.add_parser("evaluate", help="precision and recall on the test set → docs/evaluation.md")
    evaluate.add_argument("--out", type=Path, default=EVALUATION)
    speed = commands.add_parser("speed", help="cost per sentence on public-set text → docs/benchmarks.md")
    add_public_option(speed)
    speed.add_argument("--model", type=Path, default=MODELS_DIR / "current")
    speed.add_argument("--sentences", type=int, default=8_000)
    speed.add_argument("--out", type=Path, default=BENCHMARKS)
    args = parser.parse_args(argv)
    if args.command == "evaluate":
        examples = read_test_set()
        counts, errors = score(default_matcher(), examples)
        print("\n".join(errors))
        content = evaluation_table(counts, examples)
        update_file(args.out, BLOCK, content, "Evaluation")
    else:
        content = speed_table(public_folder(parser, args.public), args.model, args.sentences)
        update_file(args.out, SPEED_BLOCK, content, "Benchmarks")
    print(content, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
