"""Limits and odd inputs: each gets a defined answer (a 4xx naming the problem, or a valid classification), and
every error, whatever raised it, is an RFC 9457 problem body (application/problem+json)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.settings import Settings
from service.model.bundle import HEADS, Bundle

PROBLEM_JSON = "application/problem+json"


def assert_problem(response: Any, status: int, *fragments: str) -> dict[str, Any]:
    """The response is a problem body with this status whose detail names each fragment."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    for fragment in fragments:
        assert fragment in body["detail"], (fragment, body)
    return body


def assert_classified(response: Any, text: str) -> dict[str, Any]:
    """A valid classification whose offsets hold."""
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["text"] == text
    for sentence in result["sentences"]:
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]
        for head, labels in HEADS.items():
            assert sentence[head]["label"] in labels
    return result


@pytest.fixture()
def small(bundle: Bundle) -> Iterator[TestClient]:
    """The service with small limits, to meet each of them cheaply."""
    settings = Settings(
        model_path=bundle.path,
        max_body_bytes=4_000,
        max_texts=3,
        max_text_chars=1_000,
        max_sentences=10,
        max_request_sentences=15,
    )
    with TestClient(create_app(settings, bundle)) as client:
        yield client


# --- limits ----------------------------------------------------------------------------------------------------


def test_each_limit_answers_413_naming_the_limit_and_the_value(small: TestClient) -> None:
    cases: list[tuple[dict[str, Any], str, int, int]] = [
        ({"texts": ["a.", "b.", "c.", "d."]}, "max_texts", 3, 4),
        ({"text": "x" * 1_001}, "max_text_chars", 1_000, 1_001),
        ({"text": "War. " * 11}, "max_sentences", 10, 11),
        ({"texts": ["War. " * 8, "Peace. " * 8]}, "max_request_sentences", 15, 16),
    ]
    for payload, limit, maximum, value in cases:
        body = assert_problem(small.post("/v1/classify", json=payload), 413, f"{limit}={maximum}", str(value))
        assert (body["limit"], body["maximum"], body["value"]) == (limit, maximum, value)
        assert body["type"] == "urn:stance:problem:limit-exceeded"


def test_sentence_limits_count_sentences_not_punctuation(small: TestClient) -> None:
    text = "Gen. J. R. Smith met Sen. Ms. Lee in the U.S. capital on Jan. 3 at 3.30 p.m. local time."
    assert assert_classified(small.post("/v1/classify", json={"text": text}), text)["sentences"]
    many = "War. " * 11
    assert small.post("/v1/classify", json={"text": many, "split_sentences": False}).status_code == 200


def test_body_limit_uses_content_length(small: TestClient) -> None:
    payload = json.dumps({"text": "x" * 5_000}).encode()
    body = assert_problem(
        small.post("/v1/classify", content=payload, headers={"content-type": "application/json"}),
        413,
        "max_body_bytes=4000",
    )
    assert (body["limit"], body["maximum"], body["value"]) == ("max_body_bytes", 4_000, len(payload))


def test_body_limit_counts_the_streamed_body_without_content_length(small: TestClient) -> None:
    chunk = json.dumps({"text": "y" * 900}).encode()

    def chunks() -> Iterator[bytes]:  # a generator body goes out chunked, with no Content-Length
        for _ in range(10):
            yield chunk

    response = small.post("/v1/classify", content=chunks(), headers={"content-type": "application/json"})
    body = assert_problem(response, 413, "max_body_bytes=4000")
    assert body["value"] > 4_000 and "content-length" not in response.request.headers


def test_body_limit_is_not_fooled_by_a_false_content_length(bundle: Bundle) -> None:
    """The ASGI app receives more bytes than Content-Length says: the streamed count still stops it."""
    import anyio

    app = create_app(Settings(model_path=bundle.path, max_body_bytes=100), bundle)
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": b"x" * 80, "more_body": True}] * 3

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/v1/classify",
        "raw_path": b"/v1/classify",
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"10")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    # In a thread of its own: the browser tests may leave an event loop running in this one.
    runner = threading.Thread(target=anyio.run, args=(app, scope, receive, send))
    runner.start()
    runner.join(30)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["limit"] == "max_body_bytes"


