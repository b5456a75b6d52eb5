"""Batch classification's files and rows: formats read alike whole or in slices, bad rows set aside with the reason,
records in the three shapes, the sentence shape equal to the API's split."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from service.batch.readers import InputError, RawRow, input_files, input_format, read_stream
from service.batch.rows import CHUNK_ROWS, Options, Stats, check_row, chunk_key, classify_rows, output_schema
from service.batch.slices import Slice, plan_file, read_slice
from service.model.bundle import Bundle
from service.model.predict import classify, predict

ARTICLE = (
    "Pakistan and Afghanistan agreed on Sunday to reopen the Torkham crossing. "
    "Gen. Tariq Aziz said militants had killed four soldiers near the U.S.-funded border post."
)


def not_unicode(code: str, position: int) -> str:
    """`service.model.text`'s words for a lone surrogate: bytes that were not UTF-8, or a JSON "\\ud800" escape."""
    return f"contains a lone surrogate (U+{code}) at position {position}: not valid Unicode (not UTF-8 in the input?)"


NOT_UTF8 = not_unicode("DCE9", 3)  # "caf\xe9" in bytes that are not UTF-8


def rows_of(part: Slice, columns: tuple[str, ...] = ("text", "id")) -> list[tuple[int, dict | None, str | None]]:
    return [(row.index, row.record, row.error) for row in read_slice(part, columns)]


def all_slices(path: Path, fmt: str, partition_rows: int) -> list[tuple[int, dict | None, str | None]]:
    slices, total = plan_file(path, fmt, partition_rows)
    rows = [row for part in slices for row in rows_of(part)]
    assert len(rows) == total
    return rows


def test_formats_by_name() -> None:
    assert [input_format(name) for name in ("-", "a.jsonl", "b.NDJSON", "c.csv", "d.parquet", "e.pq")] == [
        "jsonl",
        "jsonl",
        "jsonl",
        "csv",
        "parquet",
        "parquet",
    ]
    with pytest.raises(InputError, match="unknown format"):
        input_format("notes.txt")


