"""What a text must be to be labelled: the one rule the API and batch jobs both apply, each in its own words
(the API with a 413 or 422 naming the text, batch jobs with a reject line naming the row)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The default characters-per-text limit: the API's STANCE_MAX_TEXT_CHARS and `stance classify --max-text-chars`.
MAX_TEXT_CHARS = 20_000
# The rule as a JSON-schema pattern, for the OpenAPI schema: some character that is not whitespace, and no NUL.
TEXT_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"

ProblemKind = Literal["empty", "too_long", "nul", "not_unicode"]


@dataclass(frozen=True)
class TextProblem:
    """Why a text can't be labelled: `detail` completes a sentence that starts with the text's name."""

    kind: ProblemKind
    detail: str


def text_problem(text: str, max_chars: int = MAX_TEXT_CHARS) -> TextProblem | None:
    """The first reason the text can't be labelled, or None: empty or whitespace only, over `max_chars`
    characters, a NUL character, or a lone surrogate (bytes that were not UTF-8, or a JSON `\\ud800` escape: not
    a Unicode character). Other control characters are labelled like any other character."""
    if not text.strip():
        return TextProblem("empty", "is empty or only whitespace")
    if len(text) > max_chars:
        return TextProblem("too_long", f"has {len(text)} characters (limit max_text_chars={max_chars})")
    position = text.find("\x00")
    if position >= 0:
        return TextProblem("nul", f"contains a NUL character (U+0000) at position {position}")
    surrogate = unicode_error(text)
    if surrogate is not None:
        return TextProblem("not_unicode", surrogate)
    return None


def unicode_error(value: str) -> str | None:
    """None for a string that is valid Unicode, else what is wrong (for ids as well as texts)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        return (
            f"contains a lone surrogate (U+{ord(value[error.start]):04X}) at position {error.start}: "
            "not valid Unicode (not UTF-8 in the input?)"
        )
    return None
