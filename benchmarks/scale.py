"""Batch classification at scale (`make bench-scale`): sentences per second and peak memory of `stance classify`
run three ways on the same input, one process, two worker processes and a two-worker Dask LocalCluster, and
the overhead of Dask over plain processes. The table goes into docs/benchmarks.md.

The input is the corpus test split (`training.data.load_examples`), repeated to `--rows` sentences, one a row.
Each way runs the real command in a child process, as a user would, and is timed end to end (start-up, planning,
classification, writing). Memory is sampled every 0.1 s over the command and all its descendants (psutil, a
dependency of Dask's scheduler); the three outputs are checked to be byte-identical.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from service.model.bundle import resolve_bundle_dir
from service.model.paths import CORPUS_DIR, MODELS_DIR, PROJECT_ROOT
from training.data import load_examples
from training.markdown import machine, update_file

STANCE = str(Path(sys.executable).with_name("stance"))
DEFAULT_MODEL = MODELS_DIR / "current"
PARTITION_ROWS = 10_000  # what `stance classify --partition-rows` defaults to; the table only reports it


@dataclass
class Run:
    name: str
    seconds: float
    cpu_seconds: float  # user + system, the command and all its descendants
    load: float  # mean 1-minute load average while it ran
    peak_total_mb: float
    peak_process_mb: float
    digest: str
    summary: str


def write_input(path: Path, texts: list[str], rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for number in range(rows):
            out.write(json.dumps({"id": number, "text": texts[number % len(texts)]}, ensure_ascii=False) + "\n")


class MemorySampler:
    """Peak resident memory of a process and its descendants: summed over the tree, and the largest one."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_total = self.peak_process = 0
        self.loads: list[float] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.is_set():
            sizes = []
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            for process in processes:
                try:
                    sizes.append(process.memory_info().rss)
                except psutil.Error:
                    continue
            if sizes:
                self.peak_total = max(self.peak_total, sum(sizes))
                self.peak_process = max(self.peak_process, max(sizes))
            self.loads.append(os.getloadavg()[0])
            self.done.wait(self.interval)

    def stop(self) -> tuple[float, float, float]:
        """(peak MB summed over the tree, peak MB of one process, mean load average)."""
        self.done.set()
        self.thread.join()
        load = sum(self.loads) / len(self.loads) if self.loads else os.getloadavg()[0]
        return self.peak_total / 2**20, self.peak_process / 2**20, load


def digest(output: Path) -> str:
    """SHA-256 of the output: one file, or a folder's part files in name order."""
    files = sorted(output.glob("part-*")) if output.is_dir() else [output]
    sha = hashlib.sha256()
    for path in files:
        with path.open("rb") as handle:
            for block in iter(functools.partial(handle.read, 1 << 20), b""):
                sha.update(block)
    return sha.hexdigest()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_way(name: str, args: list[str], output: Path) -> Run:
    cpu_before = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen([STANCE, "classify", *args, "--no-progress"], stderr=subprocess.PIPE, text=True)
    sampler = MemorySampler(process.pid)
    _, err = process.communicate()
    seconds = time.perf_counter() - started
    cpu_seconds = _children_cpu() - cpu_before  # the workers are reaped by the command, so they count too
    peak_total, peak_process, load = sampler.stop()
    if process.returncode != 0:
        raise SystemExit(f"{name} failed ({process.returncode}):\n{err}")
    summary = err.strip().splitlines()[-1]
    result = Run(name, seconds, cpu_seconds, load, peak_total, peak_process, digest(output), summary)
    if output.is_dir():
        shutil.rmtree(output)
    else:
        output.unlink()
    print(
        f"{name}: {seconds:.1f} s, {cpu_seconds:.1f} CPU s, load {load:.1f}, "
        f"peak {peak_total:.0f} MB in all, {peak_process:.0f} MB largest process",
        flush=True,
    )
    return result


