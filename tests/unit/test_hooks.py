"""kubelet.hooks: httpGet and sleep hooks, and preStop inside the grace period, against a
real local HTTP server (exec hooks run in containers: tests/integration)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from podctl.kubelet import hooks
from podctl.store import open_store

POD = {"metadata": {"name": "p", "namespace": "default", "uid": "u-1"},
       "spec": {"containers": [{"name": "app"}]}}


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Handler.seen.append(self.path)
        self.send_response(500 if self.path == "/broken" else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield int(httpd.server_address[1])
    httpd.shutdown()


def test_an_http_hook_passes_on_any_answer(server: int) -> None:
    """Upstream looks at no status code of a lifecycle hook's answer, only the exchange."""
    spec = {"name": "app", "ports": [{"name": "web", "containerPort": server}]}
    for path in ("drain", "/broken"):
        handler = {"httpGet": {"path": path, "port": "web"}}
        assert hooks.run_hook(handler, POD, spec, "cid", "127.0.0.1", 2) is None
    assert _Handler.seen[-2:] == ["/drain", "/broken"]


def test_an_http_hook_that_cannot_connect_fails_with_the_kubelets_text(server: int) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = {"httpGet": {"path": "/stop", "port": port}}
    message = hooks.run_hook(handler, POD, {"name": "app"}, "cid", "127.0.0.1", 2)
    assert message == (
        'HTTP lifecycle hook (/stop) for Container "app" in Pod "p_default(u-1)" failed - '
        f'error: Get "http://127.0.0.1:{port}/stop": dial tcp 127.0.0.1:{port}: connect: '
        "connection refused")


def test_prestop_runs_first_and_the_stop_gets_what_is_left(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    stops: list[tuple[str, int, float]] = []
    started = time.monotonic()
    spec = {"name": "app", "lifecycle": {"preStop": {"sleep": {"seconds": 1}}}}
    hooks.kill_container(store, POD, spec, "cid", 10, "",
                         stop=lambda cid, grace: stops.append((cid, grace,
                                                              time.monotonic() - started)))
    [(cid, grace, at)] = stops
    assert cid == "cid" and grace == 9 and at >= 1.0


def test_a_prestop_longer_than_the_grace_period_is_cut_short(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    stops: list[int] = []
    spec = {"name": "app", "lifecycle": {"preStop": {"sleep": {"seconds": 30}}}}
    started = time.monotonic()
    hooks.kill_container(store, POD, spec, "cid", 1, "",
                         stop=lambda cid, grace: stops.append(grace))
    assert time.monotonic() - started < 5
    assert stops == [hooks.MINIMUM_GRACE_SECONDS]


def test_a_failed_prestop_is_an_event_without_its_message(tmp_path: Path) -> None:
    import socket

    store = open_store(tmp_path)
    pod = store.create({"apiVersion": "v1", "kind": "Pod", **POD})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = {"name": "app", "lifecycle": {"preStop": {"httpGet": {"path": "/", "port": port}}}}
    stops: list[int] = []
    hooks.kill_container(store, pod, spec, "cid", 5, "127.0.0.1",
                         stop=lambda cid, grace: stops.append(grace))
    [event] = store.events_for("u-1")
    assert (event["type"], event["reason"], event["message"]) == (
        "Warning", "FailedPreStopHook", "PreStopHook failed")
    assert stops == [5]
