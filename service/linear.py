"""Fast scoring of a fitted TF-IDF + logistic-regression bundle, vectorized over a batch of sentences.

scikit-learn's path builds a sparse matrix per vectorizer and checks its input at every call, and its
`char_wb` analyzer loops over every n-gram in Python. Here the fitted vocabulary, idf and coefficients are
folded into one weight row per feature for all heads at load time; at prediction time the n-grams of a whole
batch are found with NumPy (character n-grams by a rolling 64-bit hash of their code points, word n-grams by
token ids) and the heads' decision values come from one sparse product. The results equal the fitted models'
own `predict_proba` (a test checks it to 1e-9 on the corpus).

Supported: a `FeatureUnion` of `TfidfVectorizer`s with analyzer "word" (default token pattern, n-grams of 1 to
2 words) or "char_wb", lowercase, l2 norm, any idf and sublinear_tf setting; one `LogisticRegression` per head.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

_HASH_BASE = np.uint64(1_000_003)
_LENGTH_SALT = np.uint64(0xD6E8FEB86659FD93)
_CHUNK = 1024
_SMALL_BATCH = 16
_WORD_PATTERN = r"(?u)\b\w\w+\b"


def _no_positions() -> np.ndarray:
    return np.empty(0, dtype=np.intp)


def _count_matrix(rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """How often each (row, column) pair occurs, as a CSR matrix (duplicates summed)."""
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, columns)), shape=shape)


class UnsupportedModel(ValueError):
    """The bundle's vectorizer or classifiers are not of a kind this module can score."""


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def _hash_equal_length(strings: Sequence[str], length: int) -> np.ndarray:
    """The rolling hash `_CharBlock` computes, for strings that all have `length` characters."""
    codes = _code_points("".join(strings)).reshape(len(strings), length)
    hashes = np.zeros(len(strings), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in range(length):
            hashes = hashes * _HASH_BASE + codes[:, column]
    return hashes


def _salted(hashes: np.ndarray, length: int) -> np.ndarray:
    """Make n-grams of different lengths distinct keys of one table."""
    with np.errstate(over="ignore"):
        return hashes + np.uint64(length) * _LENGTH_SALT


class _Lookup:
    """An open-addressing hash table from 64-bit keys to feature columns, probed for many keys at once."""

    _EMPTY = np.intp(-1)
    _MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of key * this spread keys evenly

    def __init__(self, keys: np.ndarray, columns: np.ndarray) -> None:
        keys = keys.astype(np.uint64)
        self.bits = max(4, int(len(keys) * 4).bit_length())  # at most a quarter full: short probe runs
        self.table_keys = np.zeros(1 << self.bits, dtype=np.uint64)
        self.table_columns = np.full(1 << self.bits, self._EMPTY, dtype=np.intp)
        if len(np.unique(keys)) != len(keys):
            raise UnsupportedModel("two vocabulary entries share a hash key")
        pending, home, probe = np.arange(len(keys)), self._slots(keys), 0
        while len(pending):
            slots = (home[pending] + probe) & ((1 << self.bits) - 1)
            free = self.table_columns[slots] == self._EMPTY
            # Of several keys landing on one free slot this round, the first takes it; the rest probe on.
            taken, first = np.unique(slots[free], return_index=True)
            winners = pending[free][first]
            self.table_keys[taken], self.table_columns[taken] = keys[winners], columns[winners]
            pending = np.setdiff1d(pending, winners, assume_unique=True)
            probe += 1

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((keys * self._MIX) >> np.uint64(64 - self.bits)).astype(np.intp)

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions of the keys that are in the vocabulary, their columns)."""
        keys = keys.astype(np.uint64, copy=False)
        mask = (1 << self.bits) - 1
        home = self._slots(keys)
        hits, columns = [], []
        remaining, probe = np.arange(len(keys)), 0
        while len(remaining):
            slots = (home[remaining] + probe) & mask
            found = self.table_keys[slots] == keys[remaining]
            occupied = self.table_columns[slots] != self._EMPTY
            hit = found & occupied
            hits.append(remaining[hit])
            columns.append(self.table_columns[slots[hit]])
            remaining = remaining[occupied & ~found]  # an empty slot ends the search: the key is absent
            probe += 1
        return np.concatenate([_no_positions(), *hits]), np.concatenate([_no_positions(), *columns])


@dataclass
class _Block:
    """One TF-IDF vectorizer of the union: its n-gram finder, idf, and weights for every head's classes."""

    vectorizer: TfidfVectorizer
    weights: np.ndarray  # (features, all classes): every head's coefficients, one row per feature
    idf: np.ndarray

    def occurrences(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        """(text, feature column) of every occurrence of a known n-gram."""
        raise NotImplementedError

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Term counts, one row per text, duplicates summed."""
        return _count_matrix(*self.occurrences(texts), (len(texts), len(self.idf)))

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Sum of (tf-idf / its l2 norm) * coefficient per text: this block's share of every class's decision."""
        if len(texts) > _SMALL_BATCH:
            counts = self.counts(texts)
            counts.data = self._normalized_tfidf(counts.indptr, counts.indices, counts.data)
            return np.asarray(counts @ self.weights)
        # Few texts: plain NumPy, as SciPy's per-call overhead would outweigh the work itself.
        rows, columns = self.occurrences(texts)
        width = len(self.idf)
        keys = np.sort(rows.astype(np.int64) * width + columns)
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if len(keys) else _no_positions()
        counts = np.diff(np.append(starts, len(keys))).astype(np.float64)
        features = keys[starts] % width
        indptr = np.searchsorted(keys[starts] // width, np.arange(len(texts) + 1))
        tfidf = self._normalized_tfidf(indptr, features, counts)
        scores = np.zeros((len(texts), self.weights.shape[1]))
        filled = np.diff(indptr) > 0
        if filled.any():
            scores[filled] = np.add.reduceat(self.weights[features] * tfidf[:, None], indptr[:-1][filled])
        return scores

    def _normalized_tfidf(self, indptr: np.ndarray, features: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """scikit-learn's TfidfTransformer on CSR rows: optional 1 + log(tf), times idf, then l2-normalized."""
        tf = counts.astype(np.float64)
        if self.vectorizer.sublinear_tf:
            tf = np.log(tf) + 1
        tf *= self.idf[features]
        lengths = np.diff(indptr)
        filled = lengths > 0  # a text with no known n-gram keeps a zero row, as scikit-learn's normalize does
        if filled.any():
            tf /= np.repeat(np.sqrt(np.add.reduceat(tf**2, indptr[:-1][filled])), lengths[filled])
        return tf


class _WordBlock(_Block):
    """Word unigrams and bigrams of the default token pattern, found through token ids."""

    def __init__(self, vectorizer: TfidfVectorizer, weights: np.ndarray, idf: np.ndarray) -> None:
        super().__init__(vectorizer, weights, idf)
        self.pattern = re.compile(_WORD_PATTERN)
        self.token_ids: dict[str, int] = {}
        unigrams: dict[int, int] = {}
        bigram_keys, bigram_columns = [], []
        for term, column in vectorizer.vocabulary_.items():
            ids = [self.token_ids.setdefault(part, len(self.token_ids)) for part in term.split(" ")]
            if len(ids) == 1:
                unigrams[ids[0]] = column
            else:
                bigram_keys.append((ids[0] << 32) + ids[1])
                bigram_columns.append(column)
        # Column of each token's unigram feature, -1 where the token only occurs inside bigrams; last: unknown.
        self.unigram_column = np.full(len(self.token_ids) + 1, -1, dtype=np.intp)
        for token_id, column in unigrams.items():
            self.unigram_column[token_id] = column
        self.bigrams = _Lookup(np.array(bigram_keys, dtype=np.uint64), np.array(bigram_columns, dtype=np.intp))
        self.unknown = len(self.token_ids)
        self.use_unigrams, self.use_bigrams = vectorizer.ngram_range[0] == 1, vectorizer.ngram_range[1] == 2

    def occurrences(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        lookup, unknown, findall = self.token_ids.get, self.unknown, self.pattern.findall
        ids: list[int] = []
        lengths = []
        for text in texts:
            tokens = findall(text.lower())
            ids.extend([lookup(token, unknown) for token in tokens])
            lengths.append(len(tokens))
        text_of = np.repeat(np.arange(len(texts)), lengths)
        token_ids = np.array(ids, dtype=np.int64)
        rows, columns = [_no_positions()], [_no_positions()]
        if self.use_unigrams:
            found = self.unigram_column[token_ids]
            known = found >= 0
            rows.append(text_of[known])
            columns.append(found[known])
        if self.use_bigrams and len(token_ids) > 1:
            # A bigram is two consecutive tokens of one text, both known (an unknown token can't be in one).
            pairs = np.flatnonzero(
                (text_of[1:] == text_of[:-1]) & (token_ids[1:] != unknown) & (token_ids[:-1] != unknown)
            )
            hit, found = self.bigrams.find((token_ids[pairs] << 32) + token_ids[pairs + 1])
            rows.append(text_of[pairs[hit]])
            columns.append(found)
        return np.concatenate(rows), np.concatenate(columns)


class _CharBlock(_Block):
    """`char_wb` n-grams: each whitespace-separated word padded with a space on both sides, n-grams inside it."""

    def __init__(self, vectorizer: TfidfVectorizer, weights: np.ndarray, idf: np.ndarray) -> None:
        super().__init__(vectorizer, weights, idf)
        self.min_n, self.max_n = vectorizer.ngram_range
        keys, columns = [], []
        by_length: dict[int, tuple[list[str], list[int]]] = {}
        for term, column in vectorizer.vocabulary_.items():
            terms, term_columns = by_length.setdefault(len(term), ([], []))
            terms.append(term)
            term_columns.append(column)
        for length, (terms, term_columns) in by_length.items():
            keys.append(_salted(_hash_equal_length(terms, length), length))
            columns.append(np.array(term_columns, dtype=np.intp))
        self.lookup = _Lookup(np.concatenate(keys), np.concatenate(columns))

    def occurrences(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        words_per_text = [text.lower().split() for text in texts]
        text_of = np.repeat(np.arange(len(texts)), [len(words) for words in words_per_text])
        word_of, columns = self.grams([word for words in words_per_text for word in words])
        return text_of[word_of], columns

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        # char_wb n-grams depend on the word alone: count them once per distinct word of the batch, then add
        # up each text's words with one sparse product (texts x words) @ (words x n-grams).
        index: dict[str, int] = {}
        words_per_text = [text.lower().split() for text in texts]
        word_ids = np.array([index.setdefault(word, len(index)) for words in words_per_text for word in words])
        text_of = np.repeat(np.arange(len(texts)), [len(words) for words in words_per_text])
        words_in_texts = _count_matrix(text_of, word_ids.astype(np.intp), (len(texts), len(index)))
        return words_in_texts @ _count_matrix(*self.grams(list(index)), (len(index), len(self.idf)))

    def grams(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(word index, feature column) of every known n-gram of the words, found by rolling hashes."""
        if not words:
            return _no_positions(), _no_positions()
        padded_lengths = np.fromiter((len(word) + 2 for word in words), dtype=np.int64, count=len(words))
        codes = _code_points("".join(f" {word} " for word in words))
        word_start = np.concatenate(([0], np.cumsum(padded_lengths)[:-1]))
        position_word = np.repeat(np.arange(len(words)), padded_lengths)
        room = (word_start + padded_lengths)[position_word] - np.arange(len(codes))  # characters left in the word
        positions, keys = [], []
        hashes = np.zeros(len(codes), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for n in range(1, self.max_n + 1):
                # hashes[i] becomes the hash of codes[i : i + n] (valid where the n-gram fits in the word).
                shifted = np.zeros(len(codes), dtype=np.uint64)
                shifted[: max(len(codes) - n + 1, 0)] = codes[n - 1 :]
                hashes = hashes * _HASH_BASE + shifted
                # A padded word shorter than min_n is one n-gram of its own length (scikit-learn's rule).
                starts = word_start[padded_lengths == n] if n < self.min_n else np.flatnonzero(room >= n)
                positions.append(starts)
                keys.append(_salted(hashes[starts], n))
        hit, columns = self.lookup.find(np.concatenate(keys))
        return position_word[np.concatenate(positions)[hit]], columns


@dataclass
class LinearScorer:
    """All heads' class probabilities for a batch of texts, from one pass over the text."""

    blocks: list[_Block]
    intercepts: np.ndarray
    head_slices: dict[str, slice]
    classes: dict[str, list[str]]

    def probabilities(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        # Chunks bound the memory of the n-gram arrays (hundreds of n-grams per sentence).
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


def _check_vectorizer(name: str, vectorizer: Any) -> None:
    if not isinstance(vectorizer, TfidfVectorizer):
        raise UnsupportedModel(f"{name}: only TfidfVectorizer is supported, not {type(vectorizer).__name__}")
    settings = vectorizer.get_params()
    expected = {
        "lowercase": True,
        "norm": "l2",
        "preprocessor": None,
        "tokenizer": None,
        "stop_words": None,
        "strip_accents": None,
        "binary": False,
        "use_idf": True,
    }
    wrong = {key: settings[key] for key, value in expected.items() if settings[key] != value}
    if vectorizer.analyzer == "word" and (settings["token_pattern"] != _WORD_PATTERN or settings["ngram_range"][1] > 2):
        wrong["token_pattern/ngram_range"] = (settings["token_pattern"], settings["ngram_range"])
    if vectorizer.analyzer not in ("word", "char_wb"):
        wrong["analyzer"] = vectorizer.analyzer
    if wrong:
        raise UnsupportedModel(f"{name}: unsupported settings {wrong}")


def compile_scorer(vectorizer: Any, heads: dict[str, Any]) -> LinearScorer:
    """Fold a fitted FeatureUnion of TF-IDF vectorizers and per-head logistic regressions into a scorer."""
    parts = vectorizer.transformer_list if isinstance(vectorizer, FeatureUnion) else [("tfidf", vectorizer)]
    coefficients = np.vstack([classifier.coef_ for classifier in heads.values()])  # (all classes, all features)
    intercepts = np.concatenate([classifier.intercept_ for classifier in heads.values()])
    head_slices, start = {}, 0
    for head, classifier in heads.items():
        head_slices[head] = slice(start, start + classifier.coef_.shape[0])
        start += classifier.coef_.shape[0]
    blocks: list[_Block] = []
    offset = 0
    for name, part in parts:
        _check_vectorizer(name, part)
        width = len(part.vocabulary_)
        idf = part.idf_.astype(np.float64)
        weights = np.ascontiguousarray(coefficients[:, offset : offset + width].T, dtype=np.float64)
        block_type = _WordBlock if part.analyzer == "word" else _CharBlock
        blocks.append(block_type(part, weights, idf))
        offset += width
    if offset != coefficients.shape[1]:
        raise UnsupportedModel(
            f"the vectorizers give {offset} features but the classifiers expect {coefficients.shape[1]}"
        )
    return LinearScorer(
        blocks, intercepts, head_slices, {h: [str(c) for c in clf.classes_] for h, clf in heads.items()}
    )
