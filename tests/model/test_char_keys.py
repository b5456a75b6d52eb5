"""The NumPy lookup of character n-grams (`service.model.char_keys`) finds, word for word, the columns that a
dictionary lookup of each n-gram string finds (`CharBlock._find`, scikit-learn's `char_wb` n-grams)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from service.model.char_keys import CharKeys
from service.model.ngrams import CharBlock
from tests.model.test_embedding import FIXTURE_TEXTS

ODD_WORDS = ["a", "ab", "é", "ΟΔΟΣ".lower(), "x\ud800y", "😀😀", "a" * 300, "naïve", "[unk]", "##ing", "\x00", "zzzzq"]


def block_of(ngram_range: tuple[int, int], texts: list[str]) -> CharBlock:
    fitted = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range).fit(texts)
    terms = fitted.get_feature_names_out()
    return CharBlock(
        analyzer="char_wb",
        ngram_range=ngram_range,
        sublinear_tf=False,
        token_pattern="",
        terms=terms.astype(str),
        idf=fitted.idf_,
        weights=np.zeros((len(terms), 2)),
    )


@pytest.mark.parametrize("ngram_range", [(2, 5), (1, 3), (3, 5), (1, 1)])
def test_same_columns_as_a_dictionary_lookup(ngram_range: tuple[int, int]) -> None:
    block = block_of(ngram_range, [*FIXTURE_TEXTS[:40], "Ünïcödé café 😀"])
    keys = CharKeys(block.terms.tolist(), ngram_range)
    assert keys.fits
    words = list(dict.fromkeys(" ".join(FIXTURE_TEXTS).lower().split())) + ODD_WORDS
    columns, lengths = keys.columns_of(words)
    assert lengths.sum() == len(columns)
    for word, start, length in zip(words, np.cumsum(lengths) - lengths, lengths, strict=True):
        found = columns[start : start + length]
        np.testing.assert_array_equal(np.sort(found), np.sort(block._find(word)), err_msg=word)
    assert all(len(array) == 0 for array in keys.columns_of([]))


def test_a_vocabulary_whose_keys_would_not_fit_is_left_to_the_dictionary() -> None:
    many_characters = [chr(0x4E00 + number) for number in range(5000)]
    assert not CharKeys(many_characters, (2, 5)).fits
    assert not CharKeys(["abcd"], (4, 6)).fits  # a padded one-letter word is shorter than the shortest n-gram
