"""Issue 15's compiled-kernel and hashing levers, measured: the numba kernels of `benchmarks.char_kernel` against
the runtime's NumPy code for the char n-gram block.

    python -m benchmarks.kernel --public ../shared/data      (make bench-kernel)

On the unseen text of `make bench` (`benchmarks.speed_text`), with the current model's char block, in one run, the
fastest of three rounds in which the ways take turns: the n-gram lookup (`CharKeys.columns_of`, binary search in
NumPy, against a hash table of the same integer keys in numba) on the batches the batch path looks up (the new words
of every `CHUNK_ROWS` texts, as the block's per-word cache leaves them) and on every distinct word at once; and the
whole block (lookup, counts, tf-idf, weights) on every `CHUNK_ROWS` texts from a freshly loaded block, the runtime's
`CharBlock` against `CompiledCharBlock`. Checked: the kernel's columns against `columns_of`'s for every word, the
block's scores against the runtime's. Also what a fresh process pays for numba (import, compiling with an empty
cache, loading from the cache: `benchmarks.kernel_start`, in subprocesses), the service's cold start, numba's and
llvmlite's installed size, and `stance classify` on the same text, with the char lookup's share under cProfile.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.char_kernel import CompiledCharBlock, HashedCharKeys
from benchmarks.kernel_start import char_block, settings
from benchmarks.speed import rates
from benchmarks.speed_batch import STANCE, run_once, write_rows
from benchmarks.speed_http import start_up
from benchmarks.speed_text import unseen_sentences
from service.batch.rows import CHUNK_ROWS
from service.model.bundle import load_bundle
from service.model.char_keys import CharKeys
from service.model.ngrams import CharBlock, TextWords
from service.model.paths import MODELS_DIR, PROJECT_ROOT
from training.markdown import machine, update_file
from training.sources import add_public_option, public_folder

ROUNDS = 3
DISTRIBUTIONS = ("numba", "llvmlite")
# A kernel is worth wiring in if it saves a tenth of a job's time, for a tenth of the cold start at most.
WORTH_SAVING, WORTH_START = 0.10, 0.10
TOLERANCE = 1e-9  # the probabilities' agreement with scikit-learn that the project holds to


class RecordingCharBlock(CharBlock):
    """A char block that keeps the words of each lookup: the batches the runtime looks up at once."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.batches: list[list[str]] = []

    def _find_all(self, words: list[str]) -> list[np.ndarray]:
        self.batches.append(words)
        return super()._find_all(words)


def chunks_of(sentences: list[str]) -> list[TextWords]:
    """The texts as `stance classify` labels them, `CHUNK_ROWS` at a time, their words found (as both ways share)."""
    chunks = [TextWords(sentences[start : start + CHUNK_ROWS]) for start in range(0, len(sentences), CHUNK_ROWS)]
    for words in chunks:
        words.sequence  # noqa: B018 - found now, outside the timings
    return chunks


def new_word_batches(block: CharBlock, chunks: list[TextWords]) -> list[list[str]]:
    """The words a freshly loaded char block looks up, chunk after chunk: those its per-word cache doesn't hold."""
    recorder = RecordingCharBlock(**settings(block))
    for words in chunks:
        recorder.entries(words.distinct)
    return recorder.batches


def mismatched_words(keys: CharKeys, hashed: HashedCharKeys, words: list[str]) -> int:
    """How many words the kernel gives other columns (or another order) than `columns_of`."""
    expected, found = keys.columns_of(words), hashed.columns_of(words)
    return sum(not np.array_equal(a, b) for a, b in zip(expected, found, strict=True))


def lookup_seconds(
    keys: CharKeys, hashed: HashedCharKeys, batches: list[list[str]], words: list[str]
) -> dict[str, float]:
    """Seconds of each lookup over all the batches, and over every word in one call."""
    in_batches = rates(
        {
            "numpy batches": lambda: [keys.columns_of(batch) for batch in batches],
            "numba batches": lambda: [hashed.columns_of(batch) for batch in batches],
        },
        1,
        ROUNDS,
    )
    at_once = rates(
        {"numpy all": lambda: keys.columns_of(words), "numba all": lambda: hashed.columns_of(words)}, 1, ROUNDS
    )
    return {way: 1 / per_second for way, per_second in (in_batches | at_once).items()}


