"""The shape of the code: imports point one way, and every command is documented."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "chancal"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every chancal module that `path` imports, at any level of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "chancal" or name.startswith("chancal.")}


MODULES = {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [
        ("chancal", "chancal.cli"),  # nothing but the entry point imports the CLI
        ("chancal.exporters", "chancal.models"),
        ("chancal.exporters", "chancal.loader"),
        ("chancal.planner", "chancal.cli"),
        ("chancal.planner", "chancal.exporters"),
        ("chancal.planner", "chancal.loader"),
        ("chancal.models", "chancal.loader"),
    ],
)
def test_import_direction(importer: str, forbidden: str) -> None:
    """Modules under `importer` do not import `forbidden` (cli -> library, never back)."""
    offenders = sorted(
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if _within(module, importer)
        and module != "chancal.__main__"
        and not _within(module, forbidden)
        for name in names
        if _within(name, forbidden)
    )
    assert offenders == []


def test_errors_import_nothing_of_ours() -> None:
    """errors.py is the root every module may import, so it imports none of them."""
    assert MODULES["chancal.errors"] == set()


def test_the_import_parser_sees_imports() -> None:
    """The check above is not vacuous: it does see the CLI importing the loader."""
    assert any(_within(name, "chancal.loader") for name in MODULES["chancal.cli"])
    assert "chancal.cli" in MODULES["chancal.__main__"]


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
