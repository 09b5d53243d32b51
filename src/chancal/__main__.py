"""Entry point: answers `--version` before the CLI framework is even imported."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the chancal command line."""
    if sys.argv[1:] == ["--version"]:
        # Answered here, before typer and rich are imported: this path costs
        # about as much as a bare interpreter (target: at most 2x `python -c pass`).
        from chancal import __version__

        sys.stdout.write(f"chancal {__version__}\n")
        return

    import gc

    # One short-lived run builds millions of small, acyclic objects (YAML nodes,
    # models, events) and keeps them to the end: the cyclic collector would
    # traverse them again and again for nothing (half the load time of a
    # 10,000-partner program). Nothing we build relies on it to free memory,
    # and the process exits in seconds; so it stays off for the whole run.
    gc.disable()

    import warnings

    # A warning the library raises (a worker's share planned again here) is news for
    # the user, not a source location: one plain line on stderr.
    def note(message: Warning | str, *_: object, **__: object) -> None:
        sys.stderr.write(f"note: {message}\n")

    warnings.showwarning = note

    from chancal.cli import app

    try:
        app()
    finally:
        # On its way out the interpreter collects the reference cycles of everything it
        # tears down (modules, classes, functions, the year's objects): 0.10-0.19 s of a
        # 1,000-partner export and 0.17-0.24 s at 10,000 partners, after the last file was
        # written. Frozen, they are out of the collector's reach and go with the process.
        # atexit handlers (the scratch folder's removal), the flushing of stdout and
        # stderr, and the files written (closed and renamed before this) are unaffected
        # (benchmarks/README.md, "Compiled once, and no collection on the way out").
        gc.freeze()


if __name__ == "__main__":
    main()
