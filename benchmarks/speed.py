"""Speed of the served path against the plain scikit-learn pipeline and fastText, in one run (`make bench`).

All of it on real text the model did not train on, each sentence once (`benchmarks.speed_text`: public-set
sentences, shuffled). In process: three-head throughput of a freshly loaded model (cold: its per-word caches
empty) and of the same model on the same sentences again (warm), single-sentence latency, sentence splitting on
whole articles. Whole processes: `stance classify` JSONL to JSONL against fastText doing the same
(`benchmarks.speed_batch`). Over HTTP: wrk against the production server command, for classification and for a
no-op route of the same app. Start-up: cold start, bundle size, resident memory. Ratios measured in the same run
are what the targets are about.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from benchmarks.peers import Contender, fasttext_peer
from benchmarks.speed_batch import render as render_whole
from benchmarks.speed_batch import whole_processes
from benchmarks.speed_http import http_rows, start_up
from benchmarks.speed_text import unseen_sentences
from service.model.bundle import FITTED_FILE, SCORER_FILE, Bundle, load_bundle
from service.model.linear import EMBEDDING_TABLE_FILE
from service.model.paths import CORPUS_DIR, MODELS_DIR, PROJECT_ROOT
from service.model.predict import classify, predict
from service.model.sentences import split_sentences
from training.data import load_examples
from training.fitted import load_fitted
from training.markdown import machine, update_file
from training.sources import add_public_option, public_folder

ARTICLE_SENTENCES = 20
SKLEARN_SENTENCES = 5_000  # scikit-learn is an order of magnitude slower: a slice of the same sentences


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


def cold_and_warm(model: Path, sentences: list[str], fasttext: Contender, rounds: int = 3) -> dict[str, float]:
    """Sentences per second of ours on a freshly loaded model (cold) and on the same model again (warm), and of
    fastText, the fastest of `rounds` rounds in which they take turns (a fresh model each round)."""
    fastest = {"cold": float("inf"), "warm": float("inf"), "fasttext": float("inf")}
    for _ in range(rounds):
        bundle = load_bundle(model)
        fastest["cold"] = min(fastest["cold"], timed(predict, bundle, sentences))
        fastest["warm"] = min(fastest["warm"], timed(predict, bundle, sentences))
        fastest["fasttext"] = min(fastest["fasttext"], timed(fasttext.label_all, sentences))
    return {way: len(sentences) / seconds for way, seconds in fastest.items()}


def in_process(bundle: Bundle, sentences: list[str], warm_up: list[str], fasttext: Contender) -> dict[str, Any]:
    pipelines = plain_pipelines(bundle)
    some = sentences[:SKLEARN_SENTENCES]
    ours = bundle.scorer.probabilities(some)
    theirs = {head: pipeline.predict_proba(some) for head, pipeline in pipelines.items()}
    results: dict[str, Any] = {
        "max_difference": max(float(np.abs(ours[h] - theirs[h]).max()) for h in theirs),
        **cold_and_warm(bundle.path, sentences, fasttext),
        **rates({"sklearn": lambda: [p.predict_proba(some) for p in pipelines.values()]}, len(some), rounds=1),
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


def render(results: dict[str, Any]) -> str:
    ip, sp = results["in_process"], results["splitting"]
    http_article = f"{ARTICLE_SENTENCES}-sentence article"
    single = ip["single"]
    lines = [
        f"Machine: {machine()}. Command: `make bench`. {results['sentences']:,} real news sentences the model did "
        "not train on (`benchmarks/speed_text.py`: the public sets' sentences, each once, shuffled); the model is "
        f"the default bundle (`make train`){' with the sentence-embedding block' if results['embedding'] else ''}.",
        "",
        "### In process, all three heads",
        "",
        "| path | sentences/s | single sentence p50 | p99 |",
        "|---|---:|---:|---:|",
        f"| ours (`service.model.predict`), cold: a freshly loaded model, per-word caches empty | {ip['cold']:,.0f} "
        f"| {single['first_sight'][0]:.3f} ms | {single['first_sight'][1]:.3f} ms |",
        f"| ours, warm: the same sentences again (every word cached) | {ip['warm']:,.0f} "
        f"| {single['steady'][0]:.3f} ms | {single['steady'][1]:.3f} ms |",
        f"| scikit-learn `Pipeline.predict_proba`, one per head | {ip['sklearn']:,.0f} "
        f"| {single['sklearn'][0]:.3f} ms | {single['sklearn'][1]:.3f} ms |",
        f"| fastText, one model per head | {ip['fasttext']:,.0f} | | |",
        "",
        f"- ours / fastText throughput: cold **{ip['cold'] / ip['fasttext']:.2f}x**, warm "
        f"{ip['warm'] / ip['fasttext']:.2f}x",
        f"- ours / scikit-learn, one-sentence calls (p50): **{single['sklearn'][0] / single['steady'][0]:.1f}x** "
        f"(target 20x); at first sight {single['sklearn'][0] / single['first_sight'][0]:.1f}x; batch throughput "
        f"{ip['cold'] / ip['sklearn']:.1f}x (cold)",
        f"- largest probability difference from scikit-learn on {SKLEARN_SENTENCES:,} of these sentences: "
        f"{ip['max_difference']:.1e}",
        "- throughput: the fastest of three rounds in which the ways take turns (a freshly loaded model each "
        f"round); scikit-learn on the first {SKLEARN_SENTENCES:,} sentences, once; one-sentence calls: 2,000 "
        "distinct sentences once each, the ways taking turns every 100 sentences, ours on a model that has already "
        "labeled the training split (steady) and on a freshly loaded one (first sight); scikit-learn on one in five",
        "",
        *render_whole(results["whole"]),
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
    article = next(row for row in results["http"] if row["case"] == http_article and row["connections"] == 64)
    ol = results["open_loop"]
    lines += [
        "",
        f"- {http_article}s at 64 connections: p99 **{article['p99'] / article['p50']:.1f}x** their p50 (target at "
        "most 3x)",
        f"- without coordinated omission (`benchmarks/load_open.py`: open loop, each request due at a fixed time, "
        f"latency from that time): {http_article}s at **{ol['rate']:,.0f} requests/s** (70 % of wrk's figure "
        f"above), at most 64 connections, {results['seconds']} s: reached {ol['achieved']:,.0f}/s, p50 "
        f"{ol['p50']:.1f} ms, p99 {ol['p99']:.1f} ms, max {ol['max']:.1f} ms, {ol['errors']} errors",
    ]
    su = results["start_up"]
    lines += [
        "",
        "### Start-up and size",
        "",
        f"- cold start (process start to `/v1/ready`): **{su['cold_start']:.2f} s** (target < 2 s)",
        f"- bundle on disk: **{results['bundle_mb']:.1f} MB** (target < 50 MB), of which the served scorer "
        f"(`{SCORER_FILE}`) {results['scorer_mb']:.1f} MB, the embedding table (`{EMBEDDING_TABLE_FILE}`) "
        f"{results['table_mb']:.1f} MB and scikit-learn's fitted objects (`{FITTED_FILE}`, not loaded by the "
        f"service) {results['fitted_mb']:.1f} MB",
        f"- resident memory of one worker after loading: **{su['rss']:.0f} MB** (target < 300 MB)",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__)
    parser.add_argument("--model", type=Path, default=MODELS_DIR / "current")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per HTTP row")
    parser.add_argument("--workers", type=int, default=2)
    add_public_option(parser)
    args = parser.parse_args(argv)
    public = public_folder(parser, args.public)
    if shutil.which("wrk") is None:
        print("error: wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    bundle = load_bundle(args.model)
    sentences = unseen_sentences(public, bundle.manifest)
    articles = articles_of(sentences, ARTICLE_SENTENCES)
    train = load_examples([CORPUS_DIR], split="train")
    http_cases = [
        ("no-op", "/v1/noop", "{}"),
        ("1 sentence", "/v1/classify", json.dumps({"text": sentences[0]})),
        (f"{ARTICLE_SENTENCES}-sentence article", "/v1/classify", json.dumps({"text": articles[0]})),
    ]
    size = {path.name: path.stat().st_size / 1e6 for path in bundle.path.iterdir()}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = {
            "sentences": len(sentences),
            "embedding": bundle.scorer.embedding is not None,
            "in_process": in_process(bundle, sentences, [ex.text for ex in train], fasttext_peer(train, workdir)),
            "whole": whole_processes(bundle.path, sentences, train, workdir),
            "splitting": splitting(load_bundle(bundle.path), articles),
            "start_up": start_up(bundle.path, workdir),
            "bundle_mb": sum(size.values()),
            "scorer_mb": size[SCORER_FILE],
            "table_mb": size.get(EMBEDDING_TABLE_FILE, 0.0),
            "fitted_mb": size[FITTED_FILE],
            "workers": args.workers,
            "seconds": args.seconds,
        }
        results["http"], results["open_loop"] = http_rows(bundle.path, http_cases, args.workers, args.seconds, workdir)
    table = render(results)
    update_file(args.out, "bench-speed", "## Speed\n\n" + table, title="Benchmarks")
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
