"""Friendly explanations for YAML syntax errors (libyaml's terse text plus what to do)."""

from __future__ import annotations

from typing import Any


def _line(text: str, index: int) -> str:
    """0-based line ``index`` of ``text`` ('' when out of range)."""
    lines = text.splitlines()
    return lines[index] if 0 <= index < len(lines) else ""


def _previous_content_line(text: str, index: int) -> tuple[int, str]:
    """The closest non-blank, non-comment line before 0-based ``index``."""
    lines = text.splitlines()
    for i in range(min(index, len(lines)) - 1, -1, -1):
        stripped = lines[i].strip()
        if stripped and not stripped.startswith("#"):
            return i, lines[i]
    return -1, ""


def _dash_without_space(line: str) -> str | None:
    """'-containerPort: 8080' → 'containerPort: 8080' (a list item missing its space)."""
    stripped = line.lstrip()
    if stripped.startswith("-") and len(stripped) > 1 and stripped[1] not in " -\t":
        return stripped[1:]
    return None


def _tab_hint(text: str, line_index: int) -> str | None:
    """Explain tabs in indentation when the line (or the one before) has them."""
    for i in (line_index, line_index - 1):
        line = _line(text, i)
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            return (
                f"line {i + 1} is indented with a tab character; YAML allows only spaces "
                "for indentation: replace the tab with spaces"
            )
    return None


def syntax_message(exc: Any, text: str) -> tuple[str, tuple[int, int] | None]:
    """kubectl-like 'yaml: line N: <problem>' with a hint, and a better 1-based (line, col)."""
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    ctx_mark = getattr(exc, "context_mark", None)
    index = mark.line if mark is not None else -1
    head = f"error converting YAML to JSON: yaml: line {index + 1}: {problem}"
    if mark is None:
        head = f"error converting YAML to JSON: yaml: {problem}"
    hint = _hint(str(problem), exc, text, index, ctx_mark)
    where = _dash_line(text, index) if "mapping values are not allowed" in str(problem) else None
    return (f"{head} ({hint})" if hint else head), where


def _dash_line(text: str, index: int) -> tuple[int, int] | None:
    """Position of a '-item' line (missing space) at or just above 0-based ``index``."""
    prev_index, prev = _previous_content_line(text, index)
    for i, line in ((index, _line(text, index)), (prev_index, prev)):
        if i >= 0 and _dash_without_space(line) is not None:
            return i + 1, len(line) - len(line.lstrip()) + 1
    return None


def _hint(problem: str, exc: Any, text: str, index: int, ctx_mark: Any) -> str | None:
    """Pick the hint for one libyaml problem."""
    tab = _tab_hint(text, index)
    if tab and "tab" not in problem:
        return tab
    here = _line(text, index)
    prev_index, prev = _previous_content_line(text, index)
    if "mapping values are not allowed" in problem:
        for candidate in (prev, here):
            rest = _dash_without_space(candidate)
            if rest is not None:
                return (
                    f'"{candidate.strip()}" is missing a space after "-": write "- {rest}" '
                    "to start a list item"
                )
        if here.count(": ") + here.rstrip().endswith(":") > 1:
            return "a value contains ': '; put the value in quotes"
        return (
            "this line is indented deeper than the keys above it, but the line above "
            f"(line {prev_index + 1}) already has a value: fix the indentation"
        )
    if "cannot start any token" in problem:
        char = here[exc.problem_mark.column] if exc.problem_mark.column < len(here) else ""
        if char == "\t":
            return "tab characters are not allowed for indentation in YAML: use spaces"
        if char in "@`":
            return f"a plain value cannot start with '{char}': put the value in quotes"
        return "put the value in quotes"
    if "tab" in problem:
        return "tab characters are not allowed for indentation in YAML: use spaces"
    if "did not find expected key" in problem:
        start = f" that starts at line {ctx_mark.line + 1}" if ctx_mark is not None else ""
        if here.lstrip().startswith("- "):
            return (
                f'a list item ("- ") appears where a key of the mapping{start} was expected: '
                "indent the list under its key"
            )
        return (
            f"this line's indentation does not match the other keys of the mapping{start}: "
            "fix the indentation"
        )
    if "expected '-' indicator" in problem:
        start = f" that starts at line {ctx_mark.line + 1}" if ctx_mark is not None else ""
        return f'every item of the list{start} must start with "- " at the same indentation'
    if "could not find expected ':'" in problem:
        return "a key is missing its ':' (or a quoted value is not closed)"
    if "block sequence entries are not allowed" in problem:
        return (
            'a list cannot start on the same line as its key: put "- item" on the next line, '
            "indented"
        )
    if "end of stream" in problem and "quoted" in str(getattr(exc, "context", "")):
        return "a quoted string is not closed"
    if "unknown escape" in problem:
        return "use single quotes, or write the backslash as \\\\"
    if (
        "control characters" in problem
        or "unacceptable character" in problem
        or "special characters" in problem
    ):
        return "the file contains control characters; is it a binary file?"
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem:
        return "a [ ] or { } collection is not closed, or a comma is missing"
    return None