# --- odd inputs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "fragments"),
    [
        ({"text": ""}, ["empty or only whitespace"]),
        ({"text": " \t\n\u00a0\u2003 "}, ["empty or only whitespace"]),
        ({"texts": ["Fine.", "   "]}, ["text 1 is empty"]),
        ({"text": None}, ["exactly one"]),
        ({"texts": None}, ["exactly one"]),
        ({"texts": ["a", None]}, ["texts.1", "string"]),
        ({"text": 42}, ["text", "string"]),
        ({"texts": [1.5]}, ["texts.0", "string"]),
        ({"text": {"nested": {"deeper": ["x"]}}}, ["text", "string"]),
        ({"texts": [["nested"]]}, ["texts.0", "string"]),
        ({"texts": "not a list"}, ["texts", "list"]),
        ({"text": "a", "split_sentences": "maybe"}, ["split_sentences", "boolean"]),
        ({}, ["exactly one"]),
        ([], ["object"]),
        ("just a string", ["object"]),
        (17, ["object"]),
        (None, ["no body", "JSON object"]),
    ],
)
def test_malformed_requests_get_422_naming_the_problem(client: TestClient, payload: Any, fragments: list[str]) -> None:
    body = assert_problem(client.post("/v1/classify", json=payload), 422, *fragments)
    assert body["type"] == "urn:stance:problem:validation"
    assert body["errors"] and all({"loc", "msg", "type"} == set(issue) for issue in body["errors"])


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"text": "unterminated', b"", b"{}{}", b'{"text": "a",}', b"[" * 100_000],
)
def test_invalid_json_gets_a_4xx_problem(client: TestClient, raw: bytes) -> None:
    response = client.post("/v1/classify", content=raw, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500
    body = assert_problem(response, response.status_code)
    if raw.startswith(b"{not"):
        assert response.status_code == 422 and "not valid JSON" in body["detail"]


def test_invalid_utf8_gets_422_naming_the_byte(client: TestClient) -> None:
    raw = b'{"text": "caf\xe9 talks"}'
    body = assert_problem(
        client.post("/v1/classify", content=raw, headers={"content-type": "application/json"}),
        422,
        "not valid UTF-8",
        "0xe9",
        "offset 13",
    )
    assert body["type"] == "urn:stance:problem:invalid-body"
    surrogate = b'{"text": "\xed\xa0\x80"}'  # a UTF-8-encoded surrogate is not UTF-8
    assert_problem(client.post("/v1/classify", content=surrogate, headers={"content-type": "application/json"}), 422)


def test_lone_surrogate_escape_gets_422(client: TestClient) -> None:
    raw = b'{"texts": ["Fine.", "Broken \\ud800 text."]}'
    body = assert_problem(
        client.post("/v1/classify", content=raw, headers={"content-type": "application/json"}),
        422,
        "text 1",
        "lone surrogate",
        "U+D800",
    )
    assert body["index"] == 1


def test_nul_character_gets_422_with_its_position(client: TestClient) -> None:
    body = assert_problem(client.post("/v1/classify", json={"text": "Talks\x00 resumed."}), 422, "NUL", "position 5")
    assert body["index"] == 0


def test_other_control_characters_are_classified(client: TestClient) -> None:
    text = "Talks resumed\x07 in Geneva.\x1b[31m Troops\x0b attacked\x0c a post.\x7f\r\nMarkets \x01fell."
    result = assert_classified(client.post("/v1/classify", json={"text": text}), text)
    assert len(result["sentences"]) >= 2


def test_very_long_word_is_classified(client: TestClient) -> None:
    text = "Negotiators " + "x" * 19_000 + " agreed."
    result = assert_classified(client.post("/v1/classify", json={"text": text}), text)
    assert len(result["sentences"]) == 1


def test_ten_thousand_newlines(client: TestClient) -> None:
    assert_problem(client.post("/v1/classify", json={"text": "\n" * 10_000}), 422, "empty or only whitespace")
    text = "\n" * 10_000 + "Talks resumed in Geneva." + "\n" * 5_000
    [sentence] = assert_classified(client.post("/v1/classify", json={"text": text}), text)["sentences"]
    assert sentence["start"] == 10_000
    many = "Talks.\n" * 2_000  # 2,000 sentences, over the default max_sentences
    assert_problem(client.post("/v1/classify", json={"text": many}), 413, "max_sentences=1000", "2000")


@pytest.mark.parametrize(
    "text",
    [
        "وقّعت مصر وإسرائيل اتفاقاً جديداً للغاز. وقال الوزير إن المحادثات ستستمر.",
        "ממשלת ישראל הודיעה על הפסקת אש. הצבא נסוג מהגבול.",
        "Talks 🤝 resumed in Geneva 🇨🇭. Troops 💥 attacked a post 😡.",
        "Mixed عربي and English text 👍🏽 with ZWJ 👩‍👩‍👧 and \u202eRTL override\u202c.",
        "Ünïcödé nörmälïzätïön: café vs cafe\u0301.",
    ],
)
def test_rtl_and_emoji_text_is_classified_with_character_offsets(client: TestClient, text: str) -> None:
    assert_classified(client.post("/v1/classify", json={"text": text}), text)
    raw = json.dumps({"text": text}, ensure_ascii=True).encode()  # \u escapes, surrogate pairs for emoji
    assert_classified(client.post("/v1/classify", content=raw, headers={"content-type": "application/json"}), text)


def test_wrong_content_type_is_a_422_problem(client: TestClient) -> None:
    response = client.post("/v1/classify", content=b'{"text": "a"}', headers={"content-type": "text/plain"})
    assert_problem(response, 422)


# --- one error format ------------------------------------------------------------------------------------------


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "/v1/nothing-here")
    response = client.get("/v1/classify")
    body = assert_problem(response, 405, "GET", "POST")
    assert response.headers["allow"] == "POST"
    assert body["title"] == "Method Not Allowed" and body["type"] == "about:blank"


def test_no_model_is_a_503_problem(bundle: Bundle) -> None:
    client = TestClient(create_app(Settings(model_path=bundle.path)))  # lifespan not run: nothing loaded
    assert_problem(client.post("/v1/classify", json={"text": "Hello."}), 503, "no model")
    assert_problem(client.get("/v1/ready"), 503)


def test_unexpected_exception_is_a_500_problem_with_the_request_id(
    bundle: Bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    import service.api.batching as route

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal state")

    monkeypatch.setattr(route, "classify", explode)
    with TestClient(create_app(Settings(model_path=bundle.path), bundle), raise_server_exceptions=False) as client:
        response = client.post("/v1/classify", json={"text": "Hello."}, headers={"X-Request-ID": "req-500"})
    body = assert_problem(response, 500, "req-500")
    assert body["type"] == "urn:stance:problem:internal-error"
    assert "secret" not in response.text
