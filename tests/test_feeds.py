"""Which feeds exist, where they land, and writing them all or nothing."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chancal.publish.files as files_module
import chancal.publish.spool
import chancal.publish.transaction as transaction
from chancal.errors import UsageError
from chancal.exporters.ics import (
    CALENDAR_END,
    EventWriter,
    FeedHeader,
    feed_head,
    feed_order,
    render_feed,
    used_tzids,
    year_range,
)
from chancal.plan import Event, PartnerInfo, Plan, audience, managers_of
from chancal.publish.feeds import (
    period_text,
    router,
    safe_name,
    select_feeds,
    write_feeds,
)
from chancal.publish.spool import feed_parts, write_events
from chancal.publish.workflow import parse_stamp, stamp_from_epoch
from test_ics_support import STAMP, conference, make_plan_by_hand, timed_event


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` with its bytes (None for folders)."""
    return {
        str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
    }


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ident", "stem"),
    [
        ("acme", "acme"),
        ("acme-eu_2", "acme-eu_2"),
        ("Acme", "~41cme"),
        ("con", "con~"),
        ("lpt1", "lpt1~"),
        ("console", "console"),
        ("../evil", "~2e~2e~2fevil"),
        ("a/b\\c", "a~2fb~5cc"),
        ("", "~"),
        ("a.b", "a~2eb"),
        ("x~41", "x~7e41"),
        ("é", "~c3~a9"),
    ],
)
def test_safe_name(ident: str, stem: str) -> None:
    """Ids become file-name stems safe on every file system, with a reversible escape."""
    assert safe_name(ident) == stem


def test_safe_name_bounds_long_ids() -> None:
    """Very long ids are cut with a hash, so they stay distinct and within name limits."""
    a, b = safe_name("x" * 300), safe_name("x" * 299 + "y")
    assert a != b
    assert len(a) <= 120 and len(b) <= 120


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_safe_name_is_injective_and_plain(a: str, b: str) -> None:
    """Distinct ids never share a stem (case-insensitively), and stems use plain characters."""
    sa, sb = safe_name(a), safe_name(b)
    assert re.fullmatch(r"[a-z0-9_~-]+", sa)
    if a != b:
        assert sa.lower() != sb.lower()


# --- selection and routing ------------------------------------------------------------------


def test_every_feed_by_default() -> None:
    """Without selection: all.ics, one feed per partner and per manager, sorted."""
    feeds = select_feeds(make_plan_by_hand())
    assert [f.path for f in feeds] == [
        "all.ics",
        "partners/ber.ics",
        "partners/cai.ics",
        "partners/kol.ics",
        "partners/mex.ics",
        "partners/nyc.ics",
        "partners/syd.ics",
        "managers/mgr-a.ics",
        "managers/mgr-b.ics",
    ]
    assert feeds[1].header.name == "Test Program: Partner BER"
    assert feeds[1].header.timezone == "Europe/Berlin"
    assert "2022-07-01 to 2023-06-30" in feeds[0].header.description


def test_selection_writes_only_the_feeds_asked_for() -> None:
    """--partner and --manager pick feeds; all.ics only comes with everything."""
    feeds = select_feeds(make_plan_by_hand(), ["syd", "ber", "syd"], ["mgr-b"])
    assert [f.path for f in feeds] == ["partners/ber.ics", "partners/syd.ics", "managers/mgr-b.ics"]


@pytest.mark.parametrize(
    ("partners", "managers", "message"),
    [
        (["nycc"], None, "unknown partner 'nycc'; did you mean 'nyc'?"),
        (None, ["mgr-aa"], "unknown manager 'mgr-aa'; did you mean 'mgr-a'?"),
        (["zzzzzz"], None, "unknown partner 'zzzzzz'"),
    ],
)
def test_unknown_selection_is_a_usage_error(
    partners: list[str] | None, managers: list[str] | None, message: str
) -> None:
    """An unknown id is refused with a suggestion, before anything is written."""
    with pytest.raises(UsageError) as caught:
        select_feeds(make_plan_by_hand(), partners, managers)
    assert str(caught.value) == message


