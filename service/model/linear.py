"""Fast scoring of a compiled TF-IDF + logistic-regression model, for one sentence or a batch.

A compiled model (`training.compile` makes one from the fitted scikit-learn objects) holds, per TF-IDF block of
the feature union, the vocabulary in column order, the idf, and one weight row per feature with every head's
coefficients (`service.model.ngrams`); and the heads' intercepts. It is saved as plain NumPy arrays (`save`/`load`, no
pickle), so serving needs neither scikit-learn nor unpickling. A batch's words are looked up once for all blocks
(`service.model.words`); one product gives the blocks' share of every head's decision values, a softmax per head
the probabilities. They equal the fitted models' own `predict_proba` (a test checks the whole test split to 1e-9).

A model may also have a dense sentence-embedding block (`service.model.embedding`): the table, its tokenizer
and the heads' coefficients for its dimensions, saved in the same file; it adds its share to the decision values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from service.model.embedding import EmbeddingBlock
from service.model.ngrams import SMALL_BATCH, Block, UnsupportedModel, WordBlock, make_block
from service.model.words import Analysis, Found, TextWords, WordTable

# Of the saved arrays: 1, n-gram blocks; 2, also a sentence-embedding block, table included; 3, the block with its
# table in a file of its own (`EMBEDDING_TABLE_FILE`, beside the scorer in the bundle); 4, a mean-pooled block (the
# embedding config's `normalize`: false), scored from its token weights without the table, which services reading
# 2 and 3 would L2-normalise. A scorer without the block is still written as 1, so services that read only format 1
# keep serving it.
FORMATS = (1, 2, 3, 4)
EMBEDDING_TABLE_FILE = "embedding.npy"
_CHUNK = 1024  # texts per sparse product: bounds the memory of the n-gram arrays


@dataclass
class LinearScorer:
    """All heads' class probabilities for a batch of texts, from one pass over the text."""

    blocks: list[Block]
    intercepts: np.ndarray
    head_slices: dict[str, slice]
    classes: dict[str, list[str]]
    embedding: EmbeddingBlock | None = None

    def __post_init__(self) -> None:
        widths = {block.weights.shape[1] for block in self.blocks} | {len(self.intercepts)}
        if self.embedding is not None:
            widths.add(self.embedding.weights.shape[1])
        stops = max((columns.stop for columns in self.head_slices.values()), default=0)
        if len(widths) != 1 or stops != len(self.intercepts):
            raise UnsupportedModel(f"weight columns {sorted(widths)} don't match the heads' {stops} classes")
        # One softmax over every head's segment of the decision values. A binary head has one value, d, for its
        # second class: a 0 inserted before it gives softmax(0, d) = (1 - sigmoid(d), sigmoid(d)), its probabilities.
        binary = [columns.start for columns in self.head_slices.values() if columns.stop - columns.start == 1]
        self._binary_starts = np.array(binary, dtype=np.intp)
        widths_in_order = [max(columns.stop - columns.start, 2) for columns in self.head_slices.values()]
        self._segment_starts = np.cumsum([0, *widths_in_order])[:-1]
        self._segment_widths = np.array(widths_in_order, dtype=np.intp)
        self.segments = {
            head: slice(int(start), int(start + width))
            for head, start, width in zip(self.head_slices, self._segment_starts, widths_in_order, strict=True)
        }
        # Every block's features side by side, numbered across the blocks: one count and one product for them all.
        self._offsets = np.cumsum([0, *(len(block.idf) for block in self.blocks)])
        self._idf = np.concatenate([np.empty(0), *(block.idf for block in self.blocks)])
        self._weights = np.vstack([np.empty((0, len(self.intercepts))), *(block.weights for block in self.blocks)])
        # Per column (int8: a table that stays in cache, gathered for every n-gram of a batch).
        self._block_of = np.repeat(np.arange(len(self.blocks), dtype=np.int8), np.diff(self._offsets))
        self._sublinear = np.array([block.sublinear_tf for block in self.blocks], dtype=bool)
        self._words = WordTable(self._analyse)

    @property
    def features(self) -> int:
        return int(self._offsets[-1])

    def probabilities(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Per head, one row of class probabilities per text (classes in `classes[head]` order)."""
        matrix = self.probability_matrix(texts)
        return {head: matrix[:, columns] for head, columns in self.segments.items()}

    def probability_matrix(self, texts: Sequence[str]) -> np.ndarray:
        """Every head's class probabilities side by side, one row per text; head by head as `segments` says."""
        chunks = [texts[i : i + _CHUNK] for i in range(0, len(texts), _CHUNK)]
        decision = np.vstack([np.empty((0, len(self.intercepts))), *map(self._decisions, chunks)])
        if len(self._binary_starts):
            decision = np.insert(decision, self._binary_starts, 0.0, axis=1)
        if not self.segments:
            return decision
        widths = self._segment_widths
        exp = np.exp(decision - np.maximum.reduceat(decision, self._segment_starts, axis=1).repeat(widths, axis=1))
        return exp / np.add.reduceat(exp, self._segment_starts, axis=1).repeat(widths, axis=1)

    def lookup(self, texts: Sequence[str]) -> Found:
        """The texts' words, looked up in the scorer's word table (every block's rows, the embedding's included)."""
        return self._words.lookup(TextWords(texts))

    def _decisions(self, texts: Sequence[str]) -> np.ndarray:
        found = self.lookup(texts)
        if len(texts) <= SMALL_BATCH:
            decision = self._few_decisions(*self._entries(found))
        else:
            decision = self.intercepts + self._tfidf(self._counts(found)) @ self._weights
        if self.embedding is not None:
            decision += self.embedding.scores(texts, found)
        return decision

    def tfidf(self, found: Found) -> sp.csr_matrix:
        """Normalized tf-idf rows, one per text of a `lookup`, features numbered across the blocks and sorted: what
        the fitted vectorizers' transforms give, side by side."""
        matrix = self._tfidf(self._counts(found))
        matrix.sort_indices()
        return matrix

    def _analyse(self, words: list[str]) -> Analysis:
        """What each word contributes to every block (`WordTable`): the columns of its n-grams, numbered across
        the blocks; per block with bigrams (`edges.<block>`) the ids of its first and last token; and what the
        embedding block finds in it (`StaticEncoder.analyse`)."""
        lowered = [word.lower() for word in words]
        none = np.empty(0, dtype=np.intp)
        owners, columns = [none], [none]
        analysis: Analysis = {}
        for number, (block, offset) in enumerate(zip(self.blocks, self._offsets[:-1], strict=True)):
            found = block.analyse(lowered)
            block_columns, lengths = found.pop("columns")
            owners.append(np.repeat(np.arange(len(words)), lengths))
            columns.append(block_columns + offset)
            analysis |= {f"{name}.{number}": rows for name, rows in found.items()}
        owner = np.concatenate(owners)
        order = np.argsort(owner, kind="stable")
        analysis["columns"] = (np.concatenate(columns)[order], np.bincount(owner, minlength=len(words)))
        if self.embedding is not None:
            analysis |= self.embedding.encoder.analyse(words)
        return analysis

    def _entries(self, found: Found) -> tuple[np.ndarray, np.ndarray, int]:
        """(text, feature) of every n-gram occurrence of the texts, and the number of texts."""
        columns, lengths = found.rows["columns"].gather(found.occurrence_numbers)
        texts, features = [np.repeat(found.words.text_of, lengths)], [columns]
        for text, column in self._across(found):
            texts.append(text)
            features.append(column)
        return np.concatenate(texts), np.concatenate(features), len(found.words.lengths)

    def _counts(self, found: Found) -> sp.csr_matrix:
        """How often each known n-gram occurs in each text (each feature once per row, features unsorted), by one
        product: (texts x items) @ (items x n-grams), the items being the distinct words and the bigrams across
        words (a bigram's row holds its one column)."""
        columns, lengths = found.rows["columns"].gather(found.numbers)
        text_of, items = [found.words.text_of], [found.words.sequence]
        item_columns, item_lengths = [columns], [lengths]
        count = len(lengths)
        for text, column in self._across(found):
            text_of.append(text)
            items.append(np.arange(count, count + len(column)))
            item_columns.append(column)
            item_lengths.append(np.ones(len(column), dtype=np.intp))
            count += len(column)
        texts, row_of = len(found.words.lengths), np.concatenate(text_of)
        order = np.argsort(row_of, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of, minlength=texts))])
        by_text = sp.csr_matrix((np.ones(len(order)), np.concatenate(items)[order], indptr), shape=(texts, count))
        lengths = np.concatenate(item_lengths)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        columns = np.concatenate(item_columns)
        per_item = sp.csr_matrix((np.ones(len(columns)), columns, indptr), shape=(count, self.features))
        return by_text @ per_item

    def _across(self, found: Found) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(text, feature) of each bigram across two words, per word block with bigrams."""
        for number, (block, offset) in enumerate(zip(self.blocks, self._offsets[:-1], strict=True)):
            if f"edges.{number}" in found.rows and isinstance(block, WordBlock):
                edges, _ = found.rows[f"edges.{number}"].gather(found.occurrence_numbers)
                text, column = block.across(edges.reshape(-1, 2), found.words.text_of)
                yield text, column + offset

    def _weigh(self, tf: np.ndarray, features: np.ndarray, texts: np.ndarray, count: int) -> np.ndarray:
        """Counts weighted as each block's fitted TfidfTransformer does: optional 1 + log tf, idf, l2 norm of the
        block's part of the text's row. `texts` holds each entry's text, of `count` texts."""
        block_of = self._block_of[features]
        tf = tf.astype(np.float64, copy=False)  # changed in place below: the caller's counts become the weights
        if self._sublinear.all():
            repeated = tf > 1  # most n-grams occur once in a text, and 1 + log 1 is 1: take the log of the others
            tf[repeated] = np.log(tf[repeated]) + 1
        elif self._sublinear.any():
            tf = np.where(self._sublinear[block_of], np.log(tf) + 1, tf)
        tf *= self._idf[features]
        part = texts * len(self.blocks)
        part += block_of  # a text has no entry in a block without known n-grams: no 0 / 0
        tf /= np.sqrt(np.bincount(part, tf * tf, minlength=count * len(self.blocks)))[part]
        return tf

    def _tfidf(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        texts = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        counts.data = self._weigh(counts.data, counts.indices, texts, counts.shape[0])
        return counts

    def _few_decisions(self, texts: np.ndarray, features: np.ndarray, count: int) -> np.ndarray:
        """Decision values of a few texts with dense NumPy (SciPy's per-call overhead would outweigh the work):
        count each (text, feature) once sorted, weight, and add each text's rows of the weights."""
        keys = np.sort(texts.astype(np.int64) * max(self.features, 1) + features)
        boundary = np.ones(len(keys) + 1, dtype=bool)  # where a run of one (text, feature) starts, and the end
        np.not_equal(keys[1:], keys[:-1], out=boundary[1:-1])
        edges = np.flatnonzero(boundary)
        texts, features = np.divmod(keys[edges[:-1]], max(self.features, 1))
        tf = self._weigh(np.diff(edges), features, texts, count)
        decision = np.tile(self.intercepts, (count, 1))
        for text in range(count):
            run = slice(*np.searchsorted(texts, [text, text + 1]))
            decision[text] += tf[run] @ self._weights.take(features[run], axis=0)  # take: a faster gather
        return decision

    def save(self, path: Path) -> None:
        """Write the scorer as one `.npz` of plain arrays (text as fixed-width Unicode; nothing pickled), and the
        embedding block's table, when it has one, as `EMBEDDING_TABLE_FILE` beside it."""
        config = {
            "format": self._format(),
            "heads": {
                head: {"classes": self.classes[head], "start": columns.start, "stop": columns.stop}
                for head, columns in self.head_slices.items()
            },
            "blocks": [
                {
                    "analyzer": block.analyzer,
                    "ngram_range": list(block.ngram_range),
                    "sublinear_tf": block.sublinear_tf,
                    "token_pattern": block.token_pattern,
                }
                for block in self.blocks
            ],
            "embedding": self.embedding.config() if self.embedding is not None else None,
        }
        arrays: dict[str, np.ndarray] = {"config": np.array(json.dumps(config)), "intercepts": self.intercepts}
        for number, block in enumerate(self.blocks):
            arrays |= {f"{number}.terms": block.terms, f"{number}.idf": block.idf, f"{number}.weights": block.weights}
        if self.embedding is not None:
            arrays |= self.embedding.arrays()
        with Path(path).open("wb") as handle:
            np.savez(handle, allow_pickle=False, **arrays)
        if self.embedding is not None:
            with (Path(path).parent / EMBEDDING_TABLE_FILE).open("wb") as handle:
                np.save(handle, self.embedding.encoder.attached_table, allow_pickle=False)

    def _format(self) -> int:
        if self.embedding is None:
            return 1
        return 3 if self.embedding.encoder.normalize else 4

    @classmethod
    def load(cls, path: Path, table: Callable[[], Path] | None = None) -> LinearScorer:
        """Read a scorer written by `save`, and for format 3 its embedding table from the file `table` gives (the
        bundle's, checked only when it is read); UnsupportedModel when the files are not ones this version reads, or
        the table is missing."""
        try:
            with np.load(path, allow_pickle=False) as arrays:
                config: dict[str, Any] = json.loads(str(arrays["config"]))
                if config.get("format") not in FORMATS:
                    raise UnsupportedModel(f"scorer format {config.get('format')!r}; this service reads {FORMATS}")
                blocks = [
                    make_block(
                        analyzer=str(spec["analyzer"]),
                        ngram_range=(int(spec["ngram_range"][0]), int(spec["ngram_range"][1])),
                        sublinear_tf=bool(spec["sublinear_tf"]),
                        token_pattern=str(spec["token_pattern"]),
                        terms=arrays[f"{number}.terms"],
                        idf=arrays[f"{number}.idf"].astype(np.float64),
                        weights=np.ascontiguousarray(arrays[f"{number}.weights"], dtype=np.float64),
                    )
                    for number, spec in enumerate(config["blocks"])
                ]
                heads = config["heads"]
                embedding = None
                if config.get("embedding") is not None:
                    embedding = EmbeddingBlock.from_arrays(arrays, config["format"], _table_reader(table))
                return cls(
                    blocks=blocks,
                    intercepts=arrays["intercepts"].astype(np.float64),
                    head_slices={head: slice(int(h["start"]), int(h["stop"])) for head, h in heads.items()},
                    classes={head: [str(label) for label in h["classes"]] for head, h in heads.items()},
                    embedding=embedding,
                )
        except UnsupportedModel:
            raise
        except (OSError, ValueError, KeyError, TypeError, IndexError, re.error) as error:
            raise UnsupportedModel(f"unreadable scorer {path}: {error}") from error


def _table_reader(table: Callable[[], Path] | None) -> Callable[[], np.ndarray]:
    """Reads the embedding table from the file `table` gives, when a block asks for it."""

    def read() -> np.ndarray:
        if table is None:
            raise UnsupportedModel(f"the scorer's embedding block needs its table file ({EMBEDDING_TABLE_FILE})")
        return np.load(table(), allow_pickle=False)

    return read
