"""Admin endpoints (only with STANCE_ADMIN_ENABLED=true, behind STANCE_ADMIN_KEY): reload the model."""

from __future__ import annotations

import os
import signal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from service.api.deps import StateDep, require_admin
from service.api.errors import RELOAD_FAILED, ProblemError, problem_responses
from service.api.settings import SUPERVISOR_ENV

# Every admin endpoint needs the admin key (401 without it).
router = APIRouter(
    prefix="/v1/admin", tags=["admin"], dependencies=[Depends(require_admin)], responses=problem_responses(401)
)


class ReloadOut(BaseModel):
    status: str = Field(description="`reloaded`")
    version: str = Field(description="The version now served by the worker that answered")
    previous_version: str | None = Field(description="The version it served before")
    seconds: float = Field(description="Time to load, check and smoke-test the new bundle")
    other_workers: str = Field(
        description="`signalled`: the other workers of `python -m service.api.serve` reload the same bundle now "
        "(each keeps its model if that fails); `none`: this process is the only one"
    )


def signal_other_workers() -> bool:
    """Ask the `python -m service.api.serve` supervisor to pass the reload on to every worker (SIGHUP); the workers
    that already serve `current` leave it as it is."""
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if not supervisor or supervisor != str(os.getppid()):
        return False
    os.kill(int(supervisor), signal.SIGHUP)
    return True


@router.post("/reload", response_model=ReloadOut, responses=problem_responses(409))
def reload(state: StateDep) -> ReloadOut:
    """Load the bundle `models/current` names, check it (inside the models folder, bundle format, SHA-256 of the
    scorer), run a smoke prediction, then swap it in atomically. Requests already running finish on the old model. If
    anything fails, the old model keeps serving and the answer (409) says why."""
    result = state.reload(source="api")
    if result.status == "failed":
        raise ProblemError(
            409,
            f"reload failed, still serving {result.version}: {result.error}",
            type=RELOAD_FAILED,
            title="Reload failed",
            version=result.version,
        )
    others = signal_other_workers()
    return ReloadOut(
        status=result.status,
        version=result.version or "",
        previous_version=result.previous,
        seconds=round(result.seconds, 3),
        other_workers="signalled" if others else "none",
    )
