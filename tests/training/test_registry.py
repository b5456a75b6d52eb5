"""The model registry: `stance train` refuses a worse model, `stance models` lists, promote and rollback switch."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from service.model.bundle import load_bundle
from training.cli import main
from training.examples import Example
from training.registry import HISTORY_FILE, SCORES_FILE
from training.train import DEFAULT_PARAMS

GOOD_ROWS = 300
CRIPPLED_ROWS = 60


def write_rows(path: Path, examples: list[Example], shuffle: bool = False) -> Path:
    """Labeled rows (no `split`); with `shuffle`, each head's labels are shuffled across the rows."""
    labels = [dict(ex.labels) for ex in examples]
    if shuffle:
        rng = random.Random(7)
        for head in ("topic", "stance", "sentiment"):
            column = [row[head] for row in labels]
            rng.shuffle(column)
            for row, label in zip(labels, column, strict=True):
                row[head] = label
    rows = [{"text": ex.text, **row} for ex, row in zip(examples, labels, strict=True)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def current(models: Path) -> str:
    return (models / "current").read_text().strip()


def train(models: Path, data: Path, *args: str) -> str:
    assert main(["train", "--no-feedback", "--data", str(data), "--out", str(models), *args]) == 0
    return sorted(p.name for p in models.iterdir() if not p.name.startswith(".") and p.is_dir())[-1]


@pytest.fixture(scope="module")
def trained(corpus: list[Example], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A models folder with one good model, current, and a crippled data set: shuffled labels, few rows."""
    root = tmp_path_factory.mktemp("registry")
    train_rows = [ex for ex in corpus if ex.split == "train"]
    good = write_rows(root / "good.jsonl", train_rows[:GOOD_ROWS])
    crippled = write_rows(root / "crippled.jsonl", train_rows[GOOD_ROWS : GOOD_ROWS + CRIPPLED_ROWS], shuffle=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(DEFAULT_PARAMS, "C_grid", [4.0])
        patch.delenv("STANCE_PUBLIC_DATA", raising=False)
        train(root / "models", good)
    return root / "models", crippled


@pytest.fixture()
def models(trained: tuple[Path, Path], tmp_path: Path, monkeypatch) -> Path:
    """A copy of the module's models folder, and one C instead of a search: `stance train` is quick."""
    monkeypatch.setitem(DEFAULT_PARAMS, "C_grid", [4.0])
    monkeypatch.delenv("STANCE_PUBLIC_DATA", raising=False)
    return Path(shutil.copytree(trained[0], tmp_path / "models"))


@pytest.fixture()
def crippled(trained: tuple[Path, Path]) -> Path:
    return trained[1]


def test_the_first_model_is_promoted_and_its_test_scores_recorded(models: Path) -> None:
    version = current(models)
    scores = json.loads((models / version / SCORES_FILE).read_text())
    assert set(scores["test"]["corpus"]) == {"topic", "stance", "sentiment"}
    assert load_bundle(models / version).version == version  # its manifest is untouched: it still loads


def test_a_worse_model_is_refused_by_default(models: Path, crippled: Path, capsys) -> None:
    before = current(models)
    new = train(models, crippled)
    assert new != before and current(models) == before
    error = capsys.readouterr().err
    assert "worse" in error and f"{new} not promoted: {before} stays current" in error
    assert "corpus" in error and "verdict" in error
    assert (models / new / SCORES_FILE).is_file()  # the refused bundle is written, and scored


def test_promote_always_promotes_a_worse_model(models: Path, crippled: Path, capsys) -> None:
    before = current(models)
    new = train(models, crippled, "--promote", "always")
    assert current(models) == new
    assert f"{new} promoted" in capsys.readouterr().err
    assert (models / HISTORY_FILE).read_text().splitlines() == [before]


def test_promote_never_only_writes_the_bundle(models: Path, crippled: Path) -> None:
    before = current(models)
    new = train(models, crippled, "--promote", "never")
    assert current(models) == before and (models / new / "manifest.json").is_file()


def test_models_lists_the_bundles_and_marks_the_current_one(models: Path, crippled: Path, capsys) -> None:
    good = current(models)
    refused = train(models, crippled)
    capsys.readouterr()
    assert main(["models", "--models", str(models)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[1] if line.startswith("*") else line.split()[0]: line for line in out.splitlines()}
    assert lines[good].startswith("* ") and lines[refused].startswith("  ")
    assert f"own {GOOD_ROWS}" in lines[good] and f"own {CRIPPLED_ROWS}" in lines[refused]
    assert "test:corpus" in out and f"* current: {good}" in out


def test_promote_and_rollback_switch_current(models: Path, crippled: Path, capsys) -> None:
    good = current(models)
    other = train(models, crippled, "--promote", "never")
    assert main(["promote", other, "--models", str(models)]) == 0
    assert current(models) == other
    assert main(["rollback", "--models", str(models)]) == 0
    assert current(models) == good
    assert "reload" in capsys.readouterr().err
    assert main(["rollback", "--models", str(models)]) == 2  # the history is used up
    assert "nothing to roll back to" in capsys.readouterr().err


def test_unknown_version_and_nothing_to_roll_back_exit_2(models: Path, capsys) -> None:
    before = current(models)
    assert main(["promote", "19990101-000000", "--models", str(models)]) == 2
    assert "no bundle '19990101-000000'" in capsys.readouterr().err
    assert main(["rollback", "--models", str(models)]) == 2
    assert "stance rollback: error: nothing to roll back to" in capsys.readouterr().err
    assert current(models) == before
