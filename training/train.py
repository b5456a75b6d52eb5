"""Fit TF-IDF features once and one linear model per head, then write a versioned bundle."""

from __future__ import annotations

import hashlib
import platform
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion

from service.model.bundle import FITTED_FILE, HEADS, Bundle, sha256_file, write_bundle
from training.compile import compile_scorer
from training.data import labeled_files
from training.embeddings import SentenceEmbedding, load_encoder
from training.evaluate import evaluate
from training.examples import Example
from training.masked import MaskedLogisticRegression
from training.sources import UNCODED, parse_spec
from training.thresholds import threshold_rows, thresholds_on

DEFAULT_PARAMS: dict[str, Any] = {
    "word_ngram_range": [1, 2],
    "char_ngram_range": [2, 5],
    "min_df": 2,
    "sublinear_tf": True,
    # The sentence-embedding block (data/embeddings) beside the TF-IDF blocks (`make levers` measures it).
    "embedding": True,
    # Divide the block's mean vector by its norm (as scorers before format 4 did). Left out: the mean alone lets the
    # service score a token at a time from `table @ weights`, for 0.006 macro-F1 less on average over `make levers`'
    # dev portions (docs/models.md).
    "embedding_normalize": False,
    # Each head's C, chosen on the dev portions of the corpus and every public set together (`make levers`);
    # with several values, C is chosen from them by cross-validation on train instead.
    "C_grid": [4.0],
    # A row competes only among the labels its source uses (training/masked.py).
    "label_masks": True,
    "cv_folds": 3,
    "class_weight": "balanced",
    "source_weights": {},  # sample weight per source (`own` for plain files, else the public source's prefix)
    # A head is confident where the accuracy of its kept predictions reaches this, on the dev split and the public
    # sets' dev rows together (train_bundle's `public_dev`).
    "confident_precision": 0.85,
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
    """Word and character n-gram TF-IDF (and the sentence-embedding block), fitted once, shared by every head."""
    common = {
        "min_df": params["min_df"],
        "sublinear_tf": params["sublinear_tf"],
        "lowercase": True,
        "dtype": numpy.float64,
    }
    parts: list[tuple[str, Any]] = [
        ("word", TfidfVectorizer(analyzer="word", ngram_range=tuple(params["word_ngram_range"]), **common)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(params["char_ngram_range"]), **common)),
    ]
    if params["embedding"]:
        parts.append(("embedding", SentenceEmbedding(load_encoder(normalize=params["embedding_normalize"]))))
    return FeatureUnion(parts)


def source_of(example: Example) -> str:
    """The public source an example came from (its `--data` prefix), or `own` for plain labeled files."""
    return parse_spec(example.source)[0] or "own"


def source_labels(example: Example, head: str) -> set[str]:
    """The labels of `head` the example's source can give: all but those its coding scheme has no class for."""
    source = parse_spec(example.source)[0]
    return set(HEADS[head]) - UNCODED.get(source or "", {}).get(head, set())


def label_mask(examples: list[Example], head: str, labels: list[str]) -> numpy.ndarray:
    """Row by sorted label: whether the row's source can give that label."""
    classes = sorted(set(labels))
    return numpy.array([[label in source_labels(ex, head) for label in classes] for ex in examples], dtype=bool)


def fit_head(
    features: Any, labels: list[str], weights: numpy.ndarray, params: dict[str, Any], allowed: numpy.ndarray | None
) -> LogisticRegression:
    """One head's classifier, with C chosen by stratified cross-validation on macro-F1 when the grid has several.

    `allowed` (row by sorted label, or None) restricts each row's softmax to its source's labels.
    """
    common = {"class_weight": params["class_weight"], "max_iter": params["max_iter"], "random_state": params["seed"]}
    grid = [float(c) for c in params["C_grid"]]
    best_c = grid[0]
    if len(grid) > 1:
        folds = StratifiedKFold(params["cv_folds"], shuffle=True, random_state=params["seed"])
        search = LogisticRegressionCV(
            Cs=grid, cv=folds, scoring="f1_macro", l1_ratios=(0.0,), use_legacy_attributes=False, **common
        )
        best_c = float(numpy.ravel(search.fit(features, labels, sample_weight=weights).C_)[0])
    classifier = MaskedLogisticRegression(C=best_c, **common)
    return classifier.fit(features, labels, sample_weight=weights, allowed=allowed)


