"""Generated blocks inside hand-written Markdown files, between `<!-- NAME:start -->` and `<!-- NAME:end -->`."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start (generated; do not edit by hand) -->", f"<!-- {name}:end -->"


def replace_block(document: str, name: str, content: str) -> str:
    """`document` with block `name` replaced by `content`; a missing block is appended at the end."""
    start, end = markers(name)
    head, found_start, rest = document.partition(start)
    _, found_end, tail = rest.partition(end)
    if not (found_start and found_end):
        return f"{document.rstrip()}\n\n{start}\n{content}{end}\n"
    return f"{head}{start}\n{content}{end}{tail}"


def update_file(path: Path, name: str, content: str, title: str) -> None:
    """Write block `name` into `path`, creating the file with `title` as its heading if needed."""
    document = path.read_text(encoding="utf-8") if path.exists() else f"# {title}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_block(document, name, content), encoding="utf-8")


def machine() -> str:
    """One line describing the machine a benchmark ran on."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.machine()}"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {system}"
