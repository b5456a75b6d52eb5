"""Speed of the served path against the plain scikit-learn pipeline and fastText, in one run (`make bench`).

In process: three-head throughput, single-sentence latency, sentence splitting on whole articles. Over HTTP: wrk
against the production server command, for classification and for a no-op route of the same app. Start-up:
cold start, bundle size, resident memory. Ratios measured in the same run are what the targets are about.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from service.model.bundle import FITTED_FILE, SCORER_FILE, Bundle, load_bundle
from service.model.paths import CORPUS_DIR, MODELS_DIR, PROJECT_ROOT
from service.model.predict import classify, predict
from service.model.sentences import split_sentences
from training.data import load_examples
from training.fitted import load_fitted
from training.markdown import machine, update_file

SENTENCES = 20_000
ARTICLE_SENTENCES = 20
CONCURRENCY = (1, 8, 64)


def rates(functions: dict[str, Callable[[], object]], items: int, rounds: int = 3) -> dict[str, float]:
    """Items per second of each function, the fastest of `rounds` runs; the functions take turns in every round,
    so a slower spell of the shared machine falls on all of them rather than on one."""
    fastest = dict.fromkeys(functions, float("inf"))
    for _ in range(rounds):
        for name, function in functions.items():
            started = time.perf_counter()
            function()
            fastest[name] = min(fastest[name], time.perf_counter() - started)
    return {name: items / seconds for name, seconds in fastest.items()}


def percentiles(seconds: Sequence[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    values = np.asarray(seconds) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def plain_pipelines(bundle: Bundle) -> dict[str, Pipeline]:
    """The same fitted model the scikit-learn way: one Pipeline per head, each vectorizing on its own."""
    vectorizer, heads = load_fitted(bundle.path)
    return {head: Pipeline([("features", vectorizer), ("model", model)]) for head, model in heads.items()}


def train_fasttext(train: list[Any], workdir: Path) -> dict[str, Any]:
    import fasttext

    models = {}
    for head in ("topic", "stance", "sentiment"):
        path = workdir / f"{head}.txt"
        path.write_text(
            "".join(f"__label__{ex.labels[head]} {' '.join(ex.text.split())}\n" for ex in train if head in ex.labels)
        )
        models[head] = fasttext.train_supervised(str(path), wordNgrams=2, epoch=25, lr=1.0, thread=1, verbose=0)
    return models


def timed(function: Callable[..., object], *args: Any) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def predict_each_head(pipelines: dict[str, Pipeline], sentence: str) -> list[Any]:
    return [pipeline.predict_proba([sentence]) for pipeline in pipelines.values()]


def single_calls(
    model: Path, sentences: list[str], warm_up: list[str], pipelines: dict[str, Pipeline]
) -> dict[str, tuple[float, float]]:
    """p50 and p99 of one-sentence calls, each distinct sentence once: ours on a model whose per-word caches hold
    the words of `warm_up` (a server that has been running), ours on a freshly loaded model (caches empty: a server
    that has just started), and scikit-learn (one sentence in five). The ways take turns slice by slice, so a
    slower spell of the shared machine falls on all of them, while each runs a stretch of calls of its own."""
    steady, first_sight = load_bundle(model), load_bundle(model)
    predict(steady, warm_up)
    distinct = list(dict.fromkeys(sentences))[:2000]
    seconds: dict[str, list[float]] = {"steady": [], "first_sight": [], "sklearn": []}
    for start in range(0, len(distinct), 100):
        part = distinct[start : start + 100]
        seconds["steady"] += [timed(predict, steady, [sentence]) for sentence in part]
        seconds["first_sight"] += [timed(predict, first_sight, [sentence]) for sentence in part]
        seconds["sklearn"] += [timed(predict_each_head, pipelines, sentence) for sentence in part[::5]]
    return {way: percentiles(values) for way, values in seconds.items()}


def in_process(
    bundle: Bundle, sentences: list[str], warm_up: list[str], fasttext_models: dict[str, Any]
) -> dict[str, Any]:
    pipelines = plain_pipelines(bundle)
    ours = bundle.scorer.probabilities(sentences)
    theirs = {head: pipeline.predict_proba(sentences) for head, pipeline in pipelines.items()}
    results: dict[str, Any] = {
        "max_difference": max(float(np.abs(ours[h] - theirs[h]).max()) for h in theirs),
        **rates(
            {
                "ours": lambda: predict(bundle, sentences),
                "sklearn": lambda: [p.predict_proba(sentences) for p in pipelines.values()],
                "fasttext": lambda: [
                    [m.f.predict(" ".join(s.split()), 1, 0.0, "strict") for m in fasttext_models.values()]
                    for s in sentences
                ],
            },
            len(sentences),
        ),
    }
    results["single"] = single_calls(bundle.path, sentences, warm_up, pipelines)
    return results


def articles_of(sentences: list[str], size: int) -> list[str]:
    return [" ".join(sentences[i : i + size]) for i in range(0, len(sentences) - size + 1, size)]


def splitting(bundle: Bundle, articles: list[str]) -> dict[str, float]:
    count = sum(len(split_sentences(article)) for article in articles)
    found = rates(
        {"split": lambda: [split_sentences(a) for a in articles], "total": lambda: classify(bundle, articles)}, count
    )
    return {**found, "share": found["total"] / found["split"]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"the server on port {port} did not become ready in {timeout} s")


def server_command(port: int, workers: int) -> list[str]:
    """The production command (as in the README), on a free port."""
    return [
        sys.executable,
        "-m",
        "service.api.serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_up(model: Path) -> dict[str, float]:
    """Cold start (process start to ready) and resident memory of a one-worker server after loading."""
    port = free_port()
    env = {**os.environ, "STANCE_MODEL_PATH": str(model)}
    started = time.perf_counter()
    server = subprocess.Popen(server_command(port, 1), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port)
        cold = time.perf_counter() - started
        return {"cold_start": cold, "rss": rss_mb(server.pid)}
    finally:
        server.terminate()
        server.wait(10)


_WRK_LATENCY = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(port: int, path: str, body: str, connections: int, seconds: int, workdir: Path) -> dict[str, float]:
    script = workdir / "post.lua"
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "application/json"\n'
    )
    threads = min(2, connections)
    output = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = {p: float(v) * _UNIT[u] for p, v, u in _WRK_LATENCY.findall(output)}
    if set(latency) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rps, "p50": latency["50"], "p99": latency["99"], "errors": int(errors.group(1)) if errors else 0}


def http(model: Path, sentence: str, article: str, workers: int, seconds: int, workdir: Path) -> list[dict[str, Any]]:
    port = free_port()
    env = {**os.environ, "STANCE_MODEL_PATH": str(model), "STANCE_NOOP_ROUTE": "true"}
    server = subprocess.Popen(
        server_command(port, workers), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    rows = []
    try:
        wait_ready(port)
        cases = [
            ("no-op", "/v1/noop", "{}"),
            ("1 sentence", "/v1/classify", json.dumps({"text": sentence})),
            (f"{ARTICLE_SENTENCES}-sentence article", "/v1/classify", json.dumps({"text": article})),
        ]
        for connections in CONCURRENCY:
            for name, path, body in cases:
                rows.append(
                    {"case": name, "connections": connections, **wrk(port, path, body, connections, seconds, workdir)}
                )
    finally:
        server.terminate()
        server.wait(10)
    return rows


def render(results: dict[str, Any]) -> str:
    ip, sp = results["in_process"], results["splitting"]
    single = ip["single"]
    lines = [
        f"Machine: {machine()}. Command: `make bench`. {results['sentences']:,} corpus test sentences (the test split",
        "repeated); the model is the default bundle (`make train`).",
        "",
        "### In process, all three heads",
        "",
        "| path | sentences/s | single sentence p50 | p99 |",
        "|---|---:|---:|---:|",
        f"| ours (`service.model.predict`) | {ip['ours']:,.0f} "
        f"| {single['steady'][0]:.3f} ms | {single['steady'][1]:.3f} ms |",
        f"| ours, first sight (a freshly loaded model: per-word caches empty) | "
        f"| {single['first_sight'][0]:.3f} ms | {single['first_sight'][1]:.3f} ms |",
        f"| scikit-learn `Pipeline.predict_proba`, one per head | {ip['sklearn']:,.0f} "
        f"| {single['sklearn'][0]:.3f} ms | {single['sklearn'][1]:.3f} ms |",
        f"| fastText, one model per head | {ip['fasttext']:,.0f} | | |",
        "",
        f"- ours / fastText throughput: **{ip['ours'] / ip['fasttext']:.2f}x** (target 1.5x)",
        f"- ours / scikit-learn, one-sentence calls (p50): **{single['sklearn'][0] / single['steady'][0]:.1f}x** "
        f"(target 20x); at first sight {single['sklearn'][0] / single['first_sight'][0]:.1f}x; batch throughput "
        f"{ip['ours'] / ip['sklearn']:.1f}x",
        f"- largest probability difference from scikit-learn on these sentences: {ip['max_difference']:.1e}",
        "- throughput: the fastest of three rounds in which the three take turns; one-sentence calls: each "
        "distinct test sentence once, the ways taking turns every 100 sentences; ours on a model that has already "
        "labeled the training split (its per-word caches hold those words, as in a server that has been running) and "
        "on a freshly loaded one; scikit-learn on one sentence in five",
        "",
        "### Whole articles (splitting plus three heads)",
        "",
        f"- splitting alone: {sp['split']:,.0f} sentences/s; splitting plus three heads: **{sp['total']:,.0f} "
        f"sentences/s** (target 10,000); splitting is {sp['share']:.0%} of the time",
        "",
        f"### HTTP ({results['workers']} workers, production command `python -m service.api.serve`; wrk on the same "
        f"machine, {results['seconds']} s per row)",
        "",
        "| request | connections | requests/s | p50 ms | p99 ms | errors | rps vs no-op | p99 vs no-op |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    noop = {row["connections"]: row for row in results["http"] if row["case"] == "no-op"}
    for row in results["http"]:
        base = noop[row["connections"]]
        lines.append(
            f"| {row['case']} | {row['connections']} | {row['rps']:,.0f} | {row['p50']:.1f} | {row['p99']:.1f} "
            f"| {row['errors']} | {row['rps'] / base['rps']:.0%} | {row['p99'] / base['p99']:.2f}x |"
        )
    su = results["start_up"]
    lines += [
        "",
        "### Start-up and size",
        "",
        f"- cold start (process start to `/v1/ready`): **{su['cold_start']:.2f} s** (target < 2 s)",
        f"- bundle on disk: **{results['bundle_mb']:.1f} MB** (target < 50 MB), of which the served scorer "
        f"(`{SCORER_FILE}`) {results['scorer_mb']:.1f} MB and scikit-learn's fitted objects (`{FITTED_FILE}`, not "
        f"loaded by the service) {results['fitted_mb']:.1f} MB",
        f"- resident memory of one worker after loading: **{su['rss']:.0f} MB** (target < 300 MB)",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__)
    parser.add_argument("--model", type=Path, default=MODELS_DIR / "current")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per HTTP row")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("error: wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    bundle = load_bundle(args.model)
    test = [ex.text for ex in load_examples([CORPUS_DIR], split="test")]
    sentences = (test * (SENTENCES // len(test) + 1))[:SENTENCES]
    articles = articles_of(sentences, ARTICLE_SENTENCES)
    train = load_examples([CORPUS_DIR], split="train")
    with tempfile.TemporaryDirectory() as workdir:
        fasttext_models = train_fasttext(train, Path(workdir))
        results = {
            "sentences": len(sentences),
            "in_process": in_process(bundle, sentences, [ex.text for ex in train], fasttext_models),
            "splitting": splitting(bundle, articles),
            "start_up": start_up(bundle.path),
            "bundle_mb": sum(f.stat().st_size for f in bundle.path.iterdir()) / 1e6,
            "scorer_mb": (bundle.path / SCORER_FILE).stat().st_size / 1e6,
            "fitted_mb": (bundle.path / FITTED_FILE).stat().st_size / 1e6,
            "workers": args.workers,
            "seconds": args.seconds,
            "http": http(bundle.path, test[0], articles[0], args.workers, args.seconds, Path(workdir)),
        }
    table = render(results)
    update_file(args.out, "bench-speed", "## Speed\n\n" + table, title="Benchmarks")
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
