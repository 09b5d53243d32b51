"""`chancal export --html`: the static calendar site, `--base-url` and `--private` (no browser).

The pages are read with the standard library's HTML parser: well nested,
every event of a partner's feed on its page at the same instant, every user
text escaped, every relative link pointing at a written file, the same bytes
on any machine. Goldens of the bundled example's index and one partner page
live under tests/golden/site/ (rewrite with `pytest --update-golden`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import posixpath
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path

import icalendar
import pytest
import yaml
from typer.testing import CliRunner

from chancal.cli import app
from chancal.publish.addresses import parse_base_url, private_token, stem

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = ROOT / "tests" / "golden" / "site"
SECRET = "correct horse battery staple 42"
PINNED = ("--stamp", "2027-01-01T00:00:00Z", "--today", "2027-01-01")
BASE = "https://calendars.example.com/contoso/"

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


@dataclass
class Page:
    """What the parser saw in one page."""

    lang: str | None = None
    links: list[str] = field(default_factory=list)  # every href and src
    classes: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (tag, attrs)
    events: dict[str, list[str]] = field(default_factory=dict)  # data-uid -> <time datetime>s
    scripts: int = 0
    text: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    """Collects a page's facts and checks that its elements nest."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.open: list[str] = []
        self.event: str | None = None
        self.event_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        page = self.page
        if tag == "html":
            page.lang = values.get("lang")
        if tag == "script":
            page.scripts += 1
        for name in ("href", "src"):
            if name in values:
                page.links.append(values[name])
        page.classes.append((tag, values))
        if "event" in values.get("class", "").split():
            self.event, self.event_depth = values["data-uid"], len(self.open)
            page.events[self.event] = []
        if tag == "time" and self.event is not None:
            page.events[self.event].append(values["datetime"])
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.open or self.open[-1] != tag:
            self.page.problems.append(f"</{tag}> closes <{self.open[-1] if self.open else '-'}>")
            return
        self.open.pop()
        if self.event is not None and len(self.open) == self.event_depth:
            self.event = None

    def handle_data(self, data: str) -> None:
        self.page.text.append(data)


def read_page(path: Path) -> Page:
    reader = _Reader()
    reader.feed(path.read_text(encoding="utf-8"))
    reader.close()
    if reader.open:
        reader.page.problems.append(f"never closed: {reader.open}")
    return reader.page


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def program_copy(folder: Path, name: str = "partners.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "partners.yaml"
    shutil.copy(EXAMPLES / name, target)
    return target


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
        if p.is_file()
    }  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example exported with every format and a base URL."""
    folder = tmp_path_factory.mktemp("site")
    program = program_copy(folder)
    out = folder / "out"
    code, _stdout, stderr = run(
        "export", str(program), "--ics", "--csv", "--html", "--base-url", BASE,
        "--out", str(out), *PINNED,
    )  # fmt: skip
    assert code == 0, stderr
    return out


@pytest.fixture(scope="module")
def private_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("private")
    program = program_copy(folder)
    out = folder / "out"
    code, _stdout, stderr = run(
        "export", str(program), "--ics", "--csv", "--html", "--private", "--out", str(out),
        *PINNED, env={"CHANCAL_FEED_SECRET": SECRET},
    )  # fmt: skip
    assert code == 0, stderr
    return out


def partner_ids() -> list[str]:
    data = yaml.safe_load((EXAMPLES / "partners.yaml").read_text(encoding="utf-8"))
    return [p["id"] for p in data["partners"]]


# -- the pages ------------------------------------------------------------------


def test_every_page_is_well_formed_and_names_its_language(site: Path) -> None:
    """Index, partner and manager pages: nested elements, lang="en", no script at all, and
    no Referer sent when a link is followed."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == 1 + len(partner_ids()) + 3
    for path in pages:
        page = read_page(path)
        assert page.problems == [], path
        assert page.lang == "en", path
        assert page.scripts == 0, path
        metas = {a.get("name"): a.get("content") for tag, a in page.classes if tag == "meta"}
        assert metas["referrer"] == "no-referrer", path  # a private address never leaks on


