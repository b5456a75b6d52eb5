"""Typed dependencies shared by the routers, each declared once: `SettingsDep`, `StateDep`, `BundleDep`,
`MetricsDep`; and the key checks, `require_api_key` (which the app factory puts on the classify and feedback
routers when STANCE_API_KEYS is set) and `require_admin` (on the admin router). Both read the key with FastAPI's
HTTPBearer, which also declares their bearer schemes in the OpenAPI schema.

They are `async def` although none of them waits for anything: FastAPI runs a plain `def` dependency in its
thread pool, and handing each request to a thread and back costs more than the dependency itself."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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


# auto_error off: a missing key is answered here, with a problem body and the Bearer challenge.
api_key_scheme = HTTPBearer(scheme_name="apiKey", description="One of STANCE_API_KEYS", auto_error=False)
admin_key_scheme = HTTPBearer(scheme_name="adminKey", description="STANCE_ADMIN_KEY", auto_error=False)


def matches_any(token: str, keys: list[str]) -> bool:
    """Constant-time comparison against every key (no early exit, so timing says nothing about which)."""
    given = token.encode("utf-8", "surrogatepass")
    found = False
    for key in keys:
        found |= hmac.compare_digest(given, key.encode("utf-8"))
    return found


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, detail, type=UNAUTHORIZED, headers=BEARER_CHALLENGE)


async def require_api_key(settings: SettingsDep, bearer: ApiKey) -> None:
    """The request brings one of `STANCE_API_KEYS` as `Authorization: Bearer <key>`."""
    if bearer is None:
        raise _unauthorized("this service needs an API key: send `Authorization: Bearer <key>`")
    if not matches_any(bearer.credentials, [key.get_secret_value() for key in settings.api_keys]):
        raise _unauthorized("the API key is not valid")


async def require_admin(settings: SettingsDep, bearer: AdminKey) -> None:
    """Admin endpoints need `Authorization: Bearer <STANCE_ADMIN_KEY>`."""
    if bearer is None:
        raise _unauthorized("admin endpoints need the admin key: send `Authorization: Bearer <key>`")
    admin_key = settings.admin_key
    if admin_key is None or not matches_any(bearer.credentials, [admin_key.get_secret_value()]):
        raise _unauthorized("the admin key is not valid")


SettingsDep = Annotated[Settings, Depends(get_settings)]
StateDep = Annotated[ModelState, Depends(get_state)]
BundleDep = Annotated[Bundle, Depends(get_bundle)]
MetricsDep = Annotated[Metrics | None, Depends(get_metrics)]
ApiKey = Annotated[HTTPAuthorizationCredentials | None, Depends(api_key_scheme)]
AdminKey = Annotated[HTTPAuthorizationCredentials | None, Depends(admin_key_scheme)]
