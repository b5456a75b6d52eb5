"""What each word contributes to a block, found once per distinct word and kept, in flat NumPy arrays.

The words of news repeat, so a block analyses each distinct word once (its n-gram columns, its tokens) and keeps
the result. Seen words cost one dictionary lookup per batch; the new words of a batch are analysed together, and
their rows appended to growable flat arrays, so a batch gathers its words' rows with a few NumPy operations
instead of a Python step per word. The table restarts when it holds `CAPACITY` words.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, compress, count, repeat

import numpy as np

CAPACITY = 100_000  # distinct words kept (the rows of 95,445 news words took 22 MB); the table restarts when full

# What a batch of new words contributes, by name: (values, per-word lengths), the rows of word 0, 1, 2, ... in turn.
Analysis = dict[str, tuple[np.ndarray, np.ndarray]]


class TextWords:
    """The whitespace-separated words of a batch of texts, as written: each distinct word once, and every text
    as its sequence of word numbers."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.per_text = [text.split() for text in texts]
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

    @cached_property
    def text_of(self) -> np.ndarray:
        """The text of each entry of `sequence`."""
        return np.repeat(np.arange(len(self.lengths)), self.lengths)


class _Growable:
    """A 1-D integer array appended to in bulk, its capacity doubled as needed."""

    def __init__(self) -> None:
        self._data = np.empty(1024, dtype=np.int32)  # half the memory of intp: columns and token ids fit
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        needed = self.size + len(values)
        if needed > len(self._data):
            grown = np.empty(max(needed, 2 * len(self._data)), dtype=np.int32)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : needed] = values
        self.size = needed

    def view(self) -> np.ndarray:
        # Appends write past `size` only (or into a new array), so a view taken now keeps its values.
        return self._data[: self.size]


class _Ragged:
    """Rows of integers of any length, one per word number."""

    def __init__(self) -> None:
        self._values, self._starts, self._lengths = _Growable(), _Growable(), _Growable()

    def append(self, values: np.ndarray, lengths: np.ndarray) -> None:
        self._starts.extend(self._values.size + np.cumsum(lengths) - lengths)
        self._values.extend(values)
        self._lengths.extend(lengths)

    def rows(self) -> Rows:
        return Rows(self._values.view(), self._starts.view(), self._lengths.view())


@dataclass(frozen=True)
class Rows:
    """A consistent view of one kind of row of every word of a table."""

    values: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    def gather(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the rows of the word `numbers`, one after the other; their lengths)."""
        lengths = self.lengths[numbers]
        ends = np.cumsum(lengths)
        total = int(ends[-1]) if len(ends) else 0
        return self.values[np.repeat(self.starts[numbers] - (ends - lengths), lengths) + np.arange(total)], lengths


class WordTable:
    """Word → number, and per number the rows `analyse` found for the word (one kind of row per name).

    Safe to share between threads: a lookup returns the numbers with a view of the rows they index."""

    def __init__(self, analyse: Callable[[list[str]], Analysis]) -> None:
        self._analyse = analyse
        self._lock = threading.Lock()
        self._restart()

    def _restart(self) -> None:
        self._numbers: dict[str, int] = {}
        self._rows: dict[str, _Ragged] = {name: _Ragged() for name in self._analyse([])}

    def __len__(self) -> int:
        return len(self._numbers)

    def lookup(self, text_words: TextWords) -> Found:
        """The numbers of the texts' distinct words (the new ones analysed now, all together) and the rows they
        index."""
        words = text_words.distinct
        with self._lock:
            numbers = np.fromiter(map(self._numbers.get, words, repeat(-1)), dtype=np.intp, count=len(words))
            new_ones = numbers < 0
            if new_ones.any():
                new = list(compress(words, new_ones))
                if len(self._numbers) + len(new) > CAPACITY:
                    self._restart()
                    numbers[:] = -1
                    new_ones[:] = True
                    new = list(words)
                first = len(self._numbers)
                numbers[new_ones] = np.arange(first, first + len(new))
                self._numbers.update(zip(new, range(first, first + len(new)), strict=True))
                for name, (values, lengths) in self._analyse(new).items():
                    self._rows[name].append(values, lengths)
            return Found(text_words, numbers, {name: ragged.rows() for name, ragged in self._rows.items()})


@dataclass(frozen=True)
class Found:
    """A batch's words (`words`), the table's numbers of its distinct words and the rows they index, by name."""

    words: TextWords
    numbers: np.ndarray
    rows: dict[str, Rows]

    @cached_property
    def occurrence_numbers(self) -> np.ndarray:
        """The table's number of each word occurrence, text after text."""
        return self.numbers[self.words.sequence]
