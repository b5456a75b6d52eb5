"""Analysts' corrections, stored append-only as JSON lines that `stance train --data` reads.

One file a day (UTC), `feedback-YYYY-MM-DD.jsonl`, in the feedback folder (`STANCE_FEEDBACK_DIR`). A row is
`{"id", "time", "text", <the heads given>, "model_version", "request_id", "note"?}`.

Each line is written under an exclusive lock on the file (`flock`: threads, requests and worker processes take
turns), with one `write` of the whole encoded line to a file opened with `O_APPEND`, then synced (`fsync`) before
the answer, so concurrent writers never interleave their lines or write over each other. Only a process killed in
the middle of its write, or a crash before the sync, can leave a line cut short, and then only the file's last
line: the next writer, holding the lock, sees it and first ends that line, so the cut line never runs into a
whole one.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FILE_PATTERN = "feedback-{day}.jsonl"
_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class FeedbackWriteError(OSError):
    """The line was not (or not wholly) written."""


def new_row(
    text: str,
    labels: Mapping[str, str],
    *,
    model_version: str | None,
    request_id: str | None,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A feedback row with a new id (uuid4, hex) and the time (UTC, ISO 8601 with milliseconds)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    row: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "text": text,
        **labels,
        "model_version": model_version,
        "request_id": request_id,
    }
    if note is not None:
        row["note"] = note
    return row


def feedback_file(folder: Path, time: str) -> Path:
    """The day's file for a row written at `time` (the row's own ISO 8601 UTC time)."""
    return Path(folder) / FILE_PATTERN.format(day=time[:10])


def encode_line(row: Mapping[str, Any]) -> bytes:
    """The row as one JSON line, UTF-8 (the strings must be valid Unicode: the API checks them)."""
    return (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")


def append_row(folder: Path, row: Mapping[str, Any]) -> Path:
    """Append the row to its day's file in `folder` (made if missing) and sync it to disk; the file's path.

    Blocking disk I/O: call it from a worker thread. Raises OSError when the line could not be stored."""
    line = encode_line(row)
    path = feedback_file(folder, str(row["time"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, _OPEN_FLAGS, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by close; the check below must see no half-appended line
        if not ends_a_line(fd):
            line = b"\n" + line  # a line cut short by a crash: end it, so this one stays whole and separate
        written = os.write(fd, line)  # one write of the whole line: appended as one piece
        if written != len(line):
            raise FeedbackWriteError(f"{path}: only {written} of {len(line)} bytes written (disk full?)")
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        sync_folder(path.parent)
    return path


def ends_a_line(fd: int) -> bool:
    """Whether the open file is empty or ends with a newline."""
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


def sync_folder(folder: Path) -> None:
    """Make a new file's directory entry durable too (where the platform can open folders)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
