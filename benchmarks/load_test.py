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
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.api.settings import Settings
from service.model.bundle import MANIFEST_FILE, load_bundle, resolve_bundle_dir, set_current, write_bundle
from service.model.paths import CORPUS_DIR, MODELS_DIR, PROJECT_ROOT
from training.markdown import machine, update_file

LUA_SCRIPT = Path(__file__).with_name("load_test.lua")
ARTICLE_SENTENCES = 20
BATCH_TEXTS = 8
BATCH_TEXT_SENTENCES = 4
# Per 10 requests of the mix: 6 single sentences, 3 articles, 1 batch.
MIX = ("single", "article", "single", "single", "batch", "single", "article", "single", "single", "article")
WRK_TIMEOUT_SECONDS = 10
# Memory is stable when, under load alone, a worker's RSS grows at most this much: from the start (after warm-up)
# to just before the reload, and from just after it to the end. The reload itself holds two models for a moment,
# and the allocator keeps some of the old one's memory: that step is reported, and bounded separately.
RSS_LOAD_GROWTH_MB = 20.0
RSS_RELOAD_GROWTH_MB = 80.0
RSS_SAMPLE_SECONDS = 0.5


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    admin_key: str
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Result:
    seconds: int
    connections: int
    workers: int
    wrk: dict[str, Any]
    reload: dict[str, Any]
    rss: dict[int, list[tuple[float, float]]]  # per worker: (seconds into the run, MB)
    workers_restarted: bool
    final_versions: set[str]
    sentences: float
    versions: tuple[str, str]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def rss_at(self, pid: int, moment: float, before: bool) -> float:
        """The worker's last RSS sample before `moment` (or the first after it)."""
        samples = self.rss.get(pid, [])
        chosen = [mb for at, mb in samples if at <= moment] if before else [mb for at, mb in samples if at >= moment]
        if not chosen:
            return float("nan")
        return chosen[-1] if before else chosen[0]

    def rss_phases(self, pid: int) -> tuple[float, float, float, float, float]:
        """RSS at the start, just before the reload, a few seconds after it, at the end, and the largest."""
        samples = self.rss.get(pid, [])
        reload_at = float(self.reload.get("at", self.seconds / 2))
        settled = reload_at + float(self.reload.get("seconds", 0)) + min(5.0, self.seconds / 8)
        start = samples[0][1] if samples else float("nan")
        end = samples[-1][1] if samples else float("nan")
        largest = max((mb for _, mb in samples), default=float("nan"))
        return start, self.rss_at(pid, reload_at, True), self.rss_at(pid, settled, False), end, largest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


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


def write_bodies(folder: Path) -> dict[str, int]:
    """The request bodies and mix.txt for the Lua script; the sentences each kind of request holds."""
    from training.data import load_examples

    sentences = [example.text for example in load_examples([CORPUS_DIR], split="test")]
    folder.mkdir(parents=True, exist_ok=True)
    cursor = 0

    def take(count: int) -> list[str]:
        nonlocal cursor
        chosen = [sentences[(cursor + i) % len(sentences)] for i in range(count)]
        cursor += count
        return chosen

    lines = []
    counts = {"single": 1, "article": ARTICLE_SENTENCES, "batch": BATCH_TEXTS * BATCH_TEXT_SENTENCES}
    for round_ in range(12):
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
    return counts


