"""Per-source label masks: a row from a source without a label is no evidence against that label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from service.model.bundle import load_bundle
from service.model.predict import predict
from training.examples import Example
from training.masked import fit_masked
from training.train import label_mask, source_labels, train_bundle

OWN = [
    ("Stock markets fell as the central bank raised interest rates.", "economic"),
    ("The two countries signed a trade deal cutting tariffs on steel.", "economic"),
    ("Oil exports and bond yields rose after the budget.", "economic"),
    ("Rebels shelled the city and killed six soldiers.", "threat"),
    ("The army warned it would strike the border posts.", "threat"),
    ("The ministers agreed to share intelligence and hold joint drills.", "cooperative"),
    ("Both leaders pledged to work together on refugees.", "cooperative"),
    ("The delegation arrived in the capital on Monday.", "neutral"),
    ("The commission has fifteen members.", "neutral"),
]
# A CAMEO-like source without `economic`: its market news is coded neutral.
NO_ECONOMIC = [
    "Stock markets rose as interest rates and bond yields fell.",
    "The trade deal cut tariffs on steel and oil exports.",
    "The central bank kept interest rates steady after the budget.",
]


def rows(repeat: int) -> list[Example]:
    own = [Example(f"{text} ({i})", {"stance": label}, split="train") for i in range(repeat) for text, label in OWN]
    public = [
        Example(f"{text} [{i}]", {"stance": "neutral"}, split="train", source="cameo:x.tsv")
        for i in range(repeat * 3)
        for text in NO_ECONOMIC
    ]
    return own + public


def test_every_label_allowed_is_scikit_learns_multinomial_fit() -> None:
    examples = rows(2)
    features = TfidfVectorizer().fit_transform([ex.text for ex in examples])
    labels = np.array([ex.labels["stance"] for ex in examples])
    classes, codes = np.unique(labels, return_inverse=True)
    weights = np.linspace(0.5, 2.0, len(labels))
    reference = LogisticRegression(C=4.0, max_iter=3000, tol=1e-8).fit(features, labels, sample_weight=weights)
    coef, intercept = fit_masked(
        features, codes, weights, np.ones((len(labels), len(classes)), bool), 4.0, max_iter=3000, tol=1e-8
    )
    np.testing.assert_allclose(coef, reference.coef_, atol=1e-5)
    np.testing.assert_allclose(intercept, reference.intercept_, atol=1e-5)


def test_a_source_is_masked_to_the_labels_its_map_gives() -> None:
    cameo = Example("x", {"stance": "neutral"}, source="cameo:x.tsv")
    own = Example("x", {"stance": "neutral"}, source="corpus.jsonl")
    assert source_labels(cameo, "stance") == {"neutral", "cooperative", "threat"}
    assert source_labels(own, "stance") == {"neutral", "cooperative", "threat", "economic"}
    ag_news = Example("x", {"topic": "economy"}, source="ag-news:test.csv")  # four classes covering all news
    assert source_labels(ag_news, "topic") == {"diplomacy", "security", "economy", "politics", "society", "other"}
    mask = label_mask([cameo, own], "stance", ["economic", "neutral"])
    assert mask.tolist() == [[False, True], [True, True]]


def economic_share(tmp_path: Path, label_masks: bool) -> float:
    params = {"C_grid": [4.0], "embedding": False, "label_masks": label_masks, "min_df": 1}
    bundle = load_bundle(train_bundle(rows(3), [], tmp_path / str(label_masks), params=params))
    answers = predict(bundle, [*NO_ECONOMIC, *(text for text, label in OWN if label == "economic")])
    return float(np.mean([answer["stance"]["label"] == "economic" for answer in answers]))


def test_market_news_stays_economic_when_the_source_without_that_label_is_masked(tmp_path: Path) -> None:
    assert economic_share(tmp_path, label_masks=False) <= 0.5
    assert economic_share(tmp_path, label_masks=True) == 1.0
