"""Docker's hijacked exec and attach streams, read without losing their first bytes.

docker-py hands back the socket under the HTTP response, but http.client has read the
response's head through a buffer, and when the client gets to that head late (a busy
machine, a quick command) the buffer holds the process's first frames too: docker-py then
reads past them, and `echo hi` comes back empty with exit code 0 (docker/docker-py#2042,
still open). Here every read goes through that buffer; writes, half-close and shutdown go
to the socket itself.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

STDOUT, STDERR = 1, 2
_UPGRADE = {"Connection": "Upgrade", "Upgrade": "tcp"}
_CHUNK = 1 << 16


@dataclass
class Stream:
    """One hijacked connection: what the process writes comes from `reader`."""

    response: Any  # kept: collecting it would close the connection under the reader
    reader: Any  # the BufferedReader http.client read the head with
    sock: socket.socket
    tty: bool

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """(STDOUT or STDERR, bytes) as the process writes them, until it ends. With a
        terminal there is one raw stream, given as STDOUT."""
        try:
            if self.tty:
                while chunk := self.reader.read1(_CHUNK):
                    yield STDOUT, chunk
                return
            while len(header := self.reader.read(8)) == 8:
                kind, size = struct.unpack(">BxxxL", header)
                data = self.reader.read(size) if size else b""
                if data:
                    yield (STDERR if kind == STDERR else STDOUT), data
                if len(data) < size:
                    return
        except ValueError:
            return  # closed from another thread meanwhile: the stream has ended

    def collect(self, limit: int | None = None) -> tuple[bytes, bytes]:
        """All of stdout and stderr, each cut at `limit` bytes (the rest is read and
        dropped, so that a command printing without end cannot fill the memory)."""
        out, err = bytearray(), bytearray()
        for kind, data in self.frames():
            into = err if kind == STDERR else out
            into += data if limit is None else data[:max(0, limit - len(into))]
        return bytes(out), bytes(err)

    def close(self) -> None:
        # shutdown, not only close: it wakes a thread blocked reading the socket.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError, ValueError):
            self.response.close()
        with contextlib.suppress(OSError):
            self.sock.close()


def _hijacked(api: Any, response: Any, tty: bool) -> Stream:
    api._raise_for_status(response)
    raw = api._get_raw_response_socket(response)
    # A silent command may run longer than any request timeout.
    api._disable_socket_timeout(raw)
    sock = getattr(raw, "_sock", raw)
    return Stream(response, response.raw._fp.fp, sock, tty)


def start_exec(api: Any, exec_id: str, tty: bool = False) -> Stream:
    """POST /exec/{id}/start, hijacked (docker-py's exec_start(socket=True))."""
    response = api._post_json(api._url("/exec/{0}/start", exec_id), headers=_UPGRADE,
                              data={"Tty": tty, "Detach": False}, stream=True)
    return _hijacked(api, response, tty)


def attach(api: Any, container_id: str, params: dict[str, int], tty: bool) -> Stream:
    """POST /containers/{id}/attach, hijacked (docker-py's attach_socket)."""
    response = api.post(api._url("/containers/{0}/attach", container_id), None,
                        params=params, stream=True, headers=_UPGRADE)
    return _hijacked(api, response, tty)


def run(api: Any, exec_id: str, limit: int | None = None) -> tuple[bytes, bytes]:
    """Start a created exec and read its stdout and stderr to the end."""
    stream = start_exec(api, exec_id)
    try:
        return stream.collect(limit)
    finally:
        stream.close()
