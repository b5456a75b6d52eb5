"""A job that writes a folder of parts (`service.batch.partitions` describes the folder): start the folder, or check
that it holds this very job when resuming; run the partitions not yet written; mark the folder complete."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from service.batch.engines import Runner
from service.batch.partitions import EXTENSIONS, JOB_FILE, REJECTS_DIR, STATS_DIR, SUCCESS_FILE, Job, Partition, Plan
from service.batch.readers import InputError
from service.batch.report import Progress, Result
from service.batch.rows import Stats
from service.model.files import atomic_file


def classify_to_folder(
    job: Job, the_plan: Plan, folder: Path, resume: bool, runner: Runner, progress: Progress
) -> Result:
    """Run the plan's partitions into `folder` with `runner` (with `resume`, only those not written yet), then
    write `_SUCCESS`."""
    started = time.perf_counter()
    folder = folder.resolve()
    _prepare_folder(folder, _job_description(job, the_plan), resume)
    (folder / SUCCESS_FILE).unlink(missing_ok=True)
    total = Stats()
    pending: list[Partition] = []
    for partition in the_plan.partitions:
        done = _done(folder, partition, EXTENSIONS[job.output_format]) if resume else None
        if done is None:
            pending.append(partition)
        else:
            total.add(done)
            progress.update(done)
    ran = Stats()
    for _, stats in runner(job, pending, str(folder)):
        ran.add(stats)
        progress.update(stats)
    total.add(ran)
    with atomic_file(folder / SUCCESS_FILE) as temporary:
        temporary.write_text("", encoding="utf-8")
    rejects = str(folder / REJECTS_DIR) if total.rejected else None
    skipped = len(the_plan.partitions) - len(pending)
    seconds = time.perf_counter() - started
    return Result(total, ran, seconds, str(folder), rejects, len(the_plan.partitions), skipped)


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
