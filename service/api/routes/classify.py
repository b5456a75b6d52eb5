"""POST /v1/classify: label every sentence of each text on all heads."""

from __future__ import annotations

import pydantic_core
from fastapi import APIRouter, Request, Response

from service.api.batching import LabelQueue
from service.api.deps import BundleDep, MetricsDep, SettingsDep
from service.api.errors import problem_responses
from service.api.limits import check_texts
from service.api.schemas import ClassifyRequest, ClassifyResponse

# 400 and 422 for a body that is not a valid request, 413 over a limit, 503 without a model. The API key (and its
# 401) is added by the app factory when STANCE_API_KEYS is set.
router = APIRouter(prefix="/v1", tags=["classify"], responses=problem_responses(400, 413, 422, 503))


@router.post("/classify", response_model=ClassifyResponse)
async def classify_texts(
    request: ClassifyRequest, http: Request, bundle: BundleDep, settings: SettingsDep, metrics: MetricsDep
) -> Response:
    texts = request.all_texts()
    check_texts(texts, settings, split=request.split_sentences)  # 413 over a limit, 422 for NUL or lone surrogates
    # Small requests on an idle worker are labelled at once; the rest in line, batched (`service.api.batching`).
    queue: LabelQueue = http.app.state.label_queue
    documents = await queue.classify(bundle, texts, request.split_sentences, request.explain)
    if metrics is not None:
        metrics.observe_documents(documents)
    body = {"model": {"version": bundle.version}, "results": [document.record() for document in documents]}
    # Encoded directly: the shape is ClassifyResponse's (the API tests check every answer against the schema),
    # and validating it again as a response model would cost as much as the prediction of a short text.
    return Response(pydantic_core.to_json(body), media_type="application/json")
