"""Liveness, readiness and the loaded model's manifest."""

from __future__ import annotations

from fastapi import APIRouter

from service.api.deps import BundleDep
from service.api.errors import problem_responses
from service.api.schemas import Manifest, Status

router = APIRouter(prefix="/v1", tags=["meta"])
noop_router = APIRouter(prefix="/v1", tags=["benchmark"])


@router.get("/health", response_model=Status)
def health() -> Status:
    """The process is up."""
    return Status(status="ok")


@router.get("/ready", response_model=Status, responses=problem_responses(503))
def ready(bundle: BundleDep) -> Status:
    """A model is loaded and requests can be classified."""
    return Status(status="ready")


@router.get("/model", response_model=Manifest, responses=problem_responses(503))
def model(bundle: BundleDep) -> Manifest:
    """The manifest of the model being served."""
    return Manifest(**bundle.manifest)


@noop_router.post("/noop", response_model=Status, include_in_schema=False)
def noop() -> Status:
    """Does nothing: the ceiling of the HTTP stack, measured beside classification by `make bench`."""
    return Status(status="ok")
