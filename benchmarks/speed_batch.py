"""Whole processes for `make bench`: `stance classify in.jsonl -o out.jsonl` against fastText doing the same job
(`benchmarks.speed_fasttext`), on the same rows, in the same run; and the levers of the batch path.

Every way is a command timed from process start to exit (start-up, reading, labelling, writing), the fastest of
`rounds` runs in which the ways take turns, so a slower spell of the shared machine falls on all of them. The input
is real text the model did not train on, each sentence once (`benchmarks.speed_text`).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from benchmarks.speed_fasttext import train_models
from service.model.paths import PROJECT_ROOT
from training.examples import Example

STANCE = str(Path(sys.executable).with_name("stance"))


def write_rows(path: Path, sentences: list[str]) -> None:
    with path.open("wb") as out:
        for number, sentence in enumerate(sentences):
            out.write(orjson.dumps({"id": number, "text": sentence}, option=orjson.OPT_APPEND_NEWLINE))


def ways(model: Path, source: Path, workdir: Path, fasttext_dir: Path) -> dict[str, tuple[str, list[str], Path]]:
    """name -> (command as the table shows it, argv, output)."""
    classify = [STANCE, "classify", str(source), "--model", str(model), "--no-progress", "-o"]
    names = ("ours.jsonl", "workers.jsonl", "rounded.jsonl", "ours.parquet", "sentences.jsonl")
    out = {name: workdir / name for name in names}
    fasttext_out = workdir / "fasttext.jsonl"
    return {
        "fasttext": (
            "`python -m benchmarks.speed_fasttext` (3 models)",
            [sys.executable, "-m", "benchmarks.speed_fasttext", str(fasttext_dir), str(source), str(fasttext_out)],
            fasttext_out,
        ),
        "ours": ("`stance classify in.jsonl -o out.jsonl`", [*classify, str(out["ours.jsonl"])], out["ours.jsonl"]),
        "workers": (
            "`... -o out.jsonl --workers 2`",
            [*classify, str(out["workers.jsonl"]), "--workers", "2"],
            out["workers.jsonl"],
        ),
        "precision": (
            "`... -o out.jsonl --precision 4`",
            [*classify, str(out["rounded.jsonl"]), "--precision", "4"],
            out["rounded.jsonl"],
        ),
        "parquet": ("`... -o out.parquet`", [*classify, str(out["ours.parquet"])], out["ours.parquet"]),
        "sentences": (
            "`... -o out.jsonl --split-sentences`",
            [*classify, str(out["sentences.jsonl"]), "--split-sentences"],
            out["sentences.jsonl"],
        ),
    }


def run_once(argv: list[str], output: Path) -> float:
    output.unlink(missing_ok=True)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=PROJECT_ROOT)  # benchmarks is not installed
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def whole_processes(
    model: Path, sentences: list[str], train: list[Example], workdir: Path, rounds: int = 3
) -> dict[str, Any]:
    """Rows per second of each way, its output size, and whether the worker and one-process outputs agree."""
    source = workdir / "in.jsonl"
    write_rows(source, sentences)
    fasttext_dir = workdir / "fasttext"
    train_models(train, fasttext_dir)
    commands = ways(model, source, workdir, fasttext_dir)
    fastest = dict.fromkeys(commands, float("inf"))
    for _ in range(rounds):
        for name, (_, argv, output) in commands.items():
            fastest[name] = min(fastest[name], run_once(argv, output))
    return {
        "rows": len(sentences),
        "ways": {
            name: {
                "command": shown,
                "rate": len(sentences) / fastest[name],
                "seconds": fastest[name],
                "bytes_per_row": output.stat().st_size / len(sentences),
            }
            for name, (shown, _, output) in commands.items()
        },
        "identical": digest(commands["ours"][2]) == digest(commands["workers"][2]),
        "fasttext_mb": sum(path.stat().st_size for path in fasttext_dir.glob("*.bin")) / 1e6,
    }


def render(results: dict[str, Any]) -> list[str]:
    ways_ = results["ways"]
    base, single = ways_["fasttext"]["rate"], ways_["ours"]["rate"]
    lines = [
        f"### Whole process, JSONL in, JSONL out ({results['rows']:,} unseen rows, every head's label, score and "
        "scores)",
        "",
        "| way | command | rows/s | vs fastText | vs 1 process | bytes per row |",
        "|---|---|---:|---:|---:|---:|",
    ]
    names = {
        "fasttext": "fastText, one model per head",
        "ours": "ours, 1 process",
        "workers": "ours, 2 worker processes",
        "precision": "ours, probabilities rounded to 4 places",
        "parquet": "ours, Parquet output",
        "sentences": "ours, a record per sentence, with its actors",
    }
    for name, way in ways_.items():
        lines.append(
            f"| {names[name]} | {way['command']} | {way['rate']:,.0f} | {way['rate'] / base:.2f}x "
            f"| {way['rate'] / single:.2f}x | {way['bytes_per_row']:,.0f} |"
        )
    lines += [
        "",
        f"- ours / fastText, whole processes: **{single / base:.2f}x** (target 1.5x); `--workers 2` / 1 process: "
        f"**{ways_['workers']['rate'] / single:.2f}x** (target 1.8x)",
        f"- the `--workers 2` output file is byte-identical to the one-process output: {results['identical']}",
        f"- with actors on (`--split-sentences`: a record per sentence of each row, every head and the actors): "
        f"**{ways_['sentences']['rate'] / base:.2f}x** fastText, {ways_['sentences']['rate'] / single:.2f}x the "
        "default output",
        f"- fastText's three models take {results['fasttext_mb']:,.0f} MB on disk (its defaults with word bigrams); "
        "each way is the fastest of three runs, the ways taking turns",
    ]
    return lines
