"""Hostile and odd input (issue 16): nothing is lost, nothing crashes, nothing reaches the
terminal raw. Every case exits 2 with one located `file:line:col:` line per problem."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chancal.cli import app

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = (ROOT / "examples" / "minimal.yaml").read_text("utf-8")
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): \S")


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def refused(tmp_path: Path, text: str, command: str = "validate") -> list[str]:
    """Run a command on `text`; assert exit 2, located lines only, no traceback."""
    path = tmp_path / "partners.yaml"
    path.write_text(text, "utf-8")
    code, out, err = run(command, str(path))
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert lines[-1].endswith("found."), err
    for line in lines[:-1]:
        match = LOCATED.match(line)
        assert match and match["file"] == str(path), line
    return lines[:-1]


def edit(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# -- safe terminal output -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "shown"),
    [("\\e[2J", "U+001B"), ("\\0", "U+0000"), ("\\r", "U+000D"), ("\\x9b", "U+009B")],
)
@pytest.mark.parametrize("command", ["validate", "plan", "check"])
def test_control_characters_in_names_are_refused_and_never_printed(
    tmp_path: Path, written: str, shown: str, command: str
) -> None:
    text = edit("name: Acme Resellers", f'name: "Acme{written} Resellers"')
    (line,) = refused(tmp_path, text, command)
    assert ":31:11: partners[0].name: " in line and shown in line
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", line)


def test_a_line_feed_in_a_value_cannot_forge_a_second_problem(tmp_path: Path) -> None:
    forged = "gold\\npartners.yaml:1:1: all good"
    (line,) = refused(tmp_path, edit("tier: standard", f'tier: "{forged}"'))
    assert "'gold\\npartners.yaml:1:1: all good' is not a valid id" in line


def test_an_escape_sequence_in_an_unknown_reference_is_shown_escaped(tmp_path: Path) -> None:
    lines = refused(tmp_path, edit("tier: standard", 'tier: "st\\e]0;pwned\\a"'))
    assert len(lines) == 2  # not an id, and a control character
    assert all("\x1b" not in line and "\x07" not in line for line in lines)
    assert any("'st\\x1b]0;pwned\\x07' is not a valid id" in line for line in lines)


def test_line_100_and_colons_are_not_turned_into_emoji(tmp_path: Path) -> None:
    padded = "#\n" * 68 + edit("tier: standard", "tier: ':100:'")
    (line,) = refused(tmp_path, padded)
    assert ":100:" in line and "\N{HUNDRED POINTS SYMBOL}" not in line
    assert LOCATED.match(line)["line"] == "100"  # type: ignore[index]


def test_yaml_tags_are_refused_where_they_stand(tmp_path: Path) -> None:
    text = edit("name: Acme Resellers", "name: !!python/name:os.system")
    text = edit("version: 1", "version: !custom 1", text)
    lines = refused(tmp_path, text)
    assert any(":4:10: version: YAML tag '!custom' is not supported" in x for x in lines)
    assert any(":31:11: partners[0].name: YAML tag '!!python/name:os.system'" in x for x in lines)


def test_plain_core_tags_stay_allowed(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(edit("name: Acme Resellers", "name: !!str 1234"), "utf-8")
    assert run("validate", str(path))[0] == 0


def test_printed_output_is_escaped_in_a_real_process(tmp_path: Path) -> None:
    """Through a real stderr (not the test runner's): no raw ESC, one line per problem."""
    path = tmp_path / "partners.yaml"
    path.write_text(edit("tier: standard", 'tier: "a\\e[31mb\\nc"'), "utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "chancal", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "\x1b" not in proc.stderr and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 3 and all(LOCATED.match(line) for line in lines[:-1])


# -- validation closes the gaps -----------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "x@y;ROLE=CHAIR",
        "x@example.com;ROLE=CHAIR",
        'a;b,c:d\\"e\\\\f@example.com',  # YAML escapes: a;b,c:d"e\\f@...
        "x" * 100_000 + "@example.com",
        "sam@example.com\\0",
        "sam\\e@example.com",
        "sam@@example.com",
        "sam@example",
        "sam.@example.com",
        "sam@-example.com",
    ],
)
def test_emails_must_be_addresses(tmp_path: Path, email: str) -> None:
    lines = refused(tmp_path, edit("sam.jones@example.com", f'"{email}"'))
    assert all(":15:12: managers[0].email: " in line for line in lines)
    too_long = "the limit is 254: shorten it"
    assert any("is not an email address" in line or too_long in line for line in lines)


