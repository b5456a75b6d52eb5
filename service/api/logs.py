"""Structured logs: one JSON object per line, with the request id of the request being answered.

The request id is the client's `X-Request-ID` when it is a sane token (1-128 of `A-Za-z0-9._:-`), else a new
random one; it is returned in the `X-Request-ID` response header, put in problem bodies, and added to every log
line written while the request is handled (a context variable, which reaches the thread a sync route runs in,
stamped on each record when it is made by the record factory the app factory installs).

`python -m service.api.serve` configures uvicorn's loggers with `logging_config()`; one access line per request comes
from `stance.access` (uvicorn's own access log is off):

    {"time": "2026-11-28T09:12:03.512Z", "level": "info", "logger": "stance.access", "message": "POST /v1/classify 200",
     "request_id": "3f9a...", "method": "POST", "path": "/v1/classify", "route": "/v1/classify", "status": 200,
     "duration_ms": 4.1, "request_bytes": 182, "response_bytes": 2311, "model_version": "20261127-211747", ...}
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from typing import Any

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("stance_request_id", default=None)

# Attributes every LogRecord has; anything else on a record was passed with `extra=` and goes into the JSON.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message", "taskName"}


def install_record_factory() -> None:
    """Stamp every log record made during a request with its id. Called by the app factory; a second call (another
    app in the same process) changes nothing."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "stance_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        request_id = request_id_var.get()
        if request_id is not None:
            record.request_id = request_id
        return record

    factory.stance_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def new_request_id(offered: str | None) -> str:
    """The client's id when it is sane, else a fresh one."""
    if offered is not None and _SANE_ID.match(offered):
        return offered
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", ...extra fields, "request_id", "exception"}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if entry.get("request_id") is None:
            entry.pop("request_id", None)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(level: str = "info", fmt: str = "json") -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn's loggers and the service's own (`stance.*`), on stderr."""
    level = level.upper()
    formatter: dict[str, Any] = (
        {"()": "service.api.logs.JsonFormatter"}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "stance": {"handlers": ["stderr"], "level": level, "propagate": False},
        },
    }
