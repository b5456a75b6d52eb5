"""Which training levers help: each variant of the default configuration, scored on every dev portion together.

    python -m benchmarks.levers --public ../shared/data      (make levers)

Each variant changes one thing of `training.train.DEFAULT_PARAMS`. It trains as `make train-public` does (corpus
train split plus the public training portions) or, for the rows marked *corpus only*, as `make train` does, and
is scored on the dev portion of the corpus and of every public set (never a test portion), with predictions
restricted to the labels the source's gold uses. The features of each feature setting are computed once and shared.
Two more columns follow the `economic` stance: the share of AG News Business dev rows (economic news by AG News'
label) and of corpus dev rows with topic `economy` that the model labels stance `economic` (plain argmax).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from service.model.paths import CORPUS_DIR, PROJECT_ROOT
from training.data import load_examples
from training.examples import Example
from training.markdown import machine, update_file
from training.sources import add_public_option, public_folder, public_training_specs
from training.train import DEFAULT_PARAMS, build_vectorizer, fit_heads, source_of

# (name, trains on the public sets too, the change from the default)
VARIANTS: list[tuple[str, bool, dict[str, Any]]] = [
    ("default", True, {}),
    ("no label masks", True, {"label_masks": False}),
    ("corpus only: default", False, {}),
    ("corpus only: no embedding block", False, {"embedding": False}),
    ("corpus only: C=8", False, {"C_grid": [8.0]}),
    ("corpus only: embedding L2-normalised", False, {"embedding_normalize": True}),
    ("no embedding block", True, {"embedding": False}),
    ("embedding L2-normalised", True, {"embedding_normalize": True}),
]
FEATURE_KEYS = ("word_ngram_range", "char_ngram_range", "min_df", "sublinear_tf", "embedding", "embedding_normalize")


class Features:
    """Feature matrices of the training rows and of each dev portion, computed once per feature setting."""

    def __init__(self, train: list[Example], dev: dict[str, list[Example]]) -> None:
        self.train, self.dev = train, dev
        self.cache: dict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = {}

    def get(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        key = tuple(str(params[name]) for name in FEATURE_KEYS)
        if key not in self.cache:
            vectorizer = build_vectorizer(params)
            matrix = vectorizer.fit_transform([ex.text for ex in self.train])
            dev = {name: vectorizer.transform([ex.text for ex in rows]) for name, rows in self.dev.items()}
            self.cache[key] = (matrix, dev)
        return self.cache[key]


def restricted(classifier: Any, probabilities: np.ndarray, allowed: set[str]) -> list[str]:
    columns = [i for i, label in enumerate(classifier.classes_) if label in allowed]
    return [str(classifier.classes_[columns[int(np.argmax(row[columns]))]]) for row in probabilities]


def score_variant(features: Features, params: dict[str, Any]) -> dict[str, float]:
    matrix, dev = features.get(params)
    heads = fit_heads(matrix, features.train, params)
    scores = {}
    for source, rows in features.dev.items():
        for head, classifier in heads.items():
            indices = [i for i, ex in enumerate(rows) if head in ex.labels]
            if not indices:
                continue
            probabilities = classifier.predict_proba(dev[source][indices])
            gold = [rows[i].labels[head] for i in indices]
            predicted = restricted(classifier, probabilities, set(gold))
            scores[f"{source}/{head}"] = float(f1_score(gold, predicted, average="macro"))
    stance = heads["stance"]
    for column, source, topic in (
        ("AG Business: economic", "ag-news", "economy"),
        ("corpus economy: economic", "own", "economy"),
    ):
        indices = [i for i, ex in enumerate(features.dev[source]) if ex.labels.get("topic") == topic]
        predicted = stance.predict(dev[source][indices])
        scores[column] = float(np.mean(predicted == "economic"))
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.levers", description=__doc__)
    add_public_option(parser)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    public = public_folder(parser, args.public)
    labeled = load_examples([CORPUS_DIR, *public_training_specs(public)])
    dev: dict[str, list[Example]] = {}
    for ex in labeled:
        if ex.split == "dev":
            dev.setdefault(source_of(ex), []).append(ex)
    with_public = Features([ex for ex in labeled if ex.split == "train"], dev)
    corpus_only = Features([ex for ex in labeled if ex.split == "train" and source_of(ex) == "own"], dev)
    rows = {}
    for name, public_too, variant in VARIANTS:
        started = time.perf_counter()
        rows[name] = score_variant(with_public if public_too else corpus_only, {**DEFAULT_PARAMS, **variant})
        print(f"{name}: {time.perf_counter() - started:.0f} s {rows[name]}", file=sys.stderr)
    columns = list(rows["default"])
    gold_share = np.mean([ex.labels["stance"] == "economic" for ex in dev["own"] if ex.labels["topic"] == "economy"])
    default = ", ".join(f"{key} {DEFAULT_PARAMS[key]}" for key in ("embedding", "label_masks", "C_grid"))
    lines = [
        f"Machine: {machine()}. Command: `make levers`. Dev macro-F1, the argmax restricted to the labels each dev",
        "portion's gold uses; the last two columns are the share of economic news labeled stance `economic`",
        f"(plain argmax; corpus gold: {gold_share:.2f}).",
        f"Default: {default}.",
        "",
        "| variant | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    lines += [f"| {name} | " + " | ".join(f"{scores[c]:.3f}" for c in columns) + " |" for name, scores in rows.items()]
    table = "\n".join(lines) + "\n"
    update_file(args.out, "levers", "## Training levers tried\n\n" + table, title="Benchmarks")
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
