"""Evaluation: the figures match scikit-learn's, and every report file is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import f1_score

from service.model.bundle import Bundle
from service.model.predict import predict
from training.evaluate import calibration, chosen_label, evaluate, score_head, write_report
from training.examples import Example


def test_score_head_on_a_known_case() -> None:
    gold = ["threat", "threat", "neutral", "cooperative"]
    predicted = ["threat", "neutral", "neutral", "cooperative"]
    scores = score_head(gold, predicted, ["cooperative", "threat", "economic", "neutral"])
    assert scores["accuracy"] == 0.75
    assert scores["macro_f1"] == pytest.approx(f1_score(gold, predicted, average="macro"))
    assert scores["per_class"]["threat"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert scores["confusion"]["matrix"][1] == [0, 1, 0, 1]


def test_only_heads_present_in_the_data_are_evaluated(bundle: Bundle, corpus: list[Example]) -> None:
    rows = [Example(ex.text, {"stance": ex.labels["stance"]}) for ex in corpus[:50]]
    report = evaluate(bundle, rows)
    assert set(report["heads"]) == {"stance"}
    predicted = [p["stance"]["label"] for p in predict(bundle, [ex.text for ex in rows])]
    expected = sum(p == ex.labels["stance"] for p, ex in zip(predicted, rows, strict=True)) / len(rows)
    assert report["heads"]["stance"]["accuracy"] == pytest.approx(expected)


def test_write_report_writes_json_markdown_and_pngs(bundle: Bundle, corpus: list[Example], tmp_path: Path) -> None:
    report = evaluate(bundle, corpus[:60])
    written = write_report(report, tmp_path)
    pictures = {f"{kind}_{head}.png" for kind in ("confusion", "reliability") for head in report["heads"]}
    assert {p.name for p in written} == {"report.json", "report.md", *pictures}
    assert json.loads((tmp_path / "report.json").read_text())["heads"].keys() == report["heads"].keys()
    assert (tmp_path / "confusion_stance.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| stance |" in (tmp_path / "report.md").read_text()


def test_calibration_of_a_known_case() -> None:
    # Two bins: 0.95 confident, right half the time (gap 0.45); 0.55 confident, always right (gap 0.45).
    result = calibration([0.95, 0.95, 0.55, 0.55], [True, False, True, True])
    assert result["ece"] == pytest.approx(0.45)
    assert [(b["n"], b["accuracy"]) for b in result["bins"]] == [(2, 1.0), (2, 0.5)]


def test_perfect_calibration_has_no_error() -> None:
    assert calibration([1.0, 1.0], [True, True])["ece"] == pytest.approx(0.0)


def test_chosen_label_can_be_restricted() -> None:
    scores = {"cooperative": 0.2, "threat": 0.1, "economic": 0.6, "neutral": 0.1}
    assert chosen_label(scores, None) == "economic"
    assert chosen_label(scores, {"cooperative", "threat", "neutral"}) == "cooperative"


def test_restricting_never_predicts_a_label_outside_the_gold_set(bundle: Bundle, corpus: list[Example]) -> None:
    rows = [Example(ex.text, {"stance": ex.labels["stance"]}) for ex in corpus if ex.labels["stance"] != "economic"][
        :150
    ]
    free = evaluate(bundle, rows)["heads"]["stance"]
    restricted = evaluate(bundle, rows, restrict_to_gold_labels=True)["heads"]["stance"]
    assert restricted["per_class"]["economic"]["precision"] == 0 and sum(restricted["confusion"]["matrix"][2]) == 0
    assert all(row[2] == 0 for row in restricted["confusion"]["matrix"])
    assert restricted["accuracy"] >= free["accuracy"]
