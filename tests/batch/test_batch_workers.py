"""Several workers on one machine: a file job cuts its partitions for them, this process works alongside its helper
processes (never waiting for one still starting), and the output is the same whatever the number of workers."""

from __future__ import annotations

import errno
import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

import service.batch.engines as engines
import service.batch.merge as merge
from service.batch.jobs import Request, run
from service.batch.partitions import PARTITIONS_PER_WORKER, Job, Partition, plan
from service.batch.rows import CHUNK_ROWS, Options, Stats
from service.batch.slices import Slice, read_slice
from service.model.bundle import Bundle
from training.examples import Example

JOB = Job(model="/models/m", model_version="v", options=Options())


def write_rows(path: Path, count: int) -> Path:
    path.write_text("".join(json.dumps({"id": i, "text": f"Talks number {i} resumed."}) + "\n" for i in range(count)))
    return path


def rows_read(partitions: list[Partition]) -> list[tuple[str, int, int, dict | None]]:
    return [
        (part.slice.path, part.slice.row_base, row.index, row.record)
        for part in partitions
        for row in read_slice(part.slice, ("text", "id"))
    ]


def test_a_file_jobs_partitions_are_whole_chunks_enough_for_every_worker(tmp_path: Path) -> None:
    files = [(write_rows(tmp_path / "a.jsonl", 40_321), "jsonl"), (write_rows(tmp_path / "b.jsonl", 1_700), "jsonl")]
    folder_plan = plan(files, 10_000)
    shared = plan(files, 10_000, workers=2)
    assert [part.slice.rows for part in folder_plan.partitions] == [10_000] * 4 + [321, 1_700]
    sizes = [part.slice.rows for part in shared.partitions]
    # 85 chunks over 2 workers: partitions of 2 chunks, at least PARTITIONS_PER_WORKER a worker, never across files.
    assert sizes == [2 * CHUNK_ROWS] * 40 + [321] + [1_000, 700]
    assert len(sizes) >= 2 * PARTITIONS_PER_WORKER
    assert all(part.slice.first % CHUNK_ROWS == 0 for part in shared.partitions)
    assert rows_read(shared.partitions) == rows_read(folder_plan.partitions)
    assert (shared.rows, shared.inputs) == (folder_plan.rows, folder_plan.inputs)
    assert [part.slice.rows for part in plan(files, CHUNK_ROWS, workers=2).partitions][:2] == [CHUNK_ROWS] * 2
    assert [part.slice.rows for part in plan(files[1:], 10_000, workers=8).partitions] == [500, 500, 500, 200]


def fake_partitions(count: int) -> list[Partition]:
    return [Partition(index, f"part-{index:05d}", Slice("in.jsonl", "jsonl")) for index in range(count)]


@pytest.fixture()
def ran_by(monkeypatch: pytest.MonkeyPatch) -> dict[int, str]:
    """Stands in for labelling a partition: records which thread ran each one, and takes a little time."""
    ran: dict[int, str] = {}

    def run_partition(partition: Partition, job: Job, out_dir: str) -> tuple[int, Stats]:
        if partition.index in ran:
            raise AssertionError(f"partition {partition.index} ran twice")
        ran[partition.index] = threading.current_thread().name
        time.sleep(0.01)
        return partition.index, Stats(rows=1)

    monkeypatch.setattr(engines, "run_partition", run_partition)
    return ran


def test_this_process_labels_partitions_alongside_its_helpers(ran_by: dict[int, str]) -> None:
    with ThreadPoolExecutor(1, thread_name_prefix="helper") as pool:  # a thread stands in for a helper process
        ready = [pool.submit(lambda: None)]
        done = list(engines.share_partitions(JOB, fake_partitions(30), "out", pool, ready))
    assert sorted(index for index, _ in done) == list(range(30))
    threads = set(ran_by.values())
    assert threading.current_thread().name in threads and any(name.startswith("helper") for name in threads)


def test_this_process_never_waits_for_a_helper_still_starting(ran_by: dict[int, str]) -> None:
    loaded: Future[None] = Future()
    late = threading.Timer(2.0, loaded.set_result, (None,))  # a helper ready long after the work is done
    late.start()
    try:
        with ThreadPoolExecutor(1) as pool:
            done = list(engines.share_partitions(JOB, fake_partitions(5), "out", pool, [loaded]))
    finally:
        late.cancel()
    assert [index for index, _ in done] == list(range(5))
    assert set(ran_by.values()) == {threading.current_thread().name}


def test_a_helpers_failure_stops_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_partition(partition: Partition, job: Job, out_dir: str) -> tuple[int, Stats]:
        time.sleep(0.01)
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError(f"helper failed on {partition.name}")
        return partition.index, Stats(rows=1)

    monkeypatch.setattr(engines, "run_partition", run_partition)
    with ThreadPoolExecutor(1) as pool, pytest.raises(RuntimeError, match="helper failed on part-"):
        list(engines.share_partitions(JOB, fake_partitions(30), "out", pool, [pool.submit(lambda: None)]))


def test_the_output_file_is_the_same_whatever_the_number_of_workers(
    corpus: list[Example], bundle: Bundle, tmp_path: Path
) -> None:
    texts = [example.text for example in corpus]
    source = tmp_path / "in.jsonl"
    lines = [{"id": i, "text": texts[i % len(texts)]} for i in range(3_100)]
    lines[1_234] = {"id": "empty", "text": ""}
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    outputs = {}
    for workers in (1, 2, 3):
        output = tmp_path / f"out-{workers}.jsonl"
        result = run(Request(input=str(source), output=str(output), model=bundle.path, workers=workers))
        assert (result.stats.rows, result.stats.rejected) == (3_100, 1)
        outputs[workers] = (output.read_bytes(), Path(f"{output}.rejects.jsonl").read_bytes())
    assert outputs[2] == outputs[1] and outputs[3] == outputs[1]
    assert not [path.name for path in tmp_path.iterdir() if path.name.startswith(".")]  # no parts left behind


def test_parts_are_joined_byte_for_byte_where_the_kernel_cannot_copy_them(
    bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_rows(tmp_path / "in.jsonl", 1_600)
    run(Request(input=str(source), output=str(tmp_path / "kernel.jsonl"), model=bundle.path, workers=2))

    def refuses(*args: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(merge.os, "copy_file_range", refuses)
    run(Request(input=str(source), output=str(tmp_path / "copied.jsonl"), model=bundle.path, workers=2))
    assert (tmp_path / "copied.jsonl").read_bytes() == (tmp_path / "kernel.jsonl").read_bytes()
    assert len((tmp_path / "copied.jsonl").read_bytes().splitlines()) == 1_600