@pytest.mark.parametrize("email", ["o'brien+news@mail.example.co.uk", "jürgen@bücher.de"])
def test_ordinary_addresses_stay_valid(tmp_path: Path, email: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(edit("sam.jones@example.com", f'"{email}"'), "utf-8")
    assert run("validate", str(path))[0] == 0


@pytest.mark.parametrize("value", ["540", "true", "'9:00'", "'09:00:00'", "'09:00+02:00'", "9.5"])
@pytest.mark.parametrize("field", ["start", "end"])
def test_working_hours_are_hh_mm_text_only(tmp_path: Path, value: str, field: str) -> None:
    hours = f"working_hours: {{{field}: {value}}}"
    (line,) = refused(
        tmp_path, edit("  country: GB\n\nmanagers", f"  country: GB\n  {hours}\n\nmanagers")
    )
    assert f"program.working_hours.{field}: " in line and "HH:MM" in line


@pytest.mark.parametrize(
    ("rrule", "says"),
    [
        ("FREQ=HOURLY;COUNT=48", "FREQ=HOURLY"),
        ("FREQ=MINUTELY", "FREQ=MINUTELY"),
        ("FREQ=SECONDLY", "FREQ=SECONDLY"),
        ("FREQ=DAILY;BYHOUR=9,10", "remove BYHOUR"),
        ("FREQ=WEEKLY;BYMINUTE=30", "remove BYMINUTE"),
        ("FREQ=WEEKLY;BYSECOND=1", "remove BYSECOND"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL=0"),
        ("FREQ=WEEKLY;FREQ=DAILY", "FREQ twice"),
        ("FREQ=MONTHLY;BYDAY=9XX", "invalid RRULE"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_rrules_that_cannot_be_planned_are_refused(
    tmp_path: Path, rrule: str, says: str, command: str
) -> None:
    (line,) = refused(tmp_path, edit("cadence: quarterly", f"rrule: '{rrule}'"), command)
    assert ":24:16: tiers[0].rules[0].rrule: " in line and says in line


@pytest.mark.parametrize("until", ["20270630T000000Z", "20270630T000000", "20270630"])
def test_a_utc_until_is_planned(tmp_path: Path, until: str) -> None:
    path = tmp_path / "partners.yaml"
    text = edit("cadence: quarterly", f"rrule: 'FREQ=MONTHLY;BYDAY=2TU;UNTIL={until}'")
    path.write_text(text, "utf-8")
    code, out, err = run("plan", str(path), "--format", "json", "--today", "2027-01-01")
    assert code == 0, err
    reviews = [e for e in json.loads(out)["events"] if e["rule_id"] == "review"]
    assert len(reviews) == 6  # the second Tuesdays of January to June


@pytest.mark.parametrize(
    ("entry", "where"),
    [
        ("{id: review, cadence: null}", "change[0].cadence: 'cadence' is empty"),
        ("{id: review, kind: null}", "change[0].kind: 'kind' is empty"),
        ("{id: review, cadence: monthly, dates: [2027-03-01]}", "at most one of"),
        ("{id: review, rrule: 'FREQ=HOURLY'}", "change[0].rrule: a rule that repeats"),
        ("{id: review, dates: [2031-01-01]}", "change[0].dates[0]: 2031-01-01 is outside"),
        ("{id: review, duration: 0m}", "change[0].duration: a duration must be positive"),
        ("{id: review, follow_ups: [{kind: '', after: [2w]}]}", "unknown kind ''"),
        (
            "{id: review, follow_ups: [{kind: coaching_session, after: [2w], duration: 0m}]}",
            "follow_ups[0].duration: a duration must be positive",
        ),
    ],
)
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_changes_are_checked_like_rules(
    tmp_path: Path, entry: str, where: str, command: str
) -> None:
    text = MINIMAL + f"    overrides:\n      change:\n        - {entry}\n"
    (line,) = refused(tmp_path, text, command)
    assert "partners[0].overrides." in line and where in line


@pytest.mark.parametrize("zone", ["localtime", "/etc/localtime", "../zoneinfo/UTC", "posix/UTC"])
def test_time_zones_are_iana_names(tmp_path: Path, zone: str) -> None:
    (line,) = refused(
        tmp_path, edit("timezone: Europe/London\n  country", f"timezone: '{zone}'\n  country")
    )
    assert ":9:13: program.timezone: unknown time zone" in line


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("version: 1", "version: true", ":4:10: version: "),
        ("year: 2027", "year: true", ":8:9: program.year: "),
        ("year: 2027", "year: '2027'", ":8:9: program.year: "),
        (
            "  country: GB\n\nmanagers",
            "  country: GB\n  capacity: {meetings_per_week: true}\n\nmanagers",
            "program.capacity.meetings_per_week: ",
        ),
        (
            "  country: GB\n\nmanagers",
            "  country: GB\n  capacity: {hours_per_week: true}\n\nmanagers",
            "program.capacity.hours_per_week: ",
        ),
        (
            "  country: GB\n\nmanagers",
            "  country: GB\n  spacing: {max_per_week: false}\n\nmanagers",
            "program.spacing.max_per_week: ",
        ),
    ],
)
def test_booleans_are_not_numbers(tmp_path: Path, old: str, new: str, where: str) -> None:
    (line,) = refused(tmp_path, edit(old, new))
    assert where in line


@pytest.mark.parametrize("reminder", ["-1d", "-30m"])
def test_negative_reminders_are_refused(tmp_path: Path, reminder: str) -> None:
    text = edit(
        "  country: GB\n\nmanagers", f"  country: GB\n  reminders: [{reminder}]\n\nmanagers"
    )
    (line,) = refused(tmp_path, text)
    assert "program.reminders[0]: " in line and "negative" in line


# -- '-' reads the program from standard input --------------------------------------------


@pytest.mark.parametrize("command", ["validate", "plan", "check", "verify"])
def test_dash_reads_standard_input(tmp_path: Path, command: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "chancal", command, "-"],
        input=MINIMAL,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr  # check and verify may find fault
    assert "not found" not in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_problems_in_standard_input_are_located() -> None:
    code, _, err = run("validate", "-", stdin=edit("tier: standard", "tier: gold"))
    assert code == 2
    assert err.startswith("<stdin>:32:11: partners[0].tier: unknown tier 'gold'")


@pytest.mark.parametrize("command", [["export", "--ics"], ["lock"]])
def test_commands_that_write_the_lock_refuse_standard_input(
    tmp_path: Path, command: list[str]
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "chancal", *command, "-"],
        input=MINIMAL,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 2
    assert "standard input ('-')" in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []
