"""The one predict path shared by the API, the command line and evaluation: text → sentences → heads."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from service.bundle import HEADS, Bundle
from service.explain import Contribution, explain_heads
from service.sentences import Span, split_sentences, whole_text


@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to build, and predict builds many
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

    def record(self) -> dict[str, Any]:
        """The answer as the API and batch outputs give it: `explain` only when explanations were asked for."""
        record: dict[str, Any] = {
            "label": self.label,
            "score": self.score,
            "scores": self.scores,
            "confident": self.confident,
        }
        if self.explain is not None:
            record["explain"] = [asdict(contribution) for contribution in self.explain]
        return record


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
    with _collector_paused():
        return _predict(bundle, sentences, explain)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector: a batch builds several small containers per sentence and head,
    none of which can form a cycle, and without the pause the collector runs over and over, rescanning every
    result made so far (measured: about a sixth of predict's time on 20,000 sentences)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _predict(bundle: Bundle, sentences: Sequence[str], explain: bool) -> list[Heads]:
    probabilities = bundle.scorer.probabilities(sentences)
    chosen = {head: matrix.argmax(axis=1) for head, matrix in probabilities.items()}
    explanations = explain_heads(bundle.scorer, sentences, chosen) if explain else None
    results: list[Heads] = [{} for _ in sentences]
    for head, matrix in probabilities.items():
        classes = bundle.scorer.classes[head]
        labels = HEADS.get(head, tuple(classes))
        # Labels the model never saw in training still appear, with probability 0 (the extra last column).
        columns = [classes.index(name) if name in classes else len(classes) for name in labels]
        padded = np.hstack([matrix, np.zeros((len(matrix), 1))])[:, columns].tolist()
        best = matrix[np.arange(len(matrix)), chosen[head]]
        confident = (best >= bundle.thresholds.get(head, 0.0)).tolist()
        reasons = [explanation[head] for explanation in explanations] if explanations else [None] * len(results)
        for result, index, score, scores, sure, why in zip(
            results, chosen[head].tolist(), best.tolist(), padded, confident, reasons, strict=True
        ):
            result[head] = HeadResult(classes[index], score, dict(zip(labels, scores, strict=True)), sure, why)
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
