"""Our model against the peers a user would pick instead, on the same splits, in one run (`make bench-quality`).

Every model trains on the same rows (corpus train split + the training portions of the public sets) and is
scored on the same held-out portions; our default model (`make train`, corpus only) is shown beside them.
Every model's prediction is its most likely label among the labels the
set's gold uses, the same rule for all: on a set whose gold covers only part of a head (CAMEO and UN QuadClass
have no `economic` stance), no model is charged for a label the set cannot have. The table says where.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from benchmarks.peers import Contender, Scorer, fasttext_peer, head_rows, minilm_peer, sklearn_plain, vader_peer
from service.model.bundle import HEADS, load_bundle
from service.model.paths import CORPUS_DIR, PROJECT_ROOT
from service.model.predict import predict
from training.data import load_examples
from training.examples import Example
from training.markdown import machine, update_file
from training.sources import add_public_option, evaluation_sets, parse_spec, public_folder, public_training_specs
from training.train import train_bundle

BENCH_SETS = ("corpus", "cameo", "un-quadclass", "nyt-cap", "newsmtsc")
DEFAULT_MODEL = "ours, corpus only"  # shown, not a peer: the margin is the public model's
THROUGHPUT_SENTENCES = 2000


def ours(train: list[Example], specs: list[str | Path], workdir: Path, name: str = "ours") -> Contender:
    bundle = load_bundle(train_bundle(train, specs, workdir))

    def scorer_for(head: str) -> Scorer:
        def score(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
            results = predict(bundle, list(texts))
            labels = list(HEADS[head])
            return labels, np.array([[r[head]["scores"][label] for label in labels] for r in results])

        return score

    return Contender(
        name, {head: scorer_for(head) for head in bundle.scorer.classes}, lambda texts: predict(bundle, list(texts))
    )


def restricted_predictions(scorer: Scorer, texts: list[str], allowed: set[str]) -> list[str]:
    """Argmax over the labels present in the gold set."""
    classes, scores = scorer(texts)
    columns = [i for i, label in enumerate(classes) if label in allowed]
    return [classes[columns[int(np.argmax(row[columns]))]] for row in scores]


def restriction_note(held_out: dict[str, list[Example]]) -> str:
    """Where restricting the argmax to the gold labels changes anything: the rows whose gold leaves labels out."""
    partial = []
    for set_name, rows in held_out.items():
        for head, labels in HEADS.items():
            gold = {ex.labels[head] for ex in rows if head in ex.labels}
            missing = [label for label in labels if label not in gold]
            if gold and missing:
                partial.append(f"{set_name} {head} (no {', '.join(f'`{label}`' for label in missing)})")
    where = "; ".join(partial) if partial else "nowhere here: every set uses all its head's labels"
    return (
        "Every model's prediction is its most likely label among the labels the set's gold uses (the same rule "
        f"for all models). That restricts the choice on {where}."
    )


def throughput(contender: Contender, sentences: list[str]) -> float:
    """Sentences per second for all the contender's heads, on one batch."""
    started = time.perf_counter()
    contender.label_all(sentences)
    return len(sentences) / (time.perf_counter() - started)


