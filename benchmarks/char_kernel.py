"""A numba kernel for the `char_wb` lookup, measured by `make bench-kernel` against the runtime's NumPy one
(`service.model.char_keys.CharKeys.columns_of`); not part of the runtime.

The n-grams are the same exact integer keys as `CharKeys` makes (its character codes, written in base 2^bits), so
the columns found, and so the probabilities, are the same. The vocabulary's keys go into an open-addressing hash
table (linear probing, multiplicative hashing) once, when the lookup is built; the kernel then walks each padded
word's windows, n by n, and looks each key up in the table: no per-n-gram Python step, no sorting, no dictionary.
Compiled on first call; `cache=True` keeps the machine code on disk for the next process.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from service.model.char_keys import CharKeys

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
    padded_lengths: np.ndarray,
    bits: int,
    min_n: int,
    max_n: int,
    table_keys: np.ndarray,
    table_columns: np.ndarray,
    shift: np.uint64,
) -> tuple[np.ndarray, np.ndarray]:
    """(columns of every known n-gram of all the padded words, word after word; how many each word has). Padded
    word i is `codes[starts[i]:starts[i] + padded_lengths[i]]`; for each n, its windows in order."""
    windows = len(codes) * (max_n - min_n + 1)  # at most one column per window
    found = np.empty(windows, dtype=np.intp)
    lengths = np.zeros(len(starts), dtype=np.intp)
    count = 0
    for word in range(len(starts)):
        start, length = starts[word], padded_lengths[word]
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
                        lengths[word] += 1
    return found[:count], lengths


class HashedCharKeys:
    """`CharKeys.columns_of` by the numba kernel: the vocabulary's keys (`keys.fits`) in a hash table built once
    here."""

    def __init__(self, keys: CharKeys) -> None:
        self.keys = keys
        size = 1 << max(int(2 * len(keys.keys)).bit_length(), 1)  # at most half full: short probe runs
        self.shift = np.uint64(64 - (size.bit_length() - 1))
        columns = np.arange(len(keys.keys))
        self.table_keys, self.table_columns = _fill_table(keys.keys, columns, size, self.shift)

    def columns_of(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """What `CharKeys.columns_of` gives: the columns of each word's known n-grams, word after word, in the same
        order, and how many each word has."""
        padded_lengths = np.fromiter(map(len, words), dtype=np.intp, count=len(words)) + 2
        starts = np.cumsum(padded_lengths) - padded_lengths
        codes = self.keys._codes(" " + "  ".join(words) + " ")  # the padded words side by side, as CharKeys does
        low, high = self.keys.ngram_range
        return _columns_of_words(
            codes, starts, padded_lengths, self.keys.bits, low, high, self.table_keys, self.table_columns, self.shift
        )
