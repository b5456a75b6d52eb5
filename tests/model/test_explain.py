"""Explanations (the n-grams behind each chosen label) and the per-head `confident` flag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from service.api.app import create_app
from service.api.settings import Settings
from service.model.bundle import Bundle, BundleError
from service.model.embedding import FEATURE_NAME
from service.model.explain import TOP_FEATURES, Contribution, explain_heads
from service.model.predict import HeadResult, predict
from training.cli import main
from training.compile import compile_scorer
from training.embeddings import SentenceEmbedding
from training.examples import Example

SENTENCES = [
    "Militants killed 12 soldiers near the border on Tuesday.",
    "India and Nepal signed a transit treaty.",
    "Bilateral trade rose 20 percent to $4 billion last year.",
    "The talks began on Monday.",
    "",
    "zzzz qqqq",  # no known word: only character n-grams, or nothing at all
    "Ünïcödé Straße — naïve café 😀",
]


def feature_names(vectorizer: Any) -> list[str]:
    """Readable n-gram of every column of the union's output, in scikit-learn's own column order; every column
    of the sentence-embedding block is named as the block is."""
    parts = vectorizer.transformer_list if isinstance(vectorizer, FeatureUnion) else [("tfidf", vectorizer)]
    return [
        FEATURE_NAME if isinstance(part, SentenceEmbedding) else str(name)
        for _, part in parts
        for name in part.get_feature_names_out()
    ]


def sklearn_top(vectorizer: Any, classifier: LogisticRegression, text: str, label: str) -> list[Contribution]:
    """The top contributions computed from scikit-learn's own transform and coefficients."""
    row = vectorizer.transform([text]).toarray()[0]
    index = list(classifier.classes_).index(label)
    if classifier.coef_.shape[0] == 1:  # binary: one row, for the second class; the first class is its negation
        coefficients = classifier.coef_[0] * (1 if index == 1 else -1)
    else:
        coefficients = classifier.coef_[index]
    contributions = row * coefficients
    names = feature_names(vectorizer)
    # The embedding block counts as one feature, its columns' sum, ranked after every n-gram in a tie.
    embedding = np.array([name == FEATURE_NAME for name in names])
    candidates = [(float(contributions[c]), int(c), names[c]) for c in np.flatnonzero(~embedding)]
    if embedding.any():
        candidates.append((float(contributions[embedding].sum()), len(names), FEATURE_NAME))
    candidates = sorted((c for c in candidates if c[0] > 0), key=lambda c: (-c[0], c[1]))
    return [Contribution(name, weight) for weight, _, name in candidates[:TOP_FEATURES]]


def assert_same_contributions(actual: list[Contribution], expected: list[Contribution]) -> None:
    assert [c.feature for c in actual] == [c.feature for c in expected]
    np.testing.assert_allclose([c.weight for c in actual], [c.weight for c in expected], rtol=1e-12, atol=1e-15)


def explanation(result: HeadResult) -> list[Contribution]:
    """A head's explanation as `explain_heads` gives it (predict writes it out as dicts)."""
    return [Contribution(**item) for item in result.get("explain", [])]


def test_contributions_are_coefficient_times_scikit_learn_tfidf(
    bundle: Bundle, fitted: tuple[Any, dict[str, Any]], corpus: list[Example]
) -> None:
    texts = SENTENCES + [ex.text for ex in corpus if ex.split == "test"][:40]
    results = predict(bundle, texts, explain=True)
    for text, heads in zip(texts, results, strict=True):
        for head, result in heads.items():
            assert "explain" in result
            expected = sklearn_top(fitted[0], fitted[1][head], text, result["label"])
            assert_same_contributions(explanation(result), expected)


def test_explanations_are_top_positive_contributions_largest_first(bundle: Bundle) -> None:
    [heads] = predict(bundle, [SENTENCES[0]], explain=True)
    for result in heads.values():
        assert "explain" in result
        weights = [c.weight for c in explanation(result)]
        assert 0 < len(weights) <= TOP_FEATURES
        assert all(w > 0 for w in weights)
        assert weights == sorted(weights, reverse=True)
    assert "killed" in [c.feature for c in explanation(heads["stance"])]


def test_char_ngrams_are_shown_with_their_word_edges(bundle: Bundle) -> None:
    # A made-up word gives no word feature, so its explanation is made of its character n-grams (lowercased),
    # a space marking where the word starts or ends.
    [heads] = predict(bundle, ["Killzzq."], explain=True)
    features = {c.feature for result in heads.values() for c in explanation(result)} - {FEATURE_NAME}
    assert features, "a known character n-gram should push some label up"
    assert all(feature in " killzzq. " for feature in features)
    assert any(feature.startswith(" ") for feature in features)


def test_the_embedding_block_is_one_item_with_its_whole_contribution(bundle: Bundle) -> None:
    assert bundle.scorer.embedding is not None
    texts = SENTENCES[:4]
    vectors = bundle.scorer.embedding.encoder.vectors(texts)
    seen = 0
    for row, heads in enumerate(predict(bundle, texts, explain=True)):
        for head, result in heads.items():
            items = [c for c in explanation(result) if c.feature == FEATURE_NAME]
            assert len(items) <= 1
            columns = bundle.scorer.head_slices[head]
            if columns.stop - columns.start == 1:
                continue  # a binary head: covered by scikit-learn's own contributions above
            column = columns.start + bundle.scorer.classes[head].index(result["label"])
            total = float(vectors[row] @ bundle.scorer.embedding.weights[:, column])
            if items:
                seen += 1
                assert items[0].weight == pytest.approx(total, rel=1e-12)
            else:
                smallest = min((c.weight for c in explanation(result)), default=0.0)
                assert total <= 0 or (len(explanation(result)) == TOP_FEATURES and total <= smallest)
    assert seen, "the block should be among the top contributions somewhere"


