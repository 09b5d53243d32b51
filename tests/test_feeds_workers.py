"""Feeds emitted by forked workers are the same files, compared and written the same way."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import chancal.feeds
from chancal import workers
from chancal.feeds import stale_feeds, write_feeds
from test_feeds import snapshot
from test_ics_support import STAMP, make_plan_by_hand

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="workers are forked")


@pytest.fixture
def three_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every export, however small, emits its feeds in three processes."""
    monkeypatch.setattr(chancal.feeds, "MIN_FEEDS_PER_WORKER", 1)
    monkeypatch.setattr(workers, "available", lambda: 3)


def test_workers_write_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, three_processes: None
) -> None:
    """Written in three processes or one, the folder holds the same bytes; a re-export
    leaves every file alone (same inodes), and --check finds nothing stale."""
    plan = make_plan_by_hand()
    write_feeds(plan, tmp_path / "split", stamp=STAMP)
    monkeypatch.setattr(workers, "available", lambda: 1)
    write_feeds(plan, tmp_path / "one", stamp=STAMP)
    assert snapshot(tmp_path / "split") == snapshot(tmp_path / "one")
    monkeypatch.setattr(workers, "available", lambda: 3)
    inodes = {p: p.stat().st_ino for p in (tmp_path / "split").rglob("*.ics")}
    write_feeds(plan, tmp_path / "split", stamp=STAMP)
    assert {p: p.stat().st_ino for p in (tmp_path / "split").rglob("*.ics")} == inodes
    assert stale_feeds(plan, tmp_path / "split", stamp=STAMP) == []


def test_workers_report_what_changed(tmp_path: Path, three_processes: None) -> None:
    """Feeds edited on disk, whichever process looks at them, are reported stale by --check
    and rewritten by an export, in feed order."""
    plan = make_plan_by_hand()
    write_feeds(plan, tmp_path, stamp=STAMP)
    expected = snapshot(tmp_path)
    feeds = sorted((tmp_path / "partners").glob("*.ics")) + sorted(
        (tmp_path / "managers").glob("*.ics")
    )
    edited = feeds[::2]
    for path in edited:
        path.write_bytes(path.read_bytes() + b"\r\n")
    stale = stale_feeds(plan, tmp_path, stamp=STAMP)
    assert sorted(stale) == sorted(str(p.relative_to(tmp_path)) for p in edited)
    write_feeds(plan, tmp_path, stamp=STAMP)
    assert snapshot(tmp_path) == expected


def test_a_failing_worker_costs_time_not_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, three_processes: None
) -> None:
    """Workers that die after half-writing a feed: this process writes their feeds again,
    and the folder is exactly what one process writes."""
    plan = make_plan_by_hand()
    write_feeds(plan, tmp_path / "one", stamp=STAMP)
    me = os.getpid()
    write_new = chancal.feeds._write_new

    def dying(path: str, chunks: object) -> None:
        if os.getpid() != me:
            Path(path).write_bytes(b"BEGIN:VCALENDAR\r\n")  # half a feed, then the end
            raise RuntimeError("worker died")
        write_new(path, chunks)  # type: ignore[arg-type]

    monkeypatch.setattr(chancal.feeds, "_write_new", dying)
    write_feeds(plan, tmp_path / "split", stamp=STAMP)
    assert snapshot(tmp_path / "split") == snapshot(tmp_path / "one")


@pytest.mark.parametrize("jobs", [1, 2, 3, 7])
def test_flag_split_answers_every_item_once(jobs: int) -> None:
    """Whatever the number of processes, every item is checked and the flagged ones come
    back sorted."""
    flagged, failed = workers.flag_split(list(range(20)), lambda i: i % 3 == 0, jobs)
    assert flagged == [0, 3, 6, 9, 12, 15, 18]
    assert failed == []
