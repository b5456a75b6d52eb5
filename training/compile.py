"""Fold fitted scikit-learn objects (a union of TF-IDF vectorizers, one logistic regression per head) into the
service's array-only scorer, `service.model.linear.LinearScorer`: what a bundle serves. A `SentenceEmbedding`
part of the union becomes the scorer's embedding block (the same encoder, and its columns' coefficients)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from service.model.embedding import EmbeddingBlock
from service.model.linear import LinearScorer
from service.model.ngrams import Block, UnsupportedModel, make_block
from training.embeddings import SentenceEmbedding

# Settings the scorer reproduces only with these values.
_REQUIRED = {
    "lowercase": True,
    "norm": "l2",
    "preprocessor": None,
    "tokenizer": None,
    "stop_words": None,
    "strip_accents": None,
    "binary": False,
    "use_idf": True,
    "vocabulary": None,
}


def _check_vectorizer(name: str, vectorizer: Any) -> None:
    if not isinstance(vectorizer, TfidfVectorizer):
        raise UnsupportedModel(f"{name}: only TfidfVectorizer is supported, not {type(vectorizer).__name__}")
    settings = vectorizer.get_params()
    wrong = {key: settings[key] for key, value in _REQUIRED.items() if settings[key] != value}
    if wrong:
        raise UnsupportedModel(f"{name}: unsupported settings {wrong}")


def _terms(vocabulary: dict[str, int]) -> np.ndarray:
    """The vocabulary's n-grams in column order."""
    terms = np.empty(len(vocabulary), dtype=object)
    terms[np.fromiter(vocabulary.values(), dtype=np.intp, count=len(vocabulary))] = list(vocabulary)
    fixed_width = terms.astype(str)
    if fixed_width.tolist() != terms.tolist():  # NumPy's Unicode arrays drop trailing NUL characters
        raise UnsupportedModel("a vocabulary entry ends with a NUL character")
    return fixed_width


def compile_scorer(vectorizer: Any, heads: dict[str, Any]) -> LinearScorer:
    """The scorer of a fitted FeatureUnion of TF-IDF vectorizers (or one) and per-head logistic regressions."""
    parts = vectorizer.transformer_list if isinstance(vectorizer, FeatureUnion) else [("tfidf", vectorizer)]
    coefficients = np.vstack([classifier.coef_ for classifier in heads.values()])  # (all classes, all features)
    head_slices, start = {}, 0
    for head, classifier in heads.items():
        head_slices[head] = slice(start, start + classifier.coef_.shape[0])
        start += classifier.coef_.shape[0]
    blocks: list[Block] = []
    embedding, offset = None, 0
    for name, part in parts:
        if isinstance(part, SentenceEmbedding):
            if embedding is not None or part.encoder is None:
                raise UnsupportedModel(f"{name}: a second embedding block, or one without its encoder")
            width = part.encoder.dims
            weights = np.ascontiguousarray(coefficients[:, offset : offset + width].T, dtype=np.float64)
            embedding = EmbeddingBlock(part.encoder, weights)
            offset += width
            continue
        _check_vectorizer(name, part)
        width = len(part.vocabulary_)
        blocks.append(
            make_block(
                analyzer=part.analyzer,
                ngram_range=tuple(part.ngram_range),
                sublinear_tf=bool(part.sublinear_tf),
                token_pattern=part.token_pattern,
                terms=_terms(part.vocabulary_),
                idf=part.idf_.astype(np.float64),
                weights=np.ascontiguousarray(coefficients[:, offset : offset + width].T, dtype=np.float64),
            )
        )
        offset += width
    if offset != coefficients.shape[1]:
        raise UnsupportedModel(
            f"the vectorizers give {offset} features but the classifiers expect {coefficients.shape[1]}"
        )
    return LinearScorer(
        blocks=blocks,
        intercepts=np.concatenate([classifier.intercept_ for classifier in heads.values()]).astype(np.float64),
        head_slices=head_slices,
        classes={head: [str(label) for label in classifier.classes_] for head, classifier in heads.items()},
        embedding=embedding,
    )
