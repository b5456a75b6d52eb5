"""Fit TF-IDF features once and one linear model per head, then write a versioned bundle."""

from __future__ import annotations

import hashlib
import platform
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from service.bundle import HEADS, Bundle, sha256_file, write_bundle
from training.data import Example, labeled_files
from training.evaluate import evaluate
from training.sources import parse_spec

DEFAULT_PARAMS: dict[str, Any] = {
    "word_ngram_range": [1, 2],
    "char_ngram_range": [2, 5],
    "min_df": 2,
    "sublinear_tf": True,
    "C": 4.0,
    "class_weight": "balanced",
    "max_iter": 3000,
    "dev_fraction": 0.15,
    "seed": 13,
}


@dataclass(frozen=True)
class Split:
    train: list[Example]
    dev: list[Example]


def split_examples(examples: list[Example], dev_fraction: float, seed: int) -> Split:
    """Use the rows' own `split` when they have one; otherwise hold out a seeded random dev fraction.

    Rows marked `test` are never used here: they are for `stance evaluate` only.
    """
    marked = [ex for ex in examples if ex.split is not None]
    unmarked = [ex for ex in examples if ex.split is None]
    train = [ex for ex in marked if ex.split == "train"]
    dev = [ex for ex in marked if ex.split == "dev"]
    order = list(range(len(unmarked)))
    random.Random(seed).shuffle(order)
    cut = round(len(unmarked) * dev_fraction)
    dev += [unmarked[i] for i in order[:cut]]
    train += [unmarked[i] for i in order[cut:]]
    return Split(train=train, dev=dev)


def build_vectorizer(params: dict[str, Any]) -> FeatureUnion:
    """Word and character n-gram TF-IDF, fitted once and shared by every head."""
    common = {
        "min_df": params["min_df"],
        "sublinear_tf": params["sublinear_tf"],
        "lowercase": True,
        "dtype": numpy.float64,
    }
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(analyzer="word", ngram_range=tuple(params["word_ngram_range"]), **common)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(params["char_ngram_range"]), **common)),
        ]
    )


def fit(train: list[Example], params: dict[str, Any]) -> tuple[FeatureUnion, dict[str, LogisticRegression]]:
    """Fit the vectorizer on every training text, then one classifier per head on the rows labeled for it."""
    vectorizer = build_vectorizer(params)
    features = vectorizer.fit_transform([ex.text for ex in train])
    heads: dict[str, LogisticRegression] = {}
    for head in HEADS:
        rows = [i for i, ex in enumerate(train) if head in ex.labels]
        labels = [train[i].labels[head] for i in rows]
        if len(set(labels)) < 2:
            continue  # a head needs at least two labels to learn anything; it is left out of the bundle
        classifier = LogisticRegression(
            C=params["C"], class_weight=params["class_weight"], max_iter=params["max_iter"], random_state=params["seed"]
        )
        heads[head] = classifier.fit(features[rows], labels)
    if not heads:
        raise ValueError("no head has training rows with at least two different labels")
    return vectorizer, heads


def data_fingerprint(specs: list[str | Path]) -> dict[str, Any]:
    """SHA-256 of every file read, and of them all together."""
    files = []
    for spec in specs:
        source, path = parse_spec(str(spec))
        for file in [path] if source else labeled_files(path):
            files.append({"path": f"{source}:{file}" if source else str(file), "sha256": sha256_file(file)})
    combined = hashlib.sha256("".join(f["sha256"] for f in files).encode()).hexdigest()
    return {"sha256": combined, "files": files}


def new_version(out_dir: Path, now: datetime) -> str:
    """A sortable timestamp, with a counter when several bundles are trained within one second."""
    base = now.strftime("%Y%m%d-%H%M%S")
    version, counter = base, 1
    while (out_dir / version).exists():
        counter += 1
        version = f"{base}-{counter}"
    return version


def train_bundle(
    examples: list[Example], data_specs: list[str | Path], out_dir: Path, params: dict[str, Any] | None = None
) -> Path:
    """Train on `examples`, score the dev rows through the service's predict, and write the bundle."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    split = split_examples(examples, params["dev_fraction"], params["seed"])
    vectorizer, heads = fit(split.train, params)
    now = datetime.now(UTC)
    version = new_version(out_dir, now)
    # Score through the service's own predict, so the manifest's metrics are those of what will be served.
    in_memory = Bundle(path=out_dir / version, manifest={"version": version}, vectorizer=vectorizer, heads=heads)
    dev_report = evaluate(in_memory, split.dev) if split.dev else {"heads": {}}
    manifest = {
        "created": now.isoformat(timespec="seconds"),
        "heads": {head: [str(label) for label in classifier.classes_] for head, classifier in heads.items()},
        "hyperparameters": params,
        "training_data": {
            **data_fingerprint(data_specs),
            "rows": {"train": len(split.train), "dev": len(split.dev)},
            "rows_per_head": {
                head: {
                    "train": sum(head in ex.labels for ex in split.train),
                    "dev": sum(head in ex.labels for ex in split.dev),
                }
                for head in HEADS
            },
        },
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": numpy.__version__,
            "joblib": joblib.__version__,
        },
        "metrics": {
            "dev": {
                head: {"macro_f1": s["macro_f1"], "accuracy": s["accuracy"], "n": s["n"]}
                for head, s in dev_report["heads"].items()
            }
        },
    }
    return write_bundle(out_dir, version, vectorizer, heads, manifest)
