"""The sentence-embedding block: a static table of token vectors (distilled from all-MiniLM-L6-v2 by model2vec),
averaged over a sentence's tokens and L2-normalised, as model2vec's `StaticModel.encode` computes it.

It tokenizes as model2vec does, with the `tokenizers` package and the tokenizer saved beside the table: the text
cut to `MAX_TOKENS` times the median token length in characters, no special tokens, at most `MAX_TOKENS` tokens,
unknown tokens dropped. The mean of the tokens' rows is divided by its norm (plus 1e-32, so a text without tokens
gets zeros). A test checks the result against model2vec's own output to 1e-6. The block's weights hold every
head's coefficients for the vector's dimensions, as a TF-IDF block's rows do for its n-grams.

Tokens are cached per whitespace-separated word: the tokenizer's normaliser (BERT's) works character by character
and its pre-tokenizer splits at every whitespace, so a word's tokens are the same alone as in any sentence, and a
sentence's tokens are its words' tokens in order. Texts where that does not hold go through the tokenizer whole:
those cut by the character or token limit, and those with characters Python's `str.split` splits at but the
normaliser deletes instead (`_SPLIT_ONLY_BY_PYTHON`). The rows of a batch's tokens are summed by one sparse product
(texts x tokens) @ table, in float32 (float16 rows are exact in it), text by text in token order, so a text gets
the same vector alone or in any batch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import Any

import numpy as np
import scipy.sparse as sp
from tokenizers import Tokenizer

from service.model.ngrams import TextWords, UnsupportedModel

MAX_TOKENS = 512  # model2vec's default `max_length`
FEATURE_NAME = "[sentence embedding]"  # the block's one item in explanations
# Control characters that str.split() treats as whitespace; BERT's normaliser drops them (joining their neighbours).
_SPLIT_ONLY_BY_PYTHON = re.compile("[\x0b\x0c\x1c-\x1f\x85\u2028\u2029]")
_CACHED_WORDS = 50_000  # distinct words whose token ids are kept; the cache restarts when full


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
    # word -> (ids of its known tokens, count of all its tokens, unknown ones included)
    _words: dict[str, tuple[tuple[int, ...], int]] = field(init=False, repr=False, default_factory=dict)

    @classmethod
    def build(cls, table: np.ndarray | None, tokenizer_json: str) -> StaticEncoder:
        """The encoder of a table and its tokenizer (as JSON); UnsupportedModel when they don't fit together."""
        try:
            tokenizer = Tokenizer.from_str(tokenizer_json)
        except Exception as error:  # the Rust side raises plain Exception subclasses
            raise UnsupportedModel(f"unreadable tokenizer: {error}") from error
        vocabulary = tokenizer.get_vocab()
        # As model2vec's StaticModel: no padding, truncation at MAX_TOKENS, and the median length of the tokens
        # (sorted by id) times MAX_TOKENS as the characters kept of each text.
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        median_length = int(np.median([len(token) for token, _ in sorted(vocabulary.items(), key=lambda t: t[1])]))
        unk_token = getattr(tokenizer.model, "unk_token", None)
        unk_id = tokenizer.token_to_id(unk_token) if unk_token is not None else None
        encoder = cls(None, tokenizer_json, tokenizer, unk_id, MAX_TOKENS * median_length)
        if table is not None:
            encoder.attach(table)
        return encoder

    def attach(self, table: np.ndarray) -> None:
        """Give the encoder its table; UnsupportedModel when it doesn't fit the tokenizer."""
        vocabulary = self.tokenizer.get_vocab()
        table = np.asarray(table, dtype=np.float16)
        if table.ndim != 2 or len(vocabulary) != len(table) or max(vocabulary.values(), default=-1) >= len(table):
            raise UnsupportedModel(f"a table of shape {table.shape} for a tokenizer of {len(vocabulary)} tokens")
        self.table = table
        self.__dict__.pop("_rows", None)

    def __reduce__(self) -> tuple[Any, ...]:
        return (StaticEncoder.build, (None, self.tokenizer_json))

    @property
    def dims(self) -> int:
        return int(self.attached_table.shape[1])

    @property
    def attached_table(self) -> np.ndarray:
        if self.table is None:
            raise UnsupportedModel("an embedding encoder without its table (attach the bundle's table first)")
        return self.table

    @cached_property
    def _rows(self) -> np.ndarray:
        """The table in float32, for the sparse product (SciPy has no float16 arithmetic)."""
        return self.attached_table.astype(np.float32)

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """(texts x dimensions): each text's mean token row, L2-normalised; zeros for a text without tokens."""
        tokens = self._token_counts(texts)
        counts = np.asarray(tokens.sum(axis=1), dtype=np.float64).ravel()
        out = np.asarray(tokens @ self._rows, dtype=np.float64)
        filled = counts > 0
        out[filled] /= counts[filled, None]
        out /= np.sqrt((out * out).sum(axis=1))[:, None] + 1e-32
        return out

    def _token_counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """(texts x tokens): how often each known token occurs in each text, columns sorted (so that each text's
        sum runs in one order, alone or in any batch)."""
        words = TextWords(texts, lowercase=False)
        entries = self._entries(words.distinct)
        known = np.fromiter((len(ids) for ids, _ in entries), dtype=np.intp, count=len(entries))
        totals = np.fromiter((total for _, total in entries), dtype=np.intp, count=len(entries))
        text_of = words.text_of()
        whole = np.bincount(text_of, totals[words.sequence], minlength=len(texts)) > MAX_TOKENS
        whole |= np.fromiter(map(len, texts), dtype=np.intp, count=len(texts)) > self.max_chars
        if _SPLIT_ONLY_BY_PYTHON.search("".join(texts)):
            whole |= np.array([_SPLIT_ONLY_BY_PYTHON.search(text) is not None for text in texts])
        # Each occurrence of a word (of a text not tokenized whole) stands for its run of token ids.
        lengths = np.where(whole[text_of], 0, known[words.sequence])
        first_ids = np.concatenate([[0], np.cumsum(known)[:-1]]).astype(np.intp)[words.sequence]
        runs = np.repeat(first_ids - np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp), lengths)
        all_ids = np.fromiter(chain.from_iterable(ids for ids, _ in entries), dtype=np.intp, count=int(known.sum()))
        rows = [np.repeat(text_of, lengths)]
        columns = [all_ids[runs + np.arange(len(runs))]]
        # The texts tokenized whole: cut by the character or token limit, or with characters split at differently.
        for number, encoding in zip(
            np.flatnonzero(whole).tolist(),
            self._encode([texts[number][: self.max_chars] for number in np.flatnonzero(whole).tolist()]),
            strict=True,
        ):
            columns.append(np.array(self._known(encoding.ids), dtype=np.intp))
            rows.append(np.full(len(columns[-1]), number, dtype=np.intp))
        row, column = np.concatenate(rows), np.concatenate(columns)
        counts = sp.coo_matrix((np.ones(len(row), dtype=np.float32), (row, column)), (len(texts), len(self._rows)))
        return counts.tocsr()  # duplicates summed, columns sorted

    def _entries(self, words: list[str]) -> list[tuple[tuple[int, ...], int]]:
        """Each word's (known token ids, count of all its tokens, unknown ones included), tokenizing the new words
        all at once; they are cached while there is room."""
        cached = list(map(self._words.get, words))
        new = [word for word, entry in zip(words, cached, strict=True) if entry is None]
        found = [
            # A word cut at MAX_TOKENS counts as longer, so that its text goes through the tokenizer whole.
            (self._known(encoding.ids), len(encoding.ids) if len(encoding.ids) < MAX_TOKENS else MAX_TOKENS + 1)
            for encoding in self._encode(new)
        ]
        if len(self._words) + len(new) > _CACHED_WORDS:
            self._words.clear()
        self._words.update(zip(new[: _CACHED_WORDS - len(self._words)], found, strict=False))
        fresh = iter(found)
        return [entry if entry is not None else next(fresh) for entry in cached]

    def _encode(self, texts: list[str]) -> list[Any]:
        return self.tokenizer.encode_batch_fast(texts, add_special_tokens=False) if texts else []

    def _known(self, ids: list[int]) -> tuple[int, ...]:
        return tuple(token for token in ids if token != self.unk_id)

    def config(self) -> dict[str, Any]:
        return {"tokens": len(self.attached_table), "dimensions": self.dims}

    def tokenizer_bytes(self) -> np.ndarray:
        """The tokenizer's JSON as UTF-8 bytes: a quarter of the size of a NumPy Unicode string."""
        return np.frombuffer(self.tokenizer_json.encode("utf-8"), dtype=np.uint8)

    @staticmethod
    def tokenizer_from_bytes(data: np.ndarray) -> str:
        text = np.asarray(data, dtype=np.uint8).tobytes().decode("utf-8")
        json.loads(text)  # fails early, as a ValueError, on a damaged tokenizer
        return text


@dataclass
class EmbeddingBlock:
    """The encoder and every head's coefficients for its dimensions (dimensions x all classes of all heads)."""

    encoder: StaticEncoder
    weights: np.ndarray

    def __post_init__(self) -> None:
        if self.weights.ndim != 2 or len(self.weights) != self.encoder.dims:
            raise UnsupportedModel(f"{self.weights.shape} embedding weights for {self.encoder.dims} dimensions")

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Its share of every head's decision values, one row per text."""
        vectors = self.encoder.vectors(texts)
        # Text by text, whatever the batch: a matrix product's summation order depends on the number of rows and on
        # BLAS's threads, and a text must get exactly the same answer alone, in any batch and in any process
        # (batch jobs compare part files byte for byte). A small product per text costs little beside tokenizing.
        return np.array([vector @ self.weights for vector in vectors]).reshape(len(vectors), self.weights.shape[1])
