"""The one predict path shared by the API, the command line and evaluation: text → sentences → heads."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NotRequired, TypedDict

import numpy as np

from service.model.actors import Mention, actors_per_span, default_matcher
from service.model.bundle import Bundle
from service.model.explain import explain_heads
from service.model.relations import relations
from service.model.sentences import Span, split_sentences, whole_text


class HeadResult(TypedDict):
    """One head's answer, as the API and batch outputs give it: the chosen label, its probability, and the
    probability of every label.

    `confident` says whether that probability reaches the head's threshold; `explain` holds the n-grams behind
    the label, only when they were asked for. A plain dict: predict builds one per sentence and head, and it is
    written out as it is.
    """

    label: str
    score: float
    scores: dict[str, float]
    confident: bool
    explain: NotRequired[list[dict[str, Any]]]


Heads = dict[str, HeadResult]


@dataclass(slots=True)  # not frozen: a frozen dataclass is several times slower to build, and one is built per sentence
class SentenceResult:
    span: Span
    heads: Heads
    actors: list[Mention]

    def record(self, **first: Any) -> dict[str, Any]:
        """The sentence as the API and `stance classify --split-sentences` give it: offsets, text, heads, actors;
        after the items `first` (a batch record's id, row and sentence number)."""
        return {
            **first,
            "start": self.span.start,
            "end": self.span.end,
            "text": self.span.text,
            **self.heads,
            "actors": self.actors,
        }


@dataclass(frozen=True)
class DocumentResult:
    text: str
    sentences: list[SentenceResult]
    summary: dict[str, dict[str, float]]
    relations: list[dict[str, Any]]

    def record(self) -> dict[str, Any]:
        """The text as the API gives it: the text, its sentences, the share of sentences per label per head and
        the relations between the actors its sentences name."""
        return {
            "text": self.text,
            "sentences": [sentence.record() for sentence in self.sentences],
            "summary": self.summary,
            "relations": self.relations,
        }


def predict(
    bundle: Bundle, sentences: Sequence[str], explain: bool = False, precision: int | None = None
) -> list[Heads]:
    """Label each sentence on every head of the bundle; the text is read once for all heads.

    With `explain`, each head also gets the n-grams that pushed its chosen label up the most; with `precision`,
    probabilities are rounded to that many decimal places (labels and `confident` come from the exact ones).
    """
    if not sentences:
        return []
    # Pause Python's cyclic garbage collector: a batch builds several small containers per sentence and head, none
    # of which can form a cycle, and the collector would run over and over, rescanning every result made so far.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _predict(bundle, sentences, explain, precision)
    finally:
        if collecting:
            gc.enable()


def _predict(bundle: Bundle, sentences: Sequence[str], explain: bool, precision: int | None) -> list[Heads]:
    scorer = bundle.scorer
    matrix = scorer.probability_matrix(sentences)
    chosen = {head: matrix[:, columns].argmax(axis=1) for head, columns in scorer.segments.items()}
    # Every head's probabilities in answer order, all heads in one row (with 0 for labels the model never saw).
    rows = np.hstack([matrix, np.zeros((len(matrix), 1))])[:, bundle.answer_columns]
    rows = rows if precision is None else rows.round(precision)
    results: list[Heads] = [{} for _ in sentences]
    start = 0
    for head, labels in bundle.labels.items():
        where, start = slice(start, start + len(labels)), start + len(labels)
        classes, threshold = scorer.classes[head], bundle.thresholds.get(head, 0.0)
        exact = matrix[np.arange(len(matrix)), scorer.segments[head].start + chosen[head]]
        sure = (exact >= threshold).tolist()
        names = [classes[index] for index in chosen[head].tolist()]
        for result, row, name, confident in zip(results, rows[:, where].tolist(), names, sure, strict=True):
            scores = dict(zip(labels, row, strict=True))
            result[head] = {"label": name, "score": scores[name], "scores": scores, "confident": confident}
    if explain:
        for result, explanation in zip(results, explain_heads(scorer, sentences, chosen), strict=True):
            for head, contributions in explanation.items():
                result[head]["explain"] = [asdict(contribution) for contribution in contributions]
    return results


def summarize(bundle: Bundle, predictions: Sequence[Heads]) -> dict[str, dict[str, float]]:
    """Share of sentences per label, per head."""
    summary: dict[str, dict[str, float]] = {}
    total = len(predictions)
    for head in bundle.scorer.classes:
        counts = dict.fromkeys(bundle.labels[head], 0)
        for prediction in predictions:
            counts[prediction[head]["label"]] += 1
        summary[head] = {label: (count / total if total else 0.0) for label, count in counts.items()}
    return summary


def label_sentences(
    bundle: Bundle, texts: Sequence[str], split: bool = True, explain: bool = False, precision: int | None = None
) -> list[list[SentenceResult]]:
    """Split each text into sentences (or keep it whole) and label every sentence, with the actors it names; one
    predict call for all."""
    segment = split_sentences if split else whole_text
    spans_per_text = [segment(text) for text in texts]
    predictions = predict(bundle, [span.text for spans in spans_per_text for span in spans], explain, precision)
    matcher = default_matcher()
    labelled: list[list[SentenceResult]] = []
    offset = 0
    for text, spans in zip(texts, spans_per_text, strict=True):
        own = predictions[offset : offset + len(spans)]
        offset += len(spans)
        # The whole text is matched once: a name is never cut by a sentence boundary, and offsets are the text's.
        actors = actors_per_span(matcher.find(text), [span.start for span in spans])
        labelled.append([SentenceResult(*parts) for parts in zip(spans, own, actors, strict=True)])
    return labelled


def document(bundle: Bundle, text: str, sentences: list[SentenceResult]) -> DocumentResult:
    """A text's labelled sentences with the share of them per label and the relations between their actors."""
    heads = [sentence.heads for sentence in sentences]
    pairs = relations(
        [[mention["id"] for mention in sentence.actors] for sentence in sentences],
        [sentence.span.text for sentence in sentences],
        {head: [answer[head]["label"] for answer in heads] for head in bundle.scorer.classes},
        {head: bundle.labels[head] for head in bundle.scorer.classes},
    )
    return DocumentResult(text, sentences, summarize(bundle, heads), pairs)


def classify(
    bundle: Bundle, texts: Sequence[str], split: bool = True, explain: bool = False, precision: int | None = None
) -> list[DocumentResult]:
    """Each text's document: its labelled sentences (`label_sentences`), summary and relations."""
    labelled = label_sentences(bundle, texts, split, explain, precision)
    return [document(bundle, text, sentences) for text, sentences in zip(texts, labelled, strict=True)]
