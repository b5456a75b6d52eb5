"""One error format for every error: RFC 9457 problem details, `application/problem+json`.

Every 4xx and 5xx answer of the service, whatever raised it (a route's HTTPException, a validation error, an
unknown path or method, a body over the size limit, a missing API key, an unexpected exception) has the body

    {"type": "urn:stance:problem:limit-exceeded", "title": "Limit exceeded", "status": 413,
     "detail": "text 0 has 25300 characters (limit max_text_chars=20000)", "instance": "/v1/classify",
     "request_id": "5f0c...", "limit": "max_text_chars", "maximum": 20000, "value": 25300, "index": 0}

`type` is `about:blank` for a plain HTTP error (then `title` is the status phrase) or a `urn:stance:problem:...`
name; validation errors add `errors` (where and what, per problem); limits add `limit`, `maximum` and `value`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope, Send

PROBLEM_JSON = "application/problem+json"
PREFIX = "urn:stance:problem:"
VALIDATION = PREFIX + "validation"
INVALID_BODY = PREFIX + "invalid-body"
LIMIT = PREFIX + "limit-exceeded"
UNAUTHORIZED = PREFIX + "unauthorized"
RELOAD_FAILED = PREFIX + "reload-failed"
NO_MODEL = PREFIX + "no-model"
INTERNAL = PREFIX + "internal-error"
LIMIT_TITLE = "Limit exceeded"
REQUEST_ID_KEY = "stance.request_id"  # where the request-context middleware puts the id in the ASGI scope

logger = logging.getLogger("stance.errors")


class Issue(BaseModel):
    """One validation problem: where (`loc`, from `body`), what (`msg`) and pydantic's error `type`."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the extension members this service uses."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    type: str = Field(default="about:blank", description="`about:blank`, or a `urn:stance:problem:...` name")
    title: str = Field(description="Short summary of the problem type (the HTTP status phrase for about:blank)")
    status: int = Field(ge=400, le=599, description="The HTTP status code")
    detail: str | None = Field(default=None, description="What went wrong with this request, for a person")
    instance: str | None = Field(default=None, description="The request path")
    request_id: str | None = Field(default=None, description="The request's X-Request-ID, also in the logs")
    errors: list[Issue] | None = Field(default=None, description="Validation problems, one per field")
    limit: str | None = Field(default=None, description="The limit exceeded: the setting's name, e.g. max_texts")
    maximum: int | None = Field(default=None, description="The limit's value")
    value: int | None = Field(default=None, description="The request's value that exceeded it")
    index: int | None = Field(default=None, description="Which text (from 0), for per-text limits and checks")


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type: str = "about:blank",
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type
        self.title = title or phrase(status)
        self.headers = dict(headers or {})
        self.extra = {key: value for key, value in extra.items() if value is not None}


class LimitExceeded(ProblemError):
    """A request over one of the configured limits: 413 naming the limit, its maximum and the value."""

    def __init__(self, limit: str, maximum: int, value: int, detail: str, index: int | None = None) -> None:
        super().__init__(
            413, detail, type=LIMIT, title=LIMIT_TITLE, limit=limit, maximum=maximum, value=value, index=index
        )


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(
    status: int,
    detail: str | None = None,
    *,
    type: str = "about:blank",
    title: str | None = None,
    instance: str | None = None,
    request_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type, "title": title or phrase(status), "status": status}
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if request_id is not None:
        body["request_id"] = request_id
    body.update({key: value for key, value in extra.items() if value is not None})
    return body


def problem_bytes(body: Mapping[str, Any]) -> bytes:
    # ensure_ascii: a detail that quotes odd input (lone surrogates, say) still encodes.
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")


class ProblemResponse(Response):
    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return problem_bytes(content)


def request_id_of(scope: Mapping[str, Any]) -> str | None:
    value = scope.get(REQUEST_ID_KEY)
    return value if isinstance(value, str) else None


def respond(request: Request, status: int, detail: str | None, headers: Mapping[str, str] | None = None, **kw: Any):
    body = problem_body(status, detail, instance=request.url.path, request_id=request_id_of(request.scope), **kw)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


