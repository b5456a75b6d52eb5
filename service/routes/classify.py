"""POST /v1/classify: label every sentence of each text on all heads."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import ApiKeyDep, BundleDep, MetricsDep, SettingsDep
from service.limits import check_texts
from service.predict import classify
from service.schemas import ClassifyRequest, ClassifyResponse, DocumentOut, HeadOut, ModelInfo, SentenceOut

router = APIRouter(prefix="/v1", tags=["classify"])


@router.post("/classify", response_model=ClassifyResponse, response_model_exclude_none=True)
def classify_texts(
    request: ClassifyRequest, _key: ApiKeyDep, bundle: BundleDep, settings: SettingsDep, metrics: MetricsDep
) -> ClassifyResponse:
    texts = request.all_texts()
    check_texts(texts, settings, split=request.split_sentences)  # 413 over a limit, 422 for NUL or lone surrogates
    documents = classify(bundle, texts, split=request.split_sentences, explain=request.explain)
    if metrics is not None:
        metrics.observe_documents(documents)
    return ClassifyResponse(
        model=ModelInfo(version=bundle.version),
        results=[
            DocumentOut(
                text=document.text,
                sentences=[
                    SentenceOut(
                        start=sentence.span.start,
                        end=sentence.span.end,
                        text=sentence.span.text,
                        **{
                            head: HeadOut.model_validate(result, from_attributes=True)
                            for head, result in sentence.heads.items()
                        },
                    )
                    for sentence in document.sentences
                ],
                summary=document.summary,
            )
            for document in documents
        ],
    )
