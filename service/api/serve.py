"""The production server: `python -m service.api.serve`, uvicorn with the worker count from the settings.

Every worker builds its own app from `STANCE_*` settings (the factory `service.api.app:create_app`), so options
given here travel to the workers through the environment. Before any worker starts, the settings are checked
(admin endpoints need an admin key) and the bundle is loaded once with every check, so a bad configuration or
bundle fails here, with a message, rather than in each worker.

With several workers:
- SIGHUP to this (the supervisor) process is passed on to every worker, and each reloads `models/current` in
  place if it serves something else (uvicorn's own SIGHUP would restart the workers instead);
  `POST /v1/admin/reload` reloads the worker that answers and then asks the supervisor to do the same;
- metrics are shared through prometheus-client's multiprocess mode: PROMETHEUS_MULTIPROC_DIR is set to a fresh
  folder (or the one given, emptied) for the workers and removed at exit.
Logs are JSON lines on stderr (STANCE_LOG_FORMAT=text for plain lines).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from service.api.logs import logging_config

# Light imports only: each worker imports this module first (as `__mp_main__`), before it can answer the
# supervisor's health checks; the model code is imported by the app factory after that.
from service.api.settings import SUPERVISOR_ENV, Settings, StartupError

logger = logging.getLogger("uvicorn.error")
STARTUP_FAILURE = 3
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds a worker may take to answer the supervisor's first health check (uvicorn's default is 5; two workers
# importing scikit-learn at once on a busy two-core machine can take longer, and would be killed and restarted).
WORKER_HEALTHCHECK_SECONDS = 60

if __name__ == "__mp_main__" and hasattr(signal, "SIGHUP"):  # pragma: no cover - runs in each new worker
    # A SIGHUP (a reload passed on by the supervisor) must not kill a worker that is still starting: ignore it
    # until the app's start-up installs the reload handler. A starting worker loads `current` anyway.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor, but SIGHUP reloads the model in each worker instead of restarting them."""

    def handle_hup(self) -> None:
        logger.info("Received SIGHUP, asking every worker to reload models/current.")
        for process in self.processes:
            if process.pid is None or process.exitcode is not None:
                continue
            if not process.is_ready(timeout=5):
                # Still starting (its reload handler is not installed yet, and a SIGHUP would end it): it loads
                # the bundle `current` names as it starts.
                logger.info(f"Worker [{process.pid}] is still starting; not signalled.")
                continue
            with contextlib.suppress(ProcessLookupError):  # died meanwhile: uvicorn restarts it
                os.kill(process.pid, signal.SIGHUP)

    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        gone = before - {process.pid for process in self.processes}
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            for pid in gone:
                if pid is not None:
                    multiprocess.mark_process_dead(pid)


def _metrics_dir(workers: int) -> Path | None:
    """Prepare PROMETHEUS_MULTIPROC_DIR for several workers; the folder to remove at exit, if we made it."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return None
    if workers <= 1:
        return None
    made = Path(tempfile.mkdtemp(prefix="stance-metrics-"))
    os.environ[MULTIPROC_ENV] = str(made)
    return made


def run(model: str, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the bundle at `model` with `workers` processes (loads it first, so a bad bundle fails once, here).

    Exits with status 2 and a message when the settings refuse to start (StartupError); raises BundleError for
    a bundle that fails its checks."""
    try:
        settings = Settings(model_path=Path(model))
        settings.check_startup()
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    from service.model.bundle import load_bundle

    load_bundle(Path(model), models_dir=settings.bundle_root())
    os.environ["STANCE_MODEL_PATH"] = model
    made = _metrics_dir(workers)
    config = uvicorn.Config(
        "service.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=logging_config(log_level, settings.log_format),
        access_log=False,  # one access line per request comes from the app, with its request id
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    try:
        if workers > 1:
            os.environ[SUPERVISOR_ENV] = str(os.getpid())
            Supervisor(config, sockets=[config.bind_socket()]).run()
        else:
            server = uvicorn.Server(config)
            server.run()
            if not server.started:
                raise SystemExit(STARTUP_FAILURE)
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    from service.model.bundle import BundleError

    try:
        settings = Settings()
    except ValueError as error:  # pydantic's ValidationError: a malformed STANCE_* value
        print(f"error: invalid settings: {error}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="python -m service.api.serve", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--workers", type=int, default=settings.workers)
    parser.add_argument("--model", default=str(settings.model_path), help="bundle, `current` pointer or models folder")
    args = parser.parse_args(argv)
    try:
        run(args.model, args.host, args.port, args.workers, settings.log_level)
    except BundleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
