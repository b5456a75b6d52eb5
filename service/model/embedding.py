"""The sentence-embedding block: a static table of token vectors (distilled from all-MiniLM-L6-v2 by model2vec),
averaged over a sentence's tokens and L2-normalised, as model2vec's `StaticModel.encode` computes it.

It tokenizes as model2vec does, with the `tokenizers` package and the tokenizer saved beside the table: the text
cut to `MAX_TOKENS` times the median token length in characters, no special tokens, at most `MAX_TOKENS` tokens,
unknown tokens dropped. The mean of the tokens' rows is divided by its norm (plus 1e-32, so a text without tokens
gets zeros). A test checks the result against model2vec's own output to 1e-6. The block's weights hold every
head's coefficients for the vector's dimensions, as a TF-IDF block's rows do for its n-grams.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from service.model.ngrams import UnsupportedModel

MAX_TOKENS = 512  # model2vec's default `max_length`
FEATURE_NAME = "[sentence embedding]"  # the block's one item in explanations


@dataclass
class StaticEncoder:
    """Token table (tokens x dimensions, float16) and the tokenizer whose ids index its rows."""

    table: np.ndarray
    tokenizer_json: str
    tokenizer: Tokenizer = field(repr=False)
    unk_id: int | None
    max_chars: int

    @classmethod
    def build(cls, table: np.ndarray, tokenizer_json: str) -> StaticEncoder:
        """The encoder of a table and its tokenizer (as JSON); UnsupportedModel when they don't fit together."""
        try:
            tokenizer = Tokenizer.from_str(tokenizer_json)
        except Exception as error:  # the Rust side raises plain Exception subclasses
            raise UnsupportedModel(f"unreadable tokenizer: {error}") from error
        vocabulary = tokenizer.get_vocab()
        table = np.asarray(table, dtype=np.float16)
        if table.ndim != 2 or len(vocabulary) != len(table) or max(vocabulary.values(), default=-1) >= len(table):
            raise UnsupportedModel(f"a table of shape {table.shape} for a tokenizer of {len(vocabulary)} tokens")
        # As model2vec's StaticModel: no padding, truncation at MAX_TOKENS, and the median length of the tokens
        # (sorted by id) times MAX_TOKENS as the characters kept of each text.
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        median_length = int(np.median([len(token) for token, _ in sorted(vocabulary.items(), key=lambda t: t[1])]))
        unk_token = getattr(tokenizer.model, "unk_token", None)
        unk_id = tokenizer.token_to_id(unk_token) if unk_token is not None else None
        return cls(table, tokenizer_json, tokenizer, unk_id, MAX_TOKENS * median_length)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (inside training's model.joblib) as the table and the tokenizer's JSON, rebuilt on load.
        return (StaticEncoder.build, (self.table, self.tokenizer_json))

    @property
    def dims(self) -> int:
        return int(self.table.shape[1])

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """(texts x dimensions): each text's mean token row, L2-normalised; zeros for a text without tokens."""
        encodings = self.tokenizer.encode_batch_fast(
            [text[: self.max_chars] for text in texts], add_special_tokens=False
        )
        lengths = np.fromiter((len(encoding.ids) for encoding in encodings), dtype=np.intp, count=len(encodings))
        ids = np.fromiter(chain.from_iterable(encoding.ids for encoding in encodings), dtype=np.intp)
        if self.unk_id is not None:
            known = ids != self.unk_id
            if not known.all():
                text_of = np.repeat(np.arange(len(lengths)), lengths)
                lengths = np.bincount(text_of[known], minlength=len(lengths)).astype(np.intp)
                ids = ids[known]
        out = np.zeros((len(texts), self.dims))
        filled = lengths > 0
        if filled.any():
            starts = np.concatenate([[0], np.cumsum(lengths[filled])[:-1]])
            sums = np.add.reduceat(self.table.take(ids, axis=0), starts, axis=0, dtype=np.float64)
            out[filled] = sums / lengths[filled, None]
        out /= np.sqrt((out * out).sum(axis=1))[:, None] + 1e-32
        return out

    def config(self) -> dict[str, Any]:
        return {"tokens": len(self.table), "dimensions": self.dims}

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
