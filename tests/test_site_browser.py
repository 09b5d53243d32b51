"""The static calendar site in a real browser: headless Chromium driven by Playwright.

Marked `browser`: they skip where no Chromium is installed (run
`python -m pytest -m "not browser"` to leave them out), and `.ci/run` sets
CHANCAL_REQUIRE_BROWSER=1 so that in CI a missing browser fails them instead.
The first tests prove each check can fail, on small pages written here.
"""

from __future__ import annotations

import functools
import io
import itertools
import os
import shutil
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import icalendar
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from browser_support import (
    axe_source,
    axe_violations,
    describe_violations,
    horizontal_overflow,
    launched_browser,
    offline_context,
    screenshot_colours,
)
from chancal.cli import app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request

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


# -- the calendar site that `chancal export --html` writes --------------------------------

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "partners.yaml"
STAMP = "2026-12-01T00:00:00Z"
TODAY = "2026-12-01"
BASE_URL = "https://calendars.example.com/contoso/"
SECRET = "browser-test-secret-0123456789"
# A partner rule to delete between two exports, so the second publishes its event
# as cancelled and the page must drop it or mark it.
CANCELLED_RULE = """      rules:
        - id: planning-call
          kind: joint_marketing_strategy
          dates: [2027-04-14]
          duration: 1h
          mode: virtual
"""
CANCELLED_PARTNER = "andes-distribucion"


@dataclass(frozen=True)
class Site:
    """One exported site: its folder and how it was published."""

    name: str
    out: Path
    base_url: str | None

    def pages(self) -> list[Path]:
        return sorted(self.out.rglob("*.html"))

    def uri(self, page: Path) -> str:
        return page.resolve().as_uri()


def _export(program: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> None:
    args = ["export", str(program), "--ics", "--html", "--csv", "--out", str(out)]
    args += ["--stamp", STAMP, "--today", TODAY, *extra]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.stderr


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Site]:
    """The example's site twice: public (exported again after a rule is deleted), and private."""
    public = tmp_path_factory.mktemp("public")
    program = public / "partners.yaml"
    shutil.copy(EXAMPLE, program)
    _export(program, public / "site")
    text = program.read_text(encoding="utf-8")
    assert CANCELLED_RULE in text, "the example changed: pick another rule to delete"
    program.write_text(text.replace(CANCELLED_RULE, ""), encoding="utf-8")
    _export(program, public / "site")

    private = tmp_path_factory.mktemp("private")
    shutil.copy(EXAMPLE, private / "partners.yaml")
    _export(
        private / "partners.yaml",
        private / "site",
        "--private",
        "--base-url",
        BASE_URL,
        env={"CHANCAL_FEED_SECRET": SECRET},
    )
    return {
        "public": Site("public", public / "site", None),
        "private": Site("private", private / "site", BASE_URL),
    }


FACTS_JS = """() => ({
    lang: document.documentElement.getAttribute('lang'),
    title: document.title,
    scripts: document.querySelectorAll('script, [onload], [onclick]').length,
    headings: [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(
        h => Number(h.tagName[1])),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    links: [...document.querySelectorAll('a[href]')].map(a => ({
        cls: a.className, href: a.getAttribute('href'), url: a.href,
        uid: a.closest('.event') ? a.closest('.event').dataset.uid : null})),
    events: [...document.querySelectorAll('.event')].map(e => ({
        uid: e.dataset.uid === undefined ? null : e.dataset.uid,
        cancelled: e.classList.contains('cancelled'),
        start: e.querySelector('time[datetime]') ?
            e.querySelector('time[datetime]').getAttribute('datetime') : null})),
    tables: [...document.querySelectorAll('table')].map(t => ({
        cls: t.className,
        caption: t.caption ? t.caption.textContent.trim() : '',
        headers: t.querySelectorAll('th').length,
        unscoped: t.querySelectorAll('thead th:not([scope]), tbody th:not([scope])').length})),
    visible: [...document.querySelectorAll('h1, main, table.year, .event')].filter(
        e => e.getClientRects().length > 0).map(e => e.tagName + '.' + e.className),
})"""


@dataclass(frozen=True)
class Loaded:
    """What one page showed with JavaScript off and the network closed."""

    site: Site
    path: Path
    facts: dict[str, Any]
    refused: list[str]
    failed: list[str]


