"""Docker's hijacked exec and attach connections: the process's stdin, stdout and stderr
on one socket, for the API server's pods/exec and pods/attach."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass

from podctl.runtime import engines, execstream
from podctl.runtime.client import docker_api, exec_exit_code, translate_errors

STDOUT, STDERR = execstream.STDOUT, execstream.STDERR


@dataclass
class Session:
    """One hijacked connection; `exec_id` is None for an attach."""

    container_id: str
    exec_id: str | None
    stream: execstream.Stream
    # The engine the container is on: later calls (resize, exit code) may come from
    # another thread.
    engine: engines.Engine | None = None

    @property
    def tty(self) -> bool:
        return self.stream.tty

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """(STDOUT or STDERR, bytes) as the process writes them, until it ends."""
        return self.stream.frames()

    def write(self, data: bytes) -> None:
        self.stream.sock.sendall(data)

    def close_stdin(self) -> None:
        """Half-close: Docker closes the process's stdin, the output keeps coming."""
        with contextlib.suppress(OSError):
            self.stream.sock.shutdown(socket.SHUT_WR)

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
        with translate_errors():
            return exec_exit_code(api, self.exec_id) or 0

    def close(self) -> None:
        self.stream.close()


def open_exec(container_id: str, command: list[str], stdin: bool, stdout: bool,
              stderr: bool, tty: bool) -> Session:
    api = docker_api()
    with translate_errors():
        created = api.exec_create(container_id, command, stdin=stdin, stdout=stdout,
                                  stderr=stderr, tty=tty)
        stream = execstream.start_exec(api, created["Id"], tty)
    return Session(container_id, created["Id"], stream, engines.current())


def open_attach(container_id: str, stdin: bool, stdout: bool, stderr: bool) -> Session:
    api = docker_api()
    with translate_errors():
        tty = bool(api.inspect_container(container_id)["Config"].get("Tty"))
        stream = execstream.attach(api, container_id, {
            "stdin": int(stdin), "stdout": int(stdout), "stderr": int(stderr), "stream": 1}, tty)
    return Session(container_id, None, stream, engines.current())
