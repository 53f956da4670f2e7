"""How a command's failure reaches the user, with or without click: a user error prints one
line and exits non-zero; an internal error says so in one line; tracebacks only with -v."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from podctl.cli import terminal


@contextmanager
def reported() -> Iterator[None]:
    from podctl.errors import PodctlError

    try:
        yield
    except PodctlError as exc:
        if _verbose():
            _traceback()
        terminal.err(exc.render())
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        from podctl.manifest import ManifestError

        if isinstance(exc, ManifestError):
            terminal.err(f"error: {exc}")
            sys.exit(1)
        if _verbose():
            _traceback()
        else:
            terminal.err(f"error: internal error: {type(exc).__name__}: {exc} "
                         "(run with -v for the traceback)")
        sys.exit(1)


def _verbose() -> bool:
    return any(a in ("-v", "--verbose") or a.startswith("-vv") for a in sys.argv[1:3]) or bool(
        os.environ.get("PODCTL_VERBOSE")
    )


def _traceback() -> None:
    import traceback

    terminal.err(traceback.format_exc().rstrip("\n"))
