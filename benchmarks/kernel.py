"""Issue 15's compiled-kernel and hashing levers, measured: the numba lookup of `benchmarks.char_kernel` against the
runtime's NumPy lookup of character n-grams (`CharKeys.columns_of`).

    python -m benchmarks.kernel --public ../shared/data      (make bench-kernel)

On the unseen text of `make bench` (`benchmarks.speed_text`), with the current model's char block: both lookups on
the batches `stance classify` looks up (the new words of every `CHUNK_ROWS` texts, as a freshly loaded scorer's word
table leaves them), the fastest of three rounds in which they take turns. First the kernel's columns are checked
against `columns_of`'s on every distinct word: the benchmark stops if any differs. Also what a fresh process pays
for numba (import, compiling with an empty cache, loading from the cache: `benchmarks.kernel_start`, in
subprocesses), the service's cold start, numba's and llvmlite's installed size, and `stance classify` on the same
text, with the char lookup's share under cProfile.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import sys
import tempfile
from importlib import metadata
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.char_kernel import HashedCharKeys
from benchmarks.kernel_start import char_keys
from benchmarks.speed import rates
from benchmarks.speed_batch import STANCE, run_once, write_rows
from benchmarks.speed_http import start_up
from benchmarks.speed_text import unseen_sentences
from service.batch.rows import CHUNK_ROWS
from service.model.bundle import load_bundle
from service.model.char_keys import CharKeys
from service.model.paths import MODELS_DIR, PROJECT_ROOT
from service.model.words import Analysis, TextWords, WordTable
from training.markdown import machine, update_file
from training.sources import add_public_option, public_folder

ROUNDS = 3
DISTRIBUTIONS = ("numba", "llvmlite")
# A kernel is worth wiring in if it saves a tenth of a job's time, for a tenth of the cold start at most.
WORTH_SAVING, WORTH_START = 0.10, 0.10


def new_word_batches(sentences: list[str]) -> list[list[str]]:
    """The words the char lookup gets, `CHUNK_ROWS` texts at a time: each chunk's words new to a word table that
    starts empty, as a freshly loaded scorer's does (`WordTable`: words as written), lowercased."""
    batches: list[list[str]] = []

    def record(words: list[str]) -> Analysis:
        if words:  # the table asks for the rows' names with no words
            batches.append([word.lower() for word in words])
        return {}

    table = WordTable(record)
    for start in range(0, len(sentences), CHUNK_ROWS):
        table.lookup(TextWords(sentences[start : start + CHUNK_ROWS]))
    return batches


