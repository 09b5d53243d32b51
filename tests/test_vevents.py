"""The events as published, rendered where they were reconciled (`chancal.publish.vevents`).

A year published for ICS feeds alone comes back as rendered VEVENTs in a
scratch folder; its feeds must be the very bytes of the same year published
with its events as objects and rendered by the feed writer itself.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from chancal import pool
from chancal.changes import summarize
from chancal.errors import ConfigError
from chancal.publish import workflow
from chancal.publish.feeds import Formats
from test_planner_parallel import _generated
from test_pool import a_worker_goes_first  # noqa: F401 - a fixture

FIXTURE = Path(__file__).parent / "fixtures" / "lock" / "program.yaml"
TODAY = date(2027, 1, 4)
STAMP1 = datetime(2027, 1, 1, tzinfo=UTC)
STAMP2 = datetime(2027, 2, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def scratch_folders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every scratch folder `workflow.publish` makes in the test, in order."""
    made: list[str] = []
    new_folder = workflow.new_folder

    def watched() -> str:
        made.append(new_folder())
        return made[-1]

    monkeypatch.setattr(workflow, "new_folder", watched)
    return made


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _both_ways(root: Path, text: str, stamp: datetime) -> tuple[dict[str, bytes], int]:
    """Publish `text` in two folders of `root`, each with its own lock: for ICS alone, and
    with its events as objects (rendered by the feed writer, the lock's new lines held).
    The same feeds and lock come out; return them, and how many events the feeds publish."""
    made = {}
    for way, formats in (("rendered", workflow.ICS_ONLY), ("objects", None)):
        program = root / way / "partners.yaml"
        program.parent.mkdir(exist_ok=True)
        program.write_text(text, encoding="utf-8")
        opened = workflow.open_program(program)
        published = workflow.publish(opened, today=TODAY, stamp=stamp, formats=formats)
        workflow.write(published, root / way / "feeds", stamp=stamp)
        made[way] = published
        # What `export --check` then says, the feeds read back from where they were rendered.
        again = workflow.open_program(program)
        again_published = workflow.publish(again, today=TODAY, stamp=stamp, formats=formats)
        assert workflow.out_of_date(again_published, root / way / "feeds", stamp=stamp) == []
    rendered, objects = made["rendered"], made["objects"]
    assert rendered.vevents is not None and rendered.reconciled.plan.events == ()
    assert objects.vevents is None and objects.reconciled.plan.events
    assert rendered.event_count == objects.event_count == len(objects.reconciled.plan.events)
    # The changes stay where they were made, but for their counts (all the CLI reports).
    assert rendered.reconciled.changes == () and objects.reconciled.changes
    counts = summarize(objects.reconciled.changes)
    assert rendered.reconciled.counts == objects.reconciled.counts == counts
    # Every partner's new lock lines wait in a file, the lock read's or a scratch one.
    written = rendered.reconciled.lock.written
    assert written and all(lines.data == b"" for lines in written)
    files = _files(root / "rendered")
    assert files == _files(root / "objects") and len(files) > 3
    return files, rendered.event_count


@pytest.mark.usefixtures("a_worker_goes_first")
def test_workers_render_the_bytes_this_process_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """600 generated partners, published, then one moved to another manager (its events
    leave CANCELLED copies in its old manager's feed): with CHANCAL_JOBS=2 a worker
    renders managers' events, and every feed is the one rendered from the objects."""
    text = _generated(600)
    monkeypatch.setattr(pool.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setenv(pool.JOBS_ENV, "2")
    pids: list[frozenset[int]] = []
    run = pool.run

    def watched(*args: object, **kwargs: object) -> pool.Outcome[object]:
        outcome = run(*args, **kwargs)  # type: ignore[arg-type]
        pids.append(outcome.pids)
        return outcome

    monkeypatch.setattr(pool, "run", watched)
    _both_ways(tmp_path, text, STAMP1)
    assert any(found - {os.getpid()} for found in pids), "no worker rendered anything"
    config = workflow.open_program(tmp_path / "objects" / "partners.yaml").config
    moved = config.partners[0]
    other = next(m.id for m in config.managers if m.id != moved.manager)
    head, _, partners = text.partition("\npartners:\n")
    partners = partners.replace(f"    manager: {moved.manager}\n", f"    manager: {other}\n", 1)
    files, _ = _both_ways(tmp_path, f"{head}\npartners:\n{partners}", STAMP2)
    assert any(b"STATUS:CANCELLED" in data for data in files.values())


def test_a_block_keeps_one_tuple_for_each_list_of_feeds(tmp_path: Path) -> None:
    """Events as published carry their lock entries' feeds; a block keeps one tuple for
    each list (a tuple an event was 39 MB of a first export at 10,000 partners)."""
    program = tmp_path / "partners.yaml"
    shutil.copy(FIXTURE, program)
    opened = workflow.open_program(program)
    published = workflow.publish(opened, today=TODAY, stamp=STAMP1, formats=workflow.ICS_ONLY)
    assert published.vevents is not None
    blocks = [b for b in published.vevents.blocks if len(b.sizes) > 1]  # type: ignore[attr-defined]
    assert blocks
    for block in blocks:
        for column in (block.feeds, block.locked_feeds):
            assert len({id(names) for names in column}) == len(set(column))
    assert any(len(set(b.locked_feeds)) < len(b.locked_feeds) for b in blocks)


def test_the_scratch_folder_goes_with_the_year(tmp_path: Path) -> None:
    program = tmp_path / "partners.yaml"
    shutil.copy(FIXTURE, program)
    opened = workflow.open_program(program)
    published = workflow.publish(opened, today=TODAY, stamp=STAMP1, formats=workflow.ICS_ONLY)
    assert published.vevents is not None
    folder = Path(published.vevents.folder)
    assert folder.is_dir() and any(folder.iterdir())
    workflow.write(published, tmp_path / "feeds", stamp=STAMP1)
    del published
    assert not folder.exists()


def test_a_failed_publish_leaves_no_scratch_folder(
    tmp_path: Path, scratch_folders: list[str]
) -> None:
    program = tmp_path / "partners.yaml"
    shutil.copy(FIXTURE, program)
    opened = workflow.open_program(program)
    workflow.write(workflow.publish(opened, today=TODAY, stamp=STAMP1), tmp_path, stamp=STAMP1)
    lock = tmp_path / "chancal.lock"
    lines = lock.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(3, lines[3])  # a partner's line twice: found by the process that reads it
    lock.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ConfigError):
        workflow.publish(
            workflow.open_program(program), today=TODAY, stamp=STAMP2, formats=workflow.ICS_ONLY
        )
    assert scratch_folders and not Path(scratch_folders[0]).exists()


