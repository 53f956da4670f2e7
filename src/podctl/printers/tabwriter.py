"""Go's text/tabwriter column alignment, which kubectl's describe output is made of."""

from __future__ import annotations


def tabwrite(text: str, minwidth: int = 0, padding: int = 2) -> str:
    """Align tab-terminated cells the way Go's tabwriter does (AlignLeft, space padding).

    A column block is a run of consecutive lines that all have a cell in that column;
    each block is as wide as its widest cell plus padding.
    """
    lines = text.split("\n")
    cells = [line.split("\t") for line in lines]
    widths: list[list[int]] = [[0] * (len(c) - 1) for c in cells]

    def format_block(first: int, last: int, column: int) -> None:
        row = first
        while row < last:
            if len(cells[row]) - 1 <= column:
                row += 1
                continue
            end = row
            width = minwidth
            while end < last and len(cells[end]) - 1 > column:
                width = max(width, len(cells[end][column]) + padding)
                end += 1
            for k in range(row, end):
                widths[k][column] = width
            format_block(row, end, column + 1)
            row = end

    format_block(0, len(cells), 0)
    out = []
    for row_cells, row_widths in zip(cells, widths, strict=True):
        padded = [cell.ljust(w) for cell, w in zip(row_cells, row_widths, strict=False)]
        out.append("".join(padded) + row_cells[-1])
    return "\n".join(out)
