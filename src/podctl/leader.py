"""The single-controller lock in $PODCTL_HOME: one active controller, others wait as standby."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_NAME = "controller.lock"
PID_NAME = "controller.pid"


class LeaderLock:
    """An flock held for the life of the active controller; the kernel drops it on death."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.fd = os.open(home / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        (self.home / PID_NAME).write_text(f"{os.getpid()}\n")
        return True

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            if holder_pid(self.home) == os.getpid():
                (self.home / PID_NAME).unlink()
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def holder_pid(home: Path) -> int | None:
    try:
        return int((home / PID_NAME).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def controller_running(home: Path) -> bool:
    """Whether some process holds the controller lock (checked without taking it for long)."""
    path = home / LOCK_NAME
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock we may have taken
    return False
