"""The TF-IDF blocks of a compiled model: find a text's known n-grams, count and weight them as scikit-learn's
TfidfVectorizer does (optional 1 + log tf, idf, l2 norm), and multiply by every head's weights at once.

Both analyzers work from the whitespace-separated words of the lowercased text, found once per batch for all
blocks (`TextWords`). What a word contributes is cached per word, as the words of news repeat: its character
n-grams (`char_wb`, which pads each word with spaces and never looks past it), or its tokens and the word n-grams
inside it (`word`: the default token patterns match word characters only, so no token spans two words; a bigram
across two words is looked up from the last token of one and the first of the next). A batch is counted with
sparse products, (texts x words) @ (words x n-grams); a few texts densely, text by text (`LinearScorer`). The new
words of a batch get their character n-grams all at once, as integer keys in NumPy (`service.model.char_keys`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain, count, pairwise
from typing import Any

import numpy as np
import scipy.sparse as sp

from service.model.char_keys import CharKeys

ANALYZERS = ("word", "char_wb")
# Token patterns that match word characters only (scikit-learn's default and its one-letter variant).
WORD_PATTERNS = (r"(?u)\b\w\w+\b", r"(?u)\b\w+\b")
SMALL_BATCH = 16  # up to this many texts, dense NumPy per text (`LinearScorer`) beats SciPy's per-call overhead
_CACHED_WORDS = 50_000  # distinct words whose n-grams a block keeps (a few MB); the cache restarts when full
_NO_COLUMNS = np.empty(0, dtype=np.intp)
_NO_TOKEN = -2  # first/last token id of a word without tokens; -1 is a token that is in no known bigram


class UnsupportedModel(ValueError):
    """A model that can't be compiled or loaded: unsupported settings, or arrays that don't fit together."""


def _matrix(rows: Sequence[np.ndarray], width: int) -> sp.csr_matrix:
    """A CSR matrix with a 1 in row i for each entry of `rows[i]`; repeated entries are left unsummed."""
    indptr = np.zeros(len(rows) + 1, dtype=np.intp)
    np.cumsum([len(row) for row in rows], out=indptr[1:])
    indices = np.concatenate([_NO_COLUMNS, *rows])
    return sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), width))


class TextWords:
    """The whitespace-separated words of a batch of texts, lowercased (unless asked not to); for the sparse
    products, each distinct word once and every text as its sequence of word numbers."""

    def __init__(self, texts: Sequence[str], lowercase: bool = True) -> None:
        self.per_text = [text.lower().split() for text in texts] if lowercase else [text.split() for text in texts]
        self.lengths = [len(words) for words in self.per_text]

    @cached_property
    def _numbered(self) -> tuple[list[str], np.ndarray]:
        # Each word is first numbered by its first position (setdefault over all positions, in C), then renumbered
        # 0, 1, 2, ... in order of first appearance.
        total = sum(self.lengths)
        first_position: dict[str, int] = {}
        positions = map(first_position.setdefault, chain.from_iterable(self.per_text), count())
        sequence = np.fromiter(positions, dtype=np.intp, count=total)
        firsts = np.fromiter(first_position.values(), dtype=np.intp, count=len(first_position))
        renumbered = np.empty(total, dtype=np.intp)
        renumbered[firsts] = np.arange(len(firsts))
        return list(first_position), renumbered[sequence]

    @property
    def distinct(self) -> list[str]:
        return self._numbered[0]

    @property
    def sequence(self) -> np.ndarray:
        """Word numbers of all texts, text after text."""
        return self._numbered[1]

    def occurrences(self) -> sp.csr_matrix:
        """(texts x distinct words): how often each word occurs in each text."""
        indptr = np.zeros(len(self.lengths) + 1, dtype=np.intp)
        np.cumsum(self.lengths, out=indptr[1:])
        shape = (len(self.lengths), len(self.distinct))
        return sp.csr_matrix((np.ones(len(self.sequence)), self.sequence, indptr), shape=shape)

    def text_of(self) -> np.ndarray:
        """The text of each entry of `sequence`."""
        return np.repeat(np.arange(len(self.lengths)), self.lengths)


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
    _cache: dict[str, Any] = field(init=False, repr=False, default_factory=dict)  # what each word contributes

    def __post_init__(self) -> None:
        if not (len(self.terms) == len(self.idf) == len(self.weights)):
            raise UnsupportedModel(
                f"{len(self.terms)} terms, {len(self.idf)} idf values and {len(self.weights)} weight rows"
            )
        self.vocabulary = dict(zip(self.terms.tolist(), range(len(self.terms)), strict=True))
        if len(self.vocabulary) != len(self.terms):
            raise UnsupportedModel("the vocabulary lists an n-gram twice")

    def entries(self, words: list[str]) -> list[Any]:
        """What each of the words contributes: from the cache, or found now, the new words all at once
        (`_find_all`), and cached while there is room (the cache restarts when full)."""
        cached = list(map(self._cache.get, words))
        new = [word for word, entry in zip(words, cached, strict=True) if entry is None]
        if not new:
            return cached
        found = self._find_all(new)
        if len(self._cache) + len(new) > _CACHED_WORDS:
            self._cache.clear()
        self._cache.update(zip(new[: _CACHED_WORDS - len(self._cache)], found, strict=False))
        fresh = iter(found)
        return [entry if entry is not None else next(fresh) for entry in cached]

    def _find_all(self, words: list[str]) -> list[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def text_columns(self, words: list[str]) -> np.ndarray:
        """Columns of every known n-gram of one text (given as its words), repeats included."""
        return np.concatenate([_NO_COLUMNS, *self.entries(words)])

    def counts(self, words: TextWords) -> sp.csr_matrix:
        """How often each known n-gram occurs in each text (each column once per row, columns unsorted)."""
        return words.occurrences() @ _matrix(self.entries(words.distinct), len(self.idf))

    def tfidf(self, words: TextWords) -> sp.csr_matrix:
        """Normalized tf-idf rows, one per text, columns sorted: what the fitted vectorizer's transform gives."""
        matrix = self.counts(words)
        matrix.sum_duplicates()
        matrix.data = self._weighted(matrix.data, matrix.indices, np.diff(matrix.indptr))
        return matrix

    def scores(self, words: TextWords) -> np.ndarray:
        """Every class's share of the decision from this block, one row per text."""
        matrix = self.counts(words)  # a product's rows hold each column once: no duplicates to sum
        matrix.data = self._weighted(matrix.data, matrix.indices, np.diff(matrix.indptr))
        return np.asarray(matrix @ self.weights)

    def _weighted(self, counts: np.ndarray, features: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """TfidfTransformer on rows of `lengths` entries each: optional 1 + log(tf), times idf, l2-normalized."""
        tf = counts.astype(np.float64)
        if self.sublinear_tf:
            tf = np.log(tf) + 1
        tf *= self.idf[features]
        filled = lengths > 0  # a text with no known n-gram keeps a zero row, as scikit-learn's normalize does
        if filled.any():
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[filled]
            tf /= np.repeat(np.sqrt(np.add.reduceat(tf**2, starts)), lengths[filled])
        return tf


class CharBlock(Block):
    """`char_wb` n-grams: each word padded with a space on both sides, n-grams inside it; the new words of a batch
    looked up all at once (`service.model.char_keys`) when the vocabulary's characters fit its integer keys."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._keys = CharKeys(self.terms.tolist(), self.ngram_range)

    def _find_all(self, words: list[str]) -> list[np.ndarray]:
        return self._keys.columns_of(words) if self._keys.fits else list(map(self._find, words))

    def _find(self, word: str) -> np.ndarray:
        padded = f" {word} "
        grams: list[str] = []
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            if n >= len(padded):  # the whole padded word is one n-gram, counted once, and no longer ones follow
                grams.append(padded)
                break
            grams += [padded[i : i + n] for i in range(len(padded) - n + 1)]
        return np.array([column for column in map(self.vocabulary.get, grams) if column is not None], dtype=np.intp)


class WordBlock(Block):
    """Word unigrams and bigrams of a token pattern that matches word characters only."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.token_pattern not in WORD_PATTERNS or not 1 <= self.ngram_range[0] <= self.ngram_range[1] <= 2:
            raise UnsupportedModel(
                f"word n-grams {self.ngram_range} of token pattern {self.token_pattern!r}: only 1 to 2 words of "
                f"one of the patterns {WORD_PATTERNS}"
            )
        self._tokens = re.compile(self.token_pattern).findall
        # Bigrams are looked up by the ids of their two tokens (ids of the tokens that occur in bigrams).
        self.token_ids: dict[str, int] = {}
        bigram_keys, bigram_columns = [], []
        for column, term in enumerate(self.terms.tolist()):
            if " " in term:
                left, right = (self.token_ids.setdefault(part, len(self.token_ids)) for part in term.split(" "))
                bigram_keys.append((left << 32) + right)
                bigram_columns.append(column)
        # The same bigrams twice: a dict for the few lookups of one text or word, sorted keys for a batch's many.
        self.bigram_column = dict(zip(bigram_keys, bigram_columns, strict=True))
        order = np.argsort(bigram_keys)
        self.bigram_keys = np.array(bigram_keys, dtype=np.int64)[order]
        self.bigram_columns = np.array(bigram_columns, dtype=np.intp)[order]

    def _bigrams(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(which pairs of token ids, left then right, form a known bigram; the columns of those that do)."""
        if self.ngram_range[1] < 2 or not len(self.bigram_keys) or not len(left):
            return np.zeros(len(left), dtype=bool), _NO_COLUMNS
        keys = (left.astype(np.int64) << 32) + right
        positions = np.minimum(np.searchsorted(self.bigram_keys, keys), len(self.bigram_keys) - 1)
        known = (left >= 0) & (right >= 0) & (self.bigram_keys[positions] == keys)
        return known, self.bigram_columns[positions[known]]

    def _known_bigrams(self, pairs: Iterable[tuple[int, int]]) -> list[int]:
        """Columns of the known bigrams among pairs of token ids (left, right)."""
        if self.ngram_range[1] < 2:
            return []
        keys = ((left << 32) + right for left, right in pairs if left >= 0 and right >= 0)
        return [column for column in map(self.bigram_column.get, keys) if column is not None]

    def _find_all(self, words: list[str]) -> list[tuple[np.ndarray, int, int]]:
        """Per word: (columns of the n-grams inside it, id of its first token, of its last), all words at once."""
        tokens = list(map(self._tokens, words))
        counts = np.fromiter(map(len, tokens), dtype=np.intp, count=len(words))
        flat = list(chain.from_iterable(tokens))
        word_of = np.repeat(np.arange(len(words)), counts)
        ids = np.fromiter((self.token_ids.get(token, -1) for token in flat), dtype=np.intp, count=len(flat))
        same_word = word_of[1:] == word_of[:-1]
        known, bigrams = self._bigrams(ids[:-1][same_word], ids[1:][same_word])
        found_words, found_columns = [word_of[:-1][same_word][known]], [bigrams]
        if self.ngram_range[0] == 1:
            unigrams = np.fromiter((self.vocabulary.get(token, -1) for token in flat), dtype=np.intp, count=len(flat))
            found_words.append(word_of[unigrams >= 0])
            found_columns.append(unigrams[unigrams >= 0])
        owner = np.concatenate(found_words)
        order = np.argsort(owner, kind="stable")
        columns = np.concatenate(found_columns)[order]
        bounds = np.searchsorted(owner[order], np.arange(len(words) + 1)).tolist()
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
        has_tokens = counts > 0
        firsts = np.where(has_tokens, ids[np.minimum(starts, len(ids) - 1)] if len(ids) else 0, _NO_TOKEN).tolist()
        lasts = np.where(has_tokens, ids[np.maximum(starts + counts - 1, 0)] if len(ids) else 0, _NO_TOKEN).tolist()
        return [
            (columns[start:stop], first, last)
            for start, stop, first, last in zip(bounds[:-1], bounds[1:], firsts, lasts, strict=True)
        ]

    def _across(self, edges: np.ndarray, text_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(text, column) of each bigram of the last token of a word and the first of the next word of its text
        that has tokens. `edges` holds the (first, last) token ids of the words in order, `text_of` their text."""
        kept = edges[:, 0] != _NO_TOKEN
        edges, text_of = edges[kept], text_of[kept]
        same_text = text_of[1:] == text_of[:-1]
        known, columns = self._bigrams(edges[:-1, 1][same_text], edges[1:, 0][same_text])
        return text_of[1:][same_text][known], columns

    def counts(self, words: TextWords) -> sp.csr_matrix:
        entries = self.entries(words.distinct)
        inside = words.occurrences() @ _matrix([columns for columns, _, _ in entries], len(self.idf))
        edges = np.array([entry[1:] for entry in entries], dtype=np.intp).reshape(-1, 2)
        rows, columns = self._across(edges[words.sequence], words.text_of())
        return inside + sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=inside.shape)

    def text_columns(self, words: list[str]) -> np.ndarray:
        entries = self.entries(words)
        edges = [(first, last) for _, first, last in entries if first != _NO_TOKEN]
        across = self._known_bigrams((last, first) for (_, last), (first, _) in pairwise(edges))
        return np.concatenate([_NO_COLUMNS, *(columns for columns, _, _ in entries), np.array(across, dtype=np.intp)])


def make_block(**settings: Any) -> Block:
    """The block of the settings' analyzer."""
    analyzer = settings.get("analyzer")
    if analyzer not in ANALYZERS:
        raise UnsupportedModel(f"analyzer {analyzer!r} is not one of {ANALYZERS}")
    block: Block = (WordBlock if analyzer == "word" else CharBlock)(**settings)
    return block
