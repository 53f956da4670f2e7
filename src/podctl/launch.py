"""The `podctl` executable: `podctl --help` as click last printed it, a plain `get` without
click (`cli/getcmd.py`), everything else by click.

Importing click alone takes twice an interpreter's start, and neither the top-level help,
the first thing a new user types, nor a `get`, the most frequent, needs it. The text click
prints for the help is kept in the user's cache directory, under a name made of all it
depends on: podctl's version, the command table's module (podctl.cli.main), click's
installed copy, the terminal's width and the language. A change to any of them misses the
cache, and click prints (and the cache keeps) it anew.
"""

from __future__ import annotations

import os
import sys

HELP_ARGS = (["--help"], ["-h"])
_LANGUAGE = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def main() -> None:
    if sys.argv[1:2] == ["get"] and _quick_get(sys.argv[2:]):
        return
    if sys.argv[1:] not in HELP_ARGS:
        from podctl.cli.main import main as click_main

        click_main()
        return
    cached = help_cache()
    try:
        with open(cached or "", encoding="utf-8") as kept:
            text: str | None = kept.read()
    except (OSError, UnicodeDecodeError):
        text = None
    if text is None:
        text = _render_help()
        if cached is not None:
            _keep(cached, text)
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader left (`podctl --help | true`): no traceback, and none from the flush at
        # exit either; the status is the one the commands give in that case.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def _quick_get(argv: list[str]) -> bool:
    """Run `get` without click when click would read its arguments the same way."""
    from podctl.cli.getcmd import quick_args, run

    args = quick_args(argv)
    if args is None:
        return False
    from podctl.cli.failures import reported

    with reported():
        run(args)
    return True


def help_cache() -> str | None:
    """Where the help for this podctl, click, width and language is kept; None when the
    pieces of its name cannot be found."""
    import zlib
    from importlib.util import find_spec

    from podctl import __version__

    click_spec = find_spec("click")
    table = find_spec("podctl.cli.main")
    if click_spec is None or click_spec.origin is None or table is None or table.origin is None:
        return None
    try:
        sources = [(path, os.stat(path).st_mtime_ns) for path in (click_spec.origin,
                                                                   table.origin)]
    except OSError:
        return None
    width = terminal_columns()
    key = repr((sources, [os.environ.get(name, "") for name in _LANGUAGE]))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    name = f"help-{__version__}-{width}-{zlib.crc32(key.encode()):08x}"
    return os.path.join(base, "podctl", name)


def terminal_columns() -> int:
    """The columns shutil.get_terminal_size() gives click (its import, through fnmatch and
    re, would double this module's cost): $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _render_help() -> str:
    """The top-level help exactly as `podctl --help` prints it through click."""
    import click

    from podctl.cli.main import cli

    with click.Context(cli, info_name="podctl", **cli.context_settings) as ctx:
        return ctx.get_help() + "\n"


def _keep(path: str, text: str) -> None:
    """Write the help for next time (pathlib alone would cost a third of the fast path's
    time); a cache that cannot be written is only skipped."""
    partial = f"{path}.{os.getpid()}.partial"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(partial, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(partial, path)
    except OSError:
        import contextlib

        with contextlib.suppress(OSError):
            os.unlink(partial)