def test_every_event_of_a_partners_feed_is_on_its_page_at_the_same_instant(site: Path) -> None:
    """Each VEVENT of partners/<id>.ics is a class="event" with its UID and its start."""
    for ident in partner_ids():
        feed = icalendar.Calendar.from_ical((site / f"partners/{ident}.ics").read_bytes())
        page = read_page(site / f"partners/{ident}.html")
        starts = {str(ev["UID"]): ev.decoded("DTSTART") for ev in feed.walk("VEVENT")}
        assert starts, ident
        assert set(page.events) == set(starts), ident
        for uid, start in starts.items():
            shown = page.events[uid][0]
            if isinstance(start, datetime):
                assert "T" in shown and shown[-6] in "+-", shown  # an instant with its offset
                assert datetime.fromisoformat(shown) == start, (ident, uid)
            else:
                assert date.fromisoformat(shown) == start, (ident, uid)


def test_a_partner_page_shows_its_agenda_in_the_partners_zone(site: Path) -> None:
    """Northwind (America/Chicago): its events carry Chicago's offsets, -06:00 or -05:00."""
    page = read_page(site / "partners/northwind.html")
    offsets = {t[-6:] for times in page.events.values() for t in times if "T" in t}
    assert offsets and offsets <= {"-06:00", "-05:00"}


def test_every_relative_link_resolves_to_a_written_file(site: Path) -> None:
    """Stylesheet, pages, feeds and tables: no link from any page points at nothing."""
    for path in sorted(site.rglob("*.html")):
        here = path.relative_to(site).as_posix()
        for link in read_page(path).links:
            if "://" in link or link.startswith(("#", "mailto:")):
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(here), link))
            assert (site / target).is_file(), f"{here} links {link}"


def test_the_index_links_every_partner_and_manager_page(site: Path) -> None:
    index = read_page(site / "index.html")
    for ident in partner_ids():
        assert f"partners/{ident}.html" in index.links
    assert {"managers/alex.html", "managers/claire.html", "managers/mei.html"} <= set(index.links)
    assert any(tag == "table" and attrs.get("class") == "year" for tag, attrs in index.classes)


def test_subscribe_and_download_links(site: Path) -> None:
    """With --base-url: webcal:// and https:// subscribe links, .ics and .csv downloads."""
    page = read_page(site / "partners/northwind.html")
    subscribe = [
        a["href"] for tag, a in page.classes if tag == "a" and a.get("class") == "subscribe"
    ]
    download = [a["href"] for tag, a in page.classes if tag == "a" and a.get("class") == "download"]
    assert subscribe == [
        "webcal://calendars.example.com/contoso/partners/northwind.ics",
        f"{BASE}partners/northwind.ics",
    ]
    assert download == ["northwind.ics", "northwind.csv"]


def test_a_page_shows_the_join_link_of_a_virtual_event(site: Path) -> None:
    feed = icalendar.Calendar.from_ical((site / "partners/northwind.ics").read_bytes())
    links = {str(ev["CONFERENCE"]) for ev in feed.walk("VEVENT") if "CONFERENCE" in ev}
    assert links
    assert links <= set(read_page(site / "partners/northwind.html").links)


def test_feeds_name_their_own_address_and_page_with_a_base_url(site: Path) -> None:
    """SOURCE is the feed's absolute URL, URL the page's (RFC 7986)."""
    feed = icalendar.Calendar.from_ical((site / "partners/northwind.ics").read_bytes())
    assert str(feed["SOURCE"]) == f"{BASE}partners/northwind.ics"
    assert str(feed["URL"]) == f"{BASE}partners/northwind.html"
    everything = icalendar.Calendar.from_ical((site / "all.ics").read_bytes())
    assert (str(everything["SOURCE"]), str(everything["URL"])) == (
        f"{BASE}all.ics",
        f"{BASE}index.html",
    )


