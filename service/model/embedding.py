"""The sentence-embedding block: a static table of token vectors (distilled from all-MiniLM-L6-v2 by model2vec),
averaged over a sentence's tokens, as model2vec's `StaticModel.encode` computes it (`normalize=False`; bundles of
scorer formats 2 and 3 also divide the mean by its norm, `normalize=True`).

It tokenizes as model2vec does, with the `tokenizers` package and the tokenizer saved beside the table: the text
cut to `MAX_TOKENS` times the median token length in characters, no special tokens, at most `MAX_TOKENS` tokens,
unknown tokens dropped; a text without tokens gets zeros. A test checks the result against model2vec's own output
to 1e-6. The block's weights hold every head's coefficients for the vector's dimensions, as a TF-IDF block's rows
do for its n-grams.

A mean is linear in the token rows, so the block's share of the decision values is the mean of its tokens' rows
of `table @ weights` (`EmbeddingBlock.token_weights`): a dozen numbers per token instead of the table's hundreds of
dimensions, the sentence vector is never built and the service never loads the table. That is why new models
leave the norm out (`embedding_normalize` in training's parameters; `make levers` compares both: docs/models.md).

Tokens are found once per whitespace-separated word and kept (`service.model.words`): the tokenizer's normaliser
(BERT's) works character by character and its pre-tokenizer splits at every whitespace, so a word's tokens are the
same alone as in any sentence, and a sentence's tokens are its words' tokens in order. Texts where that does not
hold go through the tokenizer whole: those cut by the character or token limit, and those with characters Python's
`str.split` splits at but the normaliser deletes instead (`_SPLIT_ONLY_BY_PYTHON`). A batch's token rows are summed
by one sparse product (texts x tokens) @ rows, in float64, text by text in the order of its tokens, so a text gets
the same answer alone or in any batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp
from tokenizers import Tokenizer

from service.model.ngrams import UnsupportedModel
from service.model.wordpiece import AsciiWordPieces
from service.model.words import Analysis, Found, TextWords, WordTable

MAX_TOKENS = 512  # model2vec's default `max_length`
FEATURE_NAME = "[sentence embedding]"  # the block's one item in explanations
# Control characters that str.split() treats as whitespace; BERT's normaliser drops them (joining their neighbours).
_SPLIT_ONLY_BY_PYTHON = re.compile("[\x0b\x0c\x1c-\x1f\x85\u2028\u2029]")


@dataclass
class StaticEncoder:
    """Token table (tokens x dimensions, float16) and the tokenizer whose ids index its rows.

    Pickled (inside training's model.joblib) without the table, which the bundle keeps in a file of its own:
    `attach` gives an unpickled encoder its table back."""

    table: np.ndarray | None
    tokenizer_json: str
    tokenizer: Tokenizer = field(repr=False)
    unk_id: int | None
    max_chars: int
    tokens: int  # the tokenizer's ids, 0 to tokens - 1: the rows of the table
    normalize: bool  # divide the mean by its norm (scorer formats 2 and 3)
    # Reads the table when it is first needed, for an encoder built without it (a served format 4 scorer's).
    table_source: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    # Tokenizes most words of English news without the tokenizer (None for a tokenizer other than BERT's).
    ascii_pieces: AsciiWordPieces | None = field(default=None, repr=False)
    _words: WordTable = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._words = WordTable(self.analyse)

    @classmethod
    def build(cls, table: np.ndarray | None, tokenizer_json: str, normalize: bool = False) -> StaticEncoder:
        """The encoder of a table and its tokenizer (as JSON); UnsupportedModel when they don't fit together."""
        try:
            tokenizer = Tokenizer.from_str(tokenizer_json)
        except Exception as error:  # the Rust side raises plain Exception subclasses
            raise UnsupportedModel(f"unreadable tokenizer: {error}") from error
        vocabulary = tokenizer.get_vocab()
        if max(vocabulary.values(), default=-1) >= len(vocabulary):
            raise UnsupportedModel(f"a tokenizer of {len(vocabulary)} tokens with ids beyond them")
        # As model2vec's StaticModel: no padding, truncation at MAX_TOKENS (`_encode`), and the median length of
        # the tokens times MAX_TOKENS as the characters kept of each text. The tokenizer itself does not truncate:
        # `analyse` tokenizes many words as one text.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        median_length = int(np.median(np.fromiter(map(len, vocabulary), dtype=np.intp, count=len(vocabulary))))
        unk_token = getattr(tokenizer.model, "unk_token", None)
        unk_id = tokenizer.token_to_id(unk_token) if unk_token is not None else None
        encoder = cls(
            None,
            tokenizer_json,
            tokenizer,
            unk_id,
            MAX_TOKENS * median_length,
            len(vocabulary),
            normalize,
            ascii_pieces=AsciiWordPieces.of(tokenizer, vocabulary),
        )
        if table is not None:
            encoder.attach(table)
        return encoder

    def attach(self, table: np.ndarray) -> None:
        """Give the encoder its table; UnsupportedModel when it doesn't fit the tokenizer."""
        table = np.asarray(table, dtype=np.float16)
        if table.ndim != 2 or len(table) != self.tokens:
            raise UnsupportedModel(f"a table of shape {table.shape} for a tokenizer of {self.tokens} tokens")
        self.table = table
        self.__dict__.pop("_rows", None)

    def __reduce__(self) -> tuple[Any, ...]:
        return (StaticEncoder.build, (None, self.tokenizer_json, self.normalize))

    @property
    def dims(self) -> int:
        return int(self.attached_table.shape[1])

    @property
    def attached_table(self) -> np.ndarray:
        if self.table is None and self.table_source is not None:
            self.attach(self.table_source())
        if self.table is None:
            raise UnsupportedModel("an embedding encoder without its table (attach the bundle's table first)")
        return self.table

    @cached_property
    def _rows(self) -> np.ndarray:
        """The table in float64, for the sparse product (SciPy has no float16 arithmetic). Only `vectors` needs it:
        training, and scorers of formats 2 and 3."""
        return self.attached_table.astype(np.float64)

    def vectors(self, texts: Sequence[str], found: Found | None = None) -> np.ndarray:
        """(texts x dimensions): each text's mean token row (L2-normalised if `normalize`); zeros for a text
        without tokens. `found`, when given, holds the texts' words looked up in a scorer's table, with this
        encoder's rows (`analyse`); otherwise they are looked up in the encoder's own."""
        out = self.mean_rows(self._rows, texts, found)
        if self.normalize:
            out /= np.sqrt((out * out).sum(axis=1))[:, None] + 1e-32
        return out

    def mean_rows(self, rows: np.ndarray, texts: Sequence[str], found: Found | None = None) -> np.ndarray:
        """(texts x columns of `rows`, float64, one row per token of the table): the mean of the rows of each
        text's tokens; zeros for a text without tokens."""
        tokens = self._token_counts(texts, found or self._words.lookup(TextWords(texts)))
        out = np.asarray(tokens @ rows, dtype=np.float64)
        counts = np.diff(tokens.indptr)
        filled = counts > 0
        out[filled] /= counts[filled, None]
        return out

    def _token_counts(self, texts: Sequence[str], found: Found) -> sp.csr_matrix:
        """(texts x tokens): one entry per token occurrence, each text's in the order of its tokens (so that its sum
        runs in one order, alone or in any batch; no sorting or merging of repeats)."""
        words, rows = found.words, found.rows
        totals = rows["total"].values[rows["total"].starts[found.numbers]]
        text_of = words.text_of
        whole = np.bincount(text_of, totals[words.sequence], minlength=len(texts)) > MAX_TOKENS
        whole |= np.fromiter(map(len, texts), dtype=np.intp, count=len(texts)) > self.max_chars
        if _SPLIT_ONLY_BY_PYTHON.search("".join(texts)):
            whole |= np.array([_SPLIT_ONLY_BY_PYTHON.search(text) is not None for text in texts])
        # Each occurrence of a word (of a text not tokenized whole) stands for its known tokens.
        by_words = ~whole[text_of]
        ids, lengths = rows["tokens"].gather(found.occurrence_numbers[by_words])
        row, column = [np.repeat(text_of[by_words], lengths)], [ids]
        # The texts tokenized whole: cut by the character or token limit, or with characters split at differently.
        cut = [texts[number][: self.max_chars] for number in np.flatnonzero(whole).tolist()]
        for number, text_ids in zip(np.flatnonzero(whole).tolist(), self._encode(cut), strict=True):
            column.append(self._known(np.array(text_ids, dtype=np.intp)))
            row.append(np.full(len(column[-1]), number, dtype=np.intp))
        rows_, columns = np.concatenate(row), np.concatenate(column)
        if len(row) > 1:  # texts tokenized whole came last: put every text's tokens together, in order
            order = np.argsort(rows_, kind="stable")
            rows_, columns = rows_[order], columns[order]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows_, minlength=len(texts)))])
        shape = (len(texts), self.tokens)
        return sp.csr_matrix((np.ones(len(columns), dtype=np.float64), columns, indptr), shape)

    def analyse(self, words: list[str]) -> Analysis:
        """Per word (`WordTable`): `tokens`, the ids of its known tokens; `total`, the count of all its tokens,
        unknown ones included, and one more than MAX_TOKENS for a word of more, so that its text goes through the
        tokenizer whole.

        Printable-ASCII words are tokenized by `AsciiWordPieces` where the tokenizer is BERT's; the others by
        the tokenizer (`_tokenize`)."""
        if self.ascii_pieces is None:
            flat, counts = self._tokenize(words)
        else:
            flat, counts = self.ascii_pieces.token_ids(words, self._tokenize)
        word_of = np.repeat(np.arange(len(words)), counts)
        known = flat != self.unk_id if self.unk_id is not None else np.ones(len(flat), dtype=bool)
        totals = np.where(counts <= MAX_TOKENS, counts, MAX_TOKENS + 1)
        return {
            "tokens": (flat[known], np.bincount(word_of[known], minlength=len(words))),
            "total": (totals, np.ones(len(words), dtype=np.intp)),
        }

    def _tokenize(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(the words' token ids, word after word, unknown ones included; each word's count of them).

        The words are tokenized as one text, joined by spaces (one call instead of one per word: a word's tokens
        are the same alone or among others), and each token goes to the word its first character is in."""
        encoding = self.tokenizer.encode(" ".join(words), add_special_tokens=False) if words else None
        flat = np.array(encoding.ids if encoding else [], dtype=np.intp)
        first_characters = np.array(encoding.offsets if encoding else [], dtype=np.intp).reshape(-1, 2)[:, 0]
        word_starts = np.cumsum([0, *(len(word) + 1 for word in words[:-1])])
        word_of = np.searchsorted(word_starts, first_characters, side="right") - 1
        return flat, np.bincount(word_of, minlength=len(words))

    def _encode(self, texts: list[str]) -> list[list[int]]:
        """Each text's token ids, the first MAX_TOKENS (the truncation model2vec's tokenizer does)."""
        encodings = self.tokenizer.encode_batch_fast(texts, add_special_tokens=False) if texts else []
        return [encoding.ids[:MAX_TOKENS] for encoding in encodings]

    def _known(self, ids: np.ndarray) -> np.ndarray:
        return ids[ids != self.unk_id] if self.unk_id is not None else ids

    def tokenizer_bytes(self) -> np.ndarray:
        """The tokenizer's JSON as UTF-8 bytes: a quarter of the size of a NumPy Unicode string."""
        return np.frombuffer(self.tokenizer_json.encode("utf-8"), dtype=np.uint8)

    @staticmethod
    def tokenizer_from_bytes(data: np.ndarray) -> str:
        # Damaged bytes fail here as a ValueError, damaged JSON in `build`: either way an UnsupportedModel.
        return np.asarray(data, dtype=np.uint8).tobytes().decode("utf-8")