def test_jsonl_slices_read_what_the_whole_file_reads(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": i, "text": f"Talks number {i} resumed."}) for i in range(23)]
    lines[5] = ""  # blank lines are not rows
    lines[9] = "[1, 2]"
    lines[12] = "{broken"
    path.write_text("\n" + "\n".join(lines) + "\n\n", encoding="utf-8")
    whole = rows_of(Slice(str(path), "jsonl"))
    assert len(whole) == 22 and [index for index, _, _ in whole] == list(range(22))
    assert whole[8][2] == "expected a JSON object, got list"
    assert whole[11][2].startswith("invalid JSON")
    for partition_rows in (1, 4, 7, 22, 100):
        assert all_slices(path, "jsonl", partition_rows) == whole


def test_csv_slices_keep_quoted_newlines_and_the_header(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    body = ["id,text,extra\n"] + [f'{i},"Line {i}, part one.\nPart two, ""quoted"".",x\n' for i in range(11)]
    body.insert(4, "\n")  # an empty line is not a row
    body.append("11,short row\n")  # missing field: None, as csv.DictReader
    path.write_bytes("".join(body).encode("utf-8"))
    whole = rows_of(Slice(str(path), "csv"))
    assert len(whole) == 12
    assert whole[0][1] == {"id": "0", "text": 'Line 0, part one.\nPart two, "quoted".', "extra": "x"}
    assert whole[11][1] == {"id": "11", "text": "short row", "extra": None}
    for partition_rows in (1, 3, 5, 12):
        assert all_slices(path, "csv", partition_rows) == whole


def test_parquet_slices_cross_row_groups(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    table = pa.table({"id": list(range(50)), "text": [f"Exports rose {i} percent." for i in range(50)], "x": [0] * 50})
    pq.write_table(table, path, row_group_size=7)
    whole = rows_of(Slice(str(path), "parquet"))
    assert [record for _, record, _ in whole] == [
        {"text": t, "id": i} for i, t in zip(table["id"].to_pylist(), table["text"].to_pylist(), strict=True)
    ]
    for partition_rows in (1, 5, 7, 16, 50, 64):
        assert all_slices(path, "parquet", partition_rows) == whole


def test_a_folder_reads_its_files_in_name_order(tmp_path: Path) -> None:
    for name in ("b.jsonl", "a.csv", "_meta.jsonl", ".hidden.jsonl", "notes.txt"):
        (tmp_path / name).write_text("text\nx\n", encoding="utf-8")
    assert [(path.name, fmt) for path, fmt in input_files(tmp_path)] == [("a.csv", "csv"), ("b.jsonl", "jsonl")]
    with pytest.raises(InputError, match="no such file"):
        input_files(tmp_path / "missing.jsonl")


def test_a_byte_order_mark_is_not_part_of_the_first_row(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_bytes(b"\xef\xbb\xbfid,text\n1,Talks resumed.\n")
    (tmp_path / "in.jsonl").write_bytes(b'\xef\xbb\xbf{"id": 1, "text": "Talks resumed."}\n')
    assert rows_of(Slice(str(tmp_path / "in.csv"), "csv")) == [(0, {"id": "1", "text": "Talks resumed."}, None)]
    assert rows_of(Slice(str(tmp_path / "in.jsonl"), "jsonl")) == [(0, {"id": 1, "text": "Talks resumed."}, None)]
    assert all_slices(tmp_path / "in.csv", "csv", 1) == rows_of(Slice(str(tmp_path / "in.csv"), "csv"))


def test_stdin_stream_is_read_like_a_file() -> None:
    lines = [b'{"id": 1, "text": "Talks resumed."}\n', b"\n", b'{"text": "A bomb exploded."}\n']
    rows = list(read_stream(iter(lines), "jsonl"))
    assert [(row.index, row.record) for row in rows] == [
        (0, {"id": 1, "text": "Talks resumed."}),
        (1, {"text": "A bomb exploded."}),
    ]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"id": 1}, "missing or empty text field 'text'"),
        ({"text": "   "}, "missing or empty text field 'text'"),
        ({"text": None}, "missing or empty text field 'text'"),
        ({"text": 42}, "text field 'text' is not a string but int"),
        ({"text": b"caf\xe9".decode("utf-8", "surrogateescape")}, f"text field 'text' {NOT_UTF8}"),
        ({"text": "lone \ud800 surrogate"}, f"text field 'text' {not_unicode('D800', 5)}"),
        ({"text": "x" * 101}, "text field 'text' has 101 characters (limit max_text_chars=100)"),
        ({"text": "Talks\x00 resumed."}, "text field 'text' contains a NUL character (U+0000) at position 5"),
        ({"id": b"caf\xe9".decode("utf-8", "surrogateescape"), "text": "ok"}, f"id field 'id' {NOT_UTF8}"),
    ],
)
def test_bad_rows_are_named_with_the_reason(record: dict, reason: str) -> None:
    assert check_row(RawRow(0, record), Options(max_text_chars=100)) == ("", reason)


def test_good_rows_pass_the_check() -> None:
    assert check_row(RawRow(0, {"text": "x" * 100}), Options(max_text_chars=100)) == ("x" * 100, None)


def test_invalid_utf8_in_every_format_is_rejected_not_fatal(tmp_path: Path, bundle: Bundle) -> None:
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_bytes(b'{"id": "a", "text": "Talks resumed."}\n{"id": "b", "text": "caf\xe9 bombed"}\n')
    csv_file = tmp_path / "in.csv"
    csv_file.write_bytes(b'id,text\na,Talks resumed.\nb,"caf\xe9 bombed"\n')
    parquet = tmp_path / "in.parquet"
    texts = pa.array([b"Talks resumed.", b"caf\xe9 bombed"], pa.binary()).view(pa.string())
    pq.write_table(pa.table({"id": ["a", "b"], "text": texts}), parquet)
    for path, fmt in ((jsonl, "jsonl"), (csv_file, "csv"), (parquet, "parquet")):
        rejected: list[dict] = []
        results = list(
            classify_rows(
                bundle, read_slice(Slice(str(path), fmt), ("text", "id")), Options(), "f", 10, rejected.append
            )
        )
        [(records, stats)] = results
        assert [record["id"] for record in records] == ["a"], fmt
        assert rejected == [{"row": 12, "file": "f", "id": "b", "reason": f"text field 'text' {NOT_UTF8}"}], fmt
        assert stats == Stats(rows=2, classified=1, rejected=1, sentences=1)