def _note_url(into: list[str], request: Request) -> None:
    into.append(request.url)


@pytest.fixture(scope="module")
def loaded(browser: Browser, sites: dict[str, Site]) -> dict[tuple[str, str], Loaded]:
    """Every page of both sites, opened from file:// with JavaScript disabled, offline."""
    pages: dict[tuple[str, str], Loaded] = {}
    for site in sites.values():
        context, log = offline_context(browser, site.out, javascript=False)
        page = context.new_page()
        failed: list[str] = []
        page.on("requestfailed", functools.partial(_note_url, failed))
        for path in site.pages():
            before_refused, before_failed = len(log.refused), len(failed)
            response = page.goto(site.uri(path), wait_until="load")
            assert response is not None and response.ok, path
            pages[(site.name, path.relative_to(site.out).as_posix())] = Loaded(
                site,
                path,
                page.evaluate(FACTS_JS),
                log.refused[before_refused:],
                # a refused request also fails; list the others (a missing local file)
                [u for u in failed[before_failed:] if u not in log.refused],
            )
        context.close()
    return pages


def test_the_site_has_the_promised_pages(sites: dict[str, Site]) -> None:
    """index.html at the root; a page per partner beside its feed; private pages too."""
    public = sites["public"].out
    assert (public / "index.html").is_file()
    feeds = sorted(p.stem for p in (public / "partners").glob("*.ics"))
    assert len(feeds) == 14
    assert sorted(p.stem for p in (public / "partners").glob("*.html")) == feeds
    private = sites["private"].out
    assert (private / "index.html").is_file()
    assert len(list((private / "private").glob("*/*.html"))) == 14 + 3


def test_every_page_works_offline_from_file_urls_without_javascript(
    loaded: dict[tuple[str, str], Loaded],
) -> None:
    """No request leaves the site's folder, none fails, no script; the content is shown."""
    assert len(loaded) == 2 * (1 + 14 + 3)
    for key, page in loaded.items():
        assert page.refused == [], f"{key} asks the network for {page.refused}"
        assert page.failed == [], f"{key} could not load {page.failed}"
        assert page.facts["scripts"] == 0, f"{key} carries JavaScript"
        shown = page.facts["visible"]
        assert "H1." in shown and "MAIN." in shown, f"{key} shows {shown[:5]}"
        if key[1].startswith(("partners/", "index")) and not (
            key[0] == "private" and key[1] == "index.html"
        ):
            assert "TABLE.year" in shown, f"{key} shows no year grid"


def _site_file(site: Site, url: str) -> Path | None:
    """The file of the site a resolved file:// URL names, or None when it is outside."""
    root = site.out.resolve().as_uri() + "/"
    if not url.startswith(root):
        return None
    rest = urllib.parse.unquote(url[len(root) :].split("#", 1)[0].split("?", 1)[0])
    return site.out / rest


def _conferences(site: Site) -> dict[str, str]:
    """Each event's meeting link (CONFERENCE) as every feed of the site publishes it."""
    links: dict[str, str] = {}
    for feed in sorted(site.out.rglob("*.ics")):
        for ev in icalendar.Calendar.from_ical(feed.read_bytes()).walk("VEVENT"):
            if "CONFERENCE" in ev:
                links[str(ev["UID"])] = str(ev["CONFERENCE"])
    return links


def test_every_link_resolves_inside_the_site(
    loaded: dict[tuple[str, str], Loaded], sites: dict[str, Site]
) -> None:
    """Links name files that exist (and ids on them); only meeting and subscribe links leave.

    A meeting link must be the event's CONFERENCE in the feeds; a subscribe link
    must be the --base-url address (https or webcal) of a feed that exists.
    """
    problems: list[str] = []
    kinds: Counter[tuple[str, str]] = Counter()
    for site in sites.values():
        conferences = _conferences(site)
        ids = {
            page.path.resolve(): set(page.facts["ids"])
            for page in loaded.values()
            if page.site is site
        }
        for page in (p for p in loaded.values() if p.site is site):
            where = f"{site.name}:{page.path.relative_to(site.out)}"
            for link in page.facts["links"]:
                kinds[(site.name, _link_kind(link))] += 1
                problem = _link_problem(site, link, ids, conferences)
                if problem:
                    problems.append(f"{where}: {link['href']!r} {problem}")
    assert not problems, "\n".join(problems[:20])
    # Each rule above was exercised: meeting links on both sites, subscribe links where
    # --base-url was given, downloads of feeds and tables everywhere.
    for needed in [("public", "join"), ("private", "join"), ("private", "subscribe")]:
        assert kinds[needed] > 0, f"no {needed[1]} link on the {needed[0]} site: {kinds}"
    assert kinds[("public", "subscribe")] == 0
    assert kinds[("public", "download")] >= 2 * (1 + 14)


