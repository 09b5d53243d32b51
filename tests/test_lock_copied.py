"""The new lock copies each unchanged partner's lines from the lock read, and nothing else.

Each process that reconciles managers sends their partners' lock lines back
as bytes, or, when a partner's lines are the very bytes of its stretch of
the lock read, as that stretch (`lock_index.written_lines`). The lock
written must be exactly the one the whole-lock path (`reconcile.reconcile`)
writes, also when a hand edit puts a partner's line among the shared ones.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chancal import pool
from chancal.errors import ConfigError
from chancal.plan import SHARED_KEY_PREFIX
from chancal.publish import workflow
from chancal.publish.lock import Lines, dumps, entry_line, read_at
from chancal.publish.lock_read import loads
from chancal.publish.reconcile import reconcile
from test_planner_parallel import _generated
from test_pool import a_worker_goes_first  # noqa: F401 - a fixture

FIXTURE = Path(__file__).parent / "fixtures" / "lock" / "program.yaml"
TODAY = date(2027, 1, 4)
STAMP1 = datetime(2027, 1, 1, tzinfo=UTC)
STAMP2 = datetime(2027, 2, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    """The fixture program, exported once: its file, with chancal.lock beside it."""
    program = tmp_path / "partners.yaml"
    shutil.copy(FIXTURE, program)
    published = workflow.publish(workflow.open_program(program), today=TODAY, stamp=STAMP1)
    workflow.write(published, tmp_path / "feeds", stamp=STAMP1)
    return program


def _publish(program: Path) -> workflow.Published:
    return workflow.publish(workflow.open_program(program), today=TODAY, stamp=STAMP2)


def _whole_lock_path(published: workflow.Published, lock_text: str) -> bytes:
    """The lock the whole-lock path writes for the same year: the reference."""
    planned = workflow.plan_year(published.program, today=TODAY)
    reconciled = reconcile(planned, loads(lock_text), today=TODAY, stamp=STAMP2)
    return dumps(reconciled.lock).encode("utf-8")


def test_an_unchanged_year_holds_no_line_and_writes_the_lock_read(exported: Path) -> None:
    lock_path = exported.parent / "chancal.lock"
    published = _publish(exported)
    lock = published.reconciled.lock
    partners = {p.id for p in published.program.config.partners}
    assert {lines.first_key.partition("/")[0] for lines in lock.written} == partners
    assert all(lines.stretch is not None and lines.data == b"" for lines in lock.written)
    assert b"".join(published.lock_chunks()) == lock_path.read_bytes()
    assert not workflow.lock_is_stale(published)


def test_a_changed_partner_sends_its_lines_and_the_rest_are_copied(exported: Path) -> None:
    lock_path = exported.parent / "chancal.lock"
    before = lock_path.read_text(encoding="utf-8")
    exported.write_text(
        exported.read_text().replace("name: Northwind Traders", "name: Northwind Trading")
    )
    published = _publish(exported)
    written = published.reconciled.lock.written
    sent = {lines.first_key.partition("/")[0] for lines in written if lines.data}
    assert sent == {"northwind"}
    assert b"".join(published.lock_chunks()) == _whole_lock_path(published, before)
    assert workflow.lock_is_stale(published)


def test_a_partners_line_edited_by_hand_is_still_written_in_key_order(exported: Path) -> None:
    """A line respaced by hand is read among the shared events' lines, in the middle of its
    partner's keys: the partner's copied lines and it are merged line by line."""
    lock_path = exported.parent / "chancal.lock"
    lines = lock_path.read_text(encoding="utf-8").splitlines(keepends=True)
    northwind = [i for i, line in enumerate(lines) if line.startswith('{"key": "northwind/')]
    middle = northwind[len(northwind) // 2]
    lines[middle] = json.dumps(json.loads(lines[middle]), separators=(",", ":")) + "\n"
    edited = "".join(lines)
    lock_path.write_text(edited, encoding="utf-8")
    published = _publish(exported)
    written = b"".join(published.lock_chunks())
    assert written == _whole_lock_path(published, edited)
    keys = [json.loads(line)["key"] for line in written.splitlines() if line.startswith(b'{"key"')]
    assert keys == sorted(keys) and len(keys) == len(set(keys)) == sum(
        line.startswith('{"key"') for line in lines
    )


def test_a_lock_replaced_after_it_was_read_is_never_copied_from(exported: Path) -> None:
    lock_path = exported.parent / "chancal.lock"
    published = _publish(exported)
    lock_path.write_bytes(lock_path.read_bytes() + b"\n")  # another run wrote it meanwhile
    with pytest.raises(ConfigError, match="changed while chancal was reading it"):
        b"".join(published.lock_chunks())


def test_a_lock_reformatted_by_a_json_tool_keeps_every_event(exported: Path) -> None:
    """`jq -c . chancal.lock` writes every line compact: each is still its partner's (read
    by the process that plans it), so nothing is added or cancelled, and the lock comes
    back as chancal writes it."""
    lock_path = exported.parent / "chancal.lock"
    canonical = lock_path.read_bytes()
    compact = [
        json.dumps(json.loads(line), separators=(",", ":")) for line in canonical.splitlines()
    ]
    lock_path.write_text("\n".join(compact) + "\n", encoding="utf-8")
    published = _publish(exported)
    assert published.reconciled.changes == ()
    assert b"".join(published.lock_chunks()) == canonical


def test_lines_and_entries_are_written_in_key_order_even_when_they_interleave(
    exported: Path,
) -> None:
    """However the runs were cut, the lock's events come out sorted by key."""
    lock = loads((exported.parent / "chancal.lock").read_text(encoding="utf-8"))
    northwind = [e for e in lock.entries if e.key.startswith("northwind/")]
    as_lines = northwind[::2]  # every other one sent as lines: the rest fall inside them
    block = Lines(
        as_lines[0].key, as_lines[-1].key, b"".join(entry_line(e) + b"\n" for e in as_lines), None
    )
    sent = tuple(e for e in lock.entries if e not in as_lines)
    assert dumps(replace(lock, entries=sent, written=(block,))) == dumps(lock)


