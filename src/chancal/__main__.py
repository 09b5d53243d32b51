"""Entry point: answers `--version` before the CLI framework is even imported."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the chancal command line."""
    if sys.argv[1:] == ["--version"]:
        from chancal import __version__

        sys.stdout.write(f"chancal {__version__}\n")
        return
    from chancal.cli import app

    app()


if __name__ == "__main__":
    main()
