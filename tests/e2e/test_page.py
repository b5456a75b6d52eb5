"""The analyst's page at `/`, in a real browser against the real service."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Request, Route, expect

from service.api.routes.page import STATIC_DIR
from tests.e2e.browser import get_json, post_json
from tests.e2e.conftest import MAX_TEXT_CHARS

HEADS = ("stance", "topic", "sentiment")
ARTICLE = """India and China agreed on Thursday to resume border talks after a year-long pause, officials said.

Troops from both sides had clashed in the mountains last spring, and several soldiers were wounded.
The defence ministry warned that any new incursion would be met with force.

Trade between the two countries grew by eight percent last year despite the tensions. Exporters welcomed the talks.

A joint statement is expected on Friday."""


def classify_in_page(page: Page, base: str, text: str) -> None:
    page.goto(base)
    page.fill("#article", text)
    page.click("#classify")
    expect(page.locator("#results")).to_be_visible()


def sentence(page: Page, index: int) -> Locator:
    return page.locator("#article-view .sentence").nth(index)


def hover(page: Page, index: int) -> None:
    # A sentence wraps over lines, so point at its first line (the topic chip) rather than its middle;
    # leave first, so that the mouse really enters it.
    page.mouse.move(0, 0)
    sentence(page, index).locator(".chip").hover()


def explain_offered(base: str) -> bool:
    spec = get_json(base + "openapi.json")
    return "explain" in spec["components"]["schemas"]["ClassifyRequest"]["properties"]


@pytest.fixture(scope="module")
def expected(server: str) -> dict[str, Any]:
    """The API's own answer for ARTICLE, asked as the page asks (the model is deterministic), to check it against."""
    return post_json(
        server + "v1/classify", {"text": ARTICLE, **({"explain": True} if explain_offered(server) else {})}
    )


def test_page_and_its_files_are_served_and_load_nothing_from_the_internet(page: Page, server: str) -> None:
    page.goto(server)
    expect(page).to_have_title(re.compile("Stance"))
    files = sorted(path for pattern in ("*.html", "*.css", "*.js") for path in STATIC_DIR.glob(pattern))
    assert {"index.html", "app.css", "main.js"} <= {path.name for path in files}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://|//cdn|@import", text), f"{path.name} refers to something outside the service"
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    for reference in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert reference.startswith(("/static/", "#", "data:")), reference
    # The script is a set of ES modules that import one another by relative path, each served as JavaScript
    # (a browser runs no module served under another type) and each loaded by the page.
    scripts = sorted(STATIC_DIR.glob("*.js"))
    loaded = set(page.evaluate("performance.getEntriesByType('resource').map(entry => entry.name)"))
    for path in scripts:
        for imported in re.findall(r'^import .* from "([^"]+)";$', path.read_text(encoding="utf-8"), re.M):
            assert re.fullmatch(r"\./[a-z]+\.js", imported), f"{path.name} imports {imported}"
            assert (STATIC_DIR / imported).is_file(), f"{path.name} imports {imported}, which is missing"
        response = page.request.get(f"{server}static/{path.name}")
        assert response.ok and "javascript" in response.headers["content-type"], (path.name, response.headers)
        assert f"{server}static/{path.name}" in loaded, f"the page never loads {path.name}"
    # The open_page fixture fails the test if the page asked for anything outside the service.


