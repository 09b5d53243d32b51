"""The files of an output folder: safe relative paths, what is there, what would change.

Paths are relative, '/'-separated and made of safe names only (`NAME_CHARS`).
Files already on disk with the same bytes are not rewritten, so comparing is
cheap and streamed. Staging and committing are `chancal.publish.transaction`'s.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Sequence
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


def refuse_folders_in_the_way(root: Path, paths: Sequence[str], present: set[str]) -> None:
    """Refuse a folder (the user's, not ours) where a file must go, or a file where a folder
    must go: never delete it."""
    for folder in sorted({os.path.dirname(relative) for relative in paths} - {""}):
        path = os.path.join(root, folder)
        if os.path.lexists(path) and not os.path.isdir(path):
            raise UsageError(
                f"cannot write the feeds in {path}: it is a file, not a folder; nothing was "
                "written. Move the file away, or choose another --out"
            )
    for relative in paths:
        path = os.path.join(root, relative)
        if relative in present and os.path.isdir(path) and not os.path.islink(path):
            raise UsageError(
                f"{path} is a folder, where chancal writes the feed {relative}; nothing was "
                "written. Move the folder away, or choose another --out"
            )


def present_files(root: Path, paths: Sequence[str]) -> set[str]:
    """Return the names under `root` in the folders of `paths`: one listing per folder."""
    found: set[str] = set()
    for folder in {os.path.dirname(path) for path in paths}:
        with contextlib.suppress(OSError):  # no such folder yet: nothing in it exists
            prefix = folder + "/" if folder else ""
            found.update(prefix + name for name in os.listdir(root / folder))
    return found


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
    """Tell whether `target` holds exactly the bytes of `chunks` (read as they come)."""
    try:
        with open(target, "rb") as handle:
            for chunk in chunks:
                if handle.read(len(chunk)) != chunk:
                    return False
            return handle.read(1) == b""
    except OSError:  # missing, unreadable, a folder: writing would change it
        return False


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
