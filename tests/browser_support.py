"""Headless Chromium for the browser tests: finding it, launching it, axe-core, offline loading.

The browser is Debian's `chromium` package (Playwright's own browser download
is not used: `.ci/run` installs the distribution package and Playwright drives
it through `executable_path`). Without a browser the tests skip with the
reason; with `CHANCAL_REQUIRE_BROWSER=1` (set by `.ci/run`) they fail instead,
so CI can never pass by skipping them.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

REQUIRE_ENV = "CHANCAL_REQUIRE_BROWSER"
CHROMIUM_ENV = "CHANCAL_CHROMIUM"
AXE_ENV = "CHANCAL_AXE_JS"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# axe-core impacts are minor < moderate < serious < critical; the issue asks for none
# of the two worst.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def chromium_executable() -> str | None:
    """Return the Chromium to drive: $CHANCAL_CHROMIUM, else the first one on PATH."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    return None


def unavailable(reason: str) -> NoReturn:
    """Skip the test for `reason`, or fail it when CI demands a browser."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def launched_browser() -> Iterator[Browser]:
    """Launch headless Chromium once; skip (or fail under CI) when it cannot run here."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        unavailable("the Playwright package is not installed (pip install -e '.[test]')")
    executable = chromium_executable()
    if executable is None:
        unavailable(
            "no Chromium found (apt-get install chromium, or set "
            f"{CHROMIUM_ENV} to its path); the browser tests need one"
        )
    # Chromium refuses to start its sandbox as root (CI containers run as root).
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=args
            )
        except Error as exc:
            unavailable(f"Chromium at {executable} did not start: {exc.message.splitlines()[0]}")
        try:
            yield browser
        finally:
            browser.close()


def axe_source() -> str:
    """Return axe-core's browser script: $CHANCAL_AXE_JS, else the copy the test extra installs.

    `axe-playwright-python` (pinned in pyproject's test extra) ships
    `axe.min.js`; only that file is used, not its wrapper.
    """
    configured = os.environ.get(AXE_ENV)
    if configured:
        return Path(configured).read_text(encoding="utf-8")
    try:
        bundled = resources.files("axe_playwright_python") / "axe.min.js"
        return bundled.read_text(encoding="utf-8")
    except ModuleNotFoundError:
        unavailable("axe-core not found (pip install -e '.[test]' installs it)")


def axe_violations(page: Page, script: str) -> list[dict[str, Any]]:
    """Run axe-core on the loaded page; return its serious and critical violations.

    The page's own JavaScript may be off: Playwright's evaluate runs anyway only
    in a context with JavaScript enabled, so callers load pages for axe in one.
    """
    page.add_script_tag(content=script)
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v.get("impact") in BLOCKING_IMPACTS]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """Format axe violations as one line per rule, with the first offending elements."""
    lines = []
    for v in violations:
        targets = [" ".join(map(str, node["target"])) for node in v["nodes"][:3]]
        lines.append(f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])}x: {targets})")
    return "\n".join(lines)


@dataclass
class OfflineLog:
    """Every request a page made, and those that would have left the site."""

    root: str
    requested: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def handle(self, route: Route) -> None:
        url = route.request.url
        self.requested.append(url)
        # Anything outside the site folder is refused: http(s), but also
        # file://host/... (what a protocol-relative //cdn URL becomes under file://).
        if url.startswith((self.root, "data:")):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()


def offline_context(
    browser: Browser, site: Path, *, javascript: bool, **kw: Any
) -> tuple[BrowserContext, OfflineLog]:
    """Return a browser context whose every request outside `site` is recorded and refused."""
    context = browser.new_context(java_script_enabled=javascript, **kw)
    log = OfflineLog(root=site.resolve().as_uri() + "/")
    context.route("**/*", log.handle)
    return context, log


def horizontal_overflow(page: Page) -> int:
    """Return by how many CSS pixels the document is wider than the viewport."""
    width: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


def screenshot_colours(page: Page, png: bytes) -> tuple[int, float]:
    """Return the distinct colours in a PNG and the share of pixels unlike its corner pixel.

    Decoded by the browser's own canvas (in a scratch page with JavaScript on),
    so the tests need no imaging library.
    """
    data = base64.b64encode(png).decode("ascii")
    result: list[float] = page.evaluate(
        """async (data) => {
            const img = new Image();
            img.src = 'data:image/png;base64,' + data;
            await img.decode();
            const c = document.createElement('canvas');
            c.width = img.width; c.height = img.height;
            const g = c.getContext('2d');
            g.drawImage(img, 0, 0);
            const px = g.getImageData(0, 0, c.width, c.height).data;
            const seen = new Set();
            let differ = 0;
            for (let i = 0; i < px.length; i += 4) {
                const v = (px[i] << 16) | (px[i + 1] << 8) | px[i + 2];
                seen.add(v);
                if (px[i] !== px[0] || px[i + 1] !== px[1] || px[i + 2] !== px[2]) differ++;
            }
            return [seen.size, differ / (px.length / 4)];
        }""",
        data,
    )
    return int(result[0]), float(result[1])
