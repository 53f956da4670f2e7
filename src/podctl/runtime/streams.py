"""Container logs and exec through the Docker API."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from podctl.errors import PodctlError
from podctl.runtime import engines, execstream
from podctl.runtime.client import docker_api, exec_exit_code, translate_errors

WriteBytes = Callable[[bytes], None]


class LogStream:
    """stdout and stderr of a container, interleaved as Docker stored them (from `since`
    when given): iterable, and closable from another thread — which ends a read that a
    quiet `follow` keeps blocked, so a client that left frees its thread and connection."""

    def __init__(self, container_id: str, follow: bool, tail: int, timestamps: bool,
                 since: datetime | None = None) -> None:
        # A Unix time: Docker's client takes it whatever the datetime's zone.
        extra: dict[str, Any] = {"since": max(since.timestamp(), 1.0)} if since else {}
        with translate_errors():
            self._stream: Any = docker_api().logs(
                container_id, stdout=True, stderr=True, stream=True, follow=follow,
                timestamps=timestamps, tail="all" if tail < 0 else tail, **extra,
            )

    def __iter__(self) -> Iterator[bytes]:
        with translate_errors():
            yield from self._stream

    def close(self) -> None:
        self._stream.close()


def exec_command(container_id: str, command: list[str], out: WriteBytes,
                 err: WriteBytes) -> int:
    """Run a command in a container, handing its stdout and stderr bytes to `out` and `err`
    as they come; its exit code."""
    api = docker_api()
    with translate_errors():
        created = api.exec_create(container_id, command, stdout=True, stderr=True)
        stream = execstream.start_exec(api, created["Id"])
        try:
            for kind, data in stream.frames():
                (err if kind == execstream.STDERR else out)(data)
        finally:
            stream.close()
        # Still running once its output closed: the docker CLI says 0 then too.
        return exec_exit_code(api, created["Id"]) or 0


def exec_interactive(container_id: str, command: list[str], tty: bool) -> int:
    """Interactive exec (-i/-t) through the docker CLI, which owns raw-terminal handling."""
    docker = shutil.which("docker")
    if docker is None:
        raise PodctlError("interactive exec (-i/-t) needs the docker command-line client")
    flags = ["-i"] + (["-t"] if tty else [])
    engine = engines.current()
    env = None if engine is None else {**os.environ, "DOCKER_HOST": f"unix://{engine.socket}"}
    return subprocess.call([docker, "exec", *flags, container_id, *command], env=env)


def attach(container_id: str, stdin_fd: int | None, tty: bool, out: WriteBytes,
           err: WriteBytes, size: tuple[int, int] | None = None) -> None:
    """Join the container's main process, as `docker attach` does: its output to `out` and
    `err` (one stream with a terminal) until it ends or the attach is detached (Docker's
    ctrl-p ctrl-q); with `stdin_fd`, what is read there goes to its stdin."""
    import os
    import threading

    from podctl.runtime.hijack import STDERR, open_attach

    session = open_attach(container_id, stdin=stdin_fd is not None, stdout=True,
                          stderr=not tty)
    try:
        if size is not None and session.tty:
            # One size off first, then the real one: the application redraws its screen.
            session.resize(size[0] + 1, size[1] + 1)
            session.resize(*size)
        if stdin_fd is not None:
            def pump() -> None:
                try:
                    while data := os.read(stdin_fd, 4096):
                        session.write(data)
                except OSError:
                    pass
                session.close_stdin()

            threading.Thread(target=pump, name="attach-stdin", daemon=True).start()
        for stream, data in session.frames():
            (err if stream == STDERR else out)(data)
    finally:
        session.close()