def test_without_base_url_the_feeds_are_as_before(tmp_path: Path) -> None:
    """--html changes no feed byte: the same feeds as --ics alone, and no URL or SOURCE."""
    program = program_copy(tmp_path / "p", "minimal.yaml")
    plain, with_site = tmp_path / "plain", tmp_path / "site"
    assert run("export", str(program), "--ics", "--out", str(plain), *PINNED)[0] == 0
    assert run("export", str(program), "--ics", "--html", "--out", str(with_site), *PINNED)[0] == 0
    feeds = {k: v for k, v in tree(with_site).items() if k.endswith(".ics")}
    assert feeds == tree(plain)
    assert all(b"\r\nSOURCE" not in v and b"\r\nURL:" not in v.split(b"BEGIN:VEVENT")[0]
               for v in feeds.values())  # fmt: skip


def test_feed_urls_without_the_site_point_at_the_feed(tmp_path: Path) -> None:
    """--base-url without --html: URL is the feed's own address, as SOURCE is."""
    program = program_copy(tmp_path / "p", "minimal.yaml")
    out = tmp_path / "out"
    assert run("export", str(program), "--ics", "--base-url", "http://h.example/c", "--out",
               str(out), *PINNED)[0] == 0  # fmt: skip
    feed = icalendar.Calendar.from_ical((out / "partners/acme.ics").read_bytes())
    assert str(feed["URL"]) == str(feed["SOURCE"]) == "http://h.example/c/partners/acme.ics"


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "example.com/calendars", "https://", "javascript:alert(1)",
     "https://example.com/?q=1", "https://exa mple.com/", "https://user@example.com/"],
)  # fmt: skip
def test_an_unusable_base_url_exits_2_and_writes_nothing(tmp_path: Path, url: str) -> None:
    program = program_copy(tmp_path / "p", "minimal.yaml")
    code, _stdout, stderr = run("export", str(program), "--ics", "--base-url", url,
                                "--out", str(tmp_path / "out"))  # fmt: skip
    assert code == 2
    assert "--base-url" in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "p" / "chancal.lock").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [("https://a.example", "https://a.example/"), ("http://a.example/x/", "http://a.example/x/")],
)
def test_base_url_is_kept_with_one_trailing_slash(url: str, expected: str) -> None:
    assert parse_base_url(url) == expected


def test_user_text_is_escaped(tmp_path: Path) -> None:
    """A partner named <script>alert(1)</script> shows as text on every page."""
    data = yaml.safe_load((EXAMPLES / "minimal.yaml").read_text(encoding="utf-8"))
    hostile = "<script>alert(1)</script>"
    data["partners"][0]["name"] = hostile
    data["managers"][0]["name"] = 'Sam "><img src=x onerror=alert(2)>'
    program = tmp_path / "partners.yaml"
    program.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "out"
    code, _stdout, stderr = run("export", str(program), "--html", "--out", str(out), *PINNED)
    assert code == 0, stderr
    for path in [out / "index.html", out / "partners/acme.html", out / "managers/sam.html"]:
        page = read_page(path)
        assert page.scripts == 0 and page.problems == []
        assert not any(tag == "img" for tag, _ in page.classes)
        raw = path.read_text(encoding="utf-8")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
        assert hostile in "".join(page.text)  # the reader sees the name as written


# -- bytes, staging, --check ------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [{"PYTHONHASHSEED": "4242", "TZ": "Pacific/Chatham", "LC_ALL": "C.UTF-8"}],
    ids=["seed4242-chatham"],
)
def test_same_site_whatever_the_machine(tmp_path: Path, env: dict[str, str]) -> None:
    """Another hash seed, time zone and locale, in a fresh process, give the same bytes."""
    program = program_copy(tmp_path / "p")
    here, there = tmp_path / "here", tmp_path / "there"
    args = ["export", str(program), "--ics", "--csv", "--html", *PINNED]
    assert run(*args, "--out", str(here))[0] == 0
    subprocess.run(
        [sys.executable, "-m", "chancal", *args, "--out", str(there)],
        env={**os.environ, **env}, check=True, capture_output=True,
    )  # fmt: skip

    def digest(folder: Path) -> dict[str, str]:
        return {k: hashlib.sha256(v).hexdigest() for k, v in tree(folder).items()}

    assert digest(here) == digest(there)
    assert any(k.endswith(".html") for k in digest(here))


