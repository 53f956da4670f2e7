"""Wake the controller at once when the store changes: a datagram on a socket in
$PODCTL_HOME. Best effort; the controller's periodic resync covers a lost one."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

SOCKET_NAME = "controller.sock"


def notify_controller(home: Path) -> None:
    path = home / SOCKET_NAME
    if not path.exists():
        return
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.sendto(b"changed", str(path))


class ChangeListener:
    """The controller's end: wait(timeout) returns True when a change was announced."""

    def __init__(self, home: Path) -> None:
        self.path = home / SOCKET_NAME
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

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
