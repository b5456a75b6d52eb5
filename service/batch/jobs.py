"""Batch jobs: classify inputs of any size into one file, or into a folder of part files (`service.batch.partitions`)
with several processes on one machine or on a Dask cluster. Every way gives the same records in the same order.

A job reads its input as a stream and labels it a chunk at a time, so memory stays flat whatever the input's
size. A one-process job writes one file (or standard output); a partitioned job plans its partitions, runs them
in any order on the workers, and with `resume=True` skips those already complete.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from service.batch.formats import (
    InputError,
    JsonlWriter,
    ParquetWriter,
    RawRow,
    Slice,
    atomic_file,
    csv_header,
    input_files,
    open_writer,
    output_format,
    parquet_columns,
    read_slice,
    read_stream,
)
from service.batch.partitions import (
    EXTENSIONS,
    JOB_FILE,
    REJECTS_DIR,
    STATS_DIR,
    SUCCESS_FILE,
    Job,
    Partition,
    Plan,
    part_names,
    plan,
    preload,
    run_partition,
)
from service.batch.rows import CHUNK_ROWS, Options, Stats, classify_rows, output_schema
from service.model.bundle import Bundle, load_bundle

__all__ = ["ENGINES", "Request", "Result", "part_names", "run", "summary_line"]

ENGINES = ("processes", "dask")


@dataclass
class Request:
    """A classify job as the command line asks for it."""

    input: str
    output: str = "-"
    model: Path = Path("models/current")
    options: Options = field(default_factory=Options)
    input_format: str | None = None
    output_format: str | None = None
    rejects: Path | None = None
    workers: int = 1
    engine: str = "processes"
    scheduler: str | None = None
    resume: bool = False
    progress: bool = False
    client: Any = None  # a dask.distributed Client to run on (tests, notebooks)


@dataclass
class Result:
    """What a job did: `stats` counts the whole job, `ran` what this run labelled (less when resuming)."""

    stats: Stats
    ran: Stats
    seconds: float
    output: str
    rejects: str | None
    partitions: int = 0
    skipped: int = 0


def check_columns(files: Iterable[tuple[Path, str]], options: Options) -> None:
    """A CSV or Parquet file without the text column is a wrong argument, not a million bad rows."""
    for path, fmt in files:
        if fmt == "jsonl":
            continue
        columns = csv_header(path) if fmt == "csv" else tuple(parquet_columns(path))
        if columns and options.text_field not in columns:
            raise InputError(f"{path}: no column {options.text_field!r} (columns: {', '.join(columns)})")


# --- ways of running the partitions ----------------------------------------------------------------------------


def _inline(job: Job, pending: list[Partition], out_dir: str) -> Iterator[tuple[int, Stats]]:
    for partition in pending:
        yield run_partition(partition, job, out_dir)


def _processes(job: Job, pending: list[Partition], out_dir: str, workers: int) -> Iterator[tuple[int, Stats]]:
    # spawn, not fork: workers start clean (no copied locks or threads), as on every platform and as Dask's do.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [pool.submit(run_partition, partition, job, out_dir) for partition in pending]
        for future in as_completed(futures):
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask_client(request: Request, stack: contextlib.ExitStack) -> Any:
    """The request's own client, a client of `request.scheduler`, or one of a new LocalCluster (closed with
    `stack`). An unreachable scheduler is a bad argument."""
    if request.client is not None:
        return request.client
    import dask
    from distributed import Client, LocalCluster

    if request.scheduler:
        try:
            return stack.enter_context(Client(request.scheduler))
        except (OSError, ValueError) as error:
            raise InputError(f"can't reach the Dask scheduler at {request.scheduler}: {error}") from error
    # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, so that long-lived workers hand freed
    # memory back to the system. Labelling allocates and frees arrays of a few MB per chunk, and that setting
    # made it cost a third more CPU than plain processes (+7% without it); a job's memory is bounded anyway.
    # (None unsets it.)
    stack.enter_context(dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}))
    cluster = stack.enter_context(
        LocalCluster(n_workers=request.workers, threads_per_worker=1, processes=True, dashboard_address=None)
    )
    return stack.enter_context(Client(cluster))


def _dask(job: Job, pending: list[Partition], out_dir: str, client: Any) -> Iterator[tuple[int, Stats]]:
    from distributed import as_completed as dask_completed

    token = uuid.uuid4().hex[:8]
    keys = [f"stance-{partition.name}-{token}" for partition in pending]
    futures = client.map(run_partition, pending, key=keys, pure=False, job=job, out_dir=out_dir)
    try:
        for future in dask_completed(futures):
            yield future.result()
    finally:
        client.cancel(futures)


# --- a folder of parts -----------------------------------------------------------------------------------------


def _job_description(job: Job, the_plan: Plan) -> dict[str, Any]:
    return {
        "inputs": the_plan.inputs,
        "rows": the_plan.rows,
        "partitions": len(the_plan.partitions),
        "model": {"path": job.model, "version": job.model_version},
        "options": asdict(job.options),
        "output_format": job.output_format,
    }


def _prepare_folder(folder: Path, description: dict[str, Any], resume: bool) -> None:
    """Start a new output folder, or check that an existing one holds this very job when resuming."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: exists and is not a folder")
    job_file = folder / JOB_FILE
    if job_file.is_file():
        if not resume:
            raise InputError(f"{folder}: holds the output of an earlier job; add --resume to finish it, or remove it")
        earlier = json.loads(job_file.read_text(encoding="utf-8"))
        differs = [key for key in description if key != "model" and earlier.get(key) != description[key]]
        if earlier.get("model", {}).get("version") != description["model"]["version"]:
            differs.append("model version")
        if differs:
            raise InputError(f"{folder}: holds a different job (it differs in {', '.join(differs)}); remove it first")
        for stale in [
            *folder.glob(".*.tmp"),
            *folder.glob(f"{REJECTS_DIR}/.*.tmp"),
            *folder.glob(f"{STATS_DIR}/.*.tmp"),
        ]:
            stale.unlink(missing_ok=True)  # left by a killed job; never trusted
        return
    if folder.is_dir() and any(folder.iterdir()):
        raise InputError(f"{folder}: exists and is not empty; give a new folder")
    with atomic_file(job_file) as temporary:
        temporary.write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")


