"""GET /metrics: Prometheus text exposition of the service's metrics (service/api/metrics.py)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from service.api.deps import MetricsDep
from service.api.metrics import CONTENT_TYPE

router = APIRouter(tags=["meta"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
)
def metrics(metrics: MetricsDep) -> Response:
    """Requests and latency by route and status, sentences classified, labels per head, abstentions, payload
    sizes, reloads, and the model version being served."""
    body = metrics.render() if metrics is not None else b""
    return Response(body, media_type=CONTENT_TYPE)