def test_routing() -> None:
    """A partner's event goes to all, its partner and its manager; the conference to all invited."""
    plan = make_plan_by_hand()
    feeds = select_feeds(plan)
    names_route = router(feeds)
    manager_of = managers_of(plan.partners)

    def route(ev: Event) -> Sequence[int]:
        return names_route(audience(ev, manager_of))

    paths = [f.path for f in feeds]
    own = timed_event("kol", datetime(2022, 8, 1, 10), 1)
    assert [paths[i] for i in route(own)] == [
        "all.ics",
        "partners/kol.ics",
        "managers/mgr-b.ics",
    ]
    assert [paths[i] for i in route(conference())] == paths  # everyone's partners are invited
    few = replace(conference(), partner_ids=("ber", "syd"))
    assert [paths[i] for i in route(few)] == [
        "all.ics",
        "partners/ber.ics",
        "partners/syd.ics",
        "managers/mgr-a.ics",
    ]


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (date(2027, 1, 1), date(2028, 1, 1), "2027"),
        (date(2027, 4, 1), date(2028, 4, 1), "2027-04-01 to 2028-03-31"),
    ],
)
def test_period_text(start: date, end: date, text: str) -> None:
    """A calendar year reads as the year; a fiscal year as its first and last day."""
    assert period_text(start, end) == text


# --- stamps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stamp"),
    [
        ("2027-01-01T00:00:00Z", datetime(2027, 1, 1, tzinfo=UTC)),
        ("2027-01-01T09:30:15.75+02:00", datetime(2027, 1, 1, 7, 30, 15, tzinfo=UTC)),
        ("2027-01-01 12:00", datetime(2027, 1, 1, 12, tzinfo=UTC)),
        ("2027-01-01", datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_stamp(text: str, stamp: datetime) -> None:
    """--stamp takes ISO 8601; no offset means UTC; sub-seconds are dropped."""
    assert parse_stamp(text) == stamp


@pytest.mark.parametrize(
    ("text", "stamp"),
    [("0", datetime(1970, 1, 1, tzinfo=UTC)), ("1798761600", datetime(2027, 1, 1, tzinfo=UTC))],
)
def test_stamp_from_epoch(text: str, stamp: datetime) -> None:
    """SOURCE_DATE_EPOCH is whole seconds since 1970 in UTC."""
    assert stamp_from_epoch(text) == stamp


@pytest.mark.parametrize("text", ["yesterday", "-5", "1.5", "99999999999999999999"])
def test_bad_epoch_is_a_usage_error(text: str) -> None:
    """A SOURCE_DATE_EPOCH that is not whole seconds in range is refused."""
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        stamp_from_epoch(text)


def test_bad_stamp_is_a_usage_error() -> None:
    """A --stamp that is not ISO 8601 is refused with an example."""
    with pytest.raises(UsageError, match="2027-01-01T00:00:00Z"):
        parse_stamp("next tuesday")


# --- writing --------------------------------------------------------------------------------


def test_write_feeds(tmp_path: Path) -> None:
    """Every feed lands under --out, with its events and nothing left behind."""
    plan = make_plan_by_hand()
    written = write_feeds(plan, tmp_path / "out", stamp=STAMP)
    files = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.ics"))
    assert files == sorted(f.path for f, _ in written.feeds)
    assert sorted(os.listdir(tmp_path / "out")) == ["all.ics", "managers", "partners"]
    assert written.count("all") == (1, len(plan.events))
    assert written.count("partner") == (6, 23 - 1 + 6)  # the conference is in all six
    counts = {f.path: n for f, n in written.feeds}
    assert counts["partners/ber.ics"] == 6
    for feed, n in written.feeds:
        cal = icalendar.Calendar.from_ical((tmp_path / "out" / feed.path).read_bytes())
        assert len(cal.walk("VEVENT")) == n, feed.path
    all_ics = (tmp_path / "out" / "all.ics").read_bytes()
    assert all_ics.startswith(b"BEGIN:VCALENDAR\r\n") and all_ics.endswith(b"END:VCALENDAR\r\n")


def test_partner_feed_holds_exactly_its_events(tmp_path: Path) -> None:
    """A partner sees its own events and the conference, in start order, nothing else."""
    plan = make_plan_by_hand()
    write_feeds(plan, tmp_path, stamp=STAMP, partners=["syd"])
    cal = icalendar.Calendar.from_ical((tmp_path / "partners" / "syd.ics").read_bytes())
    uids = [str(v["UID"]) for v in cal.walk("VEVENT")]
    expected = [e for e in plan.events if e.partner_id == "syd" or "syd" in e.partner_ids]
    assert sorted(uids) == sorted(e.uid for e in expected)
    starts = [v.decoded("DTSTART") for v in cal.walk("VEVENT")]
    keys = [d.astimezone(UTC) if isinstance(d, datetime) else d for d in starts]
    as_dates = [k.date() if isinstance(k, datetime) else k for k in keys]
    assert as_dates == sorted(as_dates)
    assert os.listdir(tmp_path) == ["partners"]


def test_rewrite_replaces_files_in_place(tmp_path: Path) -> None:
    """A second run replaces the feeds and keeps unrelated files in --out."""
    plan = make_plan_by_hand()
    (tmp_path / "README.txt").write_text("keep me")
    write_feeds(plan, tmp_path, stamp=STAMP)
    later = datetime(2023, 1, 1, tzinfo=UTC)
    write_feeds(plan, tmp_path, stamp=later)
    assert b"DTSTAMP:20230101T000000Z" in (tmp_path / "all.ics").read_bytes()
    assert (tmp_path / "README.txt").read_text() == "keep me"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".chancal")]


