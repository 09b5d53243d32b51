"""`chancal publish --caldav` when the real server goes away, redirects, or races an edit.

A real Radicale runs behind `caldav_support.Front`, a counting proxy on
127.0.0.1 that kills the Radicale process part-way through a publish.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caldav_support import PASSWORD, USER, Front, Radicale, free_port
from chancal.cli import app

pytest.importorskip("radicale")
pytest.importorskip("caldav")

ROOT = Path(__file__).parent.parent
STARTER = ROOT / "src" / "chancal" / "templates" / "partners.yaml"
CALENDARS = ("partner-northwind", "manager-alex")
TIMES = ("--today", "2027-01-04", "--stamp", "2027-01-01T00:00:00Z")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Radicale, Front]]:
    """A Radicale (storage in tmp_path) and a counting front that chancal talks to."""
    (tmp_path / "server").mkdir()
    radicale = Radicale(tmp_path / "server")
    radicale.start()
    front = Front(radicale)
    try:
        yield radicale, front
    finally:
        front.close()
        radicale.stop()


@pytest.fixture
def program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The starter program (one partner, one manager) in a fresh folder, credentials set."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setenv("CHANCAL_CALDAV_USER", USER)
    monkeypatch.setenv("CHANCAL_CALDAV_PASSWORD", PASSWORD)
    target = tmp_path / "project" / "partners.yaml"
    target.parent.mkdir()
    shutil.copy(STARTER, target)
    return target


def push(program: Path, url: str, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        ["publish", str(program), "--caldav", url, *TIMES, *extra],
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


def state_of(program: Path, url: str) -> dict[str, str]:
    """What the state file says the server holds: resource path -> ETag."""
    data = json.loads((program.parent / "chancal.lock.caldav.json").read_text(encoding="utf-8"))
    return {path: entry["etag"] for path, entry in data["servers"][url].items()}


def held(radicale: Radicale) -> dict[str, str]:
    """What the server holds in chancal's calendars: resource path -> ETag."""
    found: dict[str, str] = {}
    for calendar in CALENDARS:
        found.update(radicale.etags(calendar))
    return found


@pytest.mark.parametrize("answer", ["502", "drop"])
def test_a_server_killed_mid_run_is_finished_by_the_next_run(
    server: tuple[Radicale, Front], program: Path, answer: str
) -> None:
    """Radicale is killed before the 6th PUT (a gateway answers 502, or the connection just
    drops): exit 1 saying what is left, the state holds exactly what the server holds, the
    next run against the restarted server finishes, and a third run writes nothing."""
    radicale, front = server
    front.kill_at_put = 6
    front.dead_answer = "502" if answer == "502" else "drop"
    code, out, err = push(program, front.url)
    assert code == 1, out + err
    assert err.count("\n") == 1, err
    assert "stopped answering" in err and "still to check" in err
    assert "run the same command again" in err
    assert front.counts["PUT"] == 5
    assert (program.parent / "chancal.lock").exists()  # the lock records what went out

    front.kill_at_put = None
    radicale.start()  # same storage folder, new port behind the same front
    assert len(held(radicale)) == 5
    assert state_of(program, front.url) == held(radicale)

    code, out, err = push(program, front.url)
    assert code == 0, err
    total = len(held(radicale))
    assert total > 5
    assert f"create {total - 5}," in out
    assert front.counts["PUT"] == total
    assert front.counts["MKCALENDAR"] == 2  # the calendars were made once
    assert state_of(program, front.url) == held(radicale)

    writes = front.writes()
    code, out, err = push(program, front.url)
    assert code == 0, err
    assert front.writes() == writes
    assert "create 0, update 0, delete 0" in out


def test_a_put_the_server_took_but_never_answered_is_adopted_next_run(
    server: tuple[Radicale, Front], program: Path
) -> None:
    """Radicale stores the 6th PUT and dies before answering: the state records the 5
    confirmed writes; the next run finds the 6th on the server with chancal's own
    SEQUENCE and DTSTAMP and adopts it instead of sending it again."""
    radicale, front = server
    front.kill_at_put = 6
    front.dead_answer = "lost"
    code, _, err = push(program, front.url)
    assert code == 1 and "stopped answering" in err and err.count("\n") == 1
    front.kill_at_put = None
    radicale.start()
    assert len(held(radicale)) == 6
    assert len(state_of(program, front.url)) == 5
    code, out, err = push(program, front.url)
    assert code == 0, err
    total = len(held(radicale))
    assert f"create {total - 6}," in out
    assert front.counts["PUT"] == total  # the 6th was not sent again
    assert state_of(program, front.url) == held(radicale)


