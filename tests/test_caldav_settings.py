"""Where `chancal publish` pushes: publish.caldav in the program, --partner/--manager, the API.

Against a real Radicale (`caldav_support`); the loader's checks of the
`publish` section need no server.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from caldav_support import PASSWORD, USER, Front, Radicale
from chancal import api, cli_output
from chancal.cli import app
from chancal.errors import ConfigError, UsageError
from chancal.loader import loads

ROOT = Path(__file__).parent.parent
STARTER = ROOT / "src" / "chancal" / "templates" / "partners.yaml"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Radicale, Front]]:
    pytest.importorskip("radicale")
    pytest.importorskip("caldav")
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
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setenv("CHANCAL_CALDAV_USER", USER)
    monkeypatch.setenv("CHANCAL_CALDAV_PASSWORD", PASSWORD)
    target = tmp_path / "project" / "partners.yaml"
    target.parent.mkdir()
    shutil.copy(STARTER, target)
    return target


def with_publish(program: Path, section: dict[str, object]) -> None:
    data = yaml.safe_load(program.read_text(encoding="utf-8"))
    data["publish"] = section
    program.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def run(program: Path, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        [
            "publish",
            str(program),
            "--today",
            "2027-01-04",
            "--stamp",
            "2027-01-01T00:00:00Z",
            *extra,
        ],
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


# -- the publish section of the program file ----------------------------------------


def starter_with(section: str) -> str:
    return STARTER.read_text(encoding="utf-8") + section


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loads(text, "partners.yaml")
    return [str(p) for p in info.value.problems]


def test_a_valid_publish_section_loads() -> None:
    config = loads(
        starter_with(
            "publish:\n  caldav:\n    url: https://dav.example.com/ops/\n"
            "    calendars:\n      partners:\n"
            "        northwind: https://dav.example.com/dav/calendars/user/me@example.com/ab12/\n"
        )
    ).config
    assert config.publish.caldav.url == "https://dav.example.com/ops/"
    assert config.publish.caldav.calendars.partners["northwind"].endswith("/ab12/")
    assert loads(STARTER.read_text(encoding="utf-8")).config.publish.caldav.url is None


@pytest.mark.parametrize(
    ("section", "where", "words"),
    [
        ("    url: https://ops:hunter2@dav.example.com/\n", "publish.caldav.url", "user name"),
        ("    url: ftp://dav.example.com/\n", "publish.caldav.url", "not an http(s) address"),
        ("    url: dav.example.com/ops\n", "publish.caldav.url", "not an http(s) address"),
        (
            "    calendars:\n      partners:\n        northwnd: https://d.example.com/a/\n",
            "publish.caldav.calendars.partners.northwnd",
            "unknown partner 'northwnd'; did you mean 'northwind'?",
        ),
        (
            "    calendars:\n      managers:\n        alexx: https://d.example.com/a/\n",
            "publish.caldav.calendars.managers.alexx",
            "unknown manager 'alexx'; did you mean 'alex'?",
        ),
        (
            "    calendars:\n      partners:\n        northwind: https://d.example.com/a\n"
            "      managers:\n        alex: https://d.example.com/a/\n",
            "publish.caldav.calendars.managers.alex",
            "publish.caldav.calendars.partners.northwind already uses this calendar",
        ),
        ("    colour: red\n", "publish.caldav.colour", "unknown key"),
    ],
)
def test_the_publish_section_is_checked_where_it_stands(
    section: str, where: str, words: str
) -> None:
    text = starter_with("publish:\n  caldav:\n" + section)
    found = problems(text)
    assert len(found) == 1, found
    line = text.count("\n", 0, text.index(section)) + 1 + section.count("\n") - 1
    assert re.match(rf"partners\.yaml:{line}:\d+: {re.escape(where)}: ", found[0]), found
    assert words in found[0]
    assert "hunter2" not in found[0] or "user name" not in words  # the message, not the value


def test_the_schema_describes_the_publish_section() -> None:
    from chancal.schema import schema_json

    text = schema_json()
    assert '"CaldavSettings"' in text and '"publish"' in text
    assert "^https?://" in text


# -- pushing with a mapping, a default URL, and only some calendars -----------------


def test_a_mapped_calendar_is_used_and_the_url_comes_from_the_program(
    server: tuple[Radicale, Front], program: Path
) -> None:
    """With publish.caldav.url and a calendar mapped for the partner, `publish` needs no
    --caldav; the partner's events go into the existing calendar (its name kept), the
    manager's into manager-alex/, and no partner-northwind/ is made."""
    radicale, front = server
    import caldav

    client = caldav.DAVClient(url=radicale.url, username=USER, password=PASSWORD)
    client.principal().make_calendar(name="Northwind (ours)", cal_id="shared-northwind")
    mapped = front.url + "shared-northwind/"
    with_publish(
        program, {"caldav": {"url": front.url, "calendars": {"partners": {"northwind": mapped}}}}
    )
    code, out, err = run(program)
    assert code == 0, err
    assert out.startswith(front.url + ":")
    assert radicale.etags("shared-northwind") and radicale.etags("manager-alex")
    assert radicale.etags("partner-northwind") == {}
    assert front.counts["MKCALENDAR"] == 1  # manager-alex/ only
    named = client.calendar(url=radicale.url + "shared-northwind/").get_display_name()
    assert named == "Northwind (ours)"


