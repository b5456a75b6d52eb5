"""What a fresh process pays before the numba lookup's first answer, for `make bench-kernel` (`benchmarks.kernel`
runs it in a subprocess, with numba's cache in NUMBA_CACHE_DIR): importing numba into a process that has already
loaded a model, as a service would; then building the hash table of the model's char n-grams and looking up a few
words for the first time (compiling, or loading the machine code from the cache when it holds it); then the same
again, compiled.

    python -m benchmarks.kernel_start MODEL      (prints JSON: seconds of "import", "first" and "again")
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

from service.model.bundle import Bundle, load_bundle
from service.model.char_keys import CharKeys
from service.model.ngrams import CharBlock

# One-letter, non-ASCII, and characters outside any vocabulary: every branch of the kernels is compiled.
FIRST_WORDS = ["the", "talks", "a", "überraschung", "北京", "☃"]


def char_keys(bundle: Bundle) -> CharKeys:
    """The integer keys of the bundle's `char_wb` block, as the runtime looks its n-grams up."""
    blocks = [block for block in bundle.scorer.blocks if isinstance(block, CharBlock)]
    if not blocks:
        raise SystemExit(f"{bundle.path} has no char_wb block")
    keys = CharKeys(blocks[0].terms.tolist(), blocks[0].ngram_range)
    if not keys.fits:
        raise SystemExit(f"{bundle.path}'s char n-grams don't fit integer keys: the runtime looks them up one by one")
    return keys


def main(argv: list[str] | None = None) -> int:
    model = Path((sys.argv[1:] if argv is None else argv)[0])
    keys = char_keys(load_bundle(model))
    started = time.perf_counter()
    importlib.import_module("numba")
    imported = time.perf_counter()
    kernel = importlib.import_module("benchmarks.char_kernel")  # imported here: its import is a first-call cost
    kernel.HashedCharKeys(keys).columns_of(FIRST_WORDS)
    first = time.perf_counter()
    kernel.HashedCharKeys(keys).columns_of(FIRST_WORDS)
    again = time.perf_counter()
    print(json.dumps({"import": imported - started, "first": first - imported, "again": again - first}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
