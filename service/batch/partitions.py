"""Partitions of a batch job and the code that runs one, on whichever process or machine the job sends it to.

A job cuts every input file into partitions of `partition_rows` rows (JSONL and CSV by one quick pass for byte
offsets, Parquet from its footer), numbered across the input files in name order, and writes each one to its
own part in the output folder:

    OUT/
      _job.json                  the job: inputs (path, bytes, rows), model version, options; --resume checks it
      part-00000.jsonl           records of partition 0 (.parquet for Parquet output) ...
      part-00001.jsonl
      _rejects/part-00000.jsonl  rows of partition 0 set aside, with the reason (only partitions that have any)
      _stats/part-00000.json     partition 0's counts: rows, classified, rejected, sentences
      _SUCCESS                   written last, once every partition is there

Part names are zero-padded to 5 digits (more past 99,999 partitions), so the parts in name order are the
one-process output. Each file is written under a hidden temporary name (`.part-00000.jsonl.<random>.tmp`) and
renamed into place, rejects and counts first, the part last: a partition whose part and counts exist is
complete. Names starting with `_` or `.` are skipped by Parquet and Arrow dataset readers, so `OUT/` reads as one
dataset.
"""

from __future__ import annotations

import contextlib
import gc
import json
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from service.batch.readers import allow_long_csv_fields
from service.batch.rows import CHUNK_ROWS, Options, Stats, classify_rows, output_schema
from service.batch.slices import Slice, join_slices, plan_file, read_slice
from service.batch.writers import JsonlWriter, open_writer
from service.model.bundle import Bundle, BundleError, load_bundle
from service.model.files import atomic_file

JOB_FILE = "_job.json"
SUCCESS_FILE = "_SUCCESS"
REJECTS_DIR = "_rejects"
STATS_DIR = "_stats"
EXTENSIONS = {"jsonl": ".jsonl", "parquet": ".parquet"}
PARTITIONS_PER_WORKER = 16  # small: the last partition to finish is a small share of a worker's time


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to run a partition: sent to other processes and machines as it is."""

    model: str  # absolute path of the bundle folder
    model_version: str
    options: Options
    output_format: str = "jsonl"


@dataclass(frozen=True)
class Partition:
    index: int
    name: str  # part-00000, without extension
    slice: Slice


@dataclass(frozen=True)
class Plan:
    partitions: list[Partition]
    inputs: list[dict[str, Any]]
    rows: int


def part_names(count: int) -> list[str]:
    width = max(5, len(str(count - 1)))
    return [f"part-{index:0{width}d}" for index in range(count)]


def plan(files: Iterable[tuple[Path, str]], partition_rows: int, workers: int = 1) -> Plan:
    """Partitions of every input file, in order, and what the inputs are (for `_job.json`).

    With several `workers` the partitions may be smaller than `partition_rows` (whole chunks still, so the output
    is the same): at least PARTITIONS_PER_WORKER for each worker, so that workers taking one partition at a time
    finish close together whatever their start."""
    per_file: list[list[Slice]] = []
    inputs: list[dict[str, Any]] = []
    rows = 0
    for path, fmt in files:
        file_slices, file_rows = plan_file(path.resolve(), fmt, CHUNK_ROWS if workers > 1 else partition_rows, rows)
        per_file.append(file_slices)
        inputs.append({"path": str(path.resolve()), "format": fmt, "bytes": path.stat().st_size, "rows": file_rows})
        rows += file_rows
    if workers > 1:
        per_file = [join_slices(part, _chunks_per_partition(rows, partition_rows, workers)) for part in per_file]
    slices = [part for file_slices in per_file for part in file_slices]
    names = part_names(len(slices))
    return Plan(
        [Partition(i, name, part) for i, (name, part) in enumerate(zip(names, slices, strict=True))], inputs, rows
    )


def _chunks_per_partition(rows: int, partition_rows: int, workers: int) -> int:
    """At most `partition_rows` rows, and PARTITIONS_PER_WORKER partitions a worker where there are chunks enough."""
    chunks = -(-rows // CHUNK_ROWS)
    return max(1, min(partition_rows // CHUNK_ROWS, chunks // (workers * PARTITIONS_PER_WORKER)))


# --- one partition (runs on a worker) --------------------------------------------------------------------------

_BUNDLES: dict[str, Bundle] = {}
_BUNDLES_LOCK = threading.Lock()


def preload(job: Job, bundle: Bundle) -> None:
    """Hand this process's workers the bundle already loaded (partitions run in the process that planned them)."""
    with _BUNDLES_LOCK:
        _BUNDLES[job.model] = bundle


def load_model(model: str) -> None:
    """Load the bundle `model` names (a folder, or a `current` pointer) into this process's cache ahead of its first
    partition, while the job is still being planned; `worker_bundle` still checks it is the job's version."""
    bundle = load_bundle(Path(model))
    with _BUNDLES_LOCK:
        _BUNDLES.setdefault(bundle_key(bundle), bundle)
    gc.freeze()  # a process started for the job: its modules and model, out of the collector's sight, live as long


def bundle_key(bundle: Bundle) -> str:
    """How a job names its bundle (`Job.model`), and this process's cache holds it: its folder's absolute path."""
    return str(bundle.path.resolve())


def worker_bundle(job: Job) -> Bundle:
    """The job's bundle, loaded once per process and checked to be the version the job was planned with."""
    with _BUNDLES_LOCK:
        bundle = _BUNDLES.get(job.model)
        if bundle is None:
            bundle = _BUNDLES[job.model] = load_bundle(Path(job.model))
    if bundle.version != job.model_version:
        raise BundleError(f"{job.model} holds model {bundle.version}, but the job was planned with {job.model_version}")
    return bundle


class _Rejects(contextlib.ExitStack):
    """Reject lines of one partition. The file is started at the first one, so a partition without rejects leaves
    none; like any other file of the folder it is written under a temporary name and renamed into place when the
    block ends without error, removed otherwise."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.writer: JsonlWriter | None = None

    def write(self, record: dict[str, Any]) -> None:
        if self.writer is None:
            temporary = self.enter_context(atomic_file(self.path))
            self.writer = JsonlWriter(self.enter_context(temporary.open("wb")))
        self.writer.write([record])


def run_partition(partition: Partition, job: Job, out_dir: str) -> tuple[int, Stats]:
    """Classify one partition into `out_dir`: its rejects, then its counts, then its part, each renamed into place."""
    allow_long_csv_fields()  # this may be a worker process of its own, where the job's run() never ran
    bundle = worker_bundle(job)
    folder = Path(out_dir)
    options = job.options
    part = partition.slice
    stats = Stats()
    with atomic_file(folder / f"{partition.name}{EXTENSIONS[job.output_format]}") as temporary:
        with _Rejects(folder / REJECTS_DIR / f"{partition.name}.jsonl") as rejects:
            writer = open_writer(temporary, job.output_format, output_schema(bundle, options, job.output_format))
            try:
                rows = read_slice(part, (options.text_field, options.id_field))
                for records, counts in classify_rows(bundle, rows, options, part.path, part.row_base, rejects.write):
                    writer.write(records)
                    stats.add(counts)
            finally:
                writer.close()
        with atomic_file(folder / STATS_DIR / f"{partition.name}.json") as stats_file:
            stats_file.write_text(json.dumps(asdict(stats)) + "\n", encoding="utf-8")
    return partition.index, stats
