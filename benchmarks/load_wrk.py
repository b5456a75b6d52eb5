"""The load test's traffic: the request bodies of the mix, and wrk sending them (benchmarks/load_test.lua)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from service.model.paths import CORPUS_DIR
from training.data import load_examples

LUA_SCRIPT = Path(__file__).with_name("load_test.lua")
ARTICLE_SENTENCES = 20
BATCH_TEXTS = 8
BATCH_TEXT_SENTENCES = 4
# Per 10 requests of the mix: 6 single sentences, 3 articles, 1 batch.
MIX = ("single", "article", "single", "single", "batch", "single", "article", "single", "single", "article")
MIX_ROUNDS = 12  # 120 distinct bodies before the mix repeats
WRK_TIMEOUT_SECONDS = 10


def write_bodies(folder: Path) -> None:
    """The request bodies, from the corpus test split, and mix.txt ("<kind> <file>" lines) for the Lua script."""
    sentences = [example.text for example in load_examples([CORPUS_DIR], split="test")]
    folder.mkdir(parents=True, exist_ok=True)
    cursor = 0

    def take(count: int) -> list[str]:
        nonlocal cursor
        chosen = [sentences[(cursor + i) % len(sentences)] for i in range(count)]
        cursor += count
        return chosen

    lines = []
    for round_ in range(MIX_ROUNDS):
        for slot, kind in enumerate(MIX):
            if kind == "single":
                body: dict[str, Any] = {"text": take(1)[0]}
            elif kind == "article":
                body = {"text": " ".join(take(ARTICLE_SENTENCES))}
            else:
                body = {"texts": [" ".join(take(BATCH_TEXT_SENTENCES)) for _ in range(BATCH_TEXTS)]}
            name = f"{round_:02d}-{slot}-{kind}.json"
            (folder / name).write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
            lines.append(f"{kind} {name}")
    (folder / "mix.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def start_wrk(base: str, bodies: Path, seconds: int, connections: int, threads: int) -> subprocess.Popen[str]:
    """wrk posting the mix in `bodies` to `base`/v1/classify; read its output with `parse_wrk`."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk (make load-test and make test do this)")
    return subprocess.Popen(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={WRK_TIMEOUT_SECONDS}s",
            "-s",
            str(LUA_SCRIPT),
            f"{base}/v1/classify",
        ],
        env={**os.environ, "STANCE_LOAD_DIR": str(bodies)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def parse_wrk(output: str) -> dict[str, Any]:
    """The Lua script's LOADTEST line: requests, duration, errors, latency percentiles, statuses, versions."""
    match = re.search(r"^LOADTEST (\{.*\})$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no LOADTEST line in wrk's output:\n{output}")
    result: dict[str, Any] = json.loads(match.group(1))
    return result
