"""benchmarks/generate.py: deterministic programs of two portfolio shapes (issue 17).

The benchmark's targets are judged on these programs, so their shape is a
contract: realistic managers own 10 to 40 partners and their year fits;
overloaded ones own 50 to 200. Not timed (timings live in benchmarks/run.py).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from chancal.loader import loads
from chancal.planner import make_plan

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "generate.py"


def _module() -> ModuleType:
    # benchmarks/ is a folder of scripts, not a package: load the file by path.
    spec = importlib.util.spec_from_file_location("chancal_benchmark_generate_shapes", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATE = _module()


def _portfolio_sizes(text: str) -> list[int]:
    data: dict[str, Any] = yaml.load(text, Loader=yaml.CSafeLoader)
    owners = Counter(p["manager"] for p in data["partners"])
    assert set(owners) == {m["id"] for m in data["managers"]}  # no manager without partners
    return sorted(owners.values())


@pytest.mark.parametrize("portfolio", ["realistic", "overloaded"])
def test_same_n_seed_and_portfolio_give_the_same_bytes_under_any_hash_seed(
    portfolio: str,
) -> None:
    """The script run with two hash seeds writes the text generate() returns here; another
    seed writes another program."""
    args = [sys.executable, str(SCRIPT), "300", "--seed", "5", "--portfolio", portfolio]
    outputs = {
        subprocess.run(
            args, capture_output=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed}
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {GENERATE.generate(300, 5, portfolio).encode("utf-8")}
    assert GENERATE.generate(300, 6, portfolio) != GENERATE.generate(300, 5, portfolio)


def test_the_two_portfolios_are_different_programs_and_realistic_is_the_default() -> None:
    """Without --portfolio the script writes the realistic program."""
    assert GENERATE.generate(300, 5) == GENERATE.generate(300, 5, "realistic")
    assert GENERATE.generate(300, 5, "overloaded") != GENERATE.generate(300, 5, "realistic")


@pytest.mark.parametrize("n", [10, 40, 41, 57, 1000, 2345])
def test_realistic_managers_own_10_to_40_partners(n: int) -> None:
    """Every realistic portfolio holds 10 to 40 partners, the last one included."""
    sizes = _portfolio_sizes(GENERATE.generate(n, 3))
    assert sum(sizes) == n
    assert sizes[0] >= 10 and sizes[-1] <= 40, sizes


@pytest.mark.parametrize("n", [250, 1000])
def test_overloaded_managers_own_50_to_200_partners(n: int) -> None:
    """Every overloaded portfolio holds 50 to 200 partners."""
    sizes = _portfolio_sizes(GENERATE.generate(n, 3, "overloaded"))
    assert sum(sizes) == n
    assert sizes[0] >= 50 and sizes[-1] <= 200, sizes


def test_a_program_smaller_than_a_portfolio_has_one_manager() -> None:
    """Fewer partners than the smallest portfolio: one manager owns them all."""
    assert _portfolio_sizes(GENERATE.generate(4, 1)) == [4]


@pytest.mark.parametrize("n", [20, 120])
def test_a_realistic_year_fits_every_manager(n: int) -> None:
    """A realistic program asks no manager for more than their year holds: no over-demand
    warning, no double-booking, and at most the odd unplaced event (a follow-up due in the
    year-end freeze; a small program's managers each keep to one region, so partners share
    their working hours)."""
    config = loads(GENERATE.generate(n, 1)).config
    plan = make_plan(config, today=date(2027, 1, 1))
    codes = Counter(d.code for d in plan.diagnostics)
    assert codes["over-demand"] == 0 and codes["double-booked"] == 0, codes
    assert codes["unplaced"] <= 2, codes
    assert len(plan.events) > n * 10


def test_out_into_a_folder_not_made_yet(tmp_path: Path) -> None:
    """`--out big/partners.yaml` makes the folder (it stopped with a traceback)."""
    out = tmp_path / "big" / "partners.yaml"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "20", "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8") == GENERATE.generate(20, 1, "realistic")
