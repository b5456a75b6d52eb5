"""Why a head chose its label: the n-grams of the sentence that pushed that label up the most.

A head's decision value for a class is its intercept plus, over every n-gram of the sentence, the n-gram's
normalized tf-idf value times the class's coefficient for it. Those products are the contributions; the
explanation of a chosen label is its largest positive ones. They are computed from the fast scorer's own
blocks (`service.model.linear`), with the n-grams and tf-idf weighting behind the served probabilities (equal to
scikit-learn's to 1e-12, as a test checks), and only when an explanation is asked for: plain predictions never
pay for them.

A model with a sentence-embedding block gets one more candidate per text: the block's whole contribution (its
normalised vector times the chosen class's coefficients, summed over the dimensions), named `[sentence
embedding]`; its dimensions mean nothing alone, so they are never listed one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from service.model.embedding import FEATURE_NAME
from service.model.linear import LinearScorer
from service.model.words import Found

TOP_FEATURES = 5
# Texts explained at a time: bounds the memory of the per-n-gram arrays, as the scorer's own chunks do.
_CHUNK = 1024


@dataclass(frozen=True)
class Contribution:
    """One n-gram's share of the chosen label's decision value: coefficient times normalized tf-idf value."""

    feature: str
    weight: float


Explanation = dict[str, list[Contribution]]


@dataclass(frozen=True)
class _Entries:
    """Every (text, feature, tf-idf value) of a chunk of texts, features numbered across all blocks."""

    rows: np.ndarray
    features: np.ndarray
    values: np.ndarray


def explain_heads(
    scorer: LinearScorer, texts: Sequence[str], chosen: Mapping[str, np.ndarray], top: int = TOP_FEATURES
) -> list[Explanation]:
    """Per text, per head: the `top` n-grams with the largest positive contribution to the chosen class.

    `chosen[head]` holds, per text, the index of the chosen class in `scorer.classes[head]`.
    """
    index = _FeatureIndex(scorer)
    explanations: list[Explanation] = []
    for start in range(0, len(texts), _CHUNK):
        stop = min(start + _CHUNK, len(texts))
        found = scorer.lookup(texts[start:stop])  # one lookup of the words for the n-grams and the embedding
        entries = _tfidf_entries(scorer, found)
        # The embedding block's share of every class's decision value, per text.
        shares = scorer.embedding.scores(texts[start:stop], found) if scorer.embedding is not None else None
        per_head = {
            head: _top_contributions(entries, *_chosen_weights(scorer, head, classes[start:stop]), top, index, shares)
            for head, classes in chosen.items()
        }
        explanations += [{head: lists[row] for head, lists in per_head.items()} for row in range(stop - start)]
    return explanations


def _tfidf_entries(scorer: LinearScorer, found: Found) -> _Entries:
    # The scorer's own tf-idf rows (features sorted: ties between contributions rely on it), the ones its scores
    # use, so explanations and probabilities agree.
    tfidf = scorer.tfidf(found)
    rows = np.repeat(np.arange(tfidf.shape[0]), np.diff(tfidf.indptr))
    return _Entries(rows, tfidf.indices.astype(np.intp), tfidf.data)


def _chosen_weights(scorer: LinearScorer, head: str, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(weight column, sign) per text: where the chosen class's coefficients are in the blocks' weights.

    A binary logistic regression has one coefficient row, for its second class; the first class's decision is
    its negation, so its contributions are the same products with the opposite sign.
    """
    columns = scorer.head_slices[head]
    classes = np.asarray(classes, dtype=np.intp)
    if columns.stop - columns.start == 1:
        return np.full(len(classes), columns.start, dtype=np.intp), np.where(classes == 1, 1.0, -1.0)
    return columns.start + classes, np.ones(len(classes))


def _top_contributions(
    entries: _Entries,
    column_of_text: np.ndarray,
    sign_of_text: np.ndarray,
    top: int,
    index: _FeatureIndex,
    embedding_shares: np.ndarray | None = None,
) -> list[list[Contribution]]:
    coefficients = index.coefficients(entries.features, column_of_text[entries.rows])
    contributions = entries.values * coefficients * sign_of_text[entries.rows]
    if embedding_shares is not None:
        # The embedding block as one entry per text, numbered past every n-gram (so it loses ties to them).
        texts = np.arange(len(column_of_text))
        block = embedding_shares[texts, column_of_text] * sign_of_text
        entries = _Entries(
            np.concatenate([entries.rows, texts]),
            np.concatenate([entries.features, np.full(len(texts), index.starts[-1], dtype=np.intp)]),
            entries.values,
        )
        contributions = np.concatenate([contributions, block])
    positive = contributions > 0
    rows, features, contributions = entries.rows[positive], entries.features[positive], contributions[positive]
    # By text, then largest contribution first, ties to the lower feature number: the entries come by text
    # and feature, so two stable sorts (cheaper than one lexsort on three keys) keep that order in ties.
    order = np.argsort(-contributions, kind="stable")
    order = order[np.argsort(rows[order], kind="stable")]
    rows, features, contributions = rows[order], features[order], contributions[order]
    rank_in_text = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    kept = rank_in_text < top
    result: list[list[Contribution]] = [[] for _ in column_of_text]
    for row, name, weight in zip(
        rows[kept].tolist(), index.names(features[kept]), contributions[kept].tolist(), strict=True
    ):
        result[row].append(Contribution(feature=name, weight=weight))
    return result


class _FeatureIndex:
    """Coefficients and readable n-grams of feature numbers that run across the scorer's blocks."""

    def __init__(self, scorer: LinearScorer) -> None:
        self.blocks = scorer.blocks
        self.starts = np.cumsum([0] + [len(block.idf) for block in scorer.blocks])

    def _locate(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(block number, column inside that block) of each feature."""
        block_of = np.searchsorted(self.starts, features, side="right") - 1
        return block_of, features - self.starts[block_of]

    def coefficients(self, features: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """The coefficient of each feature in the matching weight column."""
        block_of, local = self._locate(features)
        weights = np.empty(len(features))
        for number, block in enumerate(self.blocks):
            inside = block_of == number
            weights[inside] = block.weights[local[inside], columns[inside]]
        return weights

    def names(self, features: np.ndarray) -> list[str]:
        """The n-gram of each feature: words for word n-grams, the padded characters for char_wb ones."""
        block_of, local = self._locate(features)
        names = np.full(len(features), FEATURE_NAME, dtype=object)  # what lies past the n-grams: the embedding
        for number, block in enumerate(self.blocks):
            inside = block_of == number
            if inside.any():
                names[inside] = block.terms[local[inside]]
        return names.tolist()
