"""Problems as text: plain 'FILE:LINE:COL: message' lines, or excerpts that show the source
line with a caret under the column, laid out here and styled by cli.terminal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from podctl.manifest.problems import Problem


@dataclass(frozen=True)
class Excerpt:
    """One problem laid out for a terminal. Without a source line, `gutter`, `source`,
    `margin` and `caret` are empty."""

    where: str  # 'FILE:LINE:COL: '
    message: str
    gutter: str = ""  # '    3 | ', before the source line
    source: str = ""
    margin: str = ""  # '      | ', before the caret, as wide as the gutter
    caret: str = ""  # spaces up to the problem's column, then '^'


def format_problems(problems: Sequence[Problem]) -> str:
    """All problems of one file, one 'FILE:LINE:COL: message' line each."""
    return "\n".join(str(p) for p in problems)


def excerpts(problems: Sequence[Problem]) -> list[Excerpt]:
    return [_excerpt(p) for p in problems]


def _excerpt(problem: Problem) -> Excerpt:
    text = str(problem)
    where = text[: len(text) - len(problem.message)]
    if problem.source_line is None or problem.line is None:
        return Excerpt(where, problem.message)
    source = problem.source_line.rstrip("\r\n")
    col = problem.col or 1
    # Tabs are shown one column wide so that the caret stays under the character.
    prefix = source[: col - 1].expandtabs(1)
    gutter = f"{problem.line:>5} | "
    return Excerpt(where, problem.message, gutter, source.expandtabs(1),
                   " " * (len(gutter) - 2) + "| ", " " * len(prefix) + "^")
