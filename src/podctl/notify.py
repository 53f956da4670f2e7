"""Wake the controller at once when the store changes: a datagram on a socket in
$PODCTL_HOME, and one to each API server serving watches (sockets in WATCHERS_DIR). Best
effort; the controller's periodic resync covers a lost one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

SOCKET_NAME = "controller.sock"
WATCHERS_DIR = "api-watch"


def notify_controller(home: Path) -> None:
    import socket  # only writes notify: a read's start stays lighter

    targets = [home / SOCKET_NAME]
    with contextlib.suppress(OSError):
        targets += [Path(entry.path) for entry in os.scandir(home / WATCHERS_DIR)]
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for path in targets:
            with contextlib.suppress(OSError):
                sock.sendto(b"changed", str(path))


class ChangeListener:
    """The controller's end (or, given a path, an API server's): wait(timeout) returns True
    when a change was announced."""

    def __init__(self, home: Path, path: Path | None = None) -> None:
        import socket

        self.path = path or home / SOCKET_NAME
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))

    def wait(self, timeout: float) -> bool:
        self.sock.settimeout(timeout)
        try:
            self.sock.recv(64)
        except TimeoutError:
            return False
        # Coalesce a burst of notifications into one wake-up.
        self.sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                self.sock.recv(64)
        return True

    def drain(self) -> None:
        """Read whatever is queued without waiting (a caller polling the socket itself)."""
        self.sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                self.sock.recv(64)

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