def render(runs: list[Run], rows: int, model: Path, started: str, default_model: bool) -> str:
    same = len({run.digest for run in runs}) == 1
    intro = (
        f"Machine: {machine()}. Command: `make bench-scale` ({started}). "
        f"Input: {rows:,} sentences, one a JSONL row: the corpus test split repeated. "
        f"Model: `{model.name}`{' (the default bundle)' if default_model else ''}. Each way runs `stance classify` "
        "as a user would and is timed end to end (start-up, planning, classification, writing JSONL). CPU is user "
        "plus system time of the command and all its descendants; the machine is shared, so the load column (mean "
        "1-minute load average during the run) says how much of it the run had: rates per CPU-second compare the "
        "ways better than wall time under load. Memory is the peak resident set of the command and all its "
        "descendants together, sampled every 0.1 s, and of the largest single process."
    )
    lines = [
        "## Batch classification at scale",
        "",
        *textwrap.wrap(intro, width=116, break_on_hyphens=False),
        "",
        "| way | command | wall s | sentences/s | CPU s | sentences per CPU-s | load | peak memory, all | "
        "largest process |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    commands = {
        "1 process": "`stance classify in.jsonl -o out.jsonl`",
        "2 worker processes": "`... -o out/ --workers 2`",
        "Dask LocalCluster, 2 workers": "`... -o out/ --engine dask --workers 2`",
    }
    for run in runs:
        lines.append(
            f"| {run.name} | {commands[run.name]} | {run.seconds:.1f} | {rows / run.seconds:,.0f} | "
            f"{run.cpu_seconds:.1f} | {rows / run.cpu_seconds:,.0f} | {run.load:.1f} | "
            f"{run.peak_total_mb:,.0f} MB | {run.peak_process_mb:,.0f} MB |"
        )
    single, processes, dask = runs
    lines += [
        "",
        f"- 2 processes vs 1: **{single.seconds / processes.seconds:.2f}x** the throughput (wall time), "
        f"{processes.cpu_seconds / single.cpu_seconds:.2f}x the CPU time.",
        f"- Dask over plain processes, same 2 workers: **{(dask.seconds / processes.seconds - 1) * 100:+.0f}%** "
        f"wall time, {(dask.cpu_seconds / processes.cpu_seconds - 1) * 100:+.0f}% CPU time (a scheduler, a nanny "
        "per worker, tasks and results over TCP).",
        f"- The three outputs are {'byte-identical' if same else '**not** identical'} "
        f"(SHA-256 of the records in order: `{runs[0].digest[:16]}…`).",
        f"- The two-worker ways cut the input into partitions of {PARTITION_ROWS:,} rows (the default of "
        f"`--partition-rows`): {-(-rows // PARTITION_ROWS):,} of them.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="sentences in the input (default: %(default)s)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="bundle (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--workdir", type=Path, help="where the input and outputs go (default: a temporary folder)")
    args = parser.parse_args(argv)

    started = time.strftime("%Y-%m-%d")
    with tempfile.TemporaryDirectory(prefix="bench-scale-", dir=args.workdir) as work:
        folder = Path(work)
        source = folder / "in.jsonl"
        write_input(source, [ex.text for ex in load_examples([CORPUS_DIR], split="test")], args.rows)
        print(f"input: {args.rows:,} sentences, {source.stat().st_size / 2**20:,.0f} MB", flush=True)
        common = [str(source), "--model", str(args.model)]
        runs = [
            run_way("1 process", [*common, "-o", str(folder / "out.jsonl")], folder / "out.jsonl"),
            run_way("2 worker processes", [*common, "-o", str(folder / "procs"), "--workers", "2"], folder / "procs"),
            run_way(
                "Dask LocalCluster, 2 workers",
                [*common, "-o", str(folder / "dask"), "--engine", "dask", "--workers", "2"],
                folder / "dask",
            ),
        ]
    content = render(runs, args.rows, resolve_bundle_dir(args.model), started, args.model == DEFAULT_MODEL)
    update_file(args.out, "bench-scale", content, title="Benchmarks")
    print(content)
    print(f"written to {args.out}", file=sys.stderr)
    return 0 if len({run.digest for run in runs}) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
