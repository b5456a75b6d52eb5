"""Request and response models of the HTTP API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.model.text import text_problem


class ClassifyRequest(BaseModel):
    """Either `texts` (a list) or `text` (one string)."""

    # strict: JSON types as the schema says them (`"explain": 0` or `"split_sentences": "yes"` is a 422).
    model_config = ConfigDict(extra="forbid", strict=True)

    texts: list[str] | None = Field(default=None, min_length=1, description="Texts to classify")
    text: str | None = Field(default=None, description="One text to classify (instead of `texts`)")
    split_sentences: bool = Field(default=True, description="Split each text into sentences")
    explain: bool = Field(
        default=False, description="Also return, per head, the n-grams that pushed the chosen label up the most"
    )

    @model_validator(mode="after")
    def _one_input(self) -> ClassifyRequest:
        if (self.texts is None) == (self.text is None):
            raise ValueError("give exactly one of `texts` (a list of strings) or `text` (a string)")
        # An empty text is invalid whatever the settings: a validation error here. The rest of the text rule
        # (length, NUL, lone surrogates) is checked against the settings by service.api.limits.check_texts.
        for index, text in enumerate(self.all_texts()):
            problem = text_problem(text)
            if problem is not None and problem.kind == "empty":
                raise ValueError(f"text {index} {problem.detail}")
        return self

    def all_texts(self) -> list[str]:
        return self.texts if self.texts is not None else [self.text or ""]


class ContributionOut(BaseModel):
    feature: str = Field(description="A word n-gram, or a character n-gram with spaces marking word edges")
    weight: float = Field(gt=0, description="Its contribution: coefficient times normalized tf-idf value")


class HeadOut(BaseModel):
    label: str
    score: float = Field(ge=0, le=1)
    scores: dict[str, float]
    confident: bool = Field(description="Whether `score` reaches the head's threshold from the model's manifest")
    explain: list[ContributionOut] | None = Field(
        default=None, description="Top n-grams for `label`, largest contribution first (only when asked)"
    )


class SentenceOut(BaseModel):
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    topic: HeadOut | None = None
    stance: HeadOut | None = None
    sentiment: HeadOut | None = None


class DocumentOut(BaseModel):
    text: str
    sentences: list[SentenceOut]
    summary: dict[str, dict[str, float]]


class ModelInfo(BaseModel):
    version: str


class ClassifyResponse(BaseModel):
    model: ModelInfo
    results: list[DocumentOut]


class Status(BaseModel):
    status: str


class Manifest(BaseModel):
    """The bundle's manifest, as written at training time."""

    model_config = ConfigDict(extra="allow")

    version: str
    created: str
    heads: dict[str, list[str]]
    metrics: dict[str, Any] = {}