def test_a_mapped_calendar_that_does_not_exist_is_refused(
    server: tuple[Radicale, Front], program: Path
) -> None:
    """chancal makes only the calendars it names itself: a mapped one must exist (a typo
    in the mapping must not create a stray calendar)."""
    _, front = server
    with_publish(
        program, {"caldav": {"calendars": {"partners": {"northwind": front.url + "typo/"}}}}
    )
    code, _, err = run(program, "--caldav", front.url)
    assert code == 2
    assert err.count("\n") == 1 and "typo/" in err and "does not exist" in err
    assert front.writes() == 0  # listed first: nothing made, nothing sent
    assert not (program.parent / "chancal.lock").exists()


def test_a_mapped_calendar_on_another_server_is_refused(
    server: tuple[Radicale, Front], program: Path
) -> None:
    """The credentials go to one server: a calendar mapped elsewhere is refused before any
    request."""
    _, front = server
    with_publish(
        program,
        {"caldav": {"calendars": {"managers": {"alex": "https://other.example.com/alex/"}}}},
    )
    code, _, err = run(program, "--caldav", front.url)
    assert code == 2
    assert "other.example.com" in err and "one server" in err
    assert sum(front.counts.values()) == 0


def test_no_url_anywhere_is_one_line(program: Path) -> None:
    code, _, err = run(program)
    assert code == 2
    assert "pass --caldav URL or set publish.caldav.url" in err and err.count("\n") == 1


def test_credentials_in_the_caldav_option_are_refused(program: Path) -> None:
    code, out, err = run(program, "--caldav", "https://ops:hunter2@dav.example.com/")
    assert code == 2
    assert "user name or password" in err and "hunter2" not in err + out


