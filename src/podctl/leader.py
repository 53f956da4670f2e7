"""The single-controller lock in $PODCTL_HOME: one active controller, others wait as standby."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from pathlib import Path

from podctl.errors import PodctlError

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


STANDBY_POLL = 0.5  # how often a standby controller tries the lock (controller.run)


def stop_controllers(home: Path, grace: float = 10.0) -> list[int]:
    """Stop the home's active controller (SIGTERM; SIGKILL once `grace` has passed), then
    each standby that takes its place, until none holds the lock; the pids stopped."""
    stopped: list[int] = []
    deadline = time.monotonic() + 3 * grace
    while controller_running(home) and time.monotonic() < deadline:
        pid = holder_pid(home)
        if pid is None or pid in stopped or not _is_podctl(pid):
            # A standby took over and is writing its pid; or a command holds the lock for
            # a moment to see whether a controller runs, and the pid file is stale.
            time.sleep(0.05)
            continue
        _stop(home, pid, grace)
        stopped.append(pid)
        if not controller_running(home):
            time.sleep(STANDBY_POLL + 0.1)  # a standby would have taken over by now
    if controller_running(home):
        raise PodctlError(f"the controller (pid {holder_pid(home)}) did not stop; "
                          "stop it and try again")
    return stopped


def _is_podctl(pid: int) -> bool:
    """Whether the process is a podctl one (a stale pid file may name a reused pid)."""
    try:
        return b"podctl" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no procfs here: trust the pid file
    except OSError:
        return False


def _stop(home: Path, pid: int, grace: float) -> None:
    def holding() -> bool:
        return holder_pid(home) == pid and controller_running(home)

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while holding() and time.monotonic() < deadline:
        time.sleep(0.05)
    if holding():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        # A process stuck in the kernel (a hung mount) outlives even SIGKILL for a while.
        deadline = time.monotonic() + grace
        while holding() and time.monotonic() < deadline:
            time.sleep(0.05)
