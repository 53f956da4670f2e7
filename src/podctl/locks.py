"""Cross-process locks in $PODCTL_HOME (fcntl), so the CLI and the controller never race."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from podctl.home import podctl_home


@contextmanager
def file_lock(name: str) -> Iterator[None]:
    """Hold an exclusive lock named `name` for the duration of the block."""
    directory = podctl_home() / "locks"
    directory.mkdir(exist_ok=True)
    fd = os.open(directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
