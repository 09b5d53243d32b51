"""Shell completion through typer's own protocol: bash, zsh and fish.

Each case runs the console-script entry point in a fresh interpreter with the
environment a shell's completion function sets (`_CHANCAL_COMPLETE=complete_bash`
with `COMP_WORDS`/`COMP_CWORD`, and so on), as it runs on every TAB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer

from chancal.cli import app

# What a TAB must not load: the program's libraries. (pydantic is not listed: typer
# itself imports it to read parameter values, and a completion answers in about
# the time of `chancal --help`.)
HEAVY = ("yaml", "icalendar", "dateutil.rrule", "holidays", "chancal.loader", "chancal.planner")

# What the `chancal` console script runs, under the name a shell calls it by.
_PROBE = """
import json, sys
sys.argv = ["chancal"]
from chancal.__main__ import main
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
sys.stderr.write("\\n@@MODULES@@" + json.dumps(sorted(sys.modules)))
"""


def complete(**env: str) -> tuple[list[str], set[str]]:
    """Run a completion request; return the lines it printed and the modules it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
    )
    err, _, tail = proc.stderr.rpartition("@@MODULES@@")
    assert tail, proc.stderr
    assert proc.returncode == 0 and err.strip() == "", err
    return proc.stdout.splitlines(), set(json.loads(tail))


def bash(words: str) -> list[str]:
    """What bash offers for the command line `words` (the cursor on its last word)."""
    lines, _ = complete(
        _CHANCAL_COMPLETE="complete_bash",
        COMP_WORDS=words,
        COMP_CWORD=str(len(words.split(" ")) - 1),
    )
    return lines


COMMANDS = sorted(typer.main.get_group(app).commands)


def test_bash_completes_every_command() -> None:
    """`chancal <TAB>` offers every subcommand, without loading the program's libraries."""
    assert len(COMMANDS) >= 9
    lines, modules = complete(
        _CHANCAL_COMPLETE="complete_bash", COMP_WORDS="chancal ", COMP_CWORD="1"
    )
    assert sorted(lines) == COMMANDS
    _, in_a_command = complete(
        _CHANCAL_COMPLETE="complete_bash", COMP_WORDS="chancal export --", COMP_CWORD="2"
    )
    for imported in (modules, in_a_command):
        heavy = sorted(m for m in imported for h in HEAVY if m == h or m.startswith(f"{h}."))
        assert heavy == []


def test_bash_completes_a_prefix_and_options() -> None:
    """A prefix narrows the commands; `--` lists a command's options and the root's."""
    assert bash("chancal ex") == ["export"]
    assert bash("chancal v") == ["validate", "verify"]
    export = bash("chancal export --")
    assert {"--ics", "--out", "--check", "--today", "--stamp", "--help"} <= set(export)
    root = bash("chancal --")
    assert {"--version", "--install-completion", "--show-completion", "--help"} <= set(root)
    plan = bash("chancal plan --v")
    assert plan == ["--view"]


@pytest.mark.parametrize(
    ("shell", "registers"),
    [
        ("bash", "complete -o default -F _chancal_completion chancal"),
        ("zsh", "compdef _chancal_completion chancal"),
        ("fish", "complete --command chancal"),
    ],
)
def test_each_shell_gets_its_script(shell: str, registers: str) -> None:
    """The script `--install-completion` installs (also printed by `--show-completion`)."""
    lines, _ = complete(_CHANCAL_COMPLETE=f"source_{shell}")
    assert registers in "\n".join(lines)


def test_zsh_and_fish_complete_commands() -> None:
    """The zsh and fish protocols answer with the matching command and its help line."""
    zsh, _ = complete(_CHANCAL_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="chancal ex")
    assert '"export":' in "\n".join(zsh)
    fish, _ = complete(
        _CHANCAL_COMPLETE="complete_fish",
        _TYPER_COMPLETE_ARGS="chancal ex",
        _TYPER_COMPLETE_FISH_ACTION="get-args",
    )
    assert [line.split("\t")[0] for line in fish] == ["export"]