def test_a_failed_run_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    """A folder where a page must go stops the run (exit 2): no feed or page is written."""
    program = program_copy(tmp_path / "p", "minimal.yaml")
    out = tmp_path / "out"
    (out / "partners" / "acme.html").mkdir(parents=True)
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    code, _stdout, stderr = run(
        "export", str(program), "--ics", "--html", "--out", str(out), *PINNED
    )
    assert code == 2, stderr
    assert "acme.html" in stderr and "Traceback" not in stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before


def test_check_reports_a_stale_page(tmp_path: Path) -> None:
    """export --check exits 1 and names a page that differs; 0 once it is rewritten."""
    program = program_copy(tmp_path / "p", "minimal.yaml")
    out = tmp_path / "out"
    args = ("export", str(program), "--ics", "--html", "--out", str(out), *PINNED)
    assert run(*args)[0] == 0
    assert run(*args, "--check")[0] == 0
    page = out / "partners" / "acme.html"
    page.write_bytes(page.read_bytes().replace(b"Acme Resellers", b"Acme Re-sellers"))
    code, stdout, stderr = run(*args, "--check")
    assert code == 1
    assert "acme.html" in stdout + stderr
    (out / "site.css").unlink()
    code, stdout, stderr = run(*args, "--check")
    assert code == 1 and "site.css" in stdout + stderr
    assert run(*args)[0] == 0
    assert run(*args, "--check")[0] == 0


def test_golden_pages(site: Path, tmp_path: Path, update_golden: bool) -> None:
    """The bundled example's index and Northwind's page, byte for byte (without --base-url
    and --csv, so the golden shows the plain site)."""
    program = program_copy(tmp_path / "p")
    out = tmp_path / "out"
    assert run("export", str(program), "--ics", "--html", "--out", str(out), *PINNED)[0] == 0
    for name in ["index.html", "partners/northwind.html", "managers/alex.html"]:
        golden = GOLDEN / "partners" / name
        data = (out / name).read_bytes()
        if update_golden:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_bytes(data)
            continue
        assert golden.exists(), f"{golden} missing: run pytest --update-golden"
        assert golden.read_bytes() == data, f"{golden} differs: review, then --update-golden"


# -- private addresses --------------------------------------------------------------


def test_private_paths_are_derived_from_the_secret(private_site: Path) -> None:
    """Each partner's feed, table and page sit at private/<HMAC token>/, nowhere public."""
    secret = SECRET.encode()
    for ident in partner_ids():
        token = private_token(secret, "partner", ident)
        assert len(token) == 26 and token.isalnum() and token == token.lower()
        for ext in ("ics", "csv", "html"):
            assert (private_site / "private" / token / f"{ident}.{ext}").is_file()
    assert not (private_site / "partners").exists() and not (private_site / "managers").exists()
    assert not (private_site / "all.ics").exists()


def test_a_private_index_lists_no_partner_or_manager(private_site: Path) -> None:
    raw = (private_site / "index.html").read_text(encoding="utf-8")
    data = yaml.safe_load((EXAMPLES / "partners.yaml").read_text(encoding="utf-8"))
    for person in data["partners"] + data["managers"]:
        assert person["name"] not in raw and person["id"] not in raw
    assert "private/" not in raw
    assert not any(tag == "table" for tag, _ in read_page(private_site / "index.html").classes)


def test_a_private_partner_page_does_not_link_its_managers_page(private_site: Path) -> None:
    """A manager's page lists the manager's other partners: a partner never gets its address."""
    token = private_token(SECRET.encode(), "partner", "northwind")
    page = read_page(private_site / "private" / token / "northwind.html")
    manager = stem("manager", "alex", SECRET.encode())
    assert not any(manager.split("/")[1] in link for link in page.links)


def test_private_paths_are_stable_and_rotate_with_the_secret(tmp_path: Path) -> None:
    """The same secret gives the same paths on every run; a new one moves every address."""
    program = program_copy(tmp_path / "p", "minimal.yaml")

    def paths(out: Path, secret: str) -> set[str]:
        code, _stdout, stderr = run("export", str(program), "--ics", "--html", "--private",
                                    "--out", str(out), *PINNED,
                                    env={"CHANCAL_FEED_SECRET": secret})  # fmt: skip
        assert code == 0, stderr
        return {k for k in tree(out) if k.startswith("private/")}

    first = paths(tmp_path / "a", SECRET)
    assert first and paths(tmp_path / "b", SECRET) == first
    other = paths(tmp_path / "c", SECRET + "!")
    folders = {k.split("/")[1] for k in first}
    assert len(folders) == 3  # acme, sam and the whole program
    assert folders.isdisjoint({k.split("/")[1] for k in other})