def test_partner_and_manager_push_only_those_calendars(
    server: tuple[Radicale, Front], program: Path
) -> None:
    """--partner pushes that partner's calendar only; --manager then adds the manager's;
    a full run afterwards finds both up to date."""
    radicale, front = server
    code, out, err = run(program, "--caldav", front.url, "--partner", "northwind")
    assert code == 0, err
    partner = radicale.etags("partner-northwind")
    assert partner and radicale.etags("manager-alex") == {}
    assert front.counts["PUT"] == len(partner) and f"create {len(partner)}," in out
    code, out, err = run(program, "--caldav", front.url, "--manager", "alex")
    assert code == 0, err
    manager = radicale.etags("manager-alex")
    assert manager and front.counts["PUT"] == len(partner) + len(manager)
    writes = front.writes()
    code, out, err = run(program, "--caldav", front.url)
    assert code == 0, err
    assert front.writes() == writes


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--partner", "northwnd", "unknown partner 'northwnd'; did you mean 'northwind'?"),
        ("--manager", "bob", "unknown manager 'bob'; known: alex"),
    ],
)
def test_an_unknown_id_is_refused_before_any_request(
    server: tuple[Radicale, Front], program: Path, option: str, value: str, words: str
) -> None:
    _, front = server
    code, _, err = run(program, "--caldav", front.url, option, value)
    assert code == 2
    assert words in err and err.count("\n") == 1
    assert sum(front.counts.values()) == 0
    assert not (program.parent / "chancal.lock").exists()


# -- what a terminal shows ------------------------------------------------------


@pytest.mark.parametrize("terminal", [True, False])
def test_the_progress_bar_says_it_is_pushing_on_a_terminal_only(
    server: tuple[Radicale, Front],
    program: Path,
    monkeypatch: pytest.MonkeyPatch,
    terminal: bool,
) -> None:
    _, front = server
    err = io.StringIO()
    console = Console(file=err, force_terminal=terminal, width=100)
    monkeypatch.setattr(cli_output, "stderr", lambda: console)
    code, _, _ = run(program, "--caldav", front.url)
    assert code == 0
    shown = err.getvalue()
    assert ("Pushing to CalDAV" in shown) is terminal
    assert "Writing feeds" not in shown


# -- the Python API ------------------------------------------------------------------


def readme_caldav_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    found = [block for block in blocks if "push_caldav" in block]
    assert len(found) == 1, "the README's Python API section shows push_caldav"
    return found[0]


def test_the_readme_caldav_example_runs(
    server: tuple[Radicale, Front],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's example pushes Northwind's calendar; run again, it sends nothing."""
    radicale, front = server
    monkeypatch.setenv("CHANCAL_CALDAV_USER", USER)
    monkeypatch.setenv("CHANCAL_CALDAV_PASSWORD", PASSWORD)
    (tmp_path / "work" / "examples").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "partners.yaml", tmp_path / "work" / "examples")
    example = readme_caldav_example()
    assert "https://dav.example.com/ops/" in example
    code = compile(example.replace("https://dav.example.com/ops/", front.url), "README", "exec")
    monkeypatch.chdir(tmp_path / "work")
    exec(code, {})
    first = capsys.readouterr().out
    created = len(radicale.etags("partner-northwind"))
    assert created and first == f"{front.url}: create {created}, update 0, delete 0, " + (
        "0 unchanged event(s); create 1 calendar(s)\n"
    )
    exec(code, {})
    assert capsys.readouterr().out == (
        f"{front.url}: create 0, update 0, delete 0, {created} unchanged event(s)\n"
    )
    assert front.counts["PUT"] == created
    assert os.path.exists(tmp_path / "work" / "examples" / "chancal.lock.caldav.json")


def test_the_api_refuses_what_the_cli_refuses(
    server: tuple[Radicale, Front], program: Path
) -> None:
    """An unknown id and a missing URL are UsageErrors; nothing reaches the server."""
    from datetime import UTC, date, datetime

    _, front = server
    loaded = api.load(program)
    today, stamp = date(2027, 1, 4), datetime(2027, 1, 4, tzinfo=UTC)
    with pytest.raises(UsageError, match="did you mean 'northwind'"):
        api.push_caldav(loaded, front.url, partners=["northwnd"], today=today, stamp=stamp)
    with pytest.raises(UsageError, match=r"pass --caldav URL or set publish\.caldav\.url"):
        api.push_caldav(loaded, today=today, stamp=stamp)
    assert sum(front.counts.values()) == 0
    dry = api.push_caldav(loaded, front.url, dry_run=True, today=today, stamp=stamp)
    assert dry.created > 0 and front.writes() == 0
