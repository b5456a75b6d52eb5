"""The production server: `python -m service.api.serve` (and `stance serve`), uvicorn with the worker count from
the settings.

Options (`--host`, `--port`, `--workers`, `--model`) override the `STANCE_*` settings, which give their defaults;
both commands take them from `add_server_arguments` and serve with `serve_from_args`. Every worker builds its own
app from the settings (the factory `service.api.app:create_app`), so the model given here travels to the workers
through the environment. Before any worker starts, the settings are checked (admin endpoints need an admin key)
and the bundle is loaded once with every check, so a bad configuration or bundle fails here, with a message,
rather than in each worker.

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
# Seconds a worker may take to answer the supervisor's health check (uvicorn's default is 5). A new worker imports
# NumPy, SciPy, pydantic and FastAPI and loads the bundle before or while it answers; two workers doing that at
# once on a busy two-core machine can take longer, and would be killed and restarted.
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


def run(settings: Settings) -> int:
    """Serve the bundle at `settings.model_path` with `settings.workers` processes; the exit status.

    Loads the bundle first, so a bad bundle fails once, here. Raises StartupError when the settings refuse to
    start and BundleError for a bundle that fails its checks."""
    settings.check_startup()
    from service.model.bundle import load_bundle

    load_bundle(settings.model_path, models_dir=settings.bundle_root())
    os.environ["STANCE_MODEL_PATH"] = str(settings.model_path)
    made = _metrics_dir(settings.workers)
    config = uvicorn.Config(
        "service.api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,  # one access line per request comes from the app, with its request id
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    try:
        if settings.workers > 1:
            os.environ[SUPERVISOR_ENV] = str(os.getpid())
            Supervisor(config, sockets=[config.bind_socket()]).run()
            return 0
        server = uvicorn.Server(config)
        server.run()
        return 0 if server.started else STARTUP_FAILURE
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--host`, `--port`, `--workers` and `--model` to `parser`. An option not given is the setting's
    (`STANCE_HOST`, ...), read when serving (`serve_from_args`), so every command has the same defaults."""
    fields = Settings.model_fields
    parser.add_argument("--host", help=f"address to listen on (default: STANCE_HOST, else {fields['host'].default})")
    parser.add_argument("--port", type=int, help=f"port (default: STANCE_PORT, else {fields['port'].default})")
    parser.add_argument(
        "--workers", type=int, help=f"server processes (default: STANCE_WORKERS, else {fields['workers'].default})"
    )
    parser.add_argument(
        "--model",
        help="bundle, `current` pointer or models folder "
        f"(default: STANCE_MODEL_PATH, else {fields['model_path'].default})",
    )


def serve_from_args(args: argparse.Namespace) -> int:
    """Serve with the options of `add_server_arguments` over the settings; the exit status (2, with a message on
    stderr, for invalid settings, settings that refuse to start, or a bundle that fails its checks)."""
    from service.model.bundle import BundleError

    options = {"host": args.host, "port": args.port, "workers": args.workers, "model_path": args.model}
    try:
        settings = Settings(**{name: value for name, value in options.items() if value is not None})
    except ValueError as error:  # pydantic's ValidationError: a malformed STANCE_* value or option
        print(f"error: invalid settings: {error}", file=sys.stderr)
        return 2
    try:
        return run(settings)
    except (StartupError, BundleError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m service.api.serve", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_server_arguments(parser)
    return serve_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
