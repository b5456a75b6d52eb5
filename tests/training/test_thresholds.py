"""Confidence thresholds: chosen on the dev split plus the public sets' dev rows (never their training or test
rows), or on the dev split alone, said in the manifest, when there is no public data folder."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.model.bundle import Bundle, load_bundle
from service.model.paths import PROJECT_ROOT
from training.cli import build_parser, main
from training.corpus import story_split
from training.examples import Example
from training.thresholds import confidence_threshold, threshold_rows, thresholds_on
from training.train import DEFAULT_PARAMS, threshold_data

TRAIN_ROWS, DEV_ROWS = 300, 80


@dataclass(frozen=True)
class PublicTexts:
    """Texts for a CAMEO and a NewsMTSC file: sentences the model trained on, with a mark, so it is confident on
    them, and labelled against it, so that counting them raises the stance and sentiment thresholds."""

    cameo: list[str]  # threat sentences, coded 1 (verbal cooperation)
    newsmtsc: list[str]  # positive sentences, coded 2.0 (negative)
    newsmtsc_devtest: list[str]  # NewsMTSC's held-out file: all test rows

    def dev_examples(self) -> list[Example]:
        """The dev rows as the adapters map them, in the order the folder is read."""
        return [Example(text, {"stance": "cooperative"}, "dev") for text in texts_of(self.cameo, "dev")] + [
            Example(text, {"sentiment": "negative"}, "dev") for text in texts_of(self.newsmtsc, "dev")
        ]


def texts_of(texts: list[str], split: str) -> list[str]:
    """The texts the public sets' hashed split puts in `split`."""
    return [text for text in texts if story_split(text) == split]


def write_public_folder(folder: Path, texts: PublicTexts) -> Path:
    """Two public sets in their own formats where `../shared/data` keeps them; the other three are absent."""
    (folder / "conflibert_cameo").mkdir(parents=True)
    (folder / "conflibert_cameo" / "train.tsv").write_bytes(b"".join(f"{t}\t1\r\n".encode() for t in texts.cameo))
    (folder / "newsmtsc").mkdir()
    for name, lines in (("train.jsonl", texts.newsmtsc), ("devtest_mt.jsonl", texts.newsmtsc_devtest)):
        rows = [{"sentence_normalized": text, "targets": [{"polarity": 2.0}]} for text in lines]
        (folder / "newsmtsc" / name).write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def labeled(corpus: list[Example], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Example]]:
    """A labeled file of corpus train and dev rows (split marked), and its dev rows."""
    train = [ex for ex in corpus if ex.split == "train"][:TRAIN_ROWS]
    dev = [ex for ex in corpus if ex.split == "dev"][:DEV_ROWS]
    path = tmp_path_factory.mktemp("labeled") / "rows.jsonl"
    rows = [{"text": ex.text, "split": ex.split, **ex.labels} for ex in [*train, *dev]]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path, dev


@pytest.fixture(scope="module")
def public_texts(corpus: list[Example]) -> PublicTexts:
    train = [ex for ex in corpus if ex.split == "train"][:TRAIN_ROWS]
    threat = [f"{ex.text} (public)" for ex in train if ex.labels["stance"] == "threat"]
    positive = [f"{ex.text} (public)" for ex in train if ex.labels["sentiment"] == "positive"]
    return PublicTexts(cameo=threat, newsmtsc=positive[:-10], newsmtsc_devtest=positive[-10:])


def train(labeled: Path, out: Path, *args: str) -> Bundle:
    command = ["train", "--data", str(labeled), "--out", str(out), "--no-feedback", "--no-embedding", *args]
    assert main(command) == 0
    return load_bundle(out / "current")


@pytest.fixture(scope="module")
def with_public_dev(
    labeled: tuple[Path, list[Example]], public_texts: PublicTexts, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Bundle, list[Example]]:
    root = tmp_path_factory.mktemp("public-dev")
    folder = write_public_folder(root / "public", public_texts)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("STANCE_PUBLIC_DATA", raising=False)
        return train(labeled[0], root / "models", "--public-dev", str(folder)), labeled[1]


def test_the_fixture_has_public_rows_of_every_split(public_texts: PublicTexts) -> None:
    for split in ("train", "dev", "test"):
        assert texts_of(public_texts.cameo, split) and texts_of(public_texts.newsmtsc, split)


def test_thresholds_are_chosen_on_the_dev_split_and_the_public_dev_rows(
    with_public_dev: tuple[Bundle, list[Example]], public_texts: PublicTexts
) -> None:
    bundle, corpus_dev = with_public_dev
    precision = DEFAULT_PARAMS["confident_precision"]
    thresholds = bundle.manifest["thresholds"]
    assert thresholds == thresholds_on(bundle, [*corpus_dev, *public_texts.dev_examples()], precision)
    corpus_only = thresholds_on(bundle, corpus_dev, precision)
    assert thresholds["topic"] == corpus_only["topic"]  # no public set here labels topic
    assert thresholds["stance"] > corpus_only["stance"] and thresholds["sentiment"] > corpus_only["sentiment"]