def test_failure_while_writing_leaves_folder_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If writing any feed fails, the existing output folder is exactly as it was."""
    plan = make_plan_by_hand()
    write_feeds(plan, tmp_path, stamp=STAMP)
    (tmp_path / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    calls = 0
    real = transaction.write_new

    def failing(path: Path, chunks: Iterable[bytes], *, flush: bool = True) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # one feed is already staged
            raise OSError("disk full")
        real(path, chunks, flush=flush)

    monkeypatch.setattr(transaction, "write_new", failing)
    with pytest.raises(UsageError, match="disk full"):
        write_feeds(plan, tmp_path, stamp=datetime(2024, 1, 1, tzinfo=UTC))
    assert snapshot(tmp_path) == before


def _renames_of_a_rewrite(tmp_path: Path) -> int:
    plan = make_plan_by_hand()
    write_feeds(plan, tmp_path, stamp=STAMP)
    moves = 0
    real = os.replace

    def counting(src: object, dst: object) -> None:
        nonlocal moves
        moves += 1
        real(src, dst)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "replace", counting)
        write_feeds(plan, tmp_path, stamp=datetime(2024, 1, 1, tzinfo=UTC))
    return moves


@pytest.mark.parametrize("failing_move", range(1, 9))
@pytest.mark.parametrize("extra", [False, True], ids=["feeds-only", "with-other-files"])
def test_failure_while_renaming_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_move: int, extra: bool
) -> None:
    """A rename failing at any step puts back every file and folder already moved."""
    if failing_move > _renames_of_a_rewrite(tmp_path / "count"):
        pytest.skip("the rewrite takes fewer renames")
    plan = make_plan_by_hand()
    out = tmp_path / "out"
    write_feeds(plan, out, stamp=STAMP)
    if extra:  # files the run does not rewrite must stay where they are
        (out / "partners" / "gone.ics").write_bytes(b"an old partner's feed")
        (out / "managers" / "notes.txt").write_text("mine")
    before = snapshot(out)
    real = os.replace
    moves = 0

    def flaky(src: object, dst: object) -> None:
        nonlocal moves
        moves += 1
        if moves == failing_move:
            raise OSError("device busy")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(UsageError, match="device busy"):
        write_feeds(plan, out, stamp=datetime(2024, 1, 1, tzinfo=UTC))
    monkeypatch.undo()
    assert snapshot(out) == before


def test_unchanged_feeds_are_left_alone(tmp_path: Path) -> None:
    """Re-exporting the same plan and stamp moves nothing: same inodes, no staging left."""
    plan = make_plan_by_hand()
    write_feeds(plan, tmp_path, stamp=STAMP)
    before = {p: (p.stat().st_ino, p.read_bytes()) for p in tmp_path.rglob("*.ics")}
    write_feeds(plan, tmp_path, stamp=STAMP)
    assert {p: (p.stat().st_ino, p.read_bytes()) for p in tmp_path.rglob("*.ics")} == before
    assert sorted(os.listdir(tmp_path)) == ["all.ics", "managers", "partners"]


def test_only_changed_feeds_are_replaced(tmp_path: Path) -> None:
    """A feed edited on disk is rewritten; its untouched siblings keep their inodes."""
    plan = make_plan_by_hand()
    write_feeds(plan, tmp_path, stamp=STAMP)
    expected = snapshot(tmp_path)
    edited = tmp_path / "partners" / "syd.ics"
    edited.write_bytes(edited.read_bytes()[:-3])
    other = tmp_path / "partners" / "ber.ics"
    inode = other.stat().st_ino
    write_feeds(plan, tmp_path, stamp=STAMP)
    assert snapshot(tmp_path) == expected
    assert other.stat().st_ino == inode


def test_rewrite_keeps_files_it_does_not_write(tmp_path: Path) -> None:
    """Files under partners/ that this run does not write (removed partners' feeds) stay.

    Feeds are replaced one by one in the same folder, which keeps its inode
    and permissions; the other files keep their bytes.
    """
    plan = make_plan_by_hand()
    write_feeds(plan, tmp_path, stamp=STAMP)
    partners = tmp_path / "partners"
    existing = ["gone.ics", "readme.txt"]
    for name in existing:
        (partners / name).write_bytes(name.encode())
    partners.chmod(0o750)
    inode = partners.stat().st_ino
    write_feeds(plan, tmp_path, stamp=datetime(2024, 1, 1, tzinfo=UTC))
    for name in existing:
        assert (partners / name).read_bytes() == name.encode()
    assert b"DTSTAMP:20240101T000000Z" in (partners / "syd.ics").read_bytes()
    assert partners.stat().st_ino == inode
    assert partners.stat().st_mode & 0o777 == 0o750
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".chancal")]


def test_each_feed_equals_its_events_rendered_alone(tmp_path: Path) -> None:
    """Feeds assembled from all.ics's byte ranges equal each feed rendered on its own."""
    plan = make_plan_by_hand()
    written = write_feeds(plan, tmp_path, stamp=STAMP)
    route = router([feed for feed, _ in written.feeds])
    manager_of = managers_of(plan.partners)
    years = year_range(plan.events, plan.year_start, plan.year_end - timedelta(days=1))
    for index, (feed, count) in enumerate(written.feeds):
        events = [ev for ev in plan.events if index in route(audience(ev, manager_of))]
        assert len(events) == count
        expected = render_feed(events, feed.header, stamp=STAMP, years=years)
        assert (tmp_path / feed.path).read_bytes() == expected, feed.path
    write_feeds(plan, tmp_path / "partial", stamp=STAMP, partners=["ber", "syd"])
    assert (tmp_path / "partial" / "partners" / "ber.ics").read_bytes() == (
        tmp_path / "partners" / "ber.ics"
    ).read_bytes()


@pytest.mark.parametrize("chunk", [40, 700, 5000, 1 << 20])
def test_feed_parts_assemble_the_spooled_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """A feed read back from the spool in chunks of any size is its events' bytes, in order."""
    header = FeedHeader("Test Program: Partner, Inc.", "All; of it\nreally", "Europe/Berlin")
    plan = make_plan_by_hand()
    ordered = feed_order(plan.events)
    routes = [(0, 1) if i % 3 else (0,) for i in range(len(ordered))]  # feed 1: runs and gaps
    monkeypatch.setattr(chancal.publish.spool, "_CHUNK", chunk)
    writer = EventWriter(STAMP)
    # Each event's feeds named by the index of the feed: ("0", "1") goes to feeds 0 and 1.
    items = [
        (writer.event(ev), tuple(map(str, route)), None if ev.all_day else ev.timezone)
        for ev, route in zip(ordered, routes, strict=True)
    ]
    with open(tmp_path / "spool", "w+b") as spool:
        spool.write(b"HEAD")  # offsets count from the start of the file
        bodies = write_events(items, lambda names: tuple(map(int, names)), 2, spool)
        for index, body in enumerate(bodies):
            chosen = [ev for ev, route in zip(ordered, routes, strict=True) if index in route]
            expected = (
                feed_head(header, used_tzids(chosen), (2022, 2023))
                + b"".join(writer.event(ev) for ev in chosen)
                + CALENDAR_END
            )
            chunks = list(feed_parts(header, body, spool, years=(2022, 2023)))
            assert b"".join(chunks) == expected
            assert body.events == len(chosen)
            assert max(map(len, chunks)) <= max(chunk, len(chunks[0]), len(CALENDAR_END))


def test_failed_first_run_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed run that had to create --out removes it again."""

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("no space")

    monkeypatch.setattr(transaction, "write_new", boom)
    with pytest.raises(UsageError, match="no space"):
        write_feeds(make_plan_by_hand(), tmp_path / "new" / "calendars", stamp=STAMP)
    assert os.listdir(tmp_path) == []


def _plan_with_partner_ids(ids: list[str]) -> Plan:
    plan = make_plan_by_hand([])
    partners = tuple(
        PartnerInfo(id=i, name=f"P {n}", tier="t", manager_id="mgr-a", country="XX", timezone="UTC")
        for n, i in enumerate(ids)
    )
    return replace(plan, partners=partners)


def test_ids_cannot_escape_out(tmp_path: Path) -> None:
    """Hostile ids (never valid in a program, but feeds.py does not rely on that) stay inside."""
    hostile = ["../../escape", "/etc/passwd", "..", ".", "CON", "a\x00b", "c:\\x", "~"]
    out = tmp_path / "box" / "out"
    write_feeds(_plan_with_partner_ids(hostile), out, stamp=STAMP)
    inside = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")}
    assert all(p == "box" or p.startswith("box/out") for p in inside), inside
    assert len(list((out / "partners").iterdir())) == len(hostile)


def test_refuses_to_follow_a_symlink_out_of_out(tmp_path: Path) -> None:
    """If --out/partners points elsewhere, the run refuses and writes nothing."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "partners").symlink_to(elsewhere)
    with pytest.raises(UsageError, match="outside"):
        write_feeds(make_plan_by_hand(), out, stamp=STAMP)
    assert os.listdir(elsewhere) == []
    assert sorted(os.listdir(out)) == ["partners"]


def test_out_must_be_a_folder(tmp_path: Path) -> None:
    """--out naming a file is a usage error."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        write_feeds(make_plan_by_hand(), tmp_path / "file", stamp=STAMP)


@pytest.mark.parametrize(
    ("on_disk", "chunks", "same"),
    [
        (b"abcdef", [b"abcdef"], True),
        (b"abcdef", [b"ab", b"", b"cd", b"ef"], True),
        (b"abcdefg", [b"abcdef"], False),  # the file is longer
        (b"abcdefg", [b"abc", b"def"], False),
        (b"abcde", [b"abcdef"], False),  # the file is shorter
        (b"abcdef", [b"abc", b"deX"], False),
        (b"", [b""], True),
        (b"", [b"a"], False),
    ],
)
def test_same_bytes(tmp_path: Path, on_disk: bytes, chunks: list[bytes], same: bool) -> None:
    """A feed counts as unchanged only if the file holds exactly its bytes, however chunked."""
    (tmp_path / "feed.ics").write_bytes(on_disk)
    assert files_module.same_bytes(iter(chunks), tmp_path / "feed.ics") is same
    assert files_module.same_bytes(iter(chunks), tmp_path / "missing.ics") is False
    assert files_module.same_bytes(iter(chunks), tmp_path) is False  # a folder