def _link_kind(link: dict[str, Any]) -> str:
    classes = set(link["cls"].split())
    return next((k for k in ("join", "subscribe", "download") if k in classes), "page")


def test_every_page_of_a_public_site_is_reached_from_its_index(
    loaded: dict[tuple[str, str], Loaded], sites: dict[str, Site]
) -> None:
    """Following links from index.html reaches every page, feed and table the site holds."""
    site = sites["public"]
    by_path = {page.path.resolve(): page for page in loaded.values() if page.site is site}
    reached: set[Path] = set()
    todo = [(site.out / "index.html").resolve()]
    while todo:
        path = todo.pop()
        if path in reached:
            continue
        reached.add(path)
        if path in by_path:
            for link in by_path[path].facts["links"]:
                target = _site_file(site, link["url"])
                if target is not None and target.is_file():
                    todo.append(target.resolve())
    published = {p.resolve() for p in site.out.rglob("*") if p.suffix in (".html", ".ics", ".csv")}
    unreached = sorted(str(p.relative_to(site.out.resolve())) for p in published - reached)
    assert not unreached, f"not linked from any page: {unreached}"


def _link_problem(
    site: Site, link: dict[str, Any], ids: dict[Path, set[str]], conferences: dict[str, str]
) -> str | None:
    classes = set(link["cls"].split())
    if "join" in classes:
        if conferences.get(link["uid"]) != link["href"]:
            return f"is not the CONFERENCE of event {link['uid']}"
        return None
    if "subscribe" in classes:
        if site.base_url is None:
            return "is a subscribe link on a site published without --base-url"
        https = link["href"].replace("webcal://", "https://", 1)
        if not https.startswith(site.base_url):
            return f"is outside --base-url {site.base_url}"
        target = site.out / https[len(site.base_url) :]
        return None if target.suffix == ".ics" and target.is_file() else "names no feed"
    target = _site_file(site, link["url"])
    if target is None:
        return "leaves the site"
    if not target.is_file():
        return "names a missing file"
    fragment = urllib.parse.urlsplit(link["url"]).fragment
    if fragment and fragment not in ids.get(target.resolve(), set()):
        return f"names a missing id #{fragment}"
    return None


def test_every_page_has_a_language_one_title_heading_order_and_captioned_tables(
    loaded: dict[tuple[str, str], Loaded],
) -> None:
    """lang on <html>, a title, one h1, no skipped heading level; tables with captions, scopes."""
    for key, page in loaded.items():
        facts = page.facts
        assert facts["lang"], f"{key} has no lang attribute"
        assert facts["title"].strip(), f"{key} has no title"
        levels = facts["headings"]
        assert levels.count(1) == 1 and levels[0] == 1, f"{key} headings {levels}"
        skips = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
        assert not skips, f"{key} skips heading levels {skips}"
        for table in facts["tables"]:
            assert table["caption"], f"{key}: a table.{table['cls']} has no caption"
            assert table["headers"] > 0, f"{key}: table.{table['cls']} has no header cells"
            assert table["unscoped"] == 0, f"{key}: table.{table['cls']} has th without scope"


def _feed_events(feed: Path) -> dict[str, tuple[bool, date | datetime]]:
    """UID -> (cancelled, DTSTART) of every event in an ICS feed."""
    events: dict[str, tuple[bool, date | datetime]] = {}
    for ev in icalendar.Calendar.from_ical(feed.read_bytes()).walk("VEVENT"):
        uid = str(ev["UID"])
        assert uid not in events, f"{feed.name}: UID {uid} twice"
        events[uid] = (str(ev.get("STATUS", "")) == "CANCELLED", ev.decoded("DTSTART"))
    return events