@pytest.mark.parametrize(
    ("env", "words"),
    [({}, "CHANCAL_FEED_SECRET"), ({"CHANCAL_FEED_SECRET": "short"}, "at least 16")],
    ids=["missing", "short"],
)
def test_private_without_a_usable_secret_exits_2(
    tmp_path: Path, env: dict[str, str], words: str
) -> None:
    program = program_copy(tmp_path / "p", "minimal.yaml")
    environment = {"CHANCAL_FEED_SECRET": "", **env}
    code, _stdout, stderr = run("export", str(program), "--ics", "--html", "--private",
                                "--out", str(tmp_path / "out"), env=environment)  # fmt: skip
    assert code == 2
    assert words in stderr and "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


def test_addresses_lists_where_each_private_file_is(tmp_path: Path) -> None:
    """--addresses writes one row per owner whose links are the files written under --out."""
    program = program_copy(tmp_path / "p", "minimal.yaml")
    out, book = tmp_path / "out", tmp_path / "links.csv"
    code, _stdout, stderr = run(
        "export", str(program), "--ics", "--csv", "--html", "--private", "--out", str(out),
        "--addresses", str(book), *PINNED, env={"CHANCAL_FEED_SECRET": SECRET},
    )  # fmt: skip
    assert code == 0, stderr
    rows = list(csv.DictReader(io.StringIO(book.read_text(encoding="utf-8"))))
    assert [(r["kind"], r["id"]) for r in rows] == [
        ("all", "minimal-program"), ("partner", "acme"), ("manager", "sam")
    ]  # fmt: skip
    written = set(tree(out))
    for row in rows:
        for column in ("page", "feed", "table"):
            if row[column]:
                assert row[column] in written, (row, column)
    assert rows[1]["page"] == stem("partner", "acme", SECRET.encode()) + ".html"
    assert rows[2]["table"] == ""  # managers have no table
    assert rows[0]["page"] == ""  # the index of a private site is nobody's page


def test_addresses_inside_the_published_folder_are_refused(tmp_path: Path) -> None:
    program = program_copy(tmp_path / "p", "minimal.yaml")
    out = tmp_path / "out"
    code, _stdout, stderr = run(
        "export", str(program), "--html", "--out", str(out), "--addresses",
        str(out / "links.csv"), *PINNED,
    )  # fmt: skip
    assert code == 2 and "--addresses" in stderr
    assert not out.exists()


def test_one_partners_page_alone_comes_with_its_stylesheet(tmp_path: Path) -> None:
    """--partner with --html writes that page and site.css (no index: not every page is there)."""
    program = program_copy(tmp_path / "p")
    out = tmp_path / "out"
    code, _stdout, stderr = run(
        "export", str(program), "--ics", "--html", "--partner", "northwind", "--out", str(out),
        *PINNED,
    )  # fmt: skip
    assert code == 0, stderr
    assert sorted(tree(out)) == ["partners/northwind.html", "partners/northwind.ics", "site.css"]
    assert "../site.css" in read_page(out / "partners/northwind.html").links


def test_a_private_export_over_a_public_site_warns_of_the_public_files(tmp_path: Path) -> None:
    """Export never deletes: the public pages left from before are named on stderr."""
    program = program_copy(tmp_path / "p", "minimal.yaml")
    out = tmp_path / "out"
    args = ("export", str(program), "--ics", "--html", *PINNED)
    assert run(*args, "--out", str(out))[0] == 0
    secret = {"CHANCAL_FEED_SECRET": SECRET}
    code, _stdout, stderr = run(*args, "--out", str(out), "--private", env=secret)
    assert code == 0
    assert "warning: partners, managers, all.ics" in stderr and "delete them" in stderr
    code, _stdout, stderr = run(*args, "--out", str(tmp_path / "fresh"), "--private", env=secret)
    assert code == 0 and "warning" not in stderr
