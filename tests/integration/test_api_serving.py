"""`run-controller --api` under clients that hold connections, flood it or probe it, over
real sockets: slow and idle connections are dropped after the header timeout, requests
beyond the in-flight limits get 429 while the server goes on answering, a request past its
deadline gets 504, and /healthz, /livez, /readyz and /metrics answer as upstream's do."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from podctl.apiserver import limits
from tests.integration.conftest import Podctl
from tests.integration.test_api_kubectl import ApiController, poll

pytestmark = pytest.mark.integration

# The bound: no slow or idle connection is held for 30 s.
HELD_AT_MOST = 30.0


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """Raw HTTPS to the server: whole requests through http.client, hostile ones through
    sockets written by hand."""

    def __init__(self, api: ApiController, podctl: Podctl) -> None:
        parts = urlsplit(api.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        self.context = api.ca_context()
        self.token = (podctl.home / "api-token").read_text().strip()

    def request(self, method: str, path: str, body: bytes | None = None,
                token: str | None = "mine", headers: dict[str, str] | None = None) -> Response:
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context,
                                           timeout=30)
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {self.token if token == 'mine' else token}"
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=sent)
            answer = conn.getresponse()
            return Response(answer.status, dict(answer.getheaders()), answer.read())
        finally:
            conn.close()

    def socket(self, handshake: bool = True) -> socket.socket:
        raw = socket.create_connection((self.host, self.port), timeout=60)
        return self.context.wrap_socket(raw, server_hostname=self.host) if handshake else raw

    def head_only(self, method: str, path: str, length: int, start: bytes = b"") -> socket.socket:
        """A request whose head is whole, promising a body of `length` bytes, `start` of it
        sent (the rest never comes)."""
        sock = self.socket()
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                     f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {length}\r\n\r\n".encode() + start)
        return sock

    def open_streams(self, path: str, count: int, into: list[socket.socket]) -> None:
        """`count` long-running GETs of `path`, each answered 200, kept open in `into` (the
        caller closes them, whatever happens)."""
        for _ in range(count):
            sock = self.socket()
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                         f"Authorization: Bearer {self.token}\r\n\r\n".encode())
            into.append(sock)
        for sock in into[-count:]:
            sock.settimeout(30)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        answer = self.request("GET", "/metrics")
        assert answer.status == 200, answer
        assert answer.headers["Content-Type"].startswith("text/plain")
        return {(sample.name, frozenset(sample.labels.items())): sample.value
                for family in text_string_to_metric_families(answer.body.decode())
                for sample in family.samples}


def sample(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str,
           **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(value for (found, have), value in metrics.items()
               if found == metric and wanted <= have)


@pytest.fixture
def api(podctl: Podctl) -> Iterator[ApiController]:
    server = ApiController(podctl)
    yield server
    server.stop()


@pytest.fixture
def client(api: ApiController, podctl: Podctl) -> Client:
    return Client(api, podctl)


def closed_after(sock: socket.socket, started: float) -> tuple[float, bytes]:
    """Seconds until the server closed the connection, and what it sent before."""
    received = b""
    sock.settimeout(HELD_AT_MOST + 30)
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, ssl.SSLError):
        pass
    return time.monotonic() - started, received


def test_slow_and_idle_connections_are_dropped_after_the_header_timeout(
        client: Client, api: ApiController) -> None:
    def no_handshake() -> socket.socket:
        return client.socket(handshake=False)  # a TCP connection, then silence

    def silent() -> socket.socket:
        return client.socket()  # TLS done, then silence

    def slowloris() -> socket.socket:
        sock = client.socket()
        sock.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n")

        def drip() -> None:  # a header line a second, never the blank line
            with contextlib.suppress(OSError):
                for i in range(int(HELD_AT_MOST) + 10):
                    time.sleep(1)
                    sock.sendall(f"X-Slow-{i}: y\r\n".encode())

        threading.Thread(target=drip, daemon=True).start()
        return sock

    def partial_body() -> socket.socket:
        return client.head_only("POST", "/api/v1/namespaces/default/configmaps", 1000, b"{")

    def idle_keep_alive() -> socket.socket:
        sock = client.socket()
        sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"}" not in head:  # the whole answer, then the connection sits idle
            head += sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200")
        return sock

    kinds = {"no handshake": no_handshake, "silent": silent, "slowloris": slowloris,
             "partial body": partial_body, "idle keep-alive": idle_keep_alive}
    results: dict[str, list[tuple[float, bytes]]] = {name: [] for name in kinds}

    def hold(name: str) -> None:
        started = time.monotonic()
        results[name].append(closed_after(kinds[name](), started))

    # 40 connections, 8 of each kind, all at once.
    threads = [threading.Thread(target=hold, args=(name,)) for name in kinds for _ in range(8)]
    for thread in threads:
        thread.start()
    # Meanwhile the server answers a normal client.
    answered = 0
    while any(t.is_alive() for t in threads):
        assert client.request("GET", "/api/v1/namespaces/default/pods").status == 200
        answered += 1
        time.sleep(0.5)
    for thread in threads:
        thread.join()
    assert answered >= 5
    for name, outcomes in results.items():
        assert len(outcomes) == 8, name
        for elapsed, received in outcomes:
            # Dropped, not answered; and by the timeout (10 s), not at once.
            assert received == b"", (name, received)
            assert limits.HEADER_SECONDS - 2 < elapsed < HELD_AT_MOST, (name, elapsed)
    log = api.log.read_text()
    assert "Traceback" not in log and "Error handling request" not in log, log


def test_requests_beyond_the_in_flight_limit_get_429_while_others_are_served(
        client: Client, api: ApiController) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    # Mutating requests that stay in flight: their bodies are promised, never sent.
    held = [client.head_only("POST", path, 1000, b"{") for _ in range(limits.MAX_MUTATING)]
    try:
        poll(lambda: sample(client.metrics(), "apiserver_current_inflight_requests",
                            request_kind="mutating") == limits.MAX_MUTATING,
             timeout=10, message="every held request in flight")
        body = json.dumps({"metadata": {"name": "over-the-limit"}, "data": {"k": "v"}})
        refused = client.request("POST", path, body.encode())
        assert refused.status == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.body == b"Too many requests, please try again later.\n"
        assert refused.headers["Content-Type"] == "text/plain; charset=utf-8"
        # Reads have a limit of their own: they are served, kubectl's included.
        assert client.request("GET", path).status == 200
        assert api.run("get", "configmaps").code == 0
        metrics = client.metrics()
        assert sample(metrics, "apiserver_request_total", verb="POST", resource="configmaps",
                      code="429") == 1
    finally:
        for sock in held:
            sock.close()
    # Once they are gone, writes go through again.
    poll(lambda: client.request("POST", path, body.encode()).status == 201, timeout=10,
         message="a write once the held requests left")
    assert "over-the-limit" in api("get", "configmaps")


def test_long_running_requests_are_bounded_apart(client: Client, api: ApiController) -> None:
    path = "/api/v1/namespaces/default/configmaps?watch=1"
    watches: list[socket.socket] = []
    try:
        client.open_streams(path, limits.MAX_LONG_RUNNING, watches)
        metrics = client.metrics()
        assert sample(metrics, "apiserver_longrunning_requests", verb="WATCH",
                      resource="configmaps") == limits.MAX_LONG_RUNNING
        # Watches do not count against ordinary requests...
        assert client.request("GET", "/api/v1/namespaces/default/configmaps").status == 200
        # ...but have their own bound.
        over = client.request("GET", path)
        assert (over.status, over.headers["Retry-After"]) == (429, "1")
    finally:
        for sock in watches:
            sock.close()
    poll(lambda: sample(client.metrics(), "apiserver_longrunning_requests",
                        verb="WATCH") == 0, timeout=10, message="the watches to end")
    again = client.socket()
    again.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {client.token}\r\n\r\n".encode())
    again.settimeout(30)
    assert again.recv(65536).startswith(b"HTTP/1.1 200")
    again.close()


def test_a_request_past_its_deadline_gets_504(client: Client) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    sock = client.head_only("POST", f"{path}?timeout=1s", 1000, b"{")
    answer = http.client.HTTPResponse(sock, method="POST")
    answer.begin()  # while the body is still awaited
    assert answer.status == 504
    status = json.loads(answer.read())
    sock.close()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Timeout", 504)
    assert status["message"] == ("Timeout: request did not complete within the allotted "
                                 "timeout")
    bad = client.request("GET", f"{path}?timeout=soon")
    assert bad.status == 400
    assert bad.json()["message"] == ('invalid timeout specified in the request URL - '
                                     'time: invalid duration "soon"')


def test_health_endpoints_answer_anyone_and_metrics_only_the_token(client: Client) -> None:
    for endpoint in ("healthz", "livez", "readyz"):
        plain = client.request("GET", f"/{endpoint}", token=None)
        assert (plain.status, plain.body) == (200, b"ok")
        assert plain.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert plain.headers["X-Content-Type-Options"] == "nosniff"
    verbose = client.request("GET", "/readyz?verbose", token=None)
    assert verbose.body.decode() == ("[+]ping ok\n[+]store ok\n[+]informer-sync ok\n"
                                     "[+]controller ok\n[+]shutdown ok\nreadyz check passed\n")
    assert client.request("GET", "/livez?verbose", token=None).body == \
        b"[+]ping ok\n[+]store ok\nlivez check passed\n"
    excluded = client.request("GET", "/readyz?verbose&exclude=store", token=None)
    assert b"[+]store excluded: ok\n" in excluded.body
    # One check alone, as upstream: for those with credentials.
    assert client.request("GET", "/readyz/controller").body == b"ok"
    assert client.request("GET", "/livez/ping", token=None).status == 401
    # A wrong token is refused even where none is needed; /version is public too.
    assert client.request("GET", "/healthz", token="wrong").status == 401
    assert client.request("GET", "/version", token=None).json()["major"] == "1"
    refused = client.request("GET", "/metrics", token=None)
    assert (refused.status, refused.json()["reason"]) == (401, "Unauthorized")


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "counted"},
       "spec": {"terminationGracePeriodSeconds": 1,
                "containers": [{"name": "main", "image": "podctl/busybox:1",
                                "command": ["sleep", "3600"]}]}}


def test_metrics_count_requests_watches_the_queue_and_pod_syncs(client: Client) -> None:
    before = client.metrics()
    for _ in range(3):
        assert client.request("GET", "/api/v1/namespaces/default/pods").status == 200
    assert client.request("GET", "/api/v1/namespaces/default/pods/nope").status == 404
    made = client.request("POST", "/api/v1/namespaces/default/pods",
                          json.dumps(POD).encode())
    assert made.status == 201
    watch = client.socket()
    watch.sendall(f"GET /api/v1/pods?watch=true HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {client.token}\r\n\r\n".encode())
    watch.settimeout(30)
    assert watch.recv(65536).startswith(b"HTTP/1.1 200")
    try:
        def synced() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
            metrics = client.metrics()
            return metrics if sample(metrics, "kubelet_pod_worker_duration_seconds_count") \
                else None

        after = poll(synced, timeout=60, message="the pod's first sync")

        def moved(metric: str, **labels: str) -> float:
            return sample(after, metric, **labels) - sample(before, metric, **labels)

        assert moved("apiserver_request_total", verb="LIST", resource="pods",
                     scope="namespace", code="200") == 3
        assert moved("apiserver_request_total", verb="GET", resource="pods", code="404") == 1
        assert moved("apiserver_request_total", verb="POST", resource="pods", code="201") == 1
        assert moved("apiserver_request_duration_seconds_count", verb="LIST",
                     resource="pods") == 3
        assert sample(after, "apiserver_longrunning_requests", verb="WATCH",
                      resource="pods", scope="cluster") == 1
        assert moved("workqueue_adds_total", name="controller") > 0
        assert ("workqueue_depth", frozenset({("name", "controller")})) in after
        assert sample(after, "kubelet_pod_worker_duration_seconds_count",
                      operation_type="create") >= 1
        assert sample(after, "process_resident_memory_bytes") > 0
    finally:
        watch.close()


def test_follows_whose_clients_left_give_their_threads_back(client: Client) -> None:
    quiet = {**POD, "metadata": {"name": "quiet"}}
    assert client.request("POST", "/api/v1/namespaces/default/pods",
                          json.dumps(quiet).encode()).status == 201
    poll(lambda: client.request("GET", "/api/v1/namespaces/default/pods/quiet")
         .json()["status"].get("phase") == "Running", timeout=60, message="the pod to run")
    log = "/api/v1/namespaces/default/pods/quiet/log"
    # As many follows of a container that prints nothing as there are stream threads.
    follows: list[socket.socket] = []
    try:
        client.open_streams(f"{log}?follow=true", limits.MAX_LONG_RUNNING, follows)
    finally:
        for sock in follows:
            sock.close()
    poll(lambda: sample(client.metrics(), "apiserver_longrunning_requests",
                        resource="pods", subresource="log") == 0,
         timeout=20, message="the abandoned follows to end")
    # Their reads were ended with them, so a stream thread is free for the next one.
    answer: list[Response] = []
    reader = threading.Thread(target=lambda: answer.append(client.request("GET", log)),
                              daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert answer and answer[0].status == 200, "a log read found no free stream thread"