def block_seconds(block: CharBlock, chunks: list[TextWords]) -> dict[str, float]:
    """Seconds of the char block's scores of every chunk, from a freshly built block (per-word cache empty, as
    after loading) each round, the runtime's and the kernels'; and the largest difference of their scores."""
    kinds: dict[str, type[CharBlock]] = {"numpy block": CharBlock, "numba block": CompiledCharBlock}
    fastest = dict.fromkeys(kinds, float("inf"))
    scores: dict[str, list[np.ndarray]] = {}
    CompiledCharBlock(**settings(block)).scores(chunks[0])  # compiled before the rounds
    for _ in range(ROUNDS):
        for way, kind in kinds.items():
            fresh = kind(**settings(block))
            started = time.perf_counter()
            scores[way] = [fresh.scores(words) for words in chunks]
            fastest[way] = min(fastest[way], time.perf_counter() - started)
    difference = max(
        float(np.abs(ours - theirs).max(initial=0.0))
        for ours, theirs in zip(scores["numpy block"], scores["numba block"], strict=True)
    )
    return {**fastest, "difference": difference}


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
    compiled (building the block and its hash table, scoring a few texts). Fastest of `ROUNDS` processes each."""
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


def savings(results: dict[str, Any]) -> dict[str, float]:
    """The share of `stance classify`'s wall time each kernel saves (the lookup on its batches, the whole block),
    from the seconds it saves on the same text."""
    seconds, job = results["seconds"], results["classify"]["seconds"]
    return {way: (seconds[f"numpy {way}"] - seconds[f"numba {way}"]) / job for way in ("batches", "block")}


def verdict(results: dict[str, Any]) -> tuple[bool, str]:
    """(whether a kernel is worth wiring in, the figures that say so)."""
    saved = savings(results)
    start = results["one_off"]["import"] + results["one_off"]["from_cache"]
    # Kernels that find other columns, or scores off by more than the project allows, are out whatever their speed.
    exact = results["mismatched"] == 0 and results["seconds"]["difference"] <= TOLERANCE
    kept = exact and max(saved.values()) >= WORTH_SAVING and start <= WORTH_START * results["cold_start"]
    why = (
        f"the compiled lookup saves {saved['batches']:.1%} of a `stance classify` job and the whole char block "
        f"compiled {saved['block']:.1%}, while a fresh process pays {start:.2f} s for numba (import and cache load: "
        f"{start / results['cold_start']:.0%} of the {results['cold_start']:.2f} s cold start) and an install "
        f"grows by {results['install_mb']:.0f} MB"
    )
    return kept, why


def render(results: dict[str, Any]) -> str:
    seconds, one_off, job = results["seconds"], results["one_off"], results["classify"]
    kept, why = verdict(results)
    saved = savings(results)
    batches, batch_words = results["batches"], results["batch_words"]
    exact = results["mismatched"] == 0
    chunks, texts = results["chunks"], f"{results['sentences']:,} texts"
    rows = [
        (
            f"lookup, {batches} batches of new words (mean {batch_words / batches:,.0f})",
            f"{batch_words:,} words",
            "batches",
        ),
        ("lookup, every distinct word in one call", f"{results['words']:,} words", "all"),
        (f"whole char block, {chunks} chunks of {CHUNK_ROWS} texts, freshly loaded", texts, "block"),
    ]
    lines = [
        f"Machine: {machine()}. Command: `make bench-kernel` (`python -m benchmarks.kernel`). The runtime's NumPy "
        "code for the char n-gram block against numba kernels (`benchmarks/char_kernel.py`), with the default "
        f"model's char block, on the {results['sentences']:,} unseen sentences of `make bench` (lowercased, "
        "whitespace-split). Lookup: `CharKeys.columns_of` (exact integer keys, binary search) against the same keys "
        "in an open-addressing hash table, each padded word's windows walked in compiled code; its batches are the "
        f"new words of every {CHUNK_ROWS} texts, as a freshly loaded model's per-word cache leaves them to `stance "
        "classify`. Whole block: `CharBlock.scores` (lookup, sparse counts, tf-idf, product with the weights) "
        "against `CompiledCharBlock` (the lookup kernel, then counts, tf-idf and weights per text in compiled "
        f"code). Fastest of {ROUNDS} rounds, the ways taking turns; numba compiled before timing.",
        "",
        "| measured | of | NumPy s | numba s | speed-up | NumPy s / `stance classify` s | saved of `stance classify` |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, count, key in rows:
        numpy_s, numba_s = seconds[f"numpy {key}"], seconds[f"numba {key}"]
        share, saving = (f"{numpy_s / job['seconds']:.1%}", f"{saved[key]:.1%}") if key in saved else ("", "")
        lines.append(
            f"| {label} | {count} | {numpy_s:.3f} | {numba_s:.3f} | {numpy_s / numba_s:.1f}x | {share} | {saving} |"
        )
    lines += [
        "",
        f"- exactness: the kernel's columns equal `columns_of`'s, in order, for {'all' if exact else 'NOT all'} "
        f"{results['words']:,} distinct words ({results['mismatched']} differ); the compiled block's scores differ "
        f"from the runtime's by at most {seconds['difference']:.1e} (sums in another order)",
        f"- `stance classify` on these sentences (JSON lines): {job['seconds']:.2f} s (fastest of {ROUNDS}); under "
        f"cProfile {job['profiled']:.2f} s, of which the char lookup (`CharKeys.columns_of`) {job['lookup']:.2f} s: "
        f"**{job['lookup'] / job['profiled']:.1%}** (the profiler slows Python calls more than NumPy's work; the "
        "table's shares are of the unprofiled run)",
        f"- one-off costs in a fresh process that has loaded the model (fastest of {ROUNDS} each): `import numba` "
        f"**{one_off['import']:.2f} s**; compiling the three kernels with an empty cache **{one_off['compile']:.2f} "
        f"s**; loading them from `cache=True`'s cache **{one_off['from_cache']:.2f} s** (both beyond the "
        f"{one_off['compiled'] * 1000:.0f} ms the same first calls take once compiled)",
        f"- service cold start (`python -m service.api.serve`, process start to `/v1/ready`, fastest of {ROUNDS}): "
        f"{results['cold_start']:.2f} s",
        f"- installed size of {' and '.join(DISTRIBUTIONS)} (pip's record of their files): "
        f"**{results['install_mb']:.0f} MB**",
        "",
        f"**Verdict: {'kept' if kept else 'not kept'}** (worth it only if it saves at least {WORTH_SAVING:.0%} of a "
        f"job for at most {WORTH_START:.0%} of the cold start): {why}. The hashing lever is the lookup kernel: the "
        "exact integer keys hashed in place of the binary search, so the columns, and the probabilities, are equal.",
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
    block = char_block(bundle)
    keys = CharKeys(block.terms.tolist(), block.ngram_range)
    hashed = HashedCharKeys(keys)
    chunks = chunks_of(sentences)
    batches = new_word_batches(block, chunks)
    words = list(dict.fromkeys(chain.from_iterable(TextWords(sentences).per_text)))
    model = bundle.path.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = {
            "sentences": len(sentences),
            "words": len(words),
            "chunks": len(chunks),
            "batches": len(batches),
            "batch_words": sum(map(len, batches)),
            "mismatched": mismatched_words(keys, hashed, words),
            "seconds": lookup_seconds(keys, hashed, batches, words) | block_seconds(block, chunks),
            "one_off": one_off_costs(model, workdir),
            "cold_start": min(start_up(model, workdir)["cold_start"] for _ in range(ROUNDS)),
            "install_mb": installed_mb(DISTRIBUTIONS),
            "classify": classify_profile(model, sentences, workdir),
        }
    table = render(results)
    update_file(args.out, "bench-kernel", "## Compiled char n-gram block (numba)\n\n" + table, title="Benchmarks")
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
