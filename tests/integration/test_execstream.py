"""A quick command's output reaches podctl even when the engine's answer is read late.

On a busy machine the process may write and exit before the client reads the response's
head; http.client then buffers the first frames with it. The late read is made certain
here by delaying the head's parsing; docker-py's own exec_start loses the output then."""

from __future__ import annotations

import http.client
import time
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from podctl.proxy.apply import exec_in
from podctl.runtime import execstream, hijack
from podctl.runtime.streams import exec_command
from tests.integration.conftest import BUSYBOX_IMAGE

pytestmark = pytest.mark.integration


@pytest.fixture
def box(docker_client: docker.DockerClient) -> Iterator[str]:
    container = docker_client.containers.run(
        BUSYBOX_IMAGE, ["sleep", "600"], detach=True, name=f"execstream-{uuid.uuid4().hex[:8]}")
    try:
        yield str(container.id)
    finally:
        container.remove(force=True)


@pytest.fixture
def late_heads(monkeypatch: pytest.MonkeyPatch) -> None:
    begin = http.client.HTTPResponse.begin

    def late(self: http.client.HTTPResponse) -> None:
        time.sleep(0.2)  # the command has written and exited by then
        begin(self)

    monkeypatch.setattr(http.client.HTTPResponse, "begin", late)


def test_quick_output_survives_a_late_read(box: str, late_heads: None,
                                           docker_client: docker.DockerClient) -> None:
    script = ["sh", "-c", "echo hi; echo oops >&2; exit 3"]
    assert exec_in(box, script) == (3, "hi\n", "oops\n")

    out: list[bytes] = []
    err: list[bytes] = []
    assert exec_command(box, script, out.append, err.append) == 3
    assert (b"".join(out), b"".join(err)) == (b"hi\n", b"oops\n")

    session = hijack.open_exec(box, script, stdin=False, stdout=True, stderr=True, tty=False)
    try:
        # Two pipes: which of the two Docker forwards first is not given.
        assert sorted(session.frames()) == [(hijack.STDOUT, b"hi\n"), (hijack.STDERR, b"oops\n")]
        assert session.exit_code() == 3
    finally:
        session.close()

    api: Any = docker_client.api
    created = api.exec_create(box, ["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"])
    assert execstream.run(api, created["Id"], limit=1000) == (b"x" * 1000, b"")


def test_a_terminal_stream_and_stdin(box: str, late_heads: None) -> None:
    session = hijack.open_exec(box, ["sh", "-c", "read line; echo got $line"], stdin=True,
                               stdout=True, stderr=True, tty=True)
    try:
        session.write(b"there\n")
        output = b"".join(data for _, data in session.frames())
        assert output.replace(b"\r", b"").endswith(b"got there\n"), output
        assert session.exit_code() == 0
    finally:
        session.close()
