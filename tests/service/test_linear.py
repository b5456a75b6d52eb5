"""The fast scorer gives the fitted models' own scikit-learn probabilities, whatever the text and batch size."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from service.bundle import Bundle, BundleError
from service.linear import UnsupportedModel, compile_scorer
from training.data import Example

ODD_TEXTS = [
    "",
    "   \n\t ",
    "a",
    "I",
    "x y z",
    "Ünïcödé Straße — naïve café 😀 emoji",
    "\u202eRTL ‏مرحبا بالعالم‎ text",
    "NUL\x00inside and \x07 bell",
    "A" * 3000,
    "b " * 2000,
    "\n" * 10_000,
    "U.S.-U.N. talks: 3.5% growth; “quoted” 'words' -- dashes — and ellipses...",
]


def sklearn_probabilities(bundle: Bundle, texts: list[str]) -> dict[str, np.ndarray]:
    features = bundle.vectorizer.transform(texts)
    return {head: classifier.predict_proba(features) for head, classifier in bundle.heads.items()}


def assert_same(bundle: Bundle, texts: list[str], batch: int) -> None:
    expected = sklearn_probabilities(bundle, texts)
    pieces = [bundle.scorer.probabilities(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    for head, matrix in expected.items():
        actual = np.vstack([piece[head] for piece in pieces])
        np.testing.assert_allclose(actual, matrix, rtol=0, atol=1e-9)
        assert (actual.argmax(axis=1) == matrix.argmax(axis=1)).all()


def test_equal_to_scikit_learn_on_the_whole_test_split(bundle: Bundle, corpus: list[Example]) -> None:
    texts = [ex.text for ex in corpus if ex.split == "test"]
    assert len(texts) > 500
    assert_same(bundle, texts, batch=len(texts))


@pytest.mark.parametrize("batch", [1, 2, 16, 17, 1500])
def test_equal_at_every_batch_size(bundle: Bundle, corpus: list[Example], batch: int) -> None:
    texts = [ex.text for ex in corpus[:200]] + ODD_TEXTS
    assert_same(bundle, texts, batch=batch)


def test_odd_texts(bundle: Bundle) -> None:
    assert_same(bundle, ODD_TEXTS, batch=len(ODD_TEXTS))
    assert_same(bundle, ODD_TEXTS, batch=1)


def test_no_texts(bundle: Bundle) -> None:
    assert all(matrix.shape[0] == 0 for matrix in bundle.scorer.probabilities([]).values())


def train(vectorizer: object, texts: list[str], labels: list[str]) -> tuple[object, dict[str, LogisticRegression]]:
    features = vectorizer.fit_transform(texts)
    return vectorizer, {"stance": LogisticRegression(max_iter=500).fit(features, labels)}


TEXTS = ["Troops shelled the border town", "Leaders signed a friendship treaty", "Exports rose sharply"] * 3
LABELS = ["threat", "cooperative", "economic"] * 3


@pytest.mark.parametrize(
    "vectorizer",
    [
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)),  # min_n above short padded words
        TfidfVectorizer(ngram_range=(1, 1), sublinear_tf=False),
        TfidfVectorizer(ngram_range=(2, 2)),
        FeatureUnion([("w", TfidfVectorizer()), ("c", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)))]),
    ],
)
def test_other_supported_settings(vectorizer: object) -> None:
    fitted, heads = train(vectorizer, TEXTS, LABELS)
    scorer = compile_scorer(fitted, heads)
    probe = ["Troops signed a treaty", "a I", "", "Exports of shells rose"]
    np.testing.assert_allclose(
        scorer.probabilities(probe)["stance"], heads["stance"].predict_proba(fitted.transform(probe)), atol=1e-9
    )


def test_binary_head() -> None:
    fitted, heads = train(TfidfVectorizer(), TEXTS[:2] * 3, LABELS[:2] * 3)
    probe = ["Troops signed", "treaty"]
    np.testing.assert_allclose(
        compile_scorer(fitted, heads).probabilities(probe)["stance"],
        heads["stance"].predict_proba(fitted.transform(probe)),
    )


@pytest.mark.parametrize(
    "vectorizer",
    [
        CountVectorizer(),
        TfidfVectorizer(analyzer="char"),
        TfidfVectorizer(stop_words="english"),
        TfidfVectorizer(lowercase=False),
    ],
)
def test_unsupported_settings_are_refused(vectorizer: object) -> None:
    fitted, heads = train(vectorizer, TEXTS, LABELS)
    with pytest.raises(UnsupportedModel):
        compile_scorer(fitted, heads)


def test_a_bundle_that_cannot_be_served_is_a_bundle_error(tmp_path) -> None:
    fitted, heads = train(CountVectorizer(), TEXTS, LABELS)
    with pytest.raises(BundleError, match="can't be served"):
        Bundle(path=tmp_path, manifest={"version": "x"}, vectorizer=fitted, heads=heads)
