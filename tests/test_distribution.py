"""How users get chancal: one version everywhere, workflows that run on first try.

The install line, the example workflows, the pre-commit snippet and the
changelog all name the current version; the workflows pin their actions by
commit and follow the rules in examples/ci/README.md; documents link only to
files inside the repository.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from chancal import __version__

ROOT = Path(__file__).resolve().parent.parent
TAG = f"v{__version__}"
INSTALL = f'"chancal @ git+https://github.com/YOUR-ORG/chancal@{TAG}"'
WORKFLOWS = sorted(
    [*(ROOT / "examples" / "ci" / "github").glob("*.yml"), *(ROOT / ".github").rglob("*.yml")]
)
DOCUMENTS = [
    ROOT / "README.md",
    ROOT / "CHANGELOG.md",
    ROOT / "benchmarks" / "README.md",
    *sorted((ROOT / "examples").rglob("*.md")),
]
# The one action not pinned by commit, and why, is said in release.yml.
UNPINNED = {"pypa/gh-action-pypi-publish@release/v1"}


def test_every_install_names_the_current_tag() -> None:
    """README, both example workflows, the pre-commit snippet and the changelog agree."""
    assert f"pip install {INSTALL}" in (ROOT / "README.md").read_text("utf-8")
    for name in ("check-calendars.yml", "publish-calendars.yml"):
        text = (ROOT / "examples" / "ci" / "github" / name).read_text("utf-8")
        assert f"CHANCAL: {INSTALL}" in text, name
        assert re.search(r"pip install (?!\"\$CHANCAL\")", text) is None, name
    snippet = (ROOT / "examples" / "ci" / "README.md").read_text("utf-8")
    assert f"rev: {TAG}\n" in snippet
    changelog = (ROOT / "CHANGELOG.md").read_text("utf-8")
    assert f"\n## [{__version__}] - " in changelog
    assert f"\n[{__version__}]: https://github.com/YOUR-ORG/chancal/releases/tag/{TAG}\n" in (
        changelog
    )


def test_one_placeholder_for_the_repository_owner() -> None:
    """Every URL of the chancal repository uses the YOUR-ORG placeholder, nothing else."""
    files = [*DOCUMENTS, *WORKFLOWS, ROOT / "pyproject.toml"]
    for path in files:
        for owner in re.findall(r"github\.com/([^/\s\"']+)/chancal\b", path.read_text("utf-8")):
            assert owner == "YOUR-ORG", path


def test_pre_commit_snippet_uses_hooks_this_repository_ships() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    ids = {hook["id"] for hook in hooks}
    snippet = (ROOT / "examples" / "ci" / "README.md").read_text("utf-8")
    named = set(re.findall(r"- id: (\S+)", snippet))
    assert named and named <= ids
    for hook in hooks:
        assert hook["entry"].startswith("chancal ")
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job, step) for job, spec in workflow["jobs"].items() for step in spec["steps"]]


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflows_pin_cache_and_time_out(path: Path) -> None:
    """Actions by full commit hash (release in a comment), pip cached, jobs time out,
    checkouts keep no credentials."""
    text = path.read_text("utf-8")
    for ref in re.findall(r"uses: (\S+)", text):
        if ref in UNPINNED:
            continue
        line = next(line for line in text.splitlines() if f"uses: {ref}" in line)
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), line
        assert re.search(r" # v\d+\.\d+\.\d+$", line), line
    workflow = yaml.safe_load(text)
    for job, spec in workflow["jobs"].items():
        assert isinstance(spec.get("timeout-minutes"), int), job
    for job, step in _steps(workflow):
        uses = step.get("uses", "")
        if uses.startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, job
        if uses.startswith("actions/setup-python@"):
            assert step["with"]["cache"] == "pip", job


def test_documents_link_only_inside_the_repository() -> None:
    """Relative links and schema comments resolve to files of this repository."""
    for path in DOCUMENTS:
        text = path.read_text("utf-8")
        assert "shared/" not in text, path
        for target in re.findall(r"\]\((?!https?://|#)([^)\s]+)\)", text):
            resolved = (path.parent / target.split("#")[0]).resolve()
            assert resolved.is_relative_to(ROOT) and resolved.exists(), (path, target)
    for program in sorted((ROOT / "examples").glob("*.yaml")):
        first = program.read_text("utf-8").splitlines()[0]
        schema = (program.parent / first.split("$schema=", 1)[1]).resolve()
        assert schema.is_relative_to(ROOT) and schema.exists(), program
