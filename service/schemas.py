"""Request and response models of the HTTP API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ClassifyRequest(BaseModel):
    """Either `texts` (a list) or `text` (one string)."""

    model_config = ConfigDict(extra="forbid")

    texts: list[str] | None = Field(default=None, min_length=1, description="Texts to classify")
    text: str | None = Field(default=None, description="One text to classify (instead of `texts`)")
    split_sentences: bool = Field(default=True, description="Split each text into sentences")

    @model_validator(mode="after")
    def _one_input(self) -> ClassifyRequest:
        if (self.texts is None) == (self.text is None):
            raise ValueError("give exactly one of `texts` (a list of strings) or `text` (a string)")
        for index, text in enumerate(self.all_texts()):
            if not text.strip():
                raise ValueError(f"text {index} is empty or only whitespace")
        return self

    def all_texts(self) -> list[str]:
        return self.texts if self.texts is not None else [self.text or ""]


class HeadOut(BaseModel):
    label: str
    score: float = Field(ge=0, le=1)
    scores: dict[str, float]


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
