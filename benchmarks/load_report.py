"""What a load test run found: its figures, the checks it must pass, and the Markdown for docs/benchmarks.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmarks.load_wrk import ARTICLE_SENTENCES, BATCH_TEXT_SENTENCES, BATCH_TEXTS, MIX
from training.markdown import machine

# Memory is stable when, under load alone, a worker's RSS grows at most this much: from the start (after warm-up)
# to just before the reload, and from just after it to the end. The reload itself holds two models for a moment,
# and the allocator keeps some of the old one's memory: that step is reported, and bounded separately.
RSS_LOAD_GROWTH_MB = 20.0
RSS_RELOAD_GROWTH_MB = 80.0
RSS_SAMPLE_SECONDS = 0.5


@dataclass
class Result:
    seconds: int
    connections: int
    workers: int
    warm_up: int  # seconds of the same load before the run, so that start RSS is measured warm
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


def problems(result: Result) -> list[str]:
    """Why the run fails, if it does: failed requests, a failed reload, a restarted worker, growing memory."""
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
        # `not a <= b` rather than `a > b`: a NaN (no sample) fails too.
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
    if result.final_versions == {second}:
        afterwards = f"every worker answers `{second}`"
    else:
        afterwards = "the workers answer " + ", ".join(f"`{version}`" for version in sorted(result.final_versions))
    lines = [
        f"Machine: {machine()}. Command: `make load-test`: wrk, {result.connections} connections, "
        f"{result.seconds} s, against `python -m service.api.serve` with {result.workers} workers (STANCE_WORKERS), "
        f"wrk on the same machine. The mix, round-robin: {MIX.count('single')} single sentences, "
        f"{MIX.count('article')} articles of {ARTICLE_SENTENCES} sentences and {MIX.count('batch')} batch of "
        f"{BATCH_TEXTS} texts of {BATCH_TEXT_SENTENCES} sentences in every {len(MIX)} requests, from the corpus test "
        f"split. At {result.reload['at']:.0f} s `current` is switched "
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
        f"answers per `X-Model-Version`: {versions}; afterwards {afterwards}",
        "- errors (wrk): " + ", ".join(f"{name} {count}" for name, count in errors.items()),
        "",
        "Resident memory of each worker (VmRSS from /proc, sampled every "
        f"{RSS_SAMPLE_SECONDS} s): at the start (after {result.warm_up} s of the same load as "
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
