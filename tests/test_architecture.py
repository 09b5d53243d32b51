"""The shape of the code: no import cycles, imports one way, small modules, a map in the README.

Every module under `src/chancal` is parsed with `ast` and all its imports are
collected, at any depth: an import inside a function runs as soon as the
function does, so it joins a cycle and breaks a layer like one at the top.
Imports under `if TYPE_CHECKING:` never run; they are exempt from the cycle
check (a type may name its user), but they still count for the layers.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "chancal"
MAX_LINES = 700


@dataclass(frozen=True)
class Import:
    """One import of a chancal module: which, on what line, and whether it ever runs."""

    module: str
    line: int
    typing_only: bool


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, typing_only: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node below `node`, with whether it sits under `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(node):
        yield child, typing_only
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for branch in child.body:
                yield branch, True
                yield from _walk(branch, True)
            for branch in child.orelse:
                yield branch, typing_only
                yield from _walk(branch, typing_only)
        else:
            yield from _walk(child, typing_only)


def _imports(path: Path, modules: set[str]) -> list[Import]:
    """Every chancal module that `path` imports, at any level of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []
    for node, typing_only in _walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # `from chancal import workers` imports the module chancal.workers.
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            # `import chancal.planner.build` names the module; its packages run too,
            # but the edge that matters is to the module itself.
            while target not in modules and "." in target:
                target = target.rpartition(".")[0]
            if target in modules and target != name:
                found.append(Import(target, node.lineno, typing_only))
    return found


PATHS = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
IMPORTS = {name: _imports(path, set(PATHS)) for name, path in PATHS.items()}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _cycles() -> list[list[str]]:
    """Each import cycle among the modules, as a path that returns to its start."""
    graph = {
        name: sorted({i.module for i in imports if not i.typing_only})
        for name, imports in IMPORTS.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    cycles = []
    for component in sorted(components):
        members = set(component)
        start = component[0]
        # Breadth-first back to the start: the shortest cycle through it.
        previous: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in previous:
            following = []
            for node in frontier:
                for nxt in graph[node]:
                    if nxt in members and nxt not in previous:
                        previous[nxt] = node
                        following.append(nxt)
            frontier = following
        path = [start]
        while len(path) == 1 or path[-1] != start:
            path.append(previous[path[-1]])
        cycles.append(path[::-1])
    return cycles


def _cycle_text(cycle: list[str]) -> str:
    return " -> ".join(cycle)


def test_no_import_cycles() -> None:
    """No module imports itself back through others, function-level imports included."""
    cycles = [_cycle_text(c) for c in _cycles()]
    assert cycles == [], cycles


def test_the_import_finder_sees_function_level_imports() -> None:
    """Not vacuous: the loader's import of validation, inside `_load_text`, is seen."""
    back = [i for i in IMPORTS["chancal.loader"] if i.module == "chancal.validation"]
    assert back and not any(i.typing_only for i in back)
    tree = ast.parse(PATHS["chancal.loader"].read_text(encoding="utf-8"))
    top_level = {n.lineno for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)}
    assert all(i.line not in top_level for i in back)


# -- layers -------------------------------------------------------------------

# Modules of values only: frozen shapes and their words, which anyone may read.
VALUES = (
    "chancal.plan",
    "chancal.kinds",
    "chancal.errors",
    "chancal.durations",
    "chancal.scores",
    "chancal.changes",
)
# What the model layer may use: the models are the root above errors.
BELOW_MODELS = (
    "chancal.errors",
    "chancal.kinds",
    "chancal.durations",
    "chancal.rrules",
    "chancal.limits",
    "chancal.model_values",
    "chancal.pickling",
)

Rule = tuple[str, tuple[str, ...]]  # (modules under this prefix, may import only these)


def _offenders(importer: str, allowed: tuple[str, ...]) -> list[str]:
    return sorted(
        {
            f"{module} imports {i.module}"
            for module, imports in IMPORTS.items()
            if _within(module, importer)
            for i in imports
            if not any(_within(i.module, a) for a in allowed)
        }
    )


def _forbidden(importer: str, forbidden: str) -> list[str]:
    return sorted(
        {
            f"{module} imports {i.module}"
            for module, imports in IMPORTS.items()
            if _within(module, importer) and not _within(module, forbidden)
            for i in imports
            if _within(i.module, forbidden)
        }
    )


def test_nobody_imports_the_cli() -> None:
    """The CLI is the top: only the entry point imports it."""
    assert _forbidden("chancal", "chancal.cli") == ["chancal.__main__ imports chancal.cli"]


def test_exporters_use_only_values() -> None:
    """Exporters turn values into bytes or text: no lock, feeds, health, loader, planner, models."""
    assert _offenders("chancal.exporters", ("chancal.exporters", *VALUES)) == []


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [
        ("chancal.planner", "chancal.cli"),
        ("chancal.planner", "chancal.publish"),
        ("chancal.planner", "chancal.exporters"),
        ("chancal.planner", "chancal.health"),
        ("chancal.planner", "chancal.loader"),
        ("chancal.verify", "chancal.planner"),  # the independent referee
        *(
            (health, forbidden)
            for health in ("chancal.health", "chancal.health_checks", "chancal.health_measures")
            for forbidden in ("chancal.planner", "chancal.publish", "chancal.cli")
        ),
        # The lock and reconciling never plan: the workflow plans, then reconciles.
        ("chancal.publish.lock", "chancal.planner"),
        ("chancal.publish.lock_v1", "chancal.planner"),
        ("chancal.publish.reconcile", "chancal.planner"),
        ("chancal.publish.feeds", "chancal.planner"),
        ("chancal.publish.spool", "chancal.planner"),
        ("chancal.publish.vevents", "chancal.planner"),
        ("chancal.publish.files", "chancal.planner"),
        ("chancal.publish", "chancal.cli"),
        ("chancal.api", "chancal.cli"),
    ],
)
def test_import_direction(importer: str, forbidden: str) -> None:
    """Modules under `importer` do not import `forbidden` (cli -> library, never back)."""
    assert _forbidden(importer, forbidden) == []