@contextmanager
def production_server(models_dir: Path, workdir: Path, workers: int, log_level: str = "warning") -> Iterator[Server]:
    """`python -m service.api.serve` on a free port, workers from STANCE_WORKERS, admin endpoints on; stopped
    (SIGTERM, then SIGKILL) on exit."""
    port = free_port()
    admin_key = secrets.token_hex(16)
    log = workdir / "server.log"
    env = {
        **os.environ,
        "STANCE_MODEL_PATH": str(models_dir / "current"),
        "STANCE_MODELS_DIR": str(models_dir),
        "STANCE_WORKERS": str(workers),
        "STANCE_ADMIN_ENABLED": "true",
        "STANCE_ADMIN_KEY": admin_key,
        "STANCE_LOG_LEVEL": log_level,
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.api.serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,  # no stray .env
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, admin_key, log)
    try:
        wait_ready(server, workers)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_ready(server: Server, workers: int, timeout: float = 120.0) -> None:
    """Until /v1/ready answers and, with several workers, every one has loaded its model (each reports
    `stance_model_info` with its pid in the shared metrics)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}:\n{tail(server.log)}")
        try:
            status, _, _ = http("GET", f"{server.base}/v1/ready", timeout=2)
            if status == 200 and (workers == 1 or len(serving_pids(server)) >= workers):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server was not ready in {timeout} s:\n{tail(server.log)}")


def serving_pids(server: Server) -> set[str]:
    """The pids of the workers serving a model, from /metrics (multiprocess mode labels each with its pid)."""
    _, _, body = http("GET", f"{server.base}/metrics", timeout=5)
    found = re.findall(r'^stance_model_info\{pid="(\d+)",version="[^"]*"\} 1\.0$', body.decode(), re.MULTILINE)
    return set(found)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def worker_pids(pid: int) -> list[int]:
    """The serving processes: the workers of a supervisor, or the process itself when it has none."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    workers = []
    for child in sorted(set(children)):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in command:
            workers.append(child)
    return workers or [pid]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def metric_total(server: Server, name: str) -> float:
    _, _, body = http("GET", f"{server.base}/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


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


def warm_up_seconds(seconds: int) -> int:
    return max(3, min(10, seconds // 10))


def run_wrk(server: Server, bodies: Path, seconds: int, connections: int, threads: int) -> subprocess.Popen[str]:
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
            f"{server.base}/v1/classify",
        ],
        env={**os.environ, "STANCE_LOAD_DIR": str(bodies)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def parse_wrk(output: str) -> dict[str, Any]:
    match = re.search(r"^LOADTEST (\{.*\})$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no LOADTEST line in wrk's output:\n{output}")
    result: dict[str, Any] = json.loads(match.group(1))
    return result


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


def run(model: Path, seconds: int, connections: int, workers: int, threads: int = 2, reload_at: float = 0.5) -> Result:
    with tempfile.TemporaryDirectory(prefix="stance-load-") as tmp:
        workdir = Path(tmp)
        models_dir, first, second = prepare_models(model, workdir)
        bodies = workdir / "bodies"
        write_bodies(bodies)
        with production_server(models_dir, workdir, workers) as server:
            warm_up(server, bodies)
            # Then the same load for a few seconds: the workers reach their working memory at this concurrency
            # (40 threads a worker), so "start" RSS is measured warm.
            warm = run_wrk(server, bodies, warm_up_seconds(seconds), connections, threads)
            warm_stats = parse_wrk(warm.communicate(timeout=120)[0])
            if warm_stats["failures"] or any(warm_stats["errors"].values()):
                raise RuntimeError(f"requests failed during the warm-up: {warm_stats}")
            pids = worker_pids(server.process.pid)
            rss: dict[int, list[tuple[float, float]]] = {pid: [] for pid in pids}
            sampling = threading.Event()
            began = time.monotonic()

            def sample() -> None:
                while True:
                    for pid in pids:
                        rss[pid].append((time.monotonic() - began, rss_mb(pid)))
                    if sampling.wait(RSS_SAMPLE_SECONDS):
                        return

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            sentences_before = metric_total(server, "stance_sentences_classified_total")
            reload: dict[str, Any] = {}
            reloader = threading.Thread(
                target=reload_midway, args=(server, models_dir, second, seconds * reload_at, reload), daemon=True
            )
            wrk = run_wrk(server, bodies, seconds, connections, threads)
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


def problems(result: Result) -> list[str]:
    found = []
    errors = result.wrk["errors"]
    if any(errors.values()) or result.wrk["failures"]:
        found.append(f"failed requests: {errors}, non-200 answers {result.wrk['statuses']}")
    if result.wrk["requests"] == 0:
        found.append("no request was answered")
    if result.reload.get("status") != 200:
        found.append(f"the reload failed: {result.reload}")
    second = result.versions[1]
    if result.final_versions != {second}:
        found.append(f"after the reload the workers answer with {sorted(result.final_versions)}, not {second}")
    if result.workers_restarted:
        found.append("a worker was restarted during the run")
    for pid in result.rss:
        start, before, after, end, _ = result.rss_phases(pid)
        if not before - start <= RSS_LOAD_GROWTH_MB:
            found.append(f"worker {pid}: under load RSS grew from {start:.0f} MB to {before:.0f} MB before the reload")
        if not end - after <= RSS_LOAD_GROWTH_MB:
            found.append(f"worker {pid}: under load RSS grew from {after:.0f} MB to {end:.0f} MB after the reload")
        if not after - before <= RSS_RELOAD_GROWTH_MB:
            found.append(f"worker {pid}: the reload added {after - before:.0f} MB")
    return found


def render(result: Result) -> str:
    wrk = result.wrk
    seconds = wrk["duration_us"] / 1e6
    latency = wrk["latency_us"]
    errors = wrk["errors"]
    # Socket errors and timeouts, plus answers other than 200 (wrk's `status` errors are among those).
    failed = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"] + wrk["failures"]
    first, second = result.versions
    versions = ", ".join(f"`{version}` {count:,}" for version, count in sorted(wrk["versions"].items()))
    lines = [
        f"Machine: {machine()}. Command: `make load-test`: wrk, {result.connections} connections, "
        f"{result.seconds} s, against `python -m service.api.serve` with {result.workers} workers (STANCE_WORKERS), "
        "wrk on the same machine. The mix, round-robin: 6 single sentences, 3 articles of "
        f"{ARTICLE_SENTENCES} sentences and 1 batch of {BATCH_TEXTS} texts of {BATCH_TEXT_SENTENCES} sentences in "
        f"every 10 requests, from the corpus test split. At {result.reload['at']:.0f} s `current` is switched "
        f"and `POST /v1/admin/reload` swaps `{first}` for `{second}`.",
        "",
        "| requests | failed | requests/s | sentences/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {wrk['requests']:,} | {failed:,} | {wrk['requests'] / seconds:,.0f} "
        f"| {result.sentences / seconds:,.0f} | {latency['p50'] / 1000:.1f} | {latency['p95'] / 1000:.1f} "
        f"| {latency['p99'] / 1000:.1f} | {latency['max'] / 1000:.1f} |",
        "",
        f"- reload: HTTP {result.reload['status']} in {result.reload['seconds']:.2f} s under load "
        f"({result.reload['body'].get('status')}, other workers {result.reload['body'].get('other_workers')}); "
        f"answers per `X-Model-Version`: {versions}; afterwards every worker answers `{second}`",
        "- errors (wrk): " + ", ".join(f"{name} {count}" for name, count in errors.items()),
        "",
        "Resident memory of each worker (VmRSS from /proc, sampled every "
        f"{RSS_SAMPLE_SECONDS} s): at the start (after {warm_up_seconds(result.seconds)} s of the same load as "
        "warm-up), just before the reload, a few seconds after it, "
        "at the end, and the largest sample.",
        "",
        "| worker | start | before reload | after reload | end | largest | end - start |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for index, pid in enumerate(sorted(result.rss), start=1):
        start, before, after, end, largest = result.rss_phases(pid)
        lines.append(
            f"| {index} | {start:.0f} MB | {before:.0f} MB | {after:.0f} MB | {end:.0f} MB | {largest:.0f} MB "
            f"| {end - start:+.0f} MB |"
        )
    lines.append("")
    lines.append(
        f"Result: **{'pass' if result.ok else 'FAIL'}**" + ("" if result.ok else ": " + "; ".join(result.problems))
    )
    return "\n".join(lines) + "\n"


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
