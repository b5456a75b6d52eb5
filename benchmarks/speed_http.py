"""The served path of `make bench` over HTTP: wrk against the production command, classifying and on a no-op
route of the same app, and start-up (process start to ready, resident memory)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks.load_open import fixed_rate
from benchmarks.server import production_server, rss_mb

CONCURRENCY = (1, 8, 64)
OPEN_LOOP_SHARE = 0.7  # the fixed rate, as a share of the closed-loop requests/s
LOG_LEVEL = "info"  # the production default: every request writes its access log line, as deployed
# wrk leaves a latency at or over its timeout (2 s unless given) out of its percentiles and counts it as a socket
# error only: the tail would be cut off at 2 s. Longer than any latency seen, and a timeout counts as an error.
WRK_TIMEOUT_SECONDS = 30
_WRK_LATENCY = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def settings_for(model: Path) -> dict[str, str]:
    """Serve the bundle `model` itself (not the `current` of its folder), with the no-op route."""
    return {"STANCE_MODEL_PATH": str(model), "STANCE_NOOP_ROUTE": "true"}


def start_up(model: Path, workdir: Path) -> dict[str, float]:
    """Cold start (process start to ready) and resident memory of a one-worker server after loading."""
    model = model.resolve()
    started = time.perf_counter()
    with production_server(model.parent, workdir, 1, LOG_LEVEL, settings_for(model)) as server:
        return {"cold_start": time.perf_counter() - started, "rss": rss_mb(server.process.pid)}


def wrk(base: str, path: str, body: str, connections: int, seconds: int, workdir: Path) -> dict[str, float]:
    """Requests/s, p50 and p99 in ms, and failed requests (non-2xx answers, socket errors and timeouts) of wrk
    posting `body` to `path`."""
    script = workdir / "post.lua"
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "application/json"\n'
    )
    threads = min(2, connections)
    output = subprocess.run(
        [
            *("wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={WRK_TIMEOUT_SECONDS}s"),
            *("--latency", "-s", str(script), base + path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    latency = {p: float(v) * _UNIT[u] for p, v, u in _WRK_LATENCY.findall(output)}
    if rps is None or set(latency) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    statuses = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(statuses.group(1)) if statuses else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return {"rps": float(rps.group(1)), "p50": latency["50"], "p99": latency["99"], "errors": errors}


def http_rows(
    model: Path, cases: list[tuple[str, str, str]], workers: int, seconds: int, workdir: Path
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One wrk run per (name, path, body) case at each of CONCURRENCY connections, on one server; then the last
    case at a fixed rate (`benchmarks.load_open`), OPEN_LOOP_SHARE of the requests/s wrk reached with it at the
    most connections."""
    model = model.resolve()
    rows: list[dict[str, Any]] = []
    with production_server(model.parent, workdir, workers, LOG_LEVEL, settings_for(model)) as server:
        for connections in CONCURRENCY:
            for name, path, body in cases:
                figures = wrk(server.base, path, body, connections, seconds, workdir)
                rows.append({"case": name, "connections": connections, **figures})
        name, path, body = cases[-1]
        rate = round(float(rows[-1]["rps"]) * OPEN_LOOP_SHARE)
        open_loop = {"case": name, **fixed_rate(server.base + path, body, rate, seconds, CONCURRENCY[-1])}
    return rows, open_loop
