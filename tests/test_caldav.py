"""`chancal publish --caldav` against a real Radicale server started for these tests."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import icalendar
import pytest
import vobject
import yaml
from dateutil import tz
from typer.testing import CliRunner

from chancal.cli import app
from chancal.publish import caldav_push
from chancal.publish.workflow import open_program, publish

pytest.importorskip("radicale")
pytest.importorskip("caldav")

ROOT = Path(__file__).parent.parent
STARTER = ROOT / "src" / "chancal" / "templates" / "partners.yaml"
TODAY = "2027-01-04"
STAMP1 = "2027-01-01T00:00:00Z"
STAMP2 = "2027-02-01T00:00:00Z"
USER, PASSWORD = "alice", "secret"
Reply = tuple[int, dict[str, str], str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """A running Radicale: where it is and its request log."""

    url: str  # the user's home collection, where chancal's calendars go
    log: Path

    def requests(self, method: str) -> int:
        """How many `method` requests the server has received so far."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return text.count(f"{method} request for")

    def get(self, path: str) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path)
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        request.add_header("Authorization", "Basic " + token)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    def calendar(self, name: str) -> dict[str, icalendar.Calendar]:
        """Every resource of a calendar, as the server serves it, by UID."""
        import caldav

        client = caldav.DAVClient(url=self.url, username=USER, password=PASSWORD)
        found = {}
        for obj in client.calendar(url=f"{self.url}{name}/").events():
            cal = icalendar.Calendar.from_ical(obj.data)
            events = list(cal.walk("VEVENT"))
            assert len(events) == 1
            found[str(events[0]["UID"])] = cal
        return found


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Server]:
    """Radicale on 127.0.0.1 with a free port, htpasswd (plain) auth and storage in tmp_path."""
    users = tmp_path / "users"
    users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
    port = _free_port()
    log = tmp_path / "radicale.log"
    handle = log.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--storage-filesystem-folder",
            str(tmp_path / "storage"),
            "--auth-type",
            "htpasswd",
            "--auth-htpasswd-filename",
            str(users),
            "--auth-htpasswd-encryption",
            "plain",
            "--rights-type",
            "owner_only",
            "--logging-level",
            "info",
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log.read_text(encoding="utf-8")) from None
                time.sleep(0.1)
        yield Server(f"http://127.0.0.1:{port}/{USER}/", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        handle.close()


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


def push(program: Path, url: str, stamp: str = STAMP1, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        ["publish", str(program), "--caldav", url, "--today", TODAY, "--stamp", stamp, *extra],
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def published_starts(program: Path) -> dict[str, float]:
    """Each published event's start instant, as chancal plans it (the lock kept)."""
    found = publish(
        open_program(program),
        today=datetime.fromisoformat(TODAY).date(),
        stamp=datetime.fromisoformat(STAMP1),
    )
    return {
        ev.uid: ev.span.start.timestamp()
        for ev in found.reconciled.plan.events
        if isinstance(ev.span.start, datetime)
    }


def served_start(cal: icalendar.Calendar) -> float | None:
    """DTSTART as an instant, its TZID resolved by the calendar's own VTIMEZONE (dateutil)."""
    event = next(iter(cal.walk("VEVENT")))
    text = cal.to_ical().decode()
    vevent = text[text.index("BEGIN:VEVENT") :].replace("\r\n ", "")
    line = next(raw for raw in vevent.splitlines() if raw.startswith("DTSTART"))
    head, _, value = line.partition(":")
    if "VALUE=DATE" in head and "T" not in value:
        return None
    if value.endswith("Z"):
        return float(event.decoded("DTSTART").timestamp())
    tzid = head.split("TZID=", 1)[1].strip('"')
    zones = tz.tzical(io.StringIO(cal.to_ical().decode()))
    local = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=zones.get(tzid))
    return local.timestamp()


def test_first_push_creates_the_calendars_and_every_event(radicale: Server, program: Path) -> None:
    code, out, err = push(program, radicale.url)
    assert code == 0, err
    starts = published_starts(program)
    partner = radicale.calendar("partner-northwind")
    manager = radicale.calendar("manager-alex")
    assert partner and manager
    assert set(partner) | set(manager) <= set(published_starts(program)) | set(partner)
    assert radicale.requests("MKCALENDAR") == 2
    assert radicale.requests("PUT") == len(partner) + len(manager)
    assert f"create {len(partner) + len(manager)}" in out
    # The calendar's name is the feed's.
    import caldav

    client = caldav.DAVClient(url=radicale.url, username=USER, password=PASSWORD)
    named = client.calendar(url=f"{radicale.url}partner-northwind/").get_display_name()
    assert named == "Example Channel Program: Northwind Distribution"
    status, text = radicale.get(f"partner-northwind/{quote(next(iter(partner)), safe='')}.ics")
    assert status == 200 and "BEGIN:VTIMEZONE" in text and "METHOD:" not in text
    # Times survive the server: the served VTIMEZONE gives the plan's instants.
    for uid, cal in partner.items():
        served = served_start(cal)
        if served is not None and uid in starts:
            assert served == starts[uid], uid
    assert (program.parent / "chancal.lock").exists()
    assert (program.parent / "chancal.lock.caldav.json").exists()


def test_a_second_push_without_change_sends_nothing(radicale: Server, program: Path) -> None:
    assert push(program, radicale.url)[0] == 0
    puts = radicale.requests("PUT")
    code, out, err = push(program, radicale.url, STAMP2)
    assert code == 0, err
    assert radicale.requests("PUT") == puts
    assert radicale.requests("DELETE") == 0
    assert "create 0, update 0, delete 0" in out


def test_a_moved_event_updates_in_place(radicale: Server, program: Path) -> None:
    assert push(program, radicale.url)[0] == 0
    before = radicale.calendar("partner-northwind")
    starts = published_starts(program)
    uid = next(
        u
        for u, cal in sorted(before.items())
        if "onference" not in str(next(iter(cal.walk("VEVENT")))["SUMMARY"])
        and u in starts
        and starts[u] > datetime.fromisoformat("2027-02-01T00:00:00+00:00").timestamp()
    )
    day = datetime.fromtimestamp(starts[uid]).date().isoformat()
    data = yaml.safe_load(program.read_text(encoding="utf-8"))
    data["program"].setdefault("blackouts", []).append(
        {"start": day, "end": day, "reason": "Board meeting"}
    )
    program.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    puts = radicale.requests("PUT")
    code, _, err = push(program, radicale.url, STAMP2)
    assert code == 0, err
    after = radicale.calendar("partner-northwind")
    assert set(after) == set(before)  # one resource per UID, not two
    old = next(iter(before[uid].walk("VEVENT")))
    new = next(iter(after[uid].walk("VEVENT")))
    assert int(new["SEQUENCE"]) == int(old["SEQUENCE"]) + 1
    assert new.decoded("DTSTART") != old.decoded("DTSTART")
    assert radicale.requests("PUT") > puts


def test_a_removed_partner_comes_back_cancelled(radicale: Server, program: Path) -> None:
    assert push(program, radicale.url)[0] == 0
    data = yaml.safe_load(program.read_text(encoding="utf-8"))
    second = dict(data["partners"][0], id="contoso", name="Contoso")
    data["partners"].append(second)
    program.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert push(program, radicale.url)[0] == 0
    own = radicale.calendar("partner-contoso")
    assert own
    data["partners"].pop()
    program.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code, _, err = push(program, radicale.url, STAMP2, "--allow-mass-cancel")
    assert code == 0, err
    after = radicale.calendar("partner-contoso")
    assert set(after) == set(own)
    for cal in after.values():
        event = next(iter(cal.walk("VEVENT")))
        assert str(event["STATUS"]) == "CANCELLED"


def test_a_change_made_on_the_server_is_kept_unless_forced(radicale: Server, program: Path) -> None:
    assert push(program, radicale.url)[0] == 0
    import caldav

    client = caldav.DAVClient(url=radicale.url, username=USER, password=PASSWORD)
    obj = client.calendar(url=f"{radicale.url}partner-northwind/").events()[0]
    uid = str(obj.icalendar_component["UID"])
    obj.icalendar_component["SUMMARY"] = "Edited by hand"
    obj.save(increase_seqno=False)
    data = yaml.safe_load(program.read_text(encoding="utf-8"))
    data["partners"][0]["name"] = "Northwind Renamed"  # every event changes
    program.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code, _, err = push(program, radicale.url, STAMP2)
    assert code == 1
    assert "changed or deleted on the server" in err and uid in err
    kept = radicale.calendar("partner-northwind")[uid]
    assert str(next(iter(kept.walk("VEVENT")))["SUMMARY"]) == "Edited by hand"
    code, _, err = push(program, radicale.url, STAMP2, "--force")
    assert code == 0, err
    forced = radicale.calendar("partner-northwind")[uid]
    assert "Northwind Renamed" in str(next(iter(forced.walk("VEVENT")))["SUMMARY"])


def test_dry_run_writes_nothing(radicale: Server, program: Path) -> None:
    code, out, err = push(program, radicale.url, STAMP1, "--dry-run")
    assert code == 0, err
    assert "would create" in out
    assert radicale.requests("PUT") == radicale.requests("MKCALENDAR") == 0
    assert not (program.parent / "chancal.lock").exists()


def test_a_wrong_password_is_one_line_and_exit_2(
    radicale: Server, program: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANCAL_CALDAV_PASSWORD", "wrong")
    code, out, err = push(program, radicale.url)
    assert code == 2
    assert err.count("\n") == 1 and "401" in err and "CHANCAL_CALDAV_PASSWORD" in err
    assert "wrong" not in err + out
    assert "Traceback" not in err


def test_a_run_cut_short_exits_1_and_the_next_run_finishes(
    radicale: Server, program: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = caldav_push.caldav_transport
    puts = 0

    def flaky(url: str, user: str | None, password: str | None) -> caldav_push.Transport:
        send = real(url, user, password)

        def once(target: str, method: str, body: str, headers: dict[str, str]) -> Reply:
            nonlocal puts
            if method == "PUT":
                puts += 1
                if puts > 5:
                    raise ConnectionError("Connection refused")
            return send(target, method, body, headers)

        return once

    monkeypatch.setattr(caldav_push, "caldav_transport", flaky)
    code, _, err = push(program, radicale.url)
    assert code == 1
    assert "stopped answering" in err and "run the same command again" in err
    assert err.count("\n") == 1
    assert radicale.requests("PUT") == 5
    state = json.loads((program.parent / "chancal.lock.caldav.json").read_text())
    assert len(state["servers"][radicale.url]) == 5
    monkeypatch.setattr(caldav_push, "caldav_transport", real)
    code, out, err = push(program, radicale.url)
    assert code == 0, err
    total = len(radicale.calendar("partner-northwind")) + len(radicale.calendar("manager-alex"))
    assert radicale.requests("PUT") == total
    assert f"create {total - 5}" in out


def test_a_lost_state_file_is_rebuilt_without_writing(radicale: Server, program: Path) -> None:
    assert push(program, radicale.url)[0] == 0
    puts = radicale.requests("PUT")
    (program.parent / "chancal.lock.caldav.json").unlink()
    code, out, err = push(program, radicale.url, STAMP2)
    assert code == 0, err
    assert radicale.requests("PUT") == puts
    assert "create 0, update 0" in out
    assert (program.parent / "chancal.lock.caldav.json").exists()


def test_another_users_calendars_are_forbidden_exit_2(radicale: Server, program: Path) -> None:
    code, _, err = push(program, radicale.url.replace(f"/{USER}/", "/bob/"))
    assert code == 2
    assert err.count("\n") == 1 and "403" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "zone", ["America/Santiago", "Pacific/Auckland", "Australia/Sydney", "Asia/Tokyo"]
)
def test_times_survive_the_server_in_both_hemispheres(
    radicale: Server, program: Path, zone: str
) -> None:
    """Zones on daylight time on January 1st (issue 15, item 3) and one without DST: the
    VTIMEZONE Radicale serves back gives the plan's instants to dateutil and to vobject."""
    data = yaml.safe_load(program.read_text(encoding="utf-8"))
    data["partners"][0]["timezone"] = zone  # both sides there, so working hours meet
    data["program"]["timezone"] = data["managers"][0]["timezone"] = zone
    program.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code, _, err = push(program, radicale.url)
    assert code == 0, err
    starts = published_starts(program)
    calendar = radicale.calendar("partner-northwind")
    assert any(f"TZID={zone}" in cal.to_ical().decode() for cal in calendar.values())
    for uid, cal in calendar.items():
        at = served_start(cal)
        if at is None:
            continue
        assert at == starts[uid], uid
        read = vobject.readOne(cal.to_ical().decode()).vevent.dtstart.value
        assert read.timestamp() == starts[uid], uid


def test_what_the_plan_no_longer_publishes_is_deleted(radicale: Server, program: Path) -> None:
    """A cancelled event whose date has passed leaves the plan, and then the server too;
    a resource chancal never put there is left alone."""
    published = publish(
        open_program(program),
        today=datetime.fromisoformat(TODAY).date(),
        stamp=datetime.fromisoformat(STAMP1),
    )
    plan = published.reconciled.plan
    state = program.parent / "state.json"
    send = caldav_push.caldav_transport(radicale.url, USER, PASSWORD)
    stamp = datetime.fromisoformat(STAMP1)
    caldav_push.push(plan, radicale.url, stamp=stamp, state_file=state, transport=send)
    foreign = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:theirs\r\n"
    foreign += (
        "DTSTAMP:20270101T000000Z\r\nDTSTART:20270105T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert send(f"{radicale.url}partner-northwind/theirs.ics", "PUT", foreign, {})[0] == 201
    gone = next(ev for ev in plan.events if "northwind" in ev.viewers)
    fewer = dataclasses.replace(plan, events=tuple(ev for ev in plan.events if ev is not gone))
    outcome = caldav_push.push(fewer, radicale.url, stamp=stamp, state_file=state, transport=send)
    assert outcome.deleted >= 1 and outcome.writes == outcome.deleted
    left = radicale.calendar("partner-northwind")
    assert gone.uid not in left and "theirs" in left


def test_credentials_may_come_from_netrc(
    radicale: Server, program: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without the environment variables, ~/.netrc's entry for the host is used."""
    monkeypatch.delenv("CHANCAL_CALDAV_USER")
    monkeypatch.delenv("CHANCAL_CALDAV_PASSWORD")
    netrc = tmp_path / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    code, out, err = push(program, radicale.url)
    assert code == 0, err
    assert PASSWORD not in out + err
    assert radicale.calendar("partner-northwind")


def _delete(radicale: Server, path: str) -> None:
    request = urllib.request.Request(radicale.url + path, method="DELETE")
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", "Basic " + token)
    with urllib.request.urlopen(request, timeout=10):
        pass


def test_an_edit_on_the_server_alone_is_kept_quietly(radicale: Server, program: Path) -> None:
    """An event edited on the server while chancal has nothing new for it is kept, and the
    run succeeds (a nightly job must not fail for ever over one fixed typo)."""
    assert push(program, radicale.url)[0] == 0
    import caldav

    client = caldav.DAVClient(url=radicale.url, username=USER, password=PASSWORD)
    obj = client.calendar(url=f"{radicale.url}partner-northwind/").events()[0]
    obj.icalendar_component["SUMMARY"] = "Edited by hand"
    obj.save(increase_seqno=False)
    puts = radicale.requests("PUT")
    code, out, err = push(program, radicale.url, STAMP2)
    assert code == 0, err
    assert "1 event(s) changed or deleted on the server kept" in out
    assert radicale.requests("PUT") == puts


def test_an_event_deleted_on_the_server_stays_deleted_unless_forced(
    radicale: Server, program: Path
) -> None:
    """Deleting an event on the server is a change like an edit: kept (quietly while chancal
    has nothing new for it, reported once it has), and --force puts it back."""
    assert push(program, radicale.url)[0] == 0
    uid = sorted(radicale.calendar("partner-northwind"))[-1]
    _delete(radicale, f"partner-northwind/{quote(uid, safe='')}.ics")
    code, out, err = push(program, radicale.url, STAMP2)
    assert code == 0, err
    assert "1 event(s) changed or deleted on the server kept" in out
    assert uid not in radicale.calendar("partner-northwind")
    data = yaml.safe_load(program.read_text(encoding="utf-8"))
    data["partners"][0]["name"] = "Northwind Renamed"  # now chancal has news for it
    program.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code, _, err = push(program, radicale.url, STAMP2)
    assert code == 1 and uid in err and "deleted on the server" in err
    assert uid not in radicale.calendar("partner-northwind")
    code, _, err = push(program, radicale.url, STAMP2, "--force")
    assert code == 0, err
    assert uid in radicale.calendar("partner-northwind")


def test_a_calendar_deleted_on_the_server_is_made_and_filled_again(
    radicale: Server, program: Path
) -> None:
    assert push(program, radicale.url)[0] == 0
    before = set(radicale.calendar("partner-northwind"))
    _delete(radicale, "partner-northwind/")
    code, out, err = push(program, radicale.url, STAMP2)
    assert code == 0, err
    assert f"create {len(before)}," in out and "create 1 calendar(s)" in out
    assert set(radicale.calendar("partner-northwind")) == before


def test_an_event_already_deleted_is_not_deleted_again(radicale: Server, program: Path) -> None:
    """An event chancal would delete (its date passed, or it left the plan) that someone
    already deleted on the server sends no DELETE, and leaves the state."""
    published = publish(
        open_program(program),
        today=datetime.fromisoformat(TODAY).date(),
        stamp=datetime.fromisoformat(STAMP1),
    )
    plan = published.reconciled.plan
    state = program.parent / "state.json"
    send = caldav_push.caldav_transport(radicale.url, USER, PASSWORD)
    stamp = datetime.fromisoformat(STAMP1)
    caldav_push.push(plan, radicale.url, stamp=stamp, state_file=state, transport=send)
    gone = next(ev for ev in plan.events if "northwind" in ev.viewers)
    key = f"/{USER}/partner-northwind/{gone.uid}.ics"
    _delete(radicale, f"partner-northwind/{quote(gone.uid, safe='')}.ics")
    fewer = dataclasses.replace(plan, events=tuple(ev for ev in plan.events if ev is not gone))
    outcome = caldav_push.push(fewer, radicale.url, stamp=stamp, state_file=state, transport=send)
    assert outcome.deleted == 1 == outcome.writes  # the manager's copy only
    assert radicale.requests("DELETE") == 2  # that one, and the one made by hand
    recorded = json.loads(state.read_text())["servers"][radicale.url]
    assert key not in recorded and key.replace("partner-northwind", "manager-alex") not in recorded
