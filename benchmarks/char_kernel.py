"""numba kernels for the `char_wb` block, measured by `make bench-kernel` against the runtime's NumPy code; not part
of the runtime. One looks up the n-grams of many words at once (against `service.model.char_keys.CharKeys.columns_of`);
the other scores texts from their words' columns (against `CharBlock.scores`'s sparse products).

The n-grams are the same exact integer keys as `CharKeys` makes (its character codes, written in base 2^bits), so
the columns found, and so the probabilities, are the same. The vocabulary's keys go into an open-addressing hash
table (linear probing, multiplicative hashing) once, when the lookup is built; the kernel then walks each padded
word's windows, n by n, and looks each key up in the table: no per-n-gram Python step, no sorting, no dictionary.
The scoring kernel does per text what `Block.scores` does per batch: count each column, weight the counts (optional
1 + log tf, idf, l2 norm), multiply by the weights; the sums run in another order, so the scores agree to rounding.
Compiled on first call; `cache=True` keeps the machine code on disk for the next process.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from numba import njit

from service.model.char_keys import CharKeys
from service.model.ngrams import CharBlock, TextWords

_EMPTY = -1  # a free slot of the table; a known n-gram's key is positive (its characters' codes are 1 and up)
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: multiplying spreads keys over the top bits


@njit(cache=True)
def _slot(key: int, shift: np.uint64) -> np.int64:
    # uint64 inside, an int64 out: numba turns a mix of int64 and uint64 into float64.
    return np.int64((np.uint64(key) * _FIBONACCI) >> shift)


@njit(cache=True)
def _fill_table(keys: np.ndarray, columns: np.ndarray, size: int, shift: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """The table of `size` slots (a power of two): each key in its hashed slot or the next free one after it."""
    table_keys = np.full(size, _EMPTY, dtype=np.int64)
    table_columns = np.empty(size, dtype=np.intp)
    for index in range(len(keys)):
        key = keys[index]
        slot = _slot(key, shift)
        while table_keys[slot] != _EMPTY:
            slot = (slot + 1) & (size - 1)
        table_keys[slot] = key
        table_columns[slot] = columns[index]
    return table_keys, table_columns


@njit(cache=True)
def _find(key: int, table_keys: np.ndarray, table_columns: np.ndarray, shift: np.uint64) -> int:
    """The column of `key`, or -1 when the vocabulary doesn't have it."""
    slot = _slot(key, shift)
    while table_keys[slot] != _EMPTY:
        if table_keys[slot] == key:
            return int(table_columns[slot])
        slot = (slot + 1) & (len(table_keys) - 1)
    return -1


@njit(cache=True)
def _columns_of_words(
    codes: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    bits: int,
    min_n: int,
    max_n: int,
    table_keys: np.ndarray,
    table_columns: np.ndarray,
    shift: np.uint64,
) -> tuple[np.ndarray, np.ndarray]:
    """(columns of every known n-gram of all the padded words, word after word; where each word's columns start,
    and the end). Padded word i is `codes[starts[i]:starts[i] + lengths[i]]`; for each n, its windows in order."""
    windows = len(codes) * (max_n - min_n + 1)  # at most one column per window
    found = np.empty(windows, dtype=np.intp)
    bounds = np.empty(len(starts) + 1, dtype=np.intp)
    count = 0
    for word in range(len(starts)):
        bounds[word] = count
        start, length = starts[word], lengths[word]
        # A padded word of n characters is its one n-gram and has no longer ones (scikit-learn's char_wb).
        for n in range(min_n, min(max_n, length) + 1):
            for first in range(start, start + length - n + 1):
                key = 0
                for position in range(first, first + n):
                    if codes[position] == 0:  # a character no known n-gram has
                        key = -1
                        break
                    key = (key << bits) | codes[position]
                if key > 0:
                    column = _find(key, table_keys, table_columns, shift)
                    if column >= 0:
                        found[count] = column
                        count += 1
    bounds[len(starts)] = count
    return found[:count], bounds


