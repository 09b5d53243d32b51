"""The health check as a terminal scorecard: partners by manager against the principles, findings.

Drawn from a `HealthReport` value (`chancal.scores`) and the plan it scored;
user text goes through `rich.text.Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from chancal.exporters.layout import Row, fit_lines, flow, name_cell, partners_by_manager, plural
from chancal.plan import Plan
from chancal.scores import PRINCIPLE_TITLES, PRINCIPLES, HealthReport

STATUS_SYMBOL: Mapping[str, tuple[str, str]] = {
    "pass": ("\u2713", "bold green"),
    "warn": ("!", "bold yellow"),
    "fail": ("\u2717", "bold red"),
    "n/a": ("-", "dim"),
}
PRINCIPLE_SHORT: Mapping[str, str] = {
    "capability": "skills",
    "site_visits": "visits",
    "strategy": "strat",
    "sharing": "share",
    "balance": "balance",
    "investment": "invest",
    "spread": "spread",
}


@dataclass(slots=True)
class Scorecard:
    """Partners (by manager) against the principles, then the findings that are not a pass.

    Failures are listed before warnings; past `max_findings` the rest is only
    counted (the JSON format lists them all), so a 10,000-partner program
    still prints a readable page.
    """

    report: HealthReport
    plan: Plan
    max_label: int = 30
    max_findings: int = 200

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from fit_lines(self._lines(console, options), console, options.max_width)

    def _lines(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        width = options.max_width
        col = 8
        names = [Text(s.partner.name).cell_len + 3 for s in self.report.partners]
        label = min(self.max_label, max([16, *names]))
        tier = max([4, *(len(s.partner.tier) for s in self.report.partners)]) + 1
        show_tier = label + tier + col * len(PRINCIPLES) <= width
        if not show_tier:
            tier = 0
            label = max(12, min(label, width - col * len(PRINCIPLES)))
        yield Text.assemble(
            ("Health check: ", "bold"), (self.report.program_name, "bold"),
            f"  ({plural(len(self.report.partners), 'partner')})",
        )  # fmt: skip
        yield Text()
        head = Text(" " * label + ("tier".ljust(tier) if tier else ""), style="bold")
        for p in PRINCIPLES:
            head.append(PRINCIPLE_SHORT[p].center(col).rstrip().ljust(col))
        head.rstrip()
        yield head
        by_id = {s.partner.id: s for s in self.report.partners}
        for manager, partners in partners_by_manager(self.plan):
            scored = [by_id[p.id] for p in partners if p.id in by_id]
            if not scored:
                continue
            yield Text(manager.name if manager else "(no manager)", style="bold")
            for s in scored:
                row = Row()
                if tier:
                    row.add(s.partner.tier[: tier - 1].ljust(tier), "dim")
                pad = (col - 1) // 2
                for f in s.findings:
                    symbol, style = STATUS_SYMBOL[f.status]
                    row.add(" " * pad)
                    row.add(symbol, style)
                    row.add(" " * (col - 1 - pad))
                # a cut name ends in '…' and a space, so it never runs into the tier
                gap = 1 if tier else 0
                yield name_cell(s.partner.name, label - gap, indent=2) + " " * gap + row.text()
        yield Text()
        yield from flow(
            Text.assemble(("legend:", "dim")),
            [
                Text.assemble((STATUS_SYMBOL[s][0], STATUS_SYMBOL[s][1]), f" {name}")
                for s, name in (
                    ("pass", "pass"),
                    ("warn", "warn"),
                    ("fail", "fail"),
                    ("n/a", "not promised by the tier"),
                )
            ]
            + [Text(f"{PRINCIPLE_SHORT[p]} = {PRINCIPLE_TITLES[p]}") for p in PRINCIPLES],
            width,
        )
        findings = [
            (s, f)
            for status in ("fail", "warn")
            for s in self.report.partners
            for f in s.findings
            if f.status == status
        ]
        if findings:
            yield Text()
            yield Text("Findings", style="bold")
        for s, f in findings[: self.max_findings]:
            symbol, style = STATUS_SYMBOL[f.status]
            head = Text.assemble(
                (symbol, style), " ", (s.partner.name, "bold"), f": {PRINCIPLE_TITLES[f.principle]}"
            )
            if head.cell_len <= width:
                yield head
            else:
                for n, line in enumerate(head.wrap(console, max(20, width - 2))):
                    yield Text("  ") + line if n else line
            yield from _indented(f"seen: {f.seen}", width)
            if f.fix:
                yield from _indented(f"fix: {f.fix}", width)
        if len(findings) > self.max_findings:
            rest = len(findings) - self.max_findings
            yield Text(
                f"\u2026 and {plural(rest, 'more finding')}; "
                "chancal check --format json lists them all",
                style="dim",
            )
        counts = self.report.counts()
        yield Text()
        yield Text.assemble(
            (f"{counts['pass']} pass", "green"), ", ",
            (f"{counts['warn']} warn", "yellow"), ", ",
            (f"{counts['fail']} fail", "red"), f", {counts['n/a']} not applicable",
        )  # fmt: skip


def _indented(text: str, width: int, indent: int = 4) -> Iterator[Text]:
    """Word-wrap `text` under an indent, independent of the console's soft wrapping."""
    import textwrap

    for line in textwrap.wrap(
        text, width=max(20, width - indent), break_long_words=False, break_on_hyphens=False
    ):
        yield Text(" " * indent + line)
