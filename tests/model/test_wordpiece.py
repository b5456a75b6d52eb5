"""The WordPiece shortcut for printable-ASCII words against the tokenizer itself, word by word."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from tokenizers import Tokenizer

from service.model.embedding import StaticEncoder
from service.model.wordpiece import AsciiWordPieces
from training.data import Example
from training.embeddings import load_encoder

# Hard cases: punctuation inside and around words, case, digits, pieces that are not tokens of their own, words
# longer than WordPiece's 100 characters, the tokenizer's reserved tokens, and what the shortcut leaves alone.
ODD_WORDS = [
    "U.S.", "(U.N.)", "don't", "Iran's", "e-mail", "#1", "3.5%", "$1.2bn", "~~", "...", "--", "a/b\\c", "`quoted`",
    "https://example.org/a?b=c&d=e", "x@y.com", "UNESCO", "Tehranistanization", "qzxwv", "##ing", "[", "]",
    "[UNK]", "x[PAD]y", "[SEP]", "a" * 100, "a" * 101, "ab" * 60 + ".", "A" * 101 + "!", "Hello,world", "{1:2}",
    "naïve", "İstanbul", "北京", "😀", "\x7f", "a\x00b", "tab\tless", "ΟΔΟΣ",
]  # fmt: skip


@pytest.fixture(scope="module")
def encoder() -> StaticEncoder:
    return load_encoder()


def tokenizer_only(encoder: StaticEncoder) -> StaticEncoder:
    return replace(encoder, ascii_pieces=None)


def test_the_encoder_has_the_shortcut(encoder: StaticEncoder) -> None:
    assert isinstance(encoder.ascii_pieces, AsciiWordPieces)


def test_same_tokens_as_the_tokenizer(encoder: StaticEncoder, corpus: list[Example]) -> None:
    """Every word of the corpus and the odd words above: the same tokens and counts with and without it."""
    words = list(dict.fromkeys([*ODD_WORDS, *(word for example in corpus for word in example.text.split())]))
    shortcut, plain = encoder.analyse(words), tokenizer_only(encoder).analyse(words)
    assert shortcut.keys() == plain.keys()
    for name in shortcut:
        for ours, theirs in zip(shortcut[name], plain[name], strict=True):
            np.testing.assert_array_equal(ours, theirs, err_msg=name)


def test_word_by_word_against_the_tokenizer(encoder: StaticEncoder) -> None:
    assert encoder.ascii_pieces is not None
    handled, ids, counts = encoder.ascii_pieces.tokenize(ODD_WORDS)
    taken = [word for word, took in zip(ODD_WORDS, handled, strict=True) if took]
    # Every printable-ASCII word without the "[" that starts the tokenizer's reserved tokens.
    assert taken == [word for word in ODD_WORDS[: ODD_WORDS.index("naïve")] if "[" not in word]
    per_word = np.split(ids, np.cumsum(counts)[:-1])
    for word, word_ids in zip(taken, per_word, strict=True):
        assert word_ids.tolist() == encoder.tokenizer.encode(word, add_special_tokens=False).ids, word


def test_words_holding_a_reserved_token_go_to_the_tokenizer(encoder: StaticEncoder) -> None:
    """An added token ("[UNK]") is found in the raw text before anything else: the shortcut leaves such words."""
    added = [token.content for token in encoder.tokenizer.get_added_tokens_decoder().values()]
    assert added
    assert encoder.ascii_pieces is not None
    handled, ids, counts = encoder.ascii_pieces.tokenize([f"x{added[0]}y", "plain"])
    assert handled.tolist() == [False, True]
    assert len(counts) == 1 and counts.sum() == len(ids)


def test_no_words(encoder: StaticEncoder) -> None:
    assert encoder.ascii_pieces is not None
    handled, ids, counts = encoder.ascii_pieces.tokenize([])
    assert (len(handled), len(ids), len(counts)) == (0, 0, 0)


@pytest.mark.parametrize(
    "change",
    [
        lambda config: config["normalizer"].update(lowercase=False),
        lambda config: config.update(normalizer=None),
        lambda config: config.update(pre_tokenizer={"type": "Whitespace"}),
    ],
)
def test_no_shortcut_for_another_kind_of_tokenizer(encoder: StaticEncoder, change: object) -> None:
    config = json.loads(encoder.tokenizer_json)
    change(config)  # type: ignore[operator]
    tokenizer = Tokenizer.from_str(json.dumps(config))
    assert AsciiWordPieces.of(tokenizer, tokenizer.get_vocab()) is None
    assert StaticEncoder.build(None, json.dumps(config)).ascii_pieces is None
