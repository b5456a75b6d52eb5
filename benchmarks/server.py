"""The server under test: the production command `python -m service.api.serve` on a free port, started, waited
for until every worker serves, and stopped; plain HTTP calls to it, and its workers' pids and resident memory."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from service.model.paths import PROJECT_ROOT


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    admin_key: str
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body); an error status is returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@contextmanager
def production_server(
    models_dir: Path, workdir: Path, workers: int, log_level: str = "warning", env: dict[str, str] | None = None
) -> Iterator[Server]:
    """`python -m service.api.serve` serving `models_dir/current` on a free port with `workers` workers (through
    STANCE_WORKERS, as a deployment sets it) and the admin endpoints on; `env` adds settings. Yields once every
    worker serves; stopped (SIGTERM, then SIGKILL) on exit. Its log is `workdir/server.log`."""
    port = free_port()
    admin_key = secrets.token_hex(16)
    log = workdir / "server.log"
    settings = {
        **os.environ,
        "STANCE_MODEL_PATH": str(models_dir / "current"),
        "STANCE_MODELS_DIR": str(models_dir),
        "STANCE_WORKERS": str(workers),
        "STANCE_ADMIN_ENABLED": "true",
        "STANCE_ADMIN_KEY": admin_key,
        "STANCE_LOG_LEVEL": log_level,
        "PYTHONPATH": str(PROJECT_ROOT),
        **(env or {}),
    }
    settings.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the server makes its own; a stale one would mix in old counts
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.api.serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,  # no stray .env
            env=settings,
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
    `stance_model_info` with its pid in the shared metrics). Polls every 20 ms: cold start is timed by it."""
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
        time.sleep(0.02)
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
        if b"resource_tracker" not in command:  # multiprocessing's helper, not a worker
            workers.append(child)
    return workers or [pid]


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) in MB; NaN once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")