def label_all(bundle: Bundle, texts: list[str], mode: str) -> list[dict]:
    rows = [RawRow(i, {"id": f"doc{i}", "text": text}) for i, text in enumerate(texts)]
    return [
        record
        for records, _ in classify_rows(bundle, rows, Options(mode=mode), "f", 0, pytest.fail)
        for record in records
    ]


def test_sentence_records_are_the_apis_sentences(bundle: Bundle) -> None:
    texts = [ARTICLE, "Exports rose.", "  Talks resumed in Geneva.  Both sides agreed to meet again.  "]
    records = label_all(bundle, texts, "sentences")
    documents = classify(bundle, texts, split=True)
    expected = [
        (f"doc{d}", d + 1, i, s.span.start, s.span.end, s.span.text, s.heads["stance"]["label"])
        for d, document in enumerate(documents)
        for i, s in enumerate(document.sentences)
    ]
    got = [(r["id"], r["row"], r["sentence"], r["start"], r["end"], r["text"], r["stance"]["label"]) for r in records]
    assert got == expected and len(got) == 5
    for record in records:
        assert texts[record["row"] - 1][record["start"] : record["end"]] == record["text"]


def test_summary_records_are_the_apis_summary(bundle: Bundle) -> None:
    records = label_all(bundle, [ARTICLE, "Exports rose."], "summary")
    documents = classify(bundle, [ARTICLE, "Exports rose."], split=True)
    assert [(r["id"], r["row"], r["sentences"], r["summary"], r["relations"]) for r in records] == [
        ("doc0", 1, 2, documents[0].summary, documents[0].relations),
        ("doc1", 2, 1, documents[1].summary, documents[1].relations),
    ]


def test_text_records_are_the_heads_of_the_whole_text(bundle: Bundle) -> None:
    texts = [ARTICLE, "Exports rose."]
    records = label_all(bundle, texts, "texts")
    heads = predict(bundle, texts)
    assert records == [{"id": f"doc{i}", "text": text, **heads[i]} for i, text in enumerate(texts)]


@pytest.mark.parametrize(
    ("mode", "keys"),
    [
        ("texts", ["id", "text", "topic", "stance", "sentiment"]),
        ("sentences", ["id", "row", "sentence", "start", "end", "text", "topic", "stance", "sentiment", "actors"]),
        ("summary", ["id", "row", "sentences", "summary", "relations"]),
    ],
)
def test_records_keep_their_documented_key_order(bundle: Bundle, mode: str, keys: list[str]) -> None:
    [record, *_] = label_all(bundle, [ARTICLE], mode)
    assert list(record) == keys
    if mode != "summary":
        assert list(record["stance"]) == ["label", "score", "scores", "confident"]


def test_records_have_confident_and_explain_only_when_asked(bundle: Bundle) -> None:
    rows = [RawRow(0, {"id": 1, "text": ARTICLE})]
    [([plain], _)] = classify_rows(bundle, rows, Options(), "f", 0, pytest.fail)
    [([explained], _)] = classify_rows(bundle, rows, Options(explain=True), "f", 0, pytest.fail)
    [heads] = predict(bundle, [ARTICLE], explain=True)
    for head, result in heads.items():
        assert "explain" not in plain[head]
        assert plain[head]["confident"] is result["confident"]
        assert explained[head]["explain"] == result["explain"]


@pytest.mark.parametrize(
    "options",
    [Options(mode="texts"), Options(mode="sentences"), Options(mode="summary"), Options(explain=True)],
    ids=["texts", "sentences", "summary", "explain"],
)
def test_parquet_schema_holds_the_records(bundle: Bundle, options: Options) -> None:
    rows = [RawRow(0, {"id": "a", "text": ARTICLE})]
    [(records, _)] = list(classify_rows(bundle, rows, options, "f", 0, pytest.fail))
    table = pa.Table.from_pylist(records, schema=output_schema(bundle, options, "parquet"))
    assert table.to_pylist() == records
    if options.mode != "summary":
        assert ("explain" in records[0]["stance"]) == options.explain


def test_chunks_are_fixed_runs_of_rows_of_a_file() -> None:
    assert [chunk_key(index) for index in (0, CHUNK_ROWS - 1, CHUNK_ROWS, 3 * CHUNK_ROWS + 7)] == [0, 0, 1, 3]
