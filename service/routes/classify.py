"""POST /v1/classify: label every sentence of each text on all heads."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from service.deps import BundleDep, SettingsDep
from service.predict import classify
from service.schemas import ClassifyRequest, ClassifyResponse, DocumentOut, HeadOut, ModelInfo, SentenceOut

router = APIRouter(prefix="/v1", tags=["classify"])


@router.post("/classify", response_model=ClassifyResponse, response_model_exclude_none=True)
def classify_texts(request: ClassifyRequest, bundle: BundleDep, settings: SettingsDep) -> ClassifyResponse:
    texts = request.all_texts()
    if len(texts) > settings.max_texts:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"too many texts: {len(texts)} (limit max_texts={settings.max_texts})",
        )
    for index, text in enumerate(texts):
        if len(text) > settings.max_text_chars:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                detail=f"text {index} has {len(text)} characters (limit max_text_chars={settings.max_text_chars})",
            )
    documents = classify(bundle, texts, split=request.split_sentences)
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
                        **{head: HeadOut(**vars(result)) for head, result in sentence.heads.items()},
                    )
                    for sentence in document.sentences
                ],
                summary=document.summary,
            )
            for document in documents
        ],
    )
