"""Actors and the relations panel on the analyst's page, in a real browser against the real service."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.browser import post_json
from tests.e2e.test_page import classify_in_page, sentence

HIGHLIGHT = re.compile(r"\bpair-highlight\b")
ARTICLE = (
    "Pakistan and Iran agreed on Sunday to reopen two crossings on their shared border. "
    "Both countries also pledged to fight smuggling. "
    "Prices rose in the border towns. "
    "Tehran said the UN would send observers. "
    "Pakistani officials thanked the UN."
)


def test_relations_panel_lists_pairs_and_highlights_their_sentences(page: Page, server: str) -> None:
    [result] = post_json(server + "v1/classify", {"text": ARTICLE})["results"]
    relations = result["relations"]
    assert [relation["actors"] for relation in relations] == [["IRN", "PAK"], ["IRN", "UN"], ["PAK", "UN"]]
    classify_in_page(page, server, ARTICLE)
    pairs = page.locator("#relations button.pair")
    expect(pairs).to_have_count(len(relations))
    first = pairs.nth(0)
    expect(first.locator(".pair-names")).to_have_text("Iran – Pakistan")
    expect(first.locator(".pair-count")).to_have_text("2 sentences")
    shares = {label for label, share in relations[0]["stance"].items() if share > 0}
    assert {
        title.split(":")[0] for title in first.locator(".segment").evaluate_all("s => s.map(x => x.title)")
    } == shares

    first.click()
    expect(first).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#article-view .sentence.pair-highlight")).to_have_count(2)
    for index in relations[0]["indices"]:
        expect(sentence(page, index)).to_have_class(HIGHLIGHT)
    expect(sentence(page, 2)).not_to_have_class(HIGHLIGHT)

    pairs.nth(1).click()  # another pair replaces the highlight
    expect(page.locator("#article-view .sentence.pair-highlight")).to_have_count(1)
    expect(sentence(page, 3)).to_have_class(HIGHLIGHT)
    pairs.nth(1).click()  # clicking it again clears it
    expect(page.locator("#article-view .sentence.pair-highlight")).to_have_count(0)
    expect(pairs.nth(1)).to_have_attribute("aria-pressed", "false")


def test_actor_mentions_are_marked_and_listed_in_the_details(page: Page, server: str) -> None:
    classify_in_page(page, server, ARTICLE)
    marks = sentence(page, 3).locator(".actor")
    expect(marks).to_have_text(["Tehran", "UN"])
    expect(marks.nth(0)).to_have_attribute("data-actor", "IRN")
    expect(sentence(page, 0).locator(".sentence-text")).to_have_text(ARTICLE.split(" Both")[0])
    sentence(page, 3).locator(".chip").click()  # a sentence wraps: click its first line
    expect(page.locator("#details .actor-item")).to_have_text(["Iran (IRN)", "United Nations (UN)"])


def test_a_text_without_pairs_says_so(page: Page, server: str) -> None:
    classify_in_page(page, server, "Prices rose in the border towns. Pakistan said nothing.")
    expect(page.locator("#relations")).to_contain_text("No two actors are named in the same sentence.")
    expect(page.locator("#relations button.pair")).to_have_count(0)
