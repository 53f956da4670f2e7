"""The only place podctl writes to the terminal, and the only user of rich: lines, warnings,
errors, raw bytes streamed from containers, manifest problems and image pull progress.

Imported by every command at start-up, so rich and logging are imported only when used.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

    from podctl.manifest import Excerpt
    from podctl.runtime.images import PullProgress


def out(text: str, end: str = "\n") -> None:
    sys.stdout.write(text + end)
    sys.stdout.flush()


def err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def warn(text: str) -> None:
    err(f"Warning: {text}")


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def out_bytes(data: bytes) -> None:
    """Bytes from a container (exec output) to our stdout, as they come."""
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def err_bytes(data: bytes) -> None:
    sys.stderr.buffer.write(data)
    sys.stderr.buffer.flush()


def copy_out(chunks: Iterable[bytes], flush_each: bool) -> None:
    """A stream of bytes (logs) to stdout; `flush_each` for a stream that is followed live,
    otherwise written in the buffer's own pace."""
    buffer = sys.stdout.buffer
    for chunk in chunks:
        buffer.write(chunk)
        if flush_each:
            buffer.flush()
    buffer.flush()


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def terminal_size() -> tuple[int, int] | None:
    """(columns, rows) of the terminal on stdin, or None when stdin is not one."""
    import os

    try:
        size = os.get_terminal_size(sys.stdin.fileno())
    except (OSError, ValueError):
        return None
    return size.columns, size.lines


@contextmanager
def raw_stdin(raw: bool) -> Iterator[None]:
    """The terminal on stdin in raw mode for the block (keys go to the container as typed,
    Ctrl-C included), restored afterwards whatever happens."""
    if not raw or not sys.stdin.isatty():
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def log_handler() -> logging.Handler:
    """Where a foreground controller logs: stderr."""
    import logging

    return logging.StreamHandler(sys.stderr)


def problems(items: Sequence[Excerpt]) -> None:
    """Manifest problems on stderr; on a terminal, coloured with the source line and a caret."""
    if sys.stderr.isatty():
        err(styled_problems(items))
    else:
        err("\n".join(e.where + e.message for e in items))


def styled_problems(items: Sequence[Excerpt]) -> str:
    """The problems with ANSI styles: location bold, message red, caret under the column."""
    from io import StringIO

    from rich.console import Console
    from rich.text import Text

    buffer = StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", width=10_000,
                      highlight=False)
    for e in items:
        console.print(Text.assemble((e.where, "bold"), (e.message, "red")), soft_wrap=True)
        if e.gutter:
            console.print(Text.assemble((e.gutter, "dim"), e.source), soft_wrap=True)
            console.print(Text.assemble((e.margin, "dim"), (e.caret, "bold red")),
                          soft_wrap=True)
    return buffer.getvalue().rstrip("\n")


def pull_progress() -> Callable[[PullProgress], None] | None:
    """A line per layer and status of an image pull (dim, on stderr) when stdout is a
    terminal, else None: scripts reading our output get no progress noise."""
    if not stdout_is_terminal():
        return None
    from rich.console import Console
    from rich.text import Text

    console = Console(stderr=True, highlight=False)
    seen: dict[str, str] = {}

    def show(report: PullProgress) -> None:
        if seen.get(report.layer) != report.status:
            seen[report.layer] = report.status
            console.print(Text(f"{report.layer}: {report.status} {report.detail}", style="dim"))

    return show
