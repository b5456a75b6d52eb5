"""The one predict path shared by the API, the command line and evaluation: text → sentences → heads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.bundle import HEADS, Bundle
from service.explain import Contribution, Explanation, explain_heads
from service.sentences import Span, split_sentences, whole_text


@dataclass(frozen=True)
class HeadResult:
    """One head's answer: the chosen label, its probability, and the probability of every label.

    `confident` says whether that probability reaches the head's threshold; `explain` holds the n-grams behind
    the label, only when they were asked for.
    """

    label: str
    score: float
    scores: dict[str, float]
    confident: bool
    explain: list[Contribution] | None = None


Heads = dict[str, HeadResult]


@dataclass(frozen=True)
class SentenceResult:
    span: Span
    heads: Heads


@dataclass(frozen=True)
class DocumentResult:
    text: str
    sentences: list[SentenceResult]
    summary: dict[str, dict[str, float]]


def predict(bundle: Bundle, sentences: Sequence[str], explain: bool = False) -> list[Heads]:
    """Label each sentence on every head of the bundle; the text is read once for all heads.

    With `explain`, each head also gets the n-grams that pushed its chosen label up the most.
    """
    if not sentences:
        return []
    probabilities = bundle.scorer.probabilities(sentences)
    chosen = {head: matrix.argmax(axis=1) for head, matrix in probabilities.items()}
    explanations: list[Explanation | None] = (
        list(explain_heads(bundle.scorer, sentences, chosen)) if explain else [None] * len(sentences)
    )
    thresholds = bundle.thresholds
    results: list[Heads] = [{} for _ in sentences]
    for head, matrix in probabilities.items():
        classes = bundle.scorer.classes[head]
        labels = HEADS.get(head, tuple(classes))
        threshold = thresholds.get(head, 0.0)
        # Labels the model never saw in training still appear, with probability 0 (the extra last column).
        columns = [classes.index(name) if name in classes else len(classes) for name in labels]
        padded = np.hstack([matrix, np.zeros((len(matrix), 1))])[:, columns].tolist()
        best_scores = matrix[np.arange(len(matrix)), chosen[head]].tolist()
        for scores, best, score, result, explanation in zip(
            padded, chosen[head].tolist(), best_scores, results, explanations, strict=True
        ):
            result[head] = HeadResult(
                label=classes[best],
                score=score,
                scores=dict(zip(labels, scores, strict=True)),
                confident=score >= threshold,
                explain=explanation[head] if explanation is not None else None,
            )
    return results


def summarize(bundle: Bundle, predictions: Sequence[Heads]) -> dict[str, dict[str, float]]:
    """Share of sentences per label, per head."""
    summary: dict[str, dict[str, float]] = {}
    for head, classes in bundle.scorer.classes.items():
        counts = Counter(prediction[head].label for prediction in predictions)
        labels = HEADS.get(head, tuple(classes))
        total = len(predictions)
        summary[head] = {label: (counts[label] / total if total else 0.0) for label in labels}
    return summary


def classify(bundle: Bundle, texts: Sequence[str], split: bool = True, explain: bool = False) -> list[DocumentResult]:
    """Split each text into sentences (or keep it whole) and label every sentence; one predict call for all."""
    segment = split_sentences if split else whole_text
    spans_per_text = [segment(text) for text in texts]
    predictions = predict(bundle, [span.text for spans in spans_per_text for span in spans], explain=explain)
    documents: list[DocumentResult] = []
    offset = 0
    for text, spans in zip(texts, spans_per_text, strict=True):
        own = predictions[offset : offset + len(spans)]
        offset += len(spans)
        sentences = [SentenceResult(span, heads) for span, heads in zip(spans, own, strict=True)]
        documents.append(DocumentResult(text=text, sentences=sentences, summary=summarize(bundle, own)))
    return documents
