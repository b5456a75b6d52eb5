"""The shared predict path: probabilities, labels and document summaries."""

from __future__ import annotations

from typing import Any

import pytest

from service.model.bundle import HEADS, Bundle
from service.model.predict import classify, predict

ARTICLE = (
    "The foreign ministers of India and Nepal met in Kathmandu on Monday. "
    "“We will fight terrorism together,” the Indian minister said. "
    "Separately, militants killed 12 soldiers near the border."
)


def test_every_head_scores_every_label(bundle: Bundle) -> None:
    [heads] = predict(bundle, ["Two leaders signed a transit treaty."])
    assert set(heads) == set(HEADS)
    for head, result in heads.items():
        assert list(result["scores"]) == list(HEADS[head])
        assert sum(result["scores"].values()) == pytest.approx(1.0)
        assert result["label"] == max(result["scores"], key=result["scores"].__getitem__)
        assert result["score"] == result["scores"][result["label"]]


def test_predict_matches_each_classifier(bundle: Bundle, fitted: tuple[Any, dict[str, Any]]) -> None:
    sentences = ["Gunmen attacked a police post.", "Exports rose by 9 percent."]
    results = predict(bundle, sentences)
    vectorizer, heads = fitted
    features = vectorizer.transform(sentences)
    for head, classifier in heads.items():
        expected = classifier.predict(features)
        assert [r[head]["label"] for r in results] == list(expected)


def test_empty_input_gives_no_predictions(bundle: Bundle) -> None:
    assert predict(bundle, []) == []


def test_classify_splits_and_summarizes(bundle: Bundle) -> None:
    [document] = classify(bundle, [ARTICLE])
    assert len(document.sentences) == 3
    for sentence in document.sentences:
        assert ARTICLE[sentence.span.start : sentence.span.end] == sentence.span.text
    for head, shares in document.summary.items():
        assert list(shares) == list(HEADS[head])
        assert sum(shares.values()) == pytest.approx(1.0)


def test_classify_without_splitting_keeps_one_sentence(bundle: Bundle) -> None:
    [document] = classify(bundle, [ARTICLE], split=False)
    assert len(document.sentences) == 1
    assert document.sentences[0].span.text == ARTICLE


def test_batch_equals_one_by_one(bundle: Bundle) -> None:
    texts = [ARTICLE, "Sanctions were imposed on three shipping firms.", "The talks began on Monday."]
    together = classify(bundle, texts)
    alone = [classify(bundle, [text])[0] for text in texts]
    assert together == alone
