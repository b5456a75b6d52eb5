"""Batch jobs: one process, N processes and a Dask LocalCluster give identical output; bad rows never stop a job;
--resume skips exactly the partitions already written and trusts no half-written file."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import service.batch.partitions as partitions
from service.batch.jobs import Request, run
from service.batch.readers import InputError
from service.batch.rows import Options
from service.model.bundle import Bundle
from training.examples import Example

ROWS = 2_400
PARTITION_ROWS = 500
MAX_CHARS = 600
BAD = {  # row number -> (line, reason)
    7: (json.dumps({"id": "no-text", "title": "x"}), "missing or empty text field 'text'"),
    501: ('{"id": "broken", "text": ', "invalid JSON"),
    1234: ('{"id": "caf\xe9", "text": "Caf\xe9 talks."}', "id field 'id' contains a lone surrogate (U+DCE9)"),
    1505: (json.dumps({"id": "nul", "text": "Talks\u0000 resumed."}), "text field 'text' contains a NUL character"),
    1800: (json.dumps({"id": "long", "text": "Talks. " * 100}), "text field 'text' has 700 characters"),
    2399: ("[1, 2, 3]", "expected a JSON object, got list"),
}


def write_input(path: Path, corpus: list[Example], rows: int = ROWS) -> Path:
    """`rows` rows of one or two corpus sentences each, with a few bad ones; invalid UTF-8 on one line."""
    texts = [example.text for example in corpus]
    with path.open("wb") as out:
        for number in range(1, rows + 1):
            if number in BAD:
                line = BAD[number][0].encode("utf-8")
                line = line.replace("\xe9".encode(), b"\xe9")  # bytes that are not UTF-8
            else:
                text = texts[number % len(texts)]
                if number % 3 == 0:
                    text += " " + texts[(number * 7) % len(texts)]
                line = json.dumps({"id": f"doc-{number}", "text": text}).encode("utf-8")
            out.write(line + b"\n")
    return path


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory, corpus: list[Example]) -> Path:
    return write_input(tmp_path_factory.mktemp("input") / "articles.jsonl", corpus)


def request(source: Path, output: Path | str, bundle: Bundle, **kwargs) -> Request:
    options = Options(max_text_chars=MAX_CHARS, partition_rows=PARTITION_ROWS, mode=kwargs.pop("mode", "texts"))
    return Request(input=str(source), output=str(output), model=bundle.path, options=options, **kwargs)


def parts(folder: Path, pattern: str = "part-*.jsonl") -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.glob(pattern)))


@pytest.fixture(scope="module")
def single(source: Path, bundle: Bundle, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The single-process run: one output file and one reject file."""
    out = tmp_path_factory.mktemp("single")
    result = run(request(source, out / "out.jsonl", bundle, rejects=out / "rejects.jsonl"))
    assert (result.stats.rows, result.stats.rejected) == (ROWS, len(BAD))
    return out / "out.jsonl", out / "rejects.jsonl"


def test_single_process_run_sets_bad_rows_aside(single: tuple[Path, Path], source: Path) -> None:
    out, rejects = single
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == ROWS - len(BAD)
    assert records[0]["id"] == "doc-1" and {"label", "score", "scores", "confident"} <= set(records[0]["stance"])
    rejected = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [r["row"] for r in rejected] == sorted(BAD)
    for r in rejected:
        assert r["file"] == str(source) and BAD[r["row"]][1] in r["reason"]
    assert rejected[0]["id"] == "no-text" and "id" not in rejected[1] and "id" not in rejected[2]


def test_workers_into_a_named_file_join_their_parts_into_it(
    single: tuple[Path, Path], source: Path, bundle: Bundle, tmp_path: Path
) -> None:
    """`-o out.jsonl --workers 2` writes that file (and its reject file), byte for byte the one-process output."""
    out, rejects = single
    result = run(request(source, tmp_path / "out.jsonl", bundle, workers=2))
    assert (result.partitions, result.stats.rows, result.stats.rejected) == (5, ROWS, len(BAD))
    assert (tmp_path / "out.jsonl").read_bytes() == out.read_bytes()
    assert (tmp_path / "out.jsonl.rejects.jsonl").read_bytes() == rejects.read_bytes()
    assert result.output == str(tmp_path / "out.jsonl") and result.rejects == str(tmp_path / "out.jsonl.rejects.jsonl")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.jsonl", "out.jsonl.rejects.jsonl"]