def _page_start(text: str | None) -> date | datetime | None:
    """A <time datetime> value: YYYY-MM-DD, or an instant that must carry its offset."""
    if text is None:
        return None
    if len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else None


def test_every_event_of_a_partners_feed_is_on_its_page_at_the_same_instant(
    loaded: dict[tuple[str, str], Loaded], sites: dict[str, Site]
) -> None:
    """Each non-cancelled VEVENT appears once, same UID and start; cancelled ones never as live."""
    site = sites["public"]
    problems: list[str] = []
    cancelled_seen = compared = 0
    for feed in sorted((site.out / "partners").glob("*.ics")):
        page = loaded[(site.name, f"partners/{feed.stem}.html")]
        on_page: dict[str, list[dict[str, Any]]] = {}
        for shown in page.facts["events"]:
            on_page.setdefault(shown["uid"], []).append(shown)
        for uid, (cancelled, start) in _feed_events(feed).items():
            shown_as = on_page.pop(uid, [])
            live = [s for s in shown_as if not s["cancelled"]]
            if cancelled:
                cancelled_seen += 1
                if live:
                    problems.append(f"{feed.stem}: cancelled {uid} is shown as planned")
                continue
            if len(live) != 1:
                problems.append(f"{feed.stem}: {uid} shown {len(live)} times, not once")
                continue
            compared += 1
            at = _page_start(live[0]["start"])
            if at is None or type(at) is not type(start) or at != start:
                problems.append(f"{feed.stem}: {uid} at {live[0]['start']}, the feed says {start}")
        problems += [f"{feed.stem}: {uid} is on the page, not in the feed" for uid in on_page]
    assert not problems, "\n".join(problems[:20])
    assert cancelled_seen >= 1, "the fixture should have published a cancellation"
    assert compared > 300  # the example's partner feeds hold 332 events


# -- what a reader sees: accessibility, screens, paper -----------------------------------

SCREEN_PAGES = ("index.html", "partners/northwind.html", "managers/alex.html")


# axe takes seconds on a long page (8 s on a manager's), so it runs on one page of each
# template and state rather than all 36: the public and the private index, a partner
# page, the partner page with a cancelled event, a manager page; and at phone width.
AXE_RUNS = [
    *[("public", name, 1280) for name in SCREEN_PAGES],
    ("public", f"partners/{CANCELLED_PARTNER}.html", 1280),
    ("private", "index.html", 1280),
    *[("public", name, 390) for name in SCREEN_PAGES],
]


