"""Docker's hijacked exec and attach connections: the process's stdin, stdout and stderr
on one socket, for the API server's pods/exec and pods/attach."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from podctl.runtime import engines
from podctl.runtime.client import docker_api, translate_errors

STDOUT, STDERR = 1, 2


@dataclass
class Session:
    """One hijacked connection; `exec_id` is None for an attach."""

    container_id: str
    exec_id: str | None
    tty: bool
    sock: Any  # what docker-py hands back: a socket or a SocketIO around one
    # The engine the container is on: later calls (resize, exit code) may come from
    # another thread.
    engine: engines.Engine | None = None

    def __post_init__(self) -> None:
        # Kept apart: a closed SocketIO forgets its socket.
        self._socket: socket.socket = getattr(self.sock, "_sock", self.sock)

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """(STDOUT or STDERR, bytes) as the process writes them, until it ends."""
        from docker.utils.socket import frames_iter

        demux: Any = frames_iter  # untyped in docker-py
        for stream, data in demux(self.sock, self.tty):
            if data:
                yield (STDERR if stream == STDERR else STDOUT), data

    def write(self, data: bytes) -> None:
        self._socket.sendall(data)

    def close_stdin(self) -> None:
        """Half-close: Docker closes the process's stdin, the output keeps coming."""
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_WR)

    def resize(self, width: int, height: int) -> None:
        with engines.using(self.engine):
            api = docker_api()
        with translate_errors():
            if self.exec_id is not None:
                api.exec_resize(self.exec_id, height=height, width=width)
            else:
                api.resize(self.container_id, height=height, width=width)

    def exit_code(self) -> int:
        """The exec's exit code once it has finished (the stream may end a moment before
        Docker records it)."""
        if self.exec_id is None:
            return 0
        with engines.using(self.engine):
            api = docker_api()
        deadline = time.monotonic() + 5
        with translate_errors():
            while True:
                state = api.exec_inspect(self.exec_id)
                if not state.get("Running") or time.monotonic() > deadline:
                    return int(state.get("ExitCode") or 0)
                time.sleep(0.02)

    def close(self) -> None:
        # shutdown, not only close: it wakes a thread blocked reading the socket.
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        close = getattr(self.sock, "close", None)
        if close is not None:
            close()


def open_exec(container_id: str, command: list[str], stdin: bool, stdout: bool,
              stderr: bool, tty: bool) -> Session:
    api = docker_api()
    with translate_errors():
        created = api.exec_create(container_id, command, stdin=stdin, stdout=stdout,
                                  stderr=stderr, tty=tty)
        sock = api.exec_start(created["Id"], tty=tty, socket=True)
    return Session(container_id, created["Id"], tty, sock, engines.current())


def open_attach(container_id: str, stdin: bool, stdout: bool, stderr: bool) -> Session:
    api = docker_api()
    with translate_errors():
        tty = bool(api.inspect_container(container_id)["Config"].get("Tty"))
        sock = api.attach_socket(container_id, params={
            "stdin": int(stdin), "stdout": int(stdout), "stderr": int(stderr), "stream": 1})
    return Session(container_id, None, tty, sock, engines.current())