async def send_problem(scope: Scope, send: Send, status: int, detail: str, *, close: bool = False, **kw: Any) -> None:
    """Answer with a problem body over plain ASGI, for the middleware that answer outside FastAPI's handlers.

    `close` asks the client to open a new connection: the rest of its request body is never read."""
    payload = problem_bytes(
        problem_body(status, detail, instance=scope.get("path"), request_id=request_id_of(scope), **kw)
    )
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(payload)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


# --- handlers ------------------------------------------------------------------------------------------------


def _clean_loc(loc: Iterable[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def _message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if error.get("type") == "missing" and [str(part) for part in error.get("loc", ())] == ["body"]:
        message = "the request has no body: send a JSON object"
    if error.get("type") == "json_invalid":
        ctx = error.get("ctx") or {}
        loc = list(error.get("loc", ()))
        position = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        message = f"the body is not valid JSON: {ctx.get('error', 'decode error')}{position}"
    return message


def issues(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic errors without their `input` (which may be large, or not JSON) and `ctx` (may hold exceptions)."""
    return [
        {"loc": _clean_loc(error.get("loc", ())), "msg": _message(error), "type": str(error.get("type", "invalid"))}
        for error in errors
    ]


def summary(found: list[dict[str, Any]]) -> str:
    parts = []
    for issue in found[:5]:
        where = ".".join(str(part) for part in issue["loc"] if part != "body")
        parts.append(f"{where}: {issue['msg']}" if where else issue["msg"])
    more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
    return "; ".join(parts) + more


async def validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    found = issues(exc.errors())
    invalid_json = any(issue["type"] == "json_invalid" for issue in found)
    return respond(
        request,
        422,
        summary(found),
        type=INVALID_BODY if invalid_json else VALIDATION,
        title="Invalid JSON body" if invalid_json else "Request validation failed",
        errors=found,
    )


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, default=str)
    if exc.status_code == 404 and detail == phrase(404):
        detail = f"no route {request.url.path}"
    elif exc.status_code == 405 and detail == phrase(405):
        allowed = (exc.headers or {}).get("Allow") or (exc.headers or {}).get("allow")
        detail = f"{request.method} is not allowed on {request.url.path}" + (f"; allowed: {allowed}" if allowed else "")
    return respond(request, exc.status_code, detail, headers=exc.headers)


async def problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return respond(request, exc.status, exc.detail, headers=exc.headers, type=exc.type, title=exc.title, **exc.extra)


async def unexpected_handler(request: Request, exc: Exception) -> Response:
    """Last resort (Starlette's ServerErrorMiddleware): the request-context middleware normally answers first."""
    request_id = request_id_of(request.scope)
    logger.error("unexpected error", exc_info=exc)
    return respond(request, 500, internal_detail(request_id), type=INTERNAL)


def internal_detail(request_id: str | None) -> str:
    where = f" with request id {request_id}" if request_id else ""
    return f"the service failed unexpectedly; the error was logged{where}"


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(ProblemError, problem_handler)
    app.add_exception_handler(Exception, unexpected_handler)


# --- OpenAPI ---------------------------------------------------------------------------------------------------

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
ERROR_DESCRIPTIONS = {
    400: "The body could not be parsed (e.g. JSON nested too deep)",
    401: "A key is needed: `Authorization: Bearer <key>` is missing or wrong",
    409: "The reload failed; the old model is still served (`detail` says why)",
    413: "Over a limit: the body size, texts per request, characters or sentences per text (`limit`, `value`)",
    422: "The body is not valid JSON, not UTF-8, or not a valid request (`errors` says where)",
    500: "An unexpected error; logged with the request id",
    503: "No model is loaded",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route or router that can answer these statuses: problem+json, with the
    descriptions above."""
    return {
        status: {
            "description": ERROR_DESCRIPTIONS.get(status, phrase(status)),
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
        }
        for status in statuses
    }


def add_problem_schema(schema: dict[str, Any]) -> None:
    """Put the Problem schema (which `problem_responses` point at) into the OpenAPI schema's components."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem_schema.pop("$defs", {}))
    components["Problem"] = problem_schema
