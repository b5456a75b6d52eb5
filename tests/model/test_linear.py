"""The fast scorer gives the fitted models' own scikit-learn probabilities, whatever the text and batch size."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from service.model import words
from service.model.bundle import SCORER_FILE, Bundle, BundleError, load_bundle, sha256_file
from service.model.linear import EMBEDDING_TABLE_FILE, LinearScorer
from service.model.ngrams import UnsupportedModel
from training.compile import compile_scorer
from training.embeddings import SentenceEmbedding, load_encoder
from training.examples import Example

ROOT = Path(__file__).resolve().parents[2]
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


Fitted = tuple[Any, dict[str, Any]]


def assert_same(bundle: Bundle, fitted: Fitted, texts: list[str], batch: int) -> None:
    vectorizer, heads = fitted
    features = vectorizer.transform(texts)
    expected = {head: classifier.predict_proba(features) for head, classifier in heads.items()}
    pieces = [bundle.scorer.probabilities(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    for head, matrix in expected.items():
        actual = np.vstack([piece[head] for piece in pieces])
        np.testing.assert_allclose(actual, matrix, rtol=0, atol=1e-9)
        assert (actual.argmax(axis=1) == matrix.argmax(axis=1)).all()


def test_equal_to_scikit_learn_on_the_whole_test_split(bundle: Bundle, fitted: Fitted, corpus: list[Example]) -> None:
    texts = [ex.text for ex in corpus if ex.split == "test"]
    assert len(texts) > 500
    assert_same(bundle, fitted, texts, batch=len(texts))


@pytest.mark.parametrize("batch", [1, 2, 16, 17, 1500])
def test_equal_at_every_batch_size(bundle: Bundle, fitted: Fitted, corpus: list[Example], batch: int) -> None:
    texts = [ex.text for ex in corpus[:200]] + ODD_TEXTS
    assert_same(bundle, fitted, texts, batch=batch)


def test_odd_texts(bundle: Bundle, fitted: Fitted) -> None:
    assert_same(bundle, fitted, ODD_TEXTS, batch=len(ODD_TEXTS))
    assert_same(bundle, fitted, ODD_TEXTS, batch=1)


def test_equal_when_the_word_tables_restart(
    bundle: Bundle, fitted: Fitted, corpus: list[Example], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(words, "CAPACITY", 7)  # restarts every few words, within a text too
    small = load_bundle(bundle.path)
    texts = [ex.text for ex in corpus[:300]]
    assert_same(small, fitted, texts, batch=1)
    assert len(small.scorer._words) <= max(7, *(len(set(text.split())) for text in texts))  # it did restart
    assert_same(small, fitted, texts, batch=len(texts))


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
        TfidfVectorizer(token_pattern=r"(?u)\b\w+\b"),  # one-letter tokens too
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


@pytest.mark.parametrize("binary", [False, True])
def test_dense_embedding_block(binary: bool) -> None:
    """The union with the sentence-embedding block (alone or beside TF-IDF) compiles to the same probabilities."""
    encoder = load_encoder()
    texts, labels = (TEXTS[:2] * 3, LABELS[:2] * 3) if binary else (TEXTS, LABELS)
    probe = ["Troops signed a treaty", "a I", "", "Exports of shells rose", *ODD_TEXTS]
    for vectorizer in (
        FeatureUnion([("w", TfidfVectorizer()), ("e", SentenceEmbedding(encoder))]),
        FeatureUnion([("e", SentenceEmbedding(encoder)), ("c", TfidfVectorizer(analyzer="char_wb"))]),
        FeatureUnion([("e", SentenceEmbedding(encoder))]),
    ):
        fitted, heads = train(vectorizer, texts, labels)
        scorer = compile_scorer(fitted, heads)
        assert scorer.embedding is not None
        expected = heads["stance"].predict_proba(fitted.transform(probe))
        for batch in (1, len(probe)):
            actual = np.vstack(
                [scorer.probabilities(probe[i : i + batch])["stance"] for i in range(0, len(probe), batch)]
            )
            np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-9)


def test_a_bundle_trained_with_the_embedding_block_serves_it(bundle: Bundle, fitted: Fitted) -> None:
    assert bundle.scorer.embedding is not None
    assert any(isinstance(part, SentenceEmbedding) for _, part in fitted[0].transformer_list)


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
        TfidfVectorizer(ngram_range=(1, 3)),
        TfidfVectorizer(token_pattern=r"[^,]+"),  # tokens that may span whitespace
    ],
)
def test_unsupported_settings_are_refused(vectorizer: object) -> None:
    fitted, heads = train(vectorizer, TEXTS, LABELS)
    with pytest.raises(UnsupportedModel):
        compile_scorer(fitted, heads)


def test_saved_scorer_loads_equal(bundle: Bundle, tmp_path) -> None:
    bundle.scorer.save(tmp_path / "scorer.npz")
    loaded = LinearScorer.load(tmp_path / "scorer.npz", lambda: tmp_path / EMBEDDING_TABLE_FILE)
    texts = ["Troops shelled the border town.", "Exports rose by 9 percent.", ""]
    for head, matrix in bundle.scorer.probabilities(texts).items():
        np.testing.assert_array_equal(loaded.probabilities(texts)[head], matrix)
    assert loaded.classes == bundle.scorer.classes


def test_a_scorer_of_another_format_is_a_bundle_error(bundle: Bundle, tmp_path) -> None:
    copy = tmp_path / bundle.version
    shutil.copytree(bundle.path, copy)
    with np.load(copy / SCORER_FILE) as arrays:
        contents = dict(arrays)
    contents["config"] = np.array(json.dumps({**json.loads(str(contents["config"])), "format": 99}))
    np.savez(copy / SCORER_FILE, **contents)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"][SCORER_FILE]["sha256"] = sha256_file(copy / SCORER_FILE)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="can't be served: scorer format 99"):
        load_bundle(copy)


def test_serving_imports_neither_scikit_learn_nor_joblib(bundle: Bundle) -> None:
    """The service reads the scorer's arrays: no unpickling, and no scikit-learn to import at start-up; the
    embedding block comes from the bundle, so neither torch, model2vec nor data/embeddings (training) either."""
    probe = (
        "import sys; from pathlib import Path; from service.api.app import create_app; "
        "from service.api.settings import "
        "Settings; from service.model.bundle import load_bundle; from service.model.predict import classify; "
        f"bundle = load_bundle(Path({str(bundle.path)!r})); create_app(Settings(model_path=bundle.path), bundle); "
        "classify(bundle, ['Troops shelled the town. Exports rose.'] * 40, explain=True); "
        "print(sorted(name for name in sys.modules if name.split('.')[0] in "
        "('sklearn', 'joblib', 'torch', 'model2vec', 'training')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"
