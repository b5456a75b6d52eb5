"""Request and response models of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.model.text import text_problem, unicode_error


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


class ActorOut(BaseModel):
    """One mention of a state or an organisation; `text[start:end]` of the document is the mention."""

    id: str = Field(description="ISO 3166-1 alpha-3 for a state, the project's own id for an organisation")
    name: str = Field(description='The actor\'s display name, whatever the mention ("Tehran" → "Iran")')
    type: Literal["country", "organisation"]
    text: str = Field(description="The mention as written")
    start: int = Field(ge=0, description="Offset of the mention in the document")
    end: int = Field(ge=0)


class SentenceOut(BaseModel):
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    topic: HeadOut | None = None
    stance: HeadOut | None = None
    sentiment: HeadOut | None = None
    actors: list[ActorOut] = Field(default=[], description="The actors the sentence names, in order")


class RelationOut(BaseModel):
    """A pair of actors named in the same sentences, and those sentences' labels."""

    actors: list[str] = Field(min_length=2, max_length=2, description="The pair's ids, sorted")
    sentences: int = Field(ge=1, description="Sentences naming both, or referring to both right after one that does")
    indices: list[int] = Field(description="Those sentences' positions in `sentences`")
    topic: dict[str, float] | None = Field(default=None, description="Share of those sentences per topic label")
    stance: dict[str, float] | None = Field(default=None, description="Share of those sentences per stance label")
    sentiment: dict[str, float] | None = Field(default=None, description="Share per sentiment label")


class DocumentOut(BaseModel):
    text: str
    sentences: list[SentenceOut]
    summary: dict[str, dict[str, float]]
    relations: list[RelationOut] = Field(default=[], description="Pairs of actors named in the same sentence, sorted")


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


class FeedbackRequest(BaseModel):
    """A correction: a text and the right label on one or more heads."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(description="The text (usually one sentence) whose labels are corrected")
    topic: str | None = Field(default=None, max_length=64, description="The right topic label")
    stance: str | None = Field(default=None, max_length=64, description="The right stance label")
    sentiment: str | None = Field(default=None, max_length=64, description="The right sentiment label")
    model_version: str | None = Field(
        default=None, min_length=1, max_length=128, description="The model version whose labels are corrected"
    )
    request_id: str | None = Field(
        default=None, min_length=1, max_length=128, description="The X-Request-ID of the classify answer corrected"
    )
    note: str | None = Field(default=None, max_length=1000, description="The analyst's note")

    @model_validator(mode="after")
    def _check(self) -> FeedbackRequest:
        # As for classify: an empty text is a validation error; length, NUL and lone surrogates are checked
        # against the settings by the route.
        problem = text_problem(self.text)
        if problem is not None and problem.kind == "empty":
            raise ValueError(f"text {problem.detail}")
        if not self.labels():
            raise ValueError("give the right label on at least one head: `topic`, `stance` or `sentiment`")
        for name in ("model_version", "request_id", "note"):
            error = unicode_error(getattr(self, name) or "")
            if error is not None:
                raise ValueError(f"{name} {error}")
        return self

    def labels(self) -> dict[str, str]:
        """The heads given, in the API's order."""
        given = {"topic": self.topic, "stance": self.stance, "sentiment": self.sentiment}
        return {head: label for head, label in given.items() if label is not None}


class FeedbackResponse(BaseModel):
    id: str = Field(pattern="^[0-9a-f]{32}$", description="The stored correction's id (a UUID4, hex)")