def test_no_partner_may_take_the_shared_events_key(tmp_path: Path) -> None:
    program = tmp_path / "partners.yaml"
    program.write_text(FIXTURE.read_text().replace("  - id: northwind\n", "  - id: program\n"))
    with pytest.raises(ConfigError) as raised:
        workflow.open_program(program)
    [problem] = [p for p in raised.value.problems if "reserved" in p.message]
    assert "'program-partner'" in problem.message and problem.line > 1


def test_stretches_are_read_where_there_is_no_pread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no `os.pread`: the same bytes come by seeking, also past the end."""
    path = tmp_path / "lines"
    path.write_bytes(b"0123456789")
    fd = os.open(path, os.O_RDONLY)
    try:
        with_pread = [read_at(fd, 4, 3), read_at(fd, 8, 6)]
        monkeypatch.delattr(os, "pread")
        assert [read_at(fd, 4, 3), read_at(fd, 8, 6)] == with_pread == [b"3456", b"6789"]
    finally:
        os.close(fd)


@pytest.mark.usefixtures("a_worker_goes_first")
def test_a_year_reconciled_in_workers_writes_the_lock_one_process_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """600 generated partners, published, then one moved to another manager: with
    CHANCAL_JOBS=2 a worker reconciles managers and sends their lines back, and the lock,
    the changes and the events are those of CHANCAL_JOBS=1."""
    program = tmp_path / "partners.yaml"
    program.write_text(_generated(600), encoding="utf-8")
    monkeypatch.setattr(pool.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setenv(pool.JOBS_ENV, "1")
    first = workflow.publish(workflow.open_program(program), today=TODAY, stamp=STAMP1)
    workflow.write(first, tmp_path / "feeds", stamp=STAMP1)
    config = first.program.config
    moved = config.partners[0]
    other = next(m.id for m in config.managers if m.id != moved.manager)
    head, _, partners = program.read_text(encoding="utf-8").partition("\npartners:\n")
    partners = partners.replace(f"    manager: {moved.manager}\n", f"    manager: {other}\n", 1)
    program.write_text(f"{head}\npartners:\n{partners}", encoding="utf-8")
    pids: list[frozenset[int]] = []
    run = pool.run

    def watched(*args: Any, **kwargs: Any) -> pool.Outcome[Any]:
        outcome = run(*args, **kwargs)
        pids.append(outcome.pids)
        return outcome

    monkeypatch.setattr(pool, "run", watched)
    made = {}
    for jobs in ("1", "2"):
        monkeypatch.setenv(pool.JOBS_ENV, jobs)
        published = _publish(program)
        reconciled = published.reconciled
        made[jobs] = b"".join(published.lock_chunks()), reconciled.changes, reconciled.plan
    assert pids[0] == {os.getpid()} and pids[1] - {os.getpid()}, "no worker reconciled"
    assert made["2"] == made["1"]
    assert any(change.kind == "moved" for change in made["1"][1])
    # Only the two managers' partners can change; every other partner's lines are copied.
    written = published.reconciled.lock.written
    sent = {lines.first_key.partition("/")[0] for lines in written if lines.data}
    involved = {p.id for p in config.partners if p.manager in (moved.manager, other)}
    assert moved.id in sent and sent <= involved
    copied = sum(lines.stretch is not None for lines in written)
    assert copied >= len(config.partners) - len(involved)


def test_the_year_as_planned_comes_back_only_for_the_site(
    exported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publishing needs the year as reconciled; the year as planned (the site's scores
    only) stays in the process that planned, judged and reconciled it."""
    from chancal.health import check_health
    from chancal.publish import year
    from chancal.publish.feeds import Formats

    sent: list[int] = []
    manager = year._Process.manager

    def watched(self: year._Process, manager_id: str) -> Any:
        part = manager(self, manager_id)
        sent.append(len(part.events))
        return part

    monkeypatch.setattr(year._Process, "manager", watched)
    monkeypatch.setenv(pool.JOBS_ENV, "1")
    program = workflow.open_program(exported)
    for formats in (None, workflow.ICS_ONLY, Formats(csv=True)):
        plain = workflow.publish(program, today=TODAY, stamp=STAMP2, formats=formats)
        assert sent and not any(sent) and plain.report is None
        sent.clear()
    site = workflow.publish(program, today=TODAY, stamp=STAMP2, formats=Formats(html=True))
    assert all(sent)
    planned = workflow.plan_year(program, today=TODAY)
    health = program.config.program.health
    gap = program.config.program.strategy_gap
    assert site.report == check_health(planned, health, strategy_gap=gap)
    assert site.reconciled == plain.reconciled and site.breaks == plain.breaks