def fit_heads(features: Any, train: list[Example], params: dict[str, Any]) -> dict[str, LogisticRegression]:
    """One classifier per head on the rows labeled for it, from the training rows' feature matrix."""
    weights = numpy.array([params["source_weights"].get(source_of(ex), 1.0) for ex in train])
    heads: dict[str, LogisticRegression] = {}
    for head in HEADS:
        rows = [i for i, ex in enumerate(train) if head in ex.labels]
        labels = [train[i].labels[head] for i in rows]
        if len(set(labels)) < 2:
            continue  # a head needs at least two labels to learn anything; it is left out of the bundle
        allowed = label_mask([train[i] for i in rows], head, labels) if params["label_masks"] else None
        heads[head] = fit_head(features[rows], labels, weights[rows], params, allowed)
    if not heads:
        raise ValueError("no head has training rows with at least two different labels")
    return heads


def fit(train: list[Example], params: dict[str, Any]) -> tuple[FeatureUnion, dict[str, LogisticRegression]]:
    """Fit the vectorizer on every training text, then one classifier per head on the rows labeled for it."""
    vectorizer = build_vectorizer(params)
    features = vectorizer.fit_transform([ex.text for ex in train])
    return vectorizer, fit_heads(features, train, params)


def threshold_data(rows: list[Example]) -> dict[str, Any]:
    """What the manifest records of the rows the thresholds were chosen on: per head, rows per source."""
    public = any(source_of(ex) != "own" for ex in rows)
    return {
        "chosen_on": "dev split + public dev rows" if public else "dev split alone: no public dev rows",
        "rows_per_head": {
            head: dict(sorted(Counter(source_of(ex) for ex in rows if head in ex.labels).items())) for head in HEADS
        },
    }


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
    examples: list[Example],
    data_specs: list[str | Path],
    out_dir: Path,
    params: dict[str, Any] | None = None,
    feedback: dict[str, Any] | None = None,
    public_dev: list[Example] | None = None,
) -> Path:
    """Train on `examples`, score the dev rows through the service's predict, and write the bundle.

    `feedback`, when given, is recorded as the manifest's `training_data.feedback` (training/feedback.py: the
    feedback rows among `examples`, those left out, their hash); `data_specs` names the other files read.
    `public_dev`: public sets' dev rows that choose the confidence thresholds beside the dev split; they are
    neither trained on nor in the manifest's dev metrics.
    """
    params = {**DEFAULT_PARAMS, **(params or {})}
    split = split_examples(examples, params["dev_fraction"], params["seed"])
    vectorizer, heads = fit(split.train, params)
    now = datetime.now(UTC)
    version = new_version(out_dir, now)
    # Score through the service's own predict, so the manifest's metrics are those of what will be served.
    scorer = compile_scorer(vectorizer, heads)
    in_memory = Bundle(path=out_dir / version, manifest={"version": version}, scorer=scorer)
    dev_report = evaluate(in_memory, split.dev) if split.dev else {"heads": {}}
    rows_for_thresholds = threshold_rows(split.train, split.dev, public_dev or [])
    thresholds = (
        thresholds_on(in_memory, rows_for_thresholds, params["confident_precision"]) if rows_for_thresholds else {}
    )
    manifest = {
        "created": now.isoformat(timespec="seconds"),
        "heads": {head: [str(label) for label in classifier.classes_] for head, classifier in heads.items()},
        "hyperparameters": {**params, "C": {head: float(classifier.C) for head, classifier in heads.items()}},
        "thresholds": thresholds,
        "threshold_data": threshold_data(rows_for_thresholds),
        "training_data": {
            **data_fingerprint(data_specs),
            "rows": {"train": len(split.train), "dev": len(split.dev)},
            "rows_per_source": dict(sorted(Counter(source_of(ex) for ex in [*split.train, *split.dev]).items())),
            "rows_per_head": {
                head: {
                    "train": sum(head in ex.labels for ex in split.train),
                    "dev": sum(head in ex.labels for ex in split.dev),
                }
                for head in HEADS
            },
            **({"feedback": feedback} if feedback is not None else {}),
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
    fitted = {"vectorizer": vectorizer, "heads": heads}
    return write_bundle(out_dir, version, scorer, manifest, {FITTED_FILE: lambda path: joblib.dump(fitted, path)})