def test_classify_shows_every_sentence_colored_by_stance_with_summary(
    page: Page, server: str, expected: dict[str, Any]
) -> None:
    page.goto(server)
    page.fill("#article", ARTICLE)
    with page.expect_request("**/v1/classify") as request_info:
        page.click("#classify")
    sent = request_info.value
    assert sent.method == "POST"
    assert sent.post_data_json == {"text": ARTICLE, **({"explain": True} if explain_offered(server) else {})}

    [document] = expected["results"]
    sentences = document["sentences"]
    nodes = page.locator("#article-view .sentence")
    expect(nodes).to_have_count(len(sentences))
    assert len(sentences) >= 6
    expect(page.locator("#message")).to_be_hidden()
    expect(page.locator("#result-meta")).to_contain_text(f"{len(sentences)} sentences")
    expect(page.locator("#result-meta")).to_contain_text(expected["model"]["version"])

    colors: dict[str, str] = {}
    for index, expected_sentence in enumerate(sentences):
        node = nodes.nth(index)
        expect(node.locator(".sentence-text")).to_have_text(expected_sentence["text"])
        stance = expected_sentence["stance"]["label"]
        expect(node).to_have_attribute("data-stance", stance)
        expect(node).to_have_class(re.compile(rf"\bstance-{stance}\b"))
        expect(node).to_have_attribute("data-topic", expected_sentence["topic"]["label"])
        expect(node).to_have_attribute("data-sentiment", expected_sentence["sentiment"]["label"])
        expect(node.locator(".chip")).to_have_class(re.compile(rf"\btopic-{expected_sentence['topic']['label']}\b"))
        expect(node.locator(".mark")).to_have_class(
            re.compile(rf"\bsentiment-{expected_sentence['sentiment']['label']}\b")
        )
        if not expected_sentence["stance"]["confident"]:
            expect(node).to_have_class(re.compile(r"\blow-confidence\b"))
        else:
            expect(node).not_to_have_class(re.compile(r"\blow-confidence\b"))
        background = node.evaluate("n => getComputedStyle(n).backgroundColor")
        underline = node.evaluate("n => getComputedStyle(n).borderBottomColor")
        swatch = page.locator(f'#legend .legend-item[data-stance="{stance}"] .swatch')
        assert swatch.evaluate("n => getComputedStyle(n).backgroundColor") == underline, stance
        assert colors.setdefault(stance, background) == background, "one color per stance"
    assert len(set(colors.values())) == len(colors), f"each stance has its own color: {colors}"

    # The article keeps its paragraphs, in order.
    shown = page.locator("#article-view").text_content() or ""
    positions = [shown.find(s["text"]) for s in sentences]
    assert positions == sorted(positions) and -1 not in positions
    assert shown.count("\n\n") == ARTICLE.count("\n\n")

    for head in HEADS:
        row = page.locator(f'#summary .summary-row[data-head="{head}"]')
        expect(row).to_be_visible()
        for label, share in document["summary"][head].items():
            button = row.locator(f'button.share[data-label="{label}"]')
            assert float(button.get_attribute("data-share") or "nan") == pytest.approx(share)
            expect(button).to_contain_text(f"{round(share * 100)}%")
        assert sum(document["summary"][head].values()) == pytest.approx(1.0)


def test_details_follow_hover_focus_and_pin(page: Page, server: str, expected: dict[str, Any]) -> None:
    classify_in_page(page, server, ARTICLE)
    sentences = expected["results"][0]["sentences"]
    details = page.locator("#details")

    # Keyboard: focus the first sentence, move with the arrow keys, pin with Enter, unpin with Escape.
    sentence(page, 0).focus()
    expect(details.locator("h3")).to_have_text(f"Sentence 1 of {len(sentences)}")
    for head in HEADS:
        result = sentences[0][head]
        section = details.locator(f'.head-detail[data-head="{head}"]')
        expect(section.locator("h4 strong")).to_have_text(result["label"])
        bars = section.locator(".bars li")
        expect(bars).to_have_count(len(result["scores"]))
        for label, probability in result["scores"].items():
            bar = section.locator(f'.bars li[data-label="{label}"]')
            assert float(bar.get_attribute("data-probability") or "nan") == pytest.approx(probability)
            expect(bar.locator(".bar-value")).to_have_text(f"{round(probability * 100)}%")
        expect(section.locator(".bars li.chosen")).to_have_attribute("data-label", result["label"])
    page.keyboard.press("ArrowRight")
    expect(sentence(page, 1)).to_be_focused()
    expect(details.locator("h3")).to_have_text(f"Sentence 2 of {len(sentences)}")
    page.keyboard.press("Enter")
    expect(sentence(page, 1)).to_have_attribute("aria-pressed", "true")
    expect(details.locator(".badge", has_text="pinned")).to_be_visible()

    # Hovering another sentence leaves the pinned one in place; after unpinning, hover shows it.
    hover(page, 3)
    expect(details.locator("h3")).to_have_text(f"Sentence 2 of {len(sentences)}")
    sentence(page, 1).focus()
    page.keyboard.press("Escape")
    expect(sentence(page, 1)).to_have_attribute("aria-pressed", "false")
    hover(page, 3)
    expect(details.locator("h3")).to_have_text(f"Sentence 4 of {len(sentences)}")
    expect(details.locator("blockquote")).to_have_text(sentences[3]["text"])

    # Click pins, and the Unpin button lets go.
    sentence(page, 2).locator(".chip").click()
    expect(sentence(page, 2)).to_have_attribute("aria-pressed", "true")
    details.get_by_role("button", name="Unpin this sentence").click()
    expect(sentence(page, 2)).to_have_attribute("aria-pressed", "false")


