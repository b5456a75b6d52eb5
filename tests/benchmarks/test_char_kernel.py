"""The numba kernel of `make bench-kernel` (`benchmarks.char_kernel`) finds, word for word and in the same order, the
columns the runtime's NumPy lookup finds (`CharKeys.columns_of`); its compiled block scores texts as the runtime's
`CharBlock`; and the benchmark's verdict reads its figures.

numba is in the `dev` extra as well as `bench`, so `make test` (which installs `dev`) runs these tests rather than
skipping them: the kernel's exactness is the condition for measuring its speed at all."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmarks.char_kernel import CompiledCharBlock, HashedCharKeys
from benchmarks.kernel import render
from benchmarks.kernel_start import settings
from service.model.char_keys import CharKeys
from service.model.ngrams import CharBlock, TextWords
from tests.model.test_char_keys import ODD_WORDS, block_of
from tests.model.test_embedding import FIXTURE_TEXTS

# Outside the vocabulary below: a CJK word, an emoji, a control character, and a known letter beside an unknown one.
UNKNOWN = ["北京", "☃", "\x07", "aé", "q"]


@pytest.mark.parametrize("ngram_range", [(2, 5), (1, 3), (3, 5), (1, 1)])
def test_the_kernel_finds_the_columns_of_the_numpy_lookup(ngram_range: tuple[int, int]) -> None:
    block = block_of(ngram_range, [*FIXTURE_TEXTS[:40], "Ünïcödé café 😀"])
    keys = CharKeys(block.terms.tolist(), ngram_range)
    words = list(dict.fromkeys(" ".join(FIXTURE_TEXTS).lower().split())) + ODD_WORDS + UNKNOWN
    hashed = HashedCharKeys(keys)
    for word, expected, found in zip(words, keys.columns_of(words), hashed.columns_of(words), strict=True):
        np.testing.assert_array_equal(found, expected, err_msg=word)
    assert hashed.columns_of([]) == []


def test_one_letter_and_unknown_words() -> None:
    """A padded one-letter word is its one trigram; a word of unknown characters has no column."""
    block = block_of((2, 5), ["a cat sat"])
    hashed = HashedCharKeys(CharKeys(block.terms.tolist(), (2, 5)))
    a, unknown, cat = hashed.columns_of(["a", "北京", "cat"])
    assert sorted(block.terms[a]) == [" a", " a ", "a "] and len(unknown) == 0
    assert {" cat ", "at "} <= set(block.terms[cat])


def test_a_vocabulary_whose_keys_would_not_fit_is_refused() -> None:
    with pytest.raises(ValueError, match="fit"):
        HashedCharKeys(CharKeys(["abcd"], (4, 6)))


def test_the_compiled_block_scores_texts_as_the_runtime_block() -> None:
    block = block_of((2, 5), [*FIXTURE_TEXTS[:40], "Ünïcödé café 😀"])
    made_from = settings(block) | {
        "sublinear_tf": True,
        "weights": np.random.default_rng(15).normal(size=(len(block.idf), 3)),
    }
    texts = TextWords([*FIXTURE_TEXTS[40:60], "", "北京 ☃", "a a a a", "Ünïcödé café café"])
    for sublinear in (True, False):
        expected = CharBlock(**made_from | {"sublinear_tf": sublinear}).scores(texts)
        found = CompiledCharBlock(**made_from | {"sublinear_tf": sublinear}).scores(texts)
        np.testing.assert_allclose(found, expected, rtol=0, atol=1e-12)
    assert not found[-4].any() and not found[-3].any() and found[-2].any()  # no known n-gram: a zero row


def results(saved: float, from_cache: float, mismatched: int = 0, difference: float = 1e-15) -> dict[str, Any]:
    """Figures of a run: a 10-second job; the compiled block saves `saved` of it, the lookup a tenth of that."""
    return {
        "sentences": 1000,
        "words": 5000,
        "chunks": 2,
        "batches": 2,
        "batch_words": 4000,
        "mismatched": mismatched,
        "seconds": {
            "numpy batches": 1.0,
            "numba batches": 1.0 - saved,
            "numpy all": 0.8,
            "numba all": 0.2,
            "numpy block": 3.0,
            "numba block": 3.0 - 10 * saved,
            "difference": difference,
        },
        "one_off": {"import": 0.05, "compile": 2.0, "from_cache": from_cache, "compiled": 0.001},
        "cold_start": 1.5,
        "install_mb": 200.0,
        "classify": {"seconds": 10.0, "profiled": 20.0, "lookup": 0.8},
    }


def test_the_verdict_weighs_the_saving_against_the_start_up_cost() -> None:
    small_saving = render(results(saved=0.05, from_cache=0.05))
    assert "**Verdict: not kept**" in small_saving
    assert (
        "the compiled lookup saves 0.5% of a `stance classify` job and the whole char block compiled 5.0%"
        in small_saving
    )
    assert "for all 5,000 distinct words (0 differ)" in small_saving and "**4.0%**" in small_saving
    assert "**Verdict: kept**" in render(results(saved=0.2, from_cache=0.05))
    assert "**Verdict: not kept**" in render(results(saved=0.2, from_cache=0.5))  # a third of the cold start
    inexact = render(results(saved=0.2, from_cache=0.05, mismatched=3))
    assert "NOT all 5,000 distinct words (3 differ)" in inexact and "**Verdict: not kept**" in inexact
    assert "**Verdict: not kept**" in render(results(saved=0.2, from_cache=0.05, difference=1e-6))
