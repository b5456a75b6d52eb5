"""Would VADER's lexicon help the sentiment head? Dev macro-F1 of the default features with and without it.

    python -m benchmarks.lexicon --public ../shared/data      (needs the [bench] extra: vaderSentiment)

Two small dense blocks, appended to the default model's features for the sentiment head only, trained on the
corpus and NewsMTSC training rows and scored on both dev portions:
- lexicon: the sums of a sentence's positive and negative VADER valences (over 4) and VADER's normalised
  compound score of their total;
- negation: the share (capped at 3) of valences flipped by a negation within the three words before them
  (VADER's scope and its factor -0.74), and of negation words.
The sentiment head keeps them only if they help on the public sentiment dev portion (NewsMTSC): see
docs/models.md for the figures and the decision.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import f1_score
from vaderSentiment.vaderSentiment import NEGATE, SentimentIntensityAnalyzer

from service.model.paths import CORPUS_DIR
from training.data import load_examples
from training.examples import Example
from training.sources import add_public_option, public_folder, public_training_specs
from training.train import DEFAULT_PARAMS, build_vectorizer, fit_heads, source_of

WORDS = re.compile(r"[a-z][a-z'\-]*|[:;=8][\-o\*']?[\)\]\(\[dDpP/]")
NEGATION_SCOPE = 3  # words after a negation that it flips, as VADER
NEGATION_FACTOR = -0.74  # VADER's N_SCALAR
VARIANTS = {"default features": (), "+ lexicon": ("lexicon",), "+ lexicon + negation": ("lexicon", "negation")}


def blocks(text: str, lexicon: dict[str, float], negations: set[str]) -> dict[str, list[float]]:
    words = WORDS.findall(text.lower())
    total = positive = negative = flipped = 0.0
    negated = sum(word in negations or word.endswith("n't") for word in words)
    for i, word in enumerate(words):
        valence = lexicon.get(word)
        if valence is None:
            continue
        if any(w in negations or w.endswith("n't") for w in words[max(0, i - NEGATION_SCOPE) : i]):
            valence *= NEGATION_FACTOR
            flipped += 1
        total += valence
        positive += max(valence, 0.0)
        negative += max(-valence, 0.0)
    return {
        "lexicon": [positive / 4, negative / 4, total / np.sqrt(total * total + 15)],
        "negation": [min(flipped, 3) / 3, min(negated, 3) / 3],
    }


def with_blocks(features: Any, rows: list[Example], names: tuple[str, ...], analyzer: Any) -> Any:
    if not names:
        return features
    negations = {word.lower() for word in NEGATE}
    extra = []
    for ex in rows:
        found = blocks(ex.text, analyzer.lexicon, negations)
        extra.append([value for name in names for value in found[name]])
    return sp.hstack([features, sp.csr_matrix(np.array(extra))]).tocsr()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lexicon", description=__doc__)
    add_public_option(parser)
    args = parser.parse_args(argv)
    public = public_folder(parser, args.public)
    labeled = [ex for ex in load_examples([CORPUS_DIR, *public_training_specs(public)]) if "sentiment" in ex.labels]
    train = [ex for ex in labeled if ex.split == "train"]
    dev: dict[str, list[Example]] = {}
    for ex in labeled:
        if ex.split == "dev":
            dev.setdefault(source_of(ex), []).append(ex)
    vectorizer = build_vectorizer(DEFAULT_PARAMS)
    matrix = vectorizer.fit_transform([ex.text for ex in train])
    dev_matrices = {source: vectorizer.transform([ex.text for ex in rows]) for source, rows in dev.items()}
    analyzer = SentimentIntensityAnalyzer()
    print("| sentiment features | " + " | ".join(f"{source} dev macro-F1" for source in dev) + " |")
    print("|---|" + "---:|" * len(dev))
    for name, names in VARIANTS.items():
        head = fit_heads(with_blocks(matrix, train, names, analyzer), train, DEFAULT_PARAMS)["sentiment"]
        scores = []
        for source, rows in dev.items():
            predicted = head.predict(with_blocks(dev_matrices[source], rows, names, analyzer))
            scores.append(f1_score([ex.labels["sentiment"] for ex in rows], predicted, average="macro"))
        print(f"| {name} | " + " | ".join(f"{score:.3f}" for score in scores) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
