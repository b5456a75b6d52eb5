"""Load test (`make load-test`): wrk, 64 connections for 2 minutes, against the production command
`python -m service.api.serve` (workers from the settings), with a model reload (POST /v1/admin/reload) in the middle.

The requests are a fixed mix of single sentences, 20-sentence articles and batches of texts, taken from the
corpus's test split (benchmarks/load_test.lua sends them round-robin). The service runs on a copy of the model
in a temporary models folder that also holds a second version (the same model written again under another
version), which `current` is switched to before the reload, so the answers show the swap in their
`X-Model-Version` header. The run passes when no request failed (no connection error, no timeout, no status
other than 200), the reload succeeded and every worker serves the new version afterwards, no worker was
restarted, and each worker's resident memory stayed stable (start and end RSS from /proc). p50/p95/p99 latency
and throughput go to docs/benchmarks.md; `--no-write` (the short run in `make test`) only checks.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.load_report import RSS_SAMPLE_SECONDS, Result, problems, render
from benchmarks.load_wrk import parse_wrk, start_wrk, write_bodies
from benchmarks.server import Server, http, production_server, rss_mb, tail, worker_pids
from service.api.settings import Settings
from service.model.bundle import MANIFEST_FILE, load_bundle, resolve_bundle_dir, set_current, write_bundle
from service.model.paths import MODELS_DIR, PROJECT_ROOT
from training.markdown import update_file


def prepare_models(model: Path, workdir: Path) -> tuple[Path, str, str]:
    """A models folder with a copy of `model` (current) and the same model under a second version."""
    source = resolve_bundle_dir(model)
    models_dir = workdir / "models"
    models_dir.mkdir()
    first = json.loads((source / MANIFEST_FILE).read_text(encoding="utf-8"))["version"]
    shutil.copytree(source, models_dir / first)
    set_current(models_dir, first)
    bundle = load_bundle(models_dir / first, models_dir=models_dir)
    manifest = {key: value for key, value in bundle.manifest.items() if key not in ("version", "files")}
    second = f"{first}-reload"
    write_bundle(models_dir, second, bundle.scorer, manifest)
    return models_dir, first, second


def warm_up(server: Server, bodies: Path, rounds: int = 3) -> None:
    """A few requests of every kind on every worker, so start RSS is measured after lazy imports and caches."""
    files = [line.split()[1] for line in (bodies / "mix.txt").read_text().splitlines()[:10]]
    for _ in range(rounds * 2):
        for name in files:
            status, _, body = http(
                "POST", f"{server.base}/v1/classify", (bodies / name).read_bytes(), {"Content-Type": "application/json"}
            )
            if status != 200:
                raise RuntimeError(f"warm-up request failed with {status}: {body[:300]!r}")


def metric_total(server: Server, name: str) -> float:
    """A counter of /metrics summed over its labels (and so over the workers)."""
    _, _, body = http("GET", f"{server.base}/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def reload_midway(server: Server, models_dir: Path, second: str, delay: float, out: dict[str, Any]) -> None:
    time.sleep(delay)
    set_current(models_dir, second)
    started = time.perf_counter()
    status, _, body = http(
        "POST", f"{server.base}/v1/admin/reload", headers={"Authorization": f"Bearer {server.admin_key}"}, timeout=60
    )
    out.update(
        {"status": status, "body": json.loads(body or b"{}"), "at": delay, "seconds": time.perf_counter() - started}
    )


def final_versions(server: Server, workers: int, want: str, timeout: float = 30.0) -> set[str]:
    """The versions answering after the run: polls until `workers * 8` answers in a row name `want` (the
    other workers reload on the supervisor's SIGHUP), or the time is up; returns the versions seen last."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        _, headers, _ = http("GET", f"{server.base}/v1/health")
        seen.append(headers.get("x-model-version", "none"))
        recent = seen[-workers * 8 :]
        if len(recent) == workers * 8 and set(recent) == {want}:
            return {want}
        time.sleep(0.02)
    return set(seen[-workers * 8 :])


def sample_rss(
    pids: list[int], began: float, stop: threading.Event
) -> tuple[dict[int, list[tuple[float, float]]], threading.Thread]:
    """Each pid's RSS every RSS_SAMPLE_SECONDS, into the returned dict until `stop`, by the returned thread."""
    rss: dict[int, list[tuple[float, float]]] = {pid: [] for pid in pids}

    def sample() -> None:
        while True:
            for pid in pids:
                rss[pid].append((time.monotonic() - began, rss_mb(pid)))
            if stop.wait(RSS_SAMPLE_SECONDS):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    return rss, sampler


def run(model: Path, seconds: int, connections: int, workers: int, threads: int = 2, reload_at: float = 0.5) -> Result:
    warm_seconds = max(3, min(10, seconds // 10))
    with tempfile.TemporaryDirectory(prefix="stance-load-") as tmp:
        workdir = Path(tmp)
        models_dir, first, second = prepare_models(model, workdir)
        bodies = workdir / "bodies"
        write_bodies(bodies)
        with production_server(models_dir, workdir, workers) as server:
            warm_up(server, bodies)
            # Then the same load for a few seconds: the workers reach their working memory at this concurrency
            # (40 threads a worker), so "start" RSS is measured warm.
            warm = start_wrk(server.base, bodies, warm_seconds, connections, threads)
            warm_stats = parse_wrk(warm.communicate(timeout=120)[0])
            if warm_stats["failures"] or any(warm_stats["errors"].values()):
                raise RuntimeError(f"requests failed during the warm-up: {warm_stats}")
            pids = worker_pids(server.process.pid)
            sampling = threading.Event()
            rss, sampler = sample_rss(pids, time.monotonic(), sampling)
            sentences_before = metric_total(server, "stance_sentences_classified_total")
            reload: dict[str, Any] = {}
            reloader = threading.Thread(
                target=reload_midway, args=(server, models_dir, second, seconds * reload_at, reload), daemon=True
            )
            wrk = start_wrk(server.base, bodies, seconds, connections, threads)
            reloader.start()
            output, _ = wrk.communicate(timeout=seconds + 120)
            reloader.join(60)
            sampling.set()
            sampler.join(10)
            stats = parse_wrk(output)
            after = worker_pids(server.process.pid)
            sentences = metric_total(server, "stance_sentences_classified_total") - sentences_before
            versions = final_versions(server, workers, second)
            if server.process.poll() is not None:
                raise RuntimeError(f"the server died during the run:\n{tail(server.log)}")
        result = Result(
            seconds=seconds,
            connections=connections,
            workers=workers,
            warm_up=warm_seconds,
            wrk=stats,
            reload=reload,
            rss=rss,
            workers_restarted=sorted(after) != sorted(pids),
            final_versions=versions,
            sentences=sentences,
            versions=(first, second),
        )
        result.problems = problems(result)
        if result.problems:
            print(tail(server.log), file=sys.stderr)
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load_test", description=__doc__)
    parser.add_argument("--model", type=Path, default=MODELS_DIR / "current")
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=None, help="default: STANCE_WORKERS (settings)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="check only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    workers = args.workers or Settings().workers
    try:
        result = run(args.model, args.seconds, args.connections, workers)
    except RuntimeError as error:
        print(f"load test: error: {error}", file=sys.stderr)
        return 2
    table = render(result)
    print(table, end="")
    if not args.no_write:
        update_file(args.out, "load-test", "## Load test\n\n" + table, title="Benchmarks")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
