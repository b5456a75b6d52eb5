"""Fast scoring of a compiled TF-IDF + logistic-regression model, for one sentence or a batch.

A compiled model (`training.compile` makes one from the fitted scikit-learn objects) holds, per TF-IDF block of
the feature union, the vocabulary in column order, the idf, and one weight row per feature with every head's
coefficients (`service.model.ngrams`); and the heads' intercepts. It is saved as plain NumPy arrays (`save`/`load`, no
pickle), so serving needs neither scikit-learn nor unpickling. A batch's words are looked up once for all blocks
(`service.model.words`); per block, the texts' n-gram counts are weighted and multiplied by the block's weights,
and the products divided by the rows' norms give its share of every head's decision values (the same as weighting
each entry by its row's norm first, in a few numbers per text instead of one per n-gram); a softmax per head gives
the probabilities. They equal the fitted models' own `predict_proba` (a test checks the whole test split to 1e-9).

A model may also have a dense sentence-embedding block (`service.model.embedding`): the table, its tokenizer
and the heads' coefficients for its dimensions, saved in the same file; it adds its share to the decision values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
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
        self._words = WordTable(self._analyse)

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
        decision = np.tile(self.intercepts, (len(texts), 1))
        share = self._few_texts_share if len(texts) <= SMALL_BATCH else self._share
        for number in range(len(self.blocks)):
            decision += share(number, found)
        if self.embedding is not None:
            decision += self.embedding.scores(texts, found)
        return decision

    def _share(self, number: int, found: Found) -> np.ndarray:
        """A block's share of the decision values of a lookup's texts: its tf-idf rows times its weights, divided
        by the rows' norms (the product's rows are a dozen numbers; the rows of tf-idf, hundreds)."""
        weighted = self._weighted_counts(number, found)
        return (weighted @ self.blocks[number].weights) / _row_norms(weighted)[:, None]

    def tfidf(self, found: Found) -> sp.csr_matrix:
        """Normalized tf-idf rows, one per text of a `lookup`, features numbered across the blocks and sorted: what
        the fitted vectorizers' transforms give, side by side."""
        parts = [sp.csr_matrix((len(found.words.lengths), 0))]
        for number in range(len(self.blocks)):
            weighted = self._weighted_counts(number, found)
            weighted.data /= np.repeat(_row_norms(weighted), np.diff(weighted.indptr))
            parts.append(weighted)
        matrix = sp.hstack(parts, format="csr")
        matrix.sort_indices()
        return matrix

    def _analyse(self, words: list[str]) -> Analysis:
        """What each word contributes to every block (`WordTable`): per block, the columns of its n-grams
        (`columns.<block>`) and for a block with bigrams the ids of its first and last token (`edges.<block>`);
        and what the embedding block finds in it (`StaticEncoder.analyse`)."""
        lowered = [word.lower() for word in words]
        analysis: Analysis = {}
        for number, block in enumerate(self.blocks):
            analysis |= {f"{name}.{number}": rows for name, rows in block.analyse(lowered).items()}
        if self.embedding is not None:
            analysis |= self.embedding.encoder.analyse(words)
        return analysis

    def _weighted_counts(self, number: int, found: Found) -> sp.csr_matrix:
        """A block's tf-idf rows before their norm, one per text of a lookup (`Block.weigh` of `_counts`)."""
        counts = self._counts(number, found)
        counts.data = self.blocks[number].weigh(counts.data, counts.indices)
        return counts

    def _counts(self, number: int, found: Found) -> sp.csr_matrix:
        """How often each known n-gram of a block occurs in each text (each n-gram once per row, unsorted), by one
        product: (texts x items) @ (items x n-grams), the items being the distinct words and the bigrams across
        words (a bigram's row holds its one column)."""
        columns, lengths = found.rows[f"columns.{number}"].gather(found.numbers)
        texts, row_of, items = len(found.words.lengths), found.words.text_of, found.words.sequence
        across = self._across(number, found)
        if across is not None:  # the bigrams across words, after the words: their texts' rows get them
            text, column = across
            row_of = np.concatenate([row_of, text])
            order = np.argsort(row_of, kind="stable")
            items = np.concatenate([items, np.arange(len(lengths), len(lengths) + len(column))])[order]
            columns = np.concatenate([columns, column])
            lengths = np.concatenate([lengths, np.ones(len(column), dtype=np.intp)])
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of, minlength=texts))])
        by_text = sp.csr_matrix((np.ones(len(items)), items, indptr), shape=(texts, len(lengths)))
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        per_item = sp.csr_matrix(
            (np.ones(len(columns)), columns, indptr), shape=(len(lengths), len(self.blocks[number].idf))
        )
        return by_text @ per_item

    def _across(self, number: int, found: Found) -> tuple[np.ndarray, np.ndarray] | None:
        """(text, column) of each bigram across two words, for a word block with bigrams; else None."""
        block = self.blocks[number]
        if f"edges.{number}" not in found.rows or not isinstance(block, WordBlock):
            return None
        edges, _ = found.rows[f"edges.{number}"].gather(found.occurrence_numbers)
        return block.across(edges.reshape(-1, 2), found.words.text_of)

    def _few_texts_share(self, number: int, found: Found) -> np.ndarray:
        """`_share` of a few texts in NumPy alone (SciPy's per-call overhead would outweigh the work): each (text,
        n-gram) occurrence, counted once sorted, weighted, and each text's rows of the weights added up."""
        block, count = self.blocks[number], len(found.words.lengths)
        columns, lengths = found.rows[f"columns.{number}"].gather(found.occurrence_numbers)
        texts, features = np.repeat(found.words.text_of, lengths), columns
        across = self._across(number, found)
        if across is not None:
            texts, features = np.concatenate([texts, across[0]]), np.concatenate([features, across[1]])
        width = max(len(block.idf), 1)
        keys = np.sort(texts.astype(np.int64) * width + features)
        boundary = np.ones(len(keys) + 1, dtype=bool)  # where a run of one (text, n-gram) starts, and the end
        np.not_equal(keys[1:], keys[:-1], out=boundary[1:-1])
        edges = np.flatnonzero(boundary)
        texts, features = np.divmod(keys[edges[:-1]], width)
        tf = block.weigh(np.diff(edges), features)
        tf /= np.sqrt(np.bincount(texts, tf * tf, minlength=count))[texts]
        share = np.zeros((count, len(self.intercepts)))
        if len(texts):
            starts = np.flatnonzero(np.diff(texts, prepend=-1))  # each text's first entry (texts without one have none)
            share[texts[starts]] = np.add.reduceat(block.weights.take(features, axis=0) * tf[:, None], starts)
        return share

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


def _row_norms(matrix: sp.csr_matrix) -> np.ndarray:
    """Each row's L2 norm; 1 for an empty row (whose products are 0 anyway)."""
    squares = np.zeros(matrix.nnz + 1)  # the last 0 is what empty rows at the end sum
    np.multiply(matrix.data, matrix.data, out=squares[:-1])
    sums = np.add.reduceat(squares, matrix.indptr[:-1])
    sums[np.diff(matrix.indptr) == 0] = 1.0
    return np.sqrt(sums)


def _table_reader(table: Callable[[], Path] | None) -> Callable[[], np.ndarray]:
    """Reads the embedding table from the file `table` gives, when a block asks for it."""

    def read() -> np.ndarray:
        if table is None:
            raise UnsupportedModel(f"the scorer's embedding block needs its table file ({EMBEDDING_TABLE_FILE})")
        return np.load(table(), allow_pickle=False)

    return read
