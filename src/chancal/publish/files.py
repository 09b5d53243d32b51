"""Writing a folder of files all or nothing: staged, compared, then renamed into place.

A run writes every changed file into a staging folder inside the output
folder, then moves them into place (a folder of many files in a few renames,
see `commit`), undoing every move on failure, so a failed run leaves an
existing folder exactly as it was. Files already on disk with the same bytes
are not rewritten. Paths are relative, '/'-separated and made of safe names
only (`NAME_CHARS`).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from chancal.errors import UsageError

NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
"""What a file-name stem is made of (`chancal.publish.feeds.safe_name` keeps to it)."""


def cannot_write(path: Path | str, exc: OSError) -> str:
    """One line saying which file could not be written, why, and what to do about it."""
    hints = {
        errno.EACCES: "check the folder's permissions",
        errno.EPERM: "check the folder's permissions",
        errno.EROFS: "the file system is read-only",
        errno.ENOSPC: "free some disk space",
        errno.EDQUOT: "the disk quota is used up",
        errno.EFBIG: "a file-size limit is set (ulimit -f)",
        errno.ENOTDIR: "part of the path is a file, not a folder",
        errno.EISDIR: "a folder is where the file must go",
    }
    hint = hints.get(exc.errno or 0, "")
    return f"cannot write {path}: {exc.strerror or exc}" + (f"; {hint}" if hint else "")


CHUNK = 1 << 20
STAGING = ".chancal-export-"  # + the pid of the run that made it + a random part


def refuse_folders_in_the_way(root: Path, paths: Sequence[str], present: set[str]) -> None:
    """Refuse a folder (the user's, not ours) where a file must go: never delete it."""
    for relative in paths:
        path = os.path.join(root, relative)
        if relative in present and os.path.isdir(path) and not os.path.islink(path):
            raise UsageError(
                f"{path} is a folder, where chancal writes the feed {relative}; nothing was "
                "written. Move the folder away, or choose another --out"
            )


def remove_abandoned_staging(root: Path) -> None:
    """Remove staging folders that a killed run left in `root` (never a running one's)."""
    with contextlib.suppress(OSError):
        for name in os.listdir(root):
            pid = name.removeprefix(STAGING).partition("-")[0]
            if name.startswith(STAGING) and pid.isdigit() and not _running(int(pid)):
                shutil.rmtree(root / name, ignore_errors=True)


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows, os.kill would end the process
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else; or no way to ask (Windows): keep it
        return True
    return True


def present_files(root: Path, paths: Sequence[str]) -> set[str]:
    """Return the names under `root` in the folders of `paths`: one listing per folder."""
    found: set[str] = set()
    for folder in {os.path.dirname(path) for path in paths}:
        with contextlib.suppress(OSError):  # no such folder yet: nothing in it exists
            prefix = folder + "/" if folder else ""
            found.update(prefix + name for name in os.listdir(root / folder))
    return found


# Files are opened with os.open: a buffered file object costs three more
# system calls per file (fstat, ioctl, lseek), and there are 10,000 feeds.
_OPEN_FLAGS = getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def same_file(path: Path, target: str | Path) -> bool:
    """Tell whether the file `target` holds the same bytes as the file at `path`."""
    try:
        size = os.stat(target).st_size
    except OSError:  # missing or unreadable: writing would change it
        return False
    if size != os.stat(path).st_size:  # a different size needs no reading
        return False
    with open(path, "rb") as f:
        return same_bytes(iter(lambda: f.read(CHUNK), b""), target)


def same_bytes(chunks: Iterable[bytes], target: str | Path) -> bool:
    """Tell whether `target` holds exactly the bytes of `chunks`.

    A feed of one chunk (most feeds) costs one read: one byte more than the
    chunk is asked for, so a longer file shows at once. Longer feeds are
    read chunk by chunk, then checked for their end.
    """
    try:
        fd = os.open(target, os.O_RDONLY | _OPEN_FLAGS)
    except OSError:  # missing, unreadable: writing would change it
        return False
    try:
        parts = iter(chunks)
        first = next(parts, b"")
        second = next(parts, None)
        if second is None:
            return _read(fd, len(first) + 1) == first
        if _read(fd, len(first)) != first:
            return False
        rest = itertools.chain((second,), parts)
        del second  # hold no chunk but the one being compared
        for chunk in rest:
            if _read(fd, len(chunk)) != chunk:
                return False
        return _read(fd, 1) == b""
    except OSError:  # a folder, a read error: writing would change it
        return False
    finally:
        os.close(fd)


def _read(fd: int, size: int) -> bytes:
    """Read `size` bytes from `fd`, fewer only at the end of the file."""
    data = os.read(fd, size) if size > 0 else b""
    if len(data) == size or not data:
        return data
    parts = [data]
    size -= len(data)
    while size > 0:
        more = os.read(fd, size)
        if not more:
            break
        parts.append(more)
        size -= len(more)
    return b"".join(parts)


def write_new(path: str, chunks: Iterable[bytes]) -> None:
    """Create `path` (it must not exist: the staging folder is new) and write `chunks`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o666)
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:  # os.write may take fewer bytes at a time
                view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def replayable(chunks: Callable[[], Iterator[bytes]]) -> Callable[[], Iterator[bytes]]:
    """Return `chunks` such that a feed of one chunk is assembled only once.

    Comparing and then writing a feed reads it twice; a feed of one chunk
    (a few kilobytes: most feeds) is cheaper kept than assembled again.
    Larger feeds stream again, so memory stays at about a chunk.
    """
    parts = chunks()
    first = next(parts, b"")
    second = next(parts, None)
    if second is None:
        return lambda: iter((first,))
    pending: list[Iterator[bytes]] = [itertools.chain((first, second), parts)]
    return lambda: pending.pop() if pending else chunks()


def commit(root: Path, staging: Path, paths: Sequence[str], targets: Sequence[str]) -> None:
    """Move the staged files into place; on any failure, undo every step taken.

    Feeds are grouped by their top-level entry under `out` (all.ics, partners/,
    managers/). A folder of many feeds is swapped whole: the files already in
    the old folder that this run does not rewrite (feeds of partners no longer
    selected, the user's own files) move into the staged folder first, then
    two renames exchange the folders. That costs a few renames instead of two
    per feed (10,000 partners: 20,000). A folder where the swap would move
    more than it saves, a single file, or a folder that is a symlink inside
    `out` goes file by file, each replaced file parked in the staging folder
    so it can be put back.
    """
    backup = staging / ".replaced"
    undo: list[Callable[[], None]] = []
    groups: dict[str, list[int]] = {}
    for index, path in enumerate(paths):
        groups.setdefault(path.split("/", 1)[0], []).append(index)
    try:
        for top, members in groups.items():
            folder = root / top
            is_folder = "/" in paths[members[0]]
            if is_folder and not os.path.lexists(folder):
                move(staging / top, folder, undo)
                continue
            if is_folder and folder.is_dir() and not folder.is_symlink():
                names = {os.path.basename(paths[i]) for i in members}
                leftovers = [name for name in os.listdir(folder) if name not in names]
                if len(leftovers) + 2 < len(members):
                    for name in sorted(leftovers):
                        move(folder / name, staging / top / name, undo)
                    with contextlib.suppress(OSError):  # keep the folder's permissions
                        os.chmod(staging / top, os.stat(folder).st_mode & 0o7777)
                    backup.mkdir(exist_ok=True)
                    move(folder, backup / top, undo)
                    move(staging / top, folder, undo)
                    continue
            for index in members:
                target = targets[index]
                if os.path.lexists(target):
                    parked = backup / paths[index]
                    parked.parent.mkdir(parents=True, exist_ok=True)
                    move(target, parked, undo)
                move(staging / paths[index], target, undo)
    except BaseException:
        for step in reversed(undo):
            step()
        raise


def move(source: str | Path, target: str | Path, undo: list[Callable[[], None]]) -> None:
    os.replace(source, target)
    undo.append(lambda: os.replace(target, source))


def targets_of(root: Path, paths: Sequence[str]) -> list[str]:
    """The absolute target of each relative path, each checked to stay inside `root`."""
    # One resolve per folder, not per file: 10,000 partner feeds share one.
    checked: dict[str, None] = {}
    targets = []
    for path in paths:
        folder = os.path.dirname(path)
        if folder not in checked:
            _inside(root, path)
            checked[folder] = None
        else:
            _check_name(path)
        targets.append(os.path.join(root, path))  # str: a tenth of a Path's memory
    return targets


def _check_name(relative: str) -> list[str]:
    parts = relative.split("/")
    if any(p in ("", ".", "..") or not set(p) <= NAME_CHARS | {".", "~"} for p in parts):
        raise UsageError(f"refusing to write {relative!r}: not a safe relative path")
    return parts


def _inside(root: Path, relative: str) -> Path:
    # Names come from safe_name, so this cannot trigger; it guards the
    # promise that no feed is ever written outside --out on its own.
    parts = _check_name(relative)
    target = root.joinpath(*parts)
    parent = target.parent.resolve()
    if parent != root and root not in parent.parents:
        raise UsageError(f"refusing to write {target}: it would land outside {root}")
    return target


def make_dirs(folder: Path) -> list[Path]:
    """Create `folder` and missing parents; return the ones created, outermost first."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    missing.reverse()
    for path in missing:
        path.mkdir()
    return missing


def remove_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: someone else's files are in it
        folder.rmdir()
