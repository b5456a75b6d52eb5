"""Request limits: body bytes (an ASGI middleware on the streamed body), texts per request, characters and
sentences per text, sentences per request; and the checks that turn odd text into a clear 4xx.

Over a limit the answer is 413 with a problem body naming the limit, its maximum and the request's value
(service/api/errors.py). The body limit counts bytes as they arrive, so a client that sends no Content-Length (chunked)
or a false one is stopped as soon as it passes the limit, and the app never sees a byte more.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import INVALID_BODY, LIMIT, LIMIT_TITLE, LimitExceeded, ProblemError, send_problem
from service.api.settings import Settings
from service.model.sentences import split_sentences
from service.model.text import TextProblem, text_problem

BODY_BYTES_KEY = "stance.body_bytes"
_BOUNDARY_CHARS = ".!?\n"


class BodyLimitMiddleware:
    """Read the whole request body (at most `max_body_bytes`), then hand it to the app in one message.

    Answers 413 when Content-Length or the bytes streamed in pass the limit, and 422 when a JSON body is not
    valid UTF-8 (naming the byte offset), before any route runs. Records the body size in the scope."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            scope[BODY_BYTES_KEY] = declared
            await self._too_large(scope, send, declared, declared=True)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                scope[BODY_BYTES_KEY] = size
                await self._too_large(scope, send, size, declared=False)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        scope[BODY_BYTES_KEY] = size
        if body and _is_json(scope):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as error:
                await send_problem(
                    scope,
                    send,
                    422,
                    f"the body is not valid UTF-8: byte 0x{body[error.start]:02x} at offset {error.start} "
                    f"({error.reason})",
                    type=INVALID_BODY,
                    title="Body is not UTF-8",
                )
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send, size: int, declared: bool) -> None:
        said = "declares" if declared else "has at least"
        await send_problem(
            scope,
            send,
            413,
            f"the request body {said} {size} bytes (limit max_body_bytes={self.max_body_bytes})",
            close=True,
            type=LIMIT,
            title=LIMIT_TITLE,
            limit="max_body_bytes",
            maximum=self.max_body_bytes,
            value=size,
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))
    return False


# --- the texts of a classify request ----------------------------------------------------------------------------


def sentence_bound(text: str, split: bool) -> int:
    """At least as many as the sentences the text will be labelled as, counted without splitting it: every
    sentence but the last ends at one of `.!?` or a line break."""
    if not split:
        return 1
    return sum(text.count(char) for char in _BOUNDARY_CHARS) + 1


def sentence_count(text: str, split: bool) -> int:
    """The sentences the text will be labelled as."""
    return len(split_sentences(text)) if split else 1


def check_texts(texts: Sequence[str], settings: Settings, split: bool = True) -> None:
    """Raise a 413 LimitExceeded or a 422 ProblemError for texts the service won't label.

    Sentences are counted exactly (by splitting) only when the cheap bound passes a limit."""
    if len(texts) > settings.max_texts:
        raise LimitExceeded(
            "max_texts",
            settings.max_texts,
            len(texts),
            f"too many texts: {len(texts)} (limit max_texts={settings.max_texts})",
        )
    bounds = []
    for index, text in enumerate(texts):
        problem = text_problem(text, settings.max_text_chars)
        if problem is not None:
            raise text_error(index, text, problem, settings)
        bound = sentence_bound(text, split)
        if bound > settings.max_sentences:
            bound = sentence_count(text, split)
            if bound > settings.max_sentences:
                raise LimitExceeded(
                    "max_sentences",
                    settings.max_sentences,
                    bound,
                    f"text {index} has {bound} sentences (limit max_sentences={settings.max_sentences}); "
                    "send it in parts, or with split_sentences false",
                    index=index,
                )
        bounds.append(bound)
    if sum(bounds) > settings.max_request_sentences:
        total = sum(sentence_count(text, split) for text in texts)
        if total > settings.max_request_sentences:
            raise LimitExceeded(
                "max_request_sentences",
                settings.max_request_sentences,
                total,
                f"the texts have {total} sentences together (limit max_request_sentences="
                f"{settings.max_request_sentences}); send fewer texts per request",
            )


def text_error(index: int, text: str, problem: TextProblem, settings: Settings) -> ProblemError:
    """The answer to a text that breaks the rule of service.model.text: 413 over max_text_chars, else 422."""
    detail = f"text {index} {problem.detail}"
    if problem.kind == "too_long":
        return LimitExceeded("max_text_chars", settings.max_text_chars, len(text), detail, index=index)
    return ProblemError(422, detail, type=INVALID_BODY, title="Invalid text", index=index)