def test_keyboard_alone_classifies_and_reaches_a_sentence(page: Page, server: str) -> None:
    page.goto(server)
    page.locator("#article").focus()
    page.keyboard.insert_text(ARTICLE)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#article-view .sentence").first).to_be_visible()
    reached = []
    for _ in range(30):  # Tab through the controls to the first sentence
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.className"))
        if "sentence" in reached[-1]:
            break
    assert "sentence" in reached[-1], reached
    expect(page.locator("#details h3")).to_contain_text("Sentence 1 of")


def test_filters_show_only_one_label(page: Page, server: str, expected: dict[str, Any]) -> None:
    classify_in_page(page, server, ARTICLE)
    sentences = expected["results"][0]["sentences"]
    nodes = page.locator("#article-view .sentence")

    def matching() -> list[int]:
        return [i for i in range(nodes.count()) if nodes.nth(i).get_attribute("data-match") == "true"]

    stance = sentences[0]["stance"]["label"]
    page.select_option("#filter-stance", stance)
    want = [i for i, s in enumerate(sentences) if s["stance"]["label"] == stance]
    assert matching() == want
    for index in range(len(sentences)):
        if index not in want:
            expect(nodes.nth(index)).to_have_class(re.compile(r"\bfiltered-out\b"))
            expect(nodes.nth(index)).to_have_attribute("tabindex", "-1")
    expect(page.locator("#filter-count")).to_have_text(f"Showing {len(want)} of {len(sentences)} sentences")

    # A summary entry filters too; together with the stance filter only sentences with both labels stay.
    topic = sentences[0]["topic"]["label"]
    page.locator(f'#summary .summary-row[data-head="topic"] button[data-label="{topic}"]').click()
    expect(page.locator("#filter-topic")).to_have_value(topic)
    assert matching() == [i for i in want if sentences[i]["topic"]["label"] == topic]

    page.click("#filter-reset")
    assert matching() == list(range(len(sentences)))
    page.check("#filter-unsure")
    unsure = [i for i, s in enumerate(sentences) if any(not s[h]["confident"] for h in HEADS)]
    assert matching() == unsure


def test_downloads_json_and_csv(page: Page, server: str, expected: dict[str, Any], tmp_path: Path) -> None:
    classify_in_page(page, server, ARTICLE)
    with page.expect_download() as download_info:
        page.click("#download-json")
    json_path = tmp_path / "result.json"
    download_info.value.save_as(json_path)
    assert download_info.value.suggested_filename.endswith(".json")
    downloaded = json.loads(json_path.read_text(encoding="utf-8"))
    assert downloaded["results"] == expected["results"]

    with page.expect_download() as download_info:
        page.click("#download-csv")
    csv_path = tmp_path / "result.csv"
    download_info.value.save_as(csv_path)
    assert download_info.value.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"), newline="")))
    sentences = expected["results"][0]["sentences"]
    assert len(rows) == len(sentences)
    for row, expected_sentence in zip(rows, sentences, strict=True):
        assert row["text"] == expected_sentence["text"]
        assert (int(row["start"]), int(row["end"])) == (expected_sentence["start"], expected_sentence["end"])
        assert row["actors"] == " ".join(actor["id"] for actor in expected_sentence["actors"])
        for head in HEADS:
            assert row[head] == expected_sentence[head]["label"]
            assert float(row[f"{head}_score"]) == pytest.approx(expected_sentence[head]["score"])
            for label, probability in expected_sentence[head]["scores"].items():
                assert float(row[f"{head}:{label}"]) == pytest.approx(probability)


