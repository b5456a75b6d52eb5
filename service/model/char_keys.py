"""Character n-gram lookup for many words at once, in NumPy: each n-gram as an exact integer key.

Every character of the vocabulary gets a code 1..K; an n-gram's key is its codes written in base 2^bits
(bits = K's bit length), so distinct n-grams of up to `max_n` characters get distinct keys as long as
max_n * bits <= 63 (`fits`); a character outside the vocabulary's gets code 0, and no window holding one is looked
up (no known n-gram contains it). Keys of all windows of all words come from the words' code points at once, and
a hash table of the vocabulary's keys (`service.model.key_table`) finds their columns: the same columns as a
dictionary lookup of each n-gram string, without a Python step per n-gram.
"""

from __future__ import annotations

import numpy as np

from service.model.key_table import KeyTable

_CODE_POINTS = 0x110000
_KEY_BITS = 63


class CharKeys:
    """The vocabulary of a `char_wb` block (terms in column order) as sorted integer keys."""

    def __init__(self, terms: list[str], ngram_range: tuple[int, int]) -> None:
        self.ngram_range = ngram_range
        alphabet = sorted(set("".join(terms)))
        self.bits = max(len(alphabet).bit_length(), 1)
        # A padded word has at least 3 characters: with n-grams from 3 up, every word yields windows of the shortest.
        self.fits = ngram_range[0] <= 3 and ngram_range[1] * self.bits <= _KEY_BITS
        if not self.fits:
            return
        self.codes = np.zeros(_CODE_POINTS, dtype=np.int32)
        self.codes[[ord(character) for character in alphabet]] = np.arange(1, len(alphabet) + 1)
        lengths = np.fromiter(map(len, terms), dtype=np.intp, count=len(terms))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp)
        codes = self._codes("".join(terms))
        keys = np.zeros(len(terms), dtype=np.int64)
        for position in range(int(lengths.max(initial=0))):
            longer = lengths > position
            keys[longer] = (keys[longer] << self.bits) | codes[starts[longer] + position]
        self.keys = keys  # per term, in column order
        self._columns = KeyTable(keys, np.arange(len(terms)))

    def _codes(self, text: str) -> np.ndarray:
        code_points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return self.codes[code_points].astype(np.int64)

    def columns_of(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The columns of the known n-grams of each word padded with a space on each side, repeats included,
        word after word, and how many each word has: every window of n characters for each n of the range, as
        scikit-learn's `char_wb` (a padded word of exactly n characters is its one n-gram, and it has no longer
        ones)."""
        if not words:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        padded_lengths = np.fromiter(map(len, words), dtype=np.intp, count=len(words)) + 2
        codes = self._codes(" " + "  ".join(words) + " ")
        word_of = np.repeat(np.arange(len(words)), padded_lengths)
        found_words, found_columns = [], []
        keys, inside = np.zeros(len(codes), dtype=np.int64), np.ones(len(codes), dtype=bool)
        for n in range(1, self.ngram_range[1] + 1):
            # Windows of n characters, by first position: extend those of n - 1 by the next character.
            windows = len(codes) - n + 1
            if windows <= 0:
                break
            last = codes[n - 1 :]
            keys = (keys[:windows] << self.bits) | last
            inside = inside[:windows] & (last > 0) & (word_of[:windows] == word_of[n - 1 :])
            if n < self.ngram_range[0]:
                continue
            starts = np.flatnonzero(inside)
            columns = self._columns.find(keys[starts])
            known = columns >= 0
            found_words.append(word_of[starts[known]])
            found_columns.append(columns[known])
        words_found = np.concatenate(found_words)
        order = np.argsort(words_found, kind="stable")
        return np.concatenate(found_columns)[order], np.bincount(words_found, minlength=len(words))
