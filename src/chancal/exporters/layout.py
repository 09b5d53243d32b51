"""What the terminal views share: partners grouped by manager, name labels, rows of cells, wrapping.

Everything is built from `rich.text.Text` pieces, so user names are never
read as markup.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Span, Text

from chancal.plan import ManagerInfo, PartnerInfo, Plan


def fit_lines(lines: Iterable[Text], console: Console, width: int) -> Iterator[Text]:
    """Wrap lines wider than `width` under a two-space indent.

    Done here rather than by rich so the views keep their width even on a
    console printing with soft_wrap=True.
    """
    for line in lines:
        if line.cell_len <= width:
            yield line
            continue
        for n, part in enumerate(line.wrap(console, max(10, width - 2))):
            part.rstrip()
            yield Text("  ") + part if n else part


class HangingLines:
    """Lines wrapped to the console's width, each continuation under a hanging indent.

    For paragraphs printed on a console with soft_wrap=True (which rich would not
    wrap at all): diagnostics, diff lines. The first line keeps the full width.
    """

    def __init__(self, lines: Sequence[Text], indent: int = 4) -> None:
        self.lines = lines
        self.indent = indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        for line in self.lines:
            if line.cell_len <= width:
                yield line
                continue
            first = line.wrap(console, max(20, width), overflow="fold")[0]
            rest = line.divide([len(first.plain)])[1]
            first.rstrip()
            yield first
            rest = rest[len(rest.plain) - len(rest.plain.lstrip()) :]
            for part in rest.wrap(console, max(20, width - self.indent), overflow="fold"):
                part.rstrip()
                yield Text(" " * self.indent) + part


class Row:
    """A line of many small styled cells, built as one string with merged spans.

    Appending thousands of tiny Text pieces is what made large grids slow;
    runs of equal style become a single span here.
    """

    __slots__ = ("_parts", "_pos", "_spans", "_start", "_style")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._spans: list[Span] = []
        self._pos = 0
        self._style = ""
        self._start = 0

    def add(self, text: str, style: str = "") -> None:
        if style != self._style:
            self._close()
            self._style, self._start = style, self._pos
        self._parts.append(text)
        self._pos += len(text)

    def _close(self) -> None:
        if self._style and self._pos > self._start:
            self._spans.append(Span(self._start, self._pos, self._style))

    def text(self) -> Text:
        self._close()
        plain = "".join(self._parts)
        stripped = plain.rstrip()
        spans = [
            Span(s.start, min(s.end, len(stripped)), s.style)
            for s in self._spans
            if s.start < len(stripped)
        ]
        return Text(stripped, spans=spans)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def name_cell(text: str, width: int, indent: int = 0, style: str = "") -> Text:
    out = Text(" " * indent)
    name = Text(text, style=style)
    name.truncate(max(1, width - indent), overflow="ellipsis", pad=True)
    out.append_text(name)
    return out


def partners_by_manager(plan: Plan) -> list[tuple[ManagerInfo | None, list[PartnerInfo]]]:
    """Partners grouped by manager, in the plan's order; unknown managers last."""
    by_manager: defaultdict[str, list[PartnerInfo]] = defaultdict(list)
    for p in plan.partners:
        by_manager[p.manager_id].append(p)
    groups: list[tuple[ManagerInfo | None, list[PartnerInfo]]] = [
        (m, by_manager.pop(m.id)) for m in plan.managers if m.id in by_manager
    ]
    rest = [p for ps in by_manager.values() for p in ps]
    if rest:
        groups.append((None, rest))
    return groups


def flow(head: Text, entries: Sequence[Text], width: int) -> Iterator[Text]:
    """Lay out legend entries after `head`, wrapping between entries, never inside one."""
    line = head.copy()
    indent = 2
    for n, entry in enumerate(entries):
        if line.cell_len + 2 + entry.cell_len > width and line.cell_len > indent:
            yield line
            line = Text(" " * indent)
            line.append_text(entry)
            continue
        line.append(" " if n == 0 else "  ")
        line.append_text(entry)
    yield line
