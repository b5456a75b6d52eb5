"""The production command with two workers: SIGHUP to the supervisor reloads every worker in place, an admin
reload reaches the other workers too, a failed reload keeps the old model everywhere, and /metrics adds up
the workers' counts (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from benchmarks.server import Server, http, production_server, worker_pids
from service.model.bundle import Bundle, set_current
from tests.model_folders import models_with_two_versions, tamper

WORKERS = 2


def versions_answering(server: Server, want: str, timeout: float = 40.0) -> set[str]:
    """Poll until 16 answers in a row (both workers, most likely) name `want`; the versions seen last."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        status, headers, _ = http("GET", f"{server.base}/v1/health")
        assert status == 200
        seen.append(headers["x-model-version"])
        if len(seen) >= 16 and set(seen[-16:]) == {want}:
            return {want}
        time.sleep(0.02)
    return set(seen[-16:])


def classify_count(server: Server, want: float, timeout: float = 10.0) -> float:
    """The classify requests counted, polled until `want` (a worker counts a request just after answering it, so
    the count can lag the answer the client has already read); the last count seen."""
    deadline = time.monotonic() + timeout
    while True:
        _, _, body = http("GET", f"{server.base}/metrics")
        count = 0.0
        for line in body.decode().splitlines():
            if line.startswith('stance_http_requests_total{method="POST",route="/v1/classify",status="200"}'):
                count = float(line.rsplit(" ", 1)[1])
        if count == want or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


def test_two_workers_reload_together(bundle: Bundle, tmp_path: Path) -> None:
    models_dir, first, second = models_with_two_versions(bundle, tmp_path)
    with production_server(models_dir, tmp_path, WORKERS, log_level="info") as server:
        pids = worker_pids(server.process.pid)
        assert len(pids) == WORKERS
        assert versions_answering(server, first) == {first}

        # Requests spread over both workers; /metrics, whichever worker answers, counts them all.
        for _ in range(20):
            status, _, _ = http(
                "POST",
                f"{server.base}/v1/classify",
                b'{"text": "Talks resumed."}',
                {"Content-Type": "application/json"},
            )
            assert status == 200
        assert classify_count(server, want=20) == 20
        _, _, metrics = http("GET", f"{server.base}/metrics")
        info = [line for line in metrics.decode().splitlines() if line.startswith("stance_model_info{")]
        assert len(info) == WORKERS and all(f'version="{first}"' in line for line in info)

        # SIGHUP to the supervisor: each worker loads what `current` names, in place.
        set_current(models_dir, second)
        server.process.send_signal(signal.SIGHUP)
        assert versions_answering(server, second) == {second}

        # The admin endpoint reloads the worker that answers and passes the reload on to the other.
        set_current(models_dir, first)
        status, _, body = http(
            "POST", f"{server.base}/v1/admin/reload", headers={"Authorization": f"Bearer {server.admin_key}"}
        )
        assert status == 200, body
        assert json.loads(body)["other_workers"] == "signalled"
        assert versions_answering(server, first) == {first}

        # A bundle that fails its checks: 409 with the reason, and every worker keeps the old model.
        tamper(models_dir / second)
        set_current(models_dir, second)
        status, headers, body = http(
            "POST", f"{server.base}/v1/admin/reload", headers={"Authorization": f"Bearer {server.admin_key}"}
        )
        assert status == 409 and headers["content-type"].startswith("application/problem+json")
        assert "SHA-256" in json.loads(body)["detail"]
        server.process.send_signal(signal.SIGHUP)
        time.sleep(2)
        assert versions_answering(server, first) == {first}

        assert worker_pids(server.process.pid) == pids  # no worker died or was restarted on the way
    log = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    assert any(entry.get("event") == "reload" and entry.get("source") == "SIGHUP" for entry in log)
    assert any(entry.get("logger") == "stance.access" and entry.get("request_id") for entry in log)
    failed = [entry for entry in log if entry.get("event") == "reload" and entry.get("result") == "failed"]
    assert failed and all("SHA-256" in entry["message"] for entry in failed)
