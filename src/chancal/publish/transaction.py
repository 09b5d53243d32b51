"""Publishing as one transaction: files staged, a journal written last, moves a later run completes.

A run writes every new file (feeds, tables, the lock) to a staging place
beside where it goes and flushes it to disk. Then it writes a journal: the
list of renames still to make. The journal is the commit point:
- a run that dies before its journal exists has changed nothing but its
  staging folder, which the next run removes (roll back);
- a run that dies after it (kill -9, power loss, a full disk half-way) is
  completed by the next run that opens the program or writes to the same
  folder: it finds the journal and makes the renames still missing (roll
  forward), so the files end up all new, the lock with them;
- a rename that fails in a live run (permissions, say) is undone at once:
  every replaced file was parked, not deleted, so it is put back.
Between the first and the last rename (milliseconds, not the minutes of a
large export) a reader can see some files new and some old; no crash can
leave that state behind.

Files and folders are flushed with fsync where the platform allows
(directories cannot be on Windows), so that after a power loss the journal
never points at a file whose bytes were still in memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO, cast

from chancal.errors import UsageError
from chancal.publish.files import cannot_write

STAGING = ".chancal-export-"  # + the pid of the run that made it + a random part
if sys.platform != "win32":
    import fcntl

JOURNAL = ".chancal-journal-"  # + the pid of the run that wrote it + ".json"


@dataclass(frozen=True, slots=True)
class Move:
    """One rename of a commit: `staged` goes to `target`; an old `target` waits at `parked`."""

    staged: str
    target: str
    parked: str


def commit(folder: Path, moves: Sequence[Move], leftovers: Sequence[str]) -> None:
    """Journal `moves` in `folder`, make them, then drop the journal and remove `leftovers`.

    `leftovers` are the staging folders and parked files; removed only once
    every move is made. An error before the journal is written leaves every
    target as it was; so does an error during the moves, which are undone.
    """
    if not moves:
        _remove(leftovers)
        return
    for parent in sorted({os.path.dirname(move.staged) for move in moves}):
        sync_folder(parent)  # the staged files' names are on disk before the journal
    journal, held = _write_journal(folder, moves, leftovers)
    with held:
        undo: list[Callable[[], None]] = []
        try:
            for move in moves:
                _make(move, undo)
            for parent in sorted({os.path.dirname(move.target) for move in moves}):
                sync_folder(parent)
        except BaseException:  # still running: put every file back, as if nothing happened
            for step in reversed(undo):
                step()
            os.unlink(journal)
            raise
        os.unlink(journal)
        sync_folder(folder)
    _remove(leftovers)


def recover(folder: Path) -> int:
    """Complete the commits that stopped half-way in `folder`; return how many there were.

    A journal of a run still going is left alone: a running export holds a
    lock on its journal, which the system drops when the process ends, even
    by kill -9 (a pid can be reused; a dropped lock cannot be mistaken).
    Holding that lock while completing also keeps two recovering runs apart.
    A completed commit ends as if it had never stopped: every target new, the
    journal, staging folders and parked files gone.
    """
    done = 0
    for name in _names(folder):
        if not name.startswith(JOURNAL):
            continue
        journal = folder / name
        try:
            with open(journal, "rb") as handle:
                if not _take(handle, name.removeprefix(JOURNAL)):
                    continue  # its run is still going
                if not name.endswith(".json"):  # stopped while writing it: it commits nothing
                    journal.unlink()
                    continue
                moves, leftovers = _parse_journal(handle.read())
                for move in moves:
                    _complete(move)
                for parent in sorted({os.path.dirname(move.target) for move in moves}):
                    sync_folder(parent)
                journal.unlink()
        except FileNotFoundError:  # completed by another run meanwhile
            continue
        except OSError as exc:
            raise UsageError(
                f"an earlier export stopped half-way and cannot be completed: "
                f"{cannot_write(exc.filename or journal, exc)}; fix that and run again"
            ) from None
        _remove(leftovers)
        done += 1
    return done


def remove_abandoned_staging(root: Path) -> None:
    """Remove what killed runs staged in `root` (never a running one's): folders and files.

    Call `recover` first: staged files named in a journal are still to be
    moved into place.
    """
    _remove(
        str(root / name)
        for name in _names(root)
        if name.startswith(STAGING) and _abandoned(name.removeprefix(STAGING))
    )


def staged_beside(target: Path) -> tuple[Path, Path]:
    """Where a single file (the lock) is staged beside `target`, and where the old one parks.

    Named like staging folders, so `remove_abandoned_staging` finds them if the run dies.
    """
    stem = f"{STAGING}{os.getpid()}-{target.name}"
    return target.with_name(stem), target.with_name(f"{stem}.replaced")


def write_new(path: str | Path, chunks: Iterable[bytes], *, flush: bool = True) -> None:
    """Create `path` (it must not exist: staging places are new), write `chunks`, flush to disk.

    `flush=False` leaves the flush to `flush_files`, for many files at once.
    """
    with open(path, "xb") as handle:
        handle.writelines(chunks)
        handle.flush()
        if flush:
            os.fsync(handle.fileno())


def flush_files(folder: str | Path, paths: Sequence[str | Path]) -> None:
    """Put `paths`, staged in `folder`, on disk: before the journal may name them.

    On Linux one `syncfs` of the folder's file system replaces an fsync per
    file: a first export of 10,000 partners stages 10,432 files, and their
    fsyncs took 3.7 s (benchmarks/README.md, "Flushing the staged files").
    """
    if _syncfs is not None and paths:
        fd = os.open(folder, os.O_RDONLY)
        try:
            if _syncfs(fd) != 0:
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error), str(folder))
        finally:
            os.close(fd)
        return
    for path in paths:
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def _find_syncfs() -> Callable[[int], int] | None:
    # Python's os module has sync() (every file system) but not syncfs(2), glibc and
    # musl have it: called through ctypes, in this one place.
    if not sys.platform.startswith("linux"):
        return None
    try:
        return cast(Callable[[int], int], ctypes.CDLL(None, use_errno=True).syncfs)
    except (OSError, AttributeError):
        return None


_syncfs = _find_syncfs()


def sync_folder(path: str | Path) -> None:
    """Flush a folder's entries (new and renamed names) to disk; Windows cannot open folders."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make(move: Move, undo: list[Callable[[], None]]) -> None:
    for folder in _make_parents(move.target):
        undo.append(partial(os.rmdir, folder))
    if os.path.lexists(move.target):
        os.replace(move.target, move.parked)
        undo.append(lambda: os.replace(move.parked, move.target))
    os.replace(move.staged, move.target)
    undo.append(lambda: os.replace(move.target, move.staged))


def _complete(move: Move) -> None:
    # Each step is known done by which files exist, so completing twice is harmless.
    if not os.path.lexists(move.staged):  # moved already
        return
    _make_parents(move.target)
    if os.path.lexists(move.target) and not os.path.lexists(move.parked):
        os.replace(move.target, move.parked)
    os.replace(move.staged, move.target)


def _make_parents(path: str) -> list[str]:
    """Create the missing folders above `path` (partners/ on a first export), outermost first."""
    missing = []
    folder = os.path.dirname(path)
    while not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for folder in reversed(missing):
        os.mkdir(folder)
    return missing[::-1]


def _write_journal(
    folder: Path, moves: Sequence[Move], leftovers: Sequence[str]
) -> tuple[Path, BinaryIO]:
    """Write the journal whole under its final name; return it and the handle that holds it."""
    record = {"format": 1, "moves": [asdict(move) for move in moves], "leftovers": leftovers}
    pending = folder / f"{JOURNAL}{os.getpid()}.partial"
    handle = open(pending, "xb")  # noqa: SIM115 (held open, locked, until the commit is done)
    try:
        _hold(handle)  # before the journal has its name, so no one takes it for abandoned
        handle.write(json.dumps(record, ensure_ascii=False, indent=0).encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
        journal = pending.with_suffix(".json")
        os.replace(pending, journal)  # whole or absent: a rename is atomic
        sync_folder(folder)
    except BaseException:
        handle.close()
        pending.unlink(missing_ok=True)
        raise
    return journal, handle


def _parse_journal(data: bytes) -> tuple[list[Move], list[str]]:
    record = json.loads(data)
    return [Move(**move) for move in record["moves"]], list(record["leftovers"])


def _hold(handle: BinaryIO) -> None:
    if sys.platform != "win32":
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _take(handle: BinaryIO, tail: str) -> bool:
    """Take the lock on a journal if its run has ended; tell whether it had."""
    if sys.platform == "win32":  # no flock: judge by the pid in its name
        return _abandoned(tail)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _remove(paths: Iterable[str]) -> None:
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _names(folder: Path) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:  # no such folder yet: nothing to recover or remove
        return []


def _abandoned(tail: str) -> bool:
    """Whether the run whose pid starts `tail` ("123-abc", "123.json") has ended."""
    pid = tail.split("-", 1)[0].split(".", 1)[0]
    if not pid.isdigit() or int(pid) == os.getpid() or os.name == "nt":
        return False  # not ours to judge; on Windows, os.kill would end the process
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else: keep it
        return False
    return False
