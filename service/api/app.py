"""The FastAPI application: `uvicorn --factory service.api.app:create_app` (production: `python -m service.api.serve`).

Layers, outermost first: the request context (request id, metrics, access log, `X-Request-ID` and
`X-Model-Version` headers, problem+json for unexpected errors), the body limit, then FastAPI's routes with the
problem+json exception handlers of service/api/errors.py.

Each router declares the error statuses its routes can answer (`responses=`, problem+json); every route can
answer 500.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from service.api import errors
from service.api.batching import LabelQueue
from service.api.deps import require_api_key
from service.api.limits import BodyLimitMiddleware
from service.api.logs import install_record_factory
from service.api.metrics import Metrics, mark_process_dead
from service.api.middleware import RequestContextMiddleware
from service.api.routes import admin, classify, feedback, meta, page
from service.api.routes import metrics as metrics_routes
from service.api.settings import Settings
from service.api.state import ModelState
from service.model.actors import default_matcher
from service.model.bundle import Bundle
from service.model.text import TEXT_PATTERN

RESPONSE_HEADERS = {
    "X-Request-ID": {
        "description": "The request id: the client's X-Request-ID when it is a sane token, else a new one",
        "schema": {"type": "string"},
    },
    "X-Model-Version": {
        "description": "The model version that answered (or that is served, for answers without a model)",
        "schema": {"type": "string"},
    },
}


def install_sighup(state: ModelState) -> Callable[[], None]:
    """SIGHUP reloads `current` in a thread (requests keep flowing); a no-op when already served. Signals can
    only be handled in the main thread: elsewhere (tests) nothing is installed."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
        return lambda: None

    def on_sighup(signum: int, frame: Any) -> None:
        threading.Thread(
            target=state.reload, kwargs={"source": "SIGHUP", "only_if_changed": True}, name="stance-reload", daemon=True
        ).start()

    previous = signal.signal(signal.SIGHUP, on_sighup)

    def restore() -> None:
        signal.signal(signal.SIGHUP, previous)

    return restore


def create_app(settings: Settings | None = None, bundle: Bundle | None = None) -> FastAPI:
    """Build the app; without a `bundle`, the one at `settings.model_path` is loaded (and checked) at start-up.

    Raises StartupError when the settings must not serve (admin endpoints enabled without an admin key)."""
    settings = settings or Settings()
    settings.check_startup()
    install_record_factory()
    state = ModelState(settings, bundle)
    metrics = Metrics() if settings.metrics_enabled else None
    if metrics is not None:
        state.listeners.append(metrics.model_swapped)
        if bundle is not None:
            metrics.model_swapped(None, bundle)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What is imported and built so far lives as long as the process: out of the collector's sight, a full
        # collection scans only what came later (under load, pauses of 113-166 ms, which hold up every request of
        # the worker, became 21-28 ms). Before the bundle loads, so that a bundle a reload drops is still collected.
        gc.freeze()
        # A bundle that fails a check stops start-up with BundleError's message.
        if state.bundle is None:
            state.load_initial()
        default_matcher()  # the actor names' expression (0.1 s to compile): now, not in the first request
        restore = install_sighup(state)
        try:
            yield
        finally:
            restore()
            mark_process_dead(os.getpid())

    app = FastAPI(
        title="Stance and sentiment classifier",
        summary="Labels every sentence of news about international relations on topic, stance and sentiment.",
        version="0.1.0",
        lifespan=lifespan,
        responses=errors.problem_responses(500),
    )
    app.state.settings = settings
    app.state.model = state
    app.state.metrics = metrics
    app.state.label_queue = LabelQueue(settings.inline_max_chars)
    if metrics is not None:
        state.reload_listeners.append(lambda result: metrics.reload_result(result.status))
    errors.install(app)
    for keyed in (classify.router, feedback.router):
        if settings.api_keys:
            # Only then do classification and corrections need a key: the check, its 401 and its bearer scheme.
            app.include_router(keyed, dependencies=[Depends(require_api_key)], responses=errors.problem_responses(401))
        else:
            app.include_router(keyed)
    app.include_router(meta.router)
    app.include_router(page.router)
    if settings.metrics_enabled:
        app.include_router(metrics_routes.router)
    if settings.admin_enabled:
        app.include_router(admin.router)
    if settings.noop_route:
        app.include_router(meta.noop_router)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, state=state, metrics=metrics)  # added last: outermost

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def build_openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """FastAPI's schema with the Problem schema the error responses point at, the limits on the classify and
    feedback requests and the response headers."""
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, description=app.description, routes=app.routes
    )
    errors.add_problem_schema(schema)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {}).update(RESPONSE_HEADERS)
    describe_classify_request(schema["components"]["schemas"].get("ClassifyRequest"), settings)
    feedback.describe_feedback_request(schema["components"]["schemas"].get("FeedbackRequest"), settings)
    return schema


def describe_classify_request(request: dict[str, Any] | None, settings: Settings) -> None:
    """What pydantic can't say in the schema: exactly one of `text`/`texts` (null counts as absent), texts not
    blank and without NUL, and the limits from the settings."""
    if request is None:
        return
    text_rules = {"minLength": 1, "maxLength": settings.max_text_chars, "pattern": TEXT_PATTERN}
    for name, prop in request.get("properties", {}).items():
        if name not in ("text", "texts"):
            continue
        for option in prop.get("anyOf", [prop]):
            if option.get("type") == "string":
                option.update(text_rules)
            elif option.get("type") == "array":
                option["maxItems"] = settings.max_texts
                option.setdefault("items", {}).update(text_rules)
    request["oneOf"] = [
        {"required": ["text"], "properties": {"text": {"type": "string"}}},
        {"required": ["texts"], "properties": {"texts": {"type": "array"}}},
    ]
    request["description"] = (
        "Exactly one of `text` (a string) or `texts` (a list of strings). Over a limit (`max_texts`, "
        f"{settings.max_texts} texts; `max_text_chars`, {settings.max_text_chars} characters a text; "
        f"`max_sentences`, {settings.max_sentences} sentences a text; `max_request_sentences`, "
        f"{settings.max_request_sentences} in all; `max_body_bytes`, {settings.max_body_bytes} bytes) the answer "
        "is 413."
    )