def _done(folder: Path, partition: Partition, extension: str) -> Stats | None:
    """The counts of a partition already written, or None if it must run."""
    stats_file = folder / STATS_DIR / f"{partition.name}.json"
    if not ((folder / f"{partition.name}{extension}").is_file() and stats_file.is_file()):
        return None
    return Stats(**json.loads(stats_file.read_text(encoding="utf-8")))


def classify_to_folder(request: Request, job: Job, the_plan: Plan, folder: Path, progress: Any) -> Result:
    with contextlib.ExitStack() as stack:
        client = _dask_client(request, stack) if uses_dask(request) else None
        return _classify_to_folder(request, job, the_plan, folder.resolve(), progress, client)


def uses_dask(request: Request) -> bool:
    return request.engine == "dask" or bool(request.scheduler) or request.client is not None


def _classify_to_folder(request: Request, job: Job, the_plan: Plan, folder: Path, progress: Any, client: Any) -> Result:
    started = time.perf_counter()
    _prepare_folder(folder, _job_description(job, the_plan), request.resume)
    (folder / SUCCESS_FILE).unlink(missing_ok=True)
    total = Stats()
    pending: list[Partition] = []
    for partition in the_plan.partitions:
        done = _done(folder, partition, EXTENSIONS[job.output_format]) if request.resume else None
        if done is None:
            pending.append(partition)
        else:
            total.add(done)
            progress.update(done)
    out_dir = str(folder)
    if client is not None:
        runs = _dask(job, pending, out_dir, client)
    elif request.workers > 1 and len(pending) > 1:
        runs = _processes(job, pending, out_dir, request.workers)
    else:
        runs = _inline(job, pending, out_dir)
    ran = Stats()
    for _, stats in runs:
        ran.add(stats)
        progress.update(stats)
    total.add(ran)
    (folder / SUCCESS_FILE).write_text("", encoding="utf-8")
    rejects = str(folder / REJECTS_DIR) if total.rejected else None
    skipped = len(the_plan.partitions) - len(pending)
    seconds = time.perf_counter() - started
    return Result(total, ran, seconds, str(folder), rejects, len(the_plan.partitions), skipped)


# --- one file (or standard output) -----------------------------------------------------------------------------


def _strict(record: dict[str, Any]) -> None:
    raise InputError(f"{record['file']}: row {record['row']}: {record['reason']}")


def classify_to_file(request: Request, job: Job, bundle: Bundle, progress: Any) -> Result:
    """Stream every input row through the model into one file or standard output, in one process.

    Rows that can't be labelled go to `request.rejects`; without a reject file the first one stops the job
    (exit status 2, and the output file is not written)."""
    started = time.perf_counter()
    total = Stats()
    with contextlib.ExitStack() as stack:
        reject = _strict
        if request.rejects is not None:
            rejects_path = stack.enter_context(atomic_file(request.rejects))
            reject_writer = JsonlWriter(stack.enter_context(rejects_path.open("w", encoding="utf-8")))

            def reject(record: dict[str, Any]) -> None:
                reject_writer.write([record])

        writer: JsonlWriter | ParquetWriter = JsonlWriter(sys.stdout)
        if request.output != "-":
            temporary = stack.enter_context(atomic_file(Path(request.output)))
            writer = open_writer(temporary, job.output_format, output_schema(bundle, job.options))
        stack.callback(writer.close)  # before the renames above, also on error
        for source, rows in _sources(request):
            row_base = total.rows
            for records, stats in classify_rows(bundle, rows, job.options, source, row_base, reject):
                writer.write(records)
                total.add(stats)
                progress.update(stats)
    rejects = str(request.rejects) if request.rejects is not None and total.rejected else None
    return Result(total, total, time.perf_counter() - started, request.output, rejects)


