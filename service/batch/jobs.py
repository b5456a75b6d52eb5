"""Batch jobs: classify inputs of any size into one file, or into a folder of part files (`service.batch.partitions`)
with several processes on one machine or on a Dask cluster (`service.batch.engines`). Every way gives the same
records in the same order.

A job reads its input as a stream and labels it a chunk at a time, so memory stays flat whatever the input's
size. A one-process job writes one file (or standard output); a partitioned job plans its partitions, runs them
in any order on the workers, and with `resume=True` skips those already complete (`service.batch.folder_jobs`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.batch.engines import ENGINES, partition_runner, require_dask
from service.batch.folder_jobs import classify_to_folder
from service.batch.merge import join_parts, parts_folder
from service.batch.partitions import REJECTS_DIR, Job, bundle_key, plan, preload
from service.batch.readers import InputError, RawRow, allow_long_csv_fields, input_columns, input_files, read_stream
from service.batch.report import Progress, Result, progress_bar
from service.batch.rows import CHUNK_ROWS, MODES, Options, Stats, classify_rows, output_schema
from service.batch.slices import Slice, read_slice
from service.batch.writers import JsonlWriter, Writer, open_writer, output_format
from service.model.bundle import Bundle, load_bundle
from service.model.files import atomic_file


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
    scheduler: str | None = None  # a Dask scheduler's address: runs on Dask whatever `engine` says
    resume: bool = False
    progress: bool = False
    client: Any = None  # a dask.distributed Client to run on (tests, notebooks)

    @property
    def on_dask(self) -> bool:
        """Whether the job runs on Dask: asked by `engine`, or implied by a scheduler or a client to run on."""
        return self.engine == "dask" or bool(self.scheduler) or self.client is not None

    @property
    def names_folder(self) -> bool:
        """Whether the output is named as a folder: an existing one, a name ending in /, or one without extension."""
        name = self.output
        return name != "-" and (name.endswith(("/", os.sep)) or Path(name).is_dir() or not Path(name).suffix)

    @property
    def partitioned(self) -> bool:
        """Several workers, Dask, or an output named as a folder: the job runs as partitions writing parts."""
        return self.workers > 1 or self.on_dask or self.names_folder

    @property
    def writes_folder(self) -> bool:
        """Whether the parts stay as a folder; else they are joined into the file the output names."""
        return self.partitioned and (self.names_folder or self.output == "-")


def run(request: Request) -> Result:
    """Check the request, plan it and run it; bad arguments raise InputError (or BundleError) before any work."""
    allow_long_csv_fields()  # for the planning pass and a one-process job; workers raise it themselves
    _check(request)
    fmt = request.output_format or output_format(request.output.rstrip("/" + os.sep))
    if request.output == "-" and fmt != "jsonl":
        raise InputError("standard output gets JSONL; write Parquet to a file")
    files = [] if request.input == "-" else input_files(Path(request.input), request.input_format)
    check_columns(files, request.options)
    if not request.partitioned:
        bundle = load_bundle(request.model)
        total = None
        if request.progress and files:  # a quick count, for the bar's ETA
            total = plan(files, 1 << 62).rows
        with progress_bar(total, request.progress) as progress:
            return classify_to_file(request, _job(bundle, request.options, fmt), bundle, progress)
    folder = Path(request.output) if request.writes_folder else parts_folder(Path(request.output))
    # The runner first: the processes it starts load the model while this one loads its own and plans.
    with partition_runner(request.model, request.workers, request.on_dask, request.scheduler, request.client) as runner:
        bundle = load_bundle(request.model)
        job = _job(bundle, request.options, fmt)
        if not request.on_dask:
            preload(job, bundle)  # this process runs partitions too
        schema = output_schema(bundle, request.options, fmt)
        del bundle  # on Dask, only the workers need it
        # A folder's partitions are the user's (and --resume's); those of a file are ours to cut for the workers.
        the_plan = plan(files, request.options.partition_rows, 1 if request.writes_folder else request.workers)
        if not request.writes_folder:
            shutil.rmtree(folder, ignore_errors=True)  # the parts of an earlier run of this job, killed midway
        with progress_bar(the_plan.rows, request.progress) as progress:
            result = classify_to_folder(job, the_plan, folder, request.resume, runner, progress)
    if request.writes_folder:
        return result
    assert request.rejects is not None
    join_parts(folder, the_plan, fmt, schema, Path(request.output), request.rejects)
    rejects = str(request.rejects) if result.stats.rejected else None
    return Result(result.stats, result.ran, result.seconds, request.output, rejects, result.partitions)


def _job(bundle: Bundle, options: Options, fmt: str) -> Job:
    return Job(bundle_key(bundle), bundle.version, options, fmt)


def _check(request: Request) -> None:
    """Refuse arguments that can't work together; name the file rejects go to when a file job has none."""
    options = request.options
    if request.workers < 1:
        raise InputError(f"--workers must be at least 1, not {request.workers}")
    if request.engine not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}, not {request.engine!r}")
    if options.mode not in MODES:
        raise InputError(f"the output shape must be one of {', '.join(MODES)}, not {options.mode!r}")
    if options.partition_rows < 1 or options.partition_rows % CHUNK_ROWS:
        raise InputError(f"--partition-rows must be a positive multiple of {CHUNK_ROWS}, not {options.partition_rows}")
    folder_job = request.writes_folder
    if request.input == "-" and request.partitioned:
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
        raise InputError("--resume needs a folder output (--output FOLDER/ with --workers N or --engine dask)")
    if request.on_dask:
        require_dask()


def check_columns(files: Iterable[tuple[Path, str]], options: Options) -> None:
    """A CSV or Parquet file without the text column is a wrong argument, not a million bad rows."""
    for path, fmt in files:
        columns = input_columns(path, fmt)
        if columns and options.text_field not in columns:
            raise InputError(f"{path}: no column {options.text_field!r} (columns: {', '.join(columns)})")


# --- one file (or standard output) -----------------------------------------------------------------------------


def _strict(record: dict[str, Any]) -> None:
    raise InputError(f"{record['file']}: row {record['row']}: {record['reason']}")


def classify_to_file(request: Request, job: Job, bundle: Bundle, progress: Progress) -> Result:
    """Stream every input row through the model into one file or standard output, in one process.

    Rows that can't be labelled go to `request.rejects`; without a reject file the first one stops the job
    (exit status 2, and the output file is not written)."""
    started = time.perf_counter()
    total = Stats()
    with contextlib.ExitStack() as stack:
        reject = _strict
        if request.rejects is not None:
            # Written even when empty, so that the reject file of an earlier run of the same command never stays.
            rejects_path = stack.enter_context(atomic_file(request.rejects))
            reject_writer = JsonlWriter(stack.enter_context(rejects_path.open("wb")))

            def reject(record: dict[str, Any]) -> None:
                reject_writer.write([record])

        sys.stdout.flush()
        writer: Writer = JsonlWriter(sys.stdout.buffer)
        if request.output != "-":
            temporary = stack.enter_context(atomic_file(Path(request.output)))
            writer = open_writer(temporary, job.output_format, output_schema(bundle, job.options, job.output_format))
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