def test_tables_and_pages_need_the_year_published_for_them(tmp_path: Path) -> None:
    program = tmp_path / "partners.yaml"
    shutil.copy(FIXTURE, program)
    opened = workflow.open_program(program)
    published = workflow.publish(opened, today=TODAY, stamp=STAMP1, formats=workflow.ICS_ONLY)
    with pytest.raises(ValueError, match="published for them"):
        workflow.write(published, tmp_path / "feeds", stamp=STAMP1, formats=Formats(csv=True))
    with pytest.raises(ValueError, match="published for them"):
        workflow.write(published, tmp_path / "feeds", stamp=STAMP1, formats=Formats(html=True))
    assert not (tmp_path / "feeds").exists()
    site = Formats(ics=True, csv=True, html=True)
    published = workflow.publish(opened, today=TODAY, stamp=STAMP1, formats=site)
    assert published.report is not None and published.reconciled.plan.events
    workflow.write(published, tmp_path / "site", stamp=STAMP1, formats=site)
    assert (tmp_path / "site" / "index.html").is_file()


@pytest.mark.parametrize("where", ["folder", "file"])
def test_no_room_for_scratch_files_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch_folders: list[str], where: str
) -> None:
    """A full disk (or no writable temporary folder) says so, exit 2, no traceback, nothing
    written; the folder made before the failure is removed."""
    import errno

    from typer.testing import CliRunner

    from chancal.cli import app
    from chancal.publish import vevents

    program = tmp_path / "partners.yaml"
    shutil.copy(FIXTURE, program)
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def no_room(*args: object, **kwargs: object) -> None:
        raise full

    if where == "folder":
        monkeypatch.setattr(vevents.tempfile, "mkdtemp", no_room)
    else:
        monkeypatch.setattr(vevents.Appender, "_file", no_room)
    monkeypatch.setenv(pool.JOBS_ENV, "1")
    out = tmp_path / "feeds"
    result = CliRunner().invoke(
        app, ["export", str(program), "--ics", "--out", str(out), "--today", "2027-01-04"]
    )
    assert result.exit_code == 2, result.output
    assert "cannot write chancal's scratch files in" in result.output
    assert "No space left on device" in result.output and "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "chancal.lock").exists()
    assert all(not Path(folder).exists() for folder in scratch_folders)


def _renders_then_dies(manager_id: str) -> object:
    """In place of a worker's task: half a VEVENT in its file (when it renders), then the
    process is gone."""
    from chancal.publish import year

    appender = year._worker.appender if year._worker is not None else None
    if appender is not None:
        file = appender._file()
        file.write(b"BEGIN:VEVENT\r\nUID:half")
        file.flush()
    os._exit(3)


@pytest.mark.usefixtures("a_worker_goes_first")
def test_a_worker_that_dies_half_way_costs_time_not_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its managers are done again here (RedoneHere); what it left in its file is never
    read, and the feeds and lock are those of the year rendered from objects."""
    from chancal.publish import year

    monkeypatch.setattr(pool.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setenv(pool.JOBS_ENV, "2")
    monkeypatch.setattr(year, "_in_worker", _renders_then_dies)
    with pytest.warns(pool.RedoneHere, match="BrokenProcessPool"):
        files, count = _both_ways(tmp_path, _generated(600), STAMP1)
    assert count > 10_000 and len(files) > 600