def test_workers_into_a_named_parquet_file(source: Path, bundle: Bundle, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    run(request(source, tmp_path / "one.parquet", bundle))
    run(request(source, tmp_path / "two.parquet", bundle, workers=2))
    assert pq.read_table(tmp_path / "two.parquet").equals(pq.read_table(tmp_path / "one.parquet"))


def test_an_output_name_without_extension_is_a_folder(source: Path, bundle: Bundle, tmp_path: Path) -> None:
    run(request(source, tmp_path / "labels", bundle))
    assert (tmp_path / "labels" / "_SUCCESS").is_file()


def test_processes_and_dask_give_the_single_process_output(
    single: tuple[Path, Path], source: Path, bundle: Bundle, tmp_path: Path
) -> None:
    from distributed import Client, LocalCluster

    out, rejects = single
    result = run(request(source, tmp_path / "processes", bundle, workers=2))
    assert (result.partitions, result.stats.rows, result.stats.rejected) == (5, ROWS, len(BAD))
    assert parts(tmp_path / "processes") == out.read_bytes()
    assert parts(tmp_path / "processes", "_rejects/part-*.jsonl") == rejects.read_bytes()
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        result = run(request(source, tmp_path / "dask", bundle, client=client))
    assert parts(tmp_path / "dask") == out.read_bytes()
    assert parts(tmp_path / "dask", "_rejects/part-*.jsonl") == rejects.read_bytes()
    assert sorted(path.name for path in (tmp_path / "dask").iterdir()) == [
        "_SUCCESS",
        "_job.json",
        "_rejects",
        "_stats",
        *[f"part-0000{i}.jsonl" for i in range(5)],
    ]


def test_sentences_and_parquet_are_equal_across_ways(source: Path, bundle: Bundle, tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    small = tmp_path / "small.jsonl"
    small.write_bytes(b"".join(source.read_bytes().splitlines(keepends=True)[:1100]))
    run(request(small, tmp_path / "one.parquet", bundle, mode="sentences", rejects=tmp_path / "r.jsonl"))
    expected = pq.read_table(tmp_path / "one.parquet")
    assert expected.num_rows > 1100 and expected.column_names[:6] == ["id", "row", "sentence", "start", "end", "text"]
    with (
        LocalCluster(n_workers=2, threads_per_worker=2, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        run(request(small, tmp_path / "many.parquet", bundle, mode="sentences", client=client))
    # Part names sort in input order, and Arrow's dataset reader skips _job.json, _rejects/ and _stats/.
    assert ds.dataset(tmp_path / "many.parquet", format="parquet").to_table().equals(expected)


def test_resume_skips_written_parts_and_never_trusts_a_half_one(
    single: tuple[Path, Path], source: Path, bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "out"
    real = partitions.read_slice

    def dies_in_partition_3(part, columns):  # a job killed while it writes part-00003
        for row in real(part, columns):
            if row.index == 3 * PARTITION_ROWS + 10:
                raise KeyboardInterrupt
            yield row

    monkeypatch.setattr(partitions, "read_slice", dies_in_partition_3)
    with pytest.raises(KeyboardInterrupt):
        run(request(source, f"{folder}/", bundle))  # one worker, in this process
    monkeypatch.undo()
    assert sorted(path.name for path in folder.glob("part-*")) == [
        "part-00000.jsonl",
        "part-00001.jsonl",
        "part-00002.jsonl",
    ]
    assert not list(folder.rglob(".*.tmp")) and not (folder / "_SUCCESS").exists()
    assert sorted(path.name for path in folder.glob("_rejects/*")) == [f"part-0000{i}.jsonl" for i in range(3)]
    # A kill -9 leaves its temporary file behind: it is never taken for a part, and is cleaned up on resume.
    (folder / ".part-00003.jsonl.0123abcd.tmp").write_text('{"half": ', encoding="utf-8")
    before = {path.name: path.stat().st_mtime_ns for path in folder.glob("part-*")}

    with pytest.raises(InputError, match="add --resume"):
        run(request(source, folder, bundle, workers=2))
    with pytest.raises(InputError, match="differs in options"):
        run(request(source, folder, bundle, workers=2, resume=True, mode="summary"))

    result = run(request(source, folder, bundle, workers=2, resume=True))
    assert (result.partitions, result.skipped) == (5, 3)
    assert (result.stats.rows, result.ran.rows) == (ROWS, ROWS - 3 * PARTITION_ROWS)
    assert result.stats.rejected == len(BAD)
    assert {name: (folder / name).stat().st_mtime_ns for name in before} == before  # not written again
    assert parts(folder) == single[0].read_bytes()
    assert parts(folder, "_rejects/part-*.jsonl") == single[1].read_bytes()
    assert not list(folder.rglob(".*.tmp")) and (folder / "_SUCCESS").exists()


def test_a_failed_partition_leaves_no_rejects_and_no_temporary_file(
    source: Path, bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = partitions.classify_rows

    def fails_once_labelled(*args):  # partition 0 has set row 7 aside by then
        yield from real(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(partitions, "classify_rows", fails_once_labelled)
    folder = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run(request(source, f"{folder}/", bundle))
    assert sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")) == ["_job.json", "_rejects"]


def test_resume_reruns_a_part_whose_counts_are_missing(source: Path, bundle: Bundle, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    run(request(source, f"{folder}/", bundle))
    (folder / "_stats" / "part-00001.json").unlink()
    result = run(request(source, f"{folder}/", bundle, resume=True))
    assert (result.skipped, result.ran.rows) == (4, PARTITION_ROWS)


def test_a_single_file_job_sets_bad_rows_aside_beside_its_output(source: Path, bundle: Bundle, tmp_path: Path) -> None:
    result = run(request(source, tmp_path / "out.jsonl", bundle))
    assert result.rejects == str(tmp_path / "out.jsonl.rejects.jsonl") and result.stats.rejected > 0
    rejected = [json.loads(line) for line in Path(result.rejects).read_text().splitlines()]
    assert {"row": 7, "reason": "missing or empty text field 'text'"}.items() <= rejected[0].items()


def test_to_stdout_without_a_reject_file_the_first_bad_row_stops_the_job(
    source: Path, bundle: Bundle, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match=r"articles.jsonl: row 7: missing or empty text field 'text'"):
        run(request(source, "-", bundle))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input": "-", "workers": 2}, "standard input can't be partitioned"),
        ({"output": "-", "workers": 2}, "give --output FOLDER"),
        ({"resume": True}, "--resume needs a folder output"),
        ({"workers": 2, "output": "labels/", "rejects": Path("r.jsonl")}, "drop --rejects"),
        ({"workers": 0}, "at least 1"),
        ({"output": "-", "output_format": "parquet"}, "standard output gets JSONL"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(
    source: Path, bundle: Bundle, tmp_path: Path, kwargs: dict, message: str
) -> None:
    the_request = request(source, tmp_path / "out.jsonl", bundle)
    for key, value in kwargs.items():
        setattr(the_request, key, value)
    with pytest.raises(InputError, match=message):
        run(the_request)
    assert not list(tmp_path.iterdir())


def test_a_csv_or_parquet_input_without_the_text_column_is_a_bad_argument(bundle: Bundle, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,body\n1,Talks resumed.\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no column 'text' \(columns: id, body\)"):
        run(request(path, tmp_path / "out.jsonl", bundle))


def test_part_names_widen_past_99999() -> None:
    assert partitions.part_names(3) == ["part-00000", "part-00001", "part-00002"]
    assert partitions.part_names(100_001)[-1] == "part-100000" and partitions.part_names(100_001)[0] == "part-000000"


def test_a_scheduler_or_a_client_means_dask_whatever_the_engine() -> None:
    assert not Request(input="in.jsonl").on_dask
    assert Request(input="in.jsonl", engine="dask").on_dask
    assert Request(input="in.jsonl", scheduler="tcp://127.0.0.1:8786").on_dask
    assert Request(input="in.jsonl", client=object()).on_dask
    assert Request(input="in.jsonl", scheduler="tcp://127.0.0.1:8786").writes_folder


@pytest.mark.parametrize("kwargs", [{"engine": "dask"}, {"scheduler": "tcp://127.0.0.1:8786"}])
def test_dask_without_the_scale_extra_names_the_extra(
    source: Path, bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed: importing it fails
    with pytest.raises(InputError, match=r"needs the \[scale\] extra .*pip install -c constraints.txt '\.\[scale\]'"):
        run(request(source, tmp_path / "out", bundle, **kwargs))
    assert not list(tmp_path.iterdir())


def test_a_csv_text_longer_than_the_csv_modules_limit_is_rejected_for_its_length(
    bundle: Bundle, tmp_path: Path
) -> None:
    path = tmp_path / "in.csv"
    path.write_text(f'id,text\n1,Talks resumed.\n2,"{"Talks. " * 30_000}"\n3,A bomb exploded.\n', encoding="utf-8")
    default = csv.field_size_limit(131_072)  # the module's default (128 KiB): a job raises it itself
    try:
        result = run(request(path, tmp_path / "out.jsonl", bundle))
    finally:
        csv.field_size_limit(default)
    assert (result.stats.classified, result.stats.rejected) == (2, 1)
    [rejected] = [json.loads(line) for line in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()]
    assert rejected["id"] == "2" and "has 210000 characters" in rejected["reason"]


def test_precision_rounds_the_probabilities_written_only(
    single: tuple[Path, Path], source: Path, bundle: Bundle, tmp_path: Path
) -> None:
    """`--precision 3`: every probability rounded to 3 places; labels and `confident` those of the exact ones."""
    options = Options(max_text_chars=MAX_CHARS, partition_rows=PARTITION_ROWS, precision=3)
    run(Request(input=str(source), output=str(tmp_path / "out.jsonl"), model=bundle.path, options=options))
    exact = [json.loads(line) for line in single[0].read_text(encoding="utf-8").splitlines()]
    rounded = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rounded) == len(exact)
    for mine, theirs in zip(rounded, exact, strict=True):
        for head in ("topic", "stance", "sentiment"):
            assert mine[head]["label"] == theirs[head]["label"]
            assert mine[head]["confident"] == theirs[head]["confident"]
            assert mine[head]["score"] == round(theirs[head]["score"], 3)
            assert mine[head]["scores"] == {label: round(p, 3) for label, p in theirs[head]["scores"].items()}
