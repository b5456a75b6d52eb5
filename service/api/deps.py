"""Typed dependencies shared by the routers, each declared once: `SettingsDep`, `StateDep`, `BundleDep`,
`MetricsDep`, `ApiKeyDep` (the classify key, when keys are configured) and `AdminDep` (the admin key).

They are `async def` although none of them waits for anything: FastAPI runs a plain `def` dependency in its
thread pool, and handing each request to a thread and back costs more than the dependency itself."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from service.api.errors import NO_MODEL, UNAUTHORIZED, ProblemError
from service.api.metrics import Metrics
from service.api.middleware import MODEL_VERSION_KEY
from service.api.settings import Settings
from service.api.state import ModelState
from service.model.bundle import Bundle

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="stance"'}


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_state(request: Request) -> ModelState:
    state: ModelState = request.app.state.model
    return state


async def get_bundle(request: Request) -> Bundle:
    """The model this request runs on, read once: a reload meanwhile does not change it."""
    bundle = (await get_state(request)).bundle
    if bundle is None:
        raise ProblemError(503, "no model is loaded", type=NO_MODEL)
    request.scope[MODEL_VERSION_KEY] = bundle.version
    return bundle


async def get_metrics(request: Request) -> Metrics | None:
    metrics: Metrics | None = request.app.state.metrics
    return metrics


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def matches_any(token: str, keys: list[str]) -> bool:
    """Constant-time comparison against every key (no early exit, so timing says nothing about which)."""
    given = token.encode("utf-8", "surrogatepass")
    found = False
    for key in keys:
        found |= hmac.compare_digest(given, key.encode("utf-8"))
    return found


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, detail, type=UNAUTHORIZED, headers=BEARER_CHALLENGE)


async def require_api_key(request: Request) -> str | None:
    """With `STANCE_API_KEYS` set, the request must bring one as `Authorization: Bearer <key>`."""
    keys = [key.get_secret_value() for key in (await get_settings(request)).api_keys]
    if not keys:
        return None
    token = bearer_token(request)
    if token is None:
        raise _unauthorized("this service needs an API key: send `Authorization: Bearer <key>`")
    if not matches_any(token, keys):
        raise _unauthorized("the API key is not valid")
    return "api-key"


async def require_admin(request: Request) -> str:
    """Admin endpoints need `Authorization: Bearer <STANCE_ADMIN_KEY>`."""
    admin_key = (await get_settings(request)).admin_key
    token = bearer_token(request)
    if token is None:
        raise _unauthorized("admin endpoints need the admin key: send `Authorization: Bearer <key>`")
    if admin_key is None or not matches_any(token, [admin_key.get_secret_value()]):
        raise _unauthorized("the admin key is not valid")
    return "admin"


SettingsDep = Annotated[Settings, Depends(get_settings)]
StateDep = Annotated[ModelState, Depends(get_state)]
BundleDep = Annotated[Bundle, Depends(get_bundle)]
MetricsDep = Annotated[Metrics | None, Depends(get_metrics)]
ApiKeyDep = Annotated[str | None, Depends(require_api_key)]
AdminDep = Annotated[str, Depends(require_admin)]