@dataclass
class EmbeddingBlock:
    """The encoder and every head's coefficients for its dimensions (dimensions x all classes of all heads); for a
    mean-pooled block also `token_weights`, (tokens x all classes): each token's row of the table times the
    weights, computed from the table when not given (scorers of format 4 keep them, and serve without the table)."""

    encoder: StaticEncoder
    weights: np.ndarray
    token_weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        table = self.encoder.table
        if self.weights.ndim != 2 or (table is not None and len(self.weights) != table.shape[1]):
            shape = None if table is None else table.shape
            raise UnsupportedModel(f"{self.weights.shape} embedding weights for a table of shape {shape}")
        if self.encoder.normalize:
            return
        if self.token_weights is None:
            table = self.encoder.attached_table
            step = 4096  # rows converted to float64 at a time: a few MB instead of the whole table's copy
            self.token_weights = np.vstack(
                [np.empty((0, self.weights.shape[1]))]
                + [
                    table[start : start + step].astype(np.float64) @ self.weights
                    for start in range(0, len(table), step)
                ]
            )
        if self.token_weights.shape != (self.encoder.tokens, self.weights.shape[1]):
            raise UnsupportedModel(
                f"token weights of shape {self.token_weights.shape} for {self.encoder.tokens} tokens"
            )

    def config(self) -> dict[str, Any]:
        return {"tokens": self.encoder.tokens, "dimensions": len(self.weights), "normalize": self.encoder.normalize}

    def arrays(self) -> dict[str, np.ndarray]:
        """What a scorer file keeps of the block (the table goes in a file of its own)."""
        arrays = {"embedding.tokenizer": self.encoder.tokenizer_bytes(), "embedding.weights": self.weights}
        if self.token_weights is not None:
            arrays["embedding.token_weights"] = self.token_weights
        return arrays

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], scorer_format: int, table: Callable[[], np.ndarray]
    ) -> EmbeddingBlock:
        """The block of a scorer file's `arrays`: of format 4, mean-pooled, its table read only if asked for (to save
        the scorer again, or to build vectors); of formats 2 and 3, normalising, with the table (2 keeps it inside)."""
        tokenizer = StaticEncoder.tokenizer_from_bytes(arrays["embedding.tokenizer"])
        weights = np.ascontiguousarray(arrays["embedding.weights"], dtype=np.float64)
        if scorer_format == 4:
            encoder = StaticEncoder.build(None, tokenizer, normalize=False)
            encoder.table_source = table
            token_weights = np.ascontiguousarray(arrays["embedding.token_weights"], dtype=np.float64)
            return cls(encoder, weights, token_weights)
        rows = arrays["embedding.table"] if scorer_format == 2 else table()
        return cls(StaticEncoder.build(rows, tokenizer, normalize=True), weights)

    def scores(self, texts: Sequence[str], found: Found | None = None) -> np.ndarray:
        """Its share of every head's decision values, one row per text (`found`: as `StaticEncoder.vectors`)."""
        if self.token_weights is not None:
            return self.encoder.mean_rows(self.token_weights, texts, found)
        vectors = self.encoder.vectors(texts, found)
        # Text by text, whatever the batch: a matrix product's summation order depends on the number of rows and on
        # BLAS's threads, and a text must get exactly the same answer alone, in any batch and in any process
        # (batch jobs compare part files byte for byte). A small product per text costs little beside tokenizing.
        return np.array([vector @ self.weights for vector in vectors]).reshape(len(vectors), self.weights.shape[1])