@pytest.mark.parametrize(
    ("importer", "allowed"),
    [
        ("chancal.errors", ()),
        ("chancal.pickling", ()),
        ("chancal.kinds", ()),
        ("chancal.durations", ()),
        ("chancal.rrules", ()),
        ("chancal.limits", ("chancal.errors",)),
        ("chancal.model_values", BELOW_MODELS),
        ("chancal.models", (*BELOW_MODELS, "chancal.models_publish")),
        ("chancal.models_publish", BELOW_MODELS),
        ("chancal.plan", BELOW_MODELS),
        ("chancal.scores", ("chancal.plan", *BELOW_MODELS)),
        ("chancal.changes", BELOW_MODELS),
    ],
)
def test_roots_import_nothing_above_them(importer: str, allowed: tuple[str, ...]) -> None:
    """Errors, kinds, durations, models and the value modules stand on nothing higher."""
    assert _offenders(importer, allowed) == []


# What the CLI may call: the workflow and the API-level modules, never the lock,
# reconciling, the feed writer or the planner directly.
CLI_MAY_IMPORT = (
    "chancal.cli_output",
    "chancal.cli_options",
    "chancal.cli_publish",  # publish --caldav: the workflow, then caldav_push
    "chancal.cli_export",  # export: the workflow's write
    "chancal.publish.workflow",
    "chancal.exporters",
    "chancal.health",
    "chancal.errors",
    "chancal.suggest",
    "chancal.changes",
    "chancal.loader",
    "chancal.resources",
    "chancal.schema",
    "chancal.verify",
)


def test_the_cli_goes_through_the_workflow() -> None:
    """cli -> publish: the CLI never reaches the planner, the lock or the feeds itself."""
    found = sorted(
        i.module
        for i in IMPORTS["chancal.cli"]
        if i.module != "chancal" and not any(_within(i.module, m) for m in CLI_MAY_IMPORT)
    )
    assert found == []


def test_the_import_parser_sees_imports() -> None:
    """The checks above are not vacuous: they see imports at the top and inside functions."""
    assert any(i.module == "chancal.loader" for i in IMPORTS["chancal.cli"])
    assert any(i.module == "chancal.cli" for i in IMPORTS["chancal.__main__"])
    assert any(i.typing_only for i in IMPORTS["chancal.cli"])
    assert any(i.module == "chancal.exporters.views" for i in IMPORTS["chancal.exporters.summary"])


# -- size -----------------------------------------------------------------------


def _line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _oversized() -> list[str]:
    return sorted(
        f"{name} ({_line_count(path)} lines)"
        for name, path in PATHS.items()
        if _line_count(path) > MAX_LINES
    )


def test_no_module_is_over_the_limit() -> None:
    """No module is over about 700 lines: past that, it holds more than one concern."""
    assert _oversized() == []


# -- the README's map -----------------------------------------------------------

_MAP_ROW = re.compile(r"^\|\s*`(?P<path>[\w/]+\.py)`\s*\|\s*(?P<what>[^|]*?)\s*\|\s*$")


def _readme_map() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Development", 1)[1].split("\n## ", 1)[0]
    return {
        m["path"]: m["what"] for m in map(_MAP_ROW.match, section.splitlines()) if m is not None
    }


def test_readme_maps_every_module() -> None:
    """README's Development table names every module under src/chancal/ with what it does."""
    named = _readme_map()
    modules = sorted(p.relative_to(PACKAGE).as_posix() for p in PATHS.values())
    assert [m for m in modules if m not in named] == []
    assert [m for m in named if m not in modules] == []
    assert [m for m, what in named.items() if not what] == []


# -- documentation and shipped files --------------------------------------------


def test_every_command_is_in_the_readme() -> None:
    """Each CLI command is shown in README.md as `chancal NAME`."""
    from chancal.cli import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = sorted(
        command.name or (command.callback.__name__ if command.callback else "")
        for command in app.registered_commands
    )
    assert names, "no commands registered"
    missing = [name for name in names if f"chancal {name}" not in readme]
    assert missing == []


@pytest.mark.parametrize(
    "path",
    [
        *sorted((ROOT / "examples").glob("*.yaml")),
        PACKAGE / "templates" / "partners.yaml",
    ],
    ids=lambda p: p.relative_to(ROOT).as_posix(),
)
def test_program_files_name_their_schema(path: Path) -> None:
    """Shipped program files start with the yaml-language-server schema comment."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema = first.split("$schema=", 1)[1]
    expected = (
        "partners.schema.json" if "templates" in path.parts else "../schema/partners.schema.json"
    )
    assert schema == expected
