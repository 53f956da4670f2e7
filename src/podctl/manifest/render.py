"""format_problems: plain 'FILE:LINE:COL: message' lines, or rich output with a caret."""

from __future__ import annotations

from collections.abc import Sequence

from podctl.manifest.problems import Problem


def _caret_block(problem: Problem) -> tuple[str, str] | None:
    """The source line (tabs shown as spaces) and a caret line under the problem's column."""
    if problem.source_line is None or problem.line is None:
        return None
    source = problem.source_line.rstrip("\r\n")
    col = problem.col or 1
    prefix = source[: col - 1].expandtabs(1)
    return source.expandtabs(1), " " * len(prefix) + "^"


def format_problems(problems: Sequence[Problem], color: bool) -> str:
    """All problems of one file; ``color`` adds the source line and a caret (rich)."""
    if not color:
        return "\n".join(str(p) for p in problems)
    from io import StringIO

    from rich.console import Console
    from rich.text import Text

    buffer = StringIO()
    console = Console(
        file=buffer, force_terminal=True, color_system="standard", width=10_000, highlight=False
    )
    for problem in problems:
        line = Text()
        line.append(str(problem)[: len(str(problem)) - len(problem.message)], style="bold")
        line.append(problem.message, style="red")
        console.print(line, soft_wrap=True)
        block = _caret_block(problem)
        if block is not None:
            gutter = f"{problem.line:>5} | "
            source = Text()
            source.append(gutter, style="dim")
            source.append(block[0])
            console.print(source, soft_wrap=True)
            caret = Text()
            caret.append(" " * (len(gutter) - 2) + "| ", style="dim")
            caret.append(block[1], style="bold red")
            console.print(caret, soft_wrap=True)
    return buffer.getvalue().rstrip("\n")
