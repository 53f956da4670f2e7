"""kubelet.probes.http_get against a local socket server: what the probe sends, how it
reads statuses, bodies (plain, sized, chunked) and redirects, and its failure texts."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from podctl.apiserver.credentials import ensure_tls
from podctl.kubelet.probes import FAILURE, SUCCESS, WARNING, http_get

Reply = Callable[[bytes], bytes]  # request head -> response bytes


class Server:
    """Answers each connection with reply(request head), then closes it."""

    def __init__(self, reply: Reply, tls: ssl.SSLContext | None = None) -> None:
        self.reply = reply
        self.tls = tls
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:
                return
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                self.requests.append(head)
                conn.sendall(self.reply(head))


@pytest.fixture
def serve() -> Iterator[Callable[[Reply], Server]]:
    servers: list[Server] = []

    def start(reply: Reply) -> Server:
        servers.append(Server(reply))
        return servers[-1]

    yield start
    for server in servers:
        server.sock.close()


def probe(port: int, path: str = "/", **extra: object) -> dict[str, object]:
    return {"httpGet": {"path": path, "port": port, **extra}}


def answer(status: str, body: bytes = b"", headers: str = "") -> Reply:
    return lambda _: (f"HTTP/1.1 {status}\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
                      .encode() + body)


def test_a_2xx_answer_is_success_with_its_body(serve: Callable[[Reply], Server]) -> None:
    server = serve(answer("200 OK", b"fine"))
    outcome = http_get(probe(server.port), "127.0.0.1", {}, 1.0)
    assert (outcome.result, outcome.output) == (SUCCESS, "fine")


def test_the_request_is_the_kubelets(serve: Callable[[Reply], Server]) -> None:
    server = serve(answer("200 OK"))
    http_get(probe(server.port, "/healthz?x=1",
                   httpHeaders=[{"name": "X-Custom", "value": "v"}]), "127.0.0.1", {}, 1.0)
    lines = server.requests[0].decode().split("\r\n")
    assert lines[0] == "GET /healthz?x=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}" in lines
    assert {"User-Agent: kube-probe/1.37", "Accept: */*", "X-Custom: v",
            "Connection: close"} <= set(lines)


def test_a_host_header_replaces_the_default_one(serve: Callable[[Reply], Server]) -> None:
    server = serve(answer("200 OK"))
    http_get(probe(server.port, httpHeaders=[{"name": "Host", "value": "example.com"}]),
             "127.0.0.1", {}, 1.0)
    lines = server.requests[0].decode().split("\r\n")
    assert [line for line in lines if line.lower().startswith("host:")] == ["Host: example.com"]


def test_a_4xx_answer_is_a_failure_naming_the_status(
        serve: Callable[[Reply], Server]) -> None:
    server = serve(answer("503 Service Unavailable", b"down"))
    outcome = http_get(probe(server.port), "127.0.0.1", {}, 1.0)
    assert (outcome.result, outcome.output) == (FAILURE,
                                                "HTTP probe failed with statuscode: 503")


def test_a_body_without_length_is_read_to_the_close(
        serve: Callable[[Reply], Server]) -> None:
    server = serve(lambda _: b"HTTP/1.0 200 OK\r\n\r\nall of it")
    assert http_get(probe(server.port), "127.0.0.1", {}, 1.0).output == "all of it"


def test_a_redirect_to_the_same_host_is_followed(serve: Callable[[Reply], Server]) -> None:
    server = serve(lambda head: (answer("200 OK", b"moved here")(head)
                                 if head.startswith(b"GET /new ")
                                 else answer("302 Found", headers="Location: /new\r\n")(head)))
    outcome = http_get(probe(server.port, "/old"), "127.0.0.1", {}, 1.0)
    assert (outcome.result, outcome.output) == (SUCCESS, "moved here")


def test_a_redirect_to_another_host_is_a_warning_with_the_chunked_body(
        serve: Callable[[Reply], Server]) -> None:
    server = serve(lambda _: b"HTTP/1.1 301 Moved\r\nLocation: http://elsewhere.test/\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n4\r\ngone\r\n5\r\n away\r\n"
                             b"0\r\n\r\n")
    outcome = http_get(probe(server.port), "127.0.0.1", {}, 1.0)
    assert (outcome.result, outcome.output) == (
        WARNING, "Probe terminated redirects, Response body: gone away")


def test_an_answer_that_is_not_http_is_a_failure(serve: Callable[[Reply], Server]) -> None:
    server = serve(lambda _: b"SSH-2.0-OpenSSH\r\n\r\n")
    outcome = http_get(probe(server.port), "127.0.0.1", {}, 1.0)
    assert outcome.result == FAILURE
    assert outcome.output.endswith("malformed HTTP response")


def test_a_refused_connection_says_so_as_go_does() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = int(sock.getsockname()[1])
    outcome = http_get(probe(port), "127.0.0.1", {}, 1.0)
    assert (outcome.result, outcome.output) == (
        FAILURE, f'Get "http://127.0.0.1:{port}/": dial tcp 127.0.0.1:{port}: '
                 "connect: connection refused")


def test_a_server_that_never_answers_times_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:  # accepts (backlog), never replies
        port = int(sock.getsockname()[1])
        outcome = http_get(probe(port), "127.0.0.1", {}, 0.2)
    assert outcome.result == FAILURE
    assert "context deadline exceeded" in outcome.output


def test_https_is_probed_without_checking_the_certificate(tmp_path: Path) -> None:
    """A self-signed server (the kubelet never verifies a probe's TLS): its 2xx is a
    success with the body, its 5xx a failure naming the status."""
    files = ensure_tls(tmp_path, "127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert, files.key)
    statuses = iter([b"200 OK", b"503 Service Unavailable"])

    def tls_reply(head: bytes) -> bytes:
        return b"HTTP/1.1 " + next(statuses) + b"\r\nContent-Length: 2\r\n\r\nok"

    server = Server(tls_reply, context)
    try:
        scheme = {"scheme": "HTTPS"}
        ok = http_get(probe(server.port, **scheme), "127.0.0.1", {}, 2.0)
        failed = http_get(probe(server.port, **scheme), "127.0.0.1", {}, 2.0)
    finally:
        server.sock.close()
    assert (ok.result, ok.output) == (SUCCESS, "ok")
    assert (failed.result, failed.output) == (FAILURE, "HTTP probe failed with statuscode: 503")
