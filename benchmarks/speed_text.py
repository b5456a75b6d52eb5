"""The text the speed benchmarks run on: real news sentences the model did not train on, each once, shuffled.

They come from the public sets in `../shared/data` (`training.sources`): every set's rows, AG News' descriptions
cut into sentences with the service's own splitter, duplicates dropped. A model trained on the corpus alone (`make
train`) has seen none of them; for a model whose manifest lists public files among its training data, only the
rows of their held-out `test` split are kept. The order is shuffled with a fixed seed, so most words of a batch
are new to a freshly loaded model's per-word caches, as they are for a user's own text.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from service.model.sentences import split_sentences
from training.sources import PUBLIC_FILES, SOURCES

SEED = 15


def trained_on_public(manifest: dict[str, Any]) -> bool:
    """Whether the bundle's training data lists a public file."""
    names = {Path(file).name for files in PUBLIC_FILES.values() for file in files}
    files = (manifest.get("training_data") or {}).get("files") or []
    return any(Path(str(entry.get("path", ""))).name in names for entry in files if isinstance(entry, dict))


def unseen_sentences(public_dir: Path, manifest: dict[str, Any]) -> list[str]:
    """Every distinct public-set sentence the bundle of `manifest` did not train on, shuffled."""
    held_out_only = trained_on_public(manifest)
    found: dict[str, None] = {}
    for name, files in PUBLIC_FILES.items():
        source = SOURCES[name]
        for file in files:
            path = public_dir / file
            for text, _ in source.read(path):
                if not isinstance(text, str) or (held_out_only and source.split(path, text) != "test"):
                    continue
                for span in split_sentences(text):
                    found.setdefault(" ".join(span.text.split()))
    sentences = [sentence for sentence in found if sentence]
    random.Random(SEED).shuffle(sentences)
    return sentences
