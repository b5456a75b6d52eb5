"""Fast scoring of a compiled TF-IDF + logistic-regression model, for one sentence or a batch.

A compiled model (`training.compile` makes one from the fitted scikit-learn objects) holds, per TF-IDF block of
the feature union, the vocabulary in column order, the idf, and one weight row per feature with every head's
coefficients; and the heads' intercepts. It is saved as plain NumPy arrays (`save`/`load`, no pickle), so
serving needs neither scikit-learn nor unpickling. A text's n-grams are found by dictionary lookups (the
character n-grams of a word are cached, as the words of news repeat), counted, weighted as scikit-learn's
TfidfVectorizer weights them (optional 1 + log tf, idf, l2 norm), and every head's decision values come from
one product with the weights. The results equal the fitted models' own `predict_proba` (a test checks the
whole test split to 1e-9).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

FORMAT = 1  # of the saved arrays; bump when their meaning changes
ANALYZERS = ("word", "char_wb")
_CHUNK = 1024  # texts per sparse product: bounds the memory of the n-gram arrays
_SMALL_BATCH = 16  # up to this many texts, dense NumPy per text beats SciPy's per-call overhead
_WORD_CACHE_LIMIT = 200_000  # distinct words whose character n-grams are kept; the cache restarts when full


def _count_matrix(rows: list[list[int]], width: int) -> sp.csr_matrix:
    """A CSR matrix with, in row i, how often each column occurs in `rows[i]`."""
    indptr = np.zeros(len(rows) + 1, dtype=np.intp)
    np.cumsum([len(row) for row in rows], out=indptr[1:])
    indices = np.fromiter(chain.from_iterable(rows), dtype=np.intp, count=int(indptr[-1]))
    matrix = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), width))
    matrix.sum_duplicates()
    return matrix


class UnsupportedModel(ValueError):
    """A model this module can't compile or load: unsupported settings, or arrays that don't fit together."""


@dataclass
class Block:
    """One TF-IDF vectorizer of the union: vocabulary (`terms`, in column order), idf, and all heads' weights."""

    analyzer: str  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    sublinear_tf: bool
    token_pattern: str  # the word analyzer's; unused by char_wb
    terms: np.ndarray
    idf: np.ndarray
    weights: np.ndarray  # (features, all classes of all heads)
    vocabulary: dict[str, int] = field(init=False, repr=False)
    _word_columns: dict[str, list[int]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.analyzer not in ANALYZERS:
            raise UnsupportedModel(f"analyzer {self.analyzer!r} is not one of {ANALYZERS}")
        if not (len(self.terms) == len(self.idf) == len(self.weights)):
            raise UnsupportedModel(
                f"{len(self.terms)} terms, {len(self.idf)} idf values and {len(self.weights)} weight rows"
            )
        self.vocabulary = dict(zip(self.terms.tolist(), range(len(self.terms)), strict=True))
        if len(self.vocabulary) != len(self.terms):
            raise UnsupportedModel("the vocabulary lists an n-gram twice")
        self._tokens = re.compile(self.token_pattern).findall

    def columns(self, text: str) -> list[int]:
        """The column of every occurrence of a known n-gram of the text, repeats included."""
        if self.analyzer == "word":
            return self._word_ngram_columns(text)
        found: list[int] = []
        for word in text.lower().split():
            columns = self._word_columns.get(word)
            if columns is None:
                columns = self._char_ngram_columns(word)
            found += columns
        return found

    def _word_ngram_columns(self, text: str) -> list[int]:
        """scikit-learn's word analyzer: tokens of the lowercased text, n-grams joined by a space."""
        tokens = self._tokens(text.lower())
        get = self.vocabulary.get
        found: list[int] = []
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            grams = tokens if n == 1 else map(" ".join, zip(*(tokens[k:] for k in range(n)), strict=False))
            found += [column for column in map(get, grams) if column is not None]
        return found

    def _char_ngram_columns(self, word: str) -> list[int]:
        """scikit-learn's char_wb n-grams of one word, padded with a space on each side; cached."""
        padded = f" {word} "
        get = self.vocabulary.get
        grams: list[str] = []
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            if n >= len(padded):  # the whole padded word is one n-gram, counted once, and no longer ones follow
                grams.append(padded)
                break
            grams += [padded[i : i + n] for i in range(len(padded) - n + 1)]
        columns = [column for column in map(get, grams) if column is not None]
        if len(self._word_columns) >= _WORD_CACHE_LIMIT:
            self._word_columns.clear()
        self._word_columns[word] = columns
        return columns

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """How often each known n-gram occurs in each text (rows: texts; columns not necessarily sorted)."""
        if self.analyzer == "word":
            return _count_matrix([self.columns(text) for text in texts], len(self.idf))
        # A word's character n-grams don't depend on its neighbours: count them once per distinct word of the
        # batch, then add up each text's words with one sparse product (texts x words) @ (words x n-grams).
        word_ids: dict[str, int] = {}
        words_of_texts = [[word_ids.setdefault(word, len(word_ids)) for word in text.lower().split()] for text in texts]
        cached = self._word_columns.get
        grams_of_words = [cached(word) or self._char_ngram_columns(word) for word in word_ids]
        return _count_matrix(words_of_texts, len(word_ids)) @ _count_matrix(grams_of_words, len(self.idf))

    def tfidf(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Normalized tf-idf rows, one per text, columns sorted: what the fitted vectorizer's transform gives."""
        matrix = self.counts(texts)
        matrix.sort_indices()
        matrix.data = self._weighted(matrix.data, matrix.indices, np.diff(matrix.indptr))
        return matrix

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Every class's share of the decision from this block, one row per text."""
        if len(texts) > _SMALL_BATCH:
            matrix = self.counts(texts)
            matrix.data = self._weighted(matrix.data, matrix.indices, np.diff(matrix.indptr))
            return np.asarray(matrix @ self.weights)
        scores = np.zeros((len(texts), self.weights.shape[1]))
        for row, text in enumerate(texts):
            counted = Counter(self.columns(text))
            if counted:
                features = np.fromiter(counted.keys(), dtype=np.intp, count=len(counted))
                tf = np.fromiter(counted.values(), dtype=np.float64, count=len(counted))
                if self.sublinear_tf:
                    tf = np.log(tf) + 1
                tf *= self.idf[features]
                tf /= np.sqrt(tf @ tf)
                scores[row] = tf @ self.weights.take(features, axis=0)  # take: a faster gather than indexing
        return scores

    def _weighted(self, counts: np.ndarray, features: np.ndarray, lengths: Sequence[int] | np.ndarray) -> np.ndarray:
        """TfidfTransformer on rows of `lengths` entries each: optional 1 + log(tf), times idf, l2-normalized."""
        tf = counts.astype(np.float64)
        if self.sublinear_tf:
            tf = np.log(tf) + 1
        tf *= self.idf[features]
        lengths = np.asarray(lengths)
        filled = lengths > 0  # a text with no known n-gram keeps a zero row, as scikit-learn's normalize does
        if filled.any():
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[filled]
            tf /= np.repeat(np.sqrt(np.add.reduceat(tf**2, starts)), lengths[filled])
        return tf


@dataclass
class LinearScorer:
    """All heads' class probabilities for a batch of texts, from one pass over the text."""

    blocks: list[Block]
    intercepts: np.ndarray
    head_slices: dict[str, slice]
    classes: dict[str, list[str]]

    def __post_init__(self) -> None:
        widths = {block.weights.shape[1] for block in self.blocks} | {len(self.intercepts)}
        stops = max((columns.stop for columns in self.head_slices.values()), default=0)
        if len(widths) != 1 or stops != len(self.intercepts):
            raise UnsupportedModel(f"weight columns {sorted(widths)} don't match the heads' {stops} classes")

    def probabilities(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        decision = np.vstack(
            [
                self.intercepts + sum(block.scores(texts[i : i + _CHUNK]) for block in self.blocks)
                for i in range(0, max(len(texts), 1), _CHUNK)
            ]
        )[: len(texts)]
        result = {}
        for head, columns in self.head_slices.items():
            values = decision[:, columns]
            if values.shape[1] == 1:  # binary logistic regression: one decision value for the second class
                positive = 1.0 / (1.0 + np.exp(-values[:, 0]))
                result[head] = np.column_stack([1.0 - positive, positive])
                continue
            values = values - values.max(axis=1, keepdims=True)
            exp = np.exp(values)
            result[head] = exp / exp.sum(axis=1, keepdims=True)
        return result

    def save(self, path: Path) -> None:
        """Write the scorer as one `.npz` of plain arrays (text as fixed-width Unicode; nothing pickled)."""
        config = {
            "format": FORMAT,
            "heads": {
                head: {"classes": self.classes[head], "start": columns.start, "stop": columns.stop}
                for head, columns in self.head_slices.items()
            },
            "blocks": [
                {
                    "analyzer": block.analyzer,
                    "ngram_range": list(block.ngram_range),
                    "sublinear_tf": block.sublinear_tf,
                    "token_pattern": block.token_pattern,
                }
                for block in self.blocks
            ],
        }
        arrays: dict[str, np.ndarray] = {"config": np.array(json.dumps(config)), "intercepts": self.intercepts}
        for number, block in enumerate(self.blocks):
            arrays |= {f"{number}.terms": block.terms, f"{number}.idf": block.idf, f"{number}.weights": block.weights}
        with Path(path).open("wb") as handle:
            np.savez(handle, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: Path) -> LinearScorer:
        """Read a scorer written by `save`; UnsupportedModel when the file is not one this version reads."""
        try:
            with np.load(path, allow_pickle=False) as arrays:
                config: dict[str, Any] = json.loads(str(arrays["config"]))
                if config.get("format") != FORMAT:
                    raise UnsupportedModel(f"scorer format {config.get('format')!r}; this service reads {FORMAT}")
                blocks = [
                    Block(
                        analyzer=str(spec["analyzer"]),
                        ngram_range=(int(spec["ngram_range"][0]), int(spec["ngram_range"][1])),
                        sublinear_tf=bool(spec["sublinear_tf"]),
                        token_pattern=str(spec["token_pattern"]),
                        terms=arrays[f"{number}.terms"],
                        idf=arrays[f"{number}.idf"].astype(np.float64),
                        weights=np.ascontiguousarray(arrays[f"{number}.weights"], dtype=np.float64),
                    )
                    for number, spec in enumerate(config["blocks"])
                ]
                heads = config["heads"]
                return cls(
                    blocks=blocks,
                    intercepts=arrays["intercepts"].astype(np.float64),
                    head_slices={head: slice(int(h["start"]), int(h["stop"])) for head, h in heads.items()},
                    classes={head: [str(label) for label in h["classes"]] for head, h in heads.items()},
                )
        except (OSError, ValueError, KeyError, TypeError, IndexError, re.error) as error:
            if isinstance(error, UnsupportedModel):
                raise
            raise UnsupportedModel(f"unreadable scorer {path}: {error}") from error
