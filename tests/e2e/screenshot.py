"""Screenshot of the analyst's page with a real result (docs/page.png in the README).

    .venv/bin/python -m tests.e2e.screenshot --model models/current [--width 1280] [--out docs/page.png]

Serves the model on a free port, classifies the sample article, pins one sentence and saves a full-page PNG.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.e2e.browser import PROJECT_ROOT, launch_chromium, serve


def take(model: Path, out: Path, width: int, pin_stance: str = "threat") -> None:
    with serve(model) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(base)
        page.click("#sample")
        page.wait_for_function("document.querySelector('#article').value.length > 0")
        page.click("#classify")
        page.wait_for_selector("#article-view .sentence")
        # Pin a sentence of the wanted stance (else the first) so the details panel shows its bars.
        chosen = page.locator(f'#article-view .sentence[data-stance="{pin_stance}"]')
        target = chosen.first if chosen.count() else page.locator("#article-view .sentence").first
        target.locator(".chip").click()
        page.mouse.move(0, 0)
        page.evaluate("window.scrollTo(0, 0)")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.screenshot", description=__doc__)
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "current")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "page.png")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    take(args.model, args.out, args.width)
    print(args.out)


if __name__ == "__main__":
    main()