def test_empty_input_gets_a_message_and_no_request(page: Page, server: str) -> None:
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request) if "/v1/classify" in request.url else None)
    page.goto(server)
    page.click("#classify")
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#message")).to_contain_text("empty")
    page.fill("#article", "  \n\n  ")
    page.click("#classify")
    expect(page.locator("#message")).to_contain_text("empty")
    expect(page.locator("#article")).to_be_focused()
    expect(page.locator("#results")).to_be_hidden()
    assert requests == []


def test_over_limit_input_shows_the_servers_limit(page: Page, small_server: str) -> None:
    assert len(ARTICLE) > MAX_TEXT_CHARS
    page.goto(small_server)
    page.fill("#article", ARTICLE)
    with page.expect_response("**/v1/classify") as response_info:
        page.click("#classify")
    assert response_info.value.status == 413
    message = page.locator("#message")
    expect(message).to_be_visible()
    expect(message).to_contain_text("too long")
    expect(message).to_contain_text(f"max_text_chars={MAX_TEXT_CHARS}")
    expect(page.locator("#results")).to_be_hidden()

    # A text under the limit still works on the same page.
    page.fill("#article", "The two ministers signed a trade pact. Markets rallied.")
    page.click("#classify")
    expect(page.locator("#article-view .sentence")).to_have_count(2)
    expect(message).to_be_hidden()


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (
            500,
            {"type": "about:blank", "title": "Internal Server Error", "status": 500, "detail": "the model crashed"},
            ["HTTP 500", "the model crashed"],
        ),
        (503, {"title": "Service Unavailable", "status": 503}, ["not ready", "Service Unavailable"]),
        (
            422,
            {"detail": [{"loc": ["body", "text"], "msg": "Value error, text 0 is empty", "type": "value_error"}]},
            ["could not accept", "text: text 0 is empty"],
        ),
        (413, {"detail": "text 0 has 9 characters (limit max_text_chars=5)"}, ["too long", "max_text_chars=5"]),
        (401, {"title": "Unauthorized", "detail": "missing bearer token"}, ["API key", "missing bearer token"]),
        (200, {"unexpected": True}, ["shape"]),
    ],
)
def test_server_errors_are_explained_never_a_blank_page(
    page: Page, server: str, status: int, body: dict[str, Any], shown: list[str]
) -> None:
    def answer(route: Route) -> None:
        route.fulfill(status=status, content_type="application/problem+json", body=json.dumps(body))

    page.route("**/v1/classify", answer)
    page.goto(server)
    page.fill("#article", ARTICLE)
    page.click("#classify")
    message = page.locator("#message")
    expect(message).to_be_visible()
    for text in shown:
        expect(message).to_contain_text(text)
    expect(page.locator("#results")).to_be_hidden()
    expect(page.locator("#classify")).to_be_enabled()


def test_unreachable_service_is_explained(page: Page, server: str) -> None:
    page.route("**/v1/classify", lambda route: route.abort("connectionrefused"))
    page.goto(server)
    page.fill("#article", ARTICLE)
    page.click("#classify")
    expect(page.locator("#message")).to_contain_text("Could not reach the service")


def test_api_key_is_sent_as_bearer_and_kept_for_the_tab_only(page: Page, server: str) -> None:
    page.goto(server)
    page.fill("#api-key", "s3cret key")
    page.fill("#article", ARTICLE)
    with page.expect_request("**/v1/classify") as request_info:
        page.click("#classify")
    request = request_info.value
    assert request.headers.get("authorization") == "Bearer s3cret key"
    assert "s3cret" not in request.url and "s3cret" not in page.url
    expect(page.locator("#article-view .sentence").first).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('stance.apiKey')") == "s3cret key"
    assert page.evaluate("localStorage.length") == 0

    page.reload()
    expect(page.locator("#api-key")).to_have_value("s3cret key")
    other = page.context.browser.new_page()  # another tab, another session
    other.goto(server)
    expect(other.locator("#api-key")).to_have_value("")
    other.close()

    page.click("#forget-key")
    assert page.evaluate("sessionStorage.getItem('stance.apiKey')") is None
    page.fill("#article", ARTICLE)
    with page.expect_request("**/v1/classify") as request_info:
        page.click("#classify")
    assert "authorization" not in request_info.value.headers


