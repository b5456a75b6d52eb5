"""The TF-IDF blocks of a compiled model: the known n-grams of words, as scikit-learn's TfidfVectorizer finds them.

Both analyzers work word by word, on the whitespace-separated words of the lowercased text: `char_wb` pads each
word with spaces and never looks past it; `word`'s default token patterns match word characters only, so no token
spans two words, and a bigram across two words is found from the last token of one and the first of the next
(`WordBlock.across`). So what a word contributes can be found once per distinct word and kept
(`service.model.words`); `LinearScorer` counts and weights a batch's n-grams from its words' rows. The character
n-grams of many words are looked up at once, as integer keys in NumPy (`service.model.char_keys`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any

import numpy as np

from service.model.char_keys import CharKeys
from service.model.key_table import KeyTable
from service.model.words import Analysis

ANALYZERS = ("word", "char_wb")
# Token patterns that match word characters only (scikit-learn's default and its one-letter variant).
WORD_PATTERNS = (r"(?u)\b\w\w+\b", r"(?u)\b\w+\b")
SMALL_BATCH = 32  # up to this many texts, NumPy alone (`LinearScorer`) is at least as fast as SciPy's products
_NO_COLUMNS = np.empty(0, dtype=np.intp)
_NO_TOKEN = -2  # first/last token id of a word without tokens; -1 is a token that is in no known bigram


class UnsupportedModel(ValueError):
    """A model that can't be compiled or loaded: unsupported settings, or arrays that don't fit together."""


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

    def __post_init__(self) -> None:
        if not (len(self.terms) == len(self.idf) == len(self.weights)):
            raise UnsupportedModel(
                f"{len(self.terms)} terms, {len(self.idf)} idf values and {len(self.weights)} weight rows"
            )
        self.vocabulary = dict(zip(self.terms.tolist(), range(len(self.terms)), strict=True))
        if len(self.vocabulary) != len(self.terms):
            raise UnsupportedModel("the vocabulary lists an n-gram twice")

    def weigh(self, tf: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Counts of the n-grams `columns` weighted as the fitted TfidfTransformer does before its norm: 1 + log tf
        if sublinear, times idf. In place: the caller's counts become the weights."""
        tf = tf.astype(np.float64, copy=False)
        if self.sublinear_tf:
            repeated = tf > 1  # most n-grams occur once in a text, and 1 + log 1 is 1: take the log of the others
            tf[repeated] = np.log(tf[repeated]) + 1
        tf *= self.idf[columns]
        return tf

    def analyse(self, words: list[str]) -> Analysis:  # pragma: no cover - abstract
        """What each of the lowercased words contributes: `columns`, the columns of the known n-grams inside it
        (repeats included), and for a block with bigrams `edges`, the ids of its first and last token."""
        raise NotImplementedError


class CharBlock(Block):
    """`char_wb` n-grams: each word padded with a space on both sides, n-grams inside it; the words looked up all
    at once (`service.model.char_keys`) when the vocabulary's characters fit its integer keys."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._keys = CharKeys(self.terms.tolist(), self.ngram_range)

    def analyse(self, words: list[str]) -> Analysis:
        if self._keys.fits:
            return {"columns": self._keys.columns_of(words)}
        found = [self._find(word) for word in words]
        lengths = np.fromiter(map(len, found), dtype=np.intp, count=len(found))
        return {"columns": (np.concatenate([_NO_COLUMNS, *found]), lengths)}

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
        # Bigrams are looked up by the ids of their two tokens (ids of the tokens that occur in bigrams, numbered in
        # order of first appearance).
        terms = self.terms.tolist()
        bigram_columns = [column for column, term in enumerate(terms) if " " in term]
        parts = list(chain.from_iterable(terms[column].split(" ") for column in bigram_columns))
        self.token_ids = {token: number for number, token in enumerate(dict.fromkeys(parts))}
        ids = np.fromiter(map(self.token_ids.__getitem__, parts), dtype=np.int64, count=len(parts)).reshape(-1, 2)
        self._bigram_columns = KeyTable((ids[:, 0] << 32) + ids[:, 1], np.array(bigram_columns, dtype=np.intp))
        self._bigram_count = len(bigram_columns)

    @property
    def has_bigrams(self) -> bool:
        return self.ngram_range[1] >= 2 and self._bigram_count > 0

    def _bigrams(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(which pairs of token ids, left then right, form a known bigram; the columns of those that do)."""
        if not self.has_bigrams or not len(left):
            return np.zeros(len(left), dtype=bool), _NO_COLUMNS
        columns = self._bigram_columns.find((left.astype(np.int64) << 32) + right)
        known = (left >= 0) & (right >= 0) & (columns >= 0)
        return known, columns[known]

    def analyse(self, words: list[str]) -> Analysis:
        """Per word: the columns of the n-grams inside it, and the ids of its first and last token."""
        tokens = list(map(self._tokens, words))
        counts = np.fromiter(map(len, tokens), dtype=np.intp, count=len(words))
        flat = list(chain.from_iterable(tokens))
        word_of = np.repeat(np.arange(len(words)), counts)
        ids = np.fromiter(map(self.token_ids.get, flat, repeat(-1)), dtype=np.intp, count=len(flat))
        same_word = word_of[1:] == word_of[:-1]
        known, bigrams = self._bigrams(ids[:-1][same_word], ids[1:][same_word])
        found_words, found_columns = [word_of[:-1][same_word][known]], [bigrams]
        if self.ngram_range[0] == 1:
            unigrams = np.fromiter(map(self.vocabulary.get, flat, repeat(-1)), dtype=np.intp, count=len(flat))
            found_words.append(word_of[unigrams >= 0])
            found_columns.append(unigrams[unigrams >= 0])
        owner = np.concatenate(found_words)
        order = np.argsort(owner, kind="stable")
        analysis = {"columns": (np.concatenate(found_columns)[order], np.bincount(owner, minlength=len(words)))}
        if self.has_bigrams:
            starts = np.cumsum(counts) - counts
            edges = np.full((len(words), 2), _NO_TOKEN, dtype=np.intp)
            has_tokens = counts > 0
            edges[has_tokens, 0] = ids[starts[has_tokens]]
            edges[has_tokens, 1] = ids[(starts + counts - 1)[has_tokens]]
            analysis["edges"] = (edges.ravel(), np.full(len(words), 2, dtype=np.intp))
        return analysis

    def across(self, edges: np.ndarray, text_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(text, column) of each bigram of the last token of a word and the first of the next word of its text
        that has tokens. `edges` holds the (first, last) token ids of the words in order, `text_of` their text."""
        kept = edges[:, 0] != _NO_TOKEN
        edges, text_of = edges[kept], text_of[kept]
        same_text = text_of[1:] == text_of[:-1]
        known, columns = self._bigrams(edges[:-1, 1][same_text], edges[1:, 0][same_text])
        return text_of[1:][same_text][known], columns


def make_block(**settings: Any) -> Block:
    """The block of the settings' analyzer."""
    analyzer = settings.get("analyzer")
    if analyzer not in ANALYZERS:
        raise UnsupportedModel(f"analyzer {analyzer!r} is not one of {ANALYZERS}")
    block: Block = (WordBlock if analyzer == "word" else CharBlock)(**settings)
    return block