def test_public_training_and_test_rows_never_choose_a_threshold(
    with_public_dev: tuple[Bundle, list[Example]], public_texts: PublicTexts
) -> None:
    bundle, corpus_dev = with_public_dev
    data = bundle.manifest["threshold_data"]
    assert data["chosen_on"] == "dev split + public dev rows"
    assert data["rows_per_head"] == {
        "topic": {"own": len(corpus_dev)},
        "stance": {"cameo": len(texts_of(public_texts.cameo, "dev")), "own": len(corpus_dev)},
        "sentiment": {"newsmtsc": len(texts_of(public_texts.newsmtsc, "dev")), "own": len(corpus_dev)},
    }


def test_without_a_public_folder_the_dev_split_alone_chooses_and_the_manifest_says_so(
    labeled: tuple[Path, list[Example]], tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("STANCE_PUBLIC_DATA", raising=False)
    path, corpus_dev = labeled
    bundle = train(path, tmp_path / "models")
    assert bundle.manifest["thresholds"] == thresholds_on(bundle, corpus_dev, DEFAULT_PARAMS["confident_precision"])
    assert bundle.manifest["threshold_data"] == {
        "chosen_on": "dev split alone: no public dev rows",
        "rows_per_head": {head: {"own": len(corpus_dev)} for head in ("topic", "stance", "sentiment")},
    }
    assert "no public data folder" in capsys.readouterr().err


def test_the_folder_defaults_to_stance_public_data(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STANCE_PUBLIC_DATA", str(tmp_path))
    assert build_parser("train").parse_args(["train"]).public_dev == tmp_path
    monkeypatch.setenv("STANCE_PUBLIC_DATA", "")
    assert build_parser("train").parse_args(["train"]).public_dev is None


def test_a_missing_public_dev_folder_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["train", "--no-feedback", "--out", str(tmp_path), "--public-dev", str(tmp_path / "none")]) == 2
    assert "no such folder of public datasets" in capsys.readouterr().err


def test_a_folder_without_any_public_set_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["train", "--no-feedback", "--out", str(tmp_path / "models"), "--public-dev", str(tmp_path)]) == 2
    assert "none of the public sets is there" in capsys.readouterr().err


def test_public_and_public_dev_do_not_go_together(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["train", "--public", str(tmp_path), "--public-dev", str(tmp_path)])
    assert stop.value.code == 2


def test_only_public_dev_rows_not_trained_on_or_counted_already_join_the_dev_split() -> None:
    train = [Example("trained", {"stance": "threat"}, "train")]
    dev = [Example("in dev", {"stance": "neutral"}, "dev")]
    public = [
        Example("kept", {"stance": "threat"}, "dev", "cameo:x.tsv"),
        Example("a test row", {"stance": "threat"}, "test", "cameo:x.tsv"),
        Example("a training row", {"stance": "threat"}, "train", "cameo:x.tsv"),
        Example("trained", {"stance": "threat"}, "dev", "cameo:x.tsv"),
        Example("in dev", {"stance": "threat"}, "dev", "cameo:x.tsv"),
    ]
    assert [ex.text for ex in threshold_rows(train, dev, public)] == ["in dev", "kept"]


def test_public_rows_in_the_dev_split_count_as_public() -> None:
    """With `--public`, the public dev rows are in the dev split itself: no fallback is recorded."""
    rows = [
        Example("a", {"stance": "threat"}, "dev", "own.jsonl"),
        Example("b", {"stance": "threat"}, "dev", "cameo:x"),
    ]
    data = threshold_data(rows)
    assert data["chosen_on"] == "dev split + public dev rows"
    assert data["rows_per_head"]["stance"] == {"cameo": 1, "own": 1}


@pytest.mark.parametrize(("folder", "passed"), [("shared", True), ("missing", False)])
def test_make_train_passes_the_folder_only_where_it_exists(tmp_path: Path, folder: str, passed: bool) -> None:
    (tmp_path / "shared").mkdir()
    public = tmp_path / folder
    result = subprocess.run(
        ["make", "-n", "train", f"PUBLIC_DATA={public}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert (f"--public-dev {public}" in result.stdout) is passed
    assert "stance train" in result.stdout


def test_confidence_threshold_keeps_the_most_probable_until_precision_drops() -> None:
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]
    correct = [True, True, True, False, False]
    assert confidence_threshold(scores, correct, precision=0.75) == 0.6  # top 4: 3/4 right
    assert confidence_threshold(scores, correct, precision=1.0) == 0.7
    assert confidence_threshold(scores, [True] * 5, precision=0.9) == 0.0  # all kept
    assert confidence_threshold(scores, [False] * 5, precision=0.5) == 0.9  # none reaches it
