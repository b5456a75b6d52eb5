"""Training: splits, per-head fitting, the bundle it writes, and reproducibility."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from service.model.bundle import load_bundle
from service.model.predict import predict
from training.examples import Example
from training.fitted import load_fitted
from training.train import source_of, split_examples, train_bundle

SENTENCES = [
    ("Militants attacked a border post and killed four soldiers.", "threat", "negative"),
    ("Gunmen kidnapped two engineers near the pipeline.", "threat", "negative"),
    ("The navy fired warning shots at a fishing boat.", "threat", "negative"),
    ("The two leaders pledged to fight terrorism together.", "cooperative", "positive"),
    ("Both countries agreed to share intelligence on smugglers.", "cooperative", "positive"),
    ("The ministers praised the growing friendship between their peoples.", "cooperative", "positive"),
    ("The talks began on Monday.", "neutral", "neutral"),
    ("The commission has fifteen members.", "neutral", "neutral"),
    ("The delegation will travel on to Kathmandu.", "neutral", "neutral"),
]


def examples(repeat: int = 4) -> list[Example]:
    return [
        Example(text=f"{text} ({i})", labels={"stance": stance, "sentiment": sentiment})
        for i in range(repeat)
        for text, stance, sentiment in SENTENCES
    ]


def test_marked_splits_are_respected_and_test_rows_never_train() -> None:
    rows = [Example("a", {}, "train"), Example("b", {}, "dev"), Example("c", {}, "test")]
    split = split_examples(rows, dev_fraction=0.5, seed=0)
    assert [ex.text for ex in split.train] == ["a"]
    assert [ex.text for ex in split.dev] == ["b"]


def test_unmarked_rows_get_a_seeded_dev_fraction() -> None:
    rows = [Example(str(i), {}) for i in range(100)]
    first = split_examples(rows, dev_fraction=0.2, seed=1)
    again = split_examples(rows, dev_fraction=0.2, seed=1)
    assert len(first.dev) == 20 and len(first.train) == 80
    assert first == again


def test_heads_without_labels_are_left_out(tmp_path: Path) -> None:
    bundle = load_bundle(train_bundle(examples(), [], tmp_path))
    assert set(bundle.scorer.classes) == {"stance", "sentiment"}
    assert set(bundle.manifest["heads"]) == {"stance", "sentiment"}
    [heads] = predict(bundle, ["Rebels shelled the town."])
    assert set(heads) == {"stance", "sentiment"}


def test_same_data_and_seed_give_the_same_model(tmp_path: Path) -> None:
    first = load_bundle(train_bundle(examples(), [], tmp_path / "a"))
    second = load_bundle(train_bundle(examples(), [], tmp_path / "b"))
    probe = ["A bomb exploded at the market.", "Leaders signed a friendship treaty."]
    assert predict(first, probe) == predict(second, probe)


def test_manifest_is_json_with_dev_metrics(tmp_path: Path) -> None:
    bundle_dir = train_bundle(examples(), [], tmp_path)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert manifest["training_data"]["rows"]["train"] + manifest["training_data"]["rows"]["dev"] == len(examples())
    assert set(manifest["metrics"]["dev"]) == {"stance", "sentiment"}


def test_two_bundles_in_one_second_get_distinct_versions(tmp_path: Path) -> None:
    first = train_bundle(examples(), [], tmp_path)
    second = train_bundle(examples(), [], tmp_path)
    assert first != second and first.exists() and second.exists()


def test_c_is_chosen_from_the_grid_per_head(tmp_path: Path) -> None:
    bundle_dir = train_bundle(examples(), [], tmp_path, params={"C_grid": [0.01, 10.0], "cv_folds": 2})
    chosen = load_bundle(bundle_dir).manifest["hyperparameters"]["C"]
    assert set(chosen) == {"stance", "sentiment"}
    assert all(c in (0.01, 10.0) for c in chosen.values())
    _, heads = load_fitted(bundle_dir)
    assert {head: heads[head].C for head in chosen} == chosen


def test_thresholds_are_recorded_per_head(tmp_path: Path) -> None:
    bundle = load_bundle(train_bundle(examples(), [], tmp_path, params={"C_grid": [4.0]}))
    assert set(bundle.manifest["thresholds"]) == {"stance", "sentiment"}
    assert all(0.0 <= t <= 1.0 for t in bundle.manifest["thresholds"].values())


def test_source_weights_change_the_model(tmp_path: Path) -> None:
    rows = [
        Example(ex.text, ex.labels, source="cameo:x.tsv" if i % 2 else "own.jsonl") for i, ex in enumerate(examples())
    ]
    _, plain = load_fitted(train_bundle(rows, [], tmp_path / "a", params={"C_grid": [4.0]}))
    _, weighted = load_fitted(
        train_bundle(rows, [], tmp_path / "b", params={"C_grid": [4.0], "source_weights": {"cameo": 0.1}})
    )
    assert source_of(rows[1]) == "cameo" and source_of(rows[0]) == "own"
    assert not np.allclose(plain["stance"].coef_, weighted["stance"].coef_)