def test_explanations_and_confidence_flags_are_shown_when_the_api_gives_them(page: Page, server: str) -> None:
    """A service with `explain` (request) and `confident` / `explain` (per head), simulated over the real one."""
    sent: list[dict[str, Any]] = []

    def openapi_with_explain(route: Route) -> None:
        spec = route.fetch().json()
        spec["components"]["schemas"]["ClassifyRequest"]["properties"]["explain"] = {"type": "boolean"}
        route.fulfill(json=spec)

    def classify_with_explain(route: Route) -> None:
        payload = route.request.post_data_json
        sent.append(payload)
        real = route.fetch(post_data=json.dumps({"text": payload["text"]})).json()
        for index, item in enumerate(real["results"][0]["sentences"]):
            for head in HEADS:
                item[head]["confident"] = index != 0  # the first sentence: unsure on every head
                item[head]["explain"] = [{"feature": "talks", "weight": 0.8}, {"feature": "troops", "weight": -0.3}]
        route.fulfill(json=real)

    page.route("**/openapi.json", openapi_with_explain)
    page.route("**/v1/classify", classify_with_explain)
    classify_in_page(page, server, ARTICLE)
    assert sent == [{"text": ARTICLE, "explain": True}]

    first, second = sentence(page, 0), sentence(page, 1)
    expect(first).to_have_class(re.compile(r"\blow-confidence\b"))
    expect(first).to_have_attribute("data-confident", "false")
    expect(second).to_have_attribute("data-confident", "true")  # `confident` wins over the score
    expect(second).not_to_have_class(re.compile(r"\blow-confidence\b"))

    hover(page, 0)
    details = page.locator("#details")
    for head in HEADS:
        section = details.locator(f'.head-detail[data-head="{head}"]')
        expect(section.locator(".badge.unsure")).to_have_text("not confident")
        expect(section.locator(".word.for")).to_have_text(["talks"])
        expect(section.locator(".word.against")).to_have_text(["troops"])


def test_the_services_own_explanations_are_shown(page: Page, server: str, expected: dict[str, Any]) -> None:
    assert explain_offered(server)
    classify_in_page(page, server, ARTICLE)
    for index, expected_sentence in enumerate(expected["results"][0]["sentences"]):
        hover(page, index)
        for head in HEADS:
            words = page.locator(f'#details .head-detail[data-head="{head}"] .word.for')
            expect(words).to_have_text([item["feature"] for item in expected_sentence[head]["explain"]])
        expect(page.locator("#details")).not_to_contain_text("null")


def test_readable_at_400_px(narrow_page: Page, server: str) -> None:
    page = narrow_page
    page.goto(server)
    page.click("#sample")
    expect(page.locator("#article")).to_have_value(
        (STATIC_DIR / "sample-article.txt").read_text(encoding="utf-8").strip()
    )
    page.click("#classify")
    expect(page.locator("#article-view .sentence").first).to_be_visible()
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways at 400 px: {widths}"
    expect(page.locator("#details")).to_be_hidden()  # no empty panel on a small screen
    sentence(page, 2).locator(".chip").click()
    box = page.locator("#details").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400
    expect(page.locator("#details h3")).to_contain_text("Sentence 3 of")


def test_wide_layout_puts_the_details_beside_the_article(page: Page, server: str) -> None:
    classify_in_page(page, server, ARTICLE)
    article = page.locator("#article-view").bounding_box()
    details = page.locator("#details").bounding_box()
    assert article and details
    assert details["x"] >= article["x"] + article["width"], (article, details)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
