"""The `stance` command line as a user runs it: train, evaluate, classify; errors exit non-zero with a message."""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service.model.bundle import SCORER_FILE, Bundle
from training.cli import main
from training.examples import Example


def write_labeled(path: Path, examples: list[Example]) -> Path:
    path.write_text("".join(json.dumps({"text": ex.text, **ex.labels}) + "\n" for ex in examples), encoding="utf-8")
    return path


def test_train_prints_the_version_and_makes_it_current(
    corpus: list[Example], tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("STANCE_PUBLIC_DATA", raising=False)  # public dev rows: tests/training/test_thresholds.py
    data = write_labeled(tmp_path / "small.jsonl", corpus[:300])
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "models")]) == 0
    version = capsys.readouterr().out.strip()
    assert (tmp_path / "models" / "current").read_text().strip() == version
    assert (tmp_path / "models" / version / "manifest.json").is_file()


@pytest.mark.parametrize("command", ["train", "evaluate --data x.jsonl"])
def test_training_commands_without_the_train_extra_name_it(command: str, monkeypatch, capsys) -> None:
    """On the lean install (no scikit-learn), `stance train` and `stance evaluate` say which extra to install."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *rest: None if name == "sklearn" else real_find_spec(name, *rest)
    )
    assert main(command.split()) == 2
    error = capsys.readouterr().err
    assert "needs the [train] extra (sklearn not installed)" in error
    assert "pip install -c constraints.txt '.[train]'" in error


def test_evaluate_writes_the_report(bundle: Bundle, corpus: list[Example], tmp_path: Path, capsys) -> None:
    data = write_labeled(
        tmp_path / "gold.jsonl", [Example(ex.text, {"stance": ex.labels["stance"]}) for ex in corpus[:80]]
    )
    assert main(["evaluate", "--data", str(data), "--model", str(bundle.path), "--report", str(tmp_path / "r")]) == 0
    assert "| stance | 80 |" in capsys.readouterr().out
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert list(report["heads"]) == ["stance"]
    assert (tmp_path / "r" / "confusion_stance.png").is_file()


def test_classify_csv_to_jsonl_keeps_ids(bundle: Bundle, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text('id,body\n7,"Rebels shelled the town, killing six."\n8,Exports rose.\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = ["classify", str(source), "-o", str(out), "--model", str(bundle.path), "--text-field", "body"]
    assert main(args) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["7", "8"]
    assert rows[0]["text"] == "Rebels shelled the town, killing six."
    assert {"label", "score", "scores"} <= set(rows[0]["stance"])


def test_classify_stdin_to_stdout(bundle: Bundle, monkeypatch, capsys) -> None:
    monkeypatch.setattr(
        sys, "stdin", io.StringIO('{"text": "Talks resumed."}\n\n{"id": 2, "text": "A bomb exploded."}\n')
    )
    assert main(["classify", "-", "--model", str(bundle.path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and "id" not in rows[0] and rows[1]["id"] == 2


BAD_ROWS = [
    ('{"text": "ok"}\n{"title": "no text"}\n', "row 2: missing or empty text field 'text'"),
    ('{"text": "ok"}\n[1, 2]\n', "expected a JSON object"),
]


@pytest.mark.parametrize(("content", "message"), BAD_ROWS)
def test_bad_rows_go_to_a_reject_file_beside_the_output(
    bundle: Bundle, tmp_path: Path, capsys, content: str, message: str
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(content)
    assert main(["classify", str(source), "--model", str(bundle.path), "-o", str(tmp_path / "o.jsonl")]) == 0
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 1
    [reject] = [json.loads(line) for line in (tmp_path / "o.jsonl.rejects.jsonl").read_text().splitlines()]
    assert message.split(": ", 1)[-1] in json.dumps(reject)
    assert "1 rejected" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "message"), BAD_ROWS)
def test_bad_rows_to_stdout_without_a_reject_file_exit_2(
    bundle: Bundle, tmp_path: Path, capsys, content: str, message: str
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(content)
    assert main(["classify", str(source), "--model", str(bundle.path)]) == 2
    assert message in capsys.readouterr().err


def test_tampered_bundle_exits_2(bundle: Bundle, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "bundle"
    shutil.copytree(bundle.path, copy)
    (copy / SCORER_FILE).write_bytes(b"import os")
    assert main(["classify", "-", "--model", str(copy)]) == 2
    assert "SHA-256" in capsys.readouterr().err


def test_missing_data_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["train", "--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_console_script_is_installed() -> None:
    stance = Path(sys.executable).with_name("stance")
    result = subprocess.run([str(stance), "--help"], capture_output=True, text=True, check=True)
    assert "train" in result.stdout and "classify" in result.stdout


def test_evaluate_with_a_label_map_and_restriction(
    bundle: Bundle, corpus: list[Example], tmp_path: Path, capsys
) -> None:
    theirs = {"cooperative": "verbal cooperation", "threat": "material conflict", "neutral": "statement"}
    rows = [ex for ex in corpus if ex.labels["stance"] in theirs][:60]
    data = tmp_path / "other_scheme.jsonl"
    data.write_text("".join(json.dumps({"text": ex.text, "stance": theirs[ex.labels["stance"]]}) + "\n" for ex in rows))
    label_map = tmp_path / "map.json"
    label_map.write_text(json.dumps({"stance": {v: k for k, v in theirs.items()}}))
    args = ["evaluate", "--data", str(data), "--model", str(bundle.path), "--report", str(tmp_path / "r")]
    assert main([*args, "--label-map", str(label_map), "--restrict-to-gold-labels"]) == 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["restrict_to_gold_labels"] is True
    assert report["heads"]["stance"]["n"] == 60
    assert sum(report["heads"]["stance"]["confusion"]["matrix"][2]) == 0  # no gold "economic"
    assert main(args) == 2  # without the map the other scheme's labels are unknown
    assert "unknown stance label 'verbal cooperation'" in capsys.readouterr().err


def test_bad_label_map_exits_2(bundle: Bundle, corpus: list[Example], tmp_path: Path, capsys) -> None:
    data = write_labeled(tmp_path / "gold.jsonl", corpus[:5])
    label_map = tmp_path / "map.json"
    label_map.write_text(json.dumps({"stance": {"x": "hostile"}}))
    args = ["evaluate", "--data", str(data), "--model", str(bundle.path), "--label-map", str(label_map)]
    assert main(args) == 2
    assert "maps onto unknown labels ['hostile']" in capsys.readouterr().err
