"""`stance classify` at scale as a user runs it: the summary on stderr, rejects, formats, workers, Dask, the
progress bar only on a terminal, and exit status 2 with a message for bad arguments."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from service.model.bundle import Bundle
from training.cli import main

LINES = [
    {"id": "a", "text": "Pakistan and Afghanistan agreed to reopen the crossing. Militants killed four soldiers."},
    {"id": "b", "text": ""},
    {"id": "c", "text": "Exports rose to $1.2 billion."},
    {"id": "d", "text": "The ministers signed a trade pact. Markets rallied. Both sides hailed the deal."},
]


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in LINES * 30), encoding="utf-8")
    return path


def classify(bundle: Bundle, *args: str) -> int:
    return main(["classify", *args, "--model", str(bundle.path)])


def test_rejects_and_the_summary(bundle: Bundle, source: Path, tmp_path: Path, capsys) -> None:
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    assert classify(bundle, str(source), "-o", str(out), "--rejects", str(rejects)) == 0
    err = capsys.readouterr().err
    assert "120 rows read, 90 classified, 30 rejected (see " in err and "sentences/s" in err
    assert "rows/s" not in err  # no progress bar when stderr is not a terminal
    assert len(out.read_text().splitlines()) == 90
    first = json.loads(rejects.read_text().splitlines()[0])
    assert first == {"row": 2, "file": str(source), "id": "b", "reason": "missing or empty text field 'text'"}


def test_sentences_to_parquet_and_summaries(bundle: Bundle, source: Path, tmp_path: Path) -> None:
    out = tmp_path / "sentences.parquet"
    assert classify(bundle, str(source), "-o", str(out), "--split-sentences", "--rejects", str(tmp_path / "r")) == 0
    table = pq.read_table(out)
    assert table.num_rows == 30 * (2 + 1 + 3)
    first = table.slice(0, 1).to_pylist()[0]
    assert (first["id"], first["row"], first["sentence"], first["start"]) == ("a", 1, 0, 0)
    summary = tmp_path / "summary.jsonl"
    assert (
        classify(bundle, str(source), "-o", str(summary), "--document-summary", "--rejects", str(tmp_path / "r")) == 0
    )
    row = json.loads(summary.read_text().splitlines()[2])  # row 2 was rejected
    assert (row["id"], row["row"], row["sentences"]) == ("d", 4, 3)
    assert sum(row["summary"]["stance"].values()) == pytest.approx(1.0)


def test_csv_and_parquet_inputs_with_other_field_names(bundle: Bundle, tmp_path: Path) -> None:
    pq.write_table(pa.table({"doc": [10, 11], "body": ["Talks resumed.", "A bomb exploded."]}), tmp_path / "in.parquet")
    (tmp_path / "in.csv").write_text('doc,body\n10,Talks resumed.\n11,"A bomb exploded."\n', encoding="utf-8")
    outputs = []
    for name in ("in.parquet", "in.csv"):
        out = tmp_path / f"{name}.jsonl"
        args = [str(tmp_path / name), "-o", str(out), "--text-field", "body", "--id-field", "doc"]
        assert classify(bundle, *args) == 0
        outputs.append([json.loads(line) for line in out.read_text().splitlines()])
    assert [row["id"] for row in outputs[0]] == [10, 11] and [row["id"] for row in outputs[1]] == ["10", "11"]
    assert [row["stance"] for row in outputs[0]] == [row["stance"] for row in outputs[1]]


def test_dask_local_cluster_from_the_command_line(bundle: Bundle, tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in LINES * 300), encoding="utf-8")
    single, folder = tmp_path / "single.jsonl", tmp_path / "dask"
    assert classify(bundle, str(source), "-o", str(single), "--rejects", str(tmp_path / "r.jsonl")) == 0
    args = [str(source), "-o", str(folder), "--engine", "dask", "--workers", "2", "--partition-rows", "500"]
    assert classify(bundle, *args) == 0
    assert "3 partitions in" in capsys.readouterr().err
    assert b"".join(path.read_bytes() for path in sorted(folder.glob("part-*.jsonl"))) == single.read_bytes()
    assert b"".join(p.read_bytes() for p in sorted(folder.glob("_rejects/*"))) == (tmp_path / "r.jsonl").read_bytes()


def test_progress_bar_on_a_terminal(bundle: Bundle, source: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert classify(bundle, str(source), "-o", str(tmp_path / "o.jsonl"), "--rejects", str(tmp_path / "r")) == 0
    err = capsys.readouterr().err
    assert "120/120" in err and "rows/s" in err and "sentences" in err
    assert (
        classify(
            bundle, str(source), "-o", str(tmp_path / "p.jsonl"), "--rejects", str(tmp_path / "r"), "--no-progress"
        )
        == 0
    )
    assert "rows/s" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-", "--workers", "2", "-o", "out/"], "standard input can't be partitioned"),
        (["missing.jsonl"], "missing.jsonl: no such file or folder"),
        (["in.txt"], "unknown format"),
        (["in.jsonl", "--workers", "2"], "give --output FOLDER"),
        (["in.jsonl", "-o", "o.jsonl", "--resume"], "--resume needs a folder output"),
        (["in.jsonl", "--document-summary", "--explain"], "--document-summary has none"),
        (["in.jsonl", "-o", "out/", "--partition-rows", "700"], "a positive multiple of 500"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    bundle: Bundle, tmp_path: Path, monkeypatch, capsys, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"text": "Talks resumed."}\n', encoding="utf-8")
    (tmp_path / "in.txt").write_text("Talks resumed.\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"text": "Talks resumed."}\n'))
    assert classify(bundle, *args) == 2
    assert message in capsys.readouterr().err


def test_exclusive_output_shapes_are_a_usage_error(bundle: Bundle, source: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        classify(bundle, str(source), "--split-sentences", "--document-summary")
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_an_unreachable_scheduler_exits_2(bundle: Bundle, source: Path, tmp_path: Path, capsys) -> None:
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert classify(bundle, str(source), "-o", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9") == 2
    assert "can't reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing started: the same command works once the cluster is up


def test_dask_without_the_scale_extra_exits_2_naming_it(
    bundle: Bundle, source: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed: importing it fails
    assert classify(bundle, str(source), "-o", str(tmp_path / "out"), "--engine", "dask") == 2
    err = capsys.readouterr().err
    assert "needs the [scale] extra (distributed not installed): pip install -c constraints.txt '.[scale]'" in err
    assert not (tmp_path / "out").exists()


def test_a_nul_character_sets_the_row_aside(bundle: Bundle, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "n", "text": "Talks\u0000 resumed."}) + "\n", encoding="utf-8")
    assert classify(bundle, str(source), "-o", str(tmp_path / "out.jsonl")) == 0
    [rejected] = [json.loads(line) for line in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()]
    assert rejected["reason"] == "text field 'text' contains a NUL character (U+0000) at position 5"