class HashedCharKeys:
    """`CharKeys.columns_of` by the numba kernel: the vocabulary's keys in a hash table built once here."""

    def __init__(self, keys: CharKeys) -> None:
        if not keys.fits:
            raise ValueError("the vocabulary's n-grams don't fit integer keys")
        self.keys = keys
        size = 1 << max(int(2 * len(keys.keys)).bit_length(), 1)  # at most half full: short probe runs
        self.shift = np.uint64(64 - (size.bit_length() - 1))
        self.table_keys, self.table_columns = _fill_table(keys.keys, keys.columns, size, self.shift)

    def columns_of(self, words: list[str]) -> list[np.ndarray]:
        """Per word, the columns `CharKeys.columns_of` gives, in the same order."""
        if not words:
            return []
        lengths = np.fromiter(map(len, words), dtype=np.intp, count=len(words)) + 2
        starts = np.cumsum(lengths) - lengths
        codes = self.keys._codes(" " + "  ".join(words) + " ")  # the padded words side by side, as CharKeys does
        low, high = self.keys.ngram_range
        columns, bounds = _columns_of_words(
            codes, starts, lengths, self.keys.bits, low, high, self.table_keys, self.table_columns, self.shift
        )
        return [columns[start:stop] for start, stop in pairwise(bounds.tolist())]


@njit(cache=True)
def _text_scores(
    sequence: np.ndarray,
    lengths: np.ndarray,
    word_bounds: np.ndarray,
    word_columns: np.ndarray,
    idf: np.ndarray,
    weights: np.ndarray,
    sublinear: bool,
) -> np.ndarray:
    """Every class's share of the decision from the block, one row per text. Text i is `lengths[i]` word numbers
    of `sequence`, in order; word w's columns are `word_columns[word_bounds[w]:word_bounds[w + 1]]`."""
    scores = np.zeros((len(lengths), weights.shape[1]))
    # Scratch space for one text at a time, over the vocabulary: counts put back to 0 after each text.
    counts = np.zeros(len(idf), dtype=np.intp)
    features = np.empty(len(idf), dtype=np.intp)  # the text's distinct columns, in order of first sight
    tf = np.empty(len(idf))
    end = 0
    for text in range(len(lengths)):
        distinct = 0
        for index in range(end, end + lengths[text]):
            word = sequence[index]
            for position in range(word_bounds[word], word_bounds[word + 1]):
                column = word_columns[position]
                if counts[column] == 0:
                    features[distinct] = column
                    distinct += 1
                counts[column] += 1
        end += lengths[text]
        squares = 0.0
        for feature in range(distinct):
            count = float(counts[features[feature]])
            tf[feature] = ((np.log(count) + 1) if sublinear else count) * idf[features[feature]]
            squares += tf[feature] * tf[feature]
            counts[features[feature]] = 0
        norm = np.sqrt(squares)  # a text with no known n-gram has no feature: its row stays 0, as the sparse path's
        for feature in range(distinct):
            share = tf[feature] / norm
            for head_class in range(weights.shape[1]):
                scores[text, head_class] += share * weights[features[feature], head_class]
    return scores


class CompiledCharBlock(CharBlock):
    """A char block on the kernels: new words looked up by `HashedCharKeys`, texts scored by `_text_scores`; its
    per-word cache as the runtime's."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._hashed = HashedCharKeys(self._keys)

    def _find_all(self, words: list[str]) -> list[np.ndarray]:
        return self._hashed.columns_of(words)

    def scores(self, words: TextWords) -> np.ndarray:
        entries = self.entries(words.distinct)
        bounds = np.zeros(len(entries) + 1, dtype=np.intp)
        np.cumsum([len(columns) for columns in entries], out=bounds[1:])
        columns = np.concatenate([np.empty(0, dtype=np.intp), *entries])
        lengths = np.asarray(words.lengths, dtype=np.intp)
        return _text_scores(words.sequence, lengths, bounds, columns, self.idf, self.weights, self.sublinear_tf)
