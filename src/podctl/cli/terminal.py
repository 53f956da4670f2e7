"""The only place the CLI writes to the terminal: plain lines, warnings, errors."""

from __future__ import annotations

import sys


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