def test_a_server_that_never_answers_is_one_line_and_exit_1(program: Path) -> None:
    """Network gone from the start (connection refused): exit 1, one line, nothing recorded."""
    url = f"http://127.0.0.1:{free_port()}/alice/"
    code, _, err = push(program, url)
    assert code == 1
    assert err.count("\n") == 1, err
    assert err.startswith("error: cannot reach the CalDAV server at " + url)
    assert "connection refused" in err and "nothing was sent" in err
    assert not (program.parent / "chancal.lock").exists()
    assert not (program.parent / "chancal.lock.caldav.json").exists()


def test_a_gateway_without_its_server_is_exit_1(
    server: tuple[Radicale, Front], program: Path
) -> None:
    """A reverse proxy whose CalDAV server is down answers 502: exit 1, nothing was sent."""
    radicale, front = server
    radicale.kill()
    code, _, err = push(program, front.url)
    assert code == 1
    assert "cannot reach" in err and "502" in err and err.count("\n") == 1


def test_a_redirected_put_is_refused_not_recorded(
    server: tuple[Radicale, Front], program: Path
) -> None:
    """A server answering PUT with 302: the HTTP client would turn the PUT into a GET and
    report 200 with an ETag. chancal follows no redirect: exit 2 naming where it points, and
    the state records no write."""
    radicale, front = server
    front.redirect["PUT"] = "/elsewhere/"
    code, _, err = push(program, front.url)
    assert code == 2
    assert err.count("\n") == 1 and "redirects" in err and "/elsewhere/" in err
    assert front.counts["PUT"] == 0 and front.counts["GET"] == 0
    assert radicale.requests("PUT") == 0
    state = program.parent / "chancal.lock.caldav.json"
    assert not state.exists() or state_of(program, front.url) == {}


def test_an_edit_between_listing_and_put_is_a_412_and_kept(
    server: tuple[Radicale, Front], program: Path
) -> None:
    """Someone edits an event after chancal listed the calendar and before its PUT: the
    server answers the conditional PUT with 412, and the edit is kept and reported."""
    radicale, front = server
    assert push(program, front.url)[0] == 0
    data = program.read_text(encoding="utf-8")
    program.write_text(data.replace("Northwind Distribution", "Northwind Two"), encoding="utf-8")
    edited: list[str] = []

    def edit(path: str) -> None:
        edited.append(radicale.edit_summary(path, "Edited by hand"))

    front.before["PUT"] = edit
    code, _, err = push(program, front.url)
    assert code == 1
    assert edited and edited[0] in err and "changed or deleted on the server" in err
    assert "pass --force" in err
    calendar = "manager-alex"  # the first calendar pushed, so the first PUT is there
    assert radicale.calendar(calendar)[edited[0]].count("SUMMARY:Edited by hand") == 1
    others = [text for uid, text in radicale.calendar(calendar).items() if uid != edited[0]]
    assert any("Northwind Two" in text for text in others)  # the rest went up


def test_an_event_deleted_just_before_chancal_deletes_it_is_a_404_and_fine(
    server: tuple[Radicale, Front], program: Path
) -> None:
    """chancal deletes an event the plan no longer publishes; someone deleted it a moment
    earlier, so the DELETE answers 404: the run succeeds and the state forgets it."""
    from datetime import UTC, datetime

    from chancal.publish import caldav_push
    from chancal.publish.workflow import open_program, publish

    radicale, front = server
    stamp = datetime(2027, 1, 1, tzinfo=UTC)
    plan = publish(open_program(program), today=stamp.date(), stamp=stamp).reconciled.plan
    state = program.parent / "state.json"
    send = caldav_push.caldav_transport(front.url, USER, PASSWORD)
    caldav_push.push(plan, front.url, stamp=stamp, state_file=state, transport=send)
    gone = next(ev for ev in plan.events if ev.viewers == ("northwind",))
    fewer = dataclasses.replace(plan, events=tuple(ev for ev in plan.events if ev is not gone))
    front.before["DELETE"] = lambda path: radicale.delete(path.removeprefix(f"/{USER}/"))
    outcome = caldav_push.push(fewer, front.url, stamp=stamp, state_file=state, transport=send)
    deletes = [status for method, status in front.statuses if method == "DELETE"]
    assert deletes[0] == 404 and deletes[1:] == [200]  # two calendars had it; one was gone
    assert outcome.deleted == 2
    for calendar in CALENDARS:
        assert gone.uid not in radicale.calendar(calendar)
    recorded = json.loads(state.read_text(encoding="utf-8"))["servers"][front.url]
    assert not [key for key in recorded if gone.uid in key]
    writes = front.writes()
    again = caldav_push.push(fewer, front.url, stamp=stamp, state_file=state, transport=send)
    assert again.writes == 0 and front.writes() == writes
