"""The outermost layer of every request: request id, timing, metrics, the access log line, the
`X-Request-ID` and `X-Model-Version` response headers, and a problem+json 500 for any unexpected exception."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import INTERNAL, REQUEST_ID_KEY, internal_detail, send_problem
from service.api.limits import BODY_BYTES_KEY
from service.api.logs import REQUEST_ID_HEADER, new_request_id, request_id_var
from service.api.metrics import Metrics
from service.api.state import ModelState

MODEL_VERSION_KEY = "stance.model_version"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

access_logger = logging.getLogger("stance.access")
error_logger = logging.getLogger("stance.errors")


def route_template(scope: Scope) -> str:
    """The matched route's path template (bounded label values), or `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, state: ModelState, metrics: Metrics | None) -> None:
        self.app = app
        self.state = state
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = new_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        scope[REQUEST_ID_KEY] = request_id
        token = request_id_var.set(request_id)
        response: dict[str, Any] = {"status": 500, "bytes": 0, "started": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["started"] = True
                response["status"] = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                # The version of the model that answered (set when the route took its bundle), else the
                # version being served now.
                version = scope.get(MODEL_VERSION_KEY) or self.state.version
                if version:
                    headers["X-Model-Version"] = version
            elif message["type"] == "http.response.body":
                response["bytes"] += len(message.get("body", b""))
            await send(message)

        if self.metrics is not None:
            self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            error_logger.exception(
                "unexpected error answering %s %s", scope.get("method"), scope.get("path"), extra={"event": "error"}
            )
            if not response["started"]:
                await send_problem(scope, send_with_headers, 500, internal_detail(request_id), type=INTERNAL)
        finally:
            seconds = time.perf_counter() - started
            method = scope.get("method", "GET")
            method = method if method in METHODS else "OTHER"
            route = route_template(scope)
            request_bytes = int(scope.get(BODY_BYTES_KEY, 0))
            if self.metrics is not None:
                self.metrics.in_progress.dec()
                self.metrics.observe_request(
                    method, route, response["status"], seconds, request_bytes, response["bytes"]
                )
            status = response["status"]
            access_logger.log(
                logging.ERROR if status >= 500 else logging.INFO,
                "%s %s %s",
                method,
                scope.get("path"),
                status,
                extra={
                    "event": "request",
                    "method": method,
                    "path": scope.get("path"),
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "request_bytes": request_bytes,
                    "response_bytes": response["bytes"],
                    "model_version": scope.get(MODEL_VERSION_KEY) or self.state.version,
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )
            request_id_var.reset(token)
