"""What a fresh process pays before the numba kernels' first answer, for `make bench-kernel` (`benchmarks.kernel`
runs it in a subprocess, with numba's cache in NUMBA_CACHE_DIR): importing numba into a process that has already
loaded a model, as a service would; then building a char block on the kernels and scoring a few texts for the first
time (compiling, or loading the machine code from the cache when it holds it); then the same again, compiled.

    python -m benchmarks.kernel_start MODEL      (prints JSON: seconds of "import", "first" and "again")
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from service.model.bundle import Bundle, load_bundle
from service.model.ngrams import CharBlock, TextWords

# One-letter, non-ASCII, and characters outside any vocabulary: every branch of the kernels is compiled.
FIRST_TEXTS = ["The talks in Geneva ended", "a", "Überraschung in 北京 ☃"]


def char_block(bundle: Bundle) -> CharBlock:
    """The bundle's `char_wb` block."""
    blocks = [block for block in bundle.scorer.blocks if isinstance(block, CharBlock)]
    if not blocks:
        raise SystemExit(f"{bundle.path} has no char_wb block")
    return blocks[0]


def settings(block: CharBlock) -> dict[str, Any]:
    """What the block was made from: a new block of any `CharBlock` class made from these is the same block."""
    return {field.name: getattr(block, field.name) for field in fields(block) if field.init}


def main(argv: list[str] | None = None) -> int:
    model = Path((sys.argv[1:] if argv is None else argv)[0])
    made_from = settings(char_block(load_bundle(model)))
    texts = TextWords(FIRST_TEXTS)
    started = time.perf_counter()
    importlib.import_module("numba")
    imported = time.perf_counter()
    kernel = importlib.import_module("benchmarks.char_kernel")  # imported here: its import is a first-call cost
    kernel.CompiledCharBlock(**made_from).scores(texts)
    first = time.perf_counter()
    kernel.CompiledCharBlock(**made_from).scores(texts)
    again = time.perf_counter()
    print(json.dumps({"import": imported - started, "first": first - imported, "again": again - first}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
