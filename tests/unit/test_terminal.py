"""cli.terminal: the one writer. lint-imports keeps rich inside it; this keeps the writes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import podctl
from podctl.cli import terminal
from podctl.runtime.images import PullProgress

SRC = Path(podctl.__file__).parent
WRITER = SRC / "cli" / "terminal.py"
# The launcher prints the kept `--help` text, which click wrote, before anything imports
# the cli package (and click with it): it is the only other module that may write.
LAUNCHER = SRC / "launch.py"
STREAMS = {"stdout", "stderr", "__stdout__", "__stderr__"}
WRITING_CALLS = {"print", "echo", "secho", "print_exc", "print_exception", "print_stack"}


def terminal_writes(path: Path) -> list[str]:
    """`sys.stdout`/`sys.stderr` uses and print-like calls in one module, as 'file:line'."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        stream = (isinstance(node, ast.Attribute) and node.attr in STREAMS
                  and isinstance(node.value, ast.Name) and node.value.id == "sys")
        call = isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Name) and node.func.id in WRITING_CALLS)
            or (isinstance(node.func, ast.Attribute) and node.func.attr in WRITING_CALLS))
        if stream or call:
            found.append(f"{path.relative_to(SRC)}:{getattr(node, 'lineno', 0)}")
    return found


def test_only_the_terminal_module_writes_to_the_terminal() -> None:
    modules = [p for p in sorted(SRC.rglob("*.py")) if p not in (WRITER, LAUNCHER)]
    assert modules
    assert [hit for p in modules for hit in terminal_writes(p)] == []


def test_the_scan_sees_writes() -> None:
    assert terminal_writes(WRITER)


def test_pull_progress_shows_each_layer_status_once(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(terminal, "stdout_is_terminal", lambda: True)
    show = terminal.pull_progress()
    assert show is not None
    for report in (PullProgress("a1", "Downloading", "[=>  ] 1MB/4MB"),
                   PullProgress("a1", "Downloading", "[==> ] 2MB/4MB"),
                   PullProgress("b2", "Waiting", ""),
                   PullProgress("a1", "Pull complete", "")):
        show(report)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert [" ".join(line.split()) for line in captured.err.splitlines()] == [
        "a1: Downloading [=> ] 1MB/4MB", "b2: Waiting", "a1: Pull complete"]


def test_no_pull_progress_when_stdout_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terminal, "stdout_is_terminal", lambda: False)
    assert terminal.pull_progress() is None