def run(public_dir: Path, workdir: Path, include_minilm: bool) -> str:
    specs: list[str | Path] = [CORPUS_DIR, *public_training_specs(public_dir)]
    labeled = load_examples(specs)
    train = [ex for ex in labeled if ex.split == "train"]
    # Ours also gets the dev rows, only to record dev metrics in its manifest; it fits on `train` alone.
    train_and_dev = [ex for ex in labeled if ex.split in ("train", "dev")]
    held_out = {
        name: load_examples([spec], split="test") for name, spec in evaluation_sets(public_dir, CORPUS_DIR).items()
    }
    held_out = {name: rows for name, rows in held_out.items() if name in BENCH_SETS}
    corpus_rows = [ex for ex in train_and_dev if parse_spec(ex.source)[0] is None]
    builders: list[tuple[str, Callable[[], Contender]]] = [
        ("ours", lambda: ours(train_and_dev, specs, workdir / "ours")),
        (DEFAULT_MODEL, lambda: ours(corpus_rows, [CORPUS_DIR], workdir / "default", DEFAULT_MODEL)),
        ("scikit-learn plain", lambda: sklearn_plain(train)),
        ("fastText", lambda: fasttext_peer(train, workdir)),
        ("VADER", vader_peer),
    ]
    if include_minilm:
        builders.append(("MiniLM + LR", lambda: minilm_peer(train)))
    probe = [ex.text for ex in held_out["corpus"]]
    probe = (probe * (THROUGHPUT_SENTENCES // len(probe) + 1))[:THROUGHPUT_SENTENCES]

    results: dict[str, dict[tuple[str, str], tuple[float, float]]] = {}
    speeds: dict[str, float] = {}
    for name, build in builders:
        started = time.perf_counter()
        contender = build()
        print(f"{name}: trained in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        results[name] = {}
        for set_name, rows in held_out.items():
            for head, scorer in contender.scorers.items():
                texts, gold = head_rows(rows, head)
                if not texts:
                    continue
                predicted = restricted_predictions(scorer, texts, set(gold))
                results[name][(set_name, head)] = (
                    float(f1_score(gold, predicted, average="macro")),
                    float(accuracy_score(gold, predicted)),
                )
        speeds[name] = throughput(contender, probe)
    return render(results, speeds, held_out)


def render(
    results: dict[str, dict[tuple[str, str], tuple[float, float]]],
    speeds: dict[str, float],
    held_out: dict[str, list[Example]],
) -> str:
    names = list(results)
    lines = [
        f"Machine: {machine()}. Command: `make bench-quality`.",
        "",
        "Macro-F1 / accuracy on held-out portions (corpus test split, NewsMTSC `devtest_mt`, the hashed 15 % test",
        "portion of CAMEO, UN QuadClass and NYT CAP). All models but *ours, corpus only* (the default model,",
        "`make train`) train on the corpus train split plus the public training portions, as `make train-public`",
        "does. **Margin** is our public model's macro-F1 minus the best peer's on that row (target: at least +0.03).",
        restriction_note(held_out),
        "",
        "| set | head | n | " + " | ".join(names) + " | margin |",
        "|---|---|---:|" + "---:|" * len(names) + "---:|",
    ]
    for set_name, rows in held_out.items():
        for head in HEADS:
            n = sum(head in ex.labels for ex in rows)
            if not n or (set_name, head) not in results["ours"]:
                continue
            cells = []
            for name in names:
                scores = results[name].get((set_name, head))
                cells.append(f"{scores[0]:.3f} / {scores[1]:.3f}" if scores else "-")
            peers = [
                results[name][(set_name, head)][0]
                for name in names
                if name not in ("ours", DEFAULT_MODEL) and (set_name, head) in results[name]
            ]
            margin = results["ours"][(set_name, head)][0] - max(peers)
            lines.append(f"| {set_name} | {head} | {n} | " + " | ".join(cells) + f" | {margin:+.3f} |")
    lines += [
        "",
        "Throughput, all heads a model covers, one batch of "
        f"{THROUGHPUT_SENTENCES} corpus test sentences (sentences per second):",
        "",
    ]
    lines += ["| model | sentences/s |", "|---|---:|"]
    lines += [f"| {name} | {speed:,.0f} |" for name, speed in speeds.items()]
    if "MiniLM + LR" in speeds:
        lines += [
            "",
            f"Ours / MiniLM + LR throughput: {speeds['ours'] / speeds['MiniLM + LR']:.0f}x (target: at least 100x).",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__)
    add_public_option(parser)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-minilm", action="store_true", help="skip the sentence-embedding peer (needs torch)")
    args = parser.parse_args(argv)
    public = public_folder(parser, args.public)
    with tempfile.TemporaryDirectory() as workdir:
        table = run(public, Path(workdir), include_minilm=not args.no_minilm)
    update_file(args.out, "bench-quality", "## Model quality against peers\n\n" + table, title="Benchmarks")
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
