"""POST /v1/classify: label every sentence of each text on all heads."""

from __future__ import annotations

from functools import partial

import pydantic_core
from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from service.api.deps import BundleDep, MetricsDep, SettingsDep
from service.api.errors import problem_responses
from service.api.limits import check_texts
from service.api.schemas import ClassifyRequest, ClassifyResponse
from service.model.predict import classify

# 400 and 422 for a body that is not a valid request, 413 over a limit, 503 without a model. The API key (and its
# 401) is added by the app factory when STANCE_API_KEYS is set.
router = APIRouter(prefix="/v1", tags=["classify"], responses=problem_responses(400, 413, 422, 503))


@router.post("/classify", response_model=ClassifyResponse)
async def classify_texts(
    request: ClassifyRequest, bundle: BundleDep, settings: SettingsDep, metrics: MetricsDep
) -> Response:
    texts = request.all_texts()
    check_texts(texts, settings, split=request.split_sentences)  # 413 over a limit, 422 for NUL or lone surrogates
    run = partial(classify, bundle, texts, split=request.split_sentences, explain=request.explain)
    # A small request is done sooner than a hand-over to a worker thread and back (which also contends for the
    # GIL with this loop); a large one goes to a thread so the worker's other connections keep being served.
    if sum(map(len, texts)) <= settings.inline_max_chars:
        documents = run()
    else:
        documents = await run_in_threadpool(run)
    if metrics is not None:
        metrics.observe_documents(documents)
    body = {"model": {"version": bundle.version}, "results": [document.record() for document in documents]}
    # Encoded directly: the shape is ClassifyResponse's (the API tests check every answer against the schema),
    # and validating it again as a response model would cost as much as the prediction of a short text.
    return Response(pydantic_core.to_json(body), media_type="application/json")
