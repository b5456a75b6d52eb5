"""A partitioned job that writes one file (`-o out.jsonl --workers 2`): the parts are written into a hidden folder
beside the output, as any partitioned job writes them, then joined in order into the output file and the rejects
into its reject file, and the folder is removed. JSONL parts joined are byte for byte the one-process output; the
row groups of Parquet parts are copied one after another into one file of the same schema."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, BinaryIO

from service.batch.partitions import EXTENSIONS, REJECTS_DIR, Plan
from service.model.files import atomic_file


def parts_folder(output: Path) -> Path:
    """Where the parts of a job writing `output` go before they are joined."""
    return output.parent / f".{output.name}.parts"


def join_parts(folder: Path, the_plan: Plan, fmt: str, schema: Any, output: Path, rejects: Path) -> None:
    """Join the parts of `folder` into `output` and their rejects into `rejects` (written even when empty, as a
    one-process job writes it), then remove the folder."""
    names = [partition.name for partition in the_plan.partitions]
    with atomic_file(output) as temporary:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            with pq.ParquetWriter(temporary, schema) as writer:
                for name in names:
                    part = pq.ParquetFile(folder / f"{name}{EXTENSIONS[fmt]}")
                    for group in range(part.num_row_groups):
                        writer.write_table(part.read_row_group(group))
        else:
            _concatenate([folder / f"{name}{EXTENSIONS[fmt]}" for name in names], temporary)
    with atomic_file(rejects) as temporary:
        _concatenate([folder / REJECTS_DIR / f"{name}.jsonl" for name in names], temporary)
    shutil.rmtree(folder)


def _concatenate(paths: list[Path], target: Path) -> None:
    with target.open("wb") as out:
        for path in paths:
            if path.is_file():
                with path.open("rb") as part:
                    _append(part, out)


def _append(part: BinaryIO, out: BinaryIO) -> None:
    """Copy the rest of `part` to `out` in the kernel (half the time of reading and writing it here), where it can."""
    out.flush()  # the kernel writes at the file's position: after what this process wrote
    try:
        while os.copy_file_range(part.fileno(), out.fileno(), 1 << 30):
            pass
    except (AttributeError, OSError):  # not Linux, or a file system that refuses: both files are where it stopped
        shutil.copyfileobj(part, out, 1 << 20)