def mismatched_words(keys: CharKeys, hashed: HashedCharKeys, words: list[str]) -> int:
    """How many words the kernel gives other columns (or another order) than `columns_of`."""

    def per_word(columns: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
        return np.split(columns, np.cumsum(lengths)[:-1])

    pairs = zip(per_word(*keys.columns_of(words)), per_word(*hashed.columns_of(words)), strict=True)
    return sum(not np.array_equal(expected, found) for expected, found in pairs)


def start_costs(model: Path, cache: Path) -> dict[str, float]:
    """`benchmarks.kernel_start` in a fresh process, numba's cache in `cache`."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.kernel_start", str(model)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,  # benchmarks is not installed
        env={**os.environ, "NUMBA_CACHE_DIR": str(cache)},
        check=True,
    )
    costs: dict[str, float] = json.loads(done.stdout)
    return costs


def one_off_costs(model: Path, workdir: Path) -> dict[str, float]:
    """Seconds a fresh process pays: `import numba`; compiling the kernels (first calls with an empty cache, which
    they fill) and loading them from the cache (first calls with it filled), both less the same calls once
    compiled (building the hash table, looking up a few words). Fastest of `ROUNDS` processes each."""
    compiling = [start_costs(model, workdir / f"numba-cache-{number}") for number in range(ROUNDS)]
    from_cache = [start_costs(model, workdir / "numba-cache-0") for _ in range(ROUNDS)]
    compiled = min(run["again"] for run in compiling + from_cache)
    return {
        "import": min(run["import"] for run in compiling + from_cache),
        "compile": min(run["first"] for run in compiling) - compiled,
        "from_cache": min(run["first"] for run in from_cache) - compiled,
        "compiled": compiled,
    }


def installed_mb(distributions: tuple[str, ...]) -> float:
    """MB on disk of the files pip installed for `distributions` (their RECORD, as `pip show -f` lists it)."""
    files = chain.from_iterable(metadata.files(name) or [] for name in distributions)
    return sum(Path(str(file.locate())).stat().st_size for file in files) / 1e6


def classify_profile(model: Path, sentences: list[str], workdir: Path) -> dict[str, float]:
    """`stance classify` on `sentences` as JSON lines: its wall seconds (fastest of `ROUNDS`), and under cProfile,
    its profiled seconds and the cumulative seconds of the char lookup (`CharKeys.columns_of`)."""
    source, output, profile = workdir / "in.jsonl", workdir / "out.jsonl", workdir / "classify.prof"
    write_rows(source, sentences)
    command = [STANCE, "classify", str(source), "--model", str(model), "--no-progress", "-o", str(output)]
    seconds = min(run_once(command, output) for _ in range(ROUNDS))
    run_once([sys.executable, "-m", "cProfile", "-o", str(profile), *command], output)
    profiled = pstats.Stats(str(profile)).get_stats_profile()
    lookup = profiled.func_profiles[CharKeys.columns_of.__name__]  # keyed by bare name: check it is ours
    if Path(lookup.file_name).name != "char_keys.py":
        raise RuntimeError(f"the profile's {CharKeys.columns_of.__name__} is in {lookup.file_name}")
    return {"seconds": seconds, "profiled": profiled.total_tt, "lookup": lookup.cumtime}


def verdict(results: dict[str, Any]) -> tuple[bool, float, float]:
    """(whether the kernel is worth wiring in, the share of `stance classify`'s wall time it saves, the seconds a
    fresh process pays for numba)."""
    seconds = results["seconds"]
    saved = (seconds["numpy"] - seconds["numba"]) / results["classify"]["seconds"]
    start = results["one_off"]["import"] + results["one_off"]["from_cache"]
    return saved >= WORTH_SAVING and start <= WORTH_START * results["cold_start"], saved, start


def render(results: dict[str, Any]) -> str:
    seconds, one_off, job, cold = results["seconds"], results["one_off"], results["classify"], results["cold_start"]
    kept, saved, start = verdict(results)
    batches, batch_words = results["batches"], results["batch_words"]
    lines = [
        f"Machine: {machine()}. Command: `make bench-kernel` (`python -m benchmarks.kernel`). The runtime's lookup "
        "of character n-grams (`CharKeys.columns_of`: exact integer keys, binary search in NumPy) against the same "
        "keys in an open-addressing hash table, each padded word's windows walked in numba "
        "(`benchmarks/char_kernel.py`), with the default model's char block, on the "
        f"{results['sentences']:,} unseen sentences of `make bench`. The batches are what `stance classify` looks "
        f"up: the new words of every {CHUNK_ROWS} texts, as a freshly loaded scorer's word table leaves them, "
        f"lowercased. Fastest of {ROUNDS} rounds, the two ways taking turns; numba compiled before timing.",
        "",
        f"- lookup of {batches} batches of new words ({batch_words:,} words, mean {batch_words / batches:,.0f}): "
        f"NumPy {seconds['numpy']:.3f} s, numba {seconds['numba']:.3f} s "
        f"(**{seconds['numpy'] / seconds['numba']:.1f}x**); the NumPy lookup is "
        f"{seconds['numpy'] / job['seconds']:.1%} of `stance classify`'s wall time on the same text, the kernel "
        f"would save **{saved:.1%}**",
        f"- exactness: the kernel's columns and counts equal `columns_of`'s, in order, for all {results['words']:,} "
        "distinct words (checked at every run; the benchmark stops if one differs)",
        f"- `stance classify` on these sentences (JSON lines): {job['seconds']:.2f} s (fastest of {ROUNDS}); under "
        f"cProfile {job['profiled']:.2f} s, of which the char lookup (`CharKeys.columns_of`) {job['lookup']:.2f} s: "
        f"**{job['lookup'] / job['profiled']:.1%}** (the profiler slows Python calls more than NumPy's work; the "
        "share above is of the unprofiled run)",
        f"- one-off costs in a fresh process that has loaded the model (fastest of {ROUNDS} each): `import numba` "
        f"**{one_off['import']:.2f} s**; compiling the kernels with an empty cache **{one_off['compile']:.2f} s**; "
        f"loading them from `cache=True`'s cache **{one_off['from_cache']:.2f} s** (both beyond the "
        f"{one_off['compiled'] * 1000:.0f} ms the same first calls take once compiled)",
        f"- service cold start (`python -m service.api.serve`, process start to `/v1/ready`, fastest of {ROUNDS}): "
        f"{cold:.2f} s",
        f"- installed size of {' and '.join(DISTRIBUTIONS)} (pip's record of their files): "
        f"**{results['install_mb']:.0f} MB**",
        "",
        f"**Verdict: {'kept' if kept else 'not kept'}** (worth it only if it saves at least {WORTH_SAVING:.0%} of a "
        f"job for at most {WORTH_START:.0%} of the cold start): the compiled lookup saves {saved:.1%} of a `stance "
        f"classify` job, while a fresh process pays {start:.2f} s for numba (import and cache load: "
        f"{start / cold:.0%} of the {cold:.2f} s cold start) and an install grows by {results['install_mb']:.0f} MB. "
        "The hashing lever is this kernel: the exact integer keys hashed in place of the binary search, so the "
        "columns, and the probabilities, are equal.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kernel", description=__doc__)
    parser.add_argument("--model", type=Path, default=MODELS_DIR / "current")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    add_public_option(parser)
    args = parser.parse_args(argv)
    public = public_folder(parser, args.public)
    bundle = load_bundle(args.model)
    sentences = unseen_sentences(public, bundle.manifest)
    keys = char_keys(bundle)
    hashed = HashedCharKeys(keys)
    words = list(dict.fromkeys(" ".join(sentences).lower().split()))
    mismatched = mismatched_words(keys, hashed, words)  # compiles the kernel, before any timing
    if mismatched:
        raise SystemExit(
            f"the numba lookup's columns differ from CharKeys.columns_of's for {mismatched:,} of {len(words):,} "
            "distinct words: not timed, docs/benchmarks.md left as it was"
        )
    batches = new_word_batches(sentences)
    per_second = rates(
        {
            "numpy": lambda: [keys.columns_of(batch) for batch in batches],
            "numba": lambda: [hashed.columns_of(batch) for batch in batches],
        },
        1,
        ROUNDS,
    )
    model = bundle.path.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = {
            "sentences": len(sentences),
            "words": len(words),
            "batches": len(batches),
            "batch_words": sum(map(len, batches)),
            "seconds": {way: 1 / rate for way, rate in per_second.items()},
            "one_off": one_off_costs(model, workdir),
            "cold_start": min(start_up(model, workdir)["cold_start"] for _ in range(ROUNDS)),
            "install_mb": installed_mb(DISTRIBUTIONS),
            "classify": classify_profile(model, sentences, workdir),
        }
    table = render(results)
    update_file(args.out, "bench-kernel", "## Compiled char n-gram lookup (numba)\n\n" + table, title="Benchmarks")
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
