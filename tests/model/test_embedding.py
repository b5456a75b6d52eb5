"""The sentence-embedding block: the runtime's encoder against model2vec's own output, and its place in bundles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from service.model.bundle import SCORER_FILE, Bundle, BundleError, load_bundle, sha256_file
from service.model.embedding import MAX_TOKENS, EmbeddingBlock, StaticEncoder
from service.model.linear import EMBEDDING_TABLE_FILE, LinearScorer
from service.model.ngrams import UnsupportedModel
from service.model.words import TextWords
from training.embeddings import EMBEDDINGS_DIR, FIXTURE, MANIFEST_FILE, TABLE_FILE, load_encoder

# model2vec's `StaticModel.encode(texts, normalize=True)` with the committed table, written by
# `python -m training.embeddings fixture` (part of `make embeddings`).
with np.load(FIXTURE, allow_pickle=False) as _fixture:
    FIXTURE_TEXTS = [str(text) for text in _fixture["texts"]]
    FIXTURE_VECTORS = _fixture["vectors"].astype(np.float64)


@pytest.fixture(scope="module")
def encoder() -> StaticEncoder:
    return load_encoder()


@pytest.fixture(scope="module")
def normalizing(encoder: StaticEncoder) -> StaticEncoder:
    """The encoder of scorer formats 2 and 3, which divide the mean by its norm."""
    return StaticEncoder.build(encoder.table, encoder.tokenizer_json, normalize=True)


def test_equal_to_model2vec_encode(normalizing: StaticEncoder) -> None:
    assert len(FIXTURE_TEXTS) >= 50
    np.testing.assert_allclose(normalizing.vectors(FIXTURE_TEXTS), FIXTURE_VECTORS, rtol=0, atol=1e-6)


def test_the_mean_is_the_mean_of_the_tokens_rows(encoder: StaticEncoder) -> None:
    """New models' vectors: the plain mean of the text's token rows, which model2vec's normalised output is the
    direction of."""
    texts = [*FIXTURE_TEXTS[:20], "Pakistan and Iran agreed.", "word " * 600]
    vectors = encoder.vectors(texts)
    assert encoder.table is not None
    whole_text = Tokenizer.from_str(encoder.tokenizer_json)
    for row, text in enumerate(texts):
        ids = [i for i in whole_text.encode(text[: encoder.max_chars], add_special_tokens=False).ids[:MAX_TOKENS]]
        expected = encoder.table[[i for i in ids if i != encoder.unk_id]].astype(np.float64).mean(axis=0)
        np.testing.assert_allclose(vectors[row], expected, rtol=0, atol=1e-12, err_msg=text[:60])
    norms = np.linalg.norm(vectors[: len(FIXTURE_TEXTS[:20])], axis=1, keepdims=True)
    np.testing.assert_allclose(vectors[:20] / norms, FIXTURE_VECTORS[:20], rtol=0, atol=1e-6)


def test_the_blocks_share_is_the_mean_of_its_tokens_weights(bundle: Bundle, normalizing: StaticEncoder) -> None:
    """A mean-pooled block scores from `table @ weights` without building vectors; a normalising one (formats 2
    and 3) from its vectors; both as their vectors times the weights."""
    assert bundle.scorer.embedding is not None
    block = bundle.scorer.embedding
    assert not block.encoder.normalize
    texts = [*FIXTURE_TEXTS, "", " \n "]
    np.testing.assert_allclose(block.scores(texts), block.encoder.vectors(texts) @ block.weights, rtol=0, atol=1e-12)
    old = EmbeddingBlock(normalizing, block.weights)
    np.testing.assert_allclose(old.scores(texts), normalizing.vectors(texts) @ block.weights, rtol=0, atol=1e-12)
    one_by_one = np.vstack([block.scores([text]) for text in texts])
    np.testing.assert_array_equal(one_by_one, block.scores(texts))


def test_equal_text_by_text(encoder: StaticEncoder) -> None:
    one_by_one = np.vstack([encoder.vectors([text]) for text in FIXTURE_TEXTS])
    np.testing.assert_allclose(one_by_one, encoder.vectors(FIXTURE_TEXTS), rtol=0, atol=1e-12)


def test_unit_length_or_zero(normalizing: StaticEncoder) -> None:
    norms = np.linalg.norm(normalizing.vectors([*FIXTURE_TEXTS, "", " \n "]), axis=1)
    assert set(np.round(norms, 9)) == {0.0, 1.0}
    assert normalizing.vectors([]).shape == (0, normalizing.dims)


def test_the_bundle_carries_the_table_and_tokenizer(bundle: Bundle, encoder: StaticEncoder) -> None:
    """The service scores from the token weights alone; the table is in the bundle, read only when asked for."""
    fresh = load_bundle(bundle.path)
    assert fresh.scorer.embedding is not None
    fresh.scorer.probability_matrix(FIXTURE_TEXTS)
    assert fresh.scorer.embedding.encoder.table is None
    assert bundle.scorer.embedding is not None
    served = bundle.scorer.embedding.encoder
    np.testing.assert_array_equal(served.table, encoder.table)
    np.testing.assert_allclose(served.vectors(FIXTURE_TEXTS), encoder.vectors(FIXTURE_TEXTS), rtol=0, atol=1e-12)


def test_a_normalising_block_round_trips_as_format_3(
    bundle: Bundle, normalizing: StaticEncoder, tmp_path: Path
) -> None:
    """Scorers saved before mean pooling (formats 2 and 3) still load, and still normalise."""
    assert bundle.scorer.embedding is not None
    old = LinearScorer(
        blocks=bundle.scorer.blocks,
        intercepts=bundle.scorer.intercepts,
        head_slices=bundle.scorer.head_slices,
        classes=bundle.scorer.classes,
        embedding=EmbeddingBlock(normalizing, bundle.scorer.embedding.weights),
    )
    old.save(tmp_path / SCORER_FILE)
    with np.load(tmp_path / SCORER_FILE) as arrays:
        config = json.loads(str(arrays["config"]))
    assert config["format"] == 3
    del config["embedding"]["normalize"]  # as format 3 scorers were written
    with np.load(tmp_path / SCORER_FILE) as arrays:
        contents = dict(arrays)
    np.savez(tmp_path / SCORER_FILE, **{**contents, "config": np.array(json.dumps(config))})
    loaded = LinearScorer.load(tmp_path / SCORER_FILE, lambda: tmp_path / EMBEDDING_TABLE_FILE)
    assert loaded.embedding is not None and loaded.embedding.encoder.normalize
    np.testing.assert_array_equal(loaded.probability_matrix(FIXTURE_TEXTS), old.probability_matrix(FIXTURE_TEXTS))


def test_the_table_matches_its_manifest() -> None:
    manifest = json.loads((EMBEDDINGS_DIR / MANIFEST_FILE).read_text(encoding="utf-8"))
    table = np.load(EMBEDDINGS_DIR / TABLE_FILE, allow_pickle=False)
    assert table.dtype == np.float16
    assert list(table.shape) == [manifest["tokens"], manifest["dimensions"]]
    assert manifest["source_licence"] == "Apache-2.0"
    assert sum(path.stat().st_size for path in EMBEDDINGS_DIR.iterdir()) < 16 * 1024 * 1024


def test_a_table_that_does_not_fit_its_tokenizer_is_refused(encoder: StaticEncoder) -> None:
    with pytest.raises(UnsupportedModel, match="shape"):
        StaticEncoder.build(encoder.table[:-1], encoder.tokenizer_json)
    with pytest.raises(UnsupportedModel, match="tokenizer"):
        StaticEncoder.build(encoder.table, "{not json")


def test_a_damaged_tokenizer_in_the_scorer_is_a_bundle_error(bundle: Bundle, tmp_path: Path) -> None:
    copy = tmp_path / bundle.version
    shutil.copytree(bundle.path, copy)
    with np.load(copy / SCORER_FILE) as arrays:
        contents = dict(arrays)
    contents["embedding.tokenizer"] = contents["embedding.tokenizer"][:100]
    np.savez(copy / SCORER_FILE, **contents)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"][SCORER_FILE]["sha256"] = sha256_file(copy / SCORER_FILE)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="can't be served"):
        load_bundle(copy)


def test_a_scorer_without_the_block_still_round_trips(bundle: Bundle, tmp_path: Path) -> None:
    plain = LinearScorer(
        blocks=bundle.scorer.blocks,
        intercepts=bundle.scorer.intercepts,
        head_slices=bundle.scorer.head_slices,
        classes=bundle.scorer.classes,
    )
    plain.save(tmp_path / SCORER_FILE)
    loaded = LinearScorer.load(tmp_path / SCORER_FILE)
    assert loaded.embedding is None
    for head, matrix in plain.probabilities(FIXTURE_TEXTS[:20]).items():
        np.testing.assert_array_equal(loaded.probabilities(FIXTURE_TEXTS[:20])[head], matrix)


def test_tokens_word_by_word_are_the_tokenizers_of_the_whole_text(encoder: StaticEncoder) -> None:
    """The tokens kept per word give every text exactly the tokens the tokenizer finds in the whole text."""
    odd = ["ΟΔΟΣ ΣΑΣ", "a\x1cb c", "x\u2028y", "naïve café", "word " * 600, "l'ONU (U.N.) a-b", "İstanbul", "\t\n"]
    odd += ["x[UNK]y [SEP]", "a" * 150 + " b", "北京和 東京 😀", "e\u0301te\u0301 \x00ab\x7f"]
    texts = [*FIXTURE_TEXTS, *odd]
    counts = encoder._token_counts(texts, encoder._words.lookup(TextWords(texts)))
    whole_text = Tokenizer.from_str(encoder.tokenizer_json)  # as model2vec sets it up: truncation at MAX_TOKENS
    whole_text.no_padding()
    whole_text.enable_truncation(MAX_TOKENS)
    for row, text in enumerate(texts):
        ids = whole_text.encode(text[: encoder.max_chars], add_special_tokens=False).ids
        expected = np.bincount([i for i in ids if i != encoder.unk_id], minlength=counts.shape[1])
        np.testing.assert_array_equal(counts[row].toarray().ravel(), expected, err_msg=text[:60])


def test_the_fitted_objects_keep_the_table_out(bundle: Bundle) -> None:
    """model.joblib holds the encoder without its table; loading the fitted objects gives it the bundle's back."""
    import pickle

    from training.fitted import load_fitted

    assert bundle.scorer.embedding is not None
    encoder = bundle.scorer.embedding.encoder
    assert len(pickle.dumps(encoder)) < encoder.table.nbytes / 10
    vectorizer, _ = load_fitted(bundle.path)
    (fitted_encoder,) = [part.encoder for _, part in vectorizer.transformer_list if hasattr(part, "encoder")]
    np.testing.assert_array_equal(fitted_encoder.table, encoder.table)
