"""The benchmarks' own logic, without running a benchmark: the load test's checks and report, wrk's summary
line, the mix of request bodies, the note on restricted predictions, the scale table and the server helpers."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.load_report import Result, problems, render
from benchmarks.load_wrk import MIX, MIX_ROUNDS, parse_wrk, write_bodies
from benchmarks.quality import restriction_note
from benchmarks.scale import Run
from benchmarks.scale import render as render_scale
from benchmarks.server import free_port, rss_mb, worker_pids
from training.examples import Example

FIRST, SECOND = "v1", "v1-reload"


def wrk_stats(**changes: Any) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "requests": 1000,
        "duration_us": 10_000_000,
        "errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
        "latency_us": {"p50": 1000, "p95": 2000, "p99": 3000, "max": 4000, "mean": 1200.0},
        "failures": 0,
        "statuses": {},
        "versions": {FIRST: 500, SECOND: 500},
    }
    return {**stats, **changes}


def result(rss: list[float], final: set[str] | None = None, **wrk: Any) -> Result:
    """A 10-second run with a reload at 5 s; `rss` MB samples one second apart, for one worker."""
    return Result(
        seconds=10,
        connections=8,
        workers=1,
        warm_up=3,
        wrk=wrk_stats(**wrk),
        reload={"status": 200, "body": {"status": "reloaded"}, "at": 5.0, "seconds": 0.5},
        rss={42: [(float(at), mb) for at, mb in enumerate(rss)]},
        workers_restarted=False,
        final_versions={SECOND} if final is None else final,
        sentences=5000,
        versions=(FIRST, SECOND),
    )


def test_a_clean_run_passes_and_reports_its_figures() -> None:
    run = result([100] * 11)
    run.problems = problems(run)
    assert run.ok
    report = render(run)
    assert "| 1,000 | 0 | 100 | 500 | 1.0 | 2.0 | 3.0 | 4.0 |" in report
    assert f"afterwards every worker answers `{SECOND}`" in report
    assert "Result: **pass**" in report


def test_failures_growth_and_a_missed_reload_fail_the_run() -> None:
    run = result([100] * 5 + [130] * 6, final={FIRST, SECOND}, failures=3, statuses={"503": 3})
    run.problems = problems(run)
    found = "; ".join(run.problems)
    assert "failed requests" in found and "not v1-reload" in found
    report = render(run)
    assert "afterwards every worker answers" not in report  # the report says what was seen instead
    assert "Result: **FAIL**" in report


def test_growth_under_load_fails_and_a_missing_sample_is_not_a_pass() -> None:
    assert any("under load RSS grew" in p for p in problems(result([100, 100, 150] + [150] * 8)))
    assert any("the reload added" in p for p in problems(result([math.nan] * 11)))


def test_parse_wrk_reads_the_summary_line() -> None:
    stats = wrk_stats()
    assert parse_wrk(f"Running 10s test\nLOADTEST {json.dumps(stats)}\n") == stats


def test_the_bodies_follow_the_mix(tmp_path: Path) -> None:
    write_bodies(tmp_path)
    lines = (tmp_path / "mix.txt").read_text().splitlines()
    assert len(lines) == len(MIX) * MIX_ROUNDS
    assert [line.split()[0] for line in lines[: len(MIX)]] == list(MIX)
    batch = json.loads((tmp_path / lines[MIX.index("batch")].split()[1]).read_text())
    assert set(batch) == {"texts"}


def test_the_restriction_note_names_the_sets_whose_gold_leaves_labels_out() -> None:
    full = [Example(text=label, labels={"stance": label}) for label in ("cooperative", "threat", "economic", "neutral")]
    partial = [Example(text="t", labels={"stance": "threat"}), Example(text="n", labels={"stance": "neutral"})]
    note = restriction_note({"full": full, "partial": partial})
    assert "partial stance (no `cooperative`, `economic`)" in note and "full" not in note
    assert "nowhere here" in restriction_note({"full": full})


def test_the_scale_table_claims_nothing_about_memory_growth() -> None:
    runs = [
        Run(name, 10.0, 10.0, 1.0, 100.0, 100.0, "ab" * 32, "")
        for name in ("1 process", "2 worker processes", "Dask LocalCluster, 2 workers")
    ]
    table = render_scale(runs, 25_000, Path("models/v1"), "2026-01-01", default_model=True)
    assert "byte-identical" in table and "partitions of 10,000 rows" in table and "3 of them" in table
    assert "does not grow" not in table and "(the default bundle)" in table
    assert "(the default bundle)" not in render_scale(runs, 25_000, Path("v1"), "2026-01-01", default_model=False)


def test_server_helpers() -> None:
    assert 0 < free_port() < 65536
    assert rss_mb(os.getpid()) > 0
    assert math.isnan(rss_mb(2**22 + 12345))  # above the kernel's largest pid
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in worker_pids(os.getpid())
    finally:
        child.kill()
        child.wait()