@pytest.mark.parametrize(("site_name", "name", "width"), AXE_RUNS)
def test_axe_finds_no_serious_or_critical_violation(
    browser: Browser, sites: dict[str, Site], site_name: str, name: str, width: int
) -> None:
    """axe-core, all its rules (contrast, names, table headers, scrollable regions...)."""
    site = sites[site_name]
    context, _ = offline_context(
        browser, site.out, javascript=True, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    page.goto(site.uri(site.out / name))
    found = axe_violations(page, axe_source())
    context.close()
    assert not found, describe_violations(found)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the PNGs go: $CHANCAL_SCREENSHOTS (to keep them, say as CI artefacts) or a tmp dir."""
    kept = os.environ.get("CHANCAL_SCREENSHOTS")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path_factory.mktemp("screenshots")


SHOT_HEIGHT = 6000


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("name", SCREEN_PAGES)
def test_screenshot_fits_the_width_and_shows_the_page(
    browser: Browser,
    scratch: Page,
    sites: dict[str, Site],
    screenshots: Path,
    name: str,
    width: int,
) -> None:
    """Nothing makes the page scroll sideways (wide tables scroll in their own box); not blank."""
    site = sites["public"]
    context, _ = offline_context(
        browser, site.out, javascript=False, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    page.goto(site.uri(site.out / name))
    # The top 6000 CSS px: whole index and partner pages would be 10-20 thousand px
    # tall, a manager's 57 thousand, seconds each to take and decode for no more news.
    height = min(page.evaluate("() => document.documentElement.scrollHeight"), SHOT_HEIGHT)
    png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
    shot = screenshots / f"{name.replace('/', '_').removesuffix('.html')}-{width}.png"
    shot.write_bytes(png)
    overflow = horizontal_overflow(page)
    wide = page.evaluate(WIDE_ELEMENTS_JS)
    context.close()
    assert overflow == 0, f"{name} is {overflow} px wider than {width} px: {wide} (see {shot})"
    colours, share = screenshot_colours(scratch, png)
    assert colours > 20 and share > 0.02, f"{shot} looks blank: {colours} colours, {share:.3f}"


# Grid cells whose text is wider than the cell: clipped ("De" for "Dec") or running into
# the next week's number ("1825"). A row's partner name may end in an ellipsis on purpose.
CUT_CELLS_JS = """() => [...document.querySelectorAll('table.year th, table.year td')]
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .filter(e => !(e.matches('th[scope=row]')
                   && getComputedStyle(e).textOverflow === 'ellipsis'))
    .map(e => `${e.textContent.trim()} (${e.scrollWidth} px in ${e.clientWidth})`)"""


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("name", ["index.html", "partners/northwind.html"])
def test_year_grid_text_fits_its_cells(
    browser: Browser, sites: dict[str, Site], name: str, width: int
) -> None:
    """Every month name, week number and event code of the grid is whole and legible."""
    site = sites["public"]
    context, _ = offline_context(
        browser, site.out, javascript=False, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    page.goto(site.uri(site.out / name))
    cut = page.evaluate(CUT_CELLS_JS)
    context.close()
    assert not cut, f"{name} at {width} px: {len(cut)} grid cells cut, first {cut[:6]}"


# The elements that stick out of the viewport, outside any box that scrolls them:
# named in the failure so the cause is found without opening the screenshot.
WIDE_ELEMENTS_JS = """() => {
    const width = document.documentElement.clientWidth, out = [];
    for (const el of document.querySelectorAll('body *')) {
        if (el.getBoundingClientRect().right <= width + 0.5) continue;
        let p = el.parentElement, clipped = false;
        for (; p && p !== document.body; p = p.parentElement) {
            if (getComputedStyle(p).overflowX !== 'visible') { clipped = true; break; }
        }
        if (!clipped) out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
    }
    return out.slice(0, 3);
}"""


def _normal(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("paper", ["A4", "Letter"])
@pytest.mark.parametrize("partner", ["northwind", "sao-paulo-tech"])
def test_printed_partner_page_has_the_whole_year_on_its_first_sheet(
    browser: Browser, sites: dict[str, Site], paper: str, partner: str
) -> None:
    """Landscape print: every month, week and cell of the grid on sheet 1, and on no other."""
    site = sites["public"]
    context, _ = offline_context(browser, site.out, javascript=False)
    page = context.new_page()
    page.goto(site.uri(site.out / "partners" / f"{partner}.html"))
    grid = page.evaluate(
        """() => { const t = document.querySelector('table.year');
            const text = (e) => e.textContent.trim();
            return {caption: text(t.caption),
                    months: [...t.querySelectorAll('thead th[scope=colgroup]')].map(text),
                    weeks: [...t.querySelectorAll('thead th.week')].map(text),
                    row: [...t.querySelectorAll('tbody tr:not(.manager) > *')].map(text)
                           .filter(s => s !== '')}; }"""
    )
    sheets = [_normal(s) for s in pdf_pages_text(page, paper)]
    context.close()
    first = sheets[0]
    assert len(grid["months"]) >= 12
    missing = [m for m in [grid["caption"], *grid["months"]] if _normal(m) not in first]
    assert not missing, f"{paper}: sheet 1 lacks {missing}: {first[:300]}"
    assert _normal(" ".join(grid["weeks"])) in first, f"{paper}: weeks cut on sheet 1"
    # The row's cells, not its name: the name cell may end in an ellipsis on paper (the
    # name is the page's heading, also on sheet 1).
    assert _normal(" ".join(grid["row"][1:])) in first, f"{paper}: the partner's row is cut"
    assert grid["row"][0] in first
    again = [i + 1 for i, s in enumerate(sheets[1:], 1) if _normal(grid["caption"]) in s]
    assert not again, f"{paper}: the year grid continues on sheets {again}"
