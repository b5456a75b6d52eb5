"""Evaluation: the figures match scikit-learn's, and every report file is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import f1_score

from service.bundle import Bundle
from service.predict import predict
from training.data import Example
from training.evaluate import evaluate, score_head, write_report


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
    predicted = [p["stance"].label for p in predict(bundle, [ex.text for ex in rows])]
    expected = sum(p == ex.labels["stance"] for p, ex in zip(predicted, rows, strict=True)) / len(rows)
    assert report["heads"]["stance"]["accuracy"] == pytest.approx(expected)


def test_write_report_writes_json_markdown_and_pngs(bundle: Bundle, corpus: list[Example], tmp_path: Path) -> None:
    report = evaluate(bundle, corpus[:60])
    written = write_report(report, tmp_path)
    assert {p.name for p in written} == {"report.json", "report.md", *(f"confusion_{h}.png" for h in report["heads"])}
    assert json.loads((tmp_path / "report.json").read_text())["heads"].keys() == report["heads"].keys()
    assert (tmp_path / "confusion_stance.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| stance |" in (tmp_path / "report.md").read_text()
