"""BERT WordPiece tokens of printable-ASCII words, without the tokenizer's per-character alignment work.

For such a word, BERT's normaliser only lowercases, and its pre-tokenizer cuts it into runs of letters and digits
and single punctuation characters; WordPiece then gives a piece its vocabulary id when the piece is a token of its
own, and splits it otherwise. `AsciiWordPieces` does the first two steps with one regular expression over a batch's
words, looks the pieces up in the vocabulary and sends only the others to the WordPiece model: the tokenizer's ids
(a test checks them word by word) in about a third of its time, since most words of English news are ASCII.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import chain, compress, repeat

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from service.model.words import Rows

# A printable-ASCII text lowercased: its word pieces, and the space after each word.
_PIECES = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]| ")
_PRINTABLE_ASCII = "".join(map(chr, range(0x20, 0x7F)))
# Below this many words (a sentence's new words, say), the tokenizer alone is as fast: the shortcut's NumPy steps
# cost about 50 µs whatever the number of words.
FEWEST_WORDS = 32


class AsciiWordPieces:
    """Token ids of printable-ASCII words as a BERT tokenizer finds them (`BertNormalizer` with lowercasing,
    `BertPreTokenizer`, `WordPiece`); `of` gives None for a tokenizer of another kind."""

    def __init__(self, model: models.WordPiece, vocabulary: dict[str, int], reserved: str) -> None:
        self._model = model
        self._vocabulary = vocabulary
        # Characters of words `tokenize` leaves to the tokenizer (the space between words is allowed).
        allowed = "".join(sorted(set(_PRINTABLE_ASCII) - set(reserved)))
        self._outside = re.compile(f"[^{re.escape(allowed)}]")

    @classmethod
    def of(cls, tokenizer: Tokenizer, vocabulary: dict[str, int]) -> AsciiWordPieces | None:
        model = tokenizer.model
        bert = (
            isinstance(tokenizer.normalizer, normalizers.BertNormalizer)
            and tokenizer.normalizer.lowercase
            and isinstance(tokenizer.pre_tokenizer, pre_tokenizers.BertPreTokenizer)
            and isinstance(model, models.WordPiece)
            # WordPiece gives [UNK] for a piece longer than this, even a token's own.
            and max(map(len, vocabulary), default=0) <= model.max_input_chars_per_word
        )
        if not bert:
            return None
        # Added tokens ("[UNK]", ...) are found in the raw text before anything else is done: a word holding the
        # first character of one goes to the tokenizer.
        reserved = "".join(token.content[:1] for token in tokenizer.get_added_tokens_decoder().values())
        return cls(model, vocabulary, reserved)

    def token_ids(
        self, words: list[str], tokenize_others: Callable[[list[str]], tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every word's token ids, word after word, unknown tokens included, and each one's count of them: those
        `tokenize` takes from here, the others (and all of a few words) from `tokenize_others`, which answers in the
        same shape."""
        if len(words) < FEWEST_WORDS:
            return tokenize_others(words)
        handled, ascii_ids, ascii_counts = self.tokenize(words)
        if handled.all():
            return ascii_ids, ascii_counts
        other_ids, other_counts = tokenize_others(list(compress(words, ~handled)))
        # The two groups' rows, back in the order of the words.
        lengths = np.concatenate([ascii_counts, other_counts])
        rows = Rows(np.concatenate([ascii_ids, other_ids]), np.cumsum(lengths) - lengths, lengths)
        group_row = np.empty(len(words), dtype=np.intp)
        group_row[handled] = np.arange(len(ascii_counts))
        group_row[~handled] = np.arange(len(ascii_counts), len(words))
        return rows.gather(group_row)

    def tokenize(self, words: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(which of the words it tokenized; their token ids, word after word, unknown tokens included; the count of
        each one's ids). The other words are left to the tokenizer."""
        text = " ".join(words)
        handled = np.ones(len(words), dtype=bool)
        outside = [match.start() for match in self._outside.finditer(text)]
        if outside:
            lengths = np.fromiter(map(len, words), dtype=np.intp, count=len(words))
            handled[np.searchsorted(np.cumsum(lengths + 1), outside, side="right")] = False
            text = " ".join(compress(words, handled))
        pieces = _PIECES.findall(text.lower() + " ") if text else []
        ids = np.fromiter(map(self._vocabulary.get, pieces, repeat(-1)), dtype=np.intp, count=len(pieces))
        ends = np.fromiter(map(" ".__eq__, pieces), dtype=bool, count=len(pieces))
        lengths = (~ends).astype(np.intp)
        # Pieces that are not tokens of their own: split by the WordPiece model (each distinct one once), their ids
        # put where their -1 is repeated once per id.
        unlisted = np.flatnonzero((ids < 0) & ~ends)
        unlisted_pieces = [pieces[index] for index in unlisted.tolist()]
        split = {piece: [token.id for token in self._model.tokenize(piece)] for piece in set(unlisted_pieces)}
        parts = [split[piece] for piece in unlisted_pieces]
        lengths[unlisted] = np.fromiter(map(len, parts), dtype=np.intp, count=len(parts))
        flat = np.repeat(ids, lengths)
        flat[flat < 0] = list(chain.from_iterable(parts))
        word_ends = np.cumsum(lengths)[ends]
        return handled, flat, np.diff(word_ends, prepend=0)
