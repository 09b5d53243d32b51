"""The static calendar site in a real browser: headless Chromium driven by Playwright.

Marked `browser`: they skip where no Chromium is installed (run
`python -m pytest -m "not browser"` to leave them out), and `.ci/run` sets
CHANCAL_REQUIRE_BROWSER=1 so that in CI a missing browser fails them instead.
The first tests prove each check can fail, on small pages written here.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pypdf import PdfReader

from browser_support import (
    axe_source,
    axe_violations,
    describe_violations,
    horizontal_overflow,
    launched_browser,
    offline_context,
    screenshot_colours,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_browser() as b:
        yield b


@pytest.fixture(scope="module")
def scratch(browser: Browser) -> Iterator[Page]:
    """A blank page with JavaScript on, for work done in the browser (decoding screenshots)."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


# -- the checks themselves, on hand-written pages ----------------------------------------

GOOD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Good</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="site.css"></head>
<body><main><h1>Good page</h1>
<table><caption>Two months</caption><thead><tr><th scope="col">Month</th>
<th scope="col">Events</th></tr></thead>
<tbody><tr><td>January</td><td>2</td></tr><tr><td>February</td><td>1</td></tr></tbody></table>
<p><a href="other.html">Other page</a></p></main></body></html>
"""

BAD_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Bad</title>
<link rel="stylesheet" href="https://cdn.example.com/site.css">
<style>@import url("//fonts.example.net/font.css"); p { color: #bbb; background: #fff; }</style>
</head><body><h1>Bad page</h1><img src="http://images.example.org/logo.png">
<p>Low contrast text</p><div style="width: 1000px">too wide</div></body></html>
"""


def _write_pages(folder: Path) -> Path:
    folder.mkdir()
    (folder / "good.html").write_text(GOOD_PAGE, encoding="utf-8")
    (folder / "bad.html").write_text(BAD_PAGE, encoding="utf-8")
    (folder / "other.html").write_text(GOOD_PAGE, encoding="utf-8")
    (folder / "site.css").write_text("body { color: #111; background: #fff; }\n", encoding="utf-8")
    return folder


def test_axe_reports_serious_violations_on_a_bad_page_and_none_on_a_good_one(
    browser: Browser, tmp_path: Path
) -> None:
    """axe-core runs in Chromium: no lang, an image without alt and grey text are caught."""
    site = _write_pages(tmp_path / "site")
    script = axe_source()
    context, _ = offline_context(browser, site, javascript=True)
    page = context.new_page()
    page.goto((site / "bad.html").as_uri())
    bad = {v["id"] for v in axe_violations(page, script)}
    assert {"html-has-lang", "image-alt", "color-contrast"} <= bad
    page.goto((site / "good.html").as_uri())
    good = axe_violations(page, script)
    assert not good, describe_violations(good)
    context.close()


def test_offline_log_refuses_every_request_that_leaves_the_folder(
    browser: Browser, tmp_path: Path
) -> None:
    """Stylesheets, imports and images from elsewhere are refused and listed; local ones load."""
    site = _write_pages(tmp_path / "site")
    context, log = offline_context(browser, site, javascript=False)
    page = context.new_page()
    page.goto((site / "bad.html").as_uri())
    assert sorted(log.refused) == [
        "file://fonts.example.net/font.css",
        "http://images.example.org/logo.png",
        "https://cdn.example.com/site.css",
    ]
    log.refused.clear()
    page.goto((site / "good.html").as_uri())
    assert log.refused == []
    assert (site / "site.css").as_uri() in log.requested
    context.close()


def test_overflow_and_blank_screenshots_are_measured(
    browser: Browser, scratch: Page, tmp_path: Path
) -> None:
    """A 1000 px block overflows a 390 px viewport; a blank page screenshots as one colour."""
    site = _write_pages(tmp_path / "site")
    context, _ = offline_context(
        browser, site, javascript=False, viewport={"width": 390, "height": 800}
    )
    page = context.new_page()
    page.goto((site / "bad.html").as_uri())
    assert horizontal_overflow(page) > 500
    page.goto((site / "good.html").as_uri())
    assert horizontal_overflow(page) == 0
    colours, share = screenshot_colours(scratch, page.screenshot(full_page=True))
    assert colours > 10 and share > 0.001
    page.set_content("<html lang='en'><title>blank</title><body></body></html>")
    assert screenshot_colours(scratch, page.screenshot())[0] == 1
    context.close()


def test_pdf_text_is_read_page_by_page(browser: Browser, tmp_path: Path) -> None:
    """A print to PDF is read back per page, so 'on the first page' can be asserted."""
    site = _write_pages(tmp_path / "site")
    context, _ = offline_context(browser, site, javascript=False)
    page = context.new_page()
    page.set_content(
        "<html lang='en'><body><p>first sheet</p>"
        "<p style='break-before: page'>second sheet</p></body></html>"
    )
    pages = pdf_pages_text(page, "A4")
    assert len(pages) == 2
    assert "first sheet" in pages[0] and "second sheet" not in pages[0]
    assert "second sheet" in pages[1]
    context.close()


def pdf_pages_text(page: Page, paper: str) -> list[str]:
    """Print the page to a landscape PDF on `paper`; return each sheet's text."""
    pdf = page.pdf(format=paper, landscape=True, print_background=True)
    return [sheet.extract_text() for sheet in PdfReader(io.BytesIO(pdf)).pages]