def _sources(request: Request) -> Iterator[tuple[str, Iterator[RawRow]]]:
    """(name, rows) of each input: standard input, a file, or the files of a folder in name order."""
    options = request.options
    if request.input == "-":
        stdin: Any = sys.stdin
        lines = (
            stdin.buffer if hasattr(stdin, "buffer") else (line.encode("utf-8", "surrogateescape") for line in stdin)
        )
        yield "-", read_stream(lines, request.input_format or "jsonl")
        return
    for path, fmt in input_files(Path(request.input), request.input_format):
        name = str(path.resolve())  # as partitioned jobs name it, so reject files agree
        yield name, read_slice(Slice(name, fmt), (options.text_field, options.id_field))


# --- the whole job ---------------------------------------------------------------------------------------------


def is_folder_job(request: Request) -> bool:
    """Several workers, Dask, or an output named as a folder (an existing one, or ending in /) write parts."""
    if request.workers > 1 or uses_dask(request):
        return True
    return request.output != "-" and (request.output.endswith(("/", os.sep)) or Path(request.output).is_dir())


def run(request: Request) -> Result:
    """Check the request, plan it and run it; bad arguments raise InputError (or BundleError) before any work."""
    if request.workers < 1:
        raise InputError(f"--workers must be at least 1, not {request.workers}")
    if request.options.partition_rows < 1 or request.options.partition_rows % CHUNK_ROWS:
        raise InputError(
            f"--partition-rows must be a positive multiple of {CHUNK_ROWS}, not {request.options.partition_rows}"
        )
    folder_job = is_folder_job(request)
    if request.input == "-" and folder_job:
        raise InputError("standard input can't be partitioned: give a file or folder to run on several workers")
    if request.input == "-" and request.input_format == "parquet":
        raise InputError("Parquet can't be read from standard input: give a file")
    if folder_job and request.output == "-":
        raise InputError("a partitioned job writes a folder of parts: give --output FOLDER")
    if folder_job and request.rejects is not None:
        raise InputError(
            f"a partitioned job writes its rejects to {Path(request.output) / REJECTS_DIR}; drop --rejects"
        )
    if not folder_job and request.rejects is None and request.output != "-":
        # A bad row never stops a job that writes a file: it goes beside the output.
        request.rejects = Path(f"{request.output}.rejects.jsonl")
    if request.resume and not folder_job:
        raise InputError("--resume needs a folder output (--workers N, --engine dask, or --output FOLDER/)")
    if request.scheduler and request.engine != "dask":
        request.engine = "dask"
    fmt = request.output_format or output_format(request.output.rstrip("/" + os.sep))
    if request.output == "-" and fmt != "jsonl":
        raise InputError("standard output gets JSONL; write Parquet to a file")
    files = [] if request.input == "-" else input_files(Path(request.input), request.input_format)
    check_columns(files, request.options)
    bundle = load_bundle(request.model)
    job = Job(str(bundle.path.resolve()), bundle.version, request.options, fmt)
    if folder_job:
        if request.workers == 1 and not uses_dask(request):
            preload(job, bundle)  # partitions run in this process: load the model once
        del bundle  # else only the workers need it
        the_plan = plan(files, request.options.partition_rows)
        with progress_bar(the_plan.rows, request.progress) as progress:
            return classify_to_folder(request, job, the_plan, Path(request.output), progress)
    total = None
    if request.progress and files:  # a quick count, for the bar's ETA
        total = plan(files, 1 << 62).rows
    with progress_bar(total, request.progress) as progress:
        return classify_to_file(request, job, bundle, progress)


class _Progress:
    """A tqdm bar over input rows, with the sentences labelled so far; does nothing when disabled."""

    def __init__(self, total: int | None, enabled: bool) -> None:
        self.bar = None
        self.sentences = 0
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=" rows", unit_scale=True, file=sys.stderr, dynamic_ncols=True)

    def update(self, stats: Stats) -> None:
        if self.bar is not None:
            self.sentences += stats.sentences
            self.bar.set_postfix_str(f"{self.sentences:,} sentences", refresh=False)
            self.bar.update(stats.rows)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def progress_bar(total: int | None, enabled: bool) -> Iterator[_Progress]:
    bar = _Progress(total, enabled)
    try:
        yield bar
    finally:
        bar.close()


def summary_line(result: Result) -> str:
    """The last line of a job: rows read, classified and rejected, sentences, time and rate."""
    stats, ran = result.stats, result.ran
    rate = ran.sentences / result.seconds if result.seconds > 0 else 0.0
    line = (
        f"{stats.rows:,} rows read, {stats.classified:,} classified, {stats.rejected:,} rejected"
        f"{f' (see {result.rejects})' if result.rejects else ''}; "
        f"{ran.sentences:,} sentences labelled in {result.seconds:.1f} s ({rate:,.0f} sentences/s)"
    )
    if result.partitions:
        line += f"; {result.partitions:,} partitions in {result.output}"
        if result.skipped:
            line += f", {result.skipped:,} of them already written"
    return line
