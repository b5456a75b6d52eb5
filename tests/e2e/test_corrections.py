"""Corrections from the page: pick the right label in a sentence's panel, send it to POST /v1/feedback, see it
marked."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from service.model.bundle import Bundle
from tests.e2e.browser import serve

KEY = "e2e-correction-key"


@pytest.fixture(scope="module")
def feedback_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feedback")


@pytest.fixture(scope="module")
def keyed_server(bundle: Bundle, feedback_dir: Path) -> Iterator[str]:
    """The service with an API key and its feedback folder in a tmp folder."""
    with serve(bundle.path, {"STANCE_FEEDBACK_DIR": str(feedback_dir), "STANCE_API_KEYS": KEY}) as base:
        yield base


def feedback_rows(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines()]


def classify_sample(page: Page, base: str) -> dict[str, Any]:
    """Load the sample article, classify it with the key; answer the classify body and its X-Request-ID."""
    page.goto(base)
    page.fill("#api-key", KEY)
    page.click("#sample")
    expect(page.locator("#article")).not_to_have_value("")
    with page.expect_response("**/v1/classify") as response_info:
        page.click("#classify")
    response = response_info.value
    assert response.ok, response.text()
    expect(page.locator("#article-view .sentence").first).to_be_visible()
    return {"body": response.json(), "request_id": response.headers["x-request-id"]}


def open_sentence(page: Page, index: int) -> Locator:
    """Pin sentence `index` and answer its correction form in the panel."""
    page.locator("#article-view .sentence").nth(index).locator(".chip").click()
    form = page.locator("#details form.correction")
    expect(form).to_be_visible()
    return form


def other_label(select: Locator) -> str:
    model = select.get_attribute("data-model")
    labels = [value for value in select.locator("option").evaluate_all("os => os.map(o => o.value)") if value != model]
    assert labels, "a head with a single label cannot be corrected"
    return labels[0]


def test_a_changed_stance_is_sent_stored_and_marked(page: Page, keyed_server: str, feedback_dir: Path) -> None:
    answer = classify_sample(page, keyed_server)
    sentences = answer["body"]["results"][0]["sentences"]
    index = 1
    node = page.locator("#article-view .sentence").nth(index)
    expect(node).not_to_have_class(re.compile(r"\bcorrected\b"))
    form = open_sentence(page, index)

    # Every head has a labelled select preset to the model's label; the model's label set is offered.
    for head in ("stance", "topic", "sentiment"):
        select = form.get_by_label(head.capitalize(), exact=True)
        expect(select).to_have_value(sentences[index][head]["label"])
        values = select.locator("option").evaluate_all("os => os.map(o => o.value)")
        assert set(sentences[index][head]["scores"]) <= set(values)
    stance = form.get_by_label("Stance", exact=True)
    wanted = other_label(stance)
    stance.select_option(wanted)

    # The button is reachable by keyboard: focus the select, Tab past the others to the button, press Enter.
    stance.focus()
    button = form.get_by_role("button", name="Send correction")
    for _ in range(5):
        if button.evaluate("b => b === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(button).to_be_focused()
    with page.expect_request("**/v1/feedback") as request_info:
        page.keyboard.press("Enter")
    request = request_info.value
    assert request.headers.get("authorization") == f"Bearer {KEY}"
    assert request.post_data_json == {
        "text": sentences[index]["text"],
        "stance": wanted,  # only the head the analyst changed
        "model_version": answer["body"]["model"]["version"],
        "request_id": answer["request_id"],
    }

    expect(form.locator(".correction-status")).to_contain_text("Correction sent")
    expect(node).to_have_class(re.compile(r"\bcorrected\b"))
    expect(node.locator(".corrected-mark")).to_be_visible()
    expect(page.locator("#message")).to_be_hidden()
    rows = feedback_rows(feedback_dir)
    assert len(rows) == 1, rows
    assert rows[0]["text"] == sentences[index]["text"] and rows[0]["stance"] == wanted
    assert "topic" not in rows[0] and "sentiment" not in rows[0]
    assert rows[0]["request_id"] == answer["request_id"]

    # The mark stays through filtering and a new rendering of the same article; the panel remembers it too.
    page.select_option("#filter-stance", sentences[index]["stance"]["label"])
    expect(node.locator(".corrected-mark")).to_be_visible()
    page.click("#filter-reset")
    page.click("#classify")
    expect(page.locator("#article-view .sentence").nth(index).locator(".corrected-mark")).to_be_visible()
    expect(page.locator("#article-view .corrected")).to_have_count(1)
    form = open_sentence(page, index)
    expect(form.locator(".correction-status")).to_contain_text("Correction sent")

    # Nothing changed: nothing is sent.
    other = open_sentence(page, 0)
    other.get_by_role("button", name="Send correction").click()
    expect(other.locator(".correction-status")).to_contain_text("Nothing to send")
    assert len(feedback_rows(feedback_dir)) == 1


def test_a_refused_correction_shows_the_service_problem(page: Page, keyed_server: str, feedback_dir: Path) -> None:
    classify_sample(page, keyed_server)
    before = len(feedback_rows(feedback_dir))

    def refuse(route: Route) -> None:
        route.fulfill(
            status=422,
            content_type="application/problem+json",
            body=json.dumps(
                {"type": "about:blank", "title": "Unprocessable", "status": 422, "detail": "stance: no such label"}
            ),
        )

    page.route("**/v1/feedback", refuse)
    form = open_sentence(page, 2)
    stance = form.get_by_label("Stance", exact=True)
    stance.select_option(other_label(stance))
    form.get_by_role("button", name="Send correction").click()
    message = page.locator("#message")
    expect(message).to_be_visible()
    expect(message).to_contain_text("The service refused the correction.")
    expect(message).to_contain_text("stance: no such label")
    expect(form.locator(".correction-status")).to_contain_text("not sent")
    expect(page.locator("#article-view .sentence").nth(2)).not_to_have_class(re.compile(r"\bcorrected\b"))
    assert len(feedback_rows(feedback_dir)) == before


def test_a_wrong_key_is_named(page: Page, keyed_server: str, feedback_dir: Path) -> None:
    classify_sample(page, keyed_server)
    before = len(feedback_rows(feedback_dir))
    page.fill("#api-key", "not-the-key")
    form = open_sentence(page, 3)
    topic = form.get_by_label("Topic", exact=True)
    topic.select_option(other_label(topic))
    form.get_by_role("button", name="Send correction").click()
    expect(page.locator("#message")).to_contain_text("API key")
    expect(page.locator("#article-view .sentence").nth(3)).not_to_have_class(re.compile(r"\bcorrected\b"))
    assert len(feedback_rows(feedback_dir)) == before