def test_a_uid_shared_by_two_partners_is_refused_as_reading_the_whole_lock_refuses_it(
    exported: Path,
) -> None:
    """Each part is read by the process that plans it; a UID in two parts is still found,
    on the same line and with the same words as when the whole file is read."""
    lock_path = exported.parent / "chancal.lock"
    lines = lock_path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.startswith('{"key": "northwind/'))
    later = max(i for i, line in enumerate(lines) if line.startswith('{"key": "'))
    assert json.loads(lines[later])["key"].split("/")[0] != "northwind"
    uid = json.loads(lines[first])["uid"]
    lines[later] = lines[later].replace(json.loads(lines[later])["uid"], uid)
    edited = "".join(lines)
    lock_path.write_text(edited, encoding="utf-8")
    with pytest.raises(ConfigError) as whole:
        loads(edited)
    with pytest.raises(ConfigError) as in_parts:
        _publish(exported)
    found = [(p.line, p.column, p.message) for p in in_parts.value.problems]
    assert found == [(p.line, p.column, p.message) for p in whole.value.problems]
    assert found[0][0] == later + 1 and f"already used on line {first + 1}" in found[0][2]


@given(owners=st.lists(st.sampled_from(["acme", "bolt", SHARED_KEY_PREFIX, None]), max_size=12))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_index_finds_each_partners_lines_however_they_are_ordered(
    tmp_path: Path, owners: list[str | None]
) -> None:
    """Each partner's stretches of the lock hold exactly its event lines, with their numbers,
    whether its lines come one after another (as chancal writes them) or between others'
    (edited by hand); the header, owners and shared events are the rest."""
    from chancal.publish.lock_index import _numbered, index_lock

    lines = [b'{"chancal_lock": 2, "program": "prog"}\n']
    for n, owner in enumerate(owners):
        if owner is None:
            lines.append(b'{"owner": "manager", "id": "m%d", "name": "M"}\n' % n)
        else:
            lines.append(b'{"key": "%s/qbr/%d", "uid": "u%d"}\n' % (owner.encode(), n, n))
    path = tmp_path / "chancal.lock"
    path.write_bytes(b"".join(lines))
    index = index_lock(path)
    numbered = list(enumerate(lines, start=1))
    for partner in ("acme", "bolt"):
        expected = [
            (n, line) for n, line in numbered if line.startswith(b'{"key": "%s/' % partner.encode())
        ]
        assert _numbered(index, index.stretches.get(partner, ())) == expected
    assert SHARED_KEY_PREFIX not in index.stretches
    assert list(index.rest) == [
        (n, line)
        for n, line in numbered
        if not line.startswith((b'{"key": "acme/', b'{"key": "bolt/'))
    ]