def test_text_without_known_ngrams_has_an_empty_explanation(bundle: Bundle) -> None:
    [heads] = predict(bundle, [""], explain=True)
    assert all(result["explain"] == [] for result in heads.values())


def test_explanations_only_when_asked_and_labels_unchanged(bundle: Bundle) -> None:
    plain = predict(bundle, SENTENCES)
    explained = predict(bundle, SENTENCES, explain=True)
    for without, with_ in zip(plain, explained, strict=True):
        for head, result in without.items():
            assert "explain" not in result
            assert (result["label"], result["scores"]) == (with_[head]["label"], with_[head]["scores"])


def test_binary_head_explains_either_class() -> None:
    texts = ["Troops shelled the border town", "Leaders signed a friendship treaty"] * 3
    labels = ["threat", "cooperative"] * 3
    vectorizer = TfidfVectorizer().fit(texts)
    classifier = LogisticRegression(max_iter=500).fit(vectorizer.transform(texts), labels)
    scorer = compile_scorer(vectorizer, {"stance": classifier})
    probe = ["Troops signed a treaty", "the town shelled"]
    for class_index, label in enumerate(classifier.classes_):
        chosen = {"stance": np.full(len(probe), class_index)}
        for text, explanation in zip(probe, explain_heads(scorer, probe, chosen), strict=True):
            assert_same_contributions(explanation["stance"], sklearn_top(vectorizer, classifier, text, label))


def with_manifest(bundle: Bundle, **extra: Any) -> Bundle:
    return Bundle(path=bundle.path, manifest={**bundle.manifest, **extra}, scorer=bundle.scorer)


def test_confident_when_the_score_reaches_the_heads_threshold(bundle: Bundle) -> None:
    thresholded = with_manifest(bundle, thresholds={"stance": 0.6, "sentiment": 0.0})
    results = predict(thresholded, SENTENCES)
    for heads in results:
        assert heads["stance"]["confident"] == (heads["stance"]["score"] >= 0.6)
        assert heads["sentiment"]["confident"]
        assert heads["topic"]["confident"]  # no threshold for this head
    stance_flags = {heads["stance"]["confident"] for heads in results}
    assert stance_flags == {True, False}, "the sentences should fall on both sides of the threshold"


def test_every_prediction_is_confident_without_thresholds(bundle: Bundle) -> None:
    bare = with_manifest(bundle, thresholds=None)
    assert all(result["confident"] for heads in predict(bare, SENTENCES) for result in heads.values())


@pytest.mark.parametrize("thresholds", [{"stance": "high"}, {"stance": 1.5}, {"stance": True}, ["stance"]])
def test_invalid_thresholds_are_a_bundle_error(bundle: Bundle, thresholds: Any) -> None:
    with pytest.raises(BundleError, match="invalid thresholds"):
        predict(with_manifest(bundle, thresholds=thresholds), SENTENCES[:1])


def test_api_explains_only_when_asked(client: TestClient) -> None:
    text = "Militants killed 12 soldiers near the border. Exports rose."
    plain = client.post("/v1/classify", json={"text": text}).json()
    explained = client.post("/v1/classify", json={"text": text, "explain": True}).json()
    for without, with_ in zip(plain["results"][0]["sentences"], explained["results"][0]["sentences"], strict=True):
        for head in ("topic", "stance", "sentiment"):
            assert "explain" not in without[head]
            assert isinstance(without[head]["confident"], bool)
            items = with_[head]["explain"]
            assert items and all(set(item) == {"feature", "weight"} and item["weight"] > 0 for item in items)
    assert "killed" in [item["feature"] for item in explained["results"][0]["sentences"][0]["stance"]["explain"]]


def test_api_confident_follows_the_manifest(bundle: Bundle) -> None:
    thresholded = with_manifest(bundle, thresholds={"stance": 1.0})
    with TestClient(create_app(Settings(model_path=bundle.path), thresholded)) as client:
        body = client.post("/v1/classify", json={"text": "The talks began on Monday."}).json()
    assert body["results"][0]["sentences"][0]["stance"]["confident"] is False


def test_api_offers_explain_in_its_schema_and_rejects_a_non_boolean(client: TestClient) -> None:
    # The analyst's page asks for explanations only when the request schema has the property.
    schema = client.get("/openapi.json").json()["components"]["schemas"]["ClassifyRequest"]
    assert schema["properties"]["explain"]["default"] is False
    response = client.post("/v1/classify", json={"text": "Talks resumed.", "explain": "maybe"})
    assert response.status_code == 422
    assert "explain" in response.text


def test_cli_classify_explain(bundle: Bundle, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": SENTENCES[1]}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["classify", str(source), "-o", str(out), "--model", str(bundle.path), "--explain"]) == 0
    [row] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    for head in ("topic", "stance", "sentiment"):
        assert {"label", "score", "scores", "confident", "explain"} <= set(row[head])
        assert all(set(item) == {"feature", "weight"} for item in row[head]["explain"])
