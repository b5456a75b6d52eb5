"""Browser fixtures: headless Debian Chromium driven by Playwright, and the real service in a subprocess.

A missing Chromium fails these tests (it never skips them): `make test` installs it where it is missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, sync_playwright

from service.model.bundle import Bundle
from tests.e2e.browser import CHROMIUM, MISSING_CHROMIUM, launch_chromium, serve

WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 400, "height": 800}
# Small enough that the test article is over the limit.
MAX_TEXT_CHARS = 200


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch_chromium(playwright)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def server(bundle: Bundle) -> Iterator[str]:
    """Base URL of `stance serve` with the session's bundle and the default limits."""
    with serve(bundle.path) as base:
        yield base


@pytest.fixture(scope="session")
def small_server(bundle: Bundle) -> Iterator[str]:
    """The same service with STANCE_MAX_TEXT_CHARS lowered, to meet the over-limit answer."""
    with serve(bundle.path, {"STANCE_MAX_TEXT_CHARS": str(MAX_TEXT_CHARS)}) as base:
        yield base


def open_page(browser: Browser, viewport: dict[str, int]) -> Iterator[Page]:
    """A fresh tab (own session storage) that may only reach the loopback service: the page must work offline."""
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    outside: list[str] = []

    def block_outside(route: Route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "http://localhost:")):
            route.fallback()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", block_outside)
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert not outside, f"the page asked for something outside the service: {outside}"
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    yield from open_page(browser, WIDE)


@pytest.fixture()
def narrow_page(browser: Browser) -> Iterator[Page]:
    yield from open_page(browser, NARROW)
