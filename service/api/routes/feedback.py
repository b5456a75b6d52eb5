"""POST /v1/feedback: an analyst's correction of a text's labels, stored for the next training run."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from service.api.deps import BundleDep, SettingsDep
from service.api.errors import (
    INVALID_BODY,
    VALIDATION,
    LimitExceeded,
    ProblemError,
    problem_responses,
    request_id_of,
)
from service.api.feedback import append_row, new_row
from service.api.schemas import FeedbackRequest, FeedbackResponse
from service.api.settings import Settings
from service.model.bundle import HEADS, Bundle
from service.model.text import TEXT_PATTERN, text_problem

logger = logging.getLogger("stance.feedback")

# 400 and 422 for a body that is not a valid correction (an unknown label among them), 413 over a limit, 503
# without a model or when the correction can't be stored. The API key (and its 401) is added by the app factory
# when STANCE_API_KEYS is set, as for classify.
UNAVAILABLE = {**problem_responses(503)[503], "description": "No model is loaded, or the correction was not stored"}
router = APIRouter(prefix="/v1", tags=["feedback"], responses={**problem_responses(400, 413, 422), 503: UNAVAILABLE})


@router.post("/feedback", status_code=201, response_model=FeedbackResponse)
async def send_feedback(
    correction: FeedbackRequest, bundle: BundleDep, settings: SettingsDep, request: Request
) -> FeedbackResponse:
    """Store a correction: the text and the right label on one or more heads, each one of the served model's
    labels. Appended to the day's file in the feedback folder, which `stance train` reads."""
    check_text(correction.text, settings)
    labels = correction.labels()
    check_labels(labels, bundle)
    row = new_row(
        correction.text,
        labels,
        model_version=correction.model_version or bundle.version,
        request_id=correction.request_id,
        note=correction.note,
    )
    try:
        await run_in_threadpool(append_row, settings.feedback_dir, row)
    except OSError as error:
        logger.error("the correction could not be stored", exc_info=error)
        request_id = request_id_of(request.scope)
        where = f" with request id {request_id}" if request_id else ""
        raise ProblemError(503, f"the correction could not be stored; the error was logged{where}") from error
    return FeedbackResponse(id=row["id"])


def check_text(text: str, settings: Settings) -> None:
    """The text rule of classify: 413 over max_text_chars, 422 for a NUL or a lone surrogate."""
    problem = text_problem(text, settings.max_text_chars)
    if problem is None:
        return
    detail = f"text {problem.detail}"
    if problem.kind == "too_long":
        raise LimitExceeded("max_text_chars", settings.max_text_chars, len(text), detail)
    raise ProblemError(422, detail, type=INVALID_BODY, title="Invalid text")


def check_labels(labels: dict[str, str], bundle: Bundle) -> None:
    """422 naming each label that is not one of the served model's labels for its head."""
    found = []
    for head, label in labels.items():
        allowed = bundle.labels.get(head, ())
        if label not in allowed:
            found.append(
                {
                    "loc": ["body", head],
                    "msg": f"unknown {head} label {label!r}; the model's {head} labels are {', '.join(allowed)}",
                    "type": "unknown_label",
                }
            )
    if found:
        raise ProblemError(
            422,
            "; ".join(f"{issue['loc'][1]}: {issue['msg']}" for issue in found),
            type=VALIDATION,
            title="Request validation failed",
            errors=found,
        )


def describe_feedback_request(request: dict[str, Any] | None, settings: Settings) -> None:
    """What pydantic can't say in the schema: the text rule and limit, the labels of each head (those of the
    API; the served model's are checked) and that at least one head is given (null counts as absent)."""
    if request is None:
        return
    properties = request.get("properties", {})
    text = properties.get("text")
    if text is not None:
        text.update({"minLength": 1, "maxLength": settings.max_text_chars, "pattern": TEXT_PATTERN})
    for head, labels in HEADS.items():
        for option in properties.get(head, {}).get("anyOf", []):
            if option.get("type") == "string":
                option["enum"] = list(labels)
    request["anyOf"] = [{"required": [head], "properties": {head: {"type": "string"}}} for head in HEADS]
    request["description"] = (
        "A correction: `text` and the right label on at least one of `topic`, `stance`, `sentiment`. A text over "
        f"`max_text_chars` ({settings.max_text_chars}) characters is answered 413."
    )
