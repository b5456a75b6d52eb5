"""The FastAPI application: `uvicorn --factory service.main:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.bundle import Bundle, load_bundle
from service.config import Settings
from service.routes import classify, meta, page


def create_app(settings: Settings | None = None, bundle: Bundle | None = None) -> FastAPI:
    """Build the app; without a `bundle`, the one at `settings.model_path` is loaded at start-up."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A bundle that fails its integrity check stops start-up with BundleError's message.
        app.state.bundle = bundle or load_bundle(settings.model_path)
        yield

    app = FastAPI(
        title="Stance and sentiment classifier",
        summary="Labels every sentence of news about international relations on topic, stance and sentiment.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.bundle = bundle
    app.include_router(classify.router)
    app.include_router(meta.router)
    app.include_router(page.router)
    if settings.noop_route:
        app.include_router(meta.noop_router)
    return app
