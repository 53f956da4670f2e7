"""kubectl's human-readable table layout.

kubectl writes rows as tab-separated cells through cli-runtime's
GetNewTabWriter: github.com/liggitt/tabwriter (Go's text/tabwriter plus
RememberWidths) with minwidth 6, tabwidth 4, padding 3, padchar ' '.
This module re-implements that algorithm so column spacing matches exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

MIN_WIDTH = 6
PADDING = 3

_CELL_TERMINATORS = frozenset("\t\v\n\f")

# A segment is what the Go writer formats in one flush: lines of cells, where
# every line but the last was newline-terminated.
_Segment = list[list[str]]


def _split_segments(text: str) -> list[_Segment]:
    """Split text into cells and lines the way tabwriter.Write does."""
    segments: list[_Segment] = []
    lines: _Segment = [[]]
    cell: list[str] = []
    for ch in text:
        if ch not in _CELL_TERMINATORS:
            cell.append(ch)
            continue
        lines[-1].append("".join(cell))
        cell = []
        if ch in "\n\f":
            lines.append([])
            # A formfeed forces a flush: columns never continue across it.
            if ch == "\f":
                segments.append(lines)
                lines = [[]]
    if cell:
        lines[-1].append("".join(cell))
    segments.append(lines)
    return segments


class _Formatter:
    """Elastic-tabstop layout of one flushed segment (tabwriter.format/writeLines)."""

    def __init__(self, lines: _Segment, remembered: list[int] | None, out: list[str],
                 minwidth: int, padding: int) -> None:
        self.lines = lines
        self.minwidth = minwidth
        self.padding = padding
        self.remembered = remembered
        self.out = out
        self.widths: list[int] = []

    def format(self, line0: int, line1: int) -> None:
        column = len(self.widths)
        this = line0
        while this < line1:
            # The last cell of a line is trailing text, never part of a column.
            if column >= len(self.lines[this]) - 1:
                this += 1
                continue
            self.write_lines(line0, this)
            line0 = this
            width = self.minwidth
            while this < line1 and column < len(self.lines[this]) - 1:
                width = max(width, len(self.lines[this][column]) + self.padding)
                this += 1
            width = self._remember(column, width)
            self.widths.append(width)
            self.format(line0, this)
            self.widths.pop()
            line0 = this
            this += 1
        self.write_lines(line0, line1)

    def _remember(self, column: int, width: int) -> int:
        if self.remembered is None:  # plain Go tabwriter: every block stands alone
            return width
        """Apply RememberWidths: a column never gets narrower than any earlier block of it."""
        if len(self.remembered) < column:
            self.remembered.extend(self.widths[len(self.remembered) :])
        if len(self.remembered) == column:
            self.remembered.append(width)
            return width
        if self.remembered[column] > width:
            return self.remembered[column]
        self.remembered[column] = width
        return width

    def write_lines(self, line0: int, line1: int) -> None:
        for index in range(line0, line1):
            for column, cell in enumerate(self.lines[index]):
                self.out.append(cell)
                if column < len(self.widths):
                    self.out.append(" " * (self.widths[column] - len(cell)))
            if index + 1 != len(self.lines):
                self.out.append("\n")


def format_columns(text: str, remembered: Sequence[int] = (), *, minwidth: int = MIN_WIDTH,
                   padding: int = PADDING, remember: bool = True) -> tuple[str, list[int]]:
    """Align tab-separated text like kubectl's tabwriter (tables: minwidth 6, padding 3,
    widths remembered across blocks; describe: minwidth 0, padding 2, plain Go tabwriter).

    `remembered` carries column widths from earlier output (watch mode); the
    updated widths are returned with the text.
    """
    widths = list(remembered)
    out: list[str] = []
    for lines in _split_segments(text):
        _Formatter(lines, widths if remember else None, out, minwidth, padding).format(
            0, len(lines))
    return "".join(out), widths


def _table_text(headers: Sequence[str], rows: Sequence[Sequence[str]], *, header: bool) -> str:
    lines = [headers] if header else []
    lines.extend(rows)
    return "".join("\t".join(cells) + "\n" for cells in lines)


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    header: bool = True,
    remembered: Sequence[int] = (),
) -> str:
    """Render a kubectl table: padded columns, unpadded last column, one line per row.

    Headers are printed as given. Pass `header=False` for `--no-headers` or for
    rows printed later in watch mode (with `remembered` from `column_widths`).
    """
    text, _ = format_columns(_table_text(headers, rows, header=header), remembered)
    return text


def column_widths(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    header: bool = True,
    remembered: Sequence[int] = (),
) -> list[int]:
    """Column widths (padding included) the tabwriter remembers after rendering this table."""
    _, widths = format_columns(_table_text(headers, rows, header=header), remembered)
    return widths
